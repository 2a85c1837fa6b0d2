//! The Kafka side: a consumer that reads each partition from the position
//! kept in the store and applies what it reads (`apply`), and a publisher of
//! event files (JSON lines) for tests, demos and the benchmark.
//!
//! The client is rskafka (pure Rust). It keeps no consumer-group offsets;
//! Panorama keeps them itself, in the store, in the same transaction as the
//! events' effects — so a crash or restart of either side applies every
//! event exactly once. Partitions are read by one consumer process (scale
//! out by giving processes disjoint `--partitions`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use panorama_store::Store;
use rskafka::BackoffConfig;
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record as KafkaRecord;

use crate::apply::{Applied, Applier, Record, apply_records};
use crate::error::{EventsError, Result};

/// Where and what to consume.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// Bootstrap brokers, `host:port`.
    pub brokers: Vec<String>,
    /// Topic.
    pub topic: String,
    /// Partitions to read (all of the topic's when empty).
    pub partitions: Vec<i32>,
    /// Stop after this long without a record (run until stopped when `None`).
    pub until_idle: Option<Duration>,
    /// Stop after applying this many records (for tests and measurements).
    pub max_records: Option<u64>,
    /// How long a fetch waits for records before returning empty.
    pub max_wait: Duration,
    /// Most bytes fetched per partition per request.
    pub max_bytes: i32,
}

impl ConsumeOptions {
    /// Options for `topic` on `brokers` with the defaults: all partitions,
    /// run until stopped, 200 ms fetch wait, 4 MB fetches.
    pub fn new(brokers: Vec<String>, topic: &str) -> Self {
        ConsumeOptions {
            brokers,
            topic: topic.to_owned(),
            partitions: Vec::new(),
            until_idle: None,
            max_records: None,
            max_wait: Duration::from_millis(200),
            max_bytes: 4 << 20,
        }
    }
}

/// Connects to the brokers, retrying with a backoff of at most 2 s (a
/// broker restarting is waited for, not an error).
pub async fn connect(brokers: &[String]) -> Result<Client> {
    ClientBuilder::new(brokers.to_vec())
        .client_id("panorama")
        .backoff_config(BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
            deadline: None,
        })
        .build()
        .await
        .map_err(|e| EventsError::Kafka(format!("connect to {}: {e}", brokers.join(","))))
}

/// The partitions of `topic`.
pub async fn partitions_of(client: &Client, topic: &str) -> Result<Vec<i32>> {
    let topics = client
        .list_topics()
        .await
        .map_err(|e| EventsError::Kafka(format!("list topics: {e}")))?;
    topics
        .into_iter()
        .find(|t| t.name == topic)
        .map(|t| t.partitions.into_iter().collect())
        .ok_or_else(|| EventsError::Kafka(format!("topic '{topic}' does not exist")))
}

/// Creates `topic` with `partitions` partitions unless it exists.
pub async fn ensure_topic(client: &Client, topic: &str, partitions: i32) -> Result<()> {
    if partitions_of(client, topic).await.is_ok() {
        return Ok(());
    }
    let controller = client
        .controller_client()
        .map_err(|e| EventsError::Kafka(format!("controller: {e}")))?;
    controller
        .create_topic(topic, partitions, 1, 5_000)
        .await
        .map_err(|e| EventsError::Kafka(format!("create topic '{topic}': {e}")))
}

async fn partition_client(client: &Client, topic: &str, partition: i32) -> Result<PartitionClient> {
    client
        .partition_client(topic.to_owned(), partition, UnknownTopicHandling::Retry)
        .await
        .map_err(|e| EventsError::Kafka(format!("{topic}/{partition}: {e}")))
}

/// What a consumer run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ConsumeReport {
    /// Records read (each applied, repeated or dead-lettered).
    pub records: u64,
    /// What applying them did.
    pub applied: Applied,
    /// Fetch-and-apply rounds (one store transaction each).
    pub rounds: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Consumes `opts.topic` into the store until a stop condition holds,
