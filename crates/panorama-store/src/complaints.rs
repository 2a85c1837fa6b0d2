//! Complaints (投诉) as stored: each complaint, its steps as events, and
//! the SQL that moves it from one status to the next. What a complaint may
//! be and do — categories, channels, SLAs, which step from which status,
//! escalation when overdue — is decided in `panorama-ocrm`. Its surveys are
//! in [`crate::surveys`].

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::bind::{Bind, bind_all};
use crate::scope::Scope;
use crate::{Result, Store};

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new complaint (`panorama-ocrm` checks its category, channel and
/// severity against its rules before it is stored).
#[derive(Debug, Clone)]
pub struct NewComplaint<'a> {
    /// Customer.
    pub customer_id: i64,
    /// Category.
    pub category: &'a str,
    /// Channel it came in by.
    pub channel: &'a str,
    /// Severity.
    pub severity: &'a str,
    /// What the customer says.
    pub description: &'a str,
    /// Who records it.
    pub actor: &'a str,
    /// Who records it (their id: the owner when the customer has no RM).
    pub actor_id: i64,
}

/// A complaint as lists and its page show it.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ComplaintRow {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Customer name (mask before showing).
    pub customer_name: String,
    /// Customer number.
    pub customer_no: String,
    /// Category.
    pub category: String,
    /// Channel.
    pub channel: Option<String>,
    /// Severity.
    pub severity: String,
    /// Status.
    pub status: String,
    /// What the customer says.
    pub description: String,
    /// Owner.
    pub owner_user_id: Option<i64>,
    /// Owner's login.
    pub owner: Option<String>,
    /// Opened.
    pub opened_at: String,
    /// Opened by.
    pub opened_by: Option<String>,
    /// SLA deadline.
    pub sla_due_at: String,
    /// Escalated.
    pub escalated_at: Option<String>,
    /// Resolved.
    pub resolved_at: Option<String>,
    /// Resolution.
    pub resolution: Option<String>,
    /// Closed.
    pub closed_at: Option<String>,
}

const COLUMNS: &str = "k.id, k.customer_id, c.name AS customer_name, c.customer_no, k.category, k.channel, \
    k.severity, k.status, k.description, k.owner_user_id, u.username AS owner, k.opened_at, k.opened_by, \
    k.sla_due_at, k.escalated_at, k.resolved_at, k.resolution, k.closed_at";

const FROM: &str = "FROM complaint k JOIN customer c ON c.id = k.customer_id \
    LEFT JOIN app_user u ON u.id = k.owner_user_id";

