//! Gradient-boosted decision trees for a binary target, grown the way
//! LightGBM grows them: numbers cut into at most 255 quantile bins, a text
//! column kept whole as one categorical input (its levels split many
//! against many, sorted by their gradient statistics, or one against the
//! rest when there are few), trees grown leaf-wise (always splitting the
//! leaf with the largest gain) up to a number of leaves, split gains from
//! per-bin sums of gradients and hessians of the log-loss, a child's
//! histogram as its parent's minus its sibling's. Defaults are LightGBM's:
//! 100 trees, learning rate 0.1, 31 leaves, 20 rows per leaf at least, no
//! L2 penalty; for categories at most 4 levels split one against the rest,
//! `cat_smooth` 10, `cat_l2` 10, 100 rows per group, 32 levels on a side.
//!
//! Written here rather than bound: the LightGBM crates build its C++ with
//! CMake, and the pure-Rust boosters differ in algorithm (perpetual has no
//! learning rate or leaf count to match) or are unmaintained (gbdt-rs).

use rayon::prelude::*;

use crate::ModelError;
use crate::data::{Column, Dataset};

/// Training settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GbdtParams {
    /// Boosting rounds (trees).
    pub trees: usize,
    /// Shrinkage of each tree's values.
    pub learning_rate: f64,
    /// Most leaves per tree.
    pub max_leaves: usize,
    /// Fewest training rows in a leaf.
    pub min_leaf_rows: usize,
    /// Smallest sum of hessians in a leaf.
    pub min_leaf_hessian: f64,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Most bins per number (≤ 256).
    pub max_bins: usize,
    /// A text column of at most this many levels splits one level against
    /// the rest; more, many against many.
    pub max_cat_to_onehot: usize,
    /// Most levels on the smaller side of a many-against-many split.
    pub max_cat_threshold: usize,
    /// Added to the L2 penalty of a many-against-many split.
    pub cat_l2: f64,
    /// Smoothing of a level's gradient ratio when levels are ordered; a
    /// level with fewer rows than this takes no side of its own.
    pub cat_smooth: f64,
    /// Fewest rows a group of levels adds before a cut between groups.
    pub min_data_per_group: usize,
}

impl Default for GbdtParams {
    fn default() -> GbdtParams {
        GbdtParams {
            trees: 100,
            learning_rate: 0.1,
            max_leaves: 31,
            min_leaf_rows: 20,
            min_leaf_hessian: 1e-3,
            lambda: 0.0,
            max_bins: 255,
            max_cat_to_onehot: 4,
            max_cat_threshold: 32,
            cat_l2: 10.0,
            cat_smooth: 10.0,
            min_data_per_group: 100,
        }
    }
}

/// A node: a split on a number (`feature`, go left when the value ≤
/// `threshold`), a split on a text column's levels, or a leaf.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Node {
    /// An inner node on a number.
    Split {
        /// Feature index.
        feature: usize,
        /// Values up to this go left.
        threshold: f64,
        /// The same cut as a bin code (≤ goes left), for training.
        #[serde(skip)]
        bin: u8,
        /// What the node would contribute as a leaf (for explaining scores).
        value: f64,
        /// Left child.
        left: usize,
        /// Right child.
        right: usize,
    },
    /// An inner node on a text column: the row's level decides.
    Levels {
        /// The column, in [`Gbdt::columns`].
        column: usize,
        /// Per level, whether it goes left.
        goes_left: Vec<bool>,
        /// What the node would contribute as a leaf (for explaining scores).
        value: f64,
        /// Left child.
        left: usize,
        /// Right child.
        right: usize,
    },
    /// A leaf and its contribution to the log-odds.
    Leaf(f64),
}

/// The level of a text column in `row`: `k + 1` for the first of its
/// indicators that is set, 0 when none is.
fn level_of(features: &[usize], row: &[f64]) -> usize {
    features
        .iter()
        .position(|&f| row[f] != 0.0)
        .map_or(0, |k| k + 1)
}

impl Node {
    /// The child `row` (whose text columns are at `levels`) goes to, or
    /// `None` at a leaf.
    fn child(&self, row: &[f64], levels: &[u8]) -> Option<usize> {
        match self {
            Node::Leaf(_) => None,
            Node::Split {
                feature,
                threshold,
                left,
                right,
                ..
            } => Some(if row[*feature] <= *threshold {
                *left
            } else {
                *right
            }),
            Node::Levels {
                column,
                goes_left,
                left,
                right,
                ..
            } => Some(
                if goes_left
                    .get(usize::from(levels[*column]))
                    .copied()
                    .unwrap_or(false)
                {
                    *left
                } else {
                    *right
                },
            ),
        }
    }

    /// The feature this node's decision is credited to: the number's, or
    /// the row's own level (the baseline's: the column's first).
    fn credited(&self, levels: &[u8], columns: &[Vec<usize>]) -> usize {
        match self {
            Node::Levels { column, .. } => {
                columns[*column][usize::from(levels[*column]).saturating_sub(1)]
            }
            Node::Split { feature, .. } => *feature,
            Node::Leaf(_) => 0,
        }
    }

    fn value(&self) -> f64 {
        match self {
            Node::Leaf(v) | Node::Split { value: v, .. } | Node::Levels { value: v, .. } => *v,
        }
    }
}

/// One tree; node 0 is the root.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tree {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Adds each split feature's share of this tree's output for `row` to
    /// `out` (the change in node value along the row's path, after Saabas);
    /// returns the root's value, which no feature explains.
    fn explain(&self, row: &[f64], levels: &[u8], columns: &[Vec<usize>], out: &mut [f64]) -> f64 {
        let root = self.nodes[0].value();
        let mut i = 0;
        while let Some(next) = self.nodes[i].child(row, levels) {
            out[self.nodes[i].credited(levels, columns)] +=
                self.nodes[next].value() - self.nodes[i].value();
            i = next;
        }
        root
    }

    fn value(&self, row: &[f64], levels: &[u8]) -> f64 {
        let mut i = 0;
        while let Some(next) = self.nodes[i].child(row, levels) {
            i = next;
        }
        self.nodes[i].value()
    }
}

