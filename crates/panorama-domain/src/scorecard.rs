//! Appraisal scorecards (绩效考核): a role's weighted indicators, each
//! scored against the person's target (attainment) or a standard the head
//! office sets, higher or lower being better, within a floor and a cap. An
//! indicator with nothing to score against (no target allocated) drops out
//! and the others' weights are scaled up to the whole, so nobody loses
//! points for a target they were never given.

/// How an indicator is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Against the person's target for the period (目标完成率).
    Target,
    /// Against a standard value set on the scorecard: full marks at it.
    Standard(i64),
}

/// Whether more of an indicator is better (sales) or worse (complaints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// More is better: the ratio is actual / reference.
    Higher,
    /// Less is better: full marks at the reference, none at twice it.
    Lower,
}

/// One indicator of a scorecard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Points it is worth at 100 %.
    pub weight: i64,
    /// What it is scored against.
    pub basis: Basis,
    /// Which way is better.
    pub better: Better,
    /// Least ratio counted, percent (e.g. 0).
    pub floor_pct: i64,
    /// Most ratio counted, percent (e.g. 120).
    pub cap_pct: i64,
}

/// Why a scorecard cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// A weight below 0.
    #[error("a weight is at least 0, not {0}")]
    Weight(i64),
    /// The weights do not add up to 100.
    #[error("the weights add up to {0} points, not 100")]
    Sum(i64),
    /// A floor above the cap, or a negative floor.
    #[error("a floor ({0} %) is between 0 and the cap ({1} %)")]
    Bounds(i64, i64),
    /// A standard of 0 or less.
    #[error("a standard is above 0, not {0}")]
    Standard(i64),
}

/// Checks a scorecard's items: weights at least 0 adding up to 100, floors
/// within 0 and the cap, standards above 0.
pub fn check(items: &[Item]) -> Result<(), CardError> {
    for i in items {
        if i.weight < 0 {
            return Err(CardError::Weight(i.weight));
        }
        if i.floor_pct < 0 || i.floor_pct > i.cap_pct {
            return Err(CardError::Bounds(i.floor_pct, i.cap_pct));
        }
        if let Basis::Standard(s) = i.basis
            && s <= 0
        {
            return Err(CardError::Standard(s));
        }
    }
    let sum: i64 = items.iter().map(|i| i.weight).sum();
    if sum != 100 {
        return Err(CardError::Sum(sum));
    }
    Ok(())
}

/// One indicator scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    /// The ratio counted (after floor and cap), in basis points; `None`
    /// when there was nothing to score against.
    pub ratio_bp: Option<i64>,
    /// Points earned, in hundredths (after the others' weights were scaled
    /// up for the items that dropped out).
    pub points_centi: i64,
}

/// The ratio of `actual` to `reference` for `item`, floored and capped, in
/// basis points; `None` without a positive reference.
pub fn ratio_bp(item: &Item, actual: i64, reference: Option<i64>) -> Option<i64> {
    let r = i128::from(reference.filter(|r| *r > 0)?);
    let a = i128::from(actual);
    let raw = match item.better {
        Better::Higher => a * 10_000 / r,
        Better::Lower => (2 * r - a) * 10_000 / r,
    };
    let lo = i128::from(item.floor_pct) * 100;
    let hi = i128::from(item.cap_pct) * 100;
    i64::try_from(raw.clamp(lo, hi)).ok()
}

/// Scores `items` with their `(actual, reference)`: each item's points are
/// weight × ratio, the weights of items with nothing to score against
/// spread over the rest. Returns each item's score and the total in
/// hundredths of a point.
pub fn score(items: &[Item], values: &[(i64, Option<i64>)]) -> (Vec<Scored>, i64) {
    let ratios: Vec<Option<i64>> = items
        .iter()
        .zip(values)
        .map(|(i, (a, r))| ratio_bp(i, *a, *r))
        .collect();
    let counted: i64 = items
        .iter()
        .zip(&ratios)
        .filter(|(_, r)| r.is_some())
        .map(|(i, _)| i.weight)
        .sum();
    let scored: Vec<Scored> = items
        .iter()
        .zip(&ratios)
        .map(|(i, r)| {
            let points_centi = match (r, counted) {
                (Some(r), c) if c > 0 => {
                    // weight × (100 / counted) × ratio, in hundredths of a point.
                    let p = i128::from(i.weight) * 100 * i128::from(*r) * 100
                        / (i128::from(c) * 10_000);
                    i64::try_from(p).unwrap_or(i64::MAX)
                }
                _ => 0,
            };
            Scored {
                ratio_bp: *r,
                points_centi,
            }
        })
        .collect();
    let total = scored.iter().map(|s| s.points_centi).sum();
    (scored, total)
}

