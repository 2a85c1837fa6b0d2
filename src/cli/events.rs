//! `panorama events …`: the Kafka event feed — consume into the store,
//! publish event files, create the topic, and the feed's status and dead
//! letters.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Subcommand;
use panorama_analytics::config::Config;
use panorama_events::Applier;
use panorama_events::kafka::{self, ConsumeOptions};
use panorama_store::Store;

/// `panorama events …`.
#[derive(Debug, Subcommand)]
pub enum EventsAction {
    /// Apply the topic's events to the store as they arrive: transactions
    /// posted (checked by the key-transaction rules: alerts and RM tasks),
    /// SMS replies (T/TD/退订 → opt-out at once). Resumes after the last
    /// event applied; bad events go to the dead letters.
    Consume {
        /// Bootstrap brokers, comma-separated `host:port`.
        #[arg(long, env = "PANORAMA_KAFKA", value_delimiter = ',')]
        brokers: Vec<String>,
        /// Topic.
        #[arg(long, default_value = "panorama.events")]
        topic: String,
        /// Partitions to read, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        partitions: Vec<i32>,
        /// Stop after this many seconds without an event (default: run until stopped).
        #[arg(long)]
        until_idle: Option<u64>,
        /// Stop after this many records.
        #[arg(long)]
        max_records: Option<u64>,
        /// Most bytes read from a partition per fetch (each fetch is applied
        /// in one store transaction).
        #[arg(long, default_value_t = 4 << 20)]
        fetch_bytes: i32,
    },
    /// Publish a file of events (JSON lines, docs/EVENTS.md) to the topic,
    /// each to the partition of its account (or mobile).
    Publish {
        /// Bootstrap brokers, comma-separated `host:port`.
        #[arg(long, env = "PANORAMA_KAFKA", value_delimiter = ',')]
        brokers: Vec<String>,
        /// Topic.
        #[arg(long, default_value = "panorama.events")]
        topic: String,
        /// The events file.
        file: PathBuf,
        /// Events per produce request (one Kafka record batch).
        #[arg(long, default_value_t = 500)]
        chunk: usize,
    },
    /// Create the topic (unless it exists).
    CreateTopic {
        /// Bootstrap brokers, comma-separated `host:port`.
        #[arg(long, env = "PANORAMA_KAFKA", value_delimiter = ',')]
        brokers: Vec<String>,
        /// Topic.
        #[arg(long, default_value = "panorama.events")]
        topic: String,
        /// Partitions.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
    },
    /// What the feed applied, by event type, and the newest dead letters
    /// with their reasons.
    Status {
        /// Dead letters shown at most.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// The daily check of what no event announces: customers whose salary
    /// stopped arriving (an alert and a task for their RM, once per stop).
    /// The nightly batch runs it too.
    Tick {
        /// The day to check as of (default: today).
        #[arg(long)]
        on: Option<chrono::NaiveDate>,
    },
}

pub(crate) async fn events(
    action: EventsAction,
    store: &Store,
    config: &Config,
    analytics: &std::path::Path,
) -> Result<()> {
    match action {
        EventsAction::Consume {
            brokers,
            topic,
            partitions,
            until_idle,
            max_records,
            fetch_bytes,
        } => {
            if !(1024..=(256 << 20)).contains(&fetch_bytes) {
                anyhow::bail!("--fetch-bytes: 1024 to 268435456, not {fetch_bytes}");
            }
            let opts = ConsumeOptions {
                partitions,
                until_idle: until_idle.map(Duration::from_secs),
                max_records,
                max_bytes: fetch_bytes,
                ..ConsumeOptions::new(need(brokers)?, &topic)
            };
            let mut applier = Applier::new(config.monitoring.clone())
                .with_campaigns(analytics.to_path_buf(), config.clone());
            let report = kafka::consume(store, &mut applier, &opts, |r| {
                tracing::info!(
                    records = r.records,
                    applied = r.applied.applied,
                    alerts = r.applied.alerts,
                    dead_letters = r.applied.dead_letters,
                    "events applied"
                );
            })
            .await?;
            let a = &report.applied;
            println!(
                "events from {topic}: {} records in {:.1} s ({} rounds): {} applied, {} repeats skipped, {} dead letters",
                report.records, report.seconds, report.rounds, a.applied, a.repeats, a.dead_letters
            );
            println!(
                "  transactions posted {} (already known {}), alerts {} with {} RM tasks, opt-outs {}",
                a.transactions, a.known_transactions, a.alerts, a.tasks, a.opt_outs
            );
            println!(
                "  customer records resolved {} ({} linked to a customer, {} new customers, {} pairs for review)",
                a.records, a.records_linked, a.records_new, a.review_pairs
            );
            println!(
                "  accounts opened or changed {}, closed {}, monthly balances {}",
                a.accounts, a.closed, a.balances
            );
            println!(
                "  triggered campaigns: {} customers entered ({} held out as control), {} triggers that entered nobody",
                a.campaign_entries, a.campaign_control, a.campaign_skipped
            );
            for (why, n) in &a.campaign_skip_reasons {
                println!("    {n} {why}");
            }
            Ok(())
        }
        EventsAction::Tick { on } => {
            let on = on.unwrap_or_else(|| chrono::Local::now().date_naive());
            let t = panorama_events::tick::tick(store, &config.monitoring, on).await?;
            println!(
                "daily check as of {on}: salary stopped for {} customers; {} alerts raised now with {} RM tasks",
                t.salary_stopped, t.alerts, t.tasks
            );
            Ok(())
        }
        EventsAction::Publish {
            brokers,
            topic,
            file,
            chunk,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("read {}", file.display()))?;
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            let client = kafka::connect(&need(brokers)?).await?;
            let publisher = kafka::Publisher::new(&client, &topic).await?;
            let sent = publisher.send(&lines, chunk.clamp(1, 10_000)).await?;
            println!("published {sent} events to {topic}");
            Ok(())
        }
        EventsAction::CreateTopic {
            brokers,
            topic,
            partitions,
        } => {
            if !(1..=1024).contains(&partitions) {
                anyhow::bail!("--partitions: 1 to 1024, not {partitions}");
            }
            let client = kafka::connect(&need(brokers)?).await?;
            kafka::ensure_topic(&client, &topic, partitions).await?;
            let n = kafka::partitions_of(&client, &topic).await?.len();
            println!("topic {topic}: {n} partitions");
            Ok(())
        }
        EventsAction::Status { limit } => {
            let (applied, dead) = panorama_store::events::counts(store).await?;
            println!("events applied:");
            for (kind, n) in &applied {
                println!("  {kind}: {n}");
            }
            println!("dead letters: {dead}");
            for d in panorama_store::events::dead_letters(store, limit.max(1)).await? {
                println!(
                    "  {}/{}@{} {} — {}",
                    d.topic,
                    d.kafka_partition,
                    d.kafka_offset,
                    d.event_id.as_deref().unwrap_or("(no id)"),
                    d.reason
                );
            }
            Ok(())
        }
    }
}

fn need(brokers: Vec<String>) -> Result<Vec<String>> {
    if brokers.is_empty() {
        anyhow::bail!("--brokers (or PANORAMA_KAFKA): give the Kafka bootstrap brokers, host:port");
    }
    Ok(brokers)
}
