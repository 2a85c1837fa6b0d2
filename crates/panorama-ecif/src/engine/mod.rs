//! The probabilistic matching engine on columnar, pre-standardised values:
//! [`block`] (pairs counted against a budget before any is made) → compare →
//! [`learn`] (u from random pairs, m by EM in training sessions, the prior
//! from recall-adjusted counts, monotone weights) → score with term-frequency
//! adjustment ([`explain`]) → [`guard`] checks → [`cluster`] without chaining
//! strangers. A run that fails a guard returns [`EcifError::Guard`] and
//! writes nothing.

pub mod block;
pub mod cluster;
pub mod explain;
pub mod guard;
pub mod learn;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::EcifError;
use crate::compare::{Std, Value, compare, level_names};
use crate::schema::{FieldDef, FieldKind, Schema};
use crate::standardise;
use block::{Rule, Scope, blocks, sorted_keys, split};
use cluster::{Clusters, Join};
use explain::{Model, Waterfall, probability};
use guard::Check;
use learn::Session;

/// Records ready for matching: each record's standardised values packed
/// together in one buffer, so comparing a pair reads two short runs of
/// memory instead of chasing a pointer per field (at a million records the
/// values of one field alone outgrow every cache).
#[derive(Debug, Default)]
pub struct Dataset {
    /// Record ids as given.
    pub ids: Vec<String>,
    /// Which input each record came from (for link-only runs).
    pub source: Vec<u16>,
    n_fields: usize,
    /// Per record and field: a tag (0 missing; else 1, +2 valid, +4 with
    /// pinyin), the value's length and the pinyin's length in bytes.
    meta: Vec<u16>,
    /// Record r's text (each value, then its pinyin) is `text[start[r]..start[r + 1]]`.
    start: Vec<usize>,
    text: String,
}

const PRESENT: u16 = 1;
const VALID: u16 = 2;
const PINYIN: u16 = 4;

