//! Management periods and shares: a target period (a year, a quarter or a
//! month with its first and last day) and the apportioning of a whole
//! amount by weights, so that a branch's target split over its RMs adds up
//! to the fen.

use chrono::{Months, NaiveDate};

/// A target period: a year (`2026`), a quarter (`2026-Q4`) or a month
/// (`2026-11`), with its first and last day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// As written.
    pub code: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Period {
    /// Parses `2026`, `2026-Q4` or `2026-11`.
    pub fn parse(code: &str) -> Option<Period> {
        let code = code.trim().to_uppercase();
        let (year, rest) = code
            .split_once('-')
            .map_or((code.as_str(), None), |(y, r)| (y, Some(r)));
        let year: i32 = year.parse().ok().filter(|y| (2000..=2100).contains(y))?;
        let (first_month, months) = match rest {
            None => (1, 12),
            Some(q) if q.starts_with('Q') => {
                let q: u32 = q[1..].parse().ok().filter(|q| (1..=4).contains(q))?;
                (3 * q - 2, 3)
            }
            Some(m) => (m.parse().ok().filter(|m| (1..=12).contains(m))?, 1),
        };
        let from = NaiveDate::from_ymd_opt(year, first_month, 1)?;
        let to = from.checked_add_months(Months::new(months))?.pred_opt()?;
        Some(Period { code, from, to })
    }
}

/// `total` shared in proportion to `weights` (largest remainder: the shares
/// are whole and add up to `total`; equal shares when every weight is 0).
pub fn apportion(total: i64, weights: &[i64]) -> Vec<i64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    let weights: Vec<i128> = if sum == 0 {
        vec![1; weights.len()]
    } else {
        weights.iter().map(|w| i128::from((*w).max(0))).collect()
    };
    let sum: i128 = weights.iter().sum();
    let total = i128::from(total);
    let mut shares: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&k| (std::cmp::Reverse(total * weights[k] % sum), k));
    let left = total - shares.iter().sum::<i128>();
    for &k in order.iter().take(usize::try_from(left).unwrap_or(0)) {
        shares[k] += 1;
    }
    shares
        .into_iter()
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_years_quarters_and_months() {
        let q = Period::parse("2026-q4").unwrap();
        assert_eq!(
            (q.code.as_str(), q.from.to_string(), q.to.to_string()),
            ("2026-Q4", "2026-10-01".into(), "2026-12-31".into())
        );
        let m = Period::parse("2024-02").unwrap();
        assert_eq!(m.to.to_string(), "2024-02-29");
        let y = Period::parse("2026").unwrap();
        assert_eq!(
            (y.from.to_string(), y.to.to_string()),
            ("2026-01-01".into(), "2026-12-31".into())
        );
        for bad in ["2026-Q5", "2026-13", "26", "x", "2026-Q", ""] {
            assert!(Period::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn shares_are_whole_and_add_up() {
        assert_eq!(apportion(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(apportion(10, &[0, 0]), vec![5, 5]);
        assert_eq!(apportion(1_000, &[700, 200, 100]), vec![700, 200, 100]);
        let s = apportion(999_999_999, &[3, 7, 11, 13]);
        assert_eq!(s.iter().sum::<i64>(), 999_999_999);
        assert!(apportion(5, &[]).is_empty());
    }
}
