//! Margin-based customer lifetime value over the feature store: each
//! customer's last-12-month profit contribution, kept for `years` with a
//! yearly retention — one rate for everyone, or each customer's own from an
//! approved churn model's latest scores — and discounted
//! ([`panorama_models::clv::margin_clv`]).

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use panorama_store::Store;

use crate::{Result, ScoringError, TrainReport};

/// What a margin CLV run is asked.
#[derive(Debug, Clone)]
pub struct MarginParams<'a> {
    /// Features of this date (default: the latest computed).
    pub as_of: Option<NaiveDate>,
    /// Horizon in years (at least 1).
    pub years: u32,
    /// Yearly discount rate, in [0, 1).
    pub discount: f64,
    /// Yearly retention for everyone without a churn score, in [0, 1].
    pub retention: f64,
    /// The approved churn model whose scores give each customer's retention.
    pub churn_model: Option<&'a str>,
}

/// One customer's value.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginRow {
    /// Customer.
    pub customer_id: i64,
    /// Profit contribution over the last 12 months (fen).
    pub profit_fen: i64,
    /// Yearly retention used.
    pub retention: f64,
    /// Lifetime value (fen).
    pub clv_fen: i64,
}

/// The value of every customer with features on a date.
#[derive(Debug, Clone)]
pub struct MarginClv {
    /// The features' date.
    pub as_of: NaiveDate,
    /// Per customer, in the features' order.
    pub rows: Vec<MarginRow>,
    /// Whether retention came from a churn model's scores.
    pub from_churn_model: bool,
}

/// Margin CLV of every customer on the features of `p.as_of`.
pub async fn margin(store: &Store, analytics: &Path, p: &MarginParams<'_>) -> Result<MarginClv> {
    if !(0.0..=1.0).contains(&p.retention) || !(0.0..1.0).contains(&p.discount) || p.years == 0 {
        return Err(ScoringError::Invalid(
            "retention in [0, 1], discount in [0, 1) and years ≥ 1".into(),
        ));
    }
    let ctx = panorama_analytics::engine::session();
    let as_of = panorama_analytics::engine::register_features(&ctx, analytics, p.as_of).await?;
    let batches = ctx
        .table("features")
        .await?
        .select_columns(&["customer_id", "profit"])?
        .collect()
        .await?;
    // Retention per customer: (1 − churn probability over the model's
    // horizon) raised to the horizons in a year.
    let churn: Option<(HashMap<i64, f64>, f64)> = match p.churn_model {
        Some(name) => {
            let m = panorama_store::models::approved(store)
                .await?
                .into_iter()
                .find(|m| m.name == name && m.kind == "churn")
                .ok_or_else(|| {
                    ScoringError::Invalid(format!("no approved churn model '{name}'"))
                })?;
            let report: TrainReport = serde_json::from_str(m.metrics.as_deref().unwrap_or("null"))
                .map_err(|e| {
                    ScoringError::Invalid(format!("model {}: its report is unreadable: {e}", m.id))
                })?;
            let scores = panorama_store::models::latest_scores(store, m.id).await?;
            Some((
                scores.into_iter().collect(),
                12.0 / f64::from(report.horizon_months.max(1)),
            ))
        }
        None => None,
    };
    let mut rows = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let profit = datafusion::arrow::compute::cast(b.column(1), &DataType::Int64)?;
        let profit = profit.as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let customer_id = ids.value(i);
            let profit_fen = if profit.is_null(i) {
                0
            } else {
                profit.value(i)
            };
            let retention = match &churn {
                Some((scores, per_year)) => scores
                    .get(&customer_id)
                    .map_or(p.retention, |s| (1.0 - s).clamp(0.0, 1.0).powf(*per_year)),
                None => p.retention,
            };
            rows.push(MarginRow {
                customer_id,
                profit_fen,
                retention,
                clv_fen: panorama_models::clv::margin_clv(
                    profit_fen, retention, p.discount, p.years,
                ),
            });
        }
    }
    Ok(MarginClv {
        as_of,
        rows,
        from_churn_model: churn.is_some(),
    })
}

/// One tenth of the customers by value.
#[derive(Debug, Clone, PartialEq)]
pub struct Decile {
    /// Customers in it.
    pub customers: usize,
    /// Their mean value (fen).
    pub mean_fen: f64,
    /// Their share of the total value (0 when the total is 0).
    pub share: f64,
}

/// Values in ten groups of (nearly) equal size, highest first: how
/// concentrated the value is.
pub fn deciles(values: &[i64]) -> Vec<Decile> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total: i64 = sorted.iter().sum();
    let n = sorted.len();
    (0..10)
        .map(|k| {
            let part = &sorted[k * n / 10..((k + 1) * n / 10).min(n)];
            let sum: i64 = part.iter().sum();
            Decile {
                customers: part.len(),
                mean_fen: sum as f64 / part.len().max(1) as f64,
                share: if total != 0 {
                    sum as f64 / total as f64
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
    fn deciles_split_the_customers_highest_first_and_shares_add_up() {
        let values: Vec<i64> = (1..=20).collect();
        let d = deciles(&values);
        assert_eq!(d.len(), 10);
        assert!(d.iter().all(|x| x.customers == 2));
        assert_eq!(d[0].mean_fen, 19.5, "20 and 19");
        assert_eq!(d[9].mean_fen, 1.5, "2 and 1");
        let shares: f64 = d.iter().map(|x| x.share).sum();
        assert!((shares - 1.0).abs() < 1e-12, "{shares}");
        let few = deciles(&[5, 3, 1]);
        assert_eq!(few.iter().map(|x| x.customers).sum::<usize>(), 3);
        assert!(
            deciles(&[])
                .iter()
                .all(|x| x.customers == 0 && x.share == 0.0)
        );
    }
}
