//! The demo bank's months of work, so every role's pages have something real
//! to show (`panorama quickstart`): the nightly chain over several
//! month-ends, models trained by the analyst and approved by the executive,
//! a pilot campaign and a rollout targeted by what the pilot taught, both
//! answered by the synthetic bank's hidden propensities and finished with
//! their lift, targets set at head office and split down to the RMs, the
//! steward's decisions, and the RMs' contacts, opportunities, referrals and
//! complaints.
//!
//! Everything goes through the same services the CLI and the web app call,
//! with the same checks (four eyes, contact policy, scope). Deterministic for
//! a bank and a seed: the choices are the first rows of ordered lists and the
//! simulated responses are seeded; only the time stamps are the clock's.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use chrono::{Datelike as _, Days, Months, NaiveDate};
use panorama_analytics::Config;
use panorama_campaign::service as ops;
use panorama_models::cv::Learner;
use panorama_ocrm::sales as sales_ops;
use panorama_scoring::{Target, TrainSpec};
use panorama_store::Store;
use panorama_store::complaints::NewComplaint;
use panorama_store::ocrm::{self, CustomerFilter, NewContact};
use panorama_store::pipeline::{self, NewOpportunity};
use panorama_store::referrals::{self, NewReferral};
use panorama_store::scope::Scope;
use panorama_store::targets::{self as tq, Base, Child};
use serde::Serialize;

use crate::nightly;

/// What the demo's months are built from.
#[derive(Debug, Clone)]
pub struct DemoSpec<'a> {
    /// The last business date of the bank's data (the latest month-end).
    pub as_of: NaiveDate,
    /// Month-ends the nightly chain runs over, ending at `as_of`.
    pub months: u32,
    /// The synthetic bank's truth folder (its hidden propensities answer
    /// the campaigns).
    pub truth: &'a Path,
    /// Seed of the campaigns' splits and simulated responses.
    pub seed: u64,
}

/// What every step of the demo works on.
struct Bank<'a> {
    store: &'a Store,
    analytics: &'a Path,
    config: &'a Config,
    spec: &'a DemoSpec<'a>,
}

/// A model the demo trained and had approved.
#[derive(Debug, Clone, Serialize)]
pub struct DemoModel {
    /// Registry id.
    pub id: i64,
    /// Registry name.
    pub name: String,
    /// What it predicts.
    pub target: String,
    /// Its learner.
    pub learner: String,
    /// Test AUC.
    pub auc: f64,
    /// Whether it was approved to score (not when it tests no better than
    /// chance, which a small demo bank can give).
    pub approved: bool,
}

/// A campaign the demo ran.
#[derive(Debug, Clone, Serialize)]
pub struct DemoCampaign {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// live or finished.
    pub status: String,
    /// Treated and control members.
    pub members: u64,
    /// The best treated arm's lift over control, percentage points, with
    /// its interval (finished campaigns).
    pub lift: Option<(String, f64, f64, f64)>,
}

/// What the demo did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoReport {
    /// Nightly runs: as-of date and tier changes decided that month.
    pub nightly: Vec<(NaiveDate, usize)>,
    /// Models trained and approved.
    pub models: Vec<DemoModel>,
    /// Campaigns.
    pub campaigns: Vec<DemoCampaign>,
    /// Segments the analyst saved.
    pub segments: usize,
    /// Targets set at head office: (period, indicator, value).
    pub targets: Vec<(String, String, i64)>,
    /// Targets forecast, and org-unit targets forecast to miss.
    pub forecasts: (usize, usize),
    /// Review pairs left open for the steward.
    pub reviews_open: usize,
    /// The merge a steward made that can be undone.
    pub merge: Option<String>,
    /// Complaints by status.
    pub complaints: Vec<(String, usize)>,
    /// Referrals made (accepted, declined, open).
    pub referrals: (usize, usize, usize),
    /// Tasks due by the as-of date that the RMs completed.
    pub tasks_done: usize,
    /// Contacts recorded.
    pub contacts: usize,
    /// Opportunities opened.
    pub opportunities: usize,
    /// Sales registered from the extracts (业绩登记) by the nightly runs.
    pub sales_registered: usize,
    /// Sales tellers entered: (approved, pending a branch manager).
    pub sales_entered: (usize, usize),
    /// Credit disputes open for the branch manager.
    pub disputes_open: usize,
    /// Quarters appraised by the nightly runs, with the people scored.
    pub appraised: Vec<(String, usize)>,
    /// Last quarter's incentives: period, people, total in fen.
    pub incentives: Option<(String, usize, i64)>,
}

