//! Named columns (numbers and text) encoded into a learner's design
//! matrix: fitted once on the training rows, then applied unchanged to the
//! rows being scored, so a registered model scores new data exactly as it
//! saw its training data.
//!
//! Numbers keep their value; a column with missing values gets its
//! training mean in their place plus a `name missing` indicator. Text gets
//! one indicator per kept level (the most frequent is the baseline, without
//! one; levels beyond `max_levels` share the baseline's code).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::data::{Column, Dataset};

/// One column's values.
#[derive(Debug, Clone)]
pub enum Raw {
    /// Numbers (missing as `None`).
    Number(Vec<Option<f64>>),
    /// Codes or names (missing as `None`).
    Text(Vec<Option<String>>),
}

impl Raw {
    fn len(&self) -> usize {
        match self {
            Raw::Number(v) => v.len(),
            Raw::Text(v) => v.len(),
        }
    }
}

/// How one column is encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Encoding {
    /// A number.
    Number {
        /// Column name.
        name: String,
        /// The training mean, put in place of a missing value.
        mean: f64,
        /// Whether a missing-value indicator follows the value.
        missing: bool,
    },
    /// Text.
    Text {
        /// Column name.
        name: String,
        /// The most frequent level (no indicator of its own).
        baseline: String,
        /// The levels with an indicator, in feature order.
        levels: Vec<String>,
        /// Whether the training data held more levels than were kept.
        rare: bool,
    },
}

impl Encoding {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            Encoding::Number { name, .. } | Encoding::Text { name, .. } => name,
        }
    }

    fn width(&self) -> usize {
        match self {
            Encoding::Number { missing, .. } => 1 + usize::from(*missing),
            Encoding::Text { levels, .. } => levels.len(),
        }
    }
}

/// A fitted encoding of named columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    /// The columns, in feature order.
    pub columns: Vec<Encoding>,
}

impl Encoder {
    /// Learns the encoding from training columns.
    pub fn fit(columns: &[(String, Raw)], max_levels: usize) -> Encoder {
        let columns = columns
            .iter()
            .map(|(name, raw)| match raw {
                Raw::Number(v) => {
                    let present: Vec<f64> = v.iter().flatten().copied().collect();
                    let mean = if present.is_empty() {
                        0.0
                    } else {
                        present.iter().sum::<f64>() / present.len() as f64
                    };
                    Encoding::Number {
                        name: name.clone(),
                        mean,
                        missing: present.len() < v.len(),
                    }
                }
                Raw::Text(v) => {
                    let mut counts: HashMap<&str, usize> = HashMap::new();
                    for s in v.iter().flatten() {
                        *counts.entry(s.as_str()).or_default() += 1;
                    }
                    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
                    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                    let baseline = by_count.first().map_or("", |l| l.0).to_owned();
                    let levels: Vec<String> = by_count
                        .iter()
                        .skip(1)
                        .take(max_levels)
                        .map(|l| l.0.to_owned())
                        .collect();
                    Encoding::Text {
                        name: name.clone(),
                        rare: by_count.len() > levels.len() + 1,
                        baseline,
                        levels,
                    }
                }
            })
            .collect();
        Encoder { columns }
    }

