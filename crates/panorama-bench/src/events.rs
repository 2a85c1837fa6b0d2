//! `panorama bench events`: the event feed's throughput and latency against
//! the store given, through a real broker. Two phases on fresh topics:
//!
//! 1. **drain** — N events published first, then consumed: the most events
//!    per second the consumer applies (parse, dedupe, post, rules, alerts,
//!    position, commit);
//! 2. **paced** — events published at a steady offered rate while the
//!    consumer runs: the end-to-end latency (producer's timestamp → the
//!    commit that made the event's effects durable), p50/p90/p99/max.
//!
//! The events post real transactions (`txn_ref` `BENCH-<run>-…`) to accounts
//! sampled across the store, 1 in 100 a large transfer to another bank and 1
//! in 100 a large credit, so the rules raise alerts and tasks as they would:
//! run it on a copy of a store, not on one in use.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use panorama_analytics::config::MonitorConfig;
use panorama_events::Applier;
use panorama_events::kafka::{self, ConsumeOptions, Publisher};
use panorama_store::Store;
use panorama_store::memory::{peak_rss_mb, reset_peak};

/// The benchmark's settings.
#[derive(Debug, Clone)]
pub struct EventsBench {
    /// Bootstrap brokers.
    pub brokers: Vec<String>,
    /// Events in each phase.
    pub events: u64,
    /// Offered rate of the paced phase, events per second.
    pub rate: u64,
    /// Partitions of the bench topics.
    pub partitions: i32,
}

/// Runs both phases and prints the figures.
pub async fn run(store: &Store, cfg: &MonitorConfig, b: &EventsBench) -> Result<()> {
    let accounts = panorama_store::events::sample_accounts(store, 20_000).await?;
    if accounts.is_empty() {
        anyhow::bail!("the store has no active accounts of resolved customers to post to");
    }
    let run = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let client = kafka::connect(&b.brokers).await?;
    say!(
        "event feed: {} events per phase, {} accounts sampled, {} partitions, run {run}",
        b.events,
        accounts.len(),
        b.partitions
    );

    // Phase 1: drain a backlog.
    let topic = format!("panorama.bench.{run}.drain");
    kafka::ensure_topic(&client, &topic, b.partitions).await?;
    let publisher = Publisher::new(&client, &topic).await?;
    let lines = events(&run, "d", b.events, &accounts);
    let started = Instant::now();
    for chunk in lines.chunks(5_000) {
        publisher.send(chunk, 500).await?;
    }
    let published = started.elapsed();
    say!(
        "  published {} events in {:.2} s ({:.0}/s)",
        lines.len(),
        published.as_secs_f64(),
        lines.len() as f64 / published.as_secs_f64()
    );
    reset_peak();
    let opts = ConsumeOptions {
        max_records: Some(b.events),
        until_idle: Some(Duration::from_secs(10)),
        ..ConsumeOptions::new(b.brokers.clone(), &topic)
    };
    let report = kafka::consume(store, &mut Applier::new(cfg.clone()), &opts, |_| {}).await?;
    let a = &report.applied;
    check(report.records, b.events, "drain")?;
    say!(
        "  drain: {} events applied in {:.2} s = {:.0} events/s ({} rounds; {} alerts, {} RM tasks, {} dead letters); peak {:.0} MB",
        a.applied,
        report.seconds,
        a.applied as f64 / report.seconds,
        report.rounds,
        a.alerts,
        a.tasks,
        a.dead_letters,
        peak_rss_mb()
    );

    // Phase 2: paced.
    let topic = format!("panorama.bench.{run}.paced");
    kafka::ensure_topic(&client, &topic, b.partitions).await?;
    let publisher = Publisher::new(&client, &topic).await?;
    let lines = events(&run, "p", b.events, &accounts);
    let tick = Duration::from_millis(20);
    let per_tick = (b.rate as usize / 50).max(1);
    let producer = tokio::spawn(async move {
        let start = Instant::now();
        for (k, chunk) in lines.chunks(per_tick).enumerate() {
            let due = start + tick * k as u32;
            tokio::time::sleep_until(due.into()).await;
            publisher.send(chunk, per_tick).await?;
        }
        Ok::<_, panorama_events::EventsError>(start.elapsed())
    });
    let opts = ConsumeOptions {
        max_records: Some(b.events),
        until_idle: Some(Duration::from_secs(10)),
        max_wait: Duration::from_millis(50),
        ..ConsumeOptions::new(b.brokers.clone(), &topic)
    };
    reset_peak();
    let report = kafka::consume(store, &mut Applier::new(cfg.clone()), &opts, |_| {}).await?;
    let offered_for = producer.await.context("the producer task")??;
    check(report.records, b.events, "paced")?;
    let mut lat = report.applied.latencies_ms.clone();
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize];
    say!(
        "  paced at {} events/s offered ({:.0}/s published over {:.1} s): {} applied in {:.2} s; latency ms p50 {} p90 {} p99 {} max {}; peak {:.0} MB",
        b.rate,
        b.events as f64 / offered_for.as_secs_f64(),
        offered_for.as_secs_f64(),
        report.applied.applied,
        report.seconds,
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0),
        peak_rss_mb()
    );
    Ok(())
}

/// Stops the run, loudly, when a phase did not apply what it published.
fn check(records: u64, want: u64, phase: &str) -> Result<()> {
    if records != want {
        anyhow::bail!("{phase}: {records} records consumed of {want} published");
    }
    Ok(())
}

/// `n` posted-transaction events over `accounts`, deterministic for the run.
fn events(run: &str, phase: &str, n: u64, accounts: &[(String, String)]) -> Vec<String> {
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S").to_string();
    (0..n)
        .map(|i| {
            let (system, account) = &accounts[(i as usize * 7919) % accounts.len()];
            let (amount, direction, bank) = match i % 100 {
                0 => (80_000_000, "D", r#","counterparty_bank":"102100099996""#),
                1 => (30_000_000, "C", ""),
                k => (100 + k as i64 * 1_337, if k % 3 == 0 { "C" } else { "D" }, ""),
            };
            let channel = ["mobile", "online", "pos", "atm", "counter"][(i % 5) as usize];
            format!(
                r#"{{"event_id":"bench-{run}-{phase}{i}","type":"txn_posted","source":"{system}","data":{{"account_no":"{account}","txn_ref":"BENCH-{run}-{phase}{i}","booked_at":"{now}","amount_minor":{amount},"direction":"{direction}","channel":"{channel}","counterparty_name":"压测对手方"{bank},"balance_after_minor":5000000}}}}"#
            )
        })
        .collect()
}
