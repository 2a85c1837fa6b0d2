//! Clustering customers: k-means (k-means++ seeding, Lloyd iterations) on
//! standardised features, with a readable profile of each cluster.
//!
//! Money features are heavy-tailed (a few customers hold most of the AUM),
//! so they are put on a log scale (`sign(x)·ln(1 + |yuan|)`) before
//! standardising; otherwise the centroids chase outliers. The fitted model
//! (feature list, scaling, centroids) is saved with the segment, so the
//! nightly batch assigns customers to the same clusters.
//!
//! Written here rather than taken from linfa: linfa-clustering brings
//! ndarray and a second major version of `rand`, for some eighty lines of
//! Lloyd's algorithm.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use crate::catalogue::{FeatureType, feature};
use crate::error::{AnalyticsError, Result};

/// A fitted clustering.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KMeansModel {
    /// Feature names, in column order.
    pub features: Vec<String>,
    /// Whether each feature is log-scaled (money).
    pub log_scale: Vec<bool>,
    /// Mean of each transformed feature.
    pub means: Vec<f64>,
    /// Standard deviation of each transformed feature (1 when constant).
    pub sds: Vec<f64>,
    /// Centroids in standardised space, `k` × features.
    pub centroids: Vec<Vec<f64>>,
    /// Seed used.
    pub seed: u64,
}

/// The default features for clustering persons.
pub const DEFAULT_FEATURES: &[&str] = &[
    "aum_month_avg",
    "loan_balance",
    "age",
    "tenure_months",
    "product_count",
    "txn_atm_12m_count",
    "txn_mobile_12m_count",
    "txn_pos_12m_count",
    "txn_counter_12m_count",
    "profit",
];

/// Checks that every name is a numeric feature; returns whether each is money.
pub fn check_features(names: &[String]) -> Result<Vec<bool>> {
    if names.is_empty() {
        return Err(AnalyticsError::Invalid(
            "choose at least one feature".into(),
        ));
    }
    names
        .iter()
        .map(|n| match feature(n).map(|f| f.kind) {
            Some(FeatureType::Money) => Ok(true),
            Some(FeatureType::Integer | FeatureType::Float)
                if n != "customer_id" && n != "household_id" =>
            {
                Ok(false)
            }
            Some(k) => Err(AnalyticsError::Invalid(format!(
                "{n} is {} feature; clustering needs numbers",
                k.word()
            ))),
            None => Err(AnalyticsError::Invalid(format!("unknown feature '{n}'"))),
        })
        .collect()
}

fn transform(v: f64, log: bool) -> f64 {
    if log {
        // fen → yuan, then a signed log.
        let y = v / 100.0;
        y.signum() * y.abs().ln_1p()
    } else {
        v
    }
}

