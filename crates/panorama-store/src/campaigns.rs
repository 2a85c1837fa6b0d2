//! Campaigns in the store: design and approval, members with their arm and
//! owner, the contact policy's inputs (opt-outs, recent contacts), responses,
//! and the counts a report is made of.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::ecif::audit;
use crate::{Backend, BulkInsert, Result, Store, StoreError, Value, now_utc};

/// A campaign as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CampaignRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// acquire / cross_sell / upsell / retain / reactivate.
    pub objective: String,
    /// draft / approved / live / finished / cancelled.
    pub status: String,
    /// Who is eligible and the contact policy (JSON).
    pub eligibility: String,
    /// Control share in basis points.
    pub control_share_bp: i64,
    /// Seed of the split.
    pub seed: i64,
    /// First day.
    pub starts_on: Option<String>,
    /// Last day.
    pub ends_on: Option<String>,
    /// What counts as a response.
    pub response_rule: Option<String>,
    /// Budget, fen.
    pub budget_minor: Option<i64>,
    /// Designer.
    pub created_by: String,
    /// Approver.
    pub approved_by: Option<String>,
    /// Created.
    pub created_at: String,
    /// Priority among overlapping campaigns (higher wins).
    pub priority: i64,
    /// The features date its members were selected on.
    pub launched_on: Option<String>,
    /// When it was finished (its results frozen).
    pub finished_on: Option<String>,
    /// A triggered campaign's entry event (`None`: members selected at launch).
    pub trigger_event: Option<String>,
}

const COLUMNS: &str = "id, name, objective, status, eligibility, control_share_bp, seed, starts_on, ends_on, response_rule, budget_minor, created_by, approved_by, created_at, priority, launched_on, finished_on, trigger_event";

/// A campaign to create, with its offer arms.
#[derive(Debug, Clone)]
pub struct NewCampaign<'a> {
    /// Name.
    pub name: &'a str,
    /// Objective.
    pub objective: &'a str,
    /// Eligibility and policy (JSON).
    pub eligibility: &'a str,
    /// Control share, basis points.
    pub control_share_bp: i64,
    /// Seed.
    pub seed: i64,
    /// Dates.
    pub starts_on: Option<&'a str>,
    /// Dates.
    pub ends_on: Option<&'a str>,
    /// Response definition.
    pub response_rule: Option<&'a str>,
    /// Budget, fen.
    pub budget_minor: Option<i64>,
    /// Priority: members of a live campaign of higher priority are not
    /// selected by this one.
    pub priority: i64,
    /// Arms: (name, product code, script).
    pub arms: &'a [(String, Option<String>, Option<String>)],
    /// Designer.
    pub created_by: &'a str,
    /// A triggered campaign's entry event.
    pub trigger_event: Option<&'a str>,
}

/// Creates a draft campaign and its offers; audited.
pub async fn create(store: &Store, c: &NewCampaign<'_>) -> Result<i64> {
    let mut tx = store.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaign (name, objective, status, eligibility, control_share_bp, seed, starts_on, ends_on, response_rule, budget_minor, created_by, created_at, priority, trigger_event) \
         VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(c.name)
    .bind(c.objective)
    .bind(c.eligibility)
    .bind(c.control_share_bp)
    .bind(c.seed)
    .bind(c.starts_on)
    .bind(c.ends_on)
    .bind(c.response_rule)
    .bind(c.budget_minor)
    .bind(c.created_by)
    .bind(now_utc())
    .bind(c.priority)
    .bind(c.trigger_event)
    .fetch_one(&mut *tx)
    .await?;
    for (arm, product, script) in c.arms {
        sqlx::query(
            "INSERT INTO offer (campaign_id, arm, product_code, script) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(arm)
        .bind(product.as_deref())
        .bind(script.as_deref())
        .execute(&mut *tx)
        .await?;
    }
    audit(
        &mut tx,
        c.created_by,
        "campaign.create",
        None,
        &format!("campaign {id}: {}", c.name),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// One campaign.
pub async fn get(store: &Store, id: i64) -> Result<Option<CampaignRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM campaign WHERE id = $1"))
            .bind(id)
            .fetch_optional(store.db())
            .await?,
    )
}

/// Every campaign, newest first.
pub async fn list(store: &Store) -> Result<Vec<CampaignRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM campaign ORDER BY id DESC"))
            .fetch_all(store.db())
            .await?,
    )
}

