//! `panorama bench ecif`: the accuracy panel. The matcher on datasets of
//! different origin — the Febrl files, the synthetic bank's persons, and three
//! generators with noise styles unlike the bank's (Febrl-style persons,
//! Chinese persons as bank systems hold them, companies) — each run as its own
//! `panorama match` process (so its peak memory is its own), beside Splink on
//! the same files when a Python with Splink is given.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use futures_util::TryStreamExt;
use panorama_store::{Store, StoreLocation};

/// One panel dataset.
struct Set {
    name: String,
    schema: &'static str,
    /// Splink's settings in `scripts/splink_reference.py`.
    splink_kind: &'static str,
    input: PathBuf,
    truth: PathBuf,
}

/// What the panel measures.
pub struct Panel {
    /// Folder of the generated files and results.
    pub dir: PathBuf,
    /// The Febrl files' folder.
    pub febrl: PathBuf,
    /// Also the 1,000,000-record Febrl-style file.
    pub large: bool,
    /// A Python with Splink, to run it on the same files.
    pub splink: Option<PathBuf>,
    /// Only the datasets whose name contains this.
    pub only: Option<String>,
    /// Which draw of the generated datasets: 0 is the panel's own files; any
    /// other number makes fresh files from the same generators with other
    /// seeds (named `…-d<draw>`), files nobody has looked at.
    pub draw: u64,
}

impl Panel {
    /// A generated dataset's name and seed in this draw.
    fn drawn(&self, name: &str, seed: u64) -> (String, u64) {
        if self.draw == 0 {
            (name.to_owned(), seed)
        } else {
            (format!("{name}-d{}", self.draw), seed + 1_000 * self.draw)
        }
    }
}

fn febrl_truth(input: &Path, truth: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?;
    let mut out = String::from("record_id,entity_id\n");
    for line in text.lines().skip(1) {
        let id = line.split(',').next().unwrap_or("").trim();
        let entity = id.split('-').nth(1).unwrap_or(id);
        out.push_str(&format!("{id},{entity}\n"));
    }
    std::fs::write(truth, out).with_context(|| format!("writing {}", truth.display()))
}

