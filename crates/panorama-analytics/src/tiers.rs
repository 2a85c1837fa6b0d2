//! Value tiers (客户等级) with upgrade and downgrade lag rules.
//!
//! A customer's tier is decided at each month end from that month's average
//! AUM and takes effect the next day (the first of the following month):
//! - **upgrade** as soon as one month's average reaches a higher tier's
//!   threshold;
//! - **downgrade** only after `downgrade_after` consecutive months (of the
//!   current tier) below the current tier's threshold, to the tier the
//!   latest month qualifies for.
//!
//! The decision history is a pure function of the monthly series, so a
//! rerun for any as-of date reproduces it. A tier history row is written
//! for a customer's first decision and for every change; the tier at a
//! date is the latest decision on or before it.

use chrono::{Datelike, Months, NaiveDate};

use crate::config::TierDef;

/// One tier decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierDecision {
    /// The month end the decision was made on.
    pub as_of: NaiveDate,
    /// Index of the tier in the configuration (0 = highest).
    pub tier: usize,
    /// The tier before, `None` for a customer's first decision.
    pub previous: Option<usize>,
    /// Why, in words (English; the UI renders its own text from the codes).
    pub reason: String,
}

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The last day of the month starting at `first`.
pub fn month_end(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(first)
}

/// The last month (its first day) complete on `as_of`: `as_of`'s own month
/// when `as_of` is its last day, else the month before.
pub fn last_complete_month(as_of: NaiveDate) -> NaiveDate {
    let first = month_start(as_of);
    if month_end(first) == as_of {
        first
    } else {
        first.checked_sub_months(Months::new(1)).unwrap_or(first)
    }
}

/// The highest tier (smallest index) whose threshold `aum_minor` reaches.
pub fn qualifying(tiers: &[TierDef], aum_minor: i64) -> usize {
    tiers
        .iter()
        .position(|t| aum_minor >= t.min_aum_minor())
        .unwrap_or(tiers.len().saturating_sub(1))
}

/// Replays the tier rules over one customer's monthly average AUM, given as
/// `(month first day, average AUM in minor units)` in ascending month order;
/// months missing between the first and `through` count as zero. Returns
/// the decisions (the first, then every change) up to the month `through`.
pub fn replay(
    tiers: &[TierDef],
    series: &[(NaiveDate, i64)],
    through: NaiveDate,
) -> Vec<TierDecision> {
    let mut out = Vec::new();
    let Some(&(first, _)) = series.first() else {
        return out;
    };
    let mut month = first;
    let mut next = series.iter().peekable();
    let mut current: Option<usize> = None;
    let mut below = 0u32;
    while month <= through {
        let mut aum = 0;
        while let Some(&&(m, v)) = next.peek() {
            if m < month {
                next.next();
            } else {
                if m == month {
                    aum = v;
                }
                break;
            }
        }
        let q = qualifying(tiers, aum);
        let as_of = month_end(month);
        let effective = month_end(month).succ_opt().unwrap_or(as_of);
        match current {
            None => {
                out.push(TierDecision {
                    as_of,
                    tier: q,
                    previous: None,
                    reason: format!(
                        "first tier from the month average of {}: {} (effective {effective})",
                        month.format("%Y-%m"),
                        money(aum)
                    ),
                });
                current = Some(q);
            }
            Some(c) if q < c => {
                out.push(TierDecision {
                    as_of,
                    tier: q,
                    previous: Some(c),
                    reason: format!(
                        "upgrade: month average of {} {} reached {} ({}), effective {effective}",
                        month.format("%Y-%m"),
                        money(aum),
                        tiers[q].code,
                        money(tiers[q].min_aum_minor())
                    ),
                });
                current = Some(q);
                below = 0;
            }
            Some(c) if q > c => {
                below += 1;
                if below >= tiers[c].downgrade_after {
                    out.push(TierDecision {
                        as_of,
                        tier: q,
                        previous: Some(c),
                        reason: format!(
                            "downgrade: {below} consecutive months below {} ({}), month average of {} {}, effective {effective}",
                            tiers[c].code,
                            money(tiers[c].min_aum_minor()),
                            month.format("%Y-%m"),
                            money(aum)
                        ),
                    });
                    current = Some(q);
                    below = 0;
                }
            }
            Some(_) => below = 0,
        }
        match month.checked_add_months(Months::new(1)) {
            Some(m) => month = m,
            None => break,
        }
    }
    out
}

fn money(minor: i64) -> String {
    panorama_domain::Money::from_minor(minor).to_string()
}

/// The tier in force on `date` given a customer's decisions (ascending).
pub fn tier_on(decisions: &[TierDecision], date: NaiveDate) -> Option<usize> {
    decisions
        .iter()
        .take_while(|d| d.as_of <= date)
        .last()
        .map(|d| d.tier)
}

/// Customers who moved up, down or stayed between two dates, from the
/// migration matrix's cells (tier then, or none for a new customer; tier
/// now; customers). `order` lists the tier codes highest first; a new
/// customer or an unknown code counts in none of the three.
pub fn migration_summary(cells: &[(Option<String>, String, i64)], order: &[&str]) -> Movement {
    let rank = |c: &str| order.iter().position(|t| *t == c);
    let mut m = Movement::default();
    for (from, to, n) in cells {
        match (from.as_deref().and_then(rank), rank(to)) {
            (Some(a), Some(b)) if b < a => m.upgraded += n,
            (Some(a), Some(b)) if b > a => m.downgraded += n,
            (Some(_), Some(_)) => m.unchanged += n,
            _ => {}
        }
    }
    m
}

