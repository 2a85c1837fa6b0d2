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
use panorama_store::Store;

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
    let store = common::quickstart_bank(dir, 300).await;
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

/// An event line's bytes as the consumer fetches them.
fn fetched(lines: &[String], from: i64) -> Vec<panorama_events::apply::Record> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| panorama_events::apply::Record {
            offset: from + i as i64,
            value: Some(l.as_bytes().to_vec()),
            timestamp_ms: 0,
        })
        .collect()
}

/// A credit of `yuan` into `account` on `day` by `channel`.
fn credit(id: &str, account: &str, day: &str, yuan: i64, channel: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","type":"txn_posted","source":"core","data":{{"account_no":"{account}","txn_ref":"{id}","booked_at":"{day}T10:00:00","amount_minor":{},"direction":"C","channel":"{channel}","counterparty_name":"某公司"}}}}"#,
        yuan * 100
    )
}

/// Triggered ("always-on") campaigns on the quickstart bank, through the
/// event feed's own applier: designed, approved and launched by the CLI; a
/// large inflow enters its customer with the contact policy and the seeded
/// control draw applied then, and the treated member's RM gets the call at
/// once; a repeated trigger, an opted-out customer and a small credit enter
/// nobody; a first payroll credit enters a first-salary campaign and a second
/// does not; responses are counted in each member's own window and reported
/// with lift against control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triggered_campaigns_enter_customers_as_their_events_arrive() {
    use panorama_events::apply::{Applier, apply_records};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = common::quickstart_bank(dir, 600).await;
    let analytics = dir.join("panorama-data").join("analytics");
    let features = *panorama_analytics::engine::feature_dates(&analytics)
        .last()
        .expect("the quickstart computed features");
    let design = |name: &str, trigger: &str, control: &str, seed: &str| {
        let (id, launched) = common::campaign_live(
            dir,
            &[
                "--name",
                name,
                "--segment",
                "aum >= 0",
                "--control",
                control,
                "--seed",
                seed,
                "--channel",
                "rm,sms",
                "--trigger",
                trigger,
                "--response",
                "aum >= 0",
            ],
        );
        assert!(launched.contains("always on"), "{launched}");
        id
    };
    let inflow = design("大额入账理财关怀", "large_credit", "0.3", "5");
    // Customers with a core account, each to receive one large inflow.
    let people: Vec<(i64, String)> = sqlx::query_as(
        "SELECT a.customer_id, MIN(a.account_no) FROM account a JOIN customer c ON c.id = a.customer_id \
         WHERE a.system = 'core' AND c.status = 'active' AND c.party_type = 'person' \
         GROUP BY a.customer_id ORDER BY a.customer_id LIMIT 240",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(people.len(), 240);
    // One of them asked for no contact at all.
    let (quiet, quiet_account) = people[0].clone();
    sqlx::query(
        "INSERT INTO contact_preference (customer_id, opt_out_all, updated_at) VALUES ($1, 1, '2026-01-01') \
         ON CONFLICT (customer_id) DO UPDATE SET opt_out_all = 1",
    )
    .bind(quiet)
    .execute(store.pool())
    .await
    .unwrap();
    // Entered on three days: one long before the features date (its
    // response window closed by then), the rest ten days before it.
    let day = |back: u64| (features - chrono::Days::new(back)).to_string();
    let lines: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(i, (_, account))| {
            let back = if i == 1 { 45 } else { 10 };
            credit(&format!("in-{i}"), account, &day(back), 300_000, "counter")
        })
        .collect();
    let config = panorama_analytics::Config::default_config();
    let mut applier =
        Applier::new(config.monitoring.clone()).with_campaigns(analytics.clone(), config.clone());
    let started = Instant::now();
    let done = apply_records(&store, &mut applier, "t", 0, &fetched(&lines, 0))
        .await
        .unwrap();
    eprintln!(
        "240 large inflows applied with their campaign entries in {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(done.applied, 240);
    assert_eq!(
        done.campaign_entries + done.campaign_skipped,
        240,
        "{done:?}"
    );
    let members = |id: i64| {
        let store = store.clone();
        async move {
            sqlx::query_as::<_, (i64, String, i64, String, Option<i64>)>(&format!(
                "SELECT customer_id, arm, is_control, channel, owner_user_id FROM campaign_member \
                 WHERE campaign_id = {id} ORDER BY customer_id"
            ))
            .fetch_all(store.pool())
            .await
            .unwrap()
        }
    };
    let got = members(inflow).await;
    assert_eq!(got.len() as u64, done.campaign_entries);
    eprintln!(
        "entered {}, skipped {:?}",
        done.campaign_entries, done.campaign_skip_reasons
    );
    // The quickstart's own campaigns contacted many of them within the
    // frequency cap's 30 days: those stay out, and the count says so.
    let year = features.format("%Y").to_string();
    let mut capped = 0;
    for (i, (customer, _)) in people.iter().enumerate() {
        if *customer == quiet || panorama_campaign::universal_control(*customer, &year, 0.02) {
            continue;
        }
        let since = day(if i == 1 { 75 } else { 40 });
        let recent = count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id \
                 WHERE m.customer_id = {customer} AND m.is_control = 0 AND c.id <> {inflow} \
                 AND c.status IN ('live', 'finished') AND m.selected_on >= '{since}'"
            ),
        )
        .await;
        capped += u64::from(recent >= 1);
    }
    let skip = |why: &str| done.campaign_skip_reasons.get(why).copied().unwrap_or(0);
    assert_eq!(skip("over the frequency cap"), capped, "{done:?}");
    assert_eq!(skip("opted out of every channel of the plan"), 1);
    assert!(
        done.campaign_skip_reasons.keys().all(|k| [
            "over the frequency cap",
            "opted out of every channel of the plan",
            "in the universal control group",
        ]
        .contains(k)),
        "{done:?}"
    );
    assert!(got.len() >= 100, "{}", got.len());
    assert!(got.iter().all(|m| m.0 != quiet), "opted out of all contact");
    // The control draw: the seeded one, about 30%.
    let control = got.iter().filter(|m| m.2 == 1).count();
    assert_eq!(control as u64, done.campaign_control);
    assert!(
        (40..110).contains(&control),
        "{control} of {} held out",
        got.len()
    );
    for (customer, arm, _, _, _) in &got {
        assert_eq!(
            arm,
            &panorama_campaign::draw(*customer, 5, 0.3, &["A".to_owned()]),
            "customer {customer}"
        );
    }
    // Each treated member with an RM was dealt to the RM's call list, the
    // rest to SMS; nobody held out got anything.
    for (customer, _, is_control, channel, owner) in &got {
        let tasks = count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM task WHERE campaign_id = {inflow} AND customer_id = {customer} AND status = 'open'"
            ),
        )
        .await;
        let messages = count(
            &store,
            &format!(
                "SELECT COUNT(*) FROM campaign_outbox WHERE campaign_id = {inflow} AND customer_id = {customer}"
            ),
        )
        .await;
        match (*is_control == 1, channel.as_str()) {
            (true, _) => assert_eq!((tasks, messages), (0, 0), "control {customer}"),
            (false, "rm") => {
                assert!(owner.is_some());
                assert_eq!((tasks, messages), (1, 0), "rm {customer}");
            }
            (false, "sms") => assert_eq!((tasks, messages), (0, 1), "sms {customer}"),
            (false, other) => assert_eq!(other, "none", "{customer}"),
        }
    }
    let treated_rm = got.iter().filter(|m| m.2 == 0 && m.3 == "rm").count();
    assert!(treated_rm > 0, "the quickstart's customers have RMs");

    // Again for the same customers (new events): already members. A small
    // credit fires nothing; the opted-out customer still enters nothing.
    let mut again: Vec<String> = people
        .iter()
        .enumerate()
        .map(|(i, (_, account))| credit(&format!("in2-{i}"), account, &day(9), 300_000, "counter"))
        .collect();
    again.push(credit("small-1", &people[5].1, &day(9), 100, "counter"));
    again.push(credit(
        "quiet-2",
        &quiet_account,
        &day(9),
        300_000,
        "counter",
    ));
    let done = apply_records(&store, &mut applier, "t", 0, &fetched(&again, 1000))
        .await
        .unwrap();
    assert_eq!(done.campaign_entries, 0, "{done:?}");
    assert_eq!(done.campaign_skipped, 241, "{done:?}");
    assert_eq!(members(inflow).await, got, "nothing moved");

    // A first-salary campaign: the first payroll credit enters, a second
    // does not fire the trigger at all.
    let salary = design("首次代发工资", "first_salary", "0.0", "9");
    let newcomer: (i64, String) = sqlx::query_as(
        "SELECT a.customer_id, MIN(a.account_no) FROM account a JOIN customer c ON c.id = a.customer_id \
         WHERE a.system = 'core' AND c.status = 'active' AND c.party_type = 'person' \
         AND NOT EXISTS (SELECT 1 FROM account b JOIN txn t ON t.account_id = b.id \
                         WHERE b.customer_id = a.customer_id AND t.channel = 'batch' AND t.direction = 'C') \
         AND NOT EXISTS (SELECT 1 FROM campaign_member m WHERE m.customer_id = a.customer_id) \
         AND NOT EXISTS (SELECT 1 FROM contact_preference p WHERE p.customer_id = a.customer_id) \
         GROUP BY a.customer_id ORDER BY a.customer_id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let pay = [
        credit("pay-1", &newcomer.1, &day(8), 8_000, "batch"),
        credit("pay-2", &newcomer.1, &day(7), 8_000, "batch"),
    ]
    .map(|l| l.to_owned());
    let done = apply_records(&store, &mut applier, "t", 0, &fetched(&pay, 2000))
        .await
        .unwrap();
    let entered = members(salary).await;
    if done.campaign_entries == 1 {
        assert_eq!(entered.len(), 1);
        assert_eq!(entered[0].0, newcomer.0);
        assert_eq!(entered[0].2, 0, "no control group at 0%");
        assert_eq!(
            done.campaign_skipped, 0,
            "the second credit is no first salary"
        );
    } else {
        // The newcomer is in the universal control group of the year.
        assert!(panorama_campaign::universal_control(
            newcomer.0,
            &features.format("%Y").to_string(),
            0.02
        ));
        assert_eq!((done.campaign_skipped, entered.len()), (1, 0));
    }

    // Responses on the features date: counted for members whose window (30
    // days from their entry) holds it — not for the one who entered 45 days
    // before — then reported with lift against control.
    let out = succeeds(
        dir,
        &["campaign", "capture", "--as-of", &features.to_string()],
    );
    assert!(out.contains(&format!("campaign {inflow}")), "{out}");
    let responders: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT customer_id FROM campaign_response WHERE campaign_id = {inflow} ORDER BY customer_id"
    ))
    .fetch_all(store.pool())
    .await
    .unwrap();
    let early = people[1].0;
    let early_member = got.iter().any(|m| m.0 == early);
    assert!(!responders.contains(&early), "its window had closed");
    assert_eq!(
        responders.len(),
        got.len() - usize::from(early_member),
        "every other member meets `aum >= 0` within their window"
    );
    let report = succeeds(dir, &["campaign", "report", &inflow.to_string(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(
        report
            .lines()
            .skip_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap_or_else(|e| panic!("{e}: {report}"));
    let arms = report["arms"].as_array().unwrap();
    let arm = |name: &str| arms.iter().find(|a| a["arm"] == name).unwrap();
    assert_eq!(
        arm("control")["rate"]["members"].as_u64(),
        Some(control as u64)
    );
    assert_eq!(
        arm("A")["rate"]["members"].as_u64(),
        Some((got.len() - control) as u64)
    );
    assert!(arm("A")["lift"]["difference"].is_number(), "{report}");
}