/// calling `progress` after each applied round.
pub async fn consume(
    store: &Store,
    applier: &mut Applier,
    opts: &ConsumeOptions,
    mut progress: impl FnMut(&ConsumeReport),
) -> Result<ConsumeReport> {
    let started = Instant::now();
    let client = connect(&opts.brokers).await?;
    let partitions = if opts.partitions.is_empty() {
        partitions_of(&client, &opts.topic).await?
    } else {
        opts.partitions.clone()
    };
    let mut readers = Vec::with_capacity(partitions.len());
    for p in partitions {
        let pc = partition_client(&client, &opts.topic, p).await?;
        let next = match panorama_store::events::next_offset(store, &opts.topic, p).await? {
            Some(n) => n,
            None => pc.get_offset(OffsetAt::Earliest).await.map_err(|e| {
                EventsError::Kafka(format!("{}/{p}: earliest offset: {e}", opts.topic))
            })?,
        };
        readers.push((p, pc, next));
    }
    let mut report = ConsumeReport::default();
    let mut last_record = Instant::now();
    loop {
        let mut got = false;
        for (partition, pc, next) in &mut readers {
            let (fetched, _high) = pc
                .fetch_records(*next, 1..opts.max_bytes, opts.max_wait.as_millis() as i32)
                .await
                .map_err(|e| {
                    EventsError::Kafka(format!("{}/{partition} at {next}: {e}", opts.topic))
                })?;
            let records: Vec<Record> = fetched
                .into_iter()
                .filter(|r| r.offset >= *next)
                .map(|r| Record {
                    offset: r.offset,
                    value: r.record.value,
                    timestamp_ms: r.record.timestamp.timestamp_millis(),
                })
                .collect();
            if records.is_empty() {
                continue;
            }
            got = true;
            let applied = apply_records(store, applier, &opts.topic, *partition, &records).await?;
            *next = records.last().map_or(*next, |r| r.offset + 1);
            report.records += records.len() as u64;
            report.rounds += 1;
            report.applied.add(&applied);
            report.seconds = started.elapsed().as_secs_f64();
            progress(&report);
        }
        if got {
            last_record = Instant::now();
        }
        if opts.max_records.is_some_and(|m| report.records >= m)
            || opts
                .until_idle
                .is_some_and(|idle| last_record.elapsed() >= idle)
        {
            break;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The partition an event goes to: by its key (an account, a mobile), so
/// one account's events stay in order.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % partitions.max(1) as u64) as i32
}

/// The key of an event line: its account number or mobile, else its id.
pub fn key_of(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let data = &v["data"];
    data["account_no"]
        .as_str()
        .or_else(|| data["mobile"].as_str())
        .or_else(|| v["event_id"].as_str())
        .unwrap_or(line)
        .to_owned()
}

/// A producer of event lines to one topic, each line to the partition of
/// its key.
pub struct Publisher {
    topic: String,
    partitions: Vec<(i32, PartitionClient)>,
}

impl Publisher {
    /// Connects to every partition of `topic`.
    pub async fn new(client: &Client, topic: &str) -> Result<Publisher> {
        let mut partitions = Vec::new();
        for p in partitions_of(client, topic).await? {
            partitions.push((p, partition_client(client, topic, p).await?));
        }
        if partitions.is_empty() {
            return Err(EventsError::Kafka(format!(
                "topic '{topic}' has no partitions"
            )));
        }
        Ok(Publisher {
            topic: topic.to_owned(),
            partitions,
        })
    }

    /// Publishes `lines` (one event each) in produce requests of at most
    /// `chunk` records; returns the number published.
    pub async fn send(&self, lines: &[String], chunk: usize) -> Result<u64> {
        let n = i32::try_from(self.partitions.len()).unwrap_or(i32::MAX);
        let mut by_partition: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
        for line in lines {
            let k = partition_for(&key_of(line), n) as usize;
            by_partition.entry(k).or_default().push(line);
        }
        let mut sent = 0;
        for (k, lines) in by_partition {
            let (p, pc) = &self.partitions[k];
            for part in lines.chunks(chunk.max(1)) {
                let records = part
                    .iter()
                    .map(|l| KafkaRecord {
                        key: Some(key_of(l).into_bytes()),
                        value: Some(l.as_bytes().to_vec()),
                        headers: BTreeMap::new(),
                        timestamp: chrono::Utc::now(),
                    })
                    .collect();
                pc.produce(records, Compression::NoCompression)
                    .await
                    .map_err(|e| {
                        EventsError::Kafka(format!("produce to {}/{p}: {e}", self.topic))
                    })?;
                sent += part.len() as u64;
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_keeps_to_one_partition() {
        let a = r#"{"event_id":"e1","type":"txn_posted","data":{"account_no":"A1"}}"#;
        let b = r#"{"event_id":"e2","type":"txn_posted","data":{"account_no":"A1"}}"#;
        assert_eq!(key_of(a), "A1");
        assert_eq!(partition_for(&key_of(a), 4), partition_for(&key_of(b), 4));
        assert_eq!(key_of("not json"), "not json");
        assert!((0..4).contains(&partition_for("x", 4)));
    }
}
