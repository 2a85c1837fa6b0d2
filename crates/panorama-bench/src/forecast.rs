//! `panorama bench forecast`: the target forecasting method
//! (`panorama_domain::forecast`, as `panorama targets backtest` replays it
//! on a store) scored on purchases Panorama did not generate — CDNOW's log
//! of 23,570 customers' purchases from January 1997 to June 1998. The
//! customers are dealt into books by id (as a bank's into RMs' books); on a
//! day of each quarter every book's quarter is forecast from its last 90
//! days — purchases (a count) and revenue (cents) — and scored against what
//! the quarter ended at, beside straight pacing.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use chrono::{Datelike, Days, Months, NaiveDate};
use panorama_domain::forecast::{self as fc, Basis, Forecast, Scored, WINDOW_DAYS};
use panorama_domain::money::Money;

/// One purchase: (book, day, cents).
type Purchase = (usize, NaiveDate, i64);

fn read(file: &Path, books: usize) -> Result<Vec<Purchase>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {} (CDNOW_master.txt)", file.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // The header, if any.
        if f.first().is_some_and(|x| x.parse::<u64>().is_err()) {
            continue;
        }
        let [id, day, _, dollars] = f[..] else {
            bail!("line {}: 4 fields expected: {line:?}", n + 1);
        };
        let id: usize = id.parse().with_context(|| format!("line {}: id", n + 1))?;
        let day = NaiveDate::parse_from_str(day, "%Y%m%d")
            .with_context(|| format!("line {}: date {day:?}", n + 1))?;
        let cents = Money::parse_major(dollars)
            .with_context(|| format!("line {}: amount {dollars:?}", n + 1))?;
        out.push((id % books, day, cents.minor()));
    }
    if out.is_empty() {
        bail!("{}: no purchases", file.display());
    }
    Ok(out)
}

/// Scores every book's forecast of the quarter starting `from`, made on
/// day `day` of it; `value` picks what a purchase counts (1 or its cents).
fn quarter(
    log: &[Purchase],
    books: usize,
    from: NaiveDate,
    day: u32,
    basis: Basis,
    value: impl Fn(&Purchase) -> f64,
) -> (Scored, Scored) {
    let to = from + Months::new(3) - Days::new(1);
    let as_of = from + Days::new(u64::from(day) - 1);
    let start = as_of - Days::new(WINDOW_DAYS as u64 - 1);
    let mut window = vec![vec![0.0; WINDOW_DAYS]; books];
    let mut so_far = vec![vec![0.0; day as usize]; books];
    let mut done = vec![0.0; books];
    let mut truth = vec![0.0; books];
    for p in log {
        let (b, d) = (p.0, p.1);
        if start <= d && d <= as_of {
            window[b][usize::try_from((d - start).num_days()).unwrap_or(0)] += value(p);
        }
        if from <= d && d <= as_of {
            done[b] += value(p);
            so_far[b][usize::try_from((d - from).num_days()).unwrap_or(0)] += value(p);
        }
        if from <= d && d <= to {
            truth[b] += value(p);
        }
    }
    let days_left = (to - as_of).num_days() as f64;
    let paced = day as usize >= fc::MIN_PERIOD_DAYS;
    let mut s = Scored::default();
    let mut chosen = Scored::default();
    for b in 0..books {
        let make = |series: &[f64]| {
            let (trend, trend_var) = fc::trend(series, days_left, 0.0);
            Forecast {
                actual: done[b],
                trend,
                trend_var,
                ..Forecast::default()
            }
        };
        let f = make(&window[b]);
        let pace = if paced { make(&so_far[b]) } else { f };
        s.add(truth[b], &f, &pace);
        let c = if basis == Basis::Period { pace } else { f };
        chosen.add(truth[b], &c, &c);
    }
    (s, chosen)
}

/// `panorama bench forecast`.
pub fn run(file: &Path, books: usize, day: u32) -> Result<()> {
    if books == 0 || !(1..=89).contains(&day) {
        bail!("--books above 0 and --day from 1 to 89");
    }
    let log = read(file, books)?;
    let (first, last) = log
        .iter()
        .fold((NaiveDate::MAX, NaiveDate::MIN), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    say!(
        "bench forecast: {} purchases from {first} to {last} ({}), dealt into {books} books by customer id; forecasts on day {day} of each quarter from the last {WINDOW_DAYS} days",
        log.len(),
        file.display()
    );
    // Quarters with a full window before the forecast day and a full
    // quarter of data after it.
    let mut quarters = Vec::new();
    let mut q = first.with_day(1).unwrap_or(first) - Months::new(first.month0() % 3);
    while q + Months::new(3) - Days::new(1) <= last {
        let as_of = q + Days::new(u64::from(day) - 1);
        if as_of - Days::new(WINDOW_DAYS as u64 - 1) >= first {
            quarters.push(q);
        }
        q = q + Months::new(3);
    }
    let mut header = vec!["measure", "quarter"];
    header.extend(Scored::HEADER);
    for (name, by_value) in [("purchases", false), ("revenue (cents)", true)] {
        let mut rows = Vec::new();
        let mut all: BTreeMap<NaiveDate, Scored> = BTreeMap::new();
        let mut walk = Vec::new();
        for &from in &quarters {
            let basis = Scored::sum(all.values()).better();
            let (s, chosen) = quarter(&log, books, from, day, basis, |p| {
                if by_value { p.2 as f64 } else { 1.0 }
            });
            walk.push(chosen);
            let mut row = vec![
                name.to_owned(),
                format!("{}-Q{}", from.year(), from.month0() / 3 + 1),
            ];
            row.extend(s.cells());
            rows.push(row);
            all.insert(from, s);
        }
        for row in std::iter::once(header.iter().map(|h| (*h).to_owned()).collect()).chain(rows) {
            let row: Vec<String> = row;
            say!(
                "  {:<16}{:<9}{}",
                row[0],
                row[1],
                row[2..]
                    .iter()
                    .map(|c| format!("{c:>16}"))
                    .collect::<String>()
            );
        }
        say!("  {name}: {}", Scored::sum(all.values()).summary());
        say!(
            "  {name} as run (each quarter on the basis the quarters before it chose): {}",
            Scored::sum(&walk).summary_one()
        );
    }
    Ok(())
}
