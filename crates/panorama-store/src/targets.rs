//! Targets (经营任务下达与分解): set for a period at an org unit, split
//! among its children — child org units, or at the bottom the RMs — by
//! hand or in proportion to a base, and measured from the data: actuals
//! per RM (the AUM growth of their book, customers won, products sold,
//! campaign conversions, opportunities won), summed up the hierarchy.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
pub use panorama_domain::period::{Period, apportion};
use sqlx::FromRow;

use crate::audit::{Audit, insert_audit};
use crate::{Result, Store, StoreError, now_utc};

/// The classes whose balances are assets under management.
const AUM_CLASSES: &str = "'deposit', 'settlement', 'wealth', 'fund', 'insurance'";

/// An indicator: what is measured and how.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Indicator {
    /// Code.
    pub code: String,
    /// Name (zh).
    pub name: String,
    /// Name (en).
    pub name_en: String,
    /// The built-in measure.
    pub source: String,
    /// For product sales: only this class.
    pub product_class: Option<String>,
    /// `minor` (fen) or `count`.
    pub unit: String,
}

/// The built-in measures an indicator may use.
pub const SOURCES: &[&str] = &[
    "aum_growth",
    "new_customers",
    "product_sales",
    "campaign_conversions",
    "opportunities_won",
    "referrals_won",
];

/// Every indicator.
pub async fn indicators(store: &Store) -> Result<Vec<Indicator>> {
    Ok(sqlx::query_as(
        "SELECT code, name, name_en, source, product_class, unit FROM target_indicator ORDER BY code",
    )
    .fetch_all(store.db())
    .await?)
}

/// Stores a new indicator measured in `unit` (the rules it must meet are
/// `panorama_ocrm::targets`').
pub async fn insert_indicator(store: &Store, i: &Indicator, unit: &str, actor: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO target_indicator (code, name, name_en, source, product_class, unit, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&i.code)
    .bind(&i.name)
    .bind(&i.name_en)
    .bind(&i.source)
    .bind(i.product_class.as_deref())
    .bind(unit)
    .bind(actor)
    .bind(now_utc())
    .execute(store.db())
    .await?;
    Ok(())
}

/// The indicator of `code`.
pub async fn indicator(store: &Store, code: &str) -> Result<Option<Indicator>> {
    Ok(sqlx::query_as(
        "SELECT code, name, name_en, source, product_class, unit FROM target_indicator WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(store.db())
    .await?)
}

async fn known_indicator(store: &Store, code: &str) -> Result<Indicator> {
    indicator(store, code)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("no indicator {code:?}")))
}

/// An org unit: (id, code, name, path).
pub type Org = (i64, String, String, String);

/// The org unit of `code`.
pub async fn org_by_code(store: &Store, code: &str) -> Result<Option<Org>> {
    Ok(
        sqlx::query_as("SELECT id, code, name, path FROM org_unit WHERE code = $1")
            .bind(code)
            .fetch_optional(store.db())
            .await?,
    )
}

/// A target row.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct TargetRow {
    /// Id.
    pub id: i64,
    /// Period.
    pub period: String,
    /// Indicator.
    pub indicator: String,
    /// Org unit.
    pub org_unit_id: i64,
    /// The value (fen or a count, as the indicator's unit).
    pub value: i64,
    /// The target it was split from.
    pub parent_id: Option<i64>,
    /// `set`, `manual` or `proportional`.
    pub method: String,
    /// By whom.
    pub set_by: String,
}

const TARGET_COLUMNS: &str =
    "id, period, indicator, org_unit_id, value_minor AS value, parent_id, method, set_by";

/// The target of an org unit for a period and indicator.
pub async fn target_of(
    store: &Store,
    period: &str,
    indicator: &str,
    org: i64,
) -> Result<Option<TargetRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TARGET_COLUMNS} FROM target WHERE period = $1 AND indicator = $2 AND org_unit_id = $3"
    ))
    .bind(period)
    .bind(indicator)
    .bind(org)
    .fetch_optional(store.db())
    .await?)
}

/// A target by id.
pub async fn get(store: &Store, id: i64) -> Result<Option<TargetRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TARGET_COLUMNS} FROM target WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(store.db())
    .await?)
}

