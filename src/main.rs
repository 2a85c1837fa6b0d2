//! The `panorama` command: parses arguments and dispatches.

/// mimalloc: the standardisation of a million records made glibc's malloc
/// and free four tenths of the read (threads standardise in parallel), and
/// the store, batch and server allocate as much.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    panorama::cli::main()
}
