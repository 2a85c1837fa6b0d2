//! The connector against the local gateway, served on 127.0.0.1, on a real
//! store (SQLite, and PostgreSQL when `DATABASE_URL` names a server): each
//! message's answer and receipt kept, a refused number's reason kept, a
//! reply of 退订 an opt-out at once and read only once, a gateway that is
//! down leaving the queue as it was.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use panorama_campaign::delivery::QuietHours;
use panorama_sms::connector::{self, Gateway, SendPolicy};
use panorama_sms::gateway::{Options, serve};
use panorama_store::{Store, test_support};

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Three customers and a live campaign with one queued SMS each (the
/// second to a number that is no mobile).
async fn queue(store: &Store) {
    let run = |sql: String| async move {
        sqlx::query(&sql).execute(store.pool()).await.unwrap();
    };
    run("INSERT INTO campaign (id, name, objective, status, eligibility, seed, created_by, created_at) \
         VALUES (1, '短信', 'cross_sell', 'live', '{}', 1, 'a', '2026-12-01')"
        .into())
    .await;
    for (id, mobile) in [(1, "13800138001"), (2, "12345"), (3, "13800138003")] {
        run(format!(
            "INSERT INTO customer (id, customer_no, party_type, name, mobile, created_at, updated_at) \
             VALUES ({id}, 'C{id}', 'person', '客户{id}', '{mobile}', '2026-01-01', '2026-01-01')"
        ))
        .await;
        run(format!(
            "INSERT INTO campaign_outbox (campaign_id, customer_id, channel, address, message, status, created_at) \
             VALUES (1, {id}, 'sms', '{mobile}', '您好，回T退订', 'queued', '2026-12-01')"
        ))
        .await;
    }
}

fn policy() -> SendPolicy {
    SendPolicy {
        quiet: QuietHours { start: 21, end: 8 },
        hour: 10,
        rest_day: false,
        limit: 100,
        rate: 50,
        chunk: 10,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_receipts_and_replies_land_on_both_stores() {
    for t in test_support::both("sms_gateway").await.unwrap() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(
            listener,
            Options {
                key: "k".into(),
                rate: 100,
                undeliverable: vec!["13800138003".into()],
            },
        ));
        let store = &t.store;
        queue(store).await;
        // A gateway that is not there: nothing lost.
        let down = Gateway::new("http://127.0.0.1:9", "k", "【测试】").unwrap();
        let now = chrono::Local::now();
        assert!(
            connector::send(store, &down, policy(), now, "t")
                .await
                .is_err()
        );
        assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM campaign_outbox WHERE status = 'queued'"
            )
            .await,
            3
        );
        let gw = Gateway::new(&format!("http://{addr}"), "k", "【测试】").unwrap();
        let sent = connector::send(store, &gw, policy(), chrono::Local::now(), "t")
            .await
            .unwrap();
        assert_eq!(
            (sent.handed, sent.accepted, sent.refused),
            (3, 2, 1),
            "{sent:?}"
        );
        let detail: String =
            sqlx::query_scalar("SELECT gateway_detail FROM campaign_outbox WHERE customer_id = 2")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert!(detail.contains("1001"), "{detail}");
        post_reply(
            &addr.to_string(),
            r#"{"mobile":"13800138003","content":"退订"}"#,
        )
        .await;
        let pulled = connector::pull(store, &gw, 1).await.unwrap();
        assert_eq!(pulled.replies, 1, "{pulled:?}");
        assert_eq!(pulled.opt_outs, 1);
        assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM contact_preference WHERE customer_id = 3 AND opt_out_sms = 1"
            )
            .await,
            1
        );
        // Read a receipt at a time: one delivered, one not (an unreachable number).
        assert_eq!((pulled.receipts, pulled.matched), (2, 2));
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM campaign_outbox WHERE delivery_status = 'undelivered' AND customer_id = 3").await,
            1
        );
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM campaign_outbox WHERE delivery_status = 'delivered' AND customer_id = 1").await,
            1
        );
        let again = connector::pull(store, &gw, 1).await.unwrap();
        assert_eq!((again.receipts, again.replies), (0, 0));
    }
}

async fn post_reply(addr: &str, body: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /sim/reply HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}
