//! Target forecasting (经营目标预测): for each target, where it will stand at
//! the period's end — what each RM has done, the trend of their last
//! [`WINDOW_DAYS`] days (month-ends for AUM growth) over the time left,
//! and their open opportunities weighted by the historical win rate of the
//! stage each is at (商机赢单率). Computed per RM by the nightly chain and
//! kept; an org unit's forecast adds its RMs'. Head office reads which
//! branches will miss ([`at_risk`]); a backtest replays past quarters as a
//! forecaster would have seen them and scores the method against straight
//! pacing ([`backtest`]).

use std::collections::HashMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use panorama_domain::forecast::{self as fc, Basis, Forecast, StageHistory, WINDOW_DAYS};
use panorama_domain::period::Period;
use panorama_store::Store;
use panorama_store::forecasts::{self, BasisRow, ForecastRow, OpenOpportunity};
use panorama_store::targets::{self, Child, Indicator};
use serde::Serialize;

use crate::{OcrmError, Result};

/// Days before the window in which a won opportunity explains a sale.
const PIPELINE_LEAD_DAYS: u64 = 120;

/// Month-ends of history the AUM trend reads (six monthly changes).
const AUM_MONTHS: u32 = 7;

/// The stored scale of an indicator's unit: fen as they are, counts in
/// hundredths.
fn scale_of(ind: &Indicator) -> i64 {
    if ind.unit == "minor" { 1 } else { 100 }
}

/// What the pipeline contributes to an indicator: an opportunity's value
/// towards it and whose it is, or nothing.
fn pipeline_value(ind: &Indicator, o: &OpenOpportunity) -> Option<(i64, f64)> {
    match ind.source.as_str() {
        "opportunities_won" => Some((o.owner, o.amount.unwrap_or(0) as f64)),
        "referrals_won" => o.referrer.map(|r| (r, 1.0)),
        "product_sales" => {
            let matches = match &ind.product_class {
                Some(c) => o.class.as_deref() == Some(c.as_str()),
                None => o.class.is_some(),
            };
            matches.then_some((o.owner, 1.0))
        }
        _ => None,
    }
}

/// The books' forecasts of one indicator over one period as of a day, on
/// each basis.
#[derive(Debug, Clone, Default)]
pub struct Books {
    /// Each RM's, the trend read from the last [`WINDOW_DAYS`] days.
    pub window: HashMap<i64, Forecast>,
    /// Each RM's, the trend read from the period so far (pacing; the
    /// window until [`fc::MIN_PERIOD_DAYS`] are done; AUM growth always
    /// the window's month-ends).
    pub period: HashMap<i64, Forecast>,
    /// Whether the pipeline was counted (its win rates were learnt).
    pub pipeline_used: bool,
    /// The share of the recent volume that came through the pipeline (the
    /// trend leaves it to the pipeline part).
    pub from_pipeline: f64,
}

impl Books {
    /// The forecasts on `basis`.
    pub fn on(&self, basis: Basis) -> &HashMap<i64, Forecast> {
        match basis {
            Basis::Window => &self.window,
            Basis::Period => &self.period,
        }
    }
}

/// The last month whose month-end is on or before `day`.
fn last_complete_month(day: NaiveDate) -> NaiveDate {
    let next = day + Days::new(1);
    if next.month() == day.month() {
        day.with_day(1).unwrap_or(day) - Months::new(1)
    } else {
        day.with_day(1).unwrap_or(day)
    }
}

