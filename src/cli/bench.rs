//! `panorama bench …`: the benchmarks' arguments (they run in `panorama-bench`).

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Subcommand;

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
        /// A fresh draw of the generated datasets (other seeds, files named
        /// `…-d<N>`); 0 is the panel's own files.
        #[arg(long, default_value_t = 0)]
        draw: u64,
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
    /// Target forecasting backtested on CDNOW's purchase log (data Panorama
    /// did not generate): each book's quarter forecast on a day of it, beside pacing.
    Forecast {
        /// CDNOW_master.txt.
        #[arg(long, default_value = "../shared/datasets/cdnow/CDNOW_master.txt")]
        file: PathBuf,
        /// Books the customers are dealt into by id.
        #[arg(long, default_value_t = 16)]
        books: usize,
        /// The day of each quarter the forecasts are made on.
        #[arg(long, default_value_t = 45)]
        day: u32,
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
    /// The event feed through a real Kafka broker against this store: the
    /// drain rate of a backlog, and end-to-end latency at a paced rate.
    /// Posts real transactions (and raises alerts): run it on a copy.
    Events {
        /// Bootstrap brokers, comma-separated `host:port`.
        #[arg(long, env = "PANORAMA_KAFKA", value_delimiter = ',')]
        brokers: Vec<String>,
        /// Events per phase.
        #[arg(long, default_value_t = 100_000)]
        events: u64,
        /// Offered rate of the paced phase, events per second.
        #[arg(long, default_value_t = 5_000)]
        rate: u64,
        /// Partitions of the bench topics.
        #[arg(long, default_value_t = 2)]
        partitions: i32,
    },
    /// Per-record ECIF on the store given (resolved): arrivals of known
    /// parties and strangers landed, resolved, timed, checked and rolled back.
    EcifOnline {
        /// Arrivals per round (one in four a stranger).
        #[arg(long, default_value_t = 2_000)]
        records: usize,
        /// Rounds (the first reads a cold store).
        #[arg(long, default_value_t = 2)]
        rounds: usize,
        /// Which records the arrivals copy, and the strangers' values.
        #[arg(long, default_value_t = 7)]
        seed: u64,
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