/// Stores `value` as the target of org unit `org` (id and code) for the
/// period and indicator, replacing the one it had unless that one came from
/// its parent's split (then `None`, nothing written). Audited.
pub async fn write_set(
    store: &Store,
    period: &Period,
    indicator_code: &str,
    org: (i64, &str),
    value: i64,
    actor: &str,
) -> Result<Option<i64>> {
    let (org_id, org_code) = org;
    let mut tx = store.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO target (period, indicator, org_unit_id, value_minor, set_by, created_at, method) \
         VALUES ($1, $2, $3, $4, $5, $6, 'set') \
         ON CONFLICT (period, indicator, org_unit_id) DO UPDATE SET value_minor = excluded.value_minor, \
           set_by = excluded.set_by, created_at = excluded.created_at \
         WHERE target.parent_id IS NULL RETURNING id",
    )
    .bind(&period.code)
    .bind(indicator_code)
    .bind(org_id)
    .bind(value)
    .bind(actor)
    .bind(now_utc())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "target.set",
            object_type: Some("target"),
            object_id: Some(&id.to_string()),
            detail: Some(&format!(
                "period={} indicator={indicator_code} org={org_code} value={value}",
                period.code
            )),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Who a target is split among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Child {
    /// A child org unit.
    Org(i64),
    /// An RM of the (leaf) org unit.
    Rm(i64),
}

/// A child of a target with its label and current share.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChildRow {
    /// Who.
    pub child: Child,
    /// Org unit code or RM login.
    pub code: String,
    /// Name.
    pub name: String,
    /// Its share now, if split.
    pub value: Option<i64>,
}

/// The children of target `t`: the child org units of its org unit, or
/// (an org unit without children) its active RMs, with their shares.
pub async fn children(store: &Store, t: &TargetRow) -> Result<Vec<ChildRow>> {
    let orgs: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, code, name FROM org_unit WHERE parent_id = $1 ORDER BY path")
            .bind(t.org_unit_id)
            .fetch_all(store.db())
            .await?;
    if !orgs.is_empty() {
        let shares: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
            "SELECT org_unit_id, value_minor FROM target WHERE parent_id = $1",
        )
        .bind(t.id)
        .fetch_all(store.db())
        .await?
        .into_iter()
        .collect();
        return Ok(orgs
            .into_iter()
            .map(|(id, code, name)| ChildRow {
                child: Child::Org(id),
                value: shares.get(&id).copied(),
                code,
                name,
            })
            .collect());
    }
    let rms: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, username, display_name FROM app_user \
         WHERE org_unit_id = $1 AND role = 'rm' AND active = 1 ORDER BY username",
    )
    .bind(t.org_unit_id)
    .fetch_all(store.db())
    .await?;
    let shares: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT rm_user_id, value_minor FROM target_allocation WHERE target_id = $1",
    )
    .bind(t.id)
    .fetch_all(store.db())
    .await?
    .into_iter()
    .collect();
    Ok(rms
        .into_iter()
        .map(|(id, code, name)| ChildRow {
            child: Child::Rm(id),
            value: shares.get(&id).copied(),
            code,
            name,
        })
        .collect())
}

/// What a proportional split is proportional to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Customers in each child's book (primary assignments).
    Customers,
    /// The latest month-end AUM of each child's book.
    Aum,
}

