//! Resident identity card numbers (居民身份证号码), GB 11643-1999.
//!
//! An 18-character id is `AAAAAA YYYYMMDD SSS C`: a six-digit administrative
//! area code, the date of birth, a sequence number whose parity gives the
//! gender (odd = male), and a check character computed by ISO 7064 MOD 11-2.
//! Legacy 15-digit ids (`AAAAAA YYMMDD SSS`, issued before 1999) are upgraded
//! by inserting the century `19` and computing the check character.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::text::digits_only;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// Why a string is not a resident id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    /// Not 15 or 18 characters after removing separators.
    #[error("a resident id has 18 characters (or 15 for a legacy id), found {0}")]
    Length(usize),
    /// A character other than a digit (or a final X).
    #[error("a resident id has only digits, and an X as its last character")]
    Character,
    /// The embedded date of birth is not a calendar date.
    #[error("the date of birth {0} in the resident id is not a valid date")]
    BirthDate(String),
    /// The check character does not match (a typo or swapped digits).
    #[error("the check character is {found} but should be {expected}")]
    CheckDigit {
        /// The check character the id carries.
        found: char,
        /// The check character its first 17 digits call for.
        expected: char,
    },
}

/// Gender encoded in a resident id's sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gender {
    /// Odd sequence number.
    Male,
    /// Even sequence number.
    Female,
}

impl Gender {
    /// The one-letter code used in the store (`M`/`F`).
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
        }
    }
}

/// A valid 18-character resident id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

/// Computes the GB 11643 check character of the first 17 digits.
///
/// `body` must hold exactly 17 ASCII digits.
pub fn check_char(body: &[u8]) -> char {
    debug_assert_eq!(body.len(), 17);
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize] as char
}

impl ResidentId {
    /// Parses an 18-character id or upgrades a 15-digit legacy id.
    ///
    /// Spaces, dashes and full-width digits are tolerated; a lower-case `x`
    /// is read as `X`.
    pub fn parse(input: &str) -> Result<Self, ResidentIdError> {
        let cleaned = digits_only(input, true);
        let visible = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .count();
        if cleaned.chars().count() != visible {
            return Err(ResidentIdError::Character);
        }
        match cleaned.len() {
            18 => Self::parse18(&cleaned),
            15 => Self::upgrade15(&cleaned),
            n => Err(ResidentIdError::Length(n)),
        }
    }

    fn parse18(s: &str) -> Result<Self, ResidentIdError> {
        let bytes = s.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit) {
            return Err(ResidentIdError::Character);
        }
        birth_date(&s[6..14])?;
        let expected = check_char(&bytes[..17]);
        let found = bytes[17] as char;
        if found != expected {
            return Err(ResidentIdError::CheckDigit { found, expected });
        }
        Ok(ResidentId(s.to_owned()))
    }

    fn upgrade15(s: &str) -> Result<Self, ResidentIdError> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ResidentIdError::Character);
        }
        let mut body = String::with_capacity(18);
        body.push_str(&s[..6]);
        body.push_str("19");
        body.push_str(&s[6..]);
        birth_date(&body[6..14])?;
        let check = check_char(body.as_bytes());
        body.push(check);
        Ok(ResidentId(body))
    }

    /// The 18-character canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit area code of the issuing authority.
    pub fn area_code(&self) -> &str {
        &self.0[..6]
    }

    /// Date of birth.
    pub fn birth_date(&self) -> NaiveDate {
        // Checked at construction.
        birth_date(&self.0[6..14]).unwrap_or_default()
    }

    /// Gender from the parity of the sequence number.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The legacy 15-digit form of this id, for ids of people born in the
    /// 1900s (what older source systems still hold).
    pub fn to_legacy15(&self) -> Option<String> {
        (&self.0[6..8] == "19").then(|| format!("{}{}", &self.0[..6], &self.0[8..17]))
    }

    /// Masked for display to roles without PII rights: `110105********1234`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

fn birth_date(yyyymmdd: &str) -> Result<NaiveDate, ResidentIdError> {
    NaiveDate::parse_from_str(yyyymmdd, "%Y%m%d")
        .ok()
        .filter(|d| d.format("%Y").to_string().as_str() >= "1880")
        .ok_or_else(|| ResidentIdError::BirthDate(yyyymmdd.to_owned()))
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ResidentId {
    type Error = ResidentIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ResidentId::parse(&value)
    }
}

impl From<ResidentId> for String {
    fn from(value: ResidentId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_standards_examples() {
        // The worked example of GB 11643-1999 (Beijing Chaoyang, 1949-12-31, check X).
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.area_code(), "110105");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.gender(), Gender::Female);
        // The other example of the standard (Guangdong Jiexi, 1880-01-01).
        let id = ResidentId::parse("440524188001010014").unwrap();
        assert_eq!(id.gender(), Gender::Male);
    }

    #[test]
    fn tolerates_lower_case_x_full_width_and_separators() {
        assert_eq!(
            ResidentId::parse("11010519491231002x").unwrap().as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            ResidentId::parse("１１０１０５ １９４９１２３１ ００２Ｘ")
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            ResidentId::parse("110105-19491231-002X").unwrap().as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn upgrades_a_legacy_15_digit_id() {
        let id = ResidentId::parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.to_legacy15().unwrap(), "110105491231002");
    }

    #[test]
    fn rejects_a_wrong_check_digit_and_swapped_digits() {
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(ResidentIdError::CheckDigit {
                found: '1',
                expected: 'X'
            })
        );
        // Two digits of the sequence swapped: the check digit catches it.
        assert!(matches!(
            ResidentId::parse("11010519491231020X"),
            Err(ResidentIdError::CheckDigit { .. })
        ));
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(
            ResidentId::parse("1101051949"),
            Err(ResidentIdError::Length(10))
        );
        assert_eq!(ResidentId::parse(""), Err(ResidentIdError::Length(0)));
        assert_eq!(
            ResidentId::parse("11010519491231002Y"),
            Err(ResidentIdError::Character)
        );
        assert_eq!(
            ResidentId::parse("1101051949123X002X"),
            Err(ResidentIdError::Character)
        );
        assert!(matches!(
            ResidentId::parse("110105194913310025"),
            Err(ResidentIdError::BirthDate(_))
        ));
    }

    #[test]
    fn masks_the_middle() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.masked(), "110105********002X");
    }

    #[test]
    fn every_check_char_round_trips() {
        // For each possible check character there is a valid id: generate and parse.
        for seq in 0..200u32 {
            let body = format!("33010619900101{seq:03}");
            let check = check_char(body.as_bytes());
            let id = format!("{body}{check}");
            assert_eq!(ResidentId::parse(&id).unwrap().as_str(), id);
        }
    }
}
