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

/// The first `head` and last `tail` characters with stars between; all
/// stars if the value is shorter than both together.
fn keep_ends(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len();
    if len < head + tail {
        return "*".repeat(len);
    }
    let first: String = chars[..head].iter().collect();
    let last: String = chars[len - tail..].iter().collect();
    format!("{first}{}{last}", "*".repeat(len - head - tail))
}

/// A resident id: `110105********1234`.
pub fn resident_id(id: &str, level: Level) -> String {
    match level {
        Level::Clear => id.to_owned(),
        Level::Pseudonymised => "******".to_owned(),
        _ => keep_ends(id, 6, 4),
    }
}

/// A mobile: `138****5678`.
pub fn mobile(m: &str, level: Level) -> String {
    match level {
        Level::Clear => m.to_owned(),
        Level::Pseudonymised => "***********".to_owned(),
        _ => keep_ends(m, 3, 4),
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

/// A birth date: the month and day (for greetings) without the year to
/// every role that sees a masked resident id — the id's mask hides exactly
/// the date digits, so a year beside it (or an exact age) would give the
/// whole id back; analysts, who see no id, get the year alone.
pub fn birth_date(d: &str, level: Level) -> String {
    match level {
        Level::Clear => d.to_owned(),
        Level::Pseudonymised => d.get(..4).map(|y| format!("{y}-**-**")).unwrap_or_default(),
        Level::Masked | Level::Strict => {
            d.get(4..).map(|md| format!("****{md}")).unwrap_or_default()
        }
    }
}

/// Whether a level may see a customer's exact age: the age and the month
/// and day of birth give the year, which a masked resident id hides.
pub fn shows_age(level: Level) -> bool {
    matches!(level, Level::Clear | Level::Pseudonymised)
}

/// A card or account number: the first six and last four digits
/// (`622848******1234`), as PCI DSS and JR/T 0171 print them; short
/// numbers keep only their last four.
pub fn account_no(n: &str, level: Level) -> String {
    if level == Level::Clear {
        return n.to_owned();
    }
    match n.chars().count() {
        len if len > 10 => keep_ends(n, 6, 4),
        len if len > 4 => keep_ends(n, 0, 4),
        len => "*".repeat(len),
    }
}

/// A counterparty's name on a transaction: a person or company outside
/// the bank's relationship, shown by the level's rule for names (analysts
/// see none).
pub fn counterparty(n: &str, level: Level) -> String {
    name(n, "***", level)
}

/// A customer's features (JSON) without what the level may not see (the
/// exact age, see [`shows_age`]).
pub fn features(json: &str, level: Level) -> String {
    if shows_age(level) {
        return json.to_owned();
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("age");
            serde_json::Value::Object(map).to_string()
        }
        _ => json.to_owned(),
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
        assert_eq!(birth_date("1990-05-17", Level::Masked), "****-05-17");
        assert_eq!(birth_date("1990-05-17", Level::Clear), "1990-05-17");
        assert_eq!(birth_date("1990-05-17", Level::Pseudonymised), "1990-**-**");
    }

    #[test]
    fn card_and_account_numbers_show_six_and_four() {
        assert_eq!(
            account_no("6228480012345678901", Level::Masked),
            "622848*********8901"
        );
        assert_eq!(
            account_no("6228480012345678", Level::Pseudonymised),
            "622848******5678"
        );
        assert_eq!(account_no("D00012345", Level::Strict), "*****2345");
        assert_eq!(
            account_no("6228480012345678", Level::Clear),
            "6228480012345678"
        );
    }

    /// Everything a level shows of a resident id and the birth date, put
    /// together by someone who knows how ids are built (region, date,
    /// sequence, ISO 7064 check): how many real ids fit it?
    fn ids_that_fit(id: &str, level: Level, age: Option<i32>, as_of_year: i32) -> usize {
        let shown_id = resident_id(id, level);
        let shown_date = birth_date(
            &format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]),
            level,
        );
        let mut n = 0;
        for year in 1900..=as_of_year {
            if age.is_some_and(|a| a != as_of_year - year && a != as_of_year - year - 1) {
                continue;
            }
            for month in 1..=12u32 {
                for day in 1..=31u32 {
                    if chrono::NaiveDate::from_ymd_opt(year, month, day).is_none() {
                        continue;
                    }
                    let full = format!("{year:04}-{month:02}-{day:02}");
                    if birth_date(&full, level) != shown_date {
                        continue;
                    }
                    let body = format!("{}{year:04}{month:02}{day:02}{}", &id[..6], &id[14..17]);
                    let Ok(candidate) =
                        panorama_domain::ResidentId::parse(&format!("{body}{}", &id[17..]))
                    else {
                        continue;
                    };
                    if resident_id(&candidate.to_string(), level) == shown_id {
                        n += 1;
                    }
                }
            }
        }
        n
    }

    #[test]
    fn a_masked_resident_id_cannot_be_rebuilt_from_what_the_role_sees() {
        let id = "330111195207160014";
        assert!(panorama_domain::ResidentId::parse(id).is_ok());
        // Before: RMs saw the birth date in clear beside 330111********0014.
        for level in [Level::Masked, Level::Strict] {
            let age = shows_age(level).then_some(74);
            let fit = ids_that_fit(id, level, age, 2026);
            assert!(fit >= 5, "{level:?}: only {fit} ids fit what is shown");
        }
        // Clear shows the id itself; analysts see no id at all.
        assert_eq!(resident_id(id, Level::Pseudonymised), "******");
    }
}
