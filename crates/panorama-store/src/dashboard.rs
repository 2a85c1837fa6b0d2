//! The management dashboard of an org unit's subtree for a period: customers
//! and AUM by tier, the tier migration matrix, the RMs' books side by side,
//! segment sizes, campaign results, target progress and the profitability
//! Pareto — each one query over the store, scoped by the org path.

use std::collections::BTreeMap;

use crate::targets::{self, Period};
use crate::{Result, Store};

/// Customers and AUM of one tier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct TierCell {
    /// Tier code.
    pub tier: String,
    /// Customers.
    pub customers: i64,
    /// Their AUM, fen.
    pub aum_minor: i64,
}

/// An RM's book.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct RmBook {
    /// Login.
    pub username: String,
    /// Name.
    pub name: String,
    /// Org unit code.
    pub org: String,
    /// Customers (primary).
    pub customers: i64,
    /// Their AUM, fen.
    pub aum_minor: i64,
    /// Their profit over the features' window, fen.
    pub profit_minor: i64,
}

/// One campaign's arms in the subtree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CampaignCell {
    /// Campaign.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Treated members and their responders.
    pub treated: (i64, i64),
    /// Control members and their responders.
    pub control: (i64, i64),
}

/// A target's progress for the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetCell {
    /// Indicator code.
    pub indicator: String,
    /// Its name (zh).
    pub name: String,
    /// Its name (en).
    pub name_en: String,
    /// `minor` or `count`.
    pub unit: String,
    /// Target.
    pub target: i64,
    /// Actual.
    pub actual: i64,
}

/// The Pareto of profit: the share of the positive profit earned by the
/// top `share` of customers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParetoPoint {
    /// Top share of customers (0–1).
    pub customers: f64,
    /// Their share of the positive profit (0–1).
    pub profit: f64,
}

/// The whole dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dashboard {
    /// The features' date the stock figures are of.
    pub as_of: Option<String>,
    /// The period of flows (tier moves, targets).
    pub period: String,
    /// Customers and AUM by tier.
    pub tiers: Vec<TierCell>,
    /// Tier moves decided in the period: (from, to) → customers.
    pub migration: Vec<(String, String, i64)>,
    /// The RMs' books, largest AUM first.
    pub rms: Vec<RmBook>,
    /// Saved segments and their members in the subtree.
    pub segments: Vec<(String, i64)>,
    /// Live and finished campaigns.
    pub campaigns: Vec<CampaignCell>,
    /// The org unit's targets of the period.
    pub targets: Vec<TargetCell>,
    /// Profit Pareto at 1, 5, 10, 20, 50 and 100% of customers.
    pub pareto: Vec<ParetoPoint>,
    /// Customers with a loss.
    pub loss_making: i64,
}

