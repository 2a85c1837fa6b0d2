//! Campaigns that test and learn, the computation without I/O: who is held
//! out (a control group stratified so arms are comparable, the universal
//! control group), how the rest is dealt to offer arms, reproducibly from a
//! seed; and what the responses say (each arm's rate with its interval,
//! lift over control with its interval and a significance test).

pub mod delivery;
pub mod service;
pub mod simulate;
pub mod triggered;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// The arm of held-out customers.
pub const CONTROL: &str = "control";

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// One eligible customer and the stratum the split balances (tier, segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligible {
    /// Customer id.
    pub customer_id: i64,
    /// Stratum key.
    pub stratum: String,
}

/// A customer's place in the campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Customer id.
    pub customer_id: i64,
    /// The offer arm, or [`CONTROL`].
    pub arm: String,
}

/// Splits eligible customers: in each stratum (in a fixed order), the
/// customers are shuffled with a generator seeded from `seed` and the
/// stratum, the first `round(n × control_share)` are held out, and the rest
/// are dealt to `arms` in turn. The same input and seed give the same split,
/// whatever order the input came in.
pub fn split(
    eligible: &[Eligible],
    control_share: f64,
    arms: &[String],
    seed: u64,
) -> Vec<Assignment> {
    let share = control_share.clamp(0.0, 1.0);
    let mut strata: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for e in eligible {
        strata.entry(&e.stratum).or_default().push(e.customer_id);
    }
    let default_arm = [String::from("A")];
    let arms = if arms.is_empty() {
        &default_arm[..]
    } else {
        arms
    };
    let mut out = Vec::with_capacity(eligible.len());
    for (stratum, mut ids) in strata {
        ids.sort_unstable();
        let stratum_seed = seed ^ xxhash_rust::xxh3::xxh3_64(stratum.as_bytes());
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(stratum_seed);
        ids.shuffle(&mut rng);
        let held = (ids.len() as f64 * share).round() as usize;
        for (k, id) in ids.into_iter().enumerate() {
            let arm = if k < held {
                CONTROL.to_owned()
            } else {
                arms[(k - held) % arms.len()].clone()
            };
            out.push(Assignment {
                customer_id: id,
                arm,
            });
        }
    }
    out
}

/// Whether a customer belongs to the universal control group of `period`
/// (e.g. the year): a fixed `share` of all customers, chosen by a hash of
/// the id and the period, excluded from every campaign of that period.
pub fn universal_control(customer_id: i64, period: &str, share: f64) -> bool {
    if share <= 0.0 {
        return false;
    }
    let mut key = customer_id.to_le_bytes().to_vec();
    key.extend_from_slice(period.as_bytes());
    let h = xxhash_rust::xxh3::xxh3_64(&key);
    (h as f64) < share.min(1.0) * (u64::MAX as f64)
}

/// A proportion with its 95% Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Responders.
    pub responders: u64,
    /// Members.
    pub members: u64,
    /// responders / members.
    pub rate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The rate of `k` responders among `n` members, with Wilson's interval
