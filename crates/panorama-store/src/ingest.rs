//! Queries behind `panorama ingest`: batches, files, and the upserts that land
//! source records, relationships, products, accounts, balances and transactions.

use std::collections::HashMap;

use sqlx::AnyConnection;

use crate::{Backend, BulkInsert, Result, Store, now_utc};

/// Columns of `source_record` written by ingest, in bind order.
pub const SOURCE_RECORD_COLUMNS: &[&str] = &[
    "system",
    "source_key",
    "party_type",
    "name",
    "gender",
    "birth_date",
    "id_type",
    "id_no",
    "id_no_std",
    "id_status",
    "credit_code",
    "credit_code_std",
    "credit_code_status",
    "mobile",
    "mobile_std",
    "phone",
    "email",
    "address",
    "postcode",
    "industry",
    "occupation",
    "branch_code",
    "opened_on",
    "row_hash",
    "first_batch_id",
    "batch_id",
];

/// Columns of `account` written by ingest, in bind order.
pub const ACCOUNT_COLUMNS: &[&str] = &[
    "system",
    "account_no",
    "source_record_id",
    "product_code",
    "branch_code",
    "currency",
    "opened_on",
    "matures_on",
    "closed_on",
    "status",
    "credit_limit_minor",
    "rate_bp",
    "sold_by",
    "row_hash",
    "batch_id",
];

/// Columns of `balance_monthly`, in bind order.
pub const BALANCE_COLUMNS: &[&str] = &[
    "account_id",
    "month",
    "avg_balance_minor",
    "end_balance_minor",
    "batch_id",
];

/// Columns of `txn` written by ingest, in bind order.
pub const TXN_COLUMNS: &[&str] = &[
    "system",
    "txn_ref",
    "account_id",
    "booked_at",
    "amount_minor",
    "direction",
    "channel",
    "mcc",
    "counterparty_account",
    "counterparty_name",
    "balance_after_minor",
    "batch_id",
];

/// Columns of `source_relationship`, in bind order.
pub const RELATIONSHIP_COLUMNS: &[&str] =
    &["system", "from_key", "to_key", "kind", "since", "batch_id"];

/// Columns of `product`, in bind order.
pub const PRODUCT_COLUMNS: &[&str] = &[
    "code",
    "name",
    "name_en",
    "class",
    "system",
    "term_months",
    "rate_bp",
];

fn update_changed(table: &str, key: &str, columns: &[&str], keep: &[&str]) -> String {
    let sets: Vec<String> = columns
        .iter()
        .filter(|c| !keep.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "ON CONFLICT ({key}) DO UPDATE SET {} WHERE {table}.row_hash <> excluded.row_hash",
        sets.join(", ")
    )
}

/// Upsert of source records: new keys insert, changed rows update in place,
/// unchanged rows are left alone (so a re-run changes nothing).
pub fn source_record_insert(backend: Backend) -> BulkInsert {
    let tail = update_changed(
        "source_record",
        "system, source_key",
        SOURCE_RECORD_COLUMNS,
        &["system", "source_key", "first_batch_id"],
    );
    BulkInsert::new(backend, "source_record", SOURCE_RECORD_COLUMNS, &tail)
}

/// Upsert of accounts, keyed by (system, account_no).
pub fn account_insert(backend: Backend) -> BulkInsert {
    let tail = update_changed(
        "account",
        "system, account_no",
        ACCOUNT_COLUMNS,
        &["system", "account_no"],
    );
    BulkInsert::new(backend, "account", ACCOUNT_COLUMNS, &tail)
}

/// Upsert of monthly balances, keyed by (account_id, month).
pub fn balance_insert(backend: Backend) -> BulkInsert {
    BulkInsert::new(
        backend,
        "balance_monthly",
        BALANCE_COLUMNS,
        "ON CONFLICT (account_id, month) DO UPDATE SET avg_balance_minor = excluded.avg_balance_minor, \
         end_balance_minor = excluded.end_balance_minor, batch_id = excluded.batch_id \
         WHERE balance_monthly.avg_balance_minor <> excluded.avg_balance_minor \
         OR balance_monthly.end_balance_minor <> excluded.end_balance_minor",
    )
}

