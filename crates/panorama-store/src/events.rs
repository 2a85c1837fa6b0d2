//! The event feed's storage: the consumer's position per topic partition,
//! the events applied (by id, so a re-sent event is applied once), the dead
//! letters, and the effects of events — transactions posted, the alerts and
//! tasks key transactions raise, opt-outs replied by customers. Every
//! function taking a connection runs inside the caller's transaction, so an
//! event's effects and the position after it become durable together.

use sqlx::{AnyConnection, FromRow, Row};

use crate::audit::{Audit, insert_audit};
use crate::{Result, Store, now_utc};

/// Where the consumer resumes in `topic`'s `partition`: the offset after the
/// last event whose effects are durable.
pub async fn next_offset(store: &Store, topic: &str, partition: i32) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT next_offset FROM event_offset WHERE topic = $1 AND kafka_partition = $2",
    )
    .bind(topic)
    .bind(i64::from(partition))
    .fetch_optional(store.db())
    .await?)
}

/// Records the position after the events applied in this transaction.
pub async fn set_next_offset(
    conn: &mut AnyConnection,
    topic: &str,
    partition: i32,
    next: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_offset (topic, kafka_partition, next_offset, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (topic, kafka_partition) \
         DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at",
    )
    .bind(topic)
    .bind(i64::from(partition))
    .bind(next)
    .bind(now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

/// Where an event was read: topic, partition and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
}

/// Whether the event `event_id` was applied before.
pub async fn applied_before(conn: &mut AnyConnection, event_id: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM event_applied WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// Of `event_ids`, those applied before (one query per 500 ids: a fetch's
/// worth of events checked at once).
pub async fn applied_among(
    conn: &mut AnyConnection,
    event_ids: &[&str],
) -> Result<std::collections::HashSet<String>> {
    let mut found = std::collections::HashSet::new();
    for chunk in event_ids.chunks(500) {
        let list = dollars(1, chunk.len());
        let sql = format!("SELECT event_id FROM event_applied WHERE event_id IN ({list})");
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// An applied event, for [`mark_applied_many`].
#[derive(Debug, Clone)]
pub struct AppliedEvent<'a> {
    /// The event's id.
    pub event_id: &'a str,
    /// Its type.
    pub event_type: &'a str,
    /// Where it was read.
    pub offset: i64,
    /// When it happened, as sent.
    pub occurred_at: Option<&'a str>,
}

/// Records that events of one partition were applied, in one multi-row
/// statement per chunk (in the transaction of their effects).
pub async fn mark_applied_many(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    topic: &str,
    partition: i32,
    events: &[AppliedEvent<'_>],
) -> Result<u64> {
    let insert = crate::BulkInsert::new(
        backend,
        "event_applied",
        &[
            "event_id",
            "event_type",
            "topic",
            "kafka_partition",
            "kafka_offset",
            "occurred_at",
            "applied_at",
        ],
        "",
    );
    let now = now_utc();
    let rows: Vec<Vec<crate::Value>> = events
        .iter()
        .map(|e| {
            vec![
                crate::Value::text(e.event_id),
                crate::Value::text(e.event_type),
                crate::Value::text(topic),
                crate::Value::Int(Some(i64::from(partition))),
                crate::Value::Int(Some(e.offset)),
                crate::Value::Text(e.occurred_at.map(str::to_owned)),
                crate::Value::text(&now),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await
}

/// `$from, …` for `n` parameters.
fn dollars(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records that `event_id` was applied (in the transaction of its effects).
pub async fn mark_applied(
    conn: &mut AnyConnection,
    event_id: &str,
    event_type: &str,
    at: &Position<'_>,
    occurred_at: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_applied (event_id, event_type, topic, kafka_partition, kafka_offset, \
           occurred_at, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event_id)
    .bind(event_type)
    .bind(at.topic)
    .bind(i64::from(at.partition))
    .bind(at.offset)
    .bind(occurred_at)
    .bind(now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps an event that could not be applied, with its reason (once per
/// position, so a replay after a crash does not keep it twice).
pub async fn dead_letter(
    conn: &mut AnyConnection,
    at: &Position<'_>,
    event_id: Option<&str>,
    payload: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO event_dead_letter (topic, kafka_partition, kafka_offset, event_id, payload, \
           reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(at.topic)
    .bind(i64::from(at.partition))
    .bind(at.offset)
    .bind(event_id)
    .bind(payload)
    .bind(reason)
    .bind(now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

/// A dead letter as the steward's list shows it.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct DeadLetterRow {
    /// Id.
    pub id: i64,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub kafka_partition: i64,
    /// Offset.
    pub kafka_offset: i64,
    /// The event's id, when it could be read.
    pub event_id: Option<String>,
    /// The record's value as received (lossy UTF-8).
    pub payload: String,
    /// Why it was not applied.
    pub reason: String,
    /// When.
    pub at: String,
}

/// The newest dead letters.
pub async fn dead_letters(store: &Store, limit: i64) -> Result<Vec<DeadLetterRow>> {
    Ok(sqlx::query_as(
        "SELECT id, topic, kafka_partition, kafka_offset, event_id, payload, reason, at \
         FROM event_dead_letter ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// Counts of what the feed did: events applied (by type) and dead letters.
pub async fn counts(store: &Store) -> Result<(Vec<(String, i64)>, i64)> {
    let applied = sqlx::query_as(
        "SELECT event_type, COUNT(*) FROM event_applied GROUP BY event_type ORDER BY event_type",
    )
    .fetch_all(store.db())
    .await?;
    let dead = sqlx::query_scalar("SELECT COUNT(*) FROM event_dead_letter")
        .fetch_one(store.db())
        .await?;
    Ok((applied, dead))
}

/// The ingest batch that events of `topic` consumed on `day` land in (made
/// on first use): the snapshot exports the day's events like any batch.
pub async fn event_batch(conn: &mut AnyConnection, topic: &str, day: &str) -> Result<i64> {
    let folder = format!("kafka:{topic}");
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM ingest_batch WHERE folder = $1 AND extract_date = $2 ORDER BY id LIMIT 1",
    )
    .bind(&folder)
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let now = now_utc();
    Ok(sqlx::query_scalar(
        "INSERT INTO ingest_batch (started_at, finished_at, folder, extract_date, status) \
         VALUES ($1, $1, $2, $3, 'committed') RETURNING id",
    )
    .bind(&now)
    .bind(&folder)
    .bind(day)
    .fetch_one(conn)
    .await?)
}

/// An account as the monitoring rules see it.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct AccountContext {
    /// Account id.
    pub account_id: i64,
    /// Its golden customer (none before the owner is resolved).
    pub customer_id: Option<i64>,
    /// Product class (`deposit`, `wealth`, …).
    pub class: String,
    /// Account status.
    pub status: String,
}

/// The account `account_no` of `system`, with its product class.
pub async fn account_context(
    conn: &mut AnyConnection,
    system: &str,
    account_no: &str,
) -> Result<Option<AccountContext>> {
    Ok(sqlx::query_as(
        "SELECT a.id AS account_id, a.customer_id, COALESCE(p.class, 'unknown') AS class, a.status \
         FROM account a LEFT JOIN product p ON p.code = a.product_code \
         WHERE a.system = $1 AND a.account_no = $2",
    )
    .bind(system)
    .bind(account_no)
    .fetch_optional(conn)
    .await?)
}

/// The accounts of `system` among `account_nos`, with their product
/// classes: account number → context (one query per 500 numbers).
pub async fn account_contexts(
    conn: &mut AnyConnection,
    system: &str,
    account_nos: &[&str],
) -> Result<std::collections::HashMap<String, AccountContext>> {
    #[derive(FromRow)]
    struct Row {
        account_no: String,
        #[sqlx(flatten)]
        context: AccountContext,
    }
    let mut out = std::collections::HashMap::new();
    for chunk in account_nos.chunks(500) {
        let list = dollars(2, chunk.len());
        let sql = format!(
            "SELECT a.account_no, a.id AS account_id, a.customer_id, COALESCE(p.class, 'unknown') AS class, a.status \
             FROM account a LEFT JOIN product p ON p.code = a.product_code \
             WHERE a.system = $1 AND a.account_no IN ({list})"
        );
        let mut query = sqlx::query_as::<_, Row>(&sql).bind(system);
        for no in chunk {
            query = query.bind(*no);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.insert(row.account_no, row.context);
        }
    }
    Ok(out)
}

/// Points an account at the customer of its source record (after it
/// landed from an event).
pub async fn link_account(conn: &mut AnyConnection, account_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE account SET customer_id = (SELECT x.customer_id FROM customer_xref x \
         WHERE x.source_record_id = account.source_record_id) WHERE id = $1",
    )
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes an account of `system` on `closed_on`: whether it exists.
pub async fn close_account(
    conn: &mut AnyConnection,
    system: &str,
    account_no: &str,
    closed_on: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE account SET status = 'closed', closed_on = $1 WHERE system = $2 AND account_no = $3",
    )
    .bind(closed_on)
    .bind(system)
    .bind(account_no)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// A posted transaction from the event feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedTxn<'a> {
    /// Source system.
    pub system: &'a str,
    /// The source's reference (unique per system).
    pub txn_ref: &'a str,
    /// Account.
    pub account_id: i64,
    /// Booking time, `YYYY-MM-DD HH:MM:SS`.
    pub booked_at: &'a str,
    /// Amount in fen, positive.
    pub amount_minor: i64,
    /// `C` or `D`.
    pub direction: &'a str,
    /// Channel code.
    pub channel: &'a str,
    /// Merchant category.
    pub mcc: Option<&'a str>,
    /// Counterparty account.
    pub counterparty_account: Option<&'a str>,
    /// Counterparty name.
    pub counterparty_name: Option<&'a str>,
    /// Counterparty bank's clearing code.
    pub counterparty_bank: Option<&'a str>,
    /// Balance after posting, in fen.
    pub balance_after_minor: Option<i64>,
    /// Ingest batch.
    pub batch_id: i64,
}

/// Inserts posted transactions in multi-row statements; returns the new
/// ones as (id, system, reference) — a reference known already is skipped
/// (a posted transaction never changes), as is a second one in `rows`.
pub async fn insert_txns(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    rows: &[PostedTxn<'_>],
) -> Result<Vec<(i64, String, String)>> {
    // The ingest's columns, and the counterparty's bank an event may carry.
    let columns = [crate::ingest::TXN_COLUMNS, &["counterparty_bank"]].concat();
    let insert = crate::BulkInsert::new(
        backend,
        "txn",
        &columns,
        "ON CONFLICT (system, txn_ref) DO NOTHING RETURNING id, system, txn_ref",
    );
    use crate::Value;
    let values: Vec<Vec<Value>> = rows
        .iter()
        .map(|t| {
            vec![
                Value::text(t.system),
                Value::text(t.txn_ref),
                Value::Int(Some(t.account_id)),
                Value::text(t.booked_at),
                Value::Int(Some(t.amount_minor)),
                Value::text(t.direction),
                Value::text(t.channel),
                Value::Text(t.mcc.map(str::to_owned)),
                Value::Text(t.counterparty_account.map(str::to_owned)),
                Value::Text(t.counterparty_name.map(str::to_owned)),
                Value::Int(t.balance_after_minor),
                Value::Int(Some(t.batch_id)),
                Value::Text(t.counterparty_bank.map(str::to_owned)),
            ]
        })
        .collect();
    Ok(insert
        .returning(conn, &values)
        .await?
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
            )
        })
        .collect())
}

/// The account's transaction before `txn_id` (booking time), if any.
pub async fn previous_txn_at(
    conn: &mut AnyConnection,
    account_id: i64,
    booked_at: &str,
    txn_id: i64,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT booked_at FROM txn WHERE account_id = $1 AND booked_at <= $2 AND id <> $3 \
         ORDER BY booked_at DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(booked_at)
    .bind(txn_id)
    .fetch_optional(conn)
    .await?)
}

/// The newest booking time of each of `accounts` (accounts without a
/// transaction left out), one query per 500 accounts.
pub async fn latest_txn_at(
    conn: &mut AnyConnection,
    accounts: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::new();
    for chunk in accounts.chunks(500) {
        let sql = format!(
            "SELECT account_id, MAX(booked_at) FROM txn WHERE account_id IN ({}) GROUP BY account_id",
            dollars(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
        for a in chunk {
            query = query.bind(a);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Of `customers`, those who used `channel` before (on any of their
/// accounts, as `account_channel` records it): one query per 500 customers.
pub async fn channel_users(
    conn: &mut AnyConnection,
    customers: &[i64],
    channel: &str,
) -> Result<std::collections::HashSet<i64>> {
    let mut found = std::collections::HashSet::new();
    for chunk in customers.chunks(500) {
        let list = dollars(2, chunk.len());
        let sql = format!(
            "SELECT DISTINCT a.customer_id FROM account a JOIN account_channel c ON c.account_id = a.id \
             WHERE c.channel = $1 AND a.customer_id IN ({list})"
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(channel);
        for id in chunk {
            query = query.bind(*id);
        }
        found.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(found)
}

/// Records that accounts transacted on channels: (account, channel) pairs,
/// a known pair skipped.
pub async fn note_channels(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    pairs: &[(i64, &str)],
) -> Result<()> {
    let insert = crate::BulkInsert::new(
        backend,
        "account_channel",
        &["account_id", "channel"],
        "ON CONFLICT (account_id, channel) DO NOTHING",
    );
    let rows: Vec<Vec<crate::Value>> = pairs
        .iter()
        .map(|(a, c)| vec![crate::Value::Int(Some(*a)), crate::Value::text(c)])
        .collect();
    insert.execute(conn, &rows).await?;
    Ok(())
}

/// Whether the customer was credited on `channel` before (transaction
/// `txn_id` aside): a first payroll credit is one with none before it.
pub async fn credited_before(
    conn: &mut AnyConnection,
    customer: i64,
    channel: &str,
    txn_id: i64,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM account a JOIN txn t ON t.account_id = a.id \
         WHERE a.customer_id = $1 AND t.channel = $2 AND t.direction = 'C' AND t.id <> $3 LIMIT 1",
    )
    .bind(customer)
    .bind(channel)
    .bind(txn_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// The customer's deposit or wealth account that matured in
/// `[from, to]` (the latest), as (account number, maturity date).
pub async fn matured_between(
    conn: &mut AnyConnection,
    customer: i64,
    from: &str,
    to: &str,
) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT a.account_no, a.matures_on FROM account a JOIN product p ON p.code = a.product_code \
         WHERE a.customer_id = $1 AND p.class IN ('deposit', 'wealth') \
           AND a.matures_on >= $2 AND a.matures_on <= $3 \
         ORDER BY a.matures_on DESC LIMIT 1",
    )
    .bind(customer)
    .bind(from)
    .bind(to)
    .fetch_optional(conn)
    .await?)
}

/// An alert raised by an event, with the task for the customer's RM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAlert<'a> {
    /// Customer.
    pub customer_id: i64,
    /// Rule code.
    pub rule: &'a str,
    /// What identifies the event (raised once).
    pub event_key: &'a str,
    /// The event's day.
    pub as_of: &'a str,
    /// `info`, `warning` or `critical`.
    pub severity: &'a str,
    /// Chinese text.
    pub message: &'a str,
    /// English text.
    pub message_en: &'a str,
    /// Facts behind it, as JSON.
    pub detail: &'a str,
    /// The task's due date.
    pub due_on: &'a str,
}

/// What raising an alert did: its id (none when the event had raised it
/// before) and the RM task made for it (none when the customer has no RM).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Raised {
    /// The alert.
    pub alert: Option<i64>,
    /// The task on the RM's list.
    pub task: Option<i64>,
}

/// Raises an alert once per (customer, rule, event key) and puts a task on
/// the list of the customer's primary RM.
pub async fn raise_alert(conn: &mut AnyConnection, a: &EventAlert<'_>) -> Result<Raised> {
    let alert: Option<i64> = sqlx::query_scalar(
        "INSERT INTO alert (customer_id, rule, as_of, due_on, severity, message, message_en, detail, event_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(a.customer_id)
    .bind(a.rule)
    .bind(a.as_of)
    .bind(a.due_on)
    .bind(a.severity)
    .bind(a.message)
    .bind(a.message_en)
    .bind(a.detail)
    .bind(a.event_key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(alert_id) = alert else {
        return Ok(Raised::default());
    };
    let task: Option<i64> = sqlx::query_scalar(
        "INSERT INTO task (owner_user_id, customer_id, alert_id, title, due_on, status, created_at) \
         SELECT s.rm_user_id, $1, $2, $3, $4, 'open', $5 FROM assignment s \
         WHERE s.customer_id = $1 AND s.to_date IS NULL AND s.role = 'primary' \
         ORDER BY s.id DESC LIMIT 1 RETURNING id",
    )
    .bind(a.customer_id)
    .bind(alert_id)
    .bind(a.message)
    .bind(a.due_on)
    .bind(now_utc())
    .fetch_optional(conn)
    .await?;
    Ok(Raised {
        alert: Some(alert_id),
        task,
    })
}

/// A person paid by payroll whose salary stopped arriving.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SalaryGap {
    /// Customer.
    pub customer_id: i64,
    /// When the last payroll credit was booked.
    pub last_at: String,
    /// Months with a payroll credit in the window.
    pub months: i64,
}

/// Active persons with payroll credits (`batch`-channel credits) booked in
/// at least `months` calendar months from `from`, none since `cutoff`
/// (dates `YYYY-MM-DD`): whose salary stopped. One pass over the window's
/// transactions (a daily check, not a per-event one).
pub async fn salary_stopped(
    store: &Store,
    from: &str,
    cutoff: &str,
    months: i64,
) -> Result<Vec<SalaryGap>> {
    Ok(sqlx::query_as(
        "SELECT a.customer_id, MAX(t.booked_at) AS last_at, \
                CAST(COUNT(DISTINCT SUBSTR(t.booked_at, 1, 7)) AS BIGINT) AS months \
         FROM txn t JOIN account a ON a.id = t.account_id \
         JOIN customer c ON c.id = a.customer_id AND c.status = 'active' AND c.party_type = 'person' \
         WHERE t.channel = 'batch' AND t.direction = 'C' AND t.booked_at >= $1 \
         GROUP BY a.customer_id \
         HAVING MAX(t.booked_at) < $2 AND COUNT(DISTINCT SUBSTR(t.booked_at, 1, 7)) >= $3 \
         ORDER BY a.customer_id",
    )
    .bind(from)
    .bind(cutoff)
    .bind(months)
    .fetch_all(store.db())
    .await?)
}

/// The active customers whose mobile is `mobile` (11 digits).
pub async fn customers_by_mobile(conn: &mut AnyConnection, mobile: &str) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM customer WHERE mobile = $1 AND status = 'active' ORDER BY id",
    )
    .bind(mobile)
    .fetch_all(conn)
    .await?)
}

/// A customer's reply on `channel` from `mobile`: recorded as a contact of
/// every active customer with that mobile, and when it asks to stop
/// (`stop`), their opt-out of the channel at once — audited as `actor` with
/// `key` (the event or the gateway's reply that carried it). Returns the
/// customers (none: nobody has that mobile).
pub async fn apply_reply(
    conn: &mut AnyConnection,
    mobile: &str,
    channel: &str,
    text: &str,
    stop: bool,
    actor: &str,
    key: &str,
) -> Result<Vec<i64>> {
    let customers = customers_by_mobile(conn, mobile).await?;
    for customer in &customers {
        if stop {
            opt_out(conn, *customer, channel, actor, key).await?;
        }
        record_reply(conn, *customer, text, stop).await?;
    }
    Ok(customers)
}

/// Records a customer's opt-out of `channel` (`sms`, `email`, `phone` or
/// `all`) at once, keeping their other preferences; audited as `actor`
/// with the event that carried it.
pub async fn opt_out(
    conn: &mut AnyConnection,
    customer: i64,
    channel: &str,
    actor: &str,
    event_id: &str,
) -> Result<()> {
    let column = match channel {
        "sms" => "opt_out_sms",
        "email" => "opt_out_email",
        "phone" => "opt_out_phone",
        _ => "opt_out_all",
    };
    let sql = format!(
        "INSERT INTO contact_preference (customer_id, {column}, updated_at) VALUES ($1, 1, $2) \
         ON CONFLICT (customer_id) DO UPDATE SET {column} = 1, updated_at = excluded.updated_at"
    );
    sqlx::query(&sql)
        .bind(customer)
        .bind(now_utc())
        .execute(&mut *conn)
        .await?;
    insert_audit(
        conn,
        &Audit {
            actor,
            action: "customer.opt_out",
            customer_id: Some(customer),
            object_type: Some("customer"),
            object_id: Some(&customer.to_string()),
            detail: Some(&format!("channel={channel} event={event_id}")),
            ..Audit::default()
        },
    )
    .await?;
    Ok(())
}

/// Records a customer's SMS reply on their contact history (`reply`, or
/// `opt_out` when it stopped messages), with the text they wrote.
pub async fn record_reply(
    conn: &mut AnyConnection,
    customer: i64,
    text: &str,
    opted_out: bool,
) -> Result<i64> {
    let id = crate::ecif::next_id(conn, "contact").await?;
    sqlx::query(
        "INSERT INTO contact (id, customer_id, user_id, at, channel, outcome, notes) \
         VALUES ($1, $2, NULL, $3, 'sms', $4, $5)",
    )
    .bind(id)
    .bind(customer)
    .bind(now_utc())
    .bind(if opted_out { "opt_out" } else { "reply" })
    .bind(text)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Up to `n` active accounts of resolved customers, spread over the whole
/// table (every k-th by id), as (system, account number): what a load test
/// of the event feed posts to.
pub async fn sample_accounts(store: &Store, n: i64) -> Result<Vec<(String, String)>> {
    let total: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM account")
        .fetch_one(store.db())
        .await?;
    let step = (total / n.max(1)).max(1);
    Ok(sqlx::query_as(
        "SELECT system, account_no FROM account \
         WHERE id % $1 = 0 AND customer_id IS NOT NULL AND status = 'active' ORDER BY id LIMIT $2",
    )
    .bind(step)
    .bind(n)
    .fetch_all(store.db())
    .await?)
}
