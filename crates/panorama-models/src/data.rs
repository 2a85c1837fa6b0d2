//! A labelled table from any CSV, encoded for the learners: numeric columns
//! as numbers (a missing value becomes the column mean plus a "missing"
//! indicator), text columns as one indicator per level (the most frequent
//! levels; the rest share "other").

use std::collections::HashMap;
use std::path::Path;

use crate::ModelError;

/// At most this many indicator columns per text column.
pub const MAX_LEVELS: usize = 64;

/// A binary-labelled design matrix, row-major.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Feature names (a text column's indicators are `column=level`).
    pub names: Vec<String>,
    /// Row-major values, `rows × names.len()`.
    pub x: Vec<f64>,
    /// The labels: true for the positive class.
    pub y: Vec<bool>,
    /// The value of the target taken as positive.
    pub positive: String,
    /// The file's columns and the features each became (CHAID splits on
    /// columns, not on indicators).
    pub columns: Vec<Column>,
}

/// A column of the file as the learners see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// A number (or a 0/1 missing-value indicator): one feature.
    Numeric {
        /// Feature index.
        feature: usize,
    },
    /// Text: one indicator per kept level; rows with none of them hold the
    /// baseline (the most frequent level) or a rare level.
    Text {
        /// The column's name.
        name: String,
        /// The most frequent level.
        baseline: String,
        /// Whether levels beyond the kept ones share the baseline's code.
        rare: bool,
        /// (level, feature index) of each kept level.
        levels: Vec<(String, usize)>,
    },
}

impl Dataset {
    /// A dataset of numeric features only (tests, generated data).
    pub fn numeric(names: Vec<String>, x: Vec<f64>, y: Vec<bool>) -> Dataset {
        let columns = (0..names.len())
            .map(|feature| Column::Numeric { feature })
            .collect();
        Dataset {
            names,
            x,
            y,
            positive: "1".into(),
            columns,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// Number of features.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f64] {
        let p = self.width();
        &self.x[i * p..(i + 1) * p]
    }
}

/// How to read the file.
#[derive(Debug, Clone)]
pub struct CsvSpec<'a> {
    /// Field separator.
    pub separator: u8,
    /// The target column.
    pub target: &'a str,
    /// The target's positive value; by default `1`, `yes`, `true` or `y`
    /// when the target has one of them.
    pub positive: Option<&'a str>,
    /// Columns left out (ids, leaks).
    pub drop: &'a [String],
}

fn is_missing(s: &str) -> bool {
    matches!(s, "" | "NA" | "N/A" | "NaN" | "nan" | "null" | "NULL" | "?")
}

/// Reads and encodes `path`. Every row must have the header's number of
/// fields and a target; errors name the line.
pub fn read_csv(path: &Path, spec: &CsvSpec<'_>) -> Result<Dataset, ModelError> {
    let file = |e: &dyn std::fmt::Display| ModelError::Input(format!("{}: {e}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.separator)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| file(&e))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| file(&e))?
        .iter()
        .map(str::to_owned)
        .collect();
    let target = headers
        .iter()
        .position(|h| h == spec.target)
        .ok_or_else(|| {
            file(&format!(
                "no target column {:?} (columns: {})",
                spec.target,
                headers.join(", ")
            ))
        })?;
    for d in spec.drop {
        if !headers.contains(d) {
            return Err(file(&format!("no column {d:?} to drop")));
        }
    }
    let features: Vec<usize> = (0..headers.len())
        .filter(|&c| c != target && !spec.drop.contains(&headers[c]))
        .collect();
    let mut labels = Vec::new();
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); features.len()];
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| file(&format!("line {line}: {e}")))?;
        let label = record.get(target).unwrap_or("");
        if is_missing(label) {
            return Err(file(&format!("line {line}: no value of the target")));
        }
        labels.push(label.to_owned());
        for (k, &c) in features.iter().enumerate() {
            columns[k].push(record.get(c).unwrap_or("").to_owned());
        }
    }
    if labels.is_empty() {
        return Err(file(&"no rows"));
    }
    let positive = match spec.positive {
        Some(p) => p.to_owned(),
        None => ["1", "yes", "true", "y", "Yes", "True", "Y", "YES", "TRUE"]
            .into_iter()
            .find(|p| labels.iter().any(|l| l == p))
            .map(str::to_owned)
            .ok_or_else(|| {
                file(&format!(
                    "the target's positive value is not 1/yes/true: name it with --positive (values seen: {})",
                    distinct(&labels, 10).join(", ")
                ))
            })?,
    };
    let y: Vec<bool> = labels.iter().map(|l| *l == positive).collect();
    if y.iter().all(|v| *v) || y.iter().all(|v| !*v) {
        return Err(file(&format!(
            "the target has one class only (positive value {positive:?})"
        )));
    }
    let mut names = Vec::new();
    let mut encoded: Vec<Vec<f64>> = Vec::new();
    let mut described = Vec::new();
    for (k, &c) in features.iter().enumerate() {
        encode(
            &headers[c],
            &columns[k],
            &mut names,
            &mut encoded,
            &mut described,
        );
    }
    let n = y.len();
    let p = names.len();
    let mut x = vec![0.0; n * p];
    for (j, col) in encoded.iter().enumerate() {
        for (i, v) in col.iter().enumerate() {
            x[i * p + j] = *v;
        }
    }
    Ok(Dataset {
        names,
        x,
        y,
        positive,
        columns: described,
    })
}