/// The last day of the month `back` months before `day`'s.
fn month_end(day: NaiveDate, back: u32) -> NaiveDate {
    let first = day.with_day(1).unwrap_or(day) - Months::new(back);
    first + Months::new(1) - Days::new(1)
}

const ANALYST: &str = "analyst1";

/// The analyst's saved segments: name, condition, what it is for.
const SEGMENTS: &[(&str, &str, &str)] = &[
    (
        "理财潜力客户",
        "aum >= 50000 and not holds('wealth')",
        "资产5万元以上、未持有理财",
    ),
    (
        "高价值客户",
        "tier in ('core', 'growth', 'platinum')",
        "核心、成长、白金客户",
    ),
    (
        "信用卡交叉销售",
        "not holds('card') and aum >= 10000",
        "资产1万元以上、未持有信用卡",
    ),
];
const APPROVER: &str = "exec1";
const BRANCH_MANAGER: &str = "bm1";
const STEWARD: &str = "steward1";
const AGENT: &str = "agent1";

/// Whether the store holds work the demo would add to: any campaign, model
/// or saved segment (the demo's of an earlier run, or a user's).
pub async fn has_run(store: &Store) -> Result<bool> {
    Ok(!panorama_store::campaigns::list(store).await?.is_empty()
        || !panorama_store::models::list(store).await?.is_empty()
        || !panorama_store::acrm::segments(store).await?.is_empty())
}

