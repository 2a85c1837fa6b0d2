//! L2-regularised logistic regression (the penalty scikit-learn uses by
//! default: C = 1, intercept unpenalised) on standardised features, fitted
//! with argmin's L-BFGS over the analytic gradient.

use rayon::prelude::*;

use crate::ModelError;
use crate::data::Dataset;
use crate::optimise::{Objective, Settings, minimise_with};

/// A fitted model: standardisation and coefficients.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Logistic {
    /// Feature means of the training rows.
    pub means: Vec<f64>,
    /// Feature standard deviations (1 where a feature is constant).
    pub scales: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// One coefficient per standardised feature.
    pub coefficients: Vec<f64>,
    /// Optimiser iterations.
    pub iterations: u64,
}

struct Problem<'a> {
    data: &'a Dataset,
    rows: &'a [usize],
    means: &'a [f64],
    scales: &'a [f64],
    /// 1 / C.
    penalty: f64,
}

impl Objective for Problem<'_> {
    fn evaluate(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let p = self.data.width();
        let (b, w) = (theta[0], &theta[1..]);
        let (loss, mut grad) = self
            .rows
            .par_chunks(2_048)
            .map(|chunk| {
                let mut loss = 0.0;
                let mut grad = vec![0.0; p + 1];
                let mut z_row = vec![0.0; p];
                for &i in chunk {
                    let row = self.data.row(i);
                    let mut z = b;
                    for j in 0..p {
                        z_row[j] = (row[j] - self.means[j]) / self.scales[j];
                        z += w[j] * z_row[j];
                    }
                    let y = if self.data.y[i] { 1.0 } else { 0.0 };
                    // log(1 + e^z) − y z, computed without overflow.
                    loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
                    let residual = 1.0 / (1.0 + (-z).exp()) - y;
                    grad[0] += residual;
                    for j in 0..p {
                        grad[j + 1] += residual * z_row[j];
                    }
                }
                (loss, grad)
            })
            .reduce(
                || (0.0, vec![0.0; p + 1]),
                |(l1, mut g1), (l2, g2)| {
                    for (a, b) in g1.iter_mut().zip(&g2) {
                        *a += b;
                    }
                    (l1 + l2, g1)
                },
            );
        let n = self.rows.len() as f64;
        let ridge: f64 = w.iter().map(|v| v * v).sum::<f64>() * 0.5 * self.penalty;
        for (g, wj) in grad[1..].iter_mut().zip(w) {
            *g += self.penalty * wj;
        }
        (
            (loss + ridge) / n,
            grad.into_iter().map(|g| g / n).collect(),
        )
    }
}

impl Logistic {
    /// Fits on `rows` of `data` with inverse regularisation strength `c`.
    pub fn fit(data: &Dataset, rows: &[usize], c: f64) -> Result<Logistic, ModelError> {
        let p = data.width();
        if rows.is_empty() {
            return Err(ModelError::Input("no training rows".into()));
        }
        let n = rows.len() as f64;
        let mut means = vec![0.0; p];
        for &i in rows {
            for (m, v) in means.iter_mut().zip(data.row(i)) {
                *m += v / n;
            }
        }
        let mut scales = vec![0.0; p];
        for &i in rows {
            for ((s, v), m) in scales.iter_mut().zip(data.row(i)).zip(&means) {
                *s += (v - m) * (v - m) / n;
            }
        }
        for s in &mut scales {
            *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
        }
        let problem = Problem {
            data,
            rows,
            means: &means,
            scales: &scales,
            penalty: 1.0 / c,
        };
        let settings = Settings {
            max_iters: 500,
            tolerance_grad: 1e-7,
        };
        let min = minimise_with(&problem, vec![0.0; p + 1], &settings)?;
        Ok(Logistic {
            intercept: min.theta[0],
            coefficients: min.theta[1..].to_vec(),
            means,
            scales,
            iterations: min.iterations,
        })
    }

    /// Each feature's contribution to the log-odds of `row`, against a
    /// customer at the training means (whose log-odds are the intercept).
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .zip(&self.means)
            .zip(&self.scales)
            .zip(&self.coefficients)
            .map(|(((v, m), s), w)| w * (v - m) / s)
            .collect()
    }

    /// The probability of the positive class for one row of features.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let z = self.intercept
            + row
                .iter()
                .zip(&self.means)
                .zip(&self.scales)
                .zip(&self.coefficients)
                .map(|(((v, m), s), w)| w * (v - m) / s)
                .sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}
