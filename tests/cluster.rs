//! The analytics batch on a real Ballista cluster: a scheduler and two
//! executors, each a `panorama` process on 127.0.0.1, run the batch's
//! queries over the snapshot they read from the shared analytics directory;
//! the features, tiers and alerts equal the single-machine run's, and both
//! executors ran tasks. Built with `--features distributed` (the README's
//! test command turns every feature on).

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

#[cfg(not(feature = "distributed"))]
#[test]
fn the_cluster_test_needs_the_distributed_feature() {
    eprintln!(
        "SKIPPED (the Ballista cluster test: built without `--features distributed`; \
         `cargo test --workspace --all-features` runs it)"
    );
}

#[cfg(feature = "distributed")]
mod common;

#[cfg(feature = "distributed")]
mod distributed {
    use panorama_analytics::features;

    use crate::common::{Node, free_port, succeeds};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_batch_on_a_scheduler_and_two_executors_equals_the_single_machine_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let as_of = "2026-10-31";
        succeeds(
            dir,
            &[
                "generate",
                "--customers",
                "1500",
                "--seed",
                "21",
                "--as-of",
                as_of,
                "--out",
                "bank",
            ],
        );
        succeeds(dir, &["ingest", "bank"]);
        succeeds(dir, &["resolve"]);
        let local: serde_json::Value = serde_json::from_str(&succeeds(
            dir,
            &["--analytics", "local", "batch", "--as-of", as_of, "--json"],
        ))
        .unwrap();

        let scheduler = format!("127.0.0.1:{}", free_port());
        let mut nodes = vec![Node::start(
            env!("CARGO_BIN_EXE_panorama"),
            dir,
            "scheduler",
            &["scheduler", "--bind", &scheduler],
        )];
        for k in 1..=2 {
            let (flight, grpc) = (free_port().to_string(), free_port().to_string());
            let work = format!("work-{k}");
            std::fs::create_dir_all(dir.join(&work)).unwrap();
            nodes.push(Node::start(
                env!("CARGO_BIN_EXE_panorama"),
                dir,
                &format!("executor-{k}"),
                &[
                    "executor",
                    "--scheduler",
                    &scheduler,
                    "--port",
                    &flight,
                    "--grpc-port",
                    &grpc,
                    "--work-dir",
                    &work,
                    "--concurrency",
                    "1",
                ],
            ));
        }
        for node in &mut nodes[1..] {
            node.wait_for("Executor registration succeed");
        }
        // The executors read the snapshot by its absolute path.
        let shared = dir.join("shared");
        let remote: serde_json::Value = serde_json::from_str(&succeeds(
            dir,
            &[
                "--analytics",
                shared.to_str().unwrap(),
                "batch",
                "--as-of",
                as_of,
                "--json",
                "--cluster",
                &scheduler,
            ],
        ))
        .unwrap();

        let (l, r) = (&local, &remote);
        assert!(l["customers"].as_u64().unwrap() > 1_000, "{l}");
        for key in ["customers", "tiers", "alerts_raised", "segments"] {
            assert_eq!(l[key], r[key], "{key} differs on the cluster");
        }
        let date = as_of.parse().unwrap();
        let a = features::rows_as_text(&dir.join("local"), date)
            .await
            .unwrap();
        let b = features::rows_as_text(&shared, date).await.unwrap();
        assert_eq!(a.len() as u64, l["customers"].as_u64().unwrap());
        assert!(a == b, "the cluster's features differ from this machine's");
        // Both executors ran tasks of the batch's jobs.
        for node in &nodes[1..] {
            let log = node.log();
            assert!(
                log.contains("Execute task"),
                "{} ran no task: {log}",
                node.log.display()
            );
        }
    }
}
