//! Resolution of source records into golden customers — a pure step: records
//! and the previous cross-references in; clusters with stable customer ids,
//! merges, survived attributes with provenance, households and review pairs
//! out. The store-facing orchestration lives in the `panorama resolve` command.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use crate::EcifError;
use crate::engine::cluster::{Clusters, Join, Pair};
use crate::engine::explain::Model;
use crate::engine::{Dataset, Limits, Outcome, run_focused, run_with_model};
use crate::schema::{BlockRule, FieldDef, FieldKind, Schema};
use crate::standardise;

/// One source record as read from the store: the fields resolution needs,
/// packed into a [`SourceRec`] to be held.
#[derive(Debug, Clone, Default)]
pub struct SourceFields {
    /// `source_record.id`.
    pub id: i64,
    /// Source system code.
    pub system: Arc<str>,
    /// `person` or `organisation`.
    pub party_type: &'static str,
    /// Name as held.
    pub name: String,
    /// M/F.
    pub gender: Option<String>,
    /// ISO date.
    pub birth_date: Option<String>,
    /// Standardised resident id (valid or upgraded only).
    pub id_no: Option<String>,
    /// Raw id as held (may fail its check digit).
    pub id_raw: Option<String>,
    /// Standardised credit code.
    pub credit_code: Option<String>,
    /// Whether the credit code passed its checksum.
    pub credit_code_ok: bool,
    /// Standardised mobile.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Address as held.
    pub address: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Batch that last changed the record (recency).
    pub batch_id: i64,
    /// Survivorship trust of its system.
    pub trust: i64,
}

/// The text values of a record, in their packed order.
#[derive(Debug, Clone, Copy)]
enum Text {
    Name,
    Gender,
    BirthDate,
    IdNo,
    IdRaw,
    CreditCode,
    Mobile,
    Email,
    Address,
    Industry,
}

const TEXTS: usize = 10;

/// One source record as resolution holds it: its text values end to end in
/// one allocation (held as separate strings, a record took ~730 bytes; a
/// bank's records are all held while they are matched).
#[derive(Debug, Clone)]
pub struct SourceRec {
    /// `source_record.id`.
    pub id: i64,
    /// Source system code (shared by the system's records).
    pub system: Arc<str>,
    /// `person` or `organisation`.
    pub party_type: &'static str,
    /// Whether the credit code passed its checksum.
    pub credit_code_ok: bool,
    /// Batch that last changed the record (recency).
    pub batch_id: i64,
    /// Survivorship trust of its system.
    pub trust: i64,
    text: Box<str>,
    /// Where each value ends in `text`.
    ends: [u32; TEXTS],
    /// Which values are present (bit per [`Text`]).
    present: u16,
}

impl From<SourceFields> for SourceRec {
    fn from(f: SourceFields) -> Self {
        let values: [Option<&str>; TEXTS] = [
            Some(f.name.as_str()),
            f.gender.as_deref(),
            f.birth_date.as_deref(),
            f.id_no.as_deref(),
            f.id_raw.as_deref(),
            f.credit_code.as_deref(),
            f.mobile.as_deref(),
            f.email.as_deref(),
            f.address.as_deref(),
            f.industry.as_deref(),
        ];
        let mut text = String::with_capacity(values.iter().flatten().map(|v| v.len()).sum());
        let mut ends = [0u32; TEXTS];
        let mut present = 0u16;
        for (k, v) in values.iter().enumerate() {
            if let Some(v) = v {
                // A value past 4 GB in one record cannot be held: cut at a
                // character boundary (never reached by a store's columns).
                let room = (u32::MAX as usize).saturating_sub(text.len());
                let mut cut = v.len().min(room);
                while !v.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.push_str(&v[..cut]);
                present |= 1 << k;
            }
            ends[k] = text.len() as u32;
        }
        SourceRec {
            id: f.id,
            system: f.system,
            party_type: f.party_type,
            credit_code_ok: f.credit_code_ok,
            batch_id: f.batch_id,
            trust: f.trust,
            text: text.into_boxed_str(),
            ends,
            present,
        }
    }
}

/// One accessor per optional text value of a [`SourceRec`].
macro_rules! text_values {
    ($($(#[$doc:meta])* $name:ident => $text:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self) -> Option<&str> {
                self.get(Text::$text)
            }
        )*
    };
}

impl SourceRec {
    fn get(&self, t: Text) -> Option<&str> {
        let k = t as usize;
        if self.present & (1 << k) == 0 {
            return None;
        }
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        self.text.get(start..self.ends[k] as usize)
    }

    /// Name as held.
    pub fn name(&self) -> &str {
        self.get(Text::Name).unwrap_or_default()
    }

    text_values! {
        /// M/F.
        gender => Gender,
        /// ISO date.
        birth_date => BirthDate,
        /// Standardised resident id (valid or upgraded only).
        id_no => IdNo,
        /// Raw id as held (may fail its check digit).
        id_raw => IdRaw,
        /// Standardised credit code.
        credit_code => CreditCode,
        /// Standardised mobile.
        mobile => Mobile,
        /// E-mail.
        email => Email,
        /// Address as held.
        address => Address,
        /// Industry.
        industry => Industry,
    }
}

