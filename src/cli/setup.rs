//! `panorama quickstart`: a demo bank, end to end, on the embedded store.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use panorama_store::Store;
use panorama_store::StoreLocation;

use super::ecif::print_resolve;
use super::load::{DEFAULT_AS_OF, generate, ingest, print_ingest};

/// The demo bank: generate, ingest, resolve, demo users with their
/// customers (so the batch's alerts land on RMs' lists), the batch.
pub(crate) async fn quickstart(
    customers: u64,
    seed: u64,
    data_dir: &Path,
    password: &str,
) -> Result<Store> {
    let as_of: NaiveDate = DEFAULT_AS_OF.parse()?;
    let extract = data_dir.join("extract");
    say!(
        "Panorama quickstart: a demo bank of {customers} customers in {}",
        data_dir.display()
    );
    generate(customers, seed, as_of, &extract)?;
    let location = StoreLocation::Sqlite(data_dir.join("panorama.db"));
    let store = Store::open(&location)
        .await
        .with_context(|| format!("opening the store {location}"))?;
    let report_path = data_dir.join("ingest-report.json");
    let r = ingest(&store, &extract, None, Some(&report_path)).await?;
    print_ingest(&r);
    let summary = panorama_ecif::store::run_resolve(&store, false).await?;
    print_resolve(&summary);
    crate::cli::serve::demo_users(&store, password).await?;
    let config = crate::cli::acrm::load_config(None)?;
    let analytics = data_dir.join("analytics");
    crate::cli::acrm::run_batch(&store, &analytics, &config, Some(as_of), false).await?;
    say!("");
    say!("Store: {location}");
    for table in [
        "org_unit",
        "product",
        "source_record",
        "customer",
        "household",
        "party_relationship",
        "match_review",
        "account",
        "balance_monthly",
        "txn",
    ] {
        say!("  {table:<16} {:>12} rows", store.count(table).await?);
    }
    say!(
        "Next: `panorama --store {} batches` lists the import runs.",
        data_dir.display()
    );
    Ok(store)
}
