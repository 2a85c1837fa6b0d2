//! Assignment of customers to RMs (客户归属): moves in one or in bulk,
//! reclaiming to the branch's pool, each customer's history (the
//! assignment rows are never deleted: a move closes one and opens the
//! next) and suggestions when a customer's tier crosses into or out of the
//! wealth tiers. Every change is audited per customer.

use std::collections::HashMap;

use sqlx::FromRow;

use crate::bind::{Bind, bind_all, bind_each};
use crate::bulk::{BulkInsert, Value};
use crate::scope::Scope;
use crate::{Result, Store, StoreError, now_utc};

/// Kinds of RM portfolio.
pub const PORTFOLIOS: &[&str] = &["general", "wealth", "corporate"];

/// Customers handled per statement.
const CHUNK: usize = 500;

/// A move of customers to an RM, or back to the pool (`to_rm` `None`).
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    /// The customers.
    pub customers: &'a [i64],
    /// The receiving RM; `None` reclaims.
    pub to_rm: Option<i64>,
    /// Why (kept with each assignment).
    pub reason: &'a str,
    /// Who.
    pub actor: &'a str,
    /// The mover's scope: customers and the RM must lie in it.
    pub scope: &'a Scope,
    /// Effective date (YYYY-MM-DD).
    pub on: &'a str,
}

/// What a transfer did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransferReport {
    /// Customers moved (or reclaimed).
    pub moved: u64,
    /// Customers already with that RM (or already unassigned).
    pub unchanged: u64,
    /// Customers not found, not active or outside the mover's scope:
    /// nothing was changed for them.
    pub refused: Vec<i64>,
}

/// `$from, …` for `n` binds: numbered on both stores (SQLite reads `$N`
/// by its number, so they mix with the numbered binds of a condition).
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `rm` is an active RM inside `scope`.
pub async fn rm_in_scope(store: &Store, scope: &Scope, rm: i64) -> Result<bool> {
    let (cond, bind) = match scope {
        Scope::Subtree(path) => (
            "AND o.path LIKE $2".to_owned(),
            Some(Bind::Text(format!("{path}%"))),
        ),
        Scope::All => (String::new(), None),
        // An RM moves nobody.
        Scope::Assigned(_) => return Ok(false),
    };
    let mut binds = vec![Bind::Int(rm)];
    binds.extend(bind);
    let sql = format!(
        "SELECT COUNT(*) FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id \
         WHERE u.id = $1 AND u.role = 'rm' AND u.active = 1 {cond}"
    );
    let (n,): (i64,) = bind_all(sqlx::query_as(&sql), &binds)
        .fetch_one(store.db())
        .await?;
    Ok(n == 1)
}