/// Runs the demo's months on a bank that has been ingested and resolved and
/// has its demo users; `progress` hears each step. Run it once per store
/// ([`has_run`]): a second run would add a second set of campaigns.
pub async fn run(
    store: &Store,
    analytics: &Path,
    config: &Config,
    spec: &DemoSpec<'_>,
    mut progress: impl FnMut(&str),
) -> Result<DemoReport> {
    if spec.months < 4 {
        bail!(
            "the demo needs at least 4 month-ends (pilot, lesson, rollout, now), not {}",
            spec.months
        );
    }
    let mut report = DemoReport::default();
    let bank = Bank {
        store,
        analytics,
        config,
        spec,
    };
    let ends: Vec<NaiveDate> = (0..spec.months)
        .rev()
        .map(|k| month_end(spec.as_of, k))
        .collect();
    let [.., pilot_at, lesson_at, rollout_at, now] = ends[..] else {
        unreachable!("at least four month-ends");
    };
    let nightly_until = async |day: NaiveDate, report: &mut DemoReport| -> Result<()> {
        let due: Vec<NaiveDate> = ends
            .iter()
            .copied()
            .filter(|d| *d <= day && report.nightly.iter().all(|(x, _)| x != d))
            .collect();
        for d in due {
            let n = nightly(store, analytics, config, Some(d))
                .await
                .with_context(|| format!("the nightly chain as of {d}"))?;
            report.nightly.push((d, n.batch.tier_changes_this_month));
            report.sales_registered += n.sales_registered.sales;
            let scored = n.appraisals.by_role.iter().map(|(_, k)| k).sum();
            match report
                .appraised
                .iter_mut()
                .find(|(p, _)| *p == n.appraisals.period)
            {
                Some(q) => q.1 = scored,
                None => report.appraised.push((n.appraisals.period.clone(), scored)),
            }
        }
        Ok(())
    };

    // The months before the pilot; then the cross-sell and churn models,
    // trained a year back and tested out of time, approved by another.
    nightly_until(pilot_at, &mut report).await?;
    progress(&format!(
        "nightly chain over {} month-ends to {pilot_at}",
        report.nightly.len()
    ));
    // The analyst's segments, saved on the pilot month's features; every
    // later batch refreshes them (members entering and leaving).
    for (name, condition, description) in SEGMENTS {
        panorama_analytics::saved_segments::save_rule(
            store,
            analytics,
            config,
            name,
            condition,
            Some(description),
            ANALYST,
        )
        .await
        .with_context(|| format!("saving segment {name}"))?;
        report.segments += 1;
    }

    let year_back = month_end(spec.as_of, 12);
    for (name, target, learner) in [
        (
            "card",
            Target::Uptake {
                class: "card".into(),
            },
            Learner::Gbdt,
        ),
        ("churn", Target::Churn { drop: 0.8 }, Learner::Logistic),
    ] {
        let m = train(&bank, name, target, learner, Some(year_back)).await?;
        progress(&format!(
            "model {} trained (test AUC {:.3}){}",
            m.name,
            m.auc,
            if m.approved {
                " and approved"
            } else {
                ", no better than chance: not approved"
            }
        ));
        report.models.push(m);
    }

    // The pilot: two offers against a control group, on the features of
    // `pilot_at`, answered the month after.
    let pilot_design = Campaign {
        name: "稳健理财试点 Wealth pilot",
        segment: "aum >= 50000 and not holds('wealth')",
        product: "W001",
        offers: &["B=W002|B方案：现金管理类理财，随存随取，收益高于活期"],
        arms: &["A", "B"],
        control: 0.2,
        score_model: None,
        rank_by: None,
        channel: "rm,sms",
        capacity: "",
        response: None,
        budget_minor: 2_000_000,
    };
    let pilot = run_campaign(&bank, &pilot_design, pilot_at).await?;
    nightly_until(lesson_at, &mut report).await?;
    let pilot = finish(store, pilot, lesson_at).await?;
    progress(&format!("pilot campaign {} finished", pilot.id));

    // The lesson: the pilot's responses train the response model.
    let response = train(
        &bank,
        "wealth_response",
        Target::Response { campaign: pilot.id },
        Learner::Logistic,
        None,
    )
    .await?;
    progress(&format!(
        "model {} learnt from the pilot (test AUC {:.3}){}",
        response.name,
        response.auc,
        if response.approved {
            " and approved"
        } else {
            ", no better than chance: not approved, the rollout goes unranked"
        }
    ));
    let ranked = response.approved;
    report.models.push(response);
    let winner = pilot
        .lift
        .as_ref()
        .map_or("A".to_owned(), |(arm, ..)| arm.clone());
    report.campaigns.push(pilot);

    // The rollout: the pilot's better offer to the customers the response
    // model scores highest, as many as the channels can take.
    nightly_until(rollout_at, &mut report).await?;
    let rollout_design = Campaign {
        name: "稳健理财推广 Wealth rollout",
        segment: "aum >= 20000 and not holds('wealth')",
        product: if winner == "B" { "W002" } else { "W001" },
        offers: &[],
        arms: &["A"],
        control: 0.1,
        score_model: ranked.then_some("wealth_response"),
        // The offer's room to those worth most to reach: uplift × value.
        rank_by: ranked.then_some("value"),
        channel: "rm,sms",
        capacity: "rm=300,sms=1500",
        response: None,
        budget_minor: 5_000_000,
    };
    let rollout = run_campaign(&bank, &rollout_design, rollout_at).await?;

    // Head office's targets for the year and the quarter, split down to
    // the RMs before the month-end's chain computes their actuals.
    report.targets = set_targets(store, now).await?;
    progress(&format!(
        "{} targets set at head office and split down to the RMs",
        report.targets.len()
    ));
    nightly_until(now, &mut report).await?;
    let rollout = finish(store, rollout, now).await?;
    progress(&format!("rollout campaign {} finished", rollout.id));
    report.campaigns.push(rollout);

    // Next month's campaign is live: the RMs' calls are on their lists,
    // its responses captured by the coming nightly runs.
    let live_design = Campaign {
        name: "信用卡交叉销售 Card cross-sell",
        segment: "not holds('card') and aum >= 10000",
        product: "C002",
        offers: &[],
        arms: &["A"],
        control: 0.1,
        score_model: report
            .models
            .iter()
            .any(|m| m.name == "card" && m.approved)
            .then_some("card"),
        rank_by: None,
        channel: "rm",
        capacity: "rm=400",
        response: Some("holds('card')"),
        budget_minor: 1_000_000,
    };
    let live = design_and_launch(&bank, &live_design, now).await?;
    let members = panorama_store::campaigns::members(store, live).await?.len() as u64;
    progress(&format!("campaign {live} live with {members} members"));
    report.campaigns.push(DemoCampaign {
        id: live,
        name: live_design.name.to_owned(),
        status: "live".into(),
        members,
        lift: None,
    });

    // A branch counter's walk-ins, typed without their ids: some the
    // matcher links, some it cannot be sure of.
    let walk_ins = walk_ins(store, spec.truth, now).await?;
    progress(&format!(
        "{walk_ins} walk-in records from the counter resolved"
    ));

    // The steward's day: the surest pair merged (undoable), the least sure
    // rejected, the rest left in the queue.
    let open = panorama_store::ecif::review_queue(store, "open", 100_000).await?;
    // (A small bank's queue of one or two pairs is left whole.)
    if let (Some(first), Some(last)) = (open.first(), open.last())
        && open.len() > 2
    {
        let merged = panorama_ecif::store::decide(store, first.id, true, STEWARD).await?;
        panorama_ecif::store::decide(store, last.id, false, STEWARD).await?;
        report.merge = Some(merged);
        report.reviews_open = open.len() - 2;
    } else {
        report.reviews_open = open.len();
    }

    report.tasks_done = work_the_lists(store, now).await?;
    relationship_work(store, &mut report).await?;
    progress("contacts, opportunities, referrals and complaints recorded");
    counter_sales(store, now, &mut report).await?;
    progress("sales registered at the counter, approved and disputed");
    // The targets forecast again now the RMs' pipeline is in.
    let forecast = panorama_ocrm::forecast::refresh(store, now).await?;
    let mut misses = 0;
    for p in tq::periods_of(now) {
        misses += panorama_ocrm::forecast::at_risk(store, &p.code, "")
            .await?
            .len();
    }
    report.forecasts = (forecast.targets, misses);
    progress(&format!(
        "{} targets forecast, {misses} org-unit targets forecast to miss",
        forecast.targets
    ));
    // Last quarter's incentives, from the appraisals its last nightly run
    // computed.
    let quarter_start = now.with_day(1).unwrap_or(now) - Months::new(now.month0() % 3);
    let last_quarter = panorama_store::targets::periods_of(quarter_start - Days::new(1))
        .into_iter()
        .find(|p| p.code.contains('Q'))
        .context("last quarter")?;
    if !panorama_store::appraisal::list(store, &last_quarter.code, None)
        .await?
        .is_empty()
    {
        let paid = panorama_ocrm::incentives::run(store, &last_quarter, "quickstart").await?;
        progress(&format!("incentives of {} computed", last_quarter.code));
        report.incentives = Some((last_quarter.code.clone(), paid.people, paid.total_minor));
    }
    Ok(report)
}

