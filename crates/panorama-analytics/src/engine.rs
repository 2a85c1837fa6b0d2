//! The embedded analytics engine: a DataFusion session over the Parquet
//! snapshot and the feature tables of an analytics directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
/// A session of the engine: this machine's ([`session`]) or a cluster's.
pub use datafusion::prelude::SessionContext;
use datafusion::prelude::{ParquetReadOptions, SessionConfig};

use crate::error::{AnalyticsError, Result};
use crate::snapshot::snapshot_dir;

/// The schema of each snapshot table (explicit, so an empty directory
/// still registers).
pub fn snapshot_schema(table: &str) -> Option<SchemaRef> {
    use DataType::{Date32, Int64, Utf8};
    let fields: Vec<(&str, DataType)> = match table {
        "customer" => vec![
            ("customer_id", Int64),
            ("customer_no", Utf8),
            ("party_type", Utf8),
            ("gender", Utf8),
            ("birth_date", Date32),
            ("industry", Utf8),
            ("home_branch", Utf8),
            ("household_id", Int64),
            ("created_on", Date32),
        ],
        "account" => vec![
            ("account_id", Int64),
            ("customer_id", Int64),
            ("product_code", Utf8),
            ("class", Utf8),
            ("branch_code", Utf8),
            ("opened_on", Date32),
            ("matures_on", Date32),
            ("closed_on", Date32),
            ("status", Utf8),
            ("rate_bp", Int64),
            ("credit_limit_minor", Int64),
        ],
        "product" => vec![
            ("product_code", Utf8),
            ("name", Utf8),
            ("name_en", Utf8),
            ("class", Utf8),
            ("term_months", Int64),
            ("rate_bp", Int64),
        ],
        "relationship" => vec![
            ("from_customer_id", Int64),
            ("to_customer_id", Int64),
            ("kind", Utf8),
        ],
        "balance" => vec![
            ("account_id", Int64),
            ("month", Date32),
            ("avg_balance_minor", Int64),
            ("end_balance_minor", Int64),
        ],
        "txn" => vec![
            ("account_id", Int64),
            ("booked_at", DataType::Timestamp(TimeUnit::Second, None)),
            ("booked_on", Date32),
            ("amount_minor", Int64),
            ("direction", Utf8),
            ("channel", Utf8),
            ("mcc", Utf8),
        ],
        _ => return None,
    };
    Some(Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    )))
}

/// The snapshot tables.
pub const SNAPSHOT_TABLES: &[&str] = &[
    "customer",
    "account",
    "product",
    "relationship",
    "balance",
    "txn",
];

/// What the engine's queries may hold in memory, and where they spill.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Bytes the engine's operators may hold (sorts, aggregations, joins),
    /// first come first served (a fair share per operator starved the
    /// feature query's sorts: it has a hundred operators that may spill);
    /// beyond it, sorts, aggregations and sort-merge joins spill to disk and
    /// anything that cannot spill fails naming the largest holders. The
    /// batch needs about 8 MB at least (one sorted batch of features).
    /// `None`: unbounded.
    pub memory_bytes: Option<usize>,
    /// Where spill files go (default: the system's temporary directory).
    pub spill_dir: Option<PathBuf>,
}

/// The runtime every session of this process shares once limits are set:
/// one memory pool, so concurrent queries share the budget.
/// With the budget in bytes.
type Budgeted = (Arc<datafusion::execution::runtime_env::RuntimeEnv>, usize);
static RUNTIME: std::sync::RwLock<Option<Budgeted>> = std::sync::RwLock::new(None);

/// Sets the limits of every session made after it in this process (the
/// CLI's `--memory-budget`): a budget belongs to the process, like its
/// memory. Fails if the spill directory cannot be made.
pub fn set_limits(limits: &Limits) -> Result<()> {
    use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
    use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    let runtime = match limits.memory_bytes {
        None => None,
        Some(bytes) => {
            let mode = match &limits.spill_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir).map_err(|source| AnalyticsError::Io {
                        path: dir.clone(),
                        source,
                    })?;
                    DiskManagerMode::Directories(vec![dir.clone()])
                }
                None => DiskManagerMode::OsTmpDirectory,
            };
            Some((
                RuntimeEnvBuilder::new()
                    // An exhausted budget names its five largest holders.
                    .with_memory_pool(Arc::new(TrackConsumersPool::new(
                        GreedyMemoryPool::new(bytes),
                        std::num::NonZeroUsize::MIN.saturating_add(4),
                    )))
                    .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(mode))
                    .build_arc()?,
                bytes,
            ))
        }
    };
    if let Ok(mut r) = RUNTIME.write() {
        *r = runtime;
    }
    Ok(())
}

