//! Integration tests of ingest on both stores: a generated bank lands whole,
//! re-runs change nothing, broken files give clear rejects, and a failed run
//! leaves the store as it was.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::fs;
use std::path::Path;

use panorama_ingest::{IngestError, Options, ingest};
use panorama_store::test_support::{self, TestStore};

async fn stores(test: &str) -> Vec<TestStore> {
    test_support::both(test).await.expect("test stores")
}

fn quiet(_: &str, _: u64, _: u64) {}

fn data_lines(path: &Path) -> i64 {
    fs::read_to_string(path).unwrap().lines().count() as i64 - 1
}

#[tokio::test]
async fn a_generated_bank_lands_whole_and_a_rerun_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let extract = dir.path().join("extract");
    let config = panorama_synth::Config {
        customers: 600,
        seed: 11,
        as_of: "2026-10-31".parse().unwrap(),
        out: extract.clone(),
        gzip: false,
    };
    let summary = panorama_synth::generate(&config, &|_, _| {}).unwrap();
    for store in stores("a_generated_bank_lands_whole_and_a_rerun_changes_nothing").await {
        let options = Options {
            rejects_dir: dir.path().join(format!("rejects-{:?}", store.backend())),
            copy: true,
        };
        let report = ingest(&store, &extract, &options, &quiet).await.unwrap();
        assert_eq!(report.status, "committed");
        assert_eq!(report.files.len(), 18);
        for f in &report.files {
            // Every row is accounted for, and the count matches the file itself.
            assert_eq!(f.read, f.landed + f.rejected, "{}", f.file);
            assert_eq!(f.read, data_lines(&extract.join(&f.file)), "{}", f.file);
            // The synthetic bank is well-formed: nothing is rejected.
            assert_eq!(f.rejected, 0, "{} rejects: {:?}", f.file, f.reject_file);
        }
        let customers: u64 = ["core", "card", "loan", "wealth", "echannel"]
            .iter()
            .map(|s| summary.rows(&format!("{s}_customers.csv")))
            .sum();
        assert_eq!(
            store.count("source_record").await.unwrap(),
            customers as i64
        );
        assert_eq!(
            store.count("txn").await.unwrap() as u64,
            summary.rows("core_transactions.csv") + summary.rows("card_transactions.csv")
        );
        assert_eq!(
            store.count("org_unit").await.unwrap() as u64,
            summary.rows("org_units.csv")
        );
        // Org paths are materialised from the hierarchy.
        let path: String = sqlx::query_scalar("SELECT path FROM org_unit WHERE code = 'SB0101'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(path.matches('/').count(), 4, "{path}");
        // Standardised ids: legacy ids were upgraded, bad ones flagged.
        let upgraded: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM source_record WHERE id_status = 'upgraded'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert!(upgraded > 0);

        let before = store.count("txn").await.unwrap();
        let again = ingest(&store, &extract, &options, &quiet).await.unwrap();
        assert_eq!(again.changed, 0, "a re-run must change nothing");
        assert_eq!(again.read, report.read);
        assert_eq!(store.count("txn").await.unwrap(), before);
        assert_eq!(
            store.count("source_record").await.unwrap(),
            customers as i64
        );
    }
}

const MANIFEST: &str = r#"
extract_date = "2024-06-30"
[[systems]]
code = "core"
name = "核心"

[[files]]
path = "products.csv"
kind = "products"
[files.columns]
CODE = "code"
NAME = "name"
CLASS = "class"
SYS = "system"

[[files]]
path = "customers.csv"
system = "core"
kind = "customers"
[files.columns]
KEY = "source_key"
TYPE = "party_type"
NAME = "name"
DOB = "birth_date"
ID = "id_no"
MOBILE = "mobile"
[files.values.party_type]
"1" = "person"
"2" = "organisation"

[[files]]
path = "gbk_customers.csv"
system = "core"
kind = "customers"
encoding = "gbk"
[files.columns]
KEY = "source_key"
NAME = "name"
[files.constants]
party_type = "person"

[[files]]
path = "accounts.csv"
system = "core"
kind = "accounts"
[files.columns]
ACCT = "account_no"
KEY = "customer_key"
PROD = "product_code"
OPENED = "opened_on"
STATUS = "status"

[[files]]
path = "txns.csv"
system = "core"
kind = "transactions"
amount_unit = "yuan"
[files.columns]
REF = "txn_ref"
ACCT = "account_no"
AT = "booked_at"
AMT = "amount"
DC = "direction"
CH = "channel"
"#;