/// The resolution of one record.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// Source record.
    pub record_id: i64,
    /// Cluster key: the smallest record id in its cluster.
    pub cluster: i64,
    /// Best match probability to another record of its cluster (1 for deterministic links and singletons).
    pub score: f64,
    /// `deterministic`, `probabilistic` or `singleton`.
    pub rule: &'static str,
    /// Why: the record it was linked to and that pair's waterfall (JSON), for
    /// links this run made.
    pub evidence: Option<String>,
}

/// A surviving attribute value with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Survived {
    /// The value.
    pub value: String,
    /// Source record it came from.
    pub source_record_id: i64,
    /// Its system.
    pub system: String,
}

/// A golden record before it gets its customer id.
#[derive(Debug, Clone, Serialize)]
pub struct Golden {
    /// Cluster key.
    pub cluster: i64,
    /// Member records.
    pub records: Vec<i64>,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Attribute → survived value.
    pub attributes: BTreeMap<&'static str, Survived>,
    /// The existing customer id it keeps, if any.
    pub customer_id: Option<i64>,
    /// Other existing customers merged into it.
    pub absorbs: Vec<i64>,
}

/// A pair for a steward to decide.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewPair {
    /// Lower record id.
    pub left: i64,
    /// Higher record id.
    pub right: i64,
    /// Match probability.
    pub probability: f64,
    /// The pair's waterfall: prior, per field level, weight and
    /// term-frequency adjustment, total and probability.
    pub evidence: serde_json::Value,
}

/// One party type's matching run, kept until the golden records are
/// written: a link's evidence is explained from it when its cluster is
/// written, not held as text for every record meanwhile.
struct PartyRun {
    schema: Schema,
    ds: Dataset,
    outcome: Outcome,
    /// Dataset position → record index.
    index: Vec<u32>,
}

/// The pair a record was linked by: its party run and the pair's index in
/// that run's candidate pairs.
#[derive(Debug, Clone, Copy)]
struct Why {
    run: u8,
    pair: u32,
}

/// What resolution produced: clusters of records, built into golden records
/// one at a time ([`Resolution::clusters`]) so that writing them holds one
/// cluster's survivorship, not the whole bank's.
pub struct Resolution<'a> {
    records: &'a [SourceRec],
    previous: &'a HashMap<i64, i64>,
    /// Record indices grouped by cluster (clusters in order of their root).
    order: Vec<u32>,
    /// Where each cluster starts in `order`; `order.len()` last.
    bounds: Vec<u32>,
    /// Per record: the best link's probability and rule.
    best: Vec<(f64, &'static str)>,
    /// Per record: the pair this run linked it by.
    why: Vec<Option<Why>>,
    runs: Vec<PartyRun>,
    /// Uncertain pairs across clusters.
    pub review: Vec<ReviewPair>,
    /// Engine reports (persons, organisations).
    pub reports: Vec<crate::engine::Report>,
}

/// One cluster: its golden record and the links of its records.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The golden record.
    pub golden: Golden,
    /// Per member record.
    pub links: Vec<Link>,
}

impl ReviewPair {
    /// The pair as the review queue stores it: (left, right, probability,
    /// evidence as JSON).
    pub fn row(&self) -> (i64, i64, f64, String) {
        (
            self.left,
            self.right,
            self.probability,
            serde_json::to_string(&self.evidence).unwrap_or_default(),
        )
    }
}

impl Resolution<'_> {
    /// Per compared record: its id, party type, and its keys for
    /// per-record resolution ([`crate::engine::block::record_keys`]).
    pub fn record_keys(&self) -> impl Iterator<Item = RecordKeys> + '_ {
        self.runs.iter().flat_map(move |run| {
            let rules = crate::engine::block::rules(&run.schema);
            (0..run.ds.len()).map(move |pos| {
                let r = &self.records[run.index[pos] as usize];
                (
                    r.id,
                    r.party_type,
                    crate::engine::block::record_keys(&run.schema, &rules, &run.ds, pos),
                )
            })
        })
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Whether there are no clusters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every cluster in a stable order (by its root record), each built
    /// when it is reached.
    pub fn clusters(&self) -> impl Iterator<Item = Cluster> + '_ {
        (0..self.len()).map(|c| self.cluster(c))
    }

    fn cluster(&self, c: usize) -> Cluster {
        let group = &self.order[self.bounds[c] as usize..self.bounds[c + 1] as usize];
        let recs: Vec<&SourceRec> = group.iter().map(|&i| &self.records[i as usize]).collect();
        let key = recs.iter().map(|r| r.id).min().unwrap_or_default();
        let single = group.len() == 1;
        let links = group
            .iter()
            .map(|&i| {
                let i = i as usize;
                let (score, rule) = if single {
                    (1.0, "singleton")
                } else {
                    self.best[i]
                };
                Link {
                    record_id: self.records[i].id,
                    cluster: key,
                    score,
                    rule,
                    evidence: if single { None } else { self.evidence(i) },
                }
            })
            .collect();
        // Stable ids: keep the existing customer holding most of the records
        // (ties: the older, lower id); the other existing customers merge into it.
        let mut votes: BTreeMap<i64, usize> = BTreeMap::new();
        for r in &recs {
            if let Some(c) = self.previous.get(&r.id) {
                *votes.entry(*c).or_default() += 1;
            }
        }
        let keep = votes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(c, _)| *c);
        let absorbs = votes.keys().copied().filter(|c| Some(*c) != keep).collect();
        Cluster {
            golden: Golden {
                cluster: key,
                records: recs.iter().map(|r| r.id).collect(),
                party_type: recs[0].party_type.to_owned(),
                attributes: survive(&recs),
                customer_id: keep,
                absorbs,
            },
            links,
        }
    }

    /// Why record `i` was linked: the record it was linked to and that
    /// pair's waterfall (JSON), for links this run made.
    fn evidence(&self, i: usize) -> Option<String> {
        let why = self.why[i]?;
        let run = &self.runs[usize::from(why.run)];
        let k = why.pair as usize;
        let (a, b, _) = run.outcome.pairs[k];
        let (a, b) = (run.index[a as usize], run.index[b as usize]);
        let other = if a as usize == i { b } else { a };
        let waterfall = run.outcome.explain(&run.schema, &run.ds, k);
        Some(
            serde_json::json!({
                "linked_to": self.records[other as usize].id,
                "rule": self.best[i].1,
                "waterfall": compact(&waterfall),
            })
            .to_string(),
        )
    }
}

