//! What the end-to-end test binaries share: running the `panorama` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `panorama ARGS` in `dir` (with no store from the environment).
pub fn panorama(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panorama"))
        .args(args)
        .current_dir(dir)
        .env_remove("PANORAMA_STORE")
        .output()
        .expect("run panorama")
}
