//! Events as they happen: customers' transactions and replies arriving on a
//! Kafka topic are applied to the store within moments, and the
//! key-transaction rules raise alerts and RM tasks as they arrive.
//!
//! - `schema`: the event JSON (docs/EVENTS.md), parsed and checked;
//! - `rules`: key-transaction monitoring, pure;
//! - `apply`: a partition's records applied in one transaction with the
//!   partition's position (exactly-once effects; repeats skipped by event
//!   id; bad records kept as dead letters; triggered campaigns entered);
//! - `kafka`: the consumer loop and a publisher;
//! - `tick`: the daily check of what no event announces (a salary that stopped).

pub mod apply;
pub mod error;
pub mod kafka;
pub mod rules;
pub mod schema;
pub mod tick;

pub use apply::Applier;
pub use error::{EventsError, Result};
