//! Customer lifetime value: the BG/NBD model of how many purchases a
//! customer makes while "alive" (Fader, Hardie & Lee 2005) and the
//! Gamma-Gamma model of what each is worth (Fader, Hardie & Lee 2005, "RFM
//! and CLV"), fitted by maximum likelihood over per-customer summaries —
//! repeat purchases `frequency` (x), time of the last one `recency` (tₓ)
//! and age `t` (T), all in one time unit, and the mean repeat value.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use crate::ModelError;
use crate::optimise::{Objective, minimise};
use crate::special::{digamma, hyp2f1, ln_beta, ln_gamma};

/// One customer's purchase summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Repeat purchases (x).
    pub frequency: u32,
    /// Time of the last repeat purchase since the first (tₓ; 0 without one).
    pub recency: f64,
    /// Time from the first purchase to the end of the window (T).
    pub t: f64,
    /// Mean value of the repeat purchases, when known.
    pub monetary: Option<f64>,
}

/// A summary file: customer ids and their summaries, in file order.
#[derive(Debug, Clone, Default)]
pub struct SummaryFile {
    /// The id column's values.
    pub ids: Vec<String>,
    /// The summaries.
    pub rows: Vec<Summary>,
}

/// Column names accepted for each field: lifetimes' and Fader's.
const ID: &[&str] = &["id", "customer_id"];
const FREQUENCY: &[&str] = &["frequency", "x"];
const RECENCY: &[&str] = &["recency", "t_x"];
const AGE: &[&str] = &["T"];
const MONETARY: &[&str] = &["monetary_value", "zbar", "monetary"];

fn column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    // "T" (age) and "t_x" differ only by case from other names: exact match
    // first, then case-insensitive for the id.
    headers
        .iter()
        .position(|h| names.contains(&h.trim()))
        .or_else(|| {
            headers.iter().position(|h| {
                names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(h.trim()) && *n != "T")
            })
        })
}

/// Reads a summary CSV (columns `id, frequency, recency, T[, monetary_value]`
/// or Fader's `ID, x, t_x, T[, zbar]`). A row that is not a valid summary
/// (x a whole number ≥ 0; 0 ≤ tₓ ≤ T; tₓ = 0 when x = 0; value ≥ 0) is an
/// error naming its line.
pub fn read_summary(path: &Path) -> Result<SummaryFile, ModelError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| ModelError::Input(format!("{}: {e}", path.display())))?;
    let headers = reader
        .headers()
        .map_err(|e| ModelError::Input(format!("{}: {e}", path.display())))?
        .clone();
    let need = |names: &[&str]| {
        column(&headers, names).ok_or_else(|| {
            ModelError::Input(format!(
                "{}: no column {} (the header is {:?})",
                path.display(),
                names.join(" or "),
                headers.iter().collect::<Vec<_>>()
            ))
        })
    };
    let id = column(&headers, ID);
    let (fc, rc, tc) = (need(FREQUENCY)?, need(RECENCY)?, need(AGE)?);
    let mc = column(&headers, MONETARY);
    let mut out = SummaryFile::default();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let bad = |why: String| ModelError::Input(format!("{}:{line}: {why}", path.display()));
        let record = record.map_err(|e| bad(e.to_string()))?;
        let number = |c: usize, name: &str| -> Result<f64, ModelError> {
            let text = record.get(c).unwrap_or("");
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("{name} is not a number: {text:?}")))
        };
        let x = number(fc, "frequency")?;
        if x < 0.0 || x.fract() != 0.0 || x > f64::from(u32::MAX) {
            return Err(bad(format!(
                "frequency must be a whole number of repeat purchases, not {x}"
            )));
        }
        let (recency, t) = (number(rc, "recency")?, number(tc, "T")?);
        if !(0.0..=t).contains(&recency) {
            return Err(bad(format!("recency {recency} must lie in 0..=T ({t})")));
        }
        if x == 0.0 && recency != 0.0 {
            return Err(bad(format!("recency {recency} without a repeat purchase")));
        }
        let monetary = match mc {
            Some(c) => {
                let m = number(c, "monetary value")?;
                if m < 0.0 {
                    return Err(bad(format!("monetary value {m} is negative")));
                }
                Some(m)
            }
            None => None,
        };
        out.ids.push(match id {
            Some(c) => record.get(c).unwrap_or("").to_owned(),
            None => (line - 1).to_string(),
        });
        out.rows.push(Summary {
            frequency: x as u32,
            recency,
            t,
            monetary,
        });
    }
    if out.rows.is_empty() {
        return Err(ModelError::Input(format!(
            "{}: no customers",
            path.display()
        )));
    }
    Ok(out)
}

