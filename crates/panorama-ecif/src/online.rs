//! Per-record resolution between nightly runs: a source record that arrives
//! as an event is resolved against the golden records at once, with the
//! models the last resolution learned and the same rules as a run — linked
//! to a customer, a new customer, or pairs for the steward's queue.
//!
//! The record's candidates are found by the keys the last run kept
//! (`ecif_key`: one per blocking rule, and its name's frequency key), never
//! by reading the bank. Its neighbourhood — the record, its candidates, and
//! every record of their customers — is then resolved by
//! [`crate::resolve::resolve_with`] exactly as the nightly run resolves the
//! whole bank (the same blocking, comparison, term-frequency weights from
//! the whole population, clustering that does not chain strangers,
//! survivorship, stable ids, merges with evidence), and the golden records
//! of the customers involved are written again.

use std::collections::{BTreeSet, HashMap, HashSet};

use panorama_store::ecif as q;
use panorama_store::{AnyConnection, Store};
use serde::Serialize;

use crate::engine::block::TF_KIND;
use crate::engine::explain::{Model, StoredModel};
use crate::resolve::{Fixed, SourceRec, Thresholds, keys_of, resolve_with, schema_of};
use crate::store::{ActionError, Result, load_decisions, to_source, write_goldens};

/// The learned models of the last resolution, loaded once and used for
/// every record until the next run.
#[derive(Debug, Clone)]
pub struct Online {
    /// The resolution whose models these are.
    pub run: i64,
    models: HashMap<&'static str, Model>,
    /// Records holding a value, per (party type, term-frequency kind).
    totals: HashMap<(String, i64), i64>,
}

/// What per-record resolution did with one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved {
    /// The source record.
    pub record_id: i64,
    /// Its customer now.
    pub customer_id: i64,
    /// `linked` (to an existing customer), `new` (a customer of its own),
    /// or `unchanged` (a changed record that stays where it was).
    pub outcome: &'static str,
    /// How it is linked: `deterministic`, `probabilistic`, `previous`,
    /// `steward` or `singleton`.
    pub rule: &'static str,
    /// Its best match probability within its customer (1 for a singleton).
    pub score: f64,
    /// Candidate records found by its keys.
    pub candidates: usize,
    /// Uncertain pairs it put on the steward's queue.
    pub review_pairs: usize,
    /// Customers merged into its customer because it joined them.
    pub merged: Vec<i64>,
}

impl Online {
    /// The models of the newest resolution that was not refused, or why
    /// there are none (no resolution has run; its report holds no model).
    pub async fn load(conn: &mut AnyConnection) -> Result<Online> {
        let Some((run, report)) = q::last_resolution_report(conn).await? else {
            return Err(ActionError::Refused(
                "no resolution has run yet: run `panorama resolve` once before resolving records as they arrive".into(),
            ));
        };
        let models = models_of(&report).map_err(ActionError::Refused)?;
        let totals = q::key_totals(conn, i64::from(TF_KIND))
            .await?
            .into_iter()
            .map(|(p, k, n)| ((p, k), n))
            .collect();
        Ok(Online {
            run,
            models,
            totals,
        })
    }

