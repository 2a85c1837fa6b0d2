//! Panorama, a customer relationship platform for banks: the `panorama`
//! command over the workspace's library crates.

/// Prints a line to standard output; if the reader has gone away (a closed
/// pipe, as in `panorama … | head`), exits quietly instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    }};
}

pub mod cli;
