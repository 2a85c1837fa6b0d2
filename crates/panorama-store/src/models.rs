//! The model registry and customer scores: each trained model a new
//! version with its features, training window, metrics and artefact;
//! one approved version per name scores; older versions stay for audit.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::ecif::audit;
use crate::{Backend, Result, Store, now_utc};

/// A registered model version.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ModelRow {
    /// Id.
    pub id: i64,
    /// What it predicts (`uptake:card`, `churn`).
    pub kind: String,
    /// Name (versions share it).
    pub name: String,
    /// Version within the name, from 1.
    pub version: i64,
    /// trained / approved / retired.
    pub status: String,
    /// The columns it reads (JSON array).
    pub features: String,
    /// Features as of this date.
    pub train_from: Option<String>,
    /// Outcomes observed up to this date.
    pub train_to: Option<String>,
    /// Evaluation (JSON).
    pub metrics: Option<String>,
    /// Who trained it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
}

const MODEL_COLUMNS: &str = "id, kind, name, version, status, features, train_from, train_to, metrics, created_by, created_at, approved_by, approved_at";

/// A model to register.
#[derive(Debug, Clone)]
pub struct NewModel<'a> {
    /// What it predicts.
    pub kind: &'a str,
    /// Name.
    pub name: &'a str,
    /// Columns (JSON array).
    pub features: &'a str,
    /// Features date.
    pub train_from: &'a str,
    /// End of the outcome window.
    pub train_to: &'a str,
    /// Evaluation (JSON).
    pub metrics: &'a str,
    /// The fitted model (JSON).
    pub artefact: &'a str,
    /// Who trained it.
    pub created_by: &'a str,
}

/// Registers a new version of `m.name` as `trained`; returns (id, version).
pub async fn register(conn: &mut AnyConnection, m: &NewModel<'_>) -> Result<(i64, i64)> {
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM model WHERE name = $1")
            .bind(m.name)
            .fetch_one(&mut *conn)
            .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO model (kind, name, version, status, features, train_from, train_to, metrics, artefact, created_by, created_at) \
         VALUES ($1, $2, $3, 'trained', $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(m.kind)
    .bind(m.name)
    .bind(version)
    .bind(m.features)
    .bind(m.train_from)
    .bind(m.train_to)
    .bind(m.metrics)
    .bind(m.artefact)
    .bind(m.created_by)
    .bind(now_utc())
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        m.created_by,
        "model.train",
        None,
        &format!("model {id}: {} v{version} ({})", m.name, m.kind),
    )
    .await?;
    Ok((id, version))
}

/// Every version, newest first.
pub async fn list(store: &Store) -> Result<Vec<ModelRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM model ORDER BY name, version DESC"
    ))
    .fetch_all(store.db())
    .await?)
}

/// One version.
pub async fn get(store: &Store, id: i64) -> Result<Option<ModelRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM model WHERE id = $1"))
            .bind(id)
            .fetch_optional(store.db())
            .await?,
    )
}

/// A version's artefact.
pub async fn artefact(store: &Store, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT artefact FROM model WHERE id = $1")
            .bind(id)
            .fetch_optional(store.db())
            .await?
            .flatten(),
    )
}

/// The approved versions, one per name.
pub async fn approved(store: &Store) -> Result<Vec<ModelRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM model WHERE status = 'approved' ORDER BY name"
    ))
    .fetch_all(store.db())
    .await?)
}

