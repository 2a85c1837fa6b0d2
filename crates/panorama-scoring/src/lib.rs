//! Propensity models on the feature store: training sets built as of a past
//! date with outcomes from the following window (no look-ahead), an
//! out-of-time test, the registry (train → evaluate → approve → score), and
//! scoring with each customer's top reasons.

pub mod clv;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Months, NaiveDate};
use datafusion::arrow::array::{AsArray, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::record_batch::RecordBatch;
use futures_util::StreamExt;
use panorama_analytics::Config;
use panorama_analytics::catalogue::{CLASSES, FeatureType, catalogue};
use panorama_analytics::tiers::{month_end, month_start};
use panorama_models::cv::Learner;
use panorama_models::encode::{Encoder, Raw};
use panorama_models::metrics::{Decile, auc, deciles, ks};
use panorama_models::scorecard::Scorecard;
use panorama_store::Store;
use panorama_store::models::{self as registry, ModelRow, NewModel};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What went wrong in training or scoring.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    /// The request or the data cannot give a model: a message the user can act on.
    #[error("{0}")]
    Invalid(String),
    /// A step failed; what it was doing, and why.
    #[error("{what}: {source}")]
    Step {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] panorama_store::StoreError),
    /// The feature store failed.
    #[error(transparent)]
    Analytics(#[from] panorama_analytics::AnalyticsError),
    /// The analytics engine failed.
    #[error("analytics engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    /// An Arrow cast failed.
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    /// A learner failed.
    #[error(transparent)]
    Model(#[from] panorama_models::ModelError),
    /// JSON (a stored report) failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A file failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A CSV file failed.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, ScoringError>;

/// Returns early with [`ScoringError::Invalid`].
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(ScoringError::Invalid(format!($($arg)*)))
    };
}

/// Says what a failing step was doing (a `Result`), or what is missing (an `Option`).
trait Context<T> {
    fn context(self, what: &str) -> Result<T>;
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.with_context(|| what)
    }
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| ScoringError::Step {
            what: what().into(),
            source: Box::new(e),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T> {
        self.ok_or_else(|| ScoringError::Invalid(what.to_owned()))
    }
    fn with_context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.ok_or_else(|| ScoringError::Invalid(what().into()))
    }
}

/// Columns never used as predictors: keys and labels of the customer.
const NOT_PREDICTORS: &[&str] = &["customer_id", "household_id", "customer_no", "home_branch"];

/// Rows scored per chunk (bounds the memory of the encoded matrix).
pub const CHUNK: usize = 100_000;

/// The most labelled customers a training window keeps (`model train
/// --max-rows`). A larger population is sampled, each outcome at the same
/// share (so rates and calibration hold), and only the sample's features
/// are read: training's memory stays flat whatever the bank's size. At
/// this size the learners' estimates move by less than their own noise.
pub const MAX_ROWS: usize = 250_000;

/// A window whose labelled customers were more than the cap, and the
/// stratified sample learnt or evaluated on instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Features as of.
    pub as_of: NaiveDate,
    /// Labelled customers in the window.
    pub population: usize,
    /// Of them, positive.
    pub population_positives: usize,
    /// Kept.
    pub kept: usize,
    /// Of them, positive.
    pub kept_positives: usize,
}

/// What a model predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// Takes up a product class within the window (customers not holding it).
    Uptake {
        /// Product class (`card`, `wealth`, …).
        class: String,
    },
    /// Leaves: assets fall by more than `drop` (a share) within the window,
    /// or the customer is gone (customers holding assets).
    Churn {
        /// Share of assets lost that counts as leaving.
        drop: f64,
    },
    /// Responds to a campaign's offer: learnt from a launched campaign's
    /// treated members (features as of its launch) and their recorded
    /// responses — the campaign's results feeding the next response model.
    Response {
        /// The campaign learnt from.
        campaign: i64,
    },
}

impl Target {
    /// `uptake:CLASS` or `churn`.
    pub fn parse(s: &str, drop: f64) -> Result<Target> {
        if s == "churn" {
            if !(0.0..=1.0).contains(&drop) || drop == 0.0 {
                bail!("--drop is a share of assets between 0 and 1, not {drop}");
            }
            return Ok(Target::Churn { drop });
        }
        if let Some(id) = s.strip_prefix("response:") {
            let campaign = id
                .parse()
                .with_context(|| format!("target '{s}': response:CAMPAIGN_ID"))?;
            return Ok(Target::Response { campaign });
        }
        if let Some(class) = s.strip_prefix("uptake:") {
            if CLASSES.iter().any(|(c, _)| *c == class) {
                return Ok(Target::Uptake {
                    class: class.to_owned(),
                });
            }
            bail!(
                "no product class '{class}'; classes: {}",
                CLASSES.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
            );
        }
        bail!("target '{s}': use uptake:CLASS (e.g. uptake:card), churn, or response:CAMPAIGN_ID")
    }

    /// The registry's kind.
    pub fn code(&self) -> String {
        match self {
            Target::Uptake { class } => format!("uptake:{class}"),
            Target::Churn { .. } => "churn".into(),
            Target::Response { campaign } => format!("response:{campaign}"),
        }
    }

    /// Whether customer row `i` of `f` is someone the model is for.
    fn eligible(&self, f: &Frame, i: usize) -> bool {
        if f.accounts[i] <= 0.0 {
            return false;
        }
        match self {
            Target::Uptake { class } => !f.holds(i, class),
            Target::Churn { .. } => f.aum[i] > 0.0,
            // A campaign's members are chosen by the campaign.
            Target::Response { .. } => true,
        }
    }

