//! `panorama resolve`, `review` and `match`: identity resolution over the store and over CSV files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;

/// Review queue actions.
#[derive(Debug, Subcommand)]
pub enum ReviewAction {
    /// Show pairs side by side with their per-field evidence.
    List {
        /// open, accepted or rejected.
        #[arg(long, default_value = "open")]
        status: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The two records are the same customer: merge them.
    Accept {
        /// Review id.
        id: i64,
        /// Who decides (audited).
        #[arg(long)]
        by: String,
    },
    /// The two records are different customers: never link them.
    Reject {
        /// Review id.
        id: i64,
        /// Who decides (audited).
        #[arg(long)]
        by: String,
    },
}

pub(crate) fn print_resolve(s: &panorama_ecif::store::ResolveSummary) {
    let c = &s.counts;
    say!(
        "Resolved {} source records ({}) into {} customers: {} new, {} merges, {} pairs for review, {} households, {} relationships in {:.1} s",
        c.records,
        c.mode,
        c.customers,
        c.new_customers,
        c.merges,
        c.review_pairs,
        c.households,
        c.relationships,
        s.seconds
    );
    for ((step, secs), (_, mb)) in s.steps.iter().zip(&s.peak_mb) {
        say!("  {step:<30} {secs:>8.2} s  peak {mb:>7.0} MB");
    }
}

pub(crate) fn match_csv(
    schema: &Path,
    inputs: &[PathBuf],
    link_only: bool,
    out: &Path,
    truth: Option<&Path>,
    limits: panorama_ecif::Limits,
) -> Result<()> {
    let started = Instant::now();
    let schema = panorama_ecif::Schema::load(schema)?;
    let ds = panorama_ecif::input::read_inputs(&schema, inputs)?;
    let read_secs = started.elapsed().as_secs_f64();
    let outcome = match panorama_ecif::run_focused(&schema, &ds, link_only, None, limits) {
        Ok(o) => o,
        Err(panorama_ecif::EcifError::Guard { failed, report }) => {
            // Nothing is written to `out`; the report beside it says why.
            let path = out.with_extension("refused.json");
            let json = serde_json::json!({"refused": failed, "report": report});
            std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
                .with_context(|| format!("writing {}", path.display()))?;
            for f in &failed {
                say!("check failed: {f}");
            }
            anyhow::bail!(
                "the model failed {} check(s); nothing was written to {} (details in {})",
                failed.len(),
                out.display(),
                path.display()
            );
        }
        Err(e) => return Err(e.into()),
    };
    let mut extra = serde_json::json!({
        "read_seconds": read_secs,
        "total_seconds": started.elapsed().as_secs_f64(),
        "peak_rss_mb": peak_rss_mb(),
    });
    if let Some(truth) = truth {
        let labels = panorama_ecif::input::read_truth(truth, &ds.ids)?;
        let (p, r, f1) = panorama_ecif::pairwise_scores(&outcome.cluster, &labels);
        let oracle = panorama_ecif::levels_oracle_f1(&outcome, &labels);
        say!("pairwise precision={p:.4} recall={r:.4} f1={f1:.4} (levels-only oracle {oracle:.4})");
        extra["precision"] = p.into();
        extra["recall"] = r.into();
        extra["f1"] = f1.into();
        extra["oracle_f1"] = oracle.into();
    }
    panorama_ecif::input::write_outputs(out, &schema, &ds, &outcome, &extra)?;
    let rep = &outcome.report;
    say!(
        "{} records, {} comparisons, {} pairs linked, {} clusters in {:.2} s; results in {}",
        rep.records,
        rep.comparisons,
        rep.linked_pairs,
        rep.clusters,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    for (stage, secs) in &rep.seconds {
        say!("  {stage:<8} {secs:>8.2} s");
    }
    // After the outputs are written: the whole run's peak.
    say!("peak_rss_mb={:.0}", peak_rss_mb());
    Ok(())
}

pub use panorama_analytics::memory::peak_rss_mb;

pub(crate) fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))
}
