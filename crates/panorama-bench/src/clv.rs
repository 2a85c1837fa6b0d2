//! `panorama bench clv`: BG/NBD and Gamma-Gamma fitted on simulated purchase
//! summaries, beside the lifetimes package on the same summaries.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result};
use panorama_models::{BgNbd, GammaGamma, clv};

/// `panorama bench clv`: fits `customers` simulated summaries (CDNOW's
/// published parameters, seeded) and reports the time of each fit and how
/// close it comes to the parameters that generated the data; with
/// `lifetimes` (a Python with the lifetimes package) runs lifetimes' fit on
/// the same summaries beside it.
pub fn run(customers: usize, seed: u64, lifetimes: Option<&Path>) -> Result<()> {
    let (truth, value) = (clv::CDNOW_BG_NBD, clv::CDNOW_GAMMA_GAMMA);
    let started = Instant::now();
    let rows = clv::simulate(customers, &truth, Some(&value), (27.0, 39.0), seed)?;
    say!(
        "bench clv: {} customers simulated from CDNOW's parameters (seed {seed}) in {:.2} s; {} with repeat purchases; {} cores",
        rows.len(),
        started.elapsed().as_secs_f64(),
        rows.iter().filter(|s| s.frequency > 0).count(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    let started = Instant::now();
    let m = BgNbd::fit(&rows)?;
    let bg = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let g = GammaGamma::fit(&rows)?;
    let gg = started.elapsed().as_secs_f64();
    say!(
        "  BG/NBD      {bg:>7.3} s  {:>3} iterations  r={:.4} alpha={:.4} a={:.4} b={:.4} (true {} {} {} {})",
        m.iterations,
        m.r,
        m.alpha,
        m.a,
        m.b,
        truth.r,
        truth.alpha,
        truth.a,
        truth.b
    );
    say!(
        "  Gamma-Gamma {gg:>7.3} s  {:>3} iterations  p={:.4} q={:.4} v={:.4} (true {} {} {}) on {} customers",
        g.iterations,
        g.p,
        g.q,
        g.v,
        value.p,
        value.q,
        value.v,
        g.used
    );
    say!(
        "bench clv: both fits {:.3} s (goal ≤ 5 s at 1,000,000 customers)",
        bg + gg
    );
    if let Some(python) = lifetimes {
        let dir = tempfile::tempdir()?;
        let csv = dir.path().join("summary.csv");
        let mut w = csv::Writer::from_path(&csv)?;
        w.write_record(["id", "frequency", "recency", "T", "monetary_value"])?;
        for (i, s) in rows.iter().enumerate() {
            w.write_record([
                i.to_string(),
                s.frequency.to_string(),
                s.recency.to_string(),
                s.t.to_string(),
                s.monetary.unwrap_or(0.0).to_string(),
            ])?;
        }
        w.flush()?;
        let script = crate::script("lifetimes_clv.py");
        let output = std::process::Command::new(python)
            .arg(&script)
            .arg(&csv)
            .output()
            .with_context(|| format!("running {}", python.display()))?;
        if !output.status.success() {
            anyhow::bail!(
                "lifetimes failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let reference: serde_json::Value =
            serde_json::from_slice(&output.stdout).context("reading lifetimes' answer")?;
        let number = |path: &[&str]| {
            path.iter()
                .fold(&reference, |v, k| &v[*k])
                .as_f64()
                .unwrap_or(f64::NAN)
        };
        let (lbg, lgg) = (
            number(&["seconds", "bg_nbd"]),
            number(&["seconds", "gamma_gamma"]),
        );
        let relative = |ours: f64, theirs: f64| (ours - theirs).abs() / theirs.abs();
        let worst_bg = [
            relative(m.r, number(&["bg_nbd", "r"])),
            relative(m.alpha, number(&["bg_nbd", "alpha"])),
            relative(m.a, number(&["bg_nbd", "a"])),
            relative(m.b, number(&["bg_nbd", "b"])),
        ]
        .into_iter()
        .fold(0.0, f64::max);
        let worst_gg = [
            relative(g.p, number(&["gamma_gamma", "p"])),
            relative(g.q, number(&["gamma_gamma", "q"])),
            relative(g.v, number(&["gamma_gamma", "v"])),
        ]
        .into_iter()
        .fold(0.0, f64::max);
        say!(
            "  lifetimes   BG/NBD {lbg:.3} s (ratio {:.1}×), Gamma-Gamma {lgg:.3} s (ratio {:.1}×); largest parameter difference: BG/NBD {:.1e}, Gamma-Gamma {:.1e} relative",
            lbg / bg,
            lgg / gg,
            worst_bg,
            worst_gg
        );
    }
    Ok(())
}