/// The dashboard of org unit `org` (id and materialised path) for `period`.
pub async fn build(store: &Store, org: i64, path: &str, period: &Period) -> Result<Dashboard> {
    let pool = store.db();
    let like = format!("{path}%");
    // The head office's view is the whole bank, customers without a home
    // branch included.
    let root: bool =
        sqlx::query_scalar::<_, Option<i64>>("SELECT parent_id FROM org_unit WHERE id = $1")
            .bind(org)
            .fetch_optional(pool)
            .await?
            .is_none_or(|p| p.is_none());
    let subtree = |n: usize| {
        if root {
            "1 = 1".to_owned()
        } else {
            format!("c.home_org_unit_id IN (SELECT id FROM org_unit WHERE path LIKE ${n})")
        }
    };
    let in_subtree = subtree(2);
    let as_of: Option<String> = sqlx::query_scalar("SELECT MAX(as_of) FROM customer_features")
        .fetch_one(pool)
        .await?;
    let day = as_of.clone().unwrap_or_default();
    // The stock figures of the head office are the features of the date
    // (one covering index); a branch's are its customers' (from their home
    // branch, each probing its features row on the list index).
    let stock = if root {
        "FROM customer_features f WHERE f.as_of = $1 AND $2 = $2".to_owned()
    } else {
        // CROSS JOIN keeps SQLite's loop on the branch's customers (it
        // otherwise walks every features row of the date: 8.7 s at 1M);
        // PostgreSQL plans it as the inner join it is.
        format!(
            "FROM customer c CROSS JOIN customer_features f \
             WHERE f.customer_id = c.id AND f.as_of = $1 AND c.status = 'active' AND {in_subtree}"
        )
    };
    let tiers: Vec<TierCell> = sqlx::query_as(&format!(
        "SELECT f.tier, COUNT(*) AS customers, CAST(SUM(f.aum_minor) AS BIGINT) AS aum_minor \
         {stock} GROUP BY f.tier ORDER BY f.tier"
    ))
    .bind(&day)
    .bind(&like)
    .fetch_all(pool)
    .await?;
    let migration: Vec<(String, String, i64)> = sqlx::query_as(&format!(
        "SELECT h.previous_tier, h.tier, COUNT(*) FROM tier_history h JOIN customer c ON c.id = h.customer_id \
         WHERE h.as_of >= $1 AND h.as_of <= $3 AND h.previous_tier IS NOT NULL AND {in_subtree} \
         GROUP BY h.previous_tier, h.tier ORDER BY h.previous_tier, h.tier"
    ))
    .bind(period.from.to_string())
    .bind(&like)
    .bind(period.to.to_string())
    .fetch_all(pool)
    .await?;
    let rms: Vec<RmBook> = sqlx::query_as(
        "SELECT u.username, u.display_name AS name, o.code AS org, COUNT(a.customer_id) AS customers, \
           CAST(COALESCE(SUM(f.aum_minor), 0) AS BIGINT) AS aum_minor, \
           CAST(COALESCE(SUM(f.profit_minor), 0) AS BIGINT) AS profit_minor \
         FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id \
         LEFT JOIN assignment a ON a.rm_user_id = u.id AND a.to_date IS NULL AND a.role = 'primary' \
         LEFT JOIN customer_features f ON f.customer_id = a.customer_id AND f.as_of = $1 \
         WHERE u.role = 'rm' AND u.active = 1 AND o.path LIKE $2 \
         GROUP BY u.username, u.display_name, o.code ORDER BY 5 DESC, u.username",
    )
    .bind(&day)
    .bind(&like)
    .fetch_all(pool)
    .await?;
    let segments: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT s.name, COUNT(c.id) FROM segment s \
         LEFT JOIN segment_member m ON m.segment_id = s.id AND m.left_on IS NULL \
         LEFT JOIN customer c ON c.id = m.customer_id AND {} \
         GROUP BY s.name ORDER BY s.name",
        subtree(1)
    ))
    .bind(&like)
    .fetch_all(pool)
    .await?;
    // Members by campaign and arm kind; responders from the (few) responses.
    // The whole bank's are the arm sizes kept at launch (counting 7.7M
    // memberships took 4 s at 1M customers); campaigns whose members were
    // written otherwise are counted. A branch's from its customers (their
    // home-branch index), each probing its memberships on a covering index:
    // SQLite otherwise reads every member row (15 s for 7.7M memberships).
    let members_sql = if root {
        "SELECT campaign_id, is_control, CAST(SUM(members) AS BIGINT) FROM campaign_arm \
         WHERE $1 = $1 GROUP BY campaign_id, is_control \
         UNION ALL \
         SELECT m.campaign_id, m.is_control, COUNT(*) FROM campaign_member m \
         WHERE m.campaign_id IN (SELECT k.id FROM campaign k WHERE k.status IN ('live', 'finished') \
                                 AND k.id NOT IN (SELECT campaign_id FROM campaign_arm)) \
         GROUP BY m.campaign_id, m.is_control"
            .to_owned()
    } else {
        format!(
            "SELECT m.campaign_id, m.is_control, COUNT(*) FROM customer c CROSS JOIN campaign_member m \
             WHERE m.customer_id = c.id AND c.status = 'active' AND {} \
             GROUP BY m.campaign_id, m.is_control",
            subtree(1)
        )
    };
    let members: Vec<(i64, i64, i64)> = sqlx::query_as(&members_sql)
        .bind(&like)
        .fetch_all(pool)
        .await?;
    let responders: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT m.campaign_id, m.is_control, COUNT(*) FROM campaign_response r \
         JOIN campaign_member m ON m.campaign_id = r.campaign_id AND m.customer_id = r.customer_id \
         JOIN customer c ON c.id = r.customer_id WHERE {} GROUP BY m.campaign_id, m.is_control",
        subtree(1)
    ))
    .bind(&like)
    .fetch_all(pool)
    .await?;
    let shown: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, status FROM campaign WHERE status IN ('live', 'finished') ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let count = |rows: &[(i64, i64, i64)], id: i64, control: i64| {
        rows.iter()
            .find(|r| r.0 == id && r.1 == control)
            .map_or(0, |r| r.2)
    };
    let arms: Vec<(i64, String, String, i64, i64, i64)> = shown
        .into_iter()
        .flat_map(|(id, name, status)| {
            [0, 1].map(|control| {
                (
                    id,
                    name.clone(),
                    status.clone(),
                    control,
                    count(&members, id, control),
                    count(&responders, id, control),
                )
            })
        })
        .filter(|a| a.4 > 0)
        .collect();
    let mut campaigns: BTreeMap<i64, CampaignCell> = BTreeMap::new();
    for (id, name, status, control, members, responders) in arms {
        let cell = campaigns.entry(id).or_insert_with(|| CampaignCell {
            id,
            name,
            status,
            treated: (0, 0),
            control: (0, 0),
        });
        if control == 1 {
            cell.control = (members, responders);
        } else {
            cell.treated = (members, responders);
        }
    }
    let mut targets_out = Vec::new();
    for ind in targets::indicators(store).await? {
        if let Some(t) = targets::target_of(store, &period.code, &ind.code, org).await? {
            let (root, _) = targets::progress(store, &t).await?;
            targets_out.push(TargetCell {
                indicator: ind.code,
                name: ind.name,
                name_en: ind.name_en,
                unit: ind.unit,
                target: t.value,
                actual: root.actual,
            });
        }
    }
    // The bank's Pareto in SQL: the customers, the positive profit and the
    // top k's profit for each share, each an index walk in profit order
    // that stops at k, so no profit leaves the store. A branch's profits
    // are few enough to sort here (six sorts of them in SQL cost more).
    let (pareto, loss_making) = if root {
        let (customers, positive, loss_making): (i64, Option<i64>, i64) =
            sqlx::query_as(&format!(
                "SELECT COUNT(*), CAST(SUM(CASE WHEN f.profit_minor > 0 THEN f.profit_minor ELSE 0 END) AS BIGINT), \
                   COUNT(CASE WHEN f.profit_minor < 0 THEN 1 END) {stock}"
            ))
            .bind(&day)
            .bind(&like)
            .fetch_one(pool)
            .await?;
        let positive = positive.unwrap_or(0);
        let mut points = Vec::new();
        for share in PARETO_SHARES {
            let top = ((customers as f64 * share).ceil() as i64).min(customers);
            let earned: Option<i64> = sqlx::query_scalar(&format!(
                "SELECT CAST(SUM(CASE WHEN p > 0 THEN p ELSE 0 END) AS BIGINT) FROM \
                 (SELECT f.profit_minor AS p {stock} ORDER BY f.profit_minor DESC NULLS LAST LIMIT $3) top"
            ))
            .bind(&day)
            .bind(&like)
            .bind(top)
            .fetch_one(pool)
            .await?;
            points.push(ParetoPoint {
                customers: share,
                profit: if positive > 0 {
                    earned.unwrap_or(0) as f64 / positive as f64
                } else {
                    0.0
                },
            });
        }
        (points, loss_making)
    } else {
        let mut profits: Vec<i64> =
            sqlx::query_scalar::<_, Option<i64>>(&format!("SELECT f.profit_minor {stock}"))
                .bind(&day)
                .bind(&like)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|p| p.unwrap_or(0))
                .collect();
        profits.sort_unstable_by(|a, b| b.cmp(a));
        let losses = profits.iter().filter(|p| **p < 0).count() as i64;
        (pareto(&profits), losses)
    };
    Ok(Dashboard {
        as_of,
        period: period.code.clone(),
        tiers,
        migration,
        rms,
        segments,
        campaigns: campaigns.into_values().collect(),
        targets: targets_out,
        loss_making,
        pareto,
    })
}