fn distinct(values: &[String], most: usize) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        if !seen.contains(v) {
            seen.push(v.clone());
            if seen.len() == most {
                break;
            }
        }
    }
    seen
}

/// Encodes one column: numeric when every present value is a number.
fn encode(
    name: &str,
    values: &[String],
    names: &mut Vec<String>,
    out: &mut Vec<Vec<f64>>,
    columns: &mut Vec<Column>,
) {
    let parsed: Vec<Option<f64>> = values
        .iter()
        .map(|v| {
            if is_missing(v) {
                None
            } else {
                v.parse::<f64>().ok().filter(|f| f.is_finite())
            }
        })
        .collect();
    let numeric = values
        .iter()
        .zip(&parsed)
        .all(|(v, p)| p.is_some() || is_missing(v));
    let present = parsed.iter().filter(|p| p.is_some()).count();
    if numeric && present > 0 {
        let mean = parsed.iter().flatten().sum::<f64>() / present as f64;
        columns.push(Column::Numeric {
            feature: names.len(),
        });
        names.push(name.to_owned());
        out.push(parsed.iter().map(|p| p.unwrap_or(mean)).collect());
        if present < values.len() {
            columns.push(Column::Numeric {
                feature: names.len(),
            });
            names.push(format!("{name}=missing"));
            out.push(
                parsed
                    .iter()
                    .map(|p| if p.is_none() { 1.0 } else { 0.0 })
                    .collect(),
            );
        }
        return;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let mut levels: Vec<(&str, usize)> = counts.into_iter().collect();
    levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    // One level is the baseline (all indicators 0), as a full set of
    // indicators would be collinear with the intercept.
    let kept: Vec<&str> = levels
        .iter()
        .skip(1)
        .take(MAX_LEVELS)
        .map(|l| l.0)
        .collect();
    let mut described = Vec::with_capacity(kept.len());
    for level in &kept {
        described.push(((*level).to_owned(), names.len()));
        names.push(format!("{name}={level}"));
        out.push(
            values
                .iter()
                .map(|v| if v == level { 1.0 } else { 0.0 })
                .collect(),
        );
    }
    columns.push(Column::Text {
        name: name.to_owned(),
        baseline: levels.first().map(|l| l.0.to_owned()).unwrap_or_default(),
        rare: levels.len() > kept.len() + 1,
        levels: described,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(f.path(), text).unwrap_or_else(|e| panic!("{e}"));
        f
    }

    #[test]
    fn numbers_text_and_missing_values_are_encoded() {
        let f = write("age;job;bal;y\n30;admin;10;no\n40;tech;;yes\n50;admin;30;no\n");
        let spec = CsvSpec {
            separator: b';',
            target: "y",
            positive: None,
            drop: &[],
        };
        let d = read_csv(f.path(), &spec).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.positive, "yes");
        assert_eq!(d.y, [false, true, false]);
        assert_eq!(d.names, ["age", "job=tech", "bal", "bal=missing"]);
        assert_eq!(d.row(1), [40.0, 1.0, 20.0, 1.0]);
    }

    #[test]
    fn bad_files_say_why() {
        let spec = CsvSpec {
            separator: b',',
            target: "y",
            positive: None,
            drop: &[],
        };
        let cases = [
            ("a,b\n1,2\n", "no target column"),
            ("a,y\n1,\n", "line 2: no value of the target"),
            ("a,y\n1,no\n2,no\n", "not 1/yes/true"),
            ("a,y\n1,1\n2,1\n", "one class only"),
            ("a,y\n1,1,3\n", "line 2"),
        ];
        for (text, want) in cases {
            let f = write(text);
            let err = read_csv(f.path(), &spec).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
