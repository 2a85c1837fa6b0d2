//! End-to-end tests of the `panorama` binary: generate → ingest with a JSON
//! report, quickstart, and clear errors for bad input.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::Output;

use common::panorama;

/// Generates a bank of `customers` into `dir/bank`, ingests and resolves it
/// into `dir/store` and runs the batch of 2026-10-31; returns the batch's output.
fn loaded_bank(dir: &Path, customers: u64, seed: u64) -> String {
    let out = panorama(
        dir,
        &[
            "generate",
            "--customers",
            &customers.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            "bank",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    succeeds(dir, &["ingest", "bank"]);
    succeeds(dir, &["resolve"]);
    succeeds(dir, &["batch", "--as-of", "2026-10-31"])
}

/// `model train` of card uptake as of 2025-10-31 within 6 months, as
/// `name` by `learner`, with `more` arguments.
fn train_args<'a>(name: &'a str, learner: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "model",
        "train",
        "--name",
        name,
        "--target",
        "uptake:card",
        "--as-of",
        "2025-10-31",
        "--horizon-months",
        "6",
        "--learner",
        learner,
        "--by",
        "analyst1",
    ];
    args.extend_from_slice(more);
    args
}

/// The arguments of an SMS gateway drain into `out` at local time `at` on
/// Monday 2026-12-07 (a working day).
fn drain_sms<'a>(out: &'a str, at: &'a str) -> [&'a str; 10] {
    [
        "campaign",
        "drain",
        "--channel",
        "sms",
        "--out",
        out,
        "--at",
        at,
        "--on",
        "2026-12-07",
    ]
}

/// The number just before `marker` in a command's output (`… 12 messages queued`).
/// The id `campaign create` printed as its last line (`campaign=ID`).
fn campaign_id(t: &str) -> String {
    t.lines()
        .last()
        .and_then(|l| l.strip_prefix("campaign="))
        .unwrap_or_else(|| panic!("campaign=ID as the last line of {t}"))
        .to_owned()
}

fn number_before<T: std::str::FromStr>(t: &str, marker: &str) -> T {
    t.split(marker)
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number before {marker:?} in {t}"))
}

