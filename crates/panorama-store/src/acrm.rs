//! Queries behind ACRM: analytics runs, headline features per as-of date,
//! the tier history, saved segments and their membership history.

use serde::Serialize;
use sqlx::AnyConnection;

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

use crate::{Backend, BulkInsert, BulkLoader, Result, Store, StoreError, Value, now_utc};

/// Starts an analytics run (committed as `running` at once, so a crash
/// leaves a trace).
pub async fn begin_run(store: &Store, as_of: &str) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO analytics_run (as_of, started_at, status) VALUES ($1, $2, 'running') RETURNING id",
    )
    .bind(as_of)
    .bind(now_utc())
    .fetch_one(store.db())
    .await?;
    Ok(id)
}

/// Marks a run committed or failed, with its report.
pub async fn finish_run(store: &Store, id: i64, ok: bool, report: &str) -> Result<()> {
    sqlx::query(
        "UPDATE analytics_run SET status = $1, finished_at = $2, report = $3 WHERE id = $4",
    )
    .bind(if ok { "committed" } else { "failed" })
    .bind(now_utc())
    .bind(report)
    .bind(id)
    .execute(store.db())
    .await?;
    Ok(())
}

/// The latest business date in the data: the last transaction or month-end
/// balance, as `YYYY-MM-DD`.
pub async fn latest_business_date(store: &Store) -> Result<Option<String>> {
    let txn: Option<String> = sqlx::query_scalar("SELECT MAX(booked_at) FROM txn")
        .fetch_one(store.db())
        .await?;
    let month: Option<String> = sqlx::query_scalar("SELECT MAX(month) FROM balance_monthly")
        .fetch_one(store.db())
        .await?;
    let extract: Option<String> =
        sqlx::query_scalar("SELECT MAX(extract_date) FROM ingest_batch WHERE status = 'committed'")
            .fetch_one(store.db())
            .await?;
    Ok(extract
        .filter(|d| d.len() >= 10)
        .map(|d| d[..10].to_owned())
        .or_else(|| txn.filter(|t| t.len() >= 10).map(|t| t[..10].to_owned()))
        .or(month.map(|m| format!("{m}-28"))))
}

/// Headline features of one customer on one date.
#[derive(Debug, Clone)]
pub struct FeatureRow {
    /// Customer.
    pub customer_id: i64,
    /// AUM at the month end.
    pub aum_minor: i64,
    /// Monthly average AUM.
    pub aum_avg_minor: i64,
    /// Loan balance.
    pub loan_minor: i64,
    /// Tier code.
    pub tier: String,
    /// Profit contribution, 12 months.
    pub profit_minor: i64,
    /// The 360° headline numbers as a JSON object.
    pub features: String,
}

/// Removes the headline features of `as_of` (before the batch writes them
/// again with [`write_features`], in the same transaction).
pub async fn clear_features(conn: &mut AnyConnection, as_of: &str) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM customer_features WHERE as_of = $1")
            .bind(as_of)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// The loader [`write_features`] writes through (multi-row `INSERT`s: on a
/// local PostgreSQL `COPY` through staging measured slower for ingest).
pub async fn features_loader(store: &Store) -> Result<BulkLoader> {
    let insert = BulkInsert::new(
        store.backend(),
        "customer_features",
        &[
            "customer_id",
            "as_of",
            "aum_minor",
            "aum_avg_minor",
            "loan_minor",
            "features",
            "tier",
            "profit_minor",
        ],
        "",
    );
    BulkLoader::new(store, insert, false).await
}

/// Writes one chunk of the headline features of `as_of`: the batch streams
/// them chunk by chunk, so no step holds every customer's row.
pub async fn write_features(
    loader: &mut BulkLoader,
    conn: &mut AnyConnection,
    as_of: &str,
    rows: &[FeatureRow],
) -> Result<u64> {
    let values: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| {
            vec![
                Value::Int(Some(r.customer_id)),
                Value::text(as_of),
                Value::Int(Some(r.aum_minor)),
                Value::Int(Some(r.aum_avg_minor)),
                Value::Int(Some(r.loan_minor)),
                Value::text(&r.features),
                Value::text(&r.tier),
                Value::Int(Some(r.profit_minor)),
            ]
        })
        .collect();
    loader.execute(conn, &values).await
}

/// One tier decision as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TierRow {
    /// Customer.
    pub customer_id: i64,
    /// Decision date (a month end).
    pub as_of: String,
    /// Tier code.
    pub tier: String,
    /// Tier before, if any.
    pub previous_tier: Option<String>,
    /// Why.
    pub reason: String,
}

const TIER_COLUMNS: &str =
    "customer_id, as_of, tier, previous_tier, COALESCE(reason, '') AS reason";

