//! Alerts as they are raised, pushed to the open page (server-sent events):
//! `GET /api/alerts/stream` sends each new alert in the caller's scope (an
//! RM's: those behind their own tasks) as an `alert` event, moments after
//! the event feed or the batch wrote it. The workbench and the service desk
//! open the stream (`assets/live.js`) from the newest alert they rendered
//! (`?after=ID`) and put each alert at the top of their list without a
//! reload. A reconnecting browser sends `Last-Event-ID` and misses nothing.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use panorama_store::ocrm::{self, AlertRow, Scope};
use serde_json::json;

use crate::AppState;
use crate::context::audit_list;
use crate::customer_pages::rule_name;
use crate::error::WebError;
use crate::extract::{Require, perm};
use crate::i18n::Lang;

/// How often the store is asked for new alerts.
const POLL: Duration = Duration::from_millis(500);

/// `?after=ID`: the newest alert the page already shows.
#[derive(Debug, serde::Deserialize)]
pub struct StreamQuery {
    after: Option<i64>,
}

/// `GET /api/alerts/stream[?after=ID]`.
pub async fn stream(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewCustomers>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after)
        .filter(|id| *id >= 0);
    let after = match resume {
        Some(id) => id,
        None => ocrm::max_alert_id(&state.store).await?,
    };
    audit_list(&state, &ctx, "alerts.stream", &format!("after={after}"), 0).await?;
    let scope = user.scope();
    let lang = ctx.lang;
    Ok(Sse::new(alerts(state, scope, after, lang))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The stream: new alerts in `scope` after alert `after`, in id order.
fn alerts(
    state: AppState,
    scope: Scope,
    after: i64,
    lang: Lang,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let pending: Vec<AlertRow> = Vec::new();
    stream::unfold(
        (state, scope, after, pending),
        move |(state, scope, mut after, mut pending)| async move {
            loop {
                if let Some(a) = pending.pop() {
                    after = after.max(a.id);
                    let event = Event::default()
                        .event("alert")
                        .id(a.id.to_string())
                        .data(payload(&a, lang).to_string());
                    return Some((Ok(event), (state, scope, after, pending)));
                }
                tokio::time::sleep(POLL).await;
                let rows = match &scope {
                    Scope::Assigned(rm) => {
                        ocrm::alerts_of_owner_after(&state.store, *rm, after, 100).await
                    }
                    scope => ocrm::alerts_after(&state.store, scope, after, 100).await,
                };
                match rows {
                    // Oldest last, so `pop` sends them oldest first.
                    Ok(rows) => pending = rows.into_iter().rev().collect(),
                    Err(e) => {
                        tracing::warn!(error = %e, "live alerts: the store did not answer; retrying");
                    }
                }
            }
        },
    )
}

/// An alert as the page shows it: the rule's name and the message in the
/// page's language.
fn payload(a: &AlertRow, lang: Lang) -> serde_json::Value {
    let message = match (lang, &a.message_en) {
        (Lang::En, Some(en)) => en.as_str(),
        _ => a.message.as_str(),
    };
    json!({
        "id": a.id,
        "customer_id": a.customer_id,
        "rule": a.rule,
        "rule_name": rule_name(&a.rule, lang),
        "severity": a.severity,
        "as_of": a.as_of,
        "due_on": a.due_on,
        "message": message,
    })
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/api/alerts/stream", axum::routing::get(stream))
}