impl KMeansModel {
    /// Fits `k` clusters to `rows` (raw feature values; missing as 0).
    pub fn fit(
        features: Vec<String>,
        log_scale: Vec<bool>,
        rows: &[Vec<f64>],
        k: usize,
        seed: u64,
        max_iter: usize,
    ) -> Result<(KMeansModel, Vec<usize>)> {
        let d = features.len();
        if !(2..=50).contains(&k) {
            return Err(AnalyticsError::Invalid("k must be between 2 and 50".into()));
        }
        if rows.len() < k {
            return Err(AnalyticsError::Invalid(format!(
                "{} customers cannot form {k} clusters",
                rows.len()
            )));
        }
        let n = rows.len() as f64;
        let mut means = vec![0.0; d];
        let mut sds = vec![0.0; d];
        for r in rows {
            for j in 0..d {
                means[j] += transform(r[j], log_scale[j]) / n;
            }
        }
        for r in rows {
            for j in 0..d {
                let x = transform(r[j], log_scale[j]) - means[j];
                sds[j] += x * x / n;
            }
        }
        for s in &mut sds {
            *s = if *s > 1e-12 { s.sqrt() } else { 1.0 };
        }
        let mut model = KMeansModel {
            features,
            log_scale,
            means,
            sds,
            centroids: Vec::new(),
            seed,
        };
        let z: Vec<Vec<f64>> = rows.iter().map(|r| model.standardise(r)).collect();
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        // k-means++ seeding.
        let mut centroids = vec![z[rng.random_range(0..z.len())].clone()];
        let mut dist: Vec<f64> = z.iter().map(|p| sq(p, &centroids[0])).collect();
        while centroids.len() < k {
            let total: f64 = dist.iter().sum();
            let next = if total <= 0.0 {
                rng.random_range(0..z.len())
            } else {
                let mut target = rng.random::<f64>() * total;
                let mut pick = z.len() - 1;
                for (i, w) in dist.iter().enumerate() {
                    if target < *w {
                        pick = i;
                        break;
                    }
                    target -= w;
                }
                pick
            };
            centroids.push(z[next].clone());
            let c = centroids.len() - 1;
            for (i, p) in z.iter().enumerate() {
                dist[i] = dist[i].min(sq(p, &centroids[c]));
            }
        }
        let mut labels = vec![0usize; z.len()];
        for _ in 0..max_iter {
            let mut changed = false;
            for (i, p) in z.iter().enumerate() {
                let best = nearest(&centroids, p);
                if best != labels[i] {
                    labels[i] = best;
                    changed = true;
                }
            }
            let mut sums = vec![vec![0.0; d]; k];
            let mut counts = vec![0usize; k];
            for (p, &l) in z.iter().zip(&labels) {
                counts[l] += 1;
                for j in 0..d {
                    sums[l][j] += p[j];
                }
            }
            for c in 0..k {
                if counts[c] > 0 {
                    for j in 0..d {
                        centroids[c][j] = sums[c][j] / counts[c] as f64;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        // Number clusters by size, largest first, for stable names.
        let mut counts = vec![0usize; k];
        for &l in &labels {
            counts[l] += 1;
        }
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by_key(|&c| (std::cmp::Reverse(counts[c]), c));
        let mut rank = vec![0usize; k];
        for (r, &c) in order.iter().enumerate() {
            rank[c] = r;
        }
        model.centroids = order.iter().map(|&c| centroids[c].clone()).collect();
        let labels = labels.into_iter().map(|l| rank[l]).collect();
        Ok((model, labels))
    }

    /// A row in standardised space.
    pub fn standardise(&self, row: &[f64]) -> Vec<f64> {
        row.iter()
            .enumerate()
            .map(|(j, v)| (transform(*v, self.log_scale[j]) - self.means[j]) / self.sds[j])
            .collect()
    }

    /// The cluster of a row.
    pub fn assign(&self, row: &[f64]) -> usize {
        nearest(&self.centroids, &self.standardise(row))
    }

    /// What sets each cluster apart: its size, and the features whose
    /// centroid lies furthest from the average (in standard deviations).
    pub fn profile(&self, labels: &[usize], rows: &[Vec<f64>]) -> Vec<ClusterProfile> {
        let k = self.centroids.len();
        let d = self.features.len();
        let mut sizes = vec![0usize; k];
        let mut sums = vec![vec![0.0; d]; k];
        for (r, &l) in rows.iter().zip(labels) {
            sizes[l] += 1;
            for j in 0..d {
                sums[l][j] += r[j];
            }
        }
        (0..k)
            .map(|c| {
                let mut traits: Vec<(String, f64)> = self
                    .features
                    .iter()
                    .zip(&self.centroids[c])
                    .map(|(f, z)| (f.clone(), *z))
                    .collect();
                traits.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
                traits.truncate(3);
                let description = traits
                    .iter()
                    .map(|(f, z)| {
                        let word = match *z {
                            z if z >= 1.0 => "much higher",
                            z if z >= 0.25 => "higher",
                            z if z <= -1.0 => "much lower",
                            z if z <= -0.25 => "lower",
                            _ => "about average",
                        };
                        format!("{f} {word} ({z:+.1} sd)")
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                ClusterProfile {
                    cluster: c + 1,
                    size: sizes[c],
                    share_pct: 100.0 * sizes[c] as f64 / rows.len().max(1) as f64,
                    means: sums[c].iter().map(|s| s / sizes[c].max(1) as f64).collect(),
                    distinguishing: traits,
                    description,
                }
            })
            .collect()
    }
}

/// What a cluster segment stores: the population, its cluster number and
/// the fitted model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClusterDefinition {
    /// The condition choosing the clustered customers.
    pub condition: String,
    /// 1-based cluster number.
    pub cluster: usize,
    /// The fitted model.
    pub model: KMeansModel,
}

impl ClusterDefinition {
    /// As stored in `segment.definition`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored definition.
    pub fn from_json(text: &str) -> Result<ClusterDefinition> {
        serde_json::from_str(text)
            .map_err(|e| AnalyticsError::Invalid(format!("cluster segment definition: {e}")))
    }
}

/// One cluster, described.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterProfile {
    /// 1-based cluster number (1 = largest).
    pub cluster: usize,
    /// Customers.
    pub size: usize,
    /// Share of customers, %.
    pub share_pct: f64,
    /// Mean of each feature in its own unit (money in fen).
    pub means: Vec<f64>,
    /// The three features furthest from average, in standard deviations.
    pub distinguishing: Vec<(String, f64)>,
    /// The same in words.
    pub description: String,
}

fn sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(centroids: &[Vec<f64>], p: &[f64]) -> usize {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (c, centre) in centroids.iter().enumerate() {
        let d = sq(p, centre);
        if d < best_d {
            best_d = d;
            best = c;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_planted_groups_and_describes_them() {
        // Two groups: young low-balance heavy mobile users, older wealthy
        // counter users.
        let mut rows = Vec::new();
        for i in 0..200 {
            let j = f64::from(i % 7);
            rows.push(vec![25.0 + j, 1_000_000.0 + j * 1000.0, 80.0 + j]);
            rows.push(vec![60.0 + j, 500_000_000.0 + j * 1000.0, 2.0 + j]);
        }
        let features = vec![
            "age".to_owned(),
            "aum_month_avg".to_owned(),
            "txn_mobile_12m_count".to_owned(),
        ];
        let log = check_features(&features).unwrap();
        assert_eq!(log, [false, true, false]);
        let (model, labels) = KMeansModel::fit(features, log, &rows, 2, 7, 50).unwrap();
        for pair in labels.chunks(2) {
            assert_ne!(pair[0], pair[1]);
        }
        assert!(labels.iter().step_by(2).all(|&l| l == labels[0]));
        let profile = model.profile(&labels, &rows);
        assert_eq!(profile.iter().map(|p| p.size).sum::<usize>(), 400);
        let young = &profile[labels[0]];
        assert!(
            young.description.contains("age lower"),
            "{}",
            young.description
        );
        assert_eq!(model.assign(&[26.0, 900_000.0, 85.0]), labels[0]);
        // Same seed, same model.
        let (again, _) = KMeansModel::fit(
            model.features.clone(),
            model.log_scale.clone(),
            &rows,
            2,
            7,
            50,
        )
        .unwrap();
        assert_eq!(again, model);
    }

    #[test]
    fn refuses_bad_requests() {
        assert!(check_features(&["products".to_owned()]).is_err());
        assert!(check_features(&["nope".to_owned()]).is_err());
        let rows = vec![vec![1.0]; 3];
        assert!(KMeansModel::fit(vec!["age".into()], vec![false], &rows, 5, 1, 10).is_err());
        assert!(KMeansModel::fit(vec!["age".into()], vec![false], &rows, 1, 1, 10).is_err());
    }
}
