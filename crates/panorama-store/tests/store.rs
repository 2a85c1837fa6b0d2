//! Integration tests of the storage layer, run against both stores: SQLite
//! always, PostgreSQL when `DATABASE_URL` is set (as `.ci/run` does).

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use panorama_store::ingest::{self, RowCounts};
use panorama_store::test_support::{self, TestStore};
use panorama_store::{Backend, BulkInsert, Row, Value};

async fn stores(test: &str) -> Vec<TestStore> {
    test_support::both(test).await.expect("test stores")
}

#[tokio::test]
async fn migrations_create_the_whole_data_model() {
    for store in stores("migrations_create_the_whole_data_model").await {
        for table in [
            "org_unit",
            "app_user",
            "audit_event",
            "source_system",
            "ingest_batch",
            "ingest_file",
            "source_record",
            "source_relationship",
            "customer",
            "customer_xref",
            "merge_event",
            "match_review",
            "household",
            "household_member",
            "party_relationship",
            "product",
            "account",
            "balance_monthly",
            "txn",
            "assignment",
            "contact",
            "alert",
            "task",
            "opportunity",
            "complaint",
            "target",
            "target_allocation",
            "customer_features",
            "tier_history",
            "model",
            "customer_score",
            "segment",
            "segment_member",
            "contact_preference",
            "campaign",
            "offer",
            "campaign_member",
            "campaign_response",
        ] {
            assert_eq!(
                store.count(table).await.unwrap(),
                0,
                "{table} on {:?}",
                store.backend()
            );
        }
        // Migrating again is a no-op.
        store.migrate().await.unwrap();
    }
}

async fn seed_batch(store: &TestStore) -> i64 {
    let mut conn = store.pool().acquire().await.unwrap();
    ingest::upsert_source_system(&mut conn, "core", "核心系统", 90)
        .await
        .unwrap();
    ingest::begin_batch(store, "/extracts/2024-06-30", Some("2024-06-30"))
        .await
        .unwrap()
}

fn record(key: &str, name: &str, hash: &str, batch: i64) -> Vec<Value> {
    let mut row = vec![
        Value::text("core"),
        Value::text(key),
        Value::text("person"),
        Value::text(name),
    ];
    row.extend([
        Value::Text(None),
        Value::Text(None),
        Value::Text(None),
        Value::Text(None),
        Value::Text(None),
    ]);
    row.push(Value::text("missing"));
    row.extend([Value::Text(None), Value::Text(None)]);
    row.push(Value::text("missing"));
    row.extend((0..10).map(|_| Value::Text(None)));
    row.push(Value::text(hash));
    row.push(Value::Int(Some(batch)));
    row.push(Value::Int(Some(batch)));
    assert_eq!(row.len(), ingest::SOURCE_RECORD_COLUMNS.len());
    row
}

