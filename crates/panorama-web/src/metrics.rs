//! Health and Prometheus-style request counters. Health answers anyone;
//! the counters a scraper holding the configured bearer token, or an
//! administrator.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::Permission;
use crate::context::Ctx;
use crate::error::WebError;

/// Request counts by status class and total handling time.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: AtomicU64,
    status_2xx: AtomicU64,
    status_3xx: AtomicU64,
    status_4xx: AtomicU64,
    status_5xx: AtomicU64,
    micros: AtomicU64,
}

/// Counts every request.
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.requests.fetch_add(1, Ordering::Relaxed);
    let class = match res.status().as_u16() {
        200..=299 => &m.status_2xx,
        300..=399 => &m.status_3xx,
        400..=499 => &m.status_4xx,
        _ => &m.status_5xx,
    };
    class.fetch_add(1, Ordering::Relaxed);
    m.micros.fetch_add(
        u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    res
}

/// `GET /healthz`: the store answers.
pub async fn health(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(_) => "ok\n".into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable\n",
            )
                .into_response()
        }
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>` (compared in
/// constant time).
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    crate::context::constant_time_eq(given.as_bytes(), token.as_bytes())
}

/// `GET /metrics`: counters in the Prometheus text format, for a scraper
/// with the configured bearer token or a logged-in administrator.
pub async fn render(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let scraper = state
        .config
        .metrics_token
        .as_deref()
        .is_some_and(|t| !t.is_empty() && bearer_matches(&headers, t));
    // A scraper's token or a logged-in administrator: not an extractor,
    // since either one will do.
    if !scraper {
        ctx.require(Permission::ViewMetrics)?;
    }
    let m = &state.metrics;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let body = format!(
        "# TYPE panorama_http_requests_total counter\n\
         panorama_http_requests_total {}\n\
         panorama_http_responses_total{{class=\"2xx\"}} {}\n\
         panorama_http_responses_total{{class=\"3xx\"}} {}\n\
         panorama_http_responses_total{{class=\"4xx\"}} {}\n\
         panorama_http_responses_total{{class=\"5xx\"}} {}\n\
         # TYPE panorama_http_request_seconds_total counter\n\
         panorama_http_request_seconds_total {:.6}\n",
        get(&m.requests),
        get(&m.status_2xx),
        get(&m.status_3xx),
        get(&m.status_4xx),
        get(&m.status_5xx),
        get(&m.micros) as f64 / 1e6,
    );
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(render))
}