/// A fitted BG/NBD model: purchase rates λ ~ Gamma(r, α), dropout
/// probability after each purchase p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Scale (in the data's time unit) of the purchase-rate distribution.
    pub alpha: f64,
    /// First shape of the dropout distribution.
    pub a: f64,
    /// Second shape of the dropout distribution.
    pub b: f64,
    /// Log-likelihood of the data at the fit.
    pub log_likelihood: f64,
    /// Optimiser iterations.
    pub iterations: u64,
}

/// Fader, Hardie & Lee's BG/NBD fit of the CDNOW cohort (lifetimes 0.11 on
/// `cdnow_customers_summary.csv`): the reference for tests and benchmarks.
pub const CDNOW_BG_NBD: BgNbd = BgNbd {
    r: 0.2426,
    alpha: 4.4135,
    a: 0.7929,
    b: 2.4258,
    log_likelihood: -9582.43,
    iterations: 0,
};

/// The Gamma-Gamma fit of the same cohort's 946 repeat buyers.
pub const CDNOW_GAMMA_GAMMA: GammaGamma = GammaGamma {
    p: 6.2488,
    q: 3.7446,
    v: 15.4477,
    used: 946,
    left_out: 2_357 - 946,
    log_likelihood: 0.0,
    iterations: 0,
};

/// Customers with the same summary count once, with a weight.
#[derive(Debug, Clone, Copy)]
struct Group {
    x: usize,
    recency: f64,
    t: f64,
    weight: f64,
}

/// The BG/NBD likelihood over grouped summaries; times scaled so the
/// largest T is 10 (as lifetimes does) for a well-conditioned α.
struct BgNbdObjective {
    groups: Vec<Group>,
    /// Distinct frequencies, indexed by `Group::x`.
    xs: Vec<f64>,
    total: f64,
}

impl BgNbdObjective {
    fn new(rows: &[Summary], scale: f64) -> BgNbdObjective {
        let mut xs: Vec<u32> = rows.iter().map(|s| s.frequency).collect();
        xs.sort_unstable();
        xs.dedup();
        let index: HashMap<u32, usize> = xs.iter().enumerate().map(|(i, x)| (*x, i)).collect();
        let mut weights: HashMap<(u32, u64, u64), f64> = HashMap::new();
        for s in rows {
            *weights
                .entry((s.frequency, s.recency.to_bits(), s.t.to_bits()))
                .or_default() += 1.0;
        }
        let mut groups: Vec<Group> = weights
            .into_iter()
            .map(|((x, rec, t), weight)| Group {
                x: index[&x],
                recency: f64::from_bits(rec) * scale,
                t: f64::from_bits(t) * scale,
                weight,
            })
            .collect();
        // A fixed order: sums (and so the fit) do not depend on hashing.
        groups.sort_by(|a, b| {
            (a.x, a.recency, a.t)
                .partial_cmp(&(b.x, b.recency, b.t))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        BgNbdObjective {
            groups,
            xs: xs.into_iter().map(f64::from).collect(),
            total: rows.len() as f64,
        }
    }

    /// Log-likelihood and its gradient over (r, α, a, b).
    fn log_likelihood(&self, r: f64, alpha: f64, a: f64, b: f64) -> (f64, [f64; 4]) {
        // Terms that depend on the frequency alone.
        struct PerX {
            x: f64,
            constant: f64,
            d_r: f64,
            d_a: f64,
            d_b: f64,
        }
        let per_x: Vec<PerX> = self
            .xs
            .iter()
            .map(|&x| PerX {
                x,
                constant: ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_beta(a, b + x)
                    - ln_beta(a, b),
                d_r: digamma(r + x) - digamma(r) + alpha.ln(),
                d_a: digamma(a + b) - digamma(a + b + x),
                d_b: digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x),
            })
            .collect();
        let zero = || (0.0, [0.0; 4]);
        self.groups
            .par_chunks(4_096)
            .map(|chunk| {
                let mut ll = 0.0;
                let mut g = [0.0; 4];
                for c in chunk {
                    let p = &per_x[c.x];
                    let rx = r + p.x;
                    let ln_t = (alpha + c.t).ln();
                    let a3 = -rx * ln_t;
                    // The dropped-out branch exists after a repeat purchase.
                    let (lse, w4, ln_tx, a4_db) = if p.x > 0.0 {
                        let ln_tx = (alpha + c.recency).ln();
                        let a4 = a.ln() - (b + p.x - 1.0).ln() - rx * ln_tx;
                        let m = a3.max(a4);
                        let lse = m + ((a3 - m).exp() + (a4 - m).exp()).ln();
                        (lse, (a4 - lse).exp(), ln_tx, -1.0 / (b + p.x - 1.0))
                    } else {
                        (a3, 0.0, 0.0, 0.0)
                    };
                    let w3 = 1.0 - w4;
                    let w = c.weight;
                    ll += w * (p.constant + lse);
                    g[0] += w * (p.d_r - w3 * ln_t - w4 * ln_tx);
                    g[1] +=
                        w * (r / alpha - w3 * rx / (alpha + c.t) - w4 * rx / (alpha + c.recency));
                    g[2] += w * (p.d_a + w4 / a);
                    g[3] += w * (p.d_b + w4 * a4_db);
                }
                (ll, g)
            })
            .reduce(zero, |(l1, g1), (l2, g2)| {
                (
                    l1 + l2,
                    [g1[0] + g2[0], g1[1] + g2[1], g1[2] + g2[2], g1[3] + g2[3]],
                )
            })
    }
}

impl Objective for BgNbdObjective {
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let p: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
        let (ll, g) = self.log_likelihood(p[0], p[1], p[2], p[3]);
        if !ll.is_finite() {
            return (f64::INFINITY, vec![0.0; 4]);
        }
        // Per customer, negated; the chain rule through p = e^θ.
        let n = self.total;
        (-ll / n, (0..4).map(|i| -g[i] * p[i] / n).collect())
    }
}

