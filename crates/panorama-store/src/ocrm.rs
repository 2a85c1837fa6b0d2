//! The relationship manager's workbench: users, data scopes, the customer
//! list and 360° view, search, contacts, tasks, alerts and the audit trail.
//!
//! Every customer query takes a [`Scope`] and applies it in SQL, so a
//! customer outside the caller's scope is simply not found.

use std::fmt::Write as _;

use sqlx::FromRow;

use crate::bind::{Bind, bind_all};
use crate::{Result, Store, StoreError, now_utc};

pub(crate) use crate::audit::insert_audit;
pub use crate::audit::{Audit, AuditFilter, AuditRow, audit, audit_search};
pub use crate::scope::Scope;

/// Roles of the workbench (the `app_user.role` values).
pub const ROLES: &[&str] = &[
    "admin",
    "analyst",
    "branch_manager",
    "rm",
    "steward",
    "auditor",
    "executive",
    "agent",
    "teller",
];

/// A user of the workbench, with the materialised path of their org unit.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown in the interface.
    pub display_name: String,
    /// One of [`ROLES`].
    pub role: String,
    /// The user's org unit.
    pub org_unit_id: i64,
    /// Its code.
    pub org_code: String,
    /// Its name.
    pub org_name: String,
    /// Its materialised path (`/1/2/`).
    pub org_path: String,
    /// Argon2 PHC string; `None` means the user cannot log in.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// 1 when the user may log in.
    pub active: i64,
    /// An RM's portfolio kind: `general`, `wealth` or `corporate`.
    pub portfolio: String,
    /// The staff number (员工号) source systems record, e.g. as an
    /// account's seller.
    pub staff_no: Option<String>,
}

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, u.org_unit_id, o.code AS org_code, \
     o.name AS org_name, o.path AS org_path, u.password_hash, u.active, u.portfolio, u.staff_no \
     FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id";

/// The user with this login name.
pub async fn user_by_username(store: &Store, username: &str) -> Result<Option<UserRow>> {
    Ok(
        sqlx::query_as(&format!("{USER_SELECT} WHERE u.username = $1"))
            .bind(username)
            .fetch_optional(store.db())
            .await?,
    )
}

/// The user with this id.
pub async fn user_by_id(store: &Store, id: i64) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(&format!("{USER_SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(store.db())
        .await?)
}

/// All users, by role then name.
pub async fn users(store: &Store) -> Result<Vec<UserRow>> {
    Ok(
        sqlx::query_as(&format!("{USER_SELECT} ORDER BY u.role, u.username"))
            .fetch_all(store.db())
            .await?,
    )
}

/// A user to create or update.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Name shown in the interface.
    pub display_name: &'a str,
    /// One of [`ROLES`].
    pub role: &'a str,
    /// Code of the user's org unit.
    pub org_code: &'a str,
    /// Argon2 PHC string.
    pub password_hash: &'a str,
}

/// Creates the user, or updates the user of that name (role, org unit,
/// password); audited as `user.save` by `actor`. Returns the user's id.
pub async fn save_user(store: &Store, user: &NewUser<'_>, actor: &str) -> Result<i64> {
    if !ROLES.contains(&user.role) {
        return Err(StoreError::Invalid(format!(
            "unknown role {:?}; roles are {}",
            user.role,
            ROLES.join(", ")
        )));
    }
    let mut tx = store.begin().await?;
    let org: Option<i64> = sqlx::query_scalar("SELECT id FROM org_unit WHERE code = $1")
        .bind(user.org_code)
        .fetch_optional(&mut *tx)
        .await?;
    let org = org
        .ok_or_else(|| StoreError::Invalid(format!("no org unit with code {:?}", user.org_code)))?;
    sqlx::query(
        "INSERT INTO app_user (username, display_name, role, org_unit_id, password_hash, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6) \
         ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, \
         org_unit_id = excluded.org_unit_id, password_hash = excluded.password_hash, active = 1",
    )
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.role)
    .bind(org)
    .bind(user.password_hash)
    .bind(now_utc())
    .execute(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM app_user WHERE username = $1")
        .bind(user.username)
        .fetch_one(&mut *tx)
        .await?;
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "user.save",
            object_type: Some("user"),
            object_id: Some(user.username),
            detail: Some(&format!("role={} org={}", user.role, user.org_code)),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes an administrator makes to a user; `None` leaves a field as is.
#[derive(Debug, Clone, Default)]
pub struct UserChange<'a> {
    /// Name shown.
    pub display_name: Option<&'a str>,
    /// One of [`ROLES`].
    pub role: Option<&'a str>,
    /// Code of the org unit.
    pub org_code: Option<&'a str>,
    /// Whether the user may log in.
    pub active: Option<bool>,
    /// A new password's argon2 PHC string (ends the user's sessions).
    pub password_hash: Option<&'a str>,
    /// An RM's portfolio kind (see [`crate::assign::PORTFOLIOS`]).
    pub portfolio: Option<&'a str>,
    /// The staff number source systems record (unique among users).
    pub staff_no: Option<&'a str>,
}

/// Applies `change` to user `id`, audited as `user.update` by `actor` with
/// the fields changed (never the password). `false` when there is no such
/// user.
pub async fn update_user(
    store: &Store,
    id: i64,
    change: &UserChange<'_>,
    actor: &str,
) -> Result<bool> {
    if let Some(role) = change.role
        && !ROLES.contains(&role)
    {
        return Err(StoreError::Invalid(format!(
            "unknown role {role:?}; roles are {}",
            ROLES.join(", ")
        )));
    }
    if let Some(p) = change.portfolio
        && !crate::assign::PORTFOLIOS.contains(&p)
    {
        return Err(StoreError::Invalid(format!(
            "unknown portfolio {p:?}; one of {}",
            crate::assign::PORTFOLIOS.join(", ")
        )));
    }
    let mut tx = store.begin().await?;
    let org: Option<i64> = match change.org_code {
        Some(code) => Some(
            sqlx::query_scalar("SELECT id FROM org_unit WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::Invalid(format!("no org unit with code {code:?}")))?,
        ),
        None => None,
    };
    let username: Option<String> =
        sqlx::query_scalar("SELECT username FROM app_user WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(username) = username else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE app_user SET display_name = COALESCE($1, display_name), role = COALESCE($2, role), \
         org_unit_id = COALESCE($3, org_unit_id), active = COALESCE($4, active), \
         password_hash = COALESCE($5, password_hash), portfolio = COALESCE($6, portfolio), \
         staff_no = COALESCE($8, staff_no) WHERE id = $7",
    )
    .bind(change.display_name)
    .bind(change.role)
    .bind(org)
    .bind(change.active.map(i64::from))
    .bind(change.password_hash)
    .bind(change.portfolio)
    .bind(id)
    .bind(change.staff_no)
    .execute(&mut *tx)
    .await?;
    let detail = format!(
        "display_name={:?} role={:?} org={:?} active={:?} portfolio={:?} staff_no={:?} password_reset={}",
        change.display_name,
        change.role,
        change.org_code,
        change.active,
        change.portfolio,
        change.staff_no,
        change.password_hash.is_some()
    );
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "user.update",
            object_type: Some("user"),
            object_id: Some(&username),
            detail: Some(&detail.to_string()),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A user's preference `name` (JSON), if set.
pub async fn user_pref(store: &Store, user: i64, name: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM user_pref WHERE user_id = $1 AND name = $2")
            .bind(user)
            .bind(name)
            .fetch_optional(store.db())
            .await?,
    )
}

/// Sets a user's preference `name` to `value` (JSON).
pub async fn set_user_pref(store: &Store, user: i64, name: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_pref (user_id, name, value) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value",
    )
    .bind(user)
    .bind(name)
    .bind(value)
    .execute(store.db())
    .await?;
    Ok(())
}