/// Records draft campaign `c` as approved by `by`, audited; false, changing
/// nothing, when it is no longer a draft. Who may approve is
/// `panorama-ocrm`'s rule.
pub async fn record_approval(store: &Store, c: &CampaignRow, by: &str) -> Result<bool> {
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE campaign SET status = 'approved', approved_by = $1 WHERE id = $2 AND status = 'draft'",
    )
    .bind(by)
    .bind(c.id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    audit(
        &mut tx,
        by,
        "campaign.approve",
        None,
        &format!("campaign {}: {}", c.id, c.name),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The customers who may not be contacted on `channel` (opted out of all
/// contact, or of that channel: SMS, e-mail, or calls and app pushes by
/// phone; an offer made at the branch when they come in is refused only by
/// those who opted out of all contact).
pub async fn opted_out(store: &Store, channel: &str) -> Result<HashSet<i64>> {
    let column = match channel {
        "sms" => "opt_out_sms",
        "email" => "opt_out_email",
        "branch" => "opt_out_all",
        _ => "opt_out_phone",
    };
    let rows = sqlx::query(&format!(
        "SELECT customer_id FROM contact_preference WHERE opt_out_all = 1 OR {column} = 1"
    ))
    .fetch_all(store.db())
    .await?;
    Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
}

/// The customers whom at least `cap` campaigns contacted (or will contact:
/// treated members of live or finished campaigns) since `since`. Counted
/// in SQL on a range of the covering index `campaign_member_recent` (the
/// unary `+` keeps the planner off the primary key, which read the member
/// rows: 10 s at 2M members, 1.3 s this way at 3.6M), returning only the
/// customers over the cap. Grouping by `+customer_id` keeps it there since
/// the dashboards' index by customer (migration 0021), which the planner
/// walked to group without sorting, reading every member row for its date:
/// 23 s at 9.7M memberships, 2.3 s this way.
pub async fn capped(store: &Store, since: &str, cap: i64) -> Result<HashSet<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT +m.customer_id FROM campaign_member m \
         WHERE m.selected_on >= $1 AND m.is_control = 0 \
         AND +m.campaign_id IN (SELECT id FROM campaign WHERE status IN ('live', 'finished')) \
         GROUP BY +m.customer_id HAVING COUNT(*) >= $2",
    )
    .bind(since)
    .bind(cap)
    .fetch_all(store.db())
    .await?
    .into_iter()
    .collect())
}

/// Customers treated (members not held out) by campaigns launched from
/// `from` to `to` (inclusive, `YYYY-MM-DD`): a range of the covering index
/// `campaign_member_recent`.
pub async fn treated_between(store: &Store, from: &str, to: &str) -> Result<HashSet<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT m.customer_id FROM campaign_member m \
         WHERE m.selected_on >= $1 AND m.selected_on <= $2 AND m.is_control = 0",
    )
    .bind(from)
    .bind(to)
    .fetch_all(store.db())
    .await?
    .into_iter()
    .collect())
}

/// Customers reserved by live campaigns of higher priority than
/// `priority` (other than `id`): members there, treated or control, are
/// not selected by this one.
pub async fn reserved(store: &Store, id: i64, priority: i64) -> Result<HashSet<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT m.customer_id FROM campaign_member m \
         WHERE m.campaign_id IN (SELECT k.id FROM campaign k \
                                 WHERE k.status = 'live' AND k.priority > $1 AND k.id <> $2)",
    )
    .bind(priority)
    .bind(id)
    .fetch_all(store.db())
    .await?
    .into_iter()
    .collect())
}

/// Each active customer's primary RM.
pub async fn owners(store: &Store) -> Result<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = crate::bulk::read_json(
        store,
        "SELECT customer_id AS c0, rm_user_id AS c1 FROM assignment \
         WHERE to_date IS NULL AND role = 'primary'",
        2,
        None,
    )
    .await?;
    Ok(rows.into_iter().collect())
}

/// A member to write: (customer, arm, control?, channel, owner).
pub type MemberWrite = (i64, String, bool, String, Option<i64>);

/// A call-list task: (RM, customer, title, due date).
pub type TaskWrite = (i64, i64, String, String);

/// A gateway message: (customer, channel, address, text).
pub type MessageWrite = (i64, String, String, String);

/// What a launch writes besides the members.
#[derive(Debug, Clone, Copy, Default)]
pub struct Work<'a> {
    /// RM call tasks.
    pub tasks: &'a [TaskWrite],
    /// Messages queued for the gateways.
    pub messages: &'a [MessageWrite],
}

