//! Appraisal (绩效考核): scorecards per role, the measures they read per
//! person and period, and the computed appraisals with their lines. How an
//! indicator is scored is `panorama_domain::scorecard`; what is computed
//! when, and who confirms, is `panorama-ocrm`'s.

use std::collections::HashMap;

use sqlx::FromRow;

use crate::audit::{Audit, insert_audit};
use crate::{Result, Store, now_utc};

/// The measures a standard-based item may read, and the unit each counts in:
/// `sale_bp` (basis points of a sale), `minor` (fen), `score` (100 × a 1–5
/// average), `count`.
pub const MEASURES: &[(&str, &str)] = &[
    ("sales_count", "sale_bp"),
    ("sales_amount", "minor"),
    ("new_customers", "count"),
    ("campaign_conversions", "count"),
    ("csat", "score"),
    ("complaints", "count"),
    ("sla_breaches", "count"),
];

/// The unit of measure `code`, if it is one.
pub fn measure_unit(code: &str) -> Option<&'static str> {
    MEASURES.iter().find(|m| m.0 == code).map(|m| m.1)
}

/// One item of a role's scorecard.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ItemRow {
    /// Role.
    pub role: String,
    /// A target indicator's code (basis `target`) or a measure (`standard`).
    pub indicator: String,
    /// Product class the measure is narrowed to ('' for none).
    pub product_class: String,
    /// Points at 100 %.
    pub weight: i64,
    /// `target` or `standard`.
    pub basis: String,
    /// The standard (basis `standard`), in the measure's unit.
    pub standard: Option<i64>,
    /// `higher` or `lower`.
    pub better: String,
    /// Least ratio counted, percent.
    pub floor_pct: i64,
    /// Most ratio counted, percent.
    pub cap_pct: i64,
    /// Who set it.
    pub updated_by: String,
    /// When.
    pub updated_at: String,
}

/// Every scorecard item, by role.
pub async fn items(store: &Store) -> Result<Vec<ItemRow>> {
    Ok(sqlx::query_as(
        "SELECT role, indicator, product_class, weight, basis, standard, better, floor_pct, cap_pct, updated_by, updated_at \
         FROM scorecard_item ORDER BY role, weight DESC, indicator, product_class",
    )
    .fetch_all(store.db())
    .await?)
}

/// Replaces `role`'s scorecard by `items` (their `role`, `updated_*`
/// ignored); audited. Appraisals already computed keep their lines.
pub async fn set_card(store: &Store, role: &str, items: &[ItemRow], actor: &str) -> Result<()> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM scorecard_item WHERE role = $1")
        .bind(role)
        .execute(&mut *tx)
        .await?;
    for i in items {
        sqlx::query(
            "INSERT INTO scorecard_item (role, indicator, product_class, weight, basis, standard, better, floor_pct, cap_pct, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(role)
        .bind(&i.indicator)
        .bind(&i.product_class)
        .bind(i.weight)
        .bind(&i.basis)
        .bind(i.standard)
        .bind(&i.better)
        .bind(i.floor_pct)
        .bind(i.cap_pct)
        .bind(actor)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    let detail: Vec<String> = items
        .iter()
        .map(|i| format!("{}/{}={}", i.indicator, i.product_class, i.weight))
        .collect();
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "appraisal.card",
            object_type: Some("scorecard"),
            object_id: Some(role),
            detail: Some(&detail.join(" ")),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A person appraised.
#[derive(Debug, Clone, FromRow)]
pub struct Person {
    /// User id.
    pub id: i64,
    /// Login.
    pub username: String,
    /// Role.
    pub role: String,
    /// Org unit.
    pub org_unit_id: i64,
}

/// The active users of `role`.
pub async fn people(store: &Store, role: &str) -> Result<Vec<Person>> {
    Ok(sqlx::query_as(
        "SELECT id, username, role, org_unit_id FROM app_user WHERE role = $1 AND active = 1 ORDER BY id",
    )
    .bind(role)
    .fetch_all(store.db())
    .await?)
}

/// Measure `code` (narrowed to `class` where it takes one) for every
/// person with a value from `from` to `to`: the day the period ends closes
/// complaints still open past their SLA.
pub async fn measure(
    store: &Store,
    code: &str,
    class: Option<&str>,
    (from, to): (&str, &str),
) -> Result<HashMap<i64, i64>> {
    let primary = "a.to_date IS NULL AND a.role = 'primary'";
    let db = store.db();
    let rows: Vec<(i64, Option<i64>)> = match code {
        "sales_count" | "sales_amount" => {
            // The approved credits by person and class, summed over the class asked for.
            let mut by_user: HashMap<i64, i64> = HashMap::new();
            for t in crate::sales::credit_totals(store, from, to).await? {
                if class.is_none_or(|c| c == t.class) {
                    let v = if code == "sales_count" { t.share_bp } else { t.amount_minor };
                    *by_user.entry(t.user_id).or_insert(0) += v;
                }
            }
            return Ok(by_user);
        }
        "new_customers" => crate::targets::new_customers(store, from, to).await?,
        "campaign_conversions" => crate::targets::campaign_conversions(store, from, to).await?,
        "csat" => {
            sqlx::query_as(
                "SELECT user_id, CAST(ROUND(AVG(csat) * 100) AS BIGINT) FROM survey \
                 WHERE csat IS NOT NULL AND user_id IS NOT NULL AND SUBSTR(at, 1, 10) BETWEEN $1 AND $2 \
                 GROUP BY user_id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?
        }
        "complaints" => {
            sqlx::query_as(&format!(
                "SELECT a.rm_user_id, COUNT(*) FROM complaint c JOIN assignment a ON a.customer_id = c.customer_id AND {primary} \
                 WHERE SUBSTR(c.opened_at, 1, 10) BETWEEN $1 AND $2 GROUP BY a.rm_user_id"
            ))
            .bind(from)
            .bind(to)
            .fetch_all(db)
            .await?
        }
        "sla_breaches" => {
            sqlx::query_as(
                "SELECT owner_user_id, COUNT(*) FROM complaint \
                 WHERE owner_user_id IS NOT NULL AND SUBSTR(opened_at, 1, 10) BETWEEN $1 AND $2 \
                   AND COALESCE(resolved_at, $3) > sla_due_at GROUP BY owner_user_id",
            )
            .bind(from)
            .bind(to)
            .bind(format!("{to}T23:59:59Z"))
            .fetch_all(db)
            .await?
        }
        other => {
            return Err(crate::StoreError::Invalid(format!(
                "unknown measure {other:?}"
            )));
        }
    };
    Ok(rows.into_iter().map(|(u, v)| (u, v.unwrap_or(0))).collect())
}

/// Each RM's target (allocation) of `indicator` for `period`.
pub async fn targets(store: &Store, period: &str, indicator: &str) -> Result<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT a.rm_user_id, a.value_minor FROM target_allocation a JOIN target t ON t.id = a.target_id \
         WHERE t.period = $1 AND t.indicator = $2 AND a.rm_user_id IS NOT NULL",
    )
    .bind(period)
    .bind(indicator)
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().collect())
}

