//! Comparison levels per field kind. Level 0 is the strongest agreement; the
//! last level is disagreement; [`NULL`] means a value is missing on a side
//! (no evidence either way).

use rapidfuzz::distance::{jaro_winkler, osa};

use crate::schema::FieldKind;

/// A missing value on either side.
pub const NULL: u8 = u8::MAX;

/// A standardised value with what comparing it needs.
#[derive(Debug, Clone, Default)]
pub struct Std {
    /// The standardised value.
    pub value: String,
    /// Toneless pinyin, for names with Chinese characters.
    pub pinyin: Option<String>,
    /// The value passed its check digit (resident ids, credit codes).
    pub valid: bool,
}

/// A standardised value as stored: borrowed from a dataset's packed records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Value<'a> {
    /// The standardised value.
    pub value: &'a str,
    /// Toneless pinyin, for names with Chinese characters.
    pub pinyin: Option<&'a str>,
    /// The value passed its check digit (resident ids, credit codes).
    pub valid: bool,
}

impl Std {
    /// The value borrowed.
    pub fn view(&self) -> Value<'_> {
        Value {
            value: &self.value,
            pinyin: self.pinyin.as_deref(),
            valid: self.valid,
        }
    }
}

/// Names of the levels of a kind, strongest first.
pub fn level_names(kind: FieldKind) -> &'static [&'static str] {
    match kind {
        FieldKind::Name | FieldKind::OrgName => &[
            "exact",
            "same pinyin",
            "jaro-winkler >= 0.92",
            "jaro-winkler >= 0.80",
            "different",
        ],
        FieldKind::Text | FieldKind::Address => &[
            "exact",
            "jaro-winkler >= 0.92",
            "jaro-winkler >= 0.80",
            "different",
        ],
        FieldKind::Code | FieldKind::ResidentId | FieldKind::CreditCode | FieldKind::Mobile => {
            &["exact", "one edit or transposition", "different"]
        }
        FieldKind::Date => &[
            "exact",
            "one edit or transposition",
            "year within 1",
            "different",
        ],
        FieldKind::Exact | FieldKind::OrgCity | FieldKind::OrgParentCity | FieldKind::OrgForm => {
            &["exact", "different"]
        }
    }
}

/// Jaro-Winkler similarity (bytes when both are ASCII: same result, faster).
/// rapidfuzz's bit-parallel Jaro: on 93 M Febrl-style pairs strsim's took
/// 121 s of comparing, rapidfuzz's a fraction (see ARCHITECTURE.md).
#[cfg(test)]
fn similarity(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        jaro_winkler::similarity(a.bytes(), b.bytes())
    } else {
        jaro_winkler::similarity(a.chars(), b.chars())
    }
}

/// Jaro-Winkler similarity if at least `cutoff` (rapidfuzz skips most of
/// the work for pairs that cannot reach it), else 0.
fn similarity_at_least(a: &str, b: &str, cutoff: f64) -> f64 {
    let args = jaro_winkler::Args::default().score_cutoff(cutoff);
    let s = if a.is_ascii() && b.is_ascii() {
        jaro_winkler::similarity_with_args(a.bytes(), b.bytes(), &args)
    } else {
        jaro_winkler::similarity_with_args(a.chars(), b.chars(), &args)
    };
    s.unwrap_or(0.0)
}

/// Whether two values are at most one edit or adjacent transposition apart.
fn within_one_edit(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return bytes_within_one_edit(a.as_bytes(), b.as_bytes());
    }
    let args = osa::Args::default().score_cutoff(1);
    osa::distance_with_args(a.chars(), b.chars(), &args).is_some()
}

/// [`within_one_edit`] on bytes in one pass: after the common prefix, the
/// rest must match once one byte is replaced, inserted or deleted, or two
/// adjacent bytes swapped. Codes and dates are compared tens of millions of
/// times a run; a general edit distance per pair cost more than the check.
fn bytes_within_one_edit(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let k = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if k == short.len() {
        return true;
    }
    if short.len() == long.len() {
        short[k + 1..] == long[k + 1..]
            || (k + 1 < short.len()
                && short[k] == long[k + 1]
                && short[k + 1] == long[k]
                && short[k + 2..] == long[k + 2..])
    } else {
        short[k..] == long[k + 1..]
    }
}

/// Whether a name in Latin letters spells a Chinese name's pinyin, in
/// either order (`Wei Hu`, `HU WEI`, `huwei` for 胡伟): cards emboss names in
/// pinyin, and customers type them given name first.
fn latin_spells(latin: Value<'_>, han: Value<'_>) -> bool {
    let Some(pinyin) = han.pinyin else {
        return false;
    };
    if latin.pinyin.is_some() || !latin.value.is_ascii() {
        return false;
    }
    let tokens: Vec<&str> = latin.value.split_whitespace().collect();
    let joined: String = tokens.concat();
    if joined.len() != pinyin.len() {
        return false;
    }
    if joined == pinyin {
        return true;
    }
    // Given name first: the last token is the surname.
    tokens.len() >= 2 && {
        let last = tokens[tokens.len() - 1];
        pinyin.starts_with(last) && pinyin[last.len()..] == tokens[..tokens.len() - 1].concat()
    }
}

