//! Integration tests of the synthetic bank: deterministic, truthful, noisy
//! in the ways real extracts are, and with the planted structure models need.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use panorama_domain::ResidentId;
use panorama_synth::{Config, generate};

fn bank(dir: &Path, customers: u64, seed: u64) -> panorama_synth::Summary {
    let config = Config {
        customers,
        seed,
        as_of: "2026-10-31".parse().unwrap(),
        out: dir.to_path_buf(),
        gzip: false,
    };
    generate(&config, &|_, _| {}).unwrap()
}

/// Source key → party id for one system, from the truth.
fn party_of(p: &Path, system: &str) -> HashMap<String, String> {
    rows(&p.join("truth/records.csv"))
        .into_iter()
        .filter(|r| &r[0] == system)
        .map(|r| (r[1].to_owned(), r[2].to_owned()))
        .collect()
}

fn rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bank_byte_for_byte() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    bank(a.path(), 5_000, 7);
    bank(b.path(), 5_000, 7);
    bank(c.path(), 5_000, 8);
    for (file, _) in panorama_synth::FILES {
        let x = fs::read(a.path().join(file)).unwrap();
        assert_eq!(
            x,
            fs::read(b.path().join(file)).unwrap(),
            "{file} differs for the same seed"
        );
    }
    assert_ne!(
        fs::read(a.path().join("core_customers.csv")).unwrap(),
        fs::read(c.path().join("core_customers.csv")).unwrap()
    );
}

#[test]
fn truth_covers_every_source_record_and_duplicates_are_realistic() {
    let dir = tempfile::tempdir().unwrap();
    let summary = bank(dir.path(), 4_000, 3);
    let truth: HashMap<(String, String), String> = rows(&dir.path().join("truth/records.csv"))
        .into_iter()
        .map(|r| ((r[0].to_owned(), r[1].to_owned()), r[2].to_owned()))
        .collect();
    let mut records = 0;
    let mut legacy = 0;
    let mut bad_check = 0;
    let mut missing = 0;
    let mut parties_by_id: HashMap<String, HashSet<String>> = HashMap::new();
    for (system, id_col) in [
        ("core", 6),
        ("card", 4),
        ("loan", 5),
        ("wealth", 4),
        ("echannel", 3),
    ] {
        for r in rows(&dir.path().join(format!("{system}_customers.csv"))) {
            records += 1;
            let party = truth
                .get(&(system.to_owned(), r[0].to_owned()))
                .unwrap_or_else(|| panic!("{system} {} has no truth", &r[0]));
            let id = &r[id_col];
            match id.len() {
                0 => missing += 1,
                15 => legacy += 1,
                _ => {}
            }
            match ResidentId::parse(id) {
                Ok(parsed) => {
                    parties_by_id
                        .entry(parsed.to_string())
                        .or_default()
                        .insert(party.clone());
                }
                Err(_) if !id.is_empty() => bad_check += 1,
                Err(_) => {}
            }
        }
    }
    assert_eq!(records, truth.len());
    assert_eq!(summary.rows("truth/records.csv") as usize, records);
    // The same person appears in several systems: more records than people.
    let parties = summary.rows("truth/parties.csv") as usize;
    assert!(
        records as f64 > parties as f64 * 1.4,
        "{records} records for {parties} parties"
    );
    // Noise a resolver must handle, at realistic rates.
    assert!(legacy > 20 && legacy < records / 5, "legacy ids: {legacy}");
    assert!(
        bad_check > 0 && bad_check < records / 50,
        "ids failing the check digit: {bad_check}"
    );
    assert!(missing > records / 20, "missing ids: {missing}");
    // A valid resident id never belongs to two different people.
    assert!(parties_by_id.values().all(|p| p.len() == 1));
}

#[test]
fn names_vary_across_systems_by_homophones() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 6_000, 5);
    let truth: HashMap<String, String> = rows(&dir.path().join("truth/parties.csv"))
        .into_iter()
        .map(|r| (r[0].to_owned(), r[2].to_owned()))
        .collect();
    let keys: HashMap<(String, String), String> = rows(&dir.path().join("truth/records.csv"))
        .into_iter()
        .map(|r| ((r[0].to_owned(), r[1].to_owned()), r[2].to_owned()))
        .collect();
    let mut differ = 0;
    let mut total = 0;
    for r in rows(&dir.path().join("card_customers.csv")) {
        let party = &keys[&("card".to_owned(), r[0].to_owned())];
        total += 1;
        if r[1].trim() != truth[party] {
            differ += 1;
            assert_eq!(
                r[1].chars().count(),
                truth[party].chars().count() + usize::from(r[1].contains('\u{3000}'))
            );
        }
    }
    let rate = differ as f64 / total as f64;
    assert!((0.01..0.10).contains(&rate), "card name typo rate {rate}");
}

