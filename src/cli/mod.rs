//! The `panorama` command line: one binary, one subcommand per job.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use panorama_store::{Store, StoreLocation};

pub mod acrm;
mod appraisal;
mod bench;
pub mod campaign;
#[cfg(feature = "distributed")]
mod cluster;
mod ecif;
mod events;
mod load;
pub mod models;
mod sales;
pub mod serve;
mod setup;
mod sms;
mod survey;
mod table;
mod targets;

pub use bench::BenchWhat;
pub use ecif::{ReviewAction, peak_rss_mb};
use ecif::{csv_reader, match_csv, print_resolve};
use load::print_ingest;
pub use load::{DEFAULT_AS_OF, generate, ingest};
pub use serve::UsersAction;
use setup::quickstart;
pub use survey::SurveyAction;
use survey::survey;

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
    /// Memory the analytics engine's operators may hold, in MB (sorts and
    /// aggregations spill to disk beyond it); default: unbounded.
    #[arg(long, global = true, env = "PANORAMA_MEMORY_BUDGET_MB")]
    pub memory_budget: Option<usize>,
    /// Where the analytics engine spills (default: the system's temporary directory).
    #[arg(long, global = true, env = "PANORAMA_SPILL_DIR")]
    pub spill_dir: Option<PathBuf>,
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
        /// Write the extract files gzip-compressed (name.csv.gz), as banks send large extracts.
        #[arg(long)]
        gzip: bool,
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
        /// On PostgreSQL, send the rows by COPY through staging tables instead
        /// of multi-row INSERTs (the role must be allowed to create tables).
        #[arg(long)]
        copy: bool,
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
        /// Run the batch's queries on the Ballista cluster of this scheduler
        /// (`host:port`); its executors read the analytics directory by the same path.
        #[cfg(feature = "distributed")]
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Run a Ballista scheduler: distributed batches (`batch --cluster`) are planned here.
    #[cfg(feature = "distributed")]
    Scheduler {
        /// Address its gRPC service listens on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        bind: std::net::SocketAddr,
        /// Host name executors and clients reach it by (default: the bind address).
        #[arg(long)]
        external_host: Option<String>,
    },
    /// Run a Ballista executor: registers with the scheduler and runs the batch's tasks
    /// (`--memory-budget` bounds what its tasks hold).
    #[cfg(feature = "distributed")]
    Executor {
        /// The scheduler's address.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: std::net::SocketAddr,
        /// Host it binds and is reached at.
        #[arg(long, default_value = "127.0.0.1")]
        bind_host: String,
        /// Port of its Arrow Flight service (shuffle and results).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// Port of its gRPC service.
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Where its shuffle files go (default: a temporary directory).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// Tasks at once (default: one per core).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        concurrency: Option<u64>,
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
        action: crate::cli::acrm::SegmentAction,
    },
    /// Value tiers: migration matrix, changes, a customer's history.
    Tiers {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::acrm::TierAction,
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
        format: crate::cli::acrm::Format,
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
        action: crate::cli::models::ModelAction,
    },
    /// Campaigns: create, approve, launch (select, contact policy, control
    /// group and arms), export, simulate responses, report lift.
    Campaign {
        /// What to do.
        #[command(subcommand)]
        action: Box<crate::cli::campaign::CampaignAction>,
    },
    /// Satisfaction surveys: send the queued invitations (after a closed
    /// complaint or a recorded contact) to the SMS gateway.
    Survey {
        /// What to do.
        #[command(subcommand)]
        action: SurveyAction,
    },
    /// Events as they happen (Kafka): consume into the store with
    /// key-transaction monitoring and opt-out replies, publish, status.
    Events {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::events::EventsAction,
    },
    /// The SMS channel through a gateway's HTTP API: send the outbox (paced,
    /// never in quiet hours), read delivery receipts and replies (退订 → an
    /// opt-out at once), the outbox's state; and a local gateway for trials.
    Sms {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::sms::SmsAction,
    },
    /// Targets (经营任务): forecasts of where each target will end, those
    /// forecast to miss, and a backtest of the forecasting on past quarters.
    Targets {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::targets::TargetsAction,
    },
    /// Appraisal (绩效考核): scorecards per role, a period's appraisals
    /// computed and ranked, one person's card, the branch manager's confirmation.
    Appraisal {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::appraisal::AppraisalAction,
    },
    /// Incentives (绩效奖金): the rules per role, a period's incentives from
    /// its appraisals and credited sales, one person's lines, the payroll export.
    Incentive {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::appraisal::IncentiveAction,
    },
    /// Sales registration (业绩登记): register accounts opened, enter a sale,
    /// approve it, dispute and adjust credits, the split rules.
    Sales {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::sales::SalesAction,
    },
    /// Customer lifetime value: fit BG/NBD and Gamma-Gamma to purchase summaries.
    Clv {
        /// What to do.
        #[command(subcommand)]
        action: crate::cli::models::ClvAction,
    },
    /// Benchmarks that print figures.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: BenchWhat,
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
    if cli.memory_budget.is_some() || cli.spill_dir.is_some() {
        panorama_analytics::engine::set_limits(&panorama_analytics::engine::Limits {
            memory_bytes: cli.memory_budget.map(|mb| mb.saturating_mul(1 << 20)),
            spill_dir: cli.spill_dir.clone(),
        })
        .context("setting the analytics engine's memory budget")?;
    }
    match cli.command {
        Command::Generate {
            customers,
            seed,
            as_of,
            out,
            gzip,
        } => {
            generate(customers, seed, as_of, &out, gzip)?;
            Ok(())
        }
        Command::Ingest {
            folder,
            report,
            rejects,
            copy,
        } => {
            let location = StoreLocation::parse(&cli.store)?;
            let store = Store::open(&location)
                .await
                .with_context(|| format!("opening the store {location}"))?;
            let r = ingest(&store, &folder, rejects, report.as_deref(), copy).await?;
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
            let store = quickstart(customers, seed, &data_dir, &password, port).await?;
            if no_serve {
                return Ok(());
            }
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let analytics = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let sessions = crate::cli::serve::Sessions::new(None, false);
            crate::cli::serve::serve(store, &config, analytics, addr, sessions).await
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
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            let addr = std::net::SocketAddr::new(bind, port);
            let analytics = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let sessions = crate::cli::serve::Sessions {
                idle_minutes: session_minutes,
                absolute_hours: session_hours,
                metrics_token,
                ..crate::cli::serve::Sessions::new(public_url.as_deref(), secure_cookies)
            };
            crate::cli::serve::serve(store, &config, analytics, addr, sessions).await
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
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            let ids =
                crate::cli::acrm::segment_members(&store, &dir, &config, &condition, as_of).await?;
            crate::cli::serve::move_customers(&store, &ids, rm.as_deref(), &by, &reason).await
        }
        Command::Users { action } => {
            let store = open_store(&cli.store).await?;
            crate::cli::serve::users(&store, action).await
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
                            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                            let side =
                                |sys: &str, key: &str, name: &str, rest: [&Option<String>; 4]| {
                                    [sys.to_owned(), key.to_owned(), name.to_owned()]
                                        .into_iter()
                                        .chain(rest.map(opt))
                                        .collect()
                                };
                            let sides = vec![
                                side(
                                    &r.left_system,
                                    &r.left_key,
                                    &r.left_name,
                                    [
                                        &r.left_id_no,
                                        &r.left_mobile,
                                        &r.left_birth_date,
                                        &r.left_address,
                                    ],
                                ),
                                side(
                                    &r.right_system,
                                    &r.right_key,
                                    &r.right_name,
                                    [
                                        &r.right_id_no,
                                        &r.right_mobile,
                                        &r.right_birth_date,
                                        &r.right_address,
                                    ],
                                ),
                            ];
                            let header = [
                                "system", "record", "name", "id", "mobile", "born", "address",
                            ];
                            table::print(2, &header, sides);
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
            let e = panorama_ecif::store::evaluate(&store, &party).await?;
            say!(
                "records={} customers={} true_parties={} precision={:.4} recall={:.4} f1={:.4}",
                e.records,
                e.customers,
                e.parties,
                e.precision,
                e.recall,
                e.f1
            );
            Ok(())
        }
        Command::Dq { json } => {
            let store = open_store(&cli.store).await?;
            let rows = panorama_store::ecif::quality(&store).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                table::print(
                    0,
                    &[
                        "system",
                        "records",
                        "bad id",
                        "legacy",
                        "no id",
                        "no mobile",
                        "no addr",
                        "cc flag",
                        "duplicates",
                    ],
                    rows.iter()
                        .map(|r| {
                            let n = [
                                r.records,
                                r.invalid_ids,
                                r.legacy_ids,
                                r.missing_ids,
                                r.missing_mobiles,
                                r.missing_addresses,
                                r.credit_code_flags,
                                r.duplicates,
                            ];
                            std::iter::once(r.system.clone())
                                .chain(n.iter().map(ToString::to_string))
                                .collect()
                        })
                        .collect(),
                );
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
            let mut rows = Vec::new();
            for b in panorama_store::ingest::batches(&store).await? {
                let n = [b.rows_read, b.rows_landed, b.rows_rejected].map(|n| n.to_string());
                rows.push([vec![b.id.to_string(), b.status], n.to_vec(), vec![b.folder]].concat());
                if let Some(e) = b.error {
                    rows.push(vec![String::new(), format!("error: {e}")]);
                }
            }
            let header = ["batch", "status", "read", "landed", "rejected", "folder"];
            table::print(0, &header, rows);
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
                    draw,
                },
        } => {
            panorama_bench::ecif::run(&panorama_bench::ecif::Panel {
                dir,
                febrl,
                large,
                splink,
                only,
                draw,
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
        } => {
            let store = (cli.store != "panorama-data")
                .then(|| StoreLocation::parse(&cli.store))
                .transpose()?;
            panorama_bench::ingest::run(&panorama_bench::ingest::IngestBench {
                customers,
                dir,
                generate_only,
                store,
            })
            .await
        }
        Command::Bench {
            what:
                BenchWhat::Features {
                    runs,
                    as_of,
                    duckdb,
                },
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            panorama_bench::features::run(&store, &dir, &config, as_of, runs, duckdb.as_deref())
                .await
        }
        Command::Clv { action } => match action {
            action @ crate::cli::models::ClvAction::Margin { .. } => {
                let store = open_store(&cli.store).await?;
                let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
                crate::cli::models::margin(action, &store, &dir).await
            }
            crate::cli::models::ClvAction::Value { as_of } => {
                let store = open_store(&cli.store).await?;
                let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
                let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
                crate::cli::models::value(as_of, &store, &dir, &config).await
            }
            action => crate::cli::models::clv(action),
        },
        Command::Survey { action } => {
            let store = open_store(&cli.store).await?;
            survey(action, &store).await
        }
        Command::Sms { action } => crate::cli::sms::sms(action, &cli.store).await,
        Command::Sales { action } => crate::cli::sales::run(action, &cli.store).await,
        Command::Targets { action } => crate::cli::targets::run(action, &cli.store).await,
        Command::Appraisal { action } => crate::cli::appraisal::run(action, &cli.store).await,
        Command::Incentive { action } => crate::cli::appraisal::incentive(action, &cli.store).await,
        Command::Events { action } => {
            let store = open_store(&cli.store).await?;
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            crate::cli::events::events(action, &store, &config, &dir).await
        }
        Command::Campaign { action } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            crate::cli::campaign::campaign(*action, &store, &dir, &config).await
        }
        Command::Model { action } => match action {
            action @ crate::cli::models::ModelAction::Cv { .. } => {
                crate::cli::models::model(action)
            }
            action => {
                let store = open_store(&cli.store).await?;
                let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
                let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
                crate::cli::models::registry(action, &store, &dir, &config).await
            }
        },
        Command::Bench {
            what:
                BenchWhat::EcifOnline {
                    records,
                    rounds,
                    seed,
                },
        } => {
            if records == 0 || rounds == 0 {
                anyhow::bail!("--records and --rounds above 0");
            }
            let store = open_store(&cli.store).await?;
            panorama_bench::online::run(&store, records, rounds, seed).await
        }
        Command::Bench {
            what:
                BenchWhat::Events {
                    brokers,
                    events,
                    rate,
                    partitions,
                },
        } => {
            if brokers.is_empty() {
                anyhow::bail!(
                    "--brokers (or PANORAMA_KAFKA): the Kafka bootstrap brokers, host:port"
                );
            }
            if events == 0 || rate == 0 || !(1..=64).contains(&partitions) {
                anyhow::bail!("--events and --rate above 0, --partitions 1 to 64");
            }
            let store = open_store(&cli.store).await?;
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            panorama_bench::events::run(
                &store,
                &config.monitoring,
                &panorama_bench::events::EventsBench {
                    brokers,
                    events,
                    rate,
                    partitions,
                },
            )
            .await
        }
        Command::Bench {
            what: BenchWhat::Forecast { file, books, day },
        } => panorama_bench::forecast::run(&file, books, day),
        Command::Bench {
            what:
                BenchWhat::Clv {
                    customers,
                    seed,
                    lifetimes,
                },
        } => panorama_bench::clv::run(customers, seed, lifetimes.as_deref()),
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
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            let b = panorama_bench::web::WebBench {
                password,
                rm,
                agent,
                connections: connections.max(1),
                seconds: seconds.max(1),
                think_ms,
                wrk,
            };
            panorama_bench::web::run(store, &config, &b).await
        }
        Command::Batch {
            as_of,
            json,
            #[cfg(feature = "distributed")]
            cluster,
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            #[cfg(feature = "distributed")]
            let engine = match cluster {
                Some(addr) => cluster::session(&addr).await?,
                None => panorama_analytics::engine::session(),
            };
            #[cfg(not(feature = "distributed"))]
            let engine = panorama_analytics::engine::session();
            crate::cli::acrm::run_batch(&store, &dir, &config, as_of, json, engine).await?;
            Ok(())
        }
        #[cfg(feature = "distributed")]
        Command::Scheduler {
            bind,
            external_host,
        } => cluster::scheduler(bind, external_host).await,
        #[cfg(feature = "distributed")]
        Command::Executor {
            scheduler,
            bind_host,
            port,
            grpc_port,
            work_dir,
            concurrency,
        } => {
            cluster::executor(panorama_cluster::ExecutorOptions {
                scheduler,
                bind_host,
                flight_port: port,
                grpc_port,
                work_dir,
                concurrency: concurrency.and_then(|n| usize::try_from(n).ok()),
                memory_bytes: cli
                    .memory_budget
                    .map(|mb| (mb as u64).saturating_mul(1 << 20)),
            })
            .await
        }
        Command::Features { json } => crate::cli::acrm::print_catalogue(json),
        Command::Segment { action } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            crate::cli::acrm::segment(&store, &dir, &config, action).await
        }
        Command::Tiers { action } => {
            let store = open_store(&cli.store).await?;
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            crate::cli::acrm::tiers(&store, &config, action).await
        }
        Command::Profit { as_of } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            crate::cli::acrm::profit(&dir, as_of).await
        }
        Command::Sql {
            query,
            format,
            out,
            as_of,
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            crate::cli::acrm::run_sql(&dir, &query, as_of, format, out.as_deref()).await
        }
        Command::Export {
            out,
            condition,
            as_of,
        } => {
            let store = open_store(&cli.store).await?;
            let dir = crate::cli::acrm::analytics_dir(cli.analytics.as_deref(), &store);
            let config = crate::cli::acrm::load_config(cli.config.as_deref())?;
            crate::cli::acrm::export_features(
                &store,
                &dir,
                &config,
                as_of,
                condition.as_deref(),
                &out,
            )
            .await
        }
    }
}

async fn open_store(store: &str) -> Result<Store> {
    let location = StoreLocation::parse(store)?;
    Store::open(&location)
        .await
        .with_context(|| format!("opening the store {location}"))
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
