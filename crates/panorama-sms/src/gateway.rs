//! A local SMS gateway speaking the API of [`crate::api`], for trials and
//! tests (`panorama sms gateway`): it takes messages within the account's
//! rate (429 with `Retry-After` beyond it), refuses numbers that are not
//! mainland mobiles, recognises a message sent again by its sender's id,
//! reports each accepted message delivered — or undelivered, for the number
//! prefixes it is told are unreachable — and hands back the replies typed
//! at it (`POST /sim/reply`), the way a handset's 上行短信 arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::api::{self, Replies, Reply, Report, Reports, SendRequest, SendResponse, SendResult};

/// How the local gateway behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// The API key it accepts.
    pub key: String,
    /// Most messages a second it takes from the account.
    pub rate: u32,
    /// Mobile prefixes whose messages are reported undelivered (UNDELIV).
    pub undeliverable: Vec<String>,
}

/// A message it took.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Taken {
    /// Its id.
    pub msg_id: String,
    /// The sender's id.
    pub client_id: String,
    /// The mobile.
    pub mobile: String,
    /// The text, with the signature.
    pub content: String,
    /// Milliseconds after the gateway started.
    pub at_ms: u64,
}

/// What `GET /sim/messages` shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Seen {
    /// Every message taken, in order.
    pub messages: Vec<Taken>,
    /// Send requests answered 429.
    pub throttled: u64,
    /// Messages sent again under an id it knew.
    pub repeats: u64,
}

#[derive(Debug)]
struct Inner {
    seen: Seen,
    by_client: HashMap<String, String>,
    reports: Vec<Report>,
    replies: Vec<Reply>,
    /// The current one-second window (seconds since start) and its count.
    window: (u64, u32),
}

#[derive(Clone)]
struct Gw {
    opts: Arc<Options>,
    started: Instant,
    inner: Arc<Mutex<Inner>>,
}

impl Gw {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere never leaves the state half-written: every
        // change is made under one lock, so a poisoned lock is still sound.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|k| k == self.opts.key)
    }
}

/// Serves the gateway on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, opts: Options) -> std::io::Result<()> {
    let gw = Gw {
        opts: Arc::new(opts),
        started: Instant::now(),
        inner: Arc::new(Mutex::new(Inner {
            seen: Seen::default(),
            by_client: HashMap::new(),
            reports: Vec::new(),
            replies: Vec::new(),
            window: (0, 0),
        })),
    };
    let app = Router::new()
        .route(api::SEND, post(send))
        .route(api::REPORTS, get(reports))
        .route(api::REPLIES, get(replies))
        .route("/sim/reply", post(reply))
        .route("/sim/messages", get(messages))
        .with_state(gw);
    axum::serve(listener, app).await
}

