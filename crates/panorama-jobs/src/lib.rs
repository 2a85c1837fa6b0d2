//! The nightly chain, one function for whoever runs it (`panorama batch`,
//! `quickstart`): the analytics batch for an as-of date, then the steps that
//! read what it wrote — search keys of changed names, complaints past their
//! SLA escalated, accounts opened registered as sales, the current periods'
//! target actuals, the quarter's appraisals, the approved models'
//! scores, and live campaigns' responses. Each step says what failed; a
//! failed step leaves what the steps before it committed.

use std::path::Path;

pub mod demo;

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use panorama_analytics::Config;
use panorama_analytics::batch::{self, BatchReport};
use panorama_campaign::service as ops;
use panorama_scoring::ScoreReport;
use panorama_store::names::NameIndexReport;
use serde::Serialize;

/// What a nightly run did.
#[derive(Debug, Clone, Serialize)]
pub struct Nightly {
    /// The analytics batch.
    #[serde(flatten)]
    pub batch: BatchReport,
    /// Customers whose names were keyed for pinyin search.
    pub name_keys: NameIndexReport,
    /// Complaints past their SLA handed to branch managers.
    pub complaints_escalated: u64,
    /// Accounts opened registered as sales and credited (业绩登记).
    pub sales_registered: panorama_ocrm::sales::Registered,
    /// Period and indicator pairs whose actuals were recomputed.
    pub targets_refreshed: usize,
    /// The targets forecast, with the win rates used.
    pub forecasts: panorama_ocrm::forecast::Refreshed,
    /// The quarter's appraisals (绩效考核) computed so far.
    pub appraisals: panorama_ocrm::appraisal::Ran,
    /// Each approved model's scoring.
    pub scores: Vec<ScoreReport>,
    /// Every customer's value (客户价值).
    pub values: panorama_scoring::clv::Valued,
    /// New responses per live campaign: (campaign, responses).
    pub campaign_responses: Vec<(i64, u64)>,
    /// Campaigns whose response window closed, finished with their results kept.
    pub campaigns_finished: Vec<i64>,
    /// The daily check of what no event announces (salaries that stopped).
    pub daily_check: panorama_events::tick::Ticked,
}

/// Runs the nightly chain for `as_of` (default: the latest business date in
/// the data).
pub async fn nightly(
    store: &panorama_store::Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<Nightly> {
    nightly_on(
        store,
        analytics,
        config,
        as_of,
        panorama_analytics::engine::session(),
    )
    .await
}

/// The nightly chain with the analytics batch's queries on `engine` (a
/// cluster's session: `panorama batch --cluster`); the rest runs here.
pub async fn nightly_on(
    store: &panorama_store::Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
    engine: panorama_analytics::engine::SessionContext,
) -> Result<Nightly> {
    let report = batch::run_on(store, analytics, config, as_of, engine)
        .await
        .context("analytics batch")?;
    // Search keys of names that changed since (or a store from before them).
    let name_keys = panorama_store::names::index_names(store)
        .await
        .context("keying names for search")?;
    // Complaints past their SLA (by the clock) go to the branch manager.
    let complaints_escalated =
        panorama_ocrm::complaints::escalate_overdue(store, &panorama_store::now_utc())
            .await
            .context("escalating complaints past their SLA")?;
    // Accounts opened become sales credited to who made them.
    let sales_registered = panorama_ocrm::sales::register(store, report.as_of)
        .await
        .context("registering the sales of accounts opened")?;
    // Targets of the periods containing the as-of date: actuals from the data.
    let targets_refreshed = panorama_store::targets::refresh_current(store, report.as_of)
        .await
        .context("computing the targets' actuals")?;
    // Where each of them will end: trend and pipeline.
    let forecasts = panorama_ocrm::forecast::refresh(store, report.as_of)
        .await
        .context("forecasting the targets")?;
    // The quarter's appraisals so far, from the credits and actuals above.
    let quarter = panorama_store::targets::periods_of(report.as_of)
        .into_iter()
        .find(|p| p.code.contains('Q'))
        .context("the quarter of the as-of date")?;
    let appraisals = panorama_ocrm::appraisal::run(store, &quarter, "system")
        .await
        .context("computing the quarter's appraisals")?;
    // The approved models score the batch's features.
    let scores = panorama_scoring::score(store, analytics, Some(report.as_of), None)
        .await
        .context("scoring with the approved models")?;
    // Every customer's value, with the churn model's retention just scored.
    let values =
        panorama_scoring::clv::store_values(store, analytics, &config.value, Some(report.as_of))
            .await
            .context("valuing the customers")?;
    // Live campaigns' responses visible in these features.
    let captured = ops::capture(store, analytics, config, Some(report.as_of), "batch")
        .await
        .context("capturing campaign responses")?;
    let (finished, live): (Vec<_>, Vec<_>) = captured.into_iter().partition(|x| x.finished);
    // Salaries that stopped arriving by the as-of date.
    let daily_check = panorama_events::tick::tick(store, &config.monitoring, report.as_of)
        .await
        .context("the daily check (salaries stopped)")?;
    Ok(Nightly {
        batch: report,
        name_keys,
        complaints_escalated,
        sales_registered,
        targets_refreshed,
        forecasts,
        appraisals,
        scores,
        values,
        campaign_responses: live.iter().map(|x| (x.campaign_id, x.responses)).collect(),
        campaigns_finished: finished.iter().map(|x| x.campaign_id).collect(),
        daily_check,
    })
}