fn write_broken_folder(dir: &Path) {
    fs::write(dir.join("manifest.toml"), MANIFEST).unwrap();
    fs::write(
        dir.join("products.csv"),
        "CODE,NAME,CLASS,SYS\nD001,活期,settlement,core\n",
    )
    .unwrap();
    let mut customers = Vec::new();
    customers.extend_from_slice(b"\xEF\xBB\xBFKEY,TYPE,NAME,DOB,ID,MOBILE\n"); // a BOM before the header
    customers.extend_from_slice("C1,1,张三,1949-12-31,11010519491231002X,13812345678\n".as_bytes()); // line 2 ok
    customers.extend_from_slice("C2,1,李四,1980-02-30,,\n".as_bytes()); // line 3 bad date
    customers.extend_from_slice("C3,1,王五\n".as_bytes()); // line 4 too few fields
    customers.extend_from_slice("C4,9,赵六,,,\n".as_bytes()); // line 5 unknown code
    customers.extend_from_slice(b"C5,1,\xD5\xC5\xC8\xFD,,,\n"); // line 6 GBK bytes in a UTF-8 file
    customers.extend_from_slice("C1,1,张三,1949-12-31,,\n".as_bytes()); // line 7 duplicate key
    customers.extend_from_slice("C6,2,,,,\n".as_bytes()); // line 8 empty name
    customers.extend_from_slice("C7,1,孙七,1990-01-01,110105491231002,138 1234 5678\n".as_bytes()); // line 9 ok (legacy id)
    customers.extend_from_slice("C8,1,周八,1990-01-0".as_bytes()); // line 10 truncated, no newline
    fs::write(dir.join("customers.csv"), customers).unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode("KEY,NAME\nG1,欧阳娜娜\nG2,上官婉儿\n");
    fs::write(dir.join("gbk_customers.csv"), gbk).unwrap();
    fs::write(
        dir.join("accounts.csv"),
        "ACCT,KEY,PROD,OPENED,STATUS\nA1,C1,D001,2020-01-01,active\nA2,NOPE,D001,2020-01-01,active\nA3,C7,X999,2020-01-01,active\nA4,C7,D001,2020-01-01,frozen\n",
    )
    .unwrap();
    fs::write(
        dir.join("txns.csv"),
        "REF,ACCT,AT,AMT,DC,CH\nT1,A1,2024-06-01 10:00:00,100.50,D,atm\nT2,A1,2024-06-01 10:00:00,-5,D,atm\nT3,A9,2024-06-01 10:00:00,1,D,atm\nT4,A1,2024-06-01,1,D,atm\nT5,A1,2024-06-02 09:00:00,1.234,C,mobile\n",
    )
    .unwrap();
}

fn rejects(path: &str) -> Vec<(u64, String, String)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[0].parse().unwrap(), r[1].to_owned(), r[2].to_owned()))
        .collect()
}

#[tokio::test]
async fn broken_files_give_clear_rejects_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_broken_folder(dir.path());
    for store in stores("broken_files_give_clear_rejects_and_lose_nothing").await {
        let options = Options {
            rejects_dir: dir.path().join(format!("rejects-{:?}", store.backend())),
            copy: true,
        };
        let report = ingest(&store, dir.path(), &options, &quiet).await.unwrap();
        let file = |name: &str| {
            report
                .files
                .iter()
                .find(|f| f.file == name)
                .unwrap()
                .clone()
        };

        let c = file("customers.csv");
        assert_eq!((c.read, c.landed, c.rejected), (9, 2, 7));
        let r = rejects(c.reject_file.as_deref().unwrap());
        let lines: Vec<u64> = r.iter().map(|x| x.0).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8, 10]);
        assert!(
            r[0].2.contains("not a date in the format %Y-%m-%d"),
            "{:?}",
            r[0]
        );
        assert!(r[1].2.contains("expected 6 fields"), "{:?}", r[1]);
        assert_eq!(r[2].1, "TYPE");
        assert!(r[2].2.contains("'9' is not a known code"), "{:?}", r[2]);
        assert!(r[3].2.contains("GBK"), "{:?}", r[3]);
        assert!(
            r[4].2.contains("duplicate customer key 'C1'") && r[4].2.contains("line 2"),
            "{:?}",
            r[4]
        );
        assert!(r[5].2.contains("name is required"), "{:?}", r[5]);
        assert!(
            r[6].2.contains("expected 6 fields"),
            "truncated last line: {:?}",
            r[6]
        );

        let g = file("gbk_customers.csv");
        assert_eq!((g.read, g.landed, g.rejected), (2, 2, 0));
        let name: String =
            sqlx::query_scalar("SELECT name FROM source_record WHERE source_key = 'G1'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(name, "欧阳娜娜");
        let (id_std, status, mobile): (Option<String>, String, Option<String>) = sqlx::query_as(
            "SELECT id_no_std, id_status, mobile_std FROM source_record WHERE source_key = 'C7'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(
            (id_std.as_deref(), status.as_str(), mobile.as_deref()),
            (Some("11010519491231002X"), "upgraded", Some("13812345678"))
        );

        let a = file("accounts.csv");
        assert_eq!((a.read, a.landed, a.rejected), (4, 1, 3));
        let r = rejects(a.reject_file.as_deref().unwrap());
        assert!(r[0].2.contains("customer key 'NOPE'"), "{:?}", r[0]);
        assert!(r[1].2.contains("product 'X999'"), "{:?}", r[1]);
        assert!(r[2].2.contains("'frozen' is not one of"), "{:?}", r[2]);

        let t = file("txns.csv");
        assert_eq!((t.read, t.landed, t.rejected), (5, 1, 4));
        let r = rejects(t.reject_file.as_deref().unwrap());
        assert!(r[0].2.contains("negative"), "{:?}", r[0]);
        assert!(r[1].2.contains("account 'A9'"), "{:?}", r[1]);
        assert!(r[2].2.contains("not a timestamp"), "{:?}", r[2]);
        assert!(
            r[3].2.contains("more than two decimal places"),
            "{:?}",
            r[3]
        );
        let amount: i64 = sqlx::query_scalar("SELECT amount_minor FROM txn WHERE txn_ref = 'T1'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(amount, 10_050);
        assert_eq!(report.read, report.landed + report.rejected);
    }
}

