//! Multi-row inserts: the fast path for loading extracts, on both stores.

use sqlx::AnyConnection;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use crate::{Any, Backend, Result};

/// Rows per statement: large enough to amortise a round trip, small enough
/// for the statement cache and the parser (measured best on SQLite at 1M rows).
const ROWS_PER_STATEMENT: usize = 256;

/// One bound value. Nulls carry their type: PostgreSQL refuses a NULL typed
/// as text in a BIGINT column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer (or NULL of an integer column).
    Int(Option<i64>),
    /// A float (or NULL).
    Real(Option<f64>),
    /// Text (or NULL).
    Text(Option<String>),
    /// A flag, stored as 0/1 on both stores (or NULL).
    Bool(Option<bool>),
}

impl Value {
    /// Text from a borrowed string.
    pub fn text(s: &str) -> Value {
        Value::Text(Some(s.to_owned()))
    }

    /// Text, NULL when empty.
    pub fn text_opt(s: Option<&str>) -> Value {
        Value::Text(s.filter(|s| !s.is_empty()).map(str::to_owned))
    }
}

/// Binds one value onto a query.
pub fn bind<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    value: &'q Value,
) -> Query<'q, Any, AnyArguments<'q>> {
    match value {
        Value::Int(v) => query.bind(*v),
        Value::Real(v) => query.bind(*v),
        Value::Text(v) => query.bind(v.as_deref()),
        Value::Bool(v) => query.bind(v.map(i64::from)),
    }
}

/// A multi-row `INSERT` for one table, split into statements that stay under
/// the backend's parameter limit.
#[derive(Debug, Clone)]
pub struct BulkInsert {
    backend: Backend,
    table: String,
    column_list: String,
    head: String,
    tail: String,
    columns: usize,
}

impl BulkInsert {
    /// `INSERT INTO table (columns…) VALUES … tail`, where `tail` is e.g. an
    /// `ON CONFLICT` clause. `table`, `columns` and `tail` are fixed SQL from
    /// this program, never user input; values are always bound.
    pub fn new(backend: Backend, table: &str, columns: &[&str], tail: &str) -> Self {
        BulkInsert {
            backend,
            table: table.to_owned(),
            column_list: columns.join(", "),
            head: format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")),
            tail: tail.to_owned(),
            columns: columns.len(),
        }
    }

    /// Rows per statement.
    pub fn rows_per_statement(&self) -> usize {
        (self.backend.max_params() / self.columns.max(1)).clamp(1, ROWS_PER_STATEMENT)
    }

    fn sql(&self, rows: usize) -> String {
        let mut sql =
            String::with_capacity(self.head.len() + rows * self.columns * 7 + self.tail.len());
        sql.push_str(&self.head);
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..self.columns {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push_str(&self.backend.placeholder(n));
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(&self.tail);
        sql
    }

    /// Inserts `rows` (each exactly as many values as columns) and returns
    /// the rows affected (inserted or updated).
    pub async fn execute(&self, conn: &mut AnyConnection, rows: &[Vec<Value>]) -> Result<u64> {
        let mut affected = 0;
        let per = self.rows_per_statement();
        let full_sql = self.sql(per);
        for chunk in rows.chunks(per) {
            let partial;
            let sql = if chunk.len() == per {
                &full_sql
            } else {
                partial = self.sql(chunk.len());
                &partial
            };
            let mut query = sqlx::query(sql);
            for row in chunk {
                debug_assert_eq!(row.len(), self.columns);
                for value in row {
                    query = bind(query, value);
                }
            }
            affected += query.execute(&mut *conn).await?.rows_affected();
        }
        Ok(affected)
    }
}

impl BulkInsert {
    /// Inserts `rows` like [`BulkInsert::execute`], the tail ending in a
    /// `RETURNING` clause, and returns the rows it returned.
    pub async fn returning(
        &self,
        conn: &mut AnyConnection,
        rows: &[Vec<Value>],
    ) -> Result<Vec<sqlx::any::AnyRow>> {
        let mut out = Vec::with_capacity(rows.len());
        let per = self.rows_per_statement();
        for chunk in rows.chunks(per) {
            let sql = self.sql(chunk.len());
            let mut query = sqlx::query(&sql);
            for row in chunk {
                debug_assert_eq!(row.len(), self.columns);
                for value in row {
                    query = bind(query, value);
                }
            }
            out.extend(query.fetch_all(&mut *conn).await?);
        }
        Ok(out)
    }
}

/// Rows below which a chunk goes by multi-row `INSERT` even on PostgreSQL:
/// `COPY` costs three round trips a chunk.
const COPY_MIN_ROWS: usize = 512;

/// A bulk load into one table within a caller's transaction.
///
/// On SQLite it is [`BulkInsert`]. On PostgreSQL the rows travel by `COPY`
/// (text format) on a connection of its own into an unlogged staging table
/// (`stage_<table>`: the table's columns, a chunk number and a row number),
/// and the caller's transaction moves each chunk into the table with one
/// `INSERT … SELECT … ORDER BY` carrying the same conflict clause — so the
/// load stays all-or-nothing in the caller's transaction while the rows
/// skip the bind parameters (`Any` converts every value twice, and the
/// server parses a statement of thousands of parameters per 256 rows). A
/// chunk's staged rows are deleted once moved; rows a crash left behind
/// belong to no live chunk and are cleared by the next load of the table.
pub struct BulkLoader {
    insert: BulkInsert,
    copy: Option<Copy>,
}

struct Copy {
    conn: sqlx::PgConnection,
    copy_sql: String,
    move_sql: String,
    delete_sql: String,
}

impl BulkLoader {
    /// A loader for `insert` on `store`; `copy: false` keeps to multi-row
    /// `INSERT`s on PostgreSQL too.
    pub async fn new(store: &crate::Store, insert: BulkInsert, copy: bool) -> Result<BulkLoader> {
        if store.backend() != Backend::Postgres || !copy {
            return Ok(BulkLoader { insert, copy: None });
        }
        use sqlx::{ConnectOptions, Executor};
        let options: sqlx::postgres::PgConnectOptions =
            store
                .location()
                .url()
                .parse()
                .map_err(|e| crate::StoreError::Connect {
                    location: store.location().to_string(),
                    source: e,
                })?;
        // Like the pool's: bulk statements are long by design.
        let mut conn = options
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(
                tracing::log::LevelFilter::Off,
                std::time::Duration::from_secs(60),
            )
            .connect()
            .await?;
        let table = &insert.table;
        let columns = &insert.column_list;
        let stage = format!("stage_{table}");
        // The staging table is made from the table itself, so it follows
        // the migrations; made once, kept (unlogged: never in the WAL).
        conn.execute(
            format!(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {stage} AS \
                 SELECT CAST(0 AS BIGINT) AS stage_chunk, CAST(0 AS BIGINT) AS stage_row, {columns} \
                 FROM {table} WITH NO DATA; \
                 CREATE INDEX IF NOT EXISTS {stage}_chunk ON {stage} (stage_chunk)"
            )
            .as_str(),
        )
        .await?;
        // Chunks of loads that never finished (a crash): a live chunk is
        // staged and moved within seconds.
        sqlx::query(&format!("DELETE FROM {stage} WHERE stage_chunk < $1"))
            .bind(next_chunk() - 3_600_000_000_000)
            .execute(&mut conn)
            .await?;
        Ok(BulkLoader {
            copy: Some(Copy {
                conn,
                copy_sql: format!("COPY {stage} (stage_chunk, stage_row, {columns}) FROM STDIN"),
                move_sql: format!(
                    "INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} \
                     WHERE stage_chunk = $1 ORDER BY stage_row {}",
                    insert.tail
                ),
                delete_sql: format!("DELETE FROM {stage} WHERE stage_chunk = $1"),
            }),
            insert,
        })
    }