/// Every org unit: (code, name, level), head office first.
pub async fn org_units(store: &Store) -> Result<Vec<(String, String, String)>> {
    Ok(
        sqlx::query_as("SELECT code, name, level FROM org_unit ORDER BY path")
            .fetch_all(store.db())
            .await?,
    )
}

/// Wrong passwords at or after `since` (ISO-8601 UTC): for `username` from
/// `source_ip` since its last successful login, and from `source_ip` for any
/// account.
pub async fn failed_logins_since(
    store: &Store,
    username: &str,
    source_ip: &str,
    since: &str,
) -> Result<(i64, i64)> {
    // Only wrong passwords count: attempts refused while locked do not keep
    // the lock alive. Per account from this address (since its last good
    // login from anywhere), and from this address over all accounts.
    let pair: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE actor = $1 AND action = 'login' AND outcome = 'failed' \
         AND COALESCE(source_ip, '') = $2 AND at >= $3 \
         AND at > COALESCE((SELECT MAX(at) FROM audit_event WHERE actor = $1 AND action = 'login' AND outcome = 'ok'), '')",
    )
    .bind(username)
    .bind(source_ip)
    .bind(since)
    .fetch_one(store.db())
    .await?;
    let address: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'login' AND outcome = 'failed' \
         AND COALESCE(source_ip, '') = $1 AND at >= $2",
    )
    .bind(source_ip)
    .bind(since)
    .fetch_one(store.db())
    .await?;
    Ok((pair, address))
}

/// A customer in a list: who, where, how much, which tier.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct CustomerListRow {
    /// Id.
    pub id: i64,
    /// Customer number.
    pub customer_no: String,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Name (unmasked: the caller masks).
    pub name: String,
    /// Mobile.
    pub mobile: Option<String>,
    /// Birth date.
    pub birth_date: Option<String>,
    /// Home branch code.
    pub branch: Option<String>,
    /// Tier at the latest feature date.
    pub tier: Option<String>,
    /// AUM at the latest feature date, fen.
    pub aum_minor: Option<i64>,
    /// Monthly average AUM, fen.
    pub aum_avg_minor: Option<i64>,
    /// Profit, fen.
    pub profit_minor: Option<i64>,
}

/// Sort orders of the customer list.
pub const SORTS: &[&str] = &[
    "aum_desc",
    "aum_asc",
    "name",
    "tier",
    "profit_desc",
    "score_desc",
];

/// Filters of the customer list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CustomerFilter {
    /// Tier (code, e.g. `platinum`).
    pub tier: Option<String>,
    /// Minimum AUM in yuan.
    pub min_aum: Option<i64>,
    /// Saved segment id.
    pub segment: Option<i64>,
    /// Name prefix.
    pub name: Option<String>,
    /// One of [`SORTS`] (`score_desc` with a `model`).
    pub sort: Option<String>,
    /// An approved model's name: its latest scores join the list.
    pub model: Option<String>,
    /// With `model`: customers scored at least this (0–1).
    pub min_score: Option<f64>,
}

/// The latest as-of date with features, if any.
pub async fn latest_feature_date(store: &Store) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT MAX(as_of) FROM customer_features")
            .fetch_one(store.db())
            .await?,
    )
}