/// (which keeps its coverage for small counts and rates near 0, where the
/// normal approximation does not).
pub fn rate(k: u64, n: u64) -> Rate {
    if n == 0 {
        return Rate {
            responders: k,
            members: 0,
            rate: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = Z95 / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    Rate {
        responders: k,
        members: n,
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// An arm against control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lift {
    /// Rate difference, arm − control (percentage points as a share).
    pub difference: f64,
    /// Its 95% interval (Newcombe's hybrid score interval from the two Wilson intervals).
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Relative lift, arm / control − 1 (`None` when control has no responders).
    pub relative: Option<f64>,
    /// Two-proportion z statistic (pooled).
    pub z: f64,
    /// Two-sided p-value of no difference.
    pub p_value: f64,
}

/// The lift of `arm` over `control`.
pub fn lift(arm: &Rate, control: &Rate) -> Lift {
    let d = arm.rate - control.rate;
    let low = d - ((arm.rate - arm.low).powi(2) + (control.high - control.rate).powi(2)).sqrt();
    let high = d + ((arm.high - arm.rate).powi(2) + (control.rate - control.low).powi(2)).sqrt();
    let (n1, n2) = (arm.members as f64, control.members as f64);
    let (z, p_value) = if n1 > 0.0 && n2 > 0.0 {
        let pooled = (arm.responders + control.responders) as f64 / (n1 + n2);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        if se > 0.0 {
            let z = d / se;
            (z, libm::erfc(z.abs() / std::f64::consts::SQRT_2))
        } else {
            (0.0, 1.0)
        }
    } else {
        (0.0, 1.0)
    };
    Lift {
        difference: d,
        low,
        high,
        relative: (control.rate > 0.0).then(|| arm.rate / control.rate - 1.0),
        z,
        p_value,
    }
}

/// A sample mean with its 95% interval (normal approximation: the groups
/// this compares — a universal control group and the customers marketed
/// to — hold thousands of customers).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    /// Observations.
    pub n: u64,
    /// Their mean.
    pub mean: f64,
    /// Their standard deviation (n − 1 in the denominator).
    pub sd: f64,
    /// Lower bound of the mean's interval.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// The mean of `values` with its interval (Welford's running sums, which
/// keep their precision over a million amounts in fen).
pub fn mean(values: impl IntoIterator<Item = f64>) -> Mean {
    let (mut n, mut m, mut m2) = (0u64, 0.0, 0.0);
    for v in values {
        n += 1;
        let d = v - m;
        m += d / n as f64;
        m2 += d * (v - m);
    }
    let sd = if n > 1 {
        (m2 / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let half = if n > 0 {
        Z95 * sd / (n as f64).sqrt()
    } else {
        0.0
    };
    Mean {
        n,
        mean: m,
        sd,
        low: m - half,
        high: m + half,
    }
}

/// The difference of two means, `a − b`, with Welch's standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// a − b.
    pub difference: f64,
    /// Its 95% interval.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// z statistic of no difference.
    pub z: f64,
    /// Two-sided p-value of no difference.
    pub p_value: f64,
}

/// `a − b` with its interval and test.
pub fn difference(a: &Mean, b: &Mean) -> Difference {
    let d = a.mean - b.mean;
    let var = |m: &Mean| {
        if m.n > 0 {
            m.sd * m.sd / m.n as f64
        } else {
            0.0
        }
    };
    let se = (var(a) + var(b)).sqrt();
    let (z, p_value) = if se > 0.0 {
        let z = d / se;
        (z, libm::erfc(z.abs() / std::f64::consts::SQRT_2))
    } else {
        (0.0, 1.0)
    };
    Difference {
        difference: d,
        low: d - Z95 * se,
        high: d + Z95 * se,
        z,
        p_value,
    }
}

/// One channel of a campaign's plan; a plan's channels are tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// rm, sms, email, branch or app.
    pub name: String,
    /// Most treated members this channel takes (`None`: no limit).
    pub capacity: Option<u64>,
    /// Most members each RM takes on the rm channel (`None`: no limit).
    pub per_rm: Option<u64>,
}

/// What the allocation knows of a treated member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Customer id.
    pub customer_id: i64,
    /// The customer's RM, for the rm channel's per-RM capacity.
    pub owner: Option<i64>,
    /// Per channel of the plan: whether the member may be contacted there
    /// (not opted out, an address or an RM to reach them by).
    pub reachable: Vec<bool>,
}

/// Deals treated members, in the order given (best first), to the first
/// channel of the plan that can reach them and has room left (its own
/// capacity, and on the rm channel the member's RM's). Returns, per member,
/// the plan index of its channel, or `None` when no channel had room: the
/// member stays in its arm, uncontacted, so that the comparison with
/// control stays one of intention to treat.
pub fn allocate(members: &[Reach], plan: &[Channel]) -> Vec<Option<usize>> {
    let mut used = vec![0u64; plan.len()];
    let mut per_rm: Vec<std::collections::HashMap<i64, u64>> = vec![Default::default(); plan.len()];
    members
        .iter()
        .map(|m| {
            let rm_used = |k: usize| {
                m.owner
                    .and_then(|rm| per_rm[k].get(&rm).copied())
                    .unwrap_or(0)
            };
            let k = first_channel(m, plan, &used, rm_used)?;
            used[k] += 1;
            if let (Some(_), Some(rm)) = (plan[k].per_rm, m.owner) {
                *per_rm[k].entry(rm).or_default() += 1;
            }
            Some(k)
        })
        .collect()
}

/// The first channel of `plan` that can reach `m` and has room, given how
/// many members each channel took already (`used`) and, per channel, how
/// many of them are calls of the member's RM (`rm_used`).
pub fn first_channel(
    m: &Reach,
    plan: &[Channel],
    used: &[u64],
    rm_used: impl Fn(usize) -> u64,
) -> Option<usize> {
    plan.iter().enumerate().position(|(k, channel)| {
        m.reachable.get(k).copied().unwrap_or(false)
            && channel
                .capacity
                .is_none_or(|c| used.get(k).copied().unwrap_or(0) < c)
            && match (channel.per_rm, m.owner) {
                (Some(limit), Some(_)) => rm_used(k) < limit,
                _ => true,
            }
    })
}

/// A triggered campaign's draw for one customer at the moment their event
/// arrives: held out with probability `control_share`, else dealt to one of
/// `arms` — from a hash of the customer and the campaign's seed, so the same
/// customer always lands in the same place whenever (and however often)
/// their event comes, and the shares hold in expectation.
pub fn draw(customer_id: i64, seed: u64, control_share: f64, arms: &[String]) -> String {
    let unit = |h: u64| (h >> 11) as f64 / (1u64 << 53) as f64;
    if unit(seeded_rank(customer_id, seed)) < control_share.clamp(0.0, 1.0) {
        return CONTROL.to_owned();
    }
    if arms.is_empty() {
        return "A".to_owned();
    }
    let k = seeded_rank(customer_id, seed ^ 0x9e37_79b9_7f4a_7c15) % arms.len() as u64;
    arms[k as usize].clone()
}

/// The plan as the eligible list sees it before the split: each capacity
/// divided by the treated share (1 − `control_share`), rounded, since only
/// that share of the customers selected will be treated. Dealing the ranked
/// eligible customers to it selects those the channels can take. (Rounded
/// up, 3 calls per RM at a 10% control share would select 4 and leave one
/// treated member in three RMs' lists over the limit; rounded, 3.)
pub fn for_selection(plan: &[Channel], control_share: f64) -> Vec<Channel> {
    let treated = (1.0 - control_share.clamp(0.0, 0.99)).max(0.01);
    let scale = |n: Option<u64>| n.map(|n| ((n as f64 / treated).round() as u64).max(1));
    plan.iter()
        .map(|c| Channel {
            name: c.name.clone(),
            capacity: scale(c.capacity),
            per_rm: scale(c.per_rm),
        })
        .collect()
}

/// A seeded order of customers that is the same whatever order they come
/// in: the order in which an unscored campaign's capacity goes round.
pub fn seeded_rank(customer_id: i64, seed: u64) -> u64 {
    let mut key = customer_id.to_le_bytes().to_vec();
    key.extend_from_slice(&seed.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn eligible(n: i64) -> Vec<Eligible> {
        (0..n)
            .map(|i| Eligible {
                customer_id: i,
                stratum: ["gold", "core", "potential"][(i % 3) as usize].to_owned(),
            })
            .collect()
    }

    #[test]
    fn the_split_is_stratified_seeded_and_order_free() {
        let arms = vec!["A".to_owned(), "B".to_owned()];
        let people = eligible(30_000);
        let a = split(&people, 0.1, &arms, 7);
        assert_eq!(a.len(), people.len());
        let mut reversed = people.clone();
        reversed.reverse();
        let mut b = split(&reversed, 0.1, &arms, 7);
        let mut a_sorted = a.clone();
        a_sorted.sort_by_key(|x| x.customer_id);
        b.sort_by_key(|x| x.customer_id);
        assert_eq!(a_sorted, b, "same seed, same split, whatever the order");
        assert_ne!(
            split(&people, 0.1, &arms, 8),
            a,
            "another seed, another split"
        );
        // Every stratum holds out its share; the arms are even.
        for s in ["gold", "core", "potential"] {
            let members: Vec<&Assignment> = a
                .iter()
                .filter(|x| people[x.customer_id as usize].stratum == s)
                .collect();
            let control = members.iter().filter(|x| x.arm == CONTROL).count();
            assert_eq!(control, 1_000, "{s}");
            let arm_a = members.iter().filter(|x| x.arm == "A").count();
            assert_eq!(arm_a, 4_500, "{s}");
        }
    }

    #[test]
    fn means_and_their_difference_by_hand() {
        let a = mean([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(a.n, 8);
        assert!((a.mean - 5.0).abs() < 1e-12);
        // Sample variance 32 / 7.
        assert!((a.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        let half = Z95 * a.sd / 8f64.sqrt();
        assert!((a.low - (5.0 - half)).abs() < 1e-12 && (a.high - (5.0 + half)).abs() < 1e-12);
        let b = mean([1.0, 2.0, 3.0]);
        let d = difference(&a, &b);
        assert!((d.difference - 3.0).abs() < 1e-12);
        let se = (32.0 / 7.0 / 8.0 + 1.0 / 3.0f64).sqrt();
        assert!((d.z - 3.0 / se).abs() < 1e-12);
        assert!((d.high - d.low - 2.0 * Z95 * se).abs() < 1e-12);
        assert!(d.p_value < 0.05 && d.p_value > 0.0);
        // Nothing to compare: no difference, no evidence.
        let empty = mean(std::iter::empty());
        assert_eq!((empty.n, empty.mean), (0, 0.0));
        let same = difference(&mean([1.0, 1.0]), &mean([1.0]));
        assert_eq!((same.difference, same.p_value), (0.0, 1.0));
    }

    #[test]
    fn the_universal_control_group_is_a_stable_share() {
        let held = (0..100_000)
            .filter(|i| universal_control(*i, "2026", 0.02))
            .count();
        assert!((1_800..2_200).contains(&held), "{held}");
        assert!(!universal_control(5, "2026", 0.0));
        let again = (0..100_000)
            .filter(|i| universal_control(*i, "2026", 0.02))
            .count();
        assert_eq!(held, again);
        let next_year = (0..100_000)
            .filter(|i| universal_control(*i, "2026", 0.02) && universal_control(*i, "2027", 0.02))
            .count();
        assert!(next_year < 100, "a new period draws afresh: {next_year}");
    }

    #[test]
    fn intervals_by_hand() {
        let r = rate(10, 100);
        assert!((r.rate - 0.1).abs() < 1e-12);
        // Wilson 95% for 10/100: 0.0552 – 0.1744.
        assert!(
            (r.low - 0.0552).abs() < 1e-4 && (r.high - 0.1744).abs() < 1e-4,
            "{r:?}"
        );
        let none = rate(0, 50);
        assert_eq!(none.low, 0.0);
        assert!(none.high > 0.05 && none.high < 0.08, "{none:?}");
        let l = lift(&rate(150, 1_000), &rate(100, 1_000));
        assert!((l.difference - 0.05).abs() < 1e-12);
        assert!(l.low > 0.0 && l.high < 0.1, "{l:?}");
        assert!((l.relative.unwrap() - 0.5).abs() < 1e-12);
        // z = 0.05 / sqrt(0.125 · 0.875 · 0.002) = 3.38; p ≈ 0.0007.
        assert!((l.z - 3.3806).abs() < 1e-3 && l.p_value < 0.001, "{l:?}");
        let flat = lift(&rate(100, 1_000), &rate(100, 1_000));
        assert!(flat.p_value > 0.99 && flat.low < 0.0 && flat.high > 0.0);
    }

    #[test]
    fn the_control_interval_covers_the_true_rate_in_95_percent_of_seeded_runs() {
        // 1,000 campaigns: 2,000 control members each with their own hidden
        // propensity (mean 3%); how often does the interval hold the truth?
        let mut covered = 0;
        let runs = 1_000;
        for seed in 0..runs {
            let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
            let p: Vec<f64> = (0..2_000).map(|_| 0.06 * rng.random::<f64>()).collect();
            let truth = p.iter().sum::<f64>() / p.len() as f64;
            let k = p.iter().filter(|&&pi| rng.random::<f64>() < pi).count() as u64;
            let r = rate(k, p.len() as u64);
            if r.low <= truth && truth <= r.high {
                covered += 1;
            }
        }
        assert!(covered >= 940, "coverage {covered} of {runs}");
    }

    #[test]
    fn a_triggered_draw_is_stable_and_keeps_its_shares() {
        let arms = vec!["A".to_owned(), "B".to_owned()];
        let draws: Vec<String> = (0..40_000).map(|c| draw(c, 11, 0.2, &arms)).collect();
        let count = |arm: &str| draws.iter().filter(|d| *d == arm).count();
        // 20% held out, the rest halved: within four standard deviations.
        assert!(
            (7_680..8_320).contains(&count(CONTROL)),
            "{}",
            count(CONTROL)
        );
        assert!((15_600..16_400).contains(&count("A")), "{}", count("A"));
        assert_eq!(count(CONTROL) + count("A") + count("B"), 40_000);
        // The same customer, the same place; another seed, another draw.
        assert!((0..40_000).all(|c| draw(c, 11, 0.2, &arms) == draws[c as usize]));
        let moved = (0..1_000)
            .filter(|c| draw(*c, 12, 0.2, &arms) != draws[*c as usize])
            .count();
        assert!(moved > 300, "{moved}");
        assert!((0..100).all(|c| draw(c, 1, 0.0, &arms) != CONTROL));
        assert!((0..100).all(|c| draw(c, 1, 1.0, &arms) == CONTROL));
    }

    #[test]
    fn channels_are_filled_in_order_within_their_capacity() {
        let plan = vec![
            Channel {
                name: "rm".into(),
                capacity: None,
                per_rm: Some(2),
            },
            Channel {
                name: "sms".into(),
                capacity: Some(3),
                per_rm: None,
            },
        ];
        // Six members of RM 7, one without an RM, two who opted out of SMS.
        let mut members: Vec<Reach> = (0..6)
            .map(|i| Reach {
                customer_id: i,
                owner: Some(7),
                reachable: vec![true, i != 4 && i != 5],
            })
            .collect();
        members.push(Reach {
            customer_id: 6,
            owner: None,
            reachable: vec![false, true],
        });
        let got = allocate(&members, &plan);
        // RM 7 takes the first two; SMS the next three it can reach; the
        // last two of RM 7 opted out of SMS and the SMS capacity is spent.
        assert_eq!(
            got,
            [Some(0), Some(0), Some(1), Some(1), None, None, Some(1)]
        );
        // Before a 20% control group is drawn, the eligible list may hold a
        // quarter more than the channels take (2.5 and 3.75, rounded).
        let wide = for_selection(&plan, 0.2);
        assert_eq!((wide[0].per_rm, wide[1].capacity), (Some(3), Some(4)));
        assert_eq!(wide[0].capacity, None);
        assert_eq!(seeded_rank(5, 1), seeded_rank(5, 1));
        assert_ne!(seeded_rank(5, 1), seeded_rank(5, 2));
    }
}
