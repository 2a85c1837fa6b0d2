//! Panorama's storage layer: one API over the embedded store (SQLite in WAL
//! mode, in a data directory) and the server store (PostgreSQL).
//!
//! Both stores run the same numbered migrations (`migrations/sqlite` and its
//! PostgreSQL twin `migrations/postgres`) and are reached through sqlx's `Any`
//! driver, so one query string serves both. To keep that true, the schema
//! uses only types `Any` carries: `BIGINT`/`INTEGER` (i64), `DOUBLE
//! PRECISION`/`REAL` (f64), `TEXT` (dates as ISO-8601). Flags are 0/1
//! integers: `Any` cannot decode SQLite's `BOOLEAN`. Aggregates
//! that PostgreSQL widens to `NUMERIC` (e.g. `SUM(bigint)`) are cast back to
//! `BIGINT` in the query.

pub mod acrm;
pub mod appraisal;
pub mod assign;
pub mod audit;
mod bind;
mod bulk;
pub mod campaigns;
pub mod complaints;
pub mod dashboard;
pub mod ecif;
mod error;
pub mod events;
pub mod forecasts;
pub mod gateway;
pub mod incentives;
pub mod ingest;
mod location;
pub mod memory;
pub mod models;
pub mod names;
pub mod ocrm;
pub mod org;
pub mod pipeline;
pub mod products;
pub mod referrals;
pub mod sales;
pub mod scope;
pub mod snapshot;
pub mod surveys;
pub mod targets;
pub mod test_support;
pub mod values;

use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use bulk::{BulkInsert, BulkLoader, Value};
pub use error::{Result, StoreError};
pub use location::StoreLocation;
pub use sqlx::{Any, AnyConnection, Row, Transaction};

/// Which engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The server store.
    Postgres,
}

impl Backend {
    /// The most bind parameters one statement may carry (with headroom).
    pub fn max_params(self) -> usize {
        match self {
            Backend::Sqlite => 32_000,
            Backend::Postgres => 65_000,
        }
    }

    /// The `n`-th (1-based) positional placeholder in this dialect.
    ///
    /// SQLite gets anonymous `?`: sqlx looks up every numbered parameter's
    /// name, and SQLite finds a name by walking a list, so `?NNN` makes a
    /// many-row statement quadratic (85% of ingest time in a profile).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        }
    }
}

/// A connected, migrated store. Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    location: StoreLocation,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens (creating if needed) the store at `location` and brings its
    /// schema up to date.
    pub async fn open(location: &StoreLocation) -> Result<Store> {
        let store = Self::connect(location).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(location: &StoreLocation) -> Result<Store> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, options) = match location {
            StoreLocation::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let options = AnyPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(60))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // temp_store = FILE: a sort or temporary table larger
                            // than the page cache spills to a temporary file, so
                            // SQLite's memory stays bounded whatever the bank's size.
                            conn.execute(
                                "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; \
                                 PRAGMA cache_size = -65536; PRAGMA temp_store = FILE;",
                            )
                            .await?;
                            Ok(())
                        })
                    });
                (Backend::Sqlite, options)
            }
            StoreLocation::Postgres(_) => (
                Backend::Postgres,
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30)),
            ),
        };
        let url = location.url();
        let connect_options: AnyConnectOptions = url.parse().map_err(|e| StoreError::Connect {
            location: location.to_string(),
            source: e,
        })?;
        // Bulk loads run long statements by design; statement logging stays at debug.
        let connect_options = connect_options
            .log_slow_statements(tracing::log::LevelFilter::Off, Duration::from_secs(60))
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool =
            options
                .connect_with(connect_options)
                .await
                .map_err(|e| StoreError::Connect {
                    location: location.to_string(),
                    source: e,
                })?;
        Ok(Store {
            pool,
            backend,
            location: location.clone(),
        })
    }

    /// Applies pending migrations of this store's dialect.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?;
                // An index a migration adds to an analysed table has no
                // statistics yet, and SQLite's planner then passes it over
                // for an analysed one. (Empty tables never get statistics.)
                let analysed: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
                )
                .fetch_one(&self.pool)
                .await?;
                if analysed > 0 {
                    let unanalysed: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM sqlite_master m WHERE m.type = 'index' \
                         AND EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.tbl = m.tbl_name) \
                         AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.idx = m.name)",
                    )
                    .fetch_one(&self.pool)
                    .await?;
                    if unanalysed > 0 {
                        self.refresh_statistics().await?;
                    }
                }
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// Whether the store answers a query (health checks).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// The connection pool: every query of this crate runs on it.
    pub(crate) fn db(&self) -> &AnyPool {
        &self.pool
    }

    /// The connection pool, for tests that check what landed with SQL of
    /// their own (only with the `test-support` feature, which the crates
    /// turn on for their tests: outside this crate, nothing else runs SQL).
    #[cfg(feature = "test-support")]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection of the pool, for a caller that runs several of this
    /// crate's queries that take a connection (outside a transaction).
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where this store lives.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Refreshes the query planner's statistics after a bulk change (a
    /// batch, a resolution run), so customer lists pick their covering
    /// indexes. SQLite samples at most 1,000 rows per index (0.13 s at 1M
    /// customers); PostgreSQL's ANALYZE samples on its own.
    pub async fn refresh_statistics(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Sqlite => "PRAGMA analysis_limit = 1000; ANALYZE;",
            Backend::Postgres => "ANALYZE",
        };
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Copies SQLite's write-ahead log into the database without waiting on
    /// readers or writers (a passive checkpoint). A server calls this on a
    /// timer, so the automatic checkpoint (every 1,000 pages, run by
    /// whichever commit crosses it, 100 ms and more on a large store) stays
    /// off its requests. PostgreSQL checkpoints on its own: a no-op there.
    pub async fn checkpoint_passive(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Starts a transaction: everything done through it lands together or not at all.
    pub async fn begin(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.pool.begin().await?)
    }

    /// Number of rows in `table` (a fixed identifier from this crate's schema,
    /// never user input).
    pub async fn count(&self, table: &str) -> Result<i64> {
        if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(StoreError::Invalid(format!("not a table name: {table}")));
        }
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(&sql).fetch_one(&self.pool).await?;
        Ok(n)
    }

    /// After a large write (an ingest), folds SQLite's write-ahead log back
    /// into the database and truncates it, so later readers do not search a
    /// log of gigabytes. A no-op on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time as the store records it: ISO-8601 UTC to the second.
pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A fingerprint of the PostgreSQL migrations (names and checksums), so a
/// migrated template database is rebuilt when they change.
pub fn migration_fingerprint() -> u64 {
    let migrator = sqlx::migrate!("./migrations/postgres");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in migrator.iter() {
        for b in m.version.to_le_bytes().iter().chain(m.checksum.iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
