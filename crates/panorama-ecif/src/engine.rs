//! The probabilistic matching engine on columnar, pre-standardised values:
//! block → compare → learn (u from random pairs, m and the prior by EM on the
//! counts of distinct comparison patterns) → score (with term-frequency
//! adjustment) → cluster (union-find).

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::compare::{NULL, Std, compare, level_names};
use crate::schema::{FieldKind, Schema, Transform, parse_transform};
use crate::standardise;

/// Records ready for matching: per field, per record, the standardised value.
#[derive(Debug, Default)]
pub struct Dataset {
    /// Record ids as given.
    pub ids: Vec<String>,
    /// Which input each record came from (for link-only runs).
    pub source: Vec<u16>,
    /// `fields[f][r]`: field f of record r.
    pub fields: Vec<Vec<Option<Std>>>,
}

impl Dataset {
    /// An empty dataset for `n_fields` fields.
    pub fn new(n_fields: usize) -> Self {
        Dataset {
            ids: Vec::new(),
            source: Vec::new(),
            fields: vec![Vec::new(); n_fields],
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds a record from raw values (one per schema field, in order).
    pub fn push(&mut self, schema: &Schema, id: String, source: u16, raw: &[Option<&str>]) {
        self.ids.push(id);
        self.source.push(source);
        for (f, def) in schema.fields.iter().enumerate() {
            let std = raw
                .get(f)
                .copied()
                .flatten()
                .and_then(|v| standardise_value(def.kind, v));
            self.fields[f].push(std);
        }
    }
}

/// Standardises one raw value of a kind.
pub fn standardise_value(kind: FieldKind, raw: &str) -> Option<Std> {
    let mut valid = false;
    let value = match kind {
        FieldKind::Name => standardise::name(raw)?,
        FieldKind::OrgName => standardise::organisation_name(raw)?,
        FieldKind::Text | FieldKind::Exact | FieldKind::Code => standardise::text(raw)?,
        FieldKind::Address => standardise::address(raw)?,
        FieldKind::ResidentId => match standardise::resident_id(raw) {
            Some(id) => {
                valid = true;
                id
            }
            None => standardise::id_digits(raw)?,
        },
        FieldKind::CreditCode => match panorama_domain::CreditCode::parse(raw) {
            Ok(code) => {
                valid = code.checksum_ok();
                code.to_string()
            }
            Err(_) => standardise::text(raw)?,
        },
        FieldKind::Mobile => standardise::mobile(raw).or_else(|| standardise::id_digits(raw))?,
        FieldKind::Date => standardise::date(raw)?,
    };
    let pinyin = (matches!(kind, FieldKind::Name | FieldKind::OrgName)
        && value.chars().any(standardise::is_han))
    .then(|| standardise::pinyin_key(&value));
    Some(Std {
        value,
        pinyin,
        valid,
    })
}

/// Learned parameters of one field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldWeights {
    /// Column.
    pub column: String,
    /// Level names, strongest first.
    pub levels: Vec<&'static str>,
    /// P(level | match).
    pub m: Vec<f64>,
    /// P(level | non-match).
    pub u: Vec<f64>,
    /// log2(m/u) per level: the match weight each level adds.
    pub weight: Vec<f64>,
}

/// What a run did and learned.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Records compared.
    pub records: usize,
    /// Candidate pairs per blocking rule (before de-duplication).
    pub pairs_per_rule: Vec<(String, usize)>,
    /// Blocks skipped for being larger than `max_block`.
    pub blocks_skipped: usize,
    /// Distinct candidate pairs compared.
    pub comparisons: usize,
    /// Distinct comparison patterns EM ran on.
    pub patterns: usize,
    /// EM iterations.
    pub em_iterations: usize,
    /// Learned share of matches among candidate pairs.
    pub prior: f64,
    /// Learned weights per field and level.
    pub fields: Vec<FieldWeights>,
    /// Pairs at or above the threshold.
    pub linked_pairs: usize,
    /// Clusters (including singletons).
    pub clusters: usize,
    /// Seconds per stage.
    pub seconds: Vec<(String, f64)>,
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    /// Scored candidate pairs (record indexes, probability), sorted.
    pub pairs: Vec<(u32, u32, f64)>,
    /// Cluster of each record: the index of its cluster's first record.
    pub cluster: Vec<u32>,
    /// The report.
    pub report: Report,
    /// Comparison levels of each pair, `fields` bytes a pair, in `pairs` order.
    pub patterns: Vec<u8>,
    /// Fields per pattern.
    pub fields: usize,
}

