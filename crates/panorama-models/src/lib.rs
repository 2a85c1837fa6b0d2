//! Panorama's ACRM models: customer lifetime value (BG/NBD for the number
//! of future purchases, Gamma-Gamma for their value) and propensity
//! learners (logistic regression, gradient-boosted trees, CHAID) with their evaluation (AUC, stratified
//! cross-validation), fitted by maximum likelihood with argmin's L-BFGS over
//! analytic gradients.

pub mod chaid;
pub mod clv;
pub mod cv;
pub mod data;
pub mod encode;
pub mod gbdt;
pub mod logistic;
pub mod metrics;
mod optimise;
pub mod scorecard;
pub mod special;

pub use clv::{BgNbd, GammaGamma, Summary, SummaryFile, read_summary};

/// What can go wrong fitting or scoring a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Bad input, with the file and line where it was found.
    #[error("{0}")]
    Input(String),
    /// The optimiser failed or diverged.
    #[error("fitting failed: {0}")]
    Fit(String),
}
