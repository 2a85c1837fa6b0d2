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
mod assignment;
pub mod auth;
mod campaigns;
mod complaints;
mod dashboard;
mod effect;
mod error;
pub mod i18n;
mod insight;
pub mod mask;
mod metrics;
mod pages;
mod pipeline;
mod referrals;
pub use pages::urlencode;
mod service;
mod service_desk;
mod session_store;
mod steward;
mod steward_pages;
pub mod surveys;
mod targets;
mod throttle;
mod workbench;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
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
        .route("/", get(workbench::page))
        .route("/workbench/layout", post(workbench::form_layout))
        .route("/leads/{task}", post(workbench::form_lead))
        .route("/api/leads/{task}", post(workbench::api_lead))
        .route("/api/me/workbench", post(workbench::api_layout))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/lang/{lang}", get(pages::set_lang))
        .route("/customers", get(pages::customer_list))
        .route("/customers/lookup", get(pages::lookup))
        .route("/customers/{id}", get(pages::customer_360))
        .route("/customers/{id}/contacts", post(pages::record_contact))
        .route("/customers/{id}/unmask", post(pages::unmask))
        .route("/customers/{id}/preferences", post(pages::set_preferences))
        .route("/search", get(pages::search).post(pages::search_form))
        .route("/tasks/{id}/done", post(pages::task_done))
        .route("/audit", get(pages::audit_page))
        .route("/users", get(admin::page).post(admin::form_create))
        .route("/users/{id}", post(admin::form_update))
        .route("/api/users", get(admin::api_list).post(admin::api_create))
        .route("/api/users/{id}", post(admin::api_update))
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/me", get(api::me))
        .route("/api/customers", get(api::customers))
        .route("/api/customers/{id}", get(api::customer))
        .route("/api/search", get(api::search))
        .route("/api/alerts", get(api::alerts))
        .route("/api/audit", get(api::audit))
        .route("/ecif", get(steward_pages::queue))
        .route("/ecif/reviews/{id}/{action}", post(steward_pages::decide))
        .route("/ecif/merges", get(steward_pages::merges))
        .route("/ecif/merges/{id}/undo", post(steward_pages::undo))
        .route("/ecif/quality", get(steward_pages::quality))
        .route(
            "/ecif/relationships",
            get(steward_pages::relationships).post(steward_pages::add),
        )
        .route(
            "/ecif/relationships/{id}/remove",
            post(steward_pages::remove),
        )
        .route("/api/ecif/reviews", get(steward::reviews))
        .route("/api/ecif/reviews/{id}", get(steward::review))
        .route("/api/ecif/reviews/{id}/unmask", post(steward::unmask))
        .route("/api/ecif/reviews/{id}/accept", post(steward::accept))
        .route("/api/ecif/reviews/{id}/reject", post(steward::reject))
        .route("/api/ecif/merges", get(steward::merges))
        .route("/api/ecif/merges/{id}/undo", post(steward::undo))
        .route("/api/ecif/quality", get(steward::quality))
        .route(
            "/assignments",
            get(assignment::page).post(assignment::form_move),
        )
        .route(
            "/api/assignments",
            get(assignment::api_overview).post(assignment::api_move),
        )
        .route(
            "/api/customers/{id}/assignments",
            get(assignment::api_history),
        )
        .route("/complaints", get(complaints::list_page))
        .route("/complaints/{id}", get(complaints::detail_page))
        .route("/complaints/{id}/{action}", post(complaints::form_step))
        .route("/customers/{id}/complaints", post(complaints::form_open))
        .route(
            "/api/complaints",
            get(complaints::api_list).post(complaints::api_open),
        )
        .route("/api/complaints/{id}", get(complaints::api_get))
        .route("/api/complaints/{id}/{action}", post(complaints::api_step))
        .route("/api/surveys", post(complaints::api_survey))
        .route("/survey/{token}", get(surveys::form).post(surveys::submit))
        .route("/api/satisfaction", get(complaints::api_satisfaction))
        .route("/referrals", get(referrals::page))
        .route("/referrals/{id}/{action}", post(referrals::form_decide))
        .route("/customers/{id}/referrals", post(referrals::form_refer))
        .route(
            "/api/referrals",
            get(referrals::api_list).post(referrals::api_refer),
        )
        .route("/api/referrals/{id}/{action}", post(referrals::api_decide))
        .route("/service", get(service_desk::page))
        .route("/api/service", get(service_desk::api))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard.xlsx", get(dashboard::excel))
        .route("/api/dashboard", get(dashboard::api))
        .route("/targets", get(targets::page).post(targets::form))
        .route("/api/targets", get(targets::api_view).post(targets::api_set))
        .route("/api/targets/{id}/split", post(targets::api_split))
        .route("/api/targets/actuals", post(targets::api_actuals))
        .route(
            "/api/indicators",
            get(targets::api_indicators).post(targets::api_add_indicator),
        )
        .route("/opportunities", get(pipeline::page))
        .route("/opportunities/{id}/stage", post(pipeline::form_move))
        .route("/customers/{id}/opportunities", post(pipeline::form_create))
        .route(
            "/api/opportunities",
            get(pipeline::api_list).post(pipeline::api_create),
        )
        .route("/api/opportunities/{id}/stage", post(pipeline::api_move))
        .route("/models", get(insight::models_page))
        .route("/api/models", get(insight::models_api))
        .route(
            "/campaigns",
            get(campaigns::list_page).post(campaigns::form_create),
        )
        .route("/campaigns/new", get(campaigns::new_page))
        .route("/campaigns/effect", get(effect::effect_page))
        .route("/campaigns/{id}", get(campaigns::detail_page))
        .route("/campaigns/{id}/members.csv", get(campaigns::members_csv))
        .route("/campaigns/{id}/{action}", post(campaigns::form_step))
        .route(
            "/api/campaigns",
            get(campaigns::api_list).post(campaigns::api_create),
        )
        .route("/api/campaigns/compare", get(campaigns::api_compare))
        .route("/api/campaigns/effect", get(effect::api_effect))
        .route("/api/campaigns/preview", post(campaigns::api_preview))
        .route("/api/campaigns/{id}", get(campaigns::api_get))
        .route("/api/campaigns/{id}/approve", post(campaigns::api_approve))
        .route("/api/campaigns/{id}/launch", post(campaigns::api_launch))
        .route("/api/campaigns/{id}/finish", post(campaigns::api_finish))
        .route("/api/openapi.json", get(api::openapi))
        .route("/healthz", get(metrics::health))
        .route("/metrics", get(metrics::render))
        .fallback(pages::not_found)
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
            match panorama_store::complaints::escalate_overdue(&sla, &now).await {
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