/// Launches an approved campaign: writes its members, the owning RMs' call
/// tasks and the gateways' messages and makes it live, in one transaction;
/// audited with the counts.
pub async fn launch(
    store: &Store,
    id: i64,
    selected_on: &str,
    members: &[MemberWrite],
    work: Work<'_>,
    by: &str,
    detail: &str,
) -> Result<u64> {
    let tasks = work.tasks;
    let mut tx = store.begin().await?;
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM campaign WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    match status.as_deref() {
        Some("approved") => {}
        Some(s) => {
            return Err(StoreError::Conflict(format!(
                "campaign {id} is {s}: only an approved campaign is launched"
            )));
        }
        None => return Err(StoreError::NotFound(format!("there is no campaign {id}"))),
    }
    let written = write_members(&mut tx, store.backend(), id, selected_on, members).await?;
    let now = now_utc();
    let insert = BulkInsert::new(
        store.backend(),
        "task",
        &[
            "owner_user_id",
            "customer_id",
            "campaign_id",
            "title",
            "due_on",
            "status",
            "created_at",
        ],
        "",
    );
    let rows: Vec<Vec<Value>> = tasks
        .iter()
        .map(|(rm, customer, title, due)| {
            vec![
                Value::Int(Some(*rm)),
                Value::Int(Some(*customer)),
                Value::Int(Some(id)),
                Value::text(title),
                Value::text(due),
                Value::text("open"),
                Value::text(&now),
            ]
        })
        .collect();
    insert.execute(&mut tx, &rows).await?;
    let insert = BulkInsert::new(
        store.backend(),
        "campaign_outbox",
        &[
            "campaign_id",
            "customer_id",
            "channel",
            "address",
            "message",
            "status",
            "created_at",
        ],
        "",
    );
    let rows: Vec<Vec<Value>> = work
        .messages
        .iter()
        .map(|(customer, channel, address, text)| {
            vec![
                Value::Int(Some(id)),
                Value::Int(Some(*customer)),
                Value::text(channel),
                Value::text(address),
                Value::text(text),
                Value::text("queued"),
                Value::text(&now),
            ]
        })
        .collect();
    insert.execute(&mut tx, &rows).await?;
    // Each arm's size, kept for the dashboards and the comparison of campaigns.
    let mut sizes: BTreeMap<(&str, bool), i64> = BTreeMap::new();
    for (_, arm, control, _, _) in members {
        *sizes.entry((arm.as_str(), *control)).or_default() += 1;
    }
    for ((arm, control), n) in sizes {
        sqlx::query(
            "INSERT INTO campaign_arm (campaign_id, arm, is_control, members) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(arm)
        .bind(i64::from(control))
        .bind(n)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE campaign SET status = 'live', launched_on = $1 WHERE id = $2")
        .bind(selected_on)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        by,
        "campaign.launch",
        None,
        &format!("campaign {id}: {detail}"),
    )
    .await?;
    tx.commit().await?;
    Ok(written)
}

async fn write_members(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
    selected_on: &str,
    members: &[MemberWrite],
) -> Result<u64> {
    let insert = BulkInsert::new(
        backend,
        "campaign_member",
        &[
            "campaign_id",
            "customer_id",
            "arm",
            "is_control",
            "channel",
            "owner_user_id",
            "selected_on",
        ],
        "",
    );
    let rows: Vec<Vec<Value>> = members
        .iter()
        .map(|(c, arm, control, channel, owner)| {
            vec![
                Value::Int(Some(id)),
                Value::Int(Some(*c)),
                Value::text(arm),
                Value::Int(Some(i64::from(*control))),
                Value::text(channel),
                Value::Int(*owner),
                Value::text(selected_on),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await
}

/// The members of a campaign: (customer, arm), by customer.
pub async fn members(store: &Store, id: i64) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT customer_id, arm FROM campaign_member WHERE campaign_id = $1 ORDER BY customer_id",
    )
    .bind(id)
    .fetch_all(store.db())
    .await?)
}

/// The members of a campaign with the day each was selected (a triggered
/// campaign's members enter on the day of their event): (customer, day).
pub async fn members_entered(store: &Store, id: i64) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT customer_id, selected_on FROM campaign_member WHERE campaign_id = $1 ORDER BY customer_id",
    )
    .bind(id)
    .fetch_all(store.db())
    .await?)
}

/// The customers who responded to a campaign.
pub async fn responders(store: &Store, id: i64) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT customer_id FROM campaign_response WHERE campaign_id = $1")
            .bind(id)
            .fetch_all(store.db())
            .await?,
    )
}

