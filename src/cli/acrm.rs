//! The ACRM commands: the analytics batch, the feature catalogue, segments,
//! tiers, profitability, read-only SQL, exports and the feature benchmark.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches;
use panorama_analytics::batch::{self, BatchReport};
use panorama_analytics::catalogue::catalogue;
use panorama_analytics::cluster::DEFAULT_FEATURES;
use panorama_analytics::engine::{register_features, session};
use panorama_analytics::{Config, saved_segments, segment, snapshot, sql};
use panorama_store::{Store, StoreLocation, acrm};

/// Where the analytics files of a store live: `analytics/` beside a SQLite
/// store, `./panorama-analytics` for PostgreSQL, unless `--analytics` says.
pub fn analytics_dir(explicit: Option<&Path>, store: &Store) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    match store.location() {
        StoreLocation::Sqlite(path) => path.parent().unwrap_or(Path::new(".")).join("analytics"),
        StoreLocation::Postgres(_) => PathBuf::from("panorama-analytics"),
    }
}

/// Loads `--config` or the embedded default.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::load(p)?,
        None => Config::default_config(),
    })
}

/// Runs the nightly chain (`panorama_jobs::nightly_on`) with the batch's
/// queries on `engine`, and prints its report.
pub async fn run_batch(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
    json: bool,
    engine: panorama_analytics::engine::SessionContext,
) -> Result<BatchReport> {
    let run = panorama_jobs::nightly_on(store, analytics, config, as_of, engine).await?;
    if json {
        say!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(run.batch);
    }
    print_batch(&run.batch, config);
    for r in &run.scores {
        say!(
            "  scored {} customers with {} v{} in {:.2} s",
            r.customers,
            r.name,
            r.version,
            r.read_seconds + r.score_seconds + r.write_seconds
        );
    }
    if run.values.customers > 0 {
        say!(
            "  value: {} customers worth {} yuan over the horizon (mean yearly retention {:.1}%{})",
            run.values.customers,
            panorama_domain::money::Money::from_minor(run.values.total_minor),
            100.0 * run.values.mean_retention,
            if run.values.churn_model_id.is_some() {
                ", from the churn model's scores"
            } else {
                ", the configured rate: no approved churn model"
            }
        );
    }
    if run.targets_refreshed > 0 {
        say!(
            "  targets: actuals of {} period and indicator pairs recomputed",
            run.targets_refreshed
        );
        let rates: Vec<String> = run
            .forecasts
            .win_rates
            .iter()
            .map(|h| format!("{} {}/{}", h.stage, h.won, h.closed))
            .collect();
        say!(
            "  forecasts: {} targets, {} RM books (win rates won/closed in the year: {})",
            run.forecasts.targets,
            run.forecasts.books,
            if rates.is_empty() {
                "no history".to_owned()
            } else {
                rates.join(", ")
            }
        );
    }
    if run.complaints_escalated > 0 {
        say!(
            "  complaints: {} past their SLA escalated to branch managers",
            run.complaints_escalated
        );
    }
    if run.name_keys.customers > 0 {
        say!(
            "  name keys: {} customers keyed for pinyin search ({} keys)",
            run.name_keys.customers,
            run.name_keys.keys
        );
    }
    for (id, n) in &run.campaign_responses {
        say!("  campaign {id}: {n} new responses");
    }
    for id in &run.campaigns_finished {
        say!("  campaign {id}: its response window closed; finished, results kept");
    }
    if run.daily_check.salary_stopped > 0 {
        say!(
            "  salary stopped for {} customers: {} new alerts, {} RM tasks",
            run.daily_check.salary_stopped,
            run.daily_check.alerts,
            run.daily_check.tasks
        );
    }
    Ok(run.batch)
}

fn print_batch(r: &BatchReport, config: &Config) {
    say!(
        "batch {} as of {}: {} customers with features",
        r.run_id,
        r.as_of,
        r.customers
    );
    say!(
        "  snapshot: {} customers, {} accounts; transaction batches exported {} (current {}), balance batches exported {}",
        r.snapshot.tables.get("customer").copied().unwrap_or(0),
        r.snapshot.tables.get("account").copied().unwrap_or(0),
        r.snapshot.txn_batches.len(),
        r.snapshot.txn_batches_current,
        r.snapshot.balance_batches.len()
    );
    let tiers: Vec<String> = config
        .tiers
        .iter()
        .map(|t| {
            format!(
                "{} {} {}",
                t.name_zh,
                t.code,
                r.tiers.get(&t.code).copied().unwrap_or(0)
            )
        })
        .collect();
    say!("  tiers: {}", tiers.join(" | "));
    say!(
        "  tier history: {} decisions written, {} removed, {} changes decided this month",
        r.tier_rows_written,
        r.tier_rows_deleted,
        r.tier_changes_this_month
    );
    for s in &r.segments {
        say!(
            "  segment {}: {} members (+{} / -{})",
            s.name,
            s.members,
            s.entered,
            s.left
        );
    }
    let raised: Vec<String> = r
        .alerts_raised
        .iter()
        .map(|(rule, n)| format!("{rule} {n}"))
        .collect();
    say!(
        "  alerts: {} new, {} tasks on RMs' lists (raised: {})",
        r.alerts_written.alerts,
        r.alerts_written.tasks,
        if raised.is_empty() {
            "none".to_owned()
        } else {
            raised.join(", ")
        }
    );
    let secs: Vec<String> = r
        .seconds
        .iter()
        .zip(&r.peak_mb)
        .map(|((k, v), (_, mb))| format!("{k} {v:.2}s {mb:.0}MB"))
        .collect();
    say!("  stages (time, peak memory): {}", secs.join(", "));
}

