//! Learning the model without labels, in the way that does not collapse:
//!
//! - u, P(level | non-match), from random pairs (nearly all non-matches);
//! - m, P(level | match), by EM with u held fixed, in *training sessions*:
//!   one per blocking rule, on that rule's pairs with the rule's own fields
//!   left out (inside a block they agree by construction, so they say nothing
//!   about matching), averaged over the sessions where a field was free; a
//!   field that depends on a session's blocking field is held at its u among
//!   different parties agreeing on that field (inside the block, that is who
//!   the non-matches are);
//! - the prior λ, the chance that two records drawn at random match, from
//!   recall-adjusted counts: a session's estimated matches divided by the
//!   share of all matches its rule can catch (the m of its keys' agreement),
//!   over all pairs; the median across sessions;
//! - weights made monotone per field (agreement never weaker evidence than a
//!   looser level) and an exact match never negative evidence.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use super::Dataset;
use super::block::{Rule, Scope, blocks, sorted_keys, split};
use crate::compare::{NULL, compare, level_names};
use crate::schema::{FieldKind, Schema, Transform};

/// Pairs a training session compares at most (whole blocks sampled beyond it).
pub const SESSION_PAIRS: u64 = 1_000_000;

/// What one training session found.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// The rule the session blocked on.
    pub rule: String,
    /// All pairs of the rule.
    pub pairs: u64,
    /// Pairs compared (a sample of whole blocks when there are more than [`SESSION_PAIRS`]).
    pub sampled: u64,
    /// EM iterations.
    pub iterations: usize,
    /// Estimated share of matches among the rule's pairs.
    pub match_share: f64,
    /// Estimated share of all matches the rule catches (from m of its keys).
    pub recall: f64,
    /// The prior λ this session implies.
    pub prior: f64,
    /// Set aside: its implied λ disagrees with the other sessions' median by
    /// more than [`SESSION_AGREEMENT`]×, so its EM took a different
    /// population for the matches; its m and λ are not used.
    pub set_aside: bool,
}

/// How far (as a factor) a session's implied λ may stray from the median of
/// all sessions before the session is set aside. Sessions of a sound run
/// agree within about 2× (1.1–1.7× on the panel's files); one whose EM
/// took the block's non-matches for matches (same trade name, other city)
/// implies several times more matches than the rest.
pub const SESSION_AGREEMENT: f64 = 3.0;

/// The learned parameters.
#[derive(Debug, Clone)]
pub struct Learned {
    /// m per field and level, as estimated (before the monotone repair).
    pub m: Vec<Vec<f64>>,
    /// u per field and level.
    pub u: Vec<Vec<f64>>,
    /// Whether some session estimated the field's m (else a default was used).
    pub estimated: Vec<bool>,
    /// log2(m/u) as estimated.
    pub raw_weight: Vec<Vec<f64>>,
    /// log2(m/u) after the monotone repair: the weights scoring uses.
    pub weight: Vec<Vec<f64>>,
    /// For fields with a `depends_on`: u among different parties whose
    /// `depends_on` field agrees exactly ([`estimate_u_given`]).
    pub u_given: Vec<Option<Vec<f64>>>,
    /// The different parties behind each `u_given`.
    pub given_pairs: Vec<u64>,
    /// log2(m/u_given) after the monotone repair: the weights scoring uses
    /// when the `depends_on` field agrees exactly.
    pub weight_given: Vec<Option<Vec<f64>>>,
    /// λ: P(two random records match).
    pub prior: f64,
    /// The sessions.
    pub sessions: Vec<Session>,
}

fn normalise(v: &[f64]) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter().map(|x| (x / s).max(1e-9)).collect()
}