/// The counter's sales (业绩登记): each sub-branch's teller sells a wealth
/// product to customers of its RMs, one of them referred by an RM of the
/// next sub-branch; the branch manager approves all but the last, which
/// waits; the customer's RM disputes the split of the first.
async fn counter_sales(store: &Store, day: NaiveDate, report: &mut DemoReport) -> Result<()> {
    let rms = demo_rms(store).await?;
    let per = panorama_ocrm::users::DEMO_RMS_PER_SUB_BRANCH;
    let tellers = rms.len() / per;
    let mut entered = Vec::new();
    for t in 0..tellers {
        let teller = format!("teller{}", t + 1);
        let rm = &rms[t * per];
        let referrer = &rms[((t + 1) % tellers.max(1)) * per];
        let scope = Scope::Assigned(rm.id);
        let (book, _) = ocrm::customers(store, &scope, &CustomerFilter::default(), 0, 20).await?;
        for (i, c) in book.iter().skip(12).take(2).enumerate() {
            let entry = sales_ops::Entry {
                customer_no: &c.customer_no,
                product: if i == 0 { "W001" } else { "F001" },
                amount_minor: 5_000_000 * (1 + i as i64 + t as i64),
                sold_on: day,
                account_no: None,
                referrer: (i == 0 && referrer.id != rm.id).then_some(referrer.username.as_str()),
                note: Some("柜面销售"),
            };
            let id = sales_ops::enter(store, &teller, &entry, day)
                .await
                .with_context(|| format!("{teller} registering a sale"))?;
            entered.push((id, rm.username.clone()));
        }
    }
    let Some(((first, first_rm), rest)) = entered.split_first() else {
        return Ok(());
    };
    let (waiting, to_approve) = rest
        .split_last()
        .map_or((None, rest), |(w, r)| (Some(w), r));
    for (id, _) in std::iter::once(&(*first, first_rm.clone())).chain(to_approve) {
        sales_ops::decide(store, *id, true, None, BRANCH_MANAGER).await?;
        report.sales_entered.0 += 1;
    }
    report.sales_entered.1 += usize::from(waiting.is_some());
    sales_ops::dispute(
        store,
        *first,
        first_rm,
        "客户由我长期维护并促成，分成应提高",
    )
    .await
    .context("an RM disputing a credit")?;
    report.disputes_open += 1;
    Ok(())
}

