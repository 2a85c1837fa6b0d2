//! Triggered ("always-on") campaigns: a campaign whose members enter when
//! an event arrives for them — a large inflow, a first salary, maturity
//! proceeds leaving — instead of all at launch. The segment, exclusions and
//! score cut are the launch's own, worked out on the latest features and
//! held by the event feed (an [`Audiences`]); on each triggering event the
//! customer meets the contact policy then and there (not already a member,
//! opted out of no channel of the plan, outside the universal control group,
//! under the frequency cap, in no live campaign of higher priority), is
//! drawn into control or an arm by the campaign's seed ([`crate::draw`]),
//! and is dealt to the first channel of the plan that reaches them and has
//! room: a call on their RM's list, or a message queued for the gateway —
//! where quiet hours and rest-day do-not-disturb hold it until it may go.
//! Responses and lift are counted as for every campaign, each member's
//! response window opening on the day they entered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use panorama_analytics::{Config, Result};
use panorama_store::campaigns::{self as q, CampaignRow, EntryFacts};
use panorama_store::{AnyConnection, Backend, Store};

use crate::service::{self, Eligibility, UNCONTACTED};
use crate::{CONTROL, Channel, Reach, draw, first_channel, universal_control};

/// An event that can enter a customer into a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    /// Code (the monitoring rule's, where one detects it).
    pub code: &'static str,
    /// What it is, in Chinese.
    pub zh: &'static str,
    /// In English.
    pub en: &'static str,
}

/// The events a campaign can be triggered by. All but `first_salary` are
/// the key-transaction rules' own (with their thresholds); `first_salary`
/// is a customer's first payroll credit.
pub const TRIGGERS: &[Trigger] = &[
    Trigger {
        code: "large_credit",
        zh: "大额资金入账",
        en: "a large inflow",
    },
    Trigger {
        code: "first_salary",
        zh: "首次代发工资入账",
        en: "a first salary credit",
    },
    Trigger {
        code: "maturity_outflow",
        zh: "到期资金转出他行",
        en: "maturity proceeds leaving for another bank",
    },
    Trigger {
        code: "outbound_transfer",
        zh: "大额转出他行",
        en: "a large transfer to another bank",
    },
    Trigger {
        code: "large_debit",
        zh: "大额支出",
        en: "a large debit",
    },
    Trigger {
        code: "dormant_wake",
        zh: "休眠账户激活",
        en: "a dormant account waking",
    },
    Trigger {
        code: "new_channel",
        zh: "首次使用电子渠道",
        en: "first use of an e-channel",
    },
];

/// The trigger of `code`.
pub fn trigger(code: &str) -> Option<&'static Trigger> {
    TRIGGERS.iter().find(|t| t.code == code)
}

/// Every trigger's code.
pub fn codes() -> Vec<&'static str> {
    TRIGGERS.iter().map(|t| t.code).collect()
}

/// A live triggered campaign as the event feed holds it.
#[derive(Debug, Clone)]
pub struct Audience {
    /// The campaign.
    pub campaign: CampaignRow,
    rules: Eligibility,
    plan: Vec<Channel>,
    /// The customers its segment, exclusions and score cut select.
    eligible: HashSet<i64>,
    offers: BTreeMap<String, (Option<String>, Option<String>)>,
    arms: Vec<String>,
    /// The features date they were selected on.
    pub date: NaiveDate,
}

impl Audience {
    /// How many customers may enter.
    pub fn eligible(&self) -> usize {
        self.eligible.len()
    }
}

/// The live triggered campaigns with their eligible customers.
#[derive(Debug, Clone)]
pub struct Audiences {
    /// The campaigns.
    pub list: Vec<Audience>,
    ids: Vec<i64>,
    features: Option<NaiveDate>,
    checked: Instant,
}

/// How often a long-running feed looks for newer features.
const FEATURES_CHECK_SECONDS: u64 = 60;

