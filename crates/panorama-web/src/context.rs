//! What every request carries and every handler shares: the request
//! context (who, which language, from where; CSRF, permission and length
//! checks), login with throttling and audit, logout, and the audit of list
//! reads and the auditor's search dates.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_login::AuthSession;
use panorama_store::ocrm::{self, Audit};
use tower_sessions::Session;

use crate::AppState;
use crate::auth::{Backend, Credentials, Permission, User};
use crate::error::WebError;
use crate::i18n::Lang;

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
    // The place first, then the record: see `Reservation::admitted`.
    let reservation = state.throttle.reserve(&username, &address);
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
    let ticket = reservation.admitted(
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

/// A form or query value, trimmed; `None` when empty.
pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
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

/// A JSON field as the text a form would send: strings as they are,
/// numbers and booleans written out, absent or null as `None`.
pub fn json_text(body: &serde_json::Value, key: &str) -> Option<String> {
    match &body[key] {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
