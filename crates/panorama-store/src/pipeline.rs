//! The opportunity pipeline (商机管理): an RM's opportunities by stage and
//! product, moved stage by stage with every move recorded, read in the
//! owner's scope (an RM's own, a branch manager's subtree's).

use sqlx::FromRow;

use crate::bind::{Bind, bind_all};
use crate::scope::Scope;
use crate::{Result, Store, now_utc};

/// The stages, in pipeline order; the last two close an opportunity.
pub const STAGES: &[&str] = &["lead", "contacted", "proposal", "won", "lost"];

/// Whether `stage` closes an opportunity.
pub fn is_closed(stage: &str) -> bool {
    matches!(stage, "won" | "lost")
}

/// A new opportunity.
#[derive(Debug, Clone)]
pub struct NewOpportunity<'a> {
    /// Customer.
    pub customer_id: i64,
    /// Owning RM.
    pub owner_user_id: i64,
    /// Product code.
    pub product_code: &'a str,
    /// Expected amount, fen.
    pub amount_minor: Option<i64>,
    /// Expected close date.
    pub expected_close: Option<&'a str>,
    /// The campaign whose lead it came from.
    pub campaign_id: Option<i64>,
    /// A note.
    pub notes: Option<&'a str>,
}

/// Why an opportunity could not be created or moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such product.
    UnknownProduct,
    /// Not a stage.
    UnknownStage,
    /// No such opportunity in the caller's hands.
    NotFound,
    /// Won or lost already.
    Closed,
    /// Already at that stage.
    Unchanged,
}

/// Creates an opportunity at stage `lead`.
pub async fn create(
    store: &Store,
    o: &NewOpportunity<'_>,
    actor: &str,
) -> Result<std::result::Result<i64, Refusal>> {
    let mut tx = store.begin().await?;
    let product: Option<String> = sqlx::query_scalar("SELECT code FROM product WHERE code = $1")
        .bind(o.product_code)
        .fetch_optional(&mut *tx)
        .await?;
    if product.is_none() {
        return Ok(Err(Refusal::UnknownProduct));
    }
    let now = now_utc();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO opportunity (customer_id, owner_user_id, product_code, stage, amount_minor, \
           expected_close, created_at, updated_at, campaign_id, notes) \
         VALUES ($1, $2, $3, 'lead', $4, $5, $6, $6, $7, $8) RETURNING id",
    )
    .bind(o.customer_id)
    .bind(o.owner_user_id)
    .bind(o.product_code)
    .bind(o.amount_minor)
    .bind(o.expected_close)
    .bind(&now)
    .bind(o.campaign_id)
    .bind(o.notes)
    .fetch_one(&mut *tx)
    .await?;
    record_stage(&mut tx, id, "lead", &now, actor).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

