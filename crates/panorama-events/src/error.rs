//! Errors of the event feed.

use thiserror::Error;

/// What can stop the feed (a bad event never does: it becomes a dead letter).
#[derive(Debug, Error)]
pub enum EventsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] panorama_store::StoreError),
    /// The broker could not be reached or refused a request.
    #[error("Kafka: {0}")]
    Kafka(String),
    /// Landing a customer record failed (not a refusal of the record: those
    /// are dead letters).
    #[error("landing a customer record: {0}")]
    Ingest(String),
    /// A triggered campaign could not be read or worked out.
    #[error("triggered campaign: {0}")]
    Campaign(String),
}

impl From<sqlx::Error> for EventsError {
    fn from(e: sqlx::Error) -> Self {
        EventsError::Store(e.into())
    }
}

/// Result of the event feed.
pub type Result<T> = std::result::Result<T, EventsError>;