    /// The outcome of row `i` of `before`, seen in `after` at the window's end.
    fn outcome(&self, before: &Frame, i: usize, after: &Frame) -> bool {
        let j = after.index.get(&before.ids[i]).copied();
        match self {
            Target::Uptake { class } => j.is_some_and(|j| after.holds(j, class)),
            Target::Churn { drop } => j.is_none_or(|j| after.aum[j] < (1.0 - drop) * before.aum[i]),
            // Recorded responses, not a later snapshot, say who responded.
            Target::Response { .. } => false,
        }
    }

    /// The synthetic bank's truth column for this target, if it has one.
    fn truth_column(&self) -> Option<&'static str> {
        match self {
            Target::Uptake { class } if class == "card" => Some("p_card_uptake"),
            Target::Churn { .. } => Some("p_churn"),
            Target::Uptake { .. } | Target::Response { .. } => None,
        }
    }
}

/// The features of one date, as model columns.
struct Frame {
    ids: Vec<i64>,
    index: HashMap<i64, usize>,
    columns: Vec<(String, Raw)>,
    classes: Vec<Option<String>>,
    aum: Vec<f64>,
    accounts: Vec<f64>,
}

impl Frame {
    fn holds(&self, i: usize, class: &str) -> bool {
        self.classes[i]
            .as_deref()
            .is_some_and(|c| c.contains(&format!(",{class},")))
    }

    /// Model columns of the given rows.
    fn select(&self, rows: &[usize]) -> Vec<(String, Raw)> {
        self.columns
            .iter()
            .map(|(name, raw)| {
                let raw = match raw {
                    Raw::Number(v) => Raw::Number(rows.iter().map(|&i| v[i]).collect()),
                    Raw::Text(v) => Raw::Text(rows.iter().map(|&i| v[i].clone()).collect()),
                };
                (name.clone(), raw)
            })
            .collect()
    }
}

/// What a frame is read for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Every predictor: rows to learn from or to score.
    Features,
    /// Only what outcomes are told from (held classes, AUM, accounts): the
    /// snapshot at a window's end (a third of the memory at 1M customers).
    Outcomes,
}

/// Reads a features file: numbers and codes of the catalogue (keys left
/// out) and, from the held product classes, one `holds_CLASS` flag each;
/// only the rows of the customers in `keep` when given (filtered as the
/// file streams by, so the rest are never held).
async fn load_frame(path: &Path, reading: Reading, keep: Option<&HashSet<i64>>) -> Result<Frame> {
    let mut stream = features_table(path, reading)
        .await?
        .execute_stream()
        .await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let batch = match keep {
            None => batch,
            Some(keep) => {
                let ids = batch
                    .column_by_name("customer_id")
                    .with_context(|| format!("{}: no column customer_id", path.display()))?;
                let ids = datafusion::arrow::compute::cast(ids, &DataType::Int64)?;
                let mask: BooleanArray = ids
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .iter()
                    .map(|id| Some(id.is_some_and(|id| keep.contains(&id))))
                    .collect();
                datafusion::arrow::compute::filter_record_batch(&batch, &mask)?
            }
        };
        if batch.num_rows() > 0 {
            batches.push(batch);
        }
    }
    frame_of(&batches, reading, path)
}

/// The features file as a table of what `reading` needs.
async fn features_table(path: &Path, reading: Reading) -> Result<datafusion::dataframe::DataFrame> {
    let ctx = panorama_analytics::engine::session();
    ctx.register_parquet(
        "f",
        &path.display().to_string(),
        datafusion::prelude::ParquetReadOptions::default(),
    )
    .await?;
    let table = ctx.table("f").await?;
    let table = match reading {
        Reading::Features => table,
        Reading::Outcomes => {
            table.select_columns(&["customer_id", "product_classes", "aum", "account_count"])?
        }
    };
    Ok(table)
}

