//! The ACRM batch over the store, on both stores: features for every active
//! customer, tiers in the store equal to the features, saved segments with
//! entered/left history, idempotent reruns, earlier dates, read-only SQL.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use panorama_analytics::batch;
use panorama_analytics::engine::register_features;
use panorama_analytics::{Config, segment, sql};
use panorama_ingest::{Options, ingest};
use panorama_store::test_support;
use panorama_store::{acrm, ocrm};

fn quiet(_: &str, _: u64, _: u64) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_computes_features_tiers_and_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = panorama_synth::Config {
        customers: 1_500,
        seed: 8,
        as_of: "2026-10-31".parse().unwrap(),
        out: dir.path().join("bank"),
        gzip: false,
    };
    panorama_synth::generate(&config, &|_, _| {}).unwrap();
    let config = Config::default_config();
    for (k, store) in test_support::both("the_batch_computes_features_tiers_and_segments")
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let analytics = dir.path().join(format!("analytics-{k}"));
        let options = Options {
            rejects_dir: dir.path().join("rejects"),
            copy: false,
        };
        ingest(&store, &dir.path().join("bank"), &options, &quiet)
            .await
            .unwrap();
        panorama_ecif::store::run_resolve(&store, false)
            .await
            .unwrap();
        // RMs, and customers assigned to them: alerts become their tasks.
        panorama::cli::serve::demo_users(&store, "a-test-password-1")
            .await
            .unwrap();
        ocrm::assign_unassigned(&store, "test", "2026-10-31")
            .await
            .unwrap();

        // No date given: the latest business date in the data (the extract date).
        let first = batch::run(&store, &analytics, &config, None).await.unwrap();
        assert_eq!(first.as_of.to_string(), "2026-10-31");
        let active: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM customer WHERE status = 'active'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(first.customers as i64, active);
        assert_eq!(first.tiers.values().sum::<u64>() as i64, active);
        assert!(first.tiers.len() >= 3, "{:?}", first.tiers);
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM customer_features WHERE as_of = '2026-10-31'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(stored, active);
        // The tier in the features is the latest decision in the tier history.
        let mismatched: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM customer_features f WHERE f.as_of = '2026-10-31' AND f.tier <> \
             (SELECT h.tier FROM tier_history h WHERE h.customer_id = f.customer_id ORDER BY h.as_of DESC LIMIT 1)",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(mismatched, 0);

        // Alerts: birthdays and maturities are certain in a bank this size;
        // each new alert of an assigned customer is a task on their RM's list.
        let raised: usize = first.alerts_raised.values().sum();
        for rule in ["birthday", "maturity"] {
            assert!(
                first.alerts_raised.get(rule).copied().unwrap_or(0) > 0,
                "{rule}: {:?}",
                first.alerts_raised
            );
        }
        assert_eq!(first.alerts_written.alerts as usize, raised);
        let count = |sql: &'static str| {
            let store = store.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(store.pool())
                    .await
                    .unwrap()
            }
        };
        let tasks = count("SELECT COUNT(*) FROM task WHERE alert_id IS NOT NULL").await;
        let of_assigned = count(
            "SELECT COUNT(*) FROM alert al WHERE EXISTS (SELECT 1 FROM assignment s \
             WHERE s.customer_id = al.customer_id AND s.to_date IS NULL AND s.role = 'primary')",
        )
        .await;
        let misplaced = count(
            "SELECT COUNT(*) FROM task t JOIN assignment s ON s.customer_id = t.customer_id \
             AND s.to_date IS NULL WHERE t.alert_id IS NOT NULL AND t.owner_user_id <> s.rm_user_id",
        )
        .await;
        assert!(tasks > 0);
        assert_eq!(
            (tasks, misplaced, first.alerts_written.tasks as i64),
            (of_assigned, 0, tasks)
        );
        // A birthday alert is due on the birthday, within the configured week.
        let early_or_late = count(
            "SELECT COUNT(*) FROM alert WHERE rule = 'birthday' \
             AND (due_on <= '2026-10-31' OR due_on > '2026-11-07')",
        )
        .await;
        assert_eq!(early_or_late, 0);

        // A saved segment, refreshed at once.
        let vocab = batch::vocabulary(&store, &config).await.unwrap();
        let condition = "aum_month_avg >= 50000 and not holds('credit_card')";
        let filter = segment::compile(condition, &vocab).unwrap();
        let ctx = panorama_analytics::engine::session();
        register_features(&ctx, &analytics, None).await.unwrap();
        let expected = batch::count(&ctx, filter).await.unwrap();
        assert!(expected > 0);
        let mut tx = store.begin().await.unwrap();
        acrm::insert_segment(
            &mut tx,
            "affluent-no-card",
            "rule",
            condition,
            None,
            "analyst1",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // Rerun: same results, nothing rewritten; the segment fills.
        let again = batch::run(&store, &analytics, &config, None).await.unwrap();
        assert_eq!(again.tiers, first.tiers);
        assert_eq!(again.tier_rows_written, 0);
        assert_eq!(again.tier_rows_deleted, 0);
        // The same events again: no new alert, no new task.
        assert_eq!(again.alerts_raised, first.alerts_raised);
        assert_eq!(again.alerts_written, ocrm::AlertWrite::default());
        assert_eq!(
            again.snapshot.txn_batches.len(),
            0,
            "transactions are not re-exported"
        );
        assert_eq!(again.segments[0].members, expected);
        assert_eq!(again.segments[0].entered, expected);
        let third = batch::run(&store, &analytics, &config, None).await.unwrap();
        assert_eq!((third.segments[0].entered, third.segments[0].left), (0, 0));

        // An earlier date: the segment's membership moves with the data.
        let earlier = batch::run(
            &store,
            &analytics,
            &config,
            Some("2026-04-30".parse().unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(earlier.customers, first.customers);
        let s = &earlier.segments[0];
        assert!(s.entered + s.left > 0, "{s:?}");
        let seg = acrm::segment(&store, "affluent-no-card")
            .await
            .unwrap()
            .unwrap();
        let history = acrm::members(&store, seg.id, true, 1_000_000)
            .await
            .unwrap();
        assert!(
            history
                .iter()
                .any(|m| m.left_on.as_deref() == Some("2026-04-30"))
                || s.left == 0
        );

        // The migration matrix between two dates covers every customer with a tier.
        let cells = acrm::tier_migration(&store, "2026-04-30", "2026-10-31")
            .await
            .unwrap();
        let total: i64 = cells.iter().map(|c| c.2).sum();
        assert_eq!(total, active);
        assert!(
            cells.iter().any(|c| c.0.as_deref() != Some(c.1.as_str())),
            "some customers changed tier"
        );

        // Analysts' SQL is read-only.
        let (ctx, _) = sql::analyst_session(&analytics, None).await.unwrap();
        let (_, rows) = sql::query(
            &ctx,
            "SELECT tier, COUNT(*) AS n FROM features GROUP BY tier",
        )
        .await
        .unwrap();
        assert!(!rows.is_empty());
        for bad in [
            "DROP TABLE features",
            "INSERT INTO features SELECT * FROM features",
            "CREATE TABLE x AS SELECT 1",
            "COPY features TO '/tmp/x.csv'",
            "SELECT * FROM '/etc/passwd'",
        ] {
            assert!(
                sql::query(&ctx, bad).await.is_err(),
                "{bad} must be refused"
            );
        }
        // The store remembers the runs.
        let runs: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM analytics_run WHERE status = 'committed'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(runs, 4);
    }
}
