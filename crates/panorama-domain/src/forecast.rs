//! Target forecasting (经营目标预测): where a target will stand at the end of
//! its period, from what is done so far, the trend of the recent days and
//! the open pipeline weighted by its stages' historical win rates.
//!
//! A forecast is a mean and a spread. The trend's days are taken as
//! independent draws from the recent window (mean and variance per day,
//! both scaled by the days left); an open opportunity is a coin that lands
//! with its stage's win rate (a Bernoulli of its value). Books of different
//! people are added as independent, so a branch's spread is the root of the
//! sum of its RMs' variances. The interval and the chance of meeting a
//! target read the total as normal — an approximation the backtest
//! (`panorama targets backtest`) measures, not assumes.

use serde::Serialize;

/// Days of history the trend reads, ending at the as-of date.
pub const WINDOW_DAYS: usize = 90;

/// Closed opportunities a stage needs before its win rate is used.
pub const MIN_CLOSED: i64 = 20;

/// The z of an 80 % two-sided interval (10th to 90th percentile).
pub const Z80: f64 = 1.281_551_565_545;

/// A forecast of one book (an RM's) or of several added up, in the
/// indicator's unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Forecast {
    /// Done so far.
    pub actual: f64,
    /// Expected from the trend over the time left.
    pub trend: f64,
    /// Variance of the trend part.
    pub trend_var: f64,
    /// Expected from the open pipeline.
    pub pipeline: f64,
    /// Variance of the pipeline part.
    pub pipeline_var: f64,
}

impl Forecast {
    /// The expected value at the period's end.
    pub fn mean(&self) -> f64 {
        self.actual + self.trend + self.pipeline
    }

    /// The standard deviation of the period-end value.
    pub fn sd(&self) -> f64 {
        (self.trend_var + self.pipeline_var).max(0.0).sqrt()
    }

    /// The 80 % interval (10th to 90th percentile), never below what is
    /// already done when the trend cannot go down (`floor_at_actual`).
    pub fn interval(&self, floor_at_actual: bool) -> (f64, f64) {
        let (m, s) = (self.mean(), self.sd());
        let low = m - Z80 * s;
        let low = if floor_at_actual {
            low.max(self.actual)
        } else {
            low
        };
        (low, m + Z80 * s)
    }

    /// The chance the period ends at or above `target`.
    pub fn p_meet(&self, target: f64) -> f64 {
        let (m, s) = (self.mean(), self.sd());
        if s <= 0.0 {
            return if m >= target { 1.0 } else { 0.0 };
        }
        normal_sf((target - m) / s)
    }

    /// Whether every part is a finite number and no variance is negative:
    /// the check a computed forecast passes before it is kept.
    pub fn is_sound(&self) -> bool {
        [
            self.actual,
            self.trend,
            self.trend_var,
            self.pipeline,
            self.pipeline_var,
        ]
        .iter()
        .all(|v| v.is_finite())
            && self.trend_var >= 0.0
            && self.pipeline_var >= 0.0
    }
}

/// Two independent books together: the means and the variances add.
impl std::ops::Add for Forecast {
    type Output = Forecast;

