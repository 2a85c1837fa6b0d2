//! Stratified k-fold cross-validation of a learner on a dataset.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use crate::ModelError;
use crate::chaid::{Chaid, ChaidParams};
use crate::data::Dataset;
use crate::gbdt::{Gbdt, GbdtParams};
use crate::logistic::Logistic;
use crate::metrics::auc;

/// The learners `panorama model cv` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learner {
    /// L2-regularised logistic regression (C = 1) on standardised features.
    Logistic,
    /// Gradient-boosted trees with LightGBM's defaults.
    Gbdt,
    /// A CHAID tree (scores: the leaf's positive rate).
    Chaid,
}

/// One fold's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fold {
    /// Rows trained on.
    pub train_rows: usize,
    /// Rows scored.
    pub test_rows: usize,
    /// AUC on the held-out rows.
    pub auc: f64,
    /// Seconds to train (side by side with the other folds).
    pub train_seconds: f64,
    /// Optimiser iterations (or trees).
    pub iterations: u64,
}

/// Splits rows into `k` folds, each with the class balance of the whole
/// (positives and negatives shuffled apart with `seed`, then dealt in turn).
pub fn stratified_folds(labels: &[bool], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let k = k.max(1);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for class in [true, false] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rows.shuffle(&mut rng);
        for i in rows {
            folds[next % k].push(i);
            next += 1;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

/// At most `max` of the rows, each outcome kept at the same share (so the
/// sample's positive rate is the population's, to rounding, and a model
/// learnt on it stays calibrated), chosen with `seed`; in row order. An
/// outcome present in the population keeps at least one row. All rows when
/// there are no more than `max`.
pub fn stratified_sample(labels: &[bool], max: usize, seed: u64) -> Vec<usize> {
    let n = labels.len();
    if n <= max {
        return (0..n).collect();
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let mut keep = Vec::with_capacity(max);
    for class in [true, false] {
        let rows: Vec<usize> = (0..n).filter(|&i| labels[i] == class).collect();
        if rows.is_empty() {
            continue;
        }
        // The class's share of `max`, rounded half up, in integers.
        let share = (rows.len() as u128 * max as u128 * 2 + n as u128) / (2 * n as u128);
        let want = usize::try_from(share)
            .unwrap_or(rows.len())
            .clamp(1, rows.len());
        keep.extend(
            rand::seq::index::sample(&mut rng, rows.len(), want)
                .into_iter()
                .map(|k| rows[k]),
        );
    }
    keep.sort_unstable();
    keep
}

/// The folds and every row's out-of-fold score.
#[derive(Debug, Clone)]
pub struct CrossValidation {
    /// Per fold.
    pub folds: Vec<Fold>,
    /// Each row's score from the model that did not see it.
    pub scores: Vec<f64>,
    /// Wall-clock seconds from the first fold's start to the last fold's
    /// end (folds are trained side by side).
    pub seconds: f64,
}

/// Trains on all folds but one and scores that one, for each fold. The
/// folds are independent, so they train side by side on rayon's pool (a
/// learner's own parallel steps take whatever threads are idle, so the
/// last fold is not left on one core).
pub fn cross_validate(
    data: &Dataset,
    learner: Learner,
    k: usize,
    seed: u64,
) -> Result<CrossValidation, ModelError> {
    if k < 2 || k > data.rows() {
        return Err(ModelError::Input(format!(
            "{k} folds for {} rows: need 2 ≤ folds ≤ rows",
            data.rows()
        )));
    }
    let folds = stratified_folds(&data.y, k, seed);
    let started = std::time::Instant::now();
    let results: Vec<(Fold, Vec<f64>)> = (0..k)
        .into_par_iter()
        .map(|f| fold(data, learner, &folds, f))
        .collect::<Result<_, _>>()?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = Vec::with_capacity(k);
    let mut all_scores = vec![0.0; data.rows()];
    for ((result, scores), test) in results.into_iter().zip(&folds) {
        for (&i, s) in test.iter().zip(&scores) {
            all_scores[i] = *s;
        }
        out.push(result);
    }
    Ok(CrossValidation {
        folds: out,
        scores: all_scores,
        seconds,
    })
}

/// A fitted learner's probability of a row.
type Scorer = Box<dyn Fn(&[f64]) -> f64 + Sync>;

/// Trains on every fold but `f` and scores fold `f`.
fn fold(
    data: &Dataset,
    learner: Learner,
    folds: &[Vec<usize>],
    f: usize,
) -> Result<(Fold, Vec<f64>), ModelError> {
    let test = &folds[f];
    let train: Vec<usize> = folds
        .iter()
        .enumerate()
        .filter(|(g, _)| *g != f)
        .flat_map(|(_, rows)| rows.iter().copied())
        .collect();
    // Timed: the fit alone, as the references time theirs.
    let started = std::time::Instant::now();
    let (model, iterations): (Scorer, u64) = match learner {
        Learner::Logistic => {
            let m = Logistic::fit(data, &train, 1.0)?;
            let iterations = m.iterations;
            (Box::new(move |row| m.probability(row)), iterations)
        }
        Learner::Gbdt => {
            let m = Gbdt::fit(data, &train, &GbdtParams::default())?;
            let iterations = m.trees.len() as u64;
            (Box::new(move |row| m.probability(row)), iterations)
        }
        Learner::Chaid => {
            let m = Chaid::fit(data, &train, &ChaidParams::default())?;
            let iterations = m.nodes.len() as u64;
            (Box::new(move |row| m.probability(row)), iterations)
        }
    };
    let train_seconds = started.elapsed().as_secs_f64();
    let scores: Vec<f64> = test.iter().map(|&i| model(data.row(i))).collect();
    let labels: Vec<bool> = test.iter().map(|&i| data.y[i]).collect();
    let auc = auc(&scores, &labels)
        .ok_or_else(|| ModelError::Input(format!("fold {} holds one class only", f + 1)))?;
    Ok((
        Fold {
            train_rows: train.len(),
            test_rows: test.len(),
            auc,
            train_seconds,
            iterations,
        },
        scores,
    ))
}

/// What drives a learner's predictions, fitted on every row: per feature,
/// a signed weight (logistic: the coefficient on the standardised feature),
/// or per column a share of the split gain (trees), largest first.
pub fn importance(data: &Dataset, learner: Learner) -> Result<Vec<(String, f64)>, ModelError> {
    let rows: Vec<usize> = (0..data.rows()).collect();
    let weights = match learner {
        Learner::Logistic => Logistic::fit(data, &rows, 1.0)?.coefficients,
        Learner::Chaid => {
            return Err(ModelError::Input(
                "a CHAID tree is read as a tree, not as feature weights".into(),
            ));
        }
        Learner::Gbdt => {
            return Ok(Gbdt::fit(data, &rows, &GbdtParams::default())?.importance(data));
        }
    };
    let mut out: Vec<(String, f64)> = data.names.iter().cloned().zip(weights).collect();
    out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cover_every_row_once_and_keep_the_balance() {
        let labels: Vec<bool> = (0..103).map(|i| i % 10 == 0).collect();
        let folds = stratified_folds(&labels, 5, 1);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        for f in &folds {
            let positives = f.iter().filter(|&&i| labels[i]).count();
            assert!((2..=3).contains(&positives), "{positives}");
        }
        assert_eq!(folds, stratified_folds(&labels, 5, 1));
    }

    #[test]
    fn a_sample_keeps_each_outcomes_share_and_at_least_one_of_each() {
        let labels: Vec<bool> = (0..10_000).map(|i| i % 50 == 0).collect();
        let kept = stratified_sample(&labels, 1_000, 7);
        assert_eq!(kept.len(), 1_000);
        assert!(
            kept.windows(2).all(|w| w[0] < w[1]),
            "in row order, once each"
        );
        assert_eq!(kept.iter().filter(|&&i| labels[i]).count(), 20);
        assert_eq!(kept, stratified_sample(&labels, 1_000, 7));
        assert_ne!(kept, stratified_sample(&labels, 1_000, 8));
        // A rare outcome rounded to nothing keeps one row.
        let rare: Vec<bool> = (0..10_000).map(|i| i == 77).collect();
        assert!(stratified_sample(&rare, 100, 1).contains(&77));
        // No more rows than the cap: all of them.
        assert_eq!(
            stratified_sample(&labels[..10], 10, 1),
            (0..10).collect::<Vec<_>>()
        );
    }

    #[test]
    fn logistic_learns_a_separable_signal() {
        // y = 1 when x0 + noise > 0; x1 is noise.
        let n = 2_000;
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let a = ((i * 7919) % 1000) as f64 / 500.0 - 1.0;
            let b = ((i * 104_729) % 997) as f64 / 498.5 - 1.0;
            x.extend([a * 3.0 + 10.0, b]);
            y.push(a + 0.2 * b > 0.0);
        }
        let data = Dataset::numeric(vec!["signal".into(), "noise".into()], x, y);
        let cv = cross_validate(&data, Learner::Logistic, 5, 3).unwrap_or_else(|e| panic!("{e}"));
        let mean = cv.folds.iter().map(|f| f.auc).sum::<f64>() / 5.0;
        let pooled = crate::metrics::auc(&cv.scores, &data.y).unwrap_or(0.0);
        assert!((pooled - mean).abs() < 0.02, "{pooled} {mean}");
        assert!(mean > 0.98, "{mean}");
        let m = Logistic::fit(&data, &(0..n).collect::<Vec<_>>(), 1.0)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(m.coefficients[0] > 5.0 * m.coefficients[1].abs(), "{m:?}");
        assert!(cross_validate(&data, Learner::Logistic, 1, 3).is_err());
        for learner in [Learner::Logistic, Learner::Gbdt] {
            let top = importance(&data, learner).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(top[0].0, "signal", "{learner:?}: {top:?}");
        }
    }
}
