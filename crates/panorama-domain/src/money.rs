//! Money as integer minor units (fen / cents). Never a float.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use serde::{Deserialize, Serialize};

/// Why a string is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Empty or only a sign.
    #[error("the amount is empty")]
    Empty,
    /// Characters other than digits, one decimal point, a sign and thousands separators.
    #[error("'{0}' is not an amount (digits, an optional sign, one decimal point)")]
    Syntax(String),
    /// More decimal places than the currency's minor unit has.
    #[error("'{0}' has more than two decimal places")]
    Precision(String),
    /// Beyond ±9.2e16 yuan.
    #[error("'{0}' is too large")]
    Overflow(String),
}

/// An amount in minor units of the account's currency (1 yuan = 100 fen).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// From minor units.
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// From whole major units (yuan).
    pub const fn from_major(major: i64) -> Self {
        Money(major * 100)
    }

    /// The amount in minor units.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses a decimal amount in major units: `1234.5`, `-0.01`, `1,234,567.89`, `+12`.
    /// Thousands separators (`,`) and full-width digits are accepted; more than two
    /// decimal places is an error rather than a silent rounding.
    pub fn parse_major(input: &str) -> Result<Self, MoneyError> {
        let s: String = input
            .trim()
            .chars()
            .map(crate::text::half_width)
            .filter(|c| *c != ',')
            .collect();
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            Some(_) => (false, s.as_str()),
            None => return Err(MoneyError::Empty),
        };
        if body.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::Syntax(input.to_owned()));
        }
        if frac.len() > 2 {
            return Err(MoneyError::Precision(input.to_owned()));
        }
        let overflow = || MoneyError::Overflow(input.to_owned());
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| overflow())?
        };
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
            _ => frac.parse().map_err(|_| overflow())?,
        };
        let minor = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac))
            .ok_or_else(overflow)?;
        Ok(Money(if negative { -minor } else { minor }))
    }

    /// Parses an integer count of minor units (`123456` = 1,234.56 yuan).
    pub fn parse_minor(input: &str) -> Result<Self, MoneyError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        s.parse::<i64>()
            .map(Money)
            .map_err(|_| MoneyError::Syntax(input.to_owned()))
    }

    /// Checked addition.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Basis-point share of this amount (e.g. a rate of 150 bp), rounded half away from zero.
    pub fn apply_bp(self, bp: i64) -> Money {
        let product = i128::from(self.0) * i128::from(bp);
        let rounded = (product + product.signum() * 5_000) / 10_000;
        Money(rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.saturating_neg())
    }
}

impl fmt::Display for Money {
    /// Major units with two decimals and no separators: `-1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_major_units_exactly() {
        assert_eq!(Money::parse_major("1234.56").unwrap().minor(), 123_456);
        assert_eq!(
            Money::parse_major("1,234,567.8").unwrap().minor(),
            123_456_780
        );
        assert_eq!(Money::parse_major("-0.01").unwrap().minor(), -1);
        assert_eq!(Money::parse_major("+12").unwrap().minor(), 1_200);
        assert_eq!(Money::parse_major(".5").unwrap().minor(), 50);
        assert_eq!(Money::parse_major("１００.００").unwrap().minor(), 10_000);
        // 0.1 + 0.2 is exactly 0.3 in minor units.
        let sum = Money::parse_major("0.1").unwrap() + Money::parse_major("0.2").unwrap();
        assert_eq!(sum, Money::parse_major("0.3").unwrap());
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        assert_eq!(Money::parse_major(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse_major("-"), Err(MoneyError::Empty));
        assert!(matches!(
            Money::parse_major("1.234"),
            Err(MoneyError::Precision(_))
        ));
        assert!(matches!(
            Money::parse_major("12a"),
            Err(MoneyError::Syntax(_))
        ));
        assert!(matches!(
            Money::parse_major("1.2.3"),
            Err(MoneyError::Syntax(_))
        ));
        assert!(matches!(
            Money::parse_major("."),
            Err(MoneyError::Syntax(_))
        ));
        assert!(matches!(
            Money::parse_major("99999999999999999999"),
            Err(MoneyError::Overflow(_))
        ));
        assert!(matches!(
            Money::parse_minor("1.5"),
            Err(MoneyError::Syntax(_))
        ));
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(Money::from_minor(-123_450).to_string(), "-1234.50");
        assert_eq!(Money::from_minor(5).to_string(), "0.05");
        assert_eq!(Money::from_major(7).to_string(), "7.00");
    }

    #[test]
    fn applies_basis_points_with_rounding() {
        assert_eq!(Money::from_minor(1_000_000).apply_bp(175).minor(), 17_500);
        assert_eq!(Money::from_minor(333).apply_bp(5_000).minor(), 167);
        assert_eq!(Money::from_minor(-333).apply_bp(5_000).minor(), -167);
    }
}