    /// Party types with a model.
    pub fn parties(&self) -> Vec<&'static str> {
        let mut p: Vec<&'static str> = self.models.keys().copied().collect();
        p.sort_unstable();
        p
    }

    /// Resolves source record `record_id` (just landed or changed) inside
    /// the caller's transaction and writes the golden records involved.
    pub async fn resolve_record(
        &self,
        tx: &mut AnyConnection,
        store: &Store,
        record_id: i64,
    ) -> Result<Resolved> {
        let mut systems = HashMap::new();
        let Some(row) = q::records_by_ids(&mut *tx, &[record_id]).await?.pop() else {
            return Err(ActionError::Refused(format!(
                "source record {record_id} does not exist"
            )));
        };
        let record = to_source(row, &mut systems);
        let party = record.party_type;
        let schema = schema_of(party);
        let own_keys = keys_of(std::slice::from_ref(&record))
            .pop()
            .map(|(_, _, k)| k)
            .unwrap_or_default();
        // Its keys first: the counts below include it, as a run's would.
        let stored: Vec<q::RecordKey<'_>> = own_keys
            .iter()
            .map(|&(k, h)| (record_id, party, i64::from(k), h as i64))
            .collect();
        q::replace_record_keys(&mut *tx, store.backend(), &[record_id], &stored).await?;

        // Candidates: the records sharing a block key, blocks a run would
        // skip as too large skipped too.
        let max_block = schema.max_block as i64;
        let mut candidates: BTreeSet<i64> = BTreeSet::new();
        for &(kind, key) in own_keys.iter().filter(|(k, _)| *k < TF_KIND) {
            let block =
                q::records_with_key(&mut *tx, party, i64::from(kind), key as i64, max_block + 1)
                    .await?;
            if block.len() as i64 > max_block {
                continue;
            }
            candidates.extend(block.into_iter().filter(|r| *r != record_id));
        }
        let n_candidates = candidates.len();

        // The neighbourhood: the record, its candidates, and every record
        // of the customers they (and it, if it was linked) belong to.
        let lookup: Vec<i64> = candidates
            .iter()
            .copied()
            .chain(std::iter::once(record_id))
            .collect();
        let linked = q::customers_of_records(&mut *tx, &lookup).await?;
        let mut customers: Vec<i64> = linked.values().copied().collect();
        customers.sort_unstable();
        customers.dedup();
        let (rows, previous) = q::records_of_customers(&mut *tx, &customers).await?;
        let mut records: Vec<SourceRec> = rows
            .into_iter()
            .map(|r| to_source(r, &mut systems))
            .collect();
        let have: HashSet<i64> = records.iter().map(|r| r.id).collect();
        let unlinked: Vec<i64> = candidates
            .iter()
            .copied()
            .filter(|c| !have.contains(c))
            .collect();
        records.extend(
            q::records_by_ids(&mut *tx, &unlinked)
                .await?
                .into_iter()
                .map(|r| to_source(r, &mut systems)),
        );
        if !have.contains(&record_id) {
            records.push(record);
        }
        records.sort_by_key(|r| r.id);

        let frequency = self.frequencies(&mut *tx, &records).await?;
        let fixed = Fixed {
            models: self.models.clone(),
            frequency,
        };
        let decisions = load_decisions(&mut *tx).await?;
        let dirty: HashSet<i64> = HashSet::from([record_id]);
        let resolution = resolve_with(
            &records,
            &previous,
            &dirty,
            &decisions,
            Thresholds::default(),
            Some(&fixed),
        )
        .map_err(|e| ActionError::Refused(e.to_string()))?;

        let mut counts = q::RunCounts::default();
        let written = write_goldens(
            &mut *tx,
            store,
            &resolution,
            &previous,
            &dirty,
            Some(&customers),
            &mut counts,
        )
        .await?;
        let review: Vec<(i64, i64, f64, String)> = resolution
            .review
            .iter()
            .filter(|p| p.left == record_id || p.right == record_id)
            .map(|p| p.row())
            .collect();
        q::write_review(&mut *tx, store.backend(), &review).await?;
        let Some(&customer_id) = written.customer_of_record.get(&record_id) else {
            return Err(ActionError::Refused(format!(
                "source record {record_id} was not written to a customer"
            )));
        };
        let touched = written.touched(&customers);
        // The new customer's accounts and home branch (the scope's were
        // done with the golden records).
        q::link_accounts(&mut *tx, Some(&touched)).await?;
        q::assign_home_branches(&mut *tx, Some(&touched)).await?;
        panorama_store::names::rekey(&mut *tx, store.backend(), &touched).await?;

        let link = resolution
            .clusters()
            .flat_map(|c| c.links)
            .find(|l| l.record_id == record_id);
        let (rule, score) = link.map_or(("singleton", 1.0), |l| (l.rule, l.score));
        let before = previous.get(&record_id).copied();
        let outcome = match before {
            Some(c) if c == customer_id => "unchanged",
            _ if customers.contains(&customer_id) => "linked",
            _ => "new",
        };
        let merged: Vec<i64> = customers
            .iter()
            .copied()
            .filter(|c| {
                *c != customer_id
                    && previous.values().any(|p| p == c)
                    && written.customer_of_record.values().all(|w| w != c)
            })
            .collect();
        Ok(Resolved {
            record_id,
            customer_id,
            outcome,
            rule,
            score,
            candidates: n_candidates,
            review_pairs: review.len(),
            merged,
        })
    }

    /// Each record's term frequencies in the whole population, from the
    /// kept keys: (field, record) → records with its value / records with
    /// a value.
    async fn frequencies(
        &self,
        conn: &mut AnyConnection,
        records: &[SourceRec],
    ) -> Result<HashMap<(usize, i64), f32>> {
        let mut out = HashMap::new();
        let mut counted: HashMap<(&'static str, u16, u64), i64> = HashMap::new();
        for (id, party, keys) in keys_of(records) {
            for (kind, key) in keys.into_iter().filter(|(k, _)| *k >= TF_KIND) {
                let n = match counted.get(&(party, kind, key)) {
                    Some(n) => *n,
                    None => {
                        let n =
                            q::key_count(&mut *conn, party, i64::from(kind), key as i64).await?;
                        counted.insert((party, kind, key), n);
                        n
                    }
                };
                let total = self
                    .totals
                    .get(&(party.to_owned(), i64::from(kind)))
                    .copied()
                    .unwrap_or(0)
                    .max(n)
                    .max(1);
                out.insert(
                    (usize::from(kind - TF_KIND), id),
                    n.max(1) as f32 / total as f32,
                );
            }
        }
        Ok(out)
    }
}

/// The models in a resolution's report (`{"engine": [report, …]}`), each
/// matched to its party type's schema by its fields.
fn models_of(report: &str) -> std::result::Result<HashMap<&'static str, Model>, String> {
    #[derive(serde::Deserialize)]
    struct Run {
        #[serde(default)]
        engine: Vec<StoredModel>,
    }
    let run: Run = serde_json::from_str(report)
        .map_err(|e| format!("the last resolution's report is unreadable: {e}"))?;
    let mut models = HashMap::new();
    for stored in &run.engine {
        for party in ["person", "organisation"] {
            if let Ok(model) = Model::from_stored(&schema_of(party), stored) {
                models.insert(party, model);
            }
        }
    }
    if models.is_empty() {
        return Err(
            "the last resolution learned no model (too few records of any party type): \
                    records arriving now wait for the next `panorama resolve`"
                .into(),
        );
    }
    Ok(models)
}
