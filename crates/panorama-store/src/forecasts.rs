//! Target forecasts (经营目标预测) as kept: each RM's parts of a period's
//! forecast, the win rates by stage they used, and what the forecast reads
//! from the data — the open pipeline as it stood on a day (replayed from
//! the opportunities' stage history, so a backtest sees what a forecaster
//! saw then) and the stage history of closed opportunities.

use panorama_domain::forecast::StageHistory;
use sqlx::FromRow;

use crate::targets::Child;
use crate::{Result, Store, now_utc};

/// An opportunity open on a day.
#[derive(Debug, Clone, FromRow)]
pub struct OpenOpportunity {
    /// Its owner.
    pub owner: i64,
    /// The RM who referred it, when it came from a referral.
    pub referrer: Option<i64>,
    /// Its stage that day.
    pub stage: String,
    /// Its amount in fen, if given.
    pub amount: Option<i64>,
    /// When it is expected to close.
    pub expected_close: Option<String>,
    /// Its product's class.
    pub class: Option<String>,
}

/// The opportunities open at the end of `day` (`YYYY-MM-DD`), at the stage
/// they were at then.
pub async fn open_on(store: &Store, day: &str) -> Result<Vec<OpenOpportunity>> {
    Ok(sqlx::query_as(
        "SELECT o.owner_user_id AS owner, \
           (SELECT MIN(r.from_user_id) FROM referral r WHERE r.opportunity_id = o.id) AS referrer, \
           st.stage, o.amount_minor AS amount, o.expected_close, p.class \
         FROM opportunity o LEFT JOIN product p ON p.code = o.product_code \
         JOIN opportunity_stage st ON st.opportunity_id = o.id AND st.id = \
           (SELECT MAX(x.id) FROM opportunity_stage x WHERE x.opportunity_id = o.id AND SUBSTR(x.at, 1, 10) <= $1) \
         WHERE st.stage IN ('lead', 'contacted', 'proposal') \
         ORDER BY o.id",
    )
    .bind(day)
    .fetch_all(store.db())
    .await?)
}

/// Per open stage: the opportunities that closed from `from` to `to` after
/// being at it, and how many of them were won.
pub async fn stage_history(store: &Store, from: &str, to: &str) -> Result<Vec<StageHistory>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT s.stage, COUNT(DISTINCT c.opportunity_id), \
           COUNT(DISTINCT CASE WHEN c.stage = 'won' THEN c.opportunity_id END) \
         FROM opportunity_stage c \
         JOIN opportunity_stage s ON s.opportunity_id = c.opportunity_id \
           AND s.stage IN ('lead', 'contacted', 'proposal') AND s.id < c.id \
         WHERE c.stage IN ('won', 'lost') AND SUBSTR(c.at, 1, 10) BETWEEN $1 AND $2 \
         GROUP BY s.stage ORDER BY s.stage",
    )
    .bind(from)
    .bind(to)
    .fetch_all(store.db())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(stage, closed, won)| StageHistory { stage, closed, won })
        .collect())
}

/// Approved sales from `from` to `to` (of `class` when given): all of them,
/// and those whose customer had an opportunity for a product of the same
/// class won from `since` to the sale's day — the share of sales the
/// pipeline brings in.
pub async fn sales_via_pipeline(
    store: &Store,
    class: Option<&str>,
    since: &str,
    from: &str,
    to: &str,
) -> Result<(i64, i64)> {
    let (all, linked): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(CASE WHEN EXISTS ( \
             SELECT 1 FROM opportunity o JOIN product q ON q.code = o.product_code \
             WHERE o.customer_id = s.customer_id AND o.stage = 'won' AND q.class = p.class \
               AND SUBSTR(o.updated_at, 1, 10) BETWEEN $4 AND s.sold_on) THEN 1 END) \
         FROM sale s JOIN product p ON p.code = s.product_code \
         WHERE s.status = 'approved' AND s.sold_on BETWEEN $1 AND $2 AND ($3 IS NULL OR p.class = $3)",
    )
    .bind(from)
    .bind(to)
    .bind(class)
    .bind(since)
    .fetch_one(store.db())
    .await?;
    Ok((all, linked))
}

/// One RM's kept forecast parts, in the indicator's unit times `scale`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ForecastRow {
    /// The RM.
    pub rm_user_id: i64,
    /// As of.
    pub as_of: String,
    /// 1 for fen, 100 for a count.
    pub scale: i64,
    /// The trend's expected value.
    pub trend_mean: i64,
    /// Its standard deviation.
    pub trend_sd: i64,
    /// The pipeline's expected value.
    pub pipeline_mean: i64,
    /// Its standard deviation.
    pub pipeline_sd: i64,
}