/// `panorama segment count --where CONDITION`: the count its last line gives.
fn segment_count<T: std::str::FromStr>(dir: &Path, condition: &str) -> T {
    succeeds(dir, &["segment", "count", "--where", condition])
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("count="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count for {condition}"))
}

/// Runs `panorama --store store ARGS` in `dir`; it must succeed without a panic.
fn succeeds(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["--store", "store"];
    all.extend_from_slice(args);
    let out = panorama(dir, &all);
    let t = text(&out);
    assert!(out.status.success(), "{args:?}: {t}");
    assert!(!t.contains("panicked"), "{args:?}: {t}");
    t
}

/// Exports campaign `id`'s members to `file` in `dir`: their customer ids.
fn exported_members(dir: &Path, id: &str, file: &str) -> Vec<i64> {
    succeeds(dir, &["campaign", "export", id, "--out", file]);
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

/// Runs `panorama --store store ARGS` in `dir`; it must fail, saying `expected`, without a panic.
fn refused(dir: &Path, args: &[&str], expected: &str) {
    let mut all = vec!["--store", "store"];
    all.extend_from_slice(args);
    let out = panorama(dir, &all);
    let t = text(&out);
    assert!(!out.status.success(), "{args:?} should fail: {t}");
    assert!(
        t.contains(expected) && !t.contains("panicked"),
        "{args:?}: {t}"
    );
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
    let out = panorama(
        dir.path(),
        &[
            "quickstart",
            "--customers",
            "300",
            "--no-serve",
            "--demo-password",
            "demo-pass-1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("committed"), "{t}");
    assert!(t.contains("source_record"), "{t}");
    // The demo's months: models trained and approved, a pilot and a
    // rollout finished with their lift, next month's campaign live, a tour.
    for model in ["card", "churn", "wealth_response"] {
        assert!(t.contains(&format!("model {model} ")), "{model}: {t}");
    }
    assert!(
        t.contains("Wealth pilot (finished") && t.contains("Wealth rollout (finished"),
        "{t}"
    );
    assert!(t.contains("Card cross-sell (live"), "{t}");
    assert!(t.contains("A tour") && t.contains("steward1"), "{t}");
    assert!(dir.path().join("panorama-data/panorama.db").is_file());
    assert!(
        dir.path()
            .join("panorama-data/ingest-report.json")
            .is_file()
    );
    // Running it again is safe: same bank, nothing changes.
    let again = panorama(
        dir.path(),
        &[
            "quickstart",
            "--customers",
            "300",
            "--no-serve",
            "--demo-password",
            "demo-pass-1",
        ],
    );
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains(" 0 changed"), "{}", text(&again));
    assert!(
        text(&again).contains("the demo's months are not run again"),
        "{}",
        text(&again)
    );
    assert!(t.contains("Demo users (password: demo-pass-1)"), "{t}");
    assert!(t.contains("rm1"), "{t}");
    assert!(
        text(&again).contains("  0 customers assigned"),
        "{}",
        text(&again)
    );

    // `serve` answers over TCP: health, the API description, a demo login.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_panorama"))
        .current_dir(dir.path())
        .args(["serve", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut health = String::new();
    for _ in 0..100 {
        if let Ok(r) = http(port, "GET /healthz HTTP/1.1", "") {
            health = r;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let openapi = http(port, "GET /api/openapi.json HTTP/1.1", "").unwrap_or_default();
    let login = http(
        port,
        "POST /api/login HTTP/1.1",
        r#"{"username":"rm1","password":"demo-pass-1"}"#,
    )
    .unwrap_or_default();
    let wrong = http(
        port,
        "POST /api/login HTTP/1.1",
        r#"{"username":"rm1","password":"nope"}"#,
    )
    .unwrap_or_default();
    let _ = server.kill();
    let _ = server.wait();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(openapi.contains("\"openapi\":\"3.1.0\""), "{openapi}");
    assert!(login.starts_with("HTTP/1.1 200"), "{login}");
    assert!(
        login
            .to_lowercase()
            .contains("set-cookie: panorama_session="),
        "{login}"
    );
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
}

/// One HTTP/1.1 request over a plain socket (JSON body when not empty).
fn http(port: u16, request_line: &str, body: &str) -> std::io::Result<String> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    write!(
        s,
        "{request_line}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
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

#[test]
fn acrm_commands_from_batch_to_segments() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| succeeds(dir.path(), args);
    let t = loaded_bank(dir.path(), 600, 3);
    assert!(
        t.contains("as of 2026-10-31") && t.contains("核心 core"),
        "{t}"
    );
    assert!(
        dir.path()
            .join("store/analytics/features/as_of=2026-10-31/features.parquet")
            .is_file()
    );
    let t = run(&["features"]);
    assert!(
        t.contains("aum_month_avg") && t.contains("月日均AUM"),
        "{t}"
    );

    // The documented example; the count is the last line.
    let t = run(&[
        "segment",
        "count",
        "--where",
        "aum_month_avg >= 500000 and age between 30 and 45 and not holds('credit_card')",
    ]);
    let last = t.lines().last().unwrap();
    assert!(last.starts_with("count="), "{t}");
    let all: usize = segment_count(dir.path(), "aum >= 0");
    let some: usize = segment_count(dir.path(), "tier in ('金', 'platinum', 'growth', 'core')");
    assert!(all > 500 && some > 0 && some < all, "{all} {some}");

    let t = run(&[
        "segment",
        "save",
        "gold-plus",
        "--where",
        "tier <> 'potential'",
        "--by",
        "analyst1",
    ]);
    assert!(t.contains(&format!("{some} members")), "{t}");
    let t = run(&["segment", "list"]);
    assert!(t.contains("gold-plus"), "{t}");
    let t = run(&["segment", "members", "gold-plus", "--limit", "5"]);
    assert_eq!(t.lines().count(), 5, "{t}");

    let t = run(&[
        "sql",
        "SELECT tier, COUNT(*) AS n FROM features GROUP BY tier ORDER BY tier",
    ]);
    assert!(t.contains("potential"), "{t}");
    let t = run(&[
        "sql",
        "--format",
        "csv",
        "SELECT name, unit FROM catalogue WHERE name = 'aum'",
    ]);
    assert_eq!(t.trim(), "name,unit\naum,fen");
    run(&[
        "export",
        "--out",
        "affluent.parquet",
        "--where",
        "aum_month_avg >= 50000",
    ]);
    run(&["export", "--out", "all.csv"]);
    let csv = std::fs::read_to_string(dir.path().join("all.csv")).unwrap();
    assert_eq!(csv.lines().count(), all + 1);
    let t = run(&["profit"]);
    assert!(t.contains("decile") && t.contains("loss_making"), "{t}");
    assert!(
        t.contains("top20_share_pct")
            && t.contains("customers_at_peak")
            && t.contains("households:"),
        "{t}"
    );
    let t = run(&[
        "tiers",
        "migration",
        "--from",
        "2026-04-30",
        "--to",
        "2026-10-31",
    ]);
    assert!(t.contains("upgraded="), "{t}");
    let t = run(&[
        "segment", "cluster", "--k", "3", "--save", "k3", "--by", "analyst1",
    ]);
    assert!(t.contains("cluster 1") && t.contains(" sd)"), "{t}");
    let t = run(&["segment", "list"]);
    assert!(t.contains("k3-3"), "{t}");
    // The nightly batch assigns customers to the saved clusters the same way.
    let t = run(&["batch", "--as-of", "2026-10-31"]);
    for k in 1..=3 {
        let line = t
            .lines()
            .find(|l| l.contains(&format!("segment k3-{k}:")))
            .unwrap_or_else(|| panic!("{t}"));
        assert!(line.ends_with("(+0 / -0)"), "{line}");
    }
    // The nightly chain's report as JSON: the batch and every step after it.
    let j: serde_json::Value =
        serde_json::from_str(&run(&["batch", "--as-of", "2026-10-31", "--json"])).unwrap();
    assert_eq!(j["as_of"], "2026-10-31", "{j}");
    for key in [
        "scores",
        "campaign_responses",
        "campaigns_finished",
        "name_keys",
        "complaints_escalated",
        "targets_refreshed",
    ] {
        assert!(!j[key].is_null(), "{key} in {j}");
    }

    // Mistakes are explained, not panicked over.
    for (args, expected) in [
        (
            vec!["segment", "count", "--where", "aum_month_avgg > 1"],
            "did you mean aum_month_avg",
        ),
        (
            vec!["segment", "count", "--where", "age > 'x'"],
            "is an integer",
        ),
        (vec!["sql", "DELETE FROM features"], "not supported"),
        (
            vec![
                "segment",
                "save",
                "gold-plus",
                "--where",
                "age > 1",
                "--by",
                "a",
            ],
            "exists",
        ),
        (vec!["export", "--out", "x.txt"], ".csv or .parquet"),
        (vec!["batch", "--as-of", "2026-13-01"], "invalid value"),
    ] {
        let mut all = vec!["--store", "store"];
        all.extend_from_slice(&args);
        let out = panorama(dir.path(), &all);
        let t = text(&out);
        assert!(!out.status.success(), "{args:?} should fail: {t}");
        assert!(t.contains(expected), "{args:?}: {t}");
        assert!(!t.contains("panicked"), "{args:?}: {t}");
    }
}

#[test]
fn clv_fit_prints_the_parameters_and_refuses_bad_summaries() {
    let dir = tempfile::tempdir().unwrap();
    // A small summary with values: both models are fitted and printed in the
    // documented last-line forms.
    let rows = [
        "1,2,30.43,38.86,22.35",
        "2,1,1.71,38.86,11.77",
        "3,0,0.00,38.86,0.00",
        "4,0,0.00,38.86,0.00",
        "5,0,0.00,38.86,0.00",
        "6,7,29.43,38.86,73.74",
        "7,1,5.00,38.86,11.77",
        "8,0,0.00,38.86,0.00",
        "9,2,35.71,38.86,25.55",
        "10,5,24.43,38.86,33.31",
        "11,10,34.14,38.86,27.41",
        "12,1,4.86,38.86,28.39",
    ];
    std::fs::write(
        dir.path().join("s.csv"),
        format!("ID,x,t_x,T,zbar\n{}\n", rows.join("\n")),
    )
    .unwrap();
    let out = panorama(dir.path(), &["clv", "fit", "--summary", "s.csv"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let line = |prefix: &str| {
        t.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line in {t}"))
            .to_owned()
    };
    let bg = line("r=");
    for key in ["r=", " alpha=", " a=", " b="] {
        assert!(bg.contains(key), "{bg}");
    }
    assert!(
        line("p=").contains(" q=") && line("p=").contains(" v="),
        "{t}"
    );
    assert!(t.contains("(4 left out)"), "{t}");
    // Twelve customers show no dropout: the fit says so rather than pretend.
    assert!(t.contains("no sign of dropout"), "{t}");
    // A malformed row: the line and the reason, no panic.
    std::fs::write(
        dir.path().join("bad.csv"),
        "id,frequency,recency,T\n1,2,3,10\n2,-1,0,10\n",
    )
    .unwrap();
    let out = panorama(dir.path(), &["clv", "fit", "--summary", "bad.csv"]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("bad.csv:3: frequency must be a whole number"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn model_cv_prints_fold_aucs_and_a_last_auc_line() {
    let dir = tempfile::tempdir().unwrap();
    // Customers with a balance, a channel and a target that follows the
    // balance: the learner must find it (AUC well above chance).
    let mut csv = String::from("id;balance;channel;y\n");
    for i in 0..400u32 {
        let balance = (i * 37) % 1000;
        let channel = ["branch", "mobile", "web"][(i % 3) as usize];
        let took = balance > 450 + (i * 53) % 200;
        csv.push_str(&format!(
            "{i};{balance};{channel};{}\n",
            if took { "yes" } else { "no" }
        ));
    }
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    // Every learner finds the signal: five folds, then `auc=` last.
    for learner in ["logistic", "gbdt", "chaid"] {
        let out = panorama(
            dir.path(),
            &[
                "model",
                "cv",
                "--csv",
                "d.csv",
                "--target",
                "y",
                "--sep",
                ";",
                "--drop",
                "id",
                "--learner",
                learner,
            ],
        );
        let t = text(&out);
        assert!(out.status.success(), "{learner}: {t}");
        let folds = t
            .lines()
            .filter(|l| l.trim_start().starts_with("fold "))
            .count();
        assert_eq!(folds, 5, "{learner}: {t}");
        let last = t.lines().last().unwrap();
        let auc: f64 = last.strip_prefix("auc=").unwrap().parse().unwrap();
        assert!(auc > 0.9, "{learner}: {t}");
        if learner == "chaid" {
            // CHAID prints its tree, split on the column that carries the signal.
            assert!(
                t.contains("all: 400 rows") && t.contains("→ split on balance"),
                "{t}"
            );
        }
    }
    // A missing target column: a clear error.
    let out = panorama(
        dir.path(),
        &["model", "cv", "--csv", "d.csv", "--target", "nope"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no target column \"nope\""),
        "{}",
        text(&out)
    );
}

#[test]
fn models_then_campaigns_on_the_synthetic_bank() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| succeeds(dir.path(), args);
    let fails = |args: &[&str], expected: &str| refused(dir.path(), args, expected);
    loaded_bank(dir.path(), 5000, 21);
    // Features of a year back, card uptake in the next six months, tested out
    // of time on the six months after, and held against the hidden propensity.
    let train_as = |name: &str, learner: &str, more: &[&str]| run(&train_args(name, learner, more));
    let train = |learner: &str| train_as("card", learner, &["--truth", "bank/truth"]);
    let t = train("logistic");
    assert!(
        t.contains("test (out-of-time)") && t.contains("as of 2026-04-30"),
        "{t}"
    );
    // The data reaches one window past training: validation on a fifth of
    // the training date's customers, where the L2 strength is chosen.
    assert!(
        t.contains("validation (holdout)") && t.contains("tuned on the validation rows: C="),
        "{t}"
    );
    let figure = |t: &str, after: &str| -> f64 {
        let rest = &t[t.find(after).unwrap_or_else(|| panic!("{after} in {t}")) + after.len()..];
        rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    let auc = figure(&t, "positive: AUC ");
    let ratio = figure(&t, "ratio ");
    assert!(auc > 0.65, "the model finds the signal: {t}");
    assert!(ratio > 0.85, "close to the hidden propensity: {t}");
    let first: i64 = t
        .lines()
        .last()
        .unwrap()
        .strip_prefix("model=")
        .unwrap()
        .parse()
        .unwrap();
    // Capped at 1,500 labelled customers a window: each window sampled with
    // its positive share kept, the model learnt on the sample still finds
    // the signal.
    let t = train_as("card_sample", "logistic", &["--max-rows", "1500"]);
    let sampled: Vec<&str> = t.lines().filter(|l| l.contains("sampled as of")).collect();
    assert_eq!(sampled.len(), 2, "both windows sampled: {t}");
    for l in &sampled {
        let numbers: Vec<f64> = l
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .skip(3) // the date
            .map(|n| n.parse().unwrap())
            .collect();
        let [kept, population, kept_positives, positives] = numbers[..] else {
            panic!("{l}")
        };
        assert!((kept - 1500.0).abs() <= 1.0 && population > kept, "{l}");
        let expected = positives * kept / population;
        assert!(
            (kept_positives - expected).abs() <= 1.0,
            "the positive share kept: {l}"
        );
    }
    assert!(
        figure(&t, "positive: AUC ") > 0.6,
        "the sample finds the signal: {t}"
    );
    fails(
        &train_args("x", "logistic", &["--max-rows", "10"]),
        "at least 100",
    );
    // Four eyes: not approved by its trainer.
    fails(
        &["model", "approve", &first.to_string(), "--by", "analyst1"],
        "a second person approves it",
    );
    fails(&["model", "score", "--name", "card"], "no approved version");
    run(&["model", "approve", &first.to_string(), "--by", "exec1"]);
    let t = run(&["model", "score"]);
    assert!(
        t.contains("card v1") && t.contains("customers scored as of 2026-10-31"),
        "{t}"
    );
    // A CHAID version prints (and keeps in its report) its tree. With
    // three-month windows the data reaches two windows past training:
    // validated on the first out of time, tested on the second.
    let t = run(&[
        "model",
        "train",
        "--name",
        "card_tree",
        "--target",
        "uptake:card",
        "--as-of",
        "2026-01-31",
        "--horizon-months",
        "3",
        "--learner",
        "chaid",
        "--by",
        "analyst1",
    ]);
    let line = |t: &str, start: &str| -> String {
        t.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start} in {t}"))
            .to_owned()
    };
    assert!(
        line(&t, "validation (out-of-time)").contains("as of 2026-04-30"),
        "{t}"
    );
    assert!(
        line(&t, "test (out-of-time)").contains("as of 2026-07-31"),
        "{t}"
    );
    let tree = t.split("the tree:").nth(1).unwrap_or_else(|| panic!("{t}"));
    assert!(
        tree.contains("→ split on") && tree.contains("% positive"),
        "{t}"
    );
    // A second version takes over when approved; the first is kept, retired.
    let t = train("gbdt");
    assert!(
        line(&t, "tuned on the validation rows:").contains("trees of"),
        "{t}"
    );
    // Boosted trees' importance is by column: a text column's levels together.
    let strongest: Vec<&str> = t
        .split("features that matter most:")
        .nth(1)
        .unwrap_or_else(|| panic!("{t}"))
        .lines()
        .filter(|l| l.starts_with("  "))
        .collect();
    assert!(
        !strongest.is_empty() && strongest.iter().all(|l| !l.contains('=')),
        "{t}"
    );
    let second = t
        .lines()
        .last()
        .unwrap()
        .strip_prefix("model=")
        .unwrap()
        .to_owned();
    run(&["model", "approve", &second, "--by", "exec1"]);
    let t = run(&["model", "list"]);
    let status = |id: &str| {
        t.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} in {t}"))
            .to_owned()
    };
    assert!(status(&first.to_string()).contains("retired"), "{t}");
    assert!(status(&second).contains("approved"), "{t}");
    let t = run(&["model", "evaluate", &second]);
    assert!(
        t.contains("decile") && t.contains("cum. gain") && t.contains("KS"),
        "{t}"
    );
    // The nightly batch scores with the approved version: every eligible
    // customer once, each with reasons an RM can read.
    let t = run(&["batch", "--as-of", "2026-10-31"]);
    assert!(t.contains("with card v2"), "{t}");
    let row: (i64, i64, i64, f64, f64) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location =
            panorama_store::StoreLocation::parse(&dir.path().join("store").display().to_string())
                .unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT customer_id), \
                 SUM(CASE WHEN reasons LIKE '[[\"%' THEN 1 ELSE 0 END), MIN(score), MAX(score) \
                 FROM customer_score WHERE model_id = $1",
        )
        .bind(second.parse::<i64>().unwrap())
        .fetch_one(store.pool())
        .await
        .unwrap()
    });
    assert_eq!(row.0, row.1, "one score per customer: {row:?}");
    assert!(row.0 > 1000, "{row:?}");
    assert!(row.2 > row.0 / 2, "most scores come with reasons: {row:?}");
    assert!(row.3 >= 0.0 && row.4 <= 1.0 && row.3 < row.4, "{row:?}");
    // Scoring streams the features a chunk at a time: 97 customers at a
    // time gives exactly the scores and reasons of the batch's chunks.
    let scores = || -> Vec<(i64, String, f64, String)> {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let location = panorama_store::StoreLocation::parse(
                &dir.path().join("store").display().to_string(),
            )
            .unwrap();
            let store = panorama_store::Store::open(&location).await.unwrap();
            sqlx::query_as(
                "SELECT customer_id, as_of, score, reasons FROM customer_score \
                 WHERE model_id = $1 ORDER BY customer_id, as_of",
            )
            .bind(second.parse::<i64>().unwrap())
            .fetch_all(store.pool())
            .await
            .unwrap()
        })
    };
    let by_batch = scores();
    let t = run(&["model", "score", "--name", "card", "--chunk-rows", "97"]);
    assert!(t.contains("card v2"), "{t}");
    assert_eq!(scores(), by_batch);
    fails(&["model", "score", "--chunk-rows", "0"], "0 is not in 1..");
    // Mistakes are explained.
    fails(
        &[
            "model",
            "train",
            "--name",
            "x",
            "--target",
            "uptake:yacht",
            "--as-of",
            "2025-10-31",
            "--by",
            "a",
        ],
        "no product class 'yacht'",
    );
    fails(
        &[
            "model",
            "train",
            "--name",
            "x",
            "--target",
            "churn",
            "--as-of",
            "2026-09-30",
            "--by",
            "a",
        ],
        "the data ends on 2026-10-31",
    );
    fails(
        &["model", "approve", "999", "--by", "exec1"],
        "no model 999",
    );

    // A campaign on the model's scores: designed, approved by someone else,
    // launched under the contact policy, exported, answered, measured.
    let store_path = dir.path().join("store").display().to_string();
    let opted_out: Vec<i64> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        sqlx::query(
            "INSERT INTO contact_preference (customer_id, opt_out_all, updated_at) \
             SELECT id, 1, '2026-11-01' FROM customer WHERE id % 7 = 0",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query_scalar("SELECT customer_id FROM contact_preference")
            .fetch_all(store.pool())
            .await
            .unwrap()
    });
    assert!(!opted_out.is_empty());
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "信用卡推荐",
        "--segment",
        "aum >= 1000",
        "--score-model",
        "card",
        "--min-score",
        "0.01",
        "--control",
        "0.2",
        "--arms",
        "A,B",
        "--seed",
        "5",
        "--budget",
        "5,000",
        "--by",
        "analyst1",
    ]);
    let campaign = campaign_id(&t);
    fails(
        &["campaign", "launch", &campaign],
        "only an approved campaign",
    );
    fails(
        &["campaign", "approve", &campaign, "--by", "analyst1"],
        "a second person approves it",
    );
    run(&["campaign", "approve", &campaign, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &campaign, "--by", "analyst1"]);
    assert!(t.contains("opted out") && t.contains("control)"), "{t}");
    run(&["campaign", "export", &campaign, "--out", "members.csv"]);
    let exported = std::fs::read_to_string(dir.path().join("members.csv")).unwrap();
    let rows: Vec<(i64, String)> = exported
        .lines()
        .skip(1)
        .map(|l| {
            let (c, arm) = l.split_once(',').unwrap();
            (c.parse().unwrap(), arm.to_owned())
        })
        .collect();
    assert!(rows.len() > 200, "{t}");
    // The same as a workbook a spreadsheet reader opens.
    run(&["campaign", "export", &campaign, "--out", "members.xlsx"]);
    {
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook(dir.path().join("members.xlsx")).unwrap();
        let sheet = book.worksheet_range("members").unwrap();
        let read: Vec<(i64, String)> = sheet
            .rows()
            .skip(1)
            .map(|r| {
                let id = match r[0] {
                    calamine::Data::Float(f) => f as i64,
                    calamine::Data::Int(i) => i,
                    ref other => panic!("customer id {other:?}"),
                };
                (id, r[1].to_string())
            })
            .collect();
        assert_eq!(read, rows, "the workbook holds the CSV's rows");
        let arms = book.worksheet_range("arms").unwrap();
        let total: f64 = arms
            .rows()
            .skip(1)
            .map(|r| match r[1] {
                calamine::Data::Float(f) => f,
                _ => 0.0,
            })
            .sum();
        assert_eq!(total as usize, rows.len());
    }
    let opted: std::collections::HashSet<i64> = opted_out.into_iter().collect();
    assert!(
        rows.iter().all(|(c, _)| !opted.contains(c)),
        "nobody who opted out is ever selected"
    );
    let control = rows.iter().filter(|(_, a)| a == "control").count() as f64;
    let share = control / rows.len() as f64;
    assert!((share - 0.2).abs() < 0.02, "control share {share}");
    for arm in ["A", "B"] {
        assert!(rows.iter().any(|(_, a)| a == arm), "arm {arm}");
    }
    // The synthetic bank answers; the report measures the lift.
    let t = run(&[
        "campaign",
        "simulate",
        &campaign,
        "--truth",
        "bank/truth",
        "--seed",
        "9",
    ]);
    assert!(
        t.contains("responses recorded") && t.contains("true rate control"),
        "{t}"
    );
    let t = run(&["campaign", "report", &campaign]);
    let line = |arm: &str| {
        t.lines()
            .find(|l| l.split_whitespace().next() == Some(arm))
            .unwrap_or_else(|| panic!("{arm} in {t}"))
            .to_owned()
    };
    assert!(
        line("A").contains("pp") && line("control").contains('%'),
        "{t}"
    );
    assert!(t.contains("cumulative response rate by date"), "{t}");
    let report = run(&[
        "campaign",
        "report",
        &campaign,
        "--json",
        "--value-per-response",
        "800",
    ]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    // Responders above the control rate, their value, the budget, the ROI.
    let arms = report["arms"].as_array().unwrap();
    let ctl = arms.iter().find(|a| a["arm"] == "control").unwrap()["rate"]["rate"]
        .as_f64()
        .unwrap();
    let incremental: f64 = arms
        .iter()
        .filter(|a| a["arm"] != "control")
        .map(|a| {
            (a["rate"]["rate"].as_f64().unwrap() - ctl) * a["rate"]["members"].as_f64().unwrap()
        })
        .sum();
    let money = &report["economics"];
    assert!((money["incremental_responders"].as_f64().unwrap() - incremental).abs() < 1e-6);
    assert_eq!(money["cost_minor"], 500_000);
    let value = (incremental * 80_000.0).round();
    assert_eq!(money["incremental_value_minor"].as_f64().unwrap(), value);
    let roi = (value - 500_000.0) / 500_000.0;
    assert!(
        (money["roi"].as_f64().unwrap() - roi).abs() < 1e-9,
        "{money}"
    );
    assert!(!report["curve"].as_array().unwrap().is_empty(), "{report}");
    let a = report["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["arm"] == "A")
        .unwrap();
    assert!(a["lift"]["difference"].as_f64().unwrap() > 0.0, "{report}");
    assert!(a["lift"]["p_value"].as_f64().unwrap() < 0.05, "{report}");

    // Responses captured from the data: launched on the features of
    // 2026-04-30 for customers without a card, a response is holding one
    // in a later batch's features within the window. RMs get call tasks.
    run(&["users", "demo", "--password", "demo-pass-123"]);
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "card-uptake",
        "--segment",
        "not holds('card') and account_count > 0",
        "--response",
        "holds('card')",
        "--response-days",
        "200",
        "--universal-control",
        "0",
        "--by",
        "analyst1",
    ]);
    let second = campaign_id(&t);
    fails(
        &[
            "campaign",
            "create",
            "--name",
            "x",
            "--segment",
            "aum > 1",
            "--response",
            "holds('yacht')",
        ],
        "the response definition",
    );
    run(&["campaign", "approve", &second, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &second, "--as-of", "2026-04-30"]);
    let calls: i64 = number_before(&t, " calls on RMs' lists");
    assert!(
        calls > 0,
        "treated members with an RM are calls on their lists: {t}"
    );
    // The calls are the RMs' campaign leads on their workbench, each lead
    // with its arm; the offers come with them.
    let (owner, open): (i64, i64) = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        sqlx::query_as(
            "SELECT owner_user_id, COUNT(*) FROM task WHERE campaign_id = $1 AND status = 'open' \
             GROUP BY owner_user_id ORDER BY 2 DESC LIMIT 1",
        )
        .bind(second.parse::<i64>().unwrap())
        .fetch_one(store.pool())
        .await
        .unwrap()
    });
    let groups = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        panorama_store::campaigns::leads_of(&store, owner, 3)
            .await
            .unwrap()
    });
    let group = groups
        .iter()
        .find(|g| g.campaign_id.to_string() == second)
        .expect("the live campaign's leads");
    assert_eq!(group.open, open);
    assert_eq!(group.leads.len() as i64, open.min(3));
    assert!(group.leads.iter().all(|l| l.arm.is_some()));
    assert!(!group.offers.is_empty());
    // Lists filtered and ordered by the approved model's latest scores.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        let filter = panorama_store::ocrm::CustomerFilter {
            model: Some("card".to_owned()),
            min_score: Some(0.05),
            sort: Some("score_desc".to_owned()),
            ..Default::default()
        };
        let scope = panorama_store::ocrm::Scope::All;
        let (rows, total) = panorama_store::ocrm::customers(&store, &scope, &filter, 0, 30)
            .await
            .unwrap();
        let expected: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM customer_score s JOIN model m ON m.id = s.model_id \
             WHERE m.name = 'card' AND m.status = 'approved' AND s.score >= 0.05 \
             AND s.as_of = (SELECT MAX(as_of) FROM customer_score WHERE model_id = m.id)",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(total, expected);
        assert!(!rows.is_empty());
        let mut previous = f64::INFINITY;
        for r in &rows {
            let score: f64 = sqlx::query_scalar(
                "SELECT s.score FROM customer_score s JOIN model m ON m.id = s.model_id \
                 WHERE m.name = 'card' AND m.status = 'approved' AND s.customer_id = $1 \
                 ORDER BY s.as_of DESC LIMIT 1",
            )
            .bind(r.id)
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert!(
                score >= 0.05 && score <= previous,
                "{score} after {previous}"
            );
            previous = score;
        }
        let unknown = panorama_store::ocrm::CustomerFilter {
            model: Some("horoscope".to_owned()),
            ..Default::default()
        };
        assert!(
            panorama_store::ocrm::customers(&store, &scope, &unknown, 0, 5)
                .await
                .is_err()
        );
    });
    // A branch manager moves the customers of a segment condition to an RM;
    // those outside the branch stay where they were.
    let t = run(&[
        "users",
        "move",
        "--where",
        "aum >= 500000",
        "--rm",
        "rm2",
        "--by",
        "bm1",
    ]);
    assert!(t.contains("moved to rm2"), "{t}");
    let matched: i64 = number_before(&t, " customers matched");
    assert!(matched > 0, "{t}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        let (in_branch, with_rm2): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN u.username = 'rm2' THEN 1 ELSE 0 END), 0) \
             FROM customer_features f JOIN customer c ON c.id = f.customer_id \
             JOIN org_unit o ON o.id = c.home_org_unit_id \
             JOIN assignment a ON a.customer_id = c.id AND a.to_date IS NULL AND a.role = 'primary' \
             JOIN app_user u ON u.id = a.rm_user_id \
             WHERE f.as_of = (SELECT MAX(as_of) FROM customer_features) AND f.aum_minor >= 50000000 \
               AND o.path LIKE (SELECT o2.path FROM app_user b JOIN org_unit o2 ON o2.id = b.org_unit_id WHERE b.username = 'bm1') || '%'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(in_branch, with_rm2, "every matching customer of bm1's branch is rm2's");
    });
    fails(
        &[
            "users", "move", "--where", "aum >= 1", "--rm", "rm2", "--by", "rm1",
        ],
        "only a branch manager",
    );
    let t = run(&["campaign", "capture", "--as-of", "2026-10-31"]);
    let captured: i64 = t
        .lines()
        .find(|l| l.starts_with(&format!("campaign {second}:")))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{t}"));
    assert!(captured > 0, "{t}");
    // Captured again: nothing new.
    let t = run(&["campaign", "capture", "--as-of", "2026-10-31"]);
    assert!(
        t.contains(&format!("campaign {second}: 0 new responses")),
        "{t}"
    );
    let report = run(&["campaign", "report", &second, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let responders: i64 = report["arms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rate"]["responders"].as_i64().unwrap())
        .sum();
    assert_eq!(responders, captured);

    // The SMS channel: treated members with a mobile get a message in the
    // outbox; the gateway adapter drains it outside quiet hours, once.
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "sms",
        "--segment",
        "aum >= 1000",
        "--channel",
        "sms",
        "--script",
        "尊敬的客户：新客理财限时发售，详询客户经理。回T退订",
        "--cap",
        "5",
        "--by",
        "analyst1",
    ]);
    let sms = campaign_id(&t);
    run(&["campaign", "approve", &sms, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &sms]);
    let queued: usize = number_before(&t, " messages queued");
    assert!(queued > 100, "{t}");
    refused(dir.path(), &drain_sms("gw.csv", "22:30"), "quiet hours");
    // Three of the queued customers asked not to be disturbed on rest days:
    // on Saturday 2026-12-05 their messages stay queued; on the Monday they go.
    let quiet_days: Vec<i64> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT customer_id FROM campaign_outbox WHERE campaign_id = {sms} AND status = 'queued' \
             ORDER BY customer_id LIMIT 3"
        ))
        .fetch_all(store.pool())
        .await
        .unwrap();
        for id in &ids {
            sqlx::query(
                "INSERT INTO contact_preference (customer_id, dnd_rest_days, updated_at) VALUES ($1, 1, '2026-11-01') \
                 ON CONFLICT (customer_id) DO UPDATE SET dnd_rest_days = 1",
            )
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
        }
        ids
    });
    assert_eq!(quiet_days.len(), 3);
    let mut saturday = drain_sms("gw-sat.csv", "10:00").to_vec();
    saturday[9] = "2026-12-05";
    let t = run(&saturday);
    assert!(t.contains(&format!("{} sms messages", queued - 3)), "{t}");
    assert!(
        t.contains("3 messages held for the next working day"),
        "{t}"
    );
    let file = std::fs::read_to_string(dir.path().join("gw-sat.csv")).unwrap();
    let mut sent: Vec<i64> = file
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    assert!(
        sent.iter().all(|c| !quiet_days.contains(c)),
        "none on the rest day"
    );
    let t = run(&drain_sms("gw.csv", "10:00"));
    assert!(t.contains("3 sms messages"), "{t}");
    let file = std::fs::read_to_string(dir.path().join("gw.csv")).unwrap();
    let mut monday: Vec<i64> = file
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    monday.sort_unstable();
    assert_eq!(monday, quiet_days);
    sent.extend(monday);
    assert_eq!(sent.len(), queued);
    assert!(file.contains("新客理财限时发售"));
    assert!(
        sent.iter().all(|c| !opted.contains(c)),
        "no message to anyone who opted out"
    );
    let t = run(&drain_sms("gw2.csv", "10:00"));
    assert!(t.contains("0 sms messages"), "sent once: {t}");

    // A channel plan: a call by the customer's RM (at most 3 per RM), else
    // an SMS (at most 40); customers holding a wealth product are excluded;
    // arm B tests its own script against A's.
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "plan",
        "--segment",
        "aum >= 1000",
        "--exclude",
        "holds('wealth')",
        "--arms",
        "A,B",
        "--script",
        "A方案：存款加息券限时领取。回T退订",
        "--offer",
        "B=|B方案：专属理财顾问一对一服务。回T退订",
        "--channel",
        "rm,sms",
        "--per-rm",
        "3",
        "--capacity",
        "sms=40",
        "--cap",
        "9",
        "--by",
        "analyst1",
    ]);
    let plan = campaign_id(&t);
    // Plans that cannot work are refused with the reason.
    for (extra, why) in [
        (
            &["--channel", "sms", "--per-rm", "3"][..],
            "needs the rm channel",
        ),
        (
            &["--capacity", "email=5"][..],
            "not one of the campaign's channels",
        ),
        (&["--offer", "C=|x"][..], "an offer for arm C"),
    ] {
        let mut args = vec![
            "campaign",
            "create",
            "--name",
            "x",
            "--segment",
            "aum >= 1",
            "--by",
            "analyst1",
        ];
        args.extend_from_slice(extra);
        fails(&args, why);
    }
    run(&["campaign", "approve", &plan, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &plan]);
    let segment: i64 = number_before(&t, " in the segment as of");
    let excluded: i64 = number_before(&t, " excluded");
    let wealthy: i64 = segment_count(dir.path(), "aum >= 1000 and holds('wealth')");
    assert!(segment > 0 && excluded > 0, "{t}");
    assert_eq!(excluded, wealthy, "{t}");
    let by_rm: i64 = number_before(&t, " by rm");
    let by_sms: i64 = number_before(&t, " by sms");
    let members: i64 = number_before(&t, " members (");
    assert!(by_rm > 0 && (1..=40).contains(&by_sms), "{t}");
    let plan_id: i64 = plan.parse().unwrap();
    let (per_rm, calls, channels, messages, owners) =
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
            let store = panorama_store::Store::open(&location).await.unwrap();
            let per_rm: Vec<i64> = sqlx::query_scalar(
                "SELECT COUNT(*) FROM task WHERE campaign_id = $1 GROUP BY owner_user_id",
            )
            .bind(plan_id)
            .fetch_all(store.pool())
            .await
            .unwrap();
            let calls: i64 = per_rm.iter().sum();
            let channels: Vec<(String, i64, i64)> = sqlx::query_as(
                "SELECT COALESCE(channel, ''), is_control, COUNT(*) FROM campaign_member \
                 WHERE campaign_id = $1 GROUP BY channel, is_control ORDER BY 1, 2",
            )
            .bind(plan_id)
            .fetch_all(store.pool())
            .await
            .unwrap();
            let messages: Vec<(String, String)> = sqlx::query_as(
                "SELECT m.arm, o.message FROM campaign_outbox o JOIN campaign_member m \
                 ON m.campaign_id = o.campaign_id AND m.customer_id = o.customer_id \
                 WHERE o.campaign_id = $1",
            )
            .bind(plan_id)
            .fetch_all(store.pool())
            .await
            .unwrap();
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT owner_user_id) FROM campaign_member WHERE campaign_id = $1",
            )
            .bind(plan_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
            (per_rm, calls, channels, messages, owners)
        });
    assert!(per_rm.iter().all(|n| *n <= 3), "{per_rm:?}");
    assert_eq!(calls, by_rm);
    // The list holds what the plan takes once a tenth is held out: three
    // per RM (3 / 0.9, rounded) and 44 more (40 / 0.9) for SMS at most;
    // treated members the split put over a capacity are few.
    assert!(
        members <= 3 * owners + 44,
        "{members} members, {owners} RMs: {t}"
    );
    let uncontacted: i64 = if t.contains(" uncontacted") {
        number_before(&t, " uncontacted")
    } else {
        0
    };
    assert!(
        uncontacted * 10 <= members,
        "{uncontacted} of {members}: {t}"
    );
    let count = |channel: &str, control: i64| {
        channels
            .iter()
            .find(|(c, k, _)| c == channel && *k == control)
            .map_or(0, |x| x.2)
    };
    assert_eq!(count("rm", 0), by_rm, "{channels:?}");
    assert_eq!(count("sms", 0), by_sms, "{channels:?}");
    assert_eq!(
        channels.iter().map(|x| x.2).sum::<i64>(),
        members,
        "treated members no channel took stay in their arm: {channels:?}"
    );
    assert_eq!(messages.len() as i64, by_sms);
    for (arm, text) in &messages {
        let own = if arm == "B" { "B方案" } else { "A方案" };
        assert!(text.starts_with(own), "arm {arm}: {text}");
    }

    // Margin-based CLV with each customer's retention from the churn model.
    let t = run(&[
        "model",
        "train",
        "--name",
        "churn",
        "--target",
        "churn",
        "--as-of",
        "2025-10-31",
        "--learner",
        "logistic",
        "--by",
        "analyst1",
    ]);
    let churn = t
        .lines()
        .last()
        .unwrap()
        .strip_prefix("model=")
        .unwrap()
        .to_owned();
    run(&["model", "approve", &churn, "--by", "exec1"]);
    run(&["model", "score", "--name", "churn"]);
    let t = run(&[
        "clv",
        "margin",
        "--churn-model",
        "churn",
        "--years",
        "5",
        "--discount",
        "0.08",
        "--out",
        "clv.csv",
    ]);
    assert!(
        t.contains("from the churn model's scores") && t.contains("share of total"),
        "{t}"
    );
    let csv = std::fs::read_to_string(dir.path().join("clv.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    assert!(rows.len() > 1000);
    let retained: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(retained.iter().all(|r| (0.0..=1.0).contains(r)));
    assert!(
        retained.iter().any(|r| *r < 0.99) && retained.iter().any(|r| *r > 0.9),
        "retention varies by customer"
    );
    for r in rows.iter().take(50) {
        let (profit, keep, value): (i64, f64, i64) = (
            r[1].parse().unwrap(),
            r[2].parse().unwrap(),
            r[3].parse().unwrap(),
        );
        let q = keep / 1.08;
        let expected = profit as f64 * q * (1.0 - q.powi(5)) / (1.0 - q);
        assert!(
            (value as f64 - expected).abs() <= 1.0 + expected.abs() * 1e-3,
            "{r:?}"
        );
    }
    refused(
        dir.path(),
        &["clv", "margin", "--churn-model", "card"],
        "no approved churn model 'card'",
    );

    // Priority between overlapping campaigns: a campaign of lower priority
    // leaves out the members of the live one above it.
    let high: std::collections::HashSet<i64> = exported_members(dir.path(), &campaign, "high.csv")
        .into_iter()
        .collect();
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "低优先级",
        "--segment",
        "aum >= 1000",
        "--priority",
        "-1",
        "--universal-control",
        "0",
        "--cap",
        "99",
        "--by",
        "analyst1",
    ]);
    let low = campaign_id(&t);
    run(&["campaign", "approve", &low, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &low]);
    let reserved: i64 = number_before(&t, " in live campaigns of higher priority");
    assert!(reserved > 0, "{t}");
    let low_members = exported_members(dir.path(), &low, "low.csv");
    assert!(!low_members.is_empty());
    assert!(
        low_members.iter().all(|c| !high.contains(c)),
        "nobody in the live campaign of higher priority"
    );

    // Learn: the campaign's responses train the next response model (its
    // treated members on the features of its launch), evaluated on a
    // holdout, approved, scored, and used to target the next campaign.
    let t = run(&[
        "model",
        "train",
        "--name",
        "offer-response",
        "--target",
        &format!("response:{campaign}"),
        "--learner",
        "logistic",
        "--by",
        "analyst1",
    ]);
    let learnt = t
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("model="))
        .unwrap_or_else(|| panic!("model=ID last in {t}"))
        .to_owned();
    let eval: serde_json::Value =
        serde_json::from_str(&run(&["model", "evaluate", &learnt, "--json"])).unwrap();
    let auc = eval["test"]["auc"].as_f64().unwrap();
    assert!(auc > 0.55, "the responses carry signal: AUC {auc}: {eval}");
    assert_eq!(eval["test"]["kind"], "holdout", "{eval}");
    assert_eq!(eval["validation"]["kind"], "holdout", "{eval}");
    // 30% test and 20% validation held out of the campaign's treated members.
    let (train_rows, valid_rows, test_rows) = (
        eval["train_rows"].as_f64().unwrap(),
        eval["validation"]["rows"].as_f64().unwrap(),
        eval["test"]["rows"].as_f64().unwrap(),
    );
    let all = train_rows + valid_rows + test_rows;
    assert!(
        (test_rows / all - 0.3).abs() < 0.01 && (valid_rows / all - 0.2).abs() < 0.01,
        "{eval}"
    );
    assert!(
        run(&["model", "list"]).contains(&format!("response:{campaign}")),
        "registered with the campaign it learnt from"
    );
    run(&["model", "approve", &learnt, "--by", "exec1"]);
    run(&["model", "score", "--name", "offer-response"]);

    // Value in the decision: every customer valued with the churn model's
    // retention; a campaign whose room is short goes first to those worth
    // most to reach — the response model's uplift over the campaign's
    // control rate times their lifetime value.
    let t = run(&["clv", "value"]);
    assert!(t.contains("from the churn model's scores"), "{t}");
    fails(
        &[
            "campaign",
            "create",
            "--name",
            "x",
            "--segment",
            "aum >= 0",
            "--score-model",
            "churn",
            "--rank-by",
            "value",
            "--by",
            "analyst1",
        ],
        "not a response to a campaign",
    );
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "价值优先",
        "--segment",
        "aum >= 0",
        "--score-model",
        "offer-response",
        "--rank-by",
        "value",
        "--channel",
        "branch",
        "--capacity",
        "branch=60",
        "--universal-control",
        "0",
        "--cap",
        "99",
        "--by",
        "analyst1",
    ]);
    let by_value = campaign_id(&t);
    run(&["campaign", "approve", &by_value, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &by_value]);
    assert!(
        t.contains("ranked by expected incremental value")
            && t.contains(" beyond the channels' capacity"),
        "{t}"
    );
    let chosen = exported_members(dir.path(), &by_value, "by-value.csv");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let location = panorama_store::StoreLocation::parse(&store_path).unwrap();
        let store = panorama_store::Store::open(&location).await.unwrap();
        let control: f64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(r.customer_id) AS DOUBLE PRECISION) / COUNT(*) FROM campaign_member m \
             LEFT JOIN campaign_response r ON r.campaign_id = m.campaign_id AND r.customer_id = m.customer_id \
             WHERE m.campaign_id = $1 AND m.is_control = 1",
        )
        .bind(campaign.parse::<i64>().unwrap())
        .fetch_one(store.pool())
        .await
        .unwrap();
        let values: std::collections::HashMap<i64, f64> = sqlx::query_as::<_, (i64, f64, i64)>(
            "SELECT s.customer_id, s.score, v.clv_minor FROM customer_score s \
             JOIN model m ON m.id = s.model_id AND m.name = 'offer-response' AND m.status = 'approved' \
             JOIN customer_value v ON v.customer_id = s.customer_id \
             WHERE s.as_of = (SELECT MAX(as_of) FROM customer_score WHERE model_id = m.id)",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|(c, s, v)| (c, (s - control).max(0.0) * v as f64))
        .collect();
        let mean = |xs: &mut dyn Iterator<Item = f64>| {
            let v: Vec<f64> = xs.collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let all = mean(&mut values.values().copied());
        let picked = mean(&mut chosen.iter().filter_map(|c| values.get(c).copied()));
        assert!(
            chosen.len() < values.len() / 2 && picked > 2.0 * all,
            "{} chosen of {}: their mean expected value {picked:.0} against {all:.0} over all",
            chosen.len(),
            values.len()
        );
    });
    let t = run(&[
        "campaign",
        "create",
        "--name",
        "再次邀约",
        "--segment",
        "aum >= 0",
        "--score-model",
        "offer-response",
        "--min-score",
        "0.0",
        "--cap",
        "99",
        "--by",
        "analyst1",
    ]);
    let next = campaign_id(&t);
    run(&["campaign", "approve", &next, "--by", "bm1"]);
    let t = run(&["campaign", "launch", &next]);
    assert!(number_before::<i64>(&t, " members (") > 0, "{t}");

    // Finished: the results are kept, and the campaigns compare on the
    // same measures.
    let before = run(&["campaign", "report", &campaign, "--json"]);
    let t = run(&[
        "campaign",
        "finish",
        &campaign,
        "--on",
        "2026-11-30",
        "--by",
        "analyst1",
    ]);
    assert!(t.contains("finished"), "{t}");
    fails(
        &["campaign", "finish", &campaign, "--by", "analyst1"],
        "only a live campaign is finished",
    );
    let after: serde_json::Value =
        serde_json::from_str(&run(&["campaign", "report", &campaign, "--json"])).unwrap();
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(after["arms"], before["arms"]);
    assert_eq!(after["frozen"], true);
    let compared: serde_json::Value =
        serde_json::from_str(&run(&["campaign", "compare", "--json"])).unwrap();
    let rows = compared.as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["id"].as_i64() == campaign.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("campaign {campaign} in {compared}"));
    assert_eq!(row["status"], "finished");
    assert_eq!(row["finished_on"], "2026-11-30");
    assert!(row["lift"]["difference"].as_f64().unwrap() > 0.0, "{row}");
    assert!(rows.len() >= 4, "every launched campaign: {compared}");
    let t = run(&["campaign", "compare"]);
    assert!(t.contains("信用卡推荐") && t.contains("ROI"), "{t}");

    // The whole programme against the year's universal control group: the
    // customers every 2% campaign left out; the campaigns launched with no
    // universal control reached some of them, and the report says so.
    let effect: serde_json::Value =
        serde_json::from_str(&run(&["campaign", "effect", "--json"])).unwrap();
    assert_eq!(effect["period"], "2026", "{effect}");
    assert_eq!(effect["share"], 0.02, "{effect}");
    assert_eq!(
        effect["from"], "2026-04-30",
        "the year's first launch: {effect}"
    );
    assert_eq!(effect["to"], "2026-10-31", "{effect}");
    let (held, marketed) = (
        effect["held_out"].as_f64().unwrap(),
        effect["marketed"].as_f64().unwrap(),
    );
    let share = held / (held + marketed);
    assert!(share > 0.01 && share < 0.03, "about 2% held out: {effect}");
    assert!(effect["held_out_treated"].as_u64().unwrap() > 0, "{effect}");
    assert!(effect["marketed_treated"].as_u64().unwrap() > 0, "{effect}");
    assert_eq!(
        effect["uptake"]["held_out"]["members"].as_f64(),
        Some(held),
        "{effect}"
    );
    let t = run(&["campaign", "effect", "--share", "0.02"]);
    for needle in [
        "take-up",
        "attrition",
        "AUM change",
        "the comparison understates",
    ] {
        assert!(t.contains(needle), "{needle} in {t}");
    }
    fails(
        &["campaign", "effect", "--year", "2019"],
        "no campaign launched in 2019 held out a universal control group",
    );
    fails(
        &[
            "campaign",
            "effect",
            "--from",
            "2026-10-31",
            "--to",
            "2026-04-30",
        ],
        "is not after the baseline",
    );
}
