//! ECIF over the store: `panorama resolve` and the steward's actions (review
//! accept/reject, unmerge), gluing the pure resolution in `panorama-ecif` to
//! the queries in `panorama_store::ecif`, all in one transaction per action.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use futures_util::TryStreamExt;
use panorama_store::ecif::{self as q, CustomerWrite, HouseholdWrite, RunCounts};
use panorama_store::{Store, StoreError, memory};
use serde_json::json;

use crate::resolve::{Decisions, SourceFields, SourceRec, Thresholds, households, resolve};

/// Why a resolution or a steward's action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request cannot be carried out (no such review, already undone, …).
    #[error("{0}")]
    Refused(String),
}

impl From<sqlx::Error> for ActionError {
    fn from(e: sqlx::Error) -> Self {
        ActionError::Store(StoreError::Query(e))
    }
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, ActionError>;

macro_rules! refuse {
    ($($arg:tt)*) => {
        return Err(ActionError::Refused(format!($($arg)*)))
    };
}

/// What a resolution did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResolveSummary {
    /// Counts recorded for the run.
    pub counts: RunCounts,
    /// Wall time.
    pub seconds: f64,
    /// Seconds per step.
    pub steps: Vec<(String, f64)>,
    /// Peak resident memory per step, in MB (0 where the system does not say).
    pub peak_mb: Vec<(String, f64)>,
}

/// Each step's time and peak memory.
struct Laps {
    clock: Instant,
    steps: Vec<(String, f64)>,
    peak_mb: Vec<(String, f64)>,
}

impl Laps {
    fn start() -> Self {
        memory::reset_peak();
        Laps {
            clock: Instant::now(),
            steps: Vec::new(),
            peak_mb: Vec::new(),
        }
    }

    fn lap(&mut self, name: &str) {
        self.steps
            .push((name.to_owned(), self.clock.elapsed().as_secs_f64()));
        self.peak_mb.push((name.to_owned(), memory::peak_rss_mb()));
        memory::reset_peak();
        self.clock = Instant::now();
    }
}

/// Packs a stored record for resolution; `systems` shares each system's code
/// among its records.
pub(crate) fn to_source(r: q::RecordRow, systems: &mut HashMap<String, Arc<str>>) -> SourceRec {
    let system = match systems.get(&r.system) {
        Some(s) => s.clone(),
        None => {
            let s: Arc<str> = r.system.as_str().into();
            systems.insert(r.system, s.clone());
            s
        }
    };
    SourceFields {
        id: r.id,
        system,
        party_type: if r.party_type == "person" {
            "person"
        } else {
            "organisation"
        },
        name: r.name,
        gender: r.gender,
        birth_date: r.birth_date,
        id_no: r.id_no_std,
        id_raw: r.id_no,
        credit_code: r.credit_code_std,
        credit_code_ok: r.credit_code_status == "valid",
        mobile: r.mobile_std,
        email: r.email,
        address: r.address,
        industry: r.industry,
        batch_id: r.batch_id,
        trust: r.trust,
    }
    .into()
}

