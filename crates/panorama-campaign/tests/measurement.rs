//! The measurement itself, tested: over many seeded campaigns on a
//! population with known propensities, the control group's interval holds
//! the true control rate and the lift's interval the true lift about 95% of
//! the time, and the measured lift is unbiased.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use panorama_campaign::{CONTROL, Eligible, lift, rate, split};
use rand::{Rng, SeedableRng};

#[test]
fn intervals_cover_the_truth_in_95_percent_of_seeded_campaigns() {
    // 20,000 eligible customers in three tiers, each with a hidden
    // propensity; untreated customers respond at a quarter of it.
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(2026);
    let n = 20_000;
    let tiers = ["gold", "core", "potential"];
    let eligible: Vec<Eligible> = (0..n)
        .map(|i| Eligible {
            customer_id: i,
            stratum: tiers[(i % 3) as usize].to_owned(),
        })
        .collect();
    let propensity: Vec<f64> = (0..n)
        .map(|i| {
            let base = [0.12, 0.06, 0.03][(i % 3) as usize];
            base * (0.5 + rng.random::<f64>())
        })
        .collect();
    let organic = 0.25;
    let runs = 400;
    let (mut control_covered, mut lift_covered) = (0, 0);
    let mut lift_error = 0.0;
    for seed in 0..runs {
        let members = split(&eligible, 0.1, &["A".to_owned()], seed);
        let mut draws = rand_pcg::Pcg64Mcg::seed_from_u64(seed.wrapping_mul(7_919) + 1);
        let (mut k_c, mut n_c, mut k_a, mut n_a) = (0u64, 0u64, 0u64, 0u64);
        let (mut true_c, mut true_a) = (0.0, 0.0);
        for m in &members {
            let p = propensity[m.customer_id as usize];
            if m.arm == CONTROL {
                n_c += 1;
                true_c += organic * p;
                k_c += u64::from(draws.random::<f64>() < organic * p);
            } else {
                n_a += 1;
                true_a += p;
                k_a += u64::from(draws.random::<f64>() < p);
            }
        }
        let (true_c, true_a) = (true_c / n_c as f64, true_a / n_a as f64);
        let control = rate(k_c, n_c);
        let arm = rate(k_a, n_a);
        let l = lift(&arm, &control);
        control_covered += u32::from(control.low <= true_c && true_c <= control.high);
        lift_covered += u32::from(l.low <= true_a - true_c && true_a - true_c <= l.high);
        lift_error += l.difference - (true_a - true_c);
    }
    let runs = runs as f64;
    eprintln!(
        "over {runs} campaigns: control interval held the truth {control_covered} times, lift interval {lift_covered} times; mean lift error {:+.5}",
        lift_error / runs
    );
    assert!(
        f64::from(control_covered) / runs >= 0.95,
        "control interval coverage {control_covered} of {runs}"
    );
    assert!(
        f64::from(lift_covered) / runs >= 0.95,
        "lift interval coverage {lift_covered} of {runs}"
    );
    assert!(
        (lift_error / runs).abs() < 0.002,
        "mean lift error {}",
        lift_error / runs
    );
}
