//! What pages and the JSON API share: the request context (who, which
//! language, from where), login with throttling and audit, and the
//! customer 360° view assembled and masked for the caller.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_login::AuthSession;
use panorama_store::ocrm::{self, Audit};
use serde::Serialize;
use tower_sessions::Session;

use crate::AppState;
use crate::auth::{Backend, Credentials, Permission, User};
use crate::error::WebError;
use crate::i18n::{self as t, Lang};
use crate::mask::{self, Level};

/// Session key of the CSRF token.
pub const CSRF_KEY: &str = "csrf";

/// Session key of the login's time (Unix milliseconds), for the absolute lifetime.
const LOGIN_AT_KEY: &str = "login_at";

/// Who is asking, in which language, from where. Extracted once per
/// request: later extractors (`Require`, `ApiCsrf`, `CsrfForm`, the
/// handler's own) get the first one's copy.
#[derive(Clone)]
pub struct Ctx {
    /// The login session.
    pub auth: AuthSession<Backend>,
    /// The raw session (CSRF token).
    pub session: Session,
    /// Interface language (cookie `lang`).
    pub lang: Lang,
    /// Client address.
    pub ip: Option<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Ctx, WebError> {
        if let Some(ctx) = parts.extensions.get::<Ctx>() {
            return Ok(ctx.clone());
        }
        let mut auth = parts
            .extensions
            .get::<AuthSession<Backend>>()
            .cloned()
            .ok_or_else(|| WebError::Internal("auth layer missing".into()))?;
        let session = auth.session.clone();
        // However active, a session ends a fixed time after its login.
        if auth.user.is_some() {
            let login_at: Option<i64> = session.get(LOGIN_AT_KEY).await.map_err(WebError::from)?;
            let limit = state.config.session_absolute_seconds.max(1) * 1000;
            let now = chrono::Utc::now().timestamp_millis();
            if login_at.is_none_or(|t| now - t >= limit) {
                auth.logout()
                    .await
                    .map_err(|e| WebError::Internal(e.to_string()))?;
            }
        }
        let lang = parts
            .headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix("lang="))
            .map(Lang::parse)
            .next()
            .unwrap_or_default();
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let ctx = Ctx {
            auth,
            session,
            lang,
            ip,
        };
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

impl Ctx {
    /// The logged-in user, or `Unauthorized`.
    pub fn user(&self) -> Result<&User, WebError> {
        self.auth.user.as_ref().ok_or(WebError::Unauthorized)
    }

