//! Sales registration (业绩登记): the split rules, sales and their credit
//! versions, approvals and disputes. Who is credited how much is decided by
//! `panorama-ocrm` (with `panorama_domain::sales_credit`); this module reads
//! and writes, each change in one transaction with its audit event.

use sqlx::FromRow;

use crate::audit::{Audit, insert_audit};
use crate::{Result, Store, now_utc};

/// One row of the split rules: a channel's share for a part.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct RuleRow {
    /// Channel, or `*`.
    pub channel: String,
    /// `seller`, `rm` or `referrer`.
    pub part: String,
    /// Share in basis points.
    pub share_bp: i64,
    /// Who last changed it.
    pub updated_by: String,
    /// When.
    pub updated_at: String,
}

/// The split rules.
pub async fn rules(store: &Store) -> Result<Vec<RuleRow>> {
    Ok(sqlx::query_as(
        "SELECT channel, part, share_bp, updated_by, updated_at FROM credit_rule ORDER BY channel, part",
    )
    .fetch_all(store.db())
    .await?)
}

/// Replaces `channel`'s rule by `shares` (`(part, share_bp)`); audited.
/// Sales registered before keep their credits.
pub async fn set_rule(
    store: &Store,
    channel: &str,
    shares: &[(&str, i64)],
    actor: &str,
) -> Result<()> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM credit_rule WHERE channel = $1")
        .bind(channel)
        .execute(&mut *tx)
        .await?;
    for (part, bp) in shares {
        sqlx::query(
            "INSERT INTO credit_rule (channel, part, share_bp, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(channel)
        .bind(part)
        .bind(bp)
        .bind(actor)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    let detail: Vec<String> = shares.iter().map(|(p, b)| format!("{p}={b}")).collect();
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "sales.rule",
            object_type: Some("credit_rule"),
            object_id: Some(channel),
            detail: Some(&detail.join(" ")),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A staff member as sales see them.
#[derive(Debug, Clone, FromRow)]
pub struct Staff {
    /// User id.
    pub id: i64,
    /// Login.
    pub username: String,
    /// Staff number, if recorded.
    pub staff_no: Option<String>,
    /// Role.
    pub role: String,
    /// Org unit.
    pub org_unit_id: i64,
    /// Its materialised path.
    pub org_path: String,
    /// 1 when active.
    pub active: i64,
}

/// Every user, with staff numbers and org paths (a bank has thousands).
pub async fn staff(store: &Store) -> Result<Vec<Staff>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.username, u.staff_no, u.role, u.org_unit_id, o.path AS org_path, u.active \
         FROM app_user u JOIN org_unit o ON o.id = u.org_unit_id ORDER BY u.id",
    )
    .fetch_all(store.db())
    .await?)
}

/// The RM holding `customer` as primary on `on` (else their RM now), the
/// referral that brought them to `product` by then (accepted, not lost) and
/// its referrer, and the campaign that offered `product` to them as a
/// treated member by then — as SQL expressions over `c` (customer id), `p`
/// (product) and `d` (date) columns.
fn people_exprs(c: &str, p: &str, d: &str) -> String {
    let referral = format!(
        "FROM referral r LEFT JOIN opportunity o ON o.id = r.opportunity_id \
         WHERE r.customer_id = {c} AND r.status = 'accepted' AND (r.product_code IS NULL OR r.product_code = {p}) \
         AND SUBSTR(r.created_at, 1, 10) <= {d} AND (o.stage IS NULL OR o.stage <> 'lost') \
         ORDER BY r.created_at DESC, r.id DESC LIMIT 1"
    );
    format!(
        "COALESCE(\
           (SELECT a.rm_user_id FROM assignment a WHERE a.customer_id = {c} AND a.role = 'primary' \
            AND a.from_date <= {d} AND (a.to_date IS NULL OR a.to_date > {d}) ORDER BY a.from_date DESC, a.id DESC LIMIT 1), \
           (SELECT a.rm_user_id FROM assignment a WHERE a.customer_id = {c} AND a.role = 'primary' \
            AND a.to_date IS NULL ORDER BY a.id DESC LIMIT 1)) AS rm_user_id, \
         (SELECT r.id {referral}) AS referral_id, \
         (SELECT r.from_user_id {referral}) AS referrer_user_id, \
         (SELECT m.campaign_id FROM campaign_member m JOIN campaign k ON k.id = m.campaign_id \
            JOIN offer f ON f.campaign_id = m.campaign_id AND f.arm = m.arm \
            WHERE m.customer_id = {c} AND m.is_control = 0 AND f.product_code = {p} \
            AND m.selected_on <= {d} AND (k.ends_on IS NULL OR {d} <= k.ends_on) \
            ORDER BY m.selected_on DESC, m.campaign_id DESC LIMIT 1) AS campaign_id"
    )
}