/// Output formats of tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header.
    Csv,
    /// Parquet (needs --out).
    Parquet,
}

/// Segment actions.
#[derive(Debug, Subcommand)]
pub enum SegmentAction {
    /// Count the customers matching a condition (last line: count=N).
    Count {
        /// The condition, e.g. "aum_month_avg >= 500000 and not holds('credit_card')".
        #[arg(long = "where")]
        condition: String,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Save a rule segment; it is refreshed in every batch, with entered/left history.
    Save {
        /// Unique name.
        name: String,
        /// The condition.
        #[arg(long = "where")]
        condition: String,
        /// Who saves it (audited).
        #[arg(long)]
        by: String,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
    },
    /// List saved segments.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A segment's members (current, or the whole entered/left history).
    Members {
        /// Segment name.
        name: String,
        /// Include those who left.
        #[arg(long)]
        history: bool,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Delete a segment and its history.
    Delete {
        /// Segment name.
        name: String,
        /// Who deletes it (audited).
        #[arg(long)]
        by: String,
    },
    /// Cluster customers with k-means on standardised features and describe each cluster.
    Cluster {
        /// Number of clusters.
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Comma-separated numeric features (default: a balanced set of value and behaviour).
        #[arg(long, value_delimiter = ',')]
        features: Vec<String>,
        /// Only customers matching this condition (default: persons).
        #[arg(long = "where", default_value = "party_type = 'person'")]
        condition: String,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Save the clusters as segments NAME-1 … NAME-k.
        #[arg(long)]
        save: Option<String>,
        /// Who saves them (audited; needed with --save).
        #[arg(long)]
        by: Option<String>,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

/// Tier reports.
#[derive(Debug, Subcommand)]
pub enum TierAction {
    /// Migration matrix: customers by tier on one date against another.
    Migration {
        /// From date.
        #[arg(long)]
        from: NaiveDate,
        /// To date.
        #[arg(long)]
        to: NaiveDate,
    },
    /// Tier changes decided between two dates (the events behind RM alerts).
    Changes {
        /// From date (inclusive).
        #[arg(long)]
        from: NaiveDate,
        /// To date (inclusive).
        #[arg(long)]
        to: NaiveDate,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One customer's tier history with the reasons.
    History {
        /// Customer number.
        customer_no: String,
    },
}

/// Counts a condition on the features and prints `count=N` last.
pub async fn segment_count(
    store: &Store,
    analytics: &Path,
    config: &Config,
    condition: &str,
    as_of: Option<NaiveDate>,
) -> Result<()> {
    let started = Instant::now();
    let vocab = batch::vocabulary(store, config).await?;
    let filter = segment::compile(condition, &vocab)?;
    let ctx = session();
    let date = register_features(&ctx, analytics, as_of).await?;
    let n = batch::count(&ctx, filter).await?;
    say!(
        "features as of {date}; counted in {:.3}s",
        started.elapsed().as_secs_f64()
    );
    say!("count={n}");
    Ok(())
}

/// The customers matching `condition` on the features of `as_of` (default:
/// the latest).
pub async fn segment_members(
    store: &Store,
    analytics: &Path,
    config: &Config,
    condition: &str,
    as_of: Option<NaiveDate>,
) -> Result<Vec<i64>> {
    let vocab = batch::vocabulary(store, config).await?;
    let filter = segment::compile(condition, &vocab)?;
    let ctx = session();
    register_features(&ctx, analytics, as_of).await?;
    Ok(batch::members_of(&ctx, filter).await?)
}

/// Runs a segment action.
pub async fn segment(
    store: &Store,
    analytics: &Path,
    config: &Config,
    action: SegmentAction,
) -> Result<()> {
    match action {
        SegmentAction::Count { condition, as_of } => {
            segment_count(store, analytics, config, &condition, as_of).await
        }
        SegmentAction::Save {
            name,
            condition,
            by,
            description,
        } => {
            let saved = saved_segments::save_rule(
                store,
                analytics,
                config,
                &name,
                &condition,
                description.as_deref(),
                &by,
            )
            .await?;
            say!(
                "saved segment {name} (id {}): {} members as of {}",
                saved.id,
                saved.members,
                saved.as_of
            );
            Ok(())
        }
        SegmentAction::List { json } => {
            let rows = acrm::segments(store).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let rows = rows.into_iter().map(|s| {
                    let what = if s.kind == "rule" {
                        s.definition
                    } else {
                        "k-means cluster".into()
                    };
                    let n = s.member_count.unwrap_or(0).to_string();
                    let on = s.refreshed_on.unwrap_or_else(|| "-".into());
                    vec![s.name, s.kind, n, on, what]
                });
                let header = ["segment", "kind", "members", "as of", "definition"];
                super::table::print(0, &header, rows.collect());
            }
            Ok(())
        }
        SegmentAction::Members {
            name,
            history,
            limit,
        } => {
            let seg = acrm::segment(store, &name)
                .await?
                .with_context(|| format!("no segment named {name}"))?;
            for m in acrm::members(store, seg.id, history, limit).await? {
                say!(
                    "{}\t{}\tentered {}{}",
                    m.customer_id,
                    m.customer_no,
                    m.entered_on,
                    m.left_on.map(|l| format!("\tleft {l}")).unwrap_or_default()
                );
            }
            Ok(())
        }
        SegmentAction::Delete { name, by } => {
            saved_segments::delete(store, &name, &by).await?;
            say!("deleted segment {name}");
            Ok(())
        }
        SegmentAction::Cluster {
            k,
            features,
            condition,
            seed,
            save,
            by,
            as_of,
        } => {
            let features = if features.is_empty() {
                DEFAULT_FEATURES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                features
            };
            if save.is_some() && by.is_none() {
                bail!("--save needs --by (who saves the segments)");
            }
            cluster(
                store,
                analytics,
                config,
                k,
                features,
                &condition,
                seed,
                save.zip(by),
                as_of,
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn cluster(
    store: &Store,
    analytics: &Path,
    config: &Config,
    k: usize,
    features: Vec<String>,
    condition: &str,
    seed: u64,
    save: Option<(String, String)>,
    as_of: Option<NaiveDate>,
) -> Result<()> {
    let ask = saved_segments::ClusterAsk {
        k,
        features,
        condition,
        seed,
        as_of,
    };
    let c = saved_segments::fit_clusters(store, analytics, config, &ask).await?;
    say!(
        "k-means: {} customers as of {}, k={k}, {} features, {:.2}s",
        c.ids.len(),
        c.as_of,
        ask.features.len(),
        c.seconds
    );
    for p in &c.profile {
        say!(
            "cluster {} — {} customers ({:.1}%): {}",
            p.cluster,
            p.size,
            p.share_pct,
            p.description
        );
        let means: Vec<String> = ask
            .features
            .iter()
            .zip(&p.means)
            .zip(&c.model.log_scale)
            .map(|((f, m), money)| {
                if *money {
                    format!("{f}={:.0} yuan", m / 100.0)
                } else {
                    format!("{f}={m:.1}")
                }
            })
            .collect();
        say!("    means: {}", means.join(", "));
    }
    if let Some((name, by)) = save {
        let n = saved_segments::save_clusters(store, &c, &name, &by).await?;
        say!("saved {n} segments {name}-1 … {name}-{k}");
    }
    Ok(())
}

/// Runs a tier report.
pub async fn tiers(store: &Store, config: &Config, action: TierAction) -> Result<()> {
    let label = |code: &str| {
        config
            .tier(code)
            .map_or_else(|| code.to_owned(), |t| format!("{} {}", t.name_zh, t.code))
    };
    match action {
        TierAction::Migration { from, to } => {
            let cells = acrm::tier_migration(store, &from.to_string(), &to.to_string()).await?;
            let mut rows: Vec<Option<String>> =
                config.tiers.iter().map(|t| Some(t.code.clone())).collect();
            rows.push(None);
            say!("tier migration {from} → {to} (rows: tier on {from}; columns: tier on {to})");
            // Codes only in the header: CJK names are double width in a terminal.
            let header: Vec<String> = config
                .tiers
                .iter()
                .map(|t| format!("{:>12}", t.code))
                .collect();
            say!("{:<16}{} {:>10}", "", header.join(""), "total");
            for r in &rows {
                let mut total = 0;
                let cols: Vec<String> = config
                    .tiers
                    .iter()
                    .map(|t| {
                        let n = cells
                            .iter()
                            .find(|(f, to, _)| f == r && *to == t.code)
                            .map_or(0, |c| c.2);
                        total += n;
                        format!("{n:>12}")
                    })
                    .collect();
                let name = r.as_deref().unwrap_or("(new)");
                say!("{name:<16}{} {total:>10}", cols.join(""));
            }
            let order: Vec<&str> = config.tiers.iter().map(|t| t.code.as_str()).collect();
            let m = panorama_analytics::tiers::migration_summary(&cells, &order);
            say!(
                "upgraded={} downgraded={} unchanged={}",
                m.upgraded,
                m.downgraded,
                m.unchanged
            );
            Ok(())
        }
        TierAction::Changes { from, to, limit } => {
            for r in acrm::tier_changes(store, &from.to_string(), &to.to_string(), limit).await? {
                say!(
                    "{}  customer {}  {} → {}  {}",
                    r.as_of,
                    r.customer_id,
                    r.previous_tier.as_deref().map_or_else(String::new, label),
                    label(&r.tier),
                    r.reason
                );
            }
            Ok(())
        }
        TierAction::History { customer_no } => {
            let id =
                panorama_store::assign::ids_by_number(store, std::slice::from_ref(&customer_no))
                    .await?
                    .get(&customer_no)
                    .copied()
                    .with_context(|| format!("no customer {customer_no}"))?;
            for r in acrm::customer_tiers(store, id).await? {
                say!("{}  {:<14} {}", r.as_of, label(&r.tier), r.reason);
            }
            Ok(())
        }
    }
}

/// Prints or writes query results.
pub fn output(
    schema: SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    out: Option<&Path>,
) -> Result<()> {
    match (format, out) {
        (Format::Parquet, None) => bail!("--format parquet needs --out FILE"),
        (Format::Parquet, Some(path)) => {
            let n = snapshot::write_parquet(path, schema, batches)?;
            say!("wrote {n} rows to {}", path.display());
        }
        (Format::Csv, Some(path)) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = datafusion::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(file);
            let mut n = 0;
            for b in batches {
                w.write(b)?;
                n += b.num_rows();
            }
            say!("wrote {n} rows to {}", path.display());
        }
        (Format::Csv, None) => {
            let mut buf = Vec::new();
            {
                let mut w = datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut buf);
                for b in batches {
                    w.write(b)?;
                }
            }
            use std::io::Write as _;
            if std::io::stdout().write_all(&buf).is_err() {
                std::process::exit(0);
            }
        }
        (Format::Table, _) => {
            say!("{}", pretty_format_batches(batches)?);
            say!(
                "({} rows)",
                batches.iter().map(RecordBatch::num_rows).sum::<usize>()
            );
        }
    }
    Ok(())
}

/// `panorama sql`.
pub async fn run_sql(
    analytics: &Path,
    text: &str,
    as_of: Option<NaiveDate>,
    format: Format,
    out: Option<&Path>,
) -> Result<()> {
    let (ctx, _) = sql::analyst_session(analytics, as_of).await?;
    let (schema, batches) = sql::query(&ctx, text).await?;
    output(schema, &batches, format, out)
}

/// `panorama export features`.
pub async fn export_features(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
    condition: Option<&str>,
    out: &Path,
) -> Result<()> {
    let format = match out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => Format::Parquet,
        Some("csv") => Format::Csv,
        _ => bail!("--out must end in .csv or .parquet"),
    };
    let ctx = session();
    register_features(&ctx, analytics, as_of).await?;
    let mut df = ctx.table("features").await?;
    if let Some(c) = condition {
        let vocab = batch::vocabulary(store, config).await?;
        df = df.filter(segment::compile(c, &vocab)?)?;
    }
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    output(schema, &batches, format, Some(out))
}

/// `panorama profit`: the Pareto view of profit contribution.
pub async fn profit(analytics: &Path, as_of: Option<NaiveDate>) -> Result<()> {
    let p = panorama_analytics::pareto::pareto(analytics, as_of).await?;
    say!(
        "profit contribution by decile of customers, as of {} (12 months, yuan)",
        p.as_of
    );
    say!("{}", pretty_format_batches(&p.deciles)?);
    say!("{}", pretty_format_batches(&p.concentration)?);
    say!("households:");
    say!("{}", pretty_format_batches(&p.households)?);
    Ok(())
}

/// `panorama features`: the catalogue.
pub fn print_catalogue(json: bool) -> Result<()> {
    let cat = catalogue();
    if json {
        let rows: Vec<serde_json::Value> = cat
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "type": f.kind.word(), "unit": f.unit, "meaning": f.meaning, "meaning_zh": f.meaning_zh}))
            .collect();
        say!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for f in &cat {
            say!(
                "{:<24} {:<9} {:<12} {} / {}",
                f.name,
                f.kind.word(),
                f.unit,
                f.meaning,
                f.meaning_zh
            );
        }
    }
    Ok(())
}
