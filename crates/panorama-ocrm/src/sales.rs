//! Sales registration (业绩登记): every product opened or sold credited to
//! the people who made it happen. Accounts the extracts or the event feed
//! bring are registered by the nightly run, their seller read from the
//! staff number the source recorded; staff enter the sales the systems do
//! not show (pending until a branch manager of the sale's org unit
//! approves — never the person who entered it). Credits follow the head
//! office's split rules (`panorama_domain::sales_credit`); a person who
//! thinks a credit wrong disputes it, and a branch manager upholds the
//! dispute with a new split or rejects it. Every version is kept.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use panorama_domain::role::Role;
use panorama_domain::sales_credit::{self, Part, People, Rule};
use panorama_store::Store;
use panorama_store::sales::{self as q, NewSale, SaleRow, Staff};

use crate::approval::four_eyes;
use crate::{OcrmError, Result};

/// How far back the registration run looks for accounts opened without a
/// sale (a bank goes live with registration from then on).
pub const LOOKBACK_DAYS: u64 = 400;

/// Accounts read per query by the registration run.
const CHUNK: i64 = 2_000;

/// The split rules, checked: each channel's shares add up to 100 %. A
/// store whose rules do not stops here rather than crediting wrongly.
pub async fn rules(store: &Store) -> Result<Vec<Rule>> {
    let rows = q::rules(store).await?;
    let mut by_channel: Vec<(String, Vec<(Part, i64)>)> = Vec::new();
    for r in rows {
        let part = Part::parse(&r.part)
            .ok_or_else(|| OcrmError::Invalid(format!("unknown part {:?} in the rules", r.part)))?;
        match by_channel.iter_mut().find(|(c, _)| *c == r.channel) {
            Some((_, shares)) => shares.push((part, r.share_bp)),
            None => by_channel.push((r.channel, vec![(part, r.share_bp)])),
        }
    }
    let rules: Vec<Rule> = by_channel
        .iter()
        .map(|(c, shares)| {
            Rule::new(c, shares)
                .map_err(|e| OcrmError::Invalid(format!("the split rule of channel {c}: {e}")))
        })
        .collect::<Result<_>>()?;
    if !rules.iter().any(|r| r.channel == "*") {
        return Err(OcrmError::Invalid(
            "the split rules have no rule for channel * (every other channel)".into(),
        ));
    }
    Ok(rules)
}

/// Sets `channel`'s split rule (head office, no code): each part's share,
/// adding up to 100 %; audited. Sales already registered keep their
/// credits.
pub async fn set_rule(
    store: &Store,
    channel: &str,
    shares: &[(Part, i64)],
    actor: &str,
) -> Result<()> {
    let rule = Rule::new(channel, shares).map_err(|e| OcrmError::Invalid(e.to_string()))?;
    let rows: Vec<(&str, i64)> = rule.shares.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    q::set_rule(store, channel, &rows, actor).await?;
    Ok(())
}

/// The channel of a sale its seller closed: a teller's at the counter, an
/// agent's on the call centre, anyone else's (RMs, branch managers) by the
/// RM; no seller is self-service.
pub fn channel_of(seller_role: Option<&str>) -> &'static str {
    match seller_role.and_then(Role::parse) {
        None => "self_service",
        Some(Role::Teller) => "counter",
        Some(Role::Agent) => "call_centre",
        Some(_) => "rm",
    }
}

/// The credit lines of a sale: `(user, part, share_bp, amount_minor,
/// reason)`, the reason naming the rule.
fn credit_lines(
    rules: &[Rule],
    channel: &str,
    people: People,
    amount: i64,
) -> Vec<(i64, &'static str, i64, i64, String)> {
    let Some(rule) = sales_credit::rule_for(rules, channel) else {
        return Vec::new();
    };
    sales_credit::split(rule, people, amount)
        .into_iter()
        .map(|c| {
            let reason = format!(
                "rule {}: {} {}.{:02}%",
                rule.channel,
                c.part.as_str(),
                c.share_bp / 100,
                c.share_bp % 100
            );
            (
                c.user_id,
                c.part.as_str(),
                c.share_bp,
                c.amount_minor,
                reason,
            )
        })
        .collect()
}

/// What a registration run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Registered {
    /// Sales registered.
    pub sales: usize,
    /// Of them, from the event feed.
    pub from_feed: usize,
    /// Whose seller's staff number names no user (credited as if the RM sold them).
    pub seller_unknown: usize,
    /// With no one to credit (no seller and no RM).
    pub uncredited: usize,
    /// Attributed to a campaign.
    pub from_campaigns: usize,
    /// With a referrer credited.
    pub referred: usize,
    /// Hand-entered sales linked to the accounts the data now shows.
    pub linked: u64,
}