/// An account opened that has no sale yet, with who was around it.
#[derive(Debug, Clone, FromRow)]
pub struct Opened {
    /// Account id.
    pub account_id: i64,
    /// Its number.
    pub account_no: String,
    /// Its customer.
    pub customer_id: i64,
    /// Product.
    pub product_code: String,
    /// Opened on.
    pub opened_on: String,
    /// The seller's staff number, as the source recorded it.
    pub sold_by: Option<String>,
    /// The amount: its first month-end balance, else its credit limit, else 0.
    pub amount_minor: i64,
    /// 1 when the event feed brought it.
    pub from_feed: i64,
    /// The customer's RM on that day (else now).
    pub rm_user_id: Option<i64>,
    /// The referral that brought the customer to the product.
    pub referral_id: Option<i64>,
    /// Its referrer.
    pub referrer_user_id: Option<i64>,
    /// The campaign that offered them the product.
    pub campaign_id: Option<i64>,
}

/// Up to `limit` accounts opened between `from` and `to` (inclusive) with
/// a customer and no sale, after account id `after`, in id order. An
/// account whose number a hand-entered sale (not rejected) names is that
/// sale's, not a new one ([`link_entered`]).
pub async fn unregistered(
    store: &Store,
    from: &str,
    to: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Opened>> {
    let people = people_exprs("x.customer_id", "x.product_code", "x.opened_on");
    Ok(sqlx::query_as(&format!(
        "SELECT x.id AS account_id, x.account_no, x.customer_id, x.product_code, x.opened_on, x.sold_by, \
           CAST(COALESCE((SELECT b.end_balance_minor FROM balance_monthly b WHERE b.account_id = x.id \
             ORDER BY b.month LIMIT 1), x.credit_limit_minor, 0) AS BIGINT) AS amount_minor, \
           CASE WHEN g.folder LIKE 'kafka:%' THEN 1 ELSE 0 END AS from_feed, {people} \
         FROM account x JOIN ingest_batch g ON g.id = x.batch_id \
         WHERE x.id > $1 AND x.customer_id IS NOT NULL AND x.opened_on BETWEEN $2 AND $3 \
           AND NOT EXISTS (SELECT 1 FROM sale s WHERE s.account_id = x.id) \
           AND NOT EXISTS (SELECT 1 FROM sale s WHERE s.account_no = x.account_no AND s.source = 'manual' \
                           AND s.status <> 'rejected') \
         ORDER BY x.id LIMIT $4"
    ))
    .bind(after)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// Who was around a sale being entered by hand: the customer's RM on
/// `on`, the referral and referrer for `product`, the campaign.
#[derive(Debug, Clone, FromRow)]
pub struct Around {
    /// The customer's RM on that day (else now).
    pub rm_user_id: Option<i64>,
    /// The referral that brought the customer to the product.
    pub referral_id: Option<i64>,
    /// Its referrer.
    pub referrer_user_id: Option<i64>,
    /// The campaign that offered them the product.
    pub campaign_id: Option<i64>,
}

/// Who was around a sale of `product` to `customer` on `on`.
pub async fn around(store: &Store, customer: i64, product: &str, on: &str) -> Result<Around> {
    let people = people_exprs("$1", "$2", "$3");
    Ok(sqlx::query_as(&format!("SELECT {people}"))
        .bind(customer)
        .bind(product)
        .bind(on)
        .fetch_one(store.db())
        .await?)
}

/// A sale to write, with its first credits.
#[derive(Debug, Clone)]
pub struct NewSale {
    /// Customer.
    pub customer_id: i64,
    /// Product.
    pub product_code: String,
    /// The account, when known.
    pub account_id: Option<i64>,
    /// Its number.
    pub account_no: Option<String>,
    /// Amount in fen.
    pub amount_minor: i64,
    /// Sold on.
    pub sold_on: String,
    /// Channel.
    pub channel: String,
    /// `extract`, `feed` or `manual`.
    pub source: &'static str,
    /// The seller, when a user.
    pub seller_user_id: Option<i64>,
    /// The seller's code as the source recorded it.
    pub seller_code: Option<String>,
    /// The referral.
    pub referral_id: Option<i64>,
    /// The campaign.
    pub campaign_id: Option<i64>,
    /// The org unit it counts to.
    pub org_unit_id: Option<i64>,
    /// `approved` or `pending`.
    pub status: &'static str,
    /// Who entered it (`system` for the registration run).
    pub entered_by: String,
    /// A note.
    pub note: Option<String>,
    /// `(user, part, share_bp, amount_minor, reason)` lines of version 1.
    pub credits: Vec<(i64, &'static str, i64, i64, String)>,
}

async fn insert_sale(conn: &mut sqlx::AnyConnection, s: &NewSale, now: &str) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sale (customer_id, product_code, account_id, account_no, amount_minor, sold_on, channel, source, \
           seller_user_id, seller_code, referral_id, campaign_id, org_unit_id, status, credit_version, entered_by, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16, $17) RETURNING id",
    )
    .bind(s.customer_id)
    .bind(&s.product_code)
    .bind(s.account_id)
    .bind(s.account_no.as_deref())
    .bind(s.amount_minor)
    .bind(&s.sold_on)
    .bind(&s.channel)
    .bind(s.source)
    .bind(s.seller_user_id)
    .bind(s.seller_code.as_deref())
    .bind(s.referral_id)
    .bind(s.campaign_id)
    .bind(s.org_unit_id)
    .bind(s.status)
    .bind(&s.entered_by)
    .bind(s.note.as_deref())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    for (user, part, bp, amount, reason) in &s.credits {
        insert_credit(
            conn,
            id,
            1,
            (*user, part, *bp, *amount, reason),
            &s.entered_by,
            now,
        )
        .await?;
    }
    Ok(id)
}

async fn insert_credit(
    conn: &mut sqlx::AnyConnection,
    sale: i64,
    version: i64,
    (user, part, bp, amount, reason): (i64, &str, i64, i64, &str),
    by: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sale_credit (sale_id, version, user_id, part, share_bp, amount_minor, reason, made_by, made_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(sale)
    .bind(version)
    .bind(user)
    .bind(part)
    .bind(bp)
    .bind(amount)
    .bind(reason)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the sales a registration run found, with their credits, in one
/// transaction audited once (`sales.register`, the count).
pub async fn register(store: &Store, sales: &[NewSale], actor: &str) -> Result<()> {
    if sales.is_empty() {
        return Ok(());
    }
    let now = now_utc();
    let mut tx = store.begin().await?;
    for s in sales {
        insert_sale(&mut tx, s, &now).await?;
    }
    insert_audit(
        &mut tx,
        &Audit {
            actor,
            action: "sales.register",
            object_type: Some("sale"),
            detail: Some(&format!("sales={}", sales.len())),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes a sale entered by hand; audited (`sales.enter`). `None` when a
/// sale (not rejected) already names the account number.
pub async fn enter(store: &Store, sale: &NewSale, user_id: i64) -> Result<Option<i64>> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    if let Some(no) = &sale.account_no {
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sale s LEFT JOIN account x ON x.id = s.account_id \
             WHERE (s.account_no = $1 OR x.account_no = $1) AND s.status <> 'rejected'",
        )
        .bind(no)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Ok(None);
        }
    }
    let id = insert_sale(&mut tx, sale, &now).await?;
    let object = id.to_string();
    insert_audit(
        &mut tx,
        &Audit {
            user_id: Some(user_id),
            actor: &sale.entered_by,
            action: "sales.enter",
            customer_id: Some(sale.customer_id),
            object_type: Some("sale"),
            object_id: Some(&object),
            detail: Some(&format!(
                "product={} amount_minor={} sold_on={}",
                sale.product_code, sale.amount_minor, sale.sold_on
            )),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Links hand-entered sales to the accounts their numbers name once the
/// extracts or the feed bring them; returns how many.
pub async fn link_entered(store: &Store) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE sale SET account_id = (SELECT MIN(x.id) FROM account x WHERE x.account_no = sale.account_no) \
         WHERE source = 'manual' AND account_id IS NULL AND account_no IS NOT NULL AND status <> 'rejected' \
           AND EXISTS (SELECT 1 FROM account x WHERE x.account_no = sale.account_no) \
           AND NOT EXISTS (SELECT 1 FROM sale s2 JOIN account x ON x.id = s2.account_id WHERE x.account_no = sale.account_no)",
    )
    .execute(store.db())
    .await?
    .rows_affected())
}

/// A sale with names for showing.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct SaleRow {
    /// Id.
    pub id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Their number.
    pub customer_no: String,
    /// Their name (mask before showing).
    pub customer_name: String,
    /// Product.
    pub product_code: String,
    /// Its name.
    pub product_name: String,
    /// Its class.
    pub product_class: String,
    /// Account number, when known.
    pub account_no: Option<String>,
    /// Amount in fen.
    pub amount_minor: i64,
    /// Sold on.
    pub sold_on: String,
    /// Channel.
    pub channel: String,
    /// `extract`, `feed` or `manual`.
    pub source: String,
    /// The seller's login, when a user.
    pub seller: Option<String>,
    /// The seller's code as recorded.
    pub seller_code: Option<String>,
    /// The referral.
    pub referral_id: Option<i64>,
    /// The campaign.
    pub campaign_id: Option<i64>,
    /// The org unit it counts to.
    pub org_unit_id: Option<i64>,
    /// Its path.
    pub org_path: Option<String>,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Current credit version.
    pub credit_version: i64,
    /// Who entered it.
    pub entered_by: String,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// Why.
    pub decision_note: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// Entered at.
    pub created_at: String,
}

const SALE_SELECT: &str = "SELECT s.id, s.customer_id, c.customer_no, c.name AS customer_name, s.product_code, \
     p.name AS product_name, p.class AS product_class, COALESCE(s.account_no, x.account_no) AS account_no, s.amount_minor, \
     s.sold_on, s.channel, s.source, su.username AS seller, s.seller_code, s.referral_id, s.campaign_id, s.org_unit_id, \
     o.path AS org_path, s.status, s.credit_version, s.entered_by, s.decided_by, s.decision_note, s.note, s.created_at \
     FROM sale s JOIN customer c ON c.id = s.customer_id JOIN product p ON p.code = s.product_code \
     LEFT JOIN account x ON x.id = s.account_id LEFT JOIN app_user su ON su.id = s.seller_user_id \
     LEFT JOIN org_unit o ON o.id = s.org_unit_id";

/// Sale `id`.
pub async fn get(store: &Store, id: i64) -> Result<Option<SaleRow>> {
    Ok(sqlx::query_as(&format!("{SALE_SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(store.db())
        .await?)
}

/// Which sales to list.
#[derive(Debug, Clone, Default)]
pub struct SaleFilter<'a> {
    /// Credited to this user (current version), or entered by this login.
    pub involving: Option<(i64, &'a str)>,
    /// Counting to org units under this path.
    pub under: Option<&'a str>,
    /// In this status.
    pub status: Option<&'a str>,
    /// Sold on or after.
    pub from: Option<&'a str>,
    /// Sold on or before.
    pub to: Option<&'a str>,
}

/// Sales by `filter`, the newest first, at most `limit`.
pub async fn list(store: &Store, filter: &SaleFilter<'_>, limit: i64) -> Result<Vec<SaleRow>> {
    let (user, login) = filter.involving.unwrap_or((-1, ""));
    let under = filter.under.map(|p| format!("{p}%"));
    Ok(sqlx::query_as(&format!(
        "{SALE_SELECT} WHERE ($1 < 0 OR s.entered_by = $2 OR EXISTS (SELECT 1 FROM sale_credit k \
            WHERE k.sale_id = s.id AND k.version = s.credit_version AND k.user_id = $1)) \
           AND ($3 IS NULL OR o.path LIKE $3) AND ($4 IS NULL OR s.status = $4) \
           AND ($5 IS NULL OR s.sold_on >= $5) AND ($6 IS NULL OR s.sold_on <= $6) \
         ORDER BY s.sold_on DESC, s.id DESC LIMIT $7"
    ))
    .bind(user)
    .bind(login)
    .bind(under)
    .bind(filter.status)
    .bind(filter.from)
    .bind(filter.to)
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// One credit line with the person's login.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct CreditRow {
    /// Sale.
    pub sale_id: i64,
    /// Version.
    pub version: i64,
    /// User.
    pub user_id: i64,
    /// Their login.
    pub username: String,
    /// Their name.
    pub display_name: String,
    /// `seller`, `rm`, `referrer` or `adjusted`.
    pub part: String,
    /// Share in basis points.
    pub share_bp: i64,
    /// Amount in fen.
    pub amount_minor: i64,
    /// Why (the rule, or the adjustment's reason).
    pub reason: String,
    /// Who made it.
    pub made_by: String,
    /// When.
    pub made_at: String,
}

/// Every credit version of `sale`, the current one last.
pub async fn credits(store: &Store, sale: i64) -> Result<Vec<CreditRow>> {
    Ok(sqlx::query_as(
        "SELECT k.sale_id, k.version, k.user_id, u.username, u.display_name, k.part, k.share_bp, k.amount_minor, \
           k.reason, k.made_by, k.made_at \
         FROM sale_credit k JOIN app_user u ON u.id = k.user_id WHERE k.sale_id = $1 \
         ORDER BY k.version, k.share_bp DESC, k.user_id",
    )
    .bind(sale)
    .fetch_all(store.db())
    .await?)
}

/// Approves or rejects pending sale `id`; audited. `false` when it was no
/// longer pending.
pub async fn decide(
    store: &Store,
    id: i64,
    approve: bool,
    note: Option<&str>,
    (by_id, by): (i64, &str),
) -> Result<bool> {
    let status = if approve { "approved" } else { "rejected" };
    let now = now_utc();
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE sale SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4 \
         WHERE id = $5 AND status = 'pending'",
    )
    .bind(status)
    .bind(by)
    .bind(&now)
    .bind(note)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let object = id.to_string();
    insert_audit(
        &mut tx,
        &Audit {
            user_id: Some(by_id),
            actor: by,
            action: if approve {
                "sales.approve"
            } else {
                "sales.reject"
            },
            object_type: Some("sale"),
            object_id: Some(&object),
            detail: note,
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A dispute of a sale's credit.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct DisputeRow {
    /// Id.
    pub id: i64,
    /// The sale.
    pub sale_id: i64,
    /// Who raised it.
    pub raised_by: String,
    /// Why.
    pub reason: String,
    /// `open`, `upheld` or `rejected`.
    pub status: String,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// How.
    pub resolution: Option<String>,
    /// Raised at.
    pub created_at: String,
    /// The sale's org unit path.
    pub org_path: Option<String>,
}

const DISPUTE_SELECT: &str = "SELECT d.id, d.sale_id, u.username AS raised_by, d.reason, d.status, d.resolved_by, \
     d.resolution, d.created_at, o.path AS org_path FROM sale_dispute d JOIN app_user u ON u.id = d.raised_by \
     JOIN sale s ON s.id = d.sale_id LEFT JOIN org_unit o ON o.id = s.org_unit_id";

/// Raises a dispute of sale `sale` by user `by`; audited. `None` when they
/// already have one open on it.
pub async fn dispute(
    store: &Store,
    sale: i64,
    (by_id, by): (i64, &str),
    reason: &str,
) -> Result<Option<i64>> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sale_dispute WHERE sale_id = $1 AND raised_by = $2 AND status = 'open'",
    )
    .bind(sale)
    .bind(by_id)
    .fetch_one(&mut *tx)
    .await?;
    if open > 0 {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sale_dispute (sale_id, raised_by, reason, status, created_at) VALUES ($1, $2, $3, 'open', $4) RETURNING id",
    )
    .bind(sale)
    .bind(by_id)
    .bind(reason)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    let object = sale.to_string();
    insert_audit(
        &mut tx,
        &Audit {
            user_id: Some(by_id),
            actor: by,
            action: "sales.dispute",
            object_type: Some("sale"),
            object_id: Some(&object),
            detail: Some(reason),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Dispute `id`.
pub async fn dispute_by_id(store: &Store, id: i64) -> Result<Option<DisputeRow>> {
    Ok(sqlx::query_as(&format!("{DISPUTE_SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(store.db())
        .await?)
}

/// Disputes of sales counting under `under` (every one with `None`), in
/// `status` (any with `None`), the oldest first.
pub async fn disputes(
    store: &Store,
    under: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<DisputeRow>> {
    let under = under.map(|p| format!("{p}%"));
    Ok(sqlx::query_as(&format!(
        "{DISPUTE_SELECT} WHERE ($1 IS NULL OR o.path LIKE $1) AND ($2 IS NULL OR d.status = $2) ORDER BY d.id LIMIT 500"
    ))
    .bind(under)
    .bind(status)
    .fetch_all(store.db())
    .await?)
}

/// A new split of a sale by a branch manager.
#[derive(Debug, Clone)]
pub struct Adjustment<'a> {
    /// The sale.
    pub sale: i64,
    /// The version it replaces (a concurrent change makes this fail).
    pub from_version: i64,
    /// `(user, share_bp, amount_minor)` lines.
    pub lines: &'a [(i64, i64, i64)],
    /// Why.
    pub reason: &'a str,
    /// The dispute it resolves, if any.
    pub dispute: Option<i64>,
}

/// Resolves dispute `dispute` without a change (rejected); audited.
/// `false` when it was not open.
pub async fn reject_dispute(
    store: &Store,
    dispute: i64,
    note: &str,
    (by_id, by): (i64, &str),
) -> Result<bool> {
    let now = now_utc();
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE sale_dispute SET status = 'rejected', resolved_by = $1, resolution = $2, resolved_at = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(by)
    .bind(note)
    .bind(&now)
    .bind(dispute)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    let object = dispute.to_string();
    insert_audit(
        &mut tx,
        &Audit {
            user_id: Some(by_id),
            actor: by,
            action: "sales.dispute_rejected",
            object_type: Some("sale_dispute"),
            object_id: Some(&object),
            detail: Some(note),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Writes `a` as the sale's next credit version (and upholds its dispute);
/// audited (`sales.adjust`). `false` when the sale moved on from
/// `a.from_version` or the dispute is no longer open.
pub async fn adjust(store: &Store, a: &Adjustment<'_>, (by_id, by): (i64, &str)) -> Result<bool> {
    let now = now_utc();
    let next = a.from_version + 1;
    let mut tx = store.begin().await?;
    let moved =
        sqlx::query("UPDATE sale SET credit_version = $1 WHERE id = $2 AND credit_version = $3")
            .bind(next)
            .bind(a.sale)
            .bind(a.from_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    if let Some(d) = a.dispute {
        let n = sqlx::query(
            "UPDATE sale_dispute SET status = 'upheld', resolved_by = $1, resolution = $2, resolved_at = $3 \
             WHERE id = $4 AND sale_id = $5 AND status = 'open'",
        )
        .bind(by)
        .bind(a.reason)
        .bind(&now)
        .bind(d)
        .bind(a.sale)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
    }
    for &(user, bp, amount) in a.lines {
        insert_credit(
            &mut tx,
            a.sale,
            next,
            (user, "adjusted", bp, amount, a.reason),
            by,
            &now,
        )
        .await?;
    }
    let object = a.sale.to_string();
    let detail: Vec<String> = a.lines.iter().map(|(u, b, _)| format!("{u}={b}")).collect();
    insert_audit(
        &mut tx,
        &Audit {
            user_id: Some(by_id),
            actor: by,
            action: "sales.adjust",
            object_type: Some("sale"),
            object_id: Some(&object),
            reason: Some(a.reason),
            detail: Some(&format!("version={next} {}", detail.join(" "))),
            ..Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// One person's credited sales in a period: count (in basis points of a
/// sale) and amount, by product class.
#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct CreditTotal {
    /// User.
    pub user_id: i64,
    /// Product class.
    pub class: String,
    /// Sales credited, in basis points (10,000 = one whole sale).
    pub share_bp: i64,
    /// Amount credited, in fen.
    pub amount_minor: i64,
}

/// Every person's approved credits (current versions) for sales made from
/// `from` to `to`, by product class.
pub async fn credit_totals(store: &Store, from: &str, to: &str) -> Result<Vec<CreditTotal>> {
    Ok(sqlx::query_as(
        "SELECT k.user_id, p.class, CAST(SUM(k.share_bp) AS BIGINT) AS share_bp, \
           CAST(SUM(k.amount_minor) AS BIGINT) AS amount_minor \
         FROM sale s JOIN sale_credit k ON k.sale_id = s.id AND k.version = s.credit_version \
         JOIN product p ON p.code = s.product_code \
         WHERE s.status = 'approved' AND s.sold_on BETWEEN $1 AND $2 \
         GROUP BY k.user_id, p.class ORDER BY k.user_id, p.class",
    )
    .bind(from)
    .bind(to)
    .fetch_all(store.db())
    .await?)
}

/// The active customer numbered `no`.
pub async fn customer_by_no(store: &Store, no: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM customer WHERE customer_no = $1 AND status = 'active'")
            .bind(no)
            .fetch_optional(store.db())
            .await?,
    )
}

/// Whether `user` holds `customer` now (as primary RM).
pub async fn holds(store: &Store, user: i64, customer: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM assignment WHERE customer_id = $1 AND rm_user_id = $2 AND to_date IS NULL",
    )
    .bind(customer)
    .bind(user)
    .fetch_one(store.db())
    .await?;
    Ok(n > 0)
}