impl Audiences {
    /// Reads the live triggered campaigns and works out who each may take,
    /// on the latest features in `analytics` (none when no features exist
    /// yet: every campaign then takes nobody, and says so in the log).
    pub async fn load(store: &Store, analytics: &Path, config: &Config) -> Result<Audiences> {
        let campaigns = q::live_triggered(store).await?;
        let features = panorama_analytics::engine::feature_dates(analytics)
            .last()
            .copied();
        let mut list = Vec::with_capacity(campaigns.len());
        for campaign in campaigns {
            let rules = Eligibility::of(&campaign)?;
            let Some(date) = features else {
                tracing::warn!(
                    campaign = campaign.id,
                    "no features yet: the triggered campaign takes nobody until the batch has run"
                );
                continue;
            };
            let chosen = service::select(store, analytics, config, &rules, Some(date)).await?;
            let offers = q::offers(store, campaign.id).await?;
            list.push(Audience {
                plan: rules.plan(),
                eligible: chosen.eligible.iter().map(|e| e.customer_id).collect(),
                arms: offers.keys().cloned().collect(),
                offers,
                rules,
                campaign,
                date: chosen.date,
            });
        }
        Ok(Audiences {
            ids: list.iter().map(|a| a.campaign.id).collect(),
            list,
            features,
            checked: Instant::now(),
        })
    }

    /// Whether what is held is out of date: another set of live triggered
    /// campaigns (`live`, as [`q::live_triggered_ids`] reads it), or newer
    /// features (looked for once a minute).
    pub fn stale(&mut self, live: &[i64], analytics: &Path) -> bool {
        if live != self.ids.as_slice() {
            return true;
        }
        if self.checked.elapsed().as_secs() < FEATURES_CHECK_SECONDS {
            return false;
        }
        self.checked = Instant::now();
        panorama_analytics::engine::feature_dates(analytics)
            .last()
            .copied()
            != self.features
    }

    /// Whether some campaign is entered by `code`.
    pub fn wants(&self, code: &str) -> bool {
        self.list
            .iter()
            .any(|a| a.campaign.trigger_event.as_deref() == Some(code))
    }

    /// Whether no campaign is live.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// What one triggering event did for one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The customer entered: their arm and channel.
    Entered {
        /// Arm, or [`CONTROL`].
        arm: String,
        /// The channel they were dealt (control members: the plan's first).
        channel: String,
    },
    /// Not entered, and why.
    Skipped(&'static str),
}

/// An event's outcome in one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The campaign.
    pub campaign_id: i64,
    /// What happened.
    pub outcome: Outcome,
}

/// Enters `customer`, whose event of `day` fired the triggers `fired`, into
/// every live campaign those triggers enter — within the caller's
/// transaction, so the entry is durable with the event that made it.
pub async fn enter(
    conn: &mut AnyConnection,
    backend: Backend,
    audiences: &Audiences,
    customer: i64,
    fired: &[&str],
    day: NaiveDate,
) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for a in &audiences.list {
        let c = &a.campaign;
        if !c
            .trigger_event
            .as_deref()
            .is_some_and(|t| fired.contains(&t))
        {
            continue;
        }
        let outcome = enter_one(conn, backend, a, customer, day).await?;
        out.push(Entry {
            campaign_id: c.id,
            outcome,
        });
    }
    Ok(out)
}

fn within(day: NaiveDate, from: Option<&str>, to: Option<&str>) -> bool {
    let parse = |d: Option<&str>| d.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    parse(from).is_none_or(|f| day >= f) && parse(to).is_none_or(|t| day <= t)
}

/// Where `facts`' customer can be reached on each channel of `plan`.
fn reach(customer: i64, facts: &EntryFacts, plan: &[Channel]) -> Reach {
    Reach {
        customer_id: customer,
        owner: facts.owner,
        reachable: plan
            .iter()
            .map(|ch| {
                !facts.opted_out(&ch.name)
                    && match ch.name.as_str() {
                        "rm" => facts.owner.is_some(),
                        "branch" => true,
                        name => facts.address(name).is_some(),
                    }
            })
            .collect(),
    }
}

