//! Campaigns on the feature store, shared by the CLI and the web app:
//! design (conditions checked when written), launch (the eligible list as
//! of a features date, the score cut, the contact policy, the seeded split,
//! RM call lists and gateway messages), capture of responses by the
//! response rule, the report (rates, lift, cumulative curve, economics),
//! finishing (results frozen) and the comparison of campaigns.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use crate::{
    CONTROL, Channel, Difference, Eligible, Lift, Mean, Rate, Reach, allocate, difference,
    for_selection, lift, mean, rate, seeded_rank, split, universal_control,
};
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use panorama_store::campaigns::{self as q, CampaignRow, NewCampaign};
use panorama_store::{Store, StoreError};
use serde::{Deserialize, Serialize};

use panorama_analytics::{AnalyticsError, Config, Result};

/// Objectives a campaign may have.
pub const OBJECTIVES: &[&str] = &["acquire", "cross_sell", "upsell", "retain", "reactivate"];

/// Channels a campaign reaches customers through.
pub const CHANNELS: &[&str] = &["rm", "sms", "email", "branch", "app"];

fn invalid(message: impl Into<String>) -> AnalyticsError {
    AnalyticsError::Invalid(message.into())
}

/// What a campaign selects and the policy it keeps (stored as its eligibility).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Eligibility {
    /// The segment condition over the features.
    pub segment: String,
    /// Exclusions: customers for whom this condition holds are not eligible.
    #[serde(default)]
    pub exclude: Option<String>,
    /// An approved model whose latest score must reach `min_score`.
    pub score_model: Option<String>,
    /// The score cut.
    pub min_score: f64,
    /// Who goes first where room runs out: `value` — the expected
    /// incremental value, the response model's uplift over its campaign's
    /// control rate times the customer's lifetime value — else the score.
    #[serde(default)]
    pub rank_by: Option<String>,
    /// The first channel tried: rm, sms, email, branch or app.
    pub channel: String,
    /// Channels tried next, in order, for a treated member the ones before
    /// cannot reach (opted out, no address or RM, no room left).
    #[serde(default)]
    pub fallback: Vec<String>,
    /// Most treated members per channel.
    #[serde(default)]
    pub capacity: BTreeMap<String, u64>,
    /// Most calls per RM on the rm channel.
    #[serde(default)]
    pub per_rm: Option<u64>,
    /// Share of all customers left out of every campaign of the year.
    pub universal_control: f64,
    /// Frequency cap: at most this many campaign contacts …
    pub cap: i64,
    /// … within this many days.
    pub cap_days: u64,
    /// Days after launch in which a response counts.
    #[serde(default = "default_window")]
    pub response_days: u64,
}

fn default_window() -> u64 {
    30
}

impl Eligibility {
    /// The channel plan: the first channel and the fallbacks, with their
    /// capacities.
    pub fn plan(&self) -> Vec<Channel> {
        std::iter::once(&self.channel)
            .chain(&self.fallback)
            .map(|name| Channel {
                name: name.clone(),
                capacity: self.capacity.get(name).copied(),
                per_rm: if name == "rm" { self.per_rm } else { None },
            })
            .collect()
    }

    /// A campaign's stored eligibility.
    pub fn of(c: &CampaignRow) -> Result<Eligibility> {
        serde_json::from_str(&c.eligibility).map_err(|e| {
            invalid(format!(
                "campaign {}: its eligibility is unreadable: {e}",
                c.id
            ))
        })
    }
}

/// One arm's own offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmOffer {
    /// The arm.
    pub arm: String,
    /// Its product.
    pub product: Option<String>,
    /// Its message or script.
    pub script: Option<String>,
}

impl ArmOffer {
    /// Reads `ARM=PRODUCT`, `ARM=PRODUCT|SCRIPT` or `ARM=|SCRIPT`.
    pub fn parse(text: &str) -> Result<ArmOffer> {
        let (arm, rest) = text.split_once('=').ok_or_else(|| {
            invalid(format!(
                "an arm's offer is ARM=PRODUCT or ARM=PRODUCT|SCRIPT, not {text:?}"
            ))
        })?;
        let (product, script) = rest.split_once('|').unwrap_or((rest, ""));
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let offer = ArmOffer {
            arm: arm.trim().to_owned(),
            product: some(product),
            script: some(script),
        };
        if offer.arm.is_empty() || (offer.product.is_none() && offer.script.is_none()) {
            return Err(invalid(format!(
                "an arm's offer names the arm and a product or a script, not {text:?}"
            )));
        }
        Ok(offer)
    }
}

/// Reads a channel plan written `rm,sms` (the first channel, then the
/// fallbacks in order).
pub fn parse_channels(text: &str) -> Result<(String, Vec<String>)> {
    let mut names = text
        .split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let first = names
        .next()
        .ok_or_else(|| invalid("a campaign needs a channel"))?;
    Ok((first, names.collect()))
}

/// Reads capacities written `rm=200,sms=5000`.
pub fn parse_capacity(text: &str) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = part
            .split_once('=')
            .and_then(|(c, n)| Some((c.trim().to_owned(), n.trim().parse::<u64>().ok()?)));
        let Some((channel, n)) = parsed else {
            return Err(invalid(format!(
                "a capacity is CHANNEL=NUMBER (e.g. sms=5000), not {part:?}"
            )));
        };
        if out.insert(channel.clone(), n).is_some() {
            return Err(invalid(format!("two capacities for {channel}")));
        }
    }
    Ok(out)
}

/// A campaign to design.
#[derive(Debug, Clone)]
pub struct Design {
    /// Name.
    pub name: String,
    /// One of [`OBJECTIVES`].
    pub objective: String,
    /// Who is eligible, the channel and the contact policy.
    pub eligibility: Eligibility,
    /// Share held out as the control group.
    pub control: f64,
    /// Offer arms (A/B/n).
    pub arms: Vec<String>,
    /// Seed of the split.
    pub seed: u64,
    /// The product offered (every arm, unless `offers` names another).
    pub product: Option<String>,
    /// The message or the RM's script (likewise).
    pub script: Option<String>,
    /// Per arm: its own product and script (A/B tests of offers).
    pub offers: Vec<ArmOffer>,
    /// What counts as a response: a condition the batch checks after launch.
    pub response: Option<String>,
    /// First day.
    pub starts: Option<NaiveDate>,
    /// Last day.
    pub ends: Option<NaiveDate>,
    /// Budget, fen.
    pub budget_minor: Option<i64>,
    /// Priority among overlapping campaigns.
    pub priority: i64,
    /// Who designs it.
    pub by: String,
    /// A triggered ("always-on") campaign's entry event, one of
    /// [`crate::triggered::TRIGGERS`]: customers enter as their events arrive
    /// instead of all at launch.
    pub trigger: Option<String>,
}