/// Registers every account opened from `as_of` − [`LOOKBACK_DAYS`] to
/// `as_of` that has a customer and no sale: approved (the system of record
/// says it happened), credited by the rules to its seller (the staff
/// number the source recorded), the customer's RM on that day and the
/// referrer of an accepted referral for the product; attributed to the
/// campaign that offered it. Hand-entered sales naming an account number
/// are linked to it instead. Re-running registers nothing twice.
pub async fn register(store: &Store, as_of: NaiveDate) -> Result<Registered> {
    let rules = rules(store).await?;
    let staff = q::staff(store).await?;
    let by_code: HashMap<&str, &Staff> = staff
        .iter()
        .flat_map(|s| {
            [Some(s.username.as_str()), s.staff_no.as_deref()]
                .into_iter()
                .flatten()
                .map(move |k| (k, s))
        })
        .collect();
    let by_id: HashMap<i64, &Staff> = staff.iter().map(|s| (s.id, s)).collect();
    let mut done = Registered {
        linked: q::link_entered(store).await?,
        ..Registered::default()
    };
    let from = as_of
        .checked_sub_days(Days::new(LOOKBACK_DAYS))
        .unwrap_or(as_of)
        .to_string();
    let to = as_of.to_string();
    let mut after = 0;
    loop {
        let opened = q::unregistered(store, &from, &to, after, CHUNK).await?;
        let Some(last) = opened.last() else { break };
        after = last.account_id;
        let mut sales = Vec::with_capacity(opened.len());
        for o in opened {
            let code = o
                .sold_by
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty());
            let seller = code.and_then(|c| by_code.get(c).copied());
            if code.is_some() && seller.is_none() {
                done.seller_unknown += 1;
            }
            let channel = channel_of(seller.map(|s| s.role.as_str()));
            let referrer = o
                .referrer_user_id
                .filter(|r| Some(*r) != seller.map(|s| s.id));
            let people = People {
                seller: seller.map(|s| s.id),
                rm: o.rm_user_id,
                referrer,
            };
            let credits = credit_lines(&rules, channel, people, o.amount_minor);
            done.uncredited += usize::from(credits.is_empty());
            done.referred +=
                usize::from(referrer.is_some() && credits.iter().any(|c| c.1 == "referrer"));
            done.from_campaigns += usize::from(o.campaign_id.is_some());
            done.from_feed += usize::from(o.from_feed == 1);
            let org = seller.map(|s| s.org_unit_id).or_else(|| {
                o.rm_user_id
                    .and_then(|r| by_id.get(&r))
                    .map(|s| s.org_unit_id)
            });
            sales.push(NewSale {
                customer_id: o.customer_id,
                product_code: o.product_code,
                account_id: Some(o.account_id),
                account_no: None,
                amount_minor: o.amount_minor.max(0),
                sold_on: o.opened_on,
                channel: channel.to_owned(),
                source: if o.from_feed == 1 { "feed" } else { "extract" },
                seller_user_id: seller.map(|s| s.id),
                seller_code: code.map(str::to_owned),
                referral_id: o.referral_id.filter(|_| referrer.is_some()),
                campaign_id: o.campaign_id,
                org_unit_id: org,
                status: "approved",
                entered_by: "system".into(),
                note: None,
                credits,
            });
        }
        done.sales += sales.len();
        q::register(store, &sales, "system").await?;
    }
    Ok(done)
}

/// A sale entered by hand.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The customer's number.
    pub customer_no: &'a str,
    /// The product sold.
    pub product: &'a str,
    /// Its amount in fen.
    pub amount_minor: i64,
    /// The day it was sold.
    pub sold_on: NaiveDate,
    /// The account opened, when known (links the sale to it when the data
    /// brings it).
    pub account_no: Option<&'a str>,
    /// The RM who referred the customer (login), when not a recorded referral.
    pub referrer: Option<&'a str>,
    /// A note.
    pub note: Option<&'a str>,
}

async fn user(store: &Store, login: &str) -> Result<panorama_store::ocrm::UserRow> {
    panorama_store::ocrm::user_by_username(store, login)
        .await?
        .filter(|u| u.active == 1)
        .ok_or_else(|| OcrmError::NotFound(format!("no active user {login}")))
}