/// Resolves the store's source records into customers. Incremental unless
/// `full`: only new or changed records are compared; previous links stay.
///
/// The matching runs on this thread via `block_in_place`, so it must be
/// called from a multi-threaded tokio runtime (the CLI's and the tests' are).
pub async fn run_resolve(store: &Store, full: bool) -> Result<ResolveSummary> {
    let started = Instant::now();
    let mut laps = Laps::start();
    let mut systems = HashMap::new();
    let records: Vec<SourceRec> = q::records(store)
        .map_ok(|r| to_source(r, &mut systems))
        .try_collect()
        .await?;
    let previous = q::previous_links(store).await?;
    let last = q::last_resolved_batch(store).await?;
    let max_batch = records.iter().map(|r| r.batch_id).max().unwrap_or(0);
    let dirty: HashSet<i64> = records
        .iter()
        .filter(|r| full || !previous.contains_key(&r.id) || r.batch_id > last)
        .map(|r| r.id)
        .collect();
    let decisions = load_decisions(&mut *store.acquire().await?).await?;
    laps.lap("load");
    let mut resolution = match tokio::task::block_in_place(|| {
        resolve(
            &records,
            &previous,
            &dirty,
            &decisions,
            Thresholds::default(),
        )
    }) {
        Ok(r) => r,
        Err(e) => {
            // Nothing of the run is written but its refusal, so the
            // stewards see why the customers did not change.
            let report = match &e {
                crate::EcifError::Guard { failed, report } => {
                    json!({"refused": failed, "report": report}).to_string()
                }
                other => json!({"refused": [other.to_string()]}).to_string(),
            };
            let counts = RunCounts {
                mode: "refused".into(),
                max_batch_id: last,
                records: records.len() as i64,
                ..Default::default()
            };
            let mut tx = store.begin().await?;
            q::record_run(&mut tx, &counts, &report).await?;
            tx.commit().await?;
            refuse!("resolve refused, nothing was changed: {e}");
        }
    };
    laps.lap("match");

    let mut tx = store.begin().await?;
    let mut counts = RunCounts {
        mode: if full { "full" } else { "incremental" }.into(),
        max_batch_id: max_batch,
        records: records.len() as i64,
        ..Default::default()
    };
    let Written {
        customer_of_record,
        persons,
    } = write_goldens(
        &mut tx,
        store,
        &resolution,
        &previous,
        &dirty,
        None,
        &mut counts,
    )
    .await?;
    let review: Vec<(i64, i64, f64, String)> = resolution.review.iter().map(|p| p.row()).collect();
    q::write_review(&mut tx, store.backend(), &review).await?;
    laps.lap("write customers");
    // Every record's keys after a full run (or the first since keys were
    // kept), else the changed records': what per-record resolution finds
    // candidates by until the next run.
    let all_keys = full || !q::has_record_keys(&mut tx).await?;
    write_keys(&mut tx, store, &resolution, (!all_keys).then_some(&dirty)).await?;
    // What households need was kept (customers of records, people's names
    // and addresses); the records and their matching go.
    let engine_reports = std::mem::take(&mut resolution.reports);
    drop(resolution);
    drop((review, records, dirty, previous));
    laps.lap("record keys");

    // Households from survived names and addresses, and declared family ties.
    let family: Vec<(i64, i64, String)> = q::declared_relationships(store)
        .await?
        .into_iter()
        .filter(|(_, _, k)| matches!(k.as_str(), "spouse" | "parent" | "child" | "sibling"))
        .filter_map(|(a, b, k)| {
            Some((
                *customer_of_record.get(&a)?,
                *customer_of_record.get(&b)?,
                k,
            ))
        })
        .collect();
    let pairs: Vec<(i64, i64)> = family.iter().map(|(a, b, _)| (*a, *b)).collect();
    let groups = households(&persons, &pairs);
    let (as_of, aum) = q::customer_aum(&mut tx).await?;
    let address_of: HashMap<i64, Option<String>> =
        persons.iter().map(|(id, _, a)| (*id, a.clone())).collect();
    let writes: Vec<HouseholdWrite> = groups
        .iter()
        .map(|members| {
            // Head: the member with the most assets (ties: the lower id).
            let head = *members
                .iter()
                .max_by_key(|m| (aum.get(m).copied().unwrap_or(0), -**m))
                .unwrap_or(&members[0]);
            let role = |m: i64| {
                if m == head {
                    return "head".to_owned();
                }
                family
                    .iter()
                    .find(|(a, b, _)| (*a == m && *b == head) || (*a == head && *b == m))
                    .map_or_else(
                        || "member".to_owned(),
                        |(a, _, k)| {
                            if *a == m {
                                k.clone()
                            } else {
                                inverse(k).to_owned()
                            }
                        },
                    )
            };
            HouseholdWrite {
                head,
                members: members.iter().map(|m| (*m, role(*m))).collect(),
                address: address_of.get(&head).cloned().flatten(),
                aum_minor: members
                    .iter()
                    .map(|m| aum.get(m).copied().unwrap_or(0))
                    .sum(),
            }
        })
        .collect();
    q::replace_households(&mut tx, store.backend(), &writes, as_of.as_deref()).await?;
    counts.households = writes.len() as i64;
    counts.relationships = q::rebuild_relationships(&mut tx).await?;
    laps.lap("households and relationships");
    (counts.customers, counts.review_pairs) = q::resolution_totals(&mut tx).await?;
    let report = json!({"engine": engine_reports, "steps": laps.steps, "peak_mb": laps.peak_mb});
    q::record_run(&mut tx, &counts, &report.to_string()).await?;
    tx.commit().await?;
    laps.lap("commit");
    panorama_store::names::index_names(store).await?;
    store.refresh_statistics().await?;
    laps.lap("name keys");
    Ok(ResolveSummary {
        counts,
        seconds: started.elapsed().as_secs_f64(),
        steps: laps.steps,
        peak_mb: laps.peak_mb,
    })
}