fn jw_level(a: &str, b: &str, base: u8) -> u8 {
    let s = similarity_at_least(a, b, 0.80);
    if s >= 0.92 {
        base
    } else if s >= 0.80 {
        base + 1
    } else {
        base + 2
    }
}

/// Compares two standardised values of a kind.
pub fn compare(kind: FieldKind, a: Option<Value<'_>>, b: Option<Value<'_>>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return NULL;
    };
    if a.value == b.value {
        return 0;
    }
    match kind {
        FieldKind::Name | FieldKind::OrgName => {
            if a.pinyin.is_some() && a.pinyin == b.pinyin
                || latin_spells(a, b)
                || latin_spells(b, a)
            {
                1
            } else {
                jw_level(a.value, b.value, 2)
            }
        }
        FieldKind::Text | FieldKind::Address => jw_level(a.value, b.value, 1),
        FieldKind::Code | FieldKind::ResidentId | FieldKind::CreditCode | FieldKind::Mobile => {
            if a.value.len() == b.value.len() && within_one_edit(a.value, b.value) {
                1
            } else {
                2
            }
        }
        FieldKind::Date => {
            if within_one_edit(a.value, b.value) {
                1
            } else if a.value.len() >= 4 && b.value.len() >= 4 {
                match (a.value[..4].parse::<i32>(), b.value[..4].parse::<i32>()) {
                    (Ok(x), Ok(y)) if (x - y).abs() <= 1 => 2,
                    _ => 3,
                }
            } else {
                3
            }
        }
        FieldKind::Exact | FieldKind::OrgCity | FieldKind::OrgParentCity | FieldKind::OrgForm => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Std {
        Std {
            value: v.into(),
            pinyin: crate::standardise::name(v)
                .filter(|n| n.chars().any(crate::standardise::is_han))
                .map(|n| crate::standardise::pinyin_key(&n)),
            valid: false,
        }
    }

    #[test]
    fn rapidfuzz_agrees_with_strsim() {
        let pairs = [
            ("harrington", "harington"),
            ("martha", "marhta"),
            ("dixon", "dicksonx"),
            ("张三", "张叁"),
            ("上海嘉禾置业", "嘉禾置业"),
            ("", "abc"),
            ("jones", "johnson"),
            ("19800101", "19800110"),
        ];
        for (a, b) in pairs {
            let ours = similarity(a, b);
            let cut = similarity_at_least(a, b, 0.8);
            assert!(cut == 0.0 || (cut - ours).abs() < 1e-9, "{a} / {b}: {cut}");
            let theirs = strsim::jaro_winkler(a, b);
            assert!(
                (ours - theirs).abs() < 1e-9,
                "{a} / {b}: {ours} vs {theirs}"
            );
            assert_eq!(
                within_one_edit(a, b),
                strsim::damerau_levenshtein(a, b) <= 1,
                "{a} / {b}"
            );
        }
    }

    #[test]
    fn the_one_edit_check_agrees_with_an_edit_distance() {
        // Every pair of short strings over a small alphabet (so edits collide).
        let mut words = vec![String::new()];
        for len in 1..=4 {
            let mut w = vec![0u8; len];
            loop {
                words.push(w.iter().map(|&c| (b'a' + c) as char).collect());
                let mut k = 0;
                while k < len && w[k] == 2 {
                    w[k] = 0;
                    k += 1;
                }
                if k == len {
                    break;
                }
                w[k] += 1;
            }
        }
        for a in &words {
            for b in &words {
                assert_eq!(
                    bytes_within_one_edit(a.as_bytes(), b.as_bytes()),
                    strsim::osa_distance(a, b) <= 1,
                    "{a} / {b}"
                );
            }
        }
    }

    #[test]
    fn levels() {
        assert_eq!(
            compare(
                FieldKind::Name,
                Some(s("张三").view()),
                Some(s("张叁").view())
            ),
            1
        );
        assert_eq!(
            compare(
                FieldKind::Name,
                Some(s("john").view()),
                Some(s("jon").view())
            ),
            2
        );
        assert_eq!(
            compare(
                FieldKind::Name,
                Some(s("john").view()),
                Some(s("mary").view())
            ),
            4
        );
        assert_eq!(
            compare(
                FieldKind::Code,
                Some(s("12345").view()),
                Some(s("12354").view())
            ),
            1
        );
        assert_eq!(
            compare(
                FieldKind::Code,
                Some(s("12345").view()),
                Some(s("1234").view())
            ),
            2
        );
        assert_eq!(
            compare(
                FieldKind::Date,
                Some(s("19800101").view()),
                Some(s("19810101").view())
            ),
            1
        );
        assert_eq!(
            compare(
                FieldKind::Date,
                Some(s("19800101").view()),
                Some(s("19810512").view())
            ),
            2
        );
        assert_eq!(compare(FieldKind::Exact, Some(s("M").view()), None), NULL);
        for latin in ["wei hu", "hu wei", "huwei"] {
            assert_eq!(
                compare(
                    FieldKind::Name,
                    Some(s("胡伟").view()),
                    Some(s(latin).view())
                ),
                1,
                "{latin}"
            );
        }
        assert_eq!(
            compare(
                FieldKind::Name,
                Some(s("胡伟").view()),
                Some(s("wei hua").view())
            ),
            4
        );
    }
}