/// Every RM's forecast of `ind` over `period` as of `day`, on both bases,
/// from the data as it stood that day: the actual to `day`, the trend, and
/// the pipeline open at the end of `pipeline_on` (win rates from
/// `history`) — `day` in a replay, today in the nightly run (the CRM's
/// opportunities are live while the extracts are a day behind).
pub async fn books(
    store: &Store,
    period: &Period,
    ind: &Indicator,
    day: NaiveDate,
    pipeline_on: NaiveDate,
    history: &[StageHistory],
) -> Result<Books> {
    let mut out = Books::default();
    let class = ind.product_class.as_deref();
    if targets::is_flow(&ind.source) {
        let scale = targets::daily_scale(&ind.source) as f64;
        let start = day - Days::new(WINDOW_DAYS as u64 - 1);
        // The period so far, when enough of it is done to pace.
        let done_days =
            usize::try_from((day.min(period.to) - period.from).num_days() + 1).unwrap_or(0);
        let paced = done_days >= fc::MIN_PERIOD_DAYS;
        let first = if paced { start.min(period.from) } else { start };
        let mut window: HashMap<i64, (Vec<f64>, Vec<f64>)> = HashMap::new();
        for (who, on, v) in targets::daily(
            store,
            &ind.source,
            class,
            &first.to_string(),
            &day.to_string(),
        )
        .await?
        {
            let Ok(on) = on.parse::<NaiveDate>() else {
                continue;
            };
            let v = v as f64 / scale;
            let w = window.entry(who).or_insert_with(|| {
                (
                    vec![0.0; WINDOW_DAYS],
                    vec![0.0; if paced { done_days } else { 0 }],
                )
            });
            if let Ok(k) = usize::try_from((on - start).num_days())
                && k < WINDOW_DAYS
            {
                w.0[k] += v;
            }
            if paced
                && let Ok(k) = usize::try_from((on - period.from).num_days())
                && k < done_days
            {
                w.1[k] += v;
            }
        }
        let mut actual: HashMap<i64, f64> = HashMap::new();
        if done_days > 0 {
            let rows = targets::totals(
                store,
                &ind.source,
                class,
                &period.from.to_string(),
                &day.min(period.to).to_string(),
            )
            .await?;
            for (who, v) in rows {
                actual.insert(who, v.unwrap_or(0) as f64);
            }
        }
        out.from_pipeline = match ind.source.as_str() {
            // Won opportunities are the pipeline: the trend adds nothing
            // that is not already open.
            "opportunities_won" | "referrals_won" => 1.0,
            "product_sales" => {
                let since = (start - Days::new(PIPELINE_LEAD_DAYS)).to_string();
                let (all, linked) = forecasts::sales_via_pipeline(
                    store,
                    class,
                    &since,
                    &start.to_string(),
                    &day.to_string(),
                )
                .await?;
                if all > 0 {
                    linked as f64 / all as f64
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        let days_left = (period.to - day.max(period.from - Days::new(1)))
            .num_days()
            .max(0) as f64;
        let mut who: Vec<i64> = window.keys().chain(actual.keys()).copied().collect();
        who.sort_unstable();
        who.dedup();
        for w in who {
            let done = actual.get(&w).copied().unwrap_or(0.0);
            let (recent, so_far) = window
                .get(&w)
                .map_or((&[][..], &[][..]), |(a, b)| (&a[..], &b[..]));
            let make = |series: &[f64]| {
                let (trend, trend_var) = fc::trend(series, days_left, out.from_pipeline);
                Forecast {
                    actual: done,
                    trend,
                    trend_var,
                    ..Forecast::default()
                }
            };
            let f = make(recent);
            out.window.insert(w, f);
            out.period.insert(w, if paced { make(so_far) } else { f });
        }
    } else {
        aum_books(store, period, day, &mut out).await?;
        out.period = out.window.clone();
    }
    // The pipeline open at the end of the day, expected to close by the
    // period's end (or with no date, or overdue).
    let to = period.to.to_string();
    let mut items: HashMap<i64, Vec<(f64, f64)>> = HashMap::new();
    let mut unrated = false;
    for o in forecasts::open_on(store, &pipeline_on.to_string()).await? {
        if o.expected_close.as_deref().is_some_and(|c| c > to.as_str()) {
            continue;
        }
        let Some((who, value)) = pipeline_value(ind, &o) else {
            continue;
        };
        match fc::win_rate(history, &o.stage) {
            Some(p) => items.entry(who).or_default().push((value, p)),
            None => unrated = true,
        }
    }
    out.pipeline_used = !unrated && pipeline_value_applies(ind);
    if out.pipeline_used {
        for (who, xs) in items {
            let (m, v) = fc::pipeline(&xs);
            for map in [&mut out.window, &mut out.period] {
                let f = map.entry(who).or_default();
                f.pipeline = m;
                f.pipeline_var = v;
            }
        }
    }
    Ok(out)
}

/// Whether opportunities count towards `ind` at all.
fn pipeline_value_applies(ind: &Indicator) -> bool {
    matches!(
        ind.source.as_str(),
        "opportunities_won" | "referrals_won" | "product_sales"
    )
}

/// AUM growth: the actual is the growth from the month-end before the
/// period to the last month-end known on `day`; the trend is the book's
/// monthly change over the [`AUM_MONTHS`] month-ends to then, times the
/// months left.
async fn aum_books(store: &Store, period: &Period, day: NaiveDate, out: &mut Books) -> Result<()> {
    let mut last = last_complete_month(day);
    if let Some(latest) = targets::latest_balance_month(store).await?
        && let Ok(latest) = NaiveDate::parse_from_str(&format!("{latest}-01"), "%Y-%m-%d")
        && latest < last
    {
        last = latest;
    }
    let start = period.from - Days::new(1);
    let months: Vec<String> = (0..AUM_MONTHS)
        .rev()
        .map(|k| (last - Months::new(k)).format("%Y-%m").to_string())
        .collect();
    let start_month = start.format("%Y-%m").to_string();
    let mut wanted = months.clone();
    if !wanted.contains(&start_month) {
        wanted.push(start_month.clone());
    }
    let mut balance: HashMap<i64, HashMap<String, i64>> = HashMap::new();
    for (rm, month, v) in targets::book_aum(store, &wanted).await? {
        balance.entry(rm).or_default().insert(month, v);
    }
    let last_month = last.format("%Y-%m").to_string();
    let months_left = panorama_domain::months_between(last.max(start), period.to).max(0) as f64;
    for (rm, b) in balance {
        let at = |m: &String| b.get(m).copied().unwrap_or(0) as f64;
        let deltas: Vec<f64> = months.windows(2).map(|w| at(&w[1]) - at(&w[0])).collect();
        let f = out.window.entry(rm).or_default();
        if last_month > start_month {
            f.actual = at(&last_month) - at(&start_month);
        }
        let (m, v) = fc::trend(&deltas, months_left, 0.0);
        f.trend = m;
        f.trend_var = v;
    }
    Ok(())
}

/// The win rates as of `day`: opportunities closed in the year to it.
pub async fn history_at(store: &Store, day: NaiveDate) -> Result<Vec<StageHistory>> {
    let from = (day - Days::new(365)).to_string();
    Ok(forecasts::stage_history(store, &from, &day.to_string()).await?)
}

/// What the nightly chain's forecasting did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Refreshed {
    /// (period, indicator) pairs forecast.
    pub targets: usize,
    /// RM forecasts kept.
    pub books: usize,
    /// The win rates used.
    pub win_rates: Vec<StageHistory>,
    /// The trend's basis chosen per indicator, with the errors.
    pub bases: Vec<BasisRow>,
}

/// Quarters a basis is chosen on.
pub const CHOICE_QUARTERS: u32 = 4;

/// Chooses the trend's basis for `ind` as of `day`: the one with the
/// smaller error over the [`CHOICE_QUARTERS`] quarters before, each
/// replayed on the same day of its quarter as `day` is of its own; the
/// window when nothing happened in them or the indicator is a balance.
pub async fn choose_basis(store: &Store, ind: &Indicator, day: NaiveDate) -> Result<BasisRow> {
    let mut row = BasisRow {
        indicator: ind.code.clone(),
        as_of: day.to_string(),
        basis: Basis::Window.as_str().to_owned(),
        quarters: 0,
        window_wape_bp: None,
        period_wape_bp: None,
    };
    if !targets::is_flow(&ind.source) {
        return Ok(row);
    }
    let quarter_start = day.with_day(1).unwrap_or(day) - Months::new(day.month0() % 3);
    let day_of_quarter = u32::try_from((day - quarter_start).num_days() + 1)
        .unwrap_or(1)
        .clamp(1, 89);
    let b = backtest(store, &ind.code, day, CHOICE_QUARTERS, day_of_quarter).await?;
    let total = b.total();
    row.quarters = b.quarters.len() as i64;
    if let Some((w, p)) = total.wape() {
        if !w.is_finite() || !p.is_finite() {
            return Err(OcrmError::Invalid(format!(
                "the backtest of {} as of {day} is not a number (window {w}, pacing {p}): nothing kept",
                ind.code
            )));
        }
        row.window_wape_bp = Some((w * 10_000.0).round() as i64);
        row.period_wape_bp = Some((p * 10_000.0).round() as i64);
    }
    row.basis = total.better().as_str().to_owned();
    Ok(row)
}

/// Forecasts every target period containing `day` (the nightly chain's
/// as-of date) and keeps the RMs' parts, each indicator on the basis its
/// past quarters chose (chosen on the month's first run, kept for the
/// rest of the month). A forecast that is not a finite number with
/// non-negative spread stops the run before anything of that target is
/// written.
pub async fn refresh(store: &Store, day: NaiveDate) -> Result<Refreshed> {
    let today = chrono::Utc::now().date_naive().max(day);
    let history = history_at(store, today).await?;
    forecasts::write_win_rates(store, &today.to_string(), &history).await?;
    let mut done = Refreshed {
        win_rates: history.clone(),
        ..Refreshed::default()
    };
    let pairs = panorama_store::targets::current_pairs(store, day).await?;
    let mut chosen: HashMap<String, Basis> = HashMap::new();
    for (period, code) in pairs {
        let ind = targets::indicator(store, &code)
            .await?
            .ok_or_else(|| OcrmError::NotFound(format!("no indicator {code:?}")))?;
        let basis = match chosen.get(&code) {
            Some(b) => *b,
            None => {
                // Chosen once a month: the backtests re-read a year of
                // days, and the choice moves slowly.
                let month = |d: &str| d.get(..7).map(str::to_owned);
                let row = match forecasts::basis_of(store, &code).await? {
                    Some(kept)
                        if month(&kept.as_of) == month(&day.to_string())
                            && kept.as_of.as_str() <= day.to_string().as_str() =>
                    {
                        kept
                    }
                    _ => {
                        let row = choose_basis(store, &ind, day).await?;
                        forecasts::write_basis(store, &row).await?;
                        row
                    }
                };
                let b = Basis::parse(&row.basis);
                chosen.insert(code.clone(), b);
                done.bases.push(row);
                b
            }
        };
        let b = books(store, &period, &ind, day, today, &history).await?;
        let scale = scale_of(&ind);
        let by_rm = b.on(basis);
        let mut rows = Vec::with_capacity(by_rm.len());
        for (rm, f) in by_rm {
            if !f.is_sound() {
                return Err(OcrmError::Invalid(format!(
                    "the forecast of {} {} for user {rm} is not a number ({f:?}): nothing kept",
                    period.code, ind.code
                )));
            }
            let s = scale as f64;
            rows.push(ForecastRow {
                rm_user_id: *rm,
                as_of: day.to_string(),
                scale,
                trend_mean: (f.trend * s).round() as i64,
                trend_sd: (f.trend_var.sqrt() * s).round() as i64,
                pipeline_mean: (f.pipeline * s).round() as i64,
                pipeline_sd: (f.pipeline_var.sqrt() * s).round() as i64,
            });
        }
        rows.sort_by_key(|r| r.rm_user_id);
        forecasts::write(store, &period.code, &ind.code, &rows).await?;
        done.targets += 1;
        done.books += rows.len();
    }
    Ok(done)
}

/// A forecast as shown: its expected end value, 80 % interval and the
/// chance of meeting the target, in the indicator's unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outlook {
    /// Done so far.
    pub actual: i64,
    /// Expected at the period's end.
    pub forecast: i64,
    /// 10th percentile.
    pub low: i64,
    /// 90th percentile.
    pub high: i64,
    /// Of which from the trend.
    pub trend: i64,
    /// Of which from the pipeline.
    pub pipeline: i64,
    /// The forecast ÷ the target.
    pub attainment: Option<f64>,
    /// The chance of meeting the target.
    pub p_meet: Option<f64>,
    /// The date the forecast was made as of.
    #[serde(skip)]
    pub as_of: Option<NaiveDate>,
}

/// The outlook of a node (an RM or an org unit's subtree) whose actual is
/// `actual` and target `target`, from the kept forecasts; none when the
/// nightly chain has not forecast the period.
pub async fn outlook(
    store: &Store,
    period: &str,
    ind: &Indicator,
    who: Child,
    actual: i64,
    target: Option<i64>,
) -> Result<Option<Outlook>> {
    let rows = forecasts::of(store, period, &ind.code, who).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let as_of = first.as_of.parse().ok();
    let mut f = Forecast {
        actual: actual as f64,
        ..Forecast::default()
    };
    for r in &rows {
        let s = r.scale as f64;
        f = f + Forecast {
            actual: 0.0,
            trend: r.trend_mean as f64 / s,
            trend_var: (r.trend_sd as f64 / s).powi(2),
            pipeline: r.pipeline_mean as f64 / s,
            pipeline_var: (r.pipeline_sd as f64 / s).powi(2),
        };
    }
    // A flow cannot fall below what is done; a balance can.
    let (low, high) = f.interval(targets::is_flow(&ind.source));
    Ok(Some(Outlook {
        actual,
        forecast: f.mean().round() as i64,
        low: low.round() as i64,
        high: high.round() as i64,
        trend: f.trend.round() as i64,
        pipeline: f.pipeline.round() as i64,
        attainment: target.filter(|t| *t > 0).map(|t| f.mean() / t as f64),
        p_meet: target.map(|t| f.p_meet(t as f64)),
        as_of,
    }))
}

/// A target whose forecast falls short of it.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    /// The target.
    pub target_id: i64,
    /// Its indicator.
    pub indicator: Indicator,
    /// The org unit's code.
    pub org_code: String,
    /// Its name.
    pub org_name: String,
    /// The target's value.
    pub target: i64,
    /// Its outlook.
    pub outlook: Outlook,
}

