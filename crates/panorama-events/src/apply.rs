//! Applying a partition's records to the store: each record parsed and
//! checked, its effects written, and the partition's position moved past it
//! — all in one transaction per fetched batch of records. A crash before the
//! commit leaves the position where it was, so the records are read and
//! applied again, once; a repeated event id is skipped; a record that cannot
//! be applied is kept as a dead letter with its reason, and the stream goes on.

use std::collections::HashMap;
use std::path::PathBuf;

use panorama_analytics::config::{Config, MonitorConfig};
use panorama_campaign::triggered::{self, Audiences, Outcome};
use panorama_ecif::online::Online;
use panorama_store::events::{self as q, AccountContext, EventAlert, Position, PostedTxn};
use panorama_store::{AnyConnection, Store};

use crate::error::{EventsError, Result};
use crate::rules::{self, Facts};
use crate::schema::{self, Body, ContactReply, CustomerRecord, SourceRow, TxnPosted};

/// What applying events needs beyond the store: the monitoring rules, the
/// models of the last resolution (loaded on the first customer record,
/// loaded again when a newer resolution has run), and the live triggered
/// campaigns with who each may take (loaded when the set of live triggered
/// campaigns or the latest features change).
#[derive(Debug)]
pub struct Applier {
    /// Key-transaction monitoring.
    pub cfg: MonitorConfig,
    online: Option<Online>,
    campaigns: Option<(PathBuf, Config)>,
    audiences: Option<Audiences>,
}

impl Applier {
    /// An applier with these monitoring rules (and no triggered campaigns).
    pub fn new(cfg: MonitorConfig) -> Self {
        Applier {
            cfg,
            online: None,
            campaigns: None,
            audiences: None,
        }
    }

    /// The same, entering customers into the live triggered campaigns, whose
    /// segments are evaluated on the features in `analytics`.
    pub fn with_campaigns(mut self, analytics: PathBuf, config: Config) -> Self {
        self.campaigns = Some((analytics, config));
        self
    }

    /// Brings the live triggered campaigns up to date (before a fetch).
    async fn refresh_campaigns(&mut self, store: &Store) -> Result<()> {
        let Some((analytics, config)) = &self.campaigns else {
            return Ok(());
        };
        let live = panorama_store::campaigns::live_triggered_ids(store).await?;
        let stale = match &mut self.audiences {
            Some(a) => a.stale(&live, analytics),
            None => true,
        };
        if stale {
            let loaded = Audiences::load(store, analytics, config)
                .await
                .map_err(|e| EventsError::Campaign(e.to_string()))?;
            for a in &loaded.list {
                tracing::info!(
                    campaign = a.campaign.id,
                    trigger = a.campaign.trigger_event.as_deref().unwrap_or_default(),
                    eligible = a.eligible(),
                    features = %a.date,
                    "triggered campaign live"
                );
            }
            self.audiences = Some(loaded);
        }
        Ok(())
    }

    /// The live triggered campaigns, when there are any.
    fn audiences(&self) -> Option<&Audiences> {
        self.audiences.as_ref().filter(|a| !a.is_empty())
    }

    /// The models of the newest resolution, or why there are none.
    async fn online(
        &mut self,
        conn: &mut AnyConnection,
    ) -> Result<std::result::Result<&Online, Refusal>> {
        let newest = panorama_store::ecif::last_resolution_id(&mut *conn).await?;
        if self.online.as_ref().map(|o| o.run) != newest || newest.is_none() {
            self.online = match Online::load(&mut *conn).await {
                Ok(o) => Some(o),
                Err(panorama_ecif::store::ActionError::Refused(why)) => return Ok(Err(why)),
                Err(panorama_ecif::store::ActionError::Store(e)) => return Err(e.into()),
            };
        }
        Ok(self.online.as_ref().ok_or_else(|| "no models".to_owned()))
    }
}

