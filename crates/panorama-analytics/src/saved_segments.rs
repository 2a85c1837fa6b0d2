//! Segments kept in the store: a rule segment saved (its condition checked
//! against the feature vocabulary first) and its members refreshed at once;
//! k-means clusters fitted on the features and saved as one segment each
//! with their members; deletion. Each write is one transaction, audited by
//! the store.

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use panorama_store::{Store, acrm};

use crate::batch;
use crate::cluster::{ClusterDefinition, ClusterProfile, KMeansModel, check_features};
use crate::engine::{register_features, session};
use crate::{AnalyticsError, Config, Result, segment};

/// Checks a segment's name: 1–64 characters, no quotes or control characters.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.chars().count() > 64
        || name.chars().any(|c| c.is_control() || c == '\'')
    {
        return Err(AnalyticsError::Invalid(
            "a segment name is 1-64 characters without quotes or control characters".into(),
        ));
    }
    Ok(())
}

/// A rule segment as saved.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Its id.
    pub id: i64,
    /// Members on the features date.
    pub members: u64,
    /// The features date its members were taken from.
    pub as_of: NaiveDate,
}

/// Saves a rule segment and takes its members from the latest features.
pub async fn save_rule(
    store: &Store,
    analytics: &Path,
    config: &Config,
    name: &str,
    condition: &str,
    description: Option<&str>,
    by: &str,
) -> Result<Saved> {
    check_name(name)?;
    let vocab = batch::vocabulary(store, config).await?;
    segment::compile(condition, &vocab)?;
    let ctx = session();
    let as_of = register_features(&ctx, analytics, None).await?;
    let id = {
        let mut tx = store.begin().await?;
        let id = acrm::insert_segment(&mut tx, name, "rule", condition, description, by).await?;
        tx.commit().await?;
        id
    };
    let seg = acrm::segment(store, name)
        .await?
        .ok_or_else(|| AnalyticsError::Invalid(format!("segment {name} vanished")))?;
    let r = batch::refresh_segment(store, &ctx, &vocab, &seg, as_of).await?;
    Ok(Saved {
        id,
        members: r.members as u64,
        as_of,
    })
}

/// Deletes a segment and its membership history.
pub async fn delete(store: &Store, name: &str, by: &str) -> Result<()> {
    let seg = acrm::segment(store, name)
        .await?
        .ok_or_else(|| AnalyticsError::Invalid(format!("no segment named {name}")))?;
    let mut tx = store.begin().await?;
    acrm::delete_segment(&mut tx, seg.id, name, by).await?;
    tx.commit().await?;
    Ok(())
}

/// What to cluster.
#[derive(Debug, Clone)]
pub struct ClusterAsk<'a> {
    /// Clusters.
    pub k: usize,
    /// Features (money features are log-scaled).
    pub features: Vec<String>,
    /// Which customers (a segment condition; empty: all).
    pub condition: &'a str,
    /// Seed of the k-means initialisation.
    pub seed: u64,
    /// Features date (default: the latest).
    pub as_of: Option<NaiveDate>,
}

/// A fitted clustering, not yet saved.
#[derive(Debug, Clone)]
pub struct Clustering {
    /// The features date.
    pub as_of: NaiveDate,
    /// The condition the customers met.
    pub condition: String,
    /// Customers, in row order.
    pub ids: Vec<i64>,
    /// Each customer's cluster (0-based).
    pub labels: Vec<usize>,
    /// The model (centroids, scaling).
    pub model: KMeansModel,
    /// Each cluster described, largest first.
    pub profile: Vec<ClusterProfile>,
    /// Seconds the fit took.
    pub seconds: f64,
}

/// Fits k-means on the features of the customers meeting the condition.
pub async fn fit_clusters(
    store: &Store,
    analytics: &Path,
    config: &Config,
    ask: &ClusterAsk<'_>,
) -> Result<Clustering> {
    let log = check_features(&ask.features)?;
    let vocab = batch::vocabulary(store, config).await?;
    let filter = segment::compile(ask.condition, &vocab)?;
    let ctx = session();
    let as_of = register_features(&ctx, analytics, ask.as_of).await?;
    let (ids, rows) = batch::feature_matrix(&ctx, filter, &ask.features).await?;
    let started = Instant::now();
    let (model, labels) = KMeansModel::fit(ask.features.clone(), log, &rows, ask.k, ask.seed, 100)?;
    let profile = model.profile(&labels, &rows);
    Ok(Clustering {
        as_of,
        condition: ask.condition.to_owned(),
        ids,
        labels,
        model,
        profile,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Saves each cluster as segment `{name}-{n}` with its members; returns how
/// many segments were saved.
pub async fn save_clusters(
    store: &Store,
    clustering: &Clustering,
    name: &str,
    by: &str,
) -> Result<usize> {
    check_name(name)?;
    let date = clustering.as_of.to_string();
    let mut tx = store.begin().await?;
    for p in &clustering.profile {
        let definition = ClusterDefinition {
            condition: clustering.condition.clone(),
            cluster: p.cluster,
            model: clustering.model.clone(),
        }
        .to_json();
        let id = acrm::insert_segment(
            &mut tx,
            &format!("{name}-{}", p.cluster),
            "cluster",
            &definition,
            Some(&p.description),
            by,
        )
        .await?;
        let members = members_of_cluster(&clustering.ids, &clustering.labels, p.cluster);
        acrm::apply_membership(
            &mut tx,
            store.backend(),
            id,
            &date,
            &members,
            &[],
            members.len() as i64,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(clustering.profile.len())
}

/// The customers labelled with 1-based cluster `cluster`.
fn members_of_cluster(ids: &[i64], labels: &[usize], cluster: usize) -> Vec<i64> {
    ids.iter()
        .zip(labels)
        .filter(|(_, l)| **l + 1 == cluster)
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_quote_free() {
        assert!(check_name("高净值客户").is_ok());
        assert!(
            check_name(&"客".repeat(64)).is_ok(),
            "64 characters, not bytes"
        );
        assert!(check_name(&"客".repeat(65)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("it's").is_err());
        assert!(check_name("a\nb").is_err());
    }

    #[test]
    fn a_cluster_takes_the_customers_labelled_with_it() {
        let ids = [10, 11, 12, 13];
        let labels = [0, 1, 0, 2];
        assert_eq!(members_of_cluster(&ids, &labels, 1), vec![10, 12]);
        assert_eq!(members_of_cluster(&ids, &labels, 3), vec![13]);
        assert!(members_of_cluster(&ids, &labels, 4).is_empty());
    }
}
