//! Complaints (投诉) with SLA timers and escalation; their surveys are in
//! [`crate::surveys`].
//!
//! A complaint is opened (by an agent, an RM or a branch), owned by the
//! customer's RM, worked (`in_progress`), resolved with a resolution and
//! closed, which queues the customer's survey invitation. Past its SLA an unresolved
//! complaint is escalated to the branch manager over the customer's branch
//! ([`escalate_overdue`], run by the server every minute and by the batch);
//! anyone handling it may escalate sooner. Every step is an event.

use chrono::{DateTime, Duration, Utc};
use sqlx::FromRow;

use crate::ocrm::{Bind, Scope, bind_all};
use crate::{Result, Store, StoreError, now_utc};

/// Complaint categories and their SLA in hours (a `high` severity halves it).
pub const CATEGORIES: &[(&str, i64)] = &[
    ("fraud", 24),
    ("card", 48),
    ("fees", 48),
    ("service", 48),
    ("product", 72),
    ("other", 72),
];

/// Where a complaint came in.
pub const CHANNELS: &[&str] = &["phone", "branch", "app", "letter", "regulator"];

/// The statuses: open → in_progress → (escalated) → resolved → closed.
pub const STATUSES: &[&str] = &["open", "in_progress", "escalated", "resolved", "closed"];

/// Whether a complaint in `status` still runs against its SLA.
pub fn is_unresolved(status: &str) -> bool {
    matches!(status, "open" | "in_progress" | "escalated")
}

