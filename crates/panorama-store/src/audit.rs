//! The audit trail: append-only events (who did what to which customer or
//! object, from where, why) and the auditor's search over them.

use std::fmt::Write as _;

use sqlx::FromRow;

use crate::bind::{Bind, bind_all};
use crate::{Result, Store, now_utc};

/// An audit event to append.
#[derive(Debug, Clone, Default)]
pub struct Audit<'a> {
    /// The acting user's id, when known.
    pub user_id: Option<i64>,
    /// Who acted (a login name, or `system`).
    pub actor: &'a str,
    /// What was done (`login`, `customer.view`, `search`, …).
    pub action: &'a str,
    /// The customer concerned.
    pub customer_id: Option<i64>,
    /// Kind of object concerned.
    pub object_type: Option<&'a str>,
    /// Its id.
    pub object_id: Option<&'a str>,
    /// The reason the actor stated (unmasking, exports).
    pub reason: Option<&'a str>,
    /// Client address.
    pub source_ip: Option<&'a str>,
    /// `ok`, `denied` or `failed`; empty means `ok`.
    pub outcome: &'a str,
    /// Anything else worth keeping (never a secret).
    pub detail: Option<&'a str>,
}

pub(crate) async fn insert_audit(conn: &mut sqlx::AnyConnection, a: &Audit<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_event (at, user_id, actor, action, customer_id, object_type, object_id, reason, source_ip, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(now_utc())
    .bind(a.user_id)
    .bind(a.actor)
    .bind(a.action)
    .bind(a.customer_id)
    .bind(a.object_type)
    .bind(a.object_id)
    .bind(a.reason)
    .bind(a.source_ip)
    .bind(if a.outcome.is_empty() { "ok" } else { a.outcome })
    .bind(a.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// Appends an audit event. The trail is append-only: nothing in Panorama
/// updates or deletes its rows.
pub async fn audit(store: &Store, a: &Audit<'_>) -> Result<()> {
    let mut conn = store.db().acquire().await?;
    insert_audit(&mut conn, a).await
}

/// One audit event as read back.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AuditRow {
    /// Id.
    pub id: i64,
    /// When (ISO-8601 UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Customer concerned.
    pub customer_id: Option<i64>,
    /// Object kind.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// Stated reason.
    pub reason: Option<String>,
    /// From where.
    pub source_ip: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// Detail.
    pub detail: Option<String>,
}

/// What an auditor searches the trail by; empty fields do not filter.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AuditFilter {
    /// Actor (exact login name).
    pub actor: Option<String>,
    /// Customer id.
    pub customer: Option<i64>,
    /// Action (exact, or a prefix ending in `.`).
    pub action: Option<String>,
    /// From this instant or date (inclusive).
    pub from: Option<String>,
    /// Up to this date (inclusive).
    pub to: Option<String>,
}

/// The newest `limit` audit events matching `filter`.
pub async fn audit_search(
    store: &Store,
    filter: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let mut sql = String::from(
        "SELECT id, at, actor, action, customer_id, object_type, object_id, reason, source_ip, outcome, detail \
         FROM audit_event WHERE 1 = 1",
    );
    let mut binds: Vec<Bind> = Vec::new();
    let mut add = |sql: &mut String, clause: &str, b: Bind| {
        binds.push(b);
        let _ = write!(
            sql,
            " AND {}",
            clause.replace('?', &format!("${}", binds.len()))
        );
    };
    if let Some(a) = filter.actor.as_deref().filter(|s| !s.is_empty()) {
        add(&mut sql, "actor = ?", Bind::Text(a.to_owned()));
    }
    if let Some(c) = filter.customer {
        add(&mut sql, "customer_id = ?", Bind::Int(c));
    }
    if let Some(a) = filter.action.as_deref().filter(|s| !s.is_empty()) {
        if let Some(prefix) = a.strip_suffix('.') {
            add(&mut sql, "action LIKE ?", Bind::Text(format!("{prefix}.%")));
        } else {
            add(&mut sql, "action = ?", Bind::Text(a.to_owned()));
        }
    }
    if let Some(f) = filter.from.as_deref().filter(|s| !s.is_empty()) {
        add(&mut sql, "at >= ?", Bind::Text(f.to_owned()));
    }
    if let Some(t) = filter.to.as_deref().filter(|s| !s.is_empty()) {
        // A date bound includes the whole day.
        add(&mut sql, "at < ?", Bind::Text(format!("{t}\u{ffff}")));
    }
    binds.push(Bind::Int(limit));
    let _ = write!(sql, " ORDER BY id DESC LIMIT ${}", binds.len());
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}