/// One page of the customers in `scope` that match `filter`, and the total.
pub async fn customers(
    store: &Store,
    scope: &Scope,
    filter: &CustomerFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<CustomerListRow>, i64)> {
    let as_of = latest_feature_date(store).await?.unwrap_or_default();
    let name = filter.name.as_deref().filter(|s| !s.is_empty());
    let tier = filter.tier.as_deref().filter(|s| !s.is_empty());
    let by_name = filter.sort.as_deref() == Some("name");
    let mut binds = Vec::new();
    // An RM's list starts from their open assignments (an index range) and
    // reads customer rows only when a filter or the order needs them: an
    // open assignment always belongs to an active customer (merges carry
    // assignments over to the survivor).
    let (key, base, mut wheres) = match scope {
        Scope::Assigned(rm) => {
            binds.push(Bind::Int(*rm));
            let customer = if name.is_some() || by_name {
                " JOIN customer c ON c.id = a.customer_id"
            } else {
                ""
            };
            (
                "a.customer_id",
                format!("FROM assignment a{customer}"),
                vec!["a.rm_user_id = $1 AND a.to_date IS NULL".to_owned()],
            )
        }
        _ => {
            let (cond, bind) = scope.condition(1);
            binds.extend(bind);
            (
                "c.id",
                "FROM customer c".to_owned(),
                vec!["c.status = 'active'".to_owned(), cond],
            )
        }
    };
    if let Some(s) = filter.segment {
        binds.push(Bind::Int(s));
        wheres.push(format!(
            "{key} IN (SELECT m.customer_id FROM segment_member m WHERE m.segment_id = ${} AND m.left_on IS NULL)",
            binds.len()
        ));
    }
    if let Some(n) = name {
        binds.push(Bind::Text(format!("{}%", escape_like(n))));
        wheres.push(format!("c.name LIKE ${} ESCAPE '\\'", binds.len()));
    }
    // An approved model's latest scores: the filter and the order by score.
    let mut base = base;
    let scored = match filter
        .model
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(model) => {
            let run: Option<(i64, Option<String>)> = sqlx::query_as(
                "SELECT m.id, (SELECT MAX(s.as_of) FROM customer_score s WHERE s.model_id = m.id) \
                 FROM model m WHERE m.name = $1 AND m.status = 'approved'",
            )
            .bind(model)
            .fetch_optional(store.db())
            .await?;
            let Some((model_id, Some(scored_on))) = run else {
                return Err(StoreError::Invalid(format!(
                    "no approved model {model:?} with scores"
                )));
            };
            binds.push(Bind::Int(model_id));
            binds.push(Bind::Text(scored_on));
            base.push_str(&format!(
                " JOIN customer_score sc ON sc.customer_id = {key} AND sc.model_id = ${} AND sc.as_of = ${}",
                binds.len() - 1,
                binds.len()
            ));
            if let Some(min) = filter.min_score {
                binds.push(Bind::Real(min));
                wheres.push(format!("sc.score >= ${}", binds.len()));
            }
            true
        }
        None if filter.min_score.is_some() || filter.sort.as_deref() == Some("score_desc") => {
            return Err(StoreError::Invalid(
                "a score filter or order needs a model".to_owned(),
            ));
        }
        None => false,
    };
    // The features of the latest date come last, so a count that needs no
    // feature filter leaves them (and their bind) out.
    binds.push(Bind::Text(as_of.clone()));
    let features = format!(
        " LEFT JOIN customer_features f ON f.customer_id = {key} AND f.as_of = ${}",
        binds.len()
    );
    let mut feature_filter = false;
    if let Some(t) = tier {
        binds.push(Bind::Text(t.to_owned()));
        wheres.push(format!("f.tier = ${}", binds.len()));
        feature_filter = true;
    }
    if let Some(a) = filter.min_aum {
        binds.push(Bind::Int(a.saturating_mul(100)));
        wheres.push(format!("f.aum_minor >= ${}", binds.len()));
        feature_filter = true;
    }
    let wheres = wheres.join(" AND ");
    let from = format!("{base}{features} WHERE {wheres}");
    let total: (i64,) = if feature_filter {
        bind_all(sqlx::query_as(&format!("SELECT COUNT(*) {from}")), &binds)
            .fetch_one(store.db())
            .await?
    } else {
        bind_all(
            sqlx::query_as(&format!("SELECT COUNT(*) {base} WHERE {wheres}")),
            &binds[..binds.len() - 1],
        )
        .fetch_one(store.db())
        .await?
    };
    let richest_first = !matches!(
        filter.sort.as_deref(),
        Some("aum_asc" | "name" | "tier" | "profit_desc" | "score_desc")
    );
    if richest_first && !feature_filter && !scored && name.is_none() && filter.segment.is_none() {
        if let Some(rows) = richest_walk(store, scope, &as_of, page, per_page, total.0).await? {
            return Ok((rows, total.0));
        }
    }
    let (order, outer) = match filter.sort.as_deref() {
        Some("aum_asc") => ("f.aum_minor ASC", "p.aum_minor ASC"),
        Some("name") => ("c.name", "c.name"),
        Some("tier") => ("f.aum_avg_minor DESC", "p.aum_avg_minor DESC"),
        Some("profit_desc") => ("f.profit_minor DESC", "p.profit_minor DESC"),
        Some("score_desc") => ("sc.score DESC", "p.score DESC"),
        _ => ("f.aum_minor DESC", "p.aum_minor DESC"),
    };
    // NULL features (no balances yet) sort last on both engines.
    let order = format!("CASE WHEN f.aum_minor IS NULL THEN 1 ELSE 0 END, {order}, {key}");
    let outer = format!("CASE WHEN p.aum_minor IS NULL THEN 1 ELSE 0 END, {outer}, c.id");
    let score = if scored { "sc.score" } else { "NULL" };
    binds.push(Bind::Int(per_page.clamp(1, 500)));
    let limit = binds.len();
    binds.push(Bind::Int(page.max(0) * per_page.clamp(1, 500)));
    let offset = binds.len();
    // The page is chosen on keys and headline figures alone (covering
    // indexes); only its rows are then read whole.
    let rows = bind_all(
        sqlx::query_as(&list_page_sql(
            &format!(
                "SELECT {key} AS id, f.tier, f.aum_minor, f.aum_avg_minor, f.profit_minor, {score} AS score \
                 {from} ORDER BY {order} LIMIT ${limit} OFFSET ${offset}"
            ),
            &outer,
        )),
        &binds,
    )
    .fetch_all(store.db())
    .await?;
    Ok((rows, total.0))
}

/// A list page: the customers and branches of the keys and headline figures
/// `inner` chose, in `order`.
fn list_page_sql(inner: &str, order: &str) -> String {
    format!(
        "SELECT c.id, c.customer_no, c.party_type, c.name, c.mobile, c.birth_date, o.code AS branch, \
         p.tier, p.aum_minor, p.aum_avg_minor, p.profit_minor \
         FROM ({inner}) p \
         JOIN customer c ON c.id = p.id LEFT JOIN org_unit o ON o.id = c.home_org_unit_id \
         ORDER BY {order}"
    )
}

/// A page of the richest customers in `scope` (of `total`), found by walking
/// the whole bank's features by AUM and keeping the scope's, when that is
/// the shorter way: about `wanted × bank / total` rows walked against the
/// `total` an ordinary ranking reads (an RM holding 12,000 of 1,000,000
/// customers: 4 ms against 17 ms). `None` when the ranking is shorter, or
/// the walk cannot fill the page (customers without features come last).
async fn richest_walk(
    store: &Store,
    scope: &Scope,
    as_of: &str,
    page: i64,
    per_page: i64,
    total: i64,
) -> Result<Option<Vec<CustomerListRow>>> {
    let per_page = per_page.clamp(1, 500);
    let offset = page.max(0).saturating_mul(per_page);
    let wanted = offset.saturating_add(per_page);
    let bank: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM customer")
        .fetch_one(store.db())
        .await?;
    let bank = bank.unwrap_or(0);
    if total == 0 || wanted.saturating_mul(bank) > total.saturating_mul(total) / 4 {
        return Ok(None);
    }
    let mut binds = vec![Bind::Text(as_of.to_owned())];
    let (join, cond) = match scope {
        Scope::Assigned(rm) => {
            binds.push(Bind::Int(*rm));
            (
                "",
                "EXISTS (SELECT 1 FROM assignment a WHERE a.rm_user_id = $2 \
                 AND a.to_date IS NULL AND a.customer_id = f.customer_id)"
                    .to_owned(),
            )
        }
        _ => {
            let (cond, bind) = scope.condition(2);
            binds.extend(bind);
            (
                " JOIN customer c ON c.id = f.customer_id",
                format!("c.status = 'active' AND {cond}"),
            )
        }
    };
    binds.push(Bind::Int(per_page));
    binds.push(Bind::Int(offset));
    let (limit, offset) = (binds.len() - 1, binds.len());
    let rows: Vec<CustomerListRow> = bind_all(
        sqlx::query_as(&list_page_sql(
            &format!(
                "SELECT f.customer_id AS id, f.tier, f.aum_minor, f.aum_avg_minor, f.profit_minor \
                 FROM customer_features f{join} WHERE f.as_of = $1 AND {cond} \
                 ORDER BY f.aum_minor DESC, f.customer_id LIMIT ${limit} OFFSET ${offset}"
            ),
            "p.aum_minor DESC, c.id",
        )),
        &binds,
    )
    .fetch_all(store.db())
    .await?;
    Ok((rows.len() as i64 == per_page).then_some(rows))
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// What a search string looks like, so the right index answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// 11-digit mobile.
    Mobile(String),
    /// 15- or 18-character resident id (standardised to 18).
    ResidentId(String),
    /// Unified social credit code.
    CreditCode(String),
    /// Account or card number (12–19 digits), or a customer number.
    Number(String),
    /// A name prefix.
    Name(String),
}

