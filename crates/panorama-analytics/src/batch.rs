//! The analytics batch: snapshot → tiers → features → store → segments →
//! alerts, for one explicit as-of date.
//!
//! Each stage writes whole files or one transaction, so a crash leaves the
//! previous good state: the snapshot and feature files are renamed into
//! place, and the store's features and tier history change together in one
//! transaction. Rerunning a date reproduces the same results.

use futures_util::TryStreamExt;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::prelude::SessionContext;
use panorama_store::Store;
use panorama_store::acrm::{self, FeatureRow, SegmentRow, TierRow};
use panorama_store::ocrm::{self, AlertWrite};
use serde::Serialize;

use crate::alerts;
use crate::cluster::ClusterDefinition;
use crate::config::Config;
use crate::engine::{register_features, register_snapshot, session};
use crate::error::{AnalyticsError, Result};
use crate::features::{self, TierFiles};
use crate::features_sql::Dates;
use crate::memory;
use crate::segment::{self, Vocabulary};
use crate::snapshot::{self, SnapshotReport};
use crate::tiers::month_end;

/// What a batch run did, with its timings.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// Run id in `analytics_run`.
    pub run_id: i64,
    /// The as-of date.
    pub as_of: NaiveDate,
    /// The snapshot stage.
    pub snapshot: SnapshotReport,
    /// Customers with features.
    pub customers: u64,
    /// Customers per tier on the as-of date.
    pub tiers: BTreeMap<String, u64>,
    /// Tier decisions written / deleted in the store.
    pub tier_rows_written: usize,
    /// Tier decisions that no longer hold, removed.
    pub tier_rows_deleted: usize,
    /// Tier changes decided in the as-of month.
    pub tier_changes_this_month: usize,
    /// Saved segments refreshed.
    pub segments: Vec<SegmentRefresh>,
    /// Alerts the rules raised on this date, by rule (events raised before included).
    pub alerts_raised: BTreeMap<String, usize>,
    /// New alerts and the tasks they put on RMs' lists.
    pub alerts_written: AlertWrite,
    /// Seconds per stage, in order.
    pub seconds: Vec<(String, f64)>,
    /// Peak resident memory of the process during each stage, MB, in
    /// order (0 where the system does not say).
    pub peak_mb: Vec<(String, f64)>,
}

/// One segment's refresh.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentRefresh {
    /// Segment name.
    pub name: String,
    /// Members now.
    pub members: usize,
    /// Entered on this date.
    pub entered: usize,
    /// Left on this date.
    pub left: usize,
}

/// Runs the batch for `as_of` (the latest business date in the store when
/// `None`) on this machine's engine.
pub async fn run(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
) -> Result<BatchReport> {
    run_on(store, analytics, config, as_of, session()).await
}

/// Runs the batch with its queries (tiers, features, segments, alerts) on
/// `engine`: a session of this machine's ([`session`]) or of a cluster's,
/// whose executors read the snapshot from `analytics` by the same path.
/// The snapshot and the store's writes stay with the caller.
pub async fn run_on(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
    engine: SessionContext,
) -> Result<BatchReport> {
    let as_of = match as_of {
        Some(d) => d,
        None => {
            let latest = acrm::latest_business_date(store).await?.ok_or_else(|| {
                AnalyticsError::Invalid(
                    "the store holds no data yet: ingest an extract first".into(),
                )
            })?;
            NaiveDate::parse_from_str(&latest, "%Y-%m-%d").map_err(|_| {
                AnalyticsError::Invalid(format!("latest business date '{latest}' is not a date"))
            })?
        }
    };
    let run_id = acrm::begin_run(store, &as_of.to_string()).await?;
    match stages(store, analytics, config, as_of, run_id, engine).await {
        Ok(report) => {
            let json = serde_json::to_string(&report).unwrap_or_default();
            acrm::finish_run(store, run_id, true, &json).await?;
            Ok(report)
        }
        Err(e) => {
            let _ = acrm::finish_run(store, run_id, false, &e.to_string()).await;
            Err(e)
        }
    }
}

