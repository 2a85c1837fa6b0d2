//! Unified social credit codes (统一社会信用代码), GB 32100-2015.
//!
//! Eighteen characters from the 31-character set `0-9 A-H J-N P-R T U W-Y`:
//! registration authority (1), entity type (1), area code (6), organisation
//! code (9, itself carrying a GB 11714 check character) and a MOD 31 check
//! character. Some codes issued in the early years fail a checksum yet are
//! legally valid, so a checksum failure is *flagged* on the parsed value,
//! never a parse error.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::half_width;

const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Why a string is not a credit code at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("a unified social credit code has 18 characters, found {0}")]
    Length(usize),
    /// A character outside the code's alphabet (I, O, S, V, Z are never used).
    #[error("'{0}' is not allowed in a unified social credit code")]
    Character(char),
    /// The area code part is not six digits.
    #[error("characters 3 to 8 of a credit code are a six-digit area code")]
    AreaCode,
}

/// A well-formed unified social credit code, with the result of its checksums.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreditCode {
    code: String,
    checksum_ok: bool,
}

fn value_of(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The GB 32100 check character for the first 17 characters, or `None` if
/// one of them is outside the alphabet.
pub fn check_char(body: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in body.bytes().zip(WEIGHTS) {
        sum += value_of(c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(CHARSET[v as usize] as char)
}

/// The GB 11714 check character for an 8-character organisation code body.
fn org_check_char(body: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in body.bytes().zip(ORG_WEIGHTS) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        v => char::from_digit(v, 10).unwrap_or('0'),
    })
}

impl CreditCode {
    /// Parses a code; upper-cases it and folds full-width characters.
    pub fn parse(input: &str) -> Result<Self, CreditCodeError> {
        let code: String = input
            .chars()
            .map(half_width)
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let n = code.chars().count();
        if n != 18 {
            return Err(CreditCodeError::Length(n));
        }
        if let Some(bad) = code.bytes().find(|b| value_of(*b).is_none()) {
            return Err(CreditCodeError::Character(bad as char));
        }
        if !code[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(CreditCodeError::AreaCode);
        }
        let main_ok = check_char(&code[..17]) == code[17..].chars().next();
        let org_ok = org_check_char(&code[8..16]) == code[16..17].chars().next();
        Ok(CreditCode {
            checksum_ok: main_ok && org_ok,
            code,
        })
    }

    /// The canonical 18-character code.
    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// Whether both the GB 32100 and the embedded GB 11714 checks pass. A
    /// `false` here is a data-quality flag, not proof of a bad code.
    pub fn checksum_ok(&self) -> bool {
        self.checksum_ok
    }

    /// The six-digit area code of the registering authority.
    pub fn area_code(&self) -> &str {
        &self.code[2..8]
    }

    /// The nine-character organisation code (组织机构代码) inside the code.
    pub fn organisation_code(&self) -> &str {
        &self.code[8..17]
    }

    /// Builds a code with valid checksums from its first 16 characters
    /// (authority, type, area, 8-character organisation body).
    pub fn with_checksums(first16: &str) -> Option<Self> {
        if first16.len() != 16 {
            return None;
        }
        let mut code = first16.to_owned();
        code.push(org_check_char(&first16[8..16])?);
        code.push(check_char(&code)?);
        CreditCode::parse(&code).ok()
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_published_codes_pass_both_checks() {
        // Codes printed on public business licences.
        for code in [
            "91350100M000100Y43",
            "91330100716105852F",
            "9144030071526726XG",
            "914403001922038216",
        ] {
            let parsed = CreditCode::parse(code).unwrap();
            assert!(parsed.checksum_ok(), "{code}");
        }
    }

    #[test]
    fn a_checksum_failure_is_flagged_not_rejected() {
        let parsed = CreditCode::parse("91330100716105852G").unwrap();
        assert!(!parsed.checksum_ok());
        assert_eq!(parsed.area_code(), "330100");
    }

    #[test]
    fn normalises_case_and_width() {
        let parsed = CreditCode::parse(" ９１３３０１００７１６１０５８５２ｆ ").unwrap();
        assert_eq!(parsed.as_str(), "91330100716105852F");
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert_eq!(
            CreditCode::parse("9133010071610585"),
            Err(CreditCodeError::Length(16))
        );
        assert_eq!(
            CreditCode::parse("91330100716105852I"),
            Err(CreditCodeError::Character('I'))
        );
        assert_eq!(
            CreditCode::parse("91A30100716105852F"),
            Err(CreditCodeError::AreaCode)
        );
    }

    #[test]
    fn builds_valid_codes() {
        let code = CreditCode::with_checksums("9111010512345678").unwrap();
        assert!(code.checksum_ok());
        assert_eq!(code.organisation_code().len(), 9);
    }
}