/// Every org-unit target of `period` in the subtree at `path` whose
/// forecast is below it, the least likely to be met first.
pub async fn at_risk(store: &Store, period: &str, path: &str) -> Result<Vec<Miss>> {
    let mut out = Vec::new();
    let mut known: HashMap<String, Indicator> = HashMap::new();
    for (id, code, org, org_code, org_name, value) in
        forecasts::org_targets(store, period, path).await?
    {
        let ind = match known.get(&code) {
            Some(i) => i.clone(),
            None => {
                let Some(i) = targets::indicator(store, &code).await? else {
                    continue;
                };
                known.insert(code.clone(), i.clone());
                i
            }
        };
        let actual = targets::actual_under(store, period, &code, Child::Org(org)).await?;
        let Some(o) = outlook(store, period, &ind, Child::Org(org), actual, Some(value)).await?
        else {
            continue;
        };
        if o.forecast < value {
            out.push(Miss {
                target_id: id,
                indicator: ind,
                org_code,
                org_name,
                target: value,
                outlook: o,
            });
        }
    }
    out.sort_by(|a, b| {
        a.outlook
            .p_meet
            .partial_cmp(&b.outlook.p_meet)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(out)
}

/// One past quarter replayed.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestQuarter {
    /// The quarter.
    pub period: String,
    /// The forecast's as-of date.
    pub as_of: NaiveDate,
    /// Its books' forecasts and pacing against what they ended at.
    #[serde(flatten)]
    pub score: fc::Scored,
    /// The basis the quarters before chose (walking forward).
    pub basis: Basis,
    /// The chosen basis's forecasts against what the books ended at.
    pub chosen: fc::Scored,
}

/// A backtest of an indicator's forecasts.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    /// The indicator.
    pub indicator: String,
    /// The day of each quarter the forecasts were made on.
    pub day_of_quarter: u32,
    /// The quarters.
    pub quarters: Vec<BacktestQuarter>,
}

