//! The feature and tier stages of the batch, over the snapshot.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema};
use datafusion::prelude::SessionContext;
use rayon::prelude::*;

use crate::catalogue::AUM_CLASSES;
use crate::config::Config;
use crate::engine::{features_path, register_batches};
use crate::error::{AnalyticsError, Result};
use crate::features_sql::{Dates, feature_sql};
use crate::snapshot::{ParquetFile, from_date32};
use crate::tiers::{TierDecision, month_end, replay};

/// Every customer's tier decisions (ascending), by customer id.
pub type TierHistory = HashMap<i64, Vec<TierDecision>>;

/// Replays the tier rules for every customer from the monthly average AUM
/// in the snapshot, through the last month complete on `dates.as_of`.
pub async fn tier_history(
    ctx: &SessionContext,
    config: &Config,
    dates: Dates,
) -> Result<TierHistory> {
    let classes = AUM_CLASSES
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT a.customer_id, b.month, \
           SUM(CASE WHEN a.class IN ({classes}) THEN b.avg_balance_minor ELSE 0 END) AS aum \
         FROM balance b JOIN account a ON a.account_id = b.account_id \
         WHERE b.month <= DATE '{}' \
         GROUP BY a.customer_id, b.month",
        dates.month.format("%Y-%m-%d")
    );
    let batches = ctx.sql(&sql).await?.collect().await?;
    let mut series: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let months = b.column(1).as_primitive::<Date32Type>();
        let aum = b.column(2).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if ids.is_null(i) || months.is_null(i) {
                continue;
            }
            let Some(m) = from_date32(months.value(i)) else {
                continue;
            };
            series
                .entry(ids.value(i))
                .or_default()
                .push((m, if aum.is_null(i) { 0 } else { aum.value(i) }));
        }
    }
    let tiers = &config.tiers;
    let through = dates.month;
    Ok(series
        .into_par_iter()
        .map(|(id, mut s)| {
            s.sort_unstable_by_key(|x| x.0);
            (id, replay(tiers, &s, through))
        })
        .collect())
}

/// Computes the features of `dates.as_of` and writes them to the analytics
/// directory; returns the rows written.
pub async fn compute(
    ctx: &SessionContext,
    analytics: &Path,
    config: &Config,
    dates: Dates,
    history: &TierHistory,
) -> Result<u64> {
    // The tier in force on the as-of date, as a small table to join.
    let lowest = config
        .tiers
        .last()
        .map(|t| t.code.clone())
        .ok_or_else(|| AnalyticsError::Invalid("no tiers configured".into()))?;
    let mut ids = Vec::with_capacity(history.len());
    let mut codes = Vec::with_capacity(history.len());
    let mut months = Vec::with_capacity(history.len());
    for (id, ds) in history {
        if let Some(last) = ds.iter().rev().find(|d| d.as_of <= dates.as_of) {
            ids.push(*id);
            codes.push(config.tiers[last.tier].code.clone());
            months.push(months_since(last.as_of, month_end(dates.month)));
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("tier", DataType::Utf8, false),
        Field::new("tier_months", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(codes)),
            Arc::new(Int64Array::from(months)),
        ],
    )?;
    let _ = ctx.deregister_table("tier_now");
    register_batches(ctx, "tier_now", schema, vec![batch])?;
    let sql = format!(
        "SELECT f.*, COALESCE(t.tier, '{lowest}') AS tier, COALESCE(t.tier_months, 0) AS tier_months \
         FROM ({}) f LEFT JOIN tier_now t ON t.customer_id = f.customer_id ORDER BY f.customer_id",
        feature_sql(config, dates)
    );
    let df = ctx.sql(&sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await?;
    let mut file = ParquetFile::create(&features_path(analytics, dates.as_of), schema)?;
    use futures_util::StreamExt;
    while let Some(b) = stream.next().await {
        file.write(&b?)?;
    }
    file.finish()
}

fn months_since(from: NaiveDate, to: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(to.year() - from.year()) * 12 + i64::from(to.month()) - i64::from(from.month())
}

/// Reads an Int64 column by name from a batch.
pub fn int_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| {
            AnalyticsError::Invalid(format!("column {name} is missing or not an integer"))
        })
}

/// Reads a text column by name from a batch (plain or view strings).
pub fn text_values(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| AnalyticsError::Invalid(format!("column {name} is missing")))?;
    let col = datafusion::arrow::compute::cast(col, &DataType::Utf8)?;
    let s = col.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_owned()))
        .collect())
}