/// Customers by the direction their tier moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Movement {
    /// To a higher tier.
    pub upgraded: i64,
    /// To a lower tier.
    pub downgraded: i64,
    /// In the same tier.
    pub unchanged: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_moves_count_by_direction_and_new_customers_by_none() {
        let cell = |f: Option<&str>, t: &str, n| (f.map(str::to_owned), t.to_owned(), n);
        let cells = [
            cell(Some("gold"), "platinum", 3),
            cell(Some("platinum"), "gold", 2),
            cell(Some("gold"), "gold", 10),
            cell(None, "gold", 4),
            cell(Some("retired"), "gold", 1),
        ];
        let m = migration_summary(&cells, &["core", "platinum", "gold"]);
        assert_eq!(
            m,
            Movement {
                upgraded: 3,
                downgraded: 2,
                unchanged: 10
            }
        );
    }
    use crate::config::Config;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn yuan(v: i64) -> i64 {
        v * 100
    }

    /// The default tiers: core 6M (6 months), growth 1M, platinum 500k,
    /// gold 50k, potential 0 (3 months each).
    fn tiers() -> Vec<TierDef> {
        Config::default_config().tiers
    }

    fn names(t: &[TierDef], ds: &[TierDecision]) -> Vec<(String, String)> {
        ds.iter()
            .map(|x| (x.as_of.to_string(), t[x.tier].code.clone()))
            .collect()
    }

    #[test]
    fn month_arithmetic() {
        assert_eq!(month_end(d("2024-02-01")), d("2024-02-29"));
        assert_eq!(last_complete_month(d("2026-10-31")), d("2026-10-01"));
        assert_eq!(last_complete_month(d("2026-10-30")), d("2026-09-01"));
        assert_eq!(last_complete_month(d("2026-01-15")), d("2025-12-01"));
    }

    #[test]
    fn qualifying_uses_inclusive_thresholds() {
        let t = tiers();
        assert_eq!(t[qualifying(&t, yuan(50_000))].code, "gold");
        assert_eq!(t[qualifying(&t, yuan(50_000) - 1)].code, "potential");
        assert_eq!(t[qualifying(&t, yuan(6_000_000))].code, "core");
        assert_eq!(t[qualifying(&t, -5)].code, "potential");
    }

    #[test]
    fn upgrade_is_decided_on_the_first_qualifying_month() {
        let t = tiers();
        let s = [
            (d("2026-01-01"), yuan(10_000)),
            (d("2026-02-01"), yuan(60_000)),
            (d("2026-03-01"), yuan(60_000)),
        ];
        let ds = replay(&t, &s, d("2026-03-01"));
        assert_eq!(
            names(&t, &ds),
            [
                ("2026-01-31".into(), "potential".into()),
                ("2026-02-28".into(), "gold".into())
            ]
        );
        assert_eq!(ds[1].previous, Some(4));
        assert!(
            ds[1].reason.contains("effective 2026-03-01"),
            "{}",
            ds[1].reason
        );
        // In force on 2026-02-15: still potential; from the decision on: gold.
        assert_eq!(tier_on(&ds, d("2026-02-15")), Some(4));
        assert_eq!(tier_on(&ds, d("2026-02-28")), Some(1 + 2));
        assert_eq!(tier_on(&ds, d("2025-12-31")), None);
    }

    #[test]
    fn downgrade_waits_for_n_consecutive_months_below() {
        let t = tiers();
        // Gold (50k) needs 3 months below. Two dips separated by a good month
        // never downgrade; three in a row do, on the third month.
        let s = [
            (d("2026-01-01"), yuan(80_000)),
            (d("2026-02-01"), yuan(10_000)),
            (d("2026-03-01"), yuan(10_000)),
            (d("2026-04-01"), yuan(50_000)),
            (d("2026-05-01"), yuan(10_000)),
            (d("2026-06-01"), yuan(10_000)),
            (d("2026-07-01"), yuan(10_000)),
        ];
        let ds = replay(&t, &s, d("2026-07-01"));
        assert_eq!(
            names(&t, &ds),
            [
                ("2026-01-31".into(), "gold".into()),
                ("2026-07-31".into(), "potential".into())
            ]
        );
        assert!(
            ds[1].reason.contains("3 consecutive months"),
            "{}",
            ds[1].reason
        );
        // Through June only: still gold.
        let ds = replay(&t, &s, d("2026-06-01"));
        assert_eq!(names(&t, &ds).len(), 1);
    }

    #[test]
    fn the_top_tier_waits_longer_and_drops_to_what_the_last_month_earns() {
        let t = tiers();
        let mut s = vec![(d("2025-01-01"), yuan(7_000_000))];
        for m in 2..=6 {
            s.push((d(&format!("2025-{m:02}-01")), yuan(600_000)));
        }
        let ds = replay(&t, &s, d("2025-06-01"));
        assert_eq!(names(&t, &ds), [("2025-01-31".into(), "core".into())]);
        s.push((d("2025-07-01"), yuan(600_000)));
        let ds = replay(&t, &s, d("2025-07-01"));
        assert_eq!(
            names(&t, &ds),
            [
                ("2025-01-31".into(), "core".into()),
                ("2025-07-31".into(), "platinum".into())
            ]
        );
    }

    #[test]
    fn missing_months_count_as_zero_and_a_jump_up_is_immediate() {
        let t = tiers();
        let s = [
            (d("2026-01-01"), yuan(600_000)),
            (d("2026-05-01"), yuan(7_000_000)),
        ];
        let ds = replay(&t, &s, d("2026-05-01"));
        assert_eq!(
            names(&t, &ds),
            [
                ("2026-01-31".into(), "platinum".into()),
                ("2026-04-30".into(), "potential".into()),
                ("2026-05-31".into(), "core".into())
            ]
        );
        assert!(replay(&t, &[], d("2026-05-01")).is_empty());
    }
}