/// The ids of active customers, ascending, streamed.
pub fn active_customer_ids(store: &Store) -> BoxStream<'_, Result<i64>> {
    sqlx::query_scalar("SELECT id FROM customer WHERE status = 'active' ORDER BY id")
        .fetch(store.db())
        .map_err(StoreError::from)
        .boxed()
}

/// The stored tier decisions up to `through` (inclusive), by customer and
/// date, streamed.
pub fn tier_rows<'a>(store: &'a Store, through: &'a str) -> BoxStream<'a, Result<TierRow>> {
    sqlx::query_as(
        "SELECT customer_id, as_of, tier, previous_tier, COALESCE(reason, '') AS reason \
         FROM tier_history WHERE as_of <= $1 ORDER BY customer_id, as_of",
    )
    .bind(through)
    .fetch(store.db())
    .map_err(StoreError::from)
    .boxed()
}

/// Applies a tier-history diff: upserts and deletions.
pub async fn write_tiers(
    conn: &mut AnyConnection,
    backend: Backend,
    upserts: &[TierRow],
    deletes: &[(i64, String)],
) -> Result<()> {
    for (customer, as_of) in deletes {
        sqlx::query("DELETE FROM tier_history WHERE customer_id = $1 AND as_of = $2")
            .bind(customer)
            .bind(as_of)
            .execute(&mut *conn)
            .await?;
    }
    let insert = BulkInsert::new(
        backend,
        "tier_history",
        &["customer_id", "as_of", "tier", "previous_tier", "reason"],
        "ON CONFLICT (customer_id, as_of) DO UPDATE SET tier = excluded.tier, \
         previous_tier = excluded.previous_tier, reason = excluded.reason",
    );
    let values: Vec<Vec<Value>> = upserts
        .iter()
        .map(|r| {
            vec![
                Value::Int(Some(r.customer_id)),
                Value::text(&r.as_of),
                Value::text(&r.tier),
                Value::Text(r.previous_tier.clone()),
                Value::text(&r.reason),
            ]
        })
        .collect();
    insert.execute(conn, &values).await?;
    Ok(())
}

/// One customer's tier history, oldest first.
pub async fn customer_tiers(store: &Store, customer_id: i64) -> Result<Vec<TierRow>> {
    let sql =
        format!("SELECT {TIER_COLUMNS} FROM tier_history WHERE customer_id = $1 ORDER BY as_of");
    Ok(sqlx::query_as(&sql)
        .bind(customer_id)
        .fetch_all(store.db())
        .await?)
}

/// The tier migration matrix between two dates: (tier at `from` or `None`
/// for customers without one yet, tier at `to`, customers).
pub async fn tier_migration(
    store: &Store,
    from: &str,
    to: &str,
) -> Result<Vec<(Option<String>, String, i64)>> {
    let sql = "WITH at_from AS ( \
           SELECT h.customer_id, h.tier FROM tier_history h \
           JOIN (SELECT customer_id, MAX(as_of) AS as_of FROM tier_history WHERE as_of <= $1 GROUP BY customer_id) l \
             ON l.customer_id = h.customer_id AND l.as_of = h.as_of), \
         at_to AS ( \
           SELECT h.customer_id, h.tier FROM tier_history h \
           JOIN (SELECT customer_id, MAX(as_of) AS as_of FROM tier_history WHERE as_of <= $2 GROUP BY customer_id) l \
             ON l.customer_id = h.customer_id AND l.as_of = h.as_of) \
         SELECT f.tier, t.tier, COUNT(*) FROM at_to t \
         JOIN customer c ON c.id = t.customer_id AND c.status = 'active' \
         LEFT JOIN at_from f ON f.customer_id = t.customer_id \
         GROUP BY f.tier, t.tier";
    let rows: Vec<(Option<String>, String, i64)> = sqlx::query_as(sql)
        .bind(from)
        .bind(to)
        .fetch_all(store.db())
        .await?;
    Ok(rows)
}

/// Tier changes decided in a date range (inclusive): the events RM alerts
/// are raised from.
pub async fn tier_changes(store: &Store, from: &str, to: &str, limit: i64) -> Result<Vec<TierRow>> {
    let sql = format!(
        "SELECT {TIER_COLUMNS} FROM tier_history \
         WHERE as_of >= $1 AND as_of <= $2 AND previous_tier IS NOT NULL \
         ORDER BY as_of, customer_id LIMIT $3"
    );
    Ok(sqlx::query_as(&sql)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(store.db())
        .await?)
}

