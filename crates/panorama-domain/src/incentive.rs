//! Incentives (绩效奖金): commission on the sales amounts credited to a
//! person (a rate in basis points per product class, rounded down to the
//! fen), and an org unit's pool shared among its people in proportion to
//! their appraisal scores — only those at or above the threshold score
//! share, and their shares add up to the pool exactly.

use crate::period::apportion;

/// Commission on `amount_minor` at `rate_bp` basis points, rounded down to
/// the fen (never negative).
pub fn commission(amount_minor: i64, rate_bp: i64) -> i64 {
    let c = i128::from(amount_minor.max(0)) * i128::from(rate_bp.max(0)) / 10_000;
    i64::try_from(c).unwrap_or(i64::MAX)
}

/// Each person's share of `pool` by `scores` (hundredths of a point): 0
/// below `threshold`; the eligible shares in proportion to their scores,
/// adding up to the pool. Nobody eligible leaves the pool unpaid.
pub fn pool_shares(pool: i64, scores: &[i64], threshold: i64) -> Vec<i64> {
    let weights: Vec<i64> = scores
        .iter()
        .map(|s| if *s >= threshold { (*s).max(0) } else { 0 })
        .collect();
    if weights.iter().all(|w| *w == 0) {
        return vec![0; scores.len()];
    }
    apportion(pool.max(0), &weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commission_rounds_down_to_the_fen() {
        assert_eq!(commission(100_000_000, 20), 200_000);
        assert_eq!(commission(999, 33), 3);
        assert_eq!(commission(-5, 10), 0);
    }

    #[test]
    fn the_pool_goes_to_those_at_the_threshold_in_proportion_and_adds_up() {
        let shares = pool_shares(1_000_001, &[9_000, 6_000, 5_999, 3_000], 6_000);
        assert_eq!(shares[2..], [0, 0]);
        assert_eq!(shares.iter().sum::<i64>(), 1_000_001);
        assert_eq!(shares[0], 600_001);
        assert_eq!(pool_shares(500, &[100, 200], 6_000), vec![0, 0]);
        assert_eq!(pool_shares(500, &[], 0), Vec::<i64>::new());
    }
}
