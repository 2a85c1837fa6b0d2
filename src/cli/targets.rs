//! `panorama targets …`: the targets' forecasts (经营目标预测) — recompute
//! them as of a date and list the org units forecast to miss — and the
//! backtest that scores the forecasting method on past quarters.

use anyhow::{Context as _, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use panorama_ocrm::appraisal::show_value;
use panorama_ocrm::forecast as ops;

use super::table;

/// Target actions.
#[derive(Debug, Subcommand)]
pub enum TargetsAction {
    /// Recompute the actuals and forecasts of the targets whose periods
    /// contain `--as-of` (as the nightly chain does) and list those
    /// forecast to miss.
    Forecast {
        /// The business date the forecast is made on.
        #[arg(long)]
        as_of: NaiveDate,
        /// Only targets of this org unit's subtree (default: the whole bank).
        #[arg(long)]
        org: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Replay past quarters: forecast each RM's book on a day of the
    /// quarter from the data as it stood then, and score it against what
    /// the quarter ended at, beside straight pacing.
    Backtest {
        /// The indicator (a flow: new customers, sales, conversions, …).
        #[arg(long)]
        indicator: String,
        /// The quarters before the one containing this date are replayed.
        #[arg(long)]
        as_of: NaiveDate,
        /// How many quarters.
        #[arg(long, default_value_t = 4)]
        quarters: u32,
        /// The day of each quarter the forecast is made on (1–89).
        #[arg(long, default_value_t = 45)]
        day: u32,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn run(action: TargetsAction, store: &str) -> Result<()> {
    let store = super::open_store(store).await?;
    match action {
        TargetsAction::Forecast { as_of, org, json } => {
            // The actuals first, as the nightly chain computes them.
            panorama_store::targets::refresh_current(&store, as_of).await?;
            let done = ops::refresh(&store, as_of).await?;
            let path = match &org {
                Some(code) => {
                    panorama_store::targets::org_by_code(&store, code)
                        .await?
                        .with_context(|| format!("no org unit {code:?}"))?
                        .3
                }
                None => String::new(),
            };
            let mut misses = Vec::new();
            for p in panorama_store::targets::periods_of(as_of) {
                misses.extend(ops::at_risk(&store, &p.code, &path).await?);
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "as_of": as_of, "refreshed": done, "forecast_to_miss": misses,
                    }))?
                );
                return Ok(());
            }
            let rates: Vec<String> = done
                .win_rates
                .iter()
                .map(|h| format!("{} {}/{}", h.stage, h.won, h.closed))
                .collect();
            say!(
                "{} targets forecast as of {as_of} ({} RM books); win rates won/closed in the year: {}",
                done.targets,
                done.books,
                if rates.is_empty() {
                    "no closed opportunities".to_owned()
                } else {
                    rates.join(", ")
                }
            );
            for b in &done.bases {
                let bp = |v: Option<i64>| {
                    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v as f64 / 100.0))
                };
                say!(
                    "  {}: trend from the {} (backtest WAPE over {} quarters: window {}, pacing {})",
                    b.indicator,
                    if b.basis == "period" {
                        "period so far"
                    } else {
                        "last 90 days"
                    },
                    b.quarters,
                    bp(b.window_wape_bp),
                    bp(b.period_wape_bp)
                );
            }
            if misses.is_empty() {
                say!("no org unit's target is forecast to miss");
                return Ok(());
            }
            let rows = misses
                .iter()
                .map(|m| {
                    let v = |x: i64| show_value(x, &m.indicator.unit);
                    vec![
                        format!("{} {}", m.org_code, m.org_name),
                        m.indicator.code.clone(),
                        v(m.target),
                        v(m.outlook.actual),
                        v(m.outlook.forecast),
                        format!("{}–{}", v(m.outlook.low), v(m.outlook.high)),
                        m.outlook
                            .p_meet
                            .map_or_else(|| "—".into(), |p| format!("{:.0}%", 100.0 * p)),
                    ]
                })
                .collect();
            say!("forecast to miss, the least likely to be met first:");
            table::print(
                2,
                &[
                    "org unit",
                    "indicator",
                    "target",
                    "actual",
                    "forecast",
                    "80% range",
                    "chance to meet",
                ],
                rows,
            );
        }
        TargetsAction::Backtest {
            indicator,
            as_of,
            quarters,
            day,
            json,
        } => {
            let b = ops::backtest(&store, &indicator, as_of, quarters, day).await?;
            let total = b.total();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "backtest": b, "total": total, "walk_forward": b.walk_forward(),
                        "wape": total.wape().map(|w| w.0), "pacing_wape": total.wape().map(|w| w.1),
                        "coverage80": total.coverage(),
                    }))?
                );
                return Ok(());
            }
            say!(
                "backtest of {indicator}: forecasts on day {day} of {} quarters, per RM book",
                b.quarters.len()
            );
            let rows = b
                .quarters
                .iter()
                .map(|q| {
                    let mut row = vec![q.period.clone(), q.as_of.to_string()];
                    row.extend(q.score.cells());
                    row.push(q.basis.as_str().to_owned());
                    row
                })
                .collect();
            let mut header = vec!["quarter", "as of"];
            header.extend(panorama_domain::forecast::Scored::HEADER);
            header.push("chosen");
            table::print(2, &header, rows);
            say!("{}", total.summary());
            say!(
                "as run (each quarter on the basis the quarters before it chose): {}",
                b.walk_forward().summary_one()
            );
        }
    }
    Ok(())
}