pub(crate) async fn load_decisions(conn: &mut panorama_store::AnyConnection) -> Result<Decisions> {
    let mut decisions = Decisions::default();
    for (l, r, accepted) in q::decisions(conn).await? {
        if accepted {
            decisions.accepted.push((l, r));
        } else {
            decisions.rejected.insert((l.min(r), l.max(r)));
        }
    }
    Ok(decisions)
}

/// Rewrites the golden records of `customers` from their source records as
/// linked now, inside the caller's transaction: after a steward's merge or
/// unmerge only the customers involved are surveyed again, without
/// comparing records or reading the rest of the bank. Households and
/// relationships follow at the next `panorama resolve`.
pub async fn refresh_customers(
    tx: &mut panorama_store::AnyConnection,
    store: &Store,
    customers: &[i64],
) -> Result<()> {
    let (rows, previous) = q::records_of_customers(&mut *tx, customers).await?;
    let mut systems = HashMap::new();
    let records: Vec<SourceRec> = rows
        .into_iter()
        .map(|r| to_source(r, &mut systems))
        .collect();
    let decisions = load_decisions(&mut *tx).await?;
    let none = HashSet::new();
    let resolution = tokio::task::block_in_place(|| {
        resolve(
            &records,
            &previous,
            &none,
            &decisions,
            Thresholds::default(),
        )
    })
    .map_err(|e| ActionError::Refused(e.to_string()))?;
    let mut counts = RunCounts::default();
    let written = write_goldens(
        tx,
        store,
        &resolution,
        &previous,
        &none,
        Some(customers),
        &mut counts,
    )
    .await?;
    // The customers' names may have changed hands: their search keys too.
    let touched = written.touched(customers);
    panorama_store::names::rekey(tx, store.backend(), &touched).await?;
    Ok(())
}

/// Writes the records' keys for per-record resolution: every compared
/// record's (replacing all keys) or, with `only`, those records'.
pub(crate) async fn write_keys(
    tx: &mut panorama_store::AnyConnection,
    store: &Store,
    resolution: &crate::resolve::Resolution<'_>,
    only: Option<&HashSet<i64>>,
) -> Result<u64> {
    if only.is_none() {
        q::clear_record_keys(&mut *tx).await?;
    }
    let mut written = 0;
    let mut records: Vec<i64> = Vec::new();
    let mut keys: Vec<q::RecordKey<'static>> = Vec::new();
    let mut flush = async |records: &mut Vec<i64>, keys: &mut Vec<q::RecordKey<'static>>| {
        let n = match only {
            Some(_) => q::replace_record_keys(&mut *tx, store.backend(), records, keys).await?,
            None => q::insert_record_keys(&mut *tx, store.backend(), keys).await?,
        };
        records.clear();
        keys.clear();
        Ok::<u64, ActionError>(n)
    };
    for (id, party, record_keys) in resolution.record_keys() {
        if only.is_some_and(|o| !o.contains(&id)) {
            continue;
        }
        records.push(id);
        keys.extend(
            record_keys
                .into_iter()
                .map(|(k, h)| (id, party, i64::from(k), h as i64)),
        );
        if records.len() >= WRITE_CHUNK {
            written += flush(&mut records, &mut keys).await?;
        }
    }
    written += flush(&mut records, &mut keys).await?;
    if only.is_none() {
        q::index_record_keys(&mut *tx).await?;
    }
    Ok(written)
}