/// Moves `t.customers` to `t.to_rm` (or reclaims them): in one transaction,
/// closing each current primary assignment and opening the new one, with
/// an audit event per customer moved. Customers outside the scope are
/// refused and left as they are; a receiving RM outside it is an error.
pub async fn transfer(store: &Store, t: &Transfer<'_>) -> Result<TransferReport> {
    if matches!(t.scope, Scope::Assigned(_)) {
        return Err(StoreError::Invalid("an RM cannot assign customers".into()));
    }
    if let Some(rm) = t.to_rm
        && !rm_in_scope(store, t.scope, rm).await?
    {
        return Err(StoreError::Invalid(format!(
            "user {rm} is not an active RM in your org units"
        )));
    }
    let backend = store.backend();
    let mut report = TransferReport::default();
    let mut wanted: Vec<i64> = t.customers.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let now = now_utc();
    let mut tx = store.begin().await?;
    let insert = BulkInsert::new(
        backend,
        "assignment",
        &[
            "customer_id",
            "rm_user_id",
            "role",
            "from_date",
            "reason",
            "assigned_by",
        ],
        "",
    );
    let audit = BulkInsert::new(
        backend,
        "audit_event",
        &[
            "at",
            "actor",
            "action",
            "customer_id",
            "object_type",
            "object_id",
            "outcome",
            "detail",
        ],
        "",
    );
    let action = if t.to_rm.is_some() {
        "assignment.transfer"
    } else {
        "assignment.reclaim"
    };
    for chunk in wanted.chunks(CHUNK) {
        let (cond, bind) = t.scope.customer_condition(chunk.len() + 1);
        let sql = format!(
            "SELECT c.id FROM customer c WHERE c.id IN ({}) AND c.status = 'active' AND {cond}",
            placeholders(1, chunk.len())
        );
        let mut binds: Vec<Bind> = chunk.iter().map(|c| Bind::Int(*c)).collect();
        binds.extend(bind);
        let found: Vec<(i64,)> = bind_all(sqlx::query_as(&sql), &binds)
            .fetch_all(&mut *tx)
            .await?;
        let found: std::collections::HashSet<i64> = found.into_iter().map(|(c,)| c).collect();
        report
            .refused
            .extend(chunk.iter().filter(|c| !found.contains(c)));
        let ids: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|c| found.contains(c))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT customer_id, rm_user_id FROM assignment \
             WHERE customer_id IN ({}) AND role = 'primary' AND to_date IS NULL",
            placeholders(1, ids.len())
        );
        let binds: Vec<Bind> = ids.iter().map(|c| Bind::Int(*c)).collect();
        let current: HashMap<i64, i64> = bind_all(sqlx::query_as::<_, (i64, i64)>(&sql), &binds)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let moving: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|c| current.get(c).copied() != t.to_rm)
            .collect();
        report.unchanged += (ids.len() - moving.len()) as u64;
        if moving.is_empty() {
            continue;
        }
        let sql = format!(
            "UPDATE assignment SET to_date = $1 \
             WHERE customer_id IN ({}) AND role = 'primary' AND to_date IS NULL",
            placeholders(2, moving.len())
        );
        let mut binds = vec![Bind::Text(t.on.to_owned())];
        binds.extend(moving.iter().map(|c| Bind::Int(*c)));
        bind_each(sqlx::query(&sql), &binds)
            .execute(&mut *tx)
            .await?;
        if let Some(rm) = t.to_rm {
            let rows: Vec<Vec<Value>> = moving
                .iter()
                .map(|c| {
                    vec![
                        Value::Int(Some(*c)),
                        Value::Int(Some(rm)),
                        Value::text("primary"),
                        Value::text(t.on),
                        Value::text(t.reason),
                        Value::text(t.actor),
                    ]
                })
                .collect();
            insert.execute(&mut tx, &rows).await?;
        }
        let events: Vec<Vec<Value>> = moving
            .iter()
            .map(|c| {
                let from = current
                    .get(c)
                    .map_or_else(|| "pool".to_owned(), |r| r.to_string());
                let to = t.to_rm.map_or_else(|| "pool".to_owned(), |r| r.to_string());
                vec![
                    Value::text(&now),
                    Value::text(t.actor),
                    Value::text(action),
                    Value::Int(Some(*c)),
                    Value::text("assignment"),
                    Value::text(&c.to_string()),
                    Value::text("ok"),
                    Value::Text(Some(format!("from={from} to={to} reason={:?}", t.reason))),
                ]
            })
            .collect();
        audit.execute(&mut tx, &events).await?;
        report.moved += moving.len() as u64;
    }
    tx.commit().await?;
    Ok(report)
}

/// One assignment in a customer's history.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AssignmentRow {
    /// Id.
    pub id: i64,
    /// The RM.
    pub rm_user_id: i64,
    /// Their login.
    pub rm_username: String,
    /// Their name.
    pub rm_name: String,
    /// `primary` or `secondary`.
    pub role: String,
    /// From.
    pub from_date: String,
    /// To (open when none).
    pub to_date: Option<String>,
    /// Why.
    pub reason: String,
    /// By whom.
    pub assigned_by: String,
}

/// A customer's assignments, newest first.
pub async fn history(store: &Store, customer: i64) -> Result<Vec<AssignmentRow>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.rm_user_id, u.username AS rm_username, u.display_name AS rm_name, a.role, \
           a.from_date, a.to_date, a.reason, a.assigned_by \
         FROM assignment a JOIN app_user u ON u.id = a.rm_user_id \
         WHERE a.customer_id = $1 ORDER BY a.id DESC",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// An RM a branch manager may assign to, with their current book.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct RmRow {
    /// Id.
    pub id: i64,
    /// Login.
    pub username: String,
    /// Name.
    pub display_name: String,
    /// Org unit code.
    pub org_code: String,
    /// `general`, `wealth` or `corporate`.
    pub portfolio: String,
    /// Customers assigned now (primary).
    pub customers: i64,
}