#[tokio::test]
async fn a_failed_run_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    write_broken_folder(dir.path());
    for store in stores("a_failed_run_leaves_the_store_as_it_was").await {
        let options = Options {
            rejects_dir: dir.path().join("rejects"),
            copy: true,
        };
        ingest(&store, dir.path(), &options, &quiet).await.unwrap();
        let before: Vec<i64> = futures_count(&store).await;
        // A second extract whose last file lacks a column the manifest maps:
        // products and customers would load first, then the run fails.
        let bad = tempfile::tempdir().unwrap();
        write_broken_folder(bad.path());
        fs::write(
            bad.path().join("customers.csv"),
            "KEY,TYPE,NAME,DOB,ID,MOBILE\nNEW1,1,新客户,,,\n",
        )
        .unwrap();
        fs::write(
            bad.path().join("txns.csv"),
            "REF,ACCT,AT,AMT,DC\nT9,A1,2024-06-01 10:00:00,1,D\n",
        )
        .unwrap();
        let err = ingest(&store, bad.path(), &options, &quiet)
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::File { .. }));
        assert!(
            err.to_string()
                .contains("column CH named in the manifest is not in the header"),
            "{err}"
        );
        assert_eq!(
            futures_count(&store).await,
            before,
            "nothing of the failed batch may remain"
        );
        let batches = panorama_store::ingest::batches(&store).await.unwrap();
        assert_eq!(batches[0].status, "failed");
        assert!(
            batches[0]
                .error
                .as_deref()
                .unwrap_or("")
                .contains("column CH")
        );
    }
}

async fn futures_count(store: &TestStore) -> Vec<i64> {
    let mut out = Vec::new();
    for t in ["product", "source_record", "account", "txn", "ingest_file"] {
        out.push(store.count(t).await.unwrap());
    }
    out
}

#[tokio::test]
async fn manifest_errors_are_clear() {
    let store = test_support::sqlite().await.unwrap();
    let options = Options {
        rejects_dir: std::env::temp_dir(),
        copy: true,
    };
    let dir = tempfile::tempdir().unwrap();
    let err = ingest(&store, dir.path(), &options, &quiet)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("manifest.toml"), "{err}");

    write_broken_folder(dir.path());
    let cases = [
        (
            MANIFEST.replace(
                "system = \"core\"\nkind = \"accounts\"",
                "system = \"ledger\"\nkind = \"accounts\"",
            ),
            "system 'ledger' is not declared",
        ),
        (
            MANIFEST.replace(
                "KEY = \"source_key\"\nNAME = \"name\"",
                "KEY = \"source_key\"\nNAME = \"nom\"",
            ),
            "'nom' is not a field of customers",
        ),
        (
            MANIFEST.replace("REF = \"txn_ref\"\n", ""),
            "required field 'txn_ref'",
        ),
        (
            MANIFEST.replace("path = \"txns.csv\"", "path = \"missing.csv\""),
            "no such file",
        ),
        (MANIFEST.replace("[[systems]]", "[[systemz]]"), "manifest"),
    ];
    for (manifest, expected) in cases {
        fs::write(dir.path().join("manifest.toml"), manifest).unwrap();
        let err = ingest(&store, dir.path(), &options, &quiet)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "{err} should mention {expected}"
        );
    }
    // Nothing was written by any of these.
    assert_eq!(store.count("source_record").await.unwrap(), 0);
    assert_eq!(store.count("ingest_batch").await.unwrap(), 0);
}

