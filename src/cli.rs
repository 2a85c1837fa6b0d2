//! The `panorama` command line: one binary, one subcommand per job.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use panorama_store::{Store, StoreLocation};

/// The extract date `generate` uses unless told otherwise (fixed, so a seed
/// always gives the same bank).
pub const DEFAULT_AS_OF: &str = "2026-10-31";

/// Panorama: one customer, one record; know the customer; campaigns that test and learn.
#[derive(Debug, Parser)]
#[command(name = "panorama", version, about)]
pub struct Cli {
    /// The store: a SQLite path (a directory or a .db file) or a postgres:// URL.
    #[arg(
        long,
        global = true,
        env = "PANORAMA_STORE",
        default_value = "panorama-data"
    )]
    pub store: String,
    /// The analytics directory (Parquet snapshot and features); default: `analytics` beside a SQLite store.
    #[arg(long, global = true, env = "PANORAMA_ANALYTICS")]
    pub analytics: Option<PathBuf>,
    /// The ACRM configuration (tiers, RFM, profitability); default: the embedded one.
    #[arg(long, global = true, env = "PANORAMA_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v: info, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a synthetic bank's source-system extracts (deterministic for a seed).
    Generate {
        /// Number of customers (people and companies).
        #[arg(long, default_value_t = 20_000)]
        customers: u64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Extract date (YYYY-MM-DD): the last day of balances and transactions.
        #[arg(long, default_value = DEFAULT_AS_OF)]
        as_of: NaiveDate,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a folder of extracts described by its manifest.toml into the store.
    Ingest {
        /// The extract folder.
        folder: PathBuf,
        /// Write the run report (JSON) here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Folder for reject reports (default: `rejects` beside the SQLite store, or ./panorama-rejects).
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Set up a demo bank: generate it, load it into a SQLite store, and say what was done.
    Quickstart {
        /// Number of customers.
        #[arg(long, default_value_t = 20_000)]
        customers: u64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Data directory (the store and the demo extract go here).
        #[arg(long, default_value = "panorama-data")]
        data_dir: PathBuf,
        /// Password of every demo user (default: a random one, printed).
        #[arg(long, env = "PANORAMA_DEMO_PASSWORD")]
        demo_password: Option<String>,
        /// Port of the web workbench.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Set up the demo bank and stop, without serving the web app.
        #[arg(long)]
        no_serve: bool,
    },
    /// Serve the web workbench (OCRM) and its JSON API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Port.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The address users open, e.g. https://crm.bank.example behind a TLS
        /// proxy: an https:// address marks session cookies Secure.
        #[arg(long, env = "PANORAMA_PUBLIC_URL")]
        public_url: Option<String>,
        /// Mark session cookies Secure whatever the public address.
        #[arg(long)]
        secure_cookies: bool,
        /// Idle minutes before a session expires.
        #[arg(long, default_value_t = 30)]
        session_minutes: i64,
        /// Hours after its login a session ends, however active.
        #[arg(long, default_value_t = 12)]
        session_hours: i64,
        /// The bearer token a metrics scraper presents at /metrics (without
        /// one, only a logged-in administrator reads the counters).
        #[arg(long, env = "PANORAMA_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
    },
    /// Users of the workbench and assignment of customers to RMs.
    Users {
        /// What to do.
        #[command(subcommand)]
        action: UsersAction,
    },
    /// List ingest batches with their counts (the import report).
    Batches,
    /// Resolve source records into golden customers (ECIF): links, merges, households, relationships.
    Resolve {
        /// Compare every record, not only new or changed ones.
        #[arg(long)]
        full: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The steward's review queue of uncertain matches.
    Review {
        /// What to do.
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// Undo a merge: the absorbed customer gets its id and records back.
    Unmerge {
        /// The merge event to undo (see `panorama merges`).
        event: i64,
        /// Who is doing it (audited).
        #[arg(long)]
        by: String,
    },
    /// List merge and unmerge events, newest first.
    Merges {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure the store's resolution against a synthetic bank's truth (pairwise precision, recall, F1).
    Evaluate {
        /// The `truth` folder written by `panorama generate`.
        #[arg(long)]
        truth: PathBuf,
    },
    /// Data-quality report per source system: invalid and missing ids, mobiles, addresses, duplicates.
    Dq {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Match records in any CSV (deduplicate one input, or link several) with a schema.
    Match {
        /// The schema: id column, compared fields and their kinds, blocking rules.
        #[arg(long)]
        schema: PathBuf,
        /// An input CSV (repeat for several).
        #[arg(long = "input", required = true)]
        inputs: Vec<PathBuf>,
        /// With several inputs: only pairs across inputs.
        #[arg(long)]
        link_only: bool,
        /// Output folder: clusters.csv, pairs.csv, report.json.
        #[arg(long)]
        out: PathBuf,
        /// Optional truth (CSV `record_id,entity_id`): adds pairwise precision, recall and F1 to the report.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// Candidate pairs allowed per blocking rule (default: 1,000,000 + 50 per record);
        /// a rule over it is refused before anything is compared.
        #[arg(long)]
        max_pairs: Option<u64>,
        /// Records allowed in one cluster; a larger one fails the run.
        #[arg(long, default_value_t = 50)]
        max_cluster: usize,
    },
    /// Run the analytics batch for an as-of date: snapshot, tiers, features, segments.
    Batch {
        /// The as-of date (default: the latest business date in the data).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The feature catalogue: name, type, unit and meaning of every feature.
    Features {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Segments: count a condition, save, list, members, delete, cluster.
    Segment {
        /// What to do.
        #[command(subcommand)]
        action: crate::acrm::SegmentAction,
    },
    /// Value tiers: migration matrix, changes, a customer's history.
    Tiers {
        /// What to do.
        #[command(subcommand)]
        action: crate::acrm::TierAction,
    },
    /// Profit contribution: deciles, the Pareto peak, loss-making customers and households.
    Profit {
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Read-only SQL over features, customer, account, product, balance, txn and catalogue.
    Sql {
        /// One SELECT statement.
        query: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: crate::acrm::Format,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Export features (optionally of a segment condition) to .csv or .parquet.
    Export {
        /// Output file (.csv or .parquet).
        #[arg(long)]
        out: PathBuf,
        /// Only customers matching this condition.
        #[arg(long = "where")]
        condition: Option<String>,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Models: cross-validate learners on any CSV.
    Model {
        /// What to do.
        #[command(subcommand)]
        action: crate::models::ModelAction,
    },
    /// Campaigns: create, approve, launch (select, contact policy, control
    /// group and arms), export, simulate responses, report lift.
    Campaign {
        /// What to do.
        #[command(subcommand)]
        action: Box<crate::campaign::CampaignAction>,
    },
    /// Satisfaction surveys: send the queued invitations (after a closed
    /// complaint or a recorded contact) to the SMS gateway.
    Survey {
        /// What to do.
        #[command(subcommand)]
        action: SurveyAction,
    },
    /// Customer lifetime value: fit BG/NBD and Gamma-Gamma to purchase summaries.
    Clv {
        /// What to do.
        #[command(subcommand)]
        action: crate::models::ClvAction,
    },
    /// Benchmarks that print figures.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: BenchWhat,
    },
}

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

/// Entry point: parse, run, report errors with their causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `panorama users …`.
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// List users.
    List,
    /// Create or update a user; the password is read from PANORAMA_PASSWORD or stdin.
    Add {
        /// Login name.
        username: String,
        /// Role: admin, analyst, branch_manager, rm, steward, auditor, executive, agent.
        #[arg(long)]
        role: String,
        /// Org unit code (e.g. SB0101).
        #[arg(long)]
        org: String,
        /// Name shown in the interface (default: the login name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Create the demo users (admin, rm1…rmN, bm1, analyst1, steward1, auditor1, exec1, agent1).
    Demo {
        /// Their password (default: a random one, printed).
        #[arg(long, env = "PANORAMA_DEMO_PASSWORD")]
        password: Option<String>,
    },
    /// Assign every unassigned customer to an RM of their home branch (round robin).
    Assign,
    /// Move the customers matching a segment condition (on the latest
    /// features) to an RM — or, without `--rm`, reclaim them to the pool —
    /// within the org units of the branch manager `--by`; audited per
    /// customer.
    Move {
        /// The condition, e.g. "tier = 'platinum' and aum >= 3000000".
        #[arg(long = "where")]
        condition: String,
        /// The receiving RM (login); none reclaims.
        #[arg(long)]
        rm: Option<String>,
        /// The branch manager (or executive) moving them.
        #[arg(long)]
        by: String,
        /// Why (kept with each assignment).
        #[arg(long, default_value = "moved by segment condition")]
        reason: String,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Generate {
            customers,
            seed,
            as_of,
            out,
        } => {
            generate(customers, seed, as_of, &out)?;
            Ok(())
        }
        Command::Ingest {
            folder,
            report,
            rejects,
        } => {
            let location = StoreLocation::parse(&cli.store)?;
            let store = Store::open(&location)
                .await
                .with_context(|| format!("opening the store {location}"))?;
            let r = ingest(&store, &folder, rejects, report.as_deref()).await?;
            print_ingest(&r);
            Ok(())
        }
        Command::Quickstart {
            customers,
            seed,
            data_dir,
            demo_password,
            port,
            no_serve,
        } => {
            let password = demo_password.unwrap_or_else(|| panorama_web::auth::random_password(12));
            let store = quickstart(customers, seed, &data_dir, &password).await?;
            if no_serve {
                return Ok(());
            }
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let analytics = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let sessions = crate::web::Sessions::new(None, false);
            crate::web::serve(store, &config, analytics, addr, sessions).await
        }
        Command::Serve {
            bind,
            port,
            public_url,
            secure_cookies,
            session_minutes,
            session_hours,
            metrics_token,
        } => {
            let store = open_store(&cli.store).await?;
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            let addr = std::net::SocketAddr::new(bind, port);
            let analytics = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let sessions = crate::web::Sessions {
                idle_minutes: session_minutes,
                absolute_hours: session_hours,
                metrics_token,
                ..crate::web::Sessions::new(public_url.as_deref(), secure_cookies)
            };
            crate::web::serve(store, &config, analytics, addr, sessions).await
        }
        Command::Users {
            action:
                UsersAction::Move {
                    condition,
                    rm,
                    by,
                    reason,
                    as_of,
                },
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            let ids =
                crate::acrm::segment_members(&store, &dir, &config, &condition, as_of).await?;
            crate::web::move_customers(&store, &ids, rm.as_deref(), &by, &reason).await
        }
        Command::Users { action } => {
            let store = open_store(&cli.store).await?;
            crate::web::users(&store, action).await
        }
        Command::Resolve { full, json } => {
            let store = open_store(&cli.store).await?;
            let summary = panorama_ecif::store::run_resolve(&store, full).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_resolve(&summary);
            }
            Ok(())
        }
        Command::Review { action } => {
            let store = open_store(&cli.store).await?;
            match action {
                ReviewAction::List {
                    status,
                    limit,
                    json,
                } => {
                    let rows = panorama_store::ecif::review_queue(&store, &status, limit).await?;
                    if json {
                        say!("{}", serde_json::to_string_pretty(&rows)?);
                    } else {
                        for r in &rows {
                            say!(
                                "review {}  p={:.3}  {}",
                                r.id,
                                r.match_probability,
                                r.evidence.as_deref().unwrap_or("")
                            );
                            for side in [
                                (
                                    &r.left_system,
                                    &r.left_key,
                                    &r.left_name,
                                    &r.left_id_no,
                                    &r.left_mobile,
                                    &r.left_birth_date,
                                    &r.left_address,
                                ),
                                (
                                    &r.right_system,
                                    &r.right_key,
                                    &r.right_name,
                                    &r.right_id_no,
                                    &r.right_mobile,
                                    &r.right_birth_date,
                                    &r.right_address,
                                ),
                            ] {
                                let opt =
                                    |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                                say!(
                                    "  {:<8} {:<12} {:<10} {:<20} {:<12} {:<11} {}",
                                    side.0,
                                    side.1,
                                    side.2,
                                    opt(side.3),
                                    opt(side.4),
                                    opt(side.5),
                                    opt(side.6)
                                );
                            }
                        }
                        say!("{} pair(s) {status}", rows.len());
                    }
                }
                ReviewAction::Accept { id, by } => {
                    say!(
                        "{}",
                        panorama_ecif::store::decide(&store, id, true, &by).await?
                    )
                }
                ReviewAction::Reject { id, by } => {
                    say!(
                        "{}",
                        panorama_ecif::store::decide(&store, id, false, &by).await?
                    )
                }
            }
            Ok(())
        }
        Command::Unmerge { event, by } => {
            let store = open_store(&cli.store).await?;
            say!(
                "{}",
                panorama_ecif::store::unmerge(&store, event, &by).await?
            );
            Ok(())
        }
        Command::Merges { limit, json } => {
            let store = open_store(&cli.store).await?;
            let rows = panorama_store::ecif::merges(&store, limit).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for m in &rows {
                    let undone = m
                        .undone_by
                        .map(|u| format!(" (undone by {u})"))
                        .unwrap_or_default();
                    say!(
                        "{:>6} {} {:<7} {} <- {} by {}{undone}  {}",
                        m.id,
                        m.at,
                        m.kind,
                        m.surviving_customer_id,
                        m.absorbed_customer_id,
                        m.actor,
                        m.evidence.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        Command::Evaluate { truth } => {
            let store = open_store(&cli.store).await?;
            let mut party = std::collections::HashMap::new();
            let path = truth.join("records.csv");
            let mut reader = csv_reader(&path)?;
            for row in reader.records() {
                let row = row.with_context(|| format!("reading {}", path.display()))?;
                party.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
            }
            let resolved = panorama_store::ecif::resolved_keys(&store).await?;
            let mut clusters = Vec::with_capacity(resolved.len());
            let mut labels = Vec::with_capacity(resolved.len());
            for (system, key, customer) in resolved {
                let label = party
                    .get(&(system.clone(), key.clone()))
                    .cloned()
                    .unwrap_or_else(|| format!("unknown:{system}:{key}"));
                clusters.push(customer as u32);
                labels.push(label);
            }
            let (p, r, f1) = panorama_ecif::pairwise_scores(&clusters, &labels);
            let entities: std::collections::HashSet<&String> = labels.iter().collect();
            let customers: std::collections::HashSet<&u32> = clusters.iter().collect();
            say!(
                "records={} customers={} true_parties={} precision={p:.4} recall={r:.4} f1={f1:.4}",
                labels.len(),
                customers.len(),
                entities.len()
            );
            Ok(())
        }
        Command::Dq { json } => {
            let store = open_store(&cli.store).await?;
            let rows = panorama_store::ecif::quality(&store).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                say!(
                    "{:<10} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>10}",
                    "system",
                    "records",
                    "bad id",
                    "legacy",
                    "no id",
                    "no mobile",
                    "no addr",
                    "cc flag",
                    "duplicates"
                );
                for r in &rows {
                    say!(
                        "{:<10} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>10}",
                        r.system,
                        r.records,
                        r.invalid_ids,
                        r.legacy_ids,
                        r.missing_ids,
                        r.missing_mobiles,
                        r.missing_addresses,
                        r.credit_code_flags,
                        r.duplicates
                    );
                }
            }
            Ok(())
        }
        Command::Match {
            schema,
            inputs,
            link_only,
            out,
            truth,
            max_pairs,
            max_cluster,
        } => match_csv(
            &schema,
            &inputs,
            link_only,
            &out,
            truth.as_deref(),
            panorama_ecif::Limits {
                max_pairs,
                max_cluster,
                ..panorama_ecif::Limits::default()
            },
        ),
        Command::Batches => {
            let location = StoreLocation::parse(&cli.store)?;
            let store = Store::open(&location).await?;
            say!(
                "{:>6}  {:<10} {:>12} {:>12} {:>10}  folder",
                "batch",
                "status",
                "read",
                "landed",
                "rejected"
            );
            for b in panorama_store::ingest::batches(&store).await? {
                say!(
                    "{:>6}  {:<10} {:>12} {:>12} {:>10}  {}",
                    b.id,
                    b.status,
                    b.rows_read,
                    b.rows_landed,
                    b.rows_rejected,
                    b.folder
                );
                if let Some(e) = b.error {
                    say!("        error: {e}");
                }
            }
            Ok(())
        }
        Command::Bench {
            what:
                BenchWhat::Ecif {
                    dir,
                    febrl,
                    large,
                    splink,
                    only,
                },
        } => {
            crate::bench_ecif::run(&crate::bench_ecif::Panel {
                dir,
                febrl,
                large,
                splink,
                only,
            })
            .await
        }
        Command::Bench {
            what:
                BenchWhat::Ingest {
                    customers,
                    dir,
                    generate_only,
                },
        } => bench(customers, dir, generate_only, &cli.store).await,
        Command::Bench {
            what:
                BenchWhat::Features {
                    runs,
                    as_of,
                    duckdb,
                },
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            crate::acrm::bench_features(&store, &dir, &config, as_of, runs, duckdb.as_deref()).await
        }
        Command::Clv { action } => match action {
            action @ crate::models::ClvAction::Margin { .. } => {
                let store = open_store(&cli.store).await?;
                let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
                crate::models::margin(action, &store, &dir).await
            }
            action => crate::models::clv(action),
        },
        Command::Survey { action } => {
            let store = open_store(&cli.store).await?;
            survey(action, &store).await
        }
        Command::Campaign { action } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            crate::campaign::campaign(*action, &store, &dir, &config).await
        }
        Command::Model { action } => match action {
            action @ crate::models::ModelAction::Cv { .. } => crate::models::model(action),
            action => {
                let store = open_store(&cli.store).await?;
                let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
                let config = crate::acrm::load_config(cli.config.as_deref())?;
                crate::models::registry(action, &store, &dir, &config).await
            }
        },
        Command::Bench {
            what:
                BenchWhat::Clv {
                    customers,
                    seed,
                    lifetimes,
                },
        } => crate::models::bench(customers, seed, lifetimes.as_deref()),
        Command::Bench {
            what:
                BenchWhat::Web {
                    password,
                    rm,
                    agent,
                    connections,
                    seconds,
                    think_ms,
                    wrk,
                },
        } => {
            let store = open_store(&cli.store).await?;
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            let b = crate::bench_web::WebBench {
                password,
                rm,
                agent,
                connections: connections.max(1),
                seconds: seconds.max(1),
                think_ms,
                wrk,
            };
            crate::bench_web::run(store, &config, &b).await
        }
        Command::Batch { as_of, json } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            crate::acrm::run_batch(&store, &dir, &config, as_of, json).await?;
            Ok(())
        }
        Command::Features { json } => crate::acrm::print_catalogue(json),
        Command::Segment { action } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            crate::acrm::segment(&store, &dir, &config, action).await
        }
        Command::Tiers { action } => {
            let store = open_store(&cli.store).await?;
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            crate::acrm::tiers(&store, &config, action).await
        }
        Command::Profit { as_of } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            crate::acrm::profit(&dir, as_of).await
        }
        Command::Sql {
            query,
            format,
            out,
            as_of,
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            crate::acrm::run_sql(&dir, &query, as_of, format, out.as_deref()).await
        }
        Command::Export {
            out,
            condition,
            as_of,
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::acrm::load_config(cli.config.as_deref())?;
            crate::acrm::export_features(&store, &dir, &config, as_of, condition.as_deref(), &out)
                .await
        }
    }
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb
}

/// Generates a bank and prints what was written.
pub fn generate(
    customers: u64,
    seed: u64,
    as_of: NaiveDate,
    out: &Path,
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
        "  {rows} extract rows, {:.1} MB in {secs:.1} s ({:.0} rows/s, {:.0} customers/s)",
        summary.bytes as f64 / 1e6,
        rows as f64 / secs.max(1e-9),
        customers as f64 / secs.max(1e-9)
    );
    Ok(summary)
}

fn default_rejects(store: &Store) -> PathBuf {
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
) -> Result<panorama_ingest::Report> {
    let options = panorama_ingest::Options {
        rejects_dir: rejects.unwrap_or_else(|| default_rejects(store)),
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

fn print_ingest(r: &panorama_ingest::Report) {
    say!("Batch {} {} into {}:", r.batch_id, r.status, r.store);
    say!(
        "  {:<28} {:>11} {:>11} {:>9} {:>11}",
        "file",
        "read",
        "landed",
        "rejected",
        "changed"
    );
    for f in &r.files {
        say!(
            "  {:<28} {:>11} {:>11} {:>9} {:>11}",
            f.file,
            f.read,
            f.landed,
            f.rejected,
            f.changed
        );
        if let Some(path) = &f.reject_file {
            say!("      rejects: {path}");
        }
    }
    say!(
        "  {} rows read, {} landed, {} rejected, {} changed in {:.1} s ({:.0} rows/s)",
        r.read,
        r.landed,
        r.rejected,
        r.changed,
        r.seconds,
        r.rows_per_second
    );
}

async fn open_store(store: &str) -> Result<Store> {
    let location = StoreLocation::parse(store)?;
    Store::open(&location)
        .await
        .with_context(|| format!("opening the store {location}"))
}

fn print_resolve(s: &panorama_ecif::store::ResolveSummary) {
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
    for (step, secs) in &s.steps {
        say!("  {step:<30} {secs:>8.2} s");
    }
}

fn match_csv(
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
        let mut entity = std::collections::HashMap::new();
        let mut reader = csv_reader(truth)?;
        for row in reader.records() {
            let row = row.with_context(|| format!("reading {}", truth.display()))?;
            entity.insert(
                row.get(0).unwrap_or("").to_owned(),
                row.get(1).unwrap_or("").to_owned(),
            );
        }
        let labels: Vec<String> = ds
            .ids
            .iter()
            .map(|id| {
                entity
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("unlabelled:{id}"))
            })
            .collect();
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

/// This process's peak resident memory in MB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))
}

/// The demo bank: generate, ingest, resolve, demo users with their
/// customers (so the batch's alerts land on RMs' lists), the batch.
async fn quickstart(customers: u64, seed: u64, data_dir: &Path, password: &str) -> Result<Store> {
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
    crate::web::demo_users(&store, password).await?;
    let config = crate::acrm::load_config(None)?;
    let analytics = data_dir.join("analytics");
    crate::acrm::run_batch(&store, &analytics, &config, Some(as_of), false).await?;
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

async fn bench(
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn generate_takes_the_documented_arguments() {
        let cli = Cli::try_parse_from([
            "panorama",
            "generate",
            "--customers",
            "10",
            "--seed",
            "7",
            "--out",
            "x",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Generate {
                customers: 10,
                seed: 7,
                ..
            }
        ));
        assert!(
            Cli::try_parse_from(["panorama", "generate", "--customers", "ten", "--out", "x"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "panorama",
                "generate",
                "--as-of",
                "2024-02-30",
                "--out",
                "x"
            ])
            .is_err()
        );
    }
}

/// `panorama survey …`.
#[derive(Debug, Subcommand)]
pub enum SurveyAction {
    /// Give each queued invitation a one-time link and write the SMS
    /// gateway's file (`mobile,message,invite_id`); only a hash of each link's
    /// token stays in the store. Customers without a mobile are marked so.
    Send {
        /// The gateway's file to write.
        #[arg(long)]
        out: PathBuf,
        /// The public address customers open (the link is BASE/survey/TOKEN).
        #[arg(long)]
        base_url: String,
        /// Invitations at most.
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
        /// Days a link stays valid.
        #[arg(long, default_value_t = 14)]
        valid_days: i64,
        /// Who runs it (audited).
        #[arg(long, default_value = "ops")]
        by: String,
    },
}

async fn survey(action: SurveyAction, store: &Store) -> Result<()> {
    match action {
        SurveyAction::Send {
            out,
            base_url,
            limit,
            valid_days,
            by,
        } => {
            if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
                anyhow::bail!("--base-url: an http(s):// address, not {base_url}");
            }
            if !(1..=90).contains(&valid_days) {
                anyhow::bail!("--valid-days: 1 to 90, not {valid_days}");
            }
            let now = chrono::Utc::now();
            let batch = format!("survey-{}", now.format("%Y%m%dT%H%M%S%.6f"));
            let expires = (now + chrono::Duration::days(valid_days))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let sent = panorama_store::surveys::send_invites(
                store,
                limit.max(1),
                &batch,
                &expires,
                panorama_web::surveys::mint,
                &by,
            )
            .await?;
            let base = base_url.trim_end_matches('/');
            let mut w = csv::Writer::from_path(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            w.write_record(["mobile", "message", "invite_id"])?;
            for s in &sent {
                let message = format!(
                    "请您为本次服务评分 Please rate our service: {base}/survey/{}",
                    s.token
                );
                w.write_record([s.mobile.as_str(), message.as_str(), &s.id.to_string()])?;
            }
            w.flush()?;
            say!(
                "{} survey invitations handed to the gateway in {} (batch {batch}; links valid until {expires})",
                sent.len(),
                out.display()
            );
            Ok(())
        }
    }
}