/// splitmix64, deterministic for a seed.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// u from random pairs (across inputs for link-only runs), smoothed towards [`default_u`].
pub fn estimate_u(schema: &Schema, ds: &Dataset, link_only: bool, seed: u64) -> Vec<Vec<f64>> {
    let n = ds.len() as u64;
    let samples = 300_000u64.min(n * n.saturating_sub(1) / 2);
    let mut rng = SplitMix(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut counts: Vec<Vec<f64>> = schema
        .fields
        .iter()
        .map(|d| {
            default_u(d.kind)
                .into_iter()
                .map(|x| x * PRIOR_U_PAIRS)
                .collect()
        })
        .collect();
    let (mut drawn, mut tries) = (0, 0u64);
    while drawn < samples && n >= 2 && tries < samples * 20 {
        tries += 1;
        let i = (rng.next_u64() % n) as usize;
        let j = (rng.next_u64() % n) as usize;
        if i == j || (link_only && ds.source[i] == ds.source[j]) {
            continue;
        }
        drawn += 1;
        for (f, l) in ds.pattern(schema, i, j).into_iter().enumerate() {
            if l != NULL {
                counts[f][l as usize] += 1.0;
            }
        }
    }
    counts.into_iter().map(|c| normalise(&c)).collect()
}

/// Different parties a `depends_on` estimate needs before it replaces u.
pub const GIVEN_MIN_PAIRS: u64 = 50;

/// Pairs a `depends_on` estimate compares at most per field.
const GIVEN_MAX_PAIRS: u64 = 2_000_000;

/// u of each field with a `depends_on`, among different parties whose
/// `depends_on` field agrees exactly: records grouped by that field's value,
/// every pair in a group whose `distinct` ids are valid and differ counted at
/// this field's level. Smoothed towards the field's u; with fewer than
/// [`GIVEN_MIN_PAIRS`] such pairs, none (u stays as it is). Returns the
/// estimates and the pairs behind each.
pub fn estimate_u_given(
    schema: &Schema,
    ds: &Dataset,
    u: &[Vec<f64>],
) -> (Vec<Option<Vec<f64>>>, Vec<u64>) {
    let nf = schema.fields.len();
    let distinct: Vec<usize> = (0..nf).filter(|&f| schema.fields[f].distinct).collect();
    let id_of = |r: usize| {
        distinct
            .iter()
            .map(move |&f| ds.value(f, r).filter(|v| v.valid).map(|v| v.value))
    };
    let differ = |i: usize, j: usize| {
        id_of(i)
            .zip(id_of(j))
            .any(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b))
    };
    let mut estimates = vec![None; nf];
    let mut counted = vec![0u64; nf];
    for f in 0..nf {
        let Some(g) = schema.depends_on(f) else {
            continue;
        };
        let kind = schema.fields[f].kind;
        let mut keyed: Vec<(u64, u32)> = ds
            .column(g)
            .enumerate()
            .filter_map(|(r, v)| {
                let v = v?;
                let has_id = id_of(r).any(|id| id.is_some());
                has_id.then(|| (xxh3_64(v.value.as_bytes()), r as u32))
            })
            .collect();
        keyed.sort_unstable();
        let mut counts: Vec<f64> = u[f].iter().map(|x| x * PRIOR_U_PAIRS).collect();
        let (mut compared, mut n) = (0u64, 0u64);
        'groups: for group in keyed.chunk_by(|a, b| a.0 == b.0) {
            let group = &group[..group.len().min(schema.max_block)];
            for (k, &(_, i)) in group.iter().enumerate() {
                for &(_, j) in &group[k + 1..] {
                    compared += 1;
                    if compared > GIVEN_MAX_PAIRS {
                        break 'groups;
                    }
                    let (i, j) = (i as usize, j as usize);
                    if !differ(i, j) {
                        continue;
                    }
                    let agree = compare(schema.fields[g].kind, ds.value(g, i), ds.value(g, j));
                    let l = compare(kind, ds.value(f, i), ds.value(f, j));
                    if agree == 0 && l != NULL {
                        counts[l as usize] += 1.0;
                        n += 1;
                    }
                }
            }
        }
        counted[f] = n;
        if n >= GIVEN_MIN_PAIRS {
            estimates[f] = Some(normalise(&counts));
        }
    }
    (estimates, counted)
}