impl BgNbd {
    /// Fits the model to `rows` by maximum likelihood.
    pub fn fit(rows: &[Summary]) -> Result<BgNbd, ModelError> {
        let max_t = rows.iter().map(|s| s.t).fold(0.0, f64::max);
        if rows.is_empty() || max_t <= 0.0 {
            return Err(ModelError::Input(
                "BG/NBD needs customers observed for a positive time".into(),
            ));
        }
        if rows.iter().all(|s| s.frequency == 0) {
            return Err(ModelError::Input(
                "BG/NBD needs some customers with a repeat purchase".into(),
            ));
        }
        let scale = 10.0 / max_t;
        let objective = BgNbdObjective::new(rows, scale);
        let min = minimise(&objective, vec![0.0; 4])?;
        let p: Vec<f64> = min.theta.iter().map(|t| t.exp()).collect();
        // In the data's own time unit the likelihood of each customer's
        // purchase times gains x·ln(scale): no need to group them again.
        let repeats: f64 = rows.iter().map(|s| f64::from(s.frequency)).sum();
        let scaled = objective.log_likelihood(p[0], p[1], p[2], p[3]).0;
        Ok(BgNbd {
            r: p[0],
            alpha: p[1] / scale,
            a: p[2],
            b: p[3],
            log_likelihood: scaled + repeats * scale.ln(),
            iterations: min.iterations,
        })
    }

    /// Expected repeat purchases in the next `horizon` time units of a
    /// customer with summary `s` (the conditional expectation, eq. 10 of
    /// Fader, Hardie & Lee 2005).
    pub fn expected_purchases(&self, s: &Summary, horizon: f64) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let x = f64::from(s.frequency);
        let (tx, t) = (s.recency, s.t);
        let z = horizon / (alpha + t + horizon);
        let ln_ratio = (r + x) * ((alpha + t) / (alpha + t + horizon)).ln();
        let numerator = (a + b + x - 1.0) / (a - 1.0)
            * (1.0 - ln_ratio.exp() * hyp2f1(r + x, b + x, a + b + x - 1.0, z));
        let alive_odds = if x > 0.0 {
            a / (b + x - 1.0) * ((alpha + t) / (alpha + tx)).powf(r + x)
        } else {
            0.0
        };
        numerator / (1.0 + alive_odds)
    }

    /// Probability that a customer with summary `s` is still active.
    pub fn probability_alive(&self, s: &Summary) -> f64 {
        if s.frequency == 0 {
            return 1.0;
        }
        let x = f64::from(s.frequency);
        let odds = self.a / (self.b + x - 1.0)
            * ((self.alpha + s.t) / (self.alpha + s.recency)).powf(self.r + x);
        1.0 / (1.0 + odds)
    }
}

