//! `panorama sales …`: sales registration (业绩登记) — the registration run,
//! a sale entered by hand, its approval, disputes and adjustments, the
//! split rules, and who was credited what.

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use panorama_domain::money::Money;
use panorama_domain::sales_credit::Part;
use panorama_ocrm::sales::{self, Entry, Settlement};
use panorama_store::sales::{self as q, SaleFilter};

use super::table;

/// Sales actions.
#[derive(Debug, Subcommand)]
pub enum SalesAction {
    /// Register the accounts opened in the last 400 days that have no sale
    /// yet (the nightly chain does this): credited to their seller (the
    /// staff number the source recorded), the customer's RM and a referrer
    /// by the split rules.
    Register {
        /// The day of the run (default: today).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Enter a sale the systems do not show (pending until a branch manager
    /// approves it).
    Enter {
        /// Who sold it (an RM, branch manager, teller or agent).
        #[arg(long)]
        by: String,
        /// The customer's number.
        #[arg(long)]
        customer: String,
        /// The product's code.
        #[arg(long)]
        product: String,
        /// The amount in yuan.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        /// The day it was sold (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
        /// The account opened, when known.
        #[arg(long)]
        account_no: Option<String>,
        /// The RM who referred the customer (login).
        #[arg(long)]
        referrer: Option<String>,
        /// A note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Approve a pending sale (a branch manager of its org units, not who entered it).
    Approve {
        /// The sale.
        id: i64,
        /// The branch manager.
        #[arg(long)]
        by: String,
    },
    /// Reject a pending sale, saying why.
    Reject {
        /// The sale.
        id: i64,
        /// The branch manager.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Dispute a sale's credit (someone credited, its seller or the customer's RM).
    Dispute {
        /// The sale.
        id: i64,
        /// Who disputes it.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Settle a dispute: `--split rm1=70,rm2=30 --reason …` upholds it with a
    /// new split (percent), `--keep --reason …` rejects it.
    Resolve {
        /// The dispute.
        id: i64,
        /// The branch manager.
        #[arg(long)]
        by: String,
        /// The new split: login=percent, adding up to 100.
        #[arg(long, conflicts_with = "keep")]
        split: Option<String>,
        /// Keep the credit as it is.
        #[arg(long)]
        keep: bool,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Split a sale anew without a dispute (a branch manager's adjustment).
    Adjust {
        /// The sale.
        id: i64,
        /// The branch manager.
        #[arg(long)]
        by: String,
        /// The new split: login=percent, adding up to 100.
        #[arg(long)]
        split: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// The split rules; with `--channel` and shares, set one channel's rule.
    Rules {
        /// The channel to set (rm, counter, call_centre, self_service or *).
        #[arg(long)]
        channel: Option<String>,
        /// The seller's share, percent.
        #[arg(long, requires = "channel")]
        seller: Option<String>,
        /// The customer's RM's share, percent.
        #[arg(long, requires = "channel")]
        rm: Option<String>,
        /// The referrer's share, percent.
        #[arg(long, requires = "channel")]
        referrer: Option<String>,
        /// Who sets it.
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// Sales and their credits: one sale's every credit version, or a list.
    List {
        /// One sale, with every credit version.
        #[arg(long)]
        id: Option<i64>,
        /// Sales credited to (or entered by) this login.
        #[arg(long)]
        user: Option<String>,
        /// In this status (pending, approved, rejected).
        #[arg(long)]
        status: Option<String>,
        /// Sold on or after.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Sold on or before.
        #[arg(long)]
        to: Option<NaiveDate>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Open disputes.
    Disputes,
}

/// A percentage (up to two decimals) as basis points.
fn percent_bp(s: &str) -> Result<i64> {
    let m = Money::parse_major(s.trim()).with_context(|| format!("{s:?}: a percentage"))?;
    Ok(m.minor())
}

/// `login=percent,…` as `(login, bp)` lines.
fn split_lines(s: &str) -> Result<Vec<(String, i64)>> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (login, pct) = p
                .split_once('=')
                .with_context(|| format!("{p:?}: login=percent"))?;
            Ok((login.trim().to_owned(), percent_bp(pct)?))
        })
        .collect()
}

fn yuan(minor: i64) -> String {
    Money::from_minor(minor).to_string()
}

pub(crate) async fn run(action: SalesAction, store: &str) -> Result<()> {
    let store = super::open_store(store).await?;
    let today = chrono::Local::now().date_naive();
    match action {
        SalesAction::Register { as_of } => {
            let r = sales::register(&store, as_of.unwrap_or(today)).await?;
            say!(
                "{} sales registered ({} from the event feed, {} through a campaign, {} with a referrer); \
                 {} sellers' staff numbers name no user (credited as the RM's); {} with no one to credit; \
                 {} entered sales linked to their accounts",
                r.sales,
                r.from_feed,
                r.from_campaigns,
                r.referred,
                r.seller_unknown,
                r.uncredited,
                r.linked
            );
        }
        SalesAction::Enter {
            by,
            customer,
            product,
            amount,
            on,
            account_no,
            referrer,
            note,
        } => {
            let amount_minor = Money::parse_major(&amount)
                .with_context(|| format!("--amount {amount}: an amount in yuan"))?
                .minor();
            let e = Entry {
                customer_no: &customer,
                product: &product,
                amount_minor,
                sold_on: on.unwrap_or(today),
                account_no: account_no.as_deref(),
                referrer: referrer.as_deref(),
                note: note.as_deref(),
            };
            let id = sales::enter(&store, &by, &e, today).await?;
            say!("sale {id} entered, pending a branch manager's approval");
            print_sale(&store, id).await?;
        }
        SalesAction::Approve { id, by } => {
            sales::decide(&store, id, true, None, &by).await?;
            say!("sale {id} approved by {by}");
        }
        SalesAction::Reject { id, by, reason } => {
            sales::decide(&store, id, false, Some(&reason), &by).await?;
            say!("sale {id} rejected by {by}");
        }
        SalesAction::Dispute { id, by, reason } => {
            let d = sales::dispute(&store, id, &by, &reason).await?;
            say!("dispute {d} of sale {id} raised by {by}");
        }
        SalesAction::Resolve {
            id,
            by,
            split,
            keep,
            reason,
        } => {
            let lines = match (&split, keep) {
                (Some(s), _) => split_lines(s)?,
                (None, true) => Vec::new(),
                (None, false) => anyhow::bail!("either --split login=percent,… or --keep"),
            };
            let refs: Vec<(&str, i64)> = lines.iter().map(|(l, b)| (l.as_str(), *b)).collect();
            let how = if keep {
                Settlement::Keep(&reason)
            } else {
                Settlement::Split(&refs, &reason)
            };
            sales::resolve(&store, id, &by, &how).await?;
            say!(
                "dispute {id} {}",
                if keep {
                    "rejected"
                } else {
                    "upheld with a new split"
                }
            );
        }
        SalesAction::Adjust {
            id,
            by,
            split,
            reason,
        } => {
            let lines = split_lines(&split)?;
            let refs: Vec<(&str, i64)> = lines.iter().map(|(l, b)| (l.as_str(), *b)).collect();
            sales::adjust(&store, id, &by, &refs, &reason).await?;
            say!("sale {id} split anew");
            print_sale(&store, id).await?;
        }
        SalesAction::Rules {
            channel,
            seller,
            rm,
            referrer,
            by,
        } => {
            if let Some(c) = channel {
                let mut shares = Vec::new();
                for (part, v) in [
                    (Part::Seller, seller),
                    (Part::Rm, rm),
                    (Part::Referrer, referrer),
                ] {
                    if let Some(v) = v {
                        shares.push((part, percent_bp(&v)?));
                    }
                }
                sales::set_rule(&store, &c, &shares, &by).await?;
                say!("rule of channel {c} set by {by}");
            }
            let rows = q::rules(&store)
                .await?
                .into_iter()
                .map(|r| {
                    vec![
                        r.channel,
                        r.part,
                        format!("{}%", Money::from_minor(r.share_bp)),
                        r.updated_by,
                    ]
                })
                .collect();
            table::print(0, &["channel", "part", "share", "set by"], rows);
        }
        SalesAction::List {
            id: Some(id), json, ..
        } => {
            if json {
                let s = q::get(&store, id)
                    .await?
                    .with_context(|| format!("no sale {id}"))?;
                let credits = q::credits(&store, id).await?;
                say!("{}", serde_json::json!({"sale": s, "credits": credits}));
            } else {
                print_sale(&store, id).await?;
            }
        }
        SalesAction::List {
            id: None,
            user,
            status,
            from,
            to,
            limit,
            json,
        } => {
            let who = match &user {
                Some(u) => Some(
                    panorama_store::ocrm::user_by_username(&store, u)
                        .await?
                        .with_context(|| format!("no user {u}"))?,
                ),
                None => None,
            };
            let (from, to) = (from.map(|d| d.to_string()), to.map(|d| d.to_string()));
            let filter = SaleFilter {
                involving: who.as_ref().map(|u| (u.id, u.username.as_str())),
                status: status.as_deref(),
                from: from.as_deref(),
                to: to.as_deref(),
                ..SaleFilter::default()
            };
            let list = q::list(&store, &filter, limit).await?;
            if json {
                say!("{}", serde_json::to_string(&list)?);
                return Ok(());
            }
            let rows = list
                .into_iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.sold_on,
                        s.customer_no,
                        s.product_code,
                        yuan(s.amount_minor),
                        s.channel,
                        s.source,
                        s.seller.unwrap_or_default(),
                        s.status,
                    ]
                })
                .collect();
            table::print(
                0,
                &[
                    "sale", "sold on", "customer", "product", "amount", "channel", "source",
                    "seller", "status",
                ],
                rows,
            );
        }
        SalesAction::Disputes => {
            let rows = q::disputes(&store, None, Some("open"))
                .await?
                .into_iter()
                .map(|d| {
                    vec![
                        d.id.to_string(),
                        d.sale_id.to_string(),
                        d.raised_by,
                        d.reason,
                        d.created_at,
                    ]
                })
                .collect();
            table::print(0, &["dispute", "sale", "raised by", "reason", "at"], rows);
        }
    }
    Ok(())
}

async fn print_sale(store: &panorama_store::Store, id: i64) -> Result<()> {
    let s = q::get(store, id)
        .await?
        .with_context(|| format!("no sale {id}"))?;
    say!(
        "sale {}: {} {} to customer {} on {}, {} yuan, channel {}, {} ({}){}",
        s.id,
        s.product_code,
        s.product_name,
        s.customer_no,
        s.sold_on,
        yuan(s.amount_minor),
        s.channel,
        s.status,
        s.source,
        s.campaign_id
            .map(|c| format!(", through campaign {c}"))
            .unwrap_or_default()
    );
    let rows = q::credits(store, id)
        .await?
        .into_iter()
        .map(|c| {
            let current = if c.version == s.credit_version {
                "*"
            } else {
                ""
            };
            vec![
                format!("{}{current}", c.version),
                c.username,
                c.part,
                format!("{}%", Money::from_minor(c.share_bp)),
                yuan(c.amount_minor),
                c.reason,
                c.made_by,
            ]
        })
        .collect();
    table::print(
        2,
        &[
            "version", "credited", "part", "share", "amount", "why", "by",
        ],
        rows,
    );
    Ok(())
}
