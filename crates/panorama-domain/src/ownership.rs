//! Beneficial ownership (受益所有人识别): who ultimately owns or controls a
//! company, from declared shareholdings through any number of layers — PBOC
//! order 〔2025〕No.12: a natural person holding 25 % or more of the equity or
//! of the voting rights, directly or indirectly (shares multiplied along
//! each chain and added over chains), or in actual control; failing both,
//! the senior manager. Cross-holdings (a cycle of companies holding each
//! other) are solved exactly — the chains through a cycle form a geometric
//! series — rather than cut, and a declared structure whose cycles do not
//! converge (holdings adding up to more than the whole) is refused.

use std::collections::{BTreeMap, BTreeSet};

/// The threshold, in basis points: 25 %.
pub const THRESHOLD_BP: i64 = 2_500;

/// One declared holding: `holder` holds `equity_bp` of `company`'s equity
/// and `voting_bp` of its votes (basis points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    /// Who holds (a person or a company).
    pub holder: i64,
    /// The company held.
    pub company: i64,
    /// Share of the equity, basis points.
    pub equity_bp: i64,
    /// Share of the votes, basis points.
    pub voting_bp: i64,
}

/// Why a person is a beneficial owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Basis {
    /// 25 % or more of the equity, directly or indirectly.
    Equity,
    /// 25 % or more of the voting rights.
    Voting,
    /// Declared to control the company otherwise.
    Control,
    /// No one qualifies: the senior manager.
    SeniorManager,
}

/// A beneficial owner with the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    /// The person.
    pub person: i64,
    /// Why.
    pub basis: Basis,
    /// Their effective share of the equity (0 to 1).
    pub equity: f64,
    /// Their effective share of the votes (0 to 1).
    pub voting: f64,
    /// The chains of holdings behind the equity, each from the person to
    /// the company, with its product (the largest first; chains through a
    /// cycle are shown once round it).
    pub chains: Vec<(Vec<i64>, f64)>,
}

/// Why a structure cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnershipError {
    /// A share outside 0–100 %.
    Share {
        /// The holder.
        holder: i64,
        /// The company.
        company: i64,
    },
    /// A company's declared holders add up to more than the whole, so
    /// shares through it do not converge.
    Overheld {
        /// The company.
        company: i64,
    },
    /// Companies holding each other wholly in a closed cycle: the shares
    /// through it do not converge.
    Cycle,
}

impl std::fmt::Display for OwnershipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OwnershipError::Share { holder, company } => write!(
                f,
                "the holding of {holder} in {company} is not between 0 and 100 %"
            ),
            OwnershipError::Overheld { company } => {
                write!(f, "the holders of {company} declare more than 100 % of it")
            }
            OwnershipError::Cycle => write!(
                f,
                "companies hold each other wholly in a cycle: the shares through it do not converge"
            ),
        }
    }
}

impl std::error::Error for OwnershipError {}

/// Each holder's effective share of `target` (equity or votes by `pick`):
/// the solution of f(X) = d(X, T) + Σ_C d(X, C) · f(C) over the companies C
/// other than T (what T holds of itself through others is not anyone's).
fn effective(
    holdings: &[Holding],
    target: i64,
    pick: fn(&Holding) -> i64,
) -> Result<BTreeMap<i64, f64>, OwnershipError> {
    let mut f: BTreeMap<i64, f64> = BTreeMap::new();
    // Jacobi iteration: exact in the limit; every cycle's product is below
    // 1 once no company is over-held, so it converges geometrically.
    for _ in 0..10_000 {
        let mut next: BTreeMap<i64, f64> = BTreeMap::new();
        for h in holdings {
            let share = pick(h) as f64 / 10_000.0;
            let through = if h.company == target {
                1.0
            } else {
                f.get(&h.company).copied().unwrap_or(0.0)
            };
            if h.holder != target {
                *next.entry(h.holder).or_default() += share * through;
            }
        }
        let moved = next
            .iter()
            .map(|(k, v)| (v - f.get(k).copied().unwrap_or(0.0)).abs())
            .fold(0.0_f64, f64::max);
        f = next;
        if moved < 1e-13 {
            return Ok(f);
        }
    }
    Err(OwnershipError::Cycle)
}

