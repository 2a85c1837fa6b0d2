//! The message gateways' side of the campaign outbox: what a gateway said
//! of each message handed to it (accepted with its message id, or refused
//! with a reason), the delivery receipts that came back, messages handed
//! over but never answered (sent again: the gateway knows them by our id),
//! and how far each gateway's receipts and replies have been read.

use sqlx::Row;

use crate::campaigns::OutboxRow;
use crate::{Result, Store, now_utc};

/// The batch-name prefix of messages handed to an HTTP gateway (a file
/// drain's batches are named after the channel alone).
pub const BATCH_PREFIX: &str = "gw:";

/// Takes back, into batch `batch`, the `channel` messages an earlier gateway
/// run claimed and never heard back about (it stopped between claiming them
/// and the gateway's answer); returns how many.
pub async fn reclaim(store: &Store, channel: &str, batch: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE campaign_outbox SET batch = $1 \
         WHERE status = 'sent' AND channel = $2 AND gateway_msg_id IS NULL \
         AND gateway_detail IS NULL AND batch LIKE 'gw:%' AND batch <> $1",
    )
    .bind(batch)
    .bind(channel)
    .execute(store.db())
    .await?
    .rows_affected())
}

/// The messages of batch `batch` the gateway has not answered for yet.
pub async fn unanswered(store: &Store, batch: &str) -> Result<Vec<OutboxRow>> {
    Ok(sqlx::query_as(
        "SELECT id, campaign_id, customer_id, address, message FROM campaign_outbox \
         WHERE batch = $1 AND status = 'sent' AND gateway_msg_id IS NULL ORDER BY id",
    )
    .bind(batch)
    .fetch_all(store.db())
    .await?)
}

/// What the gateway answered for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Accepted, with the gateway's message id.
    Accepted(String),
    /// Refused (an invalid number, a blacklisted one, …), with the reason.
    Refused(String),
}

/// Records the gateway's answers, (outbox id, answer), in one transaction.
pub async fn record_answers(store: &Store, answers: &[(i64, Answer)]) -> Result<()> {
    let mut tx = store.begin().await?;
    for (id, answer) in answers {
        let q = match answer {
            Answer::Accepted(msg_id) => {
                sqlx::query("UPDATE campaign_outbox SET gateway_msg_id = $1 WHERE id = $2")
                    .bind(msg_id)
            }
            Answer::Refused(reason) => sqlx::query(
                "UPDATE campaign_outbox SET status = 'failed', gateway_detail = $1 WHERE id = $2",
            )
            .bind(reason),
        };
        q.bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Puts messages the gateway could not be reached for back in the queue.
pub async fn requeue(store: &Store, ids: &[i64]) -> Result<()> {
    let mut tx = store.begin().await?;
    for id in ids {
        sqlx::query(
            "UPDATE campaign_outbox SET status = 'queued', batch = NULL, sent_at = NULL \
             WHERE id = $1 AND gateway_msg_id IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records delivery receipts, (gateway message id, status, when), on the
/// caller's connection (with the cursor past them, in one transaction);
/// returns how many matched a message of ours.
pub async fn record_receipts(
    conn: &mut sqlx::AnyConnection,
    receipts: &[(String, String, String)],
) -> Result<u64> {
    let mut matched = 0;
    for (msg_id, status, at) in receipts {
        matched += sqlx::query(
            "UPDATE campaign_outbox SET delivery_status = $1, delivered_at = $2 WHERE gateway_msg_id = $3",
        )
        .bind(status)
        .bind(at)
        .bind(msg_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(matched)
}

/// How far `kind` (receipts, replies) of `gateway` has been read.
pub async fn cursor(store: &Store, gateway: &str, kind: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT position FROM gateway_cursor WHERE gateway = $1 AND kind = $2")
            .bind(gateway)
            .bind(kind)
            .fetch_optional(store.db())
            .await?,
    )
}

/// Moves the cursor of `kind` of `gateway` to `position`, on the caller's
/// connection (with what was read, in one transaction).
pub async fn set_cursor(
    conn: &mut sqlx::AnyConnection,
    gateway: &str,
    kind: &str,
    position: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO gateway_cursor (gateway, kind, position, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (gateway, kind) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )
    .bind(gateway)
    .bind(kind)
    .bind(position)
    .bind(now_utc())
    .execute(conn)
    .await?;
    Ok(())
}

/// Per channel, outbox status and delivery status: how many messages.
pub async fn summary(store: &Store) -> Result<Vec<(String, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT channel, status, COALESCE(delivery_status, '-'), CAST(COUNT(*) AS BIGINT) \
         FROM campaign_outbox GROUP BY channel, status, COALESCE(delivery_status, '-') \
         ORDER BY channel, status, 3",
    )
    .fetch_all(store.db())
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}