/// People who came to a branch counter without their resident id, typed
/// by a teller into the counter system (柜面): two dozen of the bank's
/// people, some with another mobile than the bank holds, some with only a
/// name and a mobile, some with the name mistyped, some with only a name. The extract goes
/// through ingest and an incremental resolve like any other; what the
/// matcher cannot be sure of is the steward's queue. Returns the records.
async fn walk_ins(store: &Store, truth: &Path, day: NaiveDate) -> Result<usize> {
    const PEOPLE: usize = 24;
    let mut reader = csv::Reader::from_path(truth.join("parties.csv"))
        .with_context(|| format!("reading {}", truth.join("parties.csv").display()))?;
    let parties: Vec<csv::StringRecord> = reader
        .records()
        .filter_map(std::result::Result::ok)
        .collect();
    let companies: Vec<String> = parties
        .iter()
        .filter(|r| &r[1] == "organisation")
        .map(|r| r[2].to_owned())
        .collect();
    let people: Vec<(String, String, NaiveDate)> = parties
        .iter()
        .filter(|r| &r[1] == "person")
        .filter_map(|r| {
            Some((
                r[2].to_owned(),
                r[5].to_owned(),
                r[6].parse::<NaiveDate>().ok()?,
            ))
        })
        .collect();
    let step = (people.len() / PEOPLE).max(1);
    let mut rows = String::from("KEY,TYPE,NAME,DOB,MOBILE\n");
    let mut n = 0;
    for (k, (name, mobile, born)) in people.iter().step_by(step).take(PEOPLE).enumerate() {
        let row = match k % 4 {
            // Another mobile than the bank holds.
            0 => format!("{name},{born},1390000{k:04}"),
            // The name only, and the mobile.
            1 => format!("{name},,{mobile}"),
            // The name mistyped, the rest as held.
            2 => {
                let mut chars: Vec<char> = name.chars().collect();
                if let Some(last) = chars.last_mut() {
                    *last = if *last == '文' { '武' } else { '文' };
                }
                format!("{},{born},{mobile}", chars.into_iter().collect::<String>())
            }
            // The name alone.
            _ => format!("{name},,"),
        };
        rows.push_str(&format!("W{k:04},person,{row}\n"));
        n += 1;
    }
    // Companies known by their name alone (no credit code at the counter).
    let step = (companies.len() / 8).max(1);
    for (k, name) in companies.iter().step_by(step).take(8).enumerate() {
        rows.push_str(&format!("C{k:04},organisation,{name},,\n"));
        n += 1;
    }
    let dir = truth
        .parent()
        .unwrap_or(truth)
        .join(format!("walk-in-{day}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("counter_customers.csv"), rows)?;
    std::fs::write(
        dir.join("manifest.toml"),
        format!(
            "extract_date = \"{day}\"\n\
             [[systems]]\ncode = \"counter\"\nname = \"柜面\"\n\n\
             [[files]]\npath = \"counter_customers.csv\"\nsystem = \"counter\"\nkind = \"customers\"\n\
             [files.columns]\nKEY = \"source_key\"\nTYPE = \"party_type\"\nNAME = \"name\"\nDOB = \"birth_date\"\nMOBILE = \"mobile\"\n"
        ),
    )?;
    let options = panorama_ingest::Options {
        rejects_dir: dir.join("rejects"),
        copy: false,
    };
    panorama_ingest::ingest(store, &dir, &options, &|_, _, _| {}).await?;
    panorama_ecif::store::run_resolve(store, false).await?;
    Ok(n)
}

/// Trains a model as the analyst and has the executive approve it.
async fn train(
    bank: &Bank<'_>,
    name: &str,
    target: Target,
    learner: Learner,
    as_of: Option<NaiveDate>,
) -> Result<DemoModel> {
    let Bank {
        store,
        analytics,
        config,
        spec,
    } = *bank;
    let truth = matches!(target, Target::Uptake { .. } | Target::Churn { .. })
        .then(|| spec.truth.to_path_buf());
    let t = TrainSpec {
        name: name.to_owned(),
        target,
        as_of,
        horizon_months: 6,
        learner,
        by: ANALYST.into(),
        truth,
        seed: spec.seed,
        export: None,
        max_rows: panorama_scoring::MAX_ROWS,
    };
    let (id, _, r) = panorama_scoring::train(store, analytics, config, &t)
        .await
        .with_context(|| format!("training the {name} model"))?;
    // A model that tests no better than chance is left for the analyst,
    // not approved to score.
    let approved = r.test.auc > 0.5;
    if approved {
        panorama_ocrm::approval::approve_model(store, id, APPROVER).await?;
    }
    Ok(DemoModel {
        id,
        name: name.to_owned(),
        target: format!("{:?}", r.target),
        learner: r.learner,
        auc: r.test.auc,
        approved,
    })
}

/// A campaign's design as the demo writes it.
struct Campaign<'a> {
    name: &'a str,
    segment: &'a str,
    product: &'a str,
    offers: &'a [&'a str],
    arms: &'a [&'a str],
    control: f64,
    score_model: Option<&'a str>,
    rank_by: Option<&'a str>,
    channel: &'a str,
    capacity: &'a str,
    response: Option<&'a str>,
    budget_minor: i64,
}