/// Records responses (customer, date, value), keeping the first of each customer.
pub async fn write_responses(
    store: &Store,
    id: i64,
    source: &str,
    responses: &[(i64, String, Option<i64>)],
) -> Result<u64> {
    let mut tx = store.begin().await?;
    let insert = BulkInsert::new(
        store.backend(),
        "campaign_response",
        &[
            "campaign_id",
            "customer_id",
            "responded_on",
            "source",
            "value_minor",
        ],
        "ON CONFLICT (campaign_id, customer_id) DO NOTHING",
    );
    let rows: Vec<Vec<Value>> = responses
        .iter()
        .map(|(c, on, value)| {
            vec![
                Value::Int(Some(id)),
                Value::Int(Some(*c)),
                Value::text(on),
                Value::text(source),
                Value::Int(*value),
            ]
        })
        .collect();
    let n = insert.execute(&mut tx, &rows).await?;
    tx.commit().await?;
    Ok(n)
}

/// Per arm: members and responders. The sizes kept at launch and the
/// responders counted from the (few) responses: a million memberships are
/// not read.
pub async fn arm_counts(store: &Store, id: i64) -> Result<Vec<(String, i64, i64)>> {
    let mut sizes: Vec<(String, i64)> =
        sqlx::query_as("SELECT arm, members FROM campaign_arm WHERE campaign_id = $1 ORDER BY arm")
            .bind(id)
            .fetch_all(store.db())
            .await?;
    if sizes.is_empty() {
        // Members written other than by a launch: counted.
        sizes = sqlx::query_as(
            "SELECT arm, CAST(COUNT(*) AS BIGINT) FROM campaign_member WHERE campaign_id = $1 \
             GROUP BY arm ORDER BY arm",
        )
        .bind(id)
        .fetch_all(store.db())
        .await?;
    }
    let responders: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT m.arm, CAST(COUNT(*) AS BIGINT) FROM campaign_response r \
         JOIN campaign_member m ON m.campaign_id = r.campaign_id AND m.customer_id = r.customer_id \
         WHERE r.campaign_id = $1 GROUP BY m.arm",
    )
    .bind(id)
    .fetch_all(store.db())
    .await?
    .into_iter()
    .collect();
    Ok(sizes
        .into_iter()
        .map(|(arm, n)| {
            let k = responders.get(&arm).copied().unwrap_or(0);
            (arm, n, k)
        })
        .collect())
}

/// Live campaigns.
pub async fn live(store: &Store) -> Result<Vec<CampaignRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM campaign WHERE status = 'live' ORDER BY id"
    ))
    .fetch_all(store.db())
    .await?)
}

/// The ids of the live triggered campaigns (read on every fetch of the
/// event feed: a campaign launched or finished is seen at once).
pub async fn live_triggered_ids(store: &Store) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM campaign WHERE status = 'live' AND trigger_event IS NOT NULL ORDER BY id",
    )
    .fetch_all(store.db())
    .await?)
}

/// The live triggered campaigns.
pub async fn live_triggered(store: &Store) -> Result<Vec<CampaignRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM campaign WHERE status = 'live' AND trigger_event IS NOT NULL ORDER BY id"
    ))
    .fetch_all(store.db())
    .await?)
}

/// What the contact policy asks of one customer when their event triggers
/// a campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFacts {
    /// Already a member of the campaign (a customer enters once).
    pub member: bool,
    /// Campaign contacts (treated memberships of live or finished
    /// campaigns) selected on or after the frequency cap's first day.
    pub recent_contacts: i64,
    /// A member of a live campaign of higher priority.
    pub reserved: bool,
    /// Their primary RM.
    pub owner: Option<i64>,
    /// Opted out of: all contact, SMS, e-mail, calls and app pushes.
    pub opt_out: [bool; 4],
    /// Their mobile, if any.
    pub mobile: Option<String>,
    /// Their e-mail, if any.
    pub email: Option<String>,
    /// Whether they are an active customer.
    pub active: bool,
}

impl EntryFacts {
    /// Whether they may not be contacted on `channel` (as [`opted_out`]).
    pub fn opted_out(&self, channel: &str) -> bool {
        let [all, sms, email, phone] = self.opt_out;
        all || match channel {
            "sms" => sms,
            "email" => email,
            "branch" => false,
            _ => phone,
        }
    }

    /// Where they are reached on `channel` (mobile for SMS and app push).
    pub fn address(&self, channel: &str) -> Option<&str> {
        if channel == "email" {
            self.email.as_deref()
        } else {
            self.mobile.as_deref()
        }
    }
}

