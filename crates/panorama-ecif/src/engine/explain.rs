//! The scoring model and its explanation: a pair's match weight is the
//! prior's weight plus, per field, the weight of its comparison level and a
//! term-frequency adjustment — the waterfall a steward reads.

use serde::Serialize;

use super::cluster::Pair;
use super::{CLEARLY_DIFFERENT_BITS, Dataset};
use crate::compare::{NULL, level_names};
use crate::schema::Schema;

/// What scoring needs, learned once per run.
#[derive(Debug, Clone)]
pub struct Model {
    /// log2(λ / (1 − λ)): where every pair starts.
    pub base: f64,
    /// Weight per field and level (monotone, exact never negative).
    pub weight: Vec<Vec<f64>>,
    /// For term-frequency fields: log2(u of an exact match) — a value's own
    /// frequency replaces it.
    pub log_u_exact: Vec<Option<f64>>,
    /// For term-frequency fields: each record's value frequency.
    pub frequency: Vec<Option<Vec<f32>>>,
    /// Fields whose valid, different values mean different parties.
    pub distinct: Vec<usize>,
    /// For fields with a `depends_on`: that field, and the weights used
    /// instead of `weight` when it agrees exactly.
    pub given: Vec<Option<(usize, Vec<f64>)>>,
}

/// One field's step in the waterfall.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Step {
    /// Column.
    pub field: String,
    /// Comparison level (`missing` when a side has no value).
    pub level: &'static str,
    /// The level's match weight (bits).
    pub weight: f64,
    /// Term-frequency adjustment (bits; rare values count more).
    pub tf: f64,
}

/// A pair's whole explanation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Waterfall {
    /// The prior's weight.
    pub prior: f64,
    /// Per field.
    pub steps: Vec<Step>,
    /// Prior plus every step.
    pub total: f64,
    /// 1 / (1 + 2^−total), or 0 when valid strong ids differ.
    pub probability: f64,
}

/// A model as an earlier run stored it (its report's `prior` and `fields`),
/// for scoring records between runs.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredModel {
    /// λ.
    pub prior: f64,
    /// Per field, in schema order.
    pub fields: Vec<StoredField>,
}

/// One field of a [`StoredModel`].
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredField {
    /// Column (the schema field's label).
    pub column: String,
    /// P(level | non-match).
    pub u: Vec<f64>,
    /// Scoring weight per level.
    pub weight: Vec<f64>,
    /// Weights when the `depends_on` field agrees exactly.
    #[serde(default)]
    pub weight_given: Option<Vec<f64>>,
}

impl Model {
    /// The scoring model of a stored run for `schema`, without term
    /// frequencies (set `frequency` per dataset), or
    /// why it does not fit the schema.
    pub fn from_stored(schema: &Schema, stored: &StoredModel) -> Result<Model, String> {
        let labels: Vec<&str> = schema.fields.iter().map(|f| f.label()).collect();
        let columns: Vec<&str> = stored.fields.iter().map(|f| f.column.as_str()).collect();
        if labels != columns {
            return Err(format!(
                "the stored model's fields {columns:?} are not the schema's {labels:?}"
            ));
        }
        if !(stored.prior > 0.0 && stored.prior < 1.0) {
            return Err(format!(
                "the stored prior {} is not a probability",
                stored.prior
            ));
        }
        for (def, f) in schema.fields.iter().zip(&stored.fields) {
            let levels = level_names(def.kind).len();
            if f.weight.len() != levels || f.u.len() != levels {
                return Err(format!(
                    "field {}: {} weights and {} u for {levels} levels",
                    f.column,
                    f.weight.len(),
                    f.u.len()
                ));
            }
            if f.weight.iter().chain(&f.u).any(|x| !x.is_finite()) {
                return Err(format!("field {}: a weight or u is not finite", f.column));
            }
        }
        Ok(Model {
            base: (stored.prior / (1.0 - stored.prior)).log2(),
            weight: stored.fields.iter().map(|f| f.weight.clone()).collect(),
            log_u_exact: schema
                .fields
                .iter()
                .zip(&stored.fields)
                .map(|(d, f)| d.tf.then(|| f.u[0].max(1e-300).log2()))
                .collect(),
            frequency: vec![None; schema.fields.len()],
            distinct: schema.distinct_fields(),
            given: (0..schema.fields.len())
                .map(|f| {
                    let g = schema.depends_on(f)?;
                    Some((g, stored.fields[f].weight_given.clone()?))
                })
                .collect(),
        })
    }

