//! The feature and tier stages of the batch, over the snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, Date32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Int64Type, Schema, SchemaRef};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::catalogue::AUM_CLASSES;
use crate::config::Config;
use crate::engine::features_path;
use crate::error::{AnalyticsError, Result};
use crate::features_sql::{Dates, feature_sql};
use crate::snapshot::{ParquetFile, from_date32};
use crate::tiers::{TierDecision, month_end, replay};

/// The tier decisions of a run, replayed for every customer and written to
/// Parquet in customer order, so no stage holds every customer's history:
/// `decisions.parquet` (customer_id, as_of, tier and previous as indexes
/// into the configured tiers, reason) and `now.parquet` (customer_id, the
/// tier in force on the as-of date, months in it). The directory is the
/// run's own and is removed when this is dropped.
#[derive(Debug)]
pub struct TierFiles {
    dir: PathBuf,
    /// Customers with balances, so with decisions.
    pub customers: u64,
    /// Decisions in all.
    pub decisions: u64,
}

impl TierFiles {
    /// The decisions, in customer and date order.
    pub fn decisions_path(&self) -> PathBuf {
        self.dir.join("decisions.parquet")
    }

    /// The tier in force on the as-of date per customer.
    pub fn now_path(&self) -> PathBuf {
        self.dir.join("now.parquet")
    }

    /// Reads the decisions back, one customer at a time, in customer order.
    pub fn reader(&self) -> Result<DecisionReader> {
        DecisionReader::open(&self.decisions_path())
    }
}

impl Drop for TierFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn decision_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new("tier", DataType::Int64, false),
        Field::new("previous", DataType::Int64, true),
        Field::new("reason", DataType::Utf8, false),
    ]))
}

fn now_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("tier", DataType::Utf8, false),
        Field::new("tier_months", DataType::Int64, false),
    ]))
}

/// Rows buffered before a Parquet batch is written.
const CHUNK: usize = 65_536;

/// Replays the tier rules for every customer from the monthly average AUM
/// in the snapshot, through the last month complete on `dates.as_of`,
/// streaming the customers' months in order (the engine sorts, spilling
/// within its memory budget) and writing each customer's decisions as it
/// goes.
pub async fn tier_history(
    ctx: &SessionContext,
    analytics: &Path,
    config: &Config,
    dates: Dates,
) -> Result<TierFiles> {
    let classes = AUM_CLASSES
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    // The joined rows sorted, summed here as they stream: sorting the
    // aggregate's output instead broke the memory budget (an aggregate's
    // output batches are slices of one buffer, and a sort counts each
    // slice as the whole buffer).
    let sql = format!(
        "SELECT a.customer_id, b.month, \
           CASE WHEN a.class IN ({classes}) THEN b.avg_balance_minor ELSE 0 END AS aum \
         FROM balance b JOIN account a ON a.account_id = b.account_id \
         WHERE b.month <= DATE '{}' AND a.customer_id IS NOT NULL \
         ORDER BY a.customer_id, b.month",
        dates.month.format("%Y-%m-%d")
    );
    let dir = analytics.join("tmp").join(format!(
        "tiers-{}-{}",
        dates.as_of.format("%Y-%m-%d"),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|source| AnalyticsError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut files = TierFiles {
        dir,
        customers: 0,
        decisions: 0,
    };
    let mut writer = TierWriter {
        config,
        dates,
        decisions: ParquetFile::create(&files.decisions_path(), decision_schema())?,
        now: ParquetFile::create(&files.now_path(), now_schema())?,
        d: DecisionColumns::default(),
        n: NowColumns::default(),
    };
    // Within a budget, one sort rather than one per core: a greedy pool
    // does not make one partition's sort spill for the other's merge (at
    // 1M customers and 1 GB, one sort held 500 MB while the other's merge
    // starved).
    let partitions = ctx.state().config().target_partitions();
    if crate::engine::budgeted() {
        ctx.sql("SET datafusion.execution.target_partitions = 1")
            .await?
            .collect()
            .await?;
    }
    let stream = ctx.sql(&sql).await?.execute_stream().await;
    if crate::engine::budgeted() {
        ctx.sql(&format!(
            "SET datafusion.execution.target_partitions = {partitions}"
        ))
        .await?
        .collect()
        .await?;
    }
    let mut stream = stream?;
    let mut current: Option<(i64, Vec<(NaiveDate, i64)>)> = None;
    use futures_util::TryStreamExt;
    while let Some(b) = stream.try_next().await? {
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
            let id = ids.value(i);
            let value = if aum.is_null(i) { 0 } else { aum.value(i) };
            match &mut current {
                Some((c, series)) if *c == id => match series.last_mut() {
                    // Another account's balance of the same month.
                    Some((month, sum)) if *month == m => *sum += value,
                    _ => series.push((m, value)),
                },
                _ => {
                    if let Some((c, series)) = current.take() {
                        writer.customer(c, &series, &mut files)?;
                    }
                    current = Some((id, vec![(m, value)]));
                }
            }
        }
    }
    if let Some((c, series)) = current.take() {
        writer.customer(c, &series, &mut files)?;
    }
    writer.finish()?;
    Ok(files)
}

#[derive(Default)]
struct DecisionColumns {
    customer: Vec<i64>,
    as_of: Vec<i32>,
    tier: Vec<i64>,
    previous: Vec<Option<i64>>,
    reason: Vec<String>,
}

#[derive(Default)]
struct NowColumns {
    customer: Vec<i64>,
    tier: Vec<String>,
    months: Vec<i64>,
}

/// Writes the decisions of one customer at a time.
struct TierWriter<'a> {
    config: &'a Config,
    dates: Dates,
    decisions: ParquetFile,
    now: ParquetFile,
    d: DecisionColumns,
    n: NowColumns,
}