/// The shares of customers the Pareto is read at.
const PARETO_SHARES: [f64; 6] = [0.01, 0.05, 0.10, 0.20, 0.50, 1.0];

/// The Pareto points of profits sorted from the largest (what the SQL
/// computes, in memory: the reference of the tests).
pub fn pareto(sorted_desc: &[i64]) -> Vec<ParetoPoint> {
    let positive: i128 = sorted_desc
        .iter()
        .filter(|p| **p > 0)
        .map(|p| i128::from(*p))
        .sum();
    let n = sorted_desc.len();
    PARETO_SHARES
        .iter()
        .map(|&share| {
            let top = ((n as f64 * share).ceil() as usize).min(n);
            let earned: i128 = sorted_desc[..top]
                .iter()
                .filter(|p| **p > 0)
                .map(|p| i128::from(*p))
                .sum();
            ParetoPoint {
                customers: share,
                profit: if positive > 0 {
                    earned as f64 / positive as f64
                } else {
                    0.0
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_earn_their_share() {
        let mut profits: Vec<i64> = (1..=100).rev().collect();
        profits.extend([-5, -7]);
        let p = pareto(&profits);
        assert_eq!(p.len(), 6);
        // Top 1% of 102 customers: 2 customers, 100 + 99 of 5,050.
        assert!((p[0].profit - 199.0 / 5050.0).abs() < 1e-12);
        assert!((p[5].profit - 1.0).abs() < 1e-12);
        assert!(p.windows(2).all(|w| w[0].profit <= w[1].profit));
        assert!(pareto(&[]).iter().all(|x| x.profit == 0.0));
    }
}