/// The base of each child.
pub async fn base_of(store: &Store, base: Base, kids: &[ChildRow]) -> Result<Vec<i64>> {
    let month: Option<String> = sqlx::query_scalar("SELECT MAX(month) FROM balance_monthly")
        .fetch_one(store.db())
        .await?;
    let mut out = Vec::with_capacity(kids.len());
    for k in kids {
        let (rms_of, id) = match k.child {
            Child::Rm(id) => ("a.rm_user_id = $1", id),
            Child::Org(id) => (
                "a.rm_user_id IN (SELECT u.id FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id \
                 WHERE o.path LIKE (SELECT path FROM org_unit WHERE id = $1) || '%')",
                id,
            ),
        };
        let value: Option<i64> = match base {
            Base::Customers => sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM assignment a WHERE a.to_date IS NULL AND a.role = 'primary' AND {rms_of}"
            ))
            .bind(id)
            .fetch_one(store.db())
            .await?,
            Base::Aum => sqlx::query_scalar(&format!(
                "SELECT CAST(SUM(b.end_balance_minor) AS BIGINT) FROM assignment a \
                 JOIN account x ON x.customer_id = a.customer_id \
                 JOIN product p ON p.code = x.product_code AND p.class IN ({AUM_CLASSES}) \
                 JOIN balance_monthly b ON b.account_id = x.id AND b.month = $2 \
                 WHERE a.to_date IS NULL AND a.role = 'primary' AND {rms_of}"
            ))
            .bind(id)
            .bind(month.as_deref().unwrap_or(""))
            .fetch_one(store.db())
            .await?,
        };
        out.push(value.unwrap_or(0));
    }
    Ok(out)
}