/// The facts of [`EntryFacts`] for `customer` and campaign `id` (of
/// `priority`), contacts counted from `since`: a handful of reads by key.
pub async fn entry_facts(
    conn: &mut AnyConnection,
    id: i64,
    priority: i64,
    customer: i64,
    since: &str,
) -> Result<EntryFacts> {
    let member: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM campaign_member WHERE campaign_id = $1 AND customer_id = $2",
    )
    .bind(id)
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?;
    let recent_contacts: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id \
         WHERE m.customer_id = $1 AND m.selected_on >= $2 AND m.is_control = 0 \
         AND c.status IN ('live', 'finished')",
    )
    .bind(customer)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    let reserved: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id \
         WHERE m.customer_id = $1 AND c.status = 'live' AND c.priority > $2 AND c.id <> $3 LIMIT 1",
    )
    .bind(customer)
    .bind(priority)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let owner: Option<i64> = sqlx::query_scalar(
        "SELECT rm_user_id FROM assignment WHERE customer_id = $1 AND to_date IS NULL AND role = 'primary' LIMIT 1",
    )
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?;
    let prefs: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT opt_out_all, opt_out_sms, opt_out_email, opt_out_phone FROM contact_preference WHERE customer_id = $1",
    )
    .bind(customer)
    .fetch_optional(&mut *conn)
    .await?;
    let who: Option<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT status, mobile, email FROM customer WHERE id = $1")
            .bind(customer)
            .fetch_optional(&mut *conn)
            .await?;
    let (a, s, e, p) = prefs.unwrap_or_default();
    let (status, mobile, email) = who.unwrap_or_default();
    Ok(EntryFacts {
        member: member.is_some(),
        recent_contacts,
        reserved: reserved.is_some(),
        owner,
        opt_out: [a == 1, s == 1, e == 1, p == 1],
        mobile,
        email,
        active: status == "active",
    })
}

/// Treated members of campaign `id` per channel so far, and of them on the
/// rm channel those of `rm`: what a triggered campaign's capacities have
/// left.
pub async fn channel_use(
    conn: &mut AnyConnection,
    id: i64,
    rm: Option<i64>,
) -> Result<(HashMap<String, i64>, i64)> {
    let per_channel: Vec<(String, i64)> = sqlx::query_as(
        "SELECT channel, CAST(COUNT(*) AS BIGINT) FROM campaign_member \
         WHERE campaign_id = $1 AND is_control = 0 AND channel IS NOT NULL GROUP BY channel",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let rm_calls: i64 =
        match rm {
            Some(rm) => sqlx::query_scalar(
                "SELECT COUNT(*) FROM campaign_member WHERE campaign_id = $1 AND is_control = 0 \
                 AND channel = 'rm' AND owner_user_id = $2",
            )
            .bind(id)
            .bind(rm)
            .fetch_one(&mut *conn)
            .await?,
            None => 0,
        };
    Ok((per_channel.into_iter().collect(), rm_calls))
}

/// Writes one member a triggered campaign took on `selected_on`, with its
/// RM's call task or its gateway message, and counts it in its arm's size
/// — on the caller's connection, inside the event's transaction.
pub async fn enter(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
    selected_on: &str,
    member: &MemberWrite,
    task: Option<&TaskWrite>,
    message: Option<&MessageWrite>,
) -> Result<()> {
    write_members(
        &mut *conn,
        backend,
        id,
        selected_on,
        std::slice::from_ref(member),
    )
    .await?;
    let (_, arm, control, _, _) = member;
    let grown = sqlx::query(
        "UPDATE campaign_arm SET members = members + 1 WHERE campaign_id = $1 AND arm = $2 AND is_control = $3",
    )
    .bind(id)
    .bind(arm)
    .bind(i64::from(*control))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if grown == 0 {
        sqlx::query(
            "INSERT INTO campaign_arm (campaign_id, arm, is_control, members) VALUES ($1, $2, $3, 1)",
        )
        .bind(id)
        .bind(arm)
        .bind(i64::from(*control))
        .execute(&mut *conn)
        .await?;
    }
    let now = now_utc();
    if let Some((rm, customer, title, due)) = task {
        sqlx::query(
            "INSERT INTO task (owner_user_id, customer_id, campaign_id, title, due_on, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'open', $6)",
        )
        .bind(rm)
        .bind(customer)
        .bind(id)
        .bind(title)
        .bind(due)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    if let Some((customer, channel, address, text)) = message {
        sqlx::query(
            "INSERT INTO campaign_outbox (campaign_id, customer_id, channel, address, message, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'queued', $6)",
        )
        .bind(id)
        .bind(customer)
        .bind(channel)
        .bind(address)
        .bind(text)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The date a campaign's members were selected.
pub async fn launched_on(store: &Store, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT launched_on FROM campaign WHERE id = $1")
            .bind(id)
            .fetch_optional(store.db())
            .await?
            .flatten(),
    )
}

/// Each launched campaign's arm sizes at launch: (campaign, arm, control?, members).
pub async fn arm_sizes(store: &Store) -> Result<Vec<(i64, String, bool, i64)>> {
    let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT campaign_id, arm, is_control, members FROM campaign_arm ORDER BY campaign_id, arm",
    )
    .fetch_all(store.db())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(c, arm, control, n)| (c, arm, control == 1, n))
        .collect())
}