/// Records trained version `row` as approved by `by`: it scores from now
/// on, and the version of its name approved before is retired (kept, not
/// deleted). Audited. None, changing nothing, when it is no longer a
/// trained version. Who may approve is `panorama-ocrm`'s rule.
pub async fn record_approval(store: &Store, row: &ModelRow, by: &str) -> Result<Option<ModelRow>> {
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE model SET status = 'retired' WHERE name = $1 AND status = 'approved'")
        .bind(&row.name)
        .execute(&mut *tx)
        .await?;
    let now = now_utc();
    let done = sqlx::query(
        "UPDATE model SET status = 'approved', approved_by = $1, approved_at = $2 \
         WHERE id = $3 AND status = 'trained'",
    )
    .bind(by)
    .bind(&now)
    .bind(row.id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    audit(
        &mut tx,
        by,
        "model.approve",
        None,
        &format!("model {}: {} v{} approved", row.id, row.name, row.version),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(ModelRow {
        status: "approved".into(),
        approved_by: Some(by.to_owned()),
        approved_at: Some(now),
        ..row.clone()
    }))
}

/// Score dates kept per model name (older ones are deleted when a new date is written).
pub const SCORE_DATES_KEPT: i64 = 3;

/// One model's scores to write: (customer, probability, reasons JSON).
pub type Scores<'a> = (&'a ModelRow, &'a [(i64, f64, String)]);

/// Writes the models' scores of `as_of` (replacing that date's), keeping the
/// newest [`SCORE_DATES_KEPT`] dates of each model's name.
pub async fn write_scores(
    conn: &mut AnyConnection,
    backend: Backend,
    as_of: &str,
    batch: &[Scores<'_>],
) -> Result<u64> {
    let mut written = 0;
    for (model, rows) in batch {
        written += write_model_scores(&mut *conn, backend, model, as_of, rows).await?;
    }
    Ok(written)
}

async fn write_model_scores(
    conn: &mut AnyConnection,
    backend: Backend,
    model: &ModelRow,
    as_of: &str,
    rows: &[(i64, f64, String)],
) -> Result<u64> {
    clear_scores(&mut *conn, model.id, as_of).await?;
    let written = append_scores(&mut *conn, backend, model.id, as_of, rows).await?;
    prune_scores(&mut *conn, model).await?;
    Ok(written)
}

/// Deletes a model's scores of `as_of`, before they are written again.
pub async fn clear_scores(conn: &mut AnyConnection, model_id: i64, as_of: &str) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM customer_score WHERE model_id = $1 AND as_of = $2")
            .bind(model_id)
            .bind(as_of)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Adds scores of a model and date: (customer, probability, reasons JSON).
pub async fn append_scores(
    conn: &mut AnyConnection,
    backend: Backend,
    model_id: i64,
    as_of: &str,
    rows: &[(i64, f64, String)],
) -> Result<u64> {
    // The rows go in as JSON arrays of `[customer, score, reasons]`, one
    // bound text per 20,000 rows, unpacked by the database's own JSON
    // functions: binding five values a row cost more than the inserts
    // themselves (a million binds a second through the Any driver).
    let unpack = match backend {
        Backend::Sqlite => {
            "INSERT INTO customer_score (customer_id, model_id, as_of, score, reasons) \
             SELECT j.value ->> 0, $1, $2, j.value ->> 1, j.value ->> 2 FROM json_each($3) AS j"
        }
        Backend::Postgres => {
            "INSERT INTO customer_score (customer_id, model_id, as_of, score, reasons) \
             SELECT (e ->> 0)::BIGINT, $1, $2, (e ->> 1)::DOUBLE PRECISION, e ->> 2 \
             FROM jsonb_array_elements(CAST($3 AS TEXT)::JSONB) AS e"
        }
    };
    let mut written = 0;
    for chunk in rows.chunks(20_000) {
        let mut text = String::with_capacity(chunk.len() * 96);
        text.push('[');
        for (k, (c, s, r)) in chunk.iter().enumerate() {
            if k > 0 {
                text.push(',');
            }
            let score = if s.is_finite() { *s } else { 0.0 };
            text.push_str(&format!(
                "[{c},{score:e},{}]",
                serde_json::Value::from(r.as_str())
            ));
        }
        text.push(']');
        written += sqlx::query(unpack)
            .bind(model_id)
            .bind(as_of)
            .bind(text)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(written)
}

/// Keeps the newest [`SCORE_DATES_KEPT`] score dates of the model's name.
pub async fn prune_scores(conn: &mut AnyConnection, model: &ModelRow) -> Result<()> {
    let dates: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT s.as_of FROM customer_score s JOIN model m ON m.id = s.model_id \
         WHERE m.name = $1 ORDER BY s.as_of DESC",
    )
    .bind(&model.name)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(oldest_kept) = dates.get(SCORE_DATES_KEPT as usize - 1) {
        sqlx::query(
            "DELETE FROM customer_score WHERE as_of < $1 AND model_id IN (SELECT id FROM model WHERE name = $2)",
        )
        .bind(oldest_kept)
        .bind(&model.name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A customer's latest score from each approved model.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CustomerScore {
    /// Model name.
    pub name: String,
    /// What it predicts.
    pub kind: String,
    /// Version.
    pub version: i64,
    /// Scored as of.
    pub as_of: String,
    /// Probability.
    pub score: f64,
    /// Top reasons (JSON array of [column, weight]).
    pub reasons: Option<String>,
    /// The model's columns with their meanings (JSON array of {name, zh, en}).
    pub features: String,
}

/// The latest scores of one customer from the approved models.
pub async fn customer_scores(store: &Store, customer_id: i64) -> Result<Vec<CustomerScore>> {
    Ok(sqlx::query_as(
        "SELECT m.name, m.kind, m.version, s.as_of, s.score, s.reasons, m.features FROM customer_score s \
         JOIN model m ON m.id = s.model_id \
         WHERE s.customer_id = $1 AND m.status = 'approved' \
         AND s.as_of = (SELECT MAX(s2.as_of) FROM customer_score s2 WHERE s2.customer_id = s.customer_id AND s2.model_id = s.model_id) \
         ORDER BY m.name",
    )
    .bind(customer_id)
    .fetch_all(store.db())
    .await?)
}

/// The latest scores of one model version: (customer, score).
pub async fn latest_scores(store: &Store, model_id: i64) -> Result<Vec<(i64, f64)>> {
    crate::bulk::read_json(
        store,
        "SELECT customer_id AS c0, score AS c1 FROM customer_score WHERE model_id = $1 \
         AND as_of = (SELECT MAX(as_of) FROM customer_score WHERE model_id = $1)",
        2,
        Some(model_id),
    )
    .await
}