/// Checks a design (shares, channel, arms, conditions that compile, an
/// approved score model, dates in order) and stores it as a draft; returns
/// its id.
pub async fn design(store: &Store, config: &Config, d: &Design) -> Result<i64> {
    let name = d.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("a campaign needs a name of 1 to 100 characters"));
    }
    if !OBJECTIVES.contains(&d.objective.as_str()) {
        return Err(invalid(format!(
            "objective: {}, not {}",
            OBJECTIVES.join(", "),
            d.objective
        )));
    }
    if !(0.0..1.0).contains(&d.control) {
        return Err(invalid(format!(
            "the control share is below 1, not {}",
            d.control
        )));
    }
    let e = &d.eligibility;
    let plan = e.plan();
    for c in &plan {
        if !CHANNELS.contains(&c.name.as_str()) {
            return Err(invalid(format!(
                "channel: {}, not {}",
                CHANNELS.join(", "),
                c.name
            )));
        }
    }
    let names: HashSet<&str> = plan.iter().map(|c| c.name.as_str()).collect();
    if names.len() != plan.len() {
        return Err(invalid("each channel appears once in the plan"));
    }
    if let Some(c) = e.capacity.keys().find(|c| !names.contains(c.as_str())) {
        return Err(invalid(format!(
            "a capacity for {c}, which is not one of the campaign's channels"
        )));
    }
    if e.per_rm.is_some() && !names.contains("rm") {
        return Err(invalid("a capacity per RM needs the rm channel"));
    }
    if e.capacity.values().any(|c| *c == 0) || e.per_rm == Some(0) {
        return Err(invalid("a capacity is at least 1"));
    }
    if !(0.0..0.5).contains(&e.universal_control) {
        return Err(invalid(format!(
            "the universal control share is below 0.5, not {}",
            e.universal_control
        )));
    }
    if e.cap < 1 || e.cap_days == 0 || e.response_days == 0 {
        return Err(invalid(
            "the frequency cap, its days and the response window are at least 1",
        ));
    }
    let arms: Vec<String> = d
        .arms
        .iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    let distinct: HashSet<&String> = arms.iter().collect();
    if arms.is_empty() || arms.iter().any(|a| a == CONTROL) || distinct.len() != arms.len() {
        return Err(invalid(
            "the offer arms are named once each (A,B,…); `control` is the held-out group",
        ));
    }
    if let Some(t) = &d.trigger
        && crate::triggered::trigger(t).is_none()
    {
        return Err(invalid(format!(
            "trigger: {}, not {t}",
            crate::triggered::codes().join(", ")
        )));
    }
    if let (Some(s), Some(t)) = (d.starts, d.ends)
        && t < s
    {
        return Err(invalid(format!("it ends ({t}) before it starts ({s})")));
    }
    // The conditions must compile now, not at launch.
    let vocab = panorama_analytics::batch::vocabulary(store, config).await?;
    panorama_analytics::segment::compile(&e.segment, &vocab)?;
    if let Some(rule) = &e.exclude {
        panorama_analytics::segment::compile(rule, &vocab)
            .map_err(|err| invalid(format!("the exclusions: {err}")))?;
    }
    if let Some(rule) = &d.response {
        panorama_analytics::segment::compile(rule, &vocab).map_err(|err| {
            invalid(format!(
                "the response definition is a condition over the features: {err}"
            ))
        })?;
    }
    if let Some(model) = &e.score_model {
        approved_model(store, model).await?;
    }
    match e.rank_by.as_deref() {
        None | Some("score") => {}
        Some("value") => {
            let Some(model) = &e.score_model else {
                return Err(invalid(
                    "ranking by expected value needs a response model (score_model)",
                ));
            };
            control_rate(store, &approved_model(store, model).await?).await?;
        }
        Some(other) => {
            return Err(invalid(format!("rank by {other:?}: by score or by value")));
        }
    }
    for product in d
        .product
        .iter()
        .chain(d.offers.iter().filter_map(|o| o.product.as_ref()))
    {
        if !panorama_store::products::exists(store, product).await? {
            return Err(invalid(format!("there is no product {product}")));
        }
    }
    for o in &d.offers {
        if !arms.contains(&o.arm) {
            return Err(invalid(format!(
                "an offer for arm {}, which is not one of {}",
                o.arm,
                arms.join(",")
            )));
        }
    }
    let arm_rows: Vec<(String, Option<String>, Option<String>)> = arms
        .iter()
        .map(|a| {
            let own = d.offers.iter().find(|o| &o.arm == a);
            (
                a.clone(),
                own.and_then(|o| o.product.clone())
                    .or_else(|| d.product.clone()),
                own.and_then(|o| o.script.clone())
                    .or_else(|| d.script.clone()),
            )
        })
        .collect();
    let eligibility =
        serde_json::to_string(e).map_err(|err| invalid(format!("eligibility: {err}")))?;
    Ok(q::create(
        store,
        &NewCampaign {
            name,
            objective: &d.objective,
            eligibility: &eligibility,
            control_share_bp: (d.control * 10_000.0).round() as i64,
            seed: d.seed as i64,
            starts_on: d.starts.map(|x| x.to_string()).as_deref(),
            ends_on: d.ends.map(|x| x.to_string()).as_deref(),
            response_rule: d.response.as_deref(),
            budget_minor: d.budget_minor,
            priority: d.priority,
            arms: &arm_rows,
            created_by: &d.by,
            trigger_event: d.trigger.as_deref(),
        },
    )
    .await?)
}

