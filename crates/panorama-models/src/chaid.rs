//! CHAID (Kass 1980) for a binary target: the explainable tree analysts ask
//! for. At each node every column is a predictor — numbers cut into ordinal
//! groups (at most 10 quantile bins; only neighbours merge), text levels as
//! nominal groups (any two merge). The pair of groups whose 2×2 chi-square
//! test is least significant merges while its p-value exceeds the merge
//! level; groups smaller than the child minimum join their closest
//! neighbour. The predictor whose merged table has the smallest
//! Bonferroni-adjusted p-value splits the node, if that p-value is below the
//! split level.

use crate::ModelError;
use crate::data::{Column, Dataset};
use crate::gbdt::{code, cut_points};
use crate::special::chi_square_sf;

/// Growth settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChaidParams {
    /// Deepest level (the root is 0).
    pub max_depth: usize,
    /// Fewest rows in a node that may split.
    pub min_parent: usize,
    /// Fewest rows in a child.
    pub min_child: usize,
    /// Groups merge while their pair's p-value is above this.
    pub alpha_merge: f64,
    /// A node splits when the best adjusted p-value is below this.
    pub alpha_split: f64,
    /// Ordinal groups of a numeric column.
    pub bins: usize,
    /// Whether a merged group of three or more categories may split again
    /// (Kass's step 3).
    pub resplit: bool,
}

impl Default for ChaidParams {
    fn default() -> ChaidParams {
        ChaidParams {
            max_depth: 4,
            min_parent: 200,
            min_child: 100,
            alpha_merge: 0.05,
            alpha_split: 0.05,
            bins: 10,
            resplit: true,
        }
    }
}

/// A predictor: how a row's category is found, and the categories' labels.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Predictor {
    name: String,
    ordinal: bool,
    labels: Vec<String>,
    source: Source,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Source {
    Numeric { feature: usize, cuts: Vec<f64> },
    Text { features: Vec<usize> },
}

impl Predictor {
    fn category(&self, row: &[f64]) -> usize {
        match &self.source {
            Source::Numeric { feature, cuts } => usize::from(code(cuts, row[*feature])),
            Source::Text { features } => features
                .iter()
                .position(|f| row[*f] != 0.0)
                .map_or(0, |k| k + 1),
        }
    }
}

/// A node of the tree.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChaidNode {
    /// Training rows in it.
    pub rows: usize,
    /// Positives among them.
    pub positives: usize,
    /// What the node's rows have in common with their parent's others
    /// (`duration in (103, 160]`); empty at the root.
    pub condition: String,
    /// Its split, if it has one.
    pub split: Option<ChaidSplit>,
}

/// How a node splits.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChaidSplit {
    /// The predictor's name.
    pub predictor: String,
    index: usize,
    /// The Bonferroni-adjusted p-value.
    pub p_value: f64,
    /// Per category of the predictor, the child node it goes to.
    child_of: Vec<usize>,
    /// The child nodes.
    pub children: Vec<usize>,
}

/// A grown tree.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Chaid {
    /// The nodes; 0 is the root.
    pub nodes: Vec<ChaidNode>,
    predictors: Vec<Predictor>,
}

/// Pearson's chi-square of a groups × 2 table of (rows, positives).
fn chi_square(groups: &[(usize, usize)]) -> f64 {
    let n: usize = groups.iter().map(|g| g.0).sum();
    let pos: usize = groups.iter().map(|g| g.1).sum();
    if n == 0 || pos == 0 || pos == n {
        return 0.0;
    }
    let rate = pos as f64 / n as f64;
    groups
        .iter()
        .filter(|g| g.0 > 0)
        .map(|&(m, k)| {
            let (e1, e0) = (m as f64 * rate, m as f64 * (1.0 - rate));
            let (o1, o0) = (k as f64, (m - k) as f64);
            (o1 - e1).powi(2) / e1 + (o0 - e0).powi(2) / e0
        })
        .sum()
}

fn p_value(groups: &[(usize, usize)]) -> f64 {
    chi_square_sf(chi_square(groups), groups.len() as f64 - 1.0)
}