/// A fitted booster.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Gbdt {
    /// The starting log-odds (the training rows' base rate).
    pub base: f64,
    /// The trees.
    pub trees: Vec<Tree>,
    /// Per feature, total split gain over all trees (importance); a split
    /// on a text column is credited to its first level's feature.
    pub gain: Vec<f64>,
    /// The text columns split by level: each one's level indicators (level
    /// `k + 1` when the `k`-th is set, level 0 — the baseline — when none is).
    #[serde(default)]
    pub columns: Vec<Vec<usize>>,
}

/// Bin upper bounds per feature, from the training rows.
pub(crate) fn cut_points(values: &mut [f64], max_bins: usize) -> Vec<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let mut distinct: Vec<f64> = Vec::new();
    for v in values.iter() {
        if distinct.last() != Some(v) {
            distinct.push(*v);
        }
    }
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    }
    let n = values.len();
    let mut cuts: Vec<f64> = (1..max_bins).map(|k| values[k * n / max_bins]).collect();
    cuts.dedup();
    // A cut at the largest value would leave the last bin empty.
    if cuts.last() == distinct.last() {
        cuts.pop();
    }
    cuts
}

pub(crate) fn code(cuts: &[f64], v: f64) -> u8 {
    // The first bin whose upper bound is ≥ v; past the last cut: the last bin.
    cuts.partition_point(|c| *c < v) as u8
}

/// What the booster splits on: a number cut into bins, or a text column's
/// levels (one input for all its indicators).
enum Input {
    Number {
        feature: usize,
        cuts: Vec<f64>,
    },
    Levels {
        features: Vec<usize>,
        /// Its place in [`Gbdt::columns`].
        column: usize,
    },
}

impl Input {
    fn bins(&self) -> usize {
        match self {
            Input::Number { cuts, .. } => cuts.len() + 1,
            Input::Levels { features, .. } => features.len() + 1,
        }
    }

    fn code(&self, row: &[f64]) -> u8 {
        match self {
            Input::Number { feature, cuts } => code(cuts, row[*feature]),
            Input::Levels { features, .. } => level_of(features, row) as u8,
        }
    }

    /// The feature a split on this input is credited to.
    fn feature(&self) -> usize {
        match self {
            Input::Number { feature, .. } => *feature,
            Input::Levels { features, .. } => features[0],
        }
    }
}

/// The inputs of a dataset: a text column of 1 to 255 kept levels is one
/// input; every other feature is a number.
fn inputs(data: &Dataset, rows: &[usize], max_bins: usize) -> Vec<Input> {
    let mut grouped = vec![false; data.width()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    for column in &data.columns {
        if let Column::Text { levels: kept, .. } = column {
            let features: Vec<usize> = kept.iter().map(|(_, f)| *f).collect();
            if (1..=255).contains(&features.len()) && features.iter().all(|&f| f < data.width()) {
                for &f in &features {
                    grouped[f] = true;
                }
                levels.push(features);
            }
        }
    }
    let numbers: Vec<usize> = (0..data.width()).filter(|&f| !grouped[f]).collect();
    let mut out: Vec<Input> = numbers
        .into_par_iter()
        .map(|feature| {
            let mut values: Vec<f64> = rows.iter().map(|&i| data.row(i)[feature]).collect();
            Input::Number {
                feature,
                cuts: cut_points(&mut values, max_bins),
            }
        })
        .collect();
    out.extend(
        levels
            .into_iter()
            .enumerate()
            .map(|(column, features)| Input::Levels { features, column }),
    );
    out.sort_by_key(Input::feature);
    out
}

/// Per bin: sum of gradients and of hessians. Rows are not counted: as in
/// LightGBM, a side's rows are estimated from its hessians (the leaf's rows
/// per unit of hessian), which keeps a bin to 16 bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
}

impl Bin {
    fn add(&mut self, o: &Bin) {
        self.g += o.g;
        self.h += o.h;
    }

    fn sub(&mut self, o: &Bin) {
        self.g -= o.g;
        self.h -= o.h;
    }
}

/// A candidate side of a split: its sums and its estimated rows.
#[derive(Debug, Clone, Copy)]
struct Side {
    g: f64,
    h: f64,
    n: usize,
}

/// Which rows of a split go left.
#[derive(Debug, Clone)]
enum Rule {
    /// Bin codes up to this.
    UpTo(u8),
    /// The codes marked.
    Codes(Vec<bool>),
}

struct Split {
    gain: f64,
    input: usize,
    rule: Rule,
    /// The L2 penalty of the children's values (raised for many-against-many
    /// splits of levels, as LightGBM's `cat_l2`).
    child_l2: f64,
}

/// The best split found so far.
#[derive(Default)]
struct Best(Option<Split>);

impl Best {
    /// Keeps the split if it gains more; its rule is built only then.
    fn consider(&mut self, gain: f64, input: usize, rule: impl FnOnce() -> Rule, child_l2: f64) {
        if gain > self.0.as_ref().map_or(1e-12, |s| s.gain) {
            self.0 = Some(Split {
                gain,
                input,
                rule: rule(),
                child_l2,
            });
        }
    }
}

struct Leaf {
    node: usize,
    rows: Vec<u32>,
    hist: Vec<Bin>,
    total: Bin,
    /// The L2 penalty its value is computed with.
    l2: f64,
    split: Option<Split>,
}