/// Thresholds of resolution.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Link at or above.
    pub link: f64,
    /// Review between this and `link`.
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            link: 0.99,
            review: 0.5,
        }
    }
}

fn field(column: &str, kind: FieldKind, tf: bool) -> FieldDef {
    FieldDef {
        name: None,
        column: column.to_owned(),
        kind,
        tf,
        distinct: false,
        or_column: None,
        depends_on: None,
    }
}

fn rule(keys: &[&str]) -> BlockRule {
    BlockRule {
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    }
}

/// The built-in schema for people.
pub fn person_schema() -> Schema {
    Schema {
        id_column: "id".into(),
        delimiter: ',',
        trim: true,
        fields: vec![
            field("name", FieldKind::Name, true),
            // Two valid, different resident ids are two people.
            FieldDef {
                distinct: true,
                ..field("id_no", FieldKind::ResidentId, false)
            },
            field("mobile", FieldKind::Mobile, false),
            field("birth_date", FieldKind::Date, false),
            field("gender", FieldKind::Exact, false),
            field("address", FieldKind::Address, false),
            field("email", FieldKind::Text, false),
        ],
        blocking: vec![
            rule(&["id_no"]),
            rule(&["mobile"]),
            rule(&["name:pinyin", "birth_date"]),
            rule(&["name:pinyin", "address"]),
            rule(&["birth_date", "address"]),
            rule(&["email"]),
        ],
        max_block: 500,
        threshold: 0.99,
        pair_floor: 0.5,
        group_agreement: 0.0,
    }
}

/// The built-in schema for organisations.
pub fn organisation_schema() -> Schema {
    Schema {
        id_column: "id".into(),
        delimiter: ',',
        trim: true,
        fields: vec![
            field("name", FieldKind::OrgName, true),
            // A trade name is registered once per city: when the names
            // agree, a shared city is measured among different companies.
            FieldDef {
                name: Some("city".into()),
                or_column: Some("address".into()),
                depends_on: Some("name".into()),
                ..field("name", FieldKind::OrgCity, false)
            },
            // A branch office's parent's city: two branches in one city of
            // parents in two cities are two parties (measured, like the
            // city, among different companies of one name).
            FieldDef {
                name: Some("parent_city".into()),
                depends_on: Some("name".into()),
                ..field("name", FieldKind::OrgParentCity, false)
            },
            // The kind of company the name declares (股份 or 有限责任).
            FieldDef {
                name: Some("form".into()),
                ..field("name", FieldKind::OrgForm, false)
            },
            // Two valid, different credit codes are two parties.
            FieldDef {
                distinct: true,
                ..field("credit_code", FieldKind::CreditCode, false)
            },
            field("address", FieldKind::Address, false),
            field("industry", FieldKind::Exact, false),
        ],
        // On the name without region and legal form: a shared suffix such
        // as 科技有限公司 is no reason to compare two companies.
        blocking: vec![
            rule(&["credit_code"]),
            // A code mistyped in one character keeps one of its parts.
            rule(&["credit_code:first13"]),
            rule(&["credit_code:last5"]),
            rule(&["name"]),
            rule(&["name:pinyin"]),
            rule(&["name:first3", "industry"]),
            rule(&["address"]),
        ],
        max_block: 500,
        threshold: 0.99,
        pair_floor: 0.5,
        // A company's records say little beyond the name: one link through
        // a mistyped name does not join two groups the rest keeps apart.
        group_agreement: 0.5,
    }
}