/// Whether sessions run within a memory budget.
pub fn budgeted() -> bool {
    RUNTIME.read().is_ok_and(|r| r.is_some())
}

/// A new session (default parallelism: one partition per core), within the
/// process's limits ([`set_limits`]).
pub fn session() -> SessionContext {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_batch_size(8192);
    match RUNTIME.read().ok().and_then(|r| r.clone()) {
        None => SessionContext::new_with_config(config),
        Some((runtime, bytes)) => {
            let options = config.options_mut();
            // Within a budget, joins that can spill (sort-merge) rather than
            // the hash join, whose build side must fit whole.
            options.optimizer.prefer_hash_join = false;
            // What a sort keeps back for merging its spill files (10 MB by
            // default): a share of the budget, so a small one still sorts.
            options.execution.sort_spill_reservation_bytes = (bytes / 32).clamp(64 << 10, 10 << 20);
            SessionContext::new_with_config_rt(config, runtime)
        }
    }
}

/// A session with the snapshot tables of `analytics` registered.
pub async fn snapshot_session(analytics: &Path) -> Result<SessionContext> {
    let ctx = session();
    register_snapshot(&ctx, analytics).await?;
    Ok(ctx)
}

/// Registers the snapshot tables of `analytics` on `ctx`.
pub async fn register_snapshot(ctx: &SessionContext, analytics: &Path) -> Result<()> {
    let dir = snapshot_dir(analytics);
    if !dir.join("customer.parquet").exists() {
        return Err(AnalyticsError::Invalid(format!(
            "no analytics snapshot in {}: run `panorama batch` first",
            analytics.display()
        )));
    }
    for table in SNAPSHOT_TABLES {
        let path = match *table {
            "balance" | "txn" => format!("{}/", dir.join(table).display()),
            _ => dir.join(format!("{table}.parquet")).display().to_string(),
        };
        let schema = snapshot_schema(table)
            .ok_or_else(|| AnalyticsError::Invalid(format!("no schema for {table}")))?;
        let options = ParquetReadOptions::default().schema(&schema);
        ctx.register_parquet(*table, &path, options).await?;
    }
    Ok(())
}

/// Where the features of `as_of` live.
pub fn features_path(analytics: &Path, as_of: NaiveDate) -> PathBuf {
    analytics
        .join("features")
        .join(format!("as_of={}", as_of.format("%Y-%m-%d")))
        .join("features.parquet")
}

/// The as-of dates with features, ascending.
pub fn feature_dates(analytics: &Path) -> Vec<NaiveDate> {
    let mut out: Vec<NaiveDate> = std::fs::read_dir(analytics.join("features"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let date = NaiveDate::parse_from_str(name.strip_prefix("as_of=")?, "%Y-%m-%d").ok()?;
            e.path().join("features.parquet").exists().then_some(date)
        })
        .collect();
    out.sort_unstable();
    out
}

/// The features of `as_of`, or of the latest date when `None`.
pub fn resolve_features(
    analytics: &Path,
    as_of: Option<NaiveDate>,
) -> Result<(NaiveDate, PathBuf)> {
    let dates = feature_dates(analytics);
    let date = match as_of {
        Some(d) if dates.contains(&d) => d,
        Some(d) => {
            return Err(AnalyticsError::Invalid(format!(
                "no features for {d}; computed: {}",
                if dates.is_empty() {
                    "none (run `panorama batch`)".to_owned()
                } else {
                    dates
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        None => *dates.last().ok_or_else(|| {
            AnalyticsError::Invalid(format!(
                "no features in {}: run `panorama batch` first",
                analytics.display()
            ))
        })?,
    };
    Ok((date, features_path(analytics, date)))
}

/// Registers the features of `as_of` (latest when `None`) as table `features`.
pub async fn register_features(
    ctx: &SessionContext,
    analytics: &Path,
    as_of: Option<NaiveDate>,
) -> Result<NaiveDate> {
    let (date, path) = resolve_features(analytics, as_of)?;
    ctx.register_parquet(
        "features",
        &path.display().to_string(),
        ParquetReadOptions::default(),
    )
    .await?;
    Ok(date)
}

/// Registers in-memory batches as a table.
pub fn register_batches(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<()> {
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
