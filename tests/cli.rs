//! End-to-end tests of the `panorama` binary: generate → ingest with a JSON
//! report, quickstart, and clear errors for bad input.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

fn panorama(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panorama"))
        .args(args)
        .current_dir(dir)
        .env_remove("PANORAMA_STORE")
        .output()
        .expect("run panorama")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn generate_then_ingest_accounts_for_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = panorama(
        dir.path(),
        &[
            "generate",
            "--customers",
            "400",
            "--seed",
            "5",
            "--out",
            "bank",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Generated a bank of 400 customers"));
    let out = panorama(
        dir.path(),
        &[
            "--store",
            "store",
            "ingest",
            "bank",
            "--report",
            "report.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["status"], "committed");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 18);
    for f in files {
        let (read, landed, rejected) = (
            f["read"].as_i64().unwrap(),
            f["landed"].as_i64().unwrap(),
            f["rejected"].as_i64().unwrap(),
        );
        assert_eq!(read, landed + rejected, "{f}");
        let lines =
            std::fs::read_to_string(dir.path().join("bank").join(f["file"].as_str().unwrap()))
                .unwrap()
                .lines()
                .count() as i64;
        assert_eq!(read, lines - 1, "{f}");
        assert!(f.get("reject_file").is_some());
    }
    assert!(dir.path().join("store/panorama.db").is_file());
    let out = panorama(dir.path(), &["--store", "store", "batches"]);
    assert!(text(&out).contains("committed"), "{}", text(&out));
}

#[test]
fn quickstart_sets_up_a_demo_bank() {
    let dir = tempfile::tempdir().unwrap();
    let out = panorama(dir.path(), &["quickstart", "--customers", "300"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("committed"), "{t}");
    assert!(t.contains("source_record"), "{t}");
    assert!(dir.path().join("panorama-data/panorama.db").is_file());
    assert!(
        dir.path()
            .join("panorama-data/ingest-report.json")
            .is_file()
    );
    // Running it again is safe: same bank, nothing changes.
    let again = panorama(dir.path(), &["quickstart", "--customers", "300"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains(" 0 changed"), "{}", text(&again));
}

#[test]
fn bad_input_gets_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["ingest", "no-such-folder"], "manifest.toml"),
        (
            &["--store", "mysql://x/y", "ingest", "."],
            "not a store location",
        ),
        (
            &["generate", "--customers", "0", "--out", "x"],
            "--customers must be at least 1",
        ),
        (
            &["generate", "--as-of", "2026-02-30", "--out", "x"],
            "invalid value",
        ),
        (
            &["--store", "postgres://nobody@127.0.0.1:1/none", "batches"],
            "cannot connect",
        ),
    ];
    for (args, expected) in cases {
        let out = panorama(dir.path(), args);
        let t = text(&out);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(t.contains(expected), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
    }
}