struct Grower<'a> {
    params: &'a GbdtParams,
    /// Column-major bin codes: input j of training row i at `j * n + i`
    /// (a split reads one input of the leaf's rows, in row order).
    columns: &'a [u8],
    /// Training rows.
    n: usize,
    bins: &'a [usize],
    offsets: &'a [usize],
    /// Whether an input holds a text column's levels.
    levels: &'a [bool],
    total_bins: usize,
    /// The histogram's layout: dense inputs read from `dense_codes`,
    /// sparse ones (most rows in one bin) from their other bins only.
    layout: &'a Layout,
}

/// Which inputs a histogram reads row by row, and which through their
/// rare bins only (the usual bin's totals are the node's minus the rest,
/// as LightGBM does for sparse features): flags and skewed levels hold
/// most rows in one bin, and skipping it halves the work on a feature
/// store's columns.
struct Layout {
    /// Row-major codes of the dense inputs only.
    dense_codes: Vec<u8>,
    /// Histogram offsets of the dense inputs.
    dense_offsets: Vec<usize>,
    /// Per row, the histogram slots of its sparse inputs' rare bins.
    row_start: Vec<u32>,
    slots: Vec<u32>,
    /// (offset, bins, usual bin) of each sparse input.
    sparse: Vec<(usize, usize, usize)>,
}

impl Layout {
    /// An input is sparse when one bin holds at least this share of rows.
    const SPARSE_SHARE: f64 = 0.8;

    fn new(columns: &[u8], n: usize, bins: &[usize], offsets: &[usize]) -> Layout {
        let p = bins.len();
        let usual: Vec<(usize, usize)> = (0..p)
            .into_par_iter()
            .map(|f| {
                let mut count = vec![0usize; bins[f]];
                for &c in &columns[f * n..(f + 1) * n] {
                    count[c as usize] += 1;
                }
                count
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, c)| **c)
                    .map_or((0, 0), |(b, c)| (b, *c))
            })
            .collect();
        let is_sparse: Vec<bool> = usual
            .iter()
            .map(|(_, c)| *c as f64 >= Self::SPARSE_SHARE * n as f64)
            .collect();
        let dense: Vec<usize> = (0..p).filter(|f| !is_sparse[*f]).collect();
        let sparse: Vec<usize> = (0..p).filter(|f| is_sparse[*f]).collect();
        let mut dense_codes = vec![0u8; n * dense.len()];
        if !dense.is_empty() {
            dense_codes
                .par_chunks_mut(dense.len() * 1_024)
                .enumerate()
                .for_each(|(chunk, out)| {
                    for (k, row) in out.chunks_mut(dense.len()).enumerate() {
                        let r = chunk * 1_024 + k;
                        for (c, &f) in row.iter_mut().zip(&dense) {
                            *c = columns[f * n + r];
                        }
                    }
                });
        }
        let mut row_start = Vec::with_capacity(n + 1);
        let mut slots = Vec::new();
        for r in 0..n {
            row_start.push(slots.len() as u32);
            for &f in &sparse {
                let c = columns[f * n + r] as usize;
                if c != usual[f].0 {
                    slots.push((offsets[f] + c) as u32);
                }
            }
        }
        row_start.push(slots.len() as u32);
        Layout {
            dense_codes,
            dense_offsets: dense.iter().map(|&f| offsets[f]).collect(),
            row_start,
            slots,
            sparse: sparse
                .iter()
                .map(|&f| (offsets[f], bins[f], usual[f].0))
                .collect(),
        }
    }
}