async fn event(
    conn: &mut crate::AnyConnection,
    id: i64,
    at: &str,
    actor: &str,
    status: &str,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO complaint_event (complaint_id, at, actor, status, note) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(at)
    .bind(actor)
    .bind(status)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts a complaint, status `open`, owned by the customer's RM (or
/// whoever records it when the customer has none), with its first event.
/// `opened_at` and `sla_due_at` (its deadline) are the caller's.
pub async fn insert(
    store: &Store,
    c: &NewComplaint<'_>,
    opened_at: DateTime<Utc>,
    sla_due_at: DateTime<Utc>,
) -> Result<i64> {
    let mut tx = store.begin().await?;
    let owner: Option<i64> = sqlx::query_scalar(
        "SELECT rm_user_id FROM assignment WHERE customer_id = $1 AND role = 'primary' AND to_date IS NULL",
    )
    .bind(c.customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    let at = stamp(opened_at);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO complaint (customer_id, category, status, description, owner_user_id, opened_at, \
           sla_due_at, channel, severity, opened_by) \
         VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(c.customer_id)
    .bind(c.category)
    .bind(c.description)
    .bind(owner.unwrap_or(c.actor_id))
    .bind(&at)
    .bind(stamp(sla_due_at))
    .bind(c.channel)
    .bind(c.severity)
    .bind(c.actor)
    .fetch_one(&mut *tx)
    .await?;
    event(&mut tx, id, &at, c.actor, "open", Some(c.description)).await?;
    tx.commit().await?;
    Ok(id)
}

/// A complaint in `scope` (by its customer).
pub async fn get(store: &Store, scope: &Scope, id: i64) -> Result<Option<ComplaintRow>> {
    let (cond, bind) = scope.customer_condition(2);
    let mut binds = vec![Bind::Int(id)];
    binds.extend(bind);
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE k.id = $1 AND {cond}");
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_optional(store.db())
        .await?)
}

/// Complaints in `scope` (optionally of one status, or of one customer),
/// the most urgent first: unresolved by deadline, then the rest newest first.
pub async fn list(
    store: &Store,
    scope: &Scope,
    status: Option<&str>,
    customer: Option<i64>,
    limit: i64,
) -> Result<Vec<ComplaintRow>> {
    let (cond, bind) = scope.customer_condition(1);
    let mut binds: Vec<Bind> = bind.into_iter().collect();
    let mut wheres = vec![cond];
    if let Some(s) = status {
        binds.push(Bind::Text(s.to_owned()));
        wheres.push(format!("k.status = ${}", binds.len()));
    }
    if let Some(c) = customer {
        binds.push(Bind::Int(c));
        wheres.push(format!("k.customer_id = ${}", binds.len()));
    }
    binds.push(Bind::Int(limit.clamp(1, 1000)));
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE {} \
         ORDER BY CASE WHEN k.status IN ('open', 'in_progress', 'escalated') THEN 0 ELSE 1 END, \
           CASE WHEN k.status IN ('open', 'in_progress', 'escalated') THEN k.sla_due_at END, \
           k.opened_at DESC, k.id DESC LIMIT ${}",
        wheres.join(" AND "),
        binds.len()
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// One step of a complaint's life.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct EventRow {
    /// When.
    pub at: String,
    /// Who (`sla` for an automatic escalation).
    pub actor: String,
    /// The status it moved to.
    pub status: String,
    /// A note.
    pub note: Option<String>,
}

/// A complaint's steps in order.
pub async fn events(store: &Store, id: i64) -> Result<Vec<EventRow>> {
    Ok(sqlx::query_as(
        "SELECT at, actor, status, note FROM complaint_event WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(store.db())
    .await?)
}

/// One step of a complaint, as decided by the caller.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// The status it moves to.
    pub to: &'a str,
    /// A note (the resolution, when resolved).
    pub note: Option<&'a str>,
    /// Who takes it (`sla` for an automatic escalation).
    pub actor: &'a str,
    /// When.
    pub at: &'a str,
    /// Hand it to the branch manager over the customer's branch.
    pub to_branch_manager: bool,
    /// Queue the customer's survey invitation.
    pub queue_survey: bool,
}

/// The branch manager over a customer's home branch (the nearest up the
/// hierarchy), if any.
async fn branch_manager_of(conn: &mut crate::AnyConnection, customer: i64) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT u.id FROM customer c JOIN org_unit home ON home.id = c.home_org_unit_id \
         JOIN app_user u ON u.role = 'branch_manager' AND u.active = 1 \
         JOIN org_unit o ON o.id = u.org_unit_id \
         WHERE c.id = $1 AND home.path LIKE o.path || '%' \
         ORDER BY LENGTH(o.path) DESC, u.id LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(conn)
    .await?)
}

/// Moves complaint `row` from the status it was read in to `step.to`, with
/// its event (and survey invitation); false, changing nothing, when it is
/// no longer in that status (a racing step).
pub async fn step(store: &Store, row: &ComplaintRow, step: &Step<'_>) -> Result<bool> {
    let mut tx = store.begin().await?;
    let owner = if step.to_branch_manager {
        branch_manager_of(&mut tx, row.customer_id).await?
    } else {
        None
    };
    let done = sqlx::query(
        "UPDATE complaint SET status = $1, \
           owner_user_id = COALESCE($2, owner_user_id), \
           escalated_at = CASE WHEN $1 = 'escalated' THEN $3 ELSE escalated_at END, \
           resolved_at = CASE WHEN $1 = 'resolved' THEN $3 WHEN $1 = 'in_progress' THEN NULL ELSE resolved_at END, \
           resolution = CASE WHEN $1 = 'resolved' THEN $4 ELSE resolution END, \
           closed_at = CASE WHEN $1 = 'closed' THEN $3 ELSE closed_at END \
         WHERE id = $5 AND status = $6",
    )
    .bind(step.to)
    .bind(owner)
    .bind(step.at)
    .bind(step.note)
    .bind(row.id)
    .bind(&row.status)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    event(&mut tx, row.id, step.at, step.actor, step.to, step.note).await?;
    if step.queue_survey {
        crate::surveys::queue_invite(&mut tx, "complaint", row.id, row.customer_id, step.at)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Complaints in one of `statuses` whose SLA ran out before `now`, the
/// most overdue first.
pub async fn overdue(store: &Store, now: &str, statuses: &[&str]) -> Result<Vec<ComplaintRow>> {
    let mut binds = vec![Bind::Text(now.to_owned())];
    let mut marks = Vec::new();
    for s in statuses {
        binds.push(Bind::Text((*s).to_owned()));
        marks.push(format!("${}", binds.len()));
    }
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE k.status IN ({}) AND k.sla_due_at < $1 ORDER BY k.sla_due_at, k.id",
        marks.join(", ")
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}