/// One Kafka record as fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset in its partition.
    pub offset: i64,
    /// The record's value (the event's JSON), if it has one.
    pub value: Option<Vec<u8>>,
    /// The producer's timestamp, milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// What applying a batch of records did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Events applied now.
    pub applied: u64,
    /// Events whose id was applied before (skipped).
    pub repeats: u64,
    /// Records kept as dead letters.
    pub dead_letters: u64,
    /// Transactions posted (new references).
    pub transactions: u64,
    /// Transactions whose reference the store had already (from an extract).
    pub known_transactions: u64,
    /// Alerts raised by the monitoring rules.
    pub alerts: u64,
    /// Tasks put on RMs' lists for them.
    pub tasks: u64,
    /// Opt-outs recorded from replies.
    pub opt_outs: u64,
    /// Customer records landed (new or changed) and resolved.
    pub records: u64,
    /// Of them: linked to an existing customer.
    pub records_linked: u64,
    /// Of them: a new customer.
    pub records_new: u64,
    /// Pairs they put on the steward's queue.
    pub review_pairs: u64,
    /// Accounts opened or changed.
    pub accounts: u64,
    /// Monthly balances landed.
    pub balances: u64,
    /// Accounts closed.
    pub closed: u64,
    /// Customers entered into triggered campaigns (treated and control).
    pub campaign_entries: u64,
    /// Of them held out as control.
    pub campaign_control: u64,
    /// Triggering events that entered nobody (already a member, the contact
    /// policy, outside the segment or the dates).
    pub campaign_skipped: u64,
    /// Of them, by reason.
    pub campaign_skip_reasons: std::collections::BTreeMap<&'static str, u64>,
    /// Per customer record: microseconds its resolution took.
    #[serde(skip)]
    pub resolve_us: Vec<i64>,
    /// Per applied record: milliseconds from the producer's timestamp to
    /// the commit that made its effects durable.
    #[serde(skip)]
    pub latencies_ms: Vec<i64>,
}

impl Applied {
    /// Adds another batch's counts.
    pub fn add(&mut self, o: &Applied) {
        self.applied += o.applied;
        self.repeats += o.repeats;
        self.dead_letters += o.dead_letters;
        self.transactions += o.transactions;
        self.known_transactions += o.known_transactions;
        self.alerts += o.alerts;
        self.tasks += o.tasks;
        self.opt_outs += o.opt_outs;
        self.records += o.records;
        self.records_linked += o.records_linked;
        self.records_new += o.records_new;
        self.review_pairs += o.review_pairs;
        self.accounts += o.accounts;
        self.balances += o.balances;
        self.closed += o.closed;
        self.campaign_entries += o.campaign_entries;
        self.campaign_control += o.campaign_control;
        self.campaign_skipped += o.campaign_skipped;
        for (why, n) in &o.campaign_skip_reasons {
            *self.campaign_skip_reasons.entry(why).or_default() += n;
        }
        self.resolve_us.extend_from_slice(&o.resolve_us);
        self.latencies_ms.extend_from_slice(&o.latencies_ms);
    }
}

/// Why an event's effects were refused (it becomes a dead letter).
type Refusal = String;

