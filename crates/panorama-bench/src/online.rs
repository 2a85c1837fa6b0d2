//! `panorama bench ecif-online`: per-record ECIF against the store given —
//! how long a customer record arriving from a source system takes to land
//! and be resolved against the golden records, and whether it went where it
//! belongs.
//!
//! Arrivals are made from records spread over the store (a new system,
//! `bench-online`, now holding a known party): an exact copy, a copy without
//! its mobile and with its address cut short, a copy without its id — each
//! should join the customer it was copied from — and a stranger (a made-up
//! name, birth date and mobile) who should become a new customer. Each is
//! landed and resolved in its own transaction, timed, checked, and rolled
//! back, so the store is left as it was and a rerun measures the same work.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use panorama_ecif::engine::learn::SplitMix;
use panorama_ecif::online::Online;
use panorama_store::Store;
use panorama_store::ecif::RawRecord;
use panorama_store::memory::{peak_rss_mb, reset_peak};

/// The system the arrivals come from.
const SYSTEM: &str = "bench-online";

/// What an arrival is, and where it should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Copy,
    NoMobileShortAddress,
    NoId,
    Stranger,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Copy => "exact copy",
            Kind::NoMobileShortAddress => "no mobile, address cut",
            Kind::NoId => "no id",
            Kind::Stranger => "stranger",
        }
    }
}

/// The arrivals' made-up values, seeded.
struct Rng(SplitMix);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const SURNAMES: &[&str] = &[
    "司马", "欧阳", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙",
];
const GIVEN: &[&str] = &[
    "砚", "珩", "翎", "瑾", "琮", "璟", "祎", "朔", "湛", "箬", "骞", "蘅",
];

/// The fields of an arrival of `kind` made from `r`.
fn arrival(
    r: &RawRecord,
    kind: Kind,
    n: usize,
    rng: &mut Rng,
) -> std::collections::BTreeMap<String, Option<String>> {
    let mut f = std::collections::BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        f.insert(k.to_owned(), v);
    };
    put("source_key", Some(format!("ONLINE-{n:07}")));
    if kind == Kind::Stranger {
        put("party_type", Some("person".into()));
        put(
            "name",
            Some(format!(
                "{}{}{}",
                rng.pick(SURNAMES),
                rng.pick(GIVEN),
                rng.pick(GIVEN)
            )),
        );
        put(
            "birth_date",
            Some(format!(
                "{}-{:02}-{:02}",
                1950 + rng.next() % 50,
                1 + rng.next() % 12,
                1 + rng.next() % 28
            )),
        );
        put(
            "mobile",
            Some(format!("199{:08}", rng.next() % 100_000_000)),
        );
        put("branch_code", r.branch_code.clone());
        return f;
    }
    put("party_type", Some(r.party_type.clone()));
    put("name", Some(r.name.clone()));
    put("gender", r.gender.clone());
    put("birth_date", r.birth_date.clone());
    put("credit_code", r.credit_code.clone());
    put("email", r.email.clone());
    put("branch_code", r.branch_code.clone());
    let keep_id = kind != Kind::NoId;
    put("id_type", r.id_type.clone().filter(|_| keep_id));
    put("id_no", r.id_no.clone().filter(|_| keep_id));
    if kind == Kind::NoMobileShortAddress {
        put("mobile", None);
        put(
            "address",
            r.address.as_ref().map(|a| {
                let keep = a.chars().count().saturating_sub(3).max(1);
                a.chars().take(keep).collect()
            }),
        );
    } else {
        put("mobile", r.mobile.clone());
        put("address", r.address.clone());
    }
    f
}

/// Per kind: arrivals, where they went right, and their times.
#[derive(Default)]
struct Tally {
    n: usize,
    right: usize,
    micros: Vec<u64>,
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0
}

/// Lands and resolves `records` arrivals (one in four a stranger) in
/// `rounds` passes and prints the figures.
pub async fn run(store: &Store, records: usize, rounds: usize, seed: u64) -> Result<()> {
    let online = {
        let mut conn = store.acquire().await?;
        Online::load(&mut conn)
            .await
            .context("per-record resolution needs a resolved store")?
    };
    let base = panorama_store::ecif::spread_records(store, records as i64, seed as i64).await?;
    if base.is_empty() {
        bail!("the store has no linked source records: load and resolve a bank first");
    }
    {
        let mut conn = store.acquire().await?;
        panorama_store::ingest::upsert_source_system(&mut conn, SYSTEM, "bench arrivals", 10)
            .await?;
    }
    let batch_id: i64 = {
        let mut conn = store.acquire().await?;
        panorama_store::events::event_batch(&mut conn, SYSTEM, "2026-12-07").await?
    };
    say!(
        "per-record ECIF on {} ({} source records; models of resolution {}): {} arrivals × {rounds} rounds, each landed, resolved and rolled back",
        store.location(),
        store.count("source_record").await?,
        online.run,
        base.len()
    );
    let kinds = [
        Kind::Copy,
        Kind::NoMobileShortAddress,
        Kind::NoId,
        Kind::Stranger,
    ];
    for round in 1..=rounds {
        let mut rng = Rng(SplitMix(seed));
        let mut tally: Vec<Tally> = kinds.iter().map(|_| Tally::default()).collect();
        let mut all: Vec<u64> = Vec::with_capacity(base.len());
        let mut candidates = 0usize;
        reset_peak();
        let started = Instant::now();
        for (n, r) in base.iter().enumerate() {
            let k = n % kinds.len();
            let kind = kinds[k];
            let fields = arrival(r, kind, n, &mut rng);
            let clock = Instant::now();
            let mut tx = store.begin().await?;
            let id = match panorama_ingest::land_customer(
                &mut tx,
                store.backend(),
                SYSTEM,
                batch_id,
                &fields,
            )
            .await?
            {
                Ok(id) => id,
                Err(why) => bail!("arrival {n} refused: {why}"),
            };
            let resolved = online
                .resolve_record(&mut tx, store, id)
                .await
                .map_err(|e| anyhow::anyhow!("arrival {n}: {e}"))?;
            let micros = clock.elapsed().as_micros() as u64;
            tx.rollback().await?;
            let right = match kind {
                Kind::Stranger => resolved.outcome == "new",
                _ => resolved.customer_id == r.customer_id,
            };
            candidates += resolved.candidates;
            let t = &mut tally[k];
            t.n += 1;
            t.right += usize::from(right);
            t.micros.push(micros);
            all.push(micros);
        }
        let seconds = started.elapsed().as_secs_f64();
        all.sort_unstable();
        say!(
            "  round {round}: {} records in {seconds:.1} s ({:.0}/s); ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}; {:.1} candidates a record; peak {:.0} MB",
            all.len(),
            all.len() as f64 / seconds,
            quantile(&all, 0.5),
            quantile(&all, 0.9),
            quantile(&all, 0.99),
            quantile(&all, 1.0),
            candidates as f64 / all.len().max(1) as f64,
            peak_rss_mb()
        );
        for (kind, t) in kinds.iter().zip(&mut tally) {
            t.micros.sort_unstable();
            let goal = if *kind == Kind::Stranger {
                "a new customer"
            } else {
                "the customer copied"
            };
            say!(
                "    {:<24} {:>5} → {goal}: {:>5} ({:.2} %); ms p50 {:.1} p99 {:.1}",
                kind.label(),
                t.n,
                t.right,
                100.0 * t.right as f64 / t.n.max(1) as f64,
                quantile(&t.micros, 0.5),
                quantile(&t.micros, 0.99)
            );
        }
    }
    Ok(())
}
