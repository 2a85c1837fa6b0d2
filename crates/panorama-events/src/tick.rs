//! The daily check of what no event announces — an absence: a customer
//! paid by payroll whose salary stopped arriving (代发工资中断). Run by
//! `panorama events tick` and by the nightly chain; each hit is an alert and
//! a task for the customer's RM, once per customer and stop (keyed by the
//! last payroll day), however often the check runs.

use chrono::NaiveDate;
use panorama_analytics::config::MonitorConfig;
use panorama_store::Store;
use panorama_store::events as q;

use crate::error::Result;
use crate::rules;

/// What a daily check raised.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ticked {
    /// Customers whose salary stopped.
    pub salary_stopped: u64,
    /// Alerts raised now (not raised before for the same stop).
    pub alerts: u64,
    /// RM tasks made for them.
    pub tasks: u64,
}

/// Runs the daily checks as of `on`.
pub async fn tick(store: &Store, cfg: &MonitorConfig, on: NaiveDate) -> Result<Ticked> {
    let mut out = Ticked::default();
    if !cfg.enabled("salary_stopped") {
        return Ok(out);
    }
    let gap = chrono::Days::new(cfg.salary_gap_days as u64);
    let cutoff = on - gap;
    let from = cutoff - chrono::Days::new(31 * cfg.salary_months as u64);
    let stopped = q::salary_stopped(
        store,
        &from.to_string(),
        &cutoff.to_string(),
        cfg.salary_months,
    )
    .await?;
    out.salary_stopped = stopped.len() as u64;
    let due = (on + chrono::Days::new(cfg.task_due_days as u64)).to_string();
    let mut tx = store.begin().await?;
    for s in &stopped {
        let last_day = s.last_at.get(..10).unwrap_or(&s.last_at);
        let idle = NaiveDate::parse_from_str(last_day, "%Y-%m-%d")
            .map_or(cfg.salary_gap_days, |d| (on - d).num_days());
        let hit = rules::salary_stopped(s.months, last_day, idle);
        let key = format!("salary:{last_day}");
        let raised =
            crate::apply::raise_hit(&mut tx, s.customer_id, &hit, &key, &on.to_string(), &due)
                .await?;
        out.alerts += u64::from(raised.alert.is_some());
        out.tasks += u64::from(raised.task.is_some());
    }
    tx.commit().await?;
    Ok(out)
}