impl Grower<'_> {
    /// Adds `rows` to `hist`; returns their totals.
    fn fill(&self, hist: &mut [Bin], rows: &[u32], gh: &[(f64, f64)]) -> Bin {
        let layout = self.layout;
        let d = layout.dense_offsets.len();
        let mut total = Bin::default();
        for &r in rows {
            let r = r as usize;
            let (g, h) = gh[r];
            let one = Bin { g, h };
            total.add(&one);
            let codes = &layout.dense_codes[r * d..(r + 1) * d];
            for (&c, &offset) in codes.iter().zip(&layout.dense_offsets) {
                hist[offset + c as usize].add(&one);
            }
            let slots =
                &layout.slots[layout.row_start[r] as usize..layout.row_start[r + 1] as usize];
            for &slot in slots {
                hist[slot as usize].add(&one);
            }
        }
        total
    }

    fn histogram(&self, rows: &[u32], gh: &[(f64, f64)]) -> (Vec<Bin>, Bin) {
        const CHUNK: usize = 2_048;
        let (mut hist, total) = if rows.len() < 2 * CHUNK {
            let mut hist = vec![Bin::default(); self.total_bins];
            let total = self.fill(&mut hist, rows, gh);
            (hist, total)
        } else {
            // Large leaves: one histogram per task of rayon's split (not per
            // chunk), then their sum.
            rows.par_chunks(CHUNK)
                .fold(
                    || (vec![Bin::default(); self.total_bins], Bin::default()),
                    |(mut hist, mut total), chunk| {
                        total.add(&self.fill(&mut hist, chunk, gh));
                        (hist, total)
                    },
                )
                .reduce_with(|(mut a, mut ta), (b, tb)| {
                    for (x, y) in a.iter_mut().zip(&b) {
                        x.add(y);
                    }
                    ta.add(&tb);
                    (a, ta)
                })
                .unwrap_or_else(|| (vec![Bin::default(); self.total_bins], Bin::default()))
        };
        // A sparse input's usual bin: the rows' totals less its other bins.
        for &(offset, bins, usual) in &self.layout.sparse {
            let mut rest = Bin::default();
            for (k, b) in hist[offset..offset + bins].iter().enumerate() {
                if k != usual {
                    rest.add(b);
                }
            }
            let mut bin = total;
            bin.sub(&rest);
            hist[offset + usual] = bin;
        }
        (hist, total)
    }

    fn score(g: f64, h: f64, l2: f64) -> f64 {
        g * g / (h + l2)
    }

    /// Whether a side may be a leaf.
    fn enough(&self, side: &Side) -> bool {
        side.n >= self.params.min_leaf_rows && side.h >= self.params.min_leaf_hessian
    }

    fn best_split(&self, hist: &[Bin], total: &Bin, rows: usize) -> Option<Split> {
        let p = self.params;
        let parent = Self::score(total.g, total.h, p.lambda);
        let per_hessian = rows as f64 / total.h.max(1e-300);
        // The two sides of a cut with `left` on the left.
        let sides = |left: &Bin| {
            let n = ((left.h * per_hessian).round() as usize).min(rows);
            (
                Side {
                    g: left.g,
                    h: left.h,
                    n,
                },
                Side {
                    g: total.g - left.g,
                    h: total.h - left.h,
                    n: rows - n,
                },
            )
        };
        let mut best = Best::default();
        for (j, (&bins, &offset)) in self.bins.iter().zip(self.offsets).enumerate() {
            let hist = &hist[offset..offset + bins];
            if !self.levels[j] {
                let mut sum = Bin::default();
                for (b, bin) in hist[..bins.saturating_sub(1)].iter().enumerate() {
                    sum.add(bin);
                    let (left, right) = sides(&sum);
                    if !self.enough(&left) {
                        continue;
                    }
                    if !self.enough(&right) {
                        break;
                    }
                    let gain = Self::score(left.g, left.h, p.lambda)
                        + Self::score(right.g, right.h, p.lambda)
                        - parent;
                    best.consider(gain, j, || Rule::UpTo(b as u8), p.lambda);
                }
            } else if bins <= p.max_cat_to_onehot {
                // One level against the rest.
                for (b, bin) in hist.iter().enumerate() {
                    let (left, right) = sides(bin);
                    if !self.enough(&left) || !self.enough(&right) {
                        continue;
                    }
                    let gain = Self::score(left.g, left.h, p.lambda)
                        + Self::score(right.g, right.h, p.lambda)
                        - parent;
                    best.consider(
                        gain,
                        j,
                        || {
                            let mut codes = vec![false; bins];
                            codes[b] = true;
                            Rule::Codes(codes)
                        },
                        p.lambda,
                    );
                }
            } else {
                self.many_against_many(j, hist, &sides, parent, &mut best);
            }
        }
        best.0
    }

    /// LightGBM's split of many levels: the levels with enough rows, in
    /// order of their smoothed gradient ratio, cut between groups of at
    /// least `min_data_per_group` rows, from either end, with at most
    /// `max_cat_threshold` levels on the side taken; levels with too few
    /// rows go right.
    fn many_against_many(
        &self,
        input: usize,
        hist: &[Bin],
        sides: &dyn Fn(&Bin) -> (Side, Side),
        parent: f64,
        best: &mut Best,
    ) {
        let p = self.params;
        let rows = |b: &Bin| sides(b).0.n;
        let mut order: Vec<usize> = (0..hist.len())
            .filter(|&b| rows(&hist[b]) as f64 >= p.cat_smooth)
            .collect();
        let ratio = |b: usize| hist[b].g / (hist[b].h + p.cat_smooth);
        order.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)));
        let used = order.len();
        let most = p.max_cat_threshold.min(used.div_ceil(2).max(1));
        let l2 = p.lambda + p.cat_l2;
        for reverse in [false, true] {
            let mut sum = Bin::default();
            let mut group = 0usize;
            for i in 0..used.min(most) {
                let b = if reverse {
                    order[used - 1 - i]
                } else {
                    order[i]
                };
                sum.add(&hist[b]);
                group += rows(&hist[b]);
                let (left, right) = sides(&sum);
                if !self.enough(&left) {
                    continue;
                }
                if right.n < p.min_leaf_rows.max(p.min_data_per_group)
                    || right.h < p.min_leaf_hessian
                {
                    break;
                }
                if group < p.min_data_per_group {
                    continue;
                }
                group = 0;
                let gain =
                    Self::score(left.g, left.h, l2) + Self::score(right.g, right.h, l2) - parent;
                let taken = if reverse {
                    &order[used - 1 - i..]
                } else {
                    &order[..=i]
                };
                best.consider(
                    gain,
                    input,
                    || {
                        let mut codes = vec![false; hist.len()];
                        for &t in taken {
                            codes[t] = true;
                        }
                        Rule::Codes(codes)
                    },
                    l2,
                );
            }
        }
    }

    fn leaf(&self, node: usize, rows: Vec<u32>, hist: Vec<Bin>, total: Bin, l2: f64) -> Leaf {
        let split = self.best_split(&hist, &total, rows.len());
        Leaf {
            node,
            rows,
            hist,
            total,
            l2,
            split,
        }
    }

    fn value(&self, b: &Bin, l2: f64) -> f64 {
        -b.g / (b.h + l2) * self.params.learning_rate
    }

    /// Grows one tree on the gradients; returns it (thresholds as bin
    /// codes) and each training row's leaf value.
    fn grow(&self, gh: &[(f64, f64)], gain: &mut [f64], inputs: &[Input]) -> (Tree, Vec<f64>) {
        let mut nodes = vec![Node::Leaf(0.0)];
        let all: Vec<u32> = (0..self.n as u32).collect();
        let (hist, total) = self.histogram(&all, gh);
        let mut leaves = vec![self.leaf(0, all, hist, total, self.params.lambda)];
        while leaves.len() < self.params.max_leaves {
            let Some(pick) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.split.as_ref().map(|s| (i, s.gain)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
            else {
                break;
            };
            let parent = leaves.swap_remove(pick);
            let Some(split) = parent.split else { break };
            gain[inputs[split.input].feature()] += split.gain;
            let column = &self.columns[split.input * self.n..(split.input + 1) * self.n];
            let table: Vec<bool> = match &split.rule {
                Rule::UpTo(b) => (0..self.bins[split.input])
                    .map(|c| c <= *b as usize)
                    .collect(),
                Rule::Codes(codes) => codes.clone(),
            };
            // Without a branch per row (the direction is a coin toss for
            // the predictor): every row is written to both sides and only
            // the side it belongs to moves on.
            let mut left_rows = vec![0u32; parent.rows.len() + 1];
            let mut right_rows = vec![0u32; parent.rows.len() + 1];
            let (mut nl, mut nr) = (0, 0);
            for &r in &parent.rows {
                let left = table[column[r as usize] as usize];
                left_rows[nl] = r;
                right_rows[nr] = r;
                nl += usize::from(left);
                nr += usize::from(!left);
            }
            left_rows.truncate(nl);
            right_rows.truncate(nr);
            let (left, right) = (nodes.len(), nodes.len() + 1);
            nodes.push(Node::Leaf(0.0));
            nodes.push(Node::Leaf(0.0));
            let value = self.value(&parent.total, parent.l2);
            nodes[parent.node] = match (&inputs[split.input], &split.rule) {
                (Input::Levels { column, .. }, Rule::Codes(codes)) => Node::Levels {
                    column: *column,
                    goes_left: codes.clone(),
                    value,
                    left,
                    right,
                },
                (Input::Number { feature, .. }, Rule::UpTo(bin)) => Node::Split {
                    feature: *feature,
                    threshold: 0.0,
                    bin: *bin,
                    value,
                    left,
                    right,
                },
                // A rule of the other kind of input is never proposed.
                _ => Node::Leaf(value),
            };
            // Build the smaller child's histogram; the larger is the rest.
            let left_smaller = left_rows.len() <= right_rows.len();
            let small = if left_smaller {
                &left_rows
            } else {
                &right_rows
            };
            let (small_hist, small_total) = self.histogram(small, gh);
            let mut large_hist = parent.hist;
            for (l, s) in large_hist.iter_mut().zip(&small_hist) {
                l.sub(s);
            }
            let mut large_total = parent.total;
            large_total.sub(&small_total);
            let ((lh, lt), (rh, rt)) = if left_smaller {
                ((small_hist, small_total), (large_hist, large_total))
            } else {
                ((large_hist, large_total), (small_hist, small_total))
            };
            // The two children's split searches are independent: side by side.
            let (l, r) = rayon::join(
                || self.leaf(left, left_rows, lh, lt, split.child_l2),
                || self.leaf(right, right_rows, rh, rt, split.child_l2),
            );
            leaves.push(l);
            leaves.push(r);
        }
        let mut values = vec![0.0; self.n];
        for l in leaves {
            let v = self.value(&l.total, l.l2);
            nodes[l.node] = Node::Leaf(v);
            for r in l.rows {
                values[r as usize] = v;
            }
        }
        (Tree { nodes }, values)
    }
}