/// A frame of some of a features file's rows.
fn frame_of(batches: &[RecordBatch], reading: Reading, path: &Path) -> Result<Frame> {
    let features: Vec<_> = catalogue()
        .into_iter()
        .filter(|f| {
            reading == Reading::Features || ["aum", "account_count"].contains(&f.name.as_str())
        })
        .filter(|f| !NOT_PREDICTORS.contains(&f.name.as_str()))
        .filter(|f| {
            matches!(
                f.kind,
                FeatureType::Integer | FeatureType::Money | FeatureType::Float | FeatureType::Text
            )
        })
        .collect();
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => bail!("{}: no features rows", path.display()),
    };
    let index_of = |name: &str| -> Result<usize> {
        schema
            .index_of(name)
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (id_at, classes_at) = (index_of("customer_id")?, index_of("product_classes")?);
    let mut ids = Vec::new();
    let mut classes = Vec::new();
    for b in batches {
        let id = datafusion::arrow::compute::cast(b.column(id_at), &DataType::Int64)?;
        ids.extend(
            id.as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .iter()
                .map(|v| v.unwrap_or_default()),
        );
        let held = datafusion::arrow::compute::cast(b.column(classes_at), &DataType::Utf8)?;
        classes.extend(held.as_string::<i32>().iter().map(|v| v.map(str::to_owned)));
    }
    // Each feature's column from every batch, the features side by side.
    let read: Vec<Option<(String, Raw)>> = features
        .par_iter()
        .map(|f| -> Result<Option<(String, Raw)>> {
            let Ok(k) = schema.index_of(&f.name) else {
                return Ok(None);
            };
            let raw = if f.kind == FeatureType::Text {
                let mut out = Vec::with_capacity(ids.len());
                for b in batches {
                    let c = datafusion::arrow::compute::cast(b.column(k), &DataType::Utf8)?;
                    out.extend(c.as_string::<i32>().iter().map(|v| v.map(str::to_owned)));
                }
                Raw::Text(out)
            } else {
                let mut out = Vec::with_capacity(ids.len());
                for b in batches {
                    let c = datafusion::arrow::compute::cast(b.column(k), &DataType::Float64)?;
                    out.extend(c.as_primitive::<Float64Type>().iter());
                }
                Raw::Number(out)
            };
            Ok(Some((f.name.clone(), raw)))
        })
        .collect::<Result<_>>()?;
    let n = ids.len();
    let mut columns = Vec::new();
    let mut aum = vec![0.0; n];
    let mut accounts = vec![0.0; n];
    for (name, raw) in read.into_iter().flatten() {
        if let Raw::Number(v) = &raw {
            if name == "aum" {
                aum = v.iter().map(|x| x.unwrap_or(0.0)).collect();
            }
            if name == "account_count" {
                accounts = v.iter().map(|x| x.unwrap_or(0.0)).collect();
            }
        }
        if reading == Reading::Features {
            columns.push((name, raw));
        }
    }
    let frame_classes = classes;
    // Outcomes are told from the classes, AUM and accounts alone.
    let flags = if reading == Reading::Features {
        CLASSES
    } else {
        &[]
    };
    for (class, _) in flags {
        let needle = format!(",{class},");
        let flags = frame_classes
            .iter()
            .map(|c| {
                Some(f64::from(u8::from(
                    c.as_deref().is_some_and(|c| c.contains(&needle)),
                )))
            })
            .collect();
        columns.push((format!("holds_{class}"), Raw::Number(flags)));
    }
    let index = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    Ok(Frame {
        ids,
        index,
        columns,
        classes: frame_classes,
        aum,
        accounts,
    })
}

/// Reasons as stored: `[["column", weight], …]` (weights to 3 decimals);
/// the model's feature list holds what each column means.
fn reasons_json(reasons: &[panorama_models::scorecard::Reason]) -> String {
    let items: Vec<String> = reasons
        .iter()
        .map(|r| {
            format!(
                "[{},{:.3}]",
                serde_json::Value::from(r.column.as_str()),
                r.weight
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Each model column's meaning in Chinese and English, for reasons an RM reads.
fn reason_labels() -> HashMap<String, (String, String)> {
    let mut out: HashMap<String, (String, String)> = catalogue()
        .into_iter()
        .map(|f| (f.name, (f.meaning_zh, f.meaning)))
        .collect();
    for (class, zh) in CLASSES {
        out.insert(
            format!("holds_{class}"),
            (format!("持有{zh}"), format!("holds {class}")),
        );
    }
    out
}

/// The month end `months` after `d`'s month.
fn months_after(d: NaiveDate, months: u32) -> NaiveDate {
    month_end(
        month_start(d)
            .checked_add_months(Months::new(months))
            .unwrap_or(d),
    )
}

/// How a model was evaluated.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// `out-of-time` (features of the window's end, outcomes of the next) or `holdout`.
    pub kind: String,
    /// Features as of.
    pub as_of: NaiveDate,
    /// Rows.
    pub rows: usize,
    /// Positive outcomes.
    pub positives: usize,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Kolmogorov–Smirnov statistic.
    pub ks: f64,
    /// Lift, gains and calibration by decile.
    pub deciles: Vec<Decile>,
}

/// What the truth says about the same test rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruthCheck {
    /// Test rows matched to a party of the truth.
    pub rows: usize,
    /// AUC of the hidden propensity on those rows.
    pub truth_auc: f64,
    /// The model's AUC on those rows.
    pub model_auc: f64,
    /// model / truth.
    pub ratio: f64,
}

/// A training run's report, stored as the version's metrics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    /// What it predicts.
    pub target: Target,
    /// logistic / gbdt / chaid.
    pub learner: String,
    /// Outcome window, months.
    pub horizon_months: u32,
    /// Training features as of.
    pub train_as_of: NaiveDate,
    /// Training rows.
    pub train_rows: usize,
    /// Training positives.
    pub train_positives: usize,
    /// AUC on the training rows.
    pub train_auc: f64,
    /// The validation rows the learner was tuned on (reports of versions
    /// trained before validation sets have none).
    #[serde(default)]
    pub validation: Option<Evaluation>,
    /// What the validation rows chose.
    #[serde(default)]
    pub tuning: Option<panorama_models::scorecard::Tuning>,
    /// The test.
    pub test: Evaluation,
    /// Against the synthetic truth, when given.
    pub truth: Option<TruthCheck>,
    /// Seconds to fit.
    pub fit_seconds: f64,
    /// The strongest features (share of gain by column, or standardised
    /// coefficient).
    pub top_features: Vec<(String, f64)>,
    /// A CHAID model's tree as indented lines (each node: its condition,
    /// size, rate and split).
    #[serde(default)]
    pub tree: Vec<String>,
    /// Windows whose labelled customers were sampled (more than the cap).
    #[serde(default)]
    pub samples: Vec<Sample>,
}

/// What `panorama model train` needs.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    /// Registry name.
    pub name: String,
    /// What it predicts.
    pub target: Target,
    /// Training features date (outcomes follow it); a campaign's response
    /// model learns from the features of its launch instead.
    pub as_of: Option<NaiveDate>,
    /// Outcome window, months.
    pub horizon_months: u32,
    /// Learner.
    pub learner: Learner,
    /// Who trains it.
    pub by: String,
    /// The synthetic bank's truth folder, to compare with the hidden propensity.
    pub truth: Option<PathBuf>,
    /// Seed of the holdout split (when no out-of-time window is available).
    pub seed: u64,
    /// Write the encoded training and test sets here (`train.csv`, `test.csv`)
    /// for reference learners.
    pub export: Option<PathBuf>,
    /// The most labelled customers a window keeps ([`MAX_ROWS`] by default).
    pub max_rows: usize,
}

