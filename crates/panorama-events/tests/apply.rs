//! Applying events to a real store (SQLite, and PostgreSQL when
//! `DATABASE_URL` names a server), without a broker: the records a consumer
//! would fetch are applied in one transaction with the partition's position;
//! a repeated id is skipped, a bad record becomes a dead letter, the rules
//! raise alerts and RM tasks, a "TD" reply opts out, and a transaction the
//! extract loaded already is not posted twice.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use panorama_analytics::config::MonitorConfig;
use panorama_events::apply::{Applier, Record, apply_records};
use panorama_store::ocrm::{self, NewUser};
use panorama_store::{Store, events, test_support};

/// A branch with an RM; one customer of theirs with a mobile, a current
/// account and a time deposit that matured on 2026-11-20.
async fn bank(store: &Store) {
    let run = |sql: &'static str| async move {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    };
    run("INSERT INTO org_unit (id, code, name, level, parent_id, path) VALUES (1, 'HO', '总行', 'head_office', NULL, '/1/')").await;
    run("INSERT INTO org_unit (id, code, name, level, parent_id, path) VALUES (2, 'BR01', '支行', 'branch', 1, '/1/2/')").await;
    ocrm::save_user(
        store,
        &NewUser {
            username: "rm",
            display_name: "rm",
            role: "rm",
            org_code: "BR01",
            password_hash: "unused",
        },
        "test",
    )
    .await
    .unwrap();
    run("INSERT INTO source_system (code, name, trust) VALUES ('core', '核心', 80)").await;
    run("INSERT INTO ingest_batch (started_at, folder, status) VALUES ('2026-11-01', 'bank', 'committed')").await;
    run("INSERT INTO source_record (id, system, source_key, party_type, name, id_status, credit_code_status, row_hash, first_batch_id, batch_id) \
         VALUES (1, 'core', 'P1', 'person', '张华强', 'missing', 'missing', 'h', 1, 1)").await;
    run("INSERT INTO customer (id, customer_no, party_type, name, mobile, home_org_unit_id, created_at, updated_at) \
         VALUES (1, 'C00000001', 'person', '张华强', '13800138000', 2, '2026-01-01', '2026-01-01')").await;
    run("INSERT INTO product (code, name, name_en, class, system) VALUES ('CUR', '活期', 'Current', 'settlement', 'core')").await;
    run("INSERT INTO product (code, name, name_en, class, system, term_months) VALUES ('TD12', '定期一年', '1-year deposit', 'deposit', 'core', 12)").await;
    for (id, no, product, matures) in [
        (1_i64, "A1", "CUR", None),
        (2, "A2", "TD12", Some("2026-11-20")),
    ] {
        sqlx::query(
            "INSERT INTO account (id, system, account_no, source_record_id, customer_id, product_code, opened_on, \
             matures_on, status, row_hash, batch_id) VALUES ($1, 'core', $2, 1, 1, $3, '2025-11-20', $4, 'active', 'h', 1)",
        )
        .bind(id)
        .bind(no)
        .bind(product)
        .bind(matures)
        .execute(store.pool())
        .await
        .unwrap();
    }
    run("INSERT INTO txn (system, txn_ref, account_id, booked_at, amount_minor, direction, channel, batch_id) \
         VALUES ('core', 'OLD-1', 1, '2026-11-30T09:00:00', 1000, 'C', 'counter', 1)").await;
    ocrm::assign_unassigned(store, "test", "2026-01-01")
        .await
        .unwrap();
}

fn txn(id: &str, txn_ref: &str, yuan: i64, direction: &str, channel: &str, bank: &str) -> Vec<u8> {
    format!(
        r#"{{"event_id":"{id}","type":"txn_posted","source":"core","data":{{"account_no":"A1","txn_ref":"{txn_ref}","booked_at":"2026-12-07T10:00:00","amount_minor":{},"direction":"{direction}","channel":"{channel}"{bank}}}}}"#,
        yuan * 100
    )
    .into_bytes()
}

