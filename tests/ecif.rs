//! ECIF over the store, on both stores: a generated bank resolves close to its
//! truth; ids are stable across runs; a later batch joins existing customers;
//! a steward's accept merges and an unmerge restores the previous customers.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::collections::HashMap;
use std::path::Path;

use panorama_ingest::{Options, ingest};
use panorama_store::test_support::{self, TestStore};
use panorama_store::{Row, Store};

fn quiet(_: &str, _: u64, _: u64) {}

fn bank(dir: &Path, customers: u64, seed: u64) {
    let config = panorama_synth::Config {
        customers,
        seed,
        as_of: "2026-10-31".parse().unwrap(),
        out: dir.to_path_buf(),
        gzip: false,
    };
    panorama_synth::generate(&config, &|_, _| {}).unwrap();
}

async fn load(store: &Store, dir: &Path) {
    let options = Options {
        rejects_dir: dir.join("rejects"),
        copy: false,
    };
    ingest(store, dir, &options, &quiet).await.unwrap();
}

/// Pairwise F1 of the store's customers against the truth.
async fn f1(store: &Store, truth: &Path) -> f64 {
    f1_of(store, truth, None).await
}

/// Pairwise F1 over the records of one party type (all when `None`).
async fn f1_of(store: &Store, truth: &Path, party_type: Option<&str>) -> f64 {
    let mut kind = HashMap::new();
    let mut reader = csv::Reader::from_path(truth.join("parties.csv")).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        kind.insert(row[0].to_owned(), row[1].to_owned());
    }
    let mut party = HashMap::new();
    let mut reader = csv::Reader::from_path(truth.join("records.csv")).unwrap();
    for row in reader.records() {
        let row = row.unwrap();
        party.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
    }
    let resolved: Vec<_> = panorama_store::ecif::resolved_keys(store)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| party_type.is_none_or(|t| kind[&party[&(r.0.clone(), r.1.clone())]] == t))
        .collect();
    let clusters: Vec<u32> = resolved.iter().map(|r| r.2 as u32).collect();
    let labels: Vec<String> = resolved
        .iter()
        .map(|r| party[&(r.0.clone(), r.1.clone())].clone())
        .collect();
    panorama_ecif::pairwise_scores(&clusters, &labels).2
}

