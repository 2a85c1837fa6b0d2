//! `panorama bench web`: the workbench under load. The server runs in this
//! process on a loopback port, as `serve` runs it; wrk (Debian package)
//! drives the connections of each scenario for a fixed time and reports the
//! latency percentiles. Logins go through `POST /api/login` like any client.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use panorama_analytics::Config;
use panorama_store::Store;
use panorama_store::ocrm::{self, CustomerFilter, Scope};
use panorama_web::WebConfig;

/// What `bench web` runs.
#[derive(Debug, Clone)]
pub struct WebBench {
    /// Password of the two users below.
    pub password: String,
    /// The RM whose workbench and customers are opened.
    pub rm: String,
    /// The call-centre agent who searches.
    pub agent: String,
    /// Concurrent connections (users) per scenario.
    pub connections: u32,
    /// Seconds per scenario.
    pub seconds: u32,
    /// Pause of each user between answers, in milliseconds (0: a closed
    /// loop, every connection always has a request in flight).
    pub think_ms: u32,
    /// The wrk binary.
    pub wrk: PathBuf,
}

/// One scenario: who, which paths (taken in turn), and the p99 goal.
struct Scenario {
    name: &'static str,
    cookie: String,
    paths: Vec<String>,
    goal_ms: f64,
}

/// What wrk measured.
#[derive(Debug, Default)]
struct Measured {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// Runs every scenario and prints a table with the goals.
pub async fn run(store: Store, config: &Config, b: &WebBench) -> Result<()> {
    let rm = ocrm::user_by_username(&store, &b.rm)
        .await?
        .with_context(|| format!("no user {}: run `panorama users demo` first", b.rm))?;
    let (mine, total) = ocrm::customers(
        &store,
        &Scope::Assigned(rm.id),
        &CustomerFilter::default(),
        0,
        200,
    )
    .await?;
    if mine.is_empty() {
        bail!(
            "{} has no customers: run `panorama users assign` first",
            b.rm
        );
    }
    let (bank, bank_total) =
        ocrm::customers(&store, &Scope::All, &CustomerFilter::default(), 0, 200).await?;
    let mobiles: Vec<String> = bank.iter().filter_map(|c| c.mobile.clone()).collect();
    let surnames: Vec<String> = bank
        .iter()
        .filter(|c| c.party_type == "person")
        .filter_map(|c| c.name.chars().next().map(String::from))
        .collect();
    // What an agent types hearing a name: spelt out, or by initials.
    let spellings: Vec<String> = bank
        .iter()
        .filter(|c| c.party_type == "person")
        .enumerate()
        .filter_map(|(k, c)| {
            panorama_domain::pinyin::search_keys(&c.name)
                .get(k % 2)
                .cloned()
        })
        .collect();

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let web = WebConfig {
        tiers: panorama_web::TierLabel::of(config),
        ..WebConfig::default()
    };
    tokio::spawn(panorama_web::serve_on(listener, store.clone(), web));
    let base = format!("http://{addr}");
    let rm_cookie = login(&base, &b.rm, &b.password).await?;
    let agent_cookie = login(&base, &b.agent, &b.password).await?;

    say!(
        "bench web: {} customers in the store, {} assigned to {}; {} users (connections), {} ms between a user's requests, {} s per scenario, server and wrk on this machine",
        bank_total,
        total,
        b.rm,
        b.connections,
        b.think_ms,
        b.seconds
    );
    let scenarios = [
        Scenario {
            name: "workbench",
            cookie: rm_cookie.clone(),
            paths: vec!["/".into()],
            goal_ms: 100.0,
        },
        Scenario {
            name: "customer 360",
            cookie: rm_cookie,
            paths: mine
                .iter()
                .map(|c| format!("/customers/{}", c.id))
                .collect(),
            goal_ms: 50.0,
        },
        Scenario {
            name: "search by mobile",
            cookie: agent_cookie.clone(),
            paths: mobiles.iter().map(|m| format!("/search?q={m}")).collect(),
            goal_ms: 100.0,
        },
        Scenario {
            name: "search by name",
            cookie: agent_cookie.clone(),
            paths: surnames
                .iter()
                .map(|s| format!("/search?q={}", panorama_web::urlencode(s)))
                .collect(),
            goal_ms: 100.0,
        },
        Scenario {
            name: "search by pinyin",
            cookie: agent_cookie.clone(),
            paths: spellings.iter().map(|s| format!("/search?q={s}")).collect(),
            goal_ms: 100.0,
        },
        Scenario {
            name: "screen pop by phone",
            cookie: agent_cookie,
            paths: mobiles
                .iter()
                .map(|m| format!("/customers/lookup?phone={m}"))
                .collect(),
            goal_ms: 100.0,
        },
    ];
    let dir = tempfile::tempdir()?;
    say!(
        "  {:<20} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>10}",
        "scenario",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "errors",
        "p99 goal"
    );
    let mut missed = Vec::new();
    for s in &scenarios {
        if s.paths.is_empty() {
            say!("  {:<20} skipped: nothing to ask for", s.name);
            continue;
        }
        // Let the server drain the previous scenario's last requests.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let script = dir.path().join("scenario.lua");
        std::fs::write(&script, lua(&s.paths, &s.cookie, b.think_ms))?;
        let m = wrk(b, &script, &base)?;
        let met = m.p99_ms <= s.goal_ms && m.errors == 0;
        if !met {
            missed.push(s.name);
        }
        say!(
            "  {:<20} {:>9} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>7} {:>7} ms {}",
            s.name,
            m.requests,
            m.per_second,
            m.p50_ms,
            m.p90_ms,
            m.p99_ms,
            m.errors,
            s.goal_ms,
            if met { "met" } else { "MISSED" }
        );
    }
    if missed.is_empty() {
        say!("bench web: every p99 goal met");
    } else {
        say!("bench web: goals missed: {}", missed.join(", "));
    }
    Ok(())
}

/// Logs in through the JSON API and returns the session cookie.
async fn login(base: &str, username: &str, password: &str) -> Result<String> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Body>();
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    let req = Request::post(format!("{base}/api/login"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))?;
    let res = client.request(req).await.context("POST /api/login")?;
    let status = res.status();
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|v| v.starts_with("panorama_session="))
        .map(str::to_owned);
    let text = res.into_body().collect().await?.to_bytes();
    match cookie {
        Some(c) if status.is_success() => Ok(c),
        _ => bail!(
            "logging in as {username}: {status} {}",
            String::from_utf8_lossy(&text)
        ),
    }
}