async fn stages(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: NaiveDate,
    run_id: i64,
    ctx: SessionContext,
) -> Result<BatchReport> {
    let mut seconds = Vec::new();
    let mut peak_mb = Vec::new();
    let mut clock = Instant::now();
    memory::reset_peak();
    let mut lap = |name: &str, seconds: &mut Vec<(String, f64)>| {
        seconds.push((name.to_owned(), clock.elapsed().as_secs_f64()));
        peak_mb.push((name.to_owned(), memory::peak_rss_mb()));
        memory::reset_peak();
        clock = Instant::now();
    };
    let snapshot = snapshot::refresh(store, analytics).await?;
    lap("snapshot", &mut seconds);

    register_snapshot(&ctx, analytics).await?;
    let dates = Dates::new(as_of);
    let history = features::tier_history(&ctx, analytics, config, dates).await?;
    lap("tiers", &mut seconds);
    let customers = features::compute(&ctx, analytics, config, dates, &history).await?;
    lap("features", &mut seconds);

    register_features(&ctx, analytics, Some(as_of)).await?;
    let mut tx = store.begin().await?;
    let tiers = store_headlines(&ctx, store, &mut tx, &as_of.to_string()).await?;
    let diff = write_tier_diff(store, &mut tx, config, &history, dates).await?;
    tx.commit().await?;
    drop(history);
    lap("store", &mut seconds);

    let vocab = vocabulary(store, config).await?;
    let mut segments = Vec::new();
    for seg in acrm::segments(store).await? {
        segments.push(refresh_segment(store, &ctx, &vocab, &seg, as_of).await?);
    }
    lap("segments", &mut seconds);

    // Tier changes decided for the as-of month, from the store: a rerun sees
    // them too (the store then skips the events it holds).
    let decided = month_end(dates.month).to_string();
    let tier_changes = acrm::tier_changes(store, &decided, &decided, i64::MAX).await?;
    let raised = alerts::evaluate(&ctx, config, dates, &tier_changes).await?;
    let mut alerts_raised = BTreeMap::new();
    for a in &raised {
        *alerts_raised.entry(a.rule.clone()).or_insert(0) += 1;
    }
    let due = as_of + chrono::Days::new(u64::from(config.alerts.task_due_days));
    let alerts_written =
        ocrm::write_alerts(store, &as_of.to_string(), &raised, &due.to_string()).await?;
    lap("alerts", &mut seconds);
    store.refresh_statistics().await?;
    Ok(BatchReport {
        run_id,
        as_of,
        snapshot,
        customers,
        tiers,
        tier_rows_written: diff.written,
        tier_rows_deleted: diff.deleted,
        tier_changes_this_month: diff.changes,
        segments,
        alerts_raised,
        alerts_written,
        seconds,
        peak_mb,
    })
}

/// The features of `as_of`, computed now if they are not there yet (from
/// the store's snapshot, which is taken first if there is none), without
/// touching the store's tables: training sets look at past dates this way.
/// Returns where they are.
pub async fn ensure_features(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: NaiveDate,
) -> Result<std::path::PathBuf> {
    let path = crate::engine::features_path(analytics, as_of);
    if path.exists() {
        return Ok(path);
    }
    // Features of a day the bank has no data for would be invented: every
    // balance carried forward, every customer inactive.
    let latest = acrm::latest_business_date(store).await?;
    if let Some(latest) = latest.as_deref().and_then(|l| l.get(..10)) {
        if as_of.to_string().as_str() > latest {
            return Err(AnalyticsError::Invalid(format!(
                "no features for {as_of}: the store's data ends on {latest}"
            )));
        }
    }
    if !snapshot::snapshot_dir(analytics).exists() {
        snapshot::refresh(store, analytics).await?;
    }
    let ctx = session();
    register_snapshot(&ctx, analytics).await?;
    let dates = Dates::new(as_of);
    let history = features::tier_history(&ctx, analytics, config, dates).await?;
    features::compute(&ctx, analytics, config, dates, &history).await?;
    Ok(path)
}