/// Ranks of `scores` among themselves, 1 the highest; ties share a rank.
pub fn ranks(scores: &[i64]) -> Vec<usize> {
    scores
        .iter()
        .map(|s| 1 + scores.iter().filter(|o| *o > s).count())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(weight: i64, basis: Basis, better: Better) -> Item {
        Item {
            weight,
            basis,
            better,
            floor_pct: 0,
            cap_pct: 120,
        }
    }

    #[test]
    fn ratios_are_floored_and_capped_either_way() {
        let up = item(40, Basis::Target, Better::Higher);
        assert_eq!(ratio_bp(&up, 50, Some(100)), Some(5_000));
        assert_eq!(ratio_bp(&up, 300, Some(100)), Some(12_000));
        assert_eq!(ratio_bp(&up, -30, Some(100)), Some(0));
        assert_eq!(ratio_bp(&up, 30, None), None);
        assert_eq!(ratio_bp(&up, 30, Some(0)), None);
        let down = item(20, Basis::Standard(4), Better::Lower);
        // Four complaints: full marks; two: 150 %, capped at 120 %; eight: none.
        assert_eq!(ratio_bp(&down, 4, Some(4)), Some(10_000));
        assert_eq!(ratio_bp(&down, 2, Some(4)), Some(12_000));
        assert_eq!(ratio_bp(&down, 6, Some(4)), Some(5_000));
        assert_eq!(ratio_bp(&down, 9, Some(4)), Some(0));
    }

    #[test]
    fn an_item_without_a_target_spreads_its_weight_over_the_rest() {
        let items = [
            item(50, Basis::Target, Better::Higher),
            item(30, Basis::Target, Better::Higher),
            item(20, Basis::Standard(10), Better::Higher),
        ];
        // All scored: 50 × 80 % + 30 × 100 % + 20 × 50 % = 80 points.
        let (lines, total) = score(&items, &[(80, Some(100)), (5, Some(5)), (5, Some(10))]);
        assert_eq!(total, 8_000);
        assert_eq!(lines[0].points_centi, 4_000);
        // No target for the second: 50 and 20 scaled to 100 (× 100/70).
        let (lines, total) = score(&items, &[(80, Some(100)), (5, None), (5, Some(10))]);
        assert_eq!(
            lines[1],
            Scored {
                ratio_bp: None,
                points_centi: 0
            }
        );
        assert_eq!(lines[0].points_centi, 5_714);
        assert_eq!(lines[2].points_centi, 1_428);
        assert_eq!(total, 7_142);
        // Nothing to score against at all: no points, not a division by zero.
        let (_, total) = score(&items, &[(1, None), (1, None), (1, Some(0))]);
        assert_eq!(total, 0);
    }

    #[test]
    fn cards_add_up_to_a_hundred_and_ranks_share_ties() {
        let ok = [
            item(60, Basis::Target, Better::Higher),
            item(40, Basis::Standard(3), Better::Lower),
        ];
        assert_eq!(check(&ok), Ok(()));
        assert_eq!(check(&ok[..1]), Err(CardError::Sum(60)));
        let bad = [Item {
            floor_pct: 130,
            ..item(100, Basis::Target, Better::Higher)
        }];
        assert_eq!(check(&bad), Err(CardError::Bounds(130, 120)));
        assert_eq!(
            check(&[item(100, Basis::Standard(0), Better::Higher)]),
            Err(CardError::Standard(0))
        );
        assert_eq!(ranks(&[70, 90, 70, 10]), vec![2, 1, 2, 4]);
    }
}