/// A wrk script that asks for `paths` in turn with the session cookie,
/// pausing about `think_ms` before each request of a connection.
fn lua(paths: &[String], cookie: &str, think_ms: u32) -> String {
    let mut s = String::from("local paths = {\n");
    for p in paths {
        // Paths are ASCII (numbers and percent-encoded text): safe in a Lua string.
        let _ = writeln!(s, "  \"{}\",", p.replace(['\\', '"'], ""));
    }
    let _ = write!(
        s,
        "}}\nlocal n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(\"GET\", paths[(n % #paths) + 1], {{ [\"Cookie\"] = \"{}\" }})\nend\n",
        cookie.replace(['\\', '"'], "")
    );
    if think_ms > 0 {
        // Each pause is drawn from [think/2, 3·think/2]: users do not act in
        // step, and a fixed pause would keep all connections in one burst.
        let (lo, hi) = (think_ms / 2, think_ms + think_ms / 2);
        let _ = write!(
            s,
            "delay = function()\n  return math.random({lo}, {hi})\nend\n"
        );
    }
    s
}

/// Runs wrk with `script` and reads its report.
fn wrk(b: &WebBench, script: &std::path::Path, base: &str) -> Result<Measured> {
    let out = Command::new(&b.wrk)
        .args([
            "-t2",
            &format!("-c{}", b.connections),
            &format!("-d{}s", b.seconds),
            "--timeout",
            "10s",
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(base)
        .output()
        .with_context(|| format!("running {} (Debian: apt-get install wrk)", b.wrk.display()))?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse_wrk(&String::from_utf8_lossy(&out.stdout))
}

/// Milliseconds from a wrk duration (`812.00us`, `1.52ms`, `2.01s`).
fn millis(s: &str) -> Option<f64> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let v: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => return None,
    })
}

/// Reads wrk's `--latency` report.
fn parse_wrk(out: &str) -> Result<Measured> {
    let mut m = Measured::default();
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => m.p50_ms = millis(v).unwrap_or(f64::NAN),
            ["90%", v] => m.p90_ms = millis(v).unwrap_or(f64::NAN),
            ["99%", v] => m.p99_ms = millis(v).unwrap_or(f64::NAN),
            ["Requests/sec:", v] => m.per_second = v.parse().unwrap_or(0.0),
            [n, "requests", "in", ..] => m.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => m.errors += n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                m.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            _ => {}
        }
    }
    if m.requests == 0 {
        bail!("wrk reported no requests:\n{out}");
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrk_report_is_read() {
        let out = "Running 5s test @ http://127.0.0.1:1234\n  2 threads and 50 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     9.87ms    3.21ms  60.12ms   80.00%\n  Latency Distribution\n     50%  812.00us\n     75%    9.00ms\n     90%   12.50ms\n     99%    1.02s\n  25000 requests in 5.00s, 80.00MB read\n  Socket errors: connect 0, read 2, write 0, timeout 1\n  Non-2xx or 3xx responses: 4\nRequests/sec:   4999.12\nTransfer/sec:     16.00MB\n";
        let m = parse_wrk(out).unwrap();
        assert_eq!(m.requests, 25_000);
        assert!((m.p50_ms - 0.812).abs() < 1e-9);
        assert!((m.p90_ms - 12.5).abs() < 1e-9);
        assert!((m.p99_ms - 1020.0).abs() < 1e-9);
        assert!((m.per_second - 4999.12).abs() < 1e-9);
        assert_eq!(m.errors, 7);
        assert!(parse_wrk("nothing").is_err());
    }

    #[test]
    fn the_script_takes_the_paths_in_turn() {
        let s = lua(&["/a".into(), "/b\"".into()], "panorama_session=x", 0);
        assert!(s.contains("\"/a\",\n  \"/b\","));
        assert!(s.contains("[\"Cookie\"] = \"panorama_session=x\""));
        assert!(!s.contains("delay"));
        assert!(
            lua(&["/a".into()], "c", 500)
                .contains("delay = function()\n  return math.random(250, 750)\nend")
        );
    }
}