/// Designs `c` as the analyst to run the month after `on`, has the branch
/// manager approve it, and launches it on the features of `on`.
async fn design_and_launch(bank: &Bank<'_>, c: &Campaign<'_>, on: NaiveDate) -> Result<i64> {
    let Bank {
        store,
        analytics,
        config,
        spec,
    } = *bank;
    let starts = on + Days::new(1);
    let (channel, fallback) = ops::parse_channels(c.channel)?;
    let d = ops::Design {
        name: c.name.to_owned(),
        objective: "cross_sell".into(),
        eligibility: ops::Eligibility {
            segment: c.segment.to_owned(),
            exclude: None,
            score_model: c.score_model.map(str::to_owned),
            min_score: 0.0,
            rank_by: c.rank_by.map(str::to_owned),
            channel,
            fallback,
            capacity: ops::parse_capacity(c.capacity)?,
            per_rm: Some(30),
            universal_control: 0.02,
            cap: 1,
            cap_days: 30,
            response_days: 30,
        },
        control: c.control,
        arms: c.arms.iter().map(|a| (*a).to_owned()).collect(),
        seed: spec.seed,
        product: Some(c.product.to_owned()),
        script: None,
        offers: c
            .offers
            .iter()
            .map(|o| ops::ArmOffer::parse(o))
            .collect::<Result<_, _>>()?,
        response: c.response.map(str::to_owned),
        starts: Some(starts),
        ends: Some(month_end(starts, 0)),
        budget_minor: Some(c.budget_minor),
        priority: 0,
        by: ANALYST.into(),
        trigger: None,
    };
    let id = ops::design(store, config, &d)
        .await
        .with_context(|| format!("designing campaign {}", c.name))?;
    panorama_ocrm::approval::approve_campaign(store, id, BRANCH_MANAGER).await?;
    ops::launch(store, analytics, config, id, Some(on), ANALYST)
        .await
        .with_context(|| format!("launching campaign {}", c.name))?;
    Ok(id)
}

/// Designs, approves and launches `c` on the features of `on`, and lets the
/// synthetic bank answer it in the month after.
async fn run_campaign(bank: &Bank<'_>, c: &Campaign<'_>, on: NaiveDate) -> Result<i64> {
    let (store, spec) = (bank.store, bank.spec);
    let id = design_and_launch(bank, c, on).await?;
    let propensity =
        panorama_scoring::truth_propensity(store, spec.truth, "p_wealth_response").await?;
    let members = panorama_store::campaigns::members(store, id).await?;
    let answered = (on + Days::new(15)).to_string();
    let drawn = panorama_campaign::simulate::responses(
        id,
        &members,
        &propensity,
        0.25,
        spec.seed,
        &answered,
    );
    panorama_store::campaigns::write_responses(store, id, "batch", &drawn.responses).await?;
    Ok(id)
}

/// Finishes campaign `id` on `on`, keeping its results.
async fn finish(store: &Store, id: i64, on: NaiveDate) -> Result<DemoCampaign> {
    let r = ops::finish(store, id, Some(on), ANALYST).await?;
    let c = ops::campaign_in(store, id, &["finished"], "finished").await?;
    let lift = r
        .arms
        .iter()
        .filter_map(|a| a.lift.as_ref().map(|l| (a.arm.clone(), l)))
        .max_by(|x, y| x.1.difference.total_cmp(&y.1.difference))
        .map(|(arm, l)| (arm, 100.0 * l.difference, 100.0 * l.low, 100.0 * l.high));
    Ok(DemoCampaign {
        id,
        name: c.name,
        status: c.status,
        members: r.arms.iter().map(|a| a.rate.members).sum(),
        lift,
    })
}

/// Head office's targets for the year and quarter containing `day`, sized
/// to the bank (per customer), split to the branches by AUM, and down the
/// branches that have RMs to them by their books.
async fn set_targets(store: &Store, day: NaiveDate) -> Result<Vec<(String, String, i64)>> {
    let head = ocrm::head_office(store)
        .await?
        .context("no head office: ingest a bank first")?;
    let customers = store.count("customer").await?;
    let periods = tq::periods_of(day);
    let mut set = Vec::new();
    for period in periods.iter().take(2) {
        let per_quarter = if period.code.contains('Q') { 1 } else { 4 };
        for (indicator, per_thousand) in [
            // Per thousand customers a quarter: yuan of AUM growth in fen,
            // else a count.
            ("aum_growth", 300_000_000_i64),
            ("wealth_sales", 12),
            ("new_customers", 8),
            ("campaign_conversions", 6),
        ] {
            let value = (per_thousand * per_quarter * customers / 1000).max(1);
            let id = panorama_ocrm::targets::set(store, period, indicator, &head, value, APPROVER)
                .await?;
            split_down(store, id).await?;
            set.push((period.code.clone(), indicator.to_owned(), value));
        }
    }
    Ok(set)
}