impl SearchKey {
    /// Classifies a search string.
    pub fn parse(q: &str) -> Option<SearchKey> {
        let q: String = q.split_whitespace().collect();
        if q.is_empty() {
            return None;
        }
        if let Ok(m) = panorama_domain::mobile::Mobile::parse(&q) {
            return Some(SearchKey::Mobile(m.as_str().to_owned()));
        }
        if let Ok(id) = panorama_domain::resident_id::ResidentId::parse(&q) {
            return Some(SearchKey::ResidentId(id.as_str().to_owned()));
        }
        if let Ok(code) = panorama_domain::credit_code::CreditCode::parse(&q) {
            return Some(SearchKey::CreditCode(code.as_str().to_owned()));
        }
        if q.bytes().all(|b| b.is_ascii_digit()) {
            return Some(SearchKey::Number(q));
        }
        Some(SearchKey::Name(q))
    }
}

/// The least string above every string that starts with `prefix`, in code
/// point order (`None` when the last character is the greatest).
pub fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let last = prefix.chars().last()?;
    let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32)?;
    let mut upper = prefix[..prefix.len() - last.len_utf8()].to_owned();
    upper.push(next);
    Some(upper)
}

/// Customers in `scope` matching a search key (at most `limit`).
pub async fn search(
    store: &Store,
    scope: &Scope,
    key: &SearchKey,
    limit: i64,
) -> Result<Vec<CustomerListRow>> {
    let as_of = latest_feature_date(store).await?.unwrap_or_default();
    let mut binds = vec![Bind::Text(as_of)];
    let (cond, bind) = scope.condition(2);
    binds.extend(bind);
    let matcher = match key {
        SearchKey::Mobile(m) => {
            binds.push(Bind::Text(m.clone()));
            format!("c.mobile = ${}", binds.len())
        }
        SearchKey::ResidentId(id) => {
            binds.push(Bind::Text(id.clone()));
            format!("c.id_no = ${}", binds.len())
        }
        SearchKey::CreditCode(code) => {
            binds.push(Bind::Text(code.clone()));
            format!("c.credit_code = ${}", binds.len())
        }
        SearchKey::Number(n) => {
            binds.push(Bind::Text(n.clone()));
            let p = binds.len();
            format!(
                "(c.customer_no = ${p} OR c.id IN (SELECT a.customer_id FROM account a WHERE a.account_no = ${p}))"
            )
        }
        SearchKey::Name(n) => {
            binds.push(Bind::Text(format!("{}%", escape_like(n))));
            let like = format!("c.name LIKE ${} ESCAPE '\\'", binds.len());
            // SQLite walks the whole name index for a LIKE with ESCAPE (66 ms
            // for a common surname at 1M customers, more for a rare one); the
            // same prefix as a range of its binary (code point) order is an
            // index search. PostgreSQL compares by the database's collation,
            // where that range need not hold: it keeps the LIKE alone.
            let by_name = match (store.backend(), prefix_upper_bound(n)) {
                (crate::Backend::Sqlite, Some(upper)) => {
                    binds.push(Bind::Text(n.clone()));
                    binds.push(Bind::Text(upper));
                    format!(
                        "{like} AND c.name >= ${} AND c.name < ${}",
                        binds.len() - 1,
                        binds.len()
                    )
                }
                _ => like,
            };
            // Letters may be pinyin: the name keys are lower-case ASCII, so
            // their prefix is a range in any collation. Both kinds of match
            // are taken from their own index, each stopping at the limit:
            // the first keys in pinyin order among the caller's customers
            // (`zh` matches a quarter of the bank; an OR of the two made
            // SQLite walk every name: 0.9 s at 1M).
            match panorama_domain::pinyin::as_pinyin_query(n)
                .and_then(|p| prefix_upper_bound(&p).map(|upper| (p, upper)))
            {
                Some((p, upper)) => {
                    binds.push(Bind::Text(p));
                    binds.push(Bind::Text(upper));
                    let (lo, hi) = (binds.len() - 1, binds.len());
                    binds.push(Bind::Int(limit.clamp(1, 200)));
                    let cap = binds.len();
                    // The scope's bind is $2, the same value for both forms.
                    let (in_scope, _) = scope.condition_for_one(2);
                    format!(
                        "c.id IN (SELECT id FROM (SELECT c.id FROM customer c \
                           WHERE {by_name} AND c.status = 'active' AND {in_scope} LIMIT ${cap}) named \
                         UNION ALL SELECT customer_id FROM (SELECT k.customer_id FROM customer_name_key k \
                           JOIN customer c ON c.id = k.customer_id \
                           WHERE k.name_key >= ${lo} AND k.name_key < ${hi} AND c.status = 'active' AND {in_scope} \
                           ORDER BY k.name_key LIMIT ${cap}) spelt)"
                    )
                }
                None => by_name,
            }
        }
    };
    binds.push(Bind::Int(limit.clamp(1, 200)));
    let sql = format!(
        "SELECT c.id, c.customer_no, c.party_type, c.name, c.mobile, c.birth_date, o.code AS branch, \
         f.tier, f.aum_minor, f.aum_avg_minor, f.profit_minor \
         FROM customer c LEFT JOIN customer_features f ON f.customer_id = c.id AND f.as_of = $1 \
         LEFT JOIN org_unit o ON o.id = c.home_org_unit_id \
         WHERE c.status = 'active' AND {cond} AND {matcher} ORDER BY c.name, c.id LIMIT ${}",
        binds.len()
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// The golden record of a customer, as the 360° view shows it.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct CustomerDetail {
    /// Id.
    pub id: i64,
    /// Customer number.
    pub customer_no: String,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Name.
    pub name: String,
    /// Gender (`M`/`F`).
    pub gender: Option<String>,
    /// Birth date.
    pub birth_date: Option<String>,
    /// Resident id.
    pub id_no: Option<String>,
    /// Unified social credit code.
    pub credit_code: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Home branch code.
    pub branch: Option<String>,
    /// Home branch name.
    pub branch_name: Option<String>,
    /// Since (the golden record's creation).
    pub created_at: String,
}

/// The customer, if it exists, is active and lies in `scope`.
pub async fn customer_in_scope(
    store: &Store,
    scope: &Scope,
    id: i64,
) -> Result<Option<CustomerDetail>> {
    let (cond, bind) = scope.condition_for_one(2);
    let mut binds = vec![Bind::Int(id)];
    binds.extend(bind);
    let sql = format!(
        "SELECT c.id, c.customer_no, c.party_type, c.name, c.gender, c.birth_date, c.id_no, c.credit_code, c.mobile, \
         c.email, c.address, c.industry, o.code AS branch, o.name AS branch_name, c.created_at \
         FROM customer c LEFT JOIN org_unit o ON o.id = c.home_org_unit_id \
         WHERE c.id = $1 AND c.status = 'active' AND {cond}"
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_optional(store.db())
        .await?)
}

/// An account with its latest month-end balance.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AccountRow {
    /// Id.
    pub id: i64,
    /// Source system.
    pub system: String,
    /// Account or card number.
    pub account_no: String,
    /// Product code.
    pub product_code: String,
    /// Product name (zh).
    pub product_name: Option<String>,
    /// Product name (en).
    pub product_name_en: Option<String>,
    /// Product class.
    pub class: Option<String>,
    /// Opened.
    pub opened_on: String,
    /// Matures.
    pub matures_on: Option<String>,
    /// Status.
    pub status: String,
    /// Latest month with a balance.
    pub month: Option<String>,
    /// Month-end balance, fen.
    pub balance_minor: Option<i64>,
}

