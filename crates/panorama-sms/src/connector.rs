//! The bank's side: the SMS outbox sent through a gateway's HTTP API at a
//! paced rate — never in quiet hours, on a rest day never to a customer who
//! asked not to be disturbed, never to one who opted out since the message
//! was queued — each message's answer and delivery receipt recorded, and the
//! handsets' replies read back: 退订, T, TD and the like become an opt-out
//! of SMS at once.
//!
//! Nothing is lost or sent twice: messages are claimed in a named batch
//! before they go; a gateway that cannot be reached gets them back in the
//! queue; a run that stops between claiming and the gateway's answer leaves
//! them claimed, and the next run sends them again under the same ids
//! (`panorama-<outbox id>`), which the gateway recognises.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone};
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use panorama_campaign::delivery::{self, QuietHours};
use panorama_store::Store;
use panorama_store::campaigns::OutboxRow;
use panorama_store::gateway::{self as q, Answer};
use serde::de::DeserializeOwned;

use crate::api::{self, OutMessage, Replies, Reports, SendRequest, SendResponse};
use crate::{Result, SmsError};

/// A gateway to send through.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Base URL, e.g. `http://10.1.2.3:8088`.
    pub base: String,
    /// The account's API key.
    pub key: String,
    /// The signature messages go out under (签名).
    pub sign: String,
    client: Client<HttpConnector, Body>,
}

