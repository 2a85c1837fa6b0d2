//! `panorama clv …` and `panorama bench clv`: customer lifetime value
//! models fitted on purchase summaries.

use std::path::Path;

use super::table;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use panorama_models::{BgNbd, GammaGamma};

/// Customer lifetime value actions.
#[derive(Debug, Subcommand)]
pub enum ClvAction {
    /// Fit BG/NBD (and, with monetary values, Gamma-Gamma) to a summary CSV.
    Fit {
        /// CSV with id, frequency, recency, T[, monetary_value] (or Fader's
        /// ID, x, t_x, T[, zbar]), times in one unit.
        #[arg(long)]
        summary: std::path::PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Margin-based CLV from the profitability features: each customer's
    /// last-12-month profit contribution, kept with their yearly retention
    /// (from the approved churn model's scores, or one rate for all) and
    /// discounted over the horizon.
    Margin {
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Horizon in years.
        #[arg(long, default_value_t = 5)]
        years: u32,
        /// Yearly discount rate.
        #[arg(long, default_value_t = 0.08)]
        discount: f64,
        /// The approved churn model whose scores give each customer's retention.
        #[arg(long)]
        churn_model: Option<String>,
        /// Yearly retention for everyone (without a churn model).
        #[arg(long, default_value_t = 0.9)]
        retention: f64,
        /// Write customer_id, profit_12m_fen, retention, clv_fen here.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Value every customer as the nightly chain does (the configuration's
    /// `[value]`: horizon, discount, the approved churn model's retention)
    /// and keep the values for the 360°, the service desk, campaign
    /// selection and the next batch's `clv` feature.
    Value {
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
}

/// Model actions.
#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Cross-validate a learner on any CSV with a binary target; prints the
    /// mean AUC as the last line `auc=0.XXXX`.
    Cv {
        /// The CSV file.
        #[arg(long)]
        csv: std::path::PathBuf,
        /// The target column.
        #[arg(long)]
        target: String,
        /// The target's positive value (default: 1, yes, true or y).
        #[arg(long)]
        positive: Option<String>,
        /// Columns to leave out, comma-separated.
        #[arg(long, value_delimiter = ',')]
        drop: Vec<String>,
        /// Field separator (one character; `tab` for a tab).
        #[arg(long, default_value = ",")]
        sep: String,
        /// Number of folds.
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// The learner.
        #[arg(long, value_enum, default_value = "logistic")]
        learner: LearnerArg,
        /// Seed of the fold split.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Train a model on the feature store and register it as a new version:
    /// features as of `--as-of`, outcomes from the following months, tested
    /// out of time (or on a 30% holdout when the data ends too soon); prints
    /// `model=ID` last.
    Train {
        /// Registry name (versions share it).
        #[arg(long)]
        name: String,
        /// What to predict: uptake:CLASS (e.g. uptake:card, uptake:wealth),
        /// churn, or response:CAMPAIGN_ID (learnt from a launched
        /// campaign's treated members and their responses).
        #[arg(long)]
        target: String,
        /// Features as of this date (a month end); a campaign's response
        /// model uses the features of its launch.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Outcome window in months.
        #[arg(long, default_value_t = 6)]
        horizon_months: u32,
        /// For churn: the share of assets lost that counts as leaving.
        #[arg(long, default_value_t = 0.8)]
        drop: f64,
        /// The learner.
        #[arg(long, value_enum, default_value = "gbdt")]
        learner: LearnerArg,
        /// Who trains it (a second person approves).
        #[arg(long)]
        by: String,
        /// The synthetic bank's truth folder: compare with the hidden propensity.
        #[arg(long)]
        truth: Option<std::path::PathBuf>,
        /// Seed of the holdout split.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Also write the encoded training and test sets (train.csv, test.csv) here,
        /// for a reference learner (scripts/lightgbm_train_test.py).
        #[arg(long)]
        export: Option<std::path::PathBuf>,
        /// The most labelled customers a window keeps: a larger population is
        /// sampled, each outcome at the same share, and only the sample's features read.
        #[arg(long, default_value_t = panorama_scoring::MAX_ROWS, value_parser = max_rows)]
        max_rows: usize,
    },
    /// Show a version's evaluation: AUC, KS, lift, gains and calibration by decile.
    Evaluate {
        /// Model id.
        id: i64,
        /// Print the stored report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a trained version (not by its trainer); the one approved before is retired.
    Approve {
        /// Model id.
        id: i64,
        /// Who approves.
        #[arg(long)]
        by: String,
    },
    /// Score customers with the approved models (or one model by name).
    Score {
        /// Only this model name.
        #[arg(long)]
        name: Option<String>,
        /// Features of this date (default: the latest computed).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Customers read and scored at a time: memory holds one chunk.
        #[arg(long, default_value_t = panorama_scoring::CHUNK as u64, value_parser = clap::value_parser!(u64).range(1..))]
        chunk_rows: u64,
    },
    /// Every registered version.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Learners on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LearnerArg {
    /// L2-regularised logistic regression (C = 1) on standardised features.
    Logistic,
    /// Gradient-boosted trees (LightGBM's defaults: 100 trees, 31 leaves, rate 0.1).
    Gbdt,
    /// A CHAID tree (chi-square splits, merged categories, Bonferroni-adjusted stopping).
    Chaid,
}

/// Runs a model action.
pub fn model(action: ModelAction) -> Result<()> {
    match action {
        ModelAction::Train { .. }
        | ModelAction::Evaluate { .. }
        | ModelAction::Approve { .. }
        | ModelAction::Score { .. }
        | ModelAction::List { .. } => {
            anyhow::bail!("this model action works on a store: run it through `panorama model`")
        }
        ModelAction::Cv {
            csv,
            target,
            positive,
            drop,
            sep,
            folds,
            learner,
            seed,
        } => {
            let separator = match sep.as_str() {
                "tab" | "\\t" => b'\t',
                s if s.len() == 1 => s.as_bytes()[0],
                s => anyhow::bail!("--sep takes one character (or `tab`), not {s:?}"),
            };
            let spec = panorama_models::data::CsvSpec {
                separator,
                target: &target,
                positive: positive.as_deref(),
                drop: &drop,
            };
            let started = Instant::now();
            let data = panorama_models::data::read_csv(&csv, &spec)?;
            let positives = data.y.iter().filter(|y| **y).count();
            say!(
                "{}: {} rows ({} positive, {:?}), {} features after encoding, read in {:.2} s",
                csv.display(),
                data.rows(),
                positives,
                data.positive,
                data.width(),
                started.elapsed().as_secs_f64()
            );
            let learner = learner_of(learner);
            let cv = panorama_models::cv::cross_validate(&data, learner, folds, seed)?;
            let result = &cv.folds;
            for (i, f) in result.iter().enumerate() {
                say!(
                    "  fold {}: AUC {:.4}  ({} train, {} test rows; trained in {:.3} s, {} iterations)",
                    i + 1,
                    f.auc,
                    f.train_rows,
                    f.test_rows,
                    f.train_seconds,
                    f.iterations
                );
            }
            let mean = result.iter().map(|f| f.auc).sum::<f64>() / result.len() as f64;
            let threads = rayon::current_num_threads();
            say!(
                "training {:.3} s over {} folds (wall clock; folds trained side by side on {threads} threads)",
                cv.seconds,
                result.len()
            );
            let ks = panorama_models::metrics::ks(&cv.scores, &data.y).unwrap_or(0.0);
            say!("out-of-fold scores of every row: KS {ks:.4}; by decile of score:");
            print_deciles(&panorama_models::metrics::deciles(&cv.scores, &data.y));
            if learner == panorama_models::cv::Learner::Chaid {
                let rows: Vec<usize> = (0..data.rows()).collect();
                let tree = panorama_models::chaid::Chaid::fit(
                    &data,
                    &rows,
                    &panorama_models::chaid::ChaidParams::default(),
                )?;
                say!("the tree grown on every row:");
                for line in tree.describe().lines() {
                    say!("  {line}");
                }
            } else {
                let top = panorama_models::cv::importance(&data, learner)?;
                let what = if learner == panorama_models::cv::Learner::Logistic {
                    "coefficient on the standardised feature"
                } else {
                    "share of the split gain"
                };
                say!("fitted on every row, the features that matter most ({what}):");
                for (name, weight) in top.iter().take(10) {
                    say!("  {weight:>+9.4}  {name}");
                }
            }
            say!("auc={mean:.4}");
            Ok(())
        }
    }
}

/// Lift, gains and calibration by decile of score, as a table.
fn print_deciles(deciles: &[panorama_models::metrics::Decile]) {
    say!(
        "  {:>6} {:>9} {:>9} {:>10} {:>9} {:>7} {:>10}",
        "decile",
        "customers",
        "positive",
        "mean score",
        "rate",
        "lift",
        "cum. gain"
    );
    for d in deciles {
        say!(
            "  {:>6} {:>9} {:>9} {:>10.4} {:>9.4} {:>7.2} {:>9.1}%",
            d.decile,
            d.customers,
            d.positives,
            d.mean_score,
            d.rate,
            d.lift,
            100.0 * d.cumulative_gain
        );
    }
}

/// `--max-rows`: at least 100 (fewer cannot stand for a population).
fn max_rows(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 100 => Ok(n),
        Ok(n) => Err(format!(
            "{n} is too few: a sample of at least 100 customers"
        )),
        Err(e) => Err(format!("not a number of customers: {e}")),
    }
}

fn learner_of(arg: LearnerArg) -> panorama_models::cv::Learner {
    match arg {
        LearnerArg::Logistic => panorama_models::cv::Learner::Logistic,
        LearnerArg::Gbdt => panorama_models::cv::Learner::Gbdt,
        LearnerArg::Chaid => panorama_models::cv::Learner::Chaid,
    }
}

/// Prints a training report: data, test, deciles, truth, features.
fn print_report(r: &panorama_scoring::TrainReport) {
    say!(
        "{} ({}): trained on {} customers as of {} ({} took the outcome within {} months; train AUC {:.4}) in {:.2} s",
        r.target.code(),
        r.learner,
        r.train_rows,
        r.train_as_of,
        r.train_positives,
        r.horizon_months,
        r.train_auc,
        r.fit_seconds
    );
    for s in &r.samples {
        say!(
            "  sampled as of {}: {} of {} labelled customers ({} of {} positive), each outcome at the same share",
            s.as_of,
            s.kept,
            s.population,
            s.kept_positives,
            s.population_positives
        );
    }
    if let Some(v) = &r.validation {
        say!(
            "validation ({}): {} customers as of {}, {} positive: AUC {:.4}, KS {:.4}",
            v.kind,
            v.rows,
            v.as_of,
            v.positives,
            v.auc,
            v.ks
        );
    }
    if let Some(tuning) = &r.tuning {
        say!(
            "tuned on the validation rows: {} (log loss {:.5})",
            tuning.chosen,
            tuning.validation_loss
        );
    }
    let t = &r.test;
    say!(
        "test ({}): {} customers as of {}, {} positive: AUC {:.4}, KS {:.4}",
        t.kind,
        t.rows,
        t.as_of,
        t.positives,
        t.auc,
        t.ks
    );
    print_deciles(&t.deciles);
    if let Some(truth) = &r.truth {
        say!(
            "against the hidden propensity on {} test customers: truth AUC {:.4}, model AUC {:.4}, ratio {:.3}",
            truth.rows,
            truth.truth_auc,
            truth.model_auc,
            truth.ratio
        );
    }
    if !r.tree.is_empty() {
        say!("the tree:");
        for line in &r.tree {
            say!("  {line}");
        }
    }
    if !r.top_features.is_empty() {
        say!("features that matter most:");
        for (name, w) in &r.top_features {
            say!("  {w:>+9.4}  {name}");
        }
    }
}

/// Runs a registry action over the store.
pub async fn registry(
    action: ModelAction,
    store: &panorama_store::Store,
    analytics: &Path,
    config: &panorama_analytics::Config,
) -> Result<()> {
    use panorama_store::models as reg;
    match action {
        ModelAction::Cv { .. } => model(action),
        ModelAction::Train {
            name,
            target,
            as_of,
            horizon_months,
            drop,
            learner,
            by,
            truth,
            seed,
            export,
            max_rows,
        } => {
            let spec = panorama_scoring::TrainSpec {
                name,
                target: panorama_scoring::Target::parse(&target, drop)?,
                as_of,
                horizon_months,
                learner: learner_of(learner),
                by,
                truth,
                seed,
                export,
                max_rows,
            };
            let (id, version, report) =
                panorama_scoring::train(store, analytics, config, &spec).await?;
            print_report(&report);
            say!(
                "registered {} version {version} as trained: approve it with `panorama model approve {id} --by NAME` (someone else)",
                spec.name
            );
            say!("model={id}");
            Ok(())
        }
        ModelAction::Evaluate { id, json } => {
            let m = reg::get(store, id)
                .await?
                .with_context(|| format!("there is no model {id}"))?;
            let metrics = m.metrics.as_deref().unwrap_or("null");
            if json {
                say!("{metrics}");
                return Ok(());
            }
            say!(
                "model {} — {} version {} ({}), {}; trained by {} on {}{}",
                m.id,
                m.name,
                m.version,
                m.kind,
                m.status,
                m.created_by,
                m.created_at,
                m.approved_by
                    .as_deref()
                    .map(|a| format!(", approved by {a}"))
                    .unwrap_or_default()
            );
            let report: panorama_scoring::TrainReport = serde_json::from_str(metrics)
                .with_context(|| format!("model {id}: the stored report is unreadable"))?;
            print_report(&report);
            Ok(())
        }
        ModelAction::Approve { id, by } => {
            let m = panorama_ocrm::approval::approve_model(store, id, &by).await?;
            say!(
                "model {} ({} version {}) approved by {by}: the batch scores with it from now on",
                m.id,
                m.name,
                m.version
            );
            Ok(())
        }
        ModelAction::Score {
            name,
            as_of,
            chunk_rows,
        } => {
            let reports = panorama_scoring::score_chunked(
                store,
                analytics,
                as_of,
                name.as_deref(),
                usize::try_from(chunk_rows).unwrap_or(usize::MAX),
            )
            .await?;
            if reports.is_empty() {
                say!("no approved models: nothing scored");
            }
            for r in reports {
                say!(
                    "{} v{} (model {}): {} customers scored as of {} — read {:.2} s, score with reasons {:.2} s, write {:.2} s",
                    r.name,
                    r.version,
                    r.model_id,
                    r.customers,
                    r.as_of,
                    r.read_seconds,
                    r.score_seconds,
                    r.write_seconds
                );
            }
            Ok(())
        }
        ModelAction::List { json } => {
            let rows = reg::list(store).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            let rows = rows.into_iter().map(|m| {
                let test_auc = m
                    .metrics
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<panorama_scoring::TrainReport>(s).ok())
                    .map_or_else(|| "-".to_owned(), |r| format!("{:.4}", r.test.auc));
                let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
                vec![
                    m.id.to_string(),
                    m.name,
                    m.version.to_string(),
                    m.kind,
                    m.status,
                    or_dash(m.train_from),
                    or_dash(m.train_to),
                    test_auc,
                    format!("{} / {}", m.created_by, or_dash(m.approved_by)),
                ]
            });
            let header = [
                "id", "name", "v", "target", "status", "as of", "outcomes", "AUC",
            ];
            table::print(
                0,
                &[&header[..], &["trained by / approved by"]].concat(),
                rows.collect(),
            );
            Ok(())
        }
    }
}

/// Runs a CLV action.
pub fn clv(action: ClvAction) -> Result<()> {
    match action {
        ClvAction::Fit { summary, json } => fit(&summary, json),
        ClvAction::Margin { .. } | ClvAction::Value { .. } => {
            anyhow::bail!("clv margin and value work on a store: run them through `panorama clv`")
        }
    }
}

/// `panorama clv value`.
pub async fn value(
    as_of: Option<chrono::NaiveDate>,
    store: &panorama_store::Store,
    analytics: &Path,
    config: &panorama_analytics::Config,
) -> Result<()> {
    let v = panorama_scoring::clv::store_values(store, analytics, &config.value, as_of).await?;
    say!(
        "{} customers valued as of {}: {} yuan over {} years at {:.1}% discount, mean yearly retention {:.1}% {}",
        v.customers,
        v.as_of.map(|d| d.to_string()).unwrap_or_default(),
        panorama_domain::money::Money::from_minor(v.total_minor),
        config.value.horizon_years,
        config.value.discount_bp as f64 / 100.0,
        100.0 * v.mean_retention,
        if v.churn_model_id.is_some() {
            "from the churn model's scores"
        } else {
            "(the configured rate: no approved churn model)"
        }
    );
    Ok(())
}

/// `panorama clv margin`.
pub async fn margin(
    action: ClvAction,
    store: &panorama_store::Store,
    analytics: &Path,
) -> Result<()> {
    let ClvAction::Margin {
        as_of,
        years,
        discount,
        churn_model,
        retention,
        out,
    } = action
    else {
        return clv(action);
    };
    let params = panorama_scoring::clv::MarginParams {
        as_of,
        years,
        discount,
        retention,
        churn_model: churn_model.as_deref(),
    };
    let clv = panorama_scoring::clv::margin(store, analytics, &params).await?;
    if let Some(path) = &out {
        let mut w =
            csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
        w.write_record(["customer_id", "profit_12m_fen", "retention", "clv_fen"])?;
        for r in &clv.rows {
            w.write_record([
                r.customer_id.to_string(),
                r.profit_fen.to_string(),
                format!("{:.4}", r.retention),
                r.clv_fen.to_string(),
            ])?;
        }
        w.flush()?;
    }
    let values: Vec<i64> = clv.rows.iter().map(|r| r.clv_fen).collect();
    let total: i64 = values.iter().sum();
    say!(
        "margin CLV as of {}: {} customers, {years} years at {:.1}% discount, retention {}; total {} yuan",
        clv.as_of,
        clv.rows.len(),
        100.0 * discount,
        if clv.from_churn_model {
            "from the churn model's scores".to_owned()
        } else {
            format!("{retention} for all")
        },
        panorama_domain::money::Money::from_minor(total)
    );
    say!(
        "  {:>6} {:>10} {:>16} {:>14}",
        "decile",
        "customers",
        "mean CLV, yuan",
        "share of total"
    );
    for (k, d) in panorama_scoring::clv::deciles(&values).iter().enumerate() {
        say!(
            "  {:>6} {:>10} {:>16.2} {:>13.1}%",
            k + 1,
            d.customers,
            d.mean_fen / 100.0,
            100.0 * d.share
        );
    }
    if let Some(path) = &out {
        say!("written to {}", path.display());
    }
    Ok(())
}

fn fit(path: &Path, json: bool) -> Result<()> {
    let started = Instant::now();
    let data = panorama_models::read_summary(path)?;
    let read = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let m = BgNbd::fit(&data.rows).context("fitting BG/NBD")?;
    let bg_seconds = started.elapsed().as_secs_f64();
    let with_values = data.rows.iter().any(|s| s.monetary.is_some());
    let started = Instant::now();
    let g = if with_values {
        Some(GammaGamma::fit(&data.rows).context("fitting Gamma-Gamma")?)
    } else {
        None
    };
    let gg_seconds = started.elapsed().as_secs_f64();
    if json {
        say!(
            "{}",
            serde_json::json!({
                "customers": data.rows.len(),
                "bg_nbd": m,
                "gamma_gamma": g,
                "seconds": {"read": read, "bg_nbd": bg_seconds, "gamma_gamma": gg_seconds},
            })
        );
        return Ok(());
    }
    say!(
        "BG/NBD on {} customers: log-likelihood {:.2}, {} iterations, {:.3} s (read {:.3} s)",
        data.rows.len(),
        m.log_likelihood,
        m.iterations,
        bg_seconds,
        read
    );
    say!(
        "r={:.4} alpha={:.4} a={:.4} b={:.4}",
        m.r,
        m.alpha,
        m.a,
        m.b
    );
    if m.a < 1e-3 || m.b < 1e-3 {
        say!(
            "note: a or b is near 0: the data show no sign of dropout, and the model reduces to a plain NBD (more customers or a longer window may tell)"
        );
    }
    if let Some(g) = g {
        say!(
            "Gamma-Gamma on the {} customers with repeat purchases and a positive value ({} left out): log-likelihood {:.2}, {} iterations, {:.3} s",
            g.used,
            g.left_out,
            g.log_likelihood,
            g.iterations,
            gg_seconds
        );
        say!("p={:.4} q={:.4} v={:.4}", g.p, g.q, g.v);
    }
    Ok(())
}
