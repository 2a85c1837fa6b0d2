//! The OCRM workbench: the relationship manager's web application and its
//! JSON API, served by `panorama serve`.
//!
//! Server-rendered pages (maud) in Simplified Chinese with an English
//! switch; login with argon2 password hashes and sessions kept in the
//! store (tower-sessions, axum-login); a data scope per role applied in
//! every customer query ([`panorama_store::ocrm::Scope`]); PII masked by
//! role; every view, search, unmasking and login written to the audit trail.
//! Data stewards work ECIF's review queue and merges through the same API.

mod admin;
mod api;
pub mod appraisal;
mod assets;
mod assignment;
mod audit_pages;
pub mod auth;
mod campaigns;
mod complaints;
mod customer_pages;
mod dashboard;
mod effect;
mod error;
mod extract;
pub mod i18n;
mod insight;
mod live;
mod login_pages;
pub mod mask;
mod metrics;
mod pipeline;
mod referrals;
mod rules;
mod sales;
pub use ui::urlencode;
mod context;
mod customers;
mod segments;
mod service_desk;
mod session_store;
mod steward_api;
mod steward_pages;
pub mod surveys;
mod targets;
mod throttle;
mod ui;
mod workbench;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use axum_login::AuthManagerLayerBuilder;
use panorama_store::Store;
use time::Duration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use error::WebError;
pub use session_store::StoreSessions;

/// A value tier's code and names, as the analytics configuration defines them.
#[derive(Debug, Clone)]
pub struct TierLabel {
    /// Code (`platinum`).
    pub code: String,
    /// Chinese name (白金).
    pub zh: String,
    /// English name.
    pub en: String,
}

impl TierLabel {
    /// The tiers of an ACRM configuration, in its order.
    pub fn of(config: &panorama_analytics::Config) -> Vec<TierLabel> {
        config
            .tiers
            .iter()
            .map(|t| TierLabel {
                code: t.code.clone(),
                zh: t.name_zh.clone(),
                en: t.name_en.clone(),
            })
            .collect()
    }
}

/// How the web app runs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// Idle minutes before a session expires.
    pub session_idle_minutes: i64,
    /// Seconds after its login a session ends, however active.
    pub session_absolute_seconds: i64,
    /// The bearer token a metrics scraper presents at `/metrics` (without
    /// one, only a logged-in administrator reads it).
    pub metrics_token: Option<String>,
    /// Failed logins in the window that lock an account for the client
    /// address they came from.
    pub max_failed_logins: i64,
    /// Failed logins from one client address, any account, in the window.
    pub max_failed_logins_per_address: i64,
    /// The window for counting failed logins, minutes.
    pub lockout_minutes: i64,
    /// Value tiers, highest first.
    pub tiers: Vec<TierLabel>,
    /// The feature store, for designing and launching campaigns.
    pub analytics: Option<WebAnalytics>,
}

/// Where the analytics live and how they are configured.
#[derive(Debug, Clone)]
pub struct WebAnalytics {
    /// The analytics directory (features by date).
    pub dir: std::path::PathBuf,
    /// The ACRM configuration (segment vocabulary).
    pub config: panorama_analytics::Config,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            session_idle_minutes: 30,
            session_absolute_seconds: 12 * 3600,
            metrics_token: None,
            max_failed_logins: 5,
            max_failed_logins_per_address: 30,
            lockout_minutes: 15,
            tiers: Vec::new(),
            analytics: None,
        }
    }
}

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The operational store.
    pub store: Store,
    /// Settings.
    pub config: Arc<WebConfig>,
    /// Request counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Login attempts in flight.
    pub throttle: Arc<throttle::Throttle>,
}

/// The application: pages, API, health and metrics, behind sessions and login.
pub fn router(store: Store, config: WebConfig) -> Router {
    let idle = config.session_idle_minutes;
    let secure = config.secure_cookies;
    let state = AppState {
        store: store.clone(),
        config: Arc::new(config),
        metrics: Arc::new(metrics::Metrics::default()),
        throttle: Arc::new(throttle::Throttle::default()),
    };
    let sessions = SessionManagerLayer::new(StoreSessions::new(store.clone()))
        .with_name("panorama_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(Duration::minutes(idle)));
    let auth = AuthManagerLayerBuilder::new(auth::Backend::new(store), sessions).build();
    Router::new()
        .merge(assets::routes())
        .merge(segments::routes())
        .merge(workbench::routes())
        .merge(login_pages::routes())
        .merge(customer_pages::routes())
        .merge(audit_pages::routes())
        .merge(admin::routes())
        .merge(rules::routes())
        .merge(api::routes())
        .merge(steward_pages::routes())
        .merge(steward_api::routes())
        .merge(assignment::routes())
        .merge(complaints::routes())
        .merge(surveys::routes())
        .merge(referrals::routes())
        .merge(sales::routes())
        .merge(appraisal::routes())
        .merge(service_desk::routes())
        .merge(dashboard::routes())
        .merge(targets::routes())
        .merge(pipeline::routes())
        .merge(insight::routes())
        .merge(campaigns::routes())
        .merge(effect::routes())
        .merge(metrics::routes())
        .merge(live::routes())
        .fallback(login_pages::not_found)
        // Forms and JSON are small; an assignment file may hold 100,000
        // customers.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        .merge(
            Router::new()
                .route("/assignments/upload", post(assignment::form_upload))
                .layer(tower_http::limit::RequestBodyLimitLayer::new(4 * 1024 * 1024))
                .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .layer(auth)
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_FRAME_OPTIONS,
            axum::http::HeaderValue::from_static("DENY"),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("no-referrer"),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

/// Serves the application on `addr` until the process is stopped; expired
/// sessions are purged every ten minutes, and SQLite's write-ahead log is
/// checkpointed every second off the request path.
pub async fn serve(store: Store, config: WebConfig, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, store, config).await
}

/// Serves on an already bound listener (tests bind port 0 first).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    store: Store,
    config: WebConfig,
) -> anyhow::Result<()> {
    let purge = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now().timestamp();
            if let Err(e) = panorama_store::ocrm::sessions::purge(&purge, now).await {
                tracing::warn!(error = %e, "purging expired sessions");
            }
        }
    });
    // Complaints whose SLA ran out go to the branch manager within a minute.
    let sla = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = panorama_store::now_utc();
            match panorama_ocrm::complaints::escalate_overdue(&sla, &now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(escalated = n, "complaints past their SLA escalated"),
                Err(e) => tracing::warn!(error = %e, "escalating complaints past their SLA"),
            }
        }
    });
    let checkpoints = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = checkpoints.checkpoint_passive().await {
                tracing::warn!(error = %e, "checkpointing the write-ahead log");
            }
        }
    });
    let app = router(store, config);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}