/// Golden records or links written at a time.
const WRITE_CHUNK: usize = 10_000;

/// What writing the golden records leaves for households.
pub(crate) struct Written {
    /// Record → its customer now.
    pub(crate) customer_of_record: HashMap<i64, i64>,
    /// (customer, name, address) of every person.
    persons: Vec<(i64, String, Option<String>)>,
}

impl Written {
    /// The customers of `scope` and every customer a record now belongs
    /// to, sorted, once each.
    pub(crate) fn touched(&self, scope: &[i64]) -> Vec<i64> {
        let mut touched: Vec<i64> = scope
            .iter()
            .copied()
            .chain(self.customer_of_record.values().copied())
            .collect();
        touched.sort_unstable();
        touched.dedup();
        touched
    }
}

/// Writes the golden customers of a resolution: new ones in bulk, changed
/// ones (a record `dirty`, moved or absorbed; every one when the write is
/// limited to a `scope` of customers) in place with provenance, merges of
/// customers the resolution joined, cross-references of dirty or moved
/// records, and the accounts and home branches (of the scope's customers).
pub(crate) async fn write_goldens(
    tx: &mut panorama_store::AnyConnection,
    store: &Store,
    resolution: &crate::resolve::Resolution<'_>,
    previous: &HashMap<i64, i64>,
    dirty: &HashSet<i64>,
    scope: Option<&[i64]>,
    counts: &mut RunCounts,
) -> Result<Written> {
    let mut customer_of_record: HashMap<i64, i64> = HashMap::new();
    // New customers get ids allocated here and are inserted in bulk.
    let mut next_customer = q::next_id(&mut *tx, "customer").await?;
    let mut new_customers: Vec<(i64, CustomerWrite)> = Vec::new();
    let mut xrefs = Vec::new();
    let mut persons: Vec<(i64, String, Option<String>)> = Vec::new();
    for cluster in resolution.clusters() {
        let (g, links) = (&cluster.golden, &cluster.links);
        let link_of = |r: &i64| links.iter().find(|l| l.record_id == *r);
        let changed = scope.is_some()
            || g.customer_id.is_none()
            || !g.absorbs.is_empty()
            || g.records
                .iter()
                .any(|r| dirty.contains(r) || previous.get(r) != g.customer_id.as_ref());
        let attr = |k: &str| g.attributes.get(k).map(|s| s.value.clone());
        let id = if changed {
            let provenance: BTreeMap<&str, serde_json::Value> = g
                .attributes
                .iter()
                .map(|(k, v)| {
                    (
                        *k,
                        json!({"source_record_id": v.source_record_id, "system": v.system}),
                    )
                })
                .collect();
            let write = CustomerWrite {
                id: g.customer_id,
                party_type: g.party_type.clone(),
                name: attr("name").unwrap_or_default(),
                gender: attr("gender"),
                birth_date: attr("birth_date"),
                id_no: attr("id_no"),
                credit_code: attr("credit_code"),
                mobile: attr("mobile"),
                email: attr("email"),
                address: attr("address"),
                industry: attr("industry"),
                provenance: json!(provenance).to_string(),
            };
            let id = match g.customer_id {
                Some(_) => q::write_customer(&mut *tx, &write).await?,
                None => {
                    let id = next_customer;
                    next_customer += 1;
                    new_customers.push((id, write));
                    counts.new_customers += 1;
                    id
                }
            };
            for absorbed in &g.absorbs {
                let moved: Vec<i64> = g
                    .records
                    .iter()
                    .copied()
                    .filter(|r| previous.get(r) == Some(absorbed))
                    .collect();
                let scores: Vec<f64> = moved
                    .iter()
                    .filter_map(|r| link_of(r).map(|l| l.score))
                    .collect();
                let evidence = json!({"records": moved, "rule": "resolve", "scores": scores});
                q::record_merge(
                    &mut *tx,
                    id,
                    *absorbed,
                    "system:resolve",
                    &evidence.to_string(),
                )
                .await?;
                counts.merges += 1;
            }
            for r in &g.records {
                if previous.get(r) != Some(&id) || dirty.contains(r) {
                    let Some(l) = link_of(r) else { continue };
                    xrefs.push((
                        *r,
                        id,
                        l.score,
                        l.rule.to_owned(),
                        l.evidence
                            .clone()
                            .unwrap_or_else(|| json!({"cluster": l.cluster}).to_string()),
                    ));
                }
            }
            id
        } else {
            g.customer_id.unwrap_or_default()
        };
        for r in &g.records {
            customer_of_record.insert(*r, id);
        }
        if g.party_type == "person" {
            persons.push((id, attr("name").unwrap_or_default(), attr("address")));
        }
        // Written as they fill, so the bank's golden records are never all
        // in memory at once (customers first: the links refer to them).
        if new_customers.len() >= WRITE_CHUNK || xrefs.len() >= WRITE_CHUNK {
            q::insert_customers(&mut *tx, store.backend(), &new_customers).await?;
            q::write_links(&mut *tx, store.backend(), &xrefs).await?;
            new_customers.clear();
            xrefs.clear();
        }
    }
    q::insert_customers(&mut *tx, store.backend(), &new_customers).await?;
    q::write_links(&mut *tx, store.backend(), &xrefs).await?;
    q::link_accounts(&mut *tx, scope).await?;
    q::assign_home_branches(&mut *tx, scope).await?;
    Ok(Written {
        customer_of_record,
        persons,
    })
}