impl Gateway {
    /// A gateway at `base` (http), with the account's `key` and `sign`.
    pub fn new(base: &str, key: &str, sign: &str) -> Result<Gateway> {
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            return Err(SmsError::Gateway(format!(
                "{base}: an http:// address (TLS ends at the bank's egress proxy)"
            )));
        }
        Ok(Gateway {
            base,
            key: key.to_owned(),
            sign: sign.to_owned(),
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
        })
    }

    /// The name its cursors are kept under.
    pub fn name(&self) -> &str {
        &self.base
    }

    async fn call(&self, req: Request<Body>) -> Result<(StatusCode, Option<u64>, Vec<u8>)> {
        let what = format!("{} {}", req.method(), req.uri());
        let res = tokio::time::timeout(Duration::from_secs(30), self.client.request(req))
            .await
            .map_err(|_| SmsError::Gateway(format!("{what}: no answer in 30 s")))?
            .map_err(|e| SmsError::Gateway(format!("{what}: {e}")))?;
        let status = res.status();
        let retry = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| SmsError::Gateway(format!("{what}: {e}")))?
            .to_bytes()
            .to_vec();
        Ok((status, retry, body))
    }

    fn decode<T: DeserializeOwned>(what: &str, status: StatusCode, body: &[u8]) -> Result<T> {
        if !status.is_success() {
            return Err(SmsError::Gateway(format!(
                "{what}: {status} {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            )));
        }
        serde_json::from_slice(body)
            .map_err(|e| SmsError::Gateway(format!("{what}: an unreadable answer: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, after: i64, limit: i64) -> Result<T> {
        let req = Request::get(format!("{}{path}?after={after}&limit={limit}", self.base))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .body(Body::empty())
            .map_err(|e| SmsError::Gateway(e.to_string()))?;
        let (status, _, body) = self.call(req).await?;
        Self::decode(path, status, &body)
    }

    /// Sends one request; `Ok(None)` when the gateway says to slow down
    /// (429), with how long to wait.
    async fn send(
        &self,
        messages: Vec<OutMessage>,
    ) -> Result<std::result::Result<SendResponse, Duration>> {
        let body = serde_json::to_string(&SendRequest {
            sign: self.sign.clone(),
            messages,
        })
        .map_err(|e| SmsError::Gateway(e.to_string()))?;
        let req = Request::post(format!("{}{}", self.base, api::SEND))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.key))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .map_err(|e| SmsError::Gateway(e.to_string()))?;
        let (status, retry, body) = self.call(req).await?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Ok(Err(Duration::from_secs(retry.unwrap_or(1).clamp(1, 60))));
        }
        Ok(Ok(Self::decode(api::SEND, status, &body)?))
    }
}

/// How a send run goes.
#[derive(Debug, Clone, Copy)]
pub struct SendPolicy {
    /// Quiet hours.
    pub quiet: QuietHours,
    /// The hour (0–23, local) to judge them by.
    pub hour: u32,
    /// Whether today is a rest day.
    pub rest_day: bool,
    /// Most messages taken.
    pub limit: i64,
    /// Most messages a second (the account's contracted rate).
    pub rate: u32,
    /// Messages per request.
    pub chunk: usize,
}

/// What a send run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Sent {
    /// The batch the messages were claimed in.
    pub batch: String,
    /// Messages handed to the gateway (claimed now or left by a run that stopped).
    pub handed: u64,
    /// Of them, claimed by an earlier run that never heard back.
    pub reclaimed: u64,
    /// Accepted by the gateway.
    pub accepted: u64,
    /// Refused by it (with the reason kept on the message).
    pub refused: u64,
    /// Held for the next working day (rest day, do-not-disturb).
    pub held: i64,
    /// Not sent: their customers opted out since they were queued.
    pub opted_out: u64,
    /// Times the gateway said to slow down (429).
    pub throttled: u64,
    /// Seconds.
    pub seconds: f64,
}

/// Sends the queued SMS through `gw` under `policy` at `now`; audited by
/// the drain (`by`).
pub async fn send<Tz: TimeZone>(
    store: &Store,
    gw: &Gateway,
    policy: SendPolicy,
    now: DateTime<Tz>,
    by: &str,
) -> Result<Sent>
where
    Tz::Offset: std::fmt::Display,
{
    let started = Instant::now();
    if policy.quiet.contains(policy.hour) {
        return Err(SmsError::Refused(format!(
            "quiet hours ({}:00–{}:00): no messages go out at {}:xx; nothing was sent",
            policy.quiet.start, policy.quiet.end, policy.hour
        )));
    }
    if policy.rate == 0 || policy.chunk == 0 {
        return Err(SmsError::Refused(
            "the rate and the messages per request are at least 1".into(),
        ));
    }
    let batch = delivery::batch_name(q::BATCH_PREFIX, "sms", &now);
    let reclaimed = q::reclaim(store, "sms", &batch).await?;
    let drained = delivery::drain(
        store,
        q::BATCH_PREFIX,
        "sms",
        policy.limit,
        policy.quiet,
        policy.hour,
        policy.rest_day,
        now,
        by,
    )
    .await?;
    let rows: Vec<OutboxRow> = q::unanswered(store, &drained.batch).await?;
    let mut sent = Sent {
        batch: drained.batch.clone(),
        handed: rows.len() as u64,
        reclaimed,
        held: drained.held,
        opted_out: drained.opted_out,
        ..Sent::default()
    };
    // Paced: the k-th message goes no sooner than k / rate seconds in.
    let chunk = policy.chunk.min(policy.rate as usize).max(1);
    let paced = Instant::now();
    let mut done = 0usize;
    for part in rows.chunks(chunk) {
        let due = paced + Duration::from_secs_f64(done as f64 / f64::from(policy.rate));
        tokio::time::sleep_until(due.into()).await;
        let messages: Vec<OutMessage> = part
            .iter()
            .map(|r| OutMessage {
                client_id: client_id(r.id),
                mobile: r.address.clone(),
                content: r.message.clone(),
            })
            .collect();
        let mut waits = 0;
        let answer = loop {
            match gw.send(messages.clone()).await {
                Ok(Ok(answer)) => break answer,
                Ok(Err(wait)) => {
                    sent.throttled += 1;
                    waits += 1;
                    if waits > 30 {
                        requeue_rest(store, &rows[done..]).await?;
                        return Err(SmsError::Gateway(
                            "the gateway kept saying to slow down (429) for 30 tries: the rest are queued again".into(),
                        ));
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    requeue_rest(store, &rows[done..]).await?;
                    return Err(e);
                }
            }
        };
        let answers = answers_for(part, &answer)?;
        sent.accepted += answers
            .iter()
            .filter(|(_, a)| matches!(a, Answer::Accepted(_)))
            .count() as u64;
        sent.refused += answers
            .iter()
            .filter(|(_, a)| matches!(a, Answer::Refused(_)))
            .count() as u64;
        q::record_answers(store, &answers).await?;
        done += part.len();
    }
    sent.seconds = started.elapsed().as_secs_f64();
    Ok(sent)
}

/// Our id for outbox message `id`.
fn client_id(id: i64) -> String {
    format!("panorama-{id}")
}

async fn requeue_rest(store: &Store, rest: &[OutboxRow]) -> Result<()> {
    let ids: Vec<i64> = rest.iter().map(|r| r.id).collect();
    q::requeue(store, &ids).await?;
    Ok(())
}

/// The gateway's answer for each message of `part`, matched by our id; a
/// message the answer does not mention is an error (nothing is assumed).
fn answers_for(part: &[OutboxRow], answer: &SendResponse) -> Result<Vec<(i64, Answer)>> {
    if answer.code != api::OK {
        return Err(SmsError::Gateway(format!(
            "the gateway refused the request: code {} {}",
            answer.code,
            answer.message.as_deref().unwrap_or("")
        )));
    }
    part.iter()
        .map(|r| {
            let id = client_id(r.id);
            let result = answer
                .results
                .iter()
                .find(|x| x.client_id == id)
                .ok_or_else(|| SmsError::Gateway(format!("no answer for message {id}")))?;
            Ok((
                r.id,
                match (&result.msg_id, result.code) {
                    (Some(msg), api::OK) => Answer::Accepted(msg.clone()),
                    _ => Answer::Refused(format!(
                        "gateway code {}: {}",
                        result.code,
                        result.message.as_deref().unwrap_or("refused")
                    )),
                },
            ))
        })
        .collect()
}

/// What reading a gateway's receipts and replies did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pulled {
    /// Receipts read.
    pub receipts: u64,
    /// Of them, for a message of ours.
    pub matched: u64,
    /// Replies read.
    pub replies: u64,
    /// Customers opted out of SMS by them.
    pub opt_outs: u64,
    /// Replies from a mobile no active customer has.
    pub unknown: u64,
}

/// Reads the receipts and replies `gw` has after the kept cursors, pages of
/// `page`, each page with its cursor in one transaction.
pub async fn pull(store: &Store, gw: &Gateway, page: i64) -> Result<Pulled> {
    let mut out = Pulled::default();
    let page = page.clamp(1, 10_000);
    loop {
        let after = cursor(store, gw, "reports").await?;
        let got: Reports = gw.get(api::REPORTS, after, page).await?;
        if got.reports.is_empty() {
            break;
        }
        let receipts: Vec<(String, String, String)> = got
            .reports
            .iter()
            .map(|r| {
                (
                    r.msg_id.clone(),
                    api::delivery_status(&r.stat).to_owned(),
                    r.done_at.clone(),
                )
            })
            .collect();
        let mut tx = store.begin().await?;
        out.matched += q::record_receipts(&mut tx, &receipts).await?;
        q::set_cursor(&mut tx, gw.name(), "reports", &got.next.to_string()).await?;
        tx.commit().await?;
        out.receipts += receipts.len() as u64;
    }
    loop {
        let after = cursor(store, gw, "replies").await?;
        let got: Replies = gw.get(api::REPLIES, after, page).await?;
        if got.replies.is_empty() {
            break;
        }
        let mut tx = store.begin().await?;
        for r in &got.replies {
            let stop = panorama_domain::text::is_opt_out_reply(&r.content);
            let key = format!("{}#{}", gw.name(), r.seq);
            let customers = panorama_store::events::apply_reply(
                &mut tx,
                &r.mobile,
                "sms",
                &r.content,
                stop,
                "sms-gateway",
                &key,
            )
            .await?;
            if customers.is_empty() {
                out.unknown += 1;
                tracing::warn!(
                    reply = r.seq,
                    "an SMS reply from a mobile no active customer has"
                );
            } else if stop {
                out.opt_outs += customers.len() as u64;
            }
        }
        q::set_cursor(&mut tx, gw.name(), "replies", &got.next.to_string()).await?;
        tx.commit().await?;
        out.replies += got.replies.len() as u64;
    }
    Ok(out)
}

async fn cursor(store: &Store, gw: &Gateway, kind: &str) -> Result<i64> {
    Ok(q::cursor(store, gw.name(), kind)
        .await?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SendResult;

    fn row(id: i64) -> OutboxRow {
        OutboxRow {
            id,
            campaign_id: 1,
            customer_id: id,
            address: "13800138000".into(),
            message: "hi".into(),
        }
    }

    #[test]
    fn answers_are_matched_by_our_id_and_nothing_is_assumed() {
        let answer = SendResponse {
            code: 0,
            results: vec![
                SendResult {
                    client_id: "panorama-2".into(),
                    code: api::INVALID_MOBILE,
                    msg_id: None,
                    message: Some("invalid mobile".into()),
                },
                SendResult {
                    client_id: "panorama-1".into(),
                    code: 0,
                    msg_id: Some("G1".into()),
                    message: None,
                },
            ],
            message: None,
        };
        let got = answers_for(&[row(1), row(2)], &answer).unwrap_or_default();
        assert_eq!(got[0], (1, Answer::Accepted("G1".into())));
        assert!(matches!(&got[1], (2, Answer::Refused(r)) if r.contains("invalid mobile")));
        assert!(answers_for(&[row(3)], &answer).is_err(), "no answer for 3");
        let refused = SendResponse {
            code: 401,
            results: vec![],
            message: Some("bad key".into()),
        };
        assert!(answers_for(&[row(1)], &refused).is_err());
    }
}