    /// Frequencies of each record's value for the fields with `tf = true`.
    pub fn frequencies(schema: &Schema, ds: &Dataset) -> Vec<Option<Vec<f32>>> {
        schema
            .fields
            .iter()
            .enumerate()
            .map(|(f, def)| {
                def.tf.then(|| {
                    let mut count: std::collections::HashMap<&str, u32> =
                        std::collections::HashMap::new();
                    let mut n = 0u32;
                    for v in ds.column(f).flatten() {
                        *count.entry(v.value).or_default() += 1;
                        n += 1;
                    }
                    ds.column(f)
                        .map(|v| {
                            v.map_or(0.0, |v| {
                                count.get(v.value).copied().unwrap_or(0) as f32 / n.max(1) as f32
                            })
                        })
                        .collect()
                })
            })
            .collect()
    }

    /// The weight and term-frequency adjustment of field `f` in a pair's
    /// comparison `pattern`, `i` being the pair's first record.
    pub fn step(&self, pattern: &[u8], f: usize, i: usize) -> (f64, f64) {
        let l = pattern[f];
        if l == NULL {
            return (0.0, 0.0);
        }
        let w = match &self.given[f] {
            Some((g, weight)) if pattern[*g] == 0 => weight[l as usize],
            _ => self.weight[f][l as usize],
        };
        let tf = match (&self.frequency[f], self.log_u_exact[f], l) {
            (Some(freq), Some(log_u), 0) => {
                let adj = log_u - f64::from(freq[i]).max(1e-9).log2();
                // Never so common that an exact match counts against.
                adj.max(-w)
            }
            _ => 0.0,
        };
        (w, tf)
    }

    /// For each strong id both records hold valid: whether the two agree.
    fn strong_ids<'a>(
        &'a self,
        ds: &'a Dataset,
        i: usize,
        j: usize,
    ) -> impl Iterator<Item = bool> + 'a {
        self.distinct
            .iter()
            .filter_map(move |&f| match (ds.value(f, i), ds.value(f, j)) {
                (Some(a), Some(b)) if a.valid && b.valid => Some(a.value == b.value),
                _ => None,
            })
    }

    /// Whether records i and j hold valid, different strong ids.
    pub fn distinct_keys(&self, ds: &Dataset, i: usize, j: usize) -> bool {
        self.strong_ids(ds, i, j).any(|same| !same)
    }

    /// Whether records i and j hold one valid strong id (a link it makes
    /// needs no other record's agreement).
    pub fn shared_key(&self, ds: &Dataset, i: usize, j: usize) -> bool {
        self.strong_ids(ds, i, j).any(|same| same)
    }

    /// The total match weight of a pair from its comparison levels.
    pub fn total(&self, pattern: &[u8], i: usize) -> f64 {
        self.base + self.evidence(pattern, i)
    }

    /// The comparison evidence alone (no prior).
    pub fn evidence(&self, pattern: &[u8], i: usize) -> f64 {
        (0..pattern.len())
            .map(|f| {
                let (w, tf) = self.step(pattern, f, i);
                w + tf
            })
            .sum()
    }

    /// Compares two records and returns their evidence (for pairs that were not candidates).
    pub fn evidence_of(&self, schema: &Schema, ds: &Dataset, i: usize, j: usize) -> f64 {
        self.evidence(&ds.pattern(schema, i, j), i)
    }

    /// How records i and j compare, for a join of their groups: clearly
    /// different (valid different strong ids, or evidence on its own
    /// [`CLEARLY_DIFFERENT_BITS`] against), else their match probability.
    pub fn pair(&self, schema: &Schema, ds: &Dataset, i: usize, j: usize) -> Pair {
        if self.distinct_keys(ds, i, j) {
            return Pair::Different;
        }
        let evidence = self.evidence_of(schema, ds, i, j);
        if evidence < CLEARLY_DIFFERENT_BITS {
            Pair::Different
        } else {
            Pair::Probability(probability(self.base + evidence))
        }
    }

    /// The waterfall of a pair.
    pub fn explain(
        &self,
        schema: &Schema,
        ds: &Dataset,
        i: usize,
        j: usize,
        pattern: &[u8],
    ) -> Waterfall {
        let steps: Vec<Step> = schema
            .fields
            .iter()
            .zip(pattern)
            .enumerate()
            .map(|(f, (def, &l))| {
                let (weight, tf) = self.step(pattern, f, i);
                Step {
                    field: def.label().to_owned(),
                    level: if l == NULL {
                        "missing"
                    } else {
                        level_names(def.kind)[l as usize]
                    },
                    weight,
                    tf,
                }
            })
            .collect();
        let total = self.base + steps.iter().map(|s| s.weight + s.tf).sum::<f64>();
        let probability = if self.distinct_keys(ds, i, j) {
            0.0
        } else {
            probability(total)
        };
        Waterfall {
            prior: self.base,
            steps,
            total,
            probability,
        }
    }
}

/// Match probability of a total weight in bits.
pub fn probability(total: f64) -> f64 {
    1.0 / (1.0 + (-total).exp2())
}
