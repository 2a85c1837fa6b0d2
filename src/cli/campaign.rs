//! `panorama campaign …`: design → approve → select and split under the
//! contact policy → export → (simulated) responses → report with lift.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{NaiveDate, Timelike as _};
use clap::Subcommand;
use panorama_analytics::Config;
use panorama_campaign::delivery::{self, Drained, QuietHours};
use panorama_campaign::service as ops;
use panorama_store::Store;
use panorama_store::campaigns as q;

use super::table;

/// When messages may go out: quiet hours and rest days.
#[derive(Debug, Clone, clap::Args)]
pub struct SendWindow {
    /// Quiet hours start (local hour, inclusive) …
    #[arg(long, default_value_t = 21)]
    quiet_start: u32,
    /// … and end (exclusive).
    #[arg(long, default_value_t = 8)]
    quiet_end: u32,
    /// The local time to judge quiet hours by (HH:MM; default: now).
    #[arg(long)]
    at: Option<String>,
    /// The day to judge rest days by (default: today).
    #[arg(long)]
    on: Option<NaiveDate>,
    /// The bank's calendar: `YYYY-MM-DD,rest` (public holidays) and
    /// `YYYY-MM-DD,work` (weekend days moved to work) lines; without it
    /// Saturdays and Sundays are the rest days.
    #[arg(long)]
    calendar: Option<PathBuf>,
}

impl SendWindow {
    /// The quiet hours, the hour to judge them by and whether it is a rest
    /// day, at `now` unless `--at` and `--on` say otherwise.
    pub(crate) fn judge(
        &self,
        now: chrono::DateTime<chrono::Local>,
    ) -> Result<(QuietHours, u32, bool)> {
        let rest_days = match &self.calendar {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("read {}", path.display()))?;
                delivery::RestDays::parse(&text)
                    .map_err(|e| anyhow::anyhow!("--calendar {}: {e}", path.display()))?
            }
            None => delivery::RestDays::default(),
        };
        let rest_day = rest_days.is_rest(self.on.unwrap_or_else(|| now.date_naive()));
        let hour = match &self.at {
            Some(t) => chrono::NaiveTime::parse_from_str(t, "%H:%M")
                .with_context(|| format!("--at {t}: HH:MM"))?
                .hour(),
            None => now.hour(),
        };
        let quiet = QuietHours {
            start: self.quiet_start,
            end: self.quiet_end,
        };
        Ok((quiet, hour, rest_day))
    }
}

