//! Integration tests of the models: the CLV fit on Fader & Hardie's CDNOW
//! summaries (shipped in ../shared/datasets/cdnow) against the published
//! reference fit, parameter recovery on simulated customers, clear errors
//! for bad summaries.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::io::Write as _;
use std::path::{Path, PathBuf};

use panorama_models::{BgNbd, GammaGamma, Summary, read_summary};

fn cdnow(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/cdnow")
        .join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} not found: CI runs with ../shared beside the repository",
        path.display()
    );
    if let Ok(mut err) = std::fs::OpenOptions::new().write(true).open("/dev/stderr") {
        let _ = writeln!(err, "SKIPPED: {} not found", path.display());
    }
    None
}

fn close(got: f64, want: f64, what: &str) {
    let rel = (got - want).abs() / want.abs();
    assert!(
        rel <= 1e-3,
        "{what}: {got} vs the reference {want} ({rel:.2e} relative)"
    );
}

#[test]
fn cdnow_matches_the_reference_fit() {
    // lifetimes 0.11 on the same files: r=0.2426 alpha=4.4135 a=0.7929
    // b=2.4258 (LL −9582.43); p=6.2488 q=3.7446 v=15.4477 on 946 customers.
    let Some(path) = cdnow("cdnow_customers_summary.csv") else {
        return;
    };
    let data = read_summary(&path).unwrap();
    assert_eq!(data.rows.len(), 2_357);
    let m = BgNbd::fit(&data.rows).unwrap();
    close(m.r, 0.2426, "r");
    close(m.alpha, 4.4135, "alpha");
    close(m.a, 0.7929, "a");
    close(m.b, 2.4258, "b");
    close(m.log_likelihood, -9582.43, "log-likelihood");

    let Some(path) = cdnow("cdnow_customers_summary_with_transactions.csv") else {
        return;
    };
    let data = read_summary(&path).unwrap();
    let g = GammaGamma::fit(&data.rows).unwrap();
    assert_eq!((g.used, g.left_out), (946, 2_357 - 946));
    close(g.p, 6.2488, "p");
    close(g.q, 3.7446, "q");
    close(g.v, 15.4477, "v");
    // Fader's file gives the same BG/NBD fit as lifetimes' one.
    let m2 = BgNbd::fit(&data.rows).unwrap();
    close(m2.r, m.r, "r from x, t_x, T");
}

#[test]
fn bg_nbd_recovers_simulated_parameters() {
    let truth = BgNbd {
        r: 0.5,
        alpha: 6.0,
        a: 0.9,
        b: 3.0,
        log_likelihood: 0.0,
        iterations: 0,
    };
    let value = GammaGamma {
        p: 6.0,
        q: 4.0,
        v: 15.0,
        used: 0,
        left_out: 0,
        log_likelihood: 0.0,
        iterations: 0,
    };
    let rows =
        panorama_models::clv::simulate(60_000, &truth, Some(&value), (20.0, 39.0), 7).unwrap();
    let m = BgNbd::fit(&rows).unwrap();
    for (got, want, what) in [
        (m.r, 0.5, "r"),
        (m.alpha, 6.0, "alpha"),
        (m.a, 0.9, "a"),
        (m.b, 3.0, "b"),
    ] {
        assert!(
            (got - want).abs() / want < 0.15,
            "{what}: {got} vs {want} ({m:?})"
        );
    }
    let g = GammaGamma::fit(&rows).unwrap();
    for (got, want, what) in [(g.p, 6.0, "p"), (g.q, 4.0, "q"), (g.v, 15.0, "v")] {
        assert!(
            (got - want).abs() / want < 0.15,
            "{what}: {got} vs {want} ({g:?})"
        );
    }
    // The model expects more from the recently active than the lapsed.
    let active = Summary {
        frequency: 4,
        recency: 19.0,
        t: 20.0,
        monetary: None,
    };
    let lapsed = Summary {
        frequency: 4,
        recency: 2.0,
        t: 20.0,
        monetary: None,
    };
    assert!(m.expected_purchases(&active, 10.0) > 2.0 * m.expected_purchases(&lapsed, 10.0));
}

#[test]
fn bad_summaries_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "id,frequency,recency,T\n1,2,3,10\n2,1.5,3,10\n",
            ":3: frequency must be a whole number",
        ),
        (
            "id,frequency,recency,T\n1,2,11,10\n",
            ":2: recency 11 must lie in 0..=T",
        ),
        (
            "id,frequency,recency,T\n1,0,3,10\n",
            ":2: recency 3 without a repeat purchase",
        ),
        (
            "id,frequency,recency,T\n1,two,3,10\n",
            ":2: frequency is not a number",
        ),
        ("id,frequency,T\n1,2,10\n", "no column recency or t_x"),
        (
            "id,frequency,recency,T,monetary_value\n1,2,3,10,-4\n",
            ":2: monetary value -4 is negative",
        ),
        ("id,frequency,recency,T\n", "no customers"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("{i}.csv"));
        std::fs::write(&path, text).unwrap();
        let err = read_summary(&path).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
    assert!(
        BgNbd::fit(&[Summary {
            frequency: 0,
            recency: 0.0,
            t: 5.0,
            monetary: None
        }])
        .is_err()
    );
    assert!(
        GammaGamma::fit(&[Summary {
            frequency: 0,
            recency: 0.0,
            t: 5.0,
            monetary: Some(3.0)
        }])
        .is_err()
    );
}