impl TierWriter<'_> {
    fn customer(
        &mut self,
        id: i64,
        series: &[(NaiveDate, i64)],
        files: &mut TierFiles,
    ) -> Result<()> {
        let decisions = replay(&self.config.tiers, series, self.dates.month);
        files.customers += 1;
        files.decisions += decisions.len() as u64;
        if let Some(last) = decisions.iter().rev().find(|d| d.as_of <= self.dates.as_of) {
            self.n.customer.push(id);
            self.n.tier.push(self.config.tiers[last.tier].code.clone());
            self.n.months.push(panorama_domain::months_between(
                last.as_of,
                month_end(self.dates.month),
            ));
        }
        for d in decisions {
            self.d.customer.push(id);
            self.d.as_of.push(to_date32(d.as_of));
            self.d.tier.push(d.tier as i64);
            self.d.previous.push(d.previous.map(|p| p as i64));
            self.d.reason.push(d.reason);
        }
        if self.d.customer.len() >= CHUNK || self.n.customer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let d = std::mem::take(&mut self.d);
        if !d.customer.is_empty() {
            self.decisions.write(&RecordBatch::try_new(
                decision_schema(),
                vec![
                    Arc::new(Int64Array::from(d.customer)),
                    Arc::new(Date32Array::from(d.as_of)),
                    Arc::new(Int64Array::from(d.tier)),
                    Arc::new(Int64Array::from(d.previous)),
                    Arc::new(StringArray::from(d.reason)),
                ],
            )?)?;
        }
        let n = std::mem::take(&mut self.n);
        if !n.customer.is_empty() {
            self.now.write(&RecordBatch::try_new(
                now_schema(),
                vec![
                    Arc::new(Int64Array::from(n.customer)),
                    Arc::new(StringArray::from(n.tier)),
                    Arc::new(Int64Array::from(n.months)),
                ],
            )?)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.decisions.finish()?;
        self.now.finish()?;
        Ok(())
    }
}

fn to_date32(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((d - epoch).num_days()).unwrap_or(0)
}

/// The decisions of a [`TierFiles`], read back one customer at a time.
pub struct DecisionReader {
    batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
}

