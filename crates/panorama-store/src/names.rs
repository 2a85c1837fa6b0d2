//! Search keys of customers' names: pinyin spellings and initials, so an
//! agent who hears "Zhang Huaqiang" on the phone can type `zhanghuaq` or
//! `zhq`. Kept in step with the golden records by [`index_names`], which
//! re-keys only customers whose name changed since they were keyed.

use panorama_domain::pinyin::search_keys;
use sqlx::AnyConnection;

use crate::bulk::{BulkInsert, Value};
use crate::{Backend, Result, Store};

/// Customers re-keyed per transaction.
const CHUNK: i64 = 20_000;

/// What [`index_names`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NameIndexReport {
    /// Customers (re-)keyed.
    pub customers: u64,
    /// Keys written.
    pub keys: u64,
    /// Keys removed from customers no longer active (merged, closed).
    pub removed: u64,
}

/// Brings the name keys up to date: keys every active customer whose name
/// has no keys or was keyed under another name, and removes the keys of
/// customers no longer active. Each chunk of customers is one transaction,
/// so an interrupted run leaves whole customers and the next run goes on.
pub async fn index_names(store: &Store) -> Result<NameIndexReport> {
    let mut report = NameIndexReport {
        removed: sqlx::query(
            "DELETE FROM customer_name_key WHERE customer_id IN \
             (SELECT id FROM customer WHERE status <> 'active')",
        )
        .execute(store.db())
        .await?
        .rows_affected(),
        ..NameIndexReport::default()
    };
    let mut after = 0_i64;
    loop {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT c.id, c.name FROM customer c \
             WHERE c.id > $1 AND c.id <= $2 AND c.status = 'active' \
               AND NOT EXISTS (SELECT 1 FROM customer_name_key k \
                               WHERE k.customer_id = c.id AND k.source_name = c.name) \
             ORDER BY c.id",
        )
        .bind(after)
        .bind(after + CHUNK)
        .fetch_all(store.db())
        .await?;
        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM customer WHERE id > $1")
            .bind(after + CHUNK)
            .fetch_one(store.db())
            .await?;
        if !rows.is_empty() {
            let mut tx = store.begin().await?;
            report.keys += write_keys(&mut tx, store.backend(), &rows).await?;
            tx.commit().await?;
            report.customers += rows.len() as u64;
        }
        match next {
            // Skips gaps in the ids (a store whose customers start high).
            Some(next) => after = next - 1,
            None => break,
        }
    }
    Ok(report)
}

/// Re-keys `customers` inside the caller's transaction (after a steward's
/// merge or unmerge rewrote their golden records): active ones get the keys
/// of their current name, the others lose theirs.
pub async fn rekey(conn: &mut AnyConnection, backend: Backend, customers: &[i64]) -> Result<u64> {
    let mut written = 0;
    for chunk in customers.chunks(500) {
        let list = placeholders(backend, chunk.len());
        let select = format!("SELECT id, name, status FROM customer WHERE id IN ({list})");
        let mut query = sqlx::query_as::<_, (i64, String, String)>(&select);
        for id in chunk {
            query = query.bind(*id);
        }
        let found = query.fetch_all(&mut *conn).await?;
        let sql = format!("DELETE FROM customer_name_key WHERE customer_id IN ({list})");
        let mut delete = sqlx::query(&sql);
        for id in chunk {
            delete = delete.bind(*id);
        }
        delete.execute(&mut *conn).await?;
        let active: Vec<(i64, String)> = found
            .into_iter()
            .filter(|(_, _, status)| status == "active")
            .map(|(id, name, _)| (id, name))
            .collect();
        // Their keys went above: only the new ones are written (a purge of
        // stale keys over the ids' range would scan the bank when an old and
        // a new customer are re-keyed together).
        written += insert_keys(conn, backend, &active).await?;
    }
    Ok(written)
}

fn placeholders(backend: Backend, n: usize) -> String {
    (1..=n)
        .map(|i| backend.placeholder(i))
        .collect::<Vec<_>>()
        .join(",")
}

/// Replaces the keys of `customers` (id, current name) with their name's.
async fn write_keys(
    conn: &mut AnyConnection,
    backend: Backend,
    customers: &[(i64, String)],
) -> Result<u64> {
    let (Some(first), Some(last)) = (customers.first(), customers.last()) else {
        return Ok(0);
    };
    // Keys made from an earlier name: the customers' ids are ascending.
    sqlx::query(
        "DELETE FROM customer_name_key WHERE customer_id >= $1 AND customer_id <= $2 \
         AND source_name <> (SELECT c.name FROM customer c \
                             WHERE c.id = customer_name_key.customer_id)",
    )
    .bind(first.0.min(last.0))
    .bind(first.0.max(last.0))
    .execute(&mut *conn)
    .await?;
    insert_keys(conn, backend, customers).await
}

/// Adds the keys of `customers` (id, current name).
async fn insert_keys(
    conn: &mut AnyConnection,
    backend: Backend,
    customers: &[(i64, String)],
) -> Result<u64> {
    let values: Vec<Vec<Value>> = customers
        .iter()
        .flat_map(|(id, name)| {
            search_keys(name).into_iter().map(|key| {
                vec![
                    Value::Text(Some(key)),
                    Value::Int(Some(*id)),
                    Value::text(name),
                ]
            })
        })
        .collect();
    BulkInsert::new(
        backend,
        "customer_name_key",
        &["name_key", "customer_id", "source_name"],
        "ON CONFLICT DO NOTHING",
    )
    .execute(conn, &values)
    .await
}