/// Insert of transactions; a transaction reference seen before is skipped
/// (a posted transaction never changes).
pub fn txn_insert(backend: Backend) -> BulkInsert {
    BulkInsert::new(
        backend,
        "txn",
        TXN_COLUMNS,
        "ON CONFLICT (system, txn_ref) DO NOTHING",
    )
}

/// Records the channels batch `batch_id`'s transactions used, per account
/// (`account_channel`: the event feed's first-use rule reads it).
pub async fn note_channels(conn: &mut AnyConnection, batch_id: i64) -> Result<u64> {
    Ok(sqlx::query(
        "INSERT INTO account_channel (account_id, channel) \
         SELECT DISTINCT account_id, channel FROM txn WHERE batch_id = $1 \
         ON CONFLICT (account_id, channel) DO NOTHING",
    )
    .bind(batch_id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Insert of declared relationships; a known one is skipped.
pub fn relationship_insert(backend: Backend) -> BulkInsert {
    BulkInsert::new(
        backend,
        "source_relationship",
        RELATIONSHIP_COLUMNS,
        "ON CONFLICT (system, from_key, to_key, kind) DO NOTHING",
    )
}

/// Upsert of the product catalogue.
pub fn product_insert(backend: Backend) -> BulkInsert {
    BulkInsert::new(
        backend,
        "product",
        PRODUCT_COLUMNS,
        "ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, class = excluded.class, \
         system = excluded.system, term_months = excluded.term_months, rate_bp = excluded.rate_bp \
         WHERE (product.name, product.name_en, product.class, product.system, product.term_months, product.rate_bp) \
         IS DISTINCT FROM (excluded.name, excluded.name_en, excluded.class, excluded.system, excluded.term_months, excluded.rate_bp)",
    )
}

/// Registers a source system (or updates its name and trust).
pub async fn upsert_source_system(
    conn: &mut AnyConnection,
    code: &str,
    name: &str,
    trust: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO source_system (code, name, trust) VALUES ($1, $2, $3) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, trust = excluded.trust",
    )
    .bind(code)
    .bind(name)
    .bind(trust)
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens a batch record, committed at once so that a crashed run stays visible as `running`.
pub async fn begin_batch(store: &Store, folder: &str, extract_date: Option<&str>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ingest_batch (started_at, folder, extract_date, status) VALUES ($1, $2, $3, 'running') RETURNING id",
    )
    .bind(now_utc())
    .bind(folder)
    .bind(extract_date)
    .fetch_one(store.db())
    .await?;
    Ok(id)
}

/// Row counts of a batch or file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Data rows read from the file(s).
    pub read: i64,
    /// Rows that landed (inserted, updated or already present unchanged).
    pub landed: i64,
    /// Rows written to a reject report.
    pub rejected: i64,
}

/// Marks a batch finished (`committed` or `failed`) with its counts and JSON report.
pub async fn finish_batch(
    conn: &mut AnyConnection,
    batch_id: i64,
    status: &str,
    counts: RowCounts,
    report: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE ingest_batch SET finished_at = $1, status = $2, rows_read = $3, rows_landed = $4, \
         rows_rejected = $5, report = $6, error = $7 WHERE id = $8",
    )
    .bind(now_utc())
    .bind(status)
    .bind(counts.read)
    .bind(counts.landed)
    .bind(counts.rejected)
    .bind(report)
    .bind(error)
    .bind(batch_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One loaded file, as recorded in `ingest_file`.
#[derive(Debug, Clone)]
pub struct FileRecord<'a> {
    /// Source system code.
    pub system: &'a str,
    /// File name relative to the extract folder.
    pub file: &'a str,
    /// What the file holds (customers, accounts, …).
    pub kind: &'a str,
    /// Hash of the file's bytes.
    pub content_hash: &'a str,
    /// Counts.
    pub counts: RowCounts,
    /// Rows inserted or updated.
    pub changed: i64,
    /// Path of the reject report, if any row was rejected.
    pub reject_file: Option<&'a str>,
}

/// Records a loaded file in the batch.
pub async fn record_file(
    conn: &mut AnyConnection,
    batch_id: i64,
    file: &FileRecord<'_>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ingest_file (batch_id, system, file, kind, content_hash, rows_read, rows_landed, \
         rows_rejected, rows_changed, reject_file) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(batch_id)
    .bind(file.system)
    .bind(file.file)
    .bind(file.kind)
    .bind(file.content_hash)
    .bind(file.counts.read)
    .bind(file.counts.landed)
    .bind(file.counts.rejected)
    .bind(file.changed)
    .bind(file.reject_file)
    .execute(conn)
    .await?;
    Ok(())
}

/// The committed batch that already loaded a file with these exact bytes, if any.
pub async fn batch_with_file(
    conn: &mut AnyConnection,
    system: &str,
    content_hash: &str,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT f.batch_id FROM ingest_file f JOIN ingest_batch b ON b.id = f.batch_id \
         WHERE f.system = $1 AND f.content_hash = $2 AND b.status = 'committed' ORDER BY f.batch_id LIMIT 1",
    )
    .bind(system)
    .bind(content_hash)
    .fetch_optional(conn)
    .await?;
    Ok(id)
}

