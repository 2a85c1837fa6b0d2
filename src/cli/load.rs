//! `panorama generate` and `panorama ingest`: a synthetic bank's extracts, and loading extracts with their reject reports.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use panorama_store::Store;
use panorama_store::StoreLocation;

pub(crate) fn bar(len: u64, template: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb
}

pub use panorama_synth::DEFAULT_AS_OF;

/// Generates a bank and prints what was written.
pub fn generate(
    customers: u64,
    seed: u64,
    as_of: NaiveDate,
    out: &Path,
    gzip: bool,
) -> Result<panorama_synth::Summary> {
    let started = Instant::now();
    let pb = bar(
        customers,
        "generating {bar:40} {pos}/{len} customers ({per_sec}, eta {eta})",
    );
    let config = panorama_synth::Config {
        customers,
        seed,
        as_of,
        out: out.to_path_buf(),
        gzip,
    };
    let summary = panorama_synth::generate(&config, &|done, _| pb.set_position(done))?;
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    say!(
        "Generated a bank of {customers} customers (seed {seed}, as of {as_of}) in {}:",
        out.display()
    );
    for (file, rows) in &summary.files {
        say!("  {file:<32} {rows:>12} rows");
    }
    let rows = summary.extract_rows();
    say!(
        "  {rows} extract rows, {:.1} MB{} in {secs:.1} s ({:.0} rows/s, {:.0} customers/s)",
        summary.bytes as f64 / 1e6,
        if gzip { " before gzip" } else { "" },
        rows as f64 / secs.max(1e-9),
        customers as f64 / secs.max(1e-9)
    );
    Ok(summary)
}

pub(crate) fn default_rejects(store: &Store) -> PathBuf {
    match store.location() {
        StoreLocation::Sqlite(path) => path.parent().unwrap_or(Path::new(".")).join("rejects"),
        StoreLocation::Postgres(_) => PathBuf::from("panorama-rejects"),
    }
}

/// Loads an extract folder, with a progress bar per file, and writes the JSON report.
pub async fn ingest(
    store: &Store,
    folder: &Path,
    rejects: Option<PathBuf>,
    report: Option<&Path>,
    copy: bool,
) -> Result<panorama_ingest::Report> {
    let options = panorama_ingest::Options {
        rejects_dir: rejects.unwrap_or_else(|| default_rejects(store)),
        copy,
    };
    let pb = bar(
        0,
        "loading {msg:<28} {bar:40} {bytes}/{total_bytes} ({bytes_per_sec})",
    );
    let progress = |file: &str, done: u64, total: u64| {
        if pb.length() != Some(total) {
            pb.set_length(total);
            pb.set_message(file.to_owned());
        }
        pb.set_position(done);
    };
    let result = panorama_ingest::ingest(store, folder, &options, &progress).await;
    pb.finish_and_clear();
    let r = result.with_context(|| {
        format!(
            "ingest of {} failed; the store is as it was before the run",
            folder.display()
        )
    })?;
    if let Some(path) = report {
        let json = serde_json::to_string_pretty(&r)?;
        std::fs::write(path, json)
            .with_context(|| format!("writing the report {}", path.display()))?;
        say!("Report written to {}", path.display());
    }
    Ok(r)
}

pub(crate) fn print_ingest(r: &panorama_ingest::Report) {
    say!("{r}");
}