/// Campaign `id` if its status is one of `allowed`; else an error saying `why`.
pub async fn campaign_in(
    store: &Store,
    id: i64,
    allowed: &[&str],
    why: &str,
) -> Result<CampaignRow> {
    let c = q::get(store, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no campaign {id}")))?;
    if !allowed.contains(&c.status.as_str()) {
        let state = format!("campaign {id} is {}: {why}", c.status);
        return Err(StoreError::Conflict(state).into());
    }
    Ok(c)
}

/// How many customers a segment condition selects on the features of a
/// date (the latest by default): the designer's preview.
pub async fn preview(
    store: &Store,
    analytics: &Path,
    config: &Config,
    segment: &str,
    as_of: Option<NaiveDate>,
) -> Result<(NaiveDate, usize)> {
    let ctx = panorama_analytics::engine::session();
    let date = panorama_analytics::engine::register_features(&ctx, analytics, as_of).await?;
    let vocab = panorama_analytics::batch::vocabulary(store, config).await?;
    let filter = panorama_analytics::segment::compile(segment, &vocab)?;
    Ok((date, panorama_analytics::batch::count(&ctx, filter).await?))
}

/// What a launch did, step by step.
#[derive(Debug, Clone, Serialize)]
pub struct Launched {
    /// The features date the members were selected on.
    pub date: NaiveDate,
    /// In the segment.
    pub selected: usize,
    /// Left after the exclusions.
    pub after_exclusions: usize,
    /// Left after the score cut.
    pub after_score: usize,
    /// Left after opt-outs (of every channel of the plan).
    pub after_opt_out: usize,
    /// Left after the universal control group.
    pub after_universal: usize,
    /// Left after the frequency cap.
    pub after_cap: usize,
    /// Left after live campaigns of higher priority.
    pub after_priority: usize,
    /// Left after those no channel of the plan can reach (no RM, address
    /// or consent for any of them), when the plan's room is limited.
    pub after_reach: usize,
    /// Left within what the channels can take once the control group is
    /// drawn (the best scored first).
    pub after_capacity: usize,
    /// Members written (treated and control).
    pub members: usize,
    /// Of them held out.
    pub control: usize,
    /// Treated members per channel of the plan.
    pub by_channel: BTreeMap<String, usize>,
    /// Treated members no channel could take (kept in their arm: the
    /// comparison is one of intention to treat).
    pub uncontacted: usize,
    /// Calls put on RMs' lists.
    pub tasks: usize,
    /// Messages queued for the gateways.
    pub messages: usize,
    /// Seconds selecting and splitting under the contact policy.
    pub select_seconds: f64,
    /// Seconds preparing tasks and messages.
    pub work_seconds: f64,
    /// Seconds writing.
    pub write_seconds: f64,
    /// A triggered campaign's entry event: nobody was selected at launch.
    pub trigger: Option<String>,
    /// Ranked by expected value: the treated members' expected incremental
    /// value, fen (those a channel took).
    pub expected_value_minor: Option<i64>,
}

impl Launched {
    /// A triggered campaign's launch: who its rules select now (customers
    /// enter when their event arrives, if still eligible then).
    fn always_on(
        trigger: &str,
        date: NaiveDate,
        selected: usize,
        after_exclusions: usize,
        after_score: usize,
    ) -> Launched {
        Launched {
            date,
            selected,
            after_exclusions,
            after_score,
            after_opt_out: after_score,
            after_universal: after_score,
            after_cap: after_score,
            after_priority: after_score,
            after_reach: after_score,
            after_capacity: after_score,
            members: 0,
            control: 0,
            by_channel: BTreeMap::new(),
            uncontacted: 0,
            tasks: 0,
            messages: 0,
            select_seconds: 0.0,
            work_seconds: 0.0,
            write_seconds: 0.0,
            trigger: Some(trigger.to_owned()),
            expected_value_minor: None,
        }
    }

    /// One sentence of what happened.
    pub fn detail(&self) -> String {
        if let Some(trigger) = &self.trigger {
            return format!(
                "always on, entered by {trigger} events: {} in the segment as of {}, {} excluded, {} below the score cut; {} eligible customers enter when their event arrives (contact policy and control group drawn then)",
                self.selected,
                self.date,
                self.selected - self.after_exclusions,
                self.after_exclusions - self.after_score,
                self.after_score
            );
        }
        let channels: Vec<String> = self
            .by_channel
            .iter()
            .map(|(c, n)| format!("{n} by {c}"))
            .collect();
        format!(
            "{} in the segment as of {}, {} excluded, {} below the score cut, {} opted out, {} in the universal control group, {} over the frequency cap, {} in live campaigns of higher priority, {} no channel can reach, {} beyond the channels' capacity; {} members ({} control); treated {}{}; {} calls on RMs' lists, {} messages queued",
            self.selected,
            self.date,
            self.selected - self.after_exclusions,
            self.after_exclusions - self.after_score,
            self.after_score - self.after_opt_out,
            self.after_opt_out - self.after_universal,
            self.after_universal - self.after_cap,
            self.after_cap - self.after_priority,
            self.after_priority - self.after_reach,
            self.after_reach - self.after_capacity,
            self.members,
            self.control,
            if channels.is_empty() {
                "none".to_owned()
            } else {
                channels.join(", ")
            },
            if self.uncontacted > 0 {
                format!(
                    ", {} uncontacted (no channel of the plan reaches them or has room)",
                    self.uncontacted
                )
            } else {
                String::new()
            },
            self.tasks,
            self.messages
        ) + &self
            .expected_value_minor
            .map(|v| {
                format!(
                    "; ranked by expected incremental value (uplift × lifetime value): {} yuan over the treated",
                    panorama_domain::money::Money::from_minor(v)
                )
            })
            .unwrap_or_default()
    }
}

/// Who a campaign's rules select on the features of a date: the segment
/// less the exclusions (tier and life stage as the stratum), then the
/// score cut.
pub(crate) struct Selection {
    /// The features date.
    pub date: NaiveDate,
    /// In the segment.
    pub selected: usize,
    /// Left after the exclusions and the score cut.
    pub eligible: Vec<Eligible>,
    /// Left after the exclusions.
    pub after_exclusions: usize,
    /// The score model's latest scores, when the rules name one.
    pub scores: Option<HashMap<i64, f64>>,
}

/// The customers `rules` select on the features of `as_of` (the latest by default).
pub(crate) async fn select(
    store: &Store,
    analytics: &Path,
    config: &Config,
    rules: &Eligibility,
    as_of: Option<NaiveDate>,
) -> Result<Selection> {
    let ctx = panorama_analytics::engine::session();
    let date = panorama_analytics::engine::register_features(&ctx, analytics, as_of).await?;
    let vocab = panorama_analytics::batch::vocabulary(store, config).await?;
    let filter = panorama_analytics::segment::compile(&rules.segment, &vocab)?;
    let excluded = match &rules.exclude {
        Some(rule) => datafusion::prelude::coalesce(vec![
            panorama_analytics::segment::compile(rule, &vocab)?,
            datafusion::prelude::lit(false),
        ]),
        None => datafusion::prelude::lit(false),
    };
    let batches = ctx
        .table("features")
        .await?
        .filter(filter)?
        .select(vec![
            datafusion::prelude::col("customer_id"),
            datafusion::prelude::col("tier"),
            datafusion::prelude::col("life_stage"),
            excluded.alias("excluded"),
        ])?
        .collect()
        .await?;
    let mut eligible = Vec::new();
    let mut selected = 0;
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let tiers = datafusion::arrow::compute::cast(b.column(1), &DataType::Utf8)?;
        let tiers = tiers.as_string::<i32>();
        let stages = datafusion::arrow::compute::cast(b.column(2), &DataType::Utf8)?;
        let stages = stages.as_string::<i32>();
        let out = b.column(3).as_boolean();
        selected += b.num_rows();
        for i in 0..b.num_rows() {
            if out.value(i) {
                continue;
            }
            let stage = if stages.is_null(i) {
                ""
            } else {
                stages.value(i)
            };
            eligible.push(Eligible {
                customer_id: ids.value(i),
                stratum: format!("{}|{stage}", tiers.value(i)),
            });
        }
    }
    let after_exclusions = eligible.len();
    let scores = match &rules.score_model {
        Some(model) => Some(scores_of(store, model).await?),
        None => None,
    };
    if let Some(scores) = &scores {
        eligible.retain(|e| {
            scores
                .get(&e.customer_id)
                .is_some_and(|s| *s >= rules.min_score)
        });
    }
    Ok(Selection {
        date,
        selected,
        eligible,
        after_exclusions,
        scores,
    })
}

/// The title of an RM's call task for a campaign's member.
pub fn call_title(campaign: &str, arm: &str, product: Option<&str>) -> String {
    let product = product.map(|p| format!("，产品 {p}")).unwrap_or_default();
    format!("营销活动「{campaign}」方案 {arm}{product}：联系客户")
}

/// The message an arm without a script of its own sends.
pub fn default_message(product: Option<&str>) -> String {
    format!(
        "尊敬的客户：我行为您精选{}，欢迎咨询您的客户经理。回T退订",
        product.unwrap_or("专属产品")
    )
}

/// The channel a member is written with when no channel takes it.
pub const UNCONTACTED: &str = "none";