/// The SLA of a category and severity, in hours.
pub fn sla_hours(category: &str, severity: &str) -> Option<i64> {
    let hours = CATEGORIES.iter().find(|(c, _)| *c == category)?.1;
    Some(if severity == "high" { hours / 2 } else { hours })
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A new complaint.
#[derive(Debug, Clone)]
pub struct NewComplaint<'a> {
    /// Customer.
    pub customer_id: i64,
    /// One of [`CATEGORIES`].
    pub category: &'a str,
    /// One of [`CHANNELS`].
    pub channel: &'a str,
    /// `normal` or `high`.
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

/// Opens a complaint, owned by the customer's RM (or whoever records it
/// when the customer has none), due by its category's SLA.
pub async fn open(store: &Store, c: &NewComplaint<'_>) -> Result<i64> {
    let Some(hours) = sla_hours(c.category, c.severity) else {
        return Err(StoreError::Invalid(format!(
            "unknown category {:?}; one of {}",
            c.category,
            CATEGORIES
                .iter()
                .map(|c| c.0)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    if !CHANNELS.contains(&c.channel) {
        return Err(StoreError::Invalid(format!(
            "unknown channel {:?}; one of {}",
            c.channel,
            CHANNELS.join(", ")
        )));
    }
    if !matches!(c.severity, "normal" | "high") {
        return Err(StoreError::Invalid("severity is normal or high".into()));
    }
    let now = Utc::now();
    let mut tx = store.begin().await?;
    let owner: Option<i64> = sqlx::query_scalar(
        "SELECT rm_user_id FROM assignment WHERE customer_id = $1 AND role = 'primary' AND to_date IS NULL",
    )
    .bind(c.customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    let at = stamp(now);
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
    .bind(stamp(now + Duration::hours(hours)))
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
        .fetch_optional(store.pool())
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
        .fetch_all(store.pool())
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
    .fetch_all(store.pool())
    .await?)
}

/// A step a handler takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// open → in_progress.
    Start,
    /// Unresolved → escalated, to the branch manager.
    Escalate,
    /// Unresolved → resolved (needs a resolution note).
    Resolve,
    /// Resolved → in_progress (the customer disagrees).
    Reopen,
    /// Resolved → closed.
    Close,
}

impl Action {
    /// From its name in a URL.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "start" => Action::Start,
            "escalate" => Action::Escalate,
            "resolve" => Action::Resolve,
            "reopen" => Action::Reopen,
            "close" => Action::Close,
            _ => return None,
        })
    }

    /// The statuses it may be taken from, and the status it leads to.
    fn rule(self) -> (&'static [&'static str], &'static str) {
        match self {
            Action::Start => (&["open"], "in_progress"),
            Action::Escalate => (&["open", "in_progress"], "escalated"),
            Action::Resolve => (&["open", "in_progress", "escalated"], "resolved"),
            Action::Reopen => (&["resolved"], "in_progress"),
            Action::Close => (&["resolved"], "closed"),
        }
    }
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such complaint in scope.
    NotFound,
    /// Not from its current status.
    WrongStatus(String),
    /// A resolution needs a note.
    NoteNeeded,
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

/// Takes `action` on complaint `id` in `scope`, with an optional note (the
/// resolution, for `Resolve`). Returns the new status.
pub async fn act(
    store: &Store,
    scope: &Scope,
    id: i64,
    action: Action,
    note: Option<&str>,
    actor: &str,
) -> Result<std::result::Result<String, Refusal>> {
    let Some(row) = get(store, scope, id).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    let (from, to) = action.rule();
    if !from.contains(&row.status.as_str()) {
        return Ok(Err(Refusal::WrongStatus(row.status)));
    }
    if action == Action::Resolve && note.is_none() {
        return Ok(Err(Refusal::NoteNeeded));
    }
    let at = now_utc();
    let mut tx = store.begin().await?;
    let owner = match action {
        Action::Escalate => branch_manager_of(&mut tx, row.customer_id).await?,
        _ => None,
    };
    // Guarded by the status read: a racing step changes nothing.
    let done = sqlx::query(
        "UPDATE complaint SET status = $1, \
           owner_user_id = COALESCE($2, owner_user_id), \
           escalated_at = CASE WHEN $1 = 'escalated' THEN $3 ELSE escalated_at END, \
           resolved_at = CASE WHEN $1 = 'resolved' THEN $3 WHEN $1 = 'in_progress' THEN NULL ELSE resolved_at END, \
           resolution = CASE WHEN $1 = 'resolved' THEN $4 ELSE resolution END, \
           closed_at = CASE WHEN $1 = 'closed' THEN $3 ELSE closed_at END \
         WHERE id = $5 AND status = $6",
    )
    .bind(to)
    .bind(owner)
    .bind(&at)
    .bind(note)
    .bind(id)
    .bind(&row.status)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(Err(Refusal::WrongStatus(row.status)));
    }
    event(&mut tx, id, &at, actor, to, note).await?;
    if action == Action::Close {
        crate::surveys::queue_invite(&mut tx, "complaint", id, row.customer_id, &at).await?;
    }
    tx.commit().await?;
    Ok(Ok(to.to_owned()))
}

/// Escalates every unresolved, not yet escalated complaint whose SLA ran
/// out before `now` to its branch manager; returns how many.
pub async fn escalate_overdue(store: &Store, now: &str) -> Result<u64> {
    let due: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, customer_id, status FROM complaint \
         WHERE status IN ('open', 'in_progress') AND sla_due_at < $1 ORDER BY sla_due_at",
    )
    .bind(now)
    .fetch_all(store.pool())
    .await?;
    let mut escalated = 0;
    for (id, customer, status) in due {
        let mut tx = store.begin().await?;
        let bm = branch_manager_of(&mut tx, customer).await?;
        let done = sqlx::query(
            "UPDATE complaint SET status = 'escalated', escalated_at = $1, \
               owner_user_id = COALESCE($2, owner_user_id) WHERE id = $3 AND status = $4",
        )
        .bind(now)
        .bind(bm)
        .bind(id)
        .bind(&status)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            event(&mut tx, id, now, "sla", "escalated", Some("SLA breached")).await?;
            escalated += 1;
        }
        tx.commit().await?;
    }
    Ok(escalated)
}