/// A record's value of a schema column (`None` for a column records do not
/// have; [`field_values`] is checked against both built-in schemas).
fn column_value<'a>(r: &'a SourceRec, column: &str) -> Option<&'a str> {
    match column {
        "name" => Some(r.name()),
        "id_no" => r.id_no().or(r.id_raw()),
        "mobile" => r.mobile(),
        "birth_date" => r.birth_date(),
        "gender" => r.gender(),
        "address" => r.address(),
        "email" => r.email(),
        "credit_code" => r.credit_code(),
        "industry" => r.industry(),
        _ => None,
    }
}

/// A record's raw values in the order of `schema`'s fields (what
/// `Dataset::push` reads, field by field), each from its field's column.
fn field_values<'a>(schema: &Schema, r: &'a SourceRec) -> Vec<Option<&'a str>> {
    schema
        .fields
        .iter()
        .map(|f| column_value(r, &f.column))
        .collect()
}

/// The built-in schema of a party type.
pub fn schema_of(party: &str) -> Schema {
    if party == "person" {
        person_schema()
    } else {
        organisation_schema()
    }
}

/// A record's keys for per-record resolution: (record id, party type, its
/// (kind, key) pairs).
pub type RecordKeys = (i64, &'static str, Vec<(u16, u64)>);

/// Records' keys for per-record resolution, computed as a run computes them
/// ([`crate::engine::block::record_keys`]).
pub fn keys_of(records: &[SourceRec]) -> Vec<RecordKeys> {
    let mut out = Vec::with_capacity(records.len());
    for party in ["person", "organisation"] {
        let schema = schema_of(party);
        let rules = crate::engine::block::rules(&schema);
        let mut ds = Dataset::new(schema.fields.len());
        let mut ids = Vec::new();
        for r in records.iter().filter(|r| r.party_type == party) {
            ds.push(&schema, r.id.to_string(), 0, &field_values(&schema, r));
            ids.push(r.id);
        }
        for (pos, id) in ids.into_iter().enumerate() {
            out.push((
                id,
                party,
                crate::engine::block::record_keys(&schema, &rules, &ds, pos),
            ));
        }
    }
    out
}

struct Dsu(Vec<usize>);

impl Dsu {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// A steward's decisions on pairs of records.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// Pairs a steward accepted: always linked.
    pub accepted: Vec<(i64, i64)>,
    /// Pairs a steward rejected (or split by an unmerge): never linked directly.
    pub rejected: HashSet<(i64, i64)>,
}

/// Resolves `records` given the previous links (`record id → customer id`).
///
/// `dirty` marks records that are new or changed since the last run: only
/// pairs with a dirty side are compared (incremental resolution); records
/// already linked stay linked unless a steward unmerges them.
pub fn resolve<'a>(
    records: &'a [SourceRec],
    previous: &'a HashMap<i64, i64>,
    dirty: &HashSet<i64>,
    decisions: &Decisions,
    t: Thresholds,
) -> Result<Resolution<'a>, EcifError> {
    resolve_with(records, previous, dirty, decisions, t, None)
}

/// The models a run learned, for resolving records between runs.
#[derive(Debug, Clone, Default)]
pub struct Fixed {
    /// Per party type (`person`, `organisation`): the model of the last run.
    pub models: HashMap<&'static str, Model>,
    /// Term frequency of a record's value in the whole population:
    /// (field index, record id) → frequency (0 when absent).
    pub frequency: HashMap<(usize, i64), f32>,
}

