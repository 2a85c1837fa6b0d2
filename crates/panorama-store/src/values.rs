//! Customer value (客户价值) as kept: each customer's lifetime value from the
//! nightly chain, with the run's parameters — read by the 360°, the
//! service desk's retention offer and campaign selection.

use std::collections::HashMap;

use sqlx::FromRow;

use crate::bulk::{BulkInsert, Value};
use crate::{Result, Store, now_utc};

/// One customer's value.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize)]
pub struct ValueRow {
    /// The customer.
    pub customer_id: i64,
    /// Profit contribution over the last 12 months, fen.
    pub profit_12m_minor: i64,
    /// Yearly retention used, basis points.
    pub retention_bp: i64,
    /// Lifetime value, fen.
    pub clv_minor: i64,
    /// Rank among all customers, basis points (10,000 = the most valuable).
    pub rank_bp: i64,
}

/// The parameters and totals of the last run.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize)]
pub struct ValueRun {
    /// The features' date.
    pub as_of: String,
    /// Years of margin counted.
    pub horizon_years: i64,
    /// Yearly discount, basis points.
    pub discount_bp: i64,
    /// The retention of customers without a churn score, basis points.
    pub retention_bp: i64,
    /// The churn model whose scores gave the retention, if any.
    pub churn_model_id: Option<i64>,
    /// Customers valued.
    pub customers: i64,
    /// Their total value, fen.
    pub total_minor: i64,
}

/// Replaces every customer's value with `rows` and the run's record with
/// `run`, in one transaction.
pub async fn replace(store: &Store, run: &ValueRun, rows: &[ValueRow]) -> Result<u64> {
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM customer_value")
        .execute(&mut *tx)
        .await?;
    let insert = BulkInsert::new(
        store.backend(),
        "customer_value",
        &[
            "customer_id",
            "profit_12m_minor",
            "retention_bp",
            "clv_minor",
            "rank_bp",
        ],
        "",
    );
    let mut written = 0;
    for chunk in rows.chunks(20_000) {
        let values: Vec<Vec<Value>> = chunk
            .iter()
            .map(|r| {
                vec![
                    Value::Int(Some(r.customer_id)),
                    Value::Int(Some(r.profit_12m_minor)),
                    Value::Int(Some(r.retention_bp)),
                    Value::Int(Some(r.clv_minor)),
                    Value::Int(Some(r.rank_bp)),
                ]
            })
            .collect();
        written += insert.execute(&mut tx, &values).await?;
    }
    sqlx::query("DELETE FROM customer_value_run")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO customer_value_run (id, as_of, horizon_years, discount_bp, retention_bp, churn_model_id, \
           customers, total_minor, computed_at) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&run.as_of)
    .bind(run.horizon_years)
    .bind(run.discount_bp)
    .bind(run.retention_bp)
    .bind(run.churn_model_id)
    .bind(run.customers)
    .bind(run.total_minor)
    .bind(now_utc())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(written)
}

/// The last run's parameters, if any.
pub async fn run(store: &Store) -> Result<Option<ValueRun>> {
    Ok(sqlx::query_as(
        "SELECT as_of, horizon_years, discount_bp, retention_bp, churn_model_id, customers, total_minor \
         FROM customer_value_run WHERE id = 1",
    )
    .fetch_optional(store.db())
    .await?)
}

/// One customer's value, if valued.
pub async fn of(store: &Store, customer: i64) -> Result<Option<ValueRow>> {
    Ok(sqlx::query_as(
        "SELECT customer_id, profit_12m_minor, retention_bp, clv_minor, rank_bp FROM customer_value \
         WHERE customer_id = $1",
    )
    .bind(customer)
    .fetch_optional(store.db())
    .await?)
}

/// Every valued customer's lifetime value, fen.
pub async fn clv_by_customer(store: &Store) -> Result<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT customer_id, clv_minor FROM customer_value")
        .fetch_all(store.db())
        .await?;
    Ok(rows.into_iter().collect())
}