/// Map of source key → source_record id for one system.
pub async fn source_record_ids(
    conn: &mut AnyConnection,
    system: &str,
) -> Result<HashMap<String, i64>> {
    key_map(
        conn,
        "SELECT source_key, id FROM source_record WHERE system = $1",
        system,
    )
    .await
}

/// The id of one source record, by its system and key.
pub async fn source_record_id(
    conn: &mut AnyConnection,
    system: &str,
    key: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM source_record WHERE system = $1 AND source_key = $2")
            .bind(system)
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

/// The id of one account, by its system and number.
pub async fn account_id(
    conn: &mut AnyConnection,
    system: &str,
    account_no: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM account WHERE system = $1 AND account_no = $2")
            .bind(system)
            .bind(account_no)
            .fetch_optional(conn)
            .await?,
    )
}

/// Whether a product code is in the catalogue.
pub async fn product_known(conn: &mut AnyConnection, code: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM product WHERE code = $1")
            .bind(code)
            .fetch_one(conn)
            .await?
            > 0,
    )
}

/// Whether a source system is registered.
pub async fn source_system_known(conn: &mut AnyConnection, code: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM source_system WHERE code = $1")
            .bind(code)
            .fetch_one(conn)
            .await?
            > 0,
    )
}

/// Map of account number → account id for one system.
pub async fn account_ids(conn: &mut AnyConnection, system: &str) -> Result<HashMap<String, i64>> {
    key_map(
        conn,
        "SELECT account_no, id FROM account WHERE system = $1",
        system,
    )
    .await
}

async fn key_map(
    conn: &mut AnyConnection,
    sql: &str,
    system: &str,
) -> Result<HashMap<String, i64>> {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let mut map = HashMap::new();
    let mut rows = sqlx::query(sql).bind(system).fetch(conn);
    while let Some(row) = rows.try_next().await? {
        map.insert(row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
    }
    Ok(map)
}

/// A committed or failed batch, for reports and the steward's import page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchSummary {
    /// Batch id.
    pub id: i64,
    /// Extract folder.
    pub folder: String,
    /// `running`, `committed` or `failed`.
    pub status: String,
    /// Rows read.
    pub rows_read: i64,
    /// Rows landed.
    pub rows_landed: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
    /// The error of a failed batch.
    pub error: Option<String>,
}

/// All batches, newest first.
pub async fn batches(store: &Store) -> Result<Vec<BatchSummary>> {
    Ok(sqlx::query_as(
        "SELECT id, folder, status, rows_read, rows_landed, rows_rejected, error FROM ingest_batch ORDER BY id DESC",
    )
    .fetch_all(store.db())
    .await?)
}
