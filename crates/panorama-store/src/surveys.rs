//! Satisfaction surveys (CSAT 1–5, NPS 0–10) after a complaint is closed or
//! a contact is recorded, reported by branch and RM.
//!
//! A survey rates a member of staff (the complaint's owner, the contact's
//! RM), so it never comes from them: closing a complaint or recording a
//! contact queues an invitation ([`queue_invite`]); the SMS gateway's run
//! ([`send_invites`]) gives each a one-time token and sends the customer a
//! link; the customer answers through it ([`answer_invitation`], source
//! `customer`). A colleague may enter an answer the customer gave them —
//! on the phone, at the counter — but not the person rated ([`answer`],
//! source `staff`, with who entered it). One answer per complaint or
//! contact, whichever way it comes.

use sqlx::FromRow;

use crate::bind::{Bind, bind_all};
use crate::scope::Scope;
use crate::{AnyConnection, Result, Store, StoreError, now_utc};

/// What a customer says.
#[derive(Debug, Clone, Default)]
pub struct Rating<'a> {
    /// 1–5.
    pub csat: Option<i64>,
    /// 0–10.
    pub nps: Option<i64>,
    /// Free text.
    pub comment: Option<&'a str>,
}

impl Rating<'_> {
    fn check(&self) -> Result<()> {
        if self.csat.is_some_and(|c| !(1..=5).contains(&c))
            || self.nps.is_some_and(|n| !(0..=10).contains(&n))
        {
            return Err(StoreError::Invalid("CSAT is 1–5 and NPS 0–10".into()));
        }
        if self.csat.is_none() && self.nps.is_none() {
            return Err(StoreError::Invalid("a survey needs CSAT or NPS".into()));
        }
        if self.comment.is_some_and(|c| c.chars().count() > 1000) {
            return Err(StoreError::Invalid(
                "a survey comment is at most 1,000 characters".into(),
            ));
        }
        Ok(())
    }
}

/// How an answer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// Recorded.
    Recorded,
    /// No such complaint, contact or invitation (in scope).
    NotFound,
    /// The person entering it is the person it rates.
    SelfRating,
    /// This complaint or contact already has its answer.
    AlreadyAnswered,
    /// The invitation's link has expired.
    Expired,
}