impl DecisionReader {
    fn open(path: &Path) -> Result<DecisionReader> {
        let file = std::fs::File::open(path).map_err(|source| AnalyticsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let batches = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?
            .with_batch_size(8192)
            .build()?;
        Ok(DecisionReader {
            batches,
            batch: None,
            row: 0,
        })
    }

    /// The customer of the next decision, if any.
    fn peek(&mut self) -> Result<Option<i64>> {
        loop {
            if let Some(b) = &self.batch {
                if self.row < b.num_rows() {
                    return Ok(Some(
                        b.column(0).as_primitive::<Int64Type>().value(self.row),
                    ));
                }
            }
            match self.batches.next() {
                Some(b) => {
                    self.batch = Some(b?);
                    self.row = 0;
                }
                None => return Ok(None),
            }
        }
    }

    /// The next customer's decisions (ascending), `None` at the end.
    pub fn next_customer(&mut self) -> Result<Option<(i64, Vec<TierDecision>)>> {
        let Some(id) = self.peek()? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        while self.peek()? == Some(id) {
            let Some(b) = &self.batch else { break };
            let i = self.row;
            let as_of = b.column(1).as_primitive::<Date32Type>();
            let tier = b.column(2).as_primitive::<Int64Type>();
            let previous = b.column(3).as_primitive::<Int64Type>();
            let reason = b.column(4).as_string::<i32>();
            out.push(TierDecision {
                as_of: from_date32(as_of.value(i)).ok_or_else(|| {
                    AnalyticsError::Invalid("a tier decision without a date".into())
                })?,
                tier: usize::try_from(tier.value(i)).unwrap_or(0),
                previous: (!previous.is_null(i))
                    .then(|| usize::try_from(previous.value(i)).unwrap_or(0)),
                reason: reason.value(i).to_owned(),
            });
            self.row += 1;
        }
        Ok(Some((id, out)))
    }
}

/// Computes the features of `dates.as_of` and writes them to the analytics
/// directory; returns the rows written.
pub async fn compute(
    ctx: &SessionContext,
    analytics: &Path,
    config: &Config,
    dates: Dates,
    tiers: &TierFiles,
) -> Result<u64> {
    // The tier in force on the as-of date, joined from its file.
    let lowest = config
        .tiers
        .last()
        .map(|t| t.code.clone())
        .ok_or_else(|| AnalyticsError::Invalid("no tiers configured".into()))?;
    let _ = ctx.deregister_table("tier_now");
    ctx.register_parquet(
        "tier_now",
        tiers.now_path().display().to_string(),
        ParquetReadOptions::default().schema(&now_schema()),
    )
    .await?;
    // The customers' values from the last nightly run; none before the
    // first (no file: a scan of an empty one stalls a cluster's scheduler).
    let value_now = value_now_path(analytics);
    let _ = ctx.deregister_table("value_now");
    let (clv, value_join) = if value_now.exists() {
        ctx.register_parquet(
            "value_now",
            value_now.display().to_string(),
            ParquetReadOptions::default().schema(&value_schema()),
        )
        .await?;
        (
            "v.clv_minor",
            " LEFT JOIN value_now v ON v.customer_id = f.customer_id",
        )
    } else {
        ("CAST(NULL AS BIGINT)", "")
    };
    let sql = format!(
        "SELECT f.*, COALESCE(t.tier, '{lowest}') AS tier, COALESCE(t.tier_months, 0) AS tier_months, \
           {clv} AS clv \
         FROM ({}) f LEFT JOIN tier_now t ON t.customer_id = f.customer_id{value_join} ORDER BY f.customer_id",
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

fn value_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("clv_minor", DataType::Int64, false),
    ]))
}

/// Where the customers' values of the last nightly run are kept for the
/// next batch's `clv` feature.
pub fn value_now_path(analytics: &Path) -> PathBuf {
    analytics.join("value").join("now.parquet")
}

/// Keeps each customer's lifetime value (fen) for the next batch's `clv`
/// feature, replacing the last run's.
pub fn write_value_now(analytics: &Path, rows: &[(i64, i64)]) -> Result<u64> {
    let path = value_now_path(analytics);
    if rows.is_empty() {
        // Nobody valued: no file, so the next batch's `clv` is empty.
        return match std::fs::remove_file(&path) {
            Ok(()) => Ok(0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(AnalyticsError::Io { path, source }),
        };
    }
    let mut file = ParquetFile::create(&path, value_schema())?;
    for chunk in rows.chunks(CHUNK) {
        let batch = RecordBatch::try_new(
            value_schema(),
            vec![
                Arc::new(Int64Array::from_iter_values(chunk.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(chunk.iter().map(|r| r.1))),
            ],
        )?;
        file.write(&batch)?;
    }
    file.finish()
}

/// Every features row of `as_of` in `analytics`, each value as text, in
/// customer order: what two runs of the batch are compared by (on one
/// machine and on a cluster, within a memory budget and without).
pub async fn rows_as_text(analytics: &Path, as_of: NaiveDate) -> Result<Vec<Vec<Option<String>>>> {
    let ctx = SessionContext::new();
    crate::engine::register_features(&ctx, analytics, Some(as_of)).await?;
    let batches = ctx
        .table("features")
        .await?
        .sort(vec![
            datafusion::prelude::col("customer_id").sort(true, false),
        ])?
        .collect()
        .await?;
    let mut rows = Vec::new();
    for b in &batches {
        let cols = b
            .schema()
            .fields()
            .iter()
            .map(|f| text_values(b, f.name()))
            .collect::<Result<Vec<_>>>()?;
        rows.extend((0..b.num_rows()).map(|i| cols.iter().map(|c| c[i].clone()).collect()));
    }
    Ok(rows)
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