/// Finishes a live campaign on `on`, keeping its final `results` (JSON);
/// audited. Responses recorded later no longer change what it reports.
pub async fn finish(store: &Store, id: i64, on: &str, results: &str, by: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    let done = sqlx::query(
        "UPDATE campaign SET status = 'finished', finished_on = $1, results = $2 \
         WHERE id = $3 AND status = 'live'",
    )
    .bind(on)
    .bind(results)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM campaign WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        return Err(match status {
            Some(s) => StoreError::Conflict(format!(
                "campaign {id} is {s}: only a live campaign is finished"
            )),
            None => StoreError::NotFound(format!("there is no campaign {id}")),
        });
    }
    audit(
        &mut tx,
        by,
        "campaign.finish",
        None,
        &format!("campaign {id} finished on {on}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A finished campaign's frozen results (JSON).
pub async fn results(store: &Store, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT results FROM campaign WHERE id = $1")
            .bind(id)
            .fetch_optional(store.db())
            .await?
            .flatten(),
    )
}

/// Where each active customer is reached on `channel` (mobile for SMS and
/// app push, e-mail for e-mail).
pub async fn addresses(store: &Store, channel: &str) -> Result<HashMap<i64, String>> {
    let column = if channel == "email" {
        "email"
    } else {
        "mobile"
    };
    let rows: Vec<(i64, String)> = crate::bulk::read_json(
        store,
        &format!(
            "SELECT id AS c0, {column} AS c1 FROM customer WHERE status = 'active' AND {column} IS NOT NULL"
        ),
        2,
        None,
    )
    .await?;
    Ok(rows.into_iter().collect())
}

/// A queued message handed to a gateway.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OutboxRow {
    /// Id.
    pub id: i64,
    /// Campaign.
    pub campaign_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Mobile or e-mail.
    pub address: String,
    /// Text.
    pub message: String,
}

