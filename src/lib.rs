//! Panorama, a customer relationship platform for banks: the `panorama`
//! command over the workspace's library crates.

pub mod cli;
pub mod ecif;
