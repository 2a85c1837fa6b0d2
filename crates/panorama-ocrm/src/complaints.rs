//! Complaints (投诉): the rules of their life. A complaint is opened (by an
//! agent, an RM or a branch) in a category, from a channel, at a severity,
//! due by its category's SLA; it is worked (`in_progress`), resolved with a
//! resolution note and closed, which queues the customer's survey. Past its
//! SLA an unresolved complaint is escalated to the branch manager over the
//! customer's branch ([`escalate_overdue`], run by the server every minute
//! and by the nightly job); anyone handling it may escalate sooner. The
//! store records each step as an event.

use chrono::{DateTime, Duration, Utc};
use panorama_store::Store;
use panorama_store::complaints::{self as store, ComplaintRow, Step};
use panorama_store::ocrm::Scope;

use crate::{OcrmError, Result};

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

/// Severities.
pub const SEVERITIES: &[&str] = &["normal", "high"];

/// The statuses: open → in_progress → (escalated) → resolved → closed.
pub const STATUSES: &[&str] = &["open", "in_progress", "escalated", "resolved", "closed"];

/// The statuses an overdue complaint is escalated from.
const OVERDUE_FROM: &[&str] = &["open", "in_progress"];

/// Whether a complaint in `status` still runs against its SLA.
pub fn is_unresolved(status: &str) -> bool {
    matches!(status, "open" | "in_progress" | "escalated")
}

/// The SLA of a category and severity, in hours.
pub fn sla_hours(category: &str, severity: &str) -> Option<i64> {
    let hours = CATEGORIES.iter().find(|(c, _)| *c == category)?.1;
    Some(if severity == "high" { hours / 2 } else { hours })
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
    pub fn rule(self) -> (&'static [&'static str], &'static str) {
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

/// A new complaint: its category one of [`CATEGORIES`], its channel one of
/// [`CHANNELS`], its severity one of [`SEVERITIES`].
pub use panorama_store::complaints::NewComplaint;

fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(OcrmError::Invalid(format!(
        "unknown {what} {value:?}; one of {}",
        allowed.join(", ")
    )))
}

/// When a complaint opened at `at` in `category` at `severity` is due.
pub fn due_at(category: &str, severity: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let categories: Vec<&str> = CATEGORIES.iter().map(|c| c.0).collect();
    one_of("category", category, &categories)?;
    one_of("severity", severity, SEVERITIES)?;
    let hours = sla_hours(category, severity).unwrap_or(0);
    Ok(at + Duration::hours(hours))
}

/// Opens a complaint, owned by the customer's RM (or whoever records it
/// when the customer has none), due by its category's SLA.
pub async fn open(store: &Store, c: &NewComplaint<'_>) -> Result<i64> {
    let now = Utc::now();
    let due = due_at(c.category, c.severity, now)?;
    one_of("channel", c.channel, CHANNELS)?;
    Ok(store::insert(store, c, now, due).await?)
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
    let Some(row) = store::get(store, scope, id).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    let (from, to) = action.rule();
    if !from.contains(&row.status.as_str()) {
        return Ok(Err(Refusal::WrongStatus(row.status)));
    }
    if action == Action::Resolve && note.is_none() {
        return Ok(Err(Refusal::NoteNeeded));
    }
    let step = Step {
        to,
        note,
        actor,
        at: &panorama_store::now_utc(),
        to_branch_manager: action == Action::Escalate,
        queue_survey: action == Action::Close,
    };
    // Guarded by the status read: a racing step changes nothing.
    if store::step(store, &row, &step).await? {
        Ok(Ok(to.to_owned()))
    } else {
        Ok(Err(Refusal::WrongStatus(row.status)))
    }
}

/// Escalates every complaint still open or in progress whose SLA ran out
/// before `now` to its branch manager; returns how many.
pub async fn escalate_overdue(store: &Store, now: &str) -> Result<u64> {
    let due: Vec<ComplaintRow> = store::overdue(store, now, OVERDUE_FROM).await?;
    let mut escalated = 0;
    for row in &due {
        let step = Step {
            to: "escalated",
            note: Some("SLA breached"),
            actor: "sla",
            at: now,
            to_branch_manager: true,
            queue_survey: false,
        };
        if store::step(store, row, &step).await? {
            escalated += 1;
        }
    }
    Ok(escalated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_high_severity_halves_the_sla_and_unknown_values_are_named() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let due = |c, s| due_at(c, s, at).map(|d| (d - at).num_hours());
        assert_eq!(due("fraud", "normal").ok(), Some(24));
        assert_eq!(due("fraud", "high").ok(), Some(12));
        assert_eq!(due("product", "normal").ok(), Some(72));
        let err = due("weather", "normal").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("unknown category \"weather\"")));
        let err = due("card", "urgent").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("severity")));
    }

    #[test]
    fn each_step_is_taken_only_from_its_statuses() {
        assert_eq!(Action::parse("resolve"), Some(Action::Resolve));
        assert_eq!(Action::parse("delete"), None);
        for s in STATUSES {
            let closable = Action::Close.rule().0.contains(s);
            assert_eq!(closable, *s == "resolved", "{s}");
            let escalable = Action::Escalate.rule().0.contains(s);
            assert_eq!(escalable, matches!(*s, "open" | "in_progress"), "{s}");
        }
        assert!(
            STATUSES
                .iter()
                .all(|s| is_unresolved(s) == Action::Resolve.rule().0.contains(s))
        );
    }
}