/// A value cut to what a length of u16 holds (at a character boundary).
fn capped(s: &str) -> &str {
    if s.len() <= usize::from(u16::MAX) {
        return s;
    }
    let mut end = usize::from(u16::MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Dataset {
    /// An empty dataset for `n_fields` fields.
    pub fn new(n_fields: usize) -> Self {
        Dataset {
            ids: Vec::new(),
            source: Vec::new(),
            n_fields,
            meta: Vec::new(),
            start: vec![0],
            text: String::new(),
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

    /// Number of fields per record.
    pub fn n_fields(&self) -> usize {
        self.n_fields
    }

    /// Adds a record from raw values (one per schema field, in order).
    pub fn push(&mut self, schema: &Schema, id: String, source: u16, raw: &[Option<&str>]) {
        let raw_of = |f: usize| raw.get(f).copied().flatten();
        let values: Vec<Option<Std>> = schema
            .fields
            .iter()
            .enumerate()
            .map(|(f, def)| {
                read_field(def, raw_of(f), || {
                    let or = def.or_column.as_deref()?;
                    raw_of(schema.fields.iter().position(|g| g.column == or)?)
                })
            })
            .collect();
        self.push_standardised(id, source, &values);
    }

    /// Adds a record of standardised values (one per field, in order).
    pub fn push_standardised(&mut self, id: String, source: u16, values: &[Option<Std>]) {
        debug_assert_eq!(values.len(), self.n_fields);
        self.ids.push(id);
        self.source.push(source);
        for f in 0..self.n_fields {
            let Some(v) = values.get(f).and_then(Option::as_ref) else {
                self.meta.extend_from_slice(&[0, 0, 0]);
                continue;
            };
            let value = capped(&v.value);
            let pinyin = v.pinyin.as_deref().map(capped);
            let mut tag = PRESENT;
            if v.valid {
                tag |= VALID;
            }
            if pinyin.is_some() {
                tag |= PINYIN;
            }
            self.meta.extend_from_slice(&[
                tag,
                value.len() as u16,
                pinyin.map_or(0, |p| p.len() as u16),
            ]);
            self.text.push_str(value);
            self.text.push_str(pinyin.unwrap_or_default());
        }
        self.start.push(self.text.len());
    }

    /// Every field of record `r`, in schema order, into `out` (cleared first).
    pub fn values_into<'a>(&'a self, r: usize, out: &mut Vec<Option<Value<'a>>>) {
        out.clear();
        let nf = self.n_fields;
        let mut at = self.start[r];
        for m in self.meta[r * nf * 3..(r + 1) * nf * 3].chunks_exact(3) {
            out.push(self.decode(m, &mut at));
        }
    }

    /// One field from its meta, its text starting at `at` (moved past it).
    fn decode(&self, m: &[u16], at: &mut usize) -> Option<Value<'_>> {
        if m[0] == 0 {
            return None;
        }
        let (value_len, pinyin_len) = (usize::from(m[1]), usize::from(m[2]));
        // Values were pushed whole, so these are character boundaries.
        let value = self.text.get(*at..*at + value_len).unwrap_or_default();
        *at += value_len;
        let pinyin = (m[0] & PINYIN != 0).then(|| {
            let p = self.text.get(*at..*at + pinyin_len).unwrap_or_default();
            *at += pinyin_len;
            p
        });
        Some(Value {
            value,
            pinyin,
            valid: m[0] & VALID != 0,
        })
    }

    /// Field `f` of record `r`.
    pub fn value(&self, f: usize, r: usize) -> Option<Value<'_>> {
        let nf = self.n_fields;
        let meta = &self.meta[r * nf * 3..(r + 1) * nf * 3];
        let mut at = self.start[r]
            + meta[..f * 3]
                .chunks_exact(3)
                .map(|m| usize::from(m[1]) + usize::from(m[2]))
                .sum::<usize>();
        self.decode(&meta[f * 3..f * 3 + 3], &mut at)
    }

    /// The comparison levels of records i and j, one per field.
    pub fn pattern(&self, schema: &Schema, i: usize, j: usize) -> Vec<u8> {
        let (mut left, mut right) = (Vec::new(), Vec::new());
        self.values_into(i, &mut left);
        self.values_into(j, &mut right);
        schema
            .fields
            .iter()
            .zip(left.into_iter().zip(right))
            .map(|(def, (a, b))| compare(def.kind, a, b))
            .collect()
    }

    /// Field `f` of every record, in record order.
    pub fn column(&self, f: usize) -> impl Iterator<Item = Option<Value<'_>>> + '_ {
        (0..self.len()).map(move |r| self.value(f, r))
    }
}

/// The standardised value of field `def` from a row: its column's, else
/// (when that gives none) its `or_column`'s.
pub fn read_field<'a>(
    def: &FieldDef,
    own: Option<&'a str>,
    or: impl FnOnce() -> Option<&'a str>,
) -> Option<Std> {
    let std = |v: Option<&str>| {
        v.filter(|v| !v.is_empty())
            .and_then(|v| standardise_value(def.kind, v))
    };
    std(own).or_else(|| def.or_column.as_ref().and_then(|_| std(or())))
}

