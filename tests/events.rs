//! The event feed end to end, against a real Kafka-compatible broker (tansu)
//! on 127.0.0.1 and the `panorama` binary: a large transfer to another bank
//! raises an alert and a task for the customer's RM while the consumer runs;
//! a "TD" reply opts the customer out of SMS; a card-system record of a known
//! person joins that customer at once (per-record ECIF) and a stranger's
//! becomes a new customer; malformed events and unknown
//! accounts become dead letters without stopping the stream; and with the
//! consumer killed mid-stream and the broker restarted, every event is
//! applied exactly once.
//!
//! The broker: `PANORAMA_KAFKA_BROKER_BIN`, else `~/.cache/tansu/bin/tansu`
//! (`.ci/run` builds it there). Without one the test says SKIPPED — except
//! under CI, where it fails.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Node, free_port, succeeds};
use panorama_store::{Store, StoreLocation};

fn broker_bin() -> Option<PathBuf> {
    let path = std::env::var_os("PANORAMA_KAFKA_BROKER_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/tansu/bin/tansu"))
        })?;
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide the Kafka broker ({}): .ci/run builds tansu",
        path.display()
    );
    panorama_store::test_support::skipped(&format!(
        "the event feed test: no Kafka broker at {} (cargo install tansu --version 0.6.0 --locked \
         --features dynostore,libsql --root ~/.cache/tansu)",
        path.display()
    ));
    None
}

/// A tansu broker on `port`, keeping its log in `dir/broker` (a SQLite file,
/// so a restart keeps the topic and its records).
fn start_broker(bin: &Path, dir: &Path, port: u16) -> Node {
    let url = format!("tcp://127.0.0.1:{port}");
    let mut node = Node::start(
        bin,
        dir,
        "broker",
        &[
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            "sqlite://broker.db",
        ],
    );
    node.wait_for_port(&format!("127.0.0.1:{port}"));
    node
}

