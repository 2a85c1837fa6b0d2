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