/// [`resolve`], with `fixed` models instead of learning (per-record
/// resolution of a neighbourhood: the new record and the records of the
/// customers it may belong to). A party type without a model is not
/// compared: its new records stay alone until the nightly run.
pub fn resolve_with<'a>(
    records: &'a [SourceRec],
    previous: &'a HashMap<i64, i64>,
    dirty: &HashSet<i64>,
    decisions: &Decisions,
    t: Thresholds,
    fixed: Option<&Fixed>,
) -> Result<Resolution<'a>, EcifError> {
    let mut dsu = Clusters::new(records.len());
    let mut best: Vec<(f64, &'static str)> = vec![(1.0, "singleton"); records.len()];
    let mut why: Vec<Option<Why>> = vec![None; records.len()];
    let mut review = Vec::new();
    let mut reports = Vec::new();
    let mut runs: Vec<PartyRun> = Vec::new();
    // Records already linked to one customer stay together.
    let mut first_of_customer: HashMap<i64, usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(c) = previous.get(&r.id) {
            match first_of_customer.get(c) {
                Some(&j) => {
                    dsu.join_unchecked(i as u32, j as u32);
                    best[i] = (1.0, "previous");
                }
                None => {
                    first_of_customer.insert(*c, i);
                }
            }
        }
    }
    let position: HashMap<i64, usize> =
        records.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    for (a, b) in &decisions.accepted {
        if let (Some(&i), Some(&j)) = (position.get(a), position.get(b)) {
            dsu.join_unchecked(i as u32, j as u32);
            best[i] = (1.0, "steward");
            best[j] = (1.0, "steward");
        }
    }
    for party in ["person", "organisation"] {
        let index: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].party_type == party)
            .collect();
        if index.len() < 2 {
            continue;
        }
        let schema = schema_of(party);
        let mut ds = Dataset::new(schema.fields.len());
        for &i in &index {
            let r = &records[i];
            ds.push(&schema, r.id.to_string(), 0, &field_values(&schema, r));
        }
        let focus: Option<Vec<bool>> = (!dirty.is_empty() || !previous.is_empty()).then(|| {
            index
                .iter()
                .map(|&i| dirty.contains(&records[i].id) || !previous.contains_key(&records[i].id))
                .collect()
        });
        // Everything in focus is no focus (the first run): compare once.
        let focus = focus.filter(|f: &Vec<bool>| f.iter().any(|x| !x));
        let limits = Limits {
            max_pairs: Some(2_000_000 + 100 * ds.len() as u64),
            ..Limits::default()
        };
        let outcome: Outcome = match fixed {
            None => run_focused(&schema, &ds, false, focus.as_deref(), limits)?,
            Some(fixed) => {
                let Some(model) = fixed.models.get(party) else {
                    continue;
                };
                let mut model = model.clone();
                model.frequency = schema
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(f, def)| {
                        def.tf.then(|| {
                            index
                                .iter()
                                .map(|&i| {
                                    fixed
                                        .frequency
                                        .get(&(f, records[i].id))
                                        .copied()
                                        .unwrap_or(0.0)
                                })
                                .collect()
                        })
                    })
                    .collect();
                run_with_model(&schema, &ds, focus.as_deref(), limits, model)?
            }
        };
        if u32::try_from(outcome.pairs.len()).is_err() {
            return Err(EcifError::Refused(format!(
                "{} candidate pairs of {party}s: more than one run can explain",
                outcome.pairs.len()
            )));
        }
        // Record index → index in this party's dataset.
        let mut local = vec![u32::MAX; records.len()];
        for (k, &i) in index.iter().enumerate() {
            local[i] = k as u32;
        }
        let pair = |x: u32, y: u32| {
            let (lx, ly) = (local[x as usize], local[y as usize]);
            if lx == u32::MAX || ly == u32::MAX {
                // Of the other party type: joined only by a steward.
                return Pair::Probability(1.0);
            }
            outcome.model.pair(&schema, &ds, lx as usize, ly as usize)
        };
        // Strongest first, so a chain is cut at its weakest link.
        let mut order: Vec<usize> = (0..outcome.pairs.len()).collect();
        order.sort_by(|&x, &y| {
            let (a, b) = (&outcome.pairs[x], &outcome.pairs[y]);
            b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1)))
        });
        for k in order {
            let (a, b, p) = outcome.pairs[k];
            let (ia, ib) = (index[a as usize], index[b as usize]);
            let (ra, rb) = (&records[ia], &records[ib]);
            let key = if ra.id < rb.id {
                (ra.id, rb.id)
            } else {
                (rb.id, ra.id)
            };
            if decisions.rejected.contains(&key) {
                continue;
            }
            // Two valid, different keys are two parties: GB 11643's check digit
            // catches every single-digit typo, and GB 32100's nearly all.
            let different_keys = match party {
                "person" => {
                    // Legacy 15-digit ids carry no check digit of their own.
                    let proven = |r: &SourceRec| {
                        r.id_raw().is_none_or(|raw| {
                            standardise::id_digits(raw).is_some_and(|d| d.len() == 18)
                        })
                    };
                    ra.id_no().is_some()
                        && rb.id_no().is_some()
                        && ra.id_no() != rb.id_no()
                        && proven(ra)
                        && proven(rb)
                }
                _ => {
                    ra.credit_code_ok
                        && rb.credit_code_ok
                        && ra.credit_code().is_some()
                        && rb.credit_code().is_some()
                        && ra.credit_code() != rb.credit_code()
                }
            };
            if different_keys {
                continue;
            }
            let deterministic = match party {
                "person" => ra.id_no().is_some() && ra.id_no() == rb.id_no(),
                _ => {
                    ra.credit_code_ok
                        && rb.credit_code_ok
                        && ra.credit_code().is_some()
                        && ra.credit_code() == rb.credit_code()
                }
            };
            let pattern = outcome.pattern(a, b);
            // Protection against a bad key: the same id on records whose names and
            // birth dates both disagree is not trusted; a steward decides.
            let name_differs = pattern
                .first()
                .is_some_and(|&l| l != crate::compare::NULL && l >= 3);
            let dob_differs = party == "person"
                && pattern
                    .get(3)
                    .is_some_and(|&l| l != crate::compare::NULL && l >= 2);
            let suspicious_key =
                deterministic && name_differs && (dob_differs || party == "organisation");
            let p = if suspicious_key {
                p.min(t.link - 1e-6).max(t.review)
            } else if deterministic {
                1.0
            } else {
                p
            };
            if p >= t.link {
                let agreement = if deterministic {
                    0.0
                } else {
                    schema.group_agreement
                };
                if dsu.join(ia as u32, ib as u32, agreement, pair) == Join::Refused {
                    continue;
                }
                let rule = if deterministic {
                    "deterministic"
                } else {
                    "probabilistic"
                };
                for r in [ia, ib] {
                    if best[r].1 == "singleton"
                        || (best[r].1 == "probabilistic" && rule == "deterministic")
                        || p > best[r].0 && best[r].1 == "probabilistic"
                    {
                        best[r] = (p, rule);
                        why[r] = Some(Why {
                            run: runs.len() as u8,
                            pair: k as u32,
                        });
                    }
                }
            } else if p >= t.review {
                let mut waterfall = outcome.explain(&schema, &ds, k);
                waterfall.probability = p;
                let evidence = serde_json::to_value(&waterfall).unwrap_or_default();
                let (left, right) = if ra.id < rb.id {
                    (ra.id, rb.id)
                } else {
                    (rb.id, ra.id)
                };
                review.push(ReviewPair {
                    left,
                    right,
                    probability: p,
                    evidence,
                });
            }
        }
        reports.push(outcome.report.clone());
        runs.push(PartyRun {
            schema,
            ds,
            outcome,
            index: index.iter().map(|&i| i as u32).collect(),
        });
    }
    // Review only pairs that did not end up in one cluster anyway.
    review.retain(|p| dsu.find(position[&p.left] as u32) != dsu.find(position[&p.right] as u32));
    review.sort_by_key(|p| (p.left, p.right));
    review.dedup_by(|a, b| (a.left, a.right) == (b.left, b.right));

    // Clusters in order of their root, members in record order.
    let roots = dsu.roots();
    let mut order: Vec<u32> = (0..records.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (roots[i as usize], i));
    let mut bounds: Vec<u32> = Vec::new();
    for (at, &i) in order.iter().enumerate() {
        if at == 0 || roots[i as usize] != roots[order[at - 1] as usize] {
            bounds.push(at as u32);
        }
    }
    bounds.push(order.len() as u32);
    Ok(Resolution {
        records,
        previous,
        order,
        bounds,
        best,
        why,
        runs,
        review,
        reports,
    })
}

