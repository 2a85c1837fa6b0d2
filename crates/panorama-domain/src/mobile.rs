//! Mainland China mobile numbers (11 digits, `1[3-9]x`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::digits_only;

/// Why a string is not a mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    /// Not 11 digits after removing a +86/0086 prefix and separators.
    #[error("a mobile number has 11 digits, found {0}")]
    Length(usize),
    /// A mainland mobile number starts with 13–19.
    #[error("a mobile number starts with 13 to 19, not {0}")]
    Prefix(String),
    /// Letters or other characters in the number.
    #[error("a mobile number has only digits")]
    Character,
}

/// An 11-digit mainland mobile number without country prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mobile(String);

impl Mobile {
    /// Parses `13812345678`, `138-1234-5678`, `+86 138 1234 5678`,
    /// `008613812345678` or full-width digits.
    pub fn parse(input: &str) -> Result<Self, MobileError> {
        let trimmed = input.trim();
        if trimmed.chars().any(|c| {
            !(c.is_ascii_digit()
                || c.is_whitespace()
                || "+-()（）".contains(c)
                || ('０'..='９').contains(&c))
        }) {
            return Err(MobileError::Character);
        }
        let mut digits = digits_only(trimmed, false);
        if digits.len() == 13 && digits.starts_with("86") {
            digits.drain(..2);
        } else if digits.len() == 15 && digits.starts_with("0086") {
            digits.drain(..4);
        }
        if digits.len() != 11 {
            return Err(MobileError::Length(digits.len()));
        }
        let second = digits.as_bytes()[1];
        if !digits.starts_with('1') || !(b'3'..=b'9').contains(&second) {
            return Err(MobileError::Prefix(digits[..2].to_owned()));
        }
        Ok(Mobile(digits))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Masked for display: `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings() {
        for s in [
            "13812345678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "008613812345678",
            "８６１３８１２３４５６７８",
            "(138)12345678",
        ] {
            assert_eq!(Mobile::parse(s).unwrap().as_str(), "13812345678", "{s}");
        }
    }

    #[test]
    fn rejects_landlines_and_garbage() {
        assert_eq!(
            Mobile::parse("010-62345678"),
            Err(MobileError::Prefix("01".into()))
        );
        assert_eq!(Mobile::parse("0755-234567"), Err(MobileError::Length(10)));
        assert_eq!(
            Mobile::parse("12812345678"),
            Err(MobileError::Prefix("12".into()))
        );
        assert_eq!(Mobile::parse("1381234567"), Err(MobileError::Length(10)));
        assert_eq!(Mobile::parse("138abc45678"), Err(MobileError::Character));
        assert_eq!(Mobile::parse(""), Err(MobileError::Length(0)));
    }

    #[test]
    fn masks_the_middle_four() {
        assert_eq!(
            Mobile::parse("13812345678").unwrap().masked(),
            "138****5678"
        );
    }
}