async fn record_stage(
    conn: &mut crate::AnyConnection,
    id: i64,
    stage: &str,
    at: &str,
    actor: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO opportunity_stage (opportunity_id, stage, at, by_user) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(stage)
    .bind(at)
    .bind(actor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the owner's opportunity to `stage` (and, when given, its expected
/// amount): any open opportunity to any other stage; won and lost are final.
/// Returns the customer on success.
pub async fn move_stage(
    store: &Store,
    id: i64,
    owner: i64,
    stage: &str,
    amount_minor: Option<i64>,
    actor: &str,
) -> Result<std::result::Result<i64, Refusal>> {
    if !STAGES.contains(&stage) {
        return Ok(Err(Refusal::UnknownStage));
    }
    let mut tx = store.begin().await?;
    let found: Option<(i64, String)> = sqlx::query_as(
        "SELECT customer_id, stage FROM opportunity WHERE id = $1 AND owner_user_id = $2",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((customer, current)) = found else {
        return Ok(Err(Refusal::NotFound));
    };
    if is_closed(&current) {
        return Ok(Err(Refusal::Closed));
    }
    if current == stage && amount_minor.is_none() {
        return Ok(Err(Refusal::Unchanged));
    }
    let now = now_utc();
    // Guarded by the stage read, so two racing moves cannot both land.
    let moved = sqlx::query(
        "UPDATE opportunity SET stage = $1, amount_minor = COALESCE($2, amount_minor), updated_at = $3 \
         WHERE id = $4 AND stage = $5",
    )
    .bind(stage)
    .bind(amount_minor)
    .bind(&now)
    .bind(id)
    .bind(&current)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Ok(Err(Refusal::Closed));
    }
    if current != stage {
        record_stage(&mut tx, id, stage, &now, actor).await?;
    }
    tx.commit().await?;
    Ok(Ok(customer))
}

/// One cell of the pipeline: a stage and product with its count and amount.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct PipelineCell {
    /// Stage.
    pub stage: String,
    /// Product code.
    pub product_code: String,
    /// Product name (zh).
    pub product_name: String,
    /// Product name (en).
    pub product_name_en: String,
    /// Opportunities.
    pub opportunities: i64,
    /// Their expected amount, fen.
    pub amount_minor: i64,
}

/// The pipeline in `scope`: opportunities and amounts by stage and product;
/// won and lost count those closed on or after `closed_since`.
pub async fn pipeline(
    store: &Store,
    scope: &Scope,
    closed_since: &str,
) -> Result<Vec<PipelineCell>> {
    let (cond, bind) = scope.owner_condition(2);
    let mut binds = vec![Bind::Text(closed_since.to_owned())];
    binds.extend(bind);
    let sql = format!(
        "SELECT o.stage, p.code AS product_code, p.name AS product_name, p.name_en AS product_name_en, \
           COUNT(*) AS opportunities, CAST(COALESCE(SUM(o.amount_minor), 0) AS BIGINT) AS amount_minor \
         FROM opportunity o JOIN product p ON p.code = o.product_code \
         WHERE {cond} AND (o.stage NOT IN ('won', 'lost') OR o.updated_at >= $1) \
         GROUP BY o.stage, p.code, p.name, p.name_en ORDER BY p.code, o.stage"
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// An opportunity in a list.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct OpportunityItem {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Customer name (mask before showing).
    pub customer_name: String,
    /// Customer number (the pseudonym of masked lists).
    pub customer_no: String,
    /// Owner.
    pub owner_user_id: i64,
    /// Owner's name.
    pub owner_name: String,
    /// Product code.
    pub product_code: Option<String>,
    /// Stage.
    pub stage: String,
    /// Expected amount, fen.
    pub amount_minor: Option<i64>,
    /// Expected close.
    pub expected_close: Option<String>,
    /// Campaign it came from.
    pub campaign_id: Option<i64>,
    /// Last change.
    pub updated_at: String,
}

/// Open opportunities in `scope` (optionally of one stage), soonest to
/// close first, at most `limit`.
pub async fn open_items(
    store: &Store,
    scope: &Scope,
    stage: Option<&str>,
    limit: i64,
) -> Result<Vec<OpportunityItem>> {
    let (cond, bind) = scope.owner_condition(1);
    let mut binds: Vec<Bind> = bind.into_iter().collect();
    let stage_cond = match stage {
        Some(s) => {
            binds.push(Bind::Text(s.to_owned()));
            format!("o.stage = ${}", binds.len())
        }
        None => "o.stage NOT IN ('won', 'lost')".to_owned(),
    };
    binds.push(Bind::Int(limit.clamp(1, 1000)));
    let sql = format!(
        "SELECT o.id, o.customer_id, c.name AS customer_name, c.customer_no, o.owner_user_id, u.display_name AS owner_name, \
           o.product_code, o.stage, o.amount_minor, o.expected_close, o.campaign_id, o.updated_at \
         FROM opportunity o JOIN customer c ON c.id = o.customer_id JOIN app_user u ON u.id = o.owner_user_id \
         WHERE {cond} AND {stage_cond} \
         ORDER BY CASE WHEN o.expected_close IS NULL THEN 1 ELSE 0 END, o.expected_close, o.id LIMIT ${}",
        binds.len()
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// The stages an opportunity passed through: (stage, at, by).
pub async fn history(store: &Store, id: i64) -> Result<Vec<(String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT stage, at, by_user FROM opportunity_stage WHERE opportunity_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(store.db())
    .await?)
}

/// Products an opportunity may be for: (code, name, English name).
pub async fn products(store: &Store) -> Result<Vec<(String, String, String)>> {
    Ok(
        sqlx::query_as("SELECT code, name, name_en FROM product ORDER BY class, code")
            .fetch_all(store.db())
            .await?,
    )
}

/// The customer's primary RM, if assigned: the owner of an opportunity
/// raised by someone else (a call-centre agent's referral).
pub async fn primary_rm(store: &Store, customer: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT rm_user_id FROM assignment WHERE customer_id = $1 AND to_date IS NULL \
         ORDER BY CASE WHEN role = 'primary' THEN 0 ELSE 1 END, id LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(store.db())
    .await?)
}