/// The u a training session's EM holds fixed: a field that depends on one
/// of the session's blocking fields (blocked on the whole value or its
/// pinyin, so it agrees in every pair of the session, or sounds the same)
/// has its u among different parties that agree on that field, where one is
/// measured; the rest their plain u.
fn session_u(
    schema: &Schema,
    rule: &Rule,
    u: &[Vec<f64>],
    u_given: &[Option<Vec<f64>>],
) -> Vec<Vec<f64>> {
    (0..u.len())
        .map(|f| {
            let blocked_on = |g: usize| {
                rule.parts
                    .iter()
                    .any(|&(h, t)| h == g && matches!(t, Transform::Whole | Transform::Pinyin))
            };
            match (schema.depends_on(f), &u_given[f]) {
                (Some(g), Some(given)) if blocked_on(g) => given.clone(),
                _ => u[f].clone(),
            }
        })
        .collect()
}

/// P(match | pattern) for a prior.
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

/// What m is believed to be before any data: matches mostly agree exactly.
fn default_m(kind: FieldKind) -> Vec<f64> {
    let k = level_names(kind).len();
    let mut v = vec![0.1 / (k - 1) as f64; k];
    v[0] = 0.9;
    v
}

/// What u is believed to be before any data, per kind of value: two
/// strangers rarely share a name, an id or a mobile, often a gender.
fn default_u(kind: FieldKind) -> Vec<f64> {
    match kind {
        FieldKind::Name | FieldKind::OrgName => vec![0.002, 0.003, 0.01, 0.05, 0.935],
        FieldKind::Text | FieldKind::Address => vec![0.01, 0.01, 0.05, 0.93],
        FieldKind::Code => vec![0.01, 0.02, 0.97],
        FieldKind::ResidentId | FieldKind::CreditCode | FieldKind::Mobile => {
            vec![1e-4, 1e-3, 0.9989]
        }
        FieldKind::Date => vec![0.001, 0.005, 0.05, 0.944],
        FieldKind::Exact => vec![0.5, 0.5],
        // A bank's corporate customers are spread over tens of cities.
        FieldKind::OrgCity | FieldKind::OrgParentCity => vec![0.1, 0.9],
        // Most companies are limited liability companies.
        FieldKind::OrgForm => vec![0.6, 0.4],
    }
}

/// Pseudo-pairs of the beliefs above: they decide on a handful of records
/// (a steward's refresh of two customers) and vanish under real volumes.
const PRIOR_U_PAIRS: f64 = 20.0;
const PRIOR_M_PAIRS: f64 = 5.0;