/// Standardises one raw value of a kind.
pub fn standardise_value(kind: FieldKind, raw: &str) -> Option<Std> {
    let mut valid = false;
    let value = match kind {
        FieldKind::Name => standardise::name(raw)?,
        FieldKind::OrgName => standardise::organisation_name(raw)?,
        FieldKind::OrgCity => standardise::organisation_city(raw)?,
        FieldKind::OrgParentCity => standardise::parent_city(raw)?,
        FieldKind::OrgForm => standardise::organisation_form(raw)?,
        FieldKind::Text | FieldKind::Exact | FieldKind::Code => standardise::text(raw)?,
        FieldKind::Address => standardise::address(raw)?,
        FieldKind::ResidentId => match standardise::resident_id(raw) {
            Some(id) => {
                // Only an 18-character id proves itself by its check digit: a
                // legacy 15-digit one is upgraded with a computed check digit,
                // so a typo in it still "parses" and must not mark two parties.
                valid = standardise::id_digits(raw).is_some_and(|d| d.len() == 18);
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
    /// P(level | match), as estimated.
    pub m: Vec<f64>,
    /// P(level | non-match).
    pub u: Vec<f64>,
    /// log2(m/u) as estimated.
    pub raw_weight: Vec<f64>,
    /// The weight each level adds when scoring (monotone; exact never negative).
    pub weight: Vec<f64>,
    /// Whether a training session estimated m (else a default was used).
    pub estimated: bool,
    /// The field this one depends on (`depends_on`), if any.
    pub depends_on: Option<String>,
    /// u among different parties whose `depends_on` field agrees exactly
    /// (none when not asked, or too few such pairs were found).
    pub u_given: Option<Vec<f64>>,
    /// The weights used when the `depends_on` field agrees exactly.
    pub weight_given: Option<Vec<f64>>,
    /// The different parties `u_given` was counted on.
    pub given_pairs: u64,
}

/// What a run did and learned.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Records compared.
    pub records: usize,
    /// Candidate pairs per blocking rule, counted before any was made.
    pub pairs_per_rule: Vec<(String, u64)>,
    /// The pair budget the counts were held to.
    pub max_pairs: u64,
    /// Blocks skipped for being larger than `max_block`.
    pub blocks_skipped: usize,
    /// Distinct candidate pairs compared.
    pub comparisons: usize,
    /// Distinct comparison patterns among them.
    pub patterns: usize,
    /// Training sessions (one per blocking rule).
    pub sessions: Vec<Session>,
    /// λ: the chance that two records drawn at random match.
    pub prior: f64,
    /// λ times all pairs: the matches the model expects.
    pub expected_matches: f64,
    /// Learned weights per field and level.
    pub fields: Vec<FieldWeights>,
    /// Pairs at or above the threshold.
    pub linked_pairs: usize,
    /// Links not followed because they would have joined clearly different parties.
    pub links_refused: usize,
    /// Clusters (including singletons).
    pub clusters: usize,
    /// Records in the largest cluster.
    pub largest_cluster: usize,
    /// The guard checks and their verdicts.
    pub checks: Vec<Check>,
    /// Seconds per stage.
    pub seconds: Vec<(String, f64)>,
}

/// Limits a run is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Candidate pairs allowed per rule and in all (default: 1,000,000 + 50 per record).
    pub max_pairs: Option<u64>,
    /// Records allowed in one cluster.
    pub max_cluster: usize,
    /// Seed of the random pairs and sampled blocks.
    pub seed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pairs: None,
            max_cluster: 50,
            seed: 42,
        }
    }
}

impl Limits {
    /// The pair budget for `records` records.
    pub fn pair_budget(&self, records: usize) -> u64 {
        self.max_pairs.unwrap_or(1_000_000 + 50 * records as u64)
    }
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
    /// The scoring model.
    pub model: Model,
}

/// Chain refusal: evidence this far against a match (bits) marks two records
/// as clearly different parties — on its own, 99:1 against.
pub const CLEARLY_DIFFERENT_BITS: f64 = -6.63;

/// Runs the engine on every candidate pair with the default limits.
pub fn run(schema: &Schema, ds: &Dataset, link_only: bool) -> Result<Outcome, EcifError> {
    run_focused(schema, ds, link_only, None, Limits::default())
}

/// Runs the engine; with `focus`, only pairs where at least one side is in
/// focus are compared and scored (incremental resolution of new or changed
/// records; learning still sees the whole population).
pub fn run_focused(
    schema: &Schema,
    ds: &Dataset,
    link_only: bool,
    focus: Option<&[bool]>,
    limits: Limits,
) -> Result<Outcome, EcifError> {
    run_inner(schema, ds, link_only, focus, limits, None)
}