/// Generates a file once: a `done` marker holds the parameters it was made with.
fn once(dir: &Path, params: &str, make: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let marker = dir.join("done");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(params) {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    make(dir)?;
    std::fs::write(marker, params)?;
    Ok(())
}

/// The synthetic bank's persons as `panorama resolve` sees them (after
/// ingest's standardisation), labelled with the bank's truth.
async fn bank_persons(dir: &Path, customers: u64, seed: u64) -> Result<()> {
    let extract = dir.join("extract");
    let as_of: NaiveDate = panorama_synth::DEFAULT_AS_OF.parse()?;
    crate::ingest::generate(customers, seed, as_of, &extract)?;
    let db = dir.join("bank.db");
    let _ = std::fs::remove_file(&db);
    let store = Store::open(&StoreLocation::Sqlite(db.clone())).await?;
    crate::ingest::load(&store, &extract, &dir.join("rejects")).await?;
    let mut party: HashMap<(String, String), String> = HashMap::new();
    let mut reader = csv::Reader::from_path(extract.join("truth/records.csv"))?;
    for row in reader.records() {
        let row = row?;
        party.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
    }
    let keys: HashMap<i64, (String, String)> = panorama_store::ecif::record_keys(&store)
        .await?
        .into_iter()
        .map(|(id, s, k)| (id, (s, k)))
        .collect();
    let mut records = csv::Writer::from_path(dir.join("records.csv"))?;
    let mut truth = csv::Writer::from_path(dir.join("truth.csv"))?;
    records.write_record(panorama_synth::er::cn_persons::HEADER)?;
    truth.write_record(["record_id", "entity_id"])?;
    let mut rows = panorama_store::ecif::records(&store);
    while let Some(r) = rows.try_next().await? {
        if r.party_type != "person" {
            continue;
        }
        let id = r.id.to_string();
        let label = keys
            .get(&r.id)
            .and_then(|k| party.get(k))
            .cloned()
            .unwrap_or_else(|| format!("unknown:{id}"));
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        records.write_record([
            id.clone(),
            r.name.clone(),
            r.id_no_std.clone().or(r.id_no.clone()).unwrap_or_default(),
            opt(&r.mobile_std),
            opt(&r.birth_date),
            opt(&r.gender),
            opt(&r.address),
            opt(&r.email),
        ])?;
        truth.write_record([id, label])?;
    }
    records.flush()?;
    truth.flush()?;
    store.close().await;
    std::fs::remove_file(&db).ok();
    std::fs::remove_dir_all(&extract).ok();
    Ok(())
}

async fn prepare(p: &Panel) -> Result<Vec<Set>> {
    use panorama_synth::er;
    let mut sets = Vec::new();
    // The Febrl files are fixed: a fresh draw has only generated files.
    for k in (1..=3).filter(|_| p.draw == 0) {
        let input = p.febrl.join(format!("dataset{k}.csv"));
        if !input.is_file() {
            bail!(
                "{} not found (the Febrl files; --febrl names their folder)",
                input.display()
            );
        }
        let dir = p.dir.join(format!("febrl{k}"));
        std::fs::create_dir_all(&dir)?;
        let truth = dir.join("truth.csv");
        febrl_truth(&input, &truth)?;
        sets.push(Set {
            name: format!("febrl{k}"),
            schema: "schemas/febrl.toml",
            splink_kind: "febrl",
            input,
            truth,
        });
    }
    let generated: Vec<(&str, &'static str, &'static str, usize, u64)> = {
        let mut v = vec![
            (
                "febrl-like-100k",
                "schemas/febrl.toml",
                "febrl",
                100_000,
                11,
            ),
            (
                "cn-persons-50k",
                "schemas/bank-persons.toml",
                "bank",
                50_000,
                12,
            ),
            (
                "companies-20k",
                "schemas/companies.toml",
                "company",
                20_000,
                13,
            ),
        ];
        if p.large {
            v.push((
                "febrl-like-1m",
                "schemas/febrl.toml",
                "febrl",
                1_000_000,
                15,
            ));
            v.push((
                "companies-100k",
                "schemas/companies.toml",
                "company",
                100_000,
                16,
            ));
        }
        v
    };
    for (name, schema, kind, size, seed) in generated {
        let (name, seed) = p.drawn(name, seed);
        let name = name.as_str();
        if p.only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let dir = p.dir.join(name);
        // The companies generator's second version registers each trade name
        // once per city and trade, its third one branch per city and company;
        // a file made by an earlier version is made again.
        let version = if name.starts_with("companies") {
            " v3"
        } else {
            ""
        };
        once(&dir, &format!("{name} {size} {seed}{version}"), |d| {
            let w = if name.starts_with("febrl") {
                er::febrl_like::generate(d, size, seed)?
            } else if name.starts_with("cn") {
                er::cn_persons::generate(d, size, seed)?
            } else {
                er::companies::generate(d, size, seed)?
            };
            say!(
                "generated {name}: {} records, {} entities, {} true pairs",
                w.records,
                w.entities,
                w.true_pairs
            );
            Ok(())
        })?;
        sets.push(Set {
            name: name.to_owned(),
            schema,
            splink_kind: kind,
            input: dir.join("records.csv"),
            truth: dir.join("truth.csv"),
        });
    }
    if p.only
        .as_deref()
        .is_none_or(|o| "bank-persons-10k".contains(o))
    {
        let (name, seed) = p.drawn("bank-persons-10k", 14);
        let dir = p.dir.join(&name);
        let params = format!("bank 10000 {seed}");
        if std::fs::read_to_string(dir.join("done")).ok().as_deref() != Some(params.as_str()) {
            std::fs::create_dir_all(&dir)?;
            bank_persons(&dir, 10_000, seed).await?;
            std::fs::write(dir.join("done"), params)?;
        }
        sets.push(Set {
            name,
            schema: "schemas/bank-persons.toml",
            splink_kind: "bank",
            input: dir.join("records.csv"),
            truth: dir.join("truth.csv"),
        });
    }
    sets.retain(|s| p.only.as_deref().is_none_or(|o| s.name.contains(o)));
    Ok(sets)
}

/// One tool's figures on one dataset.
#[derive(Default)]
struct Figures {
    precision: f64,
    recall: f64,
    f1: f64,
    /// The best F1 a pair-by-pair classifier of the comparison levels reaches (ours only).
    oracle: Option<f64>,
    pairs: u64,
    seconds: f64,
    peak_mb: f64,
    error: Option<String>,
}

fn ours(set: &Set, out: &Path) -> Result<Figures> {
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let output = Command::new(exe)
        .args(["match", "--schema", set.schema, "--input"])
        .arg(&set.input)
        .arg("--out")
        .arg(out)
        .arg("--truth")
        .arg(&set.truth)
        .output()?;
    let wall = started.elapsed().as_secs_f64();
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Ok(Figures {
            seconds: wall,
            error: Some(err.lines().last().unwrap_or("failed").to_owned()),
            ..Figures::default()
        });
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json"))?)?;
    // The peak after the outputs were written (the report's is from before).
    let stdout = String::from_utf8_lossy(&output.stdout);
    let peak = stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_mb="))
        .and_then(|v| v.parse::<f64>().ok());
    Ok(Figures {
        precision: report["precision"].as_f64().unwrap_or(0.0),
        recall: report["recall"].as_f64().unwrap_or(0.0),
        f1: report["f1"].as_f64().unwrap_or(0.0),
        oracle: report["oracle_f1"].as_f64(),
        pairs: report["comparisons"].as_u64().unwrap_or(0),
        seconds: wall,
        peak_mb: peak.or(report["peak_rss_mb"].as_f64()).unwrap_or(0.0),
        error: None,
    })
}

fn splink(python: &Path, set: &Set) -> Result<Figures> {
    let output = Command::new(python)
        .arg(crate::script("splink_reference.py"))
        .arg(set.splink_kind)
        .arg(&set.input)
        .arg(&set.truth)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(line) = text.lines().rfind(|l| l.starts_with("splink ")) else {
        let err = String::from_utf8_lossy(&output.stderr);
        return Ok(Figures {
            error: Some(err.lines().last().unwrap_or("failed").to_owned()),
            ..Figures::default()
        });
    };
    let field = |k: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    Ok(Figures {
        precision: field("precision"),
        recall: field("recall"),
        f1: field("f1"),
        oracle: None,
        pairs: field("pairs") as u64,
        seconds: field("seconds"),
        peak_mb: field("peak_mb"),
        error: None,
    })
}

fn row(name: &str, tool: &str, f: &Figures) {
    match &f.error {
        Some(e) => say!("{name:<18} {tool:<9} {e}"),
        None => say!(
            "{name:<18} {tool:<9} {:>9.4} {:>9.4} {:>9.4} {:>9} {:>12} {:>9.1} {:>9.0}",
            f.precision,
            f.recall,
            f.f1,
            f.oracle.map(|c| format!("{c:.4}")).unwrap_or_default(),
            f.pairs,
            f.seconds,
            f.peak_mb
        ),
    }
}

/// Runs the panel and prints its table.
pub async fn run(p: &Panel) -> Result<()> {
    let sets = prepare(p).await?;
    say!(
        "{:<18} {:<9} {:>9} {:>9} {:>9} {:>9} {:>12} {:>9} {:>9}",
        "dataset",
        "tool",
        "precision",
        "recall",
        "F1",
        "oracle",
        "pairs",
        "seconds",
        "peak MB"
    );
    for set in &sets {
        let out = p.dir.join(&set.name).join("out");
        let f = ours(set, &out)?;
        row(&set.name, "panorama", &f);
        if let Some(python) = &p.splink {
            let s = splink(python, set)?;
            row(&set.name, "splink", &s);
            if s.error.is_none() && f.error.is_none() && f.seconds > 0.0 {
                say!(
                    "{:<18} {:<9} time ×{:.2}, memory ×{:.2} (Splink / Panorama)",
                    "",
                    "ratio",
                    s.seconds / f.seconds,
                    s.peak_mb / f.peak_mb.max(1.0)
                );
            }
        }
    }
    Ok(())
}
