//! The event schema (docs/EVENTS.md): one JSON object per Kafka record.
//!
//! ```json
//! {"event_id": "core-20261207-000123", "type": "txn_posted", "source": "core",
//!  "occurred_at": "2026-12-07T10:00:03+08:00",
//!  "data": {"account_no": "6222…", "txn_ref": "T000123", "booked_at": "2026-12-07T10:00:00",
//!           "amount_minor": 80000000, "direction": "D", "channel": "online",
//!           "counterparty_bank": "102100099996", "balance_after_minor": 1250000}}
//! ```
//!
//! Parsing checks every field and says which one is wrong; an event that
//! fails goes to the dead letters with that reason.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

/// A parsed, checked event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unique per event: a repeat of an id is applied once.
    pub event_id: String,
    /// When it happened at the source, as sent.
    pub occurred_at: Option<String>,
    /// What happened.
    pub body: Body,
}

/// The kinds of event and their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A transaction posted on an account (`txn_posted`).
    TxnPosted(TxnPosted),
    /// A customer's reply on a contact channel (`contact_reply`).
    ContactReply(ContactReply),
    /// A customer record created or changed in a source system
    /// (`customer_record`).
    CustomerRecord(CustomerRecord),
    /// An account opened or changed (`account_opened`): an accounts row.
    AccountOpened(SourceRow),
    /// A month's balance of an account (`balance_snapshot`): a balances row.
    BalanceSnapshot(SourceRow),
    /// An account closed (`account_closed`).
    AccountClosed(AccountClosed),
}

/// A row of a source system's extract arriving as an event: its fields as
/// the file's (amounts in fen), checked when it lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// Source system code.
    pub system: String,
    /// Field → value.
    pub fields: std::collections::BTreeMap<String, Option<String>>,
    /// The day it lands under (`YYYY-MM-DD`, from `occurred_at`).
    pub day: String,
}

/// An account closed at its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountClosed {
    /// Source system code.
    pub system: String,
    /// The account's number there.
    pub account_no: String,
    /// `YYYY-MM-DD`.
    pub closed_on: String,
}

impl Body {
    /// The type as it appears in the event.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::TxnPosted(_) => "txn_posted",
            Body::ContactReply(_) => "contact_reply",
            Body::CustomerRecord(_) => "customer_record",
            Body::AccountOpened(_) => "account_opened",
            Body::BalanceSnapshot(_) => "balance_snapshot",
            Body::AccountClosed(_) => "account_closed",
        }
    }
}

/// The channels a transaction may come through (the store's codes).
pub const CHANNELS: &[&str] = &["counter", "atm", "mobile", "online", "pos", "batch"];

/// A posted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnPosted {
    /// Source system code (`core`, `card`, …).
    pub system: String,
    /// The account's number in that system.
    pub account_no: String,
    /// The source's transaction reference (unique per system).
    pub txn_ref: String,
    /// Booking time, `YYYY-MM-DDTHH:MM:SS` (local time, as the extracts).
    pub booked_at: String,
    /// Amount in fen, positive.
    pub amount_minor: i64,
    /// Credit (`C`) or debit (`D`).
    pub direction: Direction,
    /// Channel code (one of [`CHANNELS`]).
    pub channel: String,
    /// Merchant category code.
    pub mcc: Option<String>,
    /// Counterparty account.
    pub counterparty_account: Option<String>,
    /// Counterparty name.
    pub counterparty_name: Option<String>,
    /// Counterparty bank's clearing code (digits).
    pub counterparty_bank: Option<String>,
    /// Balance after posting, in fen.
    pub balance_after_minor: Option<i64>,
}

impl TxnPosted {
    /// The booking day, `YYYY-MM-DD`.
    pub fn day(&self) -> &str {
        &self.booked_at[..10]
    }
}

/// Credit or debit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Money in.
    Credit,
    /// Money out.
    Debit,
}

impl Direction {
    /// The store's code.
    pub fn code(self) -> &'static str {
        match self {
            Direction::Credit => "C",
            Direction::Debit => "D",
        }
    }
}