/// Launches an approved campaign: the eligible customers on the features of
/// `as_of` (the latest by default) less the exclusions, with tier and life
/// stage as the stratum; the score cut; the contact policy (opt-outs of
/// every channel of the plan, the universal control group, the frequency
/// cap, live campaigns of higher priority); when the plan's room is
/// limited, those some channel of the plan can reach and has room for, the
/// best scored first (or in a seeded order), each capacity widened by the
/// control share so that the treated fill it; the seeded split; then each
/// treated member, best first, to the first channel of the plan that can
/// reach them and has room — a call on their RM's list (within the RM's
/// capacity), one message for the message channels, an offer at the branch.
/// Written in one transaction; audited.
pub async fn launch(
    store: &Store,
    analytics: &Path,
    config: &Config,
    id: i64,
    as_of: Option<NaiveDate>,
    by: &str,
) -> Result<Launched> {
    let started = Instant::now();
    let c = campaign_in(
        store,
        id,
        &["approved"],
        "only an approved campaign is launched",
    )
    .await?;
    let rules = Eligibility::of(&c)?;
    let plan = rules.plan();
    let Selection {
        date,
        selected,
        mut eligible,
        after_exclusions,
        scores,
    } = select(store, analytics, config, &rules, as_of).await?;
    let after_score = eligible.len();
    if let Some(trigger) = &c.trigger_event {
        // Always-on: nobody is selected now; customers enter as their
        // events arrive (crate::triggered).
        let launched = Launched::always_on(trigger, date, selected, after_exclusions, after_score);
        q::launch(
            store,
            id,
            &date.to_string(),
            &[],
            q::Work::default(),
            by,
            &launched.detail(),
        )
        .await?;
        return Ok(launched);
    }
    let mut opted_out = Vec::with_capacity(plan.len());
    for channel in &plan {
        opted_out.push(q::opted_out(store, &channel.name).await?);
    }
    eligible.retain(|e| !opted_out.iter().all(|o| o.contains(&e.customer_id)));
    let after_opt_out = eligible.len();
    let period = date.format("%Y").to_string();
    eligible.retain(|e| !universal_control(e.customer_id, &period, rules.universal_control));
    let after_universal = eligible.len();
    let since = date - chrono::Days::new(rules.cap_days);
    let capped = q::capped(store, &since.to_string(), rules.cap.max(1)).await?;
    eligible.retain(|e| !capped.contains(&e.customer_id));
    let after_cap = eligible.len();
    let reserved = q::reserved(store, id, c.priority).await?;
    eligible.retain(|e| !reserved.contains(&e.customer_id));
    let after_priority = eligible.len();
    // Best first: by expected incremental value or by score, else in a
    // seeded order; capacity goes that way.
    let values = match (rules.rank_by.as_deref(), &scores, &rules.score_model) {
        (Some("value"), Some(scores), Some(model)) => {
            let control = control_rate(store, &approved_model(store, model).await?).await?;
            let clv = panorama_store::values::clv_by_customer(store).await?;
            Some(expected_values(scores, control, &clv))
        }
        _ => None,
    };
    let key = values.as_ref().or(scores.as_ref());
    let seed = c.seed as u64;
    let rank = |customer: i64| -> (std::cmp::Reverse<i64>, u64) {
        let k = key.and_then(|s| s.get(&customer)).map_or(0, |s| {
            if values.is_some() {
                s.round() as i64
            } else {
                (s * 1e12) as i64
            }
        });
        (std::cmp::Reverse(k), seeded_rank(customer, seed))
    };
    // Order matters only where room runs out.
    let bounded = plan
        .iter()
        .any(|c| c.capacity.is_some() || c.per_rm.is_some());
    if bounded {
        eligible.sort_by_cached_key(|e| rank(e.customer_id));
    }
    let owners = q::owners(store).await?;
    let mut addresses: HashMap<&str, HashMap<i64, String>> = HashMap::new();
    for channel in &plan {
        if ["sms", "email", "app"].contains(&channel.name.as_str()) {
            addresses.insert(&channel.name, q::addresses(store, &channel.name).await?);
        }
    }
    // Where each customer can be reached: not opted out of the channel, and
    // an RM, an address (or, at the branch, nothing) to reach them by.
    let reach = |customer: i64| Reach {
        customer_id: customer,
        owner: owners.get(&customer).copied(),
        reachable: plan
            .iter()
            .zip(&opted_out)
            .map(|(channel, out)| {
                !out.contains(&customer)
                    && match channel.name.as_str() {
                        "rm" => owners.contains_key(&customer),
                        "branch" => true,
                        name => addresses
                            .get(name)
                            .is_some_and(|m| m.contains_key(&customer)),
                    }
            })
            .collect(),
    };
    // Where room is limited, selected are those the plan can take once the
    // control group is drawn; otherwise everyone stays, and a treated
    // member nothing reaches is compared by intention to treat.
    let control_share = c.control_share_bp as f64 / 10_000.0;
    let (after_reach, after_capacity) = if bounded {
        let reaches: Vec<Reach> = eligible.iter().map(|e| reach(e.customer_id)).collect();
        let after_reach = reaches
            .iter()
            .filter(|r| r.reachable.iter().any(|x| *x))
            .count();
        let taken = allocate(&reaches, &for_selection(&plan, control_share));
        let mut keep = taken.iter().map(Option::is_some);
        eligible.retain(|_| keep.next().unwrap_or(false));
        (after_reach, eligible.len())
    } else {
        (eligible.len(), eligible.len())
    };
    let offers = q::offers(store, id).await?;
    let arms: Vec<String> = offers.keys().cloned().collect();
    let mut assignments = split(&eligible, control_share, &arms, seed);
    if bounded {
        assignments.sort_by_cached_key(|a| rank(a.customer_id));
    }
    // The treated, best first, to the channels with their real capacities.
    let treated: Vec<Reach> = assignments
        .iter()
        .filter(|a| a.arm != CONTROL)
        .map(|a| reach(a.customer_id))
        .collect();
    let dealt = allocate(&treated, &plan);
    let channel_of: HashMap<i64, Option<usize>> = treated
        .iter()
        .zip(&dealt)
        .map(|(t, k)| (t.customer_id, *k))
        .collect();
    let mut by_channel: BTreeMap<String, usize> = BTreeMap::new();
    let members: Vec<q::MemberWrite> = assignments
        .into_iter()
        .map(|a| {
            let control = a.arm == CONTROL;
            let channel = if control {
                plan[0].name.clone()
            } else {
                match channel_of.get(&a.customer_id).copied().flatten() {
                    Some(k) => {
                        *by_channel.entry(plan[k].name.clone()).or_default() += 1;
                        plan[k].name.clone()
                    }
                    None => UNCONTACTED.to_owned(),
                }
            };
            (
                a.customer_id,
                a.arm,
                control,
                channel,
                owners.get(&a.customer_id).copied(),
            )
        })
        .collect();
    let select_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let due = (date + chrono::Days::new(7)).to_string();
    let tasks: Vec<q::TaskWrite> = members
        .iter()
        .filter(|m| !m.2 && m.3 == "rm")
        .filter_map(|m| {
            let product = offers.get(&m.1).and_then(|(p, _)| p.as_deref());
            Some((m.4?, m.0, call_title(&c.name, &m.1, product), due.clone()))
        })
        .collect();
    let messages: Vec<q::MessageWrite> = members
        .iter()
        .filter(|m| !m.2)
        .filter_map(|m| {
            let address = addresses.get(m.3.as_str())?.get(&m.0)?;
            let (product, script) = offers.get(&m.1).cloned().unwrap_or_default();
            let text = script.unwrap_or_else(|| default_message(product.as_deref()));
            Some((m.0, m.3.clone(), address.clone(), text))
        })
        .collect();
    let work_seconds = started.elapsed().as_secs_f64();
    let expected_value_minor = values.as_ref().map(|v| {
        members
            .iter()
            .filter(|m| !m.2 && m.3 != UNCONTACTED)
            .map(|m| v.get(&m.0).copied().unwrap_or(0.0))
            .sum::<f64>()
            .round() as i64
    });
    let mut launched = Launched {
        date,
        selected,
        after_exclusions,
        after_score,
        after_opt_out,
        after_universal,
        after_cap,
        after_priority,
        after_reach,
        after_capacity,
        members: members.len(),
        control: members.iter().filter(|m| m.2).count(),
        uncontacted: members
            .iter()
            .filter(|m| !m.2 && m.3 == UNCONTACTED)
            .count(),
        by_channel,
        tasks: tasks.len(),
        messages: messages.len(),
        select_seconds,
        work_seconds,
        write_seconds: 0.0,
        trigger: None,
        expected_value_minor,
    };
    let started = Instant::now();
    q::launch(
        store,
        id,
        &date.to_string(),
        &members,
        q::Work {
            tasks: &tasks,
            messages: &messages,
        },
        by,
        &launched.detail(),
    )
    .await?;
    launched.write_seconds = started.elapsed().as_secs_f64();
    Ok(launched)
}