/// Says what a drain left behind.
pub(crate) fn say_held(held: i64, opted_out: u64) {
    if held > 0 {
        say!(
            "{held} messages held for the next working day: a rest day, and their customers asked not to be disturbed on rest days"
        );
    }
    if opted_out > 0 {
        say!("{opted_out} messages not sent: their customers opted out of the channel since");
    }
}

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
        /// The product offered (every arm, unless `--offer` gives it another).
        #[arg(long)]
        product: Option<String>,
        /// An arm's own offer, `ARM=PRODUCT`, `ARM=PRODUCT|SCRIPT` or
        /// `ARM=|SCRIPT` (repeat for each arm tested against the others).
        #[arg(long = "offer")]
        offers: Vec<String>,
        /// Exclusions: a condition over the features; customers for whom it
        /// holds are not eligible (e.g. "holds('wealth') or age >= 75").
        #[arg(long)]
        exclude: Option<String>,
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
        /// Who goes first where room runs out: `score`, or `value` — the
        /// expected incremental value (the response model's uplift over its
        /// campaign's control rate × the customer's lifetime value).
        #[arg(long)]
        rank_by: Option<String>,
        /// Channels: rm, sms, email, branch or app; several, comma-separated,
        /// are tried in order for each treated member (e.g. `rm,sms`: a call
        /// by their RM, else an SMS).
        #[arg(long, default_value = "rm")]
        channel: String,
        /// Most treated members per channel, e.g. `rm=500,sms=20000`; when
        /// every channel has a limit, only as many eligible customers as
        /// they can take are selected (the best scored first).
        #[arg(long)]
        capacity: Option<String>,
        /// Most calls per RM on the rm channel.
        #[arg(long)]
        per_rm: Option<u64>,
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
        /// Always on: customers enter when this event arrives for them on
        /// the event feed (large_credit, first_salary, maturity_outflow,
        /// outbound_transfer, large_debit, dormant_wake, new_channel),
        /// instead of all at launch.
        #[arg(long)]
        trigger: Option<String>,
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
        /// Quiet hours and rest days.
        #[command(flatten)]
        window: SendWindow,
        /// Who runs the gateway adapter.
        #[arg(long, default_value = "gateway")]
        by: String,
    },
    /// Finish a live campaign: its results are counted one last time and
    /// kept (the batch finishes a campaign when its response window closes).
    Finish {
        /// Campaign id.
        id: i64,
        /// The day it ends (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
        /// Who finishes it.
        #[arg(long, default_value = "analyst")]
        by: String,
    },
    /// Every launched campaign measured the same way: treated and control
    /// rates, lift with its interval, incremental responders, cost per
    /// incremental responder and ROI.
    Compare {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The whole marketing programme of a year measured on its universal
    /// control group: product take-up, attrition and the change in assets
    /// of the customers every campaign left out, against everyone else.
    Effect {
        /// The year (default: that of the latest launch).
        #[arg(long)]
        year: Option<i32>,
        /// Baseline features date (default: the year's first launch).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Outcome features date (default: the latest business date).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// The group's share (default: the smallest universal control share
        /// of the year's campaigns).
        #[arg(long)]
        share: Option<f64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every campaign.
    List,
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
            offers,
            exclude,
            script,
            score_model,
            min_score,
            rank_by,
            channel,
            capacity,
            per_rm,
            universal_control,
            cap,
            cap_days,
            response,
            response_days,
            starts,
            ends,
            budget,
            priority,
            trigger,
            by,
        } => {
            let budget_minor = budget
                .as_deref()
                .map(|b| {
                    panorama_domain::money::Money::parse_major(b)
                        .map(|m| m.minor())
                        .with_context(|| format!("--budget {b}: an amount in yuan"))
                })
                .transpose()?;
            let (channel, fallback) = ops::parse_channels(&channel)?;
            let capacity = ops::parse_capacity(capacity.as_deref().unwrap_or(""))?;
            let offers = offers
                .iter()
                .map(|o| ops::ArmOffer::parse(o))
                .collect::<Result<Vec<_>, _>>()?;
            let d = ops::Design {
                name: name.clone(),
                objective,
                eligibility: ops::Eligibility {
                    segment,
                    exclude,
                    score_model,
                    min_score,
                    rank_by,
                    channel,
                    fallback,
                    capacity,
                    per_rm,
                    universal_control,
                    cap,
                    cap_days,
                    response_days,
                },
                control,
                arms,
                seed,
                product,
                script,
                offers,
                response,
                starts,
                ends,
                budget_minor,
                priority,
                by: by.clone(),
                trigger,
            };
            let id = ops::design(store, config, &d).await?;
            let arms = d.arms;
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
            let c = panorama_ocrm::approval::approve_campaign(store, id, &by).await?;
            say!("campaign {} '{}' approved by {by}", c.id, c.name);
            Ok(())
        }
        CampaignAction::Launch { id, as_of, by } => {
            launch(store, analytics, config, id, as_of, &by).await
        }
        CampaignAction::Export { id, out } => {
            ops::campaign_in(store, id, &["live", "finished"], "launch it first").await?;
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
            let c = ops::campaign_in(store, id, &["live"], "only a live campaign gets responses")
                .await?;
            let propensity = panorama_scoring::truth_propensity(store, &truth, &column).await?;
            let members = q::members(store, id).await?;
            let on = on
                .map(|d| d.to_string())
                .or(c.starts_on.clone())
                .unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
            let drawn = panorama_campaign::simulate::responses(
                id,
                &members,
                &propensity,
                organic,
                seed,
                &on,
            );
            let written = q::write_responses(store, id, "batch", &drawn.responses).await?;
            say!(
                "{written} responses recorded for campaign {id} (simulated from {column}, control at {organic} of it)"
            );
            for (arm, rate, n) in drawn.true_rates() {
                say!("  true rate {arm}: {rate:.4} over {n} members");
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
            window,
            by,
        } => {
            let now = chrono::Local::now();
            let (quiet, hour, rest_day) = window.judge(now)?;
            let Drained {
                batch,
                rows,
                held,
                opted_out,
            } = delivery::drain(store, "", &channel, limit, quiet, hour, rest_day, now, &by)
                .await?;
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
            say_held(held, opted_out);
            Ok(())
        }
        CampaignAction::Finish { id, on, by } => {
            ops::finish(store, id, on, &by).await?;
            say!("campaign {id} finished; its results are kept");
            report(store, id, None, false).await
        }
        CampaignAction::Compare { json } => compare(store, json).await,
        CampaignAction::Effect {
            year,
            from,
            to,
            share,
            json,
        } => {
            let ask = ops::EffectQuery {
                year,
                from,
                to,
                share,
                compute_features: true,
            };
            let e = ops::marketing_effect(store, analytics, config, &ask).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                print_effect(&e);
            }
            Ok(())
        }
        CampaignAction::Capture { as_of } => {
            for (id, n) in capture(store, analytics, config, as_of).await? {
                say!("campaign {id}: {n} new responses");
            }
            Ok(())
        }
        CampaignAction::List => {
            let rows = q::list(store).await?.into_iter().map(|c| {
                vec![
                    c.id.to_string(),
                    c.name,
                    c.objective,
                    c.status,
                    format!("{:.1}%", c.control_share_bp as f64 / 100.0),
                    format!(
                        "{} / {}",
                        c.created_by,
                        c.approved_by.as_deref().unwrap_or("-")
                    ),
                ]
            });
            table::print(
                0,
                &[
                    "id",
                    "name",
                    "objective",
                    "status",
                    "control",
                    "designed / approved",
                ],
                rows.collect(),
            );
            Ok(())
        }
    }
}

