//! ECIF — one customer, one record.
//!
//! Identity resolution as plain data-in/data-out stages:
//! [`standardise`] → block → [`compare`] → score (Fellegi–Sunter, with m and
//! u learned without labels) → cluster → survive → household. The
//! [`engine`] runs on any CSV described by a [`schema::Schema`] (the
//! `panorama match` command); [`store::run_resolve`] runs the
//! resolution over the store, and [`store::decide`] and [`store::unmerge`] are
//! the steward's actions, used by the CLI and the web API alike.

pub mod compare;
pub mod engine;
pub mod input;
pub mod online;
pub mod resolve;
pub mod schema;
pub mod standardise;
pub mod store;

use std::path::PathBuf;

pub use engine::{
    Dataset, Limits, Outcome, Report, levels_oracle_f1, pairwise_scores, run, run_focused,
};
pub use schema::Schema;

/// What can go wrong in ECIF.
#[derive(Debug, thiserror::Error)]
pub enum EcifError {
    /// The schema is unreadable or inconsistent.
    #[error("schema: {0}")]
    Schema(String),
    /// An input file is unusable (no header, missing columns, duplicate ids, malformed rows).
    #[error("{}: {reason}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The run would exceed a limit (a blocking rule over the pair budget);
    /// nothing was compared.
    #[error("refused: {0}")]
    Refused(String),
    /// The learned model or its result failed a guard check; nothing was written.
    #[error("the run failed its checks, nothing was written: {}", failed.join("; "))]
    Guard {
        /// The failed checks.
        failed: Vec<String>,
        /// What the run had learned when it stopped.
        report: Box<engine::Report>,
    },
    /// An I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}
