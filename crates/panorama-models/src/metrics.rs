//! Model evaluation: area under the ROC curve, the Kolmogorov–Smirnov
//! statistic, and the decile table (lift, cumulative gains, calibration).

/// The area under the ROC curve of `scores` against `labels`: the chance
/// that a random positive scores above a random negative, ties counting
/// half (the Mann–Whitney statistic over average ranks). `None` when one
/// class is absent.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 || scores.len() != labels.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let average = (i + j + 2) as f64 / 2.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum += average;
            }
        }
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// The largest gap between the cumulative shares of positives and of
/// negatives when customers are taken in descending score order (ties
/// taken together). `None` when one class is absent.
pub fn ks(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 || scores.len() != labels.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0_f64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if labels[order[j]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        best = best.max((tp / positives - fp / negatives).abs());
        i = j;
    }
    Some(best)
}

/// One tenth of the customers, in descending score order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decile {
    /// 1 for the highest scores.
    pub decile: usize,
    /// Customers in it.
    pub customers: usize,
    /// Positives among them.
    pub positives: usize,
    /// Their mean predicted probability (calibration: compare with `rate`).
    pub mean_score: f64,
    /// Observed positive rate.
    pub rate: f64,
    /// `rate` over the overall rate.
    pub lift: f64,
    /// Share of all positives in this and the higher deciles.
    pub cumulative_gain: f64,
}

/// The decile table of `scores` against `labels` (customers sorted by
/// descending score, split into ten groups whose sizes differ by one at
/// most).
pub fn deciles(scores: &[f64], labels: &[bool]) -> Vec<Decile> {
    let n = scores.len().min(labels.len());
    let total_positives = labels[..n].iter().filter(|l| **l).count();
    if n == 0 {
        return Vec::new();
    }
    let overall = total_positives as f64 / n as f64;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = Vec::with_capacity(10);
    let mut cumulative = 0;
    for d in 0..10 {
        let (from, to) = (d * n / 10, (d + 1) * n / 10);
        let rows = &order[from..to];
        if rows.is_empty() {
            continue;
        }
        let positives = rows.iter().filter(|&&i| labels[i]).count();
        cumulative += positives;
        let rate = positives as f64 / rows.len() as f64;
        out.push(Decile {
            decile: d + 1,
            customers: rows.len(),
            positives,
            mean_score: rows.iter().map(|&i| scores[i]).sum::<f64>() / rows.len() as f64,
            rate,
            lift: if overall > 0.0 { rate / overall } else { 0.0 },
            cumulative_gain: if total_positives > 0 {
                cumulative as f64 / total_positives as f64
            } else {
                0.0
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Perfect, reversed, and all tied.
        assert_eq!(
            auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(auc(&[0.5; 4], &[false, true, false, true]), Some(0.5));
        // Pairs (pos, neg): (0.8 > 0.1) (0.8 > 0.4) (0.3 > 0.1) (0.3 < 0.4) → 3/4.
        assert_eq!(
            auc(&[0.1, 0.4, 0.8, 0.3], &[false, false, true, true]),
            Some(0.75)
        );
        // A tie between a positive and a negative counts half: (1 + 0.5) / 2.
        assert_eq!(auc(&[0.1, 0.5, 0.5], &[false, false, true]), Some(0.75));
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn ks_by_hand() {
        // Descending: 0.9+ 0.8+ 0.4- 0.3+ 0.2- 0.1-: after two, TPR 2/3 FPR 0.
        let ks = ks(
            &[0.9, 0.8, 0.4, 0.3, 0.2, 0.1],
            &[true, true, false, true, false, false],
        );
        assert!((ks.unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(super::ks(&[0.5, 0.5], &[true, false]), Some(0.0));
    }

    #[test]
    fn deciles_by_hand() {
        // 20 customers, scores 20..1; positives are the top 4 and number 11.
        let scores: Vec<f64> = (0..20).map(|i| f64::from(20 - i)).collect();
        let labels: Vec<bool> = (0..20).map(|i| i < 4 || i == 10).collect();
        let t = deciles(&scores, &labels);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].customers, 2);
        assert_eq!((t[0].positives, t[1].positives, t[5].positives), (2, 2, 1));
        assert!((t[0].lift - 1.0 / 0.25).abs() < 1e-12);
        assert!((t[1].cumulative_gain - 0.8).abs() < 1e-12);
        assert!((t[9].cumulative_gain - 1.0).abs() < 1e-12);
        assert!((t[0].mean_score - 19.5).abs() < 1e-12);
    }
}
