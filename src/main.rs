//! The `panorama` command: parses arguments and dispatches.

fn main() -> std::process::ExitCode {
    panorama::cli::main()
}