async fn customer_of_key(store: &Store) -> HashMap<(String, String), i64> {
    panorama_store::ecif::resolved_keys(store)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, k, c)| ((s, k), c))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_resolves_to_its_truth_with_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 2_000, 21);
    for store in test_support::both("a_bank_resolves_to_its_truth_with_stable_ids")
        .await
        .unwrap()
    {
        load(&store, dir.path()).await;
        let first = panorama_ecif::store::run_resolve(&store, false)
            .await
            .unwrap();
        let score = f1(&store, &dir.path().join("truth")).await;
        assert!(score >= 0.99, "F1 {score} on {:?}", store.backend());
        // Companies on their own: a few percent of the records, so the
        // figure above barely moves when they go wrong.
        let companies = f1_of(&store, &dir.path().join("truth"), Some("organisation")).await;
        assert!(
            companies >= 0.98,
            "companies' F1 {companies} on {:?}",
            store.backend()
        );
        assert!(
            first.counts.households > 50 && first.counts.relationships > 100,
            "{:?}",
            first.counts
        );
        let before = customer_of_key(&store).await;
        // Every record is linked; every account points at its customer.
        assert_eq!(
            before.len() as i64,
            store.count("source_record").await.unwrap()
        );
        let unlinked: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM account WHERE customer_id IS NULL")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(unlinked, 0);
        // Survived attributes carry their provenance.
        let provenance: String = sqlx::query_scalar(
            "SELECT provenance FROM customer WHERE party_type = 'person' ORDER BY id LIMIT 1",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert!(provenance.contains("source_record_id"), "{provenance}");
        // A second run, full or not, keeps every id.
        let again = panorama_ecif::store::run_resolve(&store, true)
            .await
            .unwrap();
        assert_eq!(again.counts.new_customers, 0);
        assert_eq!(customer_of_key(&store).await, before);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systems_onboarded_later_join_existing_customers() {
    // First only the core and card systems are loaded and resolved; later the
    // loan, wealth and e-channel systems arrive.
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 2_000, 5);
    let full = first_systems_only(dir.path());
    let store = test_support::sqlite().await.unwrap();
    load(&store, dir.path()).await;
    panorama_ecif::store::run_resolve(&store, false)
        .await
        .unwrap();
    let before = customer_of_key(&store).await;
    assert!(
        before
            .keys()
            .all(|(system, _)| system == "core" || system == "card")
    );
    std::fs::write(dir.path().join("manifest.toml"), &full).unwrap();
    load(&store, dir.path()).await;
    let second = panorama_ecif::store::run_resolve(&store, false)
        .await
        .unwrap();
    assert_eq!(second.counts.mode, "incremental");
    let after = customer_of_key(&store).await;
    // Old records keep their customer, unless new evidence merged it into another (recorded).
    let merged: HashMap<i64, i64> = panorama_store::ecif::merges(&store, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.absorbed_customer_id, m.surviving_customer_id))
        .collect();
    for (key, customer) in &before {
        let now = after[key];
        assert!(
            now == *customer || merged.get(customer) == Some(&now),
            "{key:?}: {customer} -> {now}"
        );
    }
    // New records of known parties joined the existing customers.
    let truth: HashMap<(String, String), String> =
        csv::Reader::from_path(dir.path().join("truth/records.csv"))
            .unwrap()
            .records()
            .map(|r| r.unwrap())
            .map(|r| ((r[0].to_owned(), r[1].to_owned()), r[2].to_owned()))
            .collect();
    let old_party: HashMap<&String, i64> = before.keys().map(|k| (&truth[k], after[k])).collect();
    let (mut joined, mut candidates) = (0, 0);
    for (key, customer) in &after {
        if !before.contains_key(key) {
            if let Some(old) = old_party.get(&truth[key]) {
                candidates += 1;
                joined += usize::from(old == customer);
            }
        }
    }
    assert!(candidates > 500, "{candidates}");
    assert!(
        joined as f64 >= 0.98 * candidates as f64,
        "{joined} of {candidates} new records joined their existing customer"
    );
    assert!(f1(&store, &dir.path().join("truth")).await >= 0.99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_merges_and_unmerge_restores() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 1_500, 8);
    for store in test_support::both("accept_merges_and_unmerge_restores")
        .await
        .unwrap()
    {
        load(&store, dir.path()).await;
        panorama_ecif::store::run_resolve(&store, false)
            .await
            .unwrap();
        // Queue two records of different customers, as resolution does for an
        // uncertain pair, so the steward's actions are tested whatever the matcher found.
        let two: Vec<i64> = sqlx::query_scalar(
            "SELECT MIN(x.source_record_id) FROM customer_xref x JOIN source_record r ON r.id = x.source_record_id \
             WHERE r.party_type = 'person' GROUP BY x.customer_id ORDER BY MIN(x.source_record_id) LIMIT 2",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        sqlx::query("INSERT INTO match_review (left_record_id, right_record_id, match_probability, evidence, status) VALUES ($1, $2, 0.7, $3, 'open')")
            .bind(two[0])
            .bind(two[1])
            .bind(r#"{"name":"same pinyin","mobile":"different"}"#)
            .execute(store.pool())
            .await
            .unwrap();
        let queue = panorama_store::ecif::review_queue(&store, "open", 100)
            .await
            .unwrap();
        assert!(!queue.is_empty());
        let pair = queue.iter().find(|p| p.left_record_id == two[0]).unwrap();
        assert!(
            pair.evidence.as_deref().unwrap_or("").contains("name"),
            "per-field evidence: {:?}",
            pair.evidence
        );
        let customers = |store: &TestStore, l: i64, r: i64| {
            let pool = store.pool().clone();
            async move {
                let sql = "SELECT customer_id FROM customer_xref WHERE source_record_id = $1";
                let a: i64 = sqlx::query_scalar(sql)
                    .bind(l)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let b: i64 = sqlx::query_scalar(sql)
                    .bind(r)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                (a, b)
            }
        };
        let (a, b) = customers(&store, pair.left_record_id, pair.right_record_id).await;
        assert_ne!(a, b);
        // Each has a primary RM of its own; the merge must lose neither.
        let org: i64 = sqlx::query_scalar("SELECT MIN(id) FROM org_unit")
            .fetch_one(store.pool())
            .await
            .unwrap();
        for (i, customer) in [a, b].into_iter().enumerate() {
            let rm: i64 = sqlx::query_scalar(
                "INSERT INTO app_user (username, display_name, role, org_unit_id, created_at) \
                 VALUES ($1, $1, 'rm', $2, '2026-11-01T00:00:00Z') RETURNING id",
            )
            .bind(format!("merge-rm{i}"))
            .bind(org)
            .fetch_one(store.pool())
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO assignment (customer_id, rm_user_id, role, from_date, reason, assigned_by) \
                 VALUES ($1, $2, 'primary', '2026-11-01', 'test', 'test')",
            )
            .bind(customer)
            .bind(rm)
            .execute(store.pool())
            .await
            .unwrap();
        }
        // Only b's records know a mobile, so the merged golden record must take
        // it and, once split again, a must lose it.
        for (customer, mobile) in [(a, None), (b, Some("13912345678"))] {
            sqlx::query(
                "UPDATE source_record SET mobile_std = $1 WHERE id IN (SELECT source_record_id FROM customer_xref WHERE customer_id = $2)",
            )
            .bind(mobile)
            .bind(customer)
            .execute(store.pool())
            .await
            .unwrap();
        }
        let mobile_of = |customer: i64| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, Option<String>>("SELECT mobile FROM customer WHERE id = $1")
                    .bind(customer)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let message = panorama_ecif::store::decide(&store, pair.id, true, "steward1")
            .await
            .unwrap();
        assert!(message.contains("merged"), "{message}");
        let (a2, b2) = customers(&store, pair.left_record_id, pair.right_record_id).await;
        assert_eq!(a2, b2);
        assert_eq!(mobile_of(a2).await.as_deref(), Some("13912345678"));
        let absorbed = if a2 == a { b } else { a };
        let status: String = sqlx::query_scalar("SELECT status FROM customer WHERE id = $1")
            .bind(absorbed)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(status, "merged");
        let open = |customer: i64| {
            let pool = store.pool().clone();
            async move {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT u.username, a.role FROM assignment a JOIN app_user u ON u.id = a.rm_user_id \
                     WHERE a.customer_id = $1 AND a.to_date IS NULL ORDER BY a.role, u.username",
                )
                .bind(customer)
                .fetch_all(&pool)
                .await
                .unwrap();
                rows
            }
        };
        assert!(
            open(absorbed).await.is_empty(),
            "no open assignment on a merged customer"
        );
        let surviving = open(a2).await;
        assert_eq!(surviving.len(), 2, "{surviving:?}");
        assert_eq!(
            surviving.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
            ["primary", "secondary"],
            "the absorbed customer's primary RM comes over as secondary: {surviving:?}"
        );
        // Undo it: both customers and their ids come back, and they stay apart on the next run.
        let event = panorama_store::ecif::merges(&store, 1)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(event.actor, "steward1");
        panorama_ecif::store::unmerge(&store, event.id, "steward2")
            .await
            .unwrap();
        assert_eq!(
            customers(&store, pair.left_record_id, pair.right_record_id).await,
            (a, b)
        );
        assert_eq!(mobile_of(a).await, None);
        assert_eq!(mobile_of(b).await.as_deref(), Some("13912345678"));
        panorama_ecif::store::run_resolve(&store, true)
            .await
            .unwrap();
        assert_eq!(
            customers(&store, pair.left_record_id, pair.right_record_id).await,
            (a, b)
        );
        // Both actions are audited; a second unmerge is refused.
        let audited: Vec<String> =
            sqlx::query("SELECT action FROM audit_event WHERE actor LIKE 'steward%' ORDER BY id")
                .fetch_all(store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
        assert_eq!(
            audited,
            vec!["ecif.review.accept", "ecif.merge", "ecif.unmerge"]
        );
        assert!(
            panorama_ecif::store::unmerge(&store, event.id, "steward2")
                .await
                .is_err()
        );
        // Rejecting a pair keeps it apart, also after a full re-run.
        let others: Vec<i64> = sqlx::query_scalar(
            "SELECT MIN(x.source_record_id) FROM customer_xref x JOIN source_record r ON r.id = x.source_record_id \
             WHERE r.party_type = 'person' GROUP BY x.customer_id ORDER BY MIN(x.source_record_id) LIMIT 2 OFFSET 2",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let review_id: i64 = sqlx::query_scalar(
            "INSERT INTO match_review (left_record_id, right_record_id, match_probability, evidence, status) \
             VALUES ($1, $2, 0.6, '{}', 'open') RETURNING id",
        )
        .bind(others[0])
        .bind(others[1])
        .fetch_one(store.pool())
        .await
        .unwrap();
        let message = panorama_ecif::store::decide(&store, review_id, false, "steward1")
            .await
            .unwrap();
        assert!(message.contains("rejected"), "{message}");
        panorama_ecif::store::run_resolve(&store, true)
            .await
            .unwrap();
        let (x, y) = customers(&store, others[0], others[1]).await;
        assert_ne!(x, y);
        let status: String = sqlx::query_scalar("SELECT status FROM match_review WHERE id = $1")
            .bind(review_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(status, "rejected");
    }
}

/// The manifest without the loan, wealth and e-channel systems' files (they
/// arrive later).
fn first_systems_only(dir: &Path) -> String {
    let full = std::fs::read_to_string(dir.join("manifest.toml")).unwrap();
    let first: String = full
        .split("[[files]]")
        .filter(|block| {
            !["loan_", "wealth_", "echannel_"]
                .iter()
                .any(|s| block.contains(&format!("path = \"{s}")))
        })
        .collect::<Vec<_>>()
        .join("[[files]]");
    std::fs::write(dir.join("manifest.toml"), &first).unwrap();
    full
}

/// Record key → the keys of every record of its customer (customer ids of
/// new customers differ between stores; the groups must not).
async fn groups(store: &Store) -> HashMap<(String, String), Vec<(String, String)>> {
    let mut of_customer: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (s, k, c) in panorama_store::ecif::resolved_keys(store).await.unwrap() {
        of_customer.entry(c).or_default().push((s, k));
    }
    let mut out = HashMap::new();
    for mut members in of_customer.into_values() {
        members.sort();
        for m in &members {
            out.insert(m.clone(), members.clone());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_resolved_as_they_arrive_agree_with_the_nightly_run() {
    // Core and card records are resolved by a nightly run; then the loan,
    // wealth and e-channel systems' records arrive. The nightly store
    // resolves them in its next run; the other resolves each on arrival,
    // one transaction per record, with the first run's models.
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 2_000, 17);
    let full = first_systems_only(dir.path());
    let nightly = test_support::sqlite().await.unwrap();
    let online_stores = test_support::both("records_resolved_as_they_arrive")
        .await
        .unwrap();
    for store in std::iter::once(&nightly).chain(&online_stores) {
        load(store, dir.path()).await;
        panorama_ecif::store::run_resolve(store, false)
            .await
            .unwrap();
    }
    std::fs::write(dir.path().join("manifest.toml"), &full).unwrap();
    load(&nightly, dir.path()).await;
    panorama_ecif::store::run_resolve(&nightly, false)
        .await
        .unwrap();
    let expected = groups(&nightly).await;
    let truth = dir.path().join("truth");
    let nightly_f1 = f1(&nightly, &truth).await;

    for store in &online_stores {
        load(store, dir.path()).await;
        let arrived: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM source_record WHERE id NOT IN (SELECT source_record_id FROM customer_xref) ORDER BY id",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(arrived.len() > 500, "{} records arrived", arrived.len());
        let online = {
            let mut conn = store.acquire().await.unwrap();
            panorama_ecif::online::Online::load(&mut conn)
                .await
                .unwrap()
        };
        assert_eq!(online.parties(), ["organisation", "person"]);
        let (mut linked, mut new, mut micros) = (0, 0, Vec::new());
        for id in &arrived {
            let clock = std::time::Instant::now();
            let mut tx = store.begin().await.unwrap();
            let r = online.resolve_record(&mut tx, store, *id).await.unwrap();
            tx.commit().await.unwrap();
            micros.push(clock.elapsed().as_micros());
            assert_eq!(r.record_id, *id);
            match r.outcome {
                "linked" => linked += 1,
                "new" => new += 1,
                other => panic!("a new record {other}"),
            }
        }
        micros.sort_unstable();
        let at = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "{:?}: {} records resolved one at a time ({linked} linked, {new} new): p50 {:.1} ms, p99 {:.1} ms",
            store.backend(),
            arrived.len(),
            at(0.5),
            at(0.99)
        );
        // Every record has a customer; every account points at it.
        let unlinked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM source_record WHERE id NOT IN (SELECT source_record_id FROM customer_xref)",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(unlinked, 0);
        let orphans: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM account WHERE customer_id IS NULL")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(orphans, 0);
        // The same customers as the nightly run, record for record.
        let got = groups(store).await;
        let differ: Vec<_> = expected
            .iter()
            .filter(|(k, members)| got.get(*k) != Some(*members))
            .map(|(k, members)| (k.clone(), members.clone(), got.get(k).cloned()))
            .collect();
        assert!(
            differ.len() * 1_000 <= expected.len(),
            "{} of {} records grouped differently from the nightly run, e.g. {:?}",
            differ.len(),
            expected.len(),
            differ.iter().take(3).collect::<Vec<_>>()
        );
        println!(
            "{:?}: {} of {} records grouped as the nightly run groups them",
            store.backend(),
            expected.len() - differ.len(),
            expected.len()
        );
        let score = f1(store, &truth).await;
        assert!(
            score >= nightly_f1 - 0.001,
            "F1 {score} one at a time, {nightly_f1} nightly"
        );
        // The next nightly run agrees and changes nothing it need not.
        let before = customer_of_key(store).await;
        let again = panorama_ecif::store::run_resolve(store, false)
            .await
            .unwrap();
        assert_eq!(again.counts.new_customers, 0, "{:?}", again.counts);
        assert_eq!(customer_of_key(store).await, before);
    }
}