/// A customer record as a source system holds it now (created or
/// changed): the fields of a customers extract's row, checked when it lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRecord {
    /// Source system code (`card`, `core`, …).
    pub system: String,
    /// Field → value (`source_key`, `party_type` and `name` required).
    pub fields: std::collections::BTreeMap<String, Option<String>>,
    /// The day it lands under (`YYYY-MM-DD`, from `occurred_at`).
    pub day: String,
}

/// A reply from a customer on a contact channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactReply {
    /// `sms` (the channel replied on).
    pub channel: String,
    /// The sender's mobile, 11 digits.
    pub mobile: String,
    /// What they wrote.
    pub text: String,
}

impl ContactReply {
    /// Whether the reply asks to stop messages on its channel: T, TD, N,
    /// 退订, 取消, STOP, UNSUBSCRIBE (case and surrounding space ignored).
    pub fn is_opt_out(&self) -> bool {
        panorama_domain::text::is_opt_out_reply(&self.text)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    event_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    source: Option<String>,
    occurred_at: Option<String>,
    data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TxnData {
    account_no: String,
    txn_ref: String,
    booked_at: String,
    amount_minor: i64,
    direction: String,
    channel: String,
    mcc: Option<String>,
    counterparty_account: Option<String>,
    counterparty_name: Option<String>,
    counterparty_bank: Option<String>,
    balance_after_minor: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyData {
    channel: String,
    mobile: String,
    text: String,
}

/// Why an event was refused: the event id when it could be read, and the
/// reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The event's id, when it was readable.
    pub event_id: Option<String>,
    /// What is wrong, naming the field.
    pub reason: String,
}

/// Parses and checks one record's value.
pub fn parse(value: &[u8]) -> Result<Event, Refused> {
    let refuse = |event_id: Option<&str>, reason: String| Refused {
        event_id: event_id.map(str::to_owned),
        reason,
    };
    let env: Envelope = serde_json::from_slice(value)
        .map_err(|e| refuse(None, format!("not an event object: {e}")))?;
    let event_id = env.event_id.filter(|id| valid_id(id)).ok_or_else(|| {
        refuse(
            None,
            "event_id: 1 to 128 printable characters required".into(),
        )
    })?;
    let id = Some(event_id.as_str());
    let kind = env
        .kind
        .ok_or_else(|| refuse(id, "type: required".into()))?;
    let data = env
        .data
        .ok_or_else(|| refuse(id, "data: required".into()))?;
    if let Some(at) = &env.occurred_at
        && DateTime::parse_from_rfc3339(at).is_err()
        && local_time(at).is_none()
    {
        return Err(refuse(
            id,
            format!("occurred_at: '{at}' is not an RFC 3339 or YYYY-MM-DDTHH:MM:SS time"),
        ));
    }
    let body = match kind.as_str() {
        "txn_posted" => {
            let source = env
                .source
                .filter(|s| valid_code(s))
                .ok_or_else(|| refuse(id, "source: the source system's code is required".into()))?;
            let d: TxnData =
                serde_json::from_value(data).map_err(|e| refuse(id, format!("data: {e}")))?;
            Body::TxnPosted(txn(source, d).map_err(|r| refuse(id, r))?)
        }
        "contact_reply" => {
            let d: ReplyData =
                serde_json::from_value(data).map_err(|e| refuse(id, format!("data: {e}")))?;
            Body::ContactReply(reply(d).map_err(|r| refuse(id, r))?)
        }
        "customer_record" => {
            let (source, day) = source_and_day(
                env.source.as_deref(),
                env.occurred_at.as_deref(),
                "a customer record (when the source changed it)",
            )
            .map_err(|r| refuse(id, r))?;
            Body::CustomerRecord(customer(source, data, day).map_err(|r| refuse(id, r))?)
        }
        "account_opened" | "balance_snapshot" | "account_closed" => {
            let (source, day) =
                source_and_day(env.source.as_deref(), env.occurred_at.as_deref(), &kind)
                    .map_err(|r| refuse(id, r))?;
            let required: &[&str] = match kind.as_str() {
                "account_opened" => &[
                    "account_no",
                    "customer_key",
                    "product_code",
                    "opened_on",
                    "status",
                ],
                "balance_snapshot" => &["account_no", "month", "avg_balance", "end_balance"],
                _ => &["account_no", "closed_on"],
            };
            let fields = row_fields(data, required).map_err(|r| refuse(id, r))?;
            let row = SourceRow {
                system: source,
                fields,
                day,
            };
            match kind.as_str() {
                "account_opened" => Body::AccountOpened(row),
                "balance_snapshot" => Body::BalanceSnapshot(row),
                _ => {
                    let closed_on = row.fields["closed_on"].clone().unwrap_or_default();
                    if chrono::NaiveDate::parse_from_str(&closed_on, "%Y-%m-%d").is_err() {
                        return Err(refuse(
                            id,
                            format!("data.closed_on: '{closed_on}' is not a YYYY-MM-DD date"),
                        ));
                    }
                    if row.fields.len() != 2 {
                        return Err(refuse(
                            id,
                            "data: an account closed carries account_no and closed_on only".into(),
                        ));
                    }
                    Body::AccountClosed(AccountClosed {
                        system: row.system,
                        account_no: row.fields["account_no"].clone().unwrap_or_default(),
                        closed_on,
                    })
                }
            }
        }
        other => {
            return Err(refuse(
                id,
                format!(
                    "type: '{other}' is not an event type (txn_posted, contact_reply, customer_record, \
                     account_opened, account_closed, balance_snapshot)"
                ),
            ));
        }
    };
    Ok(Event {
        event_id,
        occurred_at: env.occurred_at,
        body,
    })
}

fn txn(system: String, d: TxnData) -> Result<TxnPosted, String> {
    if d.account_no.is_empty() || d.account_no.len() > 40 {
        return Err("data.account_no: 1 to 40 characters required".into());
    }
    if !valid_id(&d.txn_ref) {
        return Err("data.txn_ref: 1 to 128 printable characters required".into());
    }
    let booked = local_time(&d.booked_at).ok_or_else(|| {
        format!(
            "data.booked_at: '{}' is not a YYYY-MM-DDTHH:MM:SS time",
            d.booked_at
        )
    })?;
    if d.amount_minor <= 0 || d.amount_minor > 10_i64.pow(15) {
        return Err(format!(
            "data.amount_minor: {} must be a positive number of fen below 10^15",
            d.amount_minor
        ));
    }
    let direction = match d.direction.as_str() {
        "C" => Direction::Credit,
        "D" => Direction::Debit,
        other => return Err(format!("data.direction: '{other}' must be C or D")),
    };
    if !CHANNELS.contains(&d.channel.as_str()) {
        return Err(format!(
            "data.channel: '{}' is not one of {}",
            d.channel,
            CHANNELS.join(", ")
        ));
    }
    if let Some(bank) = &d.counterparty_bank
        && (bank.is_empty() || bank.len() > 12 || !bank.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "data.counterparty_bank: '{bank}' must be a clearing code of up to 12 digits"
        ));
    }
    if d.balance_after_minor
        .is_some_and(|b| b.abs() > 10_i64.pow(15))
    {
        return Err("data.balance_after_minor: beyond 10^15 fen".into());
    }
    Ok(TxnPosted {
        system,
        account_no: d.account_no,
        txn_ref: d.txn_ref,
        booked_at: booked.format("%Y-%m-%dT%H:%M:%S").to_string(),
        amount_minor: d.amount_minor,
        direction,
        channel: d.channel,
        mcc: d.mcc.filter(|m| !m.is_empty()),
        counterparty_account: d.counterparty_account.filter(|c| !c.is_empty()),
        counterparty_name: d.counterparty_name.filter(|c| !c.is_empty()),
        counterparty_bank: d.counterparty_bank,
        balance_after_minor: d.balance_after_minor,
    })
}