/// Splits target `id` among its children in proportion to their books, and
/// each child org unit's target in turn; an org unit with no RM and no
/// child keeps its whole target.
async fn split_down(store: &Store, id: i64) -> Result<()> {
    let mut todo = vec![id];
    while let Some(id) = todo.pop() {
        let t = tq::get(store, id).await?.context("a target just set")?;
        let kids = tq::children(store, &t).await?;
        if kids.is_empty() {
            continue;
        }
        let base = if kids.iter().any(|k| matches!(k.child, Child::Rm(_))) {
            Base::Customers
        } else {
            Base::Aum
        };
        let shares = panorama_ocrm::targets::split_in_proportion(store, &t, base, APPROVER).await?;
        for (child, _) in shares {
            if let Child::Org(org) = child
                && let Some(k) = tq::target_of(store, &t.period, &t.indicator, org).await?
                && has_rms_below(store, &k).await?
            {
                todo.push(k.id);
            }
        }
    }
    Ok(())
}

/// Whether the org unit of target `t` has RMs somewhere below it.
async fn has_rms_below(store: &Store, t: &tq::TargetRow) -> Result<bool> {
    let kids = tq::children(store, t).await?;
    if kids.iter().any(|k| matches!(k.child, Child::Rm(_))) {
        return Ok(true);
    }
    for k in kids {
        if let Child::Org(org) = k.child {
            let child = tq::TargetRow {
                org_unit_id: org,
                ..t.clone()
            };
            if Box::pin(has_rms_below(store, &child)).await? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The demo's RMs: `rm1`, `rm2`, … as made.
async fn demo_rms(store: &Store) -> Result<Vec<ocrm::UserRow>> {
    let mut rms = Vec::new();
    for n in 1.. {
        match ocrm::user_by_username(store, &format!("rm{n}")).await? {
            Some(u) => rms.push(u),
            None => break,
        }
    }
    Ok(rms)
}

/// The RMs worked their lists through `day`: every task due by then is
/// done (the months' alerts and the finished campaigns' calls), so their
/// workbench shows what is due next. Returns how many.
async fn work_the_lists(store: &Store, day: NaiveDate) -> Result<usize> {
    let day = day.to_string();
    let mut done = 0;
    for rm in demo_rms(store).await? {
        for t in ocrm::open_tasks(store, rm.id, 100_000).await? {
            if t.due_on.as_deref().is_some_and(|d| d <= day.as_str())
                && ocrm::complete_task(store, rm.id, t.id).await?
            {
                done += 1;
            }
        }
    }
    Ok(done)
}

/// The RMs' month: contacts (some with a follow-up task), opportunities at
/// each stage, referrals of related customers to their RMs, and complaints
/// at each stage of their handling.
async fn relationship_work(store: &Store, report: &mut DemoReport) -> Result<()> {
    let rms = demo_rms(store).await?;
    let agent = ocrm::user_by_username(store, AGENT)
        .await?
        .context("the demo users: agent1")?;
    let follow_up = (panorama_store::now_utc()[..10]).to_owned();
    let stages = ["lead", "contacted", "proposal", "won", "lost"];
    let products = ["W001", "F001", "C002", "D100", "I001"];
    let mut complaint_n = 0;
    for (k, rm) in rms.iter().enumerate() {
        let scope = Scope::Assigned(rm.id);
        let (book, _) = ocrm::customers(store, &scope, &CustomerFilter::default(), 0, 12).await?;
        for (i, c) in book.iter().enumerate() {
            // Contacts: a call or visit to the first customers, the first
            // two with a follow-up on the RM's list.
            if i < 4 {
                let (channel, outcome) = [
                    ("phone", "客户有意向，约下周面谈"),
                    ("visit", "上门拜访，介绍理财产品"),
                    ("wechat", "发送产品资料"),
                    ("branch", "网点面谈，完成风险评估"),
                ][i];
                ocrm::record_contact(
                    store,
                    &NewContact {
                        customer_id: c.id,
                        user_id: rm.id,
                        channel,
                        outcome,
                        notes: None,
                        follow_up_on: (i < 2).then_some(follow_up.as_str()),
                    },
                )
                .await?;
                report.contacts += 1;
            }
            // Opportunities at each stage, from the fourth customer on.
            if (4..9).contains(&i) {
                let stage = stages[(i + k) % stages.len()];
                // 100,000 to 500,000 yuan, in fen.
                let amount = 10_000_000 * (1 + (i + k) as i64 % 5);
                let made = pipeline::create(
                    store,
                    &NewOpportunity {
                        customer_id: c.id,
                        owner_user_id: rm.id,
                        product_code: products[(i + k) % products.len()],
                        amount_minor: Some(amount),
                        expected_close: Some(&follow_up),
                        campaign_id: None,
                        notes: None,
                    },
                    &rm.username,
                )
                .await?;
                let Ok(id) = made else {
                    bail!("an opportunity for customer {}: {made:?}", c.id);
                };
                for s in stages.iter().skip(1).take_while(|s| **s != stage) {
                    if !pipeline::is_closed(s) {
                        move_opportunity(store, id, rm, s).await?;
                    }
                }
                if stage != "lead" {
                    move_opportunity(store, id, rm, stage).await?;
                }
                report.opportunities += 1;
            }
            // A complaint from every third RM's first customer, each at
            // another stage of its handling.
            if i == 9 && k % 3 == 0 {
                complain(store, c.id, &agent, complaint_n).await?;
                complaint_n += 1;
            }
        }
        // Referrals: a related customer served by another RM.
        for c in book.iter().take(8) {
            let related = ocrm::related_of(store, c.id).await?;
            let other = {
                let mut found = None;
                for r in &related {
                    if let Some(to) = pipeline::primary_rm(store, r.customer_id).await?
                        && to != rm.id
                    {
                        found = Some((r.customer_id, to));
                        break;
                    }
                }
                found
            };
            let Some((customer, to_user)) = other else {
                continue;
            };
            let made = referrals::create(
                store,
                &scope,
                &NewReferral {
                    via: c.id,
                    customer,
                    product: Some("W001"),
                    note: Some("客户的家人，有理财需求"),
                    from_user: rm.id,
                    actor: &rm.username,
                },
            )
            .await?;
            let Ok(id) = made else { continue };
            let recipient = ocrm::user_by_id(store, to_user)
                .await?
                .context("the referral's RM")?;
            let made = report.referrals.0 + report.referrals.1 + report.referrals.2;
            match made % 3 {
                0 => {
                    if referrals::accept(store, id, to_user, None, &recipient.username)
                        .await?
                        .is_ok()
                    {
                        report.referrals.0 += 1;
                    }
                }
                1 => {
                    if referrals::decline(store, id, to_user, "客户暂无需求", &recipient.username)
                        .await?
                        .is_ok()
                    {
                        report.referrals.1 += 1;
                    }
                }
                _ => report.referrals.2 += 1,
            }
            break;
        }
    }
    for status in panorama_ocrm::complaints::STATUSES {
        let n = panorama_store::complaints::list(store, &Scope::All, Some(status), None, 1000)
            .await?
            .len();
        report.complaints.push(((*status).to_owned(), n));
    }
    Ok(())
}

async fn move_opportunity(store: &Store, id: i64, rm: &ocrm::UserRow, stage: &str) -> Result<()> {
    let moved = pipeline::move_stage(store, id, rm.id, stage, None, &rm.username).await?;
    if let Err(why) = moved {
        bail!("opportunity {id} to {stage}: {why:?}");
    }
    Ok(())
}

/// A complaint recorded by the service desk, taken to the `n`-th stage
/// (cycling open, in progress, escalated, resolved, closed).
async fn complain(store: &Store, customer: i64, agent: &ocrm::UserRow, n: usize) -> Result<()> {
    use panorama_ocrm::complaints::{self as k, Action};
    let (category, description) = [
        ("fees", "对账户管理费有异议，要求退还"),
        ("service", "网点排队时间过长"),
        ("card", "信用卡年费未按约定减免"),
        ("product", "理财产品收益低于预期，认为销售时未充分揭示风险"),
        ("service", "客户经理未及时回电"),
    ][n % 5];
    let id = k::open(
        store,
        &NewComplaint {
            customer_id: customer,
            category,
            channel: "phone",
            severity: if n % 2 == 0 { "normal" } else { "high" },
            description,
            actor: &agent.username,
            actor_id: agent.id,
        },
    )
    .await?;
    let steps: &[(Action, Option<&str>)] = match n % 5 {
        0 => &[],
        1 => &[(Action::Start, None)],
        2 => &[(Action::Start, None), (Action::Escalate, None)],
        3 => &[
            (Action::Start, None),
            (Action::Resolve, Some("已退还费用并致歉")),
        ],
        _ => &[
            (Action::Start, None),
            (Action::Resolve, Some("已回电解释，客户表示满意")),
            (Action::Close, None),
        ],
    };
    for (action, note) in steps {
        if let Err(why) = k::act(store, &Scope::All, id, *action, *note, &agent.username).await? {
            bail!("complaint {id}, {action:?}: {why:?}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_ends_count_back_from_the_as_of_month() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(month_end(d("2026-10-31"), 0), d("2026-10-31"));
        assert_eq!(month_end(d("2026-10-31"), 1), d("2026-09-30"));
        assert_eq!(month_end(d("2026-03-31"), 1), d("2026-02-28"));
        assert_eq!(month_end(d("2026-10-31"), 12), d("2025-10-31"));
        assert_eq!(month_end(d("2026-11-01"), 0), d("2026-11-30"));
    }
}
