//! Cross-line referrals (公私联动): an RM refers a customer related to one
//! of their own — a company's executives and payroll employees to retail,
//! a person's company to corporate — to that customer's RM. Accepted, it
//! becomes an opportunity of the receiving RM, whose outcome is the
//! referral's; won referrals are credited to the referrer in targets.

use sqlx::FromRow;

use crate::audit::{Audit, insert_audit};
use crate::ocrm;
use crate::pipeline::{self, NewOpportunity};
use crate::scope::Scope;
use crate::{Result, Store, now_utc};

/// Why a referral could not be made or decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The customer it comes through is not the referrer's, or the
    /// referred customer is not related to them.
    NotRelated,
    /// The referred customer has no RM to receive it.
    NoRm,
    /// The referred customer is the referrer's own.
    OwnCustomer,
    /// No such open referral to the caller.
    NotFound,
    /// The product does not exist (or none was given on accepting).
    Product,
}

/// A referral as its two RMs see it.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct ReferralRow {
    /// Id.
    pub id: i64,
    /// The referred customer.
    pub customer_id: i64,
    /// Their name (mask before showing).
    pub customer_name: String,
    /// Their number.
    pub customer_no: String,
    /// The referrer's customer it came through.
    pub via_customer_id: i64,
    /// Referrer.
    pub from_user: String,
    /// Receiver.
    pub to_user: String,
    /// Suggested product.
    pub product_code: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// `open`, `accepted` or `declined`.
    pub status: String,
    /// The opportunity's stage once accepted (`won`, `lost`, …).
    pub outcome: Option<String>,
    /// Created.
    pub created_at: String,
}

/// A referral to make.
#[derive(Debug, Clone)]
pub struct NewReferral<'a> {
    /// The referrer's customer it comes through.
    pub via: i64,
    /// The customer referred (related to `via`).
    pub customer: i64,
    /// Suggested product.
    pub product: Option<&'a str>,
    /// A note for the receiving RM.
    pub note: Option<&'a str>,
    /// The referrer.
    pub from_user: i64,
    /// Their login.
    pub actor: &'a str,
}

/// Refers `r.customer` (related to `r.via`, a customer in the referrer's
/// `scope`) to its primary RM; audited.
pub async fn create(
    store: &Store,
    scope: &Scope,
    r: &NewReferral<'_>,
) -> Result<std::result::Result<i64, Refusal>> {
    let NewReferral {
        via,
        customer,
        product,
        note,
        from_user,
        actor,
    } = *r;
    if ocrm::customer_in_scope(store, scope, via).await?.is_none() {
        return Ok(Err(Refusal::NotRelated));
    }
    let related: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM party_relationship r JOIN customer c ON c.id = $2 AND c.status = 'active' \
         WHERE (r.from_customer_id = $1 AND r.to_customer_id = $2) OR (r.from_customer_id = $2 AND r.to_customer_id = $1)",
    )
    .bind(via)
    .bind(customer)
    .fetch_one(store.db())
    .await?;
    if related == 0 {
        return Ok(Err(Refusal::NotRelated));
    }
    if let Some(p) = product {
        let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM product WHERE code = $1")
            .bind(p)
            .fetch_one(store.db())
            .await?;
        if known == 0 {
            return Ok(Err(Refusal::Product));
        }
    }
    let Some(to_user) = pipeline::primary_rm(store, customer).await? else {
        return Ok(Err(Refusal::NoRm));
    };
    if to_user == from_user {
        return Ok(Err(Refusal::OwnCustomer));
    }
    let mut tx = store.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO referral (customer_id, via_customer_id, from_user_id, to_user_id, product_code, note, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) RETURNING id",
    )
    .bind(customer)
    .bind(via)
    .bind(from_user)
    .bind(to_user)
    .bind(product)
    .bind(note)
    .bind(now_utc())
    .fetch_one(&mut *tx)
    .await?;
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "referral.create",
            customer_id: Some(customer),
            object_type: Some("referral"),
            object_id: Some(&id.to_string()),
            detail: Some(&format!("via={via} to_user={to_user}")),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