/// Writes an encoded dataset as CSV: the feature names, then `y`.
fn export_csv(path: &Path, data: &panorama_models::data::Dataset) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    let mut header = data.names.clone();
    header.push("y".into());
    w.write_record(&header)?;
    for i in 0..data.rows() {
        let mut record: Vec<String> = data.row(i).iter().map(ToString::to_string).collect();
        record.push(u8::from(data.y[i]).to_string());
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}

fn learner_name(l: Learner) -> &'static str {
    match l {
        Learner::Logistic => "logistic",
        Learner::Gbdt => "gbdt",
        Learner::Chaid => "chaid",
    }
}

/// The (features, outcomes) rows of `target` as of `before`'s date.
fn labelled(target: &Target, before: &Frame, after: &Frame) -> (Vec<usize>, Vec<bool>) {
    let rows: Vec<usize> = (0..before.ids.len())
        .filter(|&i| target.eligible(before, i))
        .collect();
    let y = rows
        .iter()
        .map(|&i| target.outcome(before, i, after))
        .collect();
    (rows, y)
}

/// Labelled rows to learn from: the features of the training date with
/// their outcomes by `t1`, and the out-of-time sets that follow when the
/// data reaches that far: the features of `t1` with outcomes a window
/// later, then those of `t2` with outcomes a window after that.
struct Learnt {
    first: Labelled,
    t1: NaiveDate,
    later: Vec<Labelled>,
    samples: Vec<Sample>,
}

/// Rows of a frame with their outcomes, and the features date.
struct Labelled {
    frame: Arc<Frame>,
    rows: Vec<usize>,
    y: Vec<bool>,
    as_of: NaiveDate,
}

/// Uptake and churn: outcomes seen in the features a window later.
async fn outcome_rows(
    store: &Store,
    analytics: &Path,
    config: &Config,
    spec: &TrainSpec,
) -> Result<Learnt> {
    if spec.horizon_months == 0 {
        bail!("--horizon-months must be at least 1");
    }
    let latest = panorama_store::acrm::latest_business_date(store)
        .await?
        .context("the store holds no data yet: ingest an extract first")?;
    let latest = NaiveDate::parse_from_str(&latest[..10.min(latest.len())], "%Y-%m-%d")
        .with_context(|| format!("latest business date '{latest}'"))?;
    let t0 = spec
        .as_of
        .context("--as-of: the features date to learn from")?;
    let t1 = months_after(t0, spec.horizon_months);
    if t1 > latest {
        bail!(
            "features as of {t0} need outcomes up to {t1}, but the data ends on {latest}: choose an earlier --as-of"
        );
    }
    // Windows t0 → t1 (training), t1 → t2 and t2 → t3 (validation and test
    // out of time) as far as the data reaches.
    let mut dates = vec![t0, t1];
    while dates.len() < 4 {
        let next = months_after(dates[dates.len() - 1], spec.horizon_months);
        if next > latest {
            break;
        }
        dates.push(next);
    }
    // Each date's outcome columns (a few per customer), two dates at a
    // time; the labels of each window from them alone.
    let mut paths = Vec::with_capacity(dates.len());
    let mut labels: Vec<(Vec<i64>, Vec<bool>)> = Vec::with_capacity(dates.len());
    let mut before: Option<Frame> = None;
    for &date in &dates {
        let path =
            panorama_analytics::batch::ensure_features(store, analytics, config, date).await?;
        let after = load_frame(&path, Reading::Outcomes, None).await?;
        if let Some(before) = &before {
            let (rows, y) = labelled(&spec.target, before, &after);
            labels.push((rows.iter().map(|&i| before.ids[i]).collect(), y));
        }
        before = Some(after);
        paths.push(path);
    }
    drop(before);
    // Then each window's features, of its (sampled) customers only.
    let mut samples = Vec::new();
    let mut windows = Vec::with_capacity(labels.len());
    for (k, (ids, y)) in labels.into_iter().enumerate() {
        let seed = spec.seed.wrapping_add(k as u64);
        let (path, as_of) = (&paths[k], dates[k]);
        let window = labelled_features(path, as_of, ids, y, spec.max_rows, seed, &mut samples);
        windows.push(window.await?);
    }
    let first = windows.remove(0);
    Ok(Learnt {
        first,
        t1,
        later: windows,
        samples,
    })
}