fn inverse(kind: &str) -> &str {
    match kind {
        "parent" => "child",
        "child" => "parent",
        other => other,
    }
}

/// A steward accepts or rejects a review pair. Accepting merges the two
/// customers at once (the one with more records survives).
pub async fn decide(store: &Store, review_id: i64, accept: bool, actor: &str) -> Result<String> {
    let mut tx = store.begin().await?;
    let Some((left, right)) = q::decide_review(&mut tx, review_id, accept, actor).await? else {
        refuse!("review {review_id} is not an open review pair");
    };
    let message = if accept {
        let (Some(a), Some(b)) = (
            q::customer_of(&mut tx, left).await?,
            q::customer_of(&mut tx, right).await?,
        ) else {
            refuse!(
                "records {left} and {right} are not resolved yet: run `panorama resolve` first"
            );
        };
        if a == b {
            format!(
                "review {review_id} accepted; records {left} and {right} were already one customer"
            )
        } else {
            let (ra, rb) = (
                q::records_of(&mut tx, a).await?,
                q::records_of(&mut tx, b).await?,
            );
            let (surviving, absorbed, moved) = if ra.len() >= rb.len() {
                (a, b, rb)
            } else {
                (b, a, ra)
            };
            q::move_records(&mut tx, &moved, surviving, "steward").await?;
            let evidence = json!({"records": moved, "rule": "steward", "review": review_id});
            let event =
                q::record_merge(&mut tx, surviving, absorbed, actor, &evidence.to_string()).await?;
            refresh_customers(&mut tx, store, &[surviving]).await?;
            // The absorbed customer is found by its name no longer.
            panorama_store::names::rekey(&mut tx, store.backend(), &[absorbed]).await?;
            format!(
                "review {review_id} accepted: customer {absorbed} merged into {surviving} (merge event {event})"
            )
        }
    } else {
        format!("review {review_id} rejected: records {left} and {right} will not be linked")
    };
    tx.commit().await?;
    Ok(message)
}