/// Queues the invitation to rate a closed complaint or a recorded contact
/// (once per complaint or contact), in the transaction that closed or
/// recorded it.
pub async fn queue_invite(
    conn: &mut AnyConnection,
    kind: &str,
    object_id: i64,
    customer_id: i64,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO survey_invite (kind, object_id, customer_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (kind, object_id) DO NOTHING",
    )
    .bind(kind)
    .bind(object_id)
    .bind(customer_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// An invitation handed to the SMS gateway.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The invitation.
    pub id: i64,
    /// The customer.
    pub customer_id: i64,
    /// Their mobile.
    pub mobile: String,
    /// `complaint` or `contact`.
    pub kind: String,
    /// The one-time token of its link (only its hash is stored).
    pub token: String,
}

/// Claims up to `limit` queued invitations, oldest first, and marks them
/// sent in batch `batch`, valid until `expires_at`: each gets a token from
/// `mint` (the token and the hash kept of it). A customer without a mobile
/// cannot be asked (`no_mobile`), one who opted out of SMS is not
/// (`opted_out`). One transaction, so two gateway runs
/// never send one invitation twice; audited (mobiles leave the bank).
pub async fn send_invites(
    store: &Store,
    limit: i64,
    batch: &str,
    expires_at: &str,
    mut mint: impl FnMut() -> (String, String),
    by: &str,
) -> Result<Vec<Sent>> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    let queued: Vec<(i64, i64, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT i.id, i.customer_id, c.mobile, i.kind, \
           CAST(COALESCE(p.opt_out_all, 0) + COALESCE(p.opt_out_sms, 0) AS BIGINT) \
         FROM survey_invite i JOIN customer c ON c.id = i.customer_id \
         LEFT JOIN contact_preference p ON p.customer_id = i.customer_id \
         WHERE i.status = 'queued' ORDER BY i.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut sent = Vec::new();
    let mut unreachable = 0usize;
    for (id, customer_id, mobile, kind, opted_out) in queued {
        let mobile = mobile.filter(|m| !m.trim().is_empty());
        let Some(mobile) = mobile.filter(|_| opted_out == 0) else {
            // Not asked: opted out of SMS, or no mobile to ask on.
            sqlx::query(
                "UPDATE survey_invite SET status = CASE WHEN $1 > 0 THEN 'opted_out' ELSE 'no_mobile' END \
                 WHERE id = $2",
            )
            .bind(opted_out)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            unreachable += 1;
            continue;
        };
        let (token, hash) = mint();
        sqlx::query(
            "UPDATE survey_invite SET status = 'sent', token_hash = $1, sent_at = $2, \
             expires_at = $3, batch = $4 WHERE id = $5 AND status = 'queued'",
        )
        .bind(&hash)
        .bind(&now)
        .bind(expires_at)
        .bind(batch)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sent.push(Sent {
            id,
            customer_id,
            mobile,
            kind,
            token,
        });
    }
    if !sent.is_empty() || unreachable > 0 {
        crate::ecif::audit(
            &mut tx,
            by,
            "survey.invites.send",
            None,
            &format!(
                "{} survey invitations to SMS gateway batch {batch}; {unreachable} not sent (no mobile, or opted out of SMS)",
                sent.len()
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(sent)
}

/// An invitation as its link shows it.
#[derive(Debug, Clone, FromRow)]
pub struct Invitation {
    /// `complaint` or `contact`.
    pub kind: String,
    /// `sent` or `answered` (`queued` and `no_mobile` have no token).
    pub status: String,
    /// Until when it may be answered.
    pub expires_at: Option<String>,
}

/// The invitation whose token hashes to `token_hash`.
pub async fn invitation(store: &Store, token_hash: &str) -> Result<Option<Invitation>> {
    Ok(
        sqlx::query_as("SELECT kind, status, expires_at FROM survey_invite WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(store.db())
            .await?,
    )
}

/// The customer of a complaint or contact, and the member of staff it rates.
async fn rated(
    conn: &mut AnyConnection,
    scope: &Scope,
    kind: &str,
    object_id: i64,
) -> Result<Option<(i64, Option<i64>)>> {
    let (cond, bind) = scope.customer_condition(2);
    let mut binds = vec![Bind::Int(object_id)];
    binds.extend(bind);
    let sql = match kind {
        "complaint" => format!(
            "SELECT k.customer_id, k.owner_user_id FROM complaint k JOIN customer c ON c.id = k.customer_id \
             WHERE k.id = $1 AND k.status = 'closed' AND {cond}"
        ),
        "contact" => format!(
            "SELECT k.customer_id, k.user_id FROM contact k JOIN customer c ON c.id = k.customer_id \
             WHERE k.id = $1 AND {cond}"
        ),
        other => return Err(StoreError::Invalid(format!("survey of {other:?}"))),
    };
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_optional(conn)
        .await?)
}

/// Writes the answer; `false` when the complaint or contact already has one.
#[allow(clippy::too_many_arguments)]
async fn insert(
    conn: &mut AnyConnection,
    kind: &str,
    object_id: i64,
    customer: i64,
    rated: Option<i64>,
    r: &Rating<'_>,
    source: &str,
    entered_by: Option<i64>,
) -> Result<bool> {
    let org: Option<i64> = match rated {
        Some(u) => {
            sqlx::query_scalar("SELECT org_unit_id FROM app_user WHERE id = $1")
                .bind(u)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    let inserted = sqlx::query(
        "INSERT INTO survey (kind, object_id, customer_id, user_id, org_unit_id, csat, nps, comment, at, \
           source, entered_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (kind, object_id) DO NOTHING",
    )
    .bind(kind)
    .bind(object_id)
    .bind(customer)
    .bind(rated)
    .bind(org)
    .bind(r.csat)
    .bind(r.nps)
    .bind(r.comment)
    .bind(now_utc())
    .bind(source)
    .bind(entered_by)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE survey_invite SET status = 'answered' WHERE kind = $1 AND object_id = $2")
        .bind(kind)
        .bind(object_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// The customer's answer through the invitation whose token hashes to
/// `token_hash`, at `now` (RFC 3339).
pub async fn answer_invitation(
    store: &Store,
    token_hash: &str,
    r: &Rating<'_>,
    now: &str,
) -> Result<Answered> {
    r.check()?;
    let mut tx = store.begin().await?;
    let found: Option<(String, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT kind, object_id, status, expires_at FROM survey_invite WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((kind, object_id, status, expires_at)) = found else {
        return Ok(Answered::NotFound);
    };
    if status == "answered" {
        return Ok(Answered::AlreadyAnswered);
    }
    if expires_at.is_some_and(|e| e.as_str() < now) {
        return Ok(Answered::Expired);
    }
    let Some((customer, rated)) = rated(&mut tx, &Scope::All, &kind, object_id).await? else {
        return Ok(Answered::NotFound);
    };
    if !insert(
        &mut tx, &kind, object_id, customer, rated, r, "customer", None,
    )
    .await?
    {
        return Ok(Answered::AlreadyAnswered);
    }
    tx.commit().await?;
    Ok(Answered::Recorded)
}

/// An answer the customer gave a member of staff (`entered_by`), for a
/// closed complaint or a contact of a customer in `scope`. Refused when the
/// person entering it is the person it rates.
pub async fn answer(
    store: &Store,
    scope: &Scope,
    kind: &str,
    object_id: i64,
    r: &Rating<'_>,
    entered_by: i64,
) -> Result<Answered> {
    r.check()?;
    let mut tx = store.begin().await?;
    let Some((customer, rated)) = rated(&mut tx, scope, kind, object_id).await? else {
        return Ok(Answered::NotFound);
    };
    if rated == Some(entered_by) {
        return Ok(Answered::SelfRating);
    }
    if !insert(
        &mut tx,
        kind,
        object_id,
        customer,
        rated,
        r,
        "staff",
        Some(entered_by),
    )
    .await?
    {
        return Ok(Answered::AlreadyAnswered);
    }
    tx.commit().await?;
    Ok(Answered::Recorded)
}

/// Satisfaction of one org unit or RM.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Satisfaction {
    /// Org unit code.
    pub org_code: String,
    /// Org unit name.
    pub org_name: String,
    /// The RM (login), or none for the org unit's total.
    pub rm: Option<String>,
    /// Answers.
    pub answers: i64,
    /// Of which the customer gave through their invitation's link.
    pub from_customers: i64,
    /// Mean CSAT (1–5) of those who gave one.
    pub csat: Option<f64>,
    /// Promoters (NPS 9–10).
    pub promoters: i64,
    /// Detractors (NPS 0–6).
    pub detractors: i64,
    /// Those who gave an NPS.
    pub nps_answers: i64,
}

impl Satisfaction {
    /// Net promoter score: promoters less detractors, in percent.
    pub fn nps(&self) -> Option<f64> {
        (self.nps_answers > 0)
            .then(|| 100.0 * (self.promoters - self.detractors) as f64 / self.nps_answers as f64)
    }
}

/// Survey results since `since` by org unit and RM, for the org units in
/// `scope` (an RM: their own answers).
pub async fn satisfaction(store: &Store, scope: &Scope, since: &str) -> Result<Vec<Satisfaction>> {
    let mut binds = vec![Bind::Text(since.to_owned())];
    let cond = match scope {
        Scope::All => "1 = 1".to_owned(),
        Scope::Subtree(path) => {
            binds.push(Bind::Text(format!("{path}%")));
            "o.path LIKE $2".to_owned()
        }
        Scope::Assigned(user) => {
            binds.push(Bind::Int(*user));
            "s.user_id = $2".to_owned()
        }
    };
    let sql = format!(
        "SELECT o.code AS org_code, o.name AS org_name, u.username AS rm, COUNT(*) AS answers, \
           CAST(SUM(CASE WHEN s.source = 'customer' THEN 1 ELSE 0 END) AS BIGINT) AS from_customers, \
           AVG(CAST(s.csat AS DOUBLE PRECISION)) AS csat, \
           CAST(SUM(CASE WHEN s.nps >= 9 THEN 1 ELSE 0 END) AS BIGINT) AS promoters, \
           CAST(SUM(CASE WHEN s.nps <= 6 THEN 1 ELSE 0 END) AS BIGINT) AS detractors, \
           COUNT(s.nps) AS nps_answers \
         FROM survey s JOIN org_unit o ON o.id = s.org_unit_id LEFT JOIN app_user u ON u.id = s.user_id \
         WHERE s.at >= $1 AND {cond} \
         GROUP BY o.code, o.name, o.path, u.username ORDER BY o.path, u.username"
    );
    Ok(bind_all(sqlx::query_as(&sql), &binds)
        .fetch_all(store.db())
        .await?)
}
