//! A trained model ready to register and score: its encoder and its fitted
//! learner, serialisable as one JSON artefact, with per-customer reasons.

use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::chaid::{Chaid, ChaidParams};
use crate::cv::Learner;
use crate::data::Dataset;
use crate::encode::Encoder;
use crate::gbdt::{Gbdt, GbdtParams};
use crate::logistic::Logistic;

/// A fitted learner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "learner", rename_all = "snake_case")]
pub enum Fitted {
    /// Logistic regression.
    Logistic(Logistic),
    /// Gradient-boosted trees.
    Gbdt(Gbdt),
    /// A CHAID tree.
    Chaid(Chaid),
}

/// One reason behind a score: a column and how much it moved the log-odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The column (feature) name.
    pub column: String,
    /// Its contribution to the log-odds.
    pub weight: f64,
}

/// An encoder and a learner fitted on what it encodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scorecard {
    /// How columns become features.
    pub encoder: Encoder,
    /// The learner.
    pub fitted: Fitted,
    /// Each feature's column, worked out once (reasons are by column).
    #[serde(skip)]
    owner: std::sync::OnceLock<Vec<usize>>,
}

impl Scorecard {
    /// Fits `learner` on `rows` of `data` (encoded by `encoder`).
    pub fn fit(
        encoder: Encoder,
        learner: Learner,
        data: &Dataset,
        rows: &[usize],
    ) -> Result<Scorecard, ModelError> {
        let fitted = match learner {
            Learner::Logistic => Fitted::Logistic(Logistic::fit(data, rows, 1.0)?),
            Learner::Gbdt => Fitted::Gbdt(Gbdt::fit(data, rows, &GbdtParams::default())?),
            Learner::Chaid => Fitted::Chaid(Chaid::fit(data, rows, &ChaidParams::default())?),
        };
        Ok(Scorecard {
            encoder,
            fitted,
            owner: std::sync::OnceLock::new(),
        })
    }

    /// The probability of the positive class for one encoded row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        match &self.fitted {
            Fitted::Logistic(m) => m.probability(row),
            Fitted::Gbdt(m) => m.probability(row),
            Fitted::Chaid(m) => m.probability(row),
        }
    }

    /// The `k` columns that raise this row's score most (contributions of a
    /// column's features summed: a text column's levels, a number and its
    /// missing indicator), strongest first; only those that raise it.
    /// A CHAID tree explains itself by its path instead and gives none.
    pub fn reasons(&self, row: &[f64], k: usize) -> Vec<Reason> {
        self.explain(row, k).1
    }

    /// The probability and the `k` strongest reasons together, with one
    /// pass over the trees.
    pub fn explain(&self, row: &[f64], k: usize) -> (f64, Vec<Reason>) {
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let (contributions, p) = match &self.fitted {
            Fitted::Logistic(m) => (m.contributions(row), m.probability(row)),
            Fitted::Gbdt(m) => {
                let (c, bias) = m.contributions(row);
                let z = bias + c.iter().sum::<f64>();
                (c, sigmoid(z))
            }
            Fitted::Chaid(m) => return (m.probability(row), Vec::new()),
        };
        let owner = self.owner.get_or_init(|| self.encoder.column_of_feature());
        let mut by_column = vec![0.0; self.encoder.columns.len()];
        for (f, c) in contributions.iter().enumerate() {
            if let Some(&col) = owner.get(f) {
                by_column[col] += c;
            }
        }
        let mut out: Vec<Reason> = by_column
            .into_iter()
            .enumerate()
            .filter(|(_, w)| *w > 1e-9)
            .map(|(col, weight)| Reason {
                column: self.encoder.columns[col].name().to_owned(),
                weight,
            })
            .collect();
        out.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        out.truncate(k);
        (p, out)
    }

    /// The artefact as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// An artefact read back.
    pub fn from_json(s: &str) -> Result<Scorecard, ModelError> {
        serde_json::from_str(s).map_err(|e| ModelError::Input(format!("model artefact: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Raw;

    #[test]
    fn reasons_name_the_columns_that_raise_the_score_and_survive_a_round_trip() {
        // y depends on balance (strongly) and on the tier; noise does nothing.
        let n = 4_000;
        let mut balance = Vec::new();
        let mut tier = Vec::new();
        let mut noise = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let b = ((i * 7919) % 1000) as f64 / 100.0;
            let t = if i % 3 == 0 { "gold" } else { "core" };
            balance.push(Some(b));
            tier.push(Some(t.to_owned()));
            noise.push(Some(((i * 104_729) % 997) as f64));
            let z = (b - 5.0) + if t == "gold" { 1.5 } else { 0.0 };
            y.push(z + ((i * 31) % 7) as f64 / 3.5 - 1.0 > 0.0);
        }
        let columns = vec![
            ("balance".to_owned(), Raw::Number(balance)),
            ("tier".to_owned(), Raw::Text(tier)),
            ("noise".to_owned(), Raw::Number(noise)),
        ];
        let encoder = Encoder::fit(&columns, 64);
        let data = encoder.encode(&columns, y).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        for learner in [Learner::Logistic, Learner::Gbdt, Learner::Chaid] {
            let card = Scorecard::fit(encoder.clone(), learner, &data, &rows).unwrap();
            let back = Scorecard::from_json(&card.to_json()).unwrap();
            // A rich gold customer: high score, balance the first reason.
            let rich_gold = encoder
                .encode(
                    &[
                        ("balance".to_owned(), Raw::Number(vec![Some(9.5)])),
                        ("tier".to_owned(), Raw::Text(vec![Some("gold".into())])),
                        ("noise".to_owned(), Raw::Number(vec![Some(500.0)])),
                    ],
                    Vec::new(),
                )
                .unwrap();
            let p = card.probability(rich_gold.row(0));
            assert!(p > 0.8, "{learner:?}: {p}");
            assert!((card.explain(rich_gold.row(0), 3).0 - p).abs() < 1e-12);
            assert_eq!(back.probability(rich_gold.row(0)), p, "{learner:?}");
            let reasons = back.reasons(rich_gold.row(0), 3);
            if learner == Learner::Chaid {
                assert!(reasons.is_empty());
            } else {
                assert_eq!(reasons[0].column, "balance", "{learner:?}: {reasons:?}");
                assert!(
                    reasons.iter().any(|r| r.column == "tier"),
                    "{learner:?}: {reasons:?}"
                );
            }
        }
    }

    #[test]
    fn gbdt_contributions_add_up_to_the_log_odds() {
        let n = 2_000;
        let x: Vec<f64> = (0..n * 2)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        let y: Vec<bool> = (0..n)
            .map(|i| x[i * 2] + 0.3 * x[i * 2 + 1] > 0.6)
            .collect();
        let data = Dataset::numeric(vec!["a".into(), "b".into()], x, y);
        let rows: Vec<usize> = (0..n).collect();
        let m = Gbdt::fit(&data, &rows, &GbdtParams::default()).unwrap();
        for i in [0, 17, 999] {
            let (c, bias) = m.contributions(data.row(i));
            let z: f64 = bias + c.iter().sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            assert!((p - m.probability(data.row(i))).abs() < 1e-9);
        }
    }
}