    fn add(self, o: Forecast) -> Forecast {
        Forecast {
            actual: self.actual + o.actual,
            trend: self.trend + o.trend,
            trend_var: self.trend_var + o.trend_var,
            pipeline: self.pipeline + o.pipeline,
            pipeline_var: self.pipeline_var + o.pipeline_var,
        }
    }
}

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// The trend part: `steps_left` more steps like the `window`'s (one value
/// per day or per month, zeros included), of which `from_pipeline` (0 to 1)
/// came through opportunities the pipeline part counts instead. Returns
/// (mean, variance); the variance is a prediction's: the steps' own spread
/// plus the uncertainty of the window's mean (σ²/n), carried over every
/// step left.
pub fn trend(window: &[f64], steps_left: f64, from_pipeline: f64) -> (f64, f64) {
    if window.is_empty() || steps_left <= 0.0 {
        return (0.0, 0.0);
    }
    let n = window.len() as f64;
    let mean = window.iter().sum::<f64>() / n;
    let var = if window.len() > 1 {
        window.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let keep = (1.0 - from_pipeline).clamp(0.0, 1.0);
    let spread = var * steps_left + var / n * steps_left * steps_left;
    (mean * steps_left * keep, spread * keep * keep)
}

/// The pipeline part: each open opportunity's value and its chance to be
/// won. Returns (mean, variance).
pub fn pipeline(items: &[(f64, f64)]) -> (f64, f64) {
    items.iter().fold((0.0, 0.0), |(m, v), (value, p)| {
        let p = p.clamp(0.0, 1.0);
        (m + value * p, v + value * value * p * (1.0 - p))
    })
}

/// A stage's history: opportunities that were at it and have closed, and
/// how many of those were won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageHistory {
    /// The stage.
    pub stage: String,
    /// Closed after being at it.
    pub closed: i64,
    /// Won of those.
    pub won: i64,
}

/// Win rates by stage, each used only when its stage has [`MIN_CLOSED`]
/// closed opportunities; else the rate of all stages together when they
/// have; else none (the pipeline is then left out and the page says why).
pub fn win_rate(history: &[StageHistory], stage: &str) -> Option<f64> {
    let rate = |closed: i64, won: i64| (closed >= MIN_CLOSED).then(|| won as f64 / closed as f64);
    if let Some(h) = history.iter().find(|h| h.stage == stage)
        && let Some(r) = rate(h.closed, h.won)
    {
        return Some(r);
    }
    // An opportunity counts once in the pooled rate: at its first stage.
    let first = history.iter().find(|h| h.stage == "lead")?;
    rate(first.closed, first.won)
}

/// Forecasts scored against what happened, book by book.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scored {
    /// Books scored.
    pub books: usize,
    /// Σ what happened.
    pub truth: f64,
    /// Σ forecasts.
    pub forecast: f64,
    /// Σ pacing forecasts.
    pub pacing: f64,
    /// Σ |forecast − truth|.
    pub abs_error: f64,
    /// Σ |pacing − truth|.
    pub pacing_abs_error: f64,
    /// Books whose truth fell in their 80 % interval.
    pub covered: usize,
    /// Books whose truth fell in their pacing forecast's 80 % interval.
    pub pacing_covered: usize,
}

impl Scored {
    /// Scores one book against `truth`: its forecast `f` from the recent
    /// window and `pacing`, its forecast from the period so far (flows: the
    /// intervals floored at what is done).
    pub fn add(&mut self, truth: f64, f: &Forecast, pacing: &Forecast) {
        let inside = |f: &Forecast| {
            let (low, high) = f.interval(true);
            usize::from(low <= truth && truth <= high)
        };
        self.books += 1;
        self.truth += truth;
        self.forecast += f.mean();
        self.pacing += pacing.mean();
        self.abs_error += (f.mean() - truth).abs();
        self.pacing_abs_error += (pacing.mean() - truth).abs();
        self.covered += inside(f);
        self.pacing_covered += inside(pacing);
    }