/// New responses a capture recorded for one campaign.
#[derive(Debug, Clone, Serialize)]
pub struct Captured {
    /// Campaign.
    pub campaign_id: i64,
    /// Responses recorded now.
    pub responses: u64,
    /// Finished now: its response window closed before the date.
    pub finished: bool,
}

/// Records, for every live campaign with a response condition, the members
/// (treated and control alike) for whom it holds on the features of the
/// date, if the date falls in the response window; a campaign whose window
/// closed before the date is finished with its results frozen.
pub async fn capture(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
    by: &str,
) -> Result<Vec<Captured>> {
    let live = q::live(store).await?;
    if live.iter().all(|c| c.response_rule.is_none()) {
        return Ok(Vec::new());
    }
    let ctx = panorama_analytics::engine::session();
    let date = panorama_analytics::engine::register_features(&ctx, analytics, as_of).await?;
    let vocab = panorama_analytics::batch::vocabulary(store, config).await?;
    let mut out = Vec::new();
    for c in live {
        let Some(rule) = c.response_rule.as_deref() else {
            continue;
        };
        let rules = Eligibility::of(&c)?;
        let Some(launched) = c
            .launched_on
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        // A triggered campaign takes members until its last day; each
        // member's window opens on the day they entered.
        let closes = match (&c.trigger_event, &c.ends_on) {
            (Some(_), Some(ends)) => NaiveDate::parse_from_str(ends, "%Y-%m-%d")
                .ok()
                .map(|e| e + chrono::Days::new(rules.response_days)),
            (Some(_), None) => None,
            (None, _) => Some(launched + chrono::Days::new(rules.response_days)),
        };
        if date <= launched && c.trigger_event.is_none() {
            continue;
        }
        if let Some(closes) = closes
            && date > closes
        {
            finish(store, c.id, Some(closes), by).await?;
            out.push(Captured {
                campaign_id: c.id,
                responses: 0,
                finished: true,
            });
            continue;
        }
        let filter = panorama_analytics::segment::compile(rule, &vocab)?;
        let hits: HashSet<i64> = panorama_analytics::batch::members_of(&ctx, filter)
            .await?
            .into_iter()
            .collect();
        let window = |entered: &str| {
            NaiveDate::parse_from_str(entered, "%Y-%m-%d")
                .is_ok_and(|e| date > e && date <= e + chrono::Days::new(rules.response_days))
        };
        let responses: Vec<(i64, String, Option<i64>)> = if c.trigger_event.is_some() {
            q::members_entered(store, c.id)
                .await?
                .into_iter()
                .filter(|(customer, entered)| hits.contains(customer) && window(entered))
                .map(|(customer, _)| (customer, date.to_string(), None))
                .collect()
        } else {
            q::members(store, c.id)
                .await?
                .into_iter()
                .filter(|(customer, _)| hits.contains(customer))
                .map(|(customer, _)| (customer, date.to_string(), None))
                .collect()
        };
        let n = q::write_responses(store, c.id, "batch", &responses).await?;
        out.push(Captured {
            campaign_id: c.id,
            responses: n,
            finished: false,
        });
    }
    Ok(out)
}

/// An approved model's registry row.
async fn approved_model(store: &Store, model: &str) -> Result<panorama_store::models::ModelRow> {
    panorama_store::models::approved(store)
        .await?
        .into_iter()
        .find(|m| m.name == model)
        .ok_or_else(|| invalid(format!("no approved version of model '{model}'")))
}

/// The response rate of the control group of the campaign a response model
/// learnt from: what its scores are an uplift over.
async fn control_rate(store: &Store, model: &panorama_store::models::ModelRow) -> Result<f64> {
    let campaign = model
        .kind
        .strip_prefix("response:")
        .and_then(|c| c.parse::<i64>().ok())
        .ok_or_else(|| {
            invalid(format!(
                "model '{}' predicts {}, not a response to a campaign: ranking by expected value needs a response model learnt from a campaign with a control group",
                model.name, model.kind
            ))
        })?;
    let counts = q::arm_counts(store, campaign).await?;
    match counts.iter().find(|(arm, _, _)| arm == CONTROL) {
        Some((_, members, responders)) if *members > 0 => Ok(*responders as f64 / *members as f64),
        _ => Err(invalid(format!(
            "campaign {campaign}, which model '{}' learnt from, has no control group to measure uplift against",
            model.name
        ))),
    }
}

/// Each customer's expected incremental value (fen): the uplift of their
/// response score over `control` (none below it) times their lifetime
/// value; customers not yet valued are worth 0.
pub fn expected_values(
    scores: &HashMap<i64, f64>,
    control: f64,
    clv: &HashMap<i64, i64>,
) -> HashMap<i64, f64> {
    scores
        .iter()
        .map(|(c, s)| {
            let uplift = (s - control).max(0.0);
            (*c, uplift * clv.get(c).copied().unwrap_or(0) as f64)
        })
        .collect()
}

/// The latest scores of the approved version of `model`.
async fn scores_of(store: &Store, model: &str) -> Result<HashMap<i64, f64>> {
    let approved = approved_model(store, model).await?;
    Ok(panorama_store::models::latest_scores(store, approved.id)
        .await?
        .into_iter()
        .collect())
}

/// One arm's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArmReport {
    /// Arm name ([`CONTROL`] for the held-out group).
    pub arm: String,
    /// Response rate with its interval.
    pub rate: Rate,
    /// Lift over control (treated arms, when there is a control group).
    pub lift: Option<Lift>,
}

/// What the campaign earned over what it cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Economics {
    /// Responders above the control rate, summed over the treated arms.
    pub incremental_responders: f64,
    /// What one response is worth, fen.
    pub value_per_response_minor: Option<i64>,
    /// Incremental responders × value, fen.
    pub incremental_value_minor: Option<i64>,
    /// The budget, fen.
    pub cost_minor: Option<i64>,
    /// (value − cost) / cost.
    pub roi: Option<f64>,
}

