//! Blocking: each rule's key per record (hashed), records grouped by key,
//! pairs counted before any is made (for the pair budget), then made.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::Dataset;
use crate::compare::Value;
use crate::schema::{BlockRule, Schema, Transform, parse_transform};

/// One blocking rule resolved against the schema.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule as written (`surname & postcode`).
    pub name: String,
    /// Field indexes its keys read (masked when the rule trains m).
    pub fields: Vec<usize>,
    /// Key parts: field and transform.
    pub parts: Vec<(usize, Transform)>,
}

impl Rule {
    /// Resolves a rule's keys to fields (the schema was checked on load).
    pub fn of(schema: &Schema, rule: &BlockRule) -> Rule {
        let parts: Vec<(usize, Transform)> = rule
            .keys
            .iter()
            .filter_map(|k| {
                let (col, t) = k.split_once(':').unwrap_or((k, ""));
                let f = schema.fields.iter().position(|d| d.label() == col)?;
                Some((f, parse_transform(t)?))
            })
            .collect();
        let mut fields: Vec<usize> = parts.iter().map(|(f, _)| *f).collect();
        fields.sort_unstable();
        fields.dedup();
        Rule {
            name: rule.keys.join(" & "),
            fields,
            parts,
        }
    }
}

/// The part of a standardised value a key transform keeps.
pub fn part(std: Value<'_>, t: Transform) -> Option<&str> {
    let v = std.value;
    Some(match t {
        Transform::Whole => v,
        Transform::Pinyin => std.pinyin.unwrap_or(v),
        Transform::Year => v.get(..4)?,
        Transform::First(n) => v.char_indices().nth(n).map_or(v, |(b, _)| &v[..b]),
        Transform::Last(n) => {
            let count = v.chars().count();
            v.char_indices()
                .nth(count.saturating_sub(n))
                .map_or(v, |(b, _)| &v[b..])
        }
    })
}

fn key_of(ds: &Dataset, parts: &[(usize, Transform)], r: usize, buf: &mut String) -> Option<u64> {
    buf.clear();
    for (i, (f, t)) in parts.iter().enumerate() {
        let part = part(ds.value(*f, r)?, *t)?;
        if i > 0 {
            buf.push('\u{1f}');
        }
        buf.push_str(part);
    }
    Some(xxh3_64(buf.as_bytes()))
}

/// Records sorted by their key under a rule (records without a key left out):
/// equal keys are adjacent, so each run of equal keys is a block.
pub fn sorted_keys(ds: &Dataset, rule: &Rule) -> Vec<(u64, u32)> {
    let mut keyed: Vec<(u64, u32)> = (0..ds.len())
        .into_par_iter()
        .map_init(String::new, |buf, r| {
            key_of(ds, &rule.parts, r, buf).map(|k| (k, r as u32))
        })
        .flatten()
        .collect();
    keyed.par_sort_unstable();
    keyed
}

/// The blocks (runs of equal keys) of a sorted key list, as slices of records.
pub fn blocks(keyed: &[(u64, u32)]) -> impl Iterator<Item = &[(u64, u32)]> {
    keyed.chunk_by(|a, b| a.0 == b.0)
}

/// Which pairs a run compares.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Only pairs across inputs.
    pub link_only: bool,
    /// Only pairs with at least one side in focus.
    pub focus: Option<&'a [bool]>,
    /// Blocks above this size are skipped.
    pub max_block: usize,
}

impl Scope<'_> {
    fn keeps(&self, ds: &Dataset, i: u32, j: u32) -> bool {
        if self.link_only && ds.source[i as usize] == ds.source[j as usize] {
            return false;
        }
        match self.focus {
            Some(focus) => focus[i as usize] || focus[j as usize],
            None => true,
        }
    }

    /// Pairs a block yields, counted without making them.
    pub fn count(&self, ds: &Dataset, block: &[(u64, u32)]) -> u64 {
        let n = block.len() as u64;
        if n < 2 || block.len() > self.max_block {
            return 0;
        }
        let all = n * (n - 1) / 2;
        let within = |groups: &[u64]| {
            groups
                .iter()
                .map(|k| k * k.saturating_sub(1) / 2)
                .sum::<u64>()
        };
        let mut total = all;
        if self.link_only {
            let mut per_source: Vec<u64> = Vec::new();
            for &(_, r) in block {
                let s = ds.source[r as usize] as usize;
                if per_source.len() <= s {
                    per_source.resize(s + 1, 0);
                }
                per_source[s] += 1;
            }
            total -= within(&per_source);
        }
        if let Some(focus) = self.focus {
            // Pairs with both sides out of focus are not compared.
            let out = block.iter().filter(|(_, r)| !focus[*r as usize]).count() as u64;
            total = total.saturating_sub(out * out.saturating_sub(1) / 2);
        }
        total
    }

    /// Appends the pairs of a block as `(lo << 32) | hi`.
    pub fn pairs_into(&self, ds: &Dataset, block: &[(u64, u32)], out: &mut Vec<u64>) {
        if block.len() < 2 || block.len() > self.max_block {
            return;
        }
        for (a, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[a + 1..] {
                if self.keeps(ds, i, j) {
                    let (lo, hi) = if i < j { (i, j) } else { (j, i) };
                    out.push((u64::from(lo) << 32) | u64::from(hi));
                }
            }
        }
    }
}

/// Splits a pair key.
pub fn split(p: u64) -> (u32, u32) {
    ((p >> 32) as u32, (p & 0xffff_ffff) as u32)
}

/// The kind of a term-frequency key: this plus the field's index (a
/// blocking rule's keys are of kind = the rule's index).
pub const TF_KIND: u16 = 100;

/// The schema's blocking rules, resolved.
pub fn rules(schema: &Schema) -> Vec<Rule> {
    schema
        .blocking
        .iter()
        .map(|b| Rule::of(schema, b))
        .collect()
}

/// Record `r`'s keys as kept for per-record resolution: per blocking rule
/// its block key (kind = the rule's index), and per term-frequency field
/// its value's hash (kind = [`TF_KIND`] + the field's index), so a record
/// arriving later finds its candidates and its value's frequency by index.
pub fn record_keys(schema: &Schema, rules: &[Rule], ds: &Dataset, r: usize) -> Vec<(u16, u64)> {
    let mut buf = String::new();
    let mut keys: Vec<(u16, u64)> = rules
        .iter()
        .enumerate()
        .filter_map(|(k, rule)| Some((k as u16, key_of(ds, &rule.parts, r, &mut buf)?)))
        .collect();
    for (f, def) in schema.fields.iter().enumerate() {
        if def.tf
            && let Some(v) = ds.value(f, r)
        {
            keys.push((TF_KIND + f as u16, xxh3_64(v.value.as_bytes())));
        }
    }
    keys
}
