//! The storage layer's error type.

use std::path::PathBuf;

/// `Result` with [`StoreError`] as the default error.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store location string is neither a path nor a supported URL.
    #[error(
        "'{0}' is not a store location: give a SQLite path (a directory or a .db file) or a postgres:// URL"
    )]
    Location(String),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to the store at {location}")]
    Connect {
        /// The location (without password).
        location: String,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },
    /// Migrating the schema failed.
    #[error("cannot migrate the store's schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("store query failed")]
    Query(#[from] sqlx::Error),
    /// A caller passed something the store will not run.
    #[error("{0}")]
    Invalid(String),
    /// What the caller named does not exist (a campaign, a model, an org unit).
    #[error("{0}")]
    NotFound(String),
    /// The data's state does not allow it (approving what is not a draft, a
    /// name already taken).
    #[error("{0}")]
    Conflict(String),
}