fn block_key(ds: &Dataset, field_of: &[(usize, Transform)], r: usize) -> Option<String> {
    let mut key = String::new();
    for (i, (f, t)) in field_of.iter().enumerate() {
        let std = ds.fields[*f][r].as_ref()?;
        let v = &std.value;
        let part: &str = match t {
            Transform::Whole => v,
            Transform::Pinyin => std.pinyin.as_deref().unwrap_or(v),
            Transform::Year => v.get(..4)?,
            Transform::First(n) => v
                .char_indices()
                .nth(*n)
                .map_or(v.as_str(), |(b, _)| &v[..b]),
            Transform::Last(n) => {
                let count = v.chars().count();
                v.char_indices()
                    .nth(count.saturating_sub(*n))
                    .map_or(v.as_str(), |(b, _)| &v[b..])
            }
        };
        if i > 0 {
            key.push('\u{1f}');
        }
        key.push_str(part);
    }
    Some(key)
}

/// Candidate pairs `(i << 32) | j` with i < j, de-duplicated across rules.
fn candidate_pairs(
    schema: &Schema,
    ds: &Dataset,
    link_only: bool,
    focus: Option<&[bool]>,
    report: &mut Report,
) -> Vec<u64> {
    let mut all: Vec<u64> = Vec::new();
    for rule in &schema.blocking {
        let field_of: Vec<(usize, Transform)> = rule
            .keys
            .iter()
            .filter_map(|k| {
                let (col, t) = k.split_once(':').unwrap_or((k, ""));
                let f = schema.fields.iter().position(|d| d.column == col)?;
                Some((f, parse_transform(t)?))
            })
            .collect();
        let keys: Vec<Option<String>> = (0..ds.len())
            .into_par_iter()
            .map(|r| block_key(ds, &field_of, r))
            .collect();
        let mut groups: HashMap<&str, Vec<u32>> = HashMap::new();
        for (r, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                groups.entry(k.as_str()).or_default().push(r as u32);
            }
        }
        let before = all.len();
        for members in groups.values() {
            if members.len() < 2 {
                continue;
            }
            if members.len() > schema.max_block {
                report.blocks_skipped += 1;
                continue;
            }
            for (a, &i) in members.iter().enumerate() {
                for &j in &members[a + 1..] {
                    if link_only && ds.source[i as usize] == ds.source[j as usize] {
                        continue;
                    }
                    if let Some(focus) = focus {
                        if !focus[i as usize] && !focus[j as usize] {
                            continue;
                        }
                    }
                    let (lo, hi) = if i < j { (i, j) } else { (j, i) };
                    all.push((u64::from(lo) << 32) | u64::from(hi));
                }
            }
        }
        report
            .pairs_per_rule
            .push((rule.keys.join(" & "), all.len() - before));
    }
    all.par_sort_unstable();
    all.dedup();
    all
}

fn patterns_of(schema: &Schema, ds: &Dataset, pairs: &[u64]) -> Vec<u8> {
    let nf = schema.fields.len();
    let mut out = vec![0u8; pairs.len() * nf];
    out.par_chunks_mut(nf)
        .zip(pairs.par_iter())
        .for_each(|(pattern, &p)| {
            let (i, j) = ((p >> 32) as usize, (p & 0xffff_ffff) as usize);
            for (f, def) in schema.fields.iter().enumerate() {
                pattern[f] = compare(def.kind, ds.fields[f][i].as_ref(), ds.fields[f][j].as_ref());
            }
        });
    out
}

/// u probabilities from random pairs (almost all non-matches), smoothed, and
/// the random pairs' comparison patterns (EM uses them as its non-match anchor).
fn estimate_u(schema: &Schema, ds: &Dataset, seed: u64) -> (Vec<Vec<f64>>, Vec<u8>) {
    let n = ds.len() as u64;
    let samples = 300_000u64.min(n * n.saturating_sub(1) / 2);
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // splitmix64: deterministic for the seed.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut counts: Vec<Vec<f64>> = schema
        .fields
        .iter()
        .map(|d| vec![1.0; level_names(d.kind).len()])
        .collect();
    let mut drawn = 0;
    let mut sampled = Vec::with_capacity(samples as usize * schema.fields.len());
    while drawn < samples && n >= 2 {
        let i = (next() % n) as usize;
        let j = (next() % n) as usize;
        if i == j {
            continue;
        }
        drawn += 1;
        for (f, def) in schema.fields.iter().enumerate() {
            let l = compare(def.kind, ds.fields[f][i].as_ref(), ds.fields[f][j].as_ref());
            sampled.push(l);
            if l != NULL {
                counts[f][l as usize] += 1.0;
            }
        }
    }
    (counts.into_iter().map(|c| normalise(&c)).collect(), sampled)
}