/// Applies `records` of `topic`'s `partition` in one transaction and moves
/// the partition's position past the last of them.
pub async fn apply_records(
    store: &Store,
    applier: &mut Applier,
    topic: &str,
    partition: i32,
    records: &[Record],
) -> Result<Applied> {
    let Some(last) = records.last() else {
        return Ok(Applied::default());
    };
    let mut done = Applied::default();
    applier.refresh_campaigns(store).await?;
    let mut tx = store.begin().await?;
    let mut batches: HashMap<String, i64> = HashMap::new();
    let mut applied_at = Vec::new();
    // A fetch's events are read at once: which were applied before, and
    // the accounts their transactions post to (one query each, not one an
    // event); the applied ids are written together at the end.
    let parsed: Vec<(&Record, std::result::Result<schema::Event, schema::Refused>)> = records
        .iter()
        .map(|r| (r, schema::parse(r.value.as_deref().unwrap_or_default())))
        .collect();
    let ids: Vec<&str> = parsed
        .iter()
        .filter_map(|(_, e)| e.as_ref().ok().map(|e| e.event_id.as_str()))
        .collect();
    let before = q::applied_among(&mut tx, &ids).await?;
    let mut wanted: HashMap<&str, Vec<&str>> = HashMap::new();
    for (_, e) in &parsed {
        if let Ok(e) = e
            && let Body::TxnPosted(t) = &e.body
            && !before.contains(&e.event_id)
        {
            wanted
                .entry(t.system.as_str())
                .or_default()
                .push(t.account_no.as_str());
        }
    }
    let mut accounts: Accounts = HashMap::new();
    for (system, nos) in wanted {
        for (no, context) in q::account_contexts(&mut tx, system, &nos).await? {
            accounts.insert((system.to_owned(), no), context);
        }
    }
    // Each account's newest transaction before the fetch, for the
    // dormant-account rule (skipped when the rule is off).
    let mut history = History::default();
    if applier.cfg.enabled("dormant_wake") {
        let ids: Vec<i64> = accounts.values().map(|a| a.account_id).collect();
        let latest = q::latest_txn_at(&mut tx, &ids).await?;
        history.latest = ids
            .into_iter()
            .map(|id| (id, latest.get(&id).cloned()))
            .collect();
    }
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut marks: Vec<q::AppliedEvent<'_>> = Vec::new();
    // Consecutive posted transactions go in together (one multi-row insert,
    // their facts read once); any other event first settles the run before it.
    let mut run: Vec<(&Record, &schema::Event, &TxnPosted)> = Vec::new();
    let mut k = 0;
    while k <= parsed.len() {
        let next = parsed.get(k);
        k += 1;
        let txn = next.and_then(|(r, e)| match e {
            Ok(e) if !before.contains(&e.event_id) && !seen.contains(e.event_id.as_str()) => {
                match &e.body {
                    Body::TxnPosted(t) => Some((*r, e, t)),
                    _ => None,
                }
            }
            _ => None,
        });
        if let Some((r, e, t)) = txn {
            seen.insert(e.event_id.as_str());
            run.push((r, e, t));
            continue;
        }
        if !run.is_empty() {
            let outcomes = post_run(
                &mut tx,
                store,
                applier,
                topic,
                &run,
                &mut batches,
                &mut accounts,
                &mut history,
                &mut done,
            )
            .await?;
            for ((r, e, _), outcome) in run.drain(..).zip(outcomes) {
                settle(
                    &mut tx,
                    topic,
                    partition,
                    r,
                    e,
                    outcome,
                    &mut marks,
                    &mut applied_at,
                    &mut done,
                )
                .await?;
            }
        }
        let Some((r, event)) = next else {
            break;
        };
        let event = match event {
            Ok(e) => e,
            Err(refused) => {
                let at = Position {
                    topic,
                    partition,
                    offset: r.offset,
                };
                let payload = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default());
                q::dead_letter(
                    &mut tx,
                    &at,
                    refused.event_id.as_deref(),
                    &payload,
                    &refused.reason,
                )
                .await?;
                done.dead_letters += 1;
                continue;
            }
        };
        if before.contains(&event.event_id) || !seen.insert(event.event_id.as_str()) {
            done.repeats += 1;
            continue;
        }
        let outcome = match &event.body {
            Body::TxnPosted(_) => unreachable_txn(),
            Body::ContactReply(r) => replied(&mut tx, r, &event.event_id, &mut done).await?,
            Body::CustomerRecord(c) => {
                // A record may give accounts their customer: read them again.
                accounts.clear();
                record(&mut tx, store, applier, topic, c, &mut batches, &mut done).await?
            }
            Body::AccountOpened(row) | Body::BalanceSnapshot(row) => {
                accounts.clear();
                let kind = if matches!(event.body, Body::AccountOpened(_)) {
                    panorama_ingest::Kind::Accounts
                } else {
                    panorama_ingest::Kind::Balances
                };
                landed(&mut tx, store, topic, kind, row, &mut batches, &mut done).await?
            }
            Body::AccountClosed(c) => {
                accounts.clear();
                if q::close_account(&mut tx, &c.system, &c.account_no, &c.closed_on).await? {
                    done.closed += 1;
                    Ok(())
                } else {
                    Err(format!(
                        "data.account_no: account '{}' of system '{}' is not known",
                        c.account_no, c.system
                    ))
                }
            }
        };
        settle(
            &mut tx,
            topic,
            partition,
            r,
            event,
            outcome,
            &mut marks,
            &mut applied_at,
            &mut done,
        )
        .await?;
    }
    q::mark_applied_many(&mut tx, store.backend(), topic, partition, &marks).await?;
    q::set_next_offset(&mut tx, topic, partition, last.offset + 1).await?;
    tx.commit().await?;
    let now = chrono::Utc::now().timestamp_millis();
    done.latencies_ms = applied_at.iter().map(|t| now - t).collect();
    Ok(done)
}