/// The chains from `from` to `target` (at most `depth` holdings, each
/// company once per chain), with their products, largest first.
fn chains(holdings: &[Holding], from: i64, target: i64, depth: usize) -> Vec<(Vec<i64>, f64)> {
    let mut out = Vec::new();
    let mut path = vec![from];
    fn walk(
        holdings: &[Holding],
        target: i64,
        depth: usize,
        path: &mut Vec<i64>,
        product: f64,
        out: &mut Vec<(Vec<i64>, f64)>,
    ) {
        // Evidence, not the computation: a structure with thousands of
        // chains shows its first thousand.
        if out.len() >= 1_000 {
            return;
        }
        let at = *path.last().unwrap_or(&target);
        for h in holdings
            .iter()
            .filter(|h| h.holder == at && h.equity_bp > 0)
        {
            let p = product * h.equity_bp as f64 / 10_000.0;
            if h.company == target {
                let mut chain = path.clone();
                chain.push(target);
                out.push((chain, p));
            } else if path.len() < depth && !path.contains(&h.company) {
                path.push(h.company);
                walk(holdings, target, depth, path, p, out);
                path.pop();
            }
        }
    }
    walk(holdings, target, depth, &mut path, 1.0, &mut out);
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The beneficial owners of `target`: the persons (`persons`) whose
/// effective equity or votes reach [`THRESHOLD_BP`], then those declared in
/// control (`controllers`); if none, the senior managers. Each with the
/// chains of holdings behind their equity.
pub fn beneficial_owners(
    holdings: &[Holding],
    persons: &BTreeSet<i64>,
    target: i64,
    controllers: &[i64],
    senior_managers: &[i64],
) -> Result<Vec<Owner>, OwnershipError> {
    let mut held: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for h in holdings {
        if !(0..=10_000).contains(&h.equity_bp) || !(0..=10_000).contains(&h.voting_bp) {
            return Err(OwnershipError::Share {
                holder: h.holder,
                company: h.company,
            });
        }
        let e = held.entry(h.company).or_default();
        e.0 += h.equity_bp;
        e.1 += h.voting_bp;
    }
    if let Some((&company, _)) = held.iter().find(|(_, (e, v))| *e > 10_000 || *v > 10_000) {
        return Err(OwnershipError::Overheld { company });
    }
    let equity = effective(holdings, target, |h| h.equity_bp)?;
    let voting = effective(holdings, target, |h| h.voting_bp)?;
    let threshold = THRESHOLD_BP as f64 / 10_000.0 - 1e-9;
    let owner = |person: i64, basis: Basis| Owner {
        person,
        basis,
        equity: equity.get(&person).copied().unwrap_or(0.0),
        voting: voting.get(&person).copied().unwrap_or(0.0),
        chains: chains(holdings, person, target, 12),
    };
    let mut out: Vec<Owner> = Vec::new();
    for &p in persons {
        let e = equity.get(&p).copied().unwrap_or(0.0);
        let v = voting.get(&p).copied().unwrap_or(0.0);
        if e >= threshold {
            out.push(owner(p, Basis::Equity));
        } else if v >= threshold {
            out.push(owner(p, Basis::Voting));
        }
    }
    for &p in controllers {
        if !out.iter().any(|o| o.person == p) {
            out.push(owner(p, Basis::Control));
        }
    }
    if out.is_empty() {
        out.extend(
            senior_managers
                .iter()
                .map(|&p| owner(p, Basis::SeniorManager)),
        );
    }
    out.sort_by(|a, b| {
        a.basis
            .cmp(&b.basis)
            .then(b.equity.total_cmp(&a.equity))
            .then(a.person.cmp(&b.person))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(holder: i64, company: i64, pct: i64) -> Holding {
        Holding {
            holder,
            company,
            equity_bp: pct * 100,
            voting_bp: pct * 100,
        }
    }

    // Persons are 1–99, companies 100 and up; the target is 100.
    fn people(ids: &[i64]) -> BTreeSet<i64> {
        ids.iter().copied().collect()
    }

    #[test]
    fn shares_multiply_along_a_chain_30_percent_of_90_percent() {
        // Person 1 holds 30 % of holding company 200, which holds 90 % of
        // the target: 27 %, an owner. Person 2 holds 90 % of 201, which
        // holds the other 10 %: 9 %, not one.
        let holdings = [
            h(1, 200, 30),
            h(200, 100, 90),
            h(2, 201, 90),
            h(201, 100, 10),
        ];
        let owners = beneficial_owners(&holdings, &people(&[1, 2]), 100, &[], &[9]).unwrap();
        assert_eq!(owners.len(), 1, "{owners:?}");
        assert_eq!((owners[0].person, owners[0].basis), (1, Basis::Equity));
        assert!((owners[0].equity - 0.27).abs() < 1e-12, "{owners:?}");
        assert_eq!(owners[0].chains.len(), 1);
        assert_eq!(owners[0].chains[0].0, vec![1, 200, 100]);
        assert!((owners[0].chains[0].1 - 0.27).abs() < 1e-12);
    }

    #[test]
    fn chains_add_up_through_several_layers() {
        // Person 1: 20 % directly, and 50 % of 200, which holds 10 % directly
        // and 100 % of 300, which holds 20 %: 0.2 + 0.5 × (0.1 + 0.2) = 35 %.
        let holdings = [
            h(1, 100, 20),
            h(1, 200, 50),
            h(200, 100, 10),
            h(200, 300, 100),
            h(300, 100, 20),
        ];
        let owners = beneficial_owners(&holdings, &people(&[1]), 100, &[], &[]).unwrap();
        assert!((owners[0].equity - 0.35).abs() < 1e-12, "{owners:?}");
        let products: Vec<f64> = owners[0].chains.iter().map(|c| c.1).collect();
        assert_eq!(owners[0].chains.len(), 3);
        assert!((products.iter().sum::<f64>() - 0.35).abs() < 1e-12);
        assert_eq!(owners[0].chains[0].0, vec![1, 100]);
    }

    #[test]
    fn a_cycle_of_cross_holdings_is_solved_not_cut() {
        // 200 holds 50 % of 201, 201 holds 20 % of 200 and 40 % of the
        // target; person 1 holds 80 % of 200. f(201) = 0.4 + 0.2 f(200),
        // f(200) = 0.5 f(201): f(201) = 0.4 / 0.9, f(200) = 0.2 / 0.9, and
        // person 1 holds 0.8 × 0.2 / 0.9 = 17.8 %: not an owner, where
        // cutting the cycle after one round would say 16 %.
        let holdings = [
            h(200, 201, 50),
            h(201, 200, 20),
            h(201, 100, 40),
            h(1, 200, 80),
        ];
        let none = beneficial_owners(&holdings, &people(&[1]), 100, &[], &[9]).unwrap();
        assert_eq!(none.len(), 1);
        assert_eq!((none[0].person, none[0].basis), (9, Basis::SeniorManager));
        // Adding 10 % held directly: 27.8 %, an owner.
        let more = [
            h(200, 201, 50),
            h(201, 200, 20),
            h(201, 100, 40),
            h(1, 200, 80),
            h(1, 100, 10),
        ];
        let owners = beneficial_owners(&more, &people(&[1]), 100, &[], &[9]).unwrap();
        assert_eq!(owners[0].person, 1);
        assert!(
            (owners[0].equity - (0.1 + 0.8 * 0.2 / 0.9)).abs() < 1e-12,
            "{owners:?}"
        );
    }

    #[test]
    fn votes_control_and_the_senior_manager() {
        // Person 1 holds 10 % of the equity but 30 % of the votes; person 2
        // is declared in control; the senior manager is not needed then.
        let holdings = [
            Holding {
                holder: 1,
                company: 100,
                equity_bp: 1_000,
                voting_bp: 3_000,
            },
            h(3, 100, 24),
        ];
        let owners = beneficial_owners(&holdings, &people(&[1, 3]), 100, &[2], &[9]).unwrap();
        let got: Vec<(i64, Basis)> = owners.iter().map(|o| (o.person, o.basis)).collect();
        assert_eq!(got, vec![(1, Basis::Voting), (2, Basis::Control)]);
        // 24 % is under the threshold; 25 % exactly is over it.
        let exactly = [h(3, 100, 25)];
        let owners = beneficial_owners(&exactly, &people(&[3]), 100, &[], &[9]).unwrap();
        assert_eq!((owners[0].person, owners[0].basis), (3, Basis::Equity));
    }

    #[test]
    fn impossible_structures_are_refused() {
        assert_eq!(
            beneficial_owners(
                &[h(1, 100, 60), h(2, 100, 50)],
                &people(&[1, 2]),
                100,
                &[],
                &[]
            ),
            Err(OwnershipError::Overheld { company: 100 })
        );
        assert_eq!(
            beneficial_owners(&[h(1, 100, 101)], &people(&[1]), 100, &[], &[]),
            Err(OwnershipError::Share {
                holder: 1,
                company: 100
            })
        );
        // A company wholly owned by its own subsidiary and nobody else:
        // no person owns it; the senior manager stands.
        let owners = beneficial_owners(
            &[h(200, 100, 100), h(100, 200, 100)],
            &people(&[]),
            100,
            &[],
            &[9],
        )
        .unwrap();
        assert_eq!(owners[0].basis, Basis::SeniorManager);
        // Two companies wholly holding each other, one holding 40 % of the
        // target: the chains through them never end.
        assert_eq!(
            beneficial_owners(
                &[
                    h(200, 201, 100),
                    h(201, 200, 100),
                    h(201, 100, 40),
                    h(1, 100, 10)
                ],
                &people(&[1]),
                100,
                &[],
                &[]
            ),
            Err(OwnershipError::Cycle)
        );
    }
}