/// The labelled customers `ids` (outcomes `y`) of the features at `path`:
/// a stratified sample of at most `max` of them when there are more
/// (recorded in `samples`), their features read for them alone, in
/// customer order.
async fn labelled_features(
    path: &Path,
    as_of: NaiveDate,
    ids: Vec<i64>,
    y: Vec<bool>,
    max: usize,
    seed: u64,
    samples: &mut Vec<Sample>,
) -> Result<Labelled> {
    // In customer order, so the sample does not depend on the order the
    // engine read the file in.
    let (ids, y): (Vec<i64>, Vec<bool>) = {
        let mut pairs: Vec<(i64, bool)> = ids.into_iter().zip(y).collect();
        pairs.sort_unstable_by_key(|&(id, _)| id);
        pairs.into_iter().unzip()
    };
    let kept = panorama_models::cv::stratified_sample(&y, max.max(1), seed);
    if kept.len() < y.len() {
        samples.push(Sample {
            as_of,
            population: y.len(),
            population_positives: y.iter().filter(|&&p| p).count(),
            kept: kept.len(),
            kept_positives: kept.iter().filter(|&&k| y[k]).count(),
        });
    }
    let pairs: Vec<(i64, bool)> = kept.iter().map(|&k| (ids[k], y[k])).collect();
    let keep: HashSet<i64> = pairs.iter().map(|&(id, _)| id).collect();
    if keep.is_empty() {
        bail!("no customers to learn from as of {as_of}");
    }
    let frame = load_frame(path, Reading::Features, Some(&keep)).await?;
    let (rows, y) = pairs
        .iter()
        .filter_map(|&(id, y)| frame.index.get(&id).map(|&i| (i, y)))
        .unzip();
    Ok(Labelled {
        frame: Arc::new(frame),
        rows,
        y,
        as_of,
    })
}

/// A campaign's responses: its treated members on the features of its
/// launch, labelled by whether they responded within its window (control
/// members are not offered anything, so they say nothing of the offer).
async fn campaign_rows(
    store: &Store,
    analytics: &Path,
    config: &Config,
    campaign: i64,
    spec: &TrainSpec,
) -> Result<Learnt> {
    let c = panorama_store::campaigns::get(store, campaign)
        .await?
        .with_context(|| format!("there is no campaign {campaign}"))?;
    let t0 = c
        .launched_on
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .with_context(|| format!("campaign {campaign} is {}: launch it first", c.status))?;
    let window = panorama_campaign::service::Eligibility::of(&c)?.response_days;
    let t1 = t0 + chrono::Days::new(window);
    let path = panorama_analytics::batch::ensure_features(store, analytics, config, t0).await?;
    let responders: HashSet<i64> = panorama_store::campaigns::responders(store, campaign)
        .await?
        .into_iter()
        .collect();
    let (ids, y): (Vec<i64>, Vec<bool>) = panorama_store::campaigns::members(store, campaign)
        .await?
        .into_iter()
        .filter(|(_, arm)| arm != panorama_campaign::CONTROL)
        .map(|(customer, _)| (customer, responders.contains(&customer)))
        .unzip();
    let mut samples = Vec::new();
    let first =
        labelled_features(&path, t0, ids, y, spec.max_rows, spec.seed, &mut samples).await?;
    Ok(Learnt {
        first,
        t1,
        later: Vec::new(),
        samples,
    })
}

