//! Responses drawn for a live campaign from each member's true propensity,
//! for demonstrations and method checks on the synthetic bank (whose truth
//! holds every customer's propensity): the control group responds at a
//! share (`organic`) of it, as customers who were not contacted would.

use std::collections::{BTreeMap, HashMap};

use rand::{Rng, SeedableRng};

use crate::CONTROL;

/// The draw: responses (customer, date, no value) and each arm's true rate.
#[derive(Debug, Clone, Default)]
pub struct Simulated {
    /// (customer, response date, value) as the store records responses.
    pub responses: Vec<(i64, String, Option<i64>)>,
    /// Per arm: (sum of propensities, members) — the rate the draw estimates.
    pub expected: BTreeMap<String, (f64, usize)>,
}

impl Simulated {
    /// Arm → true response rate.
    pub fn true_rates(&self) -> impl Iterator<Item = (&str, f64, usize)> {
        self.expected
            .iter()
            .map(|(arm, (sum, n))| (arm.as_str(), sum / (*n).max(1) as f64, *n))
    }
}

/// Draws each member's response (seeded by `seed` and the campaign, so a
/// rerun draws the same), dated `on`.
pub fn responses(
    campaign: i64,
    members: &[(i64, String)],
    propensity: &HashMap<i64, f64>,
    organic: f64,
    seed: u64,
    on: &str,
) -> Simulated {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ (campaign as u64).rotate_left(32));
    let mut out = Simulated::default();
    for (customer, arm) in members {
        let p = propensity.get(customer).copied().unwrap_or(0.0);
        let p = if arm == CONTROL { p * organic } else { p };
        let e = out.expected.entry(arm.clone()).or_default();
        e.0 += p;
        e.1 += 1;
        if rng.random::<f64>() < p {
            out.responses.push((*customer, on.to_owned(), None));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: i64) -> Vec<(i64, String)> {
        (0..n)
            .map(|i| {
                let arm = if i % 2 == 0 { CONTROL } else { "A" };
                (i, arm.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_draw_follows_the_propensity_and_the_organic_share() {
        let m = members(20_000);
        let p: HashMap<i64, f64> = m.iter().map(|(c, _)| (*c, 0.2)).collect();
        let s = responses(7, &m, &p, 0.5, 1, "2026-01-31");
        let rate = |arm: &str| {
            let n = m.iter().filter(|(_, a)| a == arm).count() as f64;
            let hits = s
                .responses
                .iter()
                .filter(|(c, _, _)| m[*c as usize].1 == arm)
                .count() as f64;
            hits / n
        };
        assert!((rate("A") - 0.2).abs() < 0.015, "A {}", rate("A"));
        assert!(
            (rate(CONTROL) - 0.1).abs() < 0.015,
            "control {}",
            rate(CONTROL)
        );
        let truth: Vec<_> = s.true_rates().collect();
        assert_eq!(truth.len(), 2);
        for ((arm, rate, n), (want_arm, want)) in
            truth.into_iter().zip([("A", 0.2), (CONTROL, 0.1)])
        {
            assert_eq!((arm, n), (want_arm, 10_000));
            assert!((rate - want).abs() < 1e-9, "{arm} {rate}");
        }
        assert!(
            s.responses
                .iter()
                .all(|(_, on, v)| on == "2026-01-31" && v.is_none())
        );
    }

    #[test]
    fn a_rerun_draws_the_same_and_another_campaign_does_not() {
        let m = members(2_000);
        let p: HashMap<i64, f64> = m.iter().map(|(c, _)| (*c, 0.3)).collect();
        let a = responses(1, &m, &p, 1.0, 9, "d").responses;
        assert_eq!(a, responses(1, &m, &p, 1.0, 9, "d").responses);
        assert_ne!(a, responses(2, &m, &p, 1.0, 9, "d").responses);
    }

    #[test]
    fn customers_without_a_propensity_never_respond() {
        let m = members(500);
        let s = responses(1, &m, &HashMap::new(), 1.0, 3, "d");
        assert!(s.responses.is_empty());
    }
}