/// Enters a sale made by `by` (an RM, branch manager, teller or agent) on
/// `today` or in the year before: pending until approved, credited by the
/// rules of the seller's channel (with the referrer named, else the one of
/// an accepted referral); audited. Returns its id.
pub async fn enter(store: &Store, by: &str, e: &Entry<'_>, today: NaiveDate) -> Result<i64> {
    let seller = user(store, by).await?;
    let role = Role::parse(&seller.role);
    if !matches!(
        role,
        Some(Role::Rm | Role::BranchManager | Role::Teller | Role::Agent)
    ) {
        return Err(OcrmError::Refused(format!(
            "a {} does not register sales",
            seller.role
        )));
    }
    let customer = q::customer_by_no(store, e.customer_no.trim())
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("no customer {}", e.customer_no)))?;
    if !panorama_store::products::exists(store, e.product).await? {
        return Err(OcrmError::Invalid(format!("no product {}", e.product)));
    }
    if e.amount_minor < 0 {
        return Err(OcrmError::Invalid("an amount is not negative".into()));
    }
    let earliest = today.checked_sub_days(Days::new(366)).unwrap_or(today);
    if e.sold_on > today || e.sold_on < earliest {
        return Err(OcrmError::Invalid(format!(
            "a sale is registered within a year of being made, not on {}",
            e.sold_on
        )));
    }
    if e.note.is_some_and(|n| n.chars().count() > 500) {
        return Err(OcrmError::Invalid(
            "a note is at most 500 characters".into(),
        ));
    }
    let around = q::around(store, customer, e.product, &e.sold_on.to_string()).await?;
    let (referrer, referral) = match e.referrer.map(str::trim).filter(|r| !r.is_empty()) {
        Some(login) => {
            let r = user(store, login).await?;
            if !matches!(Role::parse(&r.role), Some(Role::Rm | Role::BranchManager)) {
                return Err(OcrmError::Invalid(format!(
                    "{login} is a {}: a referrer is an RM or branch manager",
                    r.role
                )));
            }
            (Some(r.id), None)
        }
        None => (around.referrer_user_id, around.referral_id),
    };
    let referrer = referrer.filter(|r| *r != seller.id);
    let channel = channel_of(Some(&seller.role));
    let people = People {
        seller: Some(seller.id),
        rm: around.rm_user_id,
        referrer,
    };
    let credits = credit_lines(&rules(store).await?, channel, people, e.amount_minor);
    let sale = NewSale {
        customer_id: customer,
        product_code: e.product.to_owned(),
        account_id: None,
        account_no: e
            .account_no
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        amount_minor: e.amount_minor,
        sold_on: e.sold_on.to_string(),
        channel: channel.to_owned(),
        source: "manual",
        seller_user_id: Some(seller.id),
        seller_code: seller.staff_no.clone(),
        referral_id: referral.filter(|_| referrer.is_some()),
        campaign_id: around.campaign_id,
        org_unit_id: Some(seller.org_unit_id),
        status: "pending",
        entered_by: seller.username.clone(),
        note: e.note.map(str::to_owned),
        credits,
    };
    q::enter(store, &sale, seller.id).await?.ok_or_else(|| {
        OcrmError::Conflict(format!(
            "account {} already has a sale registered",
            e.account_no.unwrap_or_default()
        ))
    })
}

/// A branch manager acting on a sale counting to their org units.
async fn manager_of(
    store: &Store,
    by: &str,
    sale: &SaleRow,
) -> Result<panorama_store::ocrm::UserRow> {
    let m = user(store, by).await?;
    if Role::parse(&m.role) != Some(Role::BranchManager) {
        return Err(OcrmError::Refused(format!(
            "a {} does not decide sales; a branch manager does",
            m.role
        )));
    }
    if !sale
        .org_path
        .as_deref()
        .is_some_and(|p| p.starts_with(&m.org_path))
    {
        return Err(OcrmError::Refused(format!(
            "sale {} counts outside {}'s org units",
            sale.id, m.username
        )));
    }
    Ok(m)
}

async fn sale(store: &Store, id: i64) -> Result<SaleRow> {
    q::get(store, id)
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("no sale {id}")))
}

/// Approves (or rejects, with a reason) pending sale `id` on behalf of
/// branch manager `by`: of the sale's org units, not its enterer; audited.
pub async fn decide(
    store: &Store,
    id: i64,
    approve: bool,
    note: Option<&str>,
    by: &str,
) -> Result<SaleRow> {
    let s = sale(store, id).await?;
    if s.status != "pending" {
        return Err(OcrmError::Conflict(format!(
            "sale {id} is {}: only a pending sale is decided",
            s.status
        )));
    }
    let m = manager_of(store, by, &s).await?;
    four_eyes(&s.entered_by, by, || {
        format!("sale {id} was entered by {by}")
    })?;
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if !approve && note.is_none() {
        return Err(OcrmError::Invalid("a rejection says why".into()));
    }
    if !q::decide(store, id, approve, note, (m.id, &m.username)).await? {
        return Err(OcrmError::Conflict(format!(
            "sale {id} was decided while this was being decided"
        )));
    }
    sale(store, id).await
}