impl Backtest {
    /// Every quarter's books together.
    pub fn total(&self) -> fc::Scored {
        fc::Scored::sum(self.quarters.iter().map(|q| &q.score))
    }

    /// The method as run: each quarter on the basis the quarters before it
    /// chose (the window for the first).
    pub fn walk_forward(&self) -> fc::Scored {
        fc::Scored::sum(self.quarters.iter().map(|q| &q.chosen))
    }
}

/// Replays the `quarters` complete quarters before `as_of`: on day
/// `day_of_quarter` of each, every RM's forecast of `indicator` from the
/// data as it stood then, against what the quarter ended at — and against
/// pacing (the quarter so far stretched over the quarter). Flow indicators
/// only (a balance's past month-ends are not replayable per day).
pub async fn backtest(
    store: &Store,
    indicator: &str,
    as_of: NaiveDate,
    quarters: u32,
    day_of_quarter: u32,
) -> Result<Backtest> {
    let ind = targets::indicator(store, indicator)
        .await?
        .ok_or_else(|| OcrmError::NotFound(format!("no indicator {indicator:?}")))?;
    if !targets::is_flow(&ind.source) {
        return Err(OcrmError::Invalid(format!(
            "{indicator} is a balance ({}): the backtest replays flows",
            ind.source
        )));
    }
    if !(1..=89).contains(&day_of_quarter) {
        return Err(OcrmError::Invalid(
            "the day of the quarter is from 1 to 89".into(),
        ));
    }
    let this_quarter = as_of.with_day(1).unwrap_or(as_of) - Months::new(as_of.month0() % 3);
    let mut out = Backtest {
        indicator: indicator.to_owned(),
        day_of_quarter,
        quarters: Vec::new(),
    };
    for k in (1..=quarters).rev() {
        let from = this_quarter - Months::new(3 * k);
        let q = (from.month0() / 3) + 1;
        let period = Period::parse(&format!("{}-Q{q}", from.year()))
            .ok_or_else(|| OcrmError::Invalid(format!("no quarter at {from}")))?;
        let day = period.from + Days::new(u64::from(day_of_quarter) - 1);
        let history = history_at(store, day).await?;
        let b = books(store, &period, &ind, day, day, &history).await?;
        let truth: HashMap<i64, f64> = targets::totals(
            store,
            &ind.source,
            ind.product_class.as_deref(),
            &period.from.to_string(),
            &period.to.to_string(),
        )
        .await?
        .into_iter()
        .map(|(who, v)| (who, v.unwrap_or(0) as f64))
        .collect();
        let mut score = fc::Scored::default();
        let mut chosen = fc::Scored::default();
        let basis = out.total().better();
        let mut who: Vec<i64> = truth.keys().chain(b.window.keys()).copied().collect();
        who.sort_unstable();
        who.dedup();
        for w in who {
            let t = truth.get(&w).copied().unwrap_or(0.0);
            let f = b.window.get(&w).copied().unwrap_or_default();
            let pace = b.period.get(&w).copied().unwrap_or_default();
            score.add(t, &f, &pace);
            let c = if basis == Basis::Period { pace } else { f };
            chosen.add(t, &c, &c);
        }
        let r = BacktestQuarter {
            period: period.code.clone(),
            as_of: day,
            score,
            basis,
            chosen,
        };
        out.quarters.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_complete_month_is_this_one_only_at_its_end() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(last_complete_month(d("2026-11-30")), d("2026-11-01"));
        assert_eq!(last_complete_month(d("2026-11-29")), d("2026-10-01"));
        assert_eq!(last_complete_month(d("2026-01-15")), d("2025-12-01"));
    }

    #[test]
    fn an_opportunity_counts_for_the_indicators_it_feeds() {
        let ind = |source: &str, class: Option<&str>| Indicator {
            code: "x".into(),
            name: "x".into(),
            name_en: "x".into(),
            source: source.into(),
            product_class: class.map(str::to_owned),
            unit: "count".into(),
        };
        let o = OpenOpportunity {
            owner: 1,
            referrer: Some(2),
            stage: "proposal".into(),
            amount: Some(500),
            expected_close: None,
            class: Some("wealth".into()),
        };
        assert_eq!(
            pipeline_value(&ind("opportunities_won", None), &o),
            Some((1, 500.0))
        );
        assert_eq!(
            pipeline_value(&ind("referrals_won", None), &o),
            Some((2, 1.0))
        );
        assert_eq!(
            pipeline_value(&ind("product_sales", Some("wealth")), &o),
            Some((1, 1.0))
        );
        assert_eq!(
            pipeline_value(&ind("product_sales", Some("card")), &o),
            None
        );
        assert_eq!(pipeline_value(&ind("new_customers", None), &o), None);
    }
}