/// A campaign's results: per arm, the cumulative response rate by date and
/// the economics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Per arm.
    pub arms: Vec<ArmReport>,
    /// (date, arm → cumulative rate).
    pub curve: Vec<(String, BTreeMap<String, f64>)>,
    /// Money.
    pub economics: Economics,
    /// Finished: these are the frozen results.
    #[serde(default)]
    pub frozen: bool,
}

impl Results {
    /// The control arm's rate.
    pub fn control(&self) -> Option<&Rate> {
        self.arms.iter().find(|a| a.arm == CONTROL).map(|a| &a.rate)
    }

    /// The treated arms pooled.
    pub fn treated(&self) -> Rate {
        let (k, n) = self
            .arms
            .iter()
            .filter(|a| a.arm != CONTROL)
            .fold((0, 0), |(k, n), a| {
                (k + a.rate.responders, n + a.rate.members)
            });
        rate(k, n)
    }
}

fn economics(
    arms: &[ArmReport],
    control: Option<&Rate>,
    value: Option<i64>,
    cost: Option<i64>,
) -> Economics {
    let incremental: f64 = match control {
        Some(ctl) => arms
            .iter()
            .filter(|l| l.arm != CONTROL)
            .map(|l| (l.rate.rate - ctl.rate) * l.rate.members as f64)
            .sum(),
        None => 0.0,
    };
    let value_minor = value.map(|v| (incremental * v as f64).round() as i64);
    let roi = match (value_minor, cost) {
        (Some(v), Some(c)) if c > 0 => Some((v - c) as f64 / c as f64),
        _ => None,
    };
    Economics {
        incremental_responders: incremental,
        value_per_response_minor: value,
        incremental_value_minor: value_minor,
        cost_minor: cost,
        roi,
    }
}

/// A campaign's results: frozen when it is finished (unless `value`
/// re-prices them), counted from its members and responses otherwise.
/// `value` is what one response is worth (fen; default: the mean value
/// recorded with the responses).
pub async fn results(store: &Store, c: &CampaignRow, value: Option<i64>) -> Result<Results> {
    if c.status == "finished"
        && let Some(text) = q::results(store, c.id).await?
    {
        let mut frozen: Results = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("campaign {}: frozen results unreadable: {e}", c.id)))?;
        if value.is_some() {
            let control = frozen.control().copied();
            frozen.economics = economics(&frozen.arms, control.as_ref(), value, c.budget_minor);
        }
        frozen.frozen = true;
        return Ok(frozen);
    }
    let counts = q::arm_counts(store, c.id).await?;
    // A launched campaign may have no members (the contact policy left
    // nobody); one not launched has no results yet.
    if counts.is_empty() && !["live", "finished"].contains(&c.status.as_str()) {
        return Err(invalid(format!(
            "campaign {} has no members yet: launch it first",
            c.id
        )));
    }
    let control = counts
        .iter()
        .find(|(arm, _, _)| arm == CONTROL)
        .map(|(_, n, k)| rate(*k as u64, *n as u64));
    let arms: Vec<ArmReport> = counts
        .iter()
        .map(|(arm, n, k)| {
            let r = rate(*k as u64, *n as u64);
            ArmReport {
                arm: arm.clone(),
                rate: r,
                lift: (arm != CONTROL)
                    .then_some(control)
                    .flatten()
                    .map(|ctl| lift(&r, &ctl)),
            }
        })
        .collect();
    let members: BTreeMap<String, i64> =
        counts.iter().map(|(arm, n, _)| (arm.clone(), *n)).collect();
    let mut so_far: BTreeMap<String, i64> = BTreeMap::new();
    let mut curve: Vec<(String, BTreeMap<String, f64>)> = Vec::new();
    for (arm, day, k) in q::responses_by_day(store, c.id).await? {
        *so_far.entry(arm).or_default() += k;
        let point: BTreeMap<String, f64> = members
            .iter()
            .map(|(a, n)| {
                let r = so_far.get(a).copied().unwrap_or(0) as f64 / (*n).max(1) as f64;
                (a.clone(), r)
            })
            .collect();
        match curve.last_mut() {
            Some((d, p)) if *d == day => *p = point,
            _ => curve.push((day, point)),
        }
    }
    let value = match value {
        Some(v) => Some(v),
        None => q::mean_response_value(store, c.id).await?,
    };
    let economics = economics(&arms, control.as_ref(), value, c.budget_minor);
    Ok(Results {
        arms,
        curve,
        economics,
        frozen: false,
    })
}

/// Finishes a live campaign (on `on`, default today): its results are
/// counted one last time and kept; returns them.
pub async fn finish(store: &Store, id: i64, on: Option<NaiveDate>, by: &str) -> Result<Results> {
    let c = campaign_in(store, id, &["live"], "only a live campaign is finished").await?;
    let mut r = results(store, &c, None).await?;
    r.frozen = true;
    let on = on.unwrap_or_else(|| chrono::Local::now().date_naive());
    let text = serde_json::to_string(&r).map_err(|e| invalid(format!("results: {e}")))?;
    q::finish(store, id, &on.to_string(), &text, by).await?;
    Ok(r)
}

/// One launched campaign beside the others: the same measures for every
/// campaign, so results compare across campaigns.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    /// The campaign.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Objective.
    pub objective: String,
    /// Channel.
    pub channel: String,
    /// live / finished.
    pub status: String,
    /// Selected on.
    pub launched_on: Option<String>,
    /// Finished on.
    pub finished_on: Option<String>,
    /// Treated arms pooled.
    pub treated: Rate,
    /// The control group.
    pub control: Option<Rate>,
    /// Treated over control.
    pub lift: Option<Lift>,
    /// Money.
    pub economics: Economics,
    /// Cost per incremental responder, fen.
    pub cost_per_incremental_minor: Option<i64>,
    /// The arm with the highest response rate.
    pub best_arm: Option<String>,
}

/// Every launched campaign measured the same way, newest first.
pub async fn compare(store: &Store) -> Result<Vec<Compared>> {
    let mut out = Vec::new();
    for c in q::list(store).await? {
        if !["live", "finished"].contains(&c.status.as_str()) {
            continue;
        }
        let r = results(store, &c, None).await?;
        let treated = r.treated();
        let control = r.control().copied();
        let best_arm = r
            .arms
            .iter()
            .filter(|a| a.arm != CONTROL)
            .max_by(|a, b| a.rate.rate.total_cmp(&b.rate.rate))
            .map(|a| a.arm.clone());
        let incremental = r.economics.incremental_responders;
        out.push(Compared {
            id: c.id,
            name: c.name.clone(),
            objective: c.objective.clone(),
            channel: Eligibility::of(&c).map(|e| e.channel).unwrap_or_default(),
            status: c.status.clone(),
            launched_on: c.launched_on.clone(),
            finished_on: c.finished_on.clone(),
            treated,
            control,
            lift: control.map(|ctl| lift(&treated, &ctl)),
            cost_per_incremental_minor: c
                .budget_minor
                .filter(|_| incremental >= 1.0)
                .map(|b| (b as f64 / incremental).round() as i64),
            economics: r.economics,
            best_arm,
        });
    }
    Ok(out)
}