fn txn_event(id: &str, account: &str, txn_ref: &str, yuan: i64, bank: Option<&str>) -> String {
    let bank = bank.map_or(String::new(), |b| format!(r#","counterparty_bank":"{b}""#));
    format!(
        r#"{{"event_id":"{id}","type":"txn_posted","source":"core","occurred_at":"2026-12-07T10:00:00+08:00","data":{{"account_no":"{account}","txn_ref":"{txn_ref}","booked_at":"2026-12-07T10:00:00","amount_minor":{},"direction":"D","channel":"online","counterparty_name":"某证券公司"{bank},"balance_after_minor":100000}}}}"#,
        yuan * 100
    )
}

/// `panorama events publish FILE` to the broker at `brokers`, with `more`
/// arguments.
fn publish(dir: &Path, brokers: &str, file: &Path, more: &[&str]) {
    let mut args = vec!["events", "publish", "--brokers", brokers];
    args.extend_from_slice(more);
    args.push(file.to_str().unwrap());
    succeeds(dir, &args);
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn wait_until(store: &Store, sql: &str, want: i64, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let n = count(store, sql).await;
        if n >= want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{sql}: {n}, not {want}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_raise_alerts_opt_out_and_apply_exactly_once_across_restarts() {
    let Some(bin) = broker_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    succeeds(
        dir,
        &[
            "quickstart",
            "--customers",
            "300",
            "--no-serve",
            "--demo-password",
            "demo-pass-1",
        ],
    );
    let store =
        Store::open(&StoreLocation::parse(dir.join("panorama-data").to_str().unwrap()).unwrap())
            .await
            .unwrap();
    // A core deposit account of a customer with an RM, and a customer's
    // mobile that no other customer shares.
    let (account, customer, rm): (String, i64, i64) = sqlx::query_as(
        "SELECT a.account_no, a.customer_id, s.rm_user_id FROM account a \
         JOIN assignment s ON s.customer_id = a.customer_id AND s.role = 'primary' AND s.to_date IS NULL \
         JOIN product p ON p.code = a.product_code \
         WHERE a.system = 'core' AND p.class = 'deposit' ORDER BY a.id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let (replier, mobile): (i64, String) = sqlx::query_as(
        "SELECT c.id, c.mobile FROM customer c WHERE c.status = 'active' AND c.mobile IS NOT NULL \
         AND (SELECT COUNT(*) FROM customer d WHERE d.mobile = c.mobile) = 1 ORDER BY c.id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    // A person the bank knows, whom the card system now also holds.
    let (known, name, id_no, birth): (i64, String, String, String) = sqlx::query_as(
        "SELECT id, name, id_no, birth_date FROM customer WHERE party_type = 'person' AND status = 'active' \
         AND id_no IS NOT NULL AND birth_date IS NOT NULL ORDER BY id LIMIT 1 OFFSET 7",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let customers_before = count(&store, "SELECT COUNT(*) FROM customer").await;

    let port = free_port();
    let brokers = format!("127.0.0.1:{port}");
    let mut broker = start_broker(&bin, dir, port);
    let out = succeeds(
        dir,
        &[
            "events",
            "create-topic",
            "--brokers",
            &brokers,
            "--partitions",
            "2",
        ],
    );
    assert!(out.contains("2 partitions"), "{out}");

    // The consumer runs; a large transfer to another bank is published.
    let mut consumer = Node::start(
        env!("CARGO_BIN_EXE_panorama"),
        dir,
        "consumer-1",
        &["events", "consume", "--brokers", &brokers],
    );
    let first = dir.join("first.jsonl");
    std::fs::write(
        &first,
        [
            txn_event("ev-1", &account, "RT-1", 800_000, Some("102100099996")),
            txn_event("ev-1", &account, "RT-1", 800_000, Some("102100099996")), // a repeat
            "not json at all".to_owned(),
            txn_event("ev-bad", &account, "RT-2", -5, None),
            txn_event("ev-ghost", "NO-SUCH-ACCOUNT", "RT-3", 10, None),
            format!(
                r#"{{"event_id":"ev-reply","type":"contact_reply","data":{{"channel":"sms","mobile":"{mobile}","text":"TD"}}}}"#
            ),
            format!(
                r#"{{"event_id":"ev-card-1","type":"customer_record","source":"card","occurred_at":"2026-12-07T09:30:00+08:00","data":{{"source_key":"CARD-NEW-1","party_type":"person","name":"{name}","id_type":"resident_id","id_no":"{id_no}","birth_date":"{birth}"}}}}"#
            ),
            r#"{"event_id":"ev-card-2","type":"customer_record","source":"card","occurred_at":"2026-12-07T09:31:00+08:00","data":{"source_key":"CARD-NEW-2","party_type":"person","name":"欧阳新客","gender":"F","birth_date":"1999-02-03","mobile":"19912345678"}}"#.to_owned(),
        ]
        .join("\n"),
    )
    .unwrap();
    let published = Instant::now();
    publish(dir, &brokers, &first, &[]);
    let to_task = wait_until(
        &store,
        &format!(
            "SELECT COUNT(*) FROM task t JOIN alert al ON al.id = t.alert_id \
             WHERE t.owner_user_id = {rm} AND al.customer_id = {customer} AND al.rule = 'outbound_transfer'"
        ),
        1,
        Duration::from_secs(30),
    )
    .await;
    eprintln!(
        "outbound transfer → the RM's task: {} ms after the publish command returned ({} ms after it started)",
        to_task.as_millis(),
        published.elapsed().as_millis()
    );
    let (message, severity): (String, String) = sqlx::query_as(&format!(
        "SELECT message, severity FROM alert WHERE customer_id = {customer} AND rule = 'outbound_transfer'"
    ))
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(message.contains("800,000.00"), "{message}");
    assert_eq!(severity, "critical");
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM alert WHERE customer_id = {customer} AND rule = 'large_debit'"
            )
        )
        .await,
        1,
        "800,000 yuan is a large debit too"
    );
    wait_until(
        &store,
        &format!("SELECT COUNT(*) FROM contact_preference WHERE customer_id = {replier} AND opt_out_sms = 1"),
        1,
        Duration::from_secs(30),
    )
    .await;
    wait_until(
        &store,
        "SELECT COUNT(*) FROM event_dead_letter",
        3,
        Duration::from_secs(30),
    )
    .await;
    // The card system's record of the known person joined that customer at
    // once; the stranger became a customer of their own.
    let of_key = |key: &str| {
        format!(
            "SELECT COALESCE(MAX(x.customer_id), 0) FROM customer_xref x JOIN source_record r ON r.id = x.source_record_id \
             WHERE r.system = 'card' AND r.source_key = '{key}'"
        )
    };
    wait_until(
        &store,
        &of_key("CARD-NEW-1"),
        known,
        Duration::from_secs(30),
    )
    .await;
    let stranger = count(&store, &of_key("CARD-NEW-2")).await;
    assert!(stranger > 0, "the new person has a customer");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM customer").await,
        customers_before + 1,
        "one new customer, none for the known person"
    );
    consumer.kill();
    let status = succeeds(dir, &["events", "status"]);
    assert!(status.contains("customer_record: 2"), "{status}");
    assert!(status.contains("txn_posted: 1"), "{status}");
    assert!(status.contains("contact_reply: 1"), "{status}");
    assert!(status.contains("dead letters: 3"), "{status}");
    assert!(status.contains("data.amount_minor"), "{status}");
    assert!(status.contains("is not known"), "{status}");
    assert!(status.contains("not an event object"), "{status}");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM txn WHERE txn_ref = 'RT-1'").await,
        1,
        "the repeated event applied once"
    );

    // 300 small transactions; the consumer, reading a few at a time, is
    // killed mid-stream; the broker is restarted; 100 more are published and
    // the first 50 again (same ids); a new consumer finishes the stream.
    let batch = |range: std::ops::Range<i32>| {
        range
            .map(|i| {
                txn_event(
                    &format!("ev-s{i}"),
                    &account,
                    &format!("S-{i}"),
                    10 + i64::from(i),
                    None,
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let second = dir.join("second.jsonl");
    std::fs::write(&second, batch(0..300)).unwrap();
    publish(dir, &brokers, &second, &["--chunk", "5"]);
    let mut consumer = Node::start(
        env!("CARGO_BIN_EXE_panorama"),
        dir,
        "consumer-2",
        &[
            "events",
            "consume",
            "--brokers",
            &brokers,
            "--fetch-bytes",
            "2000",
        ],
    );
    wait_until(
        &store,
        "SELECT COUNT(*) FROM txn WHERE txn_ref LIKE 'S-%'",
        40,
        Duration::from_secs(60),
    )
    .await;
    consumer.kill();
    let at_kill = count(&store, "SELECT COUNT(*) FROM txn WHERE txn_ref LIKE 'S-%'").await;
    eprintln!("consumer killed after {at_kill} of 300 transactions");
    broker.kill();
    let mut broker = start_broker(&bin, dir, port);
    let third = dir.join("third.jsonl");
    std::fs::write(&third, format!("{}\n{}", batch(300..400), batch(0..50))).unwrap();
    publish(dir, &brokers, &third, &[]);
    let out = succeeds(
        dir,
        &[
            "events",
            "consume",
            "--brokers",
            &brokers,
            "--until-idle",
            "3",
        ],
    );
    assert!(out.contains("50 repeats skipped"), "{out}");
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM txn WHERE txn_ref LIKE 'S-%'").await,
        400,
        "every transaction once"
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(DISTINCT txn_ref) FROM txn WHERE txn_ref LIKE 'S-%'"
        )
        .await,
        400
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM event_applied WHERE event_id LIKE 'ev-s%'"
        )
        .await,
        400
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM event_dead_letter").await,
        3
    );
    broker.kill();
}
