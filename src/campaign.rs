//! `panorama campaign …`: design → approve → select and split under the
//! contact policy → export → (simulated) responses → report with lift.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use chrono::{NaiveDate, Timelike};
use clap::Subcommand;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use panorama_analytics::Config;
use panorama_campaign::{CONTROL, Eligible, lift, rate, split, universal_control};
use panorama_store::Store;
use panorama_store::campaigns::{self as q, NewCampaign};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Campaign actions.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process; boxing buys nothing
pub enum CampaignAction {
    /// Design a campaign (a draft until approved); prints `campaign=ID` last.
    Create {
        /// Name.
        #[arg(long)]
        name: String,
        /// Who is eligible: a segment condition over the features
        /// (e.g. "aum >= 50000 and not holds('wealth')").
        #[arg(long)]
        segment: String,
        /// Share held out as the control group.
        #[arg(long, default_value_t = 0.1)]
        control: f64,
        /// Offer arms (A/B/n), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "A")]
        arms: Vec<String>,
        /// Seed of the split.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// acquire, cross_sell, upsell, retain or reactivate.
        #[arg(long, default_value = "cross_sell")]
        objective: String,
        /// The product offered (every arm).
        #[arg(long)]
        product: Option<String>,
        /// The message (SMS, e-mail, app) or the RM's script; a default
        /// naming the product otherwise.
        #[arg(long)]
        script: Option<String>,
        /// Only customers scored at least `--min-score` by this approved model.
        #[arg(long)]
        score_model: Option<String>,
        /// The score cut.
        #[arg(long, default_value_t = 0.0)]
        min_score: f64,
        /// Channel: rm, sms, email, branch or app.
        #[arg(long, default_value = "rm")]
        channel: String,
        /// Universal control group: this share of all customers is left out of every campaign of the year.
        #[arg(long, default_value_t = 0.02)]
        universal_control: f64,
        /// Frequency cap: at most this many campaign contacts …
        #[arg(long, default_value_t = 1)]
        cap: i64,
        /// … within this many days.
        #[arg(long, default_value_t = 30)]
        cap_days: u64,
        /// What counts as a response: a condition over the features that the
        /// batch checks after launch (e.g. "holds('wealth')").
        #[arg(long)]
        response: Option<String>,
        /// Days after launch in which a response counts.
        #[arg(long, default_value_t = 30)]
        response_days: u64,
        /// First and last day.
        #[arg(long)]
        starts: Option<NaiveDate>,
        /// Last day.
        #[arg(long)]
        ends: Option<NaiveDate>,
        /// What the campaign may cost, in yuan (the report's ROI).
        #[arg(long)]
        budget: Option<String>,
        /// Priority among overlapping campaigns: members of a live campaign
        /// of higher priority are not selected by this one.
        #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
        priority: i64,
        /// Who designs it.
        #[arg(long, default_value = "analyst")]
        by: String,
    },
    /// Approve a draft (someone other than its designer).
    Approve {
        /// Campaign id.
        id: i64,
        /// Who approves.
        #[arg(long)]
        by: String,
    },
    /// Select the eligible customers as of a features date, apply the contact
    /// policy, split into control and arms, and go live.
    Launch {
        /// Campaign id.
        id: i64,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Who launches it.
        #[arg(long, default_value = "analyst")]
        by: String,
    },
    /// Write the members as `customer_id,arm` (arm `control` for the held-out
    /// group): CSV, or an Excel workbook when the file ends in `.xlsx`.
    Export {
        /// Campaign id.
        id: i64,
        /// The file (`.csv` or `.xlsx`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Let the synthetic bank play the customers: each member responds with
    /// the probability its hidden propensity implies (control members at the
    /// organic share of it).
    Simulate {
        /// Campaign id.
        id: i64,
        /// The synthetic bank's truth folder.
        #[arg(long)]
        truth: PathBuf,
        /// The propensity column.
        #[arg(long, default_value = "p_wealth_response")]
        column: String,
        /// Share of a treated member's propensity an untreated one shows anyway.
        #[arg(long, default_value_t = 0.25)]
        organic: f64,
        /// Seed of the draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The responses' date.
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Per arm: members, responders, rate with its 95% interval, and lift over
    /// control with its interval and p-value.
    Report {
        /// Campaign id.
        id: i64,
        /// What one response is worth, in yuan (default: the mean value
        /// recorded with the responses), for the incremental value and ROI.
        #[arg(long)]
        value_per_response: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record the responses the batch can see: members of live campaigns
    /// whose response condition holds on the features of the date, within
    /// the response window (the batch does this after scoring).
    Capture {
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Hand queued SMS, e-mail or app messages to the gateway as a file
    /// (address, message, ids) and mark them sent — never in quiet hours.
    Drain {
        /// sms, email or app.
        #[arg(long)]
        channel: String,
        /// The gateway file (CSV).
        #[arg(long)]
        out: PathBuf,
        /// At most this many messages.
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
        /// Quiet hours start (local hour, inclusive) …
        #[arg(long, default_value_t = 21)]
        quiet_start: u32,
        /// … and end (exclusive).
        #[arg(long, default_value_t = 8)]
        quiet_end: u32,
        /// The local time to judge quiet hours by (HH:MM; default: now).
        #[arg(long)]
        at: Option<String>,
        /// Who runs the gateway adapter.
        #[arg(long, default_value = "gateway")]
        by: String,
    },
    /// Every campaign.
    List,
}

/// What a campaign selects and the policy it keeps (stored as its eligibility).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Eligibility {
    segment: String,
    score_model: Option<String>,
    min_score: f64,
    channel: String,
    universal_control: f64,
    cap: i64,
    cap_days: u64,
    /// Days after launch in which a response counts.
    #[serde(default = "default_window")]
    response_days: u64,
}

fn default_window() -> u64 {
    30
}

/// A report line.
#[derive(Debug, Clone, Serialize)]
struct ArmReport {
    arm: String,
    rate: panorama_campaign::Rate,
    lift: Option<panorama_campaign::Lift>,
}

/// Runs a campaign action.
pub async fn campaign(
    action: CampaignAction,
    store: &Store,
    analytics: &Path,
    config: &Config,
) -> Result<()> {
    match action {
        CampaignAction::Create {
            name,
            segment,
            control,
            arms,
            seed,
            objective,
            product,
            script,
            score_model,
            min_score,
            channel,
            universal_control,
            cap,
            cap_days,
            response,
            response_days,
            starts,
            ends,
            budget,
            priority,
            by,
        } => {
            if !(0.0..1.0).contains(&control) {
                bail!("--control is a share below 1, not {control}");
            }
            if !["rm", "sms", "email", "branch", "app"].contains(&channel.as_str()) {
                bail!("--channel: rm, sms, email, branch or app, not {channel}");
            }
            let arms: Vec<String> = arms
                .into_iter()
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect();
            if arms.is_empty() || arms.iter().any(|a| a == CONTROL) {
                bail!("--arms names the offer arms (A,B,…); `control` is the held-out group");
            }
            // The condition must compile now, not at launch.
            let vocab = panorama_analytics::batch::vocabulary(store, config).await?;
            panorama_analytics::segment::compile(&segment, &vocab)?;
            if let Some(rule) = &response {
                panorama_analytics::segment::compile(rule, &vocab)
                    .context("--response is a condition over the features")?;
            }
            let eligibility = Eligibility {
                response_days,
                segment,
                score_model,
                min_score,
                channel,
                universal_control,
                cap,
                cap_days,
            };
            let arm_rows: Vec<(String, Option<String>, Option<String>)> = arms
                .iter()
                .map(|a| (a.clone(), product.clone(), script.clone()))
                .collect();
            let budget_minor = budget
                .as_deref()
                .map(|b| {
                    panorama_domain::money::Money::parse_major(b)
                        .map(|m| m.minor())
                        .with_context(|| format!("--budget {b}: an amount in yuan"))
                })
                .transpose()?;
            let id = q::create(
                store,
                &NewCampaign {
                    name: &name,
                    objective: &objective,
                    eligibility: &serde_json::to_string(&eligibility)?,
                    control_share_bp: (control * 10_000.0).round() as i64,
                    seed: seed as i64,
                    starts_on: starts.map(|d| d.to_string()).as_deref(),
                    ends_on: ends.map(|d| d.to_string()).as_deref(),
                    response_rule: response.as_deref(),
                    budget_minor,
                    priority,
                    arms: &arm_rows,
                    created_by: &by,
                },
            )
            .await?;
            say!(
                "campaign {id} '{name}' designed by {by}: {} arm(s) {}, control {:.0}%; approve it with `panorama campaign approve {id} --by NAME` (someone else)",
                arms.len(),
                arms.join(","),
                control * 100.0
            );
            say!("campaign={id}");
            Ok(())
        }
        CampaignAction::Approve { id, by } => {
            let c = q::approve(store, id, &by).await?;
            say!("campaign {} '{}' approved by {by}", c.id, c.name);
            Ok(())
        }
        CampaignAction::Launch { id, as_of, by } => {
            launch(store, analytics, config, id, as_of, &by).await
        }
        CampaignAction::Export { id, out } => {
            campaign_in(store, id, &["live", "finished"], "launch it first").await?;
            let members = q::members(store, id).await?;
            let excel = out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            if excel {
                write_members_xlsx(&out, id, &members)?;
            } else {
                let mut w = csv::Writer::from_path(&out)
                    .with_context(|| format!("writing {}", out.display()))?;
                w.write_record(["customer_id", "arm"])?;
                for (customer, arm) in &members {
                    w.write_record([customer.to_string(), arm.clone()])?;
                }
                w.flush()?;
            }
            say!("{} members written to {}", members.len(), out.display());
            Ok(())
        }
        CampaignAction::Simulate {
            id,
            truth,
            column,
            organic,
            seed,
            on,
        } => {
            let c =
                campaign_in(store, id, &["live"], "only a live campaign gets responses").await?;
            let propensity = crate::scoring::truth_propensity(store, &truth, &column).await?;
            let members = q::members(store, id).await?;
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ (id as u64).rotate_left(32));
            let on = on
                .map(|d| d.to_string())
                .or(c.starts_on.clone())
                .unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
            let mut responses = Vec::new();
            let mut expected: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
            for (customer, arm) in &members {
                let p = propensity.get(customer).copied().unwrap_or(0.0);
                let p = if arm == CONTROL { p * organic } else { p };
                let e = expected.entry(arm.clone()).or_default();
                e.0 += p;
                e.1 += 1;
                if rng.random::<f64>() < p {
                    responses.push((*customer, on.clone(), None));
                }
            }
            let written = q::write_responses(store, id, "batch", &responses).await?;
            say!(
                "{written} responses recorded for campaign {id} (simulated from {column}, control at {organic} of it)"
            );
            for (arm, (sum, n)) in &expected {
                say!("  true rate {arm}: {:.4} over {n} members", sum / *n as f64);
            }
            Ok(())
        }
        CampaignAction::Report {
            id,
            value_per_response,
            json,
        } => {
            let value = value_per_response
                .as_deref()
                .map(|v| {
                    panorama_domain::money::Money::parse_major(v)
                        .map(|m| m.minor())
                        .with_context(|| format!("--value-per-response {v}: an amount in yuan"))
                })
                .transpose()?;
            report(store, id, value, json).await
        }
        CampaignAction::Drain {
            channel,
            out,
            limit,
            quiet_start,
            quiet_end,
            at,
            by,
        } => {
            if !["sms", "email", "app"].contains(&channel.as_str()) {
                bail!("--channel: sms, email or app, not {channel}");
            }
            let now = chrono::Local::now();
            let hour = match &at {
                Some(t) => chrono::NaiveTime::parse_from_str(t, "%H:%M")
                    .with_context(|| format!("--at {t}: HH:MM"))?
                    .hour(),
                None => now.hour(),
            };
            let quiet = if quiet_start > quiet_end {
                hour >= quiet_start || hour < quiet_end
            } else {
                hour >= quiet_start && hour < quiet_end
            };
            if quiet {
                bail!(
                    "quiet hours ({quiet_start}:00–{quiet_end}:00): no messages go out at {hour}:xx; nothing was sent"
                );
            }
            let batch = format!("{channel}-{}", now.format("%Y%m%dT%H%M%S%.6f"));
            let rows = q::drain(store, &channel, limit.max(1), &batch, &by).await?;
            let mut w = csv::Writer::from_path(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            w.write_record([
                "address",
                "message",
                "campaign_id",
                "customer_id",
                "outbox_id",
            ])?;
            for r in &rows {
                w.write_record([
                    r.address.clone(),
                    r.message.clone(),
                    r.campaign_id.to_string(),
                    r.customer_id.to_string(),
                    r.id.to_string(),
                ])?;
            }
            w.flush()?;
            say!(
                "{} {channel} messages handed to the gateway in {} (batch {batch})",
                rows.len(),
                out.display()
            );
            Ok(())
        }
        CampaignAction::Capture { as_of } => {
            for (id, n) in capture(store, analytics, config, as_of).await? {
                say!("campaign {id}: {n} new responses");
            }
            Ok(())
        }
        CampaignAction::List => {
            say!(
                "{:>4}  {:<24} {:<10} {:<9} {:>8}  designed / approved",
                "id",
                "name",
                "objective",
                "status",
                "control"
            );
            for c in q::list(store).await? {
                say!(
                    "{:>4}  {:<24} {:<10} {:<9} {:>7.1}%  {} / {}",
                    c.id,
                    c.name,
                    c.objective,
                    c.status,
                    c.control_share_bp as f64 / 100.0,
                    c.created_by,
                    c.approved_by.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
    }
}

/// Campaign `id` if its status is one of `allowed`; else an error saying `why`.
async fn campaign_in(
    store: &Store,
    id: i64,
    allowed: &[&str],
    why: &str,
) -> Result<q::CampaignRow> {
    let c = q::get(store, id)
        .await?
        .with_context(|| format!("there is no campaign {id}"))?;
    if !allowed.contains(&c.status.as_str()) {
        bail!("campaign {id} is {}: {why}", c.status);
    }
    Ok(c)
}

async fn launch(
    store: &Store,
    analytics: &Path,
    config: &Config,
    id: i64,
    as_of: Option<NaiveDate>,
    by: &str,
) -> Result<()> {
    let started = Instant::now();
    let c = campaign_in(
        store,
        id,
        &["approved"],
        "only an approved campaign is launched",
    )
    .await?;
    let rules: Eligibility = serde_json::from_str(&c.eligibility)
        .with_context(|| format!("campaign {id}: its eligibility is unreadable"))?;
    // Eligible: the segment condition on the features of the date, with the tier as stratum.
    let ctx = panorama_analytics::engine::session();
    let date = panorama_analytics::engine::register_features(&ctx, analytics, as_of).await?;
    let vocab = panorama_analytics::batch::vocabulary(store, config).await?;
    let filter = panorama_analytics::segment::compile(&rules.segment, &vocab)?;
    let batches = ctx
        .table("features")
        .await?
        .filter(filter)?
        .select_columns(&["customer_id", "tier"])?
        .collect()
        .await?;
    let mut eligible = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let tiers = datafusion::arrow::compute::cast(b.column(1), &DataType::Utf8)?;
        let tiers = tiers.as_string::<i32>();
        for i in 0..b.num_rows() {
            eligible.push(Eligible {
                customer_id: ids.value(i),
                stratum: tiers.value(i).to_owned(),
            });
        }
    }
    let selected = eligible.len();
    // A score cut from an approved model's latest scores.
    if let Some(model) = &rules.score_model {
        let scores = scores_of(store, model).await?;
        eligible.retain(|e| {
            scores
                .get(&e.customer_id)
                .is_some_and(|s| *s >= rules.min_score)
        });
    }
    let after_score = eligible.len();
    // The contact policy: opt-outs, the universal control group, the frequency cap.
    let opted_out = q::opted_out(store, &rules.channel).await?;
    eligible.retain(|e| !opted_out.contains(&e.customer_id));
    let after_opt_out = eligible.len();
    let period = date.format("%Y").to_string();
    eligible.retain(|e| !universal_control(e.customer_id, &period, rules.universal_control));
    let after_universal = eligible.len();
    let since = date - chrono::Days::new(rules.cap_days);
    let capped = q::capped(store, &since.to_string(), rules.cap.max(1)).await?;
    eligible.retain(|e| !capped.contains(&e.customer_id));
    let after_cap = eligible.len();
    // Priority: members of a live campaign of higher priority stay there.
    let reserved = q::reserved(store, id, c.priority).await?;
    eligible.retain(|e| !reserved.contains(&e.customer_id));
    let offers = q::offers(store, id).await?;
    let arms: Vec<String> = offers.keys().cloned().collect();
    let assignments = split(
        &eligible,
        c.control_share_bp as f64 / 10_000.0,
        &arms,
        c.seed as u64,
    );
    let owners = q::owners(store).await?;
    let members: Vec<q::MemberWrite> = assignments
        .into_iter()
        .map(|a| {
            let control = a.arm == CONTROL;
            (
                a.customer_id,
                a.arm,
                control,
                rules.channel.clone(),
                owners.get(&a.customer_id).copied(),
            )
        })
        .collect();
    let select_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    // The RM channel: each treated member with an RM is a call on that RM's list.
    let due = (date + chrono::Days::new(7)).to_string();
    let tasks: Vec<q::TaskWrite> = if rules.channel == "rm" {
        members
            .iter()
            .filter(|m| !m.2)
            .filter_map(|m| {
                let product = offers
                    .get(&m.1)
                    .and_then(|(p, _)| p.as_deref())
                    .map(|p| format!("，产品 {p}"))
                    .unwrap_or_default();
                Some((
                    m.4?,
                    m.0,
                    format!("营销活动「{}」方案 {}{product}：联系客户", c.name, m.1),
                    due.clone(),
                ))
            })
            .collect()
    } else {
        Vec::new()
    };
    // The message channels: each treated member with an address gets one
    // message in the outbox; the gateway adapter drains it.
    let messages: Vec<q::MessageWrite> =
        if ["sms", "email", "app"].contains(&rules.channel.as_str()) {
            let addresses = q::addresses(store, &rules.channel).await?;
            members
                .iter()
                .filter(|m| !m.2)
                .filter_map(|m| {
                    let address = addresses.get(&m.0)?;
                    let (product, script) = offers.get(&m.1).cloned().unwrap_or_default();
                    let text = script.unwrap_or_else(|| {
                        format!(
                            "尊敬的客户：我行为您精选{}，欢迎咨询您的客户经理。回T退订",
                            product.as_deref().unwrap_or("专属产品")
                        )
                    });
                    Some((m.0, rules.channel.clone(), address.clone(), text))
                })
                .collect()
        } else {
            Vec::new()
        };
    let work_seconds = started.elapsed().as_secs_f64();
    let control = members.iter().filter(|m| m.2).count();
    let detail = format!(
        "{selected} in the segment as of {date}, {} after the score cut, {} opted out, {} in the universal control group, {} over the frequency cap, {} in live campaigns of higher priority; {} members ({control} control), {} calls on RMs' lists, {} messages queued",
        after_score,
        after_score - after_opt_out,
        after_opt_out - after_universal,
        after_universal - after_cap,
        after_cap - eligible.len(),
        members.len(),
        tasks.len(),
        messages.len()
    );
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
        &detail,
    )
    .await?;
    say!("campaign {id} live: {detail}");
    say!(
        "selected and split under the contact policy in {select_seconds:.2} s; tasks and messages prepared in {work_seconds:.2} s; written in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Records, for every live campaign with a response condition, the members
/// (treated and control alike) for whom it holds on the features of the
/// date, if the date falls in the response window; returns the new
/// responses per campaign.
pub async fn capture(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<Vec<(i64, u64)>> {
    let live = q::live(store).await?;
    if live.is_empty() {
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
        let rules: Eligibility = serde_json::from_str(&c.eligibility)
            .with_context(|| format!("campaign {}: its eligibility is unreadable", c.id))?;
        let Some(launched) = q::launched_on(store, c.id)
            .await?
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if date <= launched || date > launched + chrono::Days::new(rules.response_days) {
            continue;
        }
        let filter = panorama_analytics::segment::compile(rule, &vocab)?;
        let hits: HashSet<i64> = panorama_analytics::batch::members_of(&ctx, filter)
            .await?
            .into_iter()
            .collect();
        let responses: Vec<(i64, String, Option<i64>)> = q::members(store, c.id)
            .await?
            .into_iter()
            .filter(|(customer, _)| hits.contains(customer))
            .map(|(customer, _)| (customer, date.to_string(), None))
            .collect();
        let n = q::write_responses(store, c.id, "batch", &responses).await?;
        out.push((c.id, n));
    }
    Ok(out)
}

/// The latest scores of the approved version of `model`.
async fn scores_of(store: &Store, model: &str) -> Result<std::collections::HashMap<i64, f64>> {
    let approved = panorama_store::models::approved(store)
        .await?
        .into_iter()
        .find(|m| m.name == model)
        .with_context(|| format!("no approved version of model '{model}'"))?;
    Ok(panorama_store::models::latest_scores(store, approved.id)
        .await?
        .into_iter()
        .collect())
}

/// What the campaign earned over what it cost: responders above the
/// control rate, their value, the budget and the return on it.
#[derive(Debug, serde::Serialize)]
struct Economics {
    incremental_responders: f64,
    value_per_response_minor: Option<i64>,
    incremental_value_minor: Option<i64>,
    cost_minor: Option<i64>,
    roi: Option<f64>,
}

fn economics(
    lines: &[ArmReport],
    control: Option<&panorama_campaign::Rate>,
    value: Option<i64>,
    cost: Option<i64>,
) -> Economics {
    let incremental: f64 = match control {
        Some(ctl) => lines
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

async fn report(store: &Store, id: i64, value: Option<i64>, json: bool) -> Result<()> {
    let c = q::get(store, id)
        .await?
        .with_context(|| format!("there is no campaign {id}"))?;
    let counts = q::arm_counts(store, id).await?;
    if counts.is_empty() {
        bail!("campaign {id} has no members yet: launch it first");
    }
    let control = counts
        .iter()
        .find(|(arm, _, _)| arm == CONTROL)
        .map(|(_, n, k)| rate(*k as u64, *n as u64));
    let lines: Vec<ArmReport> = counts
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
    // The cumulative response rate of each arm by response date.
    let members: std::collections::BTreeMap<String, i64> =
        counts.iter().map(|(arm, n, _)| (arm.clone(), *n)).collect();
    let mut so_far: std::collections::BTreeMap<String, i64> = Default::default();
    let mut curve: Vec<(String, std::collections::BTreeMap<String, f64>)> = Vec::new();
    for (arm, day, k) in q::responses_by_day(store, id).await? {
        *so_far.entry(arm).or_default() += k;
        let point: std::collections::BTreeMap<String, f64> = members
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
        None => q::mean_response_value(store, id).await?,
    };
    let money = economics(&lines, control.as_ref(), value, c.budget_minor);
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"arms": lines, "curve": curve, "economics": money})
            )?
        );
        return Ok(());
    }
    say!(
        "campaign {} '{}' ({}, {})",
        c.id,
        c.name,
        c.objective,
        c.status
    );
    say!(
        "  {:<8} {:>9} {:>10} {:>8} {:>17}   {:>9} {:>20} {:>9} {:>8}",
        "arm",
        "members",
        "responders",
        "rate",
        "95% interval",
        "lift",
        "95% interval",
        "relative",
        "p-value"
    );
    for l in &lines {
        let r = &l.rate;
        let lift_text = match &l.lift {
            Some(x) => format!(
                "{:>+8.2}pp [{:>+7.2}pp, {:>+7.2}pp] {:>9} {:>8.4}",
                100.0 * x.difference,
                100.0 * x.low,
                100.0 * x.high,
                x.relative
                    .map_or_else(|| "-".to_owned(), |v| format!("{:+.1}%", 100.0 * v)),
                x.p_value
            ),
            None => String::new(),
        };
        say!(
            "  {:<8} {:>9} {:>10} {:>7.2}% [{:>6.2}%, {:>6.2}%]   {}",
            l.arm,
            r.members,
            r.responders,
            100.0 * r.rate,
            100.0 * r.low,
            100.0 * r.high,
            lift_text
        );
    }
    if control.is_none() {
        say!("  no control group: lift cannot be measured");
    } else {
        let yuan = |m: Option<i64>| {
            m.map_or_else(
                || "-".to_owned(),
                |m| panorama_domain::money::Money::from_minor(m).to_string(),
            )
        };
        say!(
            "incremental responders {:.1} · value per response {} · incremental value {} · cost {} · ROI {}",
            money.incremental_responders,
            yuan(money.value_per_response_minor),
            yuan(money.incremental_value_minor),
            yuan(money.cost_minor),
            money
                .roi
                .map_or_else(|| "-".to_owned(), |r| format!("{:+.0}%", 100.0 * r))
        );
    }
    if !curve.is_empty() {
        say!("cumulative response rate by date:");
        say!(
            "  {:<10} {}",
            "date",
            members
                .keys()
                .map(|a| format!("{a:>9}"))
                .collect::<String>()
        );
        for (day, point) in &curve {
            say!(
                "  {:<10} {}",
                day,
                point
                    .values()
                    .map(|r| format!("{:>8.2}%", 100.0 * r))
                    .collect::<String>()
            );
        }
    }
    Ok(())
}

/// The members as a workbook: a sheet `members` (customer id, arm) and a
/// sheet `arms` with each arm's size.
fn write_members_xlsx(out: &std::path::Path, id: i64, members: &[(i64, String)]) -> Result<()> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet().set_name("members")?;
    sheet.write_string_with_format(0, 0, "customer_id", &bold)?;
    sheet.write_string_with_format(0, 1, "arm", &bold)?;
    let mut sizes: std::collections::BTreeMap<&str, u64> = Default::default();
    for (k, (customer, arm)) in members.iter().enumerate() {
        let row = u32::try_from(k + 1).context("too many members for a worksheet")?;
        sheet.write_number(row, 0, *customer as f64)?;
        sheet.write_string(row, 1, arm)?;
        *sizes.entry(arm.as_str()).or_default() += 1;
    }
    let sheet = book.add_worksheet().set_name("arms")?;
    sheet.write_string_with_format(0, 0, "arm", &bold)?;
    sheet.write_string_with_format(0, 1, "members", &bold)?;
    for (k, (arm, n)) in sizes.iter().enumerate() {
        sheet.write_string(k as u32 + 1, 0, *arm)?;
        sheet.write_number(k as u32 + 1, 1, *n as f64)?;
    }
    let sheet = book.add_worksheet().set_name("about")?;
    sheet.write_string(0, 0, "campaign")?;
    sheet.write_number(0, 1, id as f64)?;
    book.save(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