/// Takes up to `limit` queued messages of `channel`, oldest first, and marks
/// them sent in batch `batch` — in one transaction, so two adapters never
/// send the same message; audited (addresses leave the bank). Messages of
/// customers who opted out of the channel since they were queued (a 退订
/// reply a minute ago) never go: they are marked failed, and counted.
pub async fn drain(
    store: &Store,
    channel: &str,
    limit: i64,
    batch: &str,
    by: &str,
    hold_rest_day_dnd: bool,
) -> Result<(Vec<OutboxRow>, u64)> {
    let mut tx = store.begin().await?;
    let column = match channel {
        "sms" => "opt_out_sms",
        "email" => "opt_out_email",
        _ => "opt_out_phone",
    };
    let opted_out = sqlx::query(&format!(
        "UPDATE campaign_outbox SET status = 'failed', gateway_detail = 'opted out' \
         WHERE status = 'queued' AND channel = $1 AND customer_id IN \
         (SELECT customer_id FROM contact_preference WHERE opt_out_all = 1 OR {column} = 1)"
    ))
    .bind(channel)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // Claim first (the status re-checked on the row), then read what was
    // claimed. On a rest day the messages of customers who asked not to be
    // disturbed on rest days stay queued for the next working day.
    let hold = if hold_rest_day_dnd {
        " AND NOT EXISTS (SELECT 1 FROM contact_preference cp \
           WHERE cp.customer_id = campaign_outbox.customer_id AND cp.dnd_rest_days = 1)"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE campaign_outbox SET status = 'sent', sent_at = $1, batch = $2 \
         WHERE status = 'queued' AND id IN \
         (SELECT id FROM campaign_outbox WHERE status = 'queued' AND channel = $3{hold} ORDER BY id LIMIT $4)"
    );
    sqlx::query(&sql)
        .bind(now_utc())
        .bind(batch)
        .bind(channel)
        .bind(limit)
        .execute(&mut *tx)
        .await?;
    let rows: Vec<OutboxRow> = sqlx::query_as(
        "SELECT id, campaign_id, customer_id, address, message FROM campaign_outbox \
         WHERE batch = $1 ORDER BY id",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    if !rows.is_empty() {
        audit(
            &mut tx,
            by,
            "campaign.outbox.drain",
            None,
            &format!("{} {channel} messages to gateway batch {batch}", rows.len()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((rows, opted_out))
}

/// Queued messages of `channel` held back on a rest day: their customers
/// asked not to be disturbed on rest days.
pub async fn held_for_rest_days(store: &Store, channel: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM campaign_outbox o JOIN contact_preference cp ON cp.customer_id = o.customer_id \
         WHERE o.status = 'queued' AND o.channel = $1 AND cp.dnd_rest_days = 1",
    )
    .bind(channel)
    .fetch_one(store.db())
    .await?)
}

/// Each arm's product and script, by arm name (the same order on both stores).
pub async fn offers(
    store: &Store,
    id: i64,
) -> Result<BTreeMap<String, (Option<String>, Option<String>)>> {
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT arm, product_code, script FROM offer WHERE campaign_id = $1")
            .bind(id)
            .fetch_all(store.db())
            .await?;
    Ok(rows.into_iter().map(|(a, p, s)| (a, (p, s))).collect())
}

/// An offer a customer is to be made: a live campaign whose treated arm
/// they are in (never a control member's: they are held out).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LiveOffer {
    /// Campaign.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// The member's arm.
    pub arm: String,
    /// The channel the member was dealt (rm, sms, …, or none).
    pub channel: Option<String>,
    /// The arm's product.
    pub product_code: Option<String>,
    /// The arm's script.
    pub script: Option<String>,
    /// The campaign's last day.
    pub ends_on: Option<String>,
}

/// The offers of the live campaigns `customer` is a treated member of, by
/// priority: what the RM, the branch and the call centre say when the
/// customer is in front of them.
pub async fn live_offers(store: &Store, customer: i64) -> Result<Vec<LiveOffer>> {
    Ok(sqlx::query_as(
        "SELECT c.id AS campaign_id, c.name, m.arm, m.channel, o.product_code, o.script, c.ends_on \
         FROM campaign_member m JOIN campaign c ON c.id = m.campaign_id \
         LEFT JOIN offer o ON o.campaign_id = m.campaign_id AND o.arm = m.arm \
         WHERE m.customer_id = $1 AND m.is_control = 0 AND c.status = 'live' \
         ORDER BY c.priority DESC, c.id DESC",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// The mean value (fen) recorded with the campaign's responses, if any
/// carries one.
pub async fn mean_response_value(store: &Store, id: i64) -> Result<Option<i64>> {
    let mean: Option<f64> = sqlx::query_scalar(
        "SELECT AVG(CAST(value_minor AS DOUBLE PRECISION)) FROM campaign_response \
         WHERE campaign_id = $1 AND value_minor IS NOT NULL",
    )
    .bind(id)
    .fetch_one(store.db())
    .await?;
    Ok(mean.map(|m| m.round() as i64))
}

/// Responders per arm and response date, in date order.
pub async fn responses_by_day(store: &Store, id: i64) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.arm, r.responded_on, CAST(COUNT(*) AS BIGINT) FROM campaign_response r \
         JOIN campaign_member m ON m.campaign_id = r.campaign_id AND m.customer_id = r.customer_id \
         WHERE r.campaign_id = $1 GROUP BY m.arm, r.responded_on ORDER BY r.responded_on, m.arm",
    )
    .bind(id)
    .fetch_all(store.db())
    .await?)
}

/// Open leads are counted up to this many per campaign (an RM with 10,000
/// open calls in a campaign: 12 ms counting them all on every workbench).
pub const LEADS_COUNTED: i64 = 1000;

/// A live campaign's leads on an RM's list: the open call tasks.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeadGroup {
    /// Campaign.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// Objective.
    pub objective: String,
    /// Last day.
    pub ends_on: Option<String>,
    /// Open leads in all, counted up to [`LEADS_COUNTED`] (more show as
    /// that many).
    pub open: i64,
    /// Offers by arm: (arm, product, script).
    pub offers: Vec<(String, Option<String>, Option<String>)>,
    /// The first leads.
    pub leads: Vec<Lead>,
}

/// One lead: the customer to call and the arm (offer) they are in.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Lead {
    /// The call task.
    pub task_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// Name (mask before showing).
    pub name: String,
    /// Customer number.
    pub customer_no: String,
    /// Arm.
    pub arm: Option<String>,
    /// Due.
    pub due_on: Option<String>,
}