fn now_rfc3339() -> String {
    chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn is_mobile(m: &str) -> bool {
    m.len() == 11 && m.starts_with('1') && m.bytes().all(|b| b.is_ascii_digit())
}

async fn send(State(gw): State<Gw>, headers: HeaderMap, Json(req): Json<SendRequest>) -> Response {
    if !gw.authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(SendResponse {
                code: 401,
                results: vec![],
                message: Some("bad API key".into()),
            }),
        )
            .into_response();
    }
    let n = u32::try_from(req.messages.len()).unwrap_or(u32::MAX);
    if n > gw.opts.rate {
        return (
            StatusCode::BAD_REQUEST,
            Json(SendResponse {
                code: 400,
                results: vec![],
                message: Some(format!(
                    "at most {} messages a request (the account's rate a second)",
                    gw.opts.rate
                )),
            }),
        )
            .into_response();
    }
    let at_ms = gw.started.elapsed().as_millis() as u64;
    let mut guard = gw.lock();
    let inner = &mut *guard;
    let second = at_ms / 1000;
    if inner.window.0 != second {
        inner.window = (second, 0);
    }
    if inner.window.1 + n > gw.opts.rate {
        inner.seen.throttled += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(SendResponse {
                code: 429,
                results: vec![],
                message: Some(format!("over {} messages a second", gw.opts.rate)),
            }),
        )
            .into_response();
    }
    inner.window.1 += n;
    let mut results = Vec::with_capacity(req.messages.len());
    for m in req.messages {
        if let Some(msg_id) = inner.by_client.get(&m.client_id).cloned() {
            inner.seen.repeats += 1;
            results.push(SendResult {
                client_id: m.client_id,
                code: api::OK,
                msg_id: Some(msg_id),
                message: None,
            });
            continue;
        }
        let refused = if !is_mobile(&m.mobile) {
            Some((api::INVALID_MOBILE, "invalid mobile"))
        } else if m.content.trim().is_empty() || m.content.chars().count() > 500 {
            Some((api::BAD_CONTENT, "empty or over 500 characters"))
        } else {
            None
        };
        if let Some((code, why)) = refused {
            results.push(SendResult {
                client_id: m.client_id,
                code,
                msg_id: None,
                message: Some(why.into()),
            });
            continue;
        }
        let msg_id = format!("G{:08}", inner.seen.messages.len() + 1);
        let stat = if gw
            .opts
            .undeliverable
            .iter()
            .any(|p| m.mobile.starts_with(p.as_str()))
        {
            "UNDELIV"
        } else {
            "DELIVRD"
        };
        let seq = inner.reports.len() as i64 + 1;
        inner.reports.push(Report {
            seq,
            msg_id: msg_id.clone(),
            mobile: m.mobile.clone(),
            stat: stat.into(),
            done_at: now_rfc3339(),
        });
        inner.by_client.insert(m.client_id.clone(), msg_id.clone());
        inner.seen.messages.push(Taken {
            msg_id: msg_id.clone(),
            client_id: m.client_id.clone(),
            mobile: m.mobile,
            content: format!("{}{}", req.sign, m.content),
            at_ms,
        });
        results.push(SendResult {
            client_id: m.client_id,
            code: api::OK,
            msg_id: Some(msg_id),
            message: None,
        });
    }
    Json(SendResponse {
        code: api::OK,
        results,
        message: None,
    })
    .into_response()
}

/// `?after=SEQ&limit=N`.
#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    500
}

fn page<T: Clone>(items: &[T], seq: impl Fn(&T) -> i64, p: &Page) -> (Vec<T>, i64) {
    let out: Vec<T> = items
        .iter()
        .filter(|x| seq(x) > p.after)
        .take(p.limit.clamp(1, 10_000) as usize)
        .cloned()
        .collect();
    let next = out.last().map_or(p.after, &seq);
    (out, next)
}

async fn reports(State(gw): State<Gw>, headers: HeaderMap, Query(p): Query<Page>) -> Response {
    if !gw.authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let inner = gw.lock();
    let (reports, next) = page(&inner.reports, |r| r.seq, &p);
    Json(Reports {
        code: api::OK,
        reports,
        next,
    })
    .into_response()
}

async fn replies(State(gw): State<Gw>, headers: HeaderMap, Query(p): Query<Page>) -> Response {
    if !gw.authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let inner = gw.lock();
    let (replies, next) = page(&inner.replies, |r| r.seq, &p);
    Json(Replies {
        code: api::OK,
        replies,
        next,
    })
    .into_response()
}

/// A handset's reply, typed at the gateway.
#[derive(Debug, Deserialize)]
struct TypedReply {
    mobile: String,
    content: String,
}

async fn reply(State(gw): State<Gw>, Json(r): Json<TypedReply>) -> Response {
    if !is_mobile(&r.mobile) {
        return (StatusCode::BAD_REQUEST, "not a mainland mobile").into_response();
    }
    let mut inner = gw.lock();
    let seq = inner.replies.len() as i64 + 1;
    inner.replies.push(Reply {
        seq,
        mobile: r.mobile,
        content: r.content,
        received_at: now_rfc3339(),
    });
    Json(serde_json::json!({ "seq": seq })).into_response()
}

async fn messages(State(gw): State<Gw>) -> Json<Seen> {
    Json(gw.lock().seen.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_cursor() {
        let items: Vec<i64> = (1..=5).collect();
        let (got, next) = page(&items, |x| *x, &Page { after: 2, limit: 2 });
        assert_eq!((got, next), (vec![3, 4], 4));
        let (got, next) = page(&items, |x| *x, &Page { after: 5, limit: 2 });
        assert_eq!((got, next), (vec![], 5));
        assert!(is_mobile("13800138000"));
        assert!(!is_mobile("1380013800") && !is_mobile("23800138000"));
    }
}