/// The features of `as_of` as the batch (or a training run) computed them;
/// an error naming the command that computes them if there are none. What
/// only reads — a page, an API call — uses this, never [`ensure_features`].
pub fn computed_features(analytics: &Path, as_of: NaiveDate) -> Result<std::path::PathBuf> {
    let path = crate::engine::features_path(analytics, as_of);
    if path.exists() {
        Ok(path)
    } else {
        Err(AnalyticsError::Invalid(format!(
            "no features have been computed for {as_of}: the nightly batch computes them \
             (`panorama batch --as-of {as_of}`), or `panorama campaign effect` does for its dates"
        )))
    }
}

/// What conditions may name: the product catalogue and the configured codes.
pub async fn vocabulary(store: &Store, config: &Config) -> Result<Vocabulary> {
    let products = panorama_store::products::all_codes(store).await?;
    Ok(Vocabulary::new(config, products))
}

/// Evaluates a saved rule segment on the features registered in `ctx` and
/// records who entered and left on `as_of`.
pub async fn refresh_segment(
    store: &Store,
    ctx: &SessionContext,
    vocab: &Vocabulary,
    seg: &SegmentRow,
    as_of: NaiveDate,
) -> Result<SegmentRefresh> {
    let now: HashSet<i64> = if seg.kind == "cluster" {
        // Customers of the clustered population nearest this cluster's centroid.
        let def = ClusterDefinition::from_json(&seg.definition)?;
        let filter = segment::compile(&def.condition, vocab)?;
        let (ids, rows) = feature_matrix(ctx, filter, &def.model.features).await?;
        ids.into_iter()
            .zip(&rows)
            .filter(|(_, r)| def.model.assign(r) + 1 == def.cluster)
            .map(|(id, _)| id)
            .collect()
    } else {
        let filter = segment::compile(&seg.definition, vocab)?;
        members_of(ctx, filter).await?.into_iter().collect()
    };
    let mut tx = store.begin().await?;
    let open: HashSet<i64> = acrm::open_members(&mut tx, seg.id)
        .await?
        .into_iter()
        .collect();
    let mut entered: Vec<i64> = now.difference(&open).copied().collect();
    let mut left: Vec<i64> = open.difference(&now).copied().collect();
    entered.sort_unstable();
    left.sort_unstable();
    acrm::apply_membership(
        &mut tx,
        store.backend(),
        seg.id,
        &as_of.to_string(),
        &entered,
        &left,
        now.len() as i64,
    )
    .await?;
    tx.commit().await?;
    Ok(SegmentRefresh {
        name: seg.name.clone(),
        members: now.len(),
        entered: entered.len(),
        left: left.len(),
    })
}

/// Customer ids of the features rows matching `filter`.
pub async fn members_of(
    ctx: &SessionContext,
    filter: datafusion::logical_expr::Expr,
) -> Result<Vec<i64>> {
    let batches = ctx
        .table("features")
        .await?
        .filter(filter)?
        .select_columns(&["customer_id"])?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        out.extend(ids.iter().flatten());
    }
    Ok(out)
}

/// Counts the features rows matching `filter`.
pub async fn count(ctx: &SessionContext, filter: datafusion::logical_expr::Expr) -> Result<usize> {
    Ok(ctx.table("features").await?.filter(filter)?.count().await?)
}

/// Columns copied into the store's JSON headline for the 360° view.
const HEADLINE: &[&str] = &[
    "age",
    "life_stage",
    "tenure_months",
    "aum",
    "aum_month_avg",
    "aum_3m_avg",
    "aum_trend_3m_pct",
    "loan_balance",
    "card_balance",
    "product_count",
    "products",
    "recency_days",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_segment",
    "profit_nii",
    "profit_fee",
    "profit_cost",
    "profit",
    "tier",
    "tier_months",
    "txn_amount_3m",
    "txn_trend_3m_pct",
];