/// EM for m and the session's match share with u fixed, on pattern counts.
/// Returns m, the share and the iterations.
pub fn em(
    schema: &Schema,
    patterns: &HashMap<Vec<u8>, u64>,
    u: &[Vec<f64>],
) -> (Vec<Vec<f64>>, f64, usize) {
    let mut m: Vec<Vec<f64>> = schema.fields.iter().map(|d| default_m(d.kind)).collect();
    let mut share: f64 = 0.5;
    let mut iterations = 0;
    for it in 0..200 {
        iterations = it + 1;
        let mut acc: Vec<Vec<f64>> = schema
            .fields
            .iter()
            .map(|d| {
                default_m(d.kind)
                    .into_iter()
                    .map(|x| x * PRIOR_M_PAIRS)
                    .collect()
            })
            .collect();
        let (mut matched, mut total) = (0.0, 0.0);
        for (pattern, &count) in patterns {
            let p = posterior(pattern, &m, u, share);
            let c = count as f64;
            matched += c * p;
            total += c;
            for (f, &l) in pattern.iter().enumerate() {
                if l != NULL {
                    acc[f][l as usize] += c * p;
                }
            }
        }
        let new_share = (matched / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
        let new_m: Vec<Vec<f64>> = acc.iter().map(|v| normalise(v)).collect();
        let delta = (new_share - share).abs()
            + new_m
                .iter()
                .zip(&m)
                .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
                .fold(0.0, f64::max);
        m = new_m;
        share = new_share;
        if delta < 1e-7 {
            break;
        }
    }
    (m, share, iterations)
}

/// A comparison pattern packed into a u64, 4 bits a field (at most 16
/// fields, checked on schema load); fields in `masked` count as missing.
pub fn pack(pattern: &[u8], masked: &[usize]) -> u64 {
    pattern.iter().enumerate().fold(0u64, |code, (f, &l)| {
        let l = if masked.contains(&f) { NULL } else { l };
        code << 4 | u64::from(l.min(15))
    })
}

fn unpack(code: u64, nf: usize) -> Vec<u8> {
    (0..nf)
        .map(|f| {
            let l = ((code >> (4 * (nf - 1 - f))) & 15) as u8;
            if l == 15 { NULL } else { l }
        })
        .collect()
}

fn merge(mut a: HashMap<u64, u64>, b: HashMap<u64, u64>) -> HashMap<u64, u64> {
    for (k, v) in b {
        *a.entry(k).or_default() += v;
    }
    a
}

/// EM on a session's packed pattern counts, and what the session found.
fn fit(
    schema: &Schema,
    rule: &Rule,
    packed: HashMap<u64, u64>,
    pairs: u64,
    u: &[Vec<f64>],
) -> (Session, Vec<Vec<f64>>) {
    let nf = schema.fields.len();
    let counts: HashMap<Vec<u8>, u64> = packed
        .into_iter()
        .map(|(code, n)| (unpack(code, nf), n))
        .collect();
    let sampled: u64 = counts.values().sum();
    let (m, share, iterations) = em(schema, &counts, u);
    (
        Session {
            rule: rule.name.clone(),
            pairs: pairs.max(sampled),
            sampled,
            iterations,
            match_share: share,
            recall: f64::NAN,
            prior: f64::NAN,
            set_aside: false,
        },
        m,
    )
}

/// One session: the rule's pairs (whole blocks sampled down to about
/// [`SESSION_PAIRS`]), compared on every field but the rule's own, then EM.
fn session(
    schema: &Schema,
    ds: &Dataset,
    rule: &Rule,
    scope: Scope<'_>,
    u: &[Vec<f64>],
    u_given: &[Option<Vec<f64>>],
    seed: u64,
) -> (Session, Vec<Vec<f64>>) {
    let keyed = sorted_keys(ds, rule);
    let pairs: u64 = blocks(&keyed).map(|b| scope.count(ds, b)).sum();
    let keep = (SESSION_PAIRS as f64 / pairs.max(1) as f64).min(1.0);
    let mut chosen = Vec::new();
    for block in blocks(&keyed) {
        let pick = (xxh3_64(&(block[0].0 ^ seed).to_le_bytes()) as f64) / (u64::MAX as f64);
        if pick < keep {
            scope.pairs_into(ds, block, &mut chosen);
        }
    }
    let nf = schema.fields.len();
    let packed = chosen
        .par_iter()
        .fold(HashMap::new, |mut acc: HashMap<u64, u64>, &p| {
            let (i, j) = split(p);
            let pattern = ds.pattern(schema, i as usize, j as usize);
            debug_assert_eq!(pattern.len(), nf);
            *acc.entry(pack(&pattern, &rule.fields)).or_default() += 1;
            acc
        })
        .reduce(HashMap::new, merge);
    fit(
        schema,
        rule,
        packed,
        pairs,
        &session_u(schema, rule, u, u_given),
    )
}

/// The share of matching pairs that agree on a rule's key part: the m of the
/// levels the key cannot tell apart, times both values being present.
fn key_recall(schema: &Schema, m: &[Vec<f64>], part: (usize, Transform), present: &[f64]) -> f64 {
    let (f, t) = part;
    let kind = schema.fields[f].kind;
    let agree = match (kind, t) {
        (FieldKind::Name | FieldKind::OrgName, Transform::Pinyin) => m[f][0] + m[f][1],
        (_, Transform::Whole) => m[f][0],
        // A prefix, suffix or year also holds for most near agreements.
        _ => m[f][0] + m[f].get(1).copied().unwrap_or(0.0),
    };
    agree.min(1.0) * present[f] * present[f]
}

/// Pool-adjacent-violators: the closest non-increasing sequence (weighted).
pub fn monotone_decreasing(values: &[f64], weights: &[f64]) -> Vec<f64> {
    let mut blocks: Vec<(f64, f64, usize)> = Vec::new(); // (mean, weight, length)
    for (&v, &w) in values.iter().zip(weights) {
        blocks.push((v, w.max(1e-12), 1));
        while blocks.len() >= 2 {
            let (b, a) = (blocks[blocks.len() - 1], blocks[blocks.len() - 2]);
            if a.0 >= b.0 {
                break;
            }
            blocks.pop();
            blocks.pop();
            let w = a.1 + b.1;
            blocks.push(((a.0 * a.1 + b.0 * b.1) / w, w, a.2 + b.2));
        }
    }
    blocks
        .into_iter()
        .flat_map(|(v, _, n)| std::iter::repeat_n(v, n))
        .collect()
}

/// log2(m/u) made monotone (agreement never weaker evidence than a looser
/// level), an exact match never negative evidence.
fn repaired(m: &[f64], u: &[f64]) -> Vec<f64> {
    let raw: Vec<f64> = m.iter().zip(u).map(|(a, b)| (a / b).log2()).collect();
    let support: Vec<f64> = m.iter().zip(u).map(|(a, b)| a + b).collect();
    let mut w = monotone_decreasing(&raw, &support);
    if w[0] < 0.0 {
        w[0] = 0.0;
    }
    w
}

/// Where the training sessions' pairs come from.
pub enum Pairs<'a> {
    /// The run's own candidates (every pair of every rule was made): each
    /// rule's pairs are the candidates whose keys under it agree.
    Candidates {
        /// Packed pairs, sorted.
        pairs: &'a [u64],
        /// Their comparison levels, `fields` bytes a pair.
        patterns: &'a [u8],
        /// Per rule, each record's block key ([`NO_BLOCK`] when it has none,
        /// or its block was a single record or skipped as too large).
        keys: &'a [Vec<u64>],
    },
    /// Made anew per rule (a focused run compares only some pairs).
    Sampled,
}