/// Assets lost (a share) that count as a customer leaving, in the
/// marketing effect's attrition.
pub const ATTRITION_DROP: f64 = 0.8;

/// A rate outcome, marketed customers against the universal control group.
#[derive(Debug, Clone, Serialize)]
pub struct RateEffect {
    /// Customers marketed to (everyone outside the group).
    pub marketed: Rate,
    /// The universal control group.
    pub held_out: Rate,
    /// Marketed over held out.
    pub lift: Lift,
    /// The difference times the customers marketed to.
    pub incremental: f64,
}

/// A mean outcome (an amount in fen), marketed against held out.
#[derive(Debug, Clone, Serialize)]
pub struct MeanEffect {
    /// Customers marketed to.
    pub marketed: Mean,
    /// The universal control group.
    pub held_out: Mean,
    /// Marketed − held out, fen per customer.
    pub difference: Difference,
    /// The difference times the customers marketed to, fen.
    pub incremental_minor: i64,
}

/// The whole marketing programme's effect over a period: the customers of
/// the year's universal control group — left out of every campaign of the
/// year by a hash of their id, so chosen at random — against everyone else,
/// on what the bank wants campaigns to move: product take-up, attrition
/// and assets. Each campaign's control group measures that campaign; this
/// measures all of them together, contacts, fatigue and overlap included.
#[derive(Debug, Clone, Serialize)]
pub struct MarketingEffect {
    /// The universal control group's period (the year).
    pub period: String,
    /// The group's share of all customers.
    pub share: f64,
    /// Baseline features date.
    pub from: NaiveDate,
    /// Outcome features date.
    pub to: NaiveDate,
    /// Campaigns launched in the period.
    pub campaigns: Vec<i64>,
    /// Customers with accounts at `from`, in the group.
    pub held_out: u64,
    /// … and outside it.
    pub marketed: u64,
    /// Group customers a campaign of the period treated anyway (a campaign
    /// launched with a smaller or no universal control share); 0 when the
    /// comparison is clean.
    pub held_out_treated: u64,
    /// Customers outside the group that some campaign of the period treated.
    pub marketed_treated: u64,
    /// Took up a product class they did not hold at `from`.
    pub uptake: RateEffect,
    /// Of those with assets at `from`: lost more than [`ATTRITION_DROP`] of
    /// them, or left.
    pub attrition: RateEffect,
    /// Change in assets under management from `from` to `to`, fen.
    pub aum_change: MeanEffect,
}

/// What the effect reads of a customer on one date.
struct Holding {
    aum: f64,
    accounts: f64,
    classes: String,
}

/// Each customer's assets, accounts and held product classes on the
/// features of `path`.
async fn holdings(path: &Path) -> Result<HashMap<i64, Holding>> {
    let ctx = panorama_analytics::engine::session();
    ctx.register_parquet(
        "f",
        &path.display().to_string(),
        datafusion::prelude::ParquetReadOptions::default(),
    )
    .await?;
    let batches = ctx
        .sql("SELECT customer_id, aum, account_count, product_classes FROM f")
        .await?
        .collect()
        .await?;
    // Each column cast to the type read here, whatever the file stores.
    let cast = |b: &datafusion::arrow::record_batch::RecordBatch, k: usize, to: &DataType| {
        datafusion::arrow::compute::cast(b.column(k), to)
    };
    let mut out = HashMap::new();
    for b in &batches {
        let ids = cast(b, 0, &DataType::Int64)?;
        let ids = ids.as_primitive::<Int64Type>();
        let aum = cast(b, 1, &DataType::Float64)?;
        let aum = aum.as_primitive::<Float64Type>();
        let accounts = cast(b, 2, &DataType::Float64)?;
        let accounts = accounts.as_primitive::<Float64Type>();
        let classes = cast(b, 3, &DataType::Utf8)?;
        let classes = classes.as_string::<i32>();
        let number = |a: &datafusion::arrow::array::Float64Array, i: usize| {
            if a.is_null(i) { 0.0 } else { a.value(i) }
        };
        for i in 0..b.num_rows() {
            if ids.is_null(i) {
                continue;
            }
            out.insert(
                ids.value(i),
                Holding {
                    aum: number(aum, i),
                    accounts: number(accounts, i),
                    classes: if classes.is_null(i) {
                        String::new()
                    } else {
                        classes.value(i).to_owned()
                    },
                },
            );
        }
    }
    Ok(out)
}

/// Whether `after` holds a product class `before` does not (classes as
/// stored: `,card,wealth,`).
fn took_up(before: &str, after: &str) -> bool {
    let held: HashSet<&str> = before.split(',').filter(|c| !c.is_empty()).collect();
    after.split(',').any(|c| !c.is_empty() && !held.contains(c))
}

/// What [`marketing_effect`] is asked.
#[derive(Debug, Clone, Default)]
pub struct EffectQuery {
    /// The year whose universal control group is measured (default: the
    /// year of the latest launch).
    pub year: Option<i32>,
    /// Baseline date (default: the year's first launch).
    pub from: Option<NaiveDate>,
    /// Outcome date (default: the latest business date).
    pub to: Option<NaiveDate>,
    /// The group's share (default: the smallest positive universal control
    /// share among the year's launched campaigns, the customers every one
    /// of them left out).
    pub share: Option<f64>,
    /// Compute the features of the two dates if the batch has not (the
    /// command line); a read (the web) only uses what is there.
    pub compute_features: bool,
}

/// Measures the whole programme of `ask.year` on its universal control group.
pub async fn marketing_effect(
    store: &Store,
    analytics: &Path,
    config: &Config,
    ask: &EffectQuery,
) -> Result<MarketingEffect> {
    let launched: Vec<(CampaignRow, NaiveDate)> = q::list(store)
        .await?
        .into_iter()
        .filter_map(|c| {
            let on = c
                .launched_on
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())?;
            Some((c, on))
        })
        .collect();
    let year = match ask.year {
        Some(y) => y,
        None => launched
            .iter()
            .map(|(_, on)| chrono::Datelike::year(on))
            .max()
            .ok_or_else(|| invalid("no campaign has been launched: give the year"))?,
    };
    let period = year.to_string();
    let mut campaigns = Vec::new();
    let mut shares = Vec::new();
    let mut first_launch: Option<NaiveDate> = None;
    for (c, on) in launched {
        if chrono::Datelike::year(&on) != year {
            continue;
        }
        campaigns.push(c.id);
        first_launch = Some(first_launch.map_or(on, |f| f.min(on)));
        let share = Eligibility::of(&c)?.universal_control;
        if share > 0.0 {
            shares.push(share);
        }
    }
    campaigns.sort_unstable();
    let share = match ask.share {
        Some(s) if s > 0.0 && s < 0.5 => s,
        Some(s) => return Err(invalid(format!("the share is above 0 and below 0.5, not {s}"))),
        None => shares.iter().copied().reduce(f64::min).ok_or_else(|| {
            invalid(format!(
                "no campaign launched in {period} held out a universal control group: give the share"
            ))
        })?,
    };
    let from = ask.from.or(first_launch).ok_or_else(|| {
        invalid(format!(
            "no campaign was launched in {period}: give the baseline date"
        ))
    })?;
    let to = match ask.to {
        Some(d) => d,
        None => {
            let latest = panorama_store::acrm::latest_business_date(store)
                .await?
                .ok_or_else(|| invalid("the store holds no data yet"))?;
            NaiveDate::parse_from_str(&latest[..10.min(latest.len())], "%Y-%m-%d")
                .map_err(|e| invalid(format!("latest business date '{latest}': {e}")))?
        }
    };
    if to <= from {
        return Err(invalid(format!(
            "the outcome date {to} is not after the baseline {from}"
        )));
    }
    let features = |on: NaiveDate| async move {
        if ask.compute_features {
            panorama_analytics::batch::ensure_features(store, analytics, config, on).await
        } else {
            panorama_analytics::batch::computed_features(analytics, on)
        }
    };
    let before = holdings(&features(from).await?).await?;
    let after = holdings(&features(to).await?).await?;
    let treated = q::treated_between(
        store,
        &format!("{period}-01-01"),
        &format!("{period}-12-31"),
    )
    .await?;
    Ok(effect_of(
        &before,
        &after,
        &treated,
        (&period, share),
        (from, to),
        campaigns,
    ))
}