/// A waterfall for storing beside a link: levels and weights rounded, missing fields left out.
fn compact(w: &crate::engine::explain::Waterfall) -> serde_json::Value {
    let round = |x: f64| (x * 100.0).round() / 100.0;
    serde_json::json!({
        "prior": round(w.prior),
        "total": round(w.total),
        "steps": w.steps.iter().filter(|s| s.level != "missing").map(|s| serde_json::json!({
            "field": s.field, "level": s.level, "weight": round(s.weight), "tf": round(s.tf)
        })).collect::<Vec<_>>(),
    })
}

/// Survivorship: per attribute, the value from the most trusted system, then
/// the most recent batch, then the most complete value; ids prefer values
/// that passed their check digit.
pub fn survive(records: &[&SourceRec]) -> BTreeMap<&'static str, Survived> {
    type Getter = fn(&SourceRec) -> Option<String>;
    let attributes: [(&'static str, Getter); 9] = [
        ("name", |r| {
            standardise::text(r.name()).map(|_| r.name().trim().to_owned())
        }),
        ("gender", |r| r.gender().map(str::to_owned)),
        ("birth_date", |r| r.birth_date().map(str::to_owned)),
        ("id_no", |r| r.id_no().map(str::to_owned)),
        ("credit_code", |r| {
            r.credit_code()
                .filter(|_| r.credit_code_ok)
                .or_else(|| r.credit_code())
                .map(str::to_owned)
        }),
        ("mobile", |r| r.mobile().map(str::to_owned)),
        ("email", |r| r.email().map(str::to_owned)),
        ("address", |r| r.address().map(str::to_owned)),
        ("industry", |r| r.industry().map(str::to_owned)),
    ];
    let mut out = BTreeMap::new();
    for (name, get) in attributes {
        let winner = records
            .iter()
            .filter_map(|r| get(r).filter(|v| !v.is_empty()).map(|v| (r, v)))
            .max_by(|(a, va), (b, vb)| {
                a.trust
                    .cmp(&b.trust)
                    .then(a.batch_id.cmp(&b.batch_id))
                    .then(va.chars().count().cmp(&vb.chars().count()))
                    .then(b.id.cmp(&a.id))
            });
        if let Some((r, value)) = winner {
            out.insert(
                name,
                Survived {
                    value,
                    source_record_id: r.id,
                    system: r.system.to_string(),
                },
            );
        }
    }
    out
}

