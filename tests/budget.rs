//! The batch within a memory budget: the analytics engine's operators held
//! to a few megabytes (sorts and aggregations spill to disk) give exactly
//! the features and tiers of the unbounded run. Its own test binary: the
//! budget belongs to the process.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::path::Path;

use panorama_analytics::batch;
use panorama_analytics::engine::{self, Limits};
use panorama_analytics::{Config, features};
use panorama_ingest::{Options, ingest};
use panorama_store::test_support;

fn quiet(_: &str, _: u64, _: u64) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_within_a_small_memory_budget_gives_the_unbounded_results() {
    let dir = tempfile::tempdir().unwrap();
    let bank = panorama_synth::Config {
        customers: 1_500,
        seed: 21,
        as_of: "2026-10-31".parse().unwrap(),
        out: dir.path().join("bank"),
        gzip: false,
    };
    panorama_synth::generate(&bank, &|_, _| {}).unwrap();
    let config = Config::default_config();
    let store = test_support::sqlite().await.unwrap();
    let options = Options {
        rejects_dir: dir.path().join("rejects"),
        copy: false,
    };
    ingest(&store, &dir.path().join("bank"), &options, &quiet)
        .await
        .unwrap();
    panorama_ecif::store::run_resolve(&store, false)
        .await
        .unwrap();
    let as_of = "2026-10-31";
    let free = dir.path().join("unbounded");
    let unbounded = batch::run(&store, &free, &config, Some(as_of.parse().unwrap()))
        .await
        .unwrap();

    // 16 MB for every operator of every query of the batch (a sort needs
    // about 5 MB for one batch of the feature table's 83 columns; at 8 MB
    // another sort holding 5 MB starved it when the machine was loaded).
    let spill = dir.path().join("spill");
    engine::set_limits(&Limits {
        memory_bytes: Some(16 << 20),
        spill_dir: Some(spill.clone()),
    })
    .unwrap();
    let held = dir.path().join("held");
    let bounded = batch::run(&store, &held, &config, Some(as_of.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(bounded.customers, unbounded.customers);
    assert_eq!(bounded.tiers, unbounded.tiers);
    // The store's tiers were already the replayed ones: nothing to change.
    assert_eq!(
        (bounded.tier_rows_written, bounded.tier_rows_deleted),
        (0, 0)
    );
    let date = as_of.parse().unwrap();
    let a = features::rows_as_text(&free, date).await.unwrap();
    let b = features::rows_as_text(&held, date).await.unwrap();
    assert_eq!(a.len(), unbounded.customers as usize);
    assert!(a == b, "the features differ within the budget");
    // The budget made the engine spill (it made its directory there), and
    // spill files are gone once the queries end.
    assert!(
        std::fs::read_dir(&spill).unwrap().count() > 0,
        "nothing spilled: the budget did not bind"
    );
    assert_eq!(files_under(&spill), 0, "spill files left behind");
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() { files_under(&p) } else { 1 }
            })
            .sum()
    })
}
