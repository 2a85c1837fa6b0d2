//! Customer value in decisions (客户价值决策): how far a retention offer may
//! go for a customer, within the bank's band, by what the customer is
//! worth.

/// The premium over the standard rate a retention offer may carry, in basis
/// points: the bank's `band_bp` scaled by the customer's value rank
/// (`rank_bp`, 10,000 = the most valuable: they get the whole band, a
/// customer at the median half of it), and never costing more than the
/// customer is worth — the premium paid on `balance_minor` over
/// `term_months` stays within `clv_minor`. A customer of no value gets no
/// premium; without a balance or a term the band and rank alone decide.
pub fn retention_premium_bp(
    band_bp: i64,
    rank_bp: i64,
    clv_minor: i64,
    balance_minor: i64,
    term_months: i64,
) -> i64 {
    if band_bp <= 0 || clv_minor <= 0 {
        return 0;
    }
    let scaled = i128::from(band_bp) * i128::from(rank_bp.clamp(0, 10_000)) / 10_000;
    let affordable = if balance_minor > 0 && term_months > 0 {
        // premium_bp / 10,000 × balance × term / 12 ≤ clv
        i128::from(clv_minor) * 10_000 * 12 / (i128::from(balance_minor) * i128::from(term_months))
    } else {
        i128::from(band_bp)
    };
    i64::try_from(scaled.min(affordable).clamp(0, i128::from(band_bp))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_follows_the_value_rank_and_never_the_value_itself() {
        // The most valuable: the whole band; the median: half; the least: none.
        assert_eq!(retention_premium_bp(30, 10_000, 10_000_000, 0, 0), 30);
        assert_eq!(retention_premium_bp(30, 5_000, 10_000_000, 0, 0), 15);
        assert_eq!(retention_premium_bp(30, 0, 10_000_000, 0, 0), 0);
        // A loss-maker or a customer of no value: nothing.
        assert_eq!(retention_premium_bp(30, 10_000, 0, 0, 0), 0);
        assert_eq!(retention_premium_bp(30, 10_000, -5, 0, 0), 0);
        // 1,000,000 yuan for 12 months at 30 bp costs 3,000 yuan: a customer
        // worth 1,000 yuan gets at most 10 bp.
        assert_eq!(
            retention_premium_bp(30, 10_000, 100_000, 100_000_000, 12),
            10
        );
        // Worth far more than the premium: the rank decides.
        assert_eq!(
            retention_premium_bp(30, 9_000, 100_000_000, 100_000_000, 12),
            27
        );
        assert_eq!(retention_premium_bp(0, 10_000, 100_000_000, 0, 0), 0);
    }
}