/// Kass's Bonferroni multiplier: the ways `c` categories can form `g`
/// groups — C(c−1, g−1) when only neighbours merge, the Stirling number
/// S(c, g) when any may.
fn bonferroni(c: usize, g: usize, ordinal: bool) -> f64 {
    if ordinal {
        let (n, k) = ((c - 1) as f64, (g - 1) as f64);
        (crate::special::ln_gamma(n + 1.0)
            - crate::special::ln_gamma(k + 1.0)
            - crate::special::ln_gamma(n - k + 1.0))
        .exp()
    } else {
        // S(c, g) = Σ (−1)^i (g − i)^c / (i! (g − i)!), i = 0..g−1.
        (0..g)
            .map(|i| {
                let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
                sign * ((c as f64) * ((g - i) as f64).ln()
                    - crate::special::ln_gamma(i as f64 + 1.0)
                    - crate::special::ln_gamma((g - i) as f64 + 1.0))
                .exp()
            })
            .sum::<f64>()
            .max(1.0)
    }
}

/// A candidate grouping of one predictor's categories at a node.
struct Grouping {
    /// Categories per group.
    members: Vec<Vec<usize>>,
    /// (rows, positives) per group.
    counts: Vec<(usize, usize)>,
}

impl Grouping {
    fn merge(&mut self, a: usize, b: usize) {
        let (lo, hi) = (a.min(b), a.max(b));
        let moved = self.members.remove(hi);
        self.members[lo].extend(moved);
        let (n, k) = self.counts.remove(hi);
        self.counts[lo].0 += n;
        self.counts[lo].1 += k;
    }

    /// The pair to merge next and its p-value: the least different pair
    /// (neighbours only when ordinal).
    fn closest(&self, ordinal: bool) -> Option<(usize, usize, f64)> {
        let g = self.counts.len();
        let mut best: Option<(usize, usize, f64)> = None;
        for a in 0..g {
            let others: Vec<usize> = if ordinal {
                (a + 1..g.min(a + 2)).collect()
            } else {
                (a + 1..g).collect()
            };
            for b in others {
                let p = p_value(&[self.counts[a], self.counts[b]]);
                if best.is_none_or(|x| p > x.2) {
                    best = Some((a, b, p));
                }
            }
        }
        best
    }

    /// Kass's step 3: of the groups of three or more categories, the one
    /// whose best binary split (contiguous halves when ordinal; categories
    /// in order of their rate otherwise) is most significant splits in two,
    /// if that p-value is below `alpha`. Returns whether one split.
    fn resplit(&mut self, counts: &[(usize, usize)], ordinal: bool, alpha: f64) -> bool {
        let mut best: Option<(usize, Vec<usize>, Vec<usize>, f64)> = None;
        for (g, members) in self.members.iter().enumerate() {
            if members.len() < 3 {
                continue;
            }
            let mut order = members.clone();
            if !ordinal {
                let rate = |c: usize| counts[c].1 as f64 / counts[c].0.max(1) as f64;
                order.sort_by(|&a, &b| rate(a).total_cmp(&rate(b)).then(a.cmp(&b)));
            }
            let total = self.counts[g];
            let mut left = (0usize, 0usize);
            for cut in 1..order.len() {
                left.0 += counts[order[cut - 1]].0;
                left.1 += counts[order[cut - 1]].1;
                let right = (total.0 - left.0, total.1 - left.1);
                let p = p_value(&[left, right]);
                if p < alpha && best.as_ref().is_none_or(|b| p < b.3) {
                    best = Some((g, order[..cut].to_vec(), order[cut..].to_vec(), p));
                }
            }
        }
        let Some((g, mut low, mut high, _)) = best else {
            return false;
        };
        low.sort_unstable();
        high.sort_unstable();
        let sum = |m: &[usize]| {
            m.iter()
                .fold((0, 0), |(n, k), &c| (n + counts[c].0, k + counts[c].1))
        };
        self.counts[g] = sum(&low);
        self.counts.insert(g + 1, sum(&high));
        self.members[g] = low;
        self.members.insert(g + 1, high);
        true
    }
}