fn records(values: Vec<Vec<u8>>, from: i64) -> Vec<Record> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| Record {
            offset: from + i as i64,
            value: Some(v),
            timestamp_ms: 0,
        })
        .collect()
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_apply_once_with_their_rules_and_dead_letters() {
    for t in test_support::both("events_apply").await.unwrap() {
        let store = &t.store;
        bank(store).await;
        let mut applier = Applier::new(MonitorConfig::default());
        let other_bank = r#","counterparty_bank":"102100099996""#;
        let first = records(
            vec![
                // Maturity proceeds leaving for another bank 17 days after A2 matured.
                txn("e1", "T1", 300_000, "D", "counter", other_bank),
                txn("e1", "T1", 300_000, "D", "counter", other_bank),
                // The first mobile-banking transaction of the customer.
                txn("e2", "T2", 50, "C", "mobile", ""),
                // Its second: no longer a first use.
                txn("e2b", "T2b", 60, "C", "mobile", ""),
                // Loaded by the extract already: posted once, raises nothing.
                txn("e3", "OLD-1", 10, "C", "counter", ""),
                b"{broken".to_vec(),
                br#"{"event_id":"e4","type":"txn_posted","source":"core","data":{"account_no":"NOPE","txn_ref":"T4","booked_at":"2026-12-07T10:00:00","amount_minor":1,"direction":"C","channel":"atm"}}"#.to_vec(),
                r#"{"event_id":"e5","type":"contact_reply","data":{"channel":"sms","mobile":"13800138000","text":"退订"}}"#.as_bytes().to_vec(),
            ],
            10,
        );
        let done = apply_records(store, &mut applier, "t", 0, &first)
            .await
            .unwrap();
        assert_eq!(
            (done.applied, done.repeats, done.dead_letters),
            (5, 1, 2),
            "{done:?}"
        );
        assert_eq!((done.transactions, done.known_transactions), (3, 1));
        assert_eq!(done.opt_outs, 1);
        assert_eq!(
            events::next_offset(store, "t", 0).await.unwrap(),
            Some(18),
            "the position after the last record"
        );
        let rules: Vec<(String, String)> = sqlx::query_as(
            "SELECT al.rule, al.severity FROM alert al JOIN task t ON t.alert_id = al.id \
             JOIN app_user u ON u.id = t.owner_user_id WHERE u.username = 'rm' ORDER BY al.rule",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let rules: Vec<(&str, &str)> = rules
            .iter()
            .map(|(r, s)| (r.as_str(), s.as_str()))
            .collect();
        assert_eq!(
            rules,
            [("maturity_outflow", "critical"), ("new_channel", "info")],
            "300,000 yuan is below the large-debit amount and the balance is not given"
        );
        let detail: String =
            sqlx::query_scalar("SELECT detail FROM alert WHERE rule = 'maturity_outflow'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert!(detail.contains(r#""matured_on":"2026-11-20""#), "{detail}");
        assert_eq!(
            count(
                store,
                "SELECT COUNT(*) FROM contact_preference WHERE customer_id = 1 AND opt_out_sms = 1"
            )
            .await,
            1
        );
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM contact WHERE customer_id = 1 AND channel = 'sms' AND outcome = 'opt_out'").await,
            1
        );
        let dead = events::dead_letters(store, 10).await.unwrap();
        assert_eq!(dead.len(), 2);
        assert!(
            dead.iter()
                .any(|d| d.reason.contains("'NOPE'") && d.kafka_offset == 16)
        );
        assert!(
            dead.iter()
                .any(|d| d.reason.starts_with("not an event object"))
        );

        // The same records again (a consumer that crashed before recording
        // its position would read them again): nothing changes.
        let again = apply_records(store, &mut applier, "t", 0, &first)
            .await
            .unwrap();
        assert_eq!(
            (again.applied, again.repeats, again.dead_letters),
            (0, 6, 2)
        );
        assert_eq!(count(store, "SELECT COUNT(*) FROM txn").await, 4);
        assert_eq!(count(store, "SELECT COUNT(*) FROM alert").await, 2);
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM event_dead_letter").await,
            2
        );
        // The day's events landed in one ingest batch of the topic.
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM ingest_batch WHERE folder = 'kafka:t' AND extract_date = '2026-12-07'").await,
            1
        );
        // A large debit by amount: a warning; mobile banking again: nothing.
        let big = records(
            vec![
                txn("e6", "T6", 600_000, "D", "counter", ""),
                txn("e7", "T7", 70, "D", "mobile", ""),
            ],
            18,
        );
        let done = apply_records(store, &mut applier, "t", 0, &big)
            .await
            .unwrap();
        assert_eq!((done.applied, done.alerts, done.tasks), (2, 1, 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_balances_arrive_as_their_extracts_rows() {
    for t in test_support::both("events_accounts").await.unwrap() {
        let store = &t.store;
        bank(store).await;
        // The person's record is linked to customer 1, as a resolution leaves it.
        sqlx::query("INSERT INTO customer_xref (source_record_id, customer_id, match_score, rule, linked_at) VALUES (1, 1, 1.0, 'singleton', '2026-11-01')")
            .execute(store.pool())
            .await
            .unwrap();
        // The fixture chose its accounts' ids; new ones follow them.
        {
            let mut conn = store.acquire().await.unwrap();
            panorama_store::ecif::sync_id_sequence(&mut conn, store.backend(), "account")
                .await
                .unwrap();
        }
        let mut applier = Applier::new(MonitorConfig::default());
        let event = |id: &str, kind: &str, data: &str| {
            format!(
                r#"{{"event_id":"{id}","type":"{kind}","source":"core","occurred_at":"2026-12-07T09:00:00","data":{data}}}"#
            )
            .into_bytes()
        };
        let batch = records(
            vec![
                event(
                    "a1",
                    "account_opened",
                    r#"{"account_no":"A3","customer_key":"P1","product_code":"CUR","opened_on":"2026-12-07","status":"active"}"#,
                ),
                // A transaction on it at once: posted to the customer's account.
                br#"{"event_id":"a2","type":"txn_posted","source":"core","data":{"account_no":"A3","txn_ref":"T-A3","booked_at":"2026-12-07T10:00:00","amount_minor":5000,"direction":"C","channel":"counter"}}"#.to_vec(),
                event(
                    "a3",
                    "balance_snapshot",
                    r#"{"account_no":"A3","month":"2026-12","avg_balance":5000,"end_balance":5000}"#,
                ),
                event(
                    "a4",
                    "account_opened",
                    r#"{"account_no":"A4","customer_key":"P1","product_code":"NOPE","opened_on":"2026-12-07","status":"active"}"#,
                ),
                event(
                    "a5",
                    "account_opened",
                    r#"{"account_no":"A5","customer_key":"P404","product_code":"CUR","opened_on":"2026-12-07","status":"active"}"#,
                ),
                event(
                    "a6",
                    "balance_snapshot",
                    r#"{"account_no":"A3","month":"December","avg_balance":1,"end_balance":1}"#,
                ),
                event("a7", "account_closed", r#"{"account_no":"A1","closed_on":"2026-12-07"}"#),
                event("a8", "account_closed", r#"{"account_no":"ZZ","closed_on":"2026-12-07"}"#),
            ],
            0,
        );
        let done = apply_records(store, &mut applier, "t", 0, &batch)
            .await
            .unwrap();
        assert_eq!(
            (
                done.applied,
                done.dead_letters,
                done.accounts,
                done.balances,
                done.closed,
                done.transactions
            ),
            (4, 4, 1, 1, 1, 1),
            "{done:?}"
        );
        assert_eq!(
            count(
                store,
                "SELECT customer_id FROM account WHERE account_no = 'A3'"
            )
            .await,
            1
        );
        assert_eq!(
            count(store, "SELECT end_balance_minor FROM balance_monthly b JOIN account a ON a.id = b.account_id WHERE a.account_no = 'A3' AND b.month = '2026-12'").await,
            5000
        );
        assert_eq!(
            count(store, "SELECT COUNT(*) FROM account WHERE account_no = 'A1' AND status = 'closed' AND closed_on = '2026-12-07'").await,
            1
        );
        let reasons: Vec<String> = events::dead_letters(store, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.reason)
            .collect();
        for field in [
            "data.product_code",
            "data.customer_key",
            "data.month",
            "data.account_no",
        ] {
            assert!(
                reasons.iter().any(|r| r.starts_with(field)),
                "{field}: {reasons:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_check_finds_a_salary_that_stopped_once() {
    use panorama_events::tick::tick;
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    for t in test_support::both("events_tick").await.unwrap() {
        let store = &t.store;
        bank(store).await;
        // Payroll on the 10th of August, September and October; then none.
        for (k, on) in ["2026-08-10", "2026-09-10", "2026-10-10"]
            .iter()
            .enumerate()
        {
            sqlx::query(
                "INSERT INTO txn (system, txn_ref, account_id, booked_at, amount_minor, direction, channel, batch_id) \
                 VALUES ('core', $1, 1, $2, 800000, 'C', 'batch', 1)",
            )
            .bind(format!("PAY-{k}"))
            .bind(format!("{on}T02:00:00"))
            .execute(store.pool())
            .await
            .unwrap();
        }
        let cfg = MonitorConfig::default();
        // November 10th: a month since the last salary — not yet a gap.
        let early = tick(store, &cfg, day("2026-11-10")).await.unwrap();
        assert_eq!(early.salary_stopped, 0, "{early:?}");
        // December 7th: 58 days without one.
        let late = tick(store, &cfg, day("2026-12-07")).await.unwrap();
        assert_eq!((late.salary_stopped, late.alerts, late.tasks), (1, 1, 1));
        let (message, detail): (String, String) = sqlx::query_as(
            "SELECT message, detail FROM alert WHERE customer_id = 1 AND rule = 'salary_stopped'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert!(
            message.contains("2026-10-10") && message.contains("58 天"),
            "{message}"
        );
        assert!(detail.contains("\"months_paid\":3"), "{detail}");
        // The next day's check: the same stop, no second alert.
        let again = tick(store, &cfg, day("2026-12-08")).await.unwrap();
        assert_eq!((again.salary_stopped, again.alerts), (1, 0));
        // Three months of payroll are not the four this bank asks for.
        let stricter = MonitorConfig {
            salary_months: 4,
            ..MonitorConfig::default()
        };
        assert_eq!(
            tick(store, &stricter, day("2026-12-09"))
                .await
                .unwrap()
                .salary_stopped,
            0
        );
        let off = MonitorConfig {
            disabled: vec!["salary_stopped".into()],
            ..MonitorConfig::default()
        };
        assert_eq!(
            tick(store, &off, day("2026-12-09")).await.unwrap(),
            Default::default()
        );
    }
}