/// A posted transaction is applied with its run, never alone.
fn unreachable_txn() -> std::result::Result<(), Refusal> {
    Err("internal: a posted transaction outside its run".to_owned())
}

/// Records an event's outcome: applied (its id marked with the others at
/// the end), or a dead letter with the reason.
#[allow(clippy::too_many_arguments)]
async fn settle<'a>(
    conn: &mut AnyConnection,
    topic: &str,
    partition: i32,
    r: &Record,
    event: &'a schema::Event,
    outcome: std::result::Result<(), Refusal>,
    marks: &mut Vec<q::AppliedEvent<'a>>,
    applied_at: &mut Vec<i64>,
    done: &mut Applied,
) -> Result<()> {
    match outcome {
        Ok(()) => {
            marks.push(q::AppliedEvent {
                event_id: &event.event_id,
                event_type: event.body.kind(),
                offset: r.offset,
                occurred_at: event.occurred_at.as_deref(),
            });
            done.applied += 1;
            applied_at.push(r.timestamp_ms);
        }
        Err(reason) => {
            let at = Position {
                topic,
                partition,
                offset: r.offset,
            };
            let payload = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default());
            q::dead_letter(conn, &at, Some(&event.event_id), &payload, &reason).await?;
            done.dead_letters += 1;
        }
    }
    Ok(())
}

/// The ingest batch of `topic`'s events of `day`, made on first use and
/// remembered for the fetch.
async fn day_batch(
    conn: &mut AnyConnection,
    topic: &str,
    day: &str,
    batches: &mut HashMap<String, i64>,
) -> Result<i64> {
    if let Some(id) = batches.get(day) {
        return Ok(*id);
    }
    let id = q::event_batch(conn, topic, day).await?;
    batches.insert(day.to_owned(), id);
    Ok(id)
}

/// Accounts read for a fetch: (system, account number) → context.
type Accounts = HashMap<(String, String), AccountContext>;

/// Accounts' transactions as a fetch knows them: the newest before the
/// fetch (read at once), and those posted in it.
#[derive(Debug, Default)]
struct History {
    /// Account → its newest booking time before the fetch (none: no
    /// transaction); accounts not read are absent.
    latest: HashMap<i64, Option<String>>,
    /// Account → booking times posted in this fetch.
    posted: HashMap<i64, Vec<String>>,
}

impl History {
    /// The account's transaction booked last at or before `booked_at`, if
    /// the fetch knows it (`None`: ask the store).
    fn previous(&self, account: i64, booked_at: &str) -> Option<Option<String>> {
        let before = self.latest.get(&account)?;
        // An older transaction arriving late: the store knows what came before it.
        if before.as_deref().is_some_and(|b| b > booked_at) {
            return None;
        }
        let here = self
            .posted
            .get(&account)
            .and_then(|v| v.iter().filter(|b| b.as_str() <= booked_at).max());
        Some(match (before, here) {
            (Some(b), Some(h)) => Some(b.max(h).clone()),
            (b, h) => b.clone().or_else(|| h.cloned()),
        })
    }
}

