//! `panorama bench …`: the benchmarks that print figures.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use chrono::NaiveDate;
use clap::Subcommand;
use panorama_store::Store;
use panorama_store::StoreLocation;

use super::load::{DEFAULT_AS_OF, generate, ingest, print_ingest};

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchWhat {
    /// The ECIF accuracy panel: the matcher on datasets of different origin
    /// (Febrl 1–3, the synthetic bank's persons, Febrl-style, Chinese-person
    /// and company generators), beside Splink when given a Python with it.
    Ecif {
        /// Folder of the generated files and results.
        #[arg(long, default_value = "bench-data/ecif")]
        dir: PathBuf,
        /// The Febrl files' folder.
        #[arg(long, default_value = "../shared/datasets/febrl")]
        febrl: PathBuf,
        /// Also the 1,000,000-record Febrl-style file.
        #[arg(long)]
        large: bool,
        /// A Python with Splink and DuckDB, to run Splink on the same files.
        #[arg(long)]
        splink: Option<PathBuf>,
        /// Only the datasets whose name contains this.
        #[arg(long)]
        only: Option<String>,
    },
    /// Generate and ingest speed on a fresh bank of N customers.
    Ingest {
        /// Number of customers.
        #[arg(long, default_value_t = 100_000)]
        customers: u64,
        /// Working folder (default: a temporary folder, removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Only measure generation.
        #[arg(long)]
        generate_only: bool,
    },
    /// Feature computation on the analytics snapshot: DataFusion, and DuckDB on the same SQL and files.
    Features {
        /// Runs of each engine (the best is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The as-of date (default: the latest business date in the store).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// A Python with the duckdb package, to run the same SQL on the same files side by side.
        #[arg(long)]
        duckdb: Option<PathBuf>,
    },
    /// CLV fits on simulated summaries (BG/NBD and Gamma-Gamma).
    Clv {
        /// Number of customers.
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        /// Seed of the simulation.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// A Python with the lifetimes package, to run its fit on the same summaries side by side.
        #[arg(long)]
        lifetimes: Option<PathBuf>,
    },
    /// The workbench under load: the server in this process, wrk driving it on loopback.
    Web {
        /// Password of the RM and the agent.
        #[arg(long, env = "PANORAMA_BENCH_PASSWORD")]
        password: String,
        /// The RM whose workbench and customers are opened.
        #[arg(long, default_value = "rm1")]
        rm: String,
        /// The call-centre agent who searches.
        #[arg(long, default_value = "agent1")]
        agent: String,
        /// Concurrent connections (users) per scenario.
        #[arg(long, default_value_t = 50)]
        connections: u32,
        /// Seconds per scenario.
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Pause of each user between answers, in milliseconds (0: every
        /// connection always has a request in flight).
        #[arg(long, default_value_t = 1000)]
        think_ms: u32,
        /// The wrk binary.
        #[arg(long, default_value = "wrk")]
        wrk: PathBuf,
    },
}

pub(crate) async fn bench(
    customers: u64,
    dir: Option<PathBuf>,
    generate_only: bool,
    store: &str,
) -> Result<()> {
    let temp;
    let dir = match dir {
        Some(d) => d,
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let as_of: NaiveDate = DEFAULT_AS_OF.parse()?;
    let extract = dir.join("extract");
    let started = Instant::now();
    let summary = generate(customers, 42, as_of, &extract)?;
    let gen_secs = started.elapsed().as_secs_f64();
    say!(
        "bench generate: customers={customers} rows={} seconds={gen_secs:.2} rows_per_s={:.0}",
        summary.extract_rows(),
        summary.extract_rows() as f64 / gen_secs
    );
    if generate_only {
        return Ok(());
    }
    let location = if store == "panorama-data" {
        StoreLocation::Sqlite(dir.join("bench.db"))
    } else {
        StoreLocation::parse(store)?
    };
    let store = Store::open(&location).await?;
    let r = ingest(&store, &extract, Some(dir.join("rejects")), None).await?;
    print_ingest(&r);
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
