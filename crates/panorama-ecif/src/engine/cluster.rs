//! Clustering that does not chain strangers: links are taken strongest
//! first, and two groups are joined only if no record of one is clearly a
//! different party from a record of the other — different valid strong ids,
//! or comparison evidence that on its own is 99:1 against a match. Plain
//! union-find would join A–B–C even when A and C are different people.

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

    /// Joins the groups of `a` and `b` unless `differ(x, y)` holds for a
    /// record x of one and y of the other. The root is the smaller index.
    pub fn join(&mut self, a: u32, b: u32, differ: impl Fn(u32, u32) -> bool) -> Join {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Join::Already;
        }
        let (ma, mb) = (&self.members[ra as usize], &self.members[rb as usize]);
        if ma.len() * mb.len() <= MAX_CHECKED
            && ma.iter().any(|&x| mb.iter().any(|&y| differ(x, y)))
        {
            return Join::Refused;
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

    #[test]
    fn a_chain_through_a_middle_record_is_refused_when_its_ends_differ() {
        // 0–1 and 1–2 are strong links, but 0 and 2 are clearly different.
        let differ = |x: u32, y: u32| (x.min(y), x.max(y)) == (0, 2);
        let mut c = Clusters::new(3);
        assert_eq!(c.join(0, 1, differ), Join::Joined);
        assert_eq!(c.join(1, 2, differ), Join::Refused);
        assert_eq!(c.roots(), vec![0, 0, 2]);
        assert_eq!(c.join_unchecked(1, 2), Join::Joined);
        assert_eq!(c.largest(), 3);
    }
}