/// Rows held out of training to choose how many trees to keep: after each
/// tree their log loss is measured, and growing stops when it has not
/// improved for `patience` trees (LightGBM's `early_stopping_round`); the
/// trees up to the best are kept.
#[derive(Debug, Clone, Copy)]
pub struct EarlyStopping<'a> {
    /// Encoded like the training rows (the same encoder).
    pub data: &'a Dataset,
    /// The validation rows of `data`.
    pub rows: &'a [usize],
    /// Trees without improvement before growing stops.
    pub patience: usize,
}

/// How early stopping went.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stopped {
    /// Trees kept (the best validation loss).
    pub kept: usize,
    /// Trees grown before stopping.
    pub grown: usize,
    /// The validation log loss of the trees kept.
    pub loss: f64,
}

/// Mean log loss of log-odds `scores` against `labels`.
pub(crate) fn log_loss(scores: &[f64], labels: impl Iterator<Item = bool>) -> f64 {
    let (mut total, mut n) = (0.0, 0usize);
    for (z, y) in scores.iter().zip(labels) {
        // log(1 + e^-z) for a positive, log(1 + e^z) for a negative, stably.
        let m = if y { -z } else { *z };
        total += m.max(0.0) + (-m.abs()).exp().ln_1p();
        n += 1;
    }
    if n == 0 { 0.0 } else { total / n as f64 }
}

impl Gbdt {
    /// Fits on `rows` of `data`.
    pub fn fit(data: &Dataset, rows: &[usize], params: &GbdtParams) -> Result<Gbdt, ModelError> {
        Ok(Gbdt::fit_stopping(data, rows, params, None)?.0)
    }