/// Writes the headline features of every customer to the store, batch by
/// batch as the engine produces them, in `tx`; returns customers per tier.
async fn store_headlines(
    ctx: &SessionContext,
    store: &Store,
    tx: &mut panorama_store::AnyConnection,
    as_of: &str,
) -> Result<BTreeMap<String, u64>> {
    let cols: Vec<&str> = ["customer_id"].iter().chain(HEADLINE).copied().collect();
    let mut stream = ctx
        .table("features")
        .await?
        .select_columns(&cols)?
        .execute_stream()
        .await?;
    acrm::clear_features(tx, as_of).await?;
    let mut loader = acrm::features_loader(store).await?;
    let mut tiers = BTreeMap::new();
    while let Some(b) = stream.try_next().await? {
        let rows = headline_rows(&b, &mut tiers)?;
        acrm::write_features(&mut loader, tx, as_of, &rows).await?;
    }
    Ok(tiers)
}

/// The headline rows of one batch of features, counting tiers.
fn headline_rows(
    b: &datafusion::arrow::array::RecordBatch,
    tiers: &mut BTreeMap<String, u64>,
) -> Result<Vec<FeatureRow>> {
    let mut rows = Vec::with_capacity(b.num_rows());
    {
        let ids = features::int_column(b, "customer_id")?;
        let mut json: Vec<serde_json::Map<String, serde_json::Value>> =
            vec![serde_json::Map::new(); b.num_rows()];
        for name in HEADLINE {
            let c = b.column_by_name(name).ok_or_else(|| {
                AnalyticsError::Invalid(format!("feature column {name} is missing"))
            })?;
            for (i, obj) in json.iter_mut().enumerate() {
                let v = if c.is_null(i) {
                    serde_json::Value::Null
                } else {
                    match c.data_type() {
                        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).into(),
                        DataType::Float64 => {
                            let f = c.as_primitive::<Float64Type>().value(i);
                            serde_json::Number::from_f64((f * 10.0).round() / 10.0)
                                .map_or(serde_json::Value::Null, serde_json::Value::Number)
                        }
                        _ => {
                            let s =
                                datafusion::arrow::compute::cast(&c.slice(i, 1), &DataType::Utf8)?;
                            s.as_string::<i32>().value(0).to_owned().into()
                        }
                    }
                };
                obj.insert((*name).to_owned(), v);
            }
        }
        for (i, obj) in json.into_iter().enumerate() {
            let int = |k: &str| obj.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
            let tier = obj
                .get("tier")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            *tiers.entry(tier.clone()).or_insert(0) += 1;
            rows.push(FeatureRow {
                customer_id: ids.value(i),
                aum_minor: int("aum"),
                aum_avg_minor: int("aum_month_avg"),
                loan_minor: int("loan_balance"),
                profit_minor: int("profit"),
                tier,
                features: serde_json::Value::Object(obj).to_string(),
            });
        }
    }
    Ok(rows)
}

/// What a tier diff wrote.
#[derive(Debug, Default)]
struct TierDiff {
    written: usize,
    deleted: usize,
    changes: usize,
}

/// Rows of a tier diff written at a time.
const TIER_CHUNK: usize = 10_000;

