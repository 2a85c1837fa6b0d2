//! Panorama's ACRM models. This part: customer lifetime value — BG/NBD for
//! the number of future purchases and Gamma-Gamma for their value, fitted by
//! maximum likelihood (argmin's L-BFGS over analytic gradients).

pub mod clv;
mod optimise;
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