/// The customer's accounts, newest first, with their latest balances.
pub async fn accounts_of(store: &Store, customer: i64) -> Result<Vec<AccountRow>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.system, a.account_no, a.product_code, p.name AS product_name, p.name_en AS product_name_en, \
         p.class, a.opened_on, a.matures_on, a.status, b.month, b.end_balance_minor AS balance_minor \
         FROM account a LEFT JOIN product p ON p.code = a.product_code \
         LEFT JOIN balance_monthly b ON b.account_id = a.id \
           AND b.month = (SELECT MAX(b2.month) FROM balance_monthly b2 WHERE b2.account_id = a.id) \
         WHERE a.customer_id = $1 ORDER BY a.opened_on DESC, a.id",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// Month-end balances summed over the customer's accounts by month and
/// class, oldest first: `(month, class, fen)`.
pub async fn balance_trend(store: &Store, customer: i64) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT b.month, COALESCE(p.class, 'unknown'), CAST(SUM(b.end_balance_minor) AS BIGINT) \
         FROM balance_monthly b JOIN account a ON a.id = b.account_id LEFT JOIN product p ON p.code = a.product_code \
         WHERE a.customer_id = $1 GROUP BY b.month, COALESCE(p.class, 'unknown') ORDER BY b.month",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// Transactions of the customer's accounts in the last `days` days before
/// `until` by channel and direction: `(channel, direction, count, fen)`.
pub async fn transactions_by_channel(
    store: &Store,
    customer: i64,
    since: &str,
) -> Result<Vec<(String, String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT t.channel, t.direction, COUNT(*), CAST(SUM(t.amount_minor) AS BIGINT) FROM txn t \
         WHERE t.account_id IN (SELECT a.id FROM account a WHERE a.customer_id = $1) AND t.booked_at >= $2 \
         GROUP BY t.channel, t.direction ORDER BY t.channel, t.direction",
    )
    .bind(customer)
    .bind(since)
    .fetch_all(store.db())
    .await?)
}

/// A customer's contact preferences (the contact policy of campaigns).
#[derive(Debug, Clone, Default, PartialEq, Eq, FromRow, serde::Serialize, serde::Deserialize)]
pub struct ContactPrefs {
    /// No marketing contact at all.
    pub opt_out_all: bool,
    /// No SMS.
    pub opt_out_sms: bool,
    /// No e-mail.
    pub opt_out_email: bool,
    /// No calls.
    pub opt_out_phone: bool,
    /// Do not disturb on rest days.
    pub dnd_rest_days: bool,
}

/// The customer's contact preferences (none recorded: all allowed).
pub async fn preferences_of(store: &Store, customer: i64) -> Result<ContactPrefs> {
    let row: Option<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT opt_out_all, opt_out_sms, opt_out_email, opt_out_phone, dnd_rest_days \
         FROM contact_preference WHERE customer_id = $1",
    )
    .bind(customer)
    .fetch_optional(store.db())
    .await?;
    Ok(
        row.map_or_else(ContactPrefs::default, |(all, sms, email, phone, dnd)| {
            ContactPrefs {
                opt_out_all: all == 1,
                opt_out_sms: sms == 1,
                opt_out_email: email == 1,
                opt_out_phone: phone == 1,
                dnd_rest_days: dnd == 1,
            }
        }),
    )
}

/// Records the customer's contact preferences as they stated them; audited
/// as `customer.preferences` with the new values.
pub async fn set_preferences(
    store: &Store,
    customer: i64,
    prefs: &ContactPrefs,
    actor: &str,
) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO contact_preference (customer_id, opt_out_all, opt_out_sms, opt_out_email, \
           opt_out_phone, dnd_rest_days, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (customer_id) DO UPDATE SET opt_out_all = excluded.opt_out_all, \
           opt_out_sms = excluded.opt_out_sms, opt_out_email = excluded.opt_out_email, \
           opt_out_phone = excluded.opt_out_phone, dnd_rest_days = excluded.dnd_rest_days, \
           updated_at = excluded.updated_at",
    )
    .bind(customer)
    .bind(i64::from(prefs.opt_out_all))
    .bind(i64::from(prefs.opt_out_sms))
    .bind(i64::from(prefs.opt_out_email))
    .bind(i64::from(prefs.opt_out_phone))
    .bind(i64::from(prefs.dnd_rest_days))
    .bind(now_utc())
    .execute(&mut *tx)
    .await?;
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "customer.preferences",
            customer_id: Some(customer),
            object_type: Some("customer"),
            object_id: Some(&customer.to_string()),
            detail: Some(&format!(
                "opt_out_all={} sms={} email={} phone={} dnd_rest_days={}",
                prefs.opt_out_all,
                prefs.opt_out_sms,
                prefs.opt_out_email,
                prefs.opt_out_phone,
                prefs.dnd_rest_days
            )),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The day the customer's relationship with the bank began: their first
/// account's opening.
pub async fn first_opened_on(store: &Store, customer: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(opened_on) FROM account WHERE customer_id = $1")
            .bind(customer)
            .fetch_one(store.db())
            .await?,
    )
}

/// A recent transaction.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct TxnRow {
    /// When booked.
    pub booked_at: String,
    /// Account number.
    pub account_no: String,
    /// Amount, fen.
    pub amount_minor: i64,
    /// `C` or `D`.
    pub direction: String,
    /// Channel.
    pub channel: String,
    /// Merchant category code.
    pub mcc: Option<String>,
    /// Counterparty name.
    pub counterparty_name: Option<String>,
}