/// A saved segment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SegmentRow {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Condition text (rule) or JSON (cluster).
    pub definition: String,
    /// `rule` or `cluster`.
    pub kind: String,
    /// Free text.
    pub description: Option<String>,
    /// Who saved it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// Last refresh date.
    pub refreshed_on: Option<String>,
    /// Members at the last refresh.
    pub member_count: Option<i64>,
}

const SEGMENT_COLUMNS: &str =
    "id, name, definition, kind, description, created_by, created_at, refreshed_on, member_count";

/// All saved segments, by name.
pub async fn segments(store: &Store) -> Result<Vec<SegmentRow>> {
    let sql = format!("SELECT {SEGMENT_COLUMNS} FROM segment ORDER BY name");
    Ok(sqlx::query_as(&sql).fetch_all(store.db()).await?)
}

/// A saved segment by name.
pub async fn segment(store: &Store, name: &str) -> Result<Option<SegmentRow>> {
    let sql = format!("SELECT {SEGMENT_COLUMNS} FROM segment WHERE name = $1");
    Ok(sqlx::query_as(&sql)
        .bind(name)
        .fetch_optional(store.db())
        .await?)
}

/// Saves a new segment (names are unique) and audits it.
pub async fn insert_segment(
    conn: &mut AnyConnection,
    name: &str,
    kind: &str,
    definition: &str,
    description: Option<&str>,
    by: &str,
) -> Result<i64> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM segment WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "a segment named '{name}' exists; choose another name or delete it first"
        )));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO segment (name, definition, kind, description, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(name)
    .bind(definition)
    .bind(kind)
    .bind(description)
    .bind(by)
    .bind(now_utc())
    .fetch_one(&mut *conn)
    .await?;
    crate::ecif::audit(
        conn,
        by,
        "segment.save",
        None,
        &format!("{name}: {definition}"),
    )
    .await?;
    Ok(id)
}

/// Deletes a segment with its membership history, audited.
pub async fn delete_segment(conn: &mut AnyConnection, id: i64, name: &str, by: &str) -> Result<()> {
    sqlx::query("DELETE FROM segment_member WHERE segment_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM segment WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    crate::ecif::audit(conn, by, "segment.delete", None, name).await
}

/// Customers currently in a segment (membership not closed).
pub async fn open_members(conn: &mut AnyConnection, segment_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT customer_id FROM segment_member WHERE segment_id = $1 AND left_on IS NULL",
    )
    .bind(segment_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Records who entered and left a segment on `as_of`.
pub async fn apply_membership(
    conn: &mut AnyConnection,
    backend: Backend,
    segment_id: i64,
    as_of: &str,
    entered: &[i64],
    left: &[i64],
    members: i64,
) -> Result<()> {
    // Leaving: close the open membership (chunked IN lists of bound ids).
    for chunk in left.chunks(500) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| backend.placeholder(i + 3))
            .collect();
        let sql = format!(
            "UPDATE segment_member SET left_on = {} WHERE segment_id = {} AND left_on IS NULL AND customer_id IN ({})",
            backend.placeholder(1),
            backend.placeholder(2),
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(as_of).bind(segment_id);
        for id in chunk {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    let insert = BulkInsert::new(
        backend,
        "segment_member",
        &["segment_id", "customer_id", "entered_on"],
        // Re-entering on the day one left: reopen that membership.
        "ON CONFLICT (segment_id, customer_id, entered_on) DO UPDATE SET left_on = NULL",
    );
    let rows: Vec<Vec<Value>> = entered
        .iter()
        .map(|c| {
            vec![
                Value::Int(Some(segment_id)),
                Value::Int(Some(*c)),
                Value::text(as_of),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await?;
    sqlx::query("UPDATE segment SET refreshed_on = $1, member_count = $2 WHERE id = $3")
        .bind(as_of)
        .bind(members)
        .bind(segment_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A member of a segment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    /// Customer id.
    pub customer_id: i64,
    /// Customer number.
    pub customer_no: String,
    /// Entered on.
    pub entered_on: String,
    /// Left on (history only).
    pub left_on: Option<String>,
}

/// A segment's current members, or its whole history.
pub async fn members(
    store: &Store,
    segment_id: i64,
    history: bool,
    limit: i64,
) -> Result<Vec<MemberRow>> {
    let sql = format!(
        "SELECT m.customer_id, c.customer_no, m.entered_on, m.left_on FROM segment_member m \
         JOIN customer c ON c.id = m.customer_id WHERE m.segment_id = $1 {} \
         ORDER BY m.customer_id, m.entered_on LIMIT $2",
        if history { "" } else { "AND m.left_on IS NULL" }
    );
    Ok(sqlx::query_as(&sql)
        .bind(segment_id)
        .bind(limit)
        .fetch_all(store.db())
        .await?)
}