/// P(match | pattern) under the model.
fn posterior(pattern: &[u8], m: &[Vec<f64>], u: &[Vec<f64>], prior: f64) -> f64 {
    let (mut lm, mut lu) = (prior.ln(), (1.0 - prior).ln());
    for (f, &l) in pattern.iter().enumerate() {
        if l != NULL {
            lm += m[f][l as usize].ln();
            lu += u[f][l as usize].ln();
        }
    }
    1.0 / (1.0 + (lu - lm).exp())
}

/// The share of matches among the candidate patterns under the learned model
/// (the prior for scoring candidate pairs).
fn candidate_prior(
    patterns: &HashMap<&[u8], u64>,
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    prior: f64,
) -> f64 {
    let (mut matched, mut total) = (0.0, 0.0);
    for (pattern, &count) in patterns {
        matched += count as f64 * posterior(pattern, m, u, prior);
        total += count as f64;
    }
    (matched / total.max(1.0)).clamp(1e-6, 1.0 - 1e-6)
}

fn normalise(v: &[f64]) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter().map(|x| (x / s).max(1e-9)).collect()
}

/// EM for m and the prior, with u fixed, on the counts of distinct patterns.
fn em(
    schema: &Schema,
    patterns: &HashMap<&[u8], u64>,
    u: &[Vec<f64>],
) -> (Vec<Vec<f64>>, f64, usize) {
    let mut m: Vec<Vec<f64>> = schema
        .fields
        .iter()
        .map(|d| {
            let k = level_names(d.kind).len();
            // Start: matches mostly agree exactly; the rest spread over the other levels.
            let mut v = vec![0.1 / (k - 1) as f64; k];
            v[0] = 0.9;
            v
        })
        .collect();
    let mut prior: f64 = 0.1;
    let mut iterations = 0;
    for it in 0..100 {
        iterations = it + 1;
        let mut m_acc: Vec<Vec<f64>> = m.iter().map(|v| vec![1e-6; v.len()]).collect();
        let (mut matched, mut total) = (0.0, 0.0);
        for (pattern, &count) in patterns {
            let p = posterior(pattern, &m, u, prior);
            let c = count as f64;
            matched += c * p;
            total += c;
            for (f, &l) in pattern.iter().enumerate() {
                if l != NULL {
                    m_acc[f][l as usize] += c * p;
                }
            }
        }
        let new_prior = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        let new_m: Vec<Vec<f64>> = m_acc.iter().map(|v| normalise(v)).collect();
        let delta = (new_prior - prior).abs()
            + new_m
                .iter()
                .zip(&m)
                .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
                .fold(0.0, f64::max);
        m = new_m;
        prior = new_prior;
        if delta < 1e-7 {
            break;
        }
    }
    (m, prior, iterations)
}

/// Union-find with path halving.
struct Dsu(Vec<u32>);

impl Dsu {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let parent = self.0[x as usize];
            self.0[x as usize] = self.0[parent as usize];
            x = parent;
        }
        x
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi as usize] = lo;
        }
    }
}

/// Runs the engine on every candidate pair.
pub fn run(schema: &Schema, ds: &Dataset, link_only: bool) -> Outcome {
    run_focused(schema, ds, link_only, None)
}

