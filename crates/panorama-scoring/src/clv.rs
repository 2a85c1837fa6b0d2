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

/// What the nightly chain's valuation did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Valued {
    /// The features' date.
    pub as_of: Option<NaiveDate>,
    /// Customers valued.
    pub customers: usize,
    /// Their total value, fen.
    pub total_minor: i64,
    /// The churn model whose scores gave the retention, if one is approved.
    pub churn_model_id: Option<i64>,
    /// The mean yearly retention used.
    pub mean_retention: f64,
}

/// Each value's rank among `values`, in basis points: the share of
/// customers worth no more (10,000 = the most valuable; ties share a rank).
pub fn ranks_bp(values: &[i64]) -> Vec<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len().max(1) as i64;
    values
        .iter()
        .map(|v| {
            let at_most = sorted.partition_point(|x| x <= v) as i64;
            at_most * 10_000 / n
        })
        .collect()
}

/// Values every customer with features of `as_of` (default: the latest)
/// by `config` — the approved churn model named there giving each
/// retention when there is one — and keeps the values in the store (for the
/// 360°, the service desk and campaign selection) and for the next batch's
/// `clv` feature. A degenerate valuation — a retention that is not a
/// number, every customer kept at 0 or every value 0 while profits are
/// not — stops before anything is written.
pub async fn store_values(
    store: &Store,
    analytics: &Path,
    config: &panorama_analytics::config::ValueConfig,
    as_of: Option<NaiveDate>,
) -> Result<Valued> {
    let churn = panorama_store::models::approved(store)
        .await?
        .into_iter()
        .find(|m| m.name == config.churn_model && m.kind == "churn");
    let params = MarginParams {
        as_of,
        years: config.horizon_years,
        discount: config.discount_bp as f64 / 10_000.0,
        retention: config.retention_bp as f64 / 10_000.0,
        churn_model: churn.as_ref().map(|m| m.name.as_str()),
    };
    let v = margin(store, analytics, &params).await?;
    let n = v.rows.len();
    if n > 0 {
        if let Some(r) = v
            .rows
            .iter()
            .find(|r| !(r.retention.is_finite() && (0.0..=1.0).contains(&r.retention)))
        {
            return Err(ScoringError::Invalid(format!(
                "customer {}: retention {} is not a share: no value kept",
                r.customer_id, r.retention
            )));
        }
        if v.rows.iter().all(|r| r.retention == 0.0) {
            return Err(ScoringError::Invalid(
                "every customer's retention is 0 (a degenerate churn model?): no value kept".into(),
            ));
        }
        if v.rows.iter().any(|r| r.profit_fen != 0) && v.rows.iter().all(|r| r.clv_fen == 0) {
            return Err(ScoringError::Invalid(
                "every customer's value is 0 while their profits are not: no value kept".into(),
            ));
        }
    }
    let clv: Vec<i64> = v.rows.iter().map(|r| r.clv_fen).collect();
    let ranks = ranks_bp(&clv);
    let rows: Vec<panorama_store::values::ValueRow> = v
        .rows
        .iter()
        .zip(&ranks)
        .map(|(r, rank)| panorama_store::values::ValueRow {
            customer_id: r.customer_id,
            profit_12m_minor: r.profit_fen,
            retention_bp: (r.retention * 10_000.0).round() as i64,
            clv_minor: r.clv_fen,
            rank_bp: *rank,
        })
        .collect();
    let total: i64 = clv.iter().sum();
    let run = panorama_store::values::ValueRun {
        as_of: v.as_of.to_string(),
        horizon_years: i64::from(config.horizon_years),
        discount_bp: config.discount_bp,
        retention_bp: config.retention_bp,
        churn_model_id: churn.as_ref().map(|m| m.id),
        customers: n as i64,
        total_minor: total,
    };
    panorama_store::values::replace(store, &run, &rows).await?;
    let pairs: Vec<(i64, i64)> = rows.iter().map(|r| (r.customer_id, r.clv_minor)).collect();
    panorama_analytics::features::write_value_now(analytics, &pairs)?;
    Ok(Valued {
        as_of: Some(v.as_of),
        customers: n,
        total_minor: total,
        churn_model_id: run.churn_model_id,
        mean_retention: if n > 0 {
            v.rows.iter().map(|r| r.retention).sum::<f64>() / n as f64
        } else {
            0.0
        },
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
    fn ranks_count_the_customers_worth_no_more() {
        assert_eq!(
            ranks_bp(&[30, 10, 20, 20]),
            vec![10_000, 2_500, 7_500, 7_500]
        );
        assert_eq!(ranks_bp(&[-5]), vec![10_000]);
        assert!(ranks_bp(&[]).is_empty());
    }

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