/// Card uptake in year two is higher for customers with frequent ATM use in
/// year one — measured from the extracts, as a model would see it.
#[test]
fn frequent_atm_users_take_up_cards_more_often() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 20_000, 9);
    let p = dir.path();
    let party_of_key = party_of(p, "core");
    let party_of_account: HashMap<String, String> = rows(&p.join("core_accounts.csv"))
        .into_iter()
        .filter_map(|r| {
            party_of_key
                .get(&r[1])
                .map(|party| (r[0].to_owned(), party.clone()))
        })
        .collect();
    let mut atm: HashMap<String, u32> = HashMap::new();
    for r in rows(&p.join("core_transactions.csv")) {
        // Year one of the 24-month window ending 2026-10: 2024-11 .. 2025-10.
        if &r[5] == "02" && &r[2][..7] <= "2025-10" {
            if let Some(party) = party_of_account.get(&r[1]) {
                *atm.entry(party.clone()).or_default() += 1;
            }
        }
    }
    let truth = rows(&p.join("truth/propensity.csv"));
    let party_of_card_key = party_of(p, "card");
    // Cards issued before the window's second year: those customers cannot take one up.
    let card_at_start: HashSet<String> = rows(&p.join("card_accounts.csv"))
        .into_iter()
        .filter(|r| &r[4][..6] < "202511")
        .map(|r| party_of_card_key[&r[1]].clone())
        .collect();
    let (mut hi, mut hi_take, mut lo, mut lo_take) = (0, 0, 0, 0);
    for r in &truth {
        let party = &r[0];
        if card_at_start.contains(party) {
            continue;
        }
        let took = !r[2].is_empty();
        let n = atm.get(party).copied().unwrap_or(0);
        if n >= 48 {
            hi += 1;
            hi_take += u32::from(took);
        } else if n <= 6 {
            lo += 1;
            lo_take += u32::from(took);
        }
    }
    let (hi_rate, lo_rate) = (hi_take as f64 / hi as f64, lo_take as f64 / lo as f64);
    assert!(hi > 100 && lo > 100, "groups too small: {hi} {lo}");
    assert!(
        hi_rate > 2.0 * lo_rate,
        "uptake with frequent ATM use {hi_rate:.3} vs rare {lo_rate:.3}"
    );
}

/// Churners' balances fall in the months before they leave; others' do not.
#[test]
fn balances_fall_before_churn() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path(), 10_000, 13);
    let p = dir.path();
    let party_of_key = party_of(p, "core");
    let current: HashMap<String, String> = rows(&p.join("core_accounts.csv"))
        .into_iter()
        .filter(|r| &r[2] == "D001")
        .filter_map(|r| {
            party_of_key
                .get(&r[1])
                .map(|party| (r[0].to_owned(), party.clone()))
        })
        .collect();
    let churn: HashMap<String, String> = rows(&p.join("truth/propensity.csv"))
        .into_iter()
        .filter(|r| !r[4].is_empty())
        .map(|r| (r[0].to_owned(), r[4][..7].to_owned()))
        .collect();
    assert!(churn.len() > 100, "churners: {}", churn.len());
    let mut series: HashMap<String, Vec<(String, f64)>> = HashMap::new();
    for r in rows(&p.join("core_balances.csv")) {
        if let Some(party) = current.get(&r[0]) {
            series
                .entry(party.clone())
                .or_default()
                .push((r[1].to_owned(), r[2].parse().unwrap()));
        }
    }
    let mut ratios = Vec::new();
    for (party, month) in &churn {
        let Some(s) = series.get(party) else { continue };
        let before: Vec<f64> = s.iter().filter(|(m, _)| m < month).map(|x| x.1).collect();
        if before.len() >= 8 {
            let early: f64 = before[..3].iter().sum();
            let late: f64 = before[before.len() - 2..].iter().sum::<f64>() * 1.5;
            ratios.push(late / early.max(1.0));
        }
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    assert!(
        median < 0.6,
        "median late/early balance ratio of churners {median:.2}"
    );
}

#[test]
fn a_gzip_bank_is_the_plain_bank_compressed() {
    use std::io::Read;
    let plain = tempfile::tempdir().unwrap();
    let gz = tempfile::tempdir().unwrap();
    bank(plain.path(), 150, 9);
    let config = Config {
        customers: 150,
        seed: 9,
        as_of: "2026-10-31".parse().unwrap(),
        out: gz.path().to_path_buf(),
        gzip: true,
    };
    generate(&config, &|_, _| {}).unwrap();
    let manifest = fs::read_to_string(gz.path().join("manifest.toml")).unwrap();
    let mut named = 0;
    for entry in fs::read_dir(plain.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".csv") {
            continue;
        }
        named += 1;
        assert!(manifest.contains(&format!("\"{name}.gz\"")), "{name}");
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(gz.path().join(format!("{name}.gz"))).unwrap())
            .read_to_end(&mut text)
            .unwrap();
        assert_eq!(text, fs::read(plain.path().join(&name)).unwrap(), "{name}");
    }
    assert!(named >= 18, "{named} extract files");
    // The truth stays plain, for the benchmarks that read it.
    assert!(gz.path().join("truth/records.csv").exists());
}
