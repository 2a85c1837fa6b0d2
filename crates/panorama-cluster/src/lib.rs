//! Distributed execution of the analytics batch on an Apache DataFusion
//! Ballista cluster.
//!
//! A cluster is one scheduler and any number of executors, each a
//! `panorama` process (`panorama scheduler`, `panorama executor`). The batch
//! plans its SQL as it does on one machine and hands the plan to the
//! scheduler ([`session`]); the executors read the Parquet snapshot from the
//! directory they share with the batch (the same path on every machine: a
//! shared file system), run the stages, exchange shuffle files among
//! themselves, and the batch fetches the results.
//!
//! This crate only starts the processes and opens sessions on them: what
//! runs is the analytics crate's, unchanged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use datafusion::prelude::SessionContext;

/// What can go wrong starting or reaching a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Ballista refused the configuration or a process stopped.
    #[error("ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    /// The scheduler could not be reached or refused the session.
    #[error("cannot open a session on the scheduler at {url}: {source}")]
    Session {
        /// The scheduler's address as given.
        url: String,
        /// Why.
        source: datafusion::error::DataFusionError,
    },
    /// An option was out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ClusterError>;

/// How a scheduler is started.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// Address its gRPC service listens on (executors and sessions connect here).
    pub bind: SocketAddr,
    /// Host name executors and clients are told to reach it by (default: the bind address's IP).
    pub external_host: Option<String>,
}

/// Runs a scheduler until the process is stopped: keeps the cluster's
/// state (executors, jobs, stages) in memory.
pub async fn run_scheduler(options: &SchedulerOptions) -> Result<()> {
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options
            .external_host
            .clone()
            .unwrap_or_else(|| options.bind.ip().to_string()),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config).await?;
    ballista_scheduler::scheduler_process::start_server(cluster, options.bind, Arc::new(config))
        .await?;
    Ok(())
}

/// How an executor is started.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler it registers with.
    pub scheduler: SocketAddr,
    /// Host it binds (and is reached at by the other executors and the client).
    pub bind_host: String,
    /// Port of its Arrow Flight service (shuffle and result fetches).
    pub flight_port: u16,
    /// Port of its gRPC service (the scheduler's calls).
    pub grpc_port: u16,
    /// Where its shuffle files go (default: a new temporary directory).
    pub work_dir: Option<PathBuf>,
    /// Tasks it runs at once (default: one per core).
    pub concurrency: Option<usize>,
    /// Bytes its tasks may hold between them; beyond it they spill (default: a share of the machine's memory).
    pub memory_bytes: Option<u64>,
}

/// Runs an executor until the process is stopped: registers with the
/// scheduler, pulls tasks, serves its shuffle output to the others.
pub async fn run_executor(options: &ExecutorOptions) -> Result<()> {
    if options.concurrency == Some(0) {
        return Err(ClusterError::Invalid(
            "an executor runs at least one task at a time".into(),
        ));
    }
    let mut config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host.clone()),
        port: options.flight_port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler.ip().to_string(),
        scheduler_port: options.scheduler.port(),
        // Wait for a scheduler started at the same moment.
        scheduler_connect_timeout_seconds: 30,
        work_dir: options.work_dir.as_ref().map(|d| d.display().to_string()),
        memory_pool_size: options.memory_bytes,
        print_thread_info: false,
        ..ExecutorProcessConfig::default()
    };
    if let Some(n) = options.concurrency {
        config.vcores = n;
    }
    config.override_function_registry = Some(Arc::new(function_registry()));
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}

/// The functions an executor can run: Ballista's defaults (DataFusion's
/// core scalar, aggregate and window functions) and the array functions the
/// feature SQL uses (`array_to_string(array_sort(…))` of held products), which
/// Ballista leaves out.
pub fn function_registry() -> BallistaFunctionRegistry {
    let mut registry = BallistaFunctionRegistry::default();
    for f in datafusion::functions_nested::all_default_nested_functions() {
        registry.scalar_functions.insert(f.name().to_owned(), f);
    }
    registry
}

/// The URL of a scheduler at `addr`, as sessions name it.
pub fn scheduler_url(addr: &str) -> String {
    if addr.starts_with("df://") {
        addr.to_owned()
    } else {
        format!("df://{addr}")
    }
}

/// A session whose queries run on the cluster of the scheduler at `addr`
/// (`host:port` or `df://host:port`): tables registered on it are read by
/// the executors from the same paths.
pub async fn session(addr: &str) -> Result<SessionContext> {
    let url = scheduler_url(addr);
    SessionContext::remote(&url)
        .await
        .map_err(|source| ClusterError::Session { url, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduler_address_becomes_its_url_once() {
        assert_eq!(scheduler_url("127.0.0.1:50050"), "df://127.0.0.1:50050");
        assert_eq!(scheduler_url("df://h:1"), "df://h:1");
    }

    #[test]
    fn executors_know_the_array_functions_of_the_feature_sql() {
        let registry = function_registry();
        for name in [
            "array_to_string",
            "array_sort",
            "array_agg",
            "chr",
            "row_number",
        ] {
            let known = registry.scalar_functions.contains_key(name)
                || registry.aggregate_functions.contains_key(name)
                || registry.window_functions.contains_key(name);
            assert!(known, "{name}");
        }
    }

    #[tokio::test]
    async fn an_executor_refuses_zero_tasks_at_a_time() {
        let options = ExecutorOptions {
            scheduler: "127.0.0.1:1".parse().expect("address"),
            bind_host: "127.0.0.1".into(),
            flight_port: 0,
            grpc_port: 0,
            work_dir: None,
            concurrency: Some(0),
            memory_bytes: None,
        };
        let err = run_executor(&options).await.expect_err("refused");
        assert!(err.to_string().contains("at least one task"), "{err}");
    }
}