const COLUMNS: &str = "r.id, r.customer_id, c.name AS customer_name, c.customer_no, r.via_customer_id, \
    f.username AS from_user, t.username AS to_user, r.product_code, r.note, r.status, o.stage AS outcome, r.created_at";

/// Referrals made by `user` (`outgoing`) or to them.
pub async fn list(store: &Store, user: i64, outgoing: bool) -> Result<Vec<ReferralRow>> {
    let side = if outgoing {
        "r.from_user_id"
    } else {
        "r.to_user_id"
    };
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM referral r JOIN customer c ON c.id = r.customer_id \
         JOIN app_user f ON f.id = r.from_user_id JOIN app_user t ON t.id = r.to_user_id \
         LEFT JOIN opportunity o ON o.id = r.opportunity_id \
         WHERE {side} = $1 ORDER BY CASE WHEN r.status = 'open' THEN 0 ELSE 1 END, r.id DESC LIMIT 200"
    ))
    .bind(user)
    .fetch_all(store.db())
    .await?)
}

/// The receiving RM accepts: an opportunity of theirs at `lead` for the
/// referral's product (or `product`). Returns the opportunity.
pub async fn accept(
    store: &Store,
    id: i64,
    user: i64,
    product: Option<&str>,
    actor: &str,
) -> Result<std::result::Result<i64, Refusal>> {
    let found: Option<(i64, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT customer_id, product_code, note FROM referral WHERE id = $1 AND to_user_id = $2 AND status = 'open'",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(store.db())
    .await?;
    let Some((customer, suggested, note)) = found else {
        return Ok(Err(Refusal::NotFound));
    };
    let Some(product) = product.map(str::to_owned).or(suggested) else {
        return Ok(Err(Refusal::Product));
    };
    let notes = format!(
        "referral #{id}{}",
        note.map(|n| format!(": {n}")).unwrap_or_default()
    );
    let opportunity = match pipeline::create(
        store,
        &NewOpportunity {
            customer_id: customer,
            owner_user_id: user,
            product_code: &product,
            amount_minor: None,
            expected_close: None,
            campaign_id: None,
            notes: Some(&notes),
        },
        actor,
    )
    .await?
    {
        Ok(o) => o,
        Err(_) => return Ok(Err(Refusal::Product)),
    };
    decide(
        store,
        id,
        "accepted",
        Some(opportunity),
        None,
        actor,
        customer,
    )
    .await?;
    Ok(Ok(opportunity))
}

/// The receiving RM declines, saying why.
pub async fn decline(
    store: &Store,
    id: i64,
    user: i64,
    note: &str,
    actor: &str,
) -> Result<std::result::Result<(), Refusal>> {
    let customer: Option<i64> = sqlx::query_scalar(
        "SELECT customer_id FROM referral WHERE id = $1 AND to_user_id = $2 AND status = 'open'",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(store.db())
    .await?;
    let Some(customer) = customer else {
        return Ok(Err(Refusal::NotFound));
    };
    decide(store, id, "declined", None, Some(note), actor, customer).await?;
    Ok(Ok(()))
}

async fn decide(
    store: &Store,
    id: i64,
    status: &str,
    opportunity: Option<i64>,
    note: Option<&str>,
    actor: &str,
    customer: i64,
) -> Result<()> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "UPDATE referral SET status = $1, opportunity_id = $2, decided_at = $3, decision_note = $4 \
         WHERE id = $5 AND status = 'open'",
    )
    .bind(status)
    .bind(opportunity)
    .bind(now_utc())
    .bind(note)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "referral.decide",
            customer_id: Some(customer),
            object_type: Some("referral"),
            object_id: Some(&id.to_string()),
            detail: Some(status),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