/// Trains, evaluates and registers a model; returns its id and report.
pub async fn train(
    store: &Store,
    analytics: &Path,
    config: &Config,
    spec: &TrainSpec,
) -> Result<(i64, i64, TrainReport)> {
    let learnt = match &spec.target {
        Target::Response { campaign } => {
            campaign_rows(store, analytics, config, *campaign, spec).await?
        }
        _ => outcome_rows(store, analytics, config, spec).await?,
    };
    let Learnt {
        first:
            Labelled {
                frame: frame0,
                rows,
                y,
                as_of: t0,
            },
        t1,
        mut later,
        samples,
    } = learnt;
    // Train, validate and test by time as far as the data reaches: with two
    // later windows, validation on the first and the test on the second;
    // with one, the test on it and validation on a fifth of the training
    // date's customers; with none, 30% test and 20% validation held out.
    let folds = panorama_models::cv::stratified_folds(&y, 10, spec.seed);
    let fold_of: HashMap<usize, usize> = folds
        .iter()
        .enumerate()
        .flat_map(|(f, rows)| rows.iter().map(move |&k| (k, f)))
        .collect();
    let take = |wanted: &dyn Fn(usize) -> bool| -> Labelled {
        let (rows, y) = rows
            .iter()
            .zip(&y)
            .enumerate()
            .filter(|(k, _)| wanted(fold_of.get(k).copied().unwrap_or(0)))
            .map(|(_, (&i, &y))| (i, y))
            .unzip();
        Labelled {
            frame: frame0.clone(),
            rows,
            y,
            as_of: t0,
        }
    };
    let (train, valid, valid_kind, test, test_kind) = match later.len() {
        0 => (
            take(&|f| f >= 5),
            take(&|f| (3..5).contains(&f)),
            "holdout",
            take(&|f| f < 3),
            "holdout",
        ),
        1 => (
            take(&|f| f >= 2),
            take(&|f| f < 2),
            "holdout",
            later.remove(0),
            "out-of-time",
        ),
        _ => {
            let valid = later.remove(0);
            (
                take(&|_| true),
                valid,
                "out-of-time",
                later.remove(0),
                "out-of-time",
            )
        }
    };
    let positives = train.y.iter().filter(|y| **y).count();
    if positives == 0 || positives == train.y.len() {
        bail!(
            "{} training rows as of {t0} with {positives} positive outcomes by {t1}: the model needs both outcomes",
            train.y.len()
        );
    }
    if valid.y.iter().all(|y| *y == valid.y[0]) {
        bail!(
            "the {} validation rows as of {} hold one outcome only: choose a longer horizon or an earlier date",
            valid.y.len(),
            valid.as_of
        );
    }
    let train_columns = frame0.select(&train.rows);
    let encoder = Encoder::fit(&train_columns, panorama_models::data::MAX_LEVELS);
    let data = encoder.encode(&train_columns, train.y.clone())?;
    let valid_data = encoder.encode(&valid.frame.select(&valid.rows), valid.y.clone())?;
    let all: Vec<usize> = (0..data.rows()).collect();
    let started = Instant::now();
    let (card, tuning) = tokio::task::block_in_place(|| {
        Scorecard::fit_validated(encoder.clone(), spec.learner, &data, &all, &valid_data)
    })?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let train_scores: Vec<f64> = all
        .par_iter()
        .map(|&i| card.probability(data.row(i)))
        .collect();
    let train_auc = auc(&train_scores, &train.y).unwrap_or(0.5);
    let test_frame = &test.frame;
    let (test_rows, test_y) = (&test.rows, &test.y);
    let test_data = encoder.encode(&test_frame.select(test_rows), test_y.clone())?;
    if let Some(dir) = &spec.export {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        export_csv(&dir.join("train.csv"), &data)?;
        export_csv(&dir.join("valid.csv"), &valid_data)?;
        export_csv(&dir.join("test.csv"), &test_data)?;
    }
    let evaluate = |kind: &str, as_of: NaiveDate, d: &panorama_models::data::Dataset| {
        let scores: Vec<f64> = (0..d.rows())
            .into_par_iter()
            .map(|i| card.probability(d.row(i)))
            .collect();
        let evaluation = auc(&scores, &d.y).map(|auc| Evaluation {
            kind: kind.into(),
            as_of,
            rows: d.rows(),
            positives: d.y.iter().filter(|y| **y).count(),
            auc,
            ks: ks(&scores, &d.y).unwrap_or(0.0),
            deciles: deciles(&scores, &d.y),
        });
        (evaluation, scores)
    };
    let (validation, _) = evaluate(valid_kind, valid.as_of, &valid_data);
    let (test_evaluation, test_scores) = evaluate(test_kind, test.as_of, &test_data);
    let test_evaluation = test_evaluation.context(
        "the test rows hold one outcome only: choose a longer horizon or an earlier date",
    )?;
    let truth = match (&spec.truth, spec.target.truth_column()) {
        (Some(dir), Some(column)) => Some(
            truth_check(
                store,
                dir,
                column,
                &test_rows
                    .iter()
                    .map(|&i| test_frame.ids[i])
                    .collect::<Vec<_>>(),
                &test_scores,
                test_y,
            )
            .await?,
        ),
        _ => None,
    };
    let top_features = top_features(&card, &data);
    let report = TrainReport {
        target: spec.target.clone(),
        learner: learner_name(spec.learner).into(),
        horizon_months: spec.horizon_months,
        train_as_of: t0,
        train_rows: train.y.len(),
        train_positives: positives,
        train_auc,
        validation,
        tuning: Some(tuning),
        test: test_evaluation,
        truth,
        fit_seconds,
        top_features,
        tree: match &card.fitted {
            panorama_models::scorecard::Fitted::Chaid(t) => {
                t.describe().lines().map(str::to_owned).collect()
            }
            _ => Vec::new(),
        },
        samples,
    };
    // The columns it reads, with the meanings its reasons are shown in.
    let labels = reason_labels();
    let features: Vec<serde_json::Value> = encoder
        .columns
        .iter()
        .map(|c| {
            let (zh, en) = labels
                .get(c.name())
                .cloned()
                .unwrap_or_else(|| (c.name().to_owned(), c.name().to_owned()));
            serde_json::json!({"name": c.name(), "zh": zh, "en": en})
        })
        .collect();
    let mut tx = store.begin().await?;
    let (id, version) = registry::register(
        &mut tx,
        &NewModel {
            kind: &spec.target.code(),
            name: &spec.name,
            features: &serde_json::to_string(&features)?,
            train_from: &t0.to_string(),
            train_to: &t1.to_string(),
            metrics: &serde_json::to_string(&report)?,
            artefact: &card.to_json(),
            created_by: &spec.by,
        },
    )
    .await?;
    tx.commit()
        .await
        .map_err(panorama_store::StoreError::from)?;
    Ok((id, version, report))
}

fn top_features(card: &Scorecard, data: &panorama_models::data::Dataset) -> Vec<(String, f64)> {
    use panorama_models::scorecard::Fitted;
    let weights: Vec<f64> = match &card.fitted {
        Fitted::Logistic(m) => m.coefficients.clone(),
        Fitted::Gbdt(m) => {
            let mut out = m.importance(data);
            out.truncate(10);
            return out;
        }
        Fitted::Chaid(_) => return Vec::new(),
    };
    let mut out: Vec<(String, f64)> = data.names.iter().cloned().zip(weights).collect();
    out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    out.truncate(10);
    out
}