/// Raises a dispute of sale `id`'s credit by `by`: someone credited in it,
/// its seller or the customer's RM; audited. Returns the dispute's id.
pub async fn dispute(store: &Store, id: i64, by: &str, reason: &str) -> Result<i64> {
    let s = sale(store, id).await?;
    let u = user(store, by).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(OcrmError::Invalid(
            "a dispute says why, in at most 500 characters".into(),
        ));
    }
    if s.status == "rejected" {
        return Err(OcrmError::Conflict(format!("sale {id} was rejected")));
    }
    let credited = q::credits(store, id)
        .await?
        .iter()
        .any(|c| c.version == s.credit_version && c.user_id == u.id);
    let involved = credited
        || s.seller.as_deref() == Some(u.username.as_str())
        || q::holds(store, u.id, s.customer_id).await?;
    if !involved {
        return Err(OcrmError::Refused(format!(
            "{by} is not credited in sale {id}, its seller or the customer's RM"
        )));
    }
    q::dispute(store, id, (u.id, &u.username), reason)
        .await?
        .ok_or_else(|| OcrmError::Conflict(format!("{by} already has a dispute of sale {id} open")))
}

/// How a branch manager settles a sale's credit.
#[derive(Debug, Clone)]
pub enum Settlement<'a> {
    /// The credit stands (a dispute rejected, with why).
    Keep(&'a str),
    /// A new split: `(login, share_bp)` lines adding up to 10,000, and why.
    Split(&'a [(&'a str, i64)], &'a str),
}

/// Settles dispute `id` as branch manager `by` of the sale's org units:
/// rejected, or upheld with a new split written as the sale's next credit
/// version; audited.
pub async fn resolve(store: &Store, id: i64, by: &str, how: &Settlement<'_>) -> Result<()> {
    let d = q::dispute_by_id(store, id)
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("no dispute {id}")))?;
    if d.status != "open" {
        return Err(OcrmError::Conflict(format!("dispute {id} is {}", d.status)));
    }
    let s = sale(store, d.sale_id).await?;
    match how {
        Settlement::Keep(note) => {
            let m = manager_of(store, by, &s).await?;
            let note = note.trim();
            if note.is_empty() {
                return Err(OcrmError::Invalid("a rejected dispute says why".into()));
            }
            if !q::reject_dispute(store, id, note, (m.id, &m.username)).await? {
                return Err(OcrmError::Conflict(format!(
                    "dispute {id} is no longer open"
                )));
            }
            Ok(())
        }
        Settlement::Split(lines, reason) => split(store, &s, by, lines, reason, Some(id)).await,
    }
}

/// Splits sale `id` anew as branch manager `by` of its org units (an
/// adjustment without a dispute); audited.
pub async fn adjust(
    store: &Store,
    id: i64,
    by: &str,
    lines: &[(&str, i64)],
    reason: &str,
) -> Result<()> {
    let s = sale(store, id).await?;
    split(store, &s, by, lines, reason, None).await
}

async fn split(
    store: &Store,
    s: &SaleRow,
    by: &str,
    lines: &[(&str, i64)],
    reason: &str,
    dispute: Option<i64>,
) -> Result<()> {
    let m = manager_of(store, by, s).await?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(OcrmError::Invalid(
            "an adjustment says why, in at most 500 characters".into(),
        ));
    }
    let mut ids = Vec::with_capacity(lines.len());
    for (login, bp) in lines {
        ids.push((user(store, login).await?.id, *bp));
    }
    let lines = sales_credit::adjusted(&ids, s.amount_minor)
        .map_err(|e| OcrmError::Invalid(e.to_string()))?;
    let a = q::Adjustment {
        sale: s.id,
        from_version: s.credit_version,
        lines: &lines,
        reason,
        dispute,
    };
    if !q::adjust(store, &a, (m.id, &m.username)).await? {
        return Err(OcrmError::Conflict(format!(
            "sale {} changed while it was being adjusted",
            s.id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seller_s_role_says_the_channel() {
        assert_eq!(channel_of(Some("teller")), "counter");
        assert_eq!(channel_of(Some("agent")), "call_centre");
        assert_eq!(channel_of(Some("rm")), "rm");
        assert_eq!(channel_of(Some("branch_manager")), "rm");
        assert_eq!(channel_of(None), "self_service");
    }

    #[test]
    fn credit_lines_name_their_rule() {
        let rules = vec![Rule::new("*", &[(Part::Seller, 7000), (Part::Referrer, 3000)]).unwrap()];
        let lines = credit_lines(
            &rules,
            "rm",
            People {
                seller: Some(1),
                rm: Some(1),
                referrer: Some(2),
            },
            1_000,
        );
        assert_eq!(
            lines,
            vec![
                (1, "seller", 7000, 700, "rule *: seller 70.00%".to_owned()),
                (
                    2,
                    "referrer",
                    3000,
                    300,
                    "rule *: referrer 30.00%".to_owned()
                ),
            ]
        );
    }
}