/// Replaces the forecasts of `period` and `indicator` with `rows`.
pub async fn write(
    store: &Store,
    period: &str,
    indicator: &str,
    rows: &[ForecastRow],
) -> Result<()> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM target_forecast WHERE period = $1 AND indicator = $2")
        .bind(period)
        .bind(indicator)
        .execute(&mut *tx)
        .await?;
    for r in rows {
        sqlx::query(
            "INSERT INTO target_forecast (period, indicator, rm_user_id, as_of, scale, trend_mean, trend_sd, \
               pipeline_mean, pipeline_sd, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(period)
        .bind(indicator)
        .bind(r.rm_user_id)
        .bind(&r.as_of)
        .bind(r.scale)
        .bind(r.trend_mean)
        .bind(r.trend_sd)
        .bind(r.pipeline_mean)
        .bind(r.pipeline_sd)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The kept forecasts of `period` and `indicator` for an RM, or for every
/// RM in an org unit's subtree.
pub async fn of(
    store: &Store,
    period: &str,
    indicator: &str,
    who: Child,
) -> Result<Vec<ForecastRow>> {
    const COLUMNS: &str =
        "f.rm_user_id, f.as_of, f.scale, f.trend_mean, f.trend_sd, f.pipeline_mean, f.pipeline_sd";
    let rows =
        match who {
            Child::Rm(rm) => {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM target_forecast f \
                 WHERE f.period = $1 AND f.indicator = $2 AND f.rm_user_id = $3"
                ))
                .bind(period)
                .bind(indicator)
                .bind(rm)
                .fetch_all(store.db())
                .await?
            }
            Child::Org(org) => sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM target_forecast f JOIN app_user u ON u.id = f.rm_user_id \
                 JOIN org_unit o ON o.id = u.org_unit_id \
                 WHERE f.period = $1 AND f.indicator = $2 \
                   AND o.path LIKE (SELECT path FROM org_unit WHERE id = $3) || '%'"
            ))
            .bind(period)
            .bind(indicator)
            .bind(org)
            .fetch_all(store.db())
            .await?,
        };
    Ok(rows)
}

/// Keeps the win rates a forecast as of `as_of` used.
pub async fn write_win_rates(store: &Store, as_of: &str, history: &[StageHistory]) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM opportunity_win_rate")
        .execute(&mut *tx)
        .await?;
    for h in history {
        sqlx::query(
            "INSERT INTO opportunity_win_rate (stage, as_of, closed, won) VALUES ($1, $2, $3, $4)",
        )
        .bind(&h.stage)
        .bind(as_of)
        .bind(h.closed)
        .bind(h.won)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The win rates the last forecast used, with their as-of date.
pub async fn win_rates(store: &Store) -> Result<(Option<String>, Vec<StageHistory>)> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT stage, as_of, closed, won FROM opportunity_win_rate \
         ORDER BY CASE stage WHEN 'lead' THEN 0 WHEN 'contacted' THEN 1 ELSE 2 END",
    )
    .fetch_all(store.db())
    .await?;
    let as_of = rows.first().map(|r| r.1.clone());
    Ok((
        as_of,
        rows.into_iter()
            .map(|(stage, _, closed, won)| StageHistory { stage, closed, won })
            .collect(),
    ))
}

/// Every org-unit target of `period` in the subtree at `path`: (target
/// id, indicator, org unit id, code, name, value).
pub async fn org_targets(
    store: &Store,
    period: &str,
    path: &str,
) -> Result<Vec<(i64, String, i64, String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.indicator, o.id, o.code, o.name, t.value_minor FROM target t \
         JOIN org_unit o ON o.id = t.org_unit_id \
         WHERE t.period = $1 AND o.path LIKE $2 || '%' ORDER BY o.path, t.indicator",
    )
    .bind(period)
    .bind(path)
    .fetch_all(store.db())
    .await?)
}

/// The trend's basis chosen for an indicator and the errors it was chosen
/// on.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize)]
pub struct BasisRow {
    /// The indicator.
    pub indicator: String,
    /// As of.
    pub as_of: String,
    /// `window` or `period`.
    pub basis: String,
    /// Past quarters replayed.
    pub quarters: i64,
    /// The window's WAPE over them, in basis points.
    pub window_wape_bp: Option<i64>,
    /// Pacing's.
    pub period_wape_bp: Option<i64>,
}

/// Keeps the basis chosen for an indicator.
pub async fn write_basis(store: &Store, b: &BasisRow) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM forecast_basis WHERE indicator = $1")
        .bind(&b.indicator)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO forecast_basis (indicator, as_of, basis, quarters, window_wape_bp, period_wape_bp) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&b.indicator)
    .bind(&b.as_of)
    .bind(&b.basis)
    .bind(b.quarters)
    .bind(b.window_wape_bp)
    .bind(b.period_wape_bp)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The basis chosen for an indicator, if any.
pub async fn basis_of(store: &Store, indicator: &str) -> Result<Option<BasisRow>> {
    Ok(sqlx::query_as(
        "SELECT indicator, as_of, basis, quarters, window_wape_bp, period_wape_bp FROM forecast_basis \
         WHERE indicator = $1",
    )
    .bind(indicator)
    .fetch_optional(store.db())
    .await?)
}