/// Runs the engine; with `focus`, only pairs where at least one side is in
/// focus are compared (incremental resolution of new or changed records).
pub fn run_focused(
    schema: &Schema,
    ds: &Dataset,
    link_only: bool,
    focus: Option<&[bool]>,
) -> Outcome {
    let mut report = Report {
        records: ds.len(),
        pairs_per_rule: Vec::new(),
        blocks_skipped: 0,
        comparisons: 0,
        patterns: 0,
        em_iterations: 0,
        prior: 0.0,
        fields: Vec::new(),
        linked_pairs: 0,
        clusters: 0,
        seconds: Vec::new(),
    };
    let mut clock = Instant::now();
    let mut lap = |name: &str, report: &mut Report| {
        report
            .seconds
            .push((name.to_owned(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let pairs = candidate_pairs(schema, ds, link_only, focus, &mut report);
    report.comparisons = pairs.len();
    lap("block", &mut report);
    let nf = schema.fields.len();
    let patterns = patterns_of(schema, ds, &pairs);
    lap("compare", &mut report);
    let (u, sampled) = estimate_u(schema, ds, 42);
    let mut counts: HashMap<&[u8], u64> = HashMap::new();
    for p in patterns.chunks(nf.max(1)) {
        *counts.entry(p).or_default() += 1;
    }
    report.patterns = counts.len();
    // EM on the candidates plus the random pairs: without the latter, tight
    // blocking leaves EM almost no non-matches and its prior collapses to 1.
    let mut mixture = counts.clone();
    for p in sampled.chunks(nf.max(1)) {
        *mixture.entry(p).or_default() += 1;
    }
    let (m, mixture_prior, iterations) = em(schema, &mixture, &u);
    let prior = candidate_prior(&counts, &m, &u, mixture_prior);
    report.em_iterations = iterations;
    report.prior = prior;
    lap("learn", &mut report);
    // Term-frequency tables for the fields that ask for them.
    let tf: Vec<Option<HashMap<&str, f64>>> = schema
        .fields
        .iter()
        .enumerate()
        .map(|(f, def)| {
            def.tf.then(|| {
                let mut freq: HashMap<&str, f64> = HashMap::new();
                let mut n = 0.0;
                for v in ds.fields[f].iter().flatten() {
                    *freq.entry(v.value.as_str()).or_default() += 1.0;
                    n += 1.0;
                }
                freq.values_mut().for_each(|c| *c /= n);
                freq
            })
        })
        .collect();
    let log_m: Vec<Vec<f64>> = m
        .iter()
        .map(|v| v.iter().map(|x| x.log2()).collect())
        .collect();
    let log_u: Vec<Vec<f64>> = u
        .iter()
        .map(|v| v.iter().map(|x| x.log2()).collect())
        .collect();
    let base = (prior / (1.0 - prior)).log2();
    let distinct: Vec<usize> = schema
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.distinct)
        .map(|(i, _)| i)
        .collect();
    let scored: Vec<(u32, u32, f64)> = pairs
        .par_iter()
        .zip(patterns.par_chunks(nf.max(1)))
        .map(|(&p, pattern)| {
            let (i, j) = ((p >> 32) as u32, (p & 0xffff_ffff) as u32);
            let mut w = base;
            for (f, &l) in pattern.iter().enumerate() {
                if l == NULL {
                    continue;
                }
                let lu = match (&tf[f], l) {
                    (Some(table), 0) => {
                        let v = ds.fields[f][i as usize]
                            .as_ref()
                            .map_or("", |s| s.value.as_str());
                        table.get(v).copied().unwrap_or(u[f][0]).max(1e-9).log2()
                    }
                    _ => log_u[f][l as usize],
                };
                w += log_m[f][l as usize] - lu;
            }
            let distinct_keys = distinct.iter().any(|&f| {
                let (a, b) = (
                    ds.fields[f][i as usize].as_ref(),
                    ds.fields[f][j as usize].as_ref(),
                );
                matches!((a, b), (Some(a), Some(b)) if a.valid && b.valid && a.value != b.value)
            });
            let p = if distinct_keys {
                0.0
            } else {
                1.0 / (1.0 + (-w).exp2())
            };
            (i, j, p)
        })
        .collect();
    lap("score", &mut report);
    let mut dsu = Dsu((0..ds.len() as u32).collect());
    for &(i, j, p) in &scored {
        if p >= schema.threshold {
            dsu.union(i, j);
            report.linked_pairs += 1;
        }
    }
    let cluster: Vec<u32> = (0..ds.len() as u32).map(|r| dsu.find(r)).collect();
    report.clusters = cluster
        .iter()
        .enumerate()
        .filter(|(r, c)| *r as u32 == **c)
        .count();
    lap("cluster", &mut report);
    report.fields = schema
        .fields
        .iter()
        .enumerate()
        .map(|(f, def)| FieldWeights {
            column: def.column.clone(),
            levels: level_names(def.kind).to_vec(),
            m: m[f].clone(),
            u: u[f].clone(),
            weight: m[f]
                .iter()
                .zip(&u[f])
                .map(|(a, b)| (a / b).log2())
                .collect(),
        })
        .collect();
    Outcome {
        pairs: scored,
        cluster,
        report,
        patterns,
        fields: nf,
    }
}

impl Outcome {
    /// The comparison levels of candidate pair (a, b) (empty if not a candidate).
    pub fn pattern(&self, a: u32, b: u32) -> Vec<u8> {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        match self
            .pairs
            .binary_search_by(|&(i, j, _)| (i, j).cmp(&(a, b)))
        {
            Ok(k) => self.patterns[k * self.fields..(k + 1) * self.fields].to_vec(),
            Err(_) => Vec::new(),
        }
    }
}

/// Pairwise precision, recall and F1 of clusters against true entity labels.
pub fn pairwise_scores(cluster: &[u32], truth: &[String]) -> (f64, f64, f64) {
    fn pairs_within<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> u64 {
        let mut sizes: HashMap<K, u64> = HashMap::new();
        for k in keys {
            *sizes.entry(k).or_default() += 1;
        }
        sizes.values().map(|s| s * (s - 1) / 2).sum()
    }
    let predicted = pairs_within(cluster.iter());
    let actual = pairs_within(truth.iter());
    let both = pairs_within(cluster.iter().zip(truth.iter()));
    let precision = if predicted == 0 {
        1.0
    } else {
        both as f64 / predicted as f64
    };
    let recall = if actual == 0 {
        1.0
    } else {
        both as f64 / actual as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (precision, recall, f1)
}