/// Kass's grouping of one predictor's categories at a node: (1) the pair of
/// groups least different in the target (neighbours only when ordinal)
/// merges while its p-value exceeds the merge level; (2) a merged group of
/// three or more categories whose best binary split is significant at that
/// level splits again, and merging resumes — so chaining similar
/// neighbours cannot lump together categories that differ; (3) groups
/// smaller than the child minimum join their closest neighbour.
fn group_categories(
    counts: &[(usize, usize)],
    present: &[usize],
    ordinal: bool,
    params: &ChaidParams,
) -> Grouping {
    let mut grouping = Grouping {
        members: present.iter().map(|&c| vec![c]).collect(),
        counts: present.iter().map(|&c| counts[c]).collect(),
    };
    // Each re-split separates a pair the merge level calls different; the
    // bound only guards against a merge and a split undoing each other.
    for _ in 0..=2 * present.len() {
        while grouping.counts.len() > 1 {
            match grouping.closest(ordinal) {
                Some((a, b, p)) if p > params.alpha_merge => grouping.merge(a, b),
                _ => break,
            }
        }
        if !params.resplit || !grouping.resplit(counts, ordinal, params.alpha_merge) {
            break;
        }
    }
    // Too-small groups join their closest neighbour.
    while grouping.counts.len() > 1 {
        let Some(small) = (0..grouping.counts.len())
            .filter(|&g| grouping.counts[g].0 < params.min_child)
            .min_by_key(|&g| grouping.counts[g].0)
        else {
            break;
        };
        let candidates: Vec<usize> = if ordinal {
            [small.wrapping_sub(1), small + 1]
                .into_iter()
                .filter(|&g| g < grouping.counts.len())
                .collect()
        } else {
            (0..grouping.counts.len()).filter(|&g| g != small).collect()
        };
        let Some(partner) = candidates.into_iter().max_by(|&a, &b| {
            p_value(&[grouping.counts[small], grouping.counts[a]])
                .total_cmp(&p_value(&[grouping.counts[small], grouping.counts[b]]))
        }) else {
            break;
        };
        grouping.merge(small, partner);
    }
    grouping
}

impl Chaid {
    /// Grows a tree on `rows` of `data`.
    pub fn fit(data: &Dataset, rows: &[usize], params: &ChaidParams) -> Result<Chaid, ModelError> {
        if rows.is_empty() {
            return Err(ModelError::Input("no training rows".into()));
        }
        let predictors = predictors(data, rows, params.bins.clamp(2, 255));
        let mut tree = Chaid {
            nodes: Vec::new(),
            predictors,
        };
        let mut stack = vec![(rows.to_vec(), 0usize, String::new(), None::<(usize, usize)>)];
        while let Some((node_rows, depth, condition, parent)) = stack.pop() {
            let positives = node_rows.iter().filter(|&&i| data.y[i]).count();
            let id = tree.nodes.len();
            tree.nodes.push(ChaidNode {
                rows: node_rows.len(),
                positives,
                condition,
                split: None,
            });
            if let Some((p, slot)) = parent {
                if let Some(s) = tree.nodes[p].split.as_mut() {
                    s.children[slot] = id;
                }
            }
            if depth >= params.max_depth
                || node_rows.len() < params.min_parent
                || positives == 0
                || positives == node_rows.len()
            {
                continue;
            }
            let Some((index, grouping, p_value)) = tree.best_split(data, &node_rows, params) else {
                continue;
            };
            let predictor = &tree.predictors[index];
            let mut child_of = vec![0; predictor.labels.len()];
            // Categories not seen at this node follow the largest group.
            let largest = (0..grouping.counts.len())
                .max_by_key(|&g| grouping.counts[g].0)
                .unwrap_or(0);
            child_of.iter_mut().for_each(|c| *c = largest);
            for (g, members) in grouping.members.iter().enumerate() {
                for &c in members {
                    child_of[c] = g;
                }
            }
            let mut parts: Vec<Vec<usize>> = vec![Vec::new(); grouping.members.len()];
            for &i in &node_rows {
                parts[child_of[predictor.category(data.row(i))]].push(i);
            }
            let conditions: Vec<String> = grouping
                .members
                .iter()
                .map(|m| {
                    let labels: Vec<&str> =
                        m.iter().map(|&c| predictor.labels[c].as_str()).collect();
                    format!("{} in {{{}}}", predictor.name, labels.join(", "))
                })
                .collect();
            tree.nodes[id].split = Some(ChaidSplit {
                predictor: predictor.name.clone(),
                index,
                p_value,
                child_of,
                children: vec![0; parts.len()],
            });
            // Pushed in reverse so children are numbered in group order.
            for (slot, (part, condition)) in parts.into_iter().zip(conditions).enumerate().rev() {
                stack.push((part, depth + 1, condition, Some((id, slot))));
            }
        }
        Ok(tree)
    }

