//! A trained model ready to register and score: its encoder and its fitted
//! learner, serialisable as one JSON artefact, with per-customer reasons.

use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::chaid::{Chaid, ChaidParams};
use crate::cv::Learner;
use crate::data::Dataset;
use crate::encode::Encoder;
use crate::gbdt::{EarlyStopping, Gbdt, GbdtParams};
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

/// Trees the boosting grows past its best validation loss before it stops.
pub const GBDT_PATIENCE: usize = 10;

/// Fewest validation rows of the rarer outcome the boosting stops on;
/// with fewer it grows every tree.
pub const MIN_STOPPING_EVENTS: usize = 100;

/// L2 strengths (inverse) the logistic regression is tried with.
pub const LOGISTIC_C: [f64; 3] = [0.1, 1.0, 10.0];

/// What the validation rows chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// In words: the trees kept, or the L2 strength taken.
    pub chosen: String,
    /// The validation log loss of the model kept.
    pub validation_loss: f64,
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
        Ok(Scorecard::of(encoder, fitted))
    }

    fn of(encoder: Encoder, fitted: Fitted) -> Scorecard {
        Scorecard {
            encoder,
            fitted,
            owner: std::sync::OnceLock::new(),
        }
    }

    /// Fits `learner` on `rows` of `data` and tunes it on the validation
    /// rows `valid` (encoded by the same encoder, never trained on): the
    /// boosted trees stop growing when the validation log loss has not
    /// improved for 10 trees and keep those up to the best (when the
    /// validation rows hold at least [`MIN_STOPPING_EVENTS`] of each
    /// outcome; with fewer, every tree is grown); the logistic
    /// regression takes the L2 strength of [`LOGISTIC_C`] with the lowest
    /// validation log loss; a CHAID tree is fitted as it is (its stopping
    /// is by its own significance tests).
    pub fn fit_validated(
        encoder: Encoder,
        learner: Learner,
        data: &Dataset,
        rows: &[usize],
        valid: &Dataset,
    ) -> Result<(Scorecard, Tuning), ModelError> {
        if valid.rows() == 0 || valid.width() != data.width() {
            return Err(ModelError::Input(format!(
                "validation: {} rows of {} features for a model of {}",
                valid.rows(),
                valid.width(),
                data.width()
            )));
        }
        let valid_rows: Vec<usize> = (0..valid.rows()).collect();
        let loss = |p: &dyn Fn(&[f64]) -> f64| {
            let z: Vec<f64> = valid_rows
                .iter()
                .map(|&i| {
                    let q = p(valid.row(i)).clamp(1e-15, 1.0 - 1e-15);
                    (q / (1.0 - q)).ln()
                })
                .collect();
            crate::gbdt::log_loss(&z, valid.y.iter().copied())
        };
        let (fitted, tuning) = match learner {
            Learner::Gbdt => {
                let params = GbdtParams::default();
                let positives = valid.y.iter().filter(|y| **y).count();
                let events = positives.min(valid.rows() - positives);
                if events < MIN_STOPPING_EVENTS {
                    // A log loss over a few dozen events moves with each
                    // of them: stopping on it would be chance.
                    let m = Gbdt::fit(data, rows, &params)?;
                    let l = loss(&|row| m.probability(row));
                    let chosen = format!(
                        "{n} trees of {n} grown (no early stopping: the validation rows hold {events} of the rarer outcome, fewer than the {MIN_STOPPING_EVENTS} a stopping decision needs)",
                        n = m.trees.len()
                    );
                    (
                        Fitted::Gbdt(m),
                        Tuning {
                            chosen,
                            validation_loss: l,
                        },
                    )
                } else {
                    let (m, stopped) = Gbdt::fit_stopping(
                        data,
                        rows,
                        &params,
                        Some(EarlyStopping {
                            data: valid,
                            rows: &valid_rows,
                            patience: GBDT_PATIENCE,
                        }),
                    )?;
                    let stopped = stopped.ok_or_else(|| {
                        ModelError::Input("early stopping saw no validation rows".into())
                    })?;
                    let chosen = format!(
                        "{} trees of {} grown (at most {}; stopped after {} without improvement)",
                        stopped.kept, stopped.grown, params.trees, GBDT_PATIENCE
                    );
                    (
                        Fitted::Gbdt(m),
                        Tuning {
                            chosen,
                            validation_loss: stopped.loss,
                        },
                    )
                }
            }
            Learner::Logistic => {
                let fits: Vec<(f64, Logistic)> = LOGISTIC_C
                    .iter()
                    .map(|&c| Logistic::fit(data, rows, c).map(|m| (c, m)))
                    .collect::<Result<_, _>>()?;
                let scored: Vec<(f64, f64, Logistic)> = fits
                    .into_iter()
                    .map(|(c, m)| (c, loss(&|row| m.probability(row)), m))
                    .collect();
                let tried = scored
                    .iter()
                    .map(|(c, l, _)| format!("C={c}: {l:.5}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let (c, l, m) = scored
                    .into_iter()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .ok_or_else(|| ModelError::Input("no regularisation strength".into()))?;
                (
                    Fitted::Logistic(m),
                    Tuning {
                        chosen: format!("C={c} (validation log loss {tried})"),
                        validation_loss: l,
                    },
                )
            }
            Learner::Chaid => {
                let m = Chaid::fit(data, rows, &ChaidParams::default())?;
                let l = loss(&|row| m.probability(row));
                (
                    Fitted::Chaid(m),
                    Tuning {
                        chosen: "the tree as its significance tests grew it".into(),
                        validation_loss: l,
                    },
                )
            }
        };
        Ok((Scorecard::of(encoder, fitted), tuning))
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
    fn validation_rows_tune_each_learner() {
        let n = 6_000;
        let x: Vec<f64> = (0..n * 2)
            .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
            .collect();
        // A noisy label: a deterministic draw at a rate rising with a.
        let y: Vec<bool> = (0..n)
            .map(|i| {
                let u = ((i as u64).wrapping_mul(2_654_435_761) % 10_000) as f64 / 10_000.0;
                u < 0.1 + 0.5 * x[i * 2]
            })
            .collect();
        let names = vec!["a".to_owned(), "b".to_owned()];
        let train = Dataset::numeric(names.clone(), x[..8_000].to_vec(), y[..4_000].to_vec());
        let valid = Dataset::numeric(names, x[8_000..].to_vec(), y[4_000..].to_vec());
        let encoder = Encoder::fit(
            &[
                ("a".to_owned(), Raw::Number(vec![Some(0.0)])),
                ("b".to_owned(), Raw::Number(vec![Some(0.0)])),
            ],
            8,
        );
        let rows: Vec<usize> = (0..4_000).collect();
        let (gbdt, tuning) =
            Scorecard::fit_validated(encoder.clone(), Learner::Gbdt, &train, &rows, &valid)
                .unwrap_or_else(|e| panic!("{e}"));
        let Fitted::Gbdt(m) = &gbdt.fitted else {
            panic!("a gbdt was asked for")
        };
        // Noise past the rising rate: the boosting stops short of 100 trees.
        assert!(m.trees.len() < 100, "{}", tuning.chosen);
        assert!(
            tuning
                .chosen
                .starts_with(&format!("{} trees", m.trees.len()))
        );
        let (logistic, tuning) =
            Scorecard::fit_validated(encoder.clone(), Learner::Logistic, &train, &rows, &valid)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(logistic.fitted, Fitted::Logistic(_)));
        assert!(tuning.chosen.starts_with("C="), "{}", tuning.chosen);
        assert!(tuning.validation_loss > 0.0 && tuning.validation_loss < std::f64::consts::LN_2);
        let (_, tuning) =
            Scorecard::fit_validated(encoder.clone(), Learner::Chaid, &train, &rows, &valid)
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(tuning.validation_loss > 0.0);
        // Too few positive validation rows to stop on: every tree is grown.
        let few: Vec<bool> = (0..2_000).map(|i| i % 50 == 0).collect();
        let sparse = Dataset::numeric(valid.names.clone(), x[8_000..].to_vec(), few);
        let (card, tuning) =
            Scorecard::fit_validated(encoder.clone(), Learner::Gbdt, &train, &rows, &sparse)
                .unwrap_or_else(|e| panic!("{e}"));
        let Fitted::Gbdt(m) = &card.fitted else {
            panic!("a gbdt was asked for")
        };
        assert_eq!(m.trees.len(), 100);
        assert!(
            tuning.chosen.contains("no early stopping") && tuning.chosen.contains("hold 40 "),
            "{}",
            tuning.chosen
        );
        // Validation rows of another shape are refused.
        let narrow = Dataset::numeric(vec!["a".into()], vec![0.5], vec![true]);
        assert!(Scorecard::fit_validated(encoder, Learner::Gbdt, &train, &rows, &narrow).is_err());
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