/// The live campaigns `owner` has open leads in, each with its offers and
/// the first `per_campaign` leads, the campaign ending soonest first.
pub async fn leads_of(store: &Store, owner: i64, per_campaign: i64) -> Result<Vec<LeadGroup>> {
    let live: Vec<(i64, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT c.id, c.name, c.objective, c.ends_on, \
           (SELECT COUNT(*) FROM (SELECT 1 FROM task t WHERE t.owner_user_id = $1 \
              AND t.campaign_id = c.id AND t.status = 'open' LIMIT $2) capped) AS open_leads \
         FROM campaign c WHERE c.status = 'live' \
         ORDER BY CASE WHEN c.ends_on IS NULL THEN 1 ELSE 0 END, c.ends_on, c.id",
    )
    .bind(owner)
    .bind(LEADS_COUNTED)
    .fetch_all(store.db())
    .await?;
    let mut groups = Vec::new();
    for (campaign_id, name, objective, ends_on, open) in live {
        if open == 0 {
            continue;
        }
        let leads: Vec<Lead> = sqlx::query_as(
            "SELECT t.id AS task_id, t.customer_id, cu.name, cu.customer_no, m.arm, t.due_on \
             FROM (SELECT id, customer_id, due_on FROM task \
                   WHERE owner_user_id = $1 AND campaign_id = $2 AND status = 'open' \
                   ORDER BY id LIMIT $3) t \
             JOIN customer cu ON cu.id = t.customer_id \
             LEFT JOIN campaign_member m ON m.campaign_id = $2 AND m.customer_id = t.customer_id \
             ORDER BY t.id",
        )
        .bind(owner)
        .bind(campaign_id)
        .bind(per_campaign.clamp(1, 100))
        .fetch_all(store.db())
        .await?;
        let offers = offers(store, campaign_id)
            .await?
            .into_iter()
            .map(|(arm, (product, script))| (arm, product, script))
            .collect();
        groups.push(LeadGroup {
            campaign_id,
            name,
            objective,
            ends_on,
            open,
            offers,
            leads,
        });
    }
    Ok(groups)
}

/// What an RM may record of a campaign call; `accepted` is a response.
pub const LEAD_OUTCOMES: &[&str] = &["accepted", "interested", "declined", "no_answer"];

/// Records the outcome of the owner's open campaign call `task`: a contact
/// linked to the campaign, the task done, the member contacted, and for
/// `accepted` a response (source `contact`, on `today`) — in one
/// transaction, audited. `None` when the task is not the owner's open
/// campaign call.
pub async fn record_lead_outcome(
    store: &Store,
    task: i64,
    owner: i64,
    outcome: &str,
    today: &str,
    actor: &str,
) -> Result<Option<(i64, i64)>> {
    if !LEAD_OUTCOMES.contains(&outcome) {
        return Err(crate::StoreError::Invalid(format!(
            "unknown outcome {outcome:?}; one of {}",
            LEAD_OUTCOMES.join(", ")
        )));
    }
    let mut tx = store.begin().await?;
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT campaign_id, customer_id FROM task \
         WHERE id = $1 AND owner_user_id = $2 AND status = 'open' AND campaign_id IS NOT NULL AND customer_id IS NOT NULL",
    )
    .bind(task)
    .bind(owner)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((campaign, customer)) = found else {
        return Ok(None);
    };
    let now = crate::now_utc();
    let contact = crate::ecif::next_id(&mut tx, "contact").await?;
    sqlx::query(
        "INSERT INTO contact (id, customer_id, user_id, at, channel, outcome, campaign_id) \
         VALUES ($1, $2, $3, $4, 'phone', $5, $6)",
    )
    .bind(contact)
    .bind(customer)
    .bind(owner)
    .bind(&now)
    .bind(outcome)
    .bind(campaign)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE task SET status = 'done', done_at = $1 WHERE id = $2")
        .bind(&now)
        .bind(task)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE campaign_member SET contacted_at = $1 WHERE campaign_id = $2 AND customer_id = $3",
    )
    .bind(&now)
    .bind(campaign)
    .bind(customer)
    .execute(&mut *tx)
    .await?;
    if outcome == "accepted" {
        sqlx::query(
            "INSERT INTO campaign_response (campaign_id, customer_id, responded_on, source) \
             VALUES ($1, $2, $3, 'contact') ON CONFLICT (campaign_id, customer_id) DO NOTHING",
        )
        .bind(campaign)
        .bind(customer)
        .bind(today)
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::insert_audit(
        &mut tx,
        &crate::audit::Audit {
            actor,
            action: "campaign.lead",
            customer_id: Some(customer),
            object_type: Some("campaign"),
            object_id: Some(&campaign.to_string()),
            detail: Some(outcome),
            ..crate::audit::Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some((campaign, customer)))
}
