//! What an OCRM use-case refuses, and why; the web maps each kind to its
//! HTTP status.

use panorama_store::StoreError;

/// Why an OCRM use-case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OcrmError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What was named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The data's state does not allow it (approving what is not a draft).
    #[error("{0}")]
    Conflict(String),
    /// Allowed in general, but not to this person (approving one's own work).
    #[error("{0}")]
    Refused(String),
    /// The input breaks a rule (an unknown category).
    #[error("{0}")]
    Invalid(String),
}