    /// Several scores together.
    #[must_use]
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a Scored>) -> Scored {
        all.into_iter().fold(Scored::default(), |a, s| Scored {
            books: a.books + s.books,
            truth: a.truth + s.truth,
            forecast: a.forecast + s.forecast,
            pacing: a.pacing + s.pacing,
            abs_error: a.abs_error + s.abs_error,
            pacing_abs_error: a.pacing_abs_error + s.pacing_abs_error,
            covered: a.covered + s.covered,
            pacing_covered: a.pacing_covered + s.pacing_covered,
        })
    }

    /// Σ|error| ÷ Σ truth (weighted absolute percentage error) of the
    /// forecast and of pacing; none without any truth.
    pub fn wape(&self) -> Option<(f64, f64)> {
        (self.truth.abs() > 0.0).then(|| {
            (
                self.abs_error / self.truth.abs(),
                self.pacing_abs_error / self.truth.abs(),
            )
        })
    }

    /// The shares of books whose truth fell in the 80 % interval of the
    /// window's forecast and of pacing's.
    pub fn coverage(&self) -> Option<(f64, f64)> {
        (self.books > 0).then(|| {
            (
                self.covered as f64 / self.books as f64,
                self.pacing_covered as f64 / self.books as f64,
            )
        })
    }

    /// The basis with the smaller error: pacing's only when it did better.
    pub fn better(&self) -> Basis {
        match self.wape() {
            Some((w, p)) if p < w => Basis::Period,
            _ => Basis::Window,
        }
    }

    /// The header of [`Scored::cells`].
    pub const HEADER: [&'static str; 8] = [
        "books",
        "actual",
        "window",
        "pacing",
        "WAPE",
        "pacing WAPE",
        "in 80% range",
        "pacing in range",
    ];

    /// A table row: books, truth, forecast, pacing, both errors, coverage.
    pub fn cells(&self) -> Vec<String> {
        let pct = |e: f64| {
            if self.truth.abs() > 0.0 {
                format!("{:.1}%", 100.0 * e / self.truth.abs())
            } else {
                "—".into()
            }
        };
        vec![
            self.books.to_string(),
            format!("{:.0}", self.truth),
            format!("{:.0}", self.forecast),
            format!("{:.0}", self.pacing),
            pct(self.abs_error),
            pct(self.pacing_abs_error),
            format!("{}/{}", self.covered, self.books),
            format!("{}/{}", self.pacing_covered, self.books),
        ]
    }

    /// One line: both errors, their ratio and the coverage.
    pub fn summary(&self) -> String {
        match (self.wape(), self.coverage()) {
            (Some((w, p)), Some((c, pc))) => format!(
                "WAPE window {:.1}%, pacing {:.1}% (ratio {:.2}); in their 80% range: {:.0}% and {:.0}% of books",
                100.0 * w,
                100.0 * p,
                w / p,
                100.0 * c,
                100.0 * pc
            ),
            _ => "nothing happened in these quarters: no error to measure".into(),
        }
    }

    /// One line for forecasts on one basis (scored with the same forecast
    /// as both): its error and coverage.
    pub fn summary_one(&self) -> String {
        match (self.wape(), self.coverage()) {
            (Some((w, _)), Some((c, _))) => format!(
                "WAPE {:.1}%; {:.0}% of books in their 80% range",
                100.0 * w,
                100.0 * c
            ),
            _ => "nothing happened: no error to measure".into(),
        }
    }
}

/// What the trend reads: the last [`WINDOW_DAYS`] days, or the period so
/// far (pacing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The recent window.
    Window,
    /// The period so far.
    Period,
}

impl Basis {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Window => "window",
            Basis::Period => "period",
        }
    }

    /// From storage; anything else is the window.
    pub fn parse(s: &str) -> Basis {
        if s == "period" {
            Basis::Period
        } else {
            Basis::Window
        }
    }
}

