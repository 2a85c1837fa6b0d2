//! What the end-to-end test binaries share: running the `panorama` binary,
//! and server processes (a cluster's nodes, a Kafka broker) started for real.

#![allow(dead_code)] // each test binary uses its own part of this

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `panorama ARGS` in `dir` (with no store from the environment).
pub fn panorama(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_panorama"))
        .args(args)
        .current_dir(dir)
        .env_remove("PANORAMA_STORE")
        .output()
        .expect("run panorama")
}

/// Runs `panorama ARGS` in `dir`, fails the test with its output unless it
/// succeeds, and returns its standard output.
pub fn succeeds(dir: &Path, args: &[&str]) -> String {
    let out = panorama(dir, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "panorama {args:?} failed: {text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `panorama quickstart` for a bank of `customers` in `dir` (no
/// server) and opens its store.
pub async fn quickstart_bank(dir: &Path, customers: u32) -> panorama_store::Store {
    succeeds(
        dir,
        &[
            "quickstart",
            "--customers",
            &customers.to_string(),
            "--no-serve",
            "--demo-password",
            "demo-pass-1",
        ],
    );
    let path = dir.join("panorama-data");
    let location =
        panorama_store::StoreLocation::parse(&path.to_string_lossy()).expect("a store path");
    panorama_store::Store::open(&location)
        .await
        .expect("open the quickstart's store")
}

/// Designs a campaign with `panorama campaign create ARGS` (by analyst1),
/// has bm1 approve it and launches it; its id and what the launch said.
pub fn campaign_live(dir: &Path, args: &[&str]) -> (i64, String) {
    let mut create = vec!["campaign", "create"];
    create.extend_from_slice(args);
    create.extend_from_slice(&["--by", "analyst1"]);
    let out = succeeds(dir, &create);
    let id: i64 = out
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("campaign="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no campaign id in {out}"));
    let id_text = id.to_string();
    succeeds(dir, &["campaign", "approve", &id_text, "--by", "bm1"]);
    (id, succeeds(dir, &["campaign", "launch", &id_text]))
}

/// A port free now (the process that takes it binds it again).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a port")
        .local_addr()
        .expect("its address")
        .port()
}

/// A server process, killed when dropped; its log (stderr, at info) in a file.
pub struct Node {
    /// The process.
    pub child: Child,
    /// Where its log goes.
    pub log: PathBuf,
}

impl Node {
    /// Starts `program ARGS` in `dir`, logging to `dir/NAME.log`.
    pub fn start(
        program: impl AsRef<std::ffi::OsStr>,
        dir: &Path,
        name: &str,
        args: &[&str],
    ) -> Node {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the node's log");
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("PANORAMA_STORE")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start a server process");
        Node { child, log }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Waits until the log says `what` (or fails with the log).
    pub fn wait_for(&mut self, what: &str) {
        let start = Instant::now();
        while !self.log().contains(what) {
            self.still_running();
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no {what:?} within 60 s in {}: {}",
                self.log.display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `addr` accepts connections (or fails with the log).
    pub fn wait_for_port(&mut self, addr: &str) {
        let start = Instant::now();
        while std::net::TcpStream::connect(addr).is_err() {
            self.still_running();
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{addr} not listening within 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn still_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}): {}", self.log.display(), self.log());
        }
    }

    /// Kills it at once (SIGKILL: no chance to tidy up) and waits.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
