//! The Pareto view of profit contribution on the features of a date: which
//! tenth of the customers earns what share of the profit, how much of it
//! the top fifth earns, where the running total peaks (the customers after
//! the peak lose money), and the same for households.

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use std::path::Path;

use crate::error::Result;
use crate::sql;

/// Profit by decile of customers (`decile`, `customers`, `profit_yuan`,
/// `share_pct`, `loss_making`), highest first.
const DECILES: &str = "WITH ranked AS ( \
      SELECT profit, CAST(ROW_NUMBER() OVER (ORDER BY profit DESC, customer_id) AS BIGINT) AS rn, \
      CAST(COUNT(*) OVER () AS BIGINT) AS n FROM features), \
    total AS (SELECT CAST(SUM(profit) AS DOUBLE) AS total FROM features) \
    SELECT (rn - 1) * 10 / n + 1 AS decile, COUNT(*) AS customers, \
      SUM(profit) / 100 AS profit_yuan, \
      ROUND(CAST(SUM(profit) AS DOUBLE) * 100.0 / MAX(total.total), 1) AS share_pct, \
      SUM(CASE WHEN profit < 0 THEN 1 ELSE 0 END) AS loss_making \
    FROM ranked CROSS JOIN total GROUP BY (rn - 1) * 10 / n + 1 ORDER BY decile";

/// One row: customers, total profit, the top fifth's share, the running
/// total's peak share and where it is reached, loss-making customers.
const CONCENTRATION: &str = "WITH ranked AS ( \
      SELECT profit, SUM(profit) OVER (ORDER BY profit DESC, customer_id ROWS UNBOUNDED PRECEDING) AS running, \
      CAST(ROW_NUMBER() OVER (ORDER BY profit DESC, customer_id) AS BIGINT) AS rn FROM features), \
    total AS (SELECT CAST(SUM(profit) AS DOUBLE) AS total, COUNT(*) AS n, \
      SUM(CASE WHEN profit < 0 THEN 1 ELSE 0 END) AS losers FROM features), \
    peak AS (SELECT MAX(running) AS peak FROM ranked) \
    SELECT MAX(total.n) AS customers, CAST(MAX(total.total) / 100.0 AS BIGINT) AS total_profit_yuan, \
      ROUND(CAST(MAX(CASE WHEN rn * 5 <= total.n THEN running END) AS DOUBLE) * 100.0 / MAX(total.total), 1) AS top20_share_pct, \
      ROUND(CAST(MAX(peak.peak) AS DOUBLE) * 100.0 / MAX(total.total), 1) AS peak_share_pct, \
      MIN(CASE WHEN running = peak.peak THEN rn END) AS customers_at_peak, \
      MAX(total.losers) AS loss_making \
    FROM ranked CROSS JOIN total CROSS JOIN peak";

/// One row: households, loss-making households, their profit.
const HOUSEHOLDS: &str = "SELECT COUNT(*) AS households, SUM(CASE WHEN p < 0 THEN 1 ELSE 0 END) AS loss_making, \
    SUM(p) / 100 AS profit_yuan FROM (SELECT household_id, SUM(profit) AS p FROM features \
    WHERE household_id IS NOT NULL GROUP BY household_id) h";

/// The Pareto view, as tables to print or export.
#[derive(Debug, Clone)]
pub struct Pareto {
    /// The features' date.
    pub as_of: NaiveDate,
    /// Profit by decile of customers.
    pub deciles: Vec<RecordBatch>,
    /// How concentrated it is.
    pub concentration: Vec<RecordBatch>,
    /// Households.
    pub households: Vec<RecordBatch>,
}

/// The Pareto view on the features of `as_of` (the latest by default).
pub async fn pareto(analytics: &Path, as_of: Option<NaiveDate>) -> Result<Pareto> {
    let (ctx, as_of) = sql::analyst_session(analytics, as_of).await?;
    Ok(Pareto {
        as_of,
        deciles: sql::query(&ctx, DECILES).await?.1,
        concentration: sql::query(&ctx, CONCENTRATION).await?.1,
        households: sql::query(&ctx, HOUSEHOLDS).await?.1,
    })
}