/// The effect from each customer's holdings on the two dates (`before` on
/// `from`, `after` on `to`): the customers with accounts at the baseline,
/// split by the universal control group of `period` at `share`.
fn effect_of(
    before: &HashMap<i64, Holding>,
    after: &HashMap<i64, Holding>,
    treated: &HashSet<i64>,
    (period, share): (&str, f64),
    (from, to): (NaiveDate, NaiveDate),
    campaigns: Vec<i64>,
) -> MarketingEffect {
    // Per group (0 marketed, 1 held out): customers, took up, with assets,
    // left, treated.
    let mut counts = [[0u64; 5]; 2];
    let mut changes: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ids: Vec<&i64> = before.keys().collect();
    ids.sort_unstable();
    for id in ids {
        let b = &before[id];
        if b.accounts <= 0.0 {
            continue;
        }
        let g = usize::from(universal_control(*id, period, share));
        let a = after.get(id);
        let c = &mut counts[g];
        c[0] += 1;
        c[1] += u64::from(a.is_some_and(|a| took_up(&b.classes, &a.classes)));
        if b.aum > 0.0 {
            c[2] += 1;
            c[3] += u64::from(a.is_none_or(|a| a.aum < (1.0 - ATTRITION_DROP) * b.aum));
        }
        c[4] += u64::from(treated.contains(id));
        changes[g].push(a.map_or(0.0, |a| a.aum) - b.aum);
    }
    let [m, h] = counts;
    let rate_effect = |mk: Rate, ho: Rate| RateEffect {
        incremental: (mk.rate - ho.rate) * mk.members as f64,
        lift: lift(&mk, &ho),
        marketed: mk,
        held_out: ho,
    };
    let [marketed_changes, held_changes] = changes;
    let (mk, ho) = (mean(marketed_changes), mean(held_changes));
    let d = difference(&mk, &ho);
    MarketingEffect {
        period: period.to_owned(),
        share,
        from,
        to,
        campaigns,
        held_out: h[0],
        marketed: m[0],
        held_out_treated: h[4],
        marketed_treated: m[4],
        uptake: rate_effect(rate(m[1], m[0]), rate(h[1], h[0])),
        attrition: rate_effect(rate(m[3], m[2]), rate(h[3], h[2])),
        aum_change: MeanEffect {
            incremental_minor: (d.difference * m[0] as f64).round() as i64,
            marketed: mk,
            held_out: ho,
            difference: d,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(aum: f64, classes: &str) -> Holding {
        Holding {
            aum,
            accounts: 1.0,
            classes: classes.to_owned(),
        }
    }

    #[test]
    fn take_up_is_a_class_not_held_before() {
        assert!(took_up(",deposit,", ",deposit,card,"));
        assert!(!took_up(",deposit,card,", ",card,"));
        assert!(!took_up("", ""));
        assert!(took_up("", ",wealth,"));
    }

    #[test]
    fn the_effect_separates_the_group_and_finds_a_known_effect() {
        // 200,000 customers; marketing raises take-up from 5% to 8%, keeps
        // attrition at 0.4% where the group loses 1%, and adds 1,000 yuan of
        // assets to each customer who stays; the group is left alone.
        let (period, share) = ("2026", 0.05);
        let mut before = HashMap::new();
        let mut after = HashMap::new();
        let mut treated = HashSet::new();
        // Deterministic uniform draws per customer (splitmix64).
        let draw = |id: i64, salt: u64| {
            let mut z = (id as u64 ^ salt).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % 1_000_000) as f64 / 1e6
        };
        for id in 1..=200_000i64 {
            let held = universal_control(id, period, share);
            let (take_up, leave, gain) = if held {
                (0.05, 0.01, 0.0)
            } else {
                (0.08, 0.004, 100_000.0)
            };
            let aum = 100_000.0 * (1.0 + (id % 7) as f64);
            before.insert(id, holding(aum, ",deposit,"));
            if draw(id, 1) < leave {
                continue; // gone by the outcome date
            }
            let classes = if draw(id, 2) < take_up {
                ",deposit,wealth,"
            } else {
                ",deposit,"
            };
            after.insert(id, holding(aum + gain, classes));
            if !held && id % 3 == 0 {
                treated.insert(id);
            }
        }
        // A customer without accounts is nobody's.
        before.insert(
            0,
            Holding {
                aum: 0.0,
                accounts: 0.0,
                classes: String::new(),
            },
        );
        let dates = (
            NaiveDate::from_ymd_opt(2026, 4, 30).unwrap_or_default(),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap_or_default(),
        );
        let e = effect_of(&before, &after, &treated, (period, share), dates, vec![7]);
        assert_eq!(
            (e.from, e.to, e.campaigns.as_slice()),
            (dates.0, dates.1, &[7][..])
        );
        assert_eq!(e.held_out + e.marketed, 200_000);
        let expected = 200_000.0 * share;
        assert!(
            (e.held_out as f64 - expected).abs() < 4.0 * expected.sqrt(),
            "{}",
            e.held_out
        );
        assert_eq!(e.held_out_treated, 0);
        assert!(e.marketed_treated > 0);
        // Each estimate within two interval widths (about four standard
        // errors) of the truth, and clearly not zero.
        let near = |l: &Lift, truth: f64| (l.difference - truth).abs() < 2.0 * (l.high - l.low);
        let u = &e.uptake;
        assert!(near(&u.lift, 0.03) && u.lift.p_value < 1e-6, "{:?}", u.lift);
        assert!((u.incremental - u.lift.difference * e.marketed as f64).abs() < 1e-6);
        let a = &e.attrition;
        assert!(near(&a.lift, -0.006) && a.lift.high < 0.0, "{:?}", a.lift);
        // Assets: those gone lose everything; the marketed who stay gain
        // 1,000 yuan each.
        let m = &e.aum_change;
        let se = (m.difference.high - m.difference.low) / 2.0;
        let truth = 0.996 * 100_000.0 + 0.006 * 400_000.0; // stayers' gain + fewer leavers' loss
        assert!(
            (m.difference.difference - truth).abs() < 4.0 * se,
            "{:?} against {truth}",
            m.difference
        );
        assert_eq!(
            m.incremental_minor,
            (m.difference.difference * e.marketed as f64).round() as i64
        );
    }
}
