//! Clustering that does not chain strangers: links are taken strongest
//! first, and two groups are joined only if no record of one is clearly a
//! different party from a record of the other — different valid strong ids,
//! or comparison evidence that on its own is 99:1 against a match — and if
//! their records, compared across the two groups, are on average more likely
//! one party than two (average linkage). Plain union-find would join A–B–C
//! even when A and C are different people; the average stops a record whose
//! name was mistyped into another party's name from carrying that party into
//! its own group on one link when every other record of the two disagrees.

/// Groups of records under construction.
#[derive(Debug, Clone)]
pub struct Clusters {
    parent: Vec<u32>,
    members: Vec<Vec<u32>>,
}

/// What a requested join did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// The two groups are now one.
    Joined,
    /// They already were one.
    Already,
    /// A record of one group is clearly a different party from one of the other.
    Refused,
}

/// Joined groups above this many cross pairs are not checked (only a
/// degenerate model builds such groups, and the size guard stops it).
const MAX_CHECKED: usize = 250_000;

/// How two records compare, for a join.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pair {
    /// Clearly different parties: the groups are never joined.
    Different,
    /// Their match probability.
    Probability(f64),
}

impl Clusters {
    /// Every record alone.
    pub fn new(n: usize) -> Clusters {
        Clusters {
            parent: (0..n as u32).collect(),
            members: (0..n as u32).map(|r| vec![r]).collect(),
        }
    }

    /// The group's root.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Joins the groups of `a` and `b` unless `pair(x, y)` is
    /// [`Pair::Different`] for a record x of one and y of the other, or the
    /// mean probability of the cross pairs is below `agreement` (the
    /// schema's `group_agreement` for a probabilistic link; 0 for a link a
    /// shared strong id makes). The root is the smaller index.
    pub fn join(
        &mut self,
        a: u32,
        b: u32,
        agreement: f64,
        pair: impl Fn(u32, u32) -> Pair,
    ) -> Join {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Join::Already;
        }
        let (ma, mb) = (&self.members[ra as usize], &self.members[rb as usize]);
        let cross = ma.len() * mb.len();
        if cross <= MAX_CHECKED {
            let mut sum = 0.0;
            for &x in ma {
                for &y in mb {
                    match pair(x, y) {
                        Pair::Different => return Join::Refused,
                        Pair::Probability(p) => sum += p,
                    }
                }
            }
            if sum < agreement * cross as f64 {
                return Join::Refused;
            }
        }
        self.force(ra, rb);
        Join::Joined
    }

    /// Joins without checking (previous links, a steward's decision).
    pub fn join_unchecked(&mut self, a: u32, b: u32) -> Join {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Join::Already;
        }
        self.force(ra, rb);
        Join::Joined
    }

    fn force(&mut self, ra: u32, rb: u32) {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        let moved = std::mem::take(&mut self.members[hi as usize]);
        self.members[lo as usize].extend(moved);
        self.parent[hi as usize] = lo;
    }

    /// The root of every record.
    pub fn roots(&mut self) -> Vec<u32> {
        (0..self.parent.len() as u32)
            .map(|r| self.find(r))
            .collect()
    }

    /// The size of the largest group.
    pub fn largest(&self) -> usize {
        self.members.iter().map(Vec::len).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP_AGREEMENT: f64 = 0.5;

    #[test]
    fn a_chain_through_a_middle_record_is_refused_when_its_ends_differ() {
        // 0–1 and 1–2 are strong links, but 0 and 2 are clearly different.
        let differ = |x: u32, y: u32| {
            if (x.min(y), x.max(y)) == (0, 2) {
                Pair::Different
            } else {
                Pair::Probability(0.99)
            }
        };
        let mut c = Clusters::new(3);
        assert_eq!(c.join(0, 1, GROUP_AGREEMENT, differ), Join::Joined);
        assert_eq!(c.join(1, 2, GROUP_AGREEMENT, differ), Join::Refused);
        assert_eq!(c.roots(), vec![0, 0, 2]);
        assert_eq!(c.join_unchecked(1, 2), Join::Joined);
        assert_eq!(c.largest(), 3);
    }

    #[test]
    fn one_link_does_not_join_groups_whose_other_records_disagree() {
        // 0, 1, 2 are one party; 3 links to 2 alone (a mistyped name), and
        // the others put it at 0.1 — not clearly different, but two parties.
        let p = |x: u32, y: u32| {
            Pair::Probability(match (x.min(y), x.max(y)) {
                (2, 3) => 0.95,
                (_, 3) => 0.1,
                _ => 0.99,
            })
        };
        let mut c = Clusters::new(4);
        assert_eq!(c.join(0, 1, GROUP_AGREEMENT, p), Join::Joined);
        assert_eq!(c.join(1, 2, GROUP_AGREEMENT, p), Join::Joined);
        assert_eq!(c.join(2, 3, GROUP_AGREEMENT, p), Join::Refused);
        // A link a shared strong id makes asks no agreement of the rest.
        assert_eq!(c.clone().join(2, 3, 0.0, p), Join::Joined);
        // Had the others been as sure as the link, the groups would be one.
        let sure = |_: u32, _: u32| Pair::Probability(0.6);
        assert_eq!(c.join(2, 3, GROUP_AGREEMENT, sure), Join::Joined);
        assert_eq!(c.roots(), vec![0, 0, 0, 0]);
    }
}