/// Undoes a merge event.
pub async fn unmerge(store: &Store, event_id: i64, actor: &str) -> Result<String> {
    let mut tx = store.begin().await?;
    let Some(event) = q::merge_event(&mut tx, event_id).await? else {
        refuse!("there is no merge event {event_id}")
    };
    if event.kind != "merge" {
        refuse!("event {event_id} is an unmerge, not a merge");
    }
    if let Some(u) = event.undone_by {
        refuse!("merge event {event_id} was already undone by event {u}");
    }
    let records: Vec<i64> = event
        .evidence
        .as_deref()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .and_then(|v| {
            v["records"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        })
        .unwrap_or_default();
    if records.is_empty() {
        refuse!("merge event {event_id} does not list the records it moved");
    }
    let id = q::unmerge(&mut tx, &event, &records, actor).await?;
    refresh_customers(
        &mut tx,
        store,
        &[event.surviving_customer_id, event.absorbed_customer_id],
    )
    .await?;
    tx.commit().await?;
    Ok(format!(
        "merge event {event_id} undone (event {id}): customer {} has its records {:?} again, apart from customer {}",
        event.absorbed_customer_id, records, event.surviving_customer_id
    ))
}

/// How the store's resolution compares with the truth of a synthetic bank.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// Source records resolved.
    pub records: usize,
    /// Golden customers they became.
    pub customers: usize,
    /// True parties behind them.
    pub parties: usize,
    /// Pairwise precision.
    pub precision: f64,
    /// Pairwise recall.
    pub recall: f64,
    /// Pairwise F1.
    pub f1: f64,
}

/// Pairwise precision, recall and F1 of the store's golden customers
/// against `truth`: the true party of each (source system, record key). A
/// record the truth does not name is a party of its own.
pub async fn evaluate(
    store: &Store,
    truth: &HashMap<(String, String), String>,
) -> std::result::Result<Evaluation, StoreError> {
    let resolved = q::resolved_keys(store).await?;
    let mut clusters = Vec::with_capacity(resolved.len());
    let mut labels = Vec::with_capacity(resolved.len());
    for (system, key, customer) in resolved {
        let label = truth
            .get(&(system.clone(), key.clone()))
            .cloned()
            .unwrap_or_else(|| format!("unknown:{system}:{key}"));
        clusters.push(customer as u32);
        labels.push(label);
    }
    let (precision, recall, f1) = crate::pairwise_scores(&clusters, &labels);
    Ok(Evaluation {
        records: labels.len(),
        customers: clusters.iter().collect::<HashSet<_>>().len(),
        parties: labels.iter().collect::<HashSet<_>>().len(),
        precision,
        recall,
        f1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: &str) -> q::RecordRow {
        q::RecordRow {
            id: 7,
            system: "core".into(),
            party_type: "organisation".into(),
            name: "上海嘉禾置业有限公司".into(),
            gender: None,
            birth_date: None,
            id_no_std: None,
            id_no: Some("raw id".into()),
            credit_code_std: Some("91310000MA1FL0XX1X".into()),
            credit_code_status: status.into(),
            mobile_std: Some("13812345678".into()),
            email: None,
            address: Some("上海市浦东新区世纪大道1号".into()),
            industry: Some("K70".into()),
            batch_id: 3,
            trust: 90,
        }
    }

    #[test]
    fn a_stored_record_is_matched_on_its_standardised_values() {
        let mut systems = HashMap::new();
        let s = to_source(record("valid"), &mut systems);
        assert_eq!(s.credit_code(), Some("91310000MA1FL0XX1X"));
        assert!(
            s.credit_code_ok,
            "a valid code may prove two parties different"
        );
        assert_eq!(s.mobile(), Some("13812345678"));
        assert_eq!((s.id_no(), s.id_raw()), (None, Some("raw id")));
        assert_eq!((s.batch_id, s.trust), (3, 90));
        assert_eq!(
            (s.name(), s.address(), s.industry(), s.email()),
            (
                "上海嘉禾置业有限公司",
                Some("上海市浦东新区世纪大道1号"),
                Some("K70"),
                None
            )
        );
        assert_eq!(&*s.system, "core");
        assert_eq!(s.party_type, "organisation");
        for status in ["checksum_failed", "missing", ""] {
            assert!(
                !to_source(record(status), &mut systems).credit_code_ok,
                "{status}"
            );
        }
        assert_eq!(systems.len(), 1, "one copy of the system's code");
    }

    #[test]
    fn a_family_tie_reads_the_same_from_either_side() {
        assert_eq!(inverse("parent"), "child");
        assert_eq!(inverse("child"), "parent");
        for kind in ["spouse", "sibling", "executive"] {
            assert_eq!(inverse(kind), kind);
        }
    }
}
