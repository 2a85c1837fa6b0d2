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
async fn a_bulk_load_round_trips_awkward_text_keeps_order_and_rolls_back_whole() {
    use panorama_store::BulkLoader;
    let test = "a_bulk_load_round_trips_awkward_text_keeps_order_and_rolls_back_whole";
    for store in stores(test).await {
        let batch = seed_batch(&store).await;
        // Enough rows for PostgreSQL's COPY path, with every character its
        // text format escapes, an empty string (not NULL) and a literal \N.
        let awkward = [
            "王\t小明",
            "line\nbreak",
            "back\\slash",
            "\\N",
            "cr\rlf",
            "",
            "張三 ﹙全角﹚",
        ];
        let n = 1_500;
        let name = |i: usize| match awkward[i % awkward.len()] {
            "" => String::new(),
            a => format!("{a}{i}"),
        };
        let rows: Vec<_> = (0..n)
            .map(|i| record(&format!("C{i:06}"), &name(i), &format!("h{i}"), batch))
            .collect();
        let mut loader =
            BulkLoader::new(&store, ingest::source_record_insert(store.backend()), true)
                .await
                .unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(loader.execute(&mut tx, &rows).await.unwrap(), n as u64);
        tx.commit().await.unwrap();
        let stored: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, source_key, name FROM source_record ORDER BY source_key")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(stored.len(), n);
        for (i, (_, key, stored_name)) in stored.iter().enumerate() {
            assert_eq!(key, &format!("C{i:06}"));
            assert_eq!(stored_name, &name(i), "{:?}", store.backend());
        }
        // Ids follow the rows' order.
        assert!(stored.windows(2).all(|w| w[0].0 < w[1].0));
        // The same rows again change nothing; a rolled-back load leaves nothing.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(loader.execute(&mut tx, &rows).await.unwrap(), 0);
        let more: Vec<_> = (n..2 * n)
            .map(|i| record(&format!("C{i:06}"), &name(i), "x", batch))
            .collect();
        assert_eq!(loader.execute(&mut tx, &more).await.unwrap(), n as u64);
        drop(tx);
        assert_eq!(store.count("source_record").await.unwrap(), n as i64);
        if store.backend() == panorama_store::Backend::Postgres {
            assert_eq!(store.count("stage_source_record").await.unwrap(), 0);
        }
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

/// Table names; (table, column, NOT NULL as 1); (table, index, its columns).
type Introspected = (
    Vec<String>,
    Vec<(String, String, i64)>,
    Vec<(String, String, String)>,
);

/// Tables, columns (with NOT NULL) and explicit indexes (with their columns)
/// of a migrated store, sorted.
async fn schema_of(store: &TestStore) -> (Vec<String>, Vec<String>, Vec<String>) {
    let pool = store.pool();
    let (tables, columns, indexes): Introspected = match store.backend() {
        Backend::Sqlite => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            // A primary key is NOT NULL on PostgreSQL; SQLite's rowid alias reports 0.
            let columns = sqlx::query_as(
                    "SELECT m.name, p.name, CAST(CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 1 ELSE 0 END AS INTEGER) \
                     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
                )
                .fetch_all(pool)
                .await
                .unwrap();
            let indexes = sqlx::query_as(
                    "SELECT m.tbl_name, m.name, COALESCE(group_concat(COALESCE(i.name, '<expr>'), ','), '') \
                     FROM sqlite_master m JOIN pragma_index_info(m.name) i \
                     WHERE m.type = 'index' AND m.sql IS NOT NULL GROUP BY m.tbl_name, m.name",
                )
                .fetch_all(pool)
                .await
                .unwrap();
            (tables, columns, indexes)
        }
        Backend::Postgres => {
            let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
                     AND table_type = 'BASE TABLE' AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
                )
                .fetch_all(pool)
                .await
                .unwrap();
            let columns = sqlx::query_as(
                "SELECT table_name::text, column_name::text, \
                       CAST(CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS BIGINT) \
                     FROM information_schema.columns WHERE table_schema = 'public' \
                     AND table_name NOT LIKE '_sqlx%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            // Indexes written in the migrations: not those behind a
            // primary key or UNIQUE constraint.
            let indexes = sqlx::query_as(
                    "SELECT t.relname::text, i.relname::text, \
                       COALESCE(string_agg(COALESCE(a.attname::text, '<expr>'), ',' ORDER BY k.ord), '') \
                     FROM pg_index x \
                     JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
                     JOIN pg_namespace n ON n.oid = t.relnamespace \
                     CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                     LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0 \
                     WHERE n.nspname = 'public' AND t.relname NOT LIKE '_sqlx%' \
                       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) \
                     GROUP BY t.relname, i.relname",
                )
                .fetch_all(pool)
                .await
                .unwrap();
            (tables, columns, indexes)
        }
    };
    let mut columns: Vec<String> = columns
        .into_iter()
        .map(|(t, c, n)| format!("{t}.{c}{}", if n == 1 { " NOT NULL" } else { "" }))
        .collect();
    columns.sort();
    let mut indexes: Vec<String> = indexes
        .into_iter()
        .map(|(t, i, cols)| format!("{t}: {i} ({cols})"))
        .collect();
    indexes.sort();
    (tables, columns, indexes)
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_make_the_same_schema() {
    let stores = stores("sqlite_and_postgres_migrations_make_the_same_schema").await;
    let schemas = futures_util::future::join_all(stores.iter().map(schema_of)).await;
    let (tables, columns, indexes) = &schemas[0];
    assert!(tables.len() > 40 && columns.len() > 300 && indexes.len() > 30);
    let Some((pg_tables, pg_columns, pg_indexes)) = schemas.get(1) else {
        return;
    };
    assert!(
        pg_tables.len() > 40 && pg_columns.len() > 300 && pg_indexes.len() > 30,
        "PostgreSQL's schema read: {} tables, {} columns, {} indexes",
        pg_tables.len(),
        pg_columns.len(),
        pg_indexes.len()
    );
    eprintln!(
        "both stores: {} tables, {} columns, {} indexes",
        pg_tables.len(),
        pg_columns.len(),
        pg_indexes.len()
    );
    let differ = |what: &str, a: &[String], b: &[String]| {
        let only_sqlite: Vec<&String> = a.iter().filter(|x| !b.contains(x)).collect();
        let only_pg: Vec<&String> = b.iter().filter(|x| !a.contains(x)).collect();
        assert!(
            only_sqlite.is_empty() && only_pg.is_empty(),
            "{what} differ:\n  only on SQLite: {only_sqlite:#?}\n  only on PostgreSQL: {only_pg:#?}"
        );
    };
    differ("tables", tables, pg_tables);
    differ("columns", columns, pg_columns);
    differ("indexes", indexes, pg_indexes);
}
