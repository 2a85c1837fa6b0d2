//! Incentives (绩效奖金): the rules per role, each period's incentives with
//! their lines, as `panorama-ocrm` computes them from the appraisals and
//! the sales credits.

use sqlx::FromRow;

use crate::audit::{Audit, insert_audit};
use crate::{Result, Store, now_utc};

/// One incentive rule.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct RuleRow {
    /// Role.
    pub role: String,
    /// `pool` (fen per head per month), `threshold` (hundredths of a
    /// point) or `rate` (basis points of the credited amount).
    pub kind: String,
    /// Product class of a rate ('' otherwise).
    pub product_class: String,
    /// Value.
    pub value: i64,
    /// Who set it.
    pub updated_by: String,
    /// When.
    pub updated_at: String,
}

/// Every incentive rule.
pub async fn rules(store: &Store) -> Result<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT role, kind, product_class, value, updated_by, updated_at FROM incentive_rule \
         ORDER BY role, kind, product_class",
    )
    .fetch_all(store.db())
    .await?)
}

/// Replaces `role`'s rules by `rules` (`(kind, class, value)`); audited.
pub async fn set_rules(
    store: &Store,
    role: &str,
    rules: &[(&str, &str, i64)],
    actor: &str,
) -> Result<()> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM incentive_rule WHERE role = $1")
        .bind(role)
        .execute(&mut *tx)
        .await?;
    for (kind, class, value) in rules {
        sqlx::query(
            "INSERT INTO incentive_rule (role, kind, product_class, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(role)
        .bind(kind)
        .bind(class)
        .bind(value)
        .bind(actor)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    let detail: Vec<String> = rules
        .iter()
        .map(|(k, c, v)| format!("{k}/{c}={v}"))
        .collect();
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "incentive.rules",
            object_type: Some("incentive_rule"),
            object_id: Some(role),
            detail: Some(&detail.join(" ")),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One line of an incentive.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct LineRow {
    /// `commission`, `pool` or `below_threshold`.
    pub kind: String,
    /// The product class (commission) or org unit (pool).
    pub label: String,
    /// The credited amount or the pool, fen.
    pub base_minor: i64,
    /// Commission rate, basis points.
    pub rate_bp: Option<i64>,
    /// The person's score (pool), hundredths.
    pub score_centi: Option<i64>,
    /// The eligible scores together (pool), hundredths.
    pub scores_centi: Option<i64>,
    /// Amount, fen.
    pub amount_minor: i64,
}

/// One person's incentive to write.
#[derive(Debug, Clone)]
pub struct NewIncentive {
    /// The person.
    pub user_id: i64,
    /// Role.
    pub role: String,
    /// Org unit.
    pub org_unit_id: i64,
    /// Their appraisal score, hundredths.
    pub score_centi: i64,
    /// Total, fen.
    pub amount_minor: i64,
    /// Lines.
    pub lines: Vec<LineRow>,
}

/// Writes `period`'s incentives, replacing the previous run's; audited
/// once with the total.
pub async fn write(store: &Store, period: &str, all: &[NewIncentive], actor: &str) -> Result<()> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    sqlx::query(
        "DELETE FROM incentive_line WHERE incentive_id IN (SELECT id FROM incentive WHERE period = $1)",
    )
    .bind(period)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM incentive WHERE period = $1")
        .bind(period)
        .execute(&mut *tx)
        .await?;
    for i in all {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incentive (period, user_id, role, org_unit_id, score_centi, amount_minor, computed_by, computed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(period)
        .bind(i.user_id)
        .bind(&i.role)
        .bind(i.org_unit_id)
        .bind(i.score_centi)
        .bind(i.amount_minor)
        .bind(actor)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        for (seq, l) in i.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO incentive_line (incentive_id, seq, kind, label, base_minor, rate_bp, score_centi, scores_centi, amount_minor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(seq as i64)
            .bind(&l.kind)
            .bind(&l.label)
            .bind(l.base_minor)
            .bind(l.rate_bp)
            .bind(l.score_centi)
            .bind(l.scores_centi)
            .bind(l.amount_minor)
            .execute(&mut *tx)
            .await?;
        }
    }
    let total: i64 = all.iter().map(|i| i.amount_minor).sum();
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "incentive.run",
            object_type: Some("incentive"),
            object_id: Some(period),
            detail: Some(&format!("people={} total_minor={total}", all.len())),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A person's incentive with names.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct IncentiveRow {
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
    /// Staff number.
    pub staff_no: Option<String>,
    /// Role.
    pub role: String,
    /// Org unit's code.
    pub org_code: String,
    /// Its name.
    pub org_name: String,
    /// Score, hundredths.
    pub score_centi: i64,
    /// Total, fen.
    pub amount_minor: i64,
}

const INCENTIVE_SELECT: &str = "SELECT i.id, i.period, i.user_id, u.username, u.display_name, u.staff_no, i.role, \
     o.code AS org_code, o.name AS org_name, i.score_centi, i.amount_minor \
     FROM incentive i JOIN app_user u ON u.id = i.user_id JOIN org_unit o ON o.id = i.org_unit_id";

/// `period`'s incentives of people under `under` (everyone with `None`).
pub async fn list(store: &Store, period: &str, under: Option<&str>) -> Result<Vec<IncentiveRow>> {
    let under = under.map(|p| format!("{p}%"));
    Ok(sqlx::query_as(&format!(
        "{INCENTIVE_SELECT} WHERE i.period = $1 AND ($2 IS NULL OR o.path LIKE $2) ORDER BY o.code, i.role, u.username"
    ))
    .bind(period)
    .bind(under)
    .fetch_all(store.db())
    .await?)
}

/// `user`'s incentive for `period`, with its lines.
pub async fn of(
    store: &Store,
    period: &str,
    user: i64,
) -> Result<Option<(IncentiveRow, Vec<LineRow>)>> {
    let i: Option<IncentiveRow> = sqlx::query_as(&format!(
        "{INCENTIVE_SELECT} WHERE i.period = $1 AND i.user_id = $2"
    ))
    .bind(period)
    .bind(user)
    .fetch_optional(store.db())
    .await?;
    let Some(i) = i else { return Ok(None) };
    let lines = sqlx::query_as(
        "SELECT kind, label, base_minor, rate_bp, score_centi, scores_centi, amount_minor FROM incentive_line \
         WHERE incentive_id = $1 ORDER BY seq",
    )
    .bind(i.id)
    .fetch_all(store.db())
    .await?;
    Ok(Some((i, lines)))
}

/// Audits an export of `period`'s incentives by `actor`.
pub async fn audit_export(
    store: &Store,
    period: &str,
    rows: usize,
    (user_id, actor): (Option<i64>, &str),
) -> Result<()> {
    let mut conn = store.acquire().await?;
    insert_audit(
        &mut conn,
        &Audit {
            user_id,
            actor,
            action: "incentive.export",
            object_type: Some("incentive"),
            object_id: Some(period),
            detail: Some(&format!("rows={rows}")),
            ..Audit::default()
        },
    )
    .await
}