/// Runs the engine with a model learned by an earlier run (per-record
/// resolution between nightly runs): blocking, comparison, scoring and
/// clustering exactly as a run does, but nothing is learned and the model
/// is not checked again (its run checked it). `model.frequency` must hold
/// each record's term frequencies in the whole population, not in `ds`.
pub fn run_with_model(
    schema: &Schema,
    ds: &Dataset,
    focus: Option<&[bool]>,
    limits: Limits,
    model: Model,
) -> Result<Outcome, EcifError> {
    run_inner(schema, ds, false, focus, limits, Some(model))
}

fn run_inner(
    schema: &Schema,
    ds: &Dataset,
    link_only: bool,
    focus: Option<&[bool]>,
    limits: Limits,
    given: Option<Model>,
) -> Result<Outcome, EcifError> {
    let mut report = Report {
        records: ds.len(),
        pairs_per_rule: Vec::new(),
        max_pairs: limits.pair_budget(ds.len()),
        blocks_skipped: 0,
        comparisons: 0,
        patterns: 0,
        sessions: Vec::new(),
        prior: 0.0,
        expected_matches: 0.0,
        fields: Vec::new(),
        linked_pairs: 0,
        links_refused: 0,
        clusters: 0,
        largest_cluster: 0,
        checks: Vec::new(),
        seconds: Vec::new(),
    };
    let mut clock = Instant::now();
    let mut lap = |name: &str, report: &mut Report| {
        report
            .seconds
            .push((name.to_owned(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let rules: Vec<Rule> = schema
        .blocking
        .iter()
        .map(|b| Rule::of(schema, b))
        .collect();
    let scope = Scope {
        link_only,
        focus,
        max_block: schema.max_block,
    };
    // Count before making: a rule over budget is refused with its count.
    let keyed: Vec<Vec<(u64, u32)>> = rules.iter().map(|r| sorted_keys(ds, r)).collect();
    for (rule, keyed) in rules.iter().zip(&keyed) {
        let mut count = 0u64;
        for b in blocks(keyed) {
            if b.len() > schema.max_block {
                report.blocks_skipped += 1;
            }
            count += scope.count(ds, b);
        }
        report.pairs_per_rule.push((rule.name.clone(), count));
    }
    let budget = report.max_pairs;
    if let Some((rule, count)) = report.pairs_per_rule.iter().find(|(_, c)| *c > budget) {
        return Err(EcifError::Refused(format!(
            "blocking rule `{rule}` makes {count} candidate pairs, over the budget of {budget} \
             (--max-pairs, default 1,000,000 + 50 per record): add a key to the rule \
             (e.g. `{rule} & <another column>` or a `:first3` of a name) or remove it"
        )));
    }
    let sum: u64 = report.pairs_per_rule.iter().map(|(_, c)| c).sum();
    if sum > budget.saturating_mul(2) {
        return Err(EcifError::Refused(format!(
            "the blocking rules make {sum} candidate pairs together (before de-duplication), \
             over twice the budget of {budget} (--max-pairs): tighten the largest rules ({})",
            report
                .pairs_per_rule
                .iter()
                .map(|(r, c)| format!("{r}: {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut pairs: Vec<u64> = Vec::with_capacity(sum.min(budget) as usize);
    for keyed in &keyed {
        for b in blocks(keyed) {
            scope.pairs_into(ds, b, &mut pairs);
        }
    }
    // Each record's block key per rule, for the training sessions (an
    // unfocused run made every pair of every rule: sessions reuse them, and
    // a pair shares a rule's key when both records are in one of its blocks).
    let block_keys: Vec<Vec<u64>> = if focus.is_none() && given.is_none() {
        keyed
            .par_iter()
            .map(|keyed| {
                let mut key = vec![learn::NO_BLOCK; ds.len()];
                for b in blocks(keyed) {
                    if b.len() >= 2 && b.len() <= schema.max_block {
                        for &(k, r) in b {
                            key[r as usize] = k;
                        }
                    }
                }
                key
            })
            .collect()
    } else {
        Vec::new()
    };
    drop(keyed);
    pairs.par_sort_unstable();
    pairs.dedup();
    report.comparisons = pairs.len();
    lap("block", &mut report);
    let nf = schema.fields.len();
    let patterns = patterns_of(schema, ds, &pairs);
    lap("compare", &mut report);

    let (model, learned) = match given {
        Some(model) => {
            report.prior = probability(model.base);
            (model, None)
        }
        None => {
            let (model, learned) = learn_model(
                schema,
                ds,
                &rules,
                link_only,
                &pairs,
                &patterns,
                &block_keys,
                focus.is_none(),
                limits.seed,
                &mut report,
            );
            (model, Some(learned))
        }
    };
    drop(block_keys);
    lap("learn", &mut report);

    let scored: Vec<(u32, u32, f64)> = pairs
        .into_par_iter()
        .zip(patterns.par_chunks(nf.max(1)))
        .map(|(p, pattern)| {
            let (i, j) = split(p);
            let p = if model.distinct_keys(ds, i as usize, j as usize) {
                0.0
            } else {
                probability(model.total(pattern, i as usize))
            };
            (i, j, p)
        })
        .collect();
    lap("score", &mut report);

    if let Some(learned) = &learned {
        report.checks = model_checks(schema, learned, &report);
    }
    let failed = guard::failures(&report.checks);
    if !failed.is_empty() {
        return Err(EcifError::Guard {
            failed,
            report: Box::new(report),
        });
    }

    // Links strongest first; a link that would join clearly different
    // parties is not followed.
    let mut links: Vec<(u32, u32, f64)> = scored
        .iter()
        .copied()
        .filter(|&(_, _, p)| p >= schema.threshold)
        .collect();
    links.par_sort_unstable_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    report.linked_pairs = links.len();
    let mut clusters = Clusters::new(ds.len());
    let pair = |x: u32, y: u32| model.pair(schema, ds, x as usize, y as usize);
    for &(i, j, _) in &links {
        // A shared valid strong id is its own evidence; any other link
        // needs the two groups to agree on the whole.
        let agreement = if model.shared_key(ds, i as usize, j as usize) {
            0.0
        } else {
            schema.group_agreement
        };
        if clusters.join(i, j, agreement, pair) == Join::Refused {
            report.links_refused += 1;
        }
    }
    let cluster = clusters.roots();
    report.clusters = cluster
        .iter()
        .enumerate()
        .filter(|(r, c)| *r as u32 == **c)
        .count();
    report.largest_cluster = clusters.largest();
    lap("cluster", &mut report);
    let expected = report.expected_matches;
    let n = ds.len() as f64;
    // A model learned before expects matches among its own run's records,
    // not among the few a per-record run compares.
    report.checks.push(Check::new(
        "links within the expected matches",
        learned.is_none() || (report.linked_pairs as f64) <= 3.0 * expected + 10.0 + 0.01 * n,
        format!(
            "{} pairs linked; the model expects {expected:.0} matching pairs in all",
            report.linked_pairs
        ),
    ));
    report.checks.push(Check::new(
        "cluster size",
        report.largest_cluster <= limits.max_cluster,
        format!(
            "largest cluster {} records (limit {})",
            report.largest_cluster, limits.max_cluster
        ),
    ));
    let failed = guard::failures(&report.checks);
    if !failed.is_empty() {
        return Err(EcifError::Guard {
            failed,
            report: Box::new(report),
        });
    }
    Ok(Outcome {
        pairs: scored,
        cluster,
        report,
        patterns,
        fields: nf,
        model,
    })
}

/// Learns a run's model from its candidate pairs (unfocused) or sampled
/// pairs, recording what it learned in the report.
#[allow(clippy::too_many_arguments)]
fn learn_model(
    schema: &Schema,
    ds: &Dataset,
    rules: &[Rule],
    link_only: bool,
    pairs: &[u64],
    patterns: &[u8],
    block_keys: &[Vec<u64>],
    unfocused: bool,
    seed: u64,
    report: &mut Report,
) -> (Model, learn::Learned) {
    let nf = schema.fields.len();
    let source = if unfocused {
        learn::Pairs::Candidates {
            pairs,
            patterns,
            keys: block_keys,
        }
    } else {
        learn::Pairs::Sampled
    };
    let learned = learn::learn(schema, ds, rules, link_only, source, seed);
    report.prior = learned.prior;
    report.sessions = learned.sessions.clone();
    let n = ds.len() as f64;
    report.expected_matches = learned.prior * n * (n - 1.0) / 2.0;
    report.fields = schema
        .fields
        .iter()
        .enumerate()
        .map(|(f, def)| FieldWeights {
            column: def.label().to_owned(),
            levels: level_names(def.kind).to_vec(),
            m: learned.m[f].clone(),
            u: learned.u[f].clone(),
            raw_weight: learned.raw_weight[f].clone(),
            weight: learned.weight[f].clone(),
            estimated: learned.estimated[f],
            depends_on: def.depends_on.clone(),
            u_given: learned.u_given[f].clone(),
            weight_given: learned.weight_given[f].clone(),
            given_pairs: learned.given_pairs[f],
        })
        .collect();
    let model = Model {
        base: (learned.prior / (1.0 - learned.prior)).log2(),
        weight: learned.weight.clone(),
        log_u_exact: schema
            .fields
            .iter()
            .enumerate()
            .map(|(f, d)| d.tf.then(|| learned.u[f][0].log2()))
            .collect(),
        frequency: Model::frequencies(schema, ds),
        distinct: schema.distinct_fields(),
        given: (0..nf)
            .map(|f| {
                let g = schema.depends_on(f)?;
                Some((g, learned.weight_given[f].clone()?))
            })
            .collect(),
    };
    report.patterns = patterns
        .par_chunks(nf.max(1))
        .fold(HashSet::new, |mut seen: HashSet<u64>, p| {
            seen.insert(
                p.iter()
                    .fold(0u64, |code, &l| code << 4 | u64::from(l.min(15))),
            );
            seen
        })
        .reduce(HashSet::new, |mut a, b| {
            a.extend(b);
            a
        })
        .len();
    (model, learned)
}

/// Checks of the learned model, before any link is made.
fn model_checks(schema: &Schema, learned: &learn::Learned, report: &Report) -> Vec<Check> {
    let n = report.records as f64;
    let mut checks = Vec::new();
    let per_record = learned.prior * (n - 1.0).max(0.0);
    checks.push(Check::new(
        "prior",
        per_record <= 20.0,
        format!(
            "λ = {:.3e}: each record expects {per_record:.3} matching records (plausible: at most 20)",
            learned.prior
        ),
    ));
    // Evidence at all: some level of some field must tell matches apart.
    let informative = learned
        .raw_weight
        .iter()
        .any(|w| w.iter().any(|x| x.abs() >= 1.0));
    checks.push(Check::new(
        "m differs from u",
        informative || report.comparisons < 1_000,
        if informative {
            "at least one field separates matches from non-matches by a factor of 2 or more".into()
        } else {
            "on every field m ≈ u: the comparisons carry no evidence".into()
        },
    ));
    // The signature of swapped classes: exact agreement estimated as weaker
    // evidence than disagreement. Only where the model expects matches: with
    // none to learn from, m is its prior belief, and a field whose values
    // nearly all agree among strangers (one legal form for every company)
    // shows "different" as strong — harmless, since nothing links.
    let swapped: Vec<String> = schema
        .fields
        .iter()
        .zip(&learned.raw_weight)
        .zip(&learned.estimated)
        .filter(|((_, w), est)| **est && w[0] + 1.0 < w[w.len() - 1])
        .map(|((d, w), _)| {
            format!(
                "{} (exact {:+.2} < different {:+.2} bits)",
                d.label(),
                w[0],
                w[w.len() - 1]
            )
        })
        .collect();
    checks.push(Check::new(
        "monotone weights",
        swapped.is_empty() || report.comparisons < 1_000 || report.expected_matches < 1.0,
        if swapped.is_empty() {
            "every field's exact agreement is at least as strong evidence as disagreement".into()
        } else {
            format!("agreement counts against a match on {}", swapped.join(", "))
        },
    ));
    checks
}

/// Comparison levels of every pair, `fields` bytes a pair. Pairs are sorted,
/// so record i is decoded once per run of its pairs.
fn patterns_of(schema: &Schema, ds: &Dataset, pairs: &[u64]) -> Vec<u8> {
    let nf = schema.fields.len();
    let mut out = vec![0u8; pairs.len() * nf];
    out.par_chunks_mut(nf.max(1))
        .zip(pairs.par_iter())
        .for_each_init(
            || (u32::MAX, Vec::with_capacity(nf), Vec::with_capacity(nf)),
            |(last, left, right), (pattern, &p)| {
                let (i, j) = split(p);
                if i != *last {
                    ds.values_into(i as usize, left);
                    *last = i;
                }
                ds.values_into(j as usize, right);
                for (f, def) in schema.fields.iter().enumerate() {
                    pattern[f] = compare(def.kind, left[f], right[f]);
                }
            },
        );
    out
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

    /// The waterfall of candidate pair `k` (index into `pairs`).
    pub fn explain(&self, schema: &Schema, ds: &Dataset, k: usize) -> Waterfall {
        let (i, j, _) = self.pairs[k];
        self.model.explain(
            schema,
            ds,
            i as usize,
            j as usize,
            &self.patterns[k * self.fields..(k + 1) * self.fields],
        )
    }
}

/// The levels-only oracle: the best pairwise F1 a classifier that sees only
/// each candidate pair's comparison levels could reach, pair by pair, if it
/// knew the truth — patterns taken in order of their true match share, the
/// best prefix scored against every true pair (compared or not). Term
/// frequencies and transitive closure can take a matcher above it; a matcher
/// well below it has a modelling problem, one near it is limited by the
/// evidence the comparisons see.
pub fn levels_oracle_f1(outcome: &Outcome, truth: &[String]) -> f64 {
    let mut by_pattern: HashMap<&[u8], (u64, u64)> = HashMap::new();
    for (k, &(i, j, _)) in outcome.pairs.iter().enumerate() {
        let pattern = &outcome.patterns[k * outcome.fields..(k + 1) * outcome.fields];
        let entry = by_pattern.entry(pattern).or_default();
        entry.0 += 1;
        entry.1 += u64::from(truth[i as usize] == truth[j as usize]);
    }
    let mut sizes: HashMap<&str, u64> = HashMap::new();
    for t in truth {
        *sizes.entry(t.as_str()).or_default() += 1;
    }
    let actual: u64 = sizes.values().map(|s| s * (s - 1) / 2).sum();
    if actual == 0 {
        return 1.0;
    }
    best_prefix_f1(by_pattern.into_values().collect(), actual)
}

/// The best F1 of linking the groups (pairs, of which true matches) with the
/// highest match shares, against `actual` true pairs in all.
fn best_prefix_f1(mut groups: Vec<(u64, u64)>, actual: u64) -> f64 {
    // Highest match share first (cross-multiplied: exact for integer counts).
    groups.sort_by(|a, b| (b.1 * a.0).cmp(&(a.1 * b.0)));
    let (mut linked, mut right, mut best) = (0u64, 0u64, 0.0f64);
    for (n, matches) in groups {
        linked += n;
        right += matches;
        best = best.max(2.0 * right as f64 / (linked + actual) as f64);
    }
    best
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

#[cfg(test)]
mod tests {
    use super::best_prefix_f1;

    #[test]
    fn the_oracle_links_the_purest_patterns_first() {
        // 90 pairs all true, 10 pairs half true, 100 pairs none; 100 true pairs in all.
        let groups = vec![(100, 0), (10, 5), (90, 90)];
        // Best: link the first two groups (95 right of 100 linked): 190 / 200.
        let f1 = best_prefix_f1(groups, 100);
        assert!((f1 - 0.95).abs() < 1e-12, "{f1}");
        // Nothing compared: nothing linked, F1 0.
        assert_eq!(best_prefix_f1(Vec::new(), 10), 0.0);
    }
}