#[tokio::test]
async fn bulk_upsert_inserts_updates_and_skips_unchanged_rows() {
    for store in stores("bulk_upsert_inserts_updates_and_skips_unchanged_rows").await {
        let batch = seed_batch(&store).await;
        let insert = ingest::source_record_insert(store.backend());
        // More rows than fit one statement, to cross a chunk boundary.
        let n = insert.rows_per_statement() + 17;
        let rows: Vec<_> = (0..n)
            .map(|i| record(&format!("C{i:06}"), "张三", &format!("h{i}"), batch))
            .collect();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(insert.execute(&mut tx, &rows).await.unwrap(), n as u64);
        tx.commit().await.unwrap();
        // Same rows again: nothing changes.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(insert.execute(&mut tx, &rows).await.unwrap(), 0);
        // One changed row: updated in place, first_batch_id kept.
        let changed = vec![record("C000003", "张叁", "changed", batch)];
        assert_eq!(insert.execute(&mut tx, &changed).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(store.count("source_record").await.unwrap(), n as i64);
        let row =
            sqlx::query("SELECT name, first_batch_id FROM source_record WHERE source_key = $1")
                .bind("C000003")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(row.get::<String, _>(0), "张叁");
        assert_eq!(row.get::<i64, _>(1), batch);
        let mut conn = store.pool().acquire().await.unwrap();
        let ids = ingest::source_record_ids(&mut conn, "core").await.unwrap();
        assert_eq!(ids.len(), n);
    }
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing() {
    for store in stores("a_rolled_back_transaction_leaves_nothing").await {
        let batch = seed_batch(&store).await;
        let insert = ingest::source_record_insert(store.backend());
        let mut tx = store.begin().await.unwrap();
        insert
            .execute(&mut tx, &[record("K1", "李四", "a", batch)])
            .await
            .unwrap();
        drop(tx); // no commit: as if the process died mid-run
        assert_eq!(store.count("source_record").await.unwrap(), 0);
    }
}

#[tokio::test]
async fn placeholders_bind_in_order_and_types_round_trip() {
    for store in stores("placeholders_bind_in_order_and_types_round_trip").await {
        let backend = store.backend();
        let now = panorama_store::now_utc();
        sqlx::query("INSERT INTO org_unit (code, name, level, path) VALUES ($1, $2, $3, $4)")
            .bind("HO")
            .bind("总行")
            .bind("head_office")
            .bind("/1/")
            .execute(store.pool())
            .await
            .unwrap();
        let insert = BulkInsert::new(
            backend,
            "app_user",
            &[
                "username",
                "display_name",
                "role",
                "org_unit_id",
                "active",
                "created_at",
            ],
            "",
        );
        let rows = vec![
            vec![
                Value::text("rm1"),
                Value::text("王芳"),
                Value::text("rm"),
                Value::Int(Some(1)),
                Value::Bool(Some(true)),
                Value::text(&now),
            ],
            vec![
                Value::text("rm2"),
                Value::text("李娜"),
                Value::text("rm"),
                Value::Int(Some(1)),
                Value::Bool(Some(false)),
                Value::text(&now),
            ],
        ];
        let mut conn = store.pool().acquire().await.unwrap();
        insert.execute(&mut conn, &rows).await.unwrap();
        let got: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT username, display_name, active FROM app_user WHERE org_unit_id = $1 AND role = $2 ORDER BY username")
                .bind(1_i64)
                .bind("rm")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert_eq!(
            got,
            vec![
                ("rm1".into(), "王芳".into(), 1),
                ("rm2".into(), "李娜".into(), 0)
            ],
            "{backend:?}"
        );
        // A bad row violates a CHECK constraint and is refused by both stores.
        let bad = BulkInsert::new(
            backend,
            "app_user",
            &[
                "username",
                "display_name",
                "role",
                "org_unit_id",
                "created_at",
            ],
            "",
        );
        let err = bad
            .execute(
                &mut conn,
                &[vec![
                    Value::text("x"),
                    Value::text("x"),
                    Value::text("wizard"),
                    Value::Int(Some(1)),
                    Value::text(&now),
                ]],
            )
            .await;
        assert!(err.is_err());
        if backend == Backend::Sqlite {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }
}

#[tokio::test]
async fn batches_are_recorded_and_found_by_file_hash() {
    for store in stores("batches_are_recorded_and_found_by_file_hash").await {
        let batch = seed_batch(&store).await;
        let mut tx = store.begin().await.unwrap();
        let counts = RowCounts {
            read: 10,
            landed: 9,
            rejected: 1,
        };
        let file = ingest::FileRecord {
            system: "core",
            file: "core_customers.csv",
            kind: "customers",
            content_hash: "abc",
            counts,
            changed: 9,
            reject_file: Some("rejects/core_customers.csv"),
        };
        ingest::record_file(&mut tx, batch, &file).await.unwrap();
        ingest::finish_batch(&mut tx, batch, "committed", counts, Some("{}"), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        assert_eq!(
            ingest::batch_with_file(&mut conn, "core", "abc")
                .await
                .unwrap(),
            Some(batch)
        );
        assert_eq!(
            ingest::batch_with_file(&mut conn, "core", "zzz")
                .await
                .unwrap(),
            None
        );
        let all = ingest::batches(&store).await.unwrap();
        assert_eq!(all[0].status, "committed");
        assert_eq!(
            (all[0].rows_read, all[0].rows_landed, all[0].rows_rejected),
            (10, 9, 1)
        );
    }
}