/// Days of the period that must be done before pacing is trusted; earlier
/// the period basis reads the window.
pub const MIN_PERIOD_DAYS: usize = 14;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_scales_the_window_by_the_days_left() {
        let w = [1.0, 3.0, 1.0, 3.0];
        let (m, v) = trend(&w, 10.0, 0.0);
        assert!((m - 20.0).abs() < 1e-9);
        // Sample variance 4/3 a day over 10 days, plus the mean's own
        // (4/3 ÷ 4) over 10² day-pairs.
        assert!((v - (40.0 / 3.0 + 100.0 / 3.0)).abs() < 1e-9);
        // Half of it came through the pipeline: half the mean, a quarter of
        // the variance.
        let (m, v2) = trend(&w, 10.0, 0.5);
        assert!((m - 10.0).abs() < 1e-9 && (v2 - v / 4.0).abs() < 1e-9);
        assert_eq!(trend(&w, 0.0, 0.0), (0.0, 0.0));
        assert_eq!(trend(&[], 5.0, 0.0), (0.0, 0.0));
    }

    #[test]
    fn the_pipeline_weighs_each_opportunity_by_its_chance() {
        let (m, v) = pipeline(&[(100.0, 0.5), (10.0, 1.0), (7.0, 0.0)]);
        assert!((m - 60.0).abs() < 1e-9);
        // 100² × 0.25; a certain or hopeless one adds no spread.
        assert!((v - 2_500.0).abs() < 1e-9);
    }

    #[test]
    fn a_stage_needs_enough_history_else_the_pooled_rate_else_none() {
        let h = |stage: &str, closed, won| StageHistory {
            stage: stage.into(),
            closed,
            won,
        };
        let history = [
            h("lead", 40, 10),
            h("contacted", 25, 10),
            h("proposal", 5, 4),
        ];
        assert_eq!(win_rate(&history, "contacted"), Some(0.4));
        // Five closed proposals are too few: the pooled 10 of 40.
        assert_eq!(win_rate(&history, "proposal"), Some(0.25));
        assert_eq!(win_rate(&[h("lead", 19, 10)], "lead"), None);
        assert_eq!(win_rate(&[], "lead"), None);
    }

    #[test]
    fn the_chance_of_meeting_a_target_reads_the_total_as_normal() {
        let f = Forecast {
            actual: 50.0,
            trend: 30.0,
            trend_var: 64.0,
            pipeline: 20.0,
            pipeline_var: 36.0,
        };
        assert!((f.mean() - 100.0).abs() < 1e-9 && (f.sd() - 10.0).abs() < 1e-9);
        assert!((f.p_meet(100.0) - 0.5).abs() < 1e-9);
        assert!((f.p_meet(110.0) - 0.158_655).abs() < 1e-5);
        let (lo, hi) = f.interval(false);
        assert!((lo - 87.184_484).abs() < 1e-5 && (hi - 112.815_516).abs() < 1e-5);
        // Nothing left to happen: certain either way.
        let done = Forecast {
            actual: 5.0,
            ..Forecast::default()
        };
        assert_eq!((done.p_meet(5.0), done.p_meet(6.0)), (1.0, 0.0));
        // A wide spread does not put the low end below what is done.
        let wide = Forecast {
            actual: 5.0,
            trend_var: 400.0,
            ..Forecast::default()
        };
        assert_eq!(wide.interval(true).0, 5.0);
        assert!((f + done).is_sound() && ((f + done).mean() - 105.0).abs() < 1e-9);
        let broken = Forecast {
            trend: f64::NAN,
            ..Forecast::default()
        };
        assert!(!broken.is_sound());
    }

    #[test]
    fn a_score_weighs_errors_by_what_happened() {
        let mut s = Scored::default();
        let f = |mean: f64| Forecast {
            actual: mean,
            ..Forecast::default()
        };
        s.add(100.0, &f(90.0), &f(120.0));
        s.add(0.0, &f(0.0), &f(0.0));
        let t = Scored::sum([&s, &s]);
        assert_eq!((t.books, t.covered, t.pacing_covered), (4, 2, 2));
        let (w, p) = t.wape().unwrap();
        assert!((w - 0.1).abs() < 1e-9 && (p - 0.2).abs() < 1e-9);
        assert_eq!(t.coverage(), Some((0.5, 0.5)));
        assert_eq!(t.better(), Basis::Window);
        let mut worse = Scored::default();
        worse.add(100.0, &f(150.0), &f(101.0));
        assert_eq!(worse.better(), Basis::Period);
        assert_eq!(Scored::default().wape(), None);
        assert_eq!(Scored::default().better(), Basis::Window);
        assert_eq!(Basis::parse(Basis::Period.as_str()), Basis::Period);
    }
}