    fn best_split(
        &self,
        data: &Dataset,
        rows: &[usize],
        params: &ChaidParams,
    ) -> Option<(usize, Grouping, f64)> {
        let mut best: Option<(usize, Grouping, f64)> = None;
        for (j, predictor) in self.predictors.iter().enumerate() {
            let mut counts = vec![(0usize, 0usize); predictor.labels.len()];
            for &i in rows {
                let c = predictor.category(data.row(i));
                counts[c].0 += 1;
                counts[c].1 += usize::from(data.y[i]);
            }
            let present: Vec<usize> = (0..counts.len()).filter(|&c| counts[c].0 > 0).collect();
            if present.len() < 2 {
                continue;
            }
            let grouping = group_categories(&counts, &present, predictor.ordinal, params);
            if grouping.counts.len() < 2 {
                continue;
            }
            let adjusted = (p_value(&grouping.counts)
                * bonferroni(present.len(), grouping.counts.len(), predictor.ordinal))
            .min(1.0);
            if adjusted < params.alpha_split && best.as_ref().is_none_or(|b| adjusted < b.2) {
                best = Some((j, grouping, adjusted));
            }
        }
        best
    }

    /// The positive rate of the leaf a row falls in.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            let node = &self.nodes[i];
            match &node.split {
                Some(s) => {
                    let c = self.predictors[s.index].category(row);
                    i = s.children[s.child_of.get(c).copied().unwrap_or(0)];
                }
                None => return node.positives as f64 / node.rows.max(1) as f64,
            }
        }
    }

    /// The tree as indented text: each node's condition, size, rate and split.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            let node = &self.nodes[i];
            let rate = 100.0 * node.positives as f64 / node.rows.max(1) as f64;
            let what = if node.condition.is_empty() {
                "all".to_owned()
            } else {
                node.condition.clone()
            };
            out.push_str(&format!(
                "{}{what}: {} rows, {rate:.1}% positive",
                "  ".repeat(depth),
                node.rows
            ));
            if let Some(s) = &node.split {
                let p = if s.p_value < 1e-300 {
                    "< 1e-300".to_owned()
                } else {
                    format!("{:.1e}", s.p_value)
                };
                out.push_str(&format!(" → split on {} (adjusted p {p})", s.predictor));
                for &c in s.children.iter().rev() {
                    stack.push((c, depth + 1));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// The predictors of a dataset: one per column of the file.
fn predictors(data: &Dataset, rows: &[usize], bins: usize) -> Vec<Predictor> {
    data.columns
        .iter()
        .map(|column| match column {
            Column::Numeric { feature } => {
                let mut values: Vec<f64> = rows.iter().map(|&i| data.row(i)[*feature]).collect();
                let cuts = cut_points(&mut values, bins);
                let mut labels = Vec::with_capacity(cuts.len() + 1);
                let short = |v: f64| format!("{}", (v * 1000.0).round() / 1000.0);
                for k in 0..=cuts.len() {
                    labels.push(match k {
                        0 if cuts.is_empty() => "any".to_owned(),
                        0 => format!("≤ {}", short(cuts[0])),
                        k if k == cuts.len() => format!("> {}", short(cuts[k - 1])),
                        k => format!("({}, {}]", short(cuts[k - 1]), short(cuts[k])),
                    });
                }
                Predictor {
                    name: data.names[*feature].clone(),
                    ordinal: true,
                    labels,
                    source: Source::Numeric {
                        feature: *feature,
                        cuts,
                    },
                }
            }
            Column::Text {
                name,
                baseline,
                rare,
                levels,
            } => {
                let mut labels = vec![if *rare {
                    format!("{baseline} or rarer")
                } else {
                    baseline.clone()
                }];
                labels.extend(levels.iter().map(|(l, _)| l.clone()));
                Predictor {
                    name: name.clone(),
                    ordinal: false,
                    labels,
                    source: Source::Text {
                        features: levels.iter().map(|(_, f)| *f).collect(),
                    },
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi_square_by_hand() {
        // 2×2: (10 rows, 8 positive) vs (10, 2): rate 0.5, expected 5 each;
        // (8−5)²/5 + (2−5)²/5 + (2−5)²/5 + (8−5)²/5 = 7.2.
        assert!((chi_square(&[(10, 8), (10, 2)]) - 7.2).abs() < 1e-12);
        assert_eq!(chi_square(&[(10, 5), (10, 5)]), 0.0);
    }

    #[test]
    fn bonferroni_counts_the_groupings() {
        // 4 ordered categories into 2 groups: 3 ways; into 4: 1.
        assert!((bonferroni(4, 2, true) - 3.0).abs() < 1e-9);
        assert!((bonferroni(4, 4, true) - 1.0).abs() < 1e-9);
        // Any 4 categories into 2 groups: S(4, 2) = 7; into 3: S(4, 3) = 6.
        assert!((bonferroni(4, 2, false) - 7.0).abs() < 1e-9);
        assert!((bonferroni(4, 3, false) - 6.0).abs() < 1e-9);
    }

    /// Whether some group of three or more categories holds a binary split
    /// significant at `alpha` (what the re-split step forbids).
    fn splittable(g: &Grouping, counts: &[(usize, usize)], ordinal: bool, alpha: f64) -> bool {
        let mut copy = Grouping {
            members: g.members.clone(),
            counts: g.counts.clone(),
        };
        copy.resplit(counts, ordinal, alpha)
    }

    #[test]
    fn merged_groups_that_hide_a_difference_split_again() {
        // Rates that climb slowly over categories of mixed sizes: each
        // merge looks harmless, but merging alone chains every category
        // into one group whose ends differ (tables found by a search).
        let ordered = [
            (100, 9),
            (100, 13),
            (200, 27),
            (400, 62),
            (30, 5),
            (100, 19),
            (60, 13),
        ];
        let nominal = [(100, 10), (200, 23), (400, 56), (100, 16), (200, 37)];
        let without = ChaidParams {
            resplit: false,
            min_child: 1,
            ..ChaidParams::default()
        };
        let with = ChaidParams {
            resplit: true,
            ..without.clone()
        };
        for (counts, ordinal) in [(&ordered[..], true), (&nominal[..], false)] {
            let present: Vec<usize> = (0..counts.len()).collect();
            let merged = group_categories(counts, &present, ordinal, &without);
            assert_eq!(
                merged.members,
                std::slice::from_ref(&present),
                "merging alone chains all"
            );
            assert!(splittable(&merged, counts, ordinal, without.alpha_merge));
            let grouped = group_categories(counts, &present, ordinal, &with);
            assert!(grouped.members.len() >= 2, "{:?}", grouped.members);
            assert!(
                !splittable(&grouped, counts, ordinal, with.alpha_merge),
                "{:?}",
                grouped.members
            );
            // Every category once, the counts kept; contiguous when ordered.
            let mut all = grouped.members.concat();
            if ordinal {
                assert_eq!(all, present, "{:?}", grouped.members);
            }
            all.sort_unstable();
            assert_eq!(all, present);
            for (m, c) in grouped.members.iter().zip(&grouped.counts) {
                let n: usize = m.iter().map(|&k| counts[k].0).sum();
                let k: usize = m.iter().map(|&k| counts[k].1).sum();
                assert_eq!((n, k), *c);
            }
        }
    }

    #[test]
    fn the_tree_finds_the_segments_that_take_up() {
        // Card uptake is high for high balances who use ATMs often, low
        // otherwise; a third column is noise (the course's example).
        use rand::{Rng, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(5);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..4_000 {
            let balance = f64::from(rng.random_range(0..1000));
            let atm = f64::from(rng.random_range(0..30));
            let noise = f64::from(rng.random_range(0..17));
            x.extend([balance, atm, noise]);
            let rate = if balance > 600.0 && atm > 15.0 {
                0.6
            } else {
                0.05
            };
            y.push(rng.random::<f64>() < rate);
        }
        let data = Dataset::numeric(vec!["balance".into(), "atm".into(), "noise".into()], x, y);
        let rows: Vec<usize> = (0..4_000).collect();
        let tree =
            Chaid::fit(&data, &rows, &ChaidParams::default()).unwrap_or_else(|e| panic!("{e}"));
        let root = tree.nodes[0].split.as_ref().map(|s| s.predictor.clone());
        assert!(
            matches!(root.as_deref(), Some("balance" | "atm")),
            "{}",
            tree.describe()
        );
        let text = tree.describe();
        assert!(!text.contains("split on noise"), "{text}");
        assert!(text.contains("→ split on"), "{text}");
        // The best leaf is the high-balance, frequent-ATM segment.
        let best = tree.probability(&[900.0, 25.0, 3.0]);
        let worst = tree.probability(&[100.0, 2.0, 3.0]);
        assert!(best > 0.4 && worst < 0.1, "{best} {worst}\n{text}");
        for n in &tree.nodes {
            assert!(n.rows >= ChaidParams::default().min_child, "{text}");
        }
    }
}