/// The key of a record outside every block of a rule.
pub const NO_BLOCK: u64 = u64::MAX;

/// Sessions from the candidates already compared: no pair compared twice.
fn sessions_from_candidates(
    schema: &Schema,
    rules: &[Rule],
    pairs: &[u64],
    patterns: &[u8],
    keys: &[Vec<u64>],
    u: &[Vec<f64>],
    u_given: &[Option<Vec<f64>>],
) -> Vec<(Session, Vec<Vec<f64>>)> {
    let nf = schema.fields.len();
    let nr = rules.len();
    // One pass over the candidates: each pair's masked pattern, packed into a
    // u64 (4 bits a field), counted for every rule whose key it shares.
    let counted: Vec<HashMap<u64, u64>> = pairs
        .par_iter()
        .zip(patterns.par_chunks(nf.max(1)))
        .fold(
            || vec![HashMap::new(); nr],
            |mut acc: Vec<HashMap<u64, u64>>, (&p, pattern)| {
                let (i, j) = split(p);
                let (i, j) = (i as usize, j as usize);
                for (r, rule) in rules.iter().enumerate() {
                    let key = &keys[r];
                    if key[i] != NO_BLOCK && key[i] == key[j] {
                        *acc[r].entry(pack(pattern, &rule.fields)).or_default() += 1;
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![HashMap::new(); nr],
            |a, b| a.into_iter().zip(b).map(|(x, y)| merge(x, y)).collect(),
        );
    rules
        .iter()
        .zip(counted)
        .map(|(rule, packed)| {
            fit(
                schema,
                rule,
                packed,
                0,
                &session_u(schema, rule, u, u_given),
            )
        })
        .collect()
}

/// m: per field, the mean over the sessions (not set aside) where the field
/// was free and had pairs; a default where none was. Also which fields were
/// estimated.
fn average_m(
    schema: &Schema,
    ms: &[Vec<Vec<f64>>],
    sessions: &[Session],
    rules: &[Rule],
) -> (Vec<Vec<f64>>, Vec<bool>) {
    let nf = schema.fields.len();
    let mut m: Vec<Vec<f64>> = schema.fields.iter().map(|d| default_m(d.kind)).collect();
    let mut estimated = vec![false; nf];
    for f in 0..nf {
        let free: Vec<&Vec<Vec<f64>>> = ms
            .iter()
            .zip(sessions)
            .zip(rules)
            .filter(|((_, s), r)| !r.fields.contains(&f) && s.sampled > 0 && !s.set_aside)
            .map(|((m, _), _)| m)
            .collect();
        if free.is_empty() {
            continue;
        }
        estimated[f] = true;
        let levels = m[f].len();
        m[f] = normalise(
            &(0..levels)
                .map(|l| free.iter().map(|s| s[f][l]).sum::<f64>() / free.len() as f64)
                .collect::<Vec<_>>(),
        );
    }
    (m, estimated)
}

/// Each session's recall (the share of all matches its rule catches, from
/// m) and the λ its recall-adjusted count of matches implies.
fn imply_priors(
    schema: &Schema,
    m: &[Vec<f64>],
    present: &[f64],
    total_pairs: f64,
    rules: &[Rule],
    sessions: &mut [Session],
) {
    for (s, rule) in sessions.iter_mut().zip(rules) {
        s.recall = rule
            .parts
            .iter()
            .map(|&part| key_recall(schema, m, part, present))
            .product::<f64>()
            .max(1e-6);
        s.prior = if s.sampled > 0 {
            (s.match_share * s.pairs as f64 / s.recall / total_pairs).min(1.0)
        } else {
            f64::NAN
        };
    }
}

/// The sessions to set aside: those whose λ strays from the median by more
/// than [`SESSION_AGREEMENT`]×; `None` when none does, or when fewer than
/// three sessions have a λ, or more than half of them would go.
fn strays(sessions: &[Session]) -> Option<Vec<bool>> {
    let median = median_prior(sessions)?;
    let finite = sessions.iter().filter(|s| s.prior.is_finite()).count();
    let strays: Vec<bool> = sessions
        .iter()
        .map(|s| {
            s.prior.is_finite() && (s.prior / median).max(median / s.prior) > SESSION_AGREEMENT
        })
        .collect();
    let count = strays.iter().filter(|&&x| x).count();
    (finite >= 3 && count > 0 && 2 * count <= finite).then_some(strays)
}

/// The median λ of the sessions not set aside (the geometric mean of the
/// middle two for an even count).
fn median_prior(sessions: &[Session]) -> Option<f64> {
    let mut priors: Vec<f64> = sessions
        .iter()
        .filter(|s| !s.set_aside)
        .map(|s| s.prior)
        .filter(|p| p.is_finite())
        .collect();
    priors.sort_by(f64::total_cmp);
    match priors.len() {
        0 => None,
        k if k % 2 == 1 => Some(priors[k / 2]),
        k => Some((priors[k / 2 - 1] * priors[k / 2]).sqrt()),
    }
}

/// Learns u, m and λ (see the module's documentation).
pub fn learn(
    schema: &Schema,
    ds: &Dataset,
    rules: &[Rule],
    link_only: bool,
    source: Pairs<'_>,
    seed: u64,
) -> Learned {
    let nf = schema.fields.len();
    let u = estimate_u(schema, ds, link_only, seed);
    let (u_given, given_pairs) = estimate_u_given(schema, ds, &u);
    // Training runs on all of the rule's pairs, not only those in focus:
    // λ is a property of the whole population.
    let scope = Scope {
        link_only,
        focus: None,
        max_block: schema.max_block,
    };
    let results: Vec<(Session, Vec<Vec<f64>>)> = match source {
        Pairs::Candidates {
            pairs,
            patterns,
            keys,
        } => sessions_from_candidates(schema, rules, pairs, patterns, keys, &u, &u_given),
        Pairs::Sampled => rules
            .iter()
            .map(|r| session(schema, ds, r, scope, &u, &u_given, seed))
            .collect(),
    };
    let n = ds.len() as f64;
    let total_pairs = if link_only {
        let mut per_source: HashMap<u16, f64> = HashMap::new();
        for s in &ds.source {
            *per_source.entry(*s).or_default() += 1.0;
        }
        n * (n - 1.0) / 2.0
            - per_source
                .values()
                .map(|k| k * (k - 1.0) / 2.0)
                .sum::<f64>()
    } else {
        n * (n - 1.0) / 2.0
    }
    .max(1.0);
    let present: Vec<f64> = (0..nf)
        .map(|f| ds.column(f).filter(Option::is_some).count() as f64 / n.max(1.0))
        .collect();
    let (ms, mut sessions): (Vec<Vec<Vec<f64>>>, Vec<Session>) =
        results.into_iter().map(|(s, m)| (m, s)).unzip();
    // m and λ from every session; then again without the sessions whose λ
    // disagrees with the rest (at least three sessions with a λ, at least
    // half of them kept).
    let (mut m, mut estimated) = average_m(schema, &ms, &sessions, rules);
    imply_priors(schema, &m, &present, total_pairs, rules, &mut sessions);
    if let Some(strays) = strays(&sessions) {
        for (s, stray) in sessions.iter_mut().zip(strays) {
            s.set_aside = stray;
        }
        (m, estimated) = average_m(schema, &ms, &sessions, rules);
        imply_priors(schema, &m, &present, total_pairs, rules, &mut sessions);
    }
    let prior = median_prior(&sessions)
        .unwrap_or(1.0 / total_pairs)
        .clamp(1e-12, 0.5);
    let raw_weight: Vec<Vec<f64>> = m
        .iter()
        .zip(&u)
        .map(|(m, u)| m.iter().zip(u).map(|(a, b)| (a / b).log2()).collect())
        .collect();
    let weight = m.iter().zip(&u).map(|(m, u)| repaired(m, u)).collect();
    let weight_given = u_given
        .iter()
        .zip(&m)
        .map(|(ug, m)| ug.as_ref().map(|ug| repaired(m, ug)))
        .collect();
    Learned {
        m,
        u,
        estimated,
        raw_weight,
        weight,
        u_given,
        given_pairs,
        weight_given,
        prior,
        sessions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_of(prior: f64) -> Session {
        Session {
            rule: String::new(),
            pairs: 1,
            sampled: 1,
            iterations: 1,
            match_share: 0.5,
            recall: 1.0,
            prior,
            set_aside: false,
        }
    }

    #[test]
    fn a_session_whose_prior_strays_from_the_rest_is_set_aside() {
        // companies-100k: the pinyin session took same-name strangers for matches.
        let s: Vec<Session> = [9.11e-6, 9.23e-6, 5.09e-5, 9.13e-6]
            .into_iter()
            .map(session_of)
            .collect();
        assert_eq!(strays(&s), Some(vec![false, false, true, false]));
        // A sound run's sessions agree within 2x: none goes.
        let sound: Vec<Session> = [36.7e-6, 38.2e-6, 55.0e-6, 56.9e-6, 61.3e-6, 37.1e-6]
            .into_iter()
            .map(session_of)
            .collect();
        assert_eq!(strays(&sound), None);
        // Two sessions cannot outvote each other; half or more never go.
        let two: Vec<Session> = [1e-6, 1e-4].into_iter().map(session_of).collect();
        assert_eq!(strays(&two), None);
        let split: Vec<Session> = [1e-6, 1e-6, 1e-4, 1e-4]
            .into_iter()
            .map(session_of)
            .collect();
        assert_eq!(strays(&split), None);
        // A session without pairs has no prior and no vote.
        let mut with_nan = s.clone();
        with_nan.push(session_of(f64::NAN));
        assert_eq!(
            strays(&with_nan),
            Some(vec![false, false, true, false, false])
        );
        let mut aside = s;
        aside[2].set_aside = true;
        assert_eq!(median_prior(&aside), Some(9.13e-6));
    }

    #[test]
    fn pava_keeps_a_decreasing_sequence_and_pools_violators() {
        assert_eq!(
            monotone_decreasing(&[3.0, 1.0, -2.0], &[1.0; 3]),
            vec![3.0, 1.0, -2.0]
        );
        let out = monotone_decreasing(&[1.0, 3.0, -2.0], &[1.0; 3]);
        assert_eq!(out, vec![2.0, 2.0, -2.0]);
        let out = monotone_decreasing(&[-4.0, 0.0, 5.0], &[1.0, 1.0, 2.0]);
        assert!(out.windows(2).all(|w| w[0] >= w[1]), "{out:?}");
    }
}
