//! The distributed engine's commands (built with `--features distributed`):
//! a Ballista scheduler, an executor, and a batch session on them.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use panorama_analytics::engine::SessionContext;
use panorama_cluster::{ExecutorOptions, SchedulerOptions};

/// Runs a scheduler until stopped.
pub async fn scheduler(bind: SocketAddr, external_host: Option<String>) -> Result<()> {
    say!("scheduler listening on {bind} (sessions: `panorama batch --cluster {bind}`)");
    panorama_cluster::run_scheduler(&SchedulerOptions {
        bind,
        external_host,
    })
    .await
    .with_context(|| format!("the scheduler on {bind} stopped"))
}

/// Runs an executor until stopped.
pub async fn executor(options: ExecutorOptions) -> Result<()> {
    say!(
        "executor on {}:{} (flight) and :{} (gRPC), registering with the scheduler at {}{}",
        options.bind_host,
        options.flight_port,
        options.grpc_port,
        options.scheduler,
        options
            .memory_bytes
            .map(|b| format!(", its tasks within {} MB", b >> 20))
            .unwrap_or_default()
    );
    let scheduler = options.scheduler;
    panorama_cluster::run_executor(&options)
        .await
        .with_context(|| format!("the executor of the scheduler at {scheduler} stopped"))
}

/// A session whose queries run on the scheduler's cluster at `addr`.
pub async fn session(addr: &str) -> Result<SessionContext> {
    tracing::info!("batch queries on the Ballista cluster at {addr}");
    Ok(panorama_cluster::session(addr).await?)
}
