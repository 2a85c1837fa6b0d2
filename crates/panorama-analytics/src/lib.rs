//! ACRM analytics: what the bank knows about each customer.
//!
//! The batch copies the operational store into a Parquet snapshot
//! ([`snapshot`]), computes features for an as-of date with one SQL
//! statement on DataFusion ([`features_sql`], [`features`]), replays the
//! value-tier rules ([`tiers`]), and refreshes saved segments
//! ([`segment`]). Each stage reads and writes columnar tables, so the same
//! plans can move to a distributed engine.

pub mod alerts;
pub mod batch;
pub mod catalogue;
pub mod cluster;
pub mod config;
pub mod engine;
mod error;
pub mod features;
pub mod features_sql;
pub use panorama_store::memory;
pub mod pareto;
pub mod saved_segments;
pub mod segment;
pub mod snapshot;
pub mod sql;
pub mod tiers;

pub use config::Config;
pub use error::{AnalyticsError, Result};
