//! PII masking: what each role sees of names and identifiers.

use crate::auth::Role;

/// How much of a customer's PII a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Everything (after a stated, audited reason).
    Clear,
    /// Names in full, identifiers masked (RMs and branch managers by default).
    Masked,
    /// Names partly masked too (agents, stewards, executives, auditors).
    Strict,
    /// No names at all: a pseudonym (analysts).
    Pseudonymised,
}

impl Level {
    /// The default level of a role.
    pub fn for_role(role: Role) -> Level {
        match role {
            Role::Rm | Role::BranchManager => Level::Masked,
            Role::Analyst => Level::Pseudonymised,
            _ => Level::Strict,
        }
    }
}

/// A resident id: `110105********1234`.
pub fn resident_id(id: &str, level: Level) -> String {
    match level {
        Level::Clear => id.to_owned(),
        Level::Pseudonymised => "******".to_owned(),
        _ => {
            let chars: Vec<char> = id.chars().collect();
            if chars.len() >= 10 {
                let head: String = chars[..6].iter().collect();
                let tail: String = chars[chars.len() - 4..].iter().collect();
                format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
            } else {
                "*".repeat(chars.len())
            }
        }
    }
}

/// A mobile: `138****5678`.
pub fn mobile(m: &str, level: Level) -> String {
    match level {
        Level::Clear => m.to_owned(),
        Level::Pseudonymised => "***********".to_owned(),
        _ => {
            let chars: Vec<char> = m.chars().collect();
            if chars.len() >= 7 {
                let head: String = chars[..3].iter().collect();
                let tail: String = chars[chars.len() - 4..].iter().collect();
                format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
            } else {
                "*".repeat(chars.len())
            }
        }
    }
}

/// A person's or company's name: 张三丰 → 张*丰 (strict), 张三 → 张*;
/// companies keep their first four and last two characters.
pub fn name(n: &str, pseudonym: &str, level: Level) -> String {
    match level {
        Level::Clear | Level::Masked => n.to_owned(),
        Level::Pseudonymised => pseudonym.to_owned(),
        Level::Strict => {
            let chars: Vec<char> = n.chars().collect();
            match chars.len() {
                0 | 1 => n.to_owned(),
                2 => format!("{}*", chars[0]),
                3 => format!("{}*{}", chars[0], chars[2]),
                len if len <= 6 => {
                    format!("{}{}{}", chars[0], "*".repeat(len - 2), chars[len - 1])
                }
                len => format!(
                    "{}{}{}",
                    chars[..4].iter().collect::<String>(),
                    "*".repeat(len - 6),
                    chars[len - 2..].iter().collect::<String>()
                ),
            }
        }
    }
}

/// An email: `z***@example.com`.
pub fn email(e: &str, level: Level) -> String {
    match level {
        Level::Clear => e.to_owned(),
        Level::Pseudonymised => "***".to_owned(),
        _ => match e.split_once('@') {
            Some((user, domain)) => {
                let first: String = user.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
    }
}

/// An address: the province/city/district prefix kept (the first six
/// characters), the street and number hidden.
pub fn address(a: &str, level: Level) -> String {
    match level {
        Level::Clear => a.to_owned(),
        Level::Pseudonymised => "***".to_owned(),
        _ => {
            let head: String = a.chars().take(6).collect();
            if a.chars().count() > 6 {
                format!("{head}****")
            } else {
                head
            }
        }
    }
}

/// A birth date: the month and day (for greetings) without the year.
pub fn birth_date(d: &str, level: Level) -> String {
    match level {
        Level::Clear | Level::Masked => d.to_owned(),
        Level::Pseudonymised => d.get(..4).map(|y| format!("{y}-**-**")).unwrap_or_default(),
        Level::Strict => d.get(4..).map(|md| format!("****{md}")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_masked_as_banks_print_them() {
        assert_eq!(
            resident_id("110105199001011234", Level::Masked),
            "110105********1234"
        );
        assert_eq!(mobile("13812345678", Level::Masked), "138****5678");
        assert_eq!(mobile("13812345678", Level::Clear), "13812345678");
        assert_eq!(
            resident_id("110105199001011234", Level::Clear),
            "110105199001011234"
        );
        assert_eq!(mobile("123", Level::Strict), "***");
    }

    #[test]
    fn names_are_masked_by_level() {
        assert_eq!(name("张三丰", "C1", Level::Masked), "张三丰");
        assert_eq!(name("张三丰", "C1", Level::Strict), "张*丰");
        assert_eq!(name("张三", "C1", Level::Strict), "张*");
        assert_eq!(name("欧阳娜娜", "C1", Level::Strict), "欧**娜");
        assert_eq!(
            name("杭州博远永农业开发有限公司", "C1", Level::Strict),
            "杭州博远*******公司"
        );
        assert_eq!(name("张三", "C000123", Level::Pseudonymised), "C000123");
    }

    #[test]
    fn contact_details_keep_only_what_is_needed() {
        assert_eq!(
            email("zhang@example.com", Level::Strict),
            "z***@example.com"
        );
        assert_eq!(
            address("浙江省杭州市上城区望江路1号", Level::Masked),
            "浙江省杭州市****"
        );
        assert_eq!(birth_date("1990-05-17", Level::Strict), "****-05-17");
        assert_eq!(birth_date("1990-05-17", Level::Pseudonymised), "1990-**-**");
    }
}