/// Posts a run of transaction events: their accounts read (from the fetch's
/// map, else one by one), the facts the rules ask of the store before the
/// run read once per customer and channel, the new transactions inserted
/// together (a reference the store has already is counted, not posted),
/// then each new one checked by the rules in order — the run's own earlier
/// transactions count as history — raising alerts and RM tasks and entering
/// customers into triggered campaigns. One outcome per event.
#[allow(clippy::too_many_arguments)]
async fn post_run(
    conn: &mut AnyConnection,
    store: &Store,
    applier: &Applier,
    topic: &str,
    run: &[(&Record, &schema::Event, &TxnPosted)],
    batches: &mut HashMap<String, i64>,
    accounts: &mut Accounts,
    history: &mut History,
    done: &mut Applied,
) -> Result<Vec<std::result::Result<(), Refusal>>> {
    let cfg = &applier.cfg;
    let audiences = applier.audiences();
    let wants_salary = audiences.is_some_and(|a| a.wants("first_salary"));
    let mut contexts: Vec<Option<AccountContext>> = Vec::with_capacity(run.len());
    for (_, _, t) in run {
        let key = (t.system.clone(), t.account_no.clone());
        let known = match accounts.get(&key) {
            Some(a) => Some(a.clone()),
            None => {
                let found = q::account_context(conn, &t.system, &t.account_no).await?;
                if let Some(a) = &found {
                    accounts.insert(key, a.clone());
                }
                found
            }
        };
        contexts.push(known);
    }
    // What the store knew before the run: a customer's use of a watched
    // channel, and payroll credits (for a first salary).
    let mut used_before: HashMap<(i64, &str), bool> = HashMap::new();
    let mut paid_before: HashMap<(i64, &str), bool> = HashMap::new();
    let mut watched: HashMap<&str, Vec<i64>> = HashMap::new();
    for ((_, _, t), a) in run.iter().zip(&contexts) {
        if let Some(customer) = a.as_ref().and_then(|a| a.customer_id)
            && rules::wants_channel(cfg, t)
        {
            watched
                .entry(t.channel.as_str())
                .or_default()
                .push(customer);
        }
    }
    for (channel, mut customers) in watched {
        customers.sort_unstable();
        customers.dedup();
        let users = q::channel_users(conn, &customers, channel).await?;
        for c in customers {
            used_before.insert((c, channel), users.contains(&c));
        }
    }
    for ((_, _, t), a) in run.iter().zip(&contexts) {
        let Some(customer) = a.as_ref().and_then(|a| a.customer_id) else {
            continue;
        };
        let pair = (customer, t.channel.as_str());
        if wants_salary && rules::is_payroll_credit(t) && !paid_before.contains_key(&pair) {
            let paid = q::credited_before(conn, customer, &t.channel, 0).await?;
            paid_before.insert(pair, paid);
        }
    }
    let mut rows = Vec::with_capacity(run.len());
    for ((_, _, t), a) in run.iter().zip(&contexts) {
        let Some(a) = a else { continue };
        let batch_id = day_batch(conn, topic, t.day(), batches).await?;
        rows.push(PostedTxn {
            system: &t.system,
            txn_ref: &t.txn_ref,
            account_id: a.account_id,
            booked_at: &t.booked_at,
            amount_minor: t.amount_minor,
            direction: t.direction.code(),
            channel: &t.channel,
            mcc: t.mcc.as_deref(),
            counterparty_account: t.counterparty_account.as_deref(),
            counterparty_name: t.counterparty_name.as_deref(),
            counterparty_bank: t.counterparty_bank.as_deref(),
            balance_after_minor: t.balance_after_minor,
            batch_id,
        });
    }
    let mut new: HashMap<(String, String), i64> = q::insert_txns(conn, store.backend(), &rows)
        .await?
        .into_iter()
        .map(|(id, system, txn_ref)| ((system, txn_ref), id))
        .collect();
    let channels: std::collections::BTreeSet<(i64, &str)> =
        rows.iter().map(|r| (r.account_id, r.channel)).collect();
    q::note_channels(
        conn,
        store.backend(),
        &channels.into_iter().collect::<Vec<_>>(),
    )
    .await?;
    let mut out = Vec::with_capacity(run.len());
    for ((_, e, t), a) in run.iter().zip(&contexts) {
        let Some(account) = a else {
            out.push(Err(format!(
                "data.account_no: account '{}' of system '{}' is not known (load its extract first, then replay)",
                t.account_no, t.system
            )));
            continue;
        };
        // The first event with a new reference posted it; any other knew it.
        let Some(txn_id) = new.remove(&(t.system.clone(), t.txn_ref.clone())) else {
            done.known_transactions += 1;
            out.push(Ok(()));
            continue;
        };
        done.transactions += 1;
        out.push(Ok(()));
        let Some(customer) = account.customer_id else {
            continue;
        };
        let previous_txn_at = if !cfg.enabled("dormant_wake") {
            None
        } else {
            match history.previous(account.account_id, &t.booked_at) {
                Some(known) => known,
                None => q::previous_txn_at(conn, account.account_id, &t.booked_at, txn_id).await?,
            }
        };
        history
            .posted
            .entry(account.account_id)
            .or_default()
            .push(t.booked_at.clone());
        let pair = (customer, t.channel.as_str());
        let mut facts = Facts {
            previous_txn_at,
            channel_used_before: used_before.get(&pair).copied(),
            ..Facts::default()
        };
        if facts.channel_used_before.is_some() {
            used_before.insert(pair, true);
        }
        if rules::wants_maturity(cfg, t) {
            let from = rules::maturity_window_start(cfg, t);
            facts.matured = q::matured_between(conn, customer, &from, t.day()).await?;
        }
        let due = chrono::NaiveDate::parse_from_str(t.day(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.checked_add_days(chrono::Days::new(cfg.task_due_days as u64)))
            .map_or_else(|| t.day().to_owned(), |d| d.to_string());
        let hits = rules::evaluate(cfg, t, &facts);
        if let Some(audiences) = audiences {
            let mut fired: Vec<&str> = hits.iter().map(|h| h.rule).collect();
            if let Some(paid) = paid_before.get_mut(&pair) {
                if !*paid {
                    fired.push("first_salary");
                }
                *paid = true;
            }
            if !fired.is_empty()
                && let Ok(day) = chrono::NaiveDate::parse_from_str(t.day(), "%Y-%m-%d")
            {
                let entries =
                    triggered::enter(conn, store.backend(), audiences, customer, &fired, day)
                        .await
                        .map_err(|e| EventsError::Campaign(e.to_string()))?;
                for entry in entries {
                    match entry.outcome {
                        Outcome::Entered { arm, .. } => {
                            done.campaign_entries += 1;
                            done.campaign_control += u64::from(arm == panorama_campaign::CONTROL);
                        }
                        Outcome::Skipped(why) => {
                            done.campaign_skipped += 1;
                            *done.campaign_skip_reasons.entry(why).or_default() += 1;
                        }
                    }
                }
            }
        }
        for hit in &hits {
            let raised = raise_hit(conn, customer, hit, &e.event_id, t.day(), &due).await?;
            done.alerts += u64::from(raised.alert.is_some());
            done.tasks += u64::from(raised.task.is_some());
        }
    }
    Ok(out)
}

/// Raises `hit` for `customer` as an alert (once per rule and `key`) of
/// day `as_of` and a task for their RM due `due`.
pub(crate) async fn raise_hit(
    conn: &mut AnyConnection,
    customer: i64,
    hit: &rules::Hit,
    key: &str,
    as_of: &str,
    due: &str,
) -> Result<q::Raised> {
    Ok(q::raise_alert(
        conn,
        &EventAlert {
            customer_id: customer,
            rule: hit.rule,
            event_key: key,
            as_of,
            severity: hit.severity,
            message: &hit.message,
            message_en: &hit.message_en,
            detail: &hit.detail,
            due_on: due,
        },
    )
    .await?)
}

/// Lands a customer record as an extract's row would, then resolves it
/// against the golden records at once (per-record ECIF).
async fn record(
    conn: &mut AnyConnection,
    store: &Store,
    applier: &mut Applier,
    topic: &str,
    c: &CustomerRecord,
    batches: &mut HashMap<String, i64>,
    done: &mut Applied,
) -> Result<std::result::Result<(), Refusal>> {
    let online = match applier.online(&mut *conn).await? {
        Ok(o) => o,
        Err(why) => return Ok(Err(why)),
    };
    let batch_id = day_batch(conn, topic, &c.day, batches).await?;
    let id = match panorama_ingest::land_customer(
        &mut *conn,
        store.backend(),
        &c.system,
        batch_id,
        &c.fields,
    )
    .await
    .map_err(|e| EventsError::Ingest(panorama_ingest::error_chain(&e)))?
    {
        Ok(id) => id,
        Err(why) => return Ok(Err(why)),
    };
    let started = std::time::Instant::now();
    let resolved = match online.resolve_record(&mut *conn, store, id).await {
        Ok(r) => r,
        Err(panorama_ecif::store::ActionError::Refused(why)) => return Ok(Err(why)),
        Err(panorama_ecif::store::ActionError::Store(e)) => return Err(e.into()),
    };
    done.resolve_us.push(started.elapsed().as_micros() as i64);
    done.records += 1;
    match resolved.outcome {
        "linked" => done.records_linked += 1,
        "new" => done.records_new += 1,
        _ => {}
    }
    done.review_pairs += resolved.review_pairs as u64;
    Ok(Ok(()))
}

/// Lands an account or a month's balance as its extract's row would (an
/// opened account is pointed at its owner's customer at once).
async fn landed(
    conn: &mut AnyConnection,
    store: &Store,
    topic: &str,
    kind: panorama_ingest::Kind,
    row: &SourceRow,
    batches: &mut HashMap<String, i64>,
    done: &mut Applied,
) -> Result<std::result::Result<(), Refusal>> {
    let batch_id = day_batch(conn, topic, &row.day, batches).await?;
    let id = match panorama_ingest::land_row(
        &mut *conn,
        store.backend(),
        kind,
        &row.system,
        batch_id,
        &row.fields,
    )
    .await
    .map_err(|e| EventsError::Ingest(panorama_ingest::error_chain(&e)))?
    {
        Ok(id) => id,
        Err(why) => return Ok(Err(why)),
    };
    if kind == panorama_ingest::Kind::Accounts {
        q::link_account(&mut *conn, id).await?;
        done.accounts += 1;
    } else {
        done.balances += 1;
    }
    Ok(Ok(()))
}

async fn replied(
    conn: &mut AnyConnection,
    r: &ContactReply,
    event_id: &str,
    done: &mut Applied,
) -> Result<std::result::Result<(), Refusal>> {
    let stop = r.is_opt_out();
    let customers = q::apply_reply(
        conn,
        &r.mobile,
        &r.channel,
        &r.text,
        stop,
        "event-feed",
        event_id,
    )
    .await?;
    if customers.is_empty() {
        return Ok(Err(format!(
            "data.mobile: no active customer has mobile {}",
            mask_mobile(&r.mobile)
        )));
    }
    if stop {
        done.opt_outs += customers.len() as u64;
    }
    Ok(Ok(()))
}

/// 138****8000: a reason kept in the dead letters never shows a whole mobile.
fn mask_mobile(m: &str) -> String {
    if m.len() == 11 {
        format!("{}****{}", &m[..3], &m[7..])
    } else {
        "****".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_transaction_from_what_the_fetch_knows() {
        let mut h = History::default();
        h.latest.insert(1, Some("2026-06-01T09:00:00".into()));
        h.latest.insert(2, None);
        // Not read for the fetch: ask the store.
        assert_eq!(h.previous(3, "2026-12-07T10:00:00"), None);
        assert_eq!(
            h.previous(1, "2026-12-07T10:00:00"),
            Some(Some("2026-06-01T09:00:00".into()))
        );
        assert_eq!(h.previous(2, "2026-12-07T10:00:00"), Some(None));
        // An older transaction arriving late: the store knows.
        assert_eq!(h.previous(1, "2026-01-01T10:00:00"), None);
        // Posted earlier in the fetch: the newest at or before it counts.
        h.posted.insert(
            1,
            vec!["2026-12-07T09:00:00".into(), "2026-12-07T11:00:00".into()],
        );
        h.posted.insert(2, vec!["2026-12-07T08:00:00".into()]);
        assert_eq!(
            h.previous(1, "2026-12-07T10:00:00"),
            Some(Some("2026-12-07T09:00:00".into()))
        );
        assert_eq!(
            h.previous(2, "2026-12-07T10:00:00"),
            Some(Some("2026-12-07T08:00:00".into()))
        );
        assert_eq!(h.previous(2, "2026-12-07T07:00:00"), Some(None));
    }
}