/// Households: people sharing a standardised address who share a surname or
/// are declared relatives. Returns groups of record-cluster keys (≥ 2 members).
pub fn households(
    people: &[(i64, String, Option<String>)],
    declared: &[(i64, i64)],
) -> Vec<Vec<i64>> {
    // people: (customer key, name, address)
    let index: HashMap<i64, usize> = people.iter().enumerate().map(|(i, p)| (p.0, i)).collect();
    let mut by_address: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, _, address)) in people.iter().enumerate() {
        if let Some(a) = address.as_deref().and_then(standardise::address) {
            by_address.entry(a).or_default().push(i);
        }
    }
    let related: HashSet<(i64, i64)> = declared
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .collect();
    let mut dsu = Dsu((0..people.len()).collect());
    for group in by_address.values() {
        if group.len() < 2 || group.len() > 12 {
            continue;
        }
        for (x, &i) in group.iter().enumerate() {
            for &j in &group[x + 1..] {
                let same_surname = surname(&people[i].1) == surname(&people[j].1);
                if same_surname || related.contains(&(people[i].0, people[j].0)) {
                    dsu.union(i, j);
                }
            }
        }
    }
    // Declared relatives at the same address even if the address was written differently.
    for &(a, b) in declared {
        if let (Some(&i), Some(&j)) = (index.get(&a), index.get(&b)) {
            let (ai, aj) = (
                people[i].2.as_deref().and_then(standardise::address),
                people[j].2.as_deref().and_then(standardise::address),
            );
            if ai.is_some() && ai == aj {
                dsu.union(i, j);
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
    for (i, person) in people.iter().enumerate() {
        let root = dsu.find(i);
        groups.entry(root).or_default().push(person.0);
    }
    groups.into_values().filter(|g| g.len() >= 2).collect()
}

/// The surname of a Chinese name (two characters for the common compound surnames).
pub fn surname(name: &str) -> String {
    let n = standardise::name(name).unwrap_or_default();
    const COMPOUND: [&str; 10] = [
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
    ];
    if let Some(c) = COMPOUND.iter().find(|c| n.starts_with(*c)) {
        return (*c).to_owned();
    }
    if n.chars().next().is_some_and(standardise::is_han) {
        n.chars().take(1).collect()
    } else {
        n.split_whitespace().last().unwrap_or("").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(r: &Resolution<'_>) -> Vec<Link> {
        r.clusters().flat_map(|c| c.links).collect()
    }

    fn goldens(r: &Resolution<'_>) -> Vec<Golden> {
        r.clusters().map(|c| c.golden).collect()
    }

    fn person(
        id: i64,
        system: &str,
        name: &str,
        id_no: Option<&str>,
        mobile: Option<&str>,
        dob: &str,
        trust: i64,
    ) -> SourceFields {
        SourceFields {
            id,
            system: system.into(),
            party_type: "person",
            name: name.into(),
            birth_date: Some(dob.into()),
            id_no: id_no.map(Into::into),
            mobile: mobile.map(Into::into),
            address: Some("浙江省杭州市西湖区文三路12号".into()),
            batch_id: 1,
            trust,
            ..Default::default()
        }
    }

    #[test]
    fn a_packed_record_gives_back_each_value() {
        let r: SourceRec = SourceFields {
            id: 3,
            system: "core".into(),
            party_type: "person",
            name: "王芳".into(),
            gender: Some(String::new()),
            id_no: Some("110101199003077777".into()),
            mobile: Some("13900001111".into()),
            address: Some("北京市东城区东华门街道".into()),
            industry: Some("x".into()),
            ..Default::default()
        }
        .into();
        assert_eq!(r.name(), "王芳");
        assert_eq!(r.gender(), Some(""), "empty is not missing");
        assert_eq!(r.birth_date(), None);
        assert_eq!(r.id_no(), Some("110101199003077777"));
        assert_eq!(r.id_raw(), None);
        assert_eq!(r.credit_code(), None);
        assert_eq!(r.mobile(), Some("13900001111"));
        assert_eq!(r.email(), None);
        assert_eq!(r.address(), Some("北京市东城区东华门街道"));
        assert_eq!(r.industry(), Some("x"));
        let nameless: SourceRec = SourceFields::default().into();
        assert_eq!((nameless.name(), nameless.industry()), ("", None));
    }

    /// The columns [`column_value`] knows.
    const COLUMNS: [&str; 9] = [
        "name",
        "id_no",
        "mobile",
        "birth_date",
        "gender",
        "address",
        "email",
        "credit_code",
        "industry",
    ];

    #[test]
    fn every_field_of_the_built_in_schemas_reads_its_own_column() {
        for schema in [person_schema(), organisation_schema()] {
            for f in &schema.fields {
                assert!(COLUMNS.contains(&f.column.as_str()), "{}", f.column);
                if let Some(or) = &f.or_column {
                    assert!(COLUMNS.contains(&or.as_str()), "{or}");
                }
            }
        }
        // A company's values land in their fields (they once shifted when
        // fields were added: the industry was blocked on as the credit code).
        let company: SourceRec = SourceFields {
            id: 1,
            party_type: "organisation",
            name: "杭州百川卓纺织有限公司".into(),
            credit_code: Some("91330110142478624K".into()),
            credit_code_ok: true,
            address: Some("浙江省杭州市余杭区团结东路21号".into()),
            industry: Some("C 制造业".into()),
            ..Default::default()
        }
        .into();
        let schema = organisation_schema();
        let values = field_values(&schema, &company);
        assert_eq!(values.len(), schema.fields.len());
        for (f, v) in schema.fields.iter().zip(&values) {
            assert_eq!(*v, column_value(&company, &f.column), "{}", f.column);
        }
        let at = |kind: FieldKind| {
            schema
                .fields
                .iter()
                .position(|f| f.kind == kind)
                .map(|i| values[i])
        };
        assert_eq!(at(FieldKind::CreditCode), Some(Some("91330110142478624K")));
        assert_eq!(
            at(FieldKind::Address),
            Some(Some("浙江省杭州市余杭区团结东路21号"))
        );
        assert_eq!(at(FieldKind::Exact), Some(Some("C 制造业")));
    }

    #[test]
    fn links_by_id_and_keeps_ids_stable() {
        let recs = vec![
            person(
                1,
                "core",
                "张三",
                Some("11010519491231002X"),
                Some("13812345678"),
                "1949-12-31",
                90,
            )
            .into(),
            person(
                2,
                "card",
                "张叁",
                Some("11010519491231002X"),
                None,
                "1949-12-31",
                70,
            )
            .into(),
            person(
                3,
                "core",
                "李四",
                Some("110105198001010012"),
                Some("13900000000"),
                "1980-01-01",
                90,
            )
            .into(),
        ];
        let previous = HashMap::new();
        let r = resolve(
            &recs,
            &previous,
            &HashSet::new(),
            &Decisions::default(),
            Thresholds::default(),
        )
        .unwrap();
        let c: HashMap<i64, i64> = links(&r).iter().map(|l| (l.record_id, l.cluster)).collect();
        assert_eq!(c[&1], c[&2]);
        assert_ne!(c[&1], c[&3]);
        let g = goldens(&r)
            .into_iter()
            .find(|g| g.records.contains(&1))
            .unwrap();
        assert_eq!(
            g.attributes["name"].value, "张三",
            "the core system is trusted more than cards"
        );
        assert_eq!(g.attributes["mobile"].source_record_id, 1);

        // Next run: customer 500 holds records 1 and 2, customer 501 holds 3; a new record 4 joins 500.
        let previous = HashMap::from([(1, 500), (2, 500), (3, 501)]);
        let mut recs2 = recs.clone();
        recs2.push(
            person(
                4,
                "wealth",
                "张三",
                None,
                Some("13812345678"),
                "1949-12-31",
                75,
            )
            .into(),
        );
        let r2 = resolve(
            &recs2,
            &previous,
            &HashSet::from([4]),
            &Decisions::default(),
            Thresholds::default(),
        )
        .unwrap();
        let g = goldens(&r2)
            .into_iter()
            .find(|g| g.records.contains(&4))
            .unwrap();
        assert_eq!(g.customer_id, Some(500));
        assert!(g.records.contains(&1));
        let g3 = goldens(&r2)
            .into_iter()
            .find(|g| g.records.contains(&3))
            .unwrap();
        assert_eq!(g3.customer_id, Some(501));
    }

    #[test]
    fn a_shared_id_on_clearly_different_people_goes_to_review() {
        let recs = vec![
            person(
                1,
                "core",
                "王芳",
                Some("11010519491231002X"),
                Some("13812345678"),
                "1949-12-31",
                90,
            )
            .into(),
            person(
                2,
                "card",
                "刘建国",
                Some("11010519491231002X"),
                Some("13700000000"),
                "1975-06-02",
                70,
            )
            .into(),
        ];
        let previous = HashMap::new();
        let r = resolve(
            &recs,
            &previous,
            &HashSet::new(),
            &Decisions::default(),
            Thresholds::default(),
        )
        .unwrap();
        let l = links(&r);
        assert_ne!(l[0].cluster, l[1].cluster);
        assert_eq!(r.review.len(), 1);
        let steps = r.review[0].evidence["steps"].as_array().unwrap();
        let id = steps.iter().find(|s| s["field"] == "id_no").unwrap();
        assert_eq!(id["level"], "exact");
        assert!(id["weight"].as_f64().unwrap() > 0.0, "{id}");
    }

    #[test]
    fn two_valid_different_ids_never_link() {
        // Father and son with homophone names at one address, same mobile.
        let mut a = person(
            1,
            "core",
            "张永",
            Some("320102200106070015"),
            Some("13812345678"),
            "2001-06-07",
            90,
        );
        let mut b = person(
            2,
            "core",
            "张勇",
            Some("320105197506140013"),
            Some("13812345678"),
            "1975-06-14",
            90,
        );
        a.email = Some("x@qq.com".into());
        b.email = Some("x@qq.com".into());
        let recs: [SourceRec; 2] = [a.into(), b.into()];
        let previous = HashMap::new();
        let r = resolve(
            &recs,
            &previous,
            &HashSet::new(),
            &Decisions::default(),
            Thresholds::default(),
        )
        .unwrap();
        let l = links(&r);
        assert_ne!(l[0].cluster, l[1].cluster);
    }

    #[test]
    fn households_need_an_address_and_a_surname_or_a_declaration() {
        let people = vec![
            (
                1,
                "张伟".to_owned(),
                Some("杭州市西湖区文三路12号3幢501室".to_owned()),
            ),
            (
                2,
                "张小明".to_owned(),
                Some("浙江省杭州市西湖区文三路12号3栋501室".to_owned()),
            ),
            (
                3,
                "李娜".to_owned(),
                Some("西湖区文三路12号3幢501室".to_owned()),
            ),
            (
                4,
                "王五".to_owned(),
                Some("西湖区文三路12号3幢501室".to_owned()),
            ),
            (5, "张三".to_owned(), Some("朝阳区建国路1号".to_owned())),
        ];
        let h = households(&people, &[(3, 1)]);
        assert_eq!(h, vec![vec![1, 2, 3]]);
        assert_eq!(surname("欧阳娜娜"), "欧阳");
    }
}