/// Stores the split of target `t` into `shares` (checked by
/// `panorama_ocrm::targets`): child org units get (or update) their own
/// targets, which they split in turn; RMs get allocations, replacing the
/// previous ones. Audited.
pub async fn write_split(
    store: &Store,
    t: &TargetRow,
    shares: &[(Child, i64)],
    method: &str,
    actor: &str,
) -> Result<()> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    for (c, v) in shares {
        match c {
            Child::Org(org) => {
                sqlx::query(
                    "INSERT INTO target (period, indicator, org_unit_id, value_minor, set_by, created_at, parent_id, method) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (period, indicator, org_unit_id) DO UPDATE SET value_minor = excluded.value_minor, \
                       set_by = excluded.set_by, created_at = excluded.created_at, \
                       parent_id = excluded.parent_id, method = excluded.method",
                )
                .bind(&t.period)
                .bind(&t.indicator)
                .bind(org)
                .bind(v)
                .bind(actor)
                .bind(&now)
                .bind(t.id)
                .bind(method)
                .execute(&mut *tx)
                .await?;
            }
            Child::Rm(_) => {}
        }
    }
    if shares.iter().any(|(c, _)| matches!(c, Child::Rm(_))) {
        sqlx::query("DELETE FROM target_allocation WHERE target_id = $1")
            .bind(t.id)
            .execute(&mut *tx)
            .await?;
        for (c, v) in shares {
            if let Child::Rm(rm) = c {
                sqlx::query(
                    "INSERT INTO target_allocation (target_id, org_unit_id, rm_user_id, value_minor, method, allocated_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(t.id)
                .bind(t.org_unit_id)
                .bind(rm)
                .bind(v)
                .bind(method)
                .bind(actor)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "target.split",
            object_type: Some("target"),
            object_id: Some(&t.id.to_string()),
            detail: Some(&format!("method={method} shares={}", shares.len())),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One person's value of a flow measure on one day: (user, day, value).
pub type DayValue = (i64, String, i64);

/// The flow measures: those summed from dated events (every source but
/// `aum_growth`, a balance).
pub fn is_flow(source: &str) -> bool {
    source != "aum_growth"
}

/// What one unit of [`daily`]'s values is worth in the indicator's unit:
/// product sales are counted in basis points of a sale (a credited share),
/// the rest as they are.
pub fn daily_scale(source: &str) -> i64 {
    if source == "product_sales" { 10_000 } else { 1 }
}

/// Each person's value of flow measure `source` (product sales of `class`
/// when given) per day from `from` to `to`, days without any left out:
/// customers won (the RM now primary for them, on their first account's
/// opening day), sales credited (in basis points of a sale, by the split
/// rules or a branch manager's adjustment), treated members' campaign
/// responses (their owner), referrals won (the referrer) and opportunities
/// won (the owner, their amounts in fen).
pub async fn daily(
    store: &Store,
    source: &str,
    class: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<DayValue>> {
    let sql = match source {
        "new_customers" => {
            "SELECT a.rm_user_id, f.first_on, COUNT(*) FROM assignment a \
             JOIN (SELECT customer_id, MIN(opened_on) AS first_on FROM account GROUP BY customer_id) f \
               ON f.customer_id = a.customer_id \
             WHERE a.to_date IS NULL AND a.role = 'primary' AND f.first_on BETWEEN $1 AND $2 \
             GROUP BY a.rm_user_id, f.first_on"
        }
        "product_sales" => {
            "SELECT k.user_id, s.sold_on, CAST(SUM(k.share_bp) AS BIGINT) FROM sale s \
             JOIN sale_credit k ON k.sale_id = s.id AND k.version = s.credit_version \
             JOIN product p ON p.code = s.product_code \
             WHERE s.status = 'approved' AND s.sold_on BETWEEN $1 AND $2 AND ($3 IS NULL OR p.class = $3) \
             GROUP BY k.user_id, s.sold_on"
        }
        "campaign_conversions" => {
            "SELECT m.owner_user_id, r.responded_on, COUNT(*) FROM campaign_response r \
             JOIN campaign_member m ON m.campaign_id = r.campaign_id AND m.customer_id = r.customer_id \
             WHERE m.is_control = 0 AND m.owner_user_id IS NOT NULL AND r.responded_on BETWEEN $1 AND $2 \
             GROUP BY m.owner_user_id, r.responded_on"
        }
        "referrals_won" => {
            "SELECT r.from_user_id, SUBSTR(o.updated_at, 1, 10), COUNT(*) FROM referral r \
             JOIN opportunity o ON o.id = r.opportunity_id \
             WHERE o.stage = 'won' AND SUBSTR(o.updated_at, 1, 10) BETWEEN $1 AND $2 \
             GROUP BY r.from_user_id, SUBSTR(o.updated_at, 1, 10)"
        }
        "opportunities_won" => {
            "SELECT o.owner_user_id, SUBSTR(o.updated_at, 1, 10), CAST(SUM(COALESCE(o.amount_minor, 0)) AS BIGINT) \
             FROM opportunity o \
             WHERE o.stage = 'won' AND SUBSTR(o.updated_at, 1, 10) BETWEEN $1 AND $2 \
             GROUP BY o.owner_user_id, SUBSTR(o.updated_at, 1, 10)"
        }
        other => {
            return Err(StoreError::Invalid(format!(
                "{other:?} is not a measure summed by day"
            )));
        }
    };
    let query = sqlx::query_as(sql).bind(from).bind(to);
    // Only sales are narrowed to a product class.
    let query = if source == "product_sales" {
        query.bind(class)
    } else {
        query
    };
    Ok(query.fetch_all(store.db()).await?)
}

/// [`daily`] summed per person over the days, in the indicator's unit
/// (credited shares of sales rounded half up to whole sales).
pub async fn totals(
    store: &Store,
    source: &str,
    class: Option<&str>,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, Option<i64>)>> {
    let mut sum: HashMap<i64, i64> = HashMap::new();
    for (who, _, v) in daily(store, source, class, from, to).await? {
        *sum.entry(who).or_default() += v;
    }
    let scale = daily_scale(source);
    let mut rows: Vec<(i64, Option<i64>)> = sum
        .into_iter()
        .map(|(who, v)| (who, Some((v + scale / 2).div_euclid(scale))))
        .collect();
    rows.sort_unstable();
    Ok(rows)
}

/// Each RM's customers (primary, now) whose first account opened from
/// `from` to `to`.
pub(crate) async fn new_customers(
    store: &Store,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, Option<i64>)>> {
    totals(store, "new_customers", None, from, to).await
}

/// Each member owner's campaign responses (treated members) from `from`
/// to `to`.
pub(crate) async fn campaign_conversions(
    store: &Store,
    from: &str,
    to: &str,
) -> Result<Vec<(i64, Option<i64>)>> {
    totals(store, "campaign_conversions", None, from, to).await
}

/// The month-end AUM of each RM's book as it is now (their primary
/// customers' balances in the AUM classes), for each of `months`
/// (`YYYY-MM`): (RM, month, fen).
pub async fn book_aum(store: &Store, months: &[String]) -> Result<Vec<(i64, String, i64)>> {
    let mut out = Vec::new();
    for month in months {
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT a.rm_user_id, CAST(SUM(b.end_balance_minor) AS BIGINT) \
             FROM assignment a JOIN account x ON x.customer_id = a.customer_id \
             JOIN product p ON p.code = x.product_code AND p.class IN ({AUM_CLASSES}) \
             JOIN balance_monthly b ON b.account_id = x.id AND b.month = $1 \
             WHERE a.to_date IS NULL AND a.role = 'primary' GROUP BY a.rm_user_id"
        ))
        .bind(month)
        .fetch_all(store.db())
        .await?;
        out.extend(
            rows.into_iter()
                .map(|(rm, v)| (rm, month.clone(), v.unwrap_or(0))),
        );
    }
    Ok(out)
}

/// The latest month with balances, if any.
pub async fn latest_balance_month(store: &Store) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT MAX(month) FROM balance_monthly")
        .fetch_one(store.db())
        .await?)
}

/// The months of an AUM growth measure over `period`: the month-end
/// before it, and its last month-end with data.
pub async fn growth_months(store: &Store, period: &Period) -> Result<(String, String)> {
    let start = (period.from - chrono::Days::new(1))
        .format("%Y-%m")
        .to_string();
    let last = period.to.format("%Y-%m").to_string();
    let end = latest_balance_month(store)
        .await?
        .filter(|m| *m < last)
        .unwrap_or(last);
    Ok((start, end))
}

/// Computes every RM's actual of `indicator` over `period` from the data
/// and keeps it (replacing the previous computation); returns the RMs.
pub async fn refresh_actuals(
    store: &Store,
    period: &Period,
    indicator_code: &str,
) -> Result<usize> {
    let ind = known_indicator(store, indicator_code).await?;
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let rows: Vec<(i64, Option<i64>)> = if is_flow(&ind.source) {
        totals(store, &ind.source, ind.product_class.as_deref(), &from, &to).await?
    } else {
        // AUM growth of the book as it is now: the month-end before the
        // period against its last month-end with data.
        let (start, end) = growth_months(store, period).await?;
        let mut growth: HashMap<i64, i64> = HashMap::new();
        // No month-end with data after the start: no growth yet.
        if start < end {
            for (rm, month, v) in book_aum(store, &[start.clone(), end.clone()]).await? {
                let sign = if month == end { 1 } else { -1 };
                *growth.entry(rm).or_default() += sign * v;
            }
        }
        let mut rows: Vec<(i64, Option<i64>)> =
            growth.into_iter().map(|(rm, v)| (rm, Some(v))).collect();
        rows.sort_unstable();
        rows
    };
    let now = now_utc();
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM target_actual WHERE period = $1 AND indicator = $2")
        .bind(&period.code)
        .bind(indicator_code)
        .execute(&mut *tx)
        .await?;
    for (rm, value) in &rows {
        sqlx::query(
            "INSERT INTO target_actual (period, indicator, rm_user_id, value, computed_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&period.code)
        .bind(indicator_code)
        .bind(rm)
        .bind(value.unwrap_or(0))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// One node of the progress view: an org unit or an RM with its target,
/// actual, progress and rank among its siblings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Node {
    /// Who.
    pub child: Child,
    /// Org unit code or RM login.
    pub code: String,
    /// Name.
    pub name: String,
    /// Target (none: not split to it).
    pub target: Option<i64>,
    /// Actual so far (the sum of its RMs').
    pub actual: i64,
    /// Actual ÷ target.
    pub progress: Option<f64>,
    /// 1 = best progress among the siblings.
    pub rank: Option<usize>,
}

/// The actual of every RM under org path `path` (an RM: theirs).
pub async fn actual_under(
    store: &Store,
    period: &str,
    indicator: &str,
    child: Child,
) -> Result<i64> {
    let v: Option<i64> = match child {
        Child::Rm(rm) => sqlx::query_scalar(
            "SELECT value FROM target_actual WHERE period = $1 AND indicator = $2 AND rm_user_id = $3",
        )
        .bind(period)
        .bind(indicator)
        .bind(rm)
        .fetch_optional(store.db())
        .await?,
        Child::Org(org) => sqlx::query_scalar(
            "SELECT CAST(SUM(t.value) AS BIGINT) FROM target_actual t JOIN app_user u ON u.id = t.rm_user_id \
             JOIN org_unit o ON o.id = u.org_unit_id \
             WHERE t.period = $1 AND t.indicator = $2 \
               AND o.path LIKE (SELECT path FROM org_unit WHERE id = $3) || '%'",
        )
        .bind(period)
        .bind(indicator)
        .bind(org)
        .fetch_one(store.db())
        .await?,
    };
    Ok(v.unwrap_or(0))
}

/// Progress of target `t` and of each of its children, ranked by progress.
pub async fn progress(store: &Store, t: &TargetRow) -> Result<(Node, Vec<Node>)> {
    let org: (String, String) = sqlx::query_as("SELECT code, name FROM org_unit WHERE id = $1")
        .bind(t.org_unit_id)
        .fetch_one(store.db())
        .await?;
    let ratio = |actual: i64, target: Option<i64>| {
        target.filter(|v| *v > 0).map(|v| actual as f64 / v as f64)
    };
    let actual = actual_under(store, &t.period, &t.indicator, Child::Org(t.org_unit_id)).await?;
    let root = Node {
        child: Child::Org(t.org_unit_id),
        code: org.0,
        name: org.1,
        target: Some(t.value),
        actual,
        progress: ratio(actual, Some(t.value)),
        rank: None,
    };
    let mut nodes = Vec::new();
    for k in children(store, t).await? {
        let actual = actual_under(store, &t.period, &t.indicator, k.child).await?;
        nodes.push(Node {
            child: k.child,
            code: k.code,
            name: k.name,
            target: k.value,
            actual,
            progress: ratio(actual, k.value),
            rank: None,
        });
    }
    let mut order: Vec<usize> = (0..nodes.len())
        .filter(|&k| nodes[k].progress.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        nodes[b]
            .progress
            .partial_cmp(&nodes[a].progress)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for (rank, k) in order.into_iter().enumerate() {
        nodes[k].rank = Some(rank + 1);
    }
    Ok((root, nodes))
}

/// An RM's targets in a period, with their actuals: (indicator, target,
/// actual).
pub async fn of_rm(store: &Store, rm: i64, period: &str) -> Result<Vec<(Indicator, i64, i64)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT t.indicator, a.value_minor FROM target_allocation a JOIN target t ON t.id = a.target_id \
         WHERE a.rm_user_id = $1 AND t.period = $2 ORDER BY t.indicator",
    )
    .bind(rm)
    .bind(period)
    .fetch_all(store.db())
    .await?;
    let mut out = Vec::new();
    for (code, target) in rows {
        let ind = known_indicator(store, &code).await?;
        let actual = actual_under(store, period, &code, Child::Rm(rm)).await?;
        out.push((ind, target, actual));
    }
    Ok(out)
}

/// The (period, indicator) pairs with a target whose period contains
/// `day` (the batch's as-of date).
pub async fn current_pairs(store: &Store, day: NaiveDate) -> Result<Vec<(Period, String)>> {
    let pairs: Vec<(String, String)> =
        sqlx::query_as("SELECT DISTINCT period, indicator FROM target ORDER BY period, indicator")
            .fetch_all(store.db())
            .await?;
    Ok(pairs
        .into_iter()
        .filter_map(|(code, indicator)| {
            Period::parse(&code)
                .filter(|p| p.from <= day && day <= p.to)
                .map(|p| (p, indicator))
        })
        .collect())
}

/// Refreshes the actuals of every target period containing `day` (the
/// batch's as-of date); returns the (period, indicator) pairs refreshed.
pub async fn refresh_current(store: &Store, day: NaiveDate) -> Result<usize> {
    let pairs = current_pairs(store, day).await?;
    for (p, indicator) in &pairs {
        refresh_actuals(store, p, indicator).await?;
    }
    Ok(pairs.len())
}

/// The periods containing `day`: its year, quarter and month.
pub fn periods_of(day: NaiveDate) -> Vec<Period> {
    let q = (day.month() - 1) / 3 + 1;
    [
        format!("{}", day.year()),
        format!("{}-Q{q}", day.year()),
        format!("{:04}-{:02}", day.year(), day.month()),
    ]
    .iter()
    .filter_map(|c| Period::parse(c))
    .collect()
}
