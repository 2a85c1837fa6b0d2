//! `panorama bench ingest`: how fast a synthetic bank is generated and
//! loaded into a store.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use panorama_store::{Store, StoreLocation};

/// Generates a bank of `customers` into `out` (no progress display).
pub fn generate(
    customers: u64,
    seed: u64,
    as_of: NaiveDate,
    out: &Path,
) -> Result<panorama_synth::Summary> {
    let config = panorama_synth::Config {
        customers,
        seed,
        as_of,
        out: out.to_path_buf(),
        gzip: false,
    };
    Ok(panorama_synth::generate(&config, &|_, _| {})?)
}

/// Loads an extract folder into `store`, rejects into `rejects`.
pub async fn load(store: &Store, folder: &Path, rejects: &Path) -> Result<panorama_ingest::Report> {
    let options = panorama_ingest::Options {
        rejects_dir: rejects.to_path_buf(),
        copy: false,
    };
    panorama_ingest::ingest(store, folder, &options, &|_, _, _| {})
        .await
        .with_context(|| format!("ingest of {} failed", folder.display()))
}

/// What `bench ingest` runs.
pub struct IngestBench {
    /// Customers of the generated bank.
    pub customers: u64,
    /// Working folder (`None`: a temporary one, removed afterwards).
    pub dir: Option<PathBuf>,
    /// Only measure generation.
    pub generate_only: bool,
    /// The store to load into (`None`: a SQLite file in the working folder).
    pub store: Option<StoreLocation>,
}

/// Generates a bank (seed 42), loads it, and prints both speeds.
pub async fn run(b: &IngestBench) -> Result<()> {
    let temp;
    let dir = match &b.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let as_of: NaiveDate = panorama_synth::DEFAULT_AS_OF.parse()?;
    let extract = dir.join("extract");
    let started = Instant::now();
    let summary = generate(b.customers, 42, as_of, &extract)?;
    let gen_secs = started.elapsed().as_secs_f64();
    say!(
        "bench generate: customers={} rows={} seconds={gen_secs:.2} rows_per_s={:.0}",
        b.customers,
        summary.extract_rows(),
        summary.extract_rows() as f64 / gen_secs
    );
    if b.generate_only {
        return Ok(());
    }
    let location = b
        .store
        .clone()
        .unwrap_or_else(|| StoreLocation::Sqlite(dir.join("bench.db")));
    let store = Store::open(&location).await?;
    let r = load(&store, &extract, &dir.join("rejects")).await?;
    say!("{r}");
    say!(
        "bench ingest: store={} rows={} seconds={:.2} rows_per_s={:.0}",
        if matches!(location, StoreLocation::Sqlite(_)) {
            "sqlite"
        } else {
            "postgres"
        },
        r.read,
        r.seconds,
        r.rows_per_second
    );
    Ok(())
}
