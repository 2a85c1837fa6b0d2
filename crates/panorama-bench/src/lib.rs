//! Benchmarks that print figures, each beside the reference tool its issue
//! names when that tool is given: the ECIF accuracy panel (Splink), generate
//! and ingest speed, the feature stage (DuckDB), CLV fits (lifetimes), the
//! workbench under load (wrk) and the event feed through a real broker. The `panorama bench …` commands parse their
//! arguments and call these; figures go to standard output.

/// Prints a line to standard output; a closed pipe ends the process quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

pub mod clv;
pub mod ecif;
pub mod events;
pub mod features;
pub mod forecast;
pub mod ingest;
pub mod online;
pub mod web;

/// A reference script of the repository's `scripts/` folder.
fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}