/// Each person's actual of target indicator `indicator` for `period`, as
/// the targets' last refresh computed it.
pub async fn target_actuals(
    store: &Store,
    period: &str,
    indicator: &str,
) -> Result<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT rm_user_id, value FROM target_actual WHERE period = $1 AND indicator = $2",
    )
    .bind(period)
    .bind(indicator)
    .fetch_all(store.db())
    .await?;
    Ok(rows.into_iter().collect())
}

/// One appraisal to write.
#[derive(Debug, Clone)]
pub struct NewAppraisal {
    /// The person.
    pub user_id: i64,
    /// Their role.
    pub role: String,
    /// Their org unit.
    pub org_unit_id: i64,
    /// Score, hundredths of a point.
    pub score_centi: i64,
    /// Rank among the role's peers.
    pub peer_rank: i64,
    /// How many peers.
    pub peers: i64,
    /// Lines.
    pub lines: Vec<LineRow>,
}

/// One line of an appraisal.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct LineRow {
    /// Indicator.
    pub indicator: String,
    /// Product class ('' for none).
    pub product_class: String,
    /// `target` or `standard`.
    pub basis: String,
    /// `higher` or `lower`.
    pub better: String,
    /// The unit of `actual` and `reference` (see [`MEASURES`]).
    pub unit: String,
    /// The person's value.
    pub actual: i64,
    /// The target or standard.
    pub reference: Option<i64>,
    /// Ratio counted, basis points.
    pub ratio_bp: Option<i64>,
    /// Weight.
    pub weight: i64,
    /// Points earned, hundredths.
    pub points_centi: i64,
}

