//! The workbench in a real browser: Debian's headless Chromium, driven over
//! WebDriver (chromedriver), logs in as an RM, finds a customer by mobile
//! number, opens the 360° view, records a contact, and is refused another
//! RM's customer.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use panorama_ingest::{Options, ingest};
use panorama_store::test_support;

const PASSWORD: &str = "browser-pass-1";

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rm_finds_a_customer_records_a_contact_and_is_refused_another_rms() {
    let Ok(chromedriver) = which("chromedriver") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver (.ci/run does)"
        );
        test_support::skipped(
            "browser test: chromedriver is not installed (apt-get install chromium chromium-driver)",
        );
        return;
    };
    // A small bank with demo users, served on a free port.
    let dir = tempfile::tempdir().unwrap();
    panorama_synth::generate(
        &panorama_synth::Config {
            customers: 300,
            seed: 5,
            as_of: "2026-10-31".parse().unwrap(),
            out: dir.path().join("bank"),
        },
        &|_, _| {},
    )
    .unwrap();
    let store = test_support::sqlite().await.unwrap();
    let options = Options {
        rejects_dir: dir.path().join("rejects"),
    };
    ingest(&store, &dir.path().join("bank"), &options, &|_, _, _| {})
        .await
        .unwrap();
    panorama_ecif::store::run_resolve(&store, false)
        .await
        .unwrap();
    let config = panorama_analytics::Config::default_config();
    panorama_analytics::batch::run(&store, &dir.path().join("analytics"), &config, None)
        .await
        .unwrap();
    panorama::web::demo_users(&store, PASSWORD).await.unwrap();
    // rm1's customer with a mobile number, and one of rm2's.
    let mine: (i64, String) = sqlx::query_as(
        "SELECT c.id, c.mobile FROM customer c JOIN assignment a ON a.customer_id = c.id \
         JOIN app_user u ON u.id = a.rm_user_id WHERE u.username = 'rm1' AND c.mobile IS NOT NULL \
         AND (SELECT COUNT(*) FROM customer d WHERE d.mobile = c.mobile) = 1 ORDER BY c.id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let theirs: i64 = sqlx::query_scalar(
        "SELECT a.customer_id FROM assignment a JOIN app_user u ON u.id = a.rm_user_id \
         WHERE u.username = 'rm2' ORDER BY a.customer_id LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let web = panorama_web::WebConfig {
        tiers: panorama::web::tier_labels(&config),
        ..panorama_web::WebConfig::default()
    };
    let server_store = store.store.clone();
    tokio::spawn(async move { panorama_web::serve_on(listener, server_store, web).await });

    // chromedriver and a headless Chromium with a fresh profile.
    let port = free_port();
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": which("chromium").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", format!("--user-data-dir={}", profile.path().display())]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut browser = None;
    for _ in 0..100 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => {
                browser = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let b = browser.expect("chromedriver answers");

    // Log in as rm1 through the form.
    b.goto(&format!("{base}/")).await.unwrap();
    assert!(b.current_url().await.unwrap().path().starts_with("/login"));
    b.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("rm1")
        .await
        .unwrap();
    b.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .for_element(Locator::Id("my-customers"))
        .await
        .unwrap();

    // Find the customer by mobile number in the header search.
    b.find(Locator::Id("q"))
        .await
        .unwrap()
        .send_keys(&mine.1)
        .await
        .unwrap();
    b.find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let results = b.wait().for_element(Locator::Id("results")).await.unwrap();
    let link = results
        .find(Locator::Css("table.customers a"))
        .await
        .unwrap();
    link.click().await.unwrap();
    b.wait().for_element(Locator::Id("basic")).await.unwrap();
    assert_eq!(
        b.current_url().await.unwrap().path(),
        format!("/customers/{}", mine.0)
    );
    // The mobile is masked for an RM.
    let shown = b
        .find(Locator::Id("mobile"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.contains("****"), "{shown}");

    // Record a contact; it appears in the timeline.
    b.find(Locator::Id("outcome"))
        .await
        .unwrap()
        .send_keys("客户同意面谈")
        .await
        .unwrap();
    b.find(Locator::Id("notes"))
        .await
        .unwrap()
        .send_keys("browser test")
        .await
        .unwrap();
    b.find(Locator::Id("save-contact"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The post redirects back to the 360: the list of the page being left
    // may be found first (and go stale), so look until the new one shows it.
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(list) = b.find(Locator::Id("contact-list")).await {
            if let Ok(t) = list.text().await {
                text = t;
                if text.contains("客户同意面谈") {
                    break;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(text.contains("客户同意面谈"), "{text}");

    // Another RM's customer: refused, as if it did not exist.
    b.goto(&format!("{base}/customers/{theirs}")).await.unwrap();
    let body = b
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("未找到"), "{body}");
    b.close().await.unwrap();

    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM contact WHERE customer_id = $1")
        .bind(mine.0)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(recorded, 1);
}

fn which(program: &str) -> Result<String, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
        .map(|p| p.display().to_string())
        .ok_or(())
}
