//! The SMS channel end to end: the quickstart bank, an SMS campaign
//! launched by the CLI, and a gateway process (`panorama sms gateway`)
//! speaking the HTTP API on 127.0.0.1. Nothing goes in quiet hours; on a
//! rest day the do-not-disturb customer's message waits; a customer who
//! opted out after the launch gets nothing; the rate is kept (paced, and
//! retried after the gateway's 429s); receipts land on their messages; a
//! "TD" reply opts the customer out at once and no further SMS reaches them;
//! messages claimed by a run that stopped before the gateway answered are
//! sent again and the gateway knows the one it had taken.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;

use common::{Node, free_port, panorama, succeeds};
use panorama_store::Store;

/// One HTTP/1.1 request on a fresh connection; the response's body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, rest) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "{method} {path}: {head}");
    rest.to_owned()
}

fn seen(addr: &str) -> panorama_sms::gateway::Seen {
    serde_json::from_str(&http(addr, "GET", "/sim/messages", "")).unwrap()
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

fn send(dir: &Path, base: &str, more: &[&str]) -> String {
    let mut args = vec!["sms", "send", "--gateway", base, "--key", "k-test"];
    args.extend_from_slice(more);
    succeeds(dir, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_goes_out_within_the_rules_and_replies_close_the_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = common::quickstart_bank(dir, 400).await;
    let (id, _) = common::campaign_live(
        dir,
        &[
            "--name",
            "短信理财推荐",
            "--segment",
            "aum >= 0",
            "--channel",
            "sms",
            "--control",
            "0.2",
            "--universal-control",
            "0",
            "--cap",
            "5",
            "--script",
            "尊敬的客户：新一期理财产品已上线，详询您的客户经理。回T退订",
        ],
    );
    // The whole SMS queue (the quickstart's campaigns queued some too).
    let queue = "SELECT COUNT(*) FROM campaign_outbox WHERE channel = 'sms' AND status = 'queued'";
    let queued = count(&store, queue).await;
    let ours = count(
        &store,
        &format!("SELECT COUNT(*) FROM campaign_outbox WHERE campaign_id = {id}"),
    )
    .await;
    assert!(
        ours >= 40,
        "{ours} messages queued by the campaign, {queued} in all"
    );
    // The first four of the queue, their customers' preferences cleared.
    let first: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, customer_id FROM campaign_outbox WHERE channel = 'sms' AND status = 'queued' ORDER BY id LIMIT 4",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let run = |sql: String| {
        let store = store.clone();
        async move {
            sqlx::query(&sql).execute(store.pool()).await.unwrap();
        }
    };
    for (_, customer) in &first {
        run(format!(
            "DELETE FROM contact_preference WHERE customer_id = {customer}"
        ))
        .await;
    }
    // One unreachable number, one that is no mobile, one customer who opted
    // out of SMS after the launch, one who asked not to be disturbed on rest days.
    run(format!(
        "UPDATE campaign_outbox SET address = '17012345678' WHERE id = {}",
        first[0].0
    ))
    .await;
    run(format!(
        "UPDATE campaign_outbox SET address = '12345' WHERE id = {}",
        first[1].0
    ))
    .await;
    run(format!(
        "INSERT INTO contact_preference (customer_id, opt_out_sms, updated_at) VALUES ({}, 1, '2026-12-01') \
         ON CONFLICT (customer_id) DO UPDATE SET opt_out_sms = 1",
        first[2].1
    ))
    .await;
    run(format!(
        "INSERT INTO contact_preference (customer_id, dnd_rest_days, updated_at) VALUES ({}, 1, '2026-12-01') \
         ON CONFLICT (customer_id) DO UPDATE SET dnd_rest_days = 1",
        first[3].1
    ))
    .await;

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let base = format!("http://{addr}");
    let mut gateway = Node::start(
        env!("CARGO_BIN_EXE_panorama"),
        dir,
        "sms-gateway",
        &[
            "sms",
            "gateway",
            "--listen",
            &addr,
            "--key",
            "k-test",
            "--rate",
            "20",
            "--undeliverable",
            "170",
        ],
    );
    gateway.wait_for_port(&addr);

    // Quiet hours: nothing goes.
    let quiet = panorama(
        dir,
        &[
            "sms",
            "send",
            "--gateway",
            &base,
            "--key",
            "k-test",
            "--at",
            "22:30",
        ],
    );
    assert!(!quiet.status.success());
    assert!(String::from_utf8_lossy(&quiet.stderr).contains("quiet hours"));
    assert_eq!(seen(&addr).messages.len(), 0);
    // A wrong key: refused, and every message queued again.
    let wrong = panorama(
        dir,
        &[
            "sms",
            "send",
            "--gateway",
            &base,
            "--key",
            "nope",
            "--at",
            "10:00",
            "--on",
            "2026-12-07",
        ],
    );
    assert!(!wrong.status.success());
    let opted_out = count(
        &store,
        "SELECT COUNT(*) FROM campaign_outbox WHERE channel = 'sms' AND status = 'failed' AND gateway_detail = 'opted out'",
    )
    .await;
    assert!(opted_out >= 1);
    assert_eq!(
        count(&store, queue).await,
        queued - opted_out,
        "every message but the opted-out customers' back in the queue"
    );

    // Saturday 10:00, paced at 10 a second, 30 messages: the do-not-disturb
    // customer's waits, the opted-out customer's is dropped.
    let out = send(
        dir,
        &base,
        &[
            "--at",
            "10:00",
            "--on",
            "2026-12-05",
            "--rate",
            "10",
            "--chunk",
            "5",
            "--limit",
            "30",
        ],
    );
    assert!(out.contains("30 SMS handed"), "{out}");
    assert!(out.contains("1 refused"), "{out}");
    let s = seen(&addr);
    assert_eq!(s.messages.len(), 29, "one number refused");
    let spread = s.messages.last().unwrap().at_ms - s.messages[0].at_ms;
    assert!(
        spread >= 2_400,
        "30 messages at 10 a second span 2.5 s or more: {spread} ms"
    );
    assert!(
        s.messages
            .iter()
            .all(|m| m.content.starts_with("【全景银行】"))
    );
    let held = count(
        &store,
        &format!("SELECT COUNT(*) FROM campaign_outbox WHERE campaign_id = {id} AND customer_id = {} AND status = 'queued'", first[3].1),
    )
    .await;
    assert_eq!(held, 1, "do not disturb on a rest day");
    assert_eq!(
        count(&store, &format!("SELECT COUNT(*) FROM campaign_outbox WHERE customer_id = {} AND campaign_id = {id} AND status = 'failed' AND gateway_detail = 'opted out'", first[2].1)).await,
        1,
        "opted out since the launch: never sent"
    );

    // Monday: the rest at 100 a second against a gateway that takes 20 —
    // it says to slow down, and every message still goes, once.
    let out = send(
        dir,
        &base,
        &[
            "--at",
            "10:00",
            "--on",
            "2026-12-07",
            "--rate",
            "100",
            "--chunk",
            "20",
        ],
    );
    let s = seen(&addr);
    assert!(
        s.throttled > 0,
        "the gateway's rate was met with 429s: {out}"
    );
    assert_eq!(count(&store, queue).await, 0, "{out}");
    let taken = count(
        &store,
        "SELECT COUNT(*) FROM campaign_outbox WHERE channel = 'sms' AND gateway_msg_id IS NOT NULL",
    )
    .await;
    assert_eq!(
        s.messages.len() as i64,
        taken,
        "each message taken has its gateway id"
    );
    let mut ids: Vec<&str> = s.messages.iter().map(|m| m.client_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), s.messages.len(), "no message twice");

    // Receipts: delivered, and the unreachable number undelivered.
    let out = succeeds(dir, &["sms", "pull", "--gateway", &base, "--key", "k-test"]);
    assert!(
        out.contains(&format!(
            "{taken} delivery receipts ({taken} for our messages)"
        )),
        "{out}"
    );
    let status_of = |outbox: i64| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(&format!(
                "SELECT delivery_status FROM campaign_outbox WHERE id = {outbox}"
            ))
            .fetch_one(store.pool())
            .await
            .unwrap()
        }
    };
    assert_eq!(status_of(first[0].0).await.as_deref(), Some("undelivered"));
    assert_eq!(status_of(first[3].0).await.as_deref(), Some("delivered"));
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM campaign_outbox WHERE delivery_status = 'delivered'"
        )
        .await,
        taken - 1
    );
    let status = succeeds(dir, &["sms", "status"]);
    assert!(status.contains("delivered"), "{status}");

    // Replies: "TD" opts out at once; "好的" is a contact; a stranger's is counted.
    let target = &s.messages[5];
    let (replier,): (i64,) = sqlx::query_as(&format!(
        "SELECT customer_id FROM campaign_outbox WHERE address = '{}' AND gateway_msg_id IS NOT NULL",
        target.mobile
    ))
    .fetch_one(store.pool())
    .await
    .unwrap();
    http(
        &addr,
        "POST",
        "/sim/reply",
        &format!(r#"{{"mobile":"{}","content":"TD"}}"#, target.mobile),
    );
    http(
        &addr,
        "POST",
        "/sim/reply",
        &format!(
            r#"{{"mobile":"{}","content":"好的"}}"#,
            s.messages[6].mobile
        ),
    );
    http(
        &addr,
        "POST",
        "/sim/reply",
        r#"{"mobile":"19900000001","content":"T"}"#,
    );
    let out = succeeds(dir, &["sms", "pull", "--gateway", &base, "--key", "k-test"]);
    assert!(out.contains("3 replies"), "{out}");
    assert!(out.contains("1 from unknown mobiles"), "{out}");
    assert_eq!(
        count(&store, &format!("SELECT COUNT(*) FROM contact_preference WHERE customer_id = {replier} AND opt_out_sms = 1")).await,
        1
    );
    // Read once: a second pull finds nothing new.
    let out = succeeds(dir, &["sms", "pull", "--gateway", &base, "--key", "k-test"]);
    assert!(
        out.contains("0 delivery receipts") && out.contains("0 replies"),
        "{out}"
    );

    // No further SMS to the customer who replied TD: their message queued
    // again is dropped at send time.
    run(format!(
        "UPDATE campaign_outbox SET status = 'queued', batch = NULL, gateway_msg_id = NULL, delivery_status = NULL \
         WHERE customer_id = {replier} AND channel = 'sms'"
    ))
    .await;
    let before = seen(&addr).messages.len();
    let out = send(dir, &base, &["--at", "10:00", "--on", "2026-12-07"]);
    assert!(out.contains("opted out"), "{out}");
    assert_eq!(seen(&addr).messages.len(), before, "nothing more to them");

    // A run stopped between claiming and the gateway's answer: one message
    // the gateway had taken (its answer lost), one it never saw (the
    // refused number, since corrected). Both go again; the gateway
    // recognises the first and gives the same id.
    let taken = &seen(&addr).messages[10];
    let taken_outbox: i64 = taken
        .client_id
        .trim_start_matches("panorama-")
        .parse()
        .unwrap();
    run(format!(
        "UPDATE campaign_outbox SET status = 'sent', batch = 'gw:sms-crashed', gateway_msg_id = NULL WHERE id = {taken_outbox}"
    ))
    .await;
    run(format!(
        "UPDATE campaign_outbox SET status = 'sent', batch = 'gw:sms-crashed', gateway_detail = NULL, address = '13912345678' \
         WHERE id = {}",
        first[1].0
    ))
    .await;
    let before = seen(&addr);
    let out = send(dir, &base, &["--at", "10:00", "--on", "2026-12-07"]);
    assert!(out.contains("2 left by an earlier run"), "{out}");
    let after = seen(&addr);
    assert_eq!(
        after.repeats,
        before.repeats + 1,
        "the taken message recognised"
    );
    assert_eq!(
        after.messages.len(),
        before.messages.len() + 1,
        "the unseen one taken"
    );
    let msg: Option<String> = sqlx::query_scalar(&format!(
        "SELECT gateway_msg_id FROM campaign_outbox WHERE id = {taken_outbox}"
    ))
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        msg.as_deref(),
        Some(taken.msg_id.as_str()),
        "the same gateway id"
    );
    gateway.kill();
}