    /// Loads `rows` (each exactly as many values as columns; no conflict
    /// key twice, as for [`BulkInsert::execute`]) through `conn`'s
    /// transaction and returns the rows affected (inserted or updated).
    pub async fn execute(&mut self, conn: &mut AnyConnection, rows: &[Vec<Value>]) -> Result<u64> {
        let Some(copy) = self.copy.as_mut().filter(|_| rows.len() >= COPY_MIN_ROWS) else {
            return self.insert.execute(conn, rows).await;
        };
        let chunk = next_chunk();
        let mut data = Vec::with_capacity(rows.len() * self.insert.columns * 12);
        for (i, row) in rows.iter().enumerate() {
            debug_assert_eq!(row.len(), self.insert.columns);
            copy_row(&mut data, chunk, i, row);
        }
        let mut sink = copy.conn.copy_in_raw(&copy.copy_sql).await?;
        if let Err(e) = sink.send(data).await {
            let _ = sink.abort("send failed").await;
            return Err(e.into());
        }
        sink.finish().await?;
        let moved = sqlx::query(&copy.move_sql)
            .bind(chunk)
            .execute(&mut *conn)
            .await;
        // Staged rows go whether or not the move succeeded.
        sqlx::query(&copy.delete_sql)
            .bind(chunk)
            .execute(&mut copy.conn)
            .await?;
        Ok(moved?.rows_affected())
    }
}

/// A new chunk number: the clock in nanoseconds with this process's id in
/// the low ten bits, increasing within the process. Distinct across
/// loaders and processes, and a chunk's number tells its age, so rows a
/// crash left staged are told from live ones.
fn next_chunk() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let pid = i64::from(std::process::id() % 1024);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX / 2));
    let now = (now & !1023) | pid;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1024);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL,
/// backslash, tab, newline and carriage return escaped.
fn copy_row(out: &mut Vec<u8>, chunk: i64, row_no: usize, row: &[Value]) {
    use std::io::Write;
    let _ = write!(out, "{chunk}\t{row_no}");
    for value in row {
        out.push(b'\t');
        match value {
            Value::Int(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            Value::Real(Some(v)) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(Some(v)) => out.push(if *v { b'1' } else { b'0' }),
            Value::Text(Some(v)) => {
                for b in v.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
            Value::Int(None) | Value::Real(None) | Value::Bool(None) | Value::Text(None) => {
                out.extend_from_slice(b"\\N")
            }
        }
    }
    out.push(b'\n');
}

/// Reads the rows of `select` (whose columns are named `c0`, `c1`, …; at
/// most one bound integer, `$1`) as one JSON array of arrays that the
/// database builds itself, and parses it: for the million-row reads of a
/// campaign launch (scores, addresses, owners), decoding rows one by one
/// through the Any driver cost about a microsecond a value, five times the
/// query.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    store: &crate::Store,
    select: &str,
    columns: usize,
    bind: Option<i64>,
) -> Result<Vec<T>> {
    let names: Vec<String> = (0..columns).map(|c| format!("r.c{c}")).collect();
    let sql = match store.backend() {
        Backend::Sqlite => format!(
            "SELECT json_group_array(json_array({})) FROM ({select}) AS r",
            names.join(", ")
        ),
        Backend::Postgres => format!(
            "SELECT CAST(COALESCE(json_agg(json_build_array({})), '[]') AS TEXT) FROM ({select}) AS r",
            names.join(", ")
        ),
    };
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    if let Some(b) = bind {
        query = query.bind(b);
    }
    let text = query.fetch_one(store.db()).await?;
    serde_json::from_str(&text)
        .map_err(|e| crate::StoreError::Invalid(format!("reading rows as JSON: {e}")))
}
