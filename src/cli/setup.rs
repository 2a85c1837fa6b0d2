//! `panorama quickstart`: a demo bank, end to end, on the embedded store.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use panorama_jobs::demo::{DemoReport, DemoSpec};
use panorama_store::Store;
use panorama_store::StoreLocation;

use super::ecif::print_resolve;
use super::load::{DEFAULT_AS_OF, generate, ingest, print_ingest};

/// Month-ends the demo bank's nightly chain runs over.
const DEMO_MONTHS: u32 = 6;

/// The demo bank: generate, ingest, resolve, demo users with their
/// customers (so the batch's alerts land on RMs' lists), then the months of
/// work that give every role's pages content (`panorama_jobs::demo`).
pub(crate) async fn quickstart(
    customers: u64,
    seed: u64,
    data_dir: &Path,
    password: &str,
    port: u16,
) -> Result<Store> {
    let as_of: NaiveDate = DEFAULT_AS_OF.parse()?;
    let extract = data_dir.join("extract");
    say!(
        "Panorama quickstart: a demo bank of {customers} customers in {}",
        data_dir.display()
    );
    generate(customers, seed, as_of, &extract, false)?;
    let location = StoreLocation::Sqlite(data_dir.join("panorama.db"));
    let store = Store::open(&location)
        .await
        .with_context(|| format!("opening the store {location}"))?;
    let report_path = data_dir.join("ingest-report.json");
    let r = ingest(&store, &extract, None, Some(&report_path), false).await?;
    print_ingest(&r);
    let summary = panorama_ecif::store::run_resolve(&store, false).await?;
    print_resolve(&summary);
    crate::cli::serve::demo_users(&store, password).await?;
    let config = crate::cli::acrm::load_config(None)?;
    let analytics = data_dir.join("analytics");
    if panorama_jobs::demo::has_run(&store).await? {
        say!("");
        say!(
            "This store already holds campaigns, models or segments: the demo's months are not run again."
        );
        let n = panorama_jobs::nightly(&store, &analytics, &config, Some(as_of)).await?;
        say!(
            "nightly chain as of {}: {} customers with features",
            n.batch.as_of,
            n.batch.customers
        );
        return Ok(store);
    }
    say!("");
    say!("The bank's last {DEMO_MONTHS} months:");
    let spec = DemoSpec {
        as_of,
        months: DEMO_MONTHS,
        truth: &extract.join("truth"),
        seed,
    };
    let demo = panorama_jobs::demo::run(&store, &analytics, &config, &spec, |step| {
        say!("  {step}");
    })
    .await?;
    say!("");
    say!("Store: {location}");
    for table in [
        "customer",
        "source_record",
        "account",
        "balance_monthly",
        "txn",
        "customer_features",
        "customer_score",
        "campaign_member",
        "alert",
    ] {
        say!("  {table:<18} {:>10} rows", store.count(table).await?);
    }
    print_tour(&demo, port);
    Ok(store)
}

/// Where to look first, user by user.
fn print_tour(d: &DemoReport, port: u16) {
    say!("");
    say!("A tour (open http://127.0.0.1:{port}/ and log in with the password above):");
    say!(
        "  rm1       relationship manager: my customers, today's alerts and tasks, the card campaign's calls, my targets"
    );
    say!(
        "            (/ ; a customer's 360 from the list; /opportunities; /referrals; /sales; /appraisal)"
    );
    say!(
        "  bm1       branch manager: the branch's dashboard, targets split to its RMs, escalated complaints, assignment"
    );
    say!("            (/dashboard ; /targets ; /complaints ; /assignments)");
    say!(
        "            sales credits (/sales): {} registered from the extracts, {} counter sales approved, {} waiting, {} dispute to settle",
        d.sales_registered,
        d.sales_entered.0,
        d.sales_entered.1,
        d.disputes_open
    );
    if let Some((quarter, people)) = d.appraised.iter().rev().nth(1).or(d.appraised.last()) {
        say!(
            "            scorecards (/appraisal?period={quarter}): {people} people appraised for {quarter}, to confirm"
        );
    }
    if let Some((quarter, people, total)) = &d.incentives {
        say!(
            "            incentives of {quarter}: {people} people, {} yuan, explained line by line and exported for payroll (/appraisal)",
            panorama_domain::money::Money::from_minor(*total)
        );
    }
    say!(
        "  teller1   teller: register a counter sale, see what is credited to you and your scorecard (/sales ; /appraisal)"
    );
    say!(
        "  analyst1  marketing analyst: {} saved segments and the builder, models and campaigns with their lift",
        d.segments
    );
    say!("            (/segments ; /models ; /campaigns ; /campaigns/effect)");
    for m in &d.models {
        say!(
            "            model {:<16} {:<9} test AUC {:.3}{}",
            m.name,
            m.learner,
            m.auc,
            if m.approved {
                ""
            } else {
                " (no better than chance: not approved)"
            }
        );
    }
    for c in &d.campaigns {
        let lift = c
            .lift
            .as_ref()
            .map_or_else(String::new, |(arm, pp, lo, hi)| {
                format!(", arm {arm} {pp:+.1} pp [{lo:+.1}, {hi:+.1}] over control")
            });
        say!(
            "            campaign {} {} ({}, {} members{lift})",
            c.id,
            c.name,
            c.status,
            c.members
        );
    }
    say!(
        "  steward1  data steward: {} uncertain pairs to review, and a merge to undo (/ecif ; /ecif/merges)",
        d.reviews_open
    );
    if let Some(m) = &d.merge {
        say!("            {m}");
    }
    say!("  exec1     executive: the bank's dashboard and targets (/dashboard ; /targets)");
    say!(
        "            each target's forecast to the period's end; {} org-unit targets forecast to miss, listed first",
        d.forecasts.1
    );
    let complaints: Vec<String> = d
        .complaints
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    say!(
        "  agent1    call centre: the service desk and complaints ({}) (/service ; /complaints)",
        complaints.join(", ")
    );
    say!("  auditor1  auditor: who did what, and who read which list (/audit)");
    say!(
        "  ({} targets, {} tasks done by the month-end, {} contacts, {} opportunities, referrals: {} accepted, {} declined, {} open)",
        d.targets.len(),
        d.tasks_done,
        d.contacts,
        d.opportunities,
        d.referrals.0,
        d.referrals.1,
        d.referrals.2
    );
}