/// Writes `period`'s appraisals, replacing computed ones and leaving
/// confirmed ones as they are; audited once. Returns how many were written.
pub async fn write(
    store: &Store,
    period: &str,
    all: &[NewAppraisal],
    actor: &str,
) -> Result<usize> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    let mut written = 0;
    for a in all {
        let confirmed: Option<String> =
            sqlx::query_scalar("SELECT status FROM appraisal WHERE period = $1 AND user_id = $2")
                .bind(period)
                .bind(a.user_id)
                .fetch_optional(&mut *tx)
                .await?;
        if confirmed.as_deref() == Some("confirmed") {
            continue;
        }
        sqlx::query(
            "DELETE FROM appraisal_line WHERE appraisal_id IN (SELECT id FROM appraisal WHERE period = $1 AND user_id = $2)",
        )
        .bind(period)
        .bind(a.user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM appraisal WHERE period = $1 AND user_id = $2")
            .bind(period)
            .bind(a.user_id)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO appraisal (period, user_id, role, org_unit_id, score_centi, peer_rank, peers, status, computed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'computed', $8) RETURNING id",
        )
        .bind(period)
        .bind(a.user_id)
        .bind(&a.role)
        .bind(a.org_unit_id)
        .bind(a.score_centi)
        .bind(a.peer_rank)
        .bind(a.peers)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        for l in &a.lines {
            sqlx::query(
                "INSERT INTO appraisal_line (appraisal_id, indicator, product_class, basis, better, unit, actual, reference, ratio_bp, weight, points_centi) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(id)
            .bind(&l.indicator)
            .bind(&l.product_class)
            .bind(&l.basis)
            .bind(&l.better)
            .bind(&l.unit)
            .bind(l.actual)
            .bind(l.reference)
            .bind(l.ratio_bp)
            .bind(l.weight)
            .bind(l.points_centi)
            .execute(&mut *tx)
            .await?;
        }
        written += 1;
    }
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "appraisal.run",
            object_type: Some("appraisal"),
            object_id: Some(period),
            detail: Some(&format!("appraisals={written}")),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(written)
}

/// An appraisal with the person's names.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AppraisalRow {
    /// Id.
    pub id: i64,
    /// Period.
    pub period: String,
    /// The person.
    pub user_id: i64,
    /// Login.
    pub username: String,
    /// Name.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Org unit.
    pub org_unit_id: i64,
    /// Its name.
    pub org_name: String,
    /// Its path.
    pub org_path: String,
    /// Score, hundredths of a point.
    pub score_centi: i64,
    /// Rank among the role's peers.
    pub peer_rank: i64,
    /// Peers.
    pub peers: i64,
    /// `computed` or `confirmed`.
    pub status: String,
    /// Who confirmed it.
    pub confirmed_by: Option<String>,
    /// When computed.
    pub computed_at: String,
}

const APPRAISAL_SELECT: &str = "SELECT a.id, a.period, a.user_id, u.username, u.display_name, a.role, a.org_unit_id, o.name AS org_name, \
     o.path AS org_path, a.score_centi, a.peer_rank, a.peers, a.status, a.confirmed_by, a.computed_at \
     FROM appraisal a JOIN app_user u ON u.id = a.user_id JOIN org_unit o ON o.id = a.org_unit_id";

/// `period`'s appraisals of people under `under` (everyone with `None`),
/// by role and rank.
pub async fn list(store: &Store, period: &str, under: Option<&str>) -> Result<Vec<AppraisalRow>> {
    let under = under.map(|p| format!("{p}%"));
    Ok(sqlx::query_as(&format!(
        "{APPRAISAL_SELECT} WHERE a.period = $1 AND ($2 IS NULL OR o.path LIKE $2) ORDER BY a.role, a.peer_rank, u.username"
    ))
    .bind(period)
    .bind(under)
    .fetch_all(store.db())
    .await?)
}

/// `user`'s appraisal for `period`, with its lines.
pub async fn of(
    store: &Store,
    period: &str,
    user: i64,
) -> Result<Option<(AppraisalRow, Vec<LineRow>)>> {
    let a: Option<AppraisalRow> = sqlx::query_as(&format!(
        "{APPRAISAL_SELECT} WHERE a.period = $1 AND a.user_id = $2"
    ))
    .bind(period)
    .bind(user)
    .fetch_optional(store.db())
    .await?;
    let Some(a) = a else { return Ok(None) };
    let lines = sqlx::query_as(
        "SELECT indicator, product_class, basis, better, unit, actual, reference, ratio_bp, weight, points_centi \
         FROM appraisal_line WHERE appraisal_id = $1 ORDER BY weight DESC, indicator, product_class",
    )
    .bind(a.id)
    .fetch_all(store.db())
    .await?;
    Ok(Some((a, lines)))
}

/// Confirms `period`'s computed appraisals of people under `under`;
/// audited. Returns how many.
pub async fn confirm(
    store: &Store,
    period: &str,
    under: &str,
    (by_id, by): (i64, &str),
) -> Result<u64> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE appraisal SET status = 'confirmed', confirmed_by = $1, confirmed_at = $2 \
         WHERE period = $3 AND status = 'computed' \
           AND org_unit_id IN (SELECT id FROM org_unit WHERE path LIKE $4)",
    )
    .bind(by)
    .bind(&now)
    .bind(period)
    .bind(format!("{under}%"))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    insert_audit(
        &mut tx,
        &Audit {
            user_id: Some(by_id),
            actor: by,
            action: "appraisal.confirm",
            object_type: Some("appraisal"),
            object_id: Some(period),
            detail: Some(&format!("confirmed={n} under={under}")),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