async fn enter_one(
    conn: &mut AnyConnection,
    backend: Backend,
    a: &Audience,
    customer: i64,
    day: NaiveDate,
) -> Result<Outcome> {
    let c = &a.campaign;
    let rules = &a.rules;
    if !within(day, c.starts_on.as_deref(), c.ends_on.as_deref()) {
        return Ok(Outcome::Skipped("outside the campaign's dates"));
    }
    if !a.eligible.contains(&customer) {
        return Ok(Outcome::Skipped("not selected by the segment"));
    }
    let since = day - chrono::Days::new(rules.cap_days);
    let facts = q::entry_facts(conn, c.id, c.priority, customer, &since.to_string()).await?;
    let skipped = if facts.member {
        Some("already a member")
    } else if !facts.active {
        Some("not an active customer")
    } else if a.plan.iter().all(|ch| facts.opted_out(&ch.name)) {
        Some("opted out of every channel of the plan")
    } else if universal_control(
        customer,
        &day.format("%Y").to_string(),
        rules.universal_control,
    ) {
        Some("in the universal control group")
    } else if facts.recent_contacts >= rules.cap.max(1) {
        Some("over the frequency cap")
    } else if facts.reserved {
        Some("in a live campaign of higher priority")
    } else {
        None
    };
    if let Some(why) = skipped {
        return Ok(Outcome::Skipped(why));
    }
    let control_share = c.control_share_bp as f64 / 10_000.0;
    let arm = draw(customer, c.seed as u64, control_share, &a.arms);
    let control = arm == CONTROL;
    let channel = if control {
        a.plan[0].name.clone()
    } else {
        let bounded = a
            .plan
            .iter()
            .any(|ch| ch.capacity.is_some() || ch.per_rm.is_some());
        let (used, rm_calls) = if bounded {
            q::channel_use(conn, c.id, facts.owner).await?
        } else {
            (HashMap::new(), 0)
        };
        let used: Vec<u64> = a
            .plan
            .iter()
            .map(|ch| used.get(&ch.name).copied().unwrap_or(0) as u64)
            .collect();
        let rm_used = |k: usize| {
            if a.plan[k].name == "rm" {
                rm_calls as u64
            } else {
                0
            }
        };
        match first_channel(&reach(customer, &facts, &a.plan), &a.plan, &used, rm_used) {
            Some(k) => a.plan[k].name.clone(),
            None => UNCONTACTED.to_owned(),
        }
    };
    let (product, script) = a.offers.get(&arm).cloned().unwrap_or_default();
    let why = trigger(c.trigger_event.as_deref().unwrap_or_default()).map_or("", |t| t.zh);
    let task = match (control, channel.as_str(), facts.owner) {
        (false, "rm", Some(rm)) => Some((
            rm,
            customer,
            format!(
                "{}（{why}）",
                service::call_title(&c.name, &arm, product.as_deref())
            ),
            (day + chrono::Days::new(1)).to_string(),
        )),
        _ => None,
    };
    let message = match (control, facts.address(&channel)) {
        (false, Some(address)) if ["sms", "email", "app"].contains(&channel.as_str()) => Some((
            customer,
            channel.clone(),
            address.to_owned(),
            script.unwrap_or_else(|| service::default_message(product.as_deref())),
        )),
        _ => None,
    };
    let member = (customer, arm.clone(), control, channel.clone(), facts.owner);
    q::enter(
        conn,
        backend,
        c.id,
        &day.to_string(),
        &member,
        task.as_ref(),
        message.as_ref(),
    )
    .await?;
    Ok(Outcome::Entered { arm, channel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_and_dates() {
        assert_eq!(
            trigger("first_salary").map(|t| t.zh),
            Some("首次代发工资入账")
        );
        assert!(trigger("nightly").is_none());
        assert_eq!(codes().len(), TRIGGERS.len());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        assert!(within(
            d("2026-12-07"),
            Some("2026-12-01"),
            Some("2026-12-31")
        ));
        assert!(within(d("2026-12-07"), None, None));
        assert!(!within(d("2026-11-30"), Some("2026-12-01"), None));
        assert!(!within(d("2027-01-01"), None, Some("2026-12-31")));
    }

    #[test]
    fn reach_follows_opt_outs_addresses_and_the_rm() {
        let plan: Vec<Channel> = ["rm", "sms", "email", "branch"]
            .iter()
            .map(|n| Channel {
                name: (*n).to_owned(),
                capacity: None,
                per_rm: None,
            })
            .collect();
        let facts = EntryFacts {
            owner: None,
            mobile: Some("13800138000".into()),
            opt_out: [false, true, false, false],
            active: true,
            ..EntryFacts::default()
        };
        // No RM, SMS refused, no e-mail address; the branch always.
        assert_eq!(
            reach(5, &facts, &plan).reachable,
            [false, false, false, true]
        );
        let all = EntryFacts {
            opt_out: [true, false, false, false],
            ..facts
        };
        assert!(reach(5, &all, &plan).reachable.iter().all(|r| !r));
    }
}