/// Launches a campaign and says what happened.
async fn launch(
    store: &Store,
    analytics: &Path,
    config: &Config,
    id: i64,
    as_of: Option<NaiveDate>,
    by: &str,
) -> Result<()> {
    let l = ops::launch(store, analytics, config, id, as_of, by).await?;
    say!("campaign {id} live: {}", l.detail());
    say!(
        "selected and split under the contact policy in {:.2} s; tasks and messages prepared in {:.2} s; written in {:.2} s",
        l.select_seconds,
        l.work_seconds,
        l.write_seconds
    );
    Ok(())
}

/// Captures responses for the live campaigns (and finishes those whose
/// window closed); returns (campaign, new responses).
pub async fn capture(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<Vec<(i64, u64)>> {
    let mut out = Vec::new();
    for x in ops::capture(store, analytics, config, as_of, "batch").await? {
        if x.finished {
            say!(
                "campaign {}: its response window closed; finished, results kept",
                x.campaign_id
            );
        } else {
            out.push((x.campaign_id, x.responses));
        }
    }
    Ok(out)
}

async fn report(store: &Store, id: i64, value: Option<i64>, json: bool) -> Result<()> {
    let c = q::get(store, id)
        .await?
        .with_context(|| format!("there is no campaign {id}"))?;
    let r = ops::results(store, &c, value).await?;
    let (lines, curve, money) = (&r.arms, &r.curve, &r.economics);
    let control = r.control();
    let members: std::collections::BTreeMap<String, u64> = lines
        .iter()
        .map(|l| (l.arm.clone(), l.rate.members))
        .collect();
    if json {
        say!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"arms": lines, "curve": curve, "economics": money, "frozen": r.frozen})
            )?
        );
        return Ok(());
    }
    say!(
        "campaign {} '{}' ({}, {}{})",
        c.id,
        c.name,
        c.objective,
        c.status,
        c.finished_on
            .as_deref()
            .map(|d| format!(" on {d}; results as kept then"))
            .unwrap_or_default()
    );
    let rows = lines.iter().map(|l| {
        let r = &l.rate;
        let mut row = vec![
            l.arm.clone(),
            r.members.to_string(),
            r.responders.to_string(),
            format!("{:.2}%", 100.0 * r.rate),
            format!("[{:.2}%, {:.2}%]", 100.0 * r.low, 100.0 * r.high),
        ];
        if let Some(x) = &l.lift {
            row.extend([
                format!("{:+.2}pp", 100.0 * x.difference),
                format!("[{:+.2}pp, {:+.2}pp]", 100.0 * x.low, 100.0 * x.high),
                x.relative
                    .map_or_else(|| "-".to_owned(), |v| format!("{:+.1}%", 100.0 * v)),
                format!("{:.4}", x.p_value),
            ]);
        }
        row
    });
    let header = [
        "arm",
        "members",
        "responders",
        "rate",
        "95% interval",
        "lift",
        "95% interval",
        "relative",
        "p-value",
    ];
    table::print(2, &header, rows.collect());
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
        for (day, point) in curve {
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

/// Prints every launched campaign measured the same way.
async fn compare(store: &Store, json: bool) -> Result<()> {
    let rows = ops::compare(store).await?;
    if json {
        say!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let yuan = |m: Option<i64>| {
        m.map_or_else(
            || "-".to_owned(),
            |m| panorama_domain::money::Money::from_minor(m).to_string(),
        )
    };
    let pct = |x: f64| format!("{:.2}%", 100.0 * x);
    let rows = rows.iter().map(|r| {
        let (lift, interval, p) = match &r.lift {
            Some(l) => (
                format!("{:+.2}pp", 100.0 * l.difference),
                format!("[{:+.2}pp, {:+.2}pp]", 100.0 * l.low, 100.0 * l.high),
                format!("{:.4}", l.p_value),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let roi = r.economics.roi.map(|x| format!("{:+.0}%", 100.0 * x));
        vec![
            r.id.to_string(),
            r.name.chars().take(20).collect(),
            r.objective.clone(),
            r.channel.clone(),
            r.status.clone(),
            r.treated.members.to_string(),
            pct(r.treated.rate),
            r.control.map_or_else(|| "-".to_owned(), |c| pct(c.rate)),
            lift,
            interval,
            p,
            format!("{:.1}", r.economics.incremental_responders),
            yuan(r.cost_per_incremental_minor),
            roi.unwrap_or_else(|| "-".into()),
        ]
    });
    let header = [
        "id",
        "name",
        "objective",
        "chan.",
        "status",
        "treated",
        "rate",
        "control",
        "lift",
        "95% interval",
        "p-value",
        "incr.",
        "cost/incr.",
        "ROI",
    ];
    table::print(0, &header, rows.collect());
    Ok(())
}

fn print_effect(e: &ops::MarketingEffect) {
    say!(
        "universal control group of {} ({:.1}% of customers, left out of the year's {} campaigns): {} customers with accounts on {}, against {} marketed to; outcomes on {}",
        e.period,
        100.0 * e.share,
        e.campaigns.len(),
        e.held_out,
        e.from,
        e.marketed,
        e.to
    );
    say!(
        "treated by a campaign of {}: {} of the marketed, {} of the group{}",
        e.period,
        e.marketed_treated,
        e.held_out_treated,
        if e.held_out_treated > 0 {
            " (campaigns with a smaller or no universal control share reached them: the comparison understates the effect)"
        } else {
            ""
        }
    );
    say!(
        "{:<12} {:>18} {:>18} {:>10} {:>22} {:>8} {:>14}",
        "outcome",
        "marketed",
        "held out",
        "effect",
        "95% interval",
        "p-value",
        "incremental"
    );
    let pct = |r: &panorama_campaign::Rate| format!("{:.2}%", 100.0 * r.rate);
    for (name, r) in [("take-up", &e.uptake), ("attrition", &e.attrition)] {
        say!(
            "{:<12} {:>18} {:>18} {:>+9.2}pp {:>22} {:>8.4} {:>14.1}",
            name,
            format!("{} of {}", pct(&r.marketed), r.marketed.members),
            format!("{} of {}", pct(&r.held_out), r.held_out.members),
            100.0 * r.lift.difference,
            format!(
                "[{:+.2}pp, {:+.2}pp]",
                100.0 * r.lift.low,
                100.0 * r.lift.high
            ),
            r.lift.p_value,
            r.incremental
        );
    }
    let yuan = |fen: f64| panorama_domain::money::Money::from_minor(fen.round() as i64).to_string();
    let a = &e.aum_change;
    say!(
        "{:<12} {:>18} {:>18} {:>11} {:>22} {:>8.4} {:>14}",
        "AUM change",
        yuan(a.marketed.mean),
        yuan(a.held_out.mean),
        yuan(a.difference.difference),
        format!("[{}, {}]", yuan(a.difference.low), yuan(a.difference.high)),
        a.difference.p_value,
        yuan(a.incremental_minor as f64)
    );
}
