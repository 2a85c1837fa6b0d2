//! Errors of the analytics stages.

use std::path::PathBuf;

/// A segment condition that does not parse or does not type-check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition: {0}")]
pub struct ConditionError(pub String);

/// What can go wrong in the analytics stages.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is invalid.
    #[error("configuration {origin}: {message}")]
    Config {
        /// File name or origin.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The operational store failed.
    #[error(transparent)]
    Store(#[from] panorama_store::StoreError),
    /// A store query failed.
    #[error("store query: {0}")]
    Sql(#[from] sqlx::Error),
    /// The analytics engine failed.
    #[error("analytics engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// Parquet failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A segment condition does not parse or does not type-check.
    #[error("{0}")]
    Condition(#[from] ConditionError),
    /// The request cannot be served (missing data, bad argument).
    #[error("{0}")]
    Invalid(String),
}

/// Result of the analytics stages.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