/// Each resolved customer's hidden propensity `column` from the synthetic
/// bank's truth folder (`records.csv` maps source records to parties,
/// `propensity.csv` holds the parties' propensities); a customer takes the
/// party most of its records belong to.
pub async fn truth_propensity(
    store: &Store,
    dir: &Path,
    column: &str,
) -> Result<HashMap<i64, f64>> {
    let mut party_of_key: HashMap<(String, String), String> = HashMap::new();
    let records = dir.join("records.csv");
    let mut reader = csv::Reader::from_path(&records)
        .with_context(|| format!("reading {}", records.display()))?;
    for row in reader.records() {
        let row = row.with_context(|| format!("reading {}", records.display()))?;
        party_of_key.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
    }
    let mut votes: HashMap<i64, HashMap<String, usize>> = HashMap::new();
    for (system, key, customer) in panorama_store::ecif::resolved_keys(store).await? {
        if let Some(p) = party_of_key.get(&(system, key)) {
            *votes
                .entry(customer)
                .or_default()
                .entry(p.clone())
                .or_default() += 1;
        }
    }
    let propensity_path = dir.join("propensity.csv");
    let mut reader = csv::Reader::from_path(&propensity_path)
        .with_context(|| format!("reading {}", propensity_path.display()))?;
    let k = reader
        .headers()?
        .iter()
        .position(|h| h == column)
        .with_context(|| format!("{}: no column {column}", propensity_path.display()))?;
    let mut propensity: HashMap<String, f64> = HashMap::new();
    for row in reader.records() {
        let row = row?;
        if let Ok(p) = row[k].parse::<f64>() {
            propensity.insert(row[0].to_owned(), p);
        }
    }
    Ok(votes
        .into_iter()
        .filter_map(|(customer, v)| {
            let party = v
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(p, _)| p)?;
            Some((customer, *propensity.get(party)?))
        })
        .collect())
}

/// AUC of the synthetic bank's hidden propensity on the test rows, beside the model's.
async fn truth_check(
    store: &Store,
    dir: &Path,
    column: &str,
    customers: &[i64],
    scores: &[f64],
    labels: &[bool],
) -> Result<TruthCheck> {
    let propensity = truth_propensity(store, dir, column).await?;
    let (mut truth, mut model, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for ((c, s), l) in customers.iter().zip(scores).zip(labels) {
        if let Some(p) = propensity.get(c) {
            truth.push(*p);
            model.push(*s);
            y.push(*l);
        }
    }
    let truth_auc = auc(&truth, &y).context("no test rows matched to the truth")?;
    let model_auc = auc(&model, &y).unwrap_or(0.5);
    Ok(TruthCheck {
        rows: y.len(),
        truth_auc,
        model_auc,
        ratio: model_auc / truth_auc,
    })
}

/// What one model's scoring did.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreReport {
    /// Model id.
    pub model_id: i64,
    /// Name and version.
    pub name: String,
    /// Version.
    pub version: i64,
    /// Features as of.
    pub as_of: NaiveDate,
    /// Customers scored.
    pub customers: usize,
    /// Seconds to read the features.
    pub read_seconds: f64,
    /// Seconds to encode and score (with reasons).
    pub score_seconds: f64,
    /// Seconds writing every model's scores (one transaction for all).
    pub write_seconds: f64,
}

/// Scores the features of `as_of` (the latest computed when `None`) with
/// every approved model (or the approved version of `name`), writing each
/// customer's probability and top three reasons.
pub async fn score(
    store: &Store,
    analytics: &Path,
    as_of: Option<NaiveDate>,
    name: Option<&str>,
) -> Result<Vec<ScoreReport>> {
    score_chunked(store, analytics, as_of, name, CHUNK).await
}