/// A fitted Gamma-Gamma model of the mean value of a customer's purchases.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GammaGamma {
    /// Shape of each purchase's value distribution.
    pub p: f64,
    /// Shape of the customers' rate distribution.
    pub q: f64,
    /// Scale of the customers' rate distribution.
    pub v: f64,
    /// Customers the fit used (a repeat purchase and a positive value).
    pub used: usize,
    /// Customers left out.
    pub left_out: usize,
    /// Log-likelihood at the fit.
    pub log_likelihood: f64,
    /// Optimiser iterations.
    pub iterations: u64,
}

struct GammaGammaObjective {
    /// (x, mean value, customers with both) of the customers used.
    rows: Vec<(f64, f64, f64)>,
    /// Customers used.
    total: f64,
}

impl GammaGammaObjective {
    fn new(used: &[(f64, f64)]) -> GammaGammaObjective {
        let mut weights: HashMap<(u64, u64), f64> = HashMap::new();
        for (x, m) in used {
            *weights.entry((x.to_bits(), m.to_bits())).or_default() += 1.0;
        }
        let mut rows: Vec<(f64, f64, f64)> = weights
            .into_iter()
            .map(|((x, m), w)| (f64::from_bits(x), f64::from_bits(m), w))
            .collect();
        rows.sort_by(|a, b| {
            (a.0, a.1)
                .partial_cmp(&(b.0, b.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        GammaGammaObjective {
            rows,
            total: used.len() as f64,
        }
    }
}

impl GammaGammaObjective {
    fn log_likelihood(&self, p: f64, q: f64, v: f64) -> (f64, [f64; 3]) {
        let (dq, lq, lv) = (digamma(q), ln_gamma(q), v.ln());
        self.rows
            .par_chunks(4_096)
            .map(|chunk| {
                let mut ll = 0.0;
                let mut g = [0.0; 3];
                for &(x, m, w) in chunk {
                    let px = p * x;
                    let ln_xm_v = (x * m + v).ln();
                    let (ln_m, ln_x) = (m.ln(), x.ln());
                    let d_pxq = digamma(px + q);
                    ll += w
                        * (ln_gamma(px + q) - ln_gamma(px) - lq
                            + q * lv
                            + (px - 1.0) * ln_m
                            + px * ln_x
                            - (px + q) * ln_xm_v);
                    g[0] += w * x * (d_pxq - digamma(px) + ln_m + ln_x - ln_xm_v);
                    g[1] += w * (d_pxq - dq + lv - ln_xm_v);
                    g[2] += w * (q / v - (px + q) / (x * m + v));
                }
                (ll, g)
            })
            .reduce(
                || (0.0, [0.0; 3]),
                |(l1, g1), (l2, g2)| (l1 + l2, [g1[0] + g2[0], g1[1] + g2[1], g1[2] + g2[2]]),
            )
    }
}

impl Objective for GammaGammaObjective {
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let p: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
        let (ll, g) = self.log_likelihood(p[0], p[1], p[2]);
        if !ll.is_finite() {
            return (f64::INFINITY, vec![0.0; 3]);
        }
        let n = self.total;
        (-ll / n, (0..3).map(|i| -g[i] * p[i] / n).collect())
    }
}

impl GammaGamma {
    /// Fits the model to the customers of `rows` with a repeat purchase and
    /// a positive mean value (the others carry no information on it).
    pub fn fit(rows: &[Summary]) -> Result<GammaGamma, ModelError> {
        let used: Vec<(f64, f64)> = rows
            .iter()
            .filter_map(|s| match s.monetary {
                Some(m) if s.frequency > 0 && m > 0.0 => Some((f64::from(s.frequency), m)),
                _ => None,
            })
            .collect();
        if used.len() < 2 {
            return Err(ModelError::Input(
                "Gamma-Gamma needs monetary values of customers with repeat purchases".into(),
            ));
        }
        let objective = GammaGammaObjective::new(&used);
        let min = minimise(&objective, vec![0.0; 3])?;
        let p: Vec<f64> = min.theta.iter().map(|t| t.exp()).collect();
        let used = used.len();
        Ok(GammaGamma {
            p: p[0],
            q: p[1],
            v: p[2],
            used,
            left_out: rows.len() - used,
            log_likelihood: objective.log_likelihood(p[0], p[1], p[2]).0,
            iterations: min.iterations,
        })
    }

    /// Expected mean purchase value of a customer with `frequency` repeat
    /// purchases averaging `mean` (the population mean without any).
    pub fn expected_value(&self, frequency: u32, mean: f64) -> f64 {
        let (p, q, v) = (self.p, self.q, self.v);
        let x = f64::from(frequency);
        let population = p * v / (q - 1.0);
        let weight = (q - 1.0) / (p * x + q - 1.0);
        weight * population + (1.0 - weight) * mean
    }
}

/// Draws `n` customers from a BG/NBD process with `model`'s parameters and,
/// with `value`, mean purchase values from a Gamma-Gamma one; customers are
/// observed for T spread evenly over `[t_min, t_max]`. Seeded: the same
/// arguments give the same customers (benchmarks, recovery tests).
pub fn simulate(
    n: usize,
    model: &BgNbd,
    value: Option<&GammaGamma>,
    (t_min, t_max): (f64, f64),
    seed: u64,
) -> Result<Vec<Summary>, ModelError> {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Beta, Distribution, Exp, Gamma};
    let invalid = |e: &dyn std::fmt::Display| ModelError::Input(format!("simulation: {e}"));
    let rate = Gamma::new(model.r, 1.0 / model.alpha).map_err(|e| invalid(&e))?;
    let dropout = Beta::new(model.a, model.b).map_err(|e| invalid(&e))?;
    let spend_rate = match value {
        Some(g) => Some((g.p, Gamma::new(g.q, 1.0 / g.v).map_err(|e| invalid(&e))?)),
        None => None,
    };
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = t_min + (t_max - t_min) * (i as f64 / n.max(2).saturating_sub(1) as f64);
        let lambda: f64 = rate.sample(&mut rng);
        let p: f64 = dropout.sample(&mut rng);
        let gap = Exp::new(lambda.max(1e-12)).map_err(|e| invalid(&e))?;
        let (mut now, mut x, mut last) = (0.0, 0u32, 0.0);
        loop {
            now += gap.sample(&mut rng);
            if now > t {
                break;
            }
            x += 1;
            last = now;
            if rng.random::<f64>() < p {
                break;
            }
        }
        let monetary = match &spend_rate {
            Some((shape, nu)) if x > 0 => {
                let nu: f64 = nu.sample(&mut rng);
                let mean = Gamma::new(shape * f64::from(x), 1.0 / (nu * f64::from(x)))
                    .map_err(|e| invalid(&e))?;
                Some(mean.sample(&mut rng))
            }
            Some(_) => Some(0.0),
            None => None,
        };
        out.push(Summary {
            frequency: x,
            recency: last,
            t,
            monetary,
        });
    }
    Ok(out)
}

/// The discounted value of a yearly margin kept with yearly retention `r`
/// over `years` at discount rate `d`: Σₜ m·rᵗ/(1+d)ᵗ, in fen.
pub fn margin_clv(margin_fen: i64, r: f64, d: f64, years: u32) -> i64 {
    let q = r / (1.0 + d);
    let factor = if (1.0 - q).abs() < 1e-12 {
        f64::from(years)
    } else {
        q * (1.0 - q.powi(years as i32)) / (1.0 - q)
    };
    (margin_fen as f64 * factor).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_clv_by_hand() {
        // 1,000 yuan a year kept at 90% and discounted at 8% for 5 years:
        // Σ 1000·(0.9/1.08)ᵗ = 2,990.61 yuan.
        assert_eq!(margin_clv(100_000, 0.9, 0.08, 5), 299_061);
        // No discount, no loss: five years of margin.
        assert_eq!(margin_clv(100_000, 1.0, 0.0, 5), 500_000);
        // A loss-making customer has a negative value; one who leaves, none.
        assert_eq!(margin_clv(-100_000, 0.9, 0.08, 5), -299_061);
        assert_eq!(margin_clv(100_000, 0.0, 0.08, 5), 0);
    }

    fn numeric_gradient(f: &dyn Fn(&[f64]) -> f64, at: &[f64]) -> Vec<f64> {
        (0..at.len())
            .map(|i| {
                let h = 1e-6;
                let mut up = at.to_vec();
                let mut down = at.to_vec();
                up[i] += h;
                down[i] -= h;
                (f(&up) - f(&down)) / (2.0 * h)
            })
            .collect()
    }

    fn rows() -> Vec<Summary> {
        vec![
            Summary {
                frequency: 0,
                recency: 0.0,
                t: 38.9,
                monetary: Some(0.0),
            },
            Summary {
                frequency: 1,
                recency: 1.7,
                t: 38.9,
                monetary: Some(11.8),
            },
            Summary {
                frequency: 2,
                recency: 30.4,
                t: 38.9,
                monetary: Some(22.4),
            },
            Summary {
                frequency: 7,
                recency: 35.0,
                t: 37.0,
                monetary: Some(41.0),
            },
            Summary {
                frequency: 1,
                recency: 5.0,
                t: 20.0,
                monetary: Some(9.5),
            },
        ]
    }

    #[test]
    fn bg_nbd_gradient_matches_the_likelihood() {
        let o = BgNbdObjective::new(&rows(), 0.25);
        let theta = [-1.2, 0.4, -0.3, 0.8];
        let numeric = numeric_gradient(&|t: &[f64]| o.evaluate(t).0, &theta);
        let analytic = o.evaluate(&theta).1;
        for (n, a) in numeric.iter().zip(&analytic) {
            assert!((n - a).abs() < 1e-6, "{numeric:?} vs {analytic:?}");
        }
    }

    #[test]
    fn gamma_gamma_gradient_matches_the_likelihood() {
        let o = GammaGammaObjective::new(&[
            (1.0, 11.8),
            (2.0, 22.4),
            (7.0, 41.0),
            (3.0, 5.0),
            (2.0, 22.4),
        ]);
        let theta = [1.5, 1.2, 2.7];
        let numeric = numeric_gradient(&|t: &[f64]| o.evaluate(t).0, &theta);
        let analytic = o.evaluate(&theta).1;
        for (n, a) in numeric.iter().zip(&analytic) {
            assert!((n - a).abs() < 1e-6, "{numeric:?} vs {analytic:?}");
        }
    }

    #[test]
    fn a_single_customer_by_hand() {
        // x = 0, T = 2, r = α = a = b = 1: L = α^r / (α + T)^r = 1/3.
        let o = BgNbdObjective::new(
            &[Summary {
                frequency: 0,
                recency: 0.0,
                t: 2.0,
                monetary: None,
            }],
            1.0,
        );
        let (ll, _) = o.log_likelihood(1.0, 1.0, 1.0, 1.0);
        assert!((ll - (1.0_f64 / 3.0).ln()).abs() < 1e-12);
        // x = 1, tₓ = 1, T = 2, all ones: Γ(2)/Γ(1) · 1 · B(1,2)/B(1,1) ·
        // [3^-2 + 1/1 · 2^-2] = 1/2 · (1/9 + 1/4).
        let o = BgNbdObjective::new(
            &[Summary {
                frequency: 1,
                recency: 1.0,
                t: 2.0,
                monetary: None,
            }],
            1.0,
        );
        let (ll, _) = o.log_likelihood(1.0, 1.0, 1.0, 1.0);
        assert!((ll - (0.5_f64 * (1.0 / 9.0 + 0.25)).ln()).abs() < 1e-12);
    }

    #[test]
    fn expectations_behave() {
        let m = CDNOW_BG_NBD;
        let quiet = Summary {
            frequency: 0,
            recency: 0.0,
            t: 38.86,
            monetary: None,
        };
        let active = Summary {
            frequency: 5,
            recency: 38.0,
            t: 38.86,
            monetary: None,
        };
        let lapsed = Summary {
            frequency: 5,
            recency: 5.0,
            t: 38.86,
            monetary: None,
        };
        assert_eq!(m.expected_purchases(&active, 0.0), 0.0);
        assert!(m.expected_purchases(&active, 52.0) > m.expected_purchases(&lapsed, 52.0));
        assert!(m.expected_purchases(&active, 52.0) > m.expected_purchases(&quiet, 52.0));
        assert!(m.expected_purchases(&active, 104.0) > m.expected_purchases(&active, 52.0));
        assert!(m.probability_alive(&lapsed) < m.probability_alive(&active));
        assert_eq!(m.probability_alive(&quiet), 1.0);
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            v: 15.44,
            used: 0,
            left_out: 0,
            log_likelihood: 0.0,
            iterations: 0,
        };
        // Shrinks a customer's mean toward the population's, less with more purchases.
        let population = gg.expected_value(0, 0.0);
        let one = gg.expected_value(1, 100.0);
        let ten = gg.expected_value(10, 100.0);
        assert!(population < one && one < ten && ten < 100.0);
    }
}
