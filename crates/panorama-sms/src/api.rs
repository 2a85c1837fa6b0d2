//! The SMS gateway's HTTP API (docs/SMS.md), as both sides see it: the
//! shape of the JSON Chinese SMS providers' HTTP interfaces share — a batch
//! send with the sender's own id per message (so a repeated send is
//! recognised, not delivered twice), a per-message result code, status
//! reports (状态报告) and replies (上行短信) read with a cursor, delivery
//! statuses in SMPP's words (DELIVRD, UNDELIV, EXPIRED, REJECTD), 429 with
//! `Retry-After` over the account's rate.

use serde::{Deserialize, Serialize};

/// `POST /v1/sms/send`.
pub const SEND: &str = "/v1/sms/send";
/// `GET /v1/sms/reports?after=SEQ&limit=N`.
pub const REPORTS: &str = "/v1/sms/reports";
/// `GET /v1/sms/replies?after=SEQ&limit=N`.
pub const REPLIES: &str = "/v1/sms/replies";

/// Result code of an accepted message.
pub const OK: i64 = 0;
/// Result code of a number the gateway cannot send to.
pub const INVALID_MOBILE: i64 = 1001;
/// Result code of an empty or over-long message.
pub const BAD_CONTENT: i64 = 1002;

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutMessage {
    /// The sender's id for it (ours: `panorama-<outbox id>`).
    pub client_id: String,
    /// The mobile.
    pub mobile: String,
    /// The text.
    pub content: String,
}

/// A send request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRequest {
    /// The signature the messages go out under (签名), e.g. 【全景银行】.
    pub sign: String,
    /// The messages.
    pub messages: Vec<OutMessage>,
}

/// What the gateway said of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResult {
    /// The sender's id.
    pub client_id: String,
    /// [`OK`], or why not.
    pub code: i64,
    /// The gateway's message id, when accepted.
    #[serde(default)]
    pub msg_id: Option<String>,
    /// The reason, when refused.
    #[serde(default)]
    pub message: Option<String>,
}

/// A send response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResponse {
    /// 0 when the request was read.
    pub code: i64,
    /// Per message, in the request's order.
    #[serde(default)]
    pub results: Vec<SendResult>,
    /// What went wrong with the request, if it did.
    #[serde(default)]
    pub message: Option<String>,
}

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Its place in the gateway's stream of reports.
    pub seq: i64,
    /// The message.
    pub msg_id: String,
    /// The mobile.
    pub mobile: String,
    /// DELIVRD, UNDELIV, EXPIRED, REJECTD or UNKNOWN.
    pub stat: String,
    /// When the handset's network answered (RFC 3339).
    pub done_at: String,
}

/// A reply from a handset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Its place in the gateway's stream of replies.
    pub seq: i64,
    /// The mobile it came from.
    pub mobile: String,
    /// What it said.
    pub content: String,
    /// When it arrived (RFC 3339).
    pub received_at: String,
}

/// A page of reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reports {
    /// 0.
    pub code: i64,
    /// The reports after the cursor.
    pub reports: Vec<Report>,
    /// The cursor to ask after next.
    pub next: i64,
}

/// A page of replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replies {
    /// 0.
    pub code: i64,
    /// The replies after the cursor.
    pub replies: Vec<Reply>,
    /// The cursor to ask after next.
    pub next: i64,
}

/// The delivery status kept in the outbox for an SMPP `stat`.
pub fn delivery_status(stat: &str) -> &'static str {
    match stat {
        "DELIVRD" => "delivered",
        "UNDELIV" => "undelivered",
        "EXPIRED" => "expired",
        "REJECTD" => "rejected",
        "DELETED" => "deleted",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smpp_statuses_in_words() {
        assert_eq!(delivery_status("DELIVRD"), "delivered");
        assert_eq!(delivery_status("UNDELIV"), "undelivered");
        assert_eq!(delivery_status("ACCEPTD"), "unknown");
    }
}
