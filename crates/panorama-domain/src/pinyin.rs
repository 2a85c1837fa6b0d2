//! Chinese names in pinyin: the toneless spelling that matching compares and
//! the keys a call-centre agent types to find a customer (`zhangsan`, `zs`).

use pinyin::{ToPinyin, ToPinyinMulti};

/// The toneless pinyin of a name (`张三` and `张叁` both give `zhangsan`);
/// non-Chinese letters and digits are kept as they are.
pub fn pinyin_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 2);
    for (c, p) in name.chars().zip(name.to_pinyin()) {
        match p {
            Some(p) => out.push_str(p.plain()),
            None if c.is_alphanumeric() => out.push(c),
            None => {}
        }
    }
    out
}

/// At most this many readings of the first character are keyed.
const MAX_READINGS: usize = 4;

/// The search keys of a name with Chinese characters: the whole name spelt
/// out and its initials, once for each reading of the first character (a
/// surname such as 单 reads `shan`, not its common `dan`); ASCII letters are
/// kept, lower-cased. Empty for a name without Chinese characters (it is
/// found by its own prefix).
pub fn search_keys(name: &str) -> Vec<String> {
    let mut chars = name.chars().filter(|c| !c.is_whitespace() && *c != '·');
    let Some(first) = chars.next() else {
        return Vec::new();
    };
    let mut rest_full = String::new();
    let mut rest_initials = String::new();
    let mut chinese = false;
    for c in chars {
        match c.to_pinyin() {
            Some(p) => {
                chinese = true;
                rest_full.push_str(p.plain());
                rest_initials.push_str(p.first_letter());
            }
            None if c.is_ascii_alphanumeric() => {
                rest_full.push(c.to_ascii_lowercase());
                rest_initials.push(c.to_ascii_lowercase());
            }
            None => {}
        }
    }
    let readings: Vec<String> = match first.to_pinyin_multi() {
        Some(multi) => multi.into_iter().map(|p| typed(p.plain())).collect(),
        None if chinese && first.is_ascii_alphanumeric() => {
            vec![first.to_ascii_lowercase().to_string()]
        }
        None => return Vec::new(),
    };
    let (rest_full, rest_initials) = (typed(&rest_full), typed(&rest_initials));
    let mut keys = Vec::with_capacity(2 * readings.len());
    for reading in readings.iter().take(MAX_READINGS) {
        for key in [
            format!("{reading}{rest_full}"),
            format!("{}{rest_initials}", &reading[..1]),
        ] {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Pinyin as typed on a keyboard: `ü` as `v` (吕 → `lv`).
fn typed(pinyin: &str) -> String {
    pinyin.replace('ü', "v")
}

/// A typed search string read as pinyin: ASCII letters only (spaces and
/// apostrophes dropped), lower-cased; `None` otherwise.
pub fn as_pinyin_query(q: &str) -> Option<String> {
    let q: String = q
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (!q.is_empty() && q.bytes().all(|b| b.is_ascii_lowercase())).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_spell_out_without_tones() {
        assert_eq!(pinyin_key("张三"), "zhangsan");
        assert_eq!(pinyin_key("张叁"), "zhangsan");
        assert_eq!(pinyin_key("李A1"), "liA1");
    }

    #[test]
    fn keys_are_the_full_spelling_and_initials() {
        let keys = search_keys("张华强");
        assert_eq!(keys[..2], ["zhanghuaqiang", "zhq"]);
        assert!(search_keys("Acme Ltd").is_empty());
        assert!(search_keys("").is_empty());
        assert_eq!(search_keys("吕布")[..2], ["lvbu", "lb"]);
    }

    #[test]
    fn every_reading_of_the_surname_is_keyed() {
        let keys = search_keys("单雄信");
        assert!(keys.contains(&"shanxiongxin".to_owned()), "{keys:?}");
        assert!(keys.contains(&"danxiongxin".to_owned()), "{keys:?}");
        assert!(keys.contains(&"sxx".to_owned()), "{keys:?}");
        let keys = search_keys("曾小贤");
        assert!(keys.contains(&"zengxiaoxian".to_owned()), "{keys:?}");
    }

    #[test]
    fn only_letters_read_as_pinyin() {
        assert_eq!(as_pinyin_query("Zhang San"), Some("zhangsan".to_owned()));
        assert_eq!(as_pinyin_query("xi'an"), Some("xian".to_owned()));
        assert_eq!(as_pinyin_query("张"), None);
        assert_eq!(as_pinyin_query("138"), None);
        assert_eq!(as_pinyin_query("  "), None);
    }
}