/// The customer's latest `limit` transactions.
pub async fn recent_transactions(store: &Store, customer: i64, limit: i64) -> Result<Vec<TxnRow>> {
    Ok(sqlx::query_as(
        "SELECT t.booked_at, a.account_no, t.amount_minor, t.direction, t.channel, t.mcc, t.counterparty_name \
         FROM account a JOIN txn t ON t.account_id = a.id WHERE a.customer_id = $1 \
         ORDER BY t.booked_at DESC LIMIT $2",
    )
    .bind(customer)
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// The customer's features at the latest date: `(as_of, tier, aum, aum_avg,
/// loan, profit, features JSON)`.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct FeatureRow {
    /// As-of date.
    pub as_of: String,
    /// Tier code.
    pub tier: Option<String>,
    /// AUM, fen.
    pub aum_minor: i64,
    /// Monthly average AUM, fen.
    pub aum_avg_minor: i64,
    /// Loan balance, fen.
    pub loan_minor: i64,
    /// Profit, fen.
    pub profit_minor: Option<i64>,
    /// The whole feature vector (JSON object).
    pub features: String,
}

/// The customer's latest features.
pub async fn features_of(store: &Store, customer: i64) -> Result<Option<FeatureRow>> {
    Ok(sqlx::query_as(
        "SELECT as_of, tier, aum_minor, aum_avg_minor, loan_minor, profit_minor, features FROM customer_features \
         WHERE customer_id = $1 ORDER BY as_of DESC LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(store.db())
    .await?)
}

/// Tier history of the customer: `(as_of, tier, previous tier)`, newest first.
pub async fn tier_history_of(
    store: &Store,
    customer: i64,
) -> Result<Vec<(String, String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT as_of, tier, previous_tier FROM tier_history WHERE customer_id = $1 ORDER BY as_of DESC",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// A related party: household member or relationship.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct RelatedRow {
    /// The other customer.
    pub customer_id: i64,
    /// Their name.
    pub name: String,
    /// Their type.
    pub party_type: String,
    /// Role or relationship kind.
    pub kind: String,
    /// Where the link came from.
    pub source: String,
}

/// The customer's household members and party relationships (both directions).
pub async fn related_of(store: &Store, customer: i64) -> Result<Vec<RelatedRow>> {
    Ok(sqlx::query_as(
        "SELECT c.id AS customer_id, c.name, c.party_type, m.role AS kind, 'household' AS source \
         FROM household_member me JOIN household_member m ON m.household_id = me.household_id AND m.customer_id <> me.customer_id \
         JOIN customer c ON c.id = m.customer_id WHERE me.customer_id = $1 \
         UNION ALL \
         SELECT c.id, c.name, c.party_type, r.kind, r.source FROM party_relationship r JOIN customer c ON c.id = r.to_customer_id \
         WHERE r.from_customer_id = $1 \
         UNION ALL \
         SELECT c.id, c.name, c.party_type, r.kind, r.source FROM party_relationship r JOIN customer c ON c.id = r.from_customer_id \
         WHERE r.to_customer_id = $1 \
         ORDER BY 5, 4, 2 LIMIT 200",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// Saved segments the customer is in now: `(id, name)`.
pub async fn segments_of(store: &Store, customer: i64) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT s.id, s.name FROM segment_member m JOIN segment s ON s.id = m.segment_id \
         WHERE m.customer_id = $1 AND m.left_on IS NULL ORDER BY s.name",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// A contact with a customer (call, visit, …).
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ContactRow {
    /// Id.
    pub id: i64,
    /// When.
    pub at: String,
    /// Channel.
    pub channel: String,
    /// Outcome.
    pub outcome: String,
    /// Notes.
    pub notes: Option<String>,
    /// Follow-up date.
    pub follow_up_on: Option<String>,
    /// Who recorded it.
    pub by: Option<String>,
}

/// Contact channels.
pub const CONTACT_CHANNELS: &[&str] =
    &["phone", "visit", "branch", "sms", "email", "wechat", "app"];

/// The customer's contacts, newest first.
pub async fn contacts_of(store: &Store, customer: i64, limit: i64) -> Result<Vec<ContactRow>> {
    Ok(sqlx::query_as(
        "SELECT k.id, k.at, k.channel, k.outcome, k.notes, k.follow_up_on, u.display_name AS by \
         FROM contact k LEFT JOIN app_user u ON u.id = k.user_id WHERE k.customer_id = $1 ORDER BY k.at DESC, k.id DESC LIMIT $2",
    )
    .bind(customer)
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// A contact to record.
#[derive(Debug, Clone)]
pub struct NewContact<'a> {
    /// Customer.
    pub customer_id: i64,
    /// Recording user.
    pub user_id: i64,
    /// One of [`CONTACT_CHANNELS`].
    pub channel: &'a str,
    /// Outcome (free text, short).
    pub outcome: &'a str,
    /// Notes.
    pub notes: Option<&'a str>,
    /// Follow-up date (ISO); creates a task for the user.
    pub follow_up_on: Option<&'a str>,
}

/// Records a contact and, with a follow-up date, a task due that day.
/// Returns the contact id.
pub async fn record_contact(store: &Store, c: &NewContact<'_>) -> Result<i64> {
    if !CONTACT_CHANNELS.contains(&c.channel) {
        return Err(StoreError::Invalid(format!(
            "unknown channel {:?}",
            c.channel
        )));
    }
    let mut tx = store.begin().await?;
    let now = now_utc();
    let id = crate::ecif::next_id(&mut tx, "contact").await?;
    sqlx::query(
        "INSERT INTO contact (id, customer_id, user_id, at, channel, outcome, notes, follow_up_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(c.customer_id)
    .bind(c.user_id)
    .bind(&now)
    .bind(c.channel)
    .bind(c.outcome)
    .bind(c.notes)
    .bind(c.follow_up_on)
    .execute(&mut *tx)
    .await?;
    crate::surveys::queue_invite(&mut tx, "contact", id, c.customer_id, &now).await?;
    if let Some(due) = c.follow_up_on {
        sqlx::query(
            "INSERT INTO task (owner_user_id, customer_id, title, due_on, status, created_at) VALUES ($1, $2, $3, $4, 'open', $5)",
        )
        .bind(c.user_id)
        .bind(c.customer_id)
        .bind(format!("跟进 follow up: {}", c.outcome))
        .bind(due)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// A task on a user's list.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct TaskRow {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: Option<i64>,
    /// Customer name.
    pub customer_name: Option<String>,
    /// Title.
    pub title: String,
    /// English title (tasks raised by an alert).
    pub title_en: Option<String>,
    /// The alert's rule, for tasks raised by one.
    pub rule: Option<String>,
    /// Due.
    pub due_on: Option<String>,
    /// Status.
    pub status: String,
}

/// The user's open tasks, soonest first.
pub async fn open_tasks(store: &Store, user: i64, limit: i64) -> Result<Vec<TaskRow>> {
    Ok(sqlx::query_as(
        // The page is chosen on the task rows alone, dated and undated
        // apart so each is a walk of the owner's index in order (sorting an
        // RM's 44,000 open tasks with the undated last: 17 ms); names and
        // alert texts are then read for its rows only.
        "SELECT t.id, t.customer_id, c.name AS customer_name, t.title, al.message_en AS title_en, \
           al.rule, t.due_on, t.status \
         FROM (SELECT * FROM (SELECT id, customer_id, alert_id, title, due_on, status FROM task \
                              WHERE owner_user_id = $1 AND status = 'open' AND due_on IS NOT NULL \
                              ORDER BY due_on, id LIMIT $2) dated \
               UNION ALL \
               SELECT * FROM (SELECT id, customer_id, alert_id, title, due_on, status FROM task \
                              WHERE owner_user_id = $1 AND status = 'open' AND due_on IS NULL \
                              ORDER BY id LIMIT $2) undated) t \
         LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN alert al ON al.id = t.alert_id \
         ORDER BY CASE WHEN t.due_on IS NULL THEN 1 ELSE 0 END, t.due_on, t.id LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// Marks the user's task done; false when it is not theirs or not open.
pub async fn complete_task(store: &Store, user: i64, task: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE task SET status = 'done', done_at = $1 WHERE id = $2 AND owner_user_id = $3 AND status = 'open'",
    )
    .bind(now_utc())
    .bind(task)
    .bind(user)
    .execute(store.db())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An open opportunity.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct OpportunityRow {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Customer name.
    pub customer_name: String,
    /// Product.
    pub product_code: Option<String>,
    /// Stage.
    pub stage: String,
    /// Amount, fen.
    pub amount_minor: Option<i64>,
    /// Expected close.
    pub expected_close: Option<String>,
}

/// Opportunities of a customer (`customer`) or of an owner (`owner`).
pub async fn opportunities(
    store: &Store,
    customer: Option<i64>,
    owner: Option<i64>,
) -> Result<Vec<OpportunityRow>> {
    Ok(sqlx::query_as(
        "SELECT o.id, o.customer_id, c.name AS customer_name, o.product_code, o.stage, o.amount_minor, o.expected_close \
         FROM opportunity o JOIN customer c ON c.id = o.customer_id \
         WHERE ($1 IS NULL OR o.customer_id = $1) AND ($2 IS NULL OR o.owner_user_id = $2) \
         ORDER BY o.expected_close, o.id LIMIT 500",
    )
    .bind(customer)
    .bind(owner)
    .fetch_all(store.db())
    .await?)
}

/// Result of assigning customers to RMs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AssignReport {
    /// Customers newly assigned.
    pub assigned: u64,
    /// Customers left unassigned (their branch has no RM).
    pub without_rm: u64,
}

/// Assigns every active customer without an open primary assignment to an
/// RM of their home branch, round robin by customer id (customers of a
/// branch without RMs stay unassigned). Audited as `assignment.auto`.
pub async fn assign_unassigned(store: &Store, actor: &str, on: &str) -> Result<AssignReport> {
    let mut tx = store.begin().await?;
    let rms: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT org_unit_id, id FROM app_user WHERE role = 'rm' AND active = 1 ORDER BY org_unit_id, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut by_org: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    for (org, rm) in rms {
        by_org.entry(org).or_default().push(rm);
    }
    let customers: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT c.id, c.home_org_unit_id FROM customer c WHERE c.status = 'active' AND NOT EXISTS \
         (SELECT 1 FROM assignment a WHERE a.customer_id = c.id AND a.role = 'primary' AND a.to_date IS NULL) ORDER BY c.id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut report = AssignReport::default();
    let mut next: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    let mut rows: Vec<(i64, i64)> = Vec::new();
    for (customer, org) in customers {
        let Some(rms) = org.and_then(|o| by_org.get(&o)) else {
            report.without_rm += 1;
            continue;
        };
        let k = next.entry(org.unwrap_or_default()).or_default();
        rows.push((customer, rms[*k % rms.len()]));
        *k += 1;
    }
    let per = store.backend().max_params() / 5;
    for chunk in rows.chunks(per.max(1)) {
        let mut sql = String::from(
            "INSERT INTO assignment (customer_id, rm_user_id, role, from_date, reason, assigned_by) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 5;
            let _ = write!(
                sql,
                "{}(${}, ${}, 'primary', ${}, ${}, ${})",
                if i == 0 { "" } else { ", " },
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            );
        }
        let mut q = sqlx::query(&sql);
        for (customer, rm) in chunk {
            q = q
                .bind(*customer)
                .bind(*rm)
                .bind(on)
                .bind("home branch round robin")
                .bind(actor);
        }
        q.execute(&mut *tx).await?;
    }
    report.assigned = rows.len() as u64;
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "assignment.auto",
            detail: Some(&format!(
                "assigned={} without_rm={}",
                report.assigned, report.without_rm
            )),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// The sub-branches (org units of level `sub_branch`): `(code, name)`.
pub async fn sub_branches(store: &Store) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT code, name FROM org_unit WHERE level = 'sub_branch' ORDER BY code")
            .fetch_all(store.db())
            .await?,
    )
}

/// The first branch (level `branch`) code, for demo branch managers.
pub async fn first_branch(store: &Store) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar(
            "SELECT code FROM org_unit WHERE level = 'branch' ORDER BY code LIMIT 1",
        )
        .fetch_optional(store.db())
        .await?,
    )
}

/// Head office code (the root of the hierarchy).
pub async fn head_office(store: &Store) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT code FROM org_unit WHERE parent_id IS NULL ORDER BY id LIMIT 1")
            .fetch_optional(store.db())
            .await?,
    )
}

/// Web sessions: load, save, delete, purge expired.
pub mod sessions {
    use super::*;

    /// How far a session's expiry may lag behind the idle timeout, seconds.
    pub const SAVE_GRANULARITY_SECONDS: i64 = 60;

    /// The session's JSON data, if present and not expired at `now` (unix s).
    pub async fn load(store: &Store, id: &str, now: i64) -> Result<Option<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT data, expires_at FROM web_session WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(store.db())
        .await?)
    }

    /// Inserts or replaces the session.
    pub async fn save(store: &Store, id: &str, data: &str, expires_at: i64) -> Result<()> {
        // An idle timeout moves the expiry on every request; a write per
        // request would queue every reader behind SQLite's one writer, so an
        // unchanged session is written only when its expiry moves by a
        // minute or more.
        let stored: Option<(String, i64)> =
            sqlx::query_as("SELECT data, expires_at FROM web_session WHERE id = $1")
                .bind(id)
                .fetch_optional(store.db())
                .await?;
        if let Some((old, old_expiry)) = stored {
            if old == data && (expires_at - old_expiry).abs() < SAVE_GRANULARITY_SECONDS {
                return Ok(());
            }
        }
        sqlx::query(
            "INSERT INTO web_session (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(store.db())
        .await?;
        Ok(())
    }

    /// Inserts the session unless the id is taken; true when inserted.
    pub async fn create(store: &Store, id: &str, data: &str, expires_at: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO web_session (id, data, expires_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(store.db())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the session.
    pub async fn delete(store: &Store, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_session WHERE id = $1")
            .bind(id)
            .execute(store.db())
            .await?;
        Ok(())
    }

    /// Deletes sessions expired at `now`; returns how many.
    pub async fn purge(store: &Store, now: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM web_session WHERE expires_at <= $1")
                .bind(now)
                .execute(store.db())
                .await?
                .rows_affected(),
        )
    }
}

/// An alert raised by the batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewAlert {
    /// Customer.
    pub customer_id: i64,
    /// Rule code (`birthday`, `maturity`, …).
    pub rule: String,
    /// What identifies the event, so a rule raises it once.
    pub event_key: String,
    /// When it falls due (a birthday, a maturity), if it does.
    pub due_on: Option<String>,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// Chinese text.
    pub message: String,
    /// English text.
    pub message_en: String,
    /// Facts behind it, as JSON.
    pub detail: String,
}

/// What writing a batch's alerts did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AlertWrite {
    /// New alerts (events already raised are skipped).
    pub alerts: u64,
    /// Tasks created on the owning RMs' lists.
    pub tasks: u64,
}

/// Writes `alerts` raised on `as_of` in one transaction: each event once
/// (an alert whose customer, rule and event key exist already is skipped),
/// and a task for each new alert on the list of the customer's RM (primary
/// assignment), due on the alert's date or `default_due`.
pub async fn write_alerts(
    store: &Store,
    as_of: &str,
    alerts: &[NewAlert],
    default_due: &str,
) -> Result<AlertWrite> {
    let mut tx = store.begin().await?;
    let insert = crate::bulk::BulkInsert::new(
        store.backend(),
        "alert",
        &[
            "customer_id",
            "rule",
            "as_of",
            "due_on",
            "severity",
            "message",
            "message_en",
            "detail",
            "event_key",
        ],
        "ON CONFLICT DO NOTHING",
    );
    use crate::bulk::Value;
    let rows: Vec<Vec<Value>> = alerts
        .iter()
        .map(|a| {
            vec![
                Value::Int(Some(a.customer_id)),
                Value::text(&a.rule),
                Value::text(as_of),
                Value::Text(a.due_on.clone()),
                Value::text(&a.severity),
                Value::text(&a.message),
                Value::text(&a.message_en),
                Value::text(&a.detail),
                Value::text(&a.event_key),
            ]
        })
        .collect();
    let inserted = insert.execute(&mut tx, &rows).await?;
    let tasks = sqlx::query(
        "INSERT INTO task (owner_user_id, customer_id, alert_id, title, due_on, status, created_at) \
         SELECT s.rm_user_id, al.customer_id, al.id, al.message, COALESCE(al.due_on, $1), 'open', $2 \
         FROM alert al JOIN assignment s ON s.customer_id = al.customer_id \
           AND s.to_date IS NULL AND s.role = 'primary' \
         WHERE al.as_of = $3 AND NOT EXISTS (SELECT 1 FROM task t WHERE t.alert_id = al.id)",
    )
    .bind(default_due)
    .bind(now_utc())
    .bind(as_of)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(AlertWrite {
        alerts: inserted,
        tasks,
    })
}

/// An alert as a list shows it.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct AlertRow {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Rule code.
    pub rule: String,
    /// Raised by the batch of this date.
    pub as_of: String,
    /// Due.
    pub due_on: Option<String>,
    /// Severity.
    pub severity: String,
    /// Chinese text.
    pub message: String,
    /// English text.
    pub message_en: Option<String>,
}

/// Alerts most urgent first: critical, then warnings, by due date, newest first.
const ALERT_ORDER: &str = "CASE al.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, \
    CASE WHEN al.due_on IS NULL THEN 1 ELSE 0 END, al.due_on, al.id DESC";

const ALERT_COLUMNS: &str =
    "al.id, al.customer_id, al.rule, al.as_of, al.due_on, al.severity, al.message, al.message_en";

/// The latest alerts of the customers in `scope` raised on or after `since`,
/// most severe and soonest due first.
pub async fn alerts(
    store: &Store,
    scope: &Scope,
    since: &str,
    limit: i64,
) -> Result<Vec<AlertRow>> {
    let (cond, bind) = scope.condition(2);
    let mut binds = vec![Bind::Text(since.to_owned())];
    binds.extend(bind);
    binds.push(Bind::Int(limit));
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alert al JOIN customer c ON c.id = al.customer_id \
         WHERE al.as_of >= $1 AND c.status = 'active' AND {cond} ORDER BY {ALERT_ORDER} LIMIT ${}",
        binds.len()
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// The alerts behind `user`'s tasks raised on or after `since`, in the
/// order of [`alerts`]: an RM's alerts found from their task list (an index
/// probe) rather than by walking their whole portfolio.
pub async fn alerts_of_owner(
    store: &Store,
    user: i64,
    since: &str,
    limit: i64,
) -> Result<Vec<AlertRow>> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM task t JOIN alert al ON al.id = t.alert_id \
         WHERE t.owner_user_id = $1 AND t.alert_id IS NOT NULL AND al.as_of >= $2 \
         ORDER BY {ALERT_ORDER} LIMIT $3"
    );
    Ok(sqlx::query_as(&sql)
        .bind(user)
        .bind(since)
        .bind(limit)
        .fetch_all(store.db())
        .await?)
}

/// One customer's alerts, newest first.
pub async fn alerts_of(store: &Store, customer: i64, limit: i64) -> Result<Vec<AlertRow>> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alert al WHERE al.customer_id = $1 \
         ORDER BY al.as_of DESC, al.id DESC LIMIT $2"
    );
    Ok(sqlx::query_as(&sql)
        .bind(customer)
        .bind(limit)
        .fetch_all(store.db())
        .await?)
}