    /// Feature names: `name`, `name missing`, `name=level`.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.columns {
            match c {
                Encoding::Number { name, missing, .. } => {
                    out.push(name.clone());
                    if *missing {
                        out.push(format!("{name} missing"));
                    }
                }
                Encoding::Text { name, levels, .. } => {
                    out.extend(levels.iter().map(|l| format!("{name}={l}")));
                }
            }
        }
        out
    }

    /// For each feature, the index of the column it encodes.
    pub fn column_of_feature(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .flat_map(|(k, c)| std::iter::repeat_n(k, c.width()))
            .collect()
    }

    /// Encodes columns (found by name; extra ones are ignored) with labels `y`
    /// (empty when scoring).
    pub fn encode(&self, columns: &[(String, Raw)], y: Vec<bool>) -> Result<Dataset, ModelError> {
        self.encode_rows(columns, None, y)
    }

    /// Encodes the given rows of the columns (all when `None`), without
    /// copying the columns first; `y` holds one label per encoded row.
    pub fn encode_rows(
        &self,
        columns: &[(String, Raw)],
        rows: Option<&[usize]>,
        y: Vec<bool>,
    ) -> Result<Dataset, ModelError> {
        let by_name: HashMap<&str, &Raw> = columns.iter().map(|(n, r)| (n.as_str(), r)).collect();
        let mut length = None;
        let mut sources = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let raw = by_name.get(c.name()).ok_or_else(|| {
                ModelError::Input(format!("the model needs column '{}'", c.name()))
            })?;
            match (c, raw) {
                (Encoding::Number { .. }, Raw::Number(_))
                | (Encoding::Text { .. }, Raw::Text(_)) => {}
                _ => {
                    return Err(ModelError::Input(format!(
                        "column '{}' changed between number and text since the model was trained",
                        c.name()
                    )));
                }
            }
            if *length.get_or_insert(raw.len()) != raw.len() {
                return Err(ModelError::Input("columns of different lengths".into()));
            }
            sources.push(*raw);
        }
        let length = length.unwrap_or(0);
        if let Some(r) = rows
            && let Some(bad) = r.iter().find(|&&i| i >= length)
        {
            return Err(ModelError::Input(format!(
                "row {bad} of columns with {length} rows"
            )));
        }
        let n = rows.map_or(length, <[usize]>::len);
        let source_row = |i: usize| rows.map_or(i, |r| r[i]);
        if !y.is_empty() && y.len() != n {
            return Err(ModelError::Input(format!(
                "{} labels for {n} rows",
                y.len()
            )));
        }
        let names = self.names();
        let p = names.len();
        let mut x = vec![0.0; n * p];
        let mut structure = Vec::with_capacity(self.columns.len());
        let mut feature = 0;
        for (c, raw) in self.columns.iter().zip(sources) {
            match (c, raw) {
                (Encoding::Number { mean, missing, .. }, Raw::Number(v)) => {
                    for i in 0..n {
                        let value = v[source_row(i)];
                        x[i * p + feature] = value.unwrap_or(*mean);
                        if *missing {
                            x[i * p + feature + 1] = if value.is_none() { 1.0 } else { 0.0 };
                        }
                    }
                    structure.push(Column::Numeric { feature });
                    if *missing {
                        structure.push(Column::Numeric {
                            feature: feature + 1,
                        });
                    }
                }
                (
                    Encoding::Text {
                        name,
                        baseline,
                        levels,
                        rare,
                    },
                    Raw::Text(v),
                ) => {
                    let slot: HashMap<&str, usize> = levels
                        .iter()
                        .enumerate()
                        .map(|(k, l)| (l.as_str(), feature + k))
                        .collect();
                    for i in 0..n {
                        if let Some(f) = v[source_row(i)].as_deref().and_then(|s| slot.get(s)) {
                            x[i * p + f] = 1.0;
                        }
                    }
                    structure.push(Column::Text {
                        name: name.clone(),
                        baseline: baseline.clone(),
                        rare: *rare,
                        levels: levels
                            .iter()
                            .enumerate()
                            .map(|(k, l)| (l.clone(), feature + k))
                            .collect(),
                    });
                }
                _ => unreachable!("kinds checked above"),
            }
            feature += c.width();
        }
        let y = if y.is_empty() { vec![false; n] } else { y };
        Ok(Dataset {
            names,
            x,
            y,
            positive: "1".into(),
            columns: structure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<(String, Raw)> {
        vec![
            (
                "aum".into(),
                Raw::Number(vec![Some(10.0), None, Some(30.0)]),
            ),
            (
                "tier".into(),
                Raw::Text(vec![
                    Some("gold".into()),
                    Some("core".into()),
                    Some("gold".into()),
                ]),
            ),
        ]
    }

    #[test]
    fn fits_once_and_encodes_new_rows_the_same_way() {
        let enc = Encoder::fit(&columns(), 64);
        assert_eq!(enc.names(), ["aum", "aum missing", "tier=core"]);
        assert_eq!(enc.column_of_feature(), [0, 0, 1]);
        let d = enc.encode(&columns(), vec![true, false, true]).unwrap();
        assert_eq!(d.x, [10.0, 0.0, 0.0, 20.0, 1.0, 1.0, 30.0, 0.0, 0.0]);
        // Scoring data: an unseen tier is the baseline's code; no labels.
        let new = vec![
            ("tier".to_owned(), Raw::Text(vec![Some("platinum".into())])),
            ("aum".to_owned(), Raw::Number(vec![None])),
        ];
        let d = enc.encode(&new, Vec::new()).unwrap();
        assert_eq!(d.x, [20.0, 1.0, 0.0]);
        // Chosen rows, in the order asked for.
        let d = enc
            .encode_rows(&columns(), Some(&[2, 1]), Vec::new())
            .unwrap();
        assert_eq!(d.x, [30.0, 0.0, 0.0, 20.0, 1.0, 1.0]);
        assert!(enc.encode_rows(&columns(), Some(&[3]), Vec::new()).is_err());
        // A column the model needs is missing, or changed its kind.
        let err = enc.encode(&new[..1], Vec::new()).unwrap_err().to_string();
        assert!(err.contains("'aum'"), "{err}");
        let swapped = vec![
            ("aum".to_owned(), Raw::Text(vec![None])),
            ("tier".to_owned(), Raw::Text(vec![None])),
        ];
        assert!(enc.encode(&swapped, Vec::new()).is_err());
        let json = serde_json::to_string(&enc).unwrap();
        assert_eq!(serde_json::from_str::<Encoder>(&json).unwrap(), enc);
    }
}
