//! Incentives (绩效奖金): per role, the head office sets (without code) a
//! pool per head per month, the threshold score for sharing it, and
//! commission rates by product class. A period's incentives are computed
//! from its appraisals: each org unit's pool for a role (per head × the
//! role's people there × the period's months) is shared among those at or
//! above the threshold in proportion to their scores, and each person earns
//! commission on the sales amounts credited to them. Every amount is
//! explained by its lines; the run and every export are audited.

use std::collections::HashMap;

use panorama_domain::incentive::{commission, pool_shares};
use panorama_domain::period::Period;
use panorama_store::Store;
use panorama_store::incentives::{self as q, LineRow, NewIncentive};

use crate::{OcrmError, Result};

/// Sets `role`'s rules: the pool per head per month (fen), the threshold
/// (hundredths of a point) and commission rates (basis points by product
/// class); audited.
pub async fn set_rules(
    store: &Store,
    role: &str,
    pool_minor: i64,
    threshold_centi: i64,
    rates: &[(String, i64)],
    actor: &str,
) -> Result<()> {
    if !crate::appraisal::ROLES.contains(&role) {
        return Err(OcrmError::Invalid(format!(
            "incentives are kept for {}, not {role}",
            crate::appraisal::ROLES.join(", ")
        )));
    }
    if pool_minor < 0 || threshold_centi < 0 {
        return Err(OcrmError::Invalid(
            "a pool and a threshold are not negative".into(),
        ));
    }
    let classes = panorama_store::products::classes(store).await?;
    for (class, bp) in rates {
        if !classes.contains(class) {
            return Err(OcrmError::Invalid(format!(
                "no product class {class}; one of {}",
                classes.join(", ")
            )));
        }
        if !(0..=10_000).contains(bp) {
            return Err(OcrmError::Invalid(format!(
                "a rate is between 0 and 10,000 basis points, not {bp}"
            )));
        }
    }
    let mut rows: Vec<(&str, &str, i64)> =
        vec![("pool", "", pool_minor), ("threshold", "", threshold_centi)];
    rows.extend(rates.iter().map(|(c, b)| ("rate", c.as_str(), *b)));
    q::set_rules(store, role, &rows, actor).await?;
    Ok(())
}

fn months(p: &Period) -> i64 {
    panorama_domain::months_between(p.from, p.to) + 1
}

/// What an incentive run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Ran {
    /// People paid.
    pub people: usize,
    /// The total, fen.
    pub total_minor: i64,
    /// Of it, pools, fen.
    pub pools_minor: i64,
    /// Of it, commission, fen.
    pub commission_minor: i64,
}

/// Computes `period`'s incentives from its appraisals (which must have been
/// computed) and the sales credited in it; replaces the period's previous
/// run; audited. A pool's shares add up to the pool (the run stops if they
/// do not).
pub async fn run(store: &Store, period: &Period, actor: &str) -> Result<Ran> {
    let appraisals = panorama_store::appraisal::list(store, &period.code, None).await?;
    if appraisals.is_empty() {
        return Err(OcrmError::Conflict(format!(
            "no appraisals of {}: run the appraisal first",
            period.code
        )));
    }
    let rules = q::rules(store).await?;
    let rule = |role: &str, kind: &str| {
        rules
            .iter()
            .find(|r| r.role == role && r.kind == kind)
            .map_or(0, |r| r.value)
    };
    let credits = panorama_store::sales::credit_totals(
        store,
        &period.from.to_string(),
        &period.to.to_string(),
    )
    .await?;
    let mut by_user: HashMap<i64, Vec<(&str, i64)>> = HashMap::new();
    for c in &credits {
        by_user
            .entry(c.user_id)
            .or_default()
            .push((c.class.as_str(), c.amount_minor));
    }
    let mut people: Vec<NewIncentive> = Vec::with_capacity(appraisals.len());
    // Commission.
    for a in &appraisals {
        let mut lines = Vec::new();
        for (class, amount) in by_user.get(&a.user_id).into_iter().flatten() {
            let Some(r) = rules
                .iter()
                .find(|r| r.role == a.role && r.kind == "rate" && r.product_class == *class)
            else {
                continue;
            };
            let c = commission(*amount, r.value);
            if c > 0 {
                lines.push(LineRow {
                    kind: "commission".into(),
                    label: (*class).to_owned(),
                    base_minor: *amount,
                    rate_bp: Some(r.value),
                    score_centi: None,
                    scores_centi: None,
                    amount_minor: c,
                });
            }
        }
        people.push(NewIncentive {
            user_id: a.user_id,
            role: a.role.clone(),
            org_unit_id: a.org_unit_id,
            score_centi: a.score_centi,
            amount_minor: 0,
            lines,
        });
    }
    // Pools: per org unit and role.
    let mut groups: HashMap<(i64, String), Vec<usize>> = HashMap::new();
    for (k, p) in people.iter().enumerate() {
        groups
            .entry((p.org_unit_id, p.role.clone()))
            .or_default()
            .push(k);
    }
    let mut ran = Ran::default();
    let mut keys: Vec<_> = groups.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let members = &groups[&key];
        let (org, role) = &key;
        let pool = rule(role, "pool") * members.len() as i64 * months(period);
        let threshold = rule(role, "threshold");
        let scores: Vec<i64> = members.iter().map(|k| people[*k].score_centi).collect();
        let shares = pool_shares(pool, &scores, threshold);
        let eligible: i64 = scores.iter().filter(|s| **s >= threshold).sum();
        let paid: i64 = shares.iter().sum();
        if eligible > 0 && paid != pool {
            return Err(OcrmError::Invalid(format!(
                "the pool of org unit {org} for {role}s ({pool} fen) was shared as {paid}: stopped before writing"
            )));
        }
        let label = appraisals
            .iter()
            .find(|a| a.org_unit_id == *org)
            .map_or_else(String::new, |a| a.org_name.clone());
        for (k, share) in members.iter().zip(shares) {
            let p = &mut people[*k];
            let below = p.score_centi < threshold;
            p.lines.push(LineRow {
                kind: if below { "below_threshold" } else { "pool" }.into(),
                label: label.clone(),
                base_minor: pool,
                rate_bp: None,
                score_centi: Some(p.score_centi),
                scores_centi: Some(if below { threshold } else { eligible }),
                amount_minor: share,
            });
            ran.pools_minor += share;
        }
    }
    for p in &mut people {
        p.amount_minor = p.lines.iter().map(|l| l.amount_minor).sum();
        ran.commission_minor += p
            .lines
            .iter()
            .filter(|l| l.kind == "commission")
            .map(|l| l.amount_minor)
            .sum::<i64>();
        ran.total_minor += p.amount_minor;
    }
    ran.people = people.len();
    q::write(store, &period.code, &people, actor).await?;
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_has_three_months_and_a_year_twelve() {
        assert_eq!(months(&Period::parse("2026-Q3").unwrap()), 3);
        assert_eq!(months(&Period::parse("2026").unwrap()), 12);
        assert_eq!(months(&Period::parse("2026-02").unwrap()), 1);
    }
}