/// The latest date alerts were raised on, if any.
pub async fn latest_alert_date(store: &Store) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT MAX(as_of) FROM alert")
        .fetch_one(store.db())
        .await?)
}

/// The highest alert id now (0 when there is none): where a live stream of
/// alerts starts.
pub async fn max_alert_id(store: &Store) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM alert")
            .fetch_one(store.db())
            .await?,
    )
}

/// Alerts raised after alert `after` (by id, oldest first) for the
/// customers in `scope` — what a live stream sends next.
pub async fn alerts_after(
    store: &Store,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<AlertRow>> {
    let (cond, bind) = scope.condition(2);
    let mut binds = vec![Bind::Int(after)];
    binds.extend(bind);
    binds.push(Bind::Int(limit));
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alert al JOIN customer c ON c.id = al.customer_id \
         WHERE al.id > $1 AND c.status = 'active' AND {cond} ORDER BY al.id LIMIT ${}",
        binds.len()
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}

/// Alerts behind `user`'s tasks raised after alert `after`, oldest first
/// (an RM's live stream).
pub async fn alerts_of_owner_after(
    store: &Store,
    user: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<AlertRow>> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM task t JOIN alert al ON al.id = t.alert_id \
         WHERE t.owner_user_id = $1 AND t.alert_id > $2 ORDER BY al.id LIMIT $3"
    );
    Ok(sqlx::query_as(&sql)
        .bind(user)
        .bind(after)
        .bind(limit)
        .fetch_all(store.db())
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_just_above_the_prefix() {
        assert_eq!(prefix_upper_bound("张伟").as_deref(), Some("张传"));
        assert_eq!(prefix_upper_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_upper_bound(""), None);
        // The surrogate gap is skipped.
        assert_eq!(
            prefix_upper_bound("a\u{d7ff}").as_deref(),
            Some("a\u{e000}")
        );
        assert_eq!(prefix_upper_bound("a\u{10ffff}"), None);
        for (p, s) in [("张伟", "张伟民"), ("张", "张三"), ("ab", "ab\u{10ffff}")] {
            let upper = prefix_upper_bound(p).unwrap();
            assert!(p <= s && s < upper.as_str(), "{p} {s} {upper}");
        }
    }
}