    /// Fits on `rows` of `data`, up to `params.trees` trees, stopping early
    /// on the validation rows when given.
    pub fn fit_stopping(
        data: &Dataset,
        rows: &[usize],
        params: &GbdtParams,
        stopping: Option<EarlyStopping<'_>>,
    ) -> Result<(Gbdt, Option<Stopped>), ModelError> {
        let n = rows.len();
        if n == 0 || n > u32::MAX as usize {
            return Err(ModelError::Input(format!("{n} training rows")));
        }
        if let Some(v) = &stopping {
            if v.rows.is_empty() || v.data.width() != data.width() {
                return Err(ModelError::Input(format!(
                    "validation: {} rows of {} features for a model of {}",
                    v.rows.len(),
                    v.data.width(),
                    data.width()
                )));
            }
        }
        let max_bins = params.max_bins.clamp(2, 256);
        let p = data.width();
        let inputs = inputs(data, rows, max_bins);
        // Column-major codes of the training rows.
        let mut columns = vec![0u8; inputs.len() * n];
        columns
            .par_chunks_mut(n)
            .zip(&inputs)
            .for_each(|(out, input)| {
                for (c, &i) in out.iter_mut().zip(rows) {
                    *c = input.code(data.row(i));
                }
            });
        let bins: Vec<usize> = inputs.iter().map(Input::bins).collect();
        let offsets: Vec<usize> = bins
            .iter()
            .scan(0, |acc, b| {
                let o = *acc;
                *acc += b;
                Some(o)
            })
            .collect();
        let levels: Vec<bool> = inputs
            .iter()
            .map(|i| matches!(i, Input::Levels { .. }))
            .collect();
        let layout = Layout::new(&columns, n, &bins, &offsets);
        let grower = Grower {
            params,
            columns: &columns,
            n,
            bins: &bins,
            offsets: &offsets,
            levels: &levels,
            total_bins: bins.iter().sum(),
            layout: &layout,
        };
        let mut text_columns: Vec<Vec<usize>> = Vec::new();
        for input in &inputs {
            if let Input::Levels { features, column } = input {
                text_columns.resize(text_columns.len().max(column + 1), Vec::new());
                text_columns[*column] = features.clone();
            }
        }
        let y: Vec<f64> = rows
            .iter()
            .map(|&i| if data.y[i] { 1.0 } else { 0.0 })
            .collect();
        let rate = (y.iter().sum::<f64>() / n as f64).clamp(1e-12, 1.0 - 1e-12);
        let base = (rate / (1.0 - rate)).ln();
        let mut score = vec![base; n];
        let mut gh = vec![(0.0, 0.0); n];
        let mut trees = Vec::with_capacity(params.trees);
        let mut gain = vec![0.0; p];
        // The validation rows' text levels (read once) and running log-odds.
        let valid_levels: Vec<Vec<u8>> = stopping.as_ref().map_or_else(Vec::new, |v| {
            v.rows
                .par_iter()
                .map(|&i| {
                    text_columns
                        .iter()
                        .map(|features| level_of(features, v.data.row(i)) as u8)
                        .collect()
                })
                .collect()
        });
        let mut valid_score = vec![base; valid_levels.len()];
        let mut best: Option<(usize, f64, Vec<f64>)> = None;
        for _ in 0..params.trees {
            gh.par_iter_mut()
                .with_min_len(4_096)
                .zip(score.par_iter().zip(&y))
                .for_each(|(gh, (s, y))| {
                    let prob = 1.0 / (1.0 + (-s).exp());
                    *gh = (prob - y, (prob * (1.0 - prob)).max(1e-16));
                });
            let (mut tree, values) = grower.grow(&gh, &mut gain, &inputs);
            for (s, v) in score.iter_mut().zip(&values) {
                *s += v;
            }
            // Thresholds as values, so the tree scores raw rows.
            for node in &mut tree.nodes {
                if let Node::Split {
                    feature,
                    threshold,
                    bin,
                    ..
                } = node
                {
                    let cuts = inputs.iter().find_map(|i| match i {
                        Input::Number { feature: f, cuts } if f == feature => Some(cuts),
                        _ => None,
                    });
                    if let Some(cuts) = cuts {
                        *threshold = cuts[*bin as usize];
                    }
                }
            }
            if let Some(v) = &stopping {
                valid_score
                    .par_iter_mut()
                    .with_min_len(4_096)
                    .zip(v.rows.par_iter().zip(&valid_levels))
                    .for_each(|(s, (&i, levels))| *s += tree.value(v.data.row(i), levels));
                trees.push(tree);
                let loss = log_loss(&valid_score, v.rows.iter().map(|&i| v.data.y[i]));
                if best.as_ref().is_none_or(|(_, b, _)| loss < *b) {
                    best = Some((trees.len(), loss, gain.clone()));
                } else if best
                    .as_ref()
                    .is_some_and(|(kept, _, _)| trees.len() - kept >= v.patience.max(1))
                {
                    break;
                }
            } else {
                trees.push(tree);
            }
        }
        let stopped = best.map(|(kept, loss, kept_gain)| {
            let grown = trees.len();
            trees.truncate(kept);
            gain = kept_gain;
            Stopped { kept, grown, loss }
        });
        Ok((
            Gbdt {
                base,
                trees,
                gain,
                columns: text_columns,
            },
            stopped,
        ))
    }