/// The active RMs in `scope` with their books, by org unit and login.
pub async fn rms(store: &Store, scope: &Scope) -> Result<Vec<RmRow>> {
    let (cond, binds) = match scope {
        Scope::Subtree(path) => ("AND o.path LIKE $1", vec![Bind::Text(format!("{path}%"))]),
        Scope::All => ("", Vec::new()),
        Scope::Assigned(user) => ("AND u.id = $1", vec![Bind::Int(*user)]),
    };
    let sql = format!(
        "SELECT u.id, u.username, u.display_name, o.code AS org_code, u.portfolio, \
           (SELECT COUNT(*) FROM assignment a WHERE a.rm_user_id = u.id AND a.to_date IS NULL \
              AND a.role = 'primary') AS customers \
         FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id \
         WHERE u.role = 'rm' AND u.active = 1 {cond} ORDER BY o.path, u.username"
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// A suggested move after a tier change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Suggestion {
    /// Customer.
    pub customer_id: i64,
    /// Customer name (mask before showing).
    pub name: String,
    /// Customer number.
    pub customer_no: String,
    /// Tier before and now.
    pub previous_tier: String,
    /// Tier now.
    pub tier: String,
    /// Date of the change.
    pub as_of: String,
    /// Their RM now (none: in the pool).
    pub from_rm: Option<i64>,
    /// The suggested RM.
    pub to_rm: i64,
    /// `wealth` (upgraded into the wealth tiers) or `general` (out of them).
    pub portfolio: String,
}

/// Suggestions from the latest tier changes in `scope`: a customer who
/// entered the `wealth_tiers` and is not with a wealth RM should move to
/// the wealth RM of their home org unit with the smallest book; one who left
/// them, from a wealth RM to the general RM with the smallest book. Org
/// units without an RM of that kind get no suggestion.
pub async fn suggestions(
    store: &Store,
    scope: &Scope,
    wealth_tiers: &[&str],
    limit: i64,
) -> Result<Vec<Suggestion>> {
    let latest: Option<String> =
        sqlx::query_scalar("SELECT MAX(as_of) FROM tier_history WHERE previous_tier IS NOT NULL")
            .fetch_one(store.db())
            .await?;
    let Some(latest) = latest else {
        return Ok(Vec::new());
    };
    let (cond, bind) = scope.customer_condition(2);
    let mut binds = vec![Bind::Text(latest)];
    binds.extend(bind);
    let sql = format!(
        "SELECT h.customer_id, c.name, c.customer_no, h.previous_tier, h.tier, h.as_of, \
           c.home_org_unit_id, a.rm_user_id, u.portfolio \
         FROM tier_history h JOIN customer c ON c.id = h.customer_id \
         LEFT JOIN assignment a ON a.customer_id = c.id AND a.role = 'primary' AND a.to_date IS NULL \
         LEFT JOIN app_user u ON u.id = a.rm_user_id \
         WHERE h.as_of = $1 AND h.previous_tier IS NOT NULL AND c.status = 'active' AND {cond} \
         ORDER BY h.customer_id"
    );
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let changes: Vec<Row> = bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?;
    // The smallest book of each kind per org unit.
    let books = rms(store, &Scope::All).await?;
    let org_ids: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT code, id FROM org_unit")
            .fetch_all(store.db())
            .await?
            .into_iter()
            .collect();
    let mut best: HashMap<(i64, &str), (i64, i64)> = HashMap::new();
    for r in &books {
        let Some(org) = org_ids.get(&r.org_code) else {
            continue;
        };
        let entry = best
            .entry((*org, r.portfolio.as_str()))
            .or_insert((r.id, r.customers));
        if r.customers < entry.1 {
            *entry = (r.id, r.customers);
        }
    }
    let mut out = Vec::new();
    for (customer_id, name, customer_no, previous, tier, as_of, org, rm, portfolio) in changes {
        let was = wealth_tiers.contains(&previous.as_str());
        let is = wealth_tiers.contains(&tier.as_str());
        let wanted = match (was, is) {
            (false, true) if portfolio.as_deref() != Some("wealth") => "wealth",
            (true, false) if portfolio.as_deref() == Some("wealth") => "general",
            _ => continue,
        };
        let Some(&(to_rm, _)) = org.and_then(|o| best.get(&(o, wanted))) else {
            continue;
        };
        if Some(to_rm) == rm {
            continue;
        }
        out.push(Suggestion {
            customer_id,
            name,
            customer_no,
            previous_tier: previous,
            tier,
            as_of,
            from_rm: rm,
            to_rm,
            portfolio: wanted.to_owned(),
        });
        if out.len() as i64 >= limit {
            break;
        }
    }
    Ok(out)
}

/// The customers of a saved segment now (open memberships).
pub async fn segment_customers(store: &Store, segment: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT customer_id FROM segment_member WHERE segment_id = $1 AND left_on IS NULL ORDER BY customer_id",
    )
    .bind(segment)
    .fetch_all(store.db())
    .await?)
}

/// Customer ids by customer number (numbers not found are left out).
pub async fn ids_by_number(store: &Store, numbers: &[String]) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in numbers.chunks(CHUNK) {
        let sql = format!(
            "SELECT customer_no, id FROM customer WHERE customer_no IN ({})",
            placeholders(1, chunk.len())
        );
        let binds: Vec<Bind> = chunk.iter().map(|n| Bind::Text(n.clone())).collect();
        out.extend(
            bind_all(sqlx::query_as::<_, (String, i64)>(&sql), &binds)
                .fetch_all(store.db())
                .await?,
        );
    }
    Ok(out)
}