/// [`score`], reading and scoring `chunk` customers at a time (at least one).
pub async fn score_chunked(
    store: &Store,
    analytics: &Path,
    as_of: Option<NaiveDate>,
    name: Option<&str>,
    chunk: usize,
) -> Result<Vec<ScoreReport>> {
    let chunk = chunk.max(1);
    let models: Vec<ModelRow> = registry::approved(store)
        .await?
        .into_iter()
        .filter(|m| name.is_none_or(|n| m.name == n))
        .collect();
    if let Some(n) = name
        && models.is_empty()
    {
        bail!("no approved version of model '{n}': `panorama model approve ID --by NAME` first");
    }
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let (date, path) = panorama_analytics::engine::resolve_features(analytics, as_of)?;
    let mut cards = Vec::with_capacity(models.len());
    for m in models {
        let artefact = registry::artefact(store, m.id)
            .await?
            .with_context(|| format!("model {} has no artefact", m.id))?;
        let card = Scorecard::from_json(&artefact)?;
        let report: TrainReport = serde_json::from_str(m.metrics.as_deref().unwrap_or("null"))
            .with_context(|| format!("model {}: its stored report is unreadable", m.id))?;
        let out = ScoreReport {
            model_id: m.id,
            name: m.name.clone(),
            version: m.version,
            as_of: date,
            customers: 0,
            read_seconds: 0.0,
            score_seconds: 0.0,
            write_seconds: 0.0,
        };
        cards.push((m, card, report.target, out));
    }
    // The features are read, scored and written CHUNK customers at a time,
    // so memory holds one chunk whatever the bank's size; every model's
    // scores of the date are replaced in one transaction.
    let as_of = date.to_string();
    let mut tx = store.begin().await?;
    for (m, ..) in &cards {
        registry::clear_scores(&mut tx, m.id, &as_of).await?;
    }
    let mut stream = features_table(&path, Reading::Features)
        .await?
        .execute_stream()
        .await?;
    let (mut read_seconds, mut write_seconds) = (0.0, 0.0);
    let mut pending = Vec::new();
    let mut pending_rows = 0;
    let mut total_rows = 0;
    loop {
        let started = Instant::now();
        let next = stream.next().await.transpose()?;
        read_seconds += started.elapsed().as_secs_f64();
        let done = next.is_none();
        // Batches cut into chunks of exactly `chunk` rows (the last shorter).
        let mut ready: Vec<Vec<RecordBatch>> = Vec::new();
        if let Some(mut b) = next {
            while pending_rows + b.num_rows() >= chunk {
                let take = chunk - pending_rows;
                pending.push(b.slice(0, take));
                ready.push(std::mem::take(&mut pending));
                pending_rows = 0;
                b = b.slice(take, b.num_rows() - take);
            }
            if b.num_rows() > 0 {
                pending_rows += b.num_rows();
                pending.push(b);
            }
        }
        if done && pending_rows > 0 {
            ready.push(std::mem::take(&mut pending));
            pending_rows = 0;
        }
        for part in ready {
            let started = Instant::now();
            let frame = frame_of(&part, Reading::Features, &path)?;
            drop(part);
            read_seconds += started.elapsed().as_secs_f64();
            total_rows += frame.ids.len();
            for (m, card, target, out) in &mut cards {
                let started = Instant::now();
                let rows: Vec<usize> = (0..frame.ids.len())
                    .filter(|&i| target.eligible(&frame, i))
                    .collect();
                let data = card
                    .encoder
                    .encode_rows(&frame.columns, Some(&rows), Vec::new())?;
                let scored: Vec<(i64, f64, String)> = tokio::task::block_in_place(|| {
                    rows.par_iter()
                        .enumerate()
                        .map(|(k, &i)| {
                            let (p, reasons) = card.explain(data.row(k), 3);
                            (frame.ids[i], p, reasons_json(&reasons))
                        })
                        .collect()
                });
                out.score_seconds += started.elapsed().as_secs_f64();
                out.customers += scored.len();
                let started = Instant::now();
                registry::append_scores(&mut tx, store.backend(), m.id, &as_of, &scored).await?;
                write_seconds += started.elapsed().as_secs_f64();
            }
        }
        if done {
            break;
        }
    }
    if total_rows == 0 {
        bail!("{}: no features rows", path.display());
    }
    let started = Instant::now();
    for (m, ..) in &cards {
        registry::prune_scores(&mut tx, m).await?;
    }
    tx.commit()
        .await
        .map_err(panorama_store::StoreError::from)?;
    write_seconds += started.elapsed().as_secs_f64();
    Ok(cards
        .into_iter()
        .map(|(.., mut out)| {
            out.read_seconds = read_seconds;
            out.write_seconds = write_seconds;
            out
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of customers: (id, accounts, AUM, classes held).
    fn frame(rows: &[(i64, f64, f64, &str)]) -> Frame {
        Frame {
            ids: rows.iter().map(|r| r.0).collect(),
            index: rows.iter().enumerate().map(|(i, r)| (r.0, i)).collect(),
            columns: Vec::new(),
            classes: rows
                .iter()
                .map(|r| (!r.3.is_empty()).then(|| format!(",{},", r.3)))
                .collect(),
            aum: rows.iter().map(|r| r.2).collect(),
            accounts: rows.iter().map(|r| r.1).collect(),
        }
    }

    #[test]
    fn targets_parse_and_refuse_what_cannot_be_learnt() {
        assert_eq!(
            Target::parse("uptake:card", 0.5).unwrap().code(),
            "uptake:card"
        );
        assert_eq!(Target::parse("churn", 0.5).unwrap().code(), "churn");
        assert_eq!(
            Target::parse("response:7", 0.5).unwrap().code(),
            "response:7"
        );
        for (bad, why) in [
            ("uptake:spaceship", "no product class"),
            ("churn-ish", "use uptake:CLASS"),
            ("response:x", "response:CAMPAIGN_ID"),
        ] {
            let e = Target::parse(bad, 0.5).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        for drop in [0.0, -0.1, 1.5] {
            assert!(Target::parse("churn", drop).is_err(), "{drop}");
        }
    }

    #[test]
    fn uptake_learns_from_those_without_the_class_and_sees_it_later() {
        let before = frame(&[
            (1, 2.0, 100.0, "deposit"),
            (2, 1.0, 50.0, "card"),
            (3, 0.0, 0.0, ""),
            (4, 1.0, 10.0, "deposit"),
        ]);
        let after = frame(&[(1, 3.0, 100.0, "deposit,card"), (4, 1.0, 10.0, "deposit")]);
        let target = Target::parse("uptake:card", 0.5).unwrap();
        // 2 already holds a card, 3 has no account: neither is learnt from.
        let (rows, y) = labelled(&target, &before, &after);
        assert_eq!(rows, vec![0, 3]);
        assert_eq!(y, vec![true, false]);
    }

    #[test]
    fn churn_is_a_drop_in_assets_beyond_the_share_or_leaving() {
        let before = frame(&[
            (1, 1.0, 100.0, "deposit"),
            (2, 1.0, 100.0, "deposit"),
            (3, 1.0, 100.0, "deposit"),
            (4, 1.0, 0.0, "card"),
        ]);
        let after = frame(&[(1, 1.0, 40.0, "deposit"), (2, 1.0, 60.0, "deposit")]);
        let target = Target::parse("churn", 0.5).unwrap();
        // 1 lost 60 % (left), 2 lost 40 % (stayed), 3 is gone (left); 4 held no assets.
        let (rows, y) = labelled(&target, &before, &after);
        assert_eq!(rows, vec![0, 1, 2]);
        assert_eq!(y, vec![true, false, true]);
    }

    #[test]
    fn windows_end_at_month_ends() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(months_after(d("2026-01-31"), 1), d("2026-02-28"));
        assert_eq!(months_after(d("2026-11-15"), 3), d("2027-02-28"));
        assert_eq!(months_after(d("2024-01-10"), 1), d("2024-02-29"));
    }
}