    /// Each column's share of the split gain, largest first: a number (and
    /// its missing indicator, a feature of its own) by feature name, a text
    /// column by its name with its levels' gains together.
    pub fn importance(&self, data: &Dataset) -> Vec<(String, f64)> {
        let total: f64 = self.gain.iter().sum();
        let share = |g: f64| if total > 0.0 { g / total } else { 0.0 };
        let mut out: Vec<(String, f64)> = data
            .columns
            .iter()
            .map(|c| match c {
                Column::Numeric { feature } => (
                    data.names.get(*feature).cloned().unwrap_or_default(),
                    share(self.gain.get(*feature).copied().unwrap_or(0.0)),
                ),
                Column::Text { name, levels, .. } => (
                    name.clone(),
                    share(
                        levels
                            .iter()
                            .map(|(_, f)| self.gain.get(*f).copied().unwrap_or(0.0))
                            .sum(),
                    ),
                ),
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// Each feature's contribution to the log-odds of `row`; the rest
    /// (base rate and the trees' root values) is returned beside them.
    pub fn contributions(&self, row: &[f64]) -> (Vec<f64>, f64) {
        let levels = self.levels(row);
        let mut out = vec![0.0; row.len()];
        let mut bias = self.base;
        for t in &self.trees {
            bias += t.explain(row, &levels, &self.columns, &mut out);
        }
        (out, bias)
    }

    /// The level of each text column in `row`, read once for all trees.
    fn levels(&self, row: &[f64]) -> Vec<u8> {
        self.columns
            .iter()
            .map(|features| level_of(features, row) as u8)
            .collect()
    }

    /// The probability of the positive class for one row of features.
    pub fn probability(&self, row: &[f64]) -> f64 {
        let levels = self.levels(row);
        let z = self.base
            + self
                .trees
                .iter()
                .map(|t| t.value(row, &levels))
                .sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_points_and_codes_agree() {
        let mut few = vec![3.0, 1.0, 2.0, 2.0, 1.0];
        let cuts = cut_points(&mut few, 255);
        assert_eq!(cuts, [1.5, 2.5]);
        assert_eq!(
            [code(&cuts, 1.0), code(&cuts, 2.0), code(&cuts, 3.0)],
            [0, 1, 2]
        );
        assert_eq!(code(&cuts, 1.5), 0, "a value at a cut goes left");
        let mut many: Vec<f64> = (0..10_000).map(f64::from).collect();
        let cuts = cut_points(&mut many, 255);
        assert!(cuts.len() <= 254 && cuts.len() > 250, "{}", cuts.len());
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
    }

    fn xor_data(n: usize) -> Dataset {
        // y = (a > 0) xor (b > 0): no linear model separates it; trees do.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = ((i * 7919) % 1000) as f64 / 500.0 - 1.0;
            let b = ((i * 104_729) % 997) as f64 / 498.5 - 1.0;
            let c = ((i * 31) % 101) as f64;
            x.extend([a, b, c]);
            y.push((a > 0.0) != (b > 0.0));
        }
        Dataset::numeric(vec!["a".into(), "b".into(), "noise".into()], x, y)
    }

    #[test]
    fn boosting_learns_an_interaction() {
        let data = xor_data(4_000);
        let rows: Vec<usize> = (0..3_000).collect();
        let m = Gbdt::fit(&data, &rows, &GbdtParams::default()).unwrap_or_else(|e| panic!("{e}"));
        let test: Vec<usize> = (3_000..4_000).collect();
        let scores: Vec<f64> = test.iter().map(|&i| m.probability(data.row(i))).collect();
        let labels: Vec<bool> = test.iter().map(|&i| data.y[i]).collect();
        let auc = crate::metrics::auc(&scores, &labels).unwrap_or(0.0);
        assert!(auc > 0.98, "{auc}");
        assert!(m.gain[2] < 0.1 * (m.gain[0] + m.gain[1]), "{:?}", m.gain);
        assert_eq!(m.trees.len(), 100);
        // Training rows scored through value thresholds land where the
        // codes put them: the fitted probabilities separate the classes.
        let train_auc = crate::metrics::auc(
            &rows
                .iter()
                .map(|&i| m.probability(data.row(i)))
                .collect::<Vec<_>>(),
            &rows.iter().map(|&i| data.y[i]).collect::<Vec<_>>(),
        )
        .unwrap_or(0.0);
        assert!(train_auc > auc - 0.02, "{train_auc} {auc}");
    }

    /// Pure noise: whatever the trees learn past the first few only fits
    /// the training rows, so the validation loss stops improving early.
    fn noise_data(n: usize) -> Dataset {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n as u64 {
            let h = |k: u64| (i.wrapping_mul(k).wrapping_add(12_345) % 10_007) as f64 / 10_007.0;
            x.extend([h(2_654_435_761), h(40_503), h(97_729)]);
            y.push(h(69_069) < 0.3);
        }
        Dataset::numeric(vec!["a".into(), "b".into(), "c".into()], x, y)
    }

    #[test]
    fn early_stopping_keeps_the_trees_up_to_the_best_validation_loss() {
        let data = xor_data(4_000);
        let rows: Vec<usize> = (0..2_000).collect();
        let valid: Vec<usize> = (2_000..3_000).collect();
        let stopping = EarlyStopping {
            data: &data,
            rows: &valid,
            patience: 10,
        };
        let params = GbdtParams::default();
        let (m, stopped) = Gbdt::fit_stopping(&data, &rows, &params, Some(stopping))
            .unwrap_or_else(|e| panic!("{e}"));
        let stopped = stopped.unwrap_or_else(|| panic!("validation rows were given"));
        assert_eq!(m.trees.len(), stopped.kept);
        assert!(stopped.kept <= stopped.grown && stopped.grown <= 100);
        // The kept trees' validation loss is the reported one, and no
        // shorter or longer prefix of the same trees does better.
        let loss_of = |trees: usize| {
            let mut partial = m.clone();
            partial.trees.truncate(trees);
            let z: Vec<f64> = valid
                .iter()
                .map(|&i| {
                    let p = partial.probability(data.row(i));
                    (p / (1.0 - p)).ln()
                })
                .collect();
            log_loss(&z, valid.iter().map(|&i| data.y[i]))
        };
        assert!((loss_of(stopped.kept) - stopped.loss).abs() < 1e-9);
        assert!(loss_of(stopped.kept / 2) > stopped.loss);
        // Without stopping the same fit grows every tree.
        assert_eq!(
            Gbdt::fit(&data, &rows, &params).map(|m| m.trees.len()).ok(),
            Some(100)
        );

        // On noise, growing stops well before 100 trees.
        let noise = noise_data(4_000);
        let (m, stopped) = Gbdt::fit_stopping(
            &noise,
            &rows,
            &params,
            Some(EarlyStopping {
                data: &noise,
                rows: &valid,
                patience: 10,
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let stopped = stopped.unwrap_or_else(|| panic!("validation rows were given"));
        assert!(stopped.grown < 60, "{stopped:?}");
        assert_eq!(stopped.grown - stopped.kept, 10);
        assert_eq!(m.trees.len(), stopped.kept);
        // Validation rows of another width are refused.
        let other = Dataset::numeric(vec!["a".into()], vec![0.0], vec![true]);
        let refused = Gbdt::fit_stopping(
            &data,
            &rows,
            &params,
            Some(EarlyStopping {
                data: &other,
                rows: &[0],
                patience: 10,
            }),
        );
        assert!(refused.is_err());
    }

    #[test]
    fn log_loss_is_stable_for_large_log_odds() {
        let z = [0.0, 800.0, -800.0];
        let loss = log_loss(&z, [true, true, false].into_iter());
        assert!(
            (loss - std::f64::consts::LN_2 / 3.0).abs() < 1e-12,
            "{loss}"
        );
        let wrong = log_loss(&[800.0], [false].into_iter());
        assert!((wrong - 800.0).abs() < 1e-9, "{wrong}");
    }

    /// A text column of eight levels whose take-up rates are in no order of
    /// the levels (LightGBM's many-against-many case), a number that adds to
    /// the rate, and a two-level flag that does nothing.
    fn levels_data(n: usize) -> Dataset {
        let rates = [0.05, 0.6, 0.1, 0.55, 0.08, 0.5, 0.12, 0.45];
        let mut text = String::from("city,balance,vip,y\n");
        for i in 0..n {
            let level = (i * 7 + i / 13) % 8;
            let balance = (i * 37) % 1000;
            let vip = if i % 5 == 0 { "yes" } else { "no" };
            // A deterministic draw at the level's rate.
            let u = ((i as u64).wrapping_mul(2_654_435_761) % 10_000) as f64 / 10_000.0;
            let y = u < rates[level] + if balance > 800 { 0.2 } else { 0.0 };
            text.push_str(&format!("c{level},{balance},{vip},{}\n", u8::from(y)));
        }
        let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(file.path(), text).unwrap_or_else(|e| panic!("{e}"));
        let spec = crate::data::CsvSpec {
            separator: b',',
            target: "y",
            positive: None,
            drop: &[],
        };
        crate::data::read_csv(file.path(), &spec).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_text_column_splits_by_its_levels() {
        let data = levels_data(6_000);
        let rows: Vec<usize> = (0..4_000).collect();
        let m = Gbdt::fit(&data, &rows, &GbdtParams::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.columns.len(), 2, "city and vip are text columns");
        let root = &m.trees[0].nodes[0];
        let Node::Levels { goes_left, .. } = root else {
            panic!("the first split is on the city's levels: {root:?}");
        };
        // The high-rate levels (1, 3, 5, 7) go one way, the low ones the other.
        let levels = |l: usize| match data.columns.iter().find_map(|c| match c {
            Column::Text {
                name,
                levels,
                baseline,
                ..
            } if name == "city" => Some((levels.clone(), baseline.clone())),
            _ => None,
        }) {
            Some((levels, baseline)) => {
                if baseline == format!("c{l}") {
                    0
                } else {
                    levels
                        .iter()
                        .position(|(name, _)| name == &format!("c{l}"))
                        .map_or(0, |k| k + 1)
                }
            }
            None => panic!("no city column"),
        };
        let side = |l: usize| goes_left[levels(l)];
        assert!(
            [1, 3, 5, 7].iter().all(|&l| side(l) == side(1))
                && [0, 2, 4, 6].iter().all(|&l| side(l) != side(1)),
            "{goes_left:?}"
        );
        let test: Vec<usize> = (4_000..6_000).collect();
        let scores: Vec<f64> = test.iter().map(|&i| m.probability(data.row(i))).collect();
        let labels: Vec<bool> = test.iter().map(|&i| data.y[i]).collect();
        let auc = crate::metrics::auc(&scores, &labels).unwrap_or(0.0);
        // Against the rates the labels were drawn at.
        let truth: Vec<f64> = test
            .iter()
            .map(|&i| {
                let rates = [0.05, 0.6, 0.1, 0.55, 0.08, 0.5, 0.12, 0.45];
                rates[(i * 7 + i / 13) % 8] + if (i * 37) % 1000 > 800 { 0.2 } else { 0.0 }
            })
            .collect();
        let best = crate::metrics::auc(&truth, &labels).unwrap_or(1.0);
        // 3,100 leaves on 4,000 rows overfit: LightGBM 4.7 with its
        // defaults scores 0.7502 on these rows against the truth's 0.8202;
        // trees that missed the levels would score about 0.58.
        assert!(auc > 0.9 * best, "{auc} against the truth's {best}");
        // Contributions still add up to the log-odds with level splits.
        for &i in &test[..50] {
            let (c, bias) = m.contributions(data.row(i));
            let p = 1.0 / (1.0 + (-(bias + c.iter().sum::<f64>())).exp());
            assert!((p - m.probability(data.row(i))).abs() < 1e-9);
        }
        // The artefact round-trips; one written before level splits
        // (without `columns`) still reads.
        let json = serde_json::to_string(&m).unwrap_or_default();
        let back: Gbdt = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.probability(data.row(4_001)),
            m.probability(data.row(4_001))
        );
        let old = r#"{"base":0.5,"trees":[{"nodes":[{"Leaf":0.25}]}],"gain":[0.0]}"#;
        let old: Gbdt = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert!((old.probability(&[1.0]) - 1.0 / (1.0 + (-0.75f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn leaves_respect_the_minimum_rows() {
        let data = xor_data(200);
        let rows: Vec<usize> = (0..200).collect();
        let params = GbdtParams {
            trees: 3,
            min_leaf_rows: 60,
            ..GbdtParams::default()
        };
        let m = Gbdt::fit(&data, &rows, &params).unwrap_or_else(|e| panic!("{e}"));
        for t in &m.trees {
            let leaves = t
                .nodes
                .iter()
                .filter(|n| matches!(n, Node::Leaf(_)))
                .count();
            assert!(leaves <= 200 / 60, "{leaves}");
        }
    }
}
