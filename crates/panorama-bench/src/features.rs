//! `panorama bench features`: the feature stage on DataFusion, beside the
//! same SQL on the same Parquet files in DuckDB.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use datafusion::arrow::util::pretty::pretty_format_batches;
use panorama_analytics::engine::session;
use panorama_analytics::{Config, snapshot, sql};
use panorama_store::{Store, acrm};

/// Totals both engines' outputs must agree on, so two engines' feature
/// tables are known to hold the same numbers. Each is cast to BIGINT:
/// DuckDB writes some integer sums as DOUBLE or HUGEINT, and the check is
/// about values, not the physical type.
const BENCH_CHECKS: &str = "SELECT COUNT(*) AS customers, CAST(SUM(aum) AS BIGINT) AS aum, \
    CAST(SUM(aum_month_avg) AS BIGINT) AS aum_month_avg, CAST(SUM(profit) AS BIGINT) AS profit, \
    CAST(SUM(rfm_r) AS BIGINT) AS rfm_r, CAST(SUM(rfm_f) AS BIGINT) AS rfm_f, CAST(SUM(rfm_m) AS BIGINT) AS rfm_m, \
    CAST(SUM(txn_atm_12m_count) AS BIGINT) AS atm_12m, CAST(SUM(product_count) AS BIGINT) AS products, \
    CAST(SUM(COALESCE(age, 0)) AS BIGINT) AS age, \
    CAST(SUM(LENGTH(products) + LENGTH(product_tenure) + LENGTH(product_classes)) AS BIGINT) AS list_chars FROM features";

/// `panorama bench features`: times the feature stage on DataFusion and,
/// with `--duckdb`, the same SQL on the same Parquet files in DuckDB.
pub async fn run(
    store: &Store,
    analytics: &Path,
    config: &Config,
    as_of: Option<NaiveDate>,
    runs: usize,
    duckdb: Option<&Path>,
) -> Result<()> {
    use panorama_analytics::engine::register_snapshot;
    use panorama_analytics::features_sql::{Dates, feature_sql};
    let as_of = match as_of {
        Some(d) => d,
        None => acrm::latest_business_date(store)
            .await?
            .context("the store holds no data")?
            .parse()?,
    };
    let started = Instant::now();
    let snap = snapshot::refresh(store, analytics).await?;
    say!(
        "bench features: snapshot refreshed in {:.2}s ({} transaction batches exported)",
        started.elapsed().as_secs_f64(),
        snap.txn_batches.len()
    );
    let dates = Dates::new(as_of);
    let text = feature_sql(config, dates);
    let bench_dir = analytics.join("bench");
    std::fs::create_dir_all(&bench_dir)?;
    let sql_path = bench_dir.join("features.sql");
    std::fs::write(&sql_path, &text)?;
    let ctx = session();
    register_snapshot(&ctx, analytics).await?;
    let (_, counts) = sql::query(
        &ctx,
        "SELECT (SELECT COUNT(*) FROM customer) AS customers, (SELECT COUNT(*) FROM txn) AS transactions, \
         (SELECT COUNT(*) FROM balance) AS balances, (SELECT COUNT(*) FROM account) AS accounts",
    )
    .await?;
    say!("data as of {as_of}:");
    say!("{}", pretty_format_batches(&counts)?);
    let df_out = bench_dir.join("features-datafusion.parquet");
    let mut best = f64::INFINITY;
    for run in 1..=runs.max(1) {
        let ctx = session();
        register_snapshot(&ctx, analytics).await?;
        let t = Instant::now();
        let df = ctx.sql(&text).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let n = snapshot::write_parquet(&df_out, schema, &batches)?;
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        say!("  datafusion run {run}: {n} customers in {secs:.2}s");
    }
    say!("bench features: engine=datafusion seconds={best:.2}");
    let check = |path: &Path| {
        let path = path.to_path_buf();
        async move {
            let ctx = session();
            ctx.register_parquet("features", &path.display().to_string(), Default::default())
                .await?;
            let (_, b) = sql::query(&ctx, BENCH_CHECKS).await?;
            anyhow::Ok(pretty_format_batches(&b)?.to_string())
        }
    };
    let df_check = check(&df_out).await?;
    say!("{df_check}");
    if let Some(python) = duckdb {
        let duck_out = bench_dir.join("features-duckdb.parquet");
        let script = crate::script("duckdb_features.py");
        let output = std::process::Command::new(python)
            .arg(&script)
            .arg("--snapshot")
            .arg(snapshot::snapshot_dir(analytics))
            .arg("--sql")
            .arg(&sql_path)
            .arg("--out")
            .arg(&duck_out)
            .arg("--runs")
            .arg(runs.max(1).to_string())
            .output()
            .with_context(|| format!("running {} {}", python.display(), script.display()))?;
        if !output.status.success() {
            bail!(
                "duckdb run failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        for line in stdout.lines() {
            say!("  {line}");
        }
        let duck_best: f64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("best_seconds="))
            .and_then(|v| v.trim().parse().ok())
            .context("the duckdb script printed no best_seconds=")?;
        say!("bench features: engine=duckdb seconds={duck_best:.2}");
        let duck_check = check(&duck_out).await?;
        say!("{duck_check}");
        say!(
            "bench features: duckdb/datafusion time ratio = {:.2} (above 1: DataFusion faster); results {}",
            duck_best / best,
            if duck_check == df_check {
                "identical"
            } else {
                "DIFFER"
            }
        );
    }
    Ok(())
}