#[tokio::test]
async fn a_changed_row_updates_its_record_in_place() {
    let dir = tempfile::tempdir().unwrap();
    write_broken_folder(dir.path());
    let store = test_support::sqlite().await.unwrap();
    let options = Options {
        rejects_dir: dir.path().join("rejects"),
        copy: true,
    };
    ingest(&store, dir.path(), &options, &quiet).await.unwrap();
    let text = fs::read_to_string(dir.path().join("gbk_customers.csv")).unwrap_or_default();
    assert!(
        text.is_empty() || !text.contains("欧阳"),
        "the file is GBK, not UTF-8"
    );
    let (gbk, _, _) = encoding_rs::GBK.encode("KEY,NAME\nG1,欧阳娜\nG2,上官婉儿\n");
    fs::write(dir.path().join("gbk_customers.csv"), gbk).unwrap();
    let report = ingest(&store, dir.path(), &options, &quiet).await.unwrap();
    let g = report
        .files
        .iter()
        .find(|f| f.file == "gbk_customers.csv")
        .unwrap();
    assert_eq!((g.read, g.changed), (2, 1));
    let (name, first, last): (String, i64, i64) = sqlx::query_as(
        "SELECT name, first_batch_id, batch_id FROM source_record WHERE source_key = 'G1'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((name.as_str(), first, last), ("欧阳娜", 1, 2));
}

/// Gzips every CSV of `from` into `to` as `name.csv.gz`, with the manifest
/// naming the compressed files.
fn gzip_folder(from: &Path, to: &Path) {
    use std::io::Write;
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".csv") {
            let out = fs::File::create(to.join(format!("{name}.gz"))).unwrap();
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            gz.write_all(&fs::read(&path).unwrap()).unwrap();
            gz.finish().unwrap();
        }
    }
    let manifest = fs::read_to_string(from.join("manifest.toml")).unwrap();
    fs::write(
        to.join("manifest.toml"),
        manifest.replace(".csv\"", ".csv.gz\""),
    )
    .unwrap();
}

#[tokio::test]
async fn gzip_extracts_land_like_plain_ones_and_a_truncated_one_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    let config = panorama_synth::Config {
        customers: 300,
        seed: 4,
        as_of: "2026-10-31".parse().unwrap(),
        out: plain.clone(),
        gzip: false,
    };
    let summary = panorama_synth::generate(&config, &|_, _| {}).unwrap();
    let gz = dir.path().join("gz");
    gzip_folder(&plain, &gz);
    for store in
        stores("gzip_extracts_land_like_plain_ones_and_a_truncated_one_loses_nothing").await
    {
        let options = Options {
            rejects_dir: dir.path().join(format!("rejects-{:?}", store.backend())),
            copy: true,
        };
        let report = ingest(&store, &gz, &options, &quiet).await.unwrap();
        assert_eq!(report.status, "committed");
        assert_eq!(report.rejected, 0);
        for f in &report.files {
            assert!(f.file.ends_with(".csv.gz"), "{}", f.file);
            let plain_name = f.file.trim_end_matches(".gz");
            assert_eq!(f.read, data_lines(&plain.join(plain_name)), "{}", f.file);
        }
        assert_eq!(
            store.count("txn").await.unwrap() as u64,
            summary.rows("core_transactions.csv") + summary.rows("card_transactions.csv")
        );
        // The same rows uncompressed change nothing.
        let again = ingest(&store, &plain, &options, &quiet).await.unwrap();
        assert_eq!(again.changed, 0);
        assert_eq!(again.read, report.read);

        // A transfer cut short: the batch fails whole and says why.
        let before = futures_count(&store).await;
        let cut = dir.path().join(format!("cut-{:?}", store.backend()));
        gzip_folder(&plain, &cut);
        let txns = cut.join("core_transactions.csv.gz");
        let bytes = fs::read(&txns).unwrap();
        fs::write(&txns, &bytes[..bytes.len() / 2]).unwrap();
        let err = ingest(&store, &cut, &options, &quiet).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("gzip file cannot be read to its end"),
            "{err}"
        );
        assert_eq!(futures_count(&store).await, before);
    }
}
