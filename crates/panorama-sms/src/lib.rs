//! The SMS channel closing its loop.
//!
//! - `api`: the gateway's HTTP API (docs/SMS.md), both sides' JSON;
//! - `connector`: the bank's side — the outbox sent at a paced rate within
//!   quiet hours, rest-day do-not-disturb and fresh opt-outs; answers and
//!   delivery receipts recorded per message; replies read back, 退订 an
//!   opt-out at once;
//! - `gateway`: a local gateway speaking the same API, for trials and tests.

pub mod api;
pub mod connector;
pub mod gateway;

/// What can go wrong sending or reading.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] panorama_store::StoreError),
    /// The campaign side refused (a bad channel, …).
    #[error(transparent)]
    Campaign(#[from] panorama_analytics::AnalyticsError),
    /// The gateway could not be reached or answered wrongly.
    #[error("SMS gateway: {0}")]
    Gateway(String),
    /// Nothing was sent, and why (quiet hours, a bad setting).
    #[error("{0}")]
    Refused(String),
}

impl From<sqlx::Error> for SmsError {
    fn from(e: sqlx::Error) -> Self {
        SmsError::Store(e.into())
    }
}

/// Result of the SMS channel.
pub type Result<T> = std::result::Result<T, SmsError>;