fn customer(
    system: String,
    data: serde_json::Value,
    day: String,
) -> Result<CustomerRecord, String> {
    let fields = row_fields(data, &["source_key", "party_type", "name"])?;
    Ok(CustomerRecord {
        system,
        fields,
        day,
    })
}

/// A row event's source system and the day it lands under (from
/// `occurred_at`, required for `what`).
fn source_and_day(
    source: Option<&str>,
    occurred_at: Option<&str>,
    what: &str,
) -> Result<(String, String), String> {
    let source = source
        .filter(|s| valid_code(s))
        .map(str::to_owned)
        .ok_or_else(|| "source: the source system's code is required".to_owned())?;
    let day = occurred_at
        .and_then(local_time)
        .map(|t| t.date().to_string())
        .ok_or_else(|| format!("occurred_at: required for {what}"))?;
    Ok((source, day))
}

/// A row's fields from `data`: strings, whole numbers (amounts in fen) or
/// null; `required` ones present.
fn row_fields(
    data: serde_json::Value,
    required: &[&str],
) -> Result<std::collections::BTreeMap<String, Option<String>>, String> {
    let serde_json::Value::Object(map) = data else {
        return Err("data: an object of the row's fields is required".into());
    };
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in map {
        let value = match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) if s.chars().count() <= 500 => Some(s),
            serde_json::Value::String(_) => {
                return Err(format!("data.{k}: longer than 500 characters"));
            }
            serde_json::Value::Number(n) if n.is_i64() => Some(n.to_string()),
            _ => {
                return Err(format!(
                    "data.{k}: a string, a whole number or null is required"
                ));
            }
        };
        fields.insert(k, value);
    }
    for r in required {
        if fields.get(*r).is_none_or(Option::is_none) {
            return Err(format!("data.{r}: required"));
        }
    }
    Ok(fields)
}