/// Makes the store's tier history exactly the replayed decisions up to the
/// as-of month, in `tx`: a merge, in customer order, of the decisions'
/// file, the stored rows and the active customers — one customer at a time
/// in memory, the changes written in chunks.
async fn write_tier_diff(
    store: &Store,
    tx: &mut panorama_store::AnyConnection,
    config: &Config,
    history: &TierFiles,
    dates: Dates,
) -> Result<TierDiff> {
    let through = month_end(dates.month).to_string();
    // Customers without any balance still get a tier (the lowest), decided
    // once, on the first run that sees them.
    let lowest = config
        .tiers
        .last()
        .map(|t| t.code.clone())
        .unwrap_or_default();
    let mut decisions = history.reader()?;
    let mut stored = acrm::tier_rows(store, &through);
    let mut active = acrm::active_customer_ids(store);
    let mut next_decisions = decisions.next_customer()?;
    let mut next_stored = stored.try_next().await?;
    let mut next_active = active.try_next().await?;
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    let mut diff = TierDiff::default();
    loop {
        let heads = [
            next_decisions.as_ref().map(|(c, _)| *c),
            next_stored.as_ref().map(|r| r.customer_id),
            next_active,
        ];
        let Some(customer_id) = heads.into_iter().flatten().min() else {
            break;
        };
        let decided = match &next_decisions {
            Some((c, _)) if *c == customer_id => {
                let taken = next_decisions.take().map(|(_, d)| d);
                next_decisions = decisions.next_customer()?;
                taken
            }
            _ => None,
        };
        let mut rows = Vec::new();
        while next_stored.as_ref().map(|r| r.customer_id) == Some(customer_id) {
            rows.extend(next_stored.take());
            next_stored = stored.try_next().await?;
        }
        let is_active = next_active == Some(customer_id);
        if is_active {
            next_active = active.try_next().await?;
        }
        match (is_active, decided) {
            (true, Some(decided)) => {
                for d in decided {
                    let row = TierRow {
                        customer_id,
                        as_of: d.as_of.to_string(),
                        tier: config.tiers[d.tier].code.clone(),
                        previous_tier: d.previous.map(|p| config.tiers[p].code.clone()),
                        reason: d.reason,
                    };
                    match rows.iter().position(|r| r.as_of == row.as_of) {
                        Some(k) if rows[k] == row => {
                            rows.swap_remove(k);
                        }
                        found => {
                            if let Some(k) = found {
                                rows.swap_remove(k);
                            }
                            if row.previous_tier.is_some() && row.as_of == through {
                                diff.changes += 1;
                            }
                            upserts.push(row);
                        }
                    }
                }
                deletes.extend(rows.into_iter().map(|r| (r.customer_id, r.as_of)));
            }
            (true, None) if rows.is_empty() => upserts.push(TierRow {
                customer_id,
                as_of: through.clone(),
                tier: lowest.clone(),
                previous_tier: None,
                reason: "no balances on record: the entry tier".to_owned(),
            }),
            // Active without balances but with decisions already: kept.
            (true, None) => {}
            // No longer active (merged away): its decisions go.
            (false, Some(_)) => {
                deletes.extend(rows.into_iter().map(|r| (r.customer_id, r.as_of)));
            }
            (false, None) => {}
        }
        if upserts.len() >= TIER_CHUNK || deletes.len() >= TIER_CHUNK {
            diff.written += upserts.len();
            diff.deleted += deletes.len();
            acrm::write_tiers(tx, store.backend(), &upserts, &deletes).await?;
            upserts.clear();
            deletes.clear();
        }
    }
    diff.written += upserts.len();
    diff.deleted += deletes.len();
    acrm::write_tiers(tx, store.backend(), &upserts, &deletes).await?;
    Ok(diff)
}

/// The customers matching `filter` with the chosen numeric features (as
/// f64; missing values as 0), for clustering and models.
pub async fn feature_matrix(
    ctx: &SessionContext,
    filter: datafusion::logical_expr::Expr,
    features: &[String],
) -> Result<(Vec<i64>, Vec<Vec<f64>>)> {
    let mut cols = vec!["customer_id"];
    cols.extend(features.iter().map(String::as_str));
    let batches = ctx
        .table("features")
        .await?
        .filter(filter)?
        .select_columns(&cols)?
        .collect()
        .await?;
    let mut ids = Vec::new();
    let mut rows = Vec::new();
    for b in &batches {
        let id = b.column(0).as_primitive::<Int64Type>();
        let values: Vec<_> = (1..b.num_columns())
            .map(|j| datafusion::arrow::compute::cast(b.column(j), &DataType::Float64))
            .collect::<std::result::Result<_, _>>()?;
        for i in 0..b.num_rows() {
            ids.push(id.value(i));
            rows.push(
                values
                    .iter()
                    .map(|c| {
                        let c = c.as_primitive::<Float64Type>();
                        if c.is_null(i) { 0.0 } else { c.value(i) }
                    })
                    .collect(),
            );
        }
    }
    Ok((ids, rows))
}
