//! Civil dates as they appear in source extracts.

use chrono::NaiveDate;

/// Why a string is not a date in the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a date in the format {format}")]
pub struct DateError {
    /// The text that failed.
    pub value: String,
    /// The chrono format it was read with.
    pub format: String,
}

/// Parses a civil date with a chrono format (`%Y-%m-%d`, `%Y%m%d`, `%Y/%m/%d`, …).
pub fn parse_date(value: &str, format: &str) -> Result<NaiveDate, DateError> {
    NaiveDate::parse_from_str(value.trim(), format).map_err(|_| DateError {
        value: value.to_owned(),
        format: format.to_owned(),
    })
}

/// Calendar months from `from`'s month to `to`'s (the days ignored):
/// 2026-01-31 to 2026-02-01 is 1.
pub fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_between_counts_calendar_months() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(months_between(d("2026-01-31"), d("2026-02-01")), 1);
        assert_eq!(months_between(d("2025-11-15"), d("2026-02-10")), 3);
        assert_eq!(months_between(d("2026-03-01"), d("2026-01-01")), -2);
    }

    #[test]
    fn reads_common_bank_formats() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(parse_date("2024-02-29", "%Y-%m-%d").unwrap(), d);
        assert_eq!(parse_date("20240229", "%Y%m%d").unwrap(), d);
        assert_eq!(parse_date(" 2024/02/29 ", "%Y/%m/%d").unwrap(), d);
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse_date("2023-02-29", "%Y-%m-%d").is_err());
        assert!(parse_date("2024-13-01", "%Y-%m-%d").is_err());
        let err = parse_date("29/02/2024", "%Y-%m-%d").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'29/02/2024' is not a date in the format %Y-%m-%d"
        );
    }
}