fn reply(d: ReplyData) -> Result<ContactReply, String> {
    if d.channel != "sms" {
        return Err(format!(
            "data.channel: '{}' — replies are taken on sms",
            d.channel
        ));
    }
    let digits: String = d.mobile.chars().filter(char::is_ascii_digit).collect();
    let mobile = digits
        .strip_prefix("86")
        .filter(|m| m.len() == 11)
        .unwrap_or(&digits)
        .to_owned();
    if mobile.len() != 11 || !mobile.starts_with('1') {
        return Err(format!(
            "data.mobile: '{}' is not a mainland mobile number",
            d.mobile
        ));
    }
    if d.text.chars().count() > 500 {
        return Err("data.text: longer than 500 characters".into());
    }
    Ok(ContactReply {
        channel: d.channel,
        mobile,
        text: d.text,
    })
}

/// `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD HH:MM:SS` (local time), or an RFC
/// 3339 time taken at its own offset's wall clock.
fn local_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.naive_local())
        })
}

fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.chars().all(|c| !c.is_control())
}

fn valid_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn_event(data: &str) -> String {
        format!(r#"{{"event_id":"e1","type":"txn_posted","source":"core","data":{data}}}"#)
    }

    const GOOD: &str = r#"{"account_no":"A1","txn_ref":"T1","booked_at":"2026-12-07T10:00:00","amount_minor":80000000,"direction":"D","channel":"online","counterparty_bank":"102100099996","balance_after_minor":5}"#;

    #[test]
    fn a_posted_transaction_parses() {
        let e = parse(txn_event(GOOD).as_bytes()).expect("parses");
        assert_eq!(e.event_id, "e1");
        let Body::TxnPosted(t) = e.body else {
            panic!("a transaction")
        };
        assert_eq!(t.system, "core");
        assert_eq!(t.amount_minor, 80_000_000);
        assert_eq!(t.direction, Direction::Debit);
        assert_eq!(t.day(), "2026-12-07");
        assert_eq!(t.counterparty_bank.as_deref(), Some("102100099996"));
    }

    #[test]
    fn an_rfc3339_booking_time_is_taken_at_its_wall_clock() {
        let data = GOOD.replace("2026-12-07T10:00:00", "2026-12-07T10:00:00+08:00");
        let e = parse(txn_event(&data).as_bytes()).expect("parses");
        let Body::TxnPosted(t) = e.body else {
            panic!("a transaction")
        };
        assert_eq!(t.booked_at, "2026-12-07T10:00:00");
    }

    #[test]
    fn each_bad_field_is_named() {
        for (bad, field) in [
            (GOOD.replace("80000000", "-5"), "data.amount_minor"),
            (GOOD.replace(r#""D""#, r#""X""#), "data.direction"),
            (GOOD.replace("online", "fax"), "data.channel"),
            (
                GOOD.replace("2026-12-07T10:00:00", "yesterday"),
                "data.booked_at",
            ),
            (
                GOOD.replace("102100099996", "ICBC"),
                "data.counterparty_bank",
            ),
            (
                GOOD.replace(r#""txn_ref":"T1","#, ""),
                "missing field `txn_ref`",
            ),
        ] {
            let r = parse(txn_event(&bad).as_bytes()).expect_err("refused");
            assert!(r.reason.contains(field), "{field}: {}", r.reason);
            assert_eq!(r.event_id.as_deref(), Some("e1"));
        }
        let r = parse(b"not json").expect_err("refused");
        assert!(r.reason.starts_with("not an event object"), "{}", r.reason);
        assert_eq!(r.event_id, None);
        let r = parse(br#"{"event_id":"e2","type":"loan_repaid","data":{}}"#).expect_err("refused");
        assert!(r.reason.contains("'loan_repaid'"), "{}", r.reason);
        let r = parse(
            br#"{"event_id":"e3","type":"balance_snapshot","source":"core","occurred_at":"2026-12-07T09:00:00","data":{"account_no":"A1","month":"2026-12","avg_balance":1.5,"end_balance":1}}"#,
        )
        .expect_err("refused");
        assert!(r.reason.starts_with("data.avg_balance"), "{}", r.reason);
        let r = parse(br#"{"type":"txn_posted","data":{}}"#).expect_err("refused");
        assert!(r.reason.starts_with("event_id"), "{}", r.reason);
        let r = parse(
            txn_event(GOOD)
                .replace(r#""source":"core","#, "")
                .as_bytes(),
        )
        .expect_err("refused");
        assert!(r.reason.starts_with("source"), "{}", r.reason);
    }

    #[test]
    fn a_customer_record_parses_and_its_bad_fields_are_named() {
        let event = |data: &str, at: &str| {
            format!(
                r#"{{"event_id":"c1","type":"customer_record","source":"card","occurred_at":{at},"data":{data}}}"#
            )
        };
        let good = r#"{"source_key":"K1","party_type":"person","name":"张三","mobile":"13800138000","email":null}"#;
        let e = parse(event(good, r#""2026-12-07T09:30:00+08:00""#).as_bytes()).expect("parses");
        let Body::CustomerRecord(c) = e.body else {
            panic!("a customer record")
        };
        assert_eq!(c.system, "card");
        assert_eq!(c.day, "2026-12-07");
        assert_eq!(c.fields["name"].as_deref(), Some("张三"));
        assert_eq!(c.fields["email"], None);
        for (data, at, reason) in [
            (good, "null", "occurred_at"),
            (
                r#"{"source_key":"K1","party_type":"person"}"#,
                r#""2026-12-07T09:30:00""#,
                "data.name",
            ),
            (
                r#"{"source_key":"K1","party_type":"person","name":"张三","mobile":1.5}"#,
                r#""2026-12-07T09:30:00""#,
                "data.mobile",
            ),
            ("[1]", r#""2026-12-07T09:30:00""#, "data:"),
        ] {
            let r = parse(event(data, at).as_bytes()).expect_err("refused");
            assert!(r.reason.starts_with(reason), "{reason}: {}", r.reason);
        }
    }

    #[test]
    fn replies_that_stop_messages() {
        let reply = |text: &str| ContactReply {
            channel: "sms".into(),
            mobile: "13800138000".into(),
            text: text.into(),
        };
        for t in ["T", "td", " TD ", "退订", "取消", "STOP", "TD。"] {
            assert!(reply(t).is_opt_out(), "{t}");
        }
        for t in ["好的", "谢谢", "TDD", "what is T?", ""] {
            assert!(!reply(t).is_opt_out(), "{t}");
        }
        let e = parse(
            r#"{"event_id":"r1","type":"contact_reply","data":{"channel":"sms","mobile":"+86 138-0013-8000","text":"TD"}}"#
                .as_bytes(),
        )
        .expect("parses");
        let Body::ContactReply(r) = e.body else {
            panic!("a reply")
        };
        assert_eq!(r.mobile, "13800138000");
    }
}