    /// The logged-in user if their role may do `p`.
    pub fn require(&self, p: Permission) -> Result<&User, WebError> {
        let user = self.user()?;
        if user.can(p) {
            Ok(user)
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// The session's CSRF token (empty when not logged in).
    pub async fn csrf(&self) -> String {
        self.session
            .get::<String>(CSRF_KEY)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Checks a submitted CSRF token against the session's.
    pub async fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        let expected = self.csrf().await;
        if expected.is_empty() || !constant_time_eq(expected.as_bytes(), submitted.as_bytes()) {
            return Err(WebError::Forbidden);
        }
        Ok(())
    }

    /// Checks the `X-CSRF-Token` header of an API write.
    pub async fn check_csrf_header(&self, headers: &axum::http::HeaderMap) -> Result<(), WebError> {
        let token = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        self.check_csrf(token).await
    }

    /// Appends an audit event by the current user (or `anonymous`).
    pub async fn audit(&self, state: &AppState, a: Audit<'_>) -> Result<(), WebError> {
        let actor = self
            .auth
            .user
            .as_ref()
            .map_or("anonymous", |u| u.username.as_str());
        ocrm::audit(
            &state.store,
            &Audit {
                user_id: self.auth.user.as_ref().map(|u| u.id),
                actor: if a.actor.is_empty() { actor } else { a.actor },
                source_ip: self.ip.as_deref(),
                ..a
            },
        )
        .await?;
        Ok(())
    }
}

/// Refuses a text field longer than `max` characters, naming the field.
pub(crate) fn within(field: &str, value: &str, max: usize) -> Result<(), WebError> {
    if value.chars().count() > max {
        return Err(WebError::BadRequest(format!(
            "{field}: at most {max} characters"
        )));
    }
    Ok(())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a login was refused.
#[derive(Debug)]
pub enum LoginRefused {
    /// Wrong name or password.
    Wrong,
    /// Too many recent failures.
    Locked,
    /// Something broke.
    Error(WebError),
}

impl From<WebError> for LoginRefused {
    fn from(e: WebError) -> Self {
        LoginRefused::Error(e)
    }
}

/// The longest user name and password a login reads: longer ones are
/// wrong without being checked (and the trail keeps the name's start).
pub const MAX_USERNAME: usize = 64;
/// See [`MAX_USERNAME`].
pub const MAX_PASSWORD: usize = 1024;

/// Checks credentials with throttling, logs the user in (new session id,
/// new CSRF token) and audits the attempt either way. The attempt is
/// admitted (counted) before its password is checked; the lock is per
/// account and client address, so a stranger cannot lock someone out from
/// elsewhere, and refused attempts do not prolong it.
pub async fn login(
    state: &AppState,
    ctx: &mut Ctx,
    creds: Credentials,
) -> Result<User, LoginRefused> {
    let username: String = creds.username.trim().chars().take(MAX_USERNAME).collect();
    let oversized =
        creds.username.trim().chars().count() > MAX_USERNAME || creds.password.len() > MAX_PASSWORD;
    let address = ctx.ip.clone().unwrap_or_default();
    let window = chrono::Utc::now() - chrono::Duration::minutes(state.config.lockout_minutes);
    let since = window.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (pair, by_address) = ocrm::failed_logins_since(&state.store, &username, &address, &since)
        .await
        .map_err(WebError::from)?;
    let audit = |outcome: &'static str, detail: &'static str| Audit {
        actor: "",
        action: "login",
        outcome,
        detail: Some(detail),
        ..Audit::default()
    };
    let ticket = state.throttle.admit(
        &username,
        &address,
        crate::throttle::Failures {
            pair,
            address: by_address,
        },
        crate::throttle::Limits {
            pair: state.config.max_failed_logins,
            address: state.config.max_failed_logins_per_address,
        },
    );
    let Some(ticket) = ticket else {
        let a = Audit {
            actor: &username,
            ..audit("denied", "locked: too many failed logins from this address")
        };
        ctx.audit(state, a).await?;
        return Err(LoginRefused::Locked);
    };
    let user = if oversized {
        None
    } else {
        let _turn = state.throttle.check_turn().await;
        ctx.auth
            .authenticate(Credentials {
                username: username.clone(),
                password: creds.password,
            })
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
    };
    let Some(user) = user else {
        let a = Audit {
            actor: &username,
            ..audit("failed", "wrong username or password")
        };
        ctx.audit(state, a).await?;
        drop(ticket);
        return Err(LoginRefused::Wrong);
    };
    // A new session id on every login, even over a session that was
    // already logged in (no fixation).
    ctx.session
        .cycle_id()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    ctx.auth
        .login(&user)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    ctx.session
        .insert(CSRF_KEY, crate::auth::random_password(32))
        .await
        .map_err(WebError::from)?;
    ctx.session
        .insert(LOGIN_AT_KEY, chrono::Utc::now().timestamp_millis())
        .await
        .map_err(WebError::from)?;
    ctx.audit(state, audit("ok", "password")).await?;
    drop(ticket);
    Ok(user)
}

/// Logs the user out, audited.
pub async fn logout(state: &AppState, ctx: &mut Ctx) -> Result<(), WebError> {
    if ctx.auth.user.is_some() {
        ctx.audit(
            state,
            Audit {
                action: "logout",
                ..Audit::default()
            },
        )
        .await?;
    }
    ctx.auth
        .logout()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(())
}

/// The customer list's query, as the page's form and the API send it:
/// every value text (numbers parsed here, with a clear error).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CustomerQuery {
    page: Option<String>,
    per_page: Option<String>,
    tier: Option<String>,
    min_aum: Option<String>,
    name: Option<String>,
    sort: Option<String>,
    segment: Option<String>,
    model: Option<String>,
    min_score: Option<String>,
}

/// The last page a list pages to: far beyond any bank's customers, and far
/// from overflowing the offset it becomes.
pub const MAX_PAGE: i64 = 10_000_000;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl CustomerQuery {
    /// The filter, or which value is not a number of its kind.
    pub fn filter(&self, lang: Lang) -> Result<ocrm::CustomerFilter, WebError> {
        let min_aum = given(&self.min_aum)
            .map(|s| {
                s.parse::<i64>()
                    .ok()
                    .filter(|v| (0..=i64::MAX / 100).contains(v))
                    .ok_or_else(|| WebError::BadRequest(format!("{}: {s}", t::MIN_AUM.get(lang))))
            })
            .transpose()?;
        let segment = given(&self.segment)
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| WebError::BadRequest(format!("{}: {s}", t::SEGMENTS.get(lang))))
            })
            .transpose()?;
        let min_score = given(&self.min_score)
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| WebError::BadRequest(format!("{}: {s}", t::MIN_SCORE.get(lang))))
            })
            .transpose()?;
        Ok(ocrm::CustomerFilter {
            tier: given(&self.tier).map(str::to_owned),
            min_aum,
            segment,
            name: self.name.clone(),
            sort: given(&self.sort).map(str::to_owned),
            model: given(&self.model).map(str::to_owned),
            min_score,
        })
    }

    /// The page (0 first), or an error if it is not a page number.
    pub fn page(&self) -> Result<i64, WebError> {
        Ok(given(&self.page)
            .map(|p| {
                p.parse::<i64>()
                    .ok()
                    .filter(|p| (0..=MAX_PAGE).contains(p))
                    .ok_or_else(|| WebError::BadRequest(format!("page: 0 to {MAX_PAGE}, not {p}")))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// Rows a page, if asked.
    pub fn per_page(&self) -> Result<Option<i64>, WebError> {
        given(&self.per_page)
            .map(|p| {
                p.parse::<i64>()
                    .map_err(|_| WebError::BadRequest(format!("per_page: a number, not {p}")))
            })
            .transpose()
    }

    /// The filters as the audit trail keeps them (the name prefix masked).
    pub fn described(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("tier", &self.tier),
            ("min_aum", &self.min_aum),
            ("sort", &self.sort),
            ("segment", &self.segment),
            ("model", &self.model),
            ("min_score", &self.min_score),
            ("page", &self.page),
            ("per_page", &self.per_page),
        ] {
            if let Some(v) = given(value) {
                parts.push(format!("{key}={}", v.chars().take(40).collect::<String>()));
            }
        }
        if let Some(n) = given(&self.name) {
            parts.push(format!("name={}", mask::name(n, "", Level::Strict)));
        }
        parts.join("&")
    }
}

/// Checks an audit search's dates: a day (`YYYY-MM-DD`) or an instant
/// (RFC 3339), not any text compared as a string.
pub fn check_audit_dates(f: &ocrm::AuditFilter) -> Result<(), WebError> {
    for (name, value) in [("from", &f.from), ("to", &f.to)] {
        let Some(v) = given(value) else { continue };
        let day = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok();
        let instant = chrono::DateTime::parse_from_rfc3339(v).is_ok();
        if !day && !instant {
            return Err(WebError::BadRequest(format!(
                "{name}: a date (YYYY-MM-DD) or an instant (RFC 3339), not {}",
                v.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(())
}

/// Audits a list read: who, which list, with which filters, how many rows
/// (PCI DSS 10.2: bulk access to cardholder and personal data is logged).
pub async fn audit_list(
    state: &AppState,
    ctx: &Ctx,
    action: &str,
    filters: &str,
    rows: usize,
) -> Result<(), WebError> {
    let detail = if filters.is_empty() {
        format!("{rows} rows")
    } else {
        format!("{filters} -> {rows} rows")
    };
    ctx.audit(
        state,
        Audit {
            action,
            object_type: Some("list"),
            detail: Some(&detail),
            ..Audit::default()
        },
    )
    .await
}

/// A customer in a list, masked for the caller.
#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    /// Id (the link to the 360° view).
    pub id: i64,
    /// Customer number.
    pub customer_no: String,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Name, masked per role.
    pub name: String,
    /// Mobile, masked.
    pub mobile: Option<String>,
    /// Home branch.
    pub branch: Option<String>,
    /// Tier code.
    pub tier: Option<String>,
    /// AUM, fen.
    pub aum_minor: Option<i64>,
    /// Monthly average AUM, fen.
    pub aum_avg_minor: Option<i64>,
    /// Profit, fen.
    pub profit_minor: Option<i64>,
}

/// Masks list rows for `user`.
pub fn list_items(user: &User, rows: Vec<ocrm::CustomerListRow>) -> Vec<ListItem> {
    let level = Level::for_role(user.role);
    rows.into_iter()
        .map(|r| ListItem {
            name: mask::name(&r.name, &r.customer_no, level),
            mobile: r.mobile.as_deref().map(|m| mask::mobile(m, level)),
            id: r.id,
            customer_no: r.customer_no,
            party_type: r.party_type,
            branch: r.branch,
            tier: r.tier,
            aum_minor: r.aum_minor,
            aum_avg_minor: r.aum_avg_minor,
            profit_minor: r.profit_minor,
        })
        .collect()
}

/// The 360° view of a customer, masked for the caller.
#[derive(Debug, Clone, Serialize)]
pub struct Customer360 {
    /// The golden record, masked.
    pub profile: Profile,
    /// Latest features (tier, AUM, …).
    pub features: Option<ocrm::FeatureRow>,
    /// Accounts with their latest balances.
    pub accounts: Vec<ocrm::AccountRow>,
    /// Month-end balances by month and product class.
    pub trend: Vec<(String, String, i64)>,
    /// Transactions of the last 12 months by channel and direction.
    pub channels: Vec<(String, String, i64, i64)>,
    /// Latest transactions.
    pub recent: Vec<ocrm::TxnRow>,
    /// Tier changes.
    pub tiers: Vec<(String, String, Option<String>)>,
    /// Household members and relationships (names masked).
    pub related: Vec<ocrm::RelatedRow>,
    /// Segments.
    pub segments: Vec<(i64, String)>,
    /// Contacts.
    pub contacts: Vec<ocrm::ContactRow>,
    /// Open opportunities.
    pub opportunities: Vec<ocrm::OpportunityRow>,
    /// Contact preferences (the campaigns' contact policy).
    pub preferences: ocrm::ContactPrefs,
    /// The first account's opening day (the relationship anniversary).
    pub customer_since: Option<String>,
    /// Complaints, the unresolved first.
    pub complaints: Vec<panorama_store::complaints::ComplaintRow>,
    /// Alerts the batch raised, newest first.
    pub alerts: Vec<ocrm::AlertRow>,
    /// Latest scores of the approved models, with their top reasons.
    pub scores: Vec<ScoreView>,
    /// Offers of live campaigns the customer is a treated member of.
    pub offers: Vec<panorama_store::campaigns::LiveOffer>,
    /// The source records behind the golden record and how each was linked
    /// (the pair's waterfall: field, level, weight — no values).
    pub sources: Vec<panorama_store::ecif::SourceLink>,
    /// Whether PII is shown in clear (after an audited reason).
    pub unmasked: bool,
}

/// A model's score of the customer and why.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreView {
    /// Model name.
    pub name: String,
    /// What it predicts (`uptake:card`, `churn`).
    pub kind: String,
    /// Version.
    pub version: i64,
    /// Scored as of.
    pub as_of: String,
    /// Probability.
    pub score: f64,
    /// The features that raise it most: (Chinese, English, log-odds weight).
    pub reasons: Vec<(String, String, f64)>,
}

/// A stored score with its reasons put in words from the model's feature list.
fn score_view(s: panorama_store::models::CustomerScore) -> ScoreView {
    let features: Vec<serde_json::Value> = serde_json::from_str(&s.features).unwrap_or_default();
    let meaning = |column: &str| {
        features
            .iter()
            .find(|f| f["name"] == column)
            .map(|f| {
                let text = |k: &str| f[k].as_str().unwrap_or(column).to_owned();
                (text("zh"), text("en"))
            })
            .unwrap_or_else(|| (column.to_owned(), column.to_owned()))
    };
    let reasons: Vec<(String, f64)> = s
        .reasons
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    ScoreView {
        reasons: reasons
            .into_iter()
            .map(|(column, weight)| {
                let (zh, en) = meaning(&column);
                (zh, en, weight)
            })
            .collect(),
        name: s.name,
        kind: s.kind,
        version: s.version,
        as_of: s.as_of,
        score: s.score,
    }
}

/// The golden record's fields, masked per level.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Id.
    pub id: i64,
    /// Customer number.
    pub customer_no: String,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Option<String>,
    /// Birth date.
    pub birth_date: Option<String>,
    /// Resident id.
    pub id_no: Option<String>,
    /// Credit code (not personal data: shown).
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
    /// Golden record created.
    pub created_at: String,
}

/// Loads the 360° view of customer `id` if it is in the user's scope
/// (otherwise `NotFound`), masks it at `level`, and audits the view.
pub async fn customer_360(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    level: Level,
    reason: Option<&str>,
) -> Result<Customer360, WebError> {
    let user = ctx.require(Permission::ViewCustomers)?;
    let store = &state.store;
    let Some(c) = ocrm::customer_in_scope(store, &user.scope(), id).await? else {
        ctx.audit(
            state,
            Audit {
                action: "customer.view",
                object_type: Some("customer"),
                object_id: Some(&id.to_string()),
                outcome: "denied",
                detail: Some("not found or out of scope"),
                ..Audit::default()
            },
        )
        .await?;
        return Err(WebError::NotFound);
    };
    let since = (chrono::Utc::now() - chrono::Duration::days(365))
        .format("%Y-%m-%d")
        .to_string();
    let features = ocrm::features_of(store, id).await?;
    let since = features
        .as_ref()
        .and_then(|f| chrono::NaiveDate::parse_from_str(&f.as_of, "%Y-%m-%d").ok())
        .and_then(|d| d.checked_sub_months(chrono::Months::new(12)))
        .map_or(since, |d| d.format("%Y-%m-%d").to_string());
    let mut related = ocrm::related_of(store, id).await?;
    for r in &mut related {
        r.name = mask::name(&r.name, &format!("#{}", r.customer_id), level);
    }
    let pseudonym = c.customer_no.clone();
    let view = Customer360 {
        profile: Profile {
            id: c.id,
            name: mask::name(&c.name, &c.customer_no, level),
            customer_no: c.customer_no,
            party_type: c.party_type,
            gender: c.gender,
            birth_date: c.birth_date.as_deref().map(|d| mask::birth_date(d, level)),
            id_no: c.id_no.as_deref().map(|v| mask::resident_id(v, level)),
            credit_code: c.credit_code,
            mobile: c.mobile.as_deref().map(|v| mask::mobile(v, level)),
            email: c.email.as_deref().map(|v| mask::email(v, level)),
            address: c.address.as_deref().map(|v| mask::address(v, level)),
            industry: c.industry,
            branch: c.branch,
            branch_name: c.branch_name,
            created_at: c.created_at,
        },
        features: features.map(|f| ocrm::FeatureRow {
            features: mask::features(&f.features, level),
            ..f
        }),
        // Card and account numbers six and four, counterparties by the
        // level's rule for names: the clear view is the audited unmask.
        accounts: ocrm::accounts_of(store, id)
            .await?
            .into_iter()
            .map(|a| ocrm::AccountRow {
                account_no: mask::account_no(&a.account_no, level),
                ..a
            })
            .collect(),
        trend: ocrm::balance_trend(store, id).await?,
        channels: ocrm::transactions_by_channel(store, id, &since).await?,
        recent: ocrm::recent_transactions(store, id, 20)
            .await?
            .into_iter()
            .map(|x| ocrm::TxnRow {
                account_no: mask::account_no(&x.account_no, level),
                counterparty_name: x
                    .counterparty_name
                    .as_deref()
                    .map(|n| mask::counterparty(n, level)),
                ..x
            })
            .collect(),
        tiers: ocrm::tier_history_of(store, id).await?,
        related,
        segments: ocrm::segments_of(store, id).await?,
        contacts: ocrm::contacts_of(store, id, 50).await?,
        opportunities: ocrm::opportunities(store, Some(id), None)
            .await?
            .into_iter()
            .map(|o| ocrm::OpportunityRow {
                customer_name: mask::name(&o.customer_name, &pseudonym, level),
                ..o
            })
            .collect(),
        preferences: ocrm::preferences_of(store, id).await?,
        customer_since: ocrm::first_opened_on(store, id).await?,
        // The customer's own name, masked like the profile's.
        complaints: panorama_store::complaints::list(store, &ocrm::Scope::All, None, Some(id), 20)
            .await?
            .into_iter()
            .map(|k| panorama_store::complaints::ComplaintRow {
                customer_name: mask::name(&k.customer_name, &k.customer_no, level),
                ..k
            })
            .collect(),
        alerts: ocrm::alerts_of(store, id, 20).await?,
        offers: panorama_store::campaigns::live_offers(store, id).await?,
        scores: panorama_store::models::customer_scores(store, id)
            .await?
            .into_iter()
            .map(score_view)
            .collect(),
        sources: panorama_store::ecif::source_links(store, id).await?,
        unmasked: level == Level::Clear,
    };
    ctx.audit(
        state,
        Audit {
            action: if level == Level::Clear {
                "customer.unmask"
            } else {
                "customer.view"
            },
            customer_id: Some(id),
            object_type: Some("customer"),
            object_id: Some(&id.to_string()),
            reason,
            ..Audit::default()
        },
    )
    .await?;
    Ok(view)
}

/// Runs a search in the user's scope, audited with the kind of key and a
/// masked value (the trail itself holds no clear PII).
pub async fn search(
    state: &AppState,
    ctx: &Ctx,
    q: &str,
    limit: i64,
) -> Result<Vec<ListItem>, WebError> {
    let user = ctx.require(Permission::ViewCustomers)?;
    within("q", q, 100)?;
    let Some(key) = ocrm::SearchKey::parse(q) else {
        return Ok(Vec::new());
    };
    let rows = ocrm::search(&state.store, &user.scope(), &key, limit).await?;
    let (kind, shown) = match &key {
        ocrm::SearchKey::Mobile(m) => ("mobile", mask::mobile(m, Level::Masked)),
        ocrm::SearchKey::ResidentId(v) => ("resident_id", mask::resident_id(v, Level::Masked)),
        ocrm::SearchKey::CreditCode(v) => ("credit_code", v.clone()),
        ocrm::SearchKey::Number(v) => ("number", mask::mobile(v, Level::Masked)),
        ocrm::SearchKey::Name(v) => ("name", mask::name(v, "", Level::Strict)),
    };
    ctx.audit(
        state,
        Audit {
            action: "search",
            object_type: Some(kind),
            detail: Some(&format!("{shown} -> {} found", rows.len())),
            ..Audit::default()
        },
    )
    .await?;
    Ok(list_items(user, rows))
}

/// A JSON field as the text a form would send: strings as they are,
/// numbers and booleans written out, absent or null as `None`.
pub fn json_text(body: &serde_json::Value, key: &str) -> Option<String> {
    match &body[key] {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
