//! The web workbench on a real demo bank, on both stores: every route as
//! every role and as nobody, data scope (another RM's customer is a 404),
//! PII masking by role, unmasking with an audited reason, CSRF, contacts
//! becoming tasks, login throttling, and the audit trail.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use panorama_ingest::{Options, ingest};
use panorama_store::test_support;
use serde_json::Value;
use tower::ServiceExt as _;

const PASSWORD: &str = "demo-pass-123";

struct Client {
    app: Router,
    cookie: Option<String>,
    csrf: String,
}

struct Reply {
    status: StatusCode,
    location: String,
    body: String,
    /// The body's bytes (an Excel file is not text).
    raw: Vec<u8>,
}

/// Every cell of every sheet of an Excel file, one per line.
fn xlsx_text(bytes: &[u8]) -> String {
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut out = String::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        for cell in range.used_cells() {
            out.push_str(&cell.2.to_string());
            out.push('\n');
        }
    }
    out
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Client {
    fn anonymous(app: &Router) -> Client {
        Client {
            app: app.clone(),
            cookie: None,
            csrf: String::new(),
        }
    }

    async fn login(app: &Router, username: &str) -> Client {
        let mut c = Client::anonymous(app);
        let r = c
            .send(
                "POST",
                "/api/login",
                Some((
                    "application/json",
                    format!(r#"{{"username":"{username}","password":"{PASSWORD}"}}"#),
                )),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.body);
        c.csrf = r.json()["csrf"].as_str().unwrap().to_owned();
        c
    }

    async fn send(&mut self, method: &str, uri: &str, body: Option<(&str, String)>) -> Reply {
        self.send_with(method, uri, body, None).await
    }

    /// An API write: JSON body, the CSRF token in its header.
    async fn post_api(&mut self, uri: &str, body: &str, csrf: &str) -> Reply {
        let body = Some(("application/json", body.to_owned()));
        self.send_with("POST", uri, body, Some(csrf.to_owned()))
            .await
    }

    async fn send_with(
        &mut self,
        method: &str,
        uri: &str,
        body: Option<(&str, String)>,
        csrf: Option<String>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, c);
        }
        let req = match body {
            Some((kind, b)) => req.header(header::CONTENT_TYPE, kind).body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        if let Some(set) = res.headers().get(header::SET_COOKIE) {
            let v = set.to_str().unwrap();
            if v.starts_with("panorama_session=") {
                self.cookie = Some(v.split(';').next().unwrap().to_owned());
            }
        }
        let status = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20)
            .await
            .unwrap();
        Reply {
            status,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            raw: bytes.to_vec(),
        }
    }

    async fn get(&mut self, uri: &str) -> Reply {
        self.send("GET", uri, None).await
    }

    /// The events of an audit search (as an auditor).
    async fn audit_events(&mut self, uri: &str) -> Vec<Value> {
        let r = self.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        r.json()["events"].as_array().cloned().unwrap_or_default()
    }

    async fn form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(
            "POST",
            uri,
            Some(("application/x-www-form-urlencoded", body)),
        )
        .await
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A generated bank of `customers` in `DIR/bank`.
fn generated_bank(customers: u64, seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    panorama_synth::generate(
        &panorama_synth::Config {
            customers,
            seed,
            as_of: "2026-10-31".parse().unwrap(),
            out: dir.path().join("bank"),
            gzip: false,
        },
        &|_, _| {},
    )
    .unwrap();
    dir
}

/// The demo bank of `dir/bank` on each store, with the app over it.
async fn demo_stores(name: &str, dir: &std::path::Path) -> Vec<(test_support::TestStore, Router)> {
    let mut out = Vec::new();
    for (k, store) in test_support::both(name)
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        demo_bank(&store, dir, k).await;
        let app = app_with_analytics(&store, &dir.join(format!("analytics-{k}")));
        out.push((store, app));
    }
    out
}

async fn demo_bank(store: &panorama_store::Store, dir: &std::path::Path, k: usize) {
    let options = Options {
        rejects_dir: dir.join("rejects"),
        copy: false,
    };
    ingest(store, &dir.join("bank"), &options, &|_, _, _| {})
        .await
        .unwrap();
    panorama_ecif::store::run_resolve(store, false)
        .await
        .unwrap();
    // Users and assignments first, so the batch's alerts land on RMs' lists.
    panorama::cli::serve::demo_users(store, PASSWORD)
        .await
        .unwrap();
    let config = panorama_analytics::Config::default_config();
    panorama_analytics::batch::run(store, &dir.join(format!("analytics-{k}")), &config, None)
        .await
        .unwrap();
}

fn app(store: &panorama_store::Store) -> Router {
    let config = panorama_analytics::Config::default_config();
    panorama_web::router(
        store.clone(),
        panorama_web::WebConfig {
            tiers: panorama_web::TierLabel::of(&config),
            ..panorama_web::WebConfig::default()
        },
    )
}

/// The app with the feature store, for designing and launching campaigns.
fn app_with_analytics(store: &panorama_store::Store, analytics: &std::path::Path) -> Router {
    let config = panorama_analytics::Config::default_config();
    panorama_web::router(
        store.clone(),
        panorama_web::WebConfig {
            tiers: panorama_web::TierLabel::of(&config),
            analytics: Some(panorama_web::WebAnalytics {
                dir: analytics.to_path_buf(),
                config,
            }),
            ..panorama_web::WebConfig::default()
        },
    )
}

/// The first customer of an RM (by the API, in their scope).
async fn first_customer(c: &mut Client) -> (i64, Value) {
    let r = c.get("/api/customers?per_page=5").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert!(j["total"].as_i64().unwrap() > 0, "the RM has customers");
    let first = j["customers"][0].clone();
    (first["id"].as_i64().unwrap(), first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_as_every_role_with_scope_masking_and_audit() {
    // Server errors are logged: show them with the failure.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("panorama_web=error")
        .with_test_writer()
        .try_init();
    let dir = generated_bank(600, 11);
    for (k, store) in test_support::both("every_route_as_every_role_with_scope_masking_and_audit")
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        demo_bank(&store, dir.path(), k).await;
        let app = app(&store);

        let mut rm1 = Client::login(&app, "rm1").await;
        let mut rm2 = Client::login(&app, "rm2").await;
        let (mine, listed) = first_customer(&mut rm1).await;
        let (theirs, _) = first_customer(&mut rm2).await;
        assert_ne!(mine, theirs);
        // Masked in lists for an RM: mobile 138****5678.
        if let Some(m) = listed["mobile"].as_str() {
            assert!(m.contains("****"), "{m}");
        }
        // A customer outside the bank's first branch, seen only by the whole-bank roles.
        let mut exec = Client::login(&app, "exec1").await;
        let mut bm = Client::login(&app, "bm1").await;
        let bm_total = bm.get("/api/customers?per_page=1").await.json()["total"]
            .as_i64()
            .unwrap();
        let all_total = exec.get("/api/customers?per_page=1").await.json()["total"]
            .as_i64()
            .unwrap();
        assert!(
            bm_total < all_total,
            "a branch is part of the bank: {bm_total} < {all_total}"
        );
        let outside = {
            let all = exec.get("/api/customers?per_page=500").await.json();
            let mut found = None;
            for c in all["customers"].as_array().unwrap() {
                let id = c["id"].as_i64().unwrap();
                if bm.get(&format!("/api/customers/{id}")).await.status == StatusCode::NOT_FOUND {
                    found = Some(id);
                    break;
                }
            }
            found.expect("a customer outside bm1's branch")
        };

        // The matrix: (method, path, expected status for each caller).
        let callers = [
            "", "admin", "rm1", "bm1", "analyst1", "steward1", "auditor1", "exec1", "agent1",
        ];
        let page = |s: u16| StatusCode::from_u16(s).unwrap();
        let mine_page = format!("/customers/{mine}");
        let theirs_page = format!("/customers/{theirs}");
        let outside_page = format!("/customers/{outside}");
        let mine_api = format!("/api/customers/{mine}");
        let theirs_api = format!("/api/customers/{theirs}");
        let outside_api = format!("/api/customers/{outside}");
        let audit_api = format!("/api/audit?customer={mine}");
        let mine_history = format!("{mine_api}/assignments");
        let theirs_history = format!("{theirs_api}/assignments");
        #[rustfmt::skip]
        let matrix: Vec<(&str, [u16; 9])> = vec![
            //                       anon admin rm1  bm1 analyst steward auditor exec agent
            ("/",                    [303, 303, 200, 200, 200, 200, 200, 200, 200]),
            ("/customers",           [303, 403, 200, 200, 200, 200, 200, 200, 200]),
            ("/search?q=13800000000",[303, 403, 200, 200, 200, 200, 200, 200, 200]),
            ("/customers/lookup?phone=19999999999", [303, 403, 200, 200, 200, 200, 200, 200, 200]),
            ("/login",               [200, 303, 303, 303, 303, 303, 303, 303, 303]),
            ("/api/complaints/999999", [401, 403, 404, 404, 403, 403, 403, 403, 404]),
            (&mine_page,             [303, 403, 200, 200, 200, 200, 200, 200, 200]),
            (&theirs_page,           [303, 403, 404, 200, 200, 200, 200, 200, 200]),
            (&outside_page,          [303, 403, 404, 404, 200, 200, 200, 200, 200]),
            ("/customers/999999999", [303, 403, 404, 404, 404, 404, 404, 404, 404]),
            ("/audit",               [303, 403, 403, 403, 403, 403, 200, 403, 403]),
            ("/users",               [303, 200, 403, 403, 403, 403, 403, 403, 403]),
            ("/no/such/page",        [404, 404, 404, 404, 404, 404, 404, 404, 404]),
            ("/api/me",              [401, 200, 200, 200, 200, 200, 200, 200, 200]),
            ("/api/customers",       [401, 403, 200, 200, 200, 200, 200, 200, 200]),
            (&mine_api,              [401, 403, 200, 200, 200, 200, 200, 200, 200]),
            (&theirs_api,            [401, 403, 404, 200, 200, 200, 200, 200, 200]),
            (&outside_api,           [401, 403, 404, 404, 200, 200, 200, 200, 200]),
            ("/api/search?q=13800000000", [401, 403, 200, 200, 200, 200, 200, 200, 200]),
            ("/api/alerts",          [401, 403, 200, 200, 200, 200, 200, 200, 200]),
            ("/api/alerts?since=x",  [401, 403, 400, 400, 400, 400, 400, 400, 400]),
            (&audit_api,             [401, 403, 403, 403, 403, 403, 200, 403, 403]),
            ("/api/audit?from=yesterday", [401, 403, 403, 403, 403, 403, 400, 403, 403]),
            ("/api/audit?from=2026-01-01&to=2026-12-31T23:59:59Z", [401, 403, 403, 403, 403, 403, 200, 403, 403]),
            ("/api/ecif/reviews",    [401, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/api/ecif/reviews?status=x", [401, 403, 403, 403, 403, 400, 403, 403, 403]),
            ("/api/ecif/reviews/999999999", [401, 403, 403, 403, 403, 404, 403, 403, 403]),
            ("/api/ecif/merges",     [401, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/api/ecif/quality",    [401, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/models",              [303, 403, 403, 200, 200, 403, 403, 200, 403]),
            ("/campaigns",           [303, 403, 403, 200, 200, 403, 403, 200, 403]),
            ("/api/models",          [401, 403, 403, 200, 200, 403, 403, 200, 403]),
            ("/api/campaigns",       [401, 403, 403, 200, 200, 403, 403, 200, 403]),
            ("/api/campaigns/999999", [401, 403, 403, 404, 404, 403, 403, 404, 403]),
            ("/api/campaigns/compare", [401, 403, 403, 200, 200, 403, 403, 200, 403]),
            ("/api/campaigns/effect?year=x", [401, 403, 403, 400, 400, 403, 403, 400, 403]),
            ("/campaigns/effect?year=x", [303, 403, 403, 200, 200, 403, 403, 200, 403]),
            ("/campaigns/new",       [303, 403, 403, 403, 200, 403, 403, 403, 403]),
            ("/campaigns/999999",    [303, 403, 403, 404, 404, 403, 403, 404, 403]),
            ("/campaigns/999999/members.csv", [401, 403, 403, 403, 404, 403, 403, 403, 403]),
            ("/opportunities",       [303, 403, 200, 200, 403, 403, 403, 200, 403]),
            ("/api/users",           [401, 200, 403, 403, 403, 403, 403, 403, 403]),
            ("/assignments",         [303, 403, 403, 200, 403, 403, 403, 403, 403]),
            ("/appraisal/rules",     [303, 403, 403, 403, 403, 403, 403, 200, 403]),
            ("/api/appraisal/rules", [401, 403, 403, 403, 403, 403, 403, 200, 403]),
            ("/complaints",          [303, 403, 200, 200, 403, 403, 403, 403, 200]),
            ("/targets",             [303, 403, 403, 200, 403, 403, 403, 200, 403]),
            ("/dashboard",           [303, 403, 403, 200, 403, 403, 403, 200, 403]),
            ("/service",             [303, 403, 200, 200, 403, 403, 403, 403, 200]),
            ("/referrals",           [303, 403, 200, 200, 403, 403, 403, 403, 403]),
            ("/api/referrals",       [401, 403, 200, 200, 403, 403, 403, 403, 403]),
            ("/ecif",                [303, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/ecif/merges",         [303, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/ecif/quality",        [303, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/ecif/relationships",  [303, 403, 403, 403, 403, 200, 403, 403, 403]),
            ("/api/service?phone=19999999999", [401, 403, 404, 404, 403, 403, 403, 403, 404]),
            ("/api/dashboard",       [401, 403, 403, 200, 403, 403, 403, 200, 403]),
            ("/dashboard.xlsx",      [401, 403, 403, 200, 403, 403, 403, 200, 403]),
            ("/api/dashboard?period=soon", [401, 403, 403, 400, 403, 403, 403, 400, 403]),
            ("/api/targets",         [401, 403, 403, 200, 403, 403, 403, 200, 403]),
            ("/api/targets?period=2026-Q9", [401, 403, 403, 400, 403, 403, 403, 400, 403]),
            ("/api/indicators",      [401, 403, 403, 200, 403, 403, 403, 200, 403]),
            ("/complaints/999999",   [303, 403, 404, 404, 403, 403, 403, 403, 404]),
            ("/api/complaints",      [401, 403, 200, 200, 403, 403, 403, 403, 200]),
            ("/api/complaints?status=x", [401, 403, 400, 400, 403, 403, 403, 403, 400]),
            ("/api/satisfaction",    [401, 403, 200, 200, 403, 403, 403, 200, 403]),
            ("/api/assignments",     [401, 403, 403, 200, 403, 403, 403, 403, 403]),
            (&mine_history,          [401, 403, 200, 200, 200, 200, 200, 200, 200]),
            (&theirs_history,        [401, 403, 404, 200, 200, 200, 200, 200, 200]),
            ("/api/opportunities",   [401, 403, 200, 200, 403, 403, 403, 200, 403]),
            ("/api/opportunities?stage=x", [401, 403, 400, 400, 403, 403, 403, 400, 403]),
            ("/api/openapi.json",    [200, 200, 200, 200, 200, 200, 200, 200, 200]),
            ("/healthz",             [200, 200, 200, 200, 200, 200, 200, 200, 200]),
            ("/metrics",             [401, 200, 403, 403, 403, 403, 403, 403, 403]),
        ];
        // New routes join the matrix by default: every GET route the router
        // declares is asked for above, or exempted here with its reason.
        let exempt = [
            (
                "/lang/{lang}",
                "sets the language cookie and redirects; no data",
            ),
            (
                "/survey/{token}",
                "the customer's survey link: tested with its token in a_complaint_lives_from_the_call_to_the_survey",
            ),
        ];
        let router_source = include_str!("../crates/panorama-web/src/lib.rs");
        for route in router_source.split(".route(\"").skip(1) {
            let Some((pattern, handlers)) = route.split_once('"') else {
                continue;
            };
            let handlers = handlers.split(")\n").next().unwrap_or("");
            let reads = handlers.contains(" get(") || handlers.contains(".get(");
            if !reads || exempt.iter().any(|(e, _)| *e == pattern) {
                continue;
            }
            let covered = matrix.iter().any(|(path, _)| {
                let path = path.split('?').next().unwrap_or(path);
                let (a, b): (Vec<&str>, Vec<&str>) =
                    (pattern.split('/').collect(), path.split('/').collect());
                a.len() == b.len()
                    && a.iter()
                        .zip(&b)
                        .all(|(x, y)| x == y || (x.starts_with('{') && !y.is_empty()))
            });
            assert!(
                covered,
                "GET {pattern} is not in the route x role matrix: add it, or exempt it with a reason"
            );
        }
        let mut clients = Vec::new();
        for who in callers {
            clients.push(if who.is_empty() {
                Client::anonymous(&app)
            } else {
                Client::login(&app, who).await
            });
        }
        let pii = Pii::of(&store).await;
        assert!(
            !pii.ids.is_empty() && !pii.accounts.is_empty() && !pii.births.is_empty(),
            "the bank holds personal data to look for"
        );
        for (path, expected) in &matrix {
            for (k, c) in clients.iter_mut().enumerate() {
                let r = c.get(path).await;
                assert_eq!(
                    r.status,
                    page(expected[k]),
                    "GET {path} as {:?}: {}",
                    callers[k],
                    r.body.chars().take(200).collect::<String>()
                );
                // The masking matrix: every answer a role gets is scanned
                // for personal data that role must not see in clear.
                if r.status == StatusCode::OK {
                    let text = if path.ends_with(".xlsx") {
                        let cells = xlsx_text(&r.raw);
                        assert!(
                            cells.lines().count() > 10,
                            "{path}: the scan reads its cells"
                        );
                        cells
                    } else {
                        r.body.clone()
                    };
                    pii.assert_absent(&text, callers[k], path);
                }
            }
        }
        // List reads are audited with their filters and row counts.
        for (who, action) in [
            ("rm1", "customer.list"),
            ("bm1", "assignment.list"),
            ("steward1", "ecif.review.list"),
            ("agent1", "complaint.list"),
            ("rm1", "opportunity.list"),
        ] {
            let events = clients[6]
                .audit_events(&format!("/api/audit?actor={who}&action={action}"))
                .await;
            assert!(
                events
                    .iter()
                    .any(|e| e["detail"].as_str().is_some_and(|d| d.ends_with(" rows"))),
                "{who} {action}: {events:?}"
            );
        }
        // The list's numeric filters work over the API (they always answered
        // 400), and a page number that would overflow is refused.
        let r = clients[2]
            .get("/api/customers?min_aum=1000&page=0&per_page=5")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = clients[2]
            .get("/api/customers?page=9223372036854775807")
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

        // Alerts are scoped like customers: rm1 sees alerts of rm1's
        // customers only, and fewer than the whole bank's.
        let rm_alerts = clients[2].get("/api/alerts?since=2000-01-01").await.json();
        let rm_alerts = rm_alerts["alerts"].as_array().unwrap().clone();
        let all_alerts = clients[7].get("/api/alerts?since=2000-01-01").await.json();
        let all_alerts = all_alerts["alerts"].as_array().unwrap().len();
        assert!(!rm_alerts.is_empty() && rm_alerts.len() < all_alerts);
        for a in &rm_alerts {
            let id = a["customer_id"].as_i64().unwrap();
            let r = clients[2].get(&format!("/api/customers/{id}")).await;
            assert_eq!(r.status, StatusCode::OK, "alert {a} outside rm1's scope");
        }
        // The workbench lists them, and their tasks, in the chosen language.
        let home = clients[2].get("/").await.body;
        assert!(home.contains("id=\"alerts\""));
        let first = rm_alerts[0]["message"].as_str().unwrap();
        assert!(home.contains(first), "{first}");

        // A page asked for without a login goes to the login form and back.
        let r = Client::anonymous(&app).get(&mine_page).await;
        assert_eq!(r.location, format!("/login?next=/customers/{mine}"));

        // Masking by role on the 360: RM masked ids, agent masked names,
        // analyst pseudonyms.
        let v = rm1.get(&mine_api).await.json();
        let name = v["profile"]["name"].as_str().unwrap().to_owned();
        if let Some(id) = v["profile"]["id_no"].as_str() {
            assert!(id.contains("********"), "{id}");
        }
        let agent = clients[8].get(&mine_api).await.json();
        if name.chars().count() >= 2 {
            assert!(agent["profile"]["name"].as_str().unwrap().contains('*'));
        }
        let analyst = clients[4].get(&mine_api).await.json();
        assert_eq!(analyst["profile"]["name"], v["profile"]["customer_no"]);
        assert_eq!(analyst["unmasked"], false);

        // Unmasking needs a reason and the CSRF token, and is audited.
        let r = rm1
            .form(
                &format!("/customers/{mine}/unmask"),
                &[("csrf", "wrong"), ("reason", "客户来电核实身份")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let csrf = rm1.csrf.clone();
        let r = rm1
            .form(
                &format!("/customers/{mine}/unmask"),
                &[("csrf", &csrf), ("reason", "客户来电核实身份")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(&name));
        // The scan of the matrix sees clear data where it is shown: the
        // audited unmask shows the card and account numbers.
        let clear = pii.found(&r.body, true);
        assert!(
            clear.as_ref().is_some_and(|(kind, ..)| *kind != "name"),
            "the unmasked 360 shows identifiers in clear: {clear:?}"
        );
        let r = clients[4]
            .form(
                &format!("/customers/{mine}/unmask"),
                &[("csrf", "x"), ("reason", "curious")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "analysts may not unmask");

        // A contact with a follow-up becomes a task on the RM's workbench.
        let r = rm1
            .form(
                &format!("/customers/{mine}/contacts"),
                &[
                    ("csrf", &csrf),
                    ("channel", "phone"),
                    ("outcome", "约定面谈"),
                    ("notes", "理财到期"),
                    ("follow_up_on", "2026-12-01"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = rm1.get(&mine_page).await;
        assert!(page.body.contains("约定面谈"));
        let home = rm1.get("/").await;
        assert!(home.body.contains("2026-12-01"));
        // Not for another RM's customer, even with a valid token.
        let rm2_csrf = rm2.csrf.clone();
        let r = rm2
            .form(
                &format!("/customers/{mine}/contacts"),
                &[("csrf", &rm2_csrf), ("channel", "phone"), ("outcome", "x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // The screen pop by phone goes straight to the 360 when one customer matches.
        let mobile: Option<String> =
            sqlx::query_scalar("SELECT mobile FROM customer WHERE id = $1")
                .bind(mine)
                .fetch_one(store.pool())
                .await
                .unwrap();
        if let Some(m) = mobile {
            let hits: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM customer WHERE mobile = $1 AND status = 'active'",
            )
            .bind(&m)
            .fetch_one(store.pool())
            .await
            .unwrap();
            let r = rm1.get(&format!("/customers/lookup?phone={m}")).await;
            if hits == 1 {
                assert_eq!(r.location, mine_page);
            } else {
                assert_eq!(r.status, StatusCode::OK);
            }
        }

        // Pinyin: the name spelt out (as an agent types what they hear) and
        // its initials find the customer, in scope only.
        let name: String = sqlx::query_scalar("SELECT name FROM customer WHERE id = $1")
            .bind(mine)
            .fetch_one(store.pool())
            .await
            .unwrap();
        let keys = panorama_domain::pinyin::search_keys(&name);
        assert!(keys.len() >= 2, "{name}: {keys:?}");
        let found = |j: Value| {
            j["customers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"].as_i64() == Some(mine))
        };
        let spelt = keys[0].to_uppercase();
        let r = rm1
            .get(&format!("/api/search?q={}", urlencode(&spelt)))
            .await;
        assert!(found(r.json()), "{name} as {spelt}: {}", r.body);
        let r = rm1
            .get(&format!("/api/search?q={}", urlencode(&keys[0][..3])))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = rm2
            .get(&format!("/api/search?q={}", urlencode(&keys[0])))
            .await;
        assert!(!found(r.json()), "another RM's customer by pinyin");

        // The audit trail: views, the unmask with its reason, the denied view.
        let trail = clients[6]
            .get(&format!("/api/audit?customer={mine}"))
            .await
            .json();
        let events = trail["events"].as_array().unwrap();
        let has = |action: &str, actor: &str| {
            events
                .iter()
                .any(|e| e["action"] == action && e["actor"] == actor)
        };
        assert!(has("customer.view", "rm1"));
        assert!(has("customer.unmask", "rm1"));
        assert!(
            events
                .iter()
                .any(|e| e["action"] == "customer.unmask" && e["reason"] == "客户来电核实身份")
        );
        assert!(has("contact.record", "rm1"));
        let denied = clients[6]
            .get("/api/audit?actor=rm1&action=customer.view")
            .await
            .json();
        assert!(
            denied["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["outcome"] == "denied")
        );

        // Five wrong passwords lock the account, even for the right one next.
        let mut mallory = Client::anonymous(&app);
        for _ in 0..5 {
            let r = mallory
                .send(
                    "POST",
                    "/api/login",
                    Some((
                        "application/json",
                        r#"{"username":"rm3","password":"guess"}"#.into(),
                    )),
                )
                .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let r = mallory
            .send(
                "POST",
                "/api/login",
                Some((
                    "application/json",
                    format!(r#"{{"username":"rm3","password":"{PASSWORD}"}}"#),
                )),
            )
            .await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        let fails = clients[6]
            .get("/api/audit?actor=rm3&action=login")
            .await
            .json();
        assert_eq!(fails["events"].as_array().unwrap().len(), 6);

        // Logout ends the session.
        let csrf = rm1.csrf.clone();
        let r = rm1.form("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(rm1.get("/api/me").await.status, StatusCode::UNAUTHORIZED);

        // The richest-first list walks the bank by AUM for a large
        // portfolio (here: every assignment moved to rm1, and a branch manager's
        // subtree, a customer a page); ranking the portfolio, forced by a
        // feature filter every customer with features passes, gives the
        // same pages.
        let rm1_id: i64 = sqlx::query_scalar("SELECT id FROM app_user WHERE username = 'rm1'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE assignment SET rm_user_id = $1 WHERE to_date IS NULL")
            .bind(rm1_id)
            .execute(store.pool())
            .await
            .unwrap();
        let bm1 = panorama_store::ocrm::user_by_username(&store, "bm1")
            .await
            .unwrap()
            .unwrap();
        let subtree = panorama_store::ocrm::Scope::Subtree(bm1.org_path.clone());
        for (scope, per_page) in [
            (panorama_store::ocrm::Scope::Assigned(rm1_id), 1),
            (subtree, 1),
        ] {
            for page in 0..4 {
                let ids = |filter: panorama_store::ocrm::CustomerFilter| {
                    let scope = scope.clone();
                    let store = &store;
                    async move {
                        let (rows, _) =
                            panorama_store::ocrm::customers(store, &scope, &filter, page, per_page)
                                .await
                                .unwrap();
                        rows.iter().map(|r| r.id).collect::<Vec<_>>()
                    }
                };
                let walked = ids(panorama_store::ocrm::CustomerFilter::default()).await;
                let ranked = ids(panorama_store::ocrm::CustomerFilter {
                    min_aum: Some(i64::MIN / 1000),
                    ..Default::default()
                })
                .await;
                assert_eq!(walked.len() as i64, per_page);
                assert_eq!(walked, ranked, "{scope:?} page {page}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steward_works_the_review_queue_and_undoes_a_merge() {
    let dir = generated_bank(300, 12);
    for (store, app) in demo_stores(
        "steward_works_the_review_queue_and_undoes_a_merge",
        dir.path(),
    )
    .await
    {
        // Two persons' first records, queued as an uncertain pair.
        let two: Vec<i64> = sqlx::query_scalar(
            "SELECT MIN(x.source_record_id) FROM customer_xref x JOIN source_record r ON r.id = x.source_record_id \
             WHERE r.party_type = 'person' AND r.id_no IS NOT NULL GROUP BY x.customer_id ORDER BY MIN(x.source_record_id) LIMIT 2",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let customer_of = |record: i64| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT customer_id FROM customer_xref WHERE source_record_id = $1",
                )
                .bind(record)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };
        let (a, b) = (customer_of(two[0]).await, customer_of(two[1]).await);
        let review: i64 = sqlx::query_scalar(
            "INSERT INTO match_review (left_record_id, right_record_id, match_probability, evidence, status) \
             VALUES ($1, $2, 0.71, $3, 'open') RETURNING id",
        )
        .bind(two[0])
        .bind(two[1])
        .bind(r#"{"name":{"level":"pinyin","weight":3.1},"mobile":{"level":"different","weight":-2.4}}"#)
        .fetch_one(store.pool())
        .await
        .unwrap();

        let mut steward = Client::login(&app, "steward1").await;
        let csrf = steward.csrf.clone();
        // The queue: both records side by side, masked, with the evidence as JSON.
        let queue = steward.get("/api/ecif/reviews?limit=500").await.json();
        let pair = queue["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == review)
            .unwrap()
            .clone();
        assert_eq!(pair["left"]["record_id"], two[0]);
        assert_eq!(pair["evidence"]["name"]["level"], "pinyin");
        let masked_id = pair["left"]["id_no"].as_str().unwrap().to_owned();
        assert!(masked_id.contains("****"), "{masked_id}");
        // In clear only with a reason and the token; the reason is audited.
        let uri = format!("/api/ecif/reviews/{review}/unmask");
        assert_eq!(
            steward
                .post_api(&uri, r#"{"reason":"核对身份证"}"#, "wrong")
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            steward
                .post_api(&uri, r#"{"reason":" "}"#, &csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        let clear = steward
            .post_api(&uri, r#"{"reason":"核对身份证"}"#, &csrf)
            .await;
        assert_eq!(clear.status, StatusCode::OK, "{}", clear.body);
        let raw: String = sqlx::query_scalar("SELECT id_no FROM source_record WHERE id = $1")
            .bind(two[0])
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(clear.json()["left"]["id_no"], raw);

        // Other roles may not decide.
        let mut rm = Client::login(&app, "rm1").await;
        let rm_csrf = rm.csrf.clone();
        let r = rm
            .post_api(&format!("/api/ecif/reviews/{review}/accept"), "", &rm_csrf)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // Accept: one customer now, recorded as a merge event.
        let r = steward
            .post_api(&format!("/api/ecif/reviews/{review}/accept"), "", &csrf)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["review"]["status"], "accepted");
        assert_eq!(customer_of(two[0]).await, customer_of(two[1]).await);
        // Deciding twice is a conflict, not a second merge.
        let again = steward
            .post_api(&format!("/api/ecif/reviews/{review}/reject"), "", &csrf)
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        let merges = steward.get("/api/ecif/merges").await.json();
        let event = merges["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["kind"] == "merge"
                    && e["evidence"]["review"] == review
                    && e["undone_by"].is_null()
            })
            .unwrap()
            .clone();
        let absorbed = event["absorbed_customer_id"].as_i64().unwrap();
        assert!([a, b].contains(&absorbed));
        // The absorbed customer is no longer found by pinyin; the survivor is.
        let keys_of = |id: i64| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM customer_name_key k JOIN customer c \
                     ON c.id = k.customer_id AND c.name = k.source_name WHERE k.customer_id = $1",
                )
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };
        let survivor = if absorbed == a { b } else { a };
        assert_eq!(keys_of(absorbed).await, 0);
        assert!(keys_of(survivor).await >= 2);

        // Undo: both customers again, under their own ids; twice is a conflict.
        let undo = format!("/api/ecif/merges/{}/undo", event["id"]);
        let r = steward.post_api(&undo, "", &csrf).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(customer_of(two[0]).await, a);
        assert_eq!(customer_of(two[1]).await, b);
        assert!(keys_of(absorbed).await >= 2, "keyed again after the undo");
        assert_eq!(
            steward.post_api(&undo, "", &csrf).await.status,
            StatusCode::CONFLICT
        );

        // Data quality: every source system with its record count.
        let dq = steward.get("/api/ecif/quality").await.json();
        let systems = dq["systems"].as_array().unwrap();
        let records: i64 = systems.iter().map(|s| s["records"].as_i64().unwrap()).sum();
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM source_record")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(records, stored);

        // Every action is in the audit trail under the steward's name.
        let mut auditor = Client::login(&app, "auditor1").await;
        let trail = auditor.get("/api/audit?actor=steward1").await.json();
        let actions: Vec<&str> = trail["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for action in [
            "ecif.review.unmask",
            "ecif.review.accept",
            "ecif.merge",
            "ecif.unmerge",
        ] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
    }
}

/// A trained version's report as `model train` stores it (abridged).
const CARD_METRICS: &str = r#"{"learner":"gbdt",
 "test":{"kind":"out-of-time","as_of":"2026-04-30","rows":100,"positives":10,"auc":0.8,"ks":0.4,
  "deciles":[{"decile":1,"customers":50,"positives":8,"mean_score":0.15,"rate":0.16,"lift":1.6,"cumulative_gain":0.8},
             {"decile":2,"customers":50,"positives":2,"mean_score":0.05,"rate":0.04,"lift":0.4,"cumulative_gain":1.0}]},
 "validation":{"kind":"holdout","as_of":"2025-10-31","rows":50,"positives":5,"auc":0.79,"ks":0.3,"deciles":[]},
 "tuning":{"chosen":"42 trees of 52 grown","validation_loss":0.3}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_read_campaign_results_and_model_evaluations() {
    let dir = generated_bank(200, 13);
    for (store, app) in demo_stores(
        "analysts_read_campaign_results_and_model_evaluations",
        dir.path(),
    )
    .await
    {
        use panorama_store::campaigns as c;
        let id = c::create(
            &store,
            &c::NewCampaign {
                name: "测试活动",
                objective: "cross_sell",
                eligibility: "{}",
                control_share_bp: 5000,
                seed: 1,
                starts_on: None,
                ends_on: None,
                response_rule: None,
                budget_minor: None,
                priority: 0,
                arms: &[("A".to_owned(), None, None)],
                created_by: "analyst1",
                trigger_event: None,
            },
        )
        .await
        .unwrap();
        // Approval through the API: not by the designer, with the token, once.
        let mut designer = Client::login(&app, "analyst1").await;
        let token = designer.csrf.clone();
        let approve = format!("/api/campaigns/{id}/approve");
        assert_eq!(
            designer.post_api(&approve, "", "wrong").await.status,
            StatusCode::FORBIDDEN
        );
        // An analyst designs; a branch manager or an executive approves.
        let r = designer.post_api(&approve, "", &token).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let mut bm = Client::login(&app, "bm1").await;
        let bm_token = bm.csrf.clone();
        let r = bm.post_api(&approve, "", &bm_token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["status"], "approved");
        // Approving it again conflicts with its state: 409, not a bad request.
        let r = bm.post_api(&approve, "", &bm_token).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(
            r.body.contains("only a draft can be approved"),
            "{}",
            r.body
        );
        assert_eq!(
            bm.post_api("/api/campaigns/999999/approve", "", &bm_token)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let customers: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM customer ORDER BY id LIMIT 100")
                .fetch_all(store.pool())
                .await
                .unwrap();
        // 50 treated of whom 20 respond; 50 control of whom 5 do.
        let members: Vec<c::MemberWrite> = customers
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let arm = if i < 50 { "A" } else { "control" };
                (*id, arm.to_owned(), i >= 50, "rm".to_owned(), None)
            })
            .collect();
        c::launch(
            &store,
            id,
            "2026-10-31",
            &members,
            c::Work::default(),
            "analyst1",
            "test",
        )
        .await
        .unwrap();
        let responders: Vec<(i64, String, Option<i64>)> = customers[..20]
            .iter()
            .chain(&customers[50..55])
            .map(|c| (*c, "2026-11-15".to_owned(), None))
            .collect();
        c::write_responses(&store, id, "contact", &responders)
            .await
            .unwrap();

        let mut analyst = Client::login(&app, "analyst1").await;
        let r = analyst.get(&format!("/api/campaigns/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let j = r.json();
        let arm = |name: &str| {
            j["results"]["arms"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["arm"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(arm("A")["rate"]["responders"], 20);
        assert_eq!(arm("control")["rate"]["members"], 50);
        let lift = arm("A")["lift"]["difference"].as_f64().unwrap();
        assert!((lift - 0.3).abs() < 1e-9, "{lift}");
        assert!(arm("A")["lift"]["p_value"].as_f64().unwrap() < 0.01);
        let page = analyst.get("/campaigns").await;
        assert!(
            page.body.contains("测试活动") && page.body.contains("+30.00pp"),
            "{}",
            page.body
        );
        let page = analyst.get("/models").await;
        assert_eq!(page.status, StatusCode::OK);
        let mut rm = Client::login(&app, "rm1").await;
        assert_eq!(rm.get("/campaigns").await.status, StatusCode::FORBIDDEN);

        // An approved model's score and reasons on the RM's 360, with the
        // best uptake as the next product to offer.
        use panorama_store::models as m;
        let (customer, _) = first_customer(&mut rm).await;
        let features =
            r#"[{"name":"avg_settlement","zh":"结算月日均余额","en":"settlement balance"}]"#;
        let mut ids = Vec::new();
        for (name, kind) in [("card", "uptake:card"), ("wealth", "uptake:wealth")] {
            let mut tx = store.begin().await.unwrap();
            let (id, _) = m::register(
                &mut tx,
                &m::NewModel {
                    kind,
                    name,
                    features,
                    train_from: "2025-10-31",
                    train_to: "2026-04-30",
                    metrics: if name == "card" { CARD_METRICS } else { "{}" },
                    artefact: "{}",
                    created_by: "analyst1",
                },
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            ids.push(id);
        }
        // Each version's evaluation: validation (and what it chose), the
        // test's gains and calibration charts.
        let page = analyst.get("/models").await.body;
        assert!(
            page.contains("验证集") && page.contains("42 trees of 52 grown"),
            "{page}"
        );
        assert!(
            page.contains("data-chart=\"calibration\" data-src=\"/api/models\"")
                && page.contains("data-chart=\"gains\" data-src=\"/api/models\""),
            "{page}"
        );
        for (id, score) in ids.iter().zip([0.12, 0.41]) {
            let row = panorama_ocrm::approval::approve_model(&store, *id, "exec1")
                .await
                .unwrap();
            let mut tx = store.begin().await.unwrap();
            let scores = [(customer, score, r#"[["avg_settlement",0.8]]"#.to_owned())];
            m::write_scores(
                &mut tx,
                store.backend(),
                "2026-10-31",
                &[(&row, &scores[..])],
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
        }
        let page = rm.get(&format!("/customers/{customer}")).await.body;
        assert!(
            page.contains("id=\"scores\"") && page.contains("结算月日均余额"),
            "{page}"
        );
        let best = page.split("id=\"next-best\"").nth(1).unwrap_or_default();
        assert!(best.contains("wealth") && best.contains("41.0%"), "{best}");
        let view = rm.get(&format!("/api/customers/{customer}")).await.json();
        assert_eq!(view["scores"].as_array().unwrap().len(), 2, "{view}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns_are_designed_approved_launched_finished_and_compared_over_the_api() {
    let dir = generated_bank(300, 17);
    for (k, (store, app)) in demo_stores(
        "campaigns_are_designed_approved_launched_finished_and_compared_over_the_api",
        dir.path(),
    )
    .await
    .into_iter()
    .enumerate()
    {
        let analytics = dir.path().join(format!("analytics-{k}"));
        let mut analyst = Client::login(&app, "analyst1").await;
        let token = analyst.csrf.clone();
        // The designer previews the segment on the latest features.
        let r = analyst
            .post_api(
                "/api/campaigns/preview",
                r#"{"segment":"aum >= 0"}"#,
                &token,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let eligible = r.json()["eligible"].as_i64().unwrap();
        assert!(eligible > 100, "{}", r.body);
        // Designs that cannot work are refused with the reason, nothing stored.
        for (body, reason) in [
            (r#"{"name":"x","segment":"aum >>= 1"}"#, ""),
            (
                r#"{"name":"x","segment":"no_such_feature > 1"}"#,
                "no_such_feature",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","product":"NOPE"}"#,
                "NOPE",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","objective":"win"}"#,
                "win",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","control":"1.5"}"#,
                "1.5",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","arms":["A","control"]}"#,
                "control",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","response":"holds("}"#,
                "response",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","score_model":"none"}"#,
                "none",
            ),
            (r#"{"name":"","segment":"aum >= 0"}"#, "name"),
            (
                r#"{"name":"x","segment":"aum >= 0","capacity":{"sms":5}}"#,
                "not one of the campaign's channels",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","offers":[{"arm":"Z","script":"x"}]}"#,
                "an offer for arm Z",
            ),
            (
                r#"{"name":"x","segment":"aum >= 0","exclude":"holds("}"#,
                "exclusions",
            ),
        ] {
            let r = analyst.post_api("/api/campaigns", body, &token).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.body);
            assert!(r.body.contains(reason), "{body}: {}", r.body);
        }
        let design = serde_json::json!({
            "name": "理财体验", "objective": "cross_sell", "segment": "aum >= 0",
            "control": 0.2, "arms": ["A", "B"], "seed": 7, "budget": "5,000",
            "channel": ["rm", "branch"], "per_rm": 2,
            "script": "A方案话术", "offers": [{"arm": "B", "script": "B方案话术"}],
            "response": "holds('wealth')", "response_days": 30
        })
        .to_string();
        assert_eq!(
            analyst
                .post_api("/api/campaigns", &design, "wrong")
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let mut rm = Client::login(&app, "rm1").await;
        let rm_token = rm.csrf.clone();
        assert_eq!(
            rm.post_api("/api/campaigns", &design, &rm_token)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let r = analyst.post_api("/api/campaigns", &design, &token).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        let drafts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaign")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(drafts, 1, "the refused designs left nothing");
        let launch = format!("/api/campaigns/{id}/launch");
        let r = analyst.post_api(&launch, "{}", &token).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(r.body.contains("approved"), "{}", r.body);
        // A branch manager approves; the analyst launches.
        let mut bm = Client::login(&app, "bm1").await;
        let bm_token = bm.csrf.clone();
        let r = bm
            .post_api(&format!("/api/campaigns/{id}/approve"), "", &bm_token)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            bm.post_api(&launch, "{}", &bm_token).await.status,
            StatusCode::FORBIDDEN
        );
        let r = analyst.post_api(&launch, "{}", &token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let l = r.json()["launch"].clone();
        let members = l["members"].as_i64().unwrap();
        let control = l["control"].as_i64().unwrap();
        assert!(members > 100, "{l}");
        assert!(
            (control as f64 / members as f64 - 0.2).abs() < 0.06,
            "{control} of {members}"
        );
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM campaign_member WHERE campaign_id = $1")
                .bind(id)
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(stored, members);
        let kept: Vec<(String, i64)> = sqlx::query_as(
            "SELECT arm, members FROM campaign_arm WHERE campaign_id = $1 ORDER BY arm",
        )
        .bind(id)
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(
            kept.iter().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            ["A", "B", "control"]
        );
        assert_eq!(kept.iter().map(|k| k.1).sum::<i64>(), members);
        assert_eq!(
            analyst.post_api(&launch, "{}", &token).await.status,
            StatusCode::CONFLICT,
            "launched once"
        );
        // Two calls per RM at most; the other treated members are offered
        // at the branch.
        let calls: Vec<i64> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM task WHERE campaign_id = $1 GROUP BY owner_user_id",
        )
        .bind(id)
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert!(
            !calls.is_empty() && calls.iter().all(|n| *n <= 2),
            "{calls:?}"
        );
        assert_eq!(
            l["by_channel"]["rm"].as_i64(),
            Some(calls.iter().sum()),
            "{l}"
        );
        assert_eq!(
            l["by_channel"]["rm"].as_i64().unwrap() + l["by_channel"]["branch"].as_i64().unwrap(),
            members - control,
            "{l}"
        );
        // Treated members' offers are on their 360 with their arm's script;
        // a control member is offered nothing.
        let mut agent = Client::login(&app, "agent1").await;
        for (arm, script) in [
            ("A", Some("A方案话术")),
            ("B", Some("B方案话术")),
            ("control", None),
        ] {
            let customer: i64 = sqlx::query_scalar(
                "SELECT customer_id FROM campaign_member WHERE campaign_id = $1 AND arm = $2 LIMIT 1",
            )
            .bind(id)
            .bind(arm)
            .fetch_one(store.pool())
            .await
            .unwrap();
            let page = agent.get(&format!("/customers/{customer}")).await.body;
            match script {
                Some(s) => {
                    let offers = page.split("id=\"live-offers\"").nth(1).unwrap_or_default();
                    assert!(
                        offers.contains(s) && offers.contains("理财体验"),
                        "{arm}: {page}"
                    );
                }
                None => assert!(!page.contains("id=\"live-offers\""), "{arm}: {page}"),
            }
        }
        // The members file: ids and arms, no personal data.
        let csv = analyst.get(&format!("/campaigns/{id}/members.csv")).await;
        assert_eq!(csv.status, StatusCode::OK);
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines[0], "customer_id,arm");
        assert_eq!(lines.len() as i64, members + 1);
        // Responses from the RMs' calls, then the results per arm.
        let treated: Vec<i64> = sqlx::query_scalar(
            "SELECT customer_id FROM campaign_member WHERE campaign_id = $1 AND arm = 'A' ORDER BY customer_id LIMIT 10",
        )
        .bind(id)
        .fetch_all(store.pool())
        .await
        .unwrap();
        let responses: Vec<(i64, String, Option<i64>)> = treated
            .iter()
            .map(|c| (*c, "2026-11-05".to_owned(), Some(80_000)))
            .collect();
        panorama_store::campaigns::write_responses(&store, id, "contact", &responses)
            .await
            .unwrap();
        let j = analyst.get(&format!("/api/campaigns/{id}")).await.json();
        let a = j["results"]["arms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["arm"] == "A")
            .unwrap()
            .clone();
        assert_eq!(a["rate"]["responders"], 10, "{j}");
        assert_eq!(j["results"]["economics"]["cost_minor"], 500_000, "{j}");
        assert_eq!(
            j["results"]["economics"]["value_per_response_minor"],
            80_000
        );
        let page = analyst.get(&format!("/campaigns/{id}")).await.body;
        assert!(
            page.contains("id=\"rate-chart\"") && page.contains("id=\"curve-chart\""),
            "{page}"
        );
        // Finished: the results are kept; a late response changes nothing.
        let r = analyst
            .post_api(
                &format!("/api/campaigns/{id}/finish"),
                r#"{"on":"2026-11-30"}"#,
                &token,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let late: i64 = sqlx::query_scalar(
            "SELECT customer_id FROM campaign_member WHERE campaign_id = $1 AND arm = 'B' ORDER BY customer_id LIMIT 1",
        )
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap();
        panorama_store::campaigns::write_responses(
            &store,
            id,
            "contact",
            &[(late, "2026-12-05".to_owned(), None)],
        )
        .await
        .unwrap();
        let j = analyst.get(&format!("/api/campaigns/{id}")).await.json();
        assert_eq!(j["status"], "finished");
        assert_eq!(j["finished_on"], "2026-11-30");
        assert_eq!(j["results"]["frozen"], true);
        let responders: i64 = j["results"]["arms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["rate"]["responders"].as_i64().unwrap())
            .sum();
        assert_eq!(responders, 10, "{j}");
        // Compared with every launched campaign on the same measures.
        let mut exec = Client::login(&app, "exec1").await;
        let all = exec.get("/api/campaigns/compare").await.json();
        let row = all["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(row["treated"]["members"], members - control, "{row}");
        assert_eq!(row["treated"]["responders"], 10, "{row}");
        assert_eq!(row["control"]["members"], control, "{row}");
        assert_eq!(row["status"], "finished");
        assert!(exec.get("/campaigns").await.body.contains("理财体验"));
        // The whole programme against the year's universal control group:
        // from the first launch there is nothing yet to measure; from an
        // earlier baseline there is, once the batch has computed its features.
        let r = exec.get("/api/campaigns/effect").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("is not after the baseline"), "{}", r.body);
        // A read never writes: dates without computed features are refused,
        // and none are made for them (before, a GET stored features for any
        // date, and previews and launches then used invented ones).
        let baseline: chrono::NaiveDate = "2026-04-30".parse().unwrap();
        let future: chrono::NaiveDate = "2030-12-31".parse().unwrap();
        for query in [
            "from=2026-04-30&share=0.1",
            "from=2026-04-30&to=2030-12-31&share=0.1",
        ] {
            let r = exec.get(&format!("/api/campaigns/effect?{query}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
            assert!(
                r.body.contains("no features have been computed for"),
                "{}",
                r.body
            );
        }
        for day in [baseline, future] {
            assert!(
                !panorama_analytics::engine::features_path(&analytics, day).exists(),
                "a GET wrote the features of {day}"
            );
        }
        let config = panorama_analytics::Config::default_config();
        // The batch computes a past day's features; never a day without data.
        let err = panorama_analytics::batch::ensure_features(&store, &analytics, &config, future)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("data ends on"), "{err}");
        panorama_analytics::batch::ensure_features(&store, &analytics, &config, baseline)
            .await
            .unwrap();
        let e = exec
            .get("/api/campaigns/effect?from=2026-04-30&share=0.1")
            .await
            .json();
        let held = e["held_out"].as_u64().unwrap();
        let marketed = e["marketed"].as_u64().unwrap();
        assert!(held > 5 && marketed > 5 * held, "{e}");
        assert_eq!(
            e["uptake"]["marketed"]["members"].as_u64(),
            Some(marketed),
            "{e}"
        );
        assert_eq!(e["period"], "2026", "{e}");
        let page = exec
            .get("/campaigns/effect?from=2026-04-30&share=0.1")
            .await
            .body;
        assert!(
            page.contains("id=\"effect\"") && page.contains("资产变化"),
            "{page}"
        );
        let page = exec.get("/campaigns/effect?year=abc").await.body;
        assert!(
            page.contains("id=\"effect-error\"") && page.contains("year"),
            "{page}"
        );
        // Each step is in the audit trail.
        let mut auditor = Client::login(&app, "auditor1").await;
        let trail = auditor.get("/api/audit?actor=analyst1").await.json();
        let actions: Vec<String> = trail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap_or_default().to_owned())
            .collect();
        for action in [
            "campaign.create",
            "campaign.launch",
            "campaign.export",
            "campaign.finish",
        ] {
            assert!(
                actions.iter().any(|a| a == action),
                "{action} in {actions:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relationship_managers_work_their_opportunity_pipeline() {
    let dir = generated_bank(300, 13);
    for (store, app) in demo_stores(
        "relationship_managers_work_their_opportunity_pipeline",
        dir.path(),
    )
    .await
    {
        let mut rm1 = Client::login(&app, "rm1").await;
        let mut rm2 = Client::login(&app, "rm2").await;
        let (mine, _) = first_customer(&mut rm1).await;
        let (theirs, _) = first_customer(&mut rm2).await;
        let product: String = sqlx::query_scalar("SELECT code FROM product ORDER BY code LIMIT 1")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let csrf = rm1.csrf.clone();
        let body = |customer: i64, product: &str, amount: &str| {
            format!(
                r#"{{"customer_id":{customer},"product_code":"{product}","amount":"{amount}","expected_close":"2026-12-31","notes":"到期续作"}}"#
            )
        };

        // From the 360's form, then by the API; bad input is refused.
        let r = rm1
            .form(
                &format!("/customers/{mine}/opportunities"),
                &[
                    ("csrf", &csrf),
                    ("product_code", &product),
                    ("amount", "50,000"),
                    ("expected_close", "2026-12-15"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = rm1.get(&format!("/customers/{mine}")).await;
        assert!(page.body.contains("opportunity-form"));
        assert!(page.body.contains("50,000.00"), "the 360 lists it");
        let r = rm1
            .post_api(
                "/api/opportunities",
                &body(mine, &product, "120000.5"),
                &csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        for (bad, status) in [
            (body(mine, "NO-SUCH", "1"), StatusCode::BAD_REQUEST),
            (body(mine, &product, "-5"), StatusCode::BAD_REQUEST),
            (body(mine, &product, "1.234"), StatusCode::BAD_REQUEST),
            (body(theirs, &product, "1"), StatusCode::NOT_FOUND),
        ] {
            assert_eq!(
                rm1.post_api("/api/opportunities", &bad, &csrf).await.status,
                status,
                "{bad}"
            );
        }
        assert_eq!(
            rm1.post_api("/api/opportunities", &body(mine, &product, "1"), "wrong")
                .await
                .status,
            StatusCode::FORBIDDEN
        );

        // The pipeline: both leads, 170,000.50 yuan between them.
        let j = rm1.get("/api/opportunities").await.json();
        let leads: i64 = j["pipeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["stage"] == "lead")
            .map(|c| c["amount_minor"].as_i64().unwrap())
            .sum();
        assert_eq!(leads, 17_000_050);
        assert_eq!(j["opportunities"].as_array().unwrap().len(), 2);
        assert!(
            rm2.get("/api/opportunities").await.json()["opportunities"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Moved by its owner only, stage by stage; won is final.
        let stage = |s: &str| format!(r#"{{"stage":"{s}"}}"#);
        let uri = format!("/api/opportunities/{id}/stage");
        let rm2_csrf = rm2.csrf.clone();
        assert_eq!(
            rm2.post_api(&uri, &stage("won"), &rm2_csrf).await.status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            rm1.post_api(&uri, &stage("signed"), &csrf).await.status,
            StatusCode::BAD_REQUEST
        );
        for s in ["contacted", "proposal"] {
            let r = rm1.post_api(&uri, &stage(s), &csrf).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        assert_eq!(
            rm1.post_api(&uri, &stage("proposal"), &csrf).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            rm1.post_api(&uri, &stage("won"), &csrf).await.status,
            StatusCode::OK
        );
        assert_eq!(
            rm1.post_api(&uri, &stage("lead"), &csrf).await.status,
            StatusCode::CONFLICT
        );
        let history = panorama_store::pipeline::history(&store, id).await.unwrap();
        let stages: Vec<&str> = history.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(stages, ["lead", "contacted", "proposal", "won"]);
        let j = rm1.get("/api/opportunities?stage=won").await.json();
        assert_eq!(j["opportunities"][0]["id"], id);

        // The page: the stage bars and the move form on one's own.
        let page = rm1.get("/opportunities").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("pipeline-products") && page.body.contains("/stage\""));

        // An agent's referral goes to the customer's RM; the branch manager
        // sees the subtree's pipeline but cannot move rm1's opportunity.
        let mut agent = Client::login(&app, "agent1").await;
        let agent_csrf = agent.csrf.clone();
        let r = agent
            .post_api(
                "/api/opportunities",
                &body(mine, &product, "8000"),
                &agent_csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let referred = r.json()["id"].as_i64().unwrap();
        let j = rm1.get("/api/opportunities").await.json();
        assert!(
            j["opportunities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == referred)
        );
        let mut bm = Client::login(&app, "bm1").await;
        let bm_csrf = bm.csrf.clone();
        let j = bm.get("/api/opportunities").await.json();
        assert!(
            j["opportunities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["id"] == referred)
        );
        let r = bm
            .post_api(
                &format!("/api/opportunities/{referred}/stage"),
                &stage("lost"),
                &bm_csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // Contact preferences as the customer states them: kept for the
        // campaigns' contact policy, shown on the 360, audited; in scope only.
        let r = rm1
            .form(
                &format!("/customers/{mine}/preferences"),
                &[
                    ("csrf", &csrf),
                    ("opt_out_sms", "on"),
                    ("dnd_rest_days", "on"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let prefs = panorama_store::ocrm::preferences_of(&store, mine)
            .await
            .unwrap();
        assert!(
            prefs.opt_out_sms && prefs.dnd_rest_days && !prefs.opt_out_all && !prefs.opt_out_phone
        );
        let page = rm1.get(&format!("/customers/{mine}")).await.body;
        assert!(page.contains("拒收短信") && page.contains("休息日勿扰"));
        let r = rm2
            .form(
                &format!("/customers/{mine}/preferences"),
                &[("csrf", &rm2_csrf), ("opt_out_all", "on")],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(
            !panorama_store::ocrm::preferences_of(&store, mine)
                .await
                .unwrap()
                .opt_out_all
        );

        // A live campaign's call on rm1's list: its script on the workbench,
        // and the outcome recorded there; an accepted call is a response.
        let campaign: i64 = sqlx::query_scalar(
            "INSERT INTO campaign (name, objective, status, eligibility, control_share_bp, seed, created_by, created_at) \
             VALUES ('理财到期续作', 'retain', 'live', '{}', 1000, 1, 'analyst1', '2026-11-01') RETURNING id",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        sqlx::query("INSERT INTO offer (campaign_id, arm, product_code, script) VALUES ($1, 'A', $2, '您好，您的理财即将到期')")
            .bind(campaign)
            .bind(&product)
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO campaign_member (campaign_id, customer_id, arm, is_control, owner_user_id, selected_on) \
             VALUES ($1, $2, 'A', 0, (SELECT id FROM app_user WHERE username = 'rm1'), '2026-11-01')",
        )
        .bind(campaign)
        .bind(mine)
        .execute(store.pool())
        .await
        .unwrap();
        let call: i64 = sqlx::query_scalar(
            "INSERT INTO task (owner_user_id, customer_id, campaign_id, title, due_on, status, created_at) \
             VALUES ((SELECT id FROM app_user WHERE username = 'rm1'), $1, $2, '营销外呼', '2026-11-30', 'open', '2026-11-01') RETURNING id",
        )
        .bind(mine)
        .bind(campaign)
        .fetch_one(store.pool())
        .await
        .unwrap();
        let home = rm1.get("/").await.body;
        assert!(home.contains("您的理财即将到期") && home.contains(&format!("lead-save-{call}")));
        let uri = format!("/api/leads/{call}");
        assert_eq!(
            rm2.post_api(&uri, r#"{"outcome":"accepted"}"#, &rm2_csrf)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            rm1.post_api(&uri, r#"{"outcome":"maybe"}"#, &csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        let r = rm1.post_api(&uri, r#"{"outcome":"accepted"}"#, &csrf).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let source: String = sqlx::query_scalar(
            "SELECT source FROM campaign_response WHERE campaign_id = $1 AND customer_id = $2",
        )
        .bind(campaign)
        .bind(mine)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(source, "contact");
        let (status, contacts): (String, i64) = sqlx::query_as(
            "SELECT (SELECT status FROM task WHERE id = $1), \
                    (SELECT COUNT(*) FROM contact WHERE campaign_id = $2 AND outcome = 'accepted')",
        )
        .bind(call)
        .bind(campaign)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!((status.as_str(), contacts), ("done", 1));
        assert_eq!(
            rm1.post_api(&uri, r#"{"outcome":"accepted"}"#, &csrf)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "once"
        );

        // The workbench as rm1 arranges it: the pipeline first, then tasks;
        // the rest hidden (and not read).
        let home = rm1.get("/").await.body;
        assert!(home.contains("id=\"pipeline\"") && home.contains("id=\"my-customers\""));
        let r = rm1
            .post_api(
                "/api/me/workbench",
                r#"{"sections":["pipeline","tasks"]}"#,
                &csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let me = rm1.get("/api/me").await.json();
        assert_eq!(me["workbench"], serde_json::json!(["pipeline", "tasks"]));
        let home = rm1.get("/").await.body;
        let at = |id: &str| home.find(&format!("section id=\"{id}\""));
        assert!(at("pipeline").unwrap() < at("tasks").unwrap());
        assert!(at("my-customers").is_none() && at("alerts").is_none());
        assert_eq!(
            rm1.post_api("/api/me/workbench", r#"{"sections":["weather"]}"#, &csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        // The page's form: shown sections by their order numbers.
        let r = rm1
            .form(
                "/workbench/layout",
                &[
                    ("csrf", &csrf),
                    ("show_customers", "on"),
                    ("order_customers", "1"),
                    ("show_alerts", "on"),
                    ("order_alerts", "2"),
                    ("order_tasks", "3"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let me = rm1.get("/api/me").await.json();
        assert_eq!(me["workbench"], serde_json::json!(["customers", "alerts"]));
        // A section the role may not see is never shown (an auditor's leads).
        let mut auditor = Client::login(&app, "auditor1").await;
        let auditor_csrf = auditor.csrf.clone();
        auditor
            .post_api(
                "/api/me/workbench",
                r#"{"sections":["leads","pipeline","tasks"]}"#,
                &auditor_csrf,
            )
            .await;
        assert_eq!(
            auditor.get("/api/me").await.json()["workbench"],
            serde_json::json!(["tasks"])
        );

        // Audited.
        assert_eq!(
            auditor
                .audit_events(&format!(
                    "/api/audit?customer={mine}&action=opportunity.stage"
                ))
                .await
                .len(),
            3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_manage_users_and_roles() {
    let dir = generated_bank(120, 14);
    for (store, app) in demo_stores("administrators_manage_users_and_roles", dir.path()).await {
        let mut admin = Client::login(&app, "admin").await;
        let csrf = admin.csrf.clone();
        let branch: String = sqlx::query_scalar(
            "SELECT code FROM org_unit WHERE level = 'sub_branch' ORDER BY path LIMIT 1",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        let new = |username: &str, role: &str, password: &str| {
            format!(
                r#"{{"username":"{username}","display_name":"王晓明","role":"{role}","org_code":"{branch}","password":"{password}"}}"#
            )
        };
        // Bad input is refused with a reason; a taken name is a conflict.
        for (body, status) in [
            (
                new("Bad Name", "rm", "long-enough-pw"),
                StatusCode::BAD_REQUEST,
            ),
            (
                new("wang.xm", "wizard", "long-enough-pw"),
                StatusCode::BAD_REQUEST,
            ),
            (new("wang.xm", "rm", "short"), StatusCode::BAD_REQUEST),
            (new("rm1", "rm", "long-enough-pw"), StatusCode::CONFLICT),
        ] {
            assert_eq!(
                admin.post_api("/api/users", &body, &csrf).await.status,
                status,
                "{body}"
            );
        }
        let r = admin
            .post_api("/api/users", &new("wang.xm", "rm", "long-enough-pw"), &csrf)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        // Not for anyone else.
        let mut rm1 = Client::login(&app, "rm1").await;
        let rm1_csrf = rm1.csrf.clone();
        assert_eq!(
            rm1.post_api(
                "/api/users",
                &new("li.hua", "admin", "long-enough-pw"),
                &rm1_csrf
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );

        // The new RM logs in; promoted to branch manager, their next request
        // has the new role; disabled, their session is refused at once.
        let mut newcomer = Client::anonymous(&app);
        let r = newcomer
            .send(
                "POST",
                "/api/login",
                Some((
                    "application/json",
                    r#"{"username":"wang.xm","password":"long-enough-pw"}"#.to_owned(),
                )),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(newcomer.get("/api/me").await.json()["user"]["role"], "rm");
        let uri = format!("/api/users/{id}");
        let r = admin
            .post_api(&uri, r#"{"role":"branch_manager"}"#, &csrf)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            newcomer.get("/api/me").await.json()["user"]["role"],
            "branch_manager"
        );
        assert_eq!(
            admin
                .post_api(&uri, r#"{"active":false}"#, &csrf)
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            newcomer.get("/api/me").await.status,
            StatusCode::UNAUTHORIZED
        );
        // A weak reset is refused; re-enabled with a new password.
        assert_eq!(
            admin
                .post_api(&uri, r#"{"password":"wang.xm"}"#, &csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        let r = admin
            .post_api(
                &uri,
                r#"{"active":true,"password":"another-long-pw"}"#,
                &csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let listed = admin.get("/api/users").await.json();
        let row = listed["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id)
            .unwrap()
            .clone();
        assert_eq!(row["active"], true);
        assert!(row.get("password_hash").is_none());

        // The admin cannot lock themselves out; unknown users are 404.
        let me = admin.get("/api/me").await.json()["user"]["id"]
            .as_i64()
            .unwrap();
        for body in [r#"{"active":false}"#, r#"{"role":"rm"}"#] {
            assert_eq!(
                admin
                    .post_api(&format!("/api/users/{me}"), body, &csrf)
                    .await
                    .status,
                StatusCode::CONFLICT
            );
        }
        assert_eq!(
            admin
                .post_api("/api/users/999999", r#"{"role":"rm"}"#, &csrf)
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // The page's forms; every change audited.
        let page = admin.get("/users").await;
        assert!(
            page.body.contains("create-user")
                && page.body.contains(&format!("action=\"/users/{id}\""))
        );
        let mut auditor = Client::login(&app, "auditor1").await;
        assert!(
            auditor
                .audit_events("/api/audit?action=user.update")
                .await
                .len()
                >= 3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branch_managers_assign_reclaim_and_follow_suggestions() {
    let dir = generated_bank(400, 15);
    for (store, app) in demo_stores(
        "branch_managers_assign_reclaim_and_follow_suggestions",
        dir.path(),
    )
    .await
    {
        let mut bm = Client::login(&app, "bm1").await;
        let csrf = bm.csrf.clone();
        let mut rm1 = Client::login(&app, "rm1").await;
        let mut rm2 = Client::login(&app, "rm2").await;
        let (mine, listed) = first_customer(&mut rm1).await;
        let number = listed["customer_no"].as_str().unwrap().to_owned();
        // RMs inside bm1's branch and one outside it.
        let bm1 = panorama_store::ocrm::user_by_username(&store, "bm1")
            .await
            .unwrap()
            .unwrap();
        let elsewhere: String = sqlx::query_scalar(
            "SELECT code FROM org_unit WHERE level = 'sub_branch' AND path NOT LIKE $1 ORDER BY path LIMIT 1",
        )
        .bind(format!("{}%", bm1.org_path))
        .fetch_one(store.pool())
        .await
        .unwrap();
        let outside = "rm.elsewhere".to_owned();
        panorama_store::ocrm::save_user(
            &store,
            &panorama_store::ocrm::NewUser {
                username: &outside,
                display_name: "外行客户经理",
                role: "rm",
                org_code: &elsewhere,
                password_hash: "x",
            },
            "test",
        )
        .await
        .unwrap();
        let overview = bm.get("/api/assignments").await.json();
        let books = overview["rms"].as_array().unwrap();
        assert!(books.iter().any(|r| r["username"] == "rm2"));
        assert!(books.iter().all(|r| r["username"] != outside.as_str()));

        // One customer, by number, from rm1 to rm2: rm2 sees it, rm1 no longer.
        let body = |customers: &str, rm: &str| {
            format!(r#"{{"customers":"{customers}","rm":"{rm}","reason":"客户要求更换"}}"#)
        };
        let r = bm
            .post_api("/api/assignments", &body(&number, "rm2"), &csrf)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.json()["moves"][0][1]["moved"], 1);
        assert_eq!(
            rm2.get(&format!("/api/customers/{mine}")).await.status,
            StatusCode::OK
        );
        assert_eq!(
            rm1.get(&format!("/api/customers/{mine}")).await.status,
            StatusCode::NOT_FOUND
        );
        // Again: unchanged. To an RM outside the branch: refused outright.
        let r = bm
            .post_api("/api/assignments", &body(&number, "rm2"), &csrf)
            .await;
        assert_eq!(r.json()["moves"][0][1]["unchanged"], 1);
        let r = bm
            .post_api("/api/assignments", &body(&number, &outside), &csrf)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        // Not for RMs; CSRF checked.
        let rm_csrf = rm1.csrf.clone();
        assert_eq!(
            rm1.post_api("/api/assignments", &body(&number, "rm1"), &rm_csrf)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            bm.post_api("/api/assignments", &body(&number, "rm1"), "x")
                .await
                .status,
            StatusCode::FORBIDDEN
        );

        // Reclaimed to the pool: nobody's list; the history keeps every step.
        let r = bm
            .post_api(
                "/api/assignments",
                &format!(r#"{{"customers":[{mine}]}}"#),
                &csrf,
            )
            .await;
        assert_eq!(r.json()["moves"][0][1]["moved"], 1, "{}", r.body);
        assert_eq!(
            rm2.get(&format!("/api/customers/{mine}")).await.status,
            StatusCode::NOT_FOUND
        );
        let history = bm
            .get(&format!("/api/customers/{mine}/assignments"))
            .await
            .json();
        let steps = history["assignments"].as_array().unwrap();
        assert_eq!(steps.len(), 2, "{history}");
        assert!(steps.iter().all(|s| !s["to_date"].is_null()));
        assert_eq!(steps[0]["rm_username"], "rm2");
        assert_eq!(steps[0]["reason"], "客户要求更换");

        // A file: good lines land, the others are rejected with their line.
        let other: String = sqlx::query_scalar(
            "SELECT c.customer_no FROM customer c JOIN org_unit o ON o.id = c.home_org_unit_id \
             WHERE c.status = 'active' AND o.path NOT LIKE $1 ORDER BY c.id LIMIT 1",
        )
        .bind(format!("{}%", bm1.org_path))
        .fetch_one(store.pool())
        .await
        .unwrap();
        let csv = format!(
            "customer_no,rm\n{number},rm1\nNO-SUCH,rm1\n{number},{outside}\njust-one-field\n{other},rm1\n"
        );
        let boundary = "XpanoramaX";
        let multipart = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"moves.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
        );
        let r = bm
            .send(
                "POST",
                "/assignments/upload",
                Some((
                    &format!("multipart/form-data; boundary={boundary}"),
                    multipart,
                )),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for line in ["行 3", "行 4", "行 5", "行 6"] {
            assert!(r.body.contains(line), "{line} rejected: {}", r.body);
        }
        assert!(!r.body.contains("行 2<"), "line 2 landed");
        assert_eq!(
            rm1.get(&format!("/api/customers/{mine}")).await.status,
            StatusCode::OK
        );

        // A customer upgraded into the wealth tiers while with a general RM:
        // the suggestion is the branch's wealth RM; accepting moves them.
        let rm1_row = panorama_store::ocrm::user_by_username(&store, "rm1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rm1_row.portfolio, "general");
        sqlx::query(
            "INSERT INTO tier_history (customer_id, as_of, tier, previous_tier, reason) \
             VALUES ($1, '2099-01-31', 'platinum', 'gold', 'test')",
        )
        .bind(mine)
        .execute(store.pool())
        .await
        .unwrap();
        let overview = bm.get("/api/assignments").await.json();
        let s = overview["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["customer_id"] == mine)
            .unwrap_or_else(|| panic!("a suggestion for {mine}: {overview}"))
            .clone();
        assert_eq!(s["portfolio"], "wealth");
        let to: i64 = s["to_rm"].as_i64().unwrap();
        let wealth: String = sqlx::query_scalar("SELECT portfolio FROM app_user WHERE id = $1")
            .bind(to)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(wealth, "wealth");
        let page = bm.get("/assignments").await;
        assert!(page.body.contains("suggestions") && page.body.contains("tier gold → platinum"));

        // Every move audited per customer.
        let mut auditor = Client::login(&app, "auditor1").await;
        assert_eq!(
            auditor
                .audit_events(&format!(
                    "/api/audit?customer={mine}&action=assignment.transfer"
                ))
                .await
                .len(),
            2
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_lives_from_the_call_to_the_survey() {
    let dir = generated_bank(300, 16);
    for (store, app) in
        demo_stores("a_complaint_lives_from_the_call_to_the_survey", dir.path()).await
    {
        let mut rm1 = Client::login(&app, "rm1").await;
        let mut rm2 = Client::login(&app, "rm2").await;
        let mut agent = Client::login(&app, "agent1").await;
        let mut bm = Client::login(&app, "bm1").await;
        let (mine, _) = first_customer(&mut rm1).await;
        let (agent_csrf, rm_csrf, bm_csrf) =
            (agent.csrf.clone(), rm1.csrf.clone(), bm.csrf.clone());

        // The agent takes the call; the complaint goes to the customer's RM.
        let body = format!(
            r#"{{"customer_id":{mine},"category":"fees","channel":"phone","description":"年费未经同意扣收"}}"#
        );
        let r = agent.post_api("/api/complaints", &body, &agent_csrf).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();
        for bad in [
            body.replace("fees", "weather"),
            body.replace("phone", "pigeon"),
            body.replace("年费未经同意扣收", " "),
        ] {
            assert_eq!(
                agent
                    .post_api("/api/complaints", &bad, &agent_csrf)
                    .await
                    .status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
        let j = rm1.get(&format!("/api/complaints/{id}")).await.json();
        assert_eq!(j["complaint"]["owner"], "rm1");
        assert_eq!(j["complaint"]["status"], "open");
        assert_eq!(
            rm2.get(&format!("/api/complaints/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
        let rm2_csrf = rm2.csrf.clone();
        assert_eq!(
            rm2.post_api(&format!("/api/complaints/{id}/start"), "{}", &rm2_csrf)
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // Worked by the RM; steps out of order are conflicts.
        let step = |action: &str| format!("/api/complaints/{id}/{action}");
        assert_eq!(
            rm1.post_api(&step("start"), "{}", &rm_csrf).await.status,
            StatusCode::OK
        );
        assert_eq!(
            rm1.post_api(&step("start"), "{}", &rm_csrf).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            rm1.post_api(&step("close"), "{}", &rm_csrf).await.status,
            StatusCode::CONFLICT
        );
        assert_eq!(
            rm1.post_api(&step("resolve"), "{}", &rm_csrf).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            rm1.post_api(&step("fly"), "{}", &rm_csrf).await.status,
            StatusCode::NOT_FOUND
        );

        // The SLA (48 h for fees) runs out: escalated to the branch manager.
        let later = (chrono::Utc::now() + chrono::Duration::hours(49))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let early = (chrono::Utc::now() + chrono::Duration::hours(47))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert_eq!(
            panorama_ocrm::complaints::escalate_overdue(&store, &early)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            panorama_ocrm::complaints::escalate_overdue(&store, &later)
                .await
                .unwrap(),
            1
        );
        let j = bm.get(&format!("/api/complaints/{id}")).await.json();
        assert_eq!(j["complaint"]["status"], "escalated");
        assert_eq!(j["complaint"]["owner"], "bm1");
        assert!(
            j["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["actor"] == "sla")
        );

        // Resolved by the branch manager, who owns it now. Closing it with a
        // survey they entered would rate themselves: refused, nothing changes.
        let r = bm
            .post_api(&step("resolve"), r#"{"note":"年费已退还并致歉"}"#, &bm_csrf)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = bm
            .post_api(
                &step("close"),
                r#"{"csat":5,"nps":10,"comment":"处理及时"}"#,
                &bm_csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(
            bm.get(&format!("/api/complaints/{id}")).await.json()["complaint"]["status"],
            "resolved"
        );
        // Closed without one: the customer's invitation is queued.
        let r = bm.post_api(&step("close"), "{}", &bm_csrf).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let events = bm.get(&format!("/api/complaints/{id}")).await.json()["events"].clone();
        let statuses: Vec<&str> = events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["open", "in_progress", "escalated", "resolved", "closed"]
        );

        // The SMS gateway's run gives the invitation its link; only a hash
        // of the token stays in the store.
        let sent = panorama_store::surveys::send_invites(
            &store,
            100,
            "test-batch",
            "2999-01-01T00:00:00Z",
            panorama_web::surveys::mint,
            "ops",
        )
        .await
        .unwrap();
        let invite = sent
            .iter()
            .find(|s| s.kind == "complaint")
            .expect("the complaint's invitation was sent");
        let kept: Option<String> =
            sqlx::query_scalar("SELECT token_hash FROM survey_invite WHERE id = $1")
                .bind(invite.id)
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(
            kept.as_deref(),
            Some(panorama_web::surveys::token_hash(&invite.token).as_str())
        );
        // The customer answers through the link, without a login.
        let link = format!("/survey/{}", invite.token);
        let mut customer = Client::anonymous(&app);
        let page = customer.get(&link).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("survey-csat-5"), "{}", page.body);
        let r = customer
            .form(
                &link,
                &[("csat", "4"), ("nps", "9"), ("comment", "处理及时")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            customer.form(&link, &[("csat", "1")]).await.status,
            StatusCode::CONFLICT
        );
        let wrong = format!("/survey/{}", "0".repeat(32));
        assert_eq!(customer.get(&wrong).await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            customer.form(&wrong, &[("csat", "5")]).await.status,
            StatusCode::NOT_FOUND
        );
        let (source, entered_by): (String, Option<i64>) = sqlx::query_as(
            "SELECT source, entered_by FROM survey WHERE kind = 'complaint' AND object_id = $1",
        )
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!((source.as_str(), entered_by), ("customer", None));
        let again = format!(r#"{{"kind":"complaint","object_id":{id},"csat":1}}"#);
        assert_eq!(
            agent
                .post_api("/api/surveys", &again, &agent_csrf)
                .await
                .status,
            StatusCode::CONFLICT
        );

        // A contact's survey rates the RM who made it: not theirs to enter.
        let r = rm1
            .form(
                &format!("/customers/{mine}/contacts"),
                &[
                    ("csrf", &rm_csrf),
                    ("channel", "phone"),
                    ("outcome", "回访"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let contact: i64 = sqlx::query_scalar("SELECT MAX(id) FROM contact WHERE customer_id = $1")
            .bind(mine)
            .fetch_one(store.pool())
            .await
            .unwrap();
        let answer = format!(r#"{{"kind":"contact","object_id":{contact},"csat":5,"nps":6}}"#);
        let r = rm1.post_api("/api/surveys", &answer, &rm_csrf).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        // The call centre enters what the customer told them on the phone.
        assert_eq!(
            agent
                .post_api("/api/surveys", &answer, &agent_csrf)
                .await
                .status,
            StatusCode::CREATED
        );
        let (source, by): (String, Option<String>) = sqlx::query_as(
            "SELECT s.source, u.username FROM survey s LEFT JOIN app_user u ON u.id = s.entered_by \
             WHERE s.kind = 'contact' AND s.object_id = $1",
        )
        .bind(contact)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!((source.as_str(), by.as_deref()), ("staff", Some("agent1")));
        let out_of_range = format!(r#"{{"kind":"contact","object_id":{contact},"csat":9}}"#);
        assert_eq!(
            agent
                .post_api("/api/surveys", &out_of_range, &agent_csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );

        // Satisfaction by branch and RM: bm1's answer and rm1's.
        let report = bm.get("/api/satisfaction").await.json();
        let rows = report["satisfaction"].as_array().unwrap();
        let of = |rm: &str| {
            rows.iter()
                .find(|r| r["rm"] == rm)
                .unwrap_or_else(|| panic!("{rm} in {report}"))
                .clone()
        };
        assert_eq!(of("bm1")["csat"], 4.0);
        assert_eq!(of("bm1")["from_customers"], 1);
        assert_eq!(of("bm1")["nps"], 100.0);
        assert_eq!(of("rm1")["nps"], -100.0);
        let mine_only = rm1.get("/api/satisfaction").await.json();
        assert!(
            mine_only["satisfaction"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["rm"] == "rm1")
        );

        // The 360 shows it with the form; the pages render.
        let page = rm1.get(&format!("/customers/{mine}")).await.body;
        assert!(page.contains("complaint-form") && page.contains(&format!("/complaints/{id}")));
        let page = bm.get(&format!("/complaints/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("年费已退还并致歉"));
        let list = bm.get("/complaints").await.body;
        assert!(list.contains("satisfaction"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_sets_scorecards_splits_and_incentive_rules_without_code() {
    let dir = generated_bank(300, 23);
    for (store, app) in demo_stores(
        "head_office_sets_scorecards_splits_and_incentive_rules_without_code",
        dir.path(),
    )
    .await
    {
        let mut exec = Client::login(&app, "exec1").await;
        let mut bm = Client::login(&app, "bm1").await;
        let (exec_csrf, bm_csrf) = (exec.csrf.clone(), bm.csrf.clone());
        let before = exec.get("/api/appraisal/rules").await.json();
        assert!(
            !before["cards"]["rm"].as_array().unwrap().is_empty(),
            "{before}"
        );

        // A new RM scorecard, typed as the page shows it.
        let card = r#"{"action":"card","role":"rm","items":"sales_count/wealth=40@10\naum_growth=40\nsla_breaches=20@1,lower,floor=0,cap=150"}"#;
        let r = exec
            .post_api("/api/appraisal/rules", card, &exec_csrf)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let after = exec.get("/api/appraisal/rules").await.json();
        let mut items: Vec<&str> = after["cards"]["rm"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        items.sort_unstable();
        assert_eq!(
            items,
            [
                "aum_growth=40",
                "sales_count/wealth=40@10.00",
                "sla_breaches=20@1,lower,cap=150"
            ],
            "{after}"
        );
        // Weights that do not add up, an unknown indicator, a class on a
        // target item: refused, the card unchanged.
        for bad in [
            r#"{"action":"card","role":"rm","items":"aum_growth=50"}"#,
            r#"{"action":"card","role":"rm","items":"no_such=100"}"#,
            r#"{"action":"card","role":"rm","items":"aum_growth/wealth=100"}"#,
            r#"{"action":"card","role":"boss","items":"aum_growth=100"}"#,
        ] {
            let r = exec.post_api("/api/appraisal/rules", bad, &exec_csrf).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        }
        assert_eq!(
            exec.get("/api/appraisal/rules").await.json()["cards"],
            after["cards"]
        );

        // The counter's split: 60 % to the teller, 40 % to the RM.
        let split = r#"{"action":"split","channel":"counter","seller":"60","rm":"40"}"#;
        let r = exec
            .post_api("/api/appraisal/rules", split, &exec_csrf)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let rules = exec.get("/api/appraisal/rules").await.json();
        assert_eq!(rules["splits_bp"]["counter"]["seller"], 6000, "{rules}");
        assert_eq!(rules["splits_bp"]["counter"]["rm"], 4000, "{rules}");
        let r = exec
            .post_api(
                "/api/appraisal/rules",
                r#"{"action":"split","channel":"counter","seller":"60","rm":"30"}"#,
                &exec_csrf,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "shares add up to 100 %: {}",
            r.body
        );

        // The tellers' incentive: a pool of 1,500 yuan a head a month from
        // 55 points, 0.15 % on wealth sales.
        let pay = r#"{"action":"incentive","role":"teller","pool":"1500","threshold":"55","rates":"wealth=0.15"}"#;
        let r = exec.post_api("/api/appraisal/rules", pay, &exec_csrf).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let rules = exec.get("/api/appraisal/rules").await.json();
        assert_eq!(
            rules["incentives"]["teller"],
            serde_json::json!({"pool_minor": 150_000, "threshold_centi": 5_500, "rates_bp": [["wealth", 15]]}),
            "{rules}"
        );
        let r = exec
            .post_api(
                "/api/appraisal/rules",
                r#"{"action":"incentive","role":"teller","pool":"1500","threshold":"55","rates":"gold=1"}"#,
                &exec_csrf,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "no such class: {}",
            r.body
        );

        // A branch manager may not; every change is audited.
        assert_eq!(
            bm.post_api("/api/appraisal/rules", card, &bm_csrf)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let page = exec.get("/appraisal/rules").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("sales_count/wealth=40@10.00") && page.body.contains("split-form")
        );
        let audited: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_event WHERE actor = 'exec1' \
             AND action IN ('appraisal.card', 'sales.rule', 'incentive.rules')",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_are_set_split_down_to_rms_and_measured() {
    let dir = generated_bank(400, 17);
    for (store, app) in
        demo_stores("targets_are_set_split_down_to_rms_and_measured", dir.path()).await
    {
        let mut exec = Client::login(&app, "exec1").await;
        let mut bm = Client::login(&app, "bm1").await;
        let (exec_csrf, bm_csrf) = (exec.csrf.clone(), bm.csrf.clone());
        let quarter = panorama_store::targets::periods_of(chrono::Local::now().date_naive())[1]
            .code
            .clone();
        let head: String = sqlx::query_scalar("SELECT code FROM org_unit WHERE parent_id IS NULL")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let bm1 = panorama_store::ocrm::user_by_username(&store, "bm1")
            .await
            .unwrap()
            .unwrap();
        // Head office sets 1,000 products for the quarter.
        let set = |org: &str, value: &str| {
            format!(
                r#"{{"period":"{quarter}","indicator":"product_sales","org":"{org}","value":"{value}"}}"#
            )
        };
        let r = exec
            .post_api("/api/targets", &set(&head, "1000"), &exec_csrf)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let top = r.json()["id"].as_i64().unwrap();
        assert_eq!(
            exec.post_api("/api/targets", &set(&head, "-1"), &exec_csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            exec.post_api("/api/targets", &set(&head, "ten"), &exec_csrf)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        // A branch manager cannot set the head office's target.
        assert_eq!(
            bm.post_api("/api/targets", &set(&head, "5"), &bm_csrf)
                .await
                .status,
            StatusCode::NOT_FOUND
        );

        // Split among the branches in proportion to their books.
        let r = exec
            .post_api(
                &format!("/api/targets/{top}/split"),
                r#"{"method":"proportional","base":"customers"}"#,
                &exec_csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let branches = r.json()["children"].as_array().unwrap().clone();
        let shares: i64 = branches.iter().map(|c| c["target"].as_i64().unwrap()).sum();
        assert_eq!(shares, 1000);

        // The branch manager reads the branch's share, cannot overwrite it,
        // and splits it by hand among the sub-branches (all to the first).
        let view =
            |org: &str| format!("/api/targets?period={quarter}&indicator=product_sales&org={org}");
        let j = bm.get(&view(&bm1.org_code)).await.json();
        let branch_target = j["target"]["value"].as_i64().unwrap();
        assert!(branch_target > 0 && j["target"]["parent_id"] == top, "{j}");
        assert_eq!(
            bm.post_api("/api/targets", &set(&bm1.org_code, "1"), &bm_csrf)
                .await
                .status,
            StatusCode::CONFLICT,
            "the parent's split holds it"
        );
        let subs = j["children"].as_array().unwrap().clone();
        assert!(subs.len() >= 2, "{j}");
        let manual = |values: Vec<i64>| {
            let shares: Vec<String> = subs
                .iter()
                .zip(values)
                .map(|(c, v)| format!(r#"{{"kind":"org","id":{},"value":{v}}}"#, c["child"]["id"]))
                .collect();
            format!(r#"{{"method":"manual","shares":[{}]}}"#, shares.join(","))
        };
        let branch_id = j["target"]["id"].as_i64().unwrap();
        let mut values = vec![0; subs.len()];
        values[0] = branch_target + 1;
        let r = bm
            .post_api(
                &format!("/api/targets/{branch_id}/split"),
                &manual(values.clone()),
                &bm_csrf,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "shares must add up: {}",
            r.body
        );
        // Shares that add up only by wrapping round are refused too.
        if subs.len() >= 3 {
            let mut huge = vec![0; subs.len()];
            huge[0] = i64::MAX;
            huge[1] = i64::MAX;
            huge[2] = branch_target.wrapping_sub(i64::MAX.wrapping_mul(2));
            let r = bm
                .post_api(
                    &format!("/api/targets/{branch_id}/split"),
                    &manual(huge),
                    &bm_csrf,
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        }
        values[0] = branch_target;
        let r = bm
            .post_api(
                &format!("/api/targets/{branch_id}/split"),
                &manual(values),
                &bm_csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        // The first sub-branch splits among its RMs; actuals from the data.
        let first_sub = subs[0]["code"].as_str().unwrap().to_owned();
        let j = bm.get(&view(&first_sub)).await.json();
        let sub_id = j["target"]["id"].as_i64().unwrap();
        assert!(
            j["children"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["child"]["kind"] == "rm")
        );
        let r = bm
            .post_api(
                &format!("/api/targets/{sub_id}/split"),
                r#"{"method":"proportional","base":"aum"}"#,
                &bm_csrf,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let body = format!(r#"{{"period":"{quarter}","indicator":"product_sales"}}"#);
        assert_eq!(
            bm.post_api("/api/targets/actuals", &body, &bm_csrf)
                .await
                .status,
            StatusCode::OK
        );
        let j = bm.get(&view(&first_sub)).await.json();
        let rms = j["children"].as_array().unwrap();
        let by_rms: i64 = rms.iter().map(|c| c["actual"].as_i64().unwrap()).sum();
        assert_eq!(j["progress"]["actual"].as_i64().unwrap(), by_rms, "{j}");
        let allocated: i64 = rms.iter().map(|c| c["target"].as_i64().unwrap()).sum();
        assert_eq!(allocated, branch_target);
        // The actual is what the data says: accounts opened in the quarter
        // by the RMs' customers.
        let rm = rms[0]["child"]["id"].as_i64().unwrap();
        let period = panorama_store::targets::Period::parse(&quarter).unwrap();
        let counted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM account x JOIN assignment a ON a.customer_id = x.customer_id \
             AND a.to_date IS NULL AND a.role = 'primary' WHERE a.rm_user_id = $1 AND x.opened_on BETWEEN $2 AND $3",
        )
        .bind(rm)
        .bind(period.from.to_string())
        .bind(period.to.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(rms[0]["actual"].as_i64().unwrap(), counted);
        // Ranked by progress among siblings.
        assert!(rms.iter().any(|c| c["rank"] == 1));

        // The RM sees it on the workbench; other branches are out of reach.
        let rm_name: String = sqlx::query_scalar("SELECT username FROM app_user WHERE id = $1")
            .bind(rm)
            .fetch_one(store.pool())
            .await
            .unwrap();
        let mut rm_client = Client::login(&app, &rm_name).await;
        let home = rm_client.get("/").await.body;
        assert!(
            home.contains("my-targets") && home.contains(&quarter),
            "{}",
            &home[..500.min(home.len())]
        );
        let other: Option<String> = sqlx::query_scalar(
            "SELECT code FROM org_unit WHERE level = 'branch' AND path NOT LIKE $1 LIMIT 1",
        )
        .bind(format!("{}%", bm1.org_path))
        .fetch_optional(store.pool())
        .await
        .unwrap();
        if let Some(other) = other {
            assert_eq!(bm.get(&view(&other)).await.status, StatusCode::NOT_FOUND);
        }

        // The indicator set is configurable by executives.
        let fund = r#"{"code":"fund_sales","name":"基金销售","name_en":"Funds sold","source":"product_sales","product_class":"fund"}"#;
        assert_eq!(
            bm.post_api("/api/indicators", fund, &bm_csrf).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            exec.post_api("/api/indicators", fund, &exec_csrf)
                .await
                .status,
            StatusCode::CREATED
        );
        let listed = exec.get("/api/indicators").await.json();
        assert!(
            listed["indicators"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["code"] == "fund_sales" && i["unit"] == "count")
        );

        // The page: chart, ranking and the split forms; every change audited.
        let page = bm
            .get(&format!(
                "/targets?period={quarter}&indicator=product_sales&org={first_sub}"
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains("split-manual")
                && page
                    .body
                    .contains("data-chart=\"target-children\" data-src=\"/api/targets?")
        );
        let mut auditor = Client::login(&app, "auditor1").await;
        assert_eq!(
            auditor
                .audit_events("/api/audit?action=target.split")
                .await
                .len(),
            3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_agree_with_the_data_and_export_to_excel() {
    use calamine::{Data, Reader, Xlsx};
    let dir = generated_bank(400, 18);
    for (store, app) in demo_stores(
        "dashboards_agree_with_the_data_and_export_to_excel",
        dir.path(),
    )
    .await
    {
        let mut exec = Client::login(&app, "exec1").await;
        let mut bm = Client::login(&app, "bm1").await;
        let whole = exec.get("/api/dashboard").await.json();
        let branch = bm.get("/api/dashboard").await.json();
        let customers = |j: &Value| -> i64 {
            j["dashboard"]["tiers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["customers"].as_i64().unwrap())
                .sum()
        };
        let with_features: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM customer_features f JOIN customer c ON c.id = f.customer_id \
             WHERE c.status = 'active' AND f.as_of = (SELECT MAX(as_of) FROM customer_features)",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(customers(&whole), with_features);
        assert!(customers(&branch) > 0 && customers(&branch) < with_features);
        // Every RM of the branch is compared; their books add up to the
        // branch's assigned customers.
        let rms = branch["dashboard"]["rms"].as_array().unwrap();
        let booked: i64 = rms.iter().map(|r| r["customers"].as_i64().unwrap()).sum();
        let bm1 = panorama_store::ocrm::user_by_username(&store, "bm1")
            .await
            .unwrap()
            .unwrap();
        let assigned: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM assignment a JOIN app_user u ON u.id = a.rm_user_id JOIN org_unit o ON o.id = u.org_unit_id \
             WHERE a.to_date IS NULL AND a.role = 'primary' AND o.path LIKE $1",
        )
        .bind(format!("{}%", bm1.org_path))
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(booked, assigned);
        let pareto = whole["dashboard"]["pareto"].as_array().unwrap();
        assert!((pareto.last().unwrap()["profit"].as_f64().unwrap() - 1.0).abs() < 1e-9);
        // The SQL Pareto agrees with the same computed from every profit.
        let profits: Vec<Option<i64>> = sqlx::query_scalar(
            "SELECT profit_minor FROM customer_features \
             WHERE as_of = (SELECT MAX(as_of) FROM customer_features) ORDER BY profit_minor DESC",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let profits: Vec<i64> = profits.into_iter().map(|p| p.unwrap_or(0)).collect();
        let expected = panorama_store::dashboard::pareto(&profits);
        for (got, want) in pareto.iter().zip(&expected) {
            assert!(
                (got["profit"].as_f64().unwrap() - want.profit).abs() < 1e-9,
                "{got} vs {want:?}"
            );
        }
        assert_eq!(
            whole["dashboard"]["loss_making"].as_i64().unwrap(),
            profits.iter().filter(|p| **p < 0).count() as i64
        );
        // Another branch is out of a branch manager's reach.
        let other: Option<String> = sqlx::query_scalar(
            "SELECT code FROM org_unit WHERE level = 'branch' AND path NOT LIKE $1 LIMIT 1",
        )
        .bind(format!("{}%", bm1.org_path))
        .fetch_optional(store.pool())
        .await
        .unwrap();
        if let Some(other) = other {
            assert_eq!(
                bm.get(&format!("/api/dashboard?org={other}")).await.status,
                StatusCode::NOT_FOUND
            );
        }

        // The Excel export opens in a spreadsheet reader with the same figures.
        let mut req = Request::builder().method("GET").uri("/dashboard.xlsx");
        if let Some(c) = &bm.cookie {
            req = req.header(header::COOKIE, c);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let kind = res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(kind.contains("spreadsheetml"), "{kind}");
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20)
            .await
            .unwrap();
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let names = book.sheet_names();
        for sheet in [
            "tiers",
            "migration",
            "rms",
            "segments",
            "campaigns",
            "targets",
            "pareto",
            "about",
        ] {
            assert!(names.iter().any(|n| n == sheet), "{sheet} in {names:?}");
        }
        let tiers = book.worksheet_range("tiers").unwrap();
        let mut read_back = 0_i64;
        for row in tiers.rows().skip(1) {
            let tier = row[0].to_string();
            let n = match row[2] {
                Data::Float(f) => f as i64,
                Data::Int(i) => i,
                ref other => panic!("customers: {other:?}"),
            };
            let json = branch["dashboard"]["tiers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["tier"] == tier.as_str())
                .unwrap();
            assert_eq!(json["customers"].as_i64().unwrap(), n);
            let aum = match row[3] {
                Data::Float(f) => f,
                ref other => panic!("aum: {other:?}"),
            };
            assert!((aum * 100.0 - json["aum_minor"].as_i64().unwrap() as f64).abs() < 0.5);
            read_back += n;
        }
        assert_eq!(read_back, customers(&branch));
        let rms_sheet = book.worksheet_range("rms").unwrap();
        assert_eq!(rms_sheet.rows().count() - 1, rms.len());
        let mut auditor = Client::login(&app, "auditor1").await;
        assert_eq!(
            auditor
                .audit_events("/api/audit?action=dashboard.export")
                .await
                .len(),
            1
        );
        // The page draws its charts.
        let page = exec.get("/dashboard").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("by-tier") && page.body.contains("export-excel"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_desk_identifies_the_caller_and_suggests_a_retention_offer() {
    let dir = generated_bank(400, 19);
    for (store, app) in demo_stores(
        "the_service_desk_identifies_the_caller_and_suggests_a_retention_offer",
        dir.path(),
    )
    .await
    {
        // A customer with a deposit and a number nobody else has; the deposit
        // matures ten days after the data's date.
        let (customer, mobile, account, account_no, rate): (i64, String, i64, String, i64) = sqlx::query_as(
            "SELECT c.id, c.mobile, x.id, x.account_no, p.rate_bp FROM customer c \
             JOIN account x ON x.customer_id = c.id JOIN product p ON p.code = x.product_code \
             WHERE p.class = 'deposit' AND x.status = 'active' AND p.rate_bp IS NOT NULL \
               AND c.status = 'active' AND c.mobile IS NOT NULL \
               AND (SELECT COUNT(*) FROM customer d WHERE d.mobile = c.mobile AND d.status = 'active') = 1 \
             ORDER BY c.id LIMIT 1",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        let as_of: String = sqlx::query_scalar("SELECT MAX(as_of) FROM customer_features")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let due = (chrono::NaiveDate::parse_from_str(&as_of, "%Y-%m-%d").unwrap()
            + chrono::Days::new(10))
        .to_string();
        sqlx::query("UPDATE account SET matures_on = $1 WHERE id = $2")
            .bind(&due)
            .bind(account)
            .execute(store.pool())
            .await
            .unwrap();
        let mut agent = Client::login(&app, "agent1").await;
        let csrf = agent.csrf.clone();
        let complaint = format!(
            r#"{{"customer_id":{customer},"category":"service","channel":"phone","description":"柜面排队过久"}}"#
        );
        assert_eq!(
            agent
                .post_api("/api/complaints", &complaint, &csrf)
                .await
                .status,
            StatusCode::CREATED
        );

        // The number identifies the caller; the reasons and the offer follow.
        let shown_no =
            panorama_web::mask::account_no(&account_no, panorama_web::mask::Level::Strict);
        let j = agent
            .get(&format!("/api/service?phone={mobile}"))
            .await
            .json();
        assert_eq!(j["customer"]["id"], customer, "{j}");
        let reasons = j["reasons"].as_array().unwrap();
        assert!(
            reasons
                .iter()
                .any(|r| r["kind"] == "maturity" && r["zh"].as_str().unwrap().contains(&shown_no)),
            "{j}"
        );
        assert!(reasons.iter().any(|r| r["kind"] == "complaint"), "{j}");
        // The agent sees the account six and four, as everywhere.
        assert!(!j.to_string().contains(&account_no), "{j}");
        assert_eq!(j["retention"]["account_no"], shown_no.as_str());
        assert_eq!(j["retention"]["standard_bp"], rate);
        assert_eq!(j["retention"]["band_bp"], 30, "a deposit's band is 30 bp");
        // Within the band, as far as the customer's value goes: the whole
        // band for the most valuable, half at the median, none for a
        // customer of no value.
        for (rank_bp, clv_minor, premium) in [
            (10_000, 1_000_000_000_000_i64, 30),
            (5_000, 1_000_000_000_000, 15),
            (10_000, 0, 0),
        ] {
            for sql in [
                "DELETE FROM customer_value_run",
                "INSERT INTO customer_value_run (id, as_of, horizon_years, discount_bp, retention_bp, churn_model_id, \
                   customers, total_minor, computed_at) VALUES (1, '2026-10-31', 5, 800, 8500, NULL, 1, 0, '2026-11-01')",
            ] {
                sqlx::query(sql).execute(store.pool()).await.unwrap();
            }
            sqlx::query("DELETE FROM customer_value WHERE customer_id = $1")
                .bind(customer)
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO customer_value (customer_id, profit_12m_minor, retention_bp, clv_minor, rank_bp) \
                 VALUES ($1, 0, 8500, $2, $3)",
            )
            .bind(customer)
            .bind(clv_minor)
            .bind(rank_bp)
            .execute(store.pool())
            .await
            .unwrap();
            let j = agent
                .get(&format!("/api/service?phone={mobile}"))
                .await
                .json();
            assert_eq!(
                j["retention"]["offer_bp"],
                rate + premium,
                "rank {rank_bp}, value {clv_minor}: {j}"
            );
            assert_eq!(j["retention"]["value"][1], rank_bp, "{j}");
        }
        // The page, and an unknown number.
        let page = agent.get(&format!("/service?phone={mobile}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"reasons\"") && page.body.contains("id=\"retention\""));
        assert!(page.body.contains("contact-form") && page.body.contains("complaint-form"));
        let page = agent.get("/service?phone=19999999999").await;
        assert!(page.body.contains("unknown-caller"));
        // The lookup is audited as a search and the view as a customer view.
        let mut auditor = Client::login(&app, "auditor1").await;
        let trail = auditor
            .get(&format!(
                "/api/audit?customer={customer}&action=customer.view"
            ))
            .await
            .json();
        assert!(
            trail["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["actor"] == "agent1")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stewards_work_from_their_pages() {
    let dir = generated_bank(300, 20);
    for (store, app) in demo_stores("stewards_work_from_their_pages", dir.path()).await {
        let two: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT MIN(x.source_record_id), x.customer_id FROM customer_xref x JOIN source_record r ON r.id = x.source_record_id \
             WHERE r.party_type = 'person' GROUP BY x.customer_id ORDER BY MIN(x.source_record_id) LIMIT 2",
        )
        .fetch_all(store.pool())
        .await
        .unwrap();
        let review: i64 = sqlx::query_scalar(
            "INSERT INTO match_review (left_record_id, right_record_id, match_probability, evidence, status) \
             VALUES ($1, $2, 0.64, '{\"name\":{\"level\":\"pinyin\",\"weight\":2.5}}', 'open') RETURNING id",
        )
        .bind(two[0].0)
        .bind(two[1].0)
        .fetch_one(store.pool())
        .await
        .unwrap();
        let mut steward = Client::login(&app, "steward1").await;
        let csrf = steward.csrf.clone();
        let page = steward.get("/ecif").await.body;
        assert!(page.contains(&format!("review-{review}")) && page.contains("pinyin"));
        // Accepted from the page: one customer; undone from the merges page.
        let r = steward
            .form(
                &format!("/ecif/reviews/{review}/accept"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let merged: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT customer_id) FROM customer_xref WHERE source_record_id IN ($1, $2)",
        )
        .bind(two[0].0)
        .bind(two[1].0)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(merged, 1);
        let event: i64 = sqlx::query_scalar("SELECT MAX(id) FROM merge_event WHERE kind = 'merge'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(
            steward
                .get("/ecif/merges")
                .await
                .body
                .contains(&format!("undo-{event}"))
        );
        let r = steward
            .form(&format!("/ecif/merges/{event}/undo"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = steward
            .form(&format!("/ecif/merges/{event}/undo"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "twice is refused");

        // Import runs with their files, and quality by source system.
        let page = steward.get("/ecif/quality").await.body;
        assert!(
            page.contains("id=\"imports\"") && page.contains("core"),
            "{}",
            &page[..300.min(page.len())]
        );

        // A relationship a steward declares survives resolution.
        let (person, company): (String, String) = sqlx::query_as(
            "SELECT (SELECT customer_no FROM customer WHERE party_type = 'person' AND status = 'active' ORDER BY id LIMIT 1), \
                    (SELECT customer_no FROM customer WHERE party_type = 'organisation' AND status = 'active' ORDER BY id LIMIT 1)",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        let r = steward
            .form(
                "/ecif/relationships",
                &[
                    ("csrf", &csrf),
                    ("from", &company),
                    ("kind", "guarantor"),
                    ("to", &person),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = steward
            .form(
                "/ecif/relationships",
                &[
                    ("csrf", &csrf),
                    ("from", &company),
                    ("kind", "cousin"),
                    ("to", &person),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        panorama_ecif::store::run_resolve(&store, false)
            .await
            .unwrap();
        let page = steward
            .get(&format!("/ecif/relationships?customer={company}"))
            .await
            .body;
        assert!(page.contains(&person) && page.contains("guarantor") && page.contains("steward"));
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM party_relationship WHERE source = 'steward'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let r = steward
            .form(
                &format!("/ecif/relationships/{id}/remove"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM party_relationship WHERE source = 'steward'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(left, 0);
        let mut auditor = Client::login(&app, "auditor1").await;
        assert_eq!(
            auditor
                .audit_events("/api/audit?action=ecif.relationship.add")
                .await
                .len(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_cross_lines_and_count_when_won() {
    let dir = generated_bank(400, 21);
    for (store, app) in demo_stores("referrals_cross_lines_and_count_when_won", dir.path()).await {
        let rm_id = |name: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT id FROM app_user WHERE username = $1")
                    .bind(name)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let (rm1, rm2) = (rm_id("rm1").await, rm_id("rm2").await);
        let book = |rm: i64, kind: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT c.id FROM customer c JOIN assignment a ON a.customer_id = c.id AND a.to_date IS NULL \
                     WHERE a.rm_user_id = $1 AND c.party_type = $2 AND c.status = 'active' ORDER BY c.id",
                )
                .bind(rm)
                .bind(kind)
                .fetch_all(&pool)
                .await
                .unwrap()
            }
        };
        // rm1's company; two of rm2's persons become its executive and payroll employee.
        let mine = book(rm1, "person").await;
        let company = match book(rm1, "organisation").await.first() {
            Some(c) => *c,
            None => mine[0],
        };
        let theirs = book(rm2, "person").await;
        for (person, kind) in [(theirs[0], "executive"), (theirs[1], "payroll_employee")] {
            sqlx::query(
                "INSERT INTO party_relationship (from_customer_id, to_customer_id, kind, source) VALUES ($1, $2, $3, 'declared')",
            )
            .bind(company)
            .bind(person)
            .bind(kind)
            .execute(store.pool())
            .await
            .unwrap();
        }
        let product: String = sqlx::query_scalar("SELECT code FROM product ORDER BY code LIMIT 1")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let mut c1 = Client::login(&app, "rm1").await;
        let mut c2 = Client::login(&app, "rm2").await;
        let (k1, k2) = (c1.csrf.clone(), c2.csrf.clone());
        let refer = |via: i64, customer: i64| {
            format!(
                r#"{{"via":{via},"customer":{customer},"product_code":"{product}","note":"其高管有理财需求"}}"#
            )
        };
        let r = c1
            .post_api("/api/referrals", &refer(company, theirs[0]), &k1)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let first = r.json()["id"].as_i64().unwrap();
        // Only customers related to one of mine, through my own customer.
        assert_eq!(
            c1.post_api("/api/referrals", &refer(company, theirs[2]), &k1)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            c1.post_api("/api/referrals", &refer(theirs[1], company), &k1)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        // The 360 offers the related customers.
        assert!(
            c1.get(&format!("/customers/{company}"))
                .await
                .body
                .contains("referral-form")
        );
        // The 360's form refers as well (it always answered 422: a form's
        // text cannot be flattened into a numeric field).
        let person = theirs[1].to_string();
        let r = c1
            .form(
                &format!("/customers/{company}/referrals"),
                &[
                    ("csrf", &k1),
                    ("customer", &person),
                    ("product_code", &product.to_string()),
                    ("note", "表单转介"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // rm2 accepts: an opportunity of theirs; won, it is the referral's outcome.
        let incoming = c2.get("/api/referrals").await.json();
        assert!(
            incoming["incoming"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == first)
        );
        assert_eq!(
            c1.post_api(&format!("/api/referrals/{first}/accept"), "{}", &k1)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let r = c2
            .post_api(&format!("/api/referrals/{first}/accept"), "{}", &k2)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let opportunity = r.json()["opportunity"].as_i64().unwrap();
        let owner: i64 = sqlx::query_scalar("SELECT owner_user_id FROM opportunity WHERE id = $1")
            .bind(opportunity)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(owner, rm2);
        let r = c2
            .post_api(
                &format!("/api/opportunities/{opportunity}/stage"),
                r#"{"stage":"won"}"#,
                &k2,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let outgoing = c1.get("/api/referrals").await.json();
        let made = outgoing["outgoing"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == first)
            .unwrap()
            .clone();
        assert_eq!(made["status"], "accepted");
        assert_eq!(made["outcome"], "won");

        // Credited to the referrer in targets.
        let quarter =
            panorama_store::targets::periods_of(chrono::Local::now().date_naive())[1].clone();
        panorama_store::targets::refresh_actuals(&store, &quarter, "referrals_won")
            .await
            .unwrap();
        let credited: i64 = sqlx::query_scalar(
            "SELECT value FROM target_actual WHERE period = $1 AND indicator = 'referrals_won' AND rm_user_id = $2",
        )
        .bind(&quarter.code)
        .bind(rm1)
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(credited, 1);

        // A second one declined, with a reason.
        let r = c1
            .post_api("/api/referrals", &refer(company, theirs[1]), &k1)
            .await;
        let second = r.json()["id"].as_i64().unwrap();
        assert_eq!(
            c2.post_api(&format!("/api/referrals/{second}/decline"), "{}", &k2)
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        let r = c2
            .post_api(
                &format!("/api/referrals/{second}/decline"),
                r#"{"note":"客户已在他行办理"}"#,
                &k2,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page = c1.get("/referrals").await.body;
        assert!(page.contains("declined") && page.contains("outgoing"));
        let mut auditor = Client::login(&app, "auditor1").await;
        assert_eq!(
            auditor
                .audit_events("/api/audit?action=referral.decide")
                .await
                .len(),
            2
        );
    }
}

/// The bank's personal data in clear, to scan answers for.
struct Pii {
    ids: Vec<String>,
    mobiles: Vec<String>,
    emails: Vec<String>,
    accounts: Vec<String>,
    /// Full birth dates that are not also a business date in the bank.
    births: Vec<String>,
    /// Customer names of three characters or more.
    names: Vec<String>,
}

impl Pii {
    async fn of(store: &panorama_store::Store) -> Pii {
        let texts = |sql: &'static str| async move {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_all(store.pool())
                .await
                .unwrap()
        };
        let business: std::collections::HashSet<String> = texts(
            "SELECT DISTINCT opened_on FROM account UNION SELECT DISTINCT matures_on FROM account \
             WHERE matures_on IS NOT NULL",
        )
        .await
        .into_iter()
        .collect();
        let earliest = business.iter().min().cloned().unwrap_or_default();
        Pii {
            ids: texts("SELECT id_no FROM customer WHERE id_no IS NOT NULL").await,
            mobiles: texts("SELECT mobile FROM customer WHERE mobile IS NOT NULL").await,
            emails: texts("SELECT email FROM customer WHERE email IS NOT NULL").await,
            accounts: texts("SELECT account_no FROM account").await,
            births: texts("SELECT birth_date FROM customer WHERE birth_date IS NOT NULL")
                .await
                .into_iter()
                .filter(|d| d.len() == 10 && *d < earliest && !business.contains(d))
                .collect(),
            names: texts("SELECT name FROM customer")
                .await
                .into_iter()
                .filter(|n| n.chars().count() >= 3)
                .collect(),
        }
    }

    /// Fails if `body`, answered to `who`, shows what their role may not see.
    fn assert_absent(&self, body: &str, who: &str, path: &str) {
        let strict = matches!(
            who,
            "analyst1" | "steward1" | "auditor1" | "exec1" | "agent1"
        );
        if let Some((kind, v, around)) = self.found(body, strict) {
            panic!("GET {path} as {who} shows a {kind} in clear ({v}): …{around}…");
        }
    }

    /// The first clear value of a kind in `body` (names too if `names`),
    /// with what surrounds it.
    fn found(&self, body: &str, names: bool) -> Option<(&'static str, String, String)> {
        let mut kinds: Vec<(&str, &Vec<String>)> = vec![
            ("resident id", &self.ids),
            ("mobile", &self.mobiles),
            ("e-mail", &self.emails),
            ("card or account number", &self.accounts),
            ("birth date", &self.births),
        ];
        if names {
            kinds.push(("name", &self.names));
        }
        for (kind, values) in kinds {
            if let Some(v) = values.iter().find(|v| body.contains(v.as_str())) {
                let at = body.find(v.as_str()).unwrap_or(0);
                let from = (0..=at.saturating_sub(80))
                    .rev()
                    .find(|&i| body.is_char_boundary(i))
                    .unwrap_or(0);
                let around: String = body[from..].chars().take(200).collect();
                return Some((kind, v.clone(), around));
            }
        }
        None
    }
}

/// A login request from a client address.
fn login_request(
    username: &str,
    password: &str,
    from: [u8; 4],
    cookie: Option<&str>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/login")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let mut req = req
        .body(Body::from(
            serde_json::json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            from, 40000,
        ))));
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_abuse_is_throttled_and_sessions_and_redirects_are_safe() {
    let dir = generated_bank(40, 5);
    for (store, app) in demo_stores(
        "login_abuse_is_throttled_and_sessions_and_redirects_are_safe",
        dir.path(),
    )
    .await
    {
        let mallory = [10, 0, 0, 66];
        // 40 wrong passwords at once, then the right one: at most five are
        // checked, the rest refused, and the account is locked for that
        // address (before: 34 of 40 checked, and a burst logged in).
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let app = app.clone();
            burst.spawn(async move {
                app.oneshot(login_request("rm3", "guess", mallory, None))
                    .await
                    .unwrap()
                    .status()
            });
        }
        let mut statuses = Vec::new();
        while let Some(s) = burst.join_next().await {
            statuses.push(s.unwrap());
        }
        let wrong = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let locked = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(
            wrong <= 5 && wrong + locked == 40,
            "{wrong} checked, {locked} refused"
        );
        let r = app
            .clone()
            .oneshot(login_request("rm3", PASSWORD, mallory, None))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        // The owner, from their own desk, is not locked out by mallory.
        let r = app
            .clone()
            .oneshot(login_request("rm3", PASSWORD, [10, 0, 0, 3], None))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // An oversized name is refused without a check and kept short in the trail.
        let long = "x".repeat(60_000);
        let r = app
            .clone()
            .oneshot(login_request(&long, "guess", [10, 0, 0, 77], None))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let longest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(LENGTH(actor)) FROM audit_event WHERE action = 'login'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert!(longest.unwrap_or(0) <= 64, "{longest:?}");

        // Session fixation: a second login over the same cookie gets a new id.
        let first = app
            .clone()
            .oneshot(login_request("rm1", PASSWORD, [10, 0, 0, 4], None))
            .await
            .unwrap();
        let cookie = |r: &axum::response::Response| {
            r.headers()
                .get(header::SET_COOKIE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(';').next())
                .map(str::to_owned)
        };
        let before = cookie(&first).expect("a session cookie");
        let second = app
            .clone()
            .oneshot(login_request("rm1", PASSWORD, [10, 0, 0, 4], Some(&before)))
            .await
            .unwrap();
        assert_eq!(second.status(), StatusCode::OK);
        let after = cookie(&second).expect("a new session cookie");
        assert_ne!(before, after, "the session id is cycled on login");
        // The store keeps a digest of the session id, and no password hash.
        let sessions: Vec<(String, String)> = sqlx::query_as("SELECT id, data FROM web_session")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let cookie_id = after.trim_start_matches("panorama_session=");
        let hash: String =
            sqlx::query_scalar("SELECT password_hash FROM app_user WHERE username = 'rm1'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        // As text, or as the bytes the login layer serialises.
        let as_bytes = serde_json::to_string(&hash.as_bytes().to_vec()).unwrap();
        let as_bytes = as_bytes.trim_matches(['[', ']']);
        assert!(!sessions.is_empty());
        for (id, data) in &sessions {
            assert_ne!(id, cookie_id, "the cookie itself is in the store");
            assert!(
                !data.contains(&hash) && !data.contains(as_bytes),
                "a password hash in session data: {data}"
            );
        }

        // Open redirect: a tab after the slash is not followed.
        let mut c = Client::anonymous(&app);
        let page = c.get("/login?next=/%09/evil.example").await.body;
        assert!(page.contains(r#"name="next" value="/""#), "{page}");
        let r = c
            .form(
                "/login",
                &[
                    ("username", "rm2"),
                    ("password", PASSWORD),
                    ("next", "/\t/evil.example"),
                ],
            )
            .await;
        assert_eq!(r.location, "/");

        // A session ends a fixed time after its login, however active.
        let short = panorama_web::router(
            store.clone(),
            panorama_web::WebConfig {
                session_absolute_seconds: 2,
                metrics_token: Some("scrape-me-0123456789".into()),
                ..panorama_web::WebConfig::default()
            },
        );
        let mut rm = Client::login(&short, "rm1").await;
        assert_eq!(rm.get("/api/customers").await.status, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(rm.get("/api/customers").await.status, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        assert_eq!(
            rm.get("/api/customers").await.status,
            StatusCode::UNAUTHORIZED
        );

        // The counters: a scraper with the bearer token or an administrator.
        let metrics = |auth: Option<&str>| {
            let mut req = Request::builder().uri("/metrics");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            short.clone().oneshot(req.body(Body::empty()).unwrap())
        };
        assert_eq!(
            metrics(Some("Bearer scrape-me-0123456789"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        for wrong in [
            None,
            Some("Bearer scrape-me-012345678X"),
            Some("scrape-me-0123456789"),
        ] {
            assert_eq!(
                metrics(wrong).await.unwrap().status(),
                StatusCode::UNAUTHORIZED,
                "{wrong:?}"
            );
        }

        // The header's search posts its term (no personal data in URLs),
        // behind the CSRF token; no page sends a Referer.
        let mut rm = Client::login(&app, "rm1").await;
        let page = rm.get("/customers").await.body;
        assert!(page.contains(r#"action="/search" method="post""#), "{page}");
        let csrf = rm.csrf.clone();
        let r = rm
            .form("/search", &[("csrf", &csrf), ("q", "13800000000")])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = rm
            .form("/search", &[("csrf", "forged"), ("q", "13800000000")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        // Every free-text input is bounded: too long is a 400 naming the field.
        let long = "长".repeat(2001);
        let r = rm
            .get(&format!("/api/search?q={}", urlencode(&long[..303])))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let (mine, _) = first_customer(&mut rm).await;
        let r = rm
            .form(
                &format!("/customers/{mine}/unmask"),
                &[("csrf", &csrf), ("reason", &long[..603])],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        let r = rm
            .form(
                &format!("/customers/{mine}/contacts"),
                &[
                    ("csrf", &csrf),
                    ("channel", "phone"),
                    ("outcome", "回访"),
                    ("notes", &long),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert!(r.body.contains("notes"), "{}", r.body);
        let res = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/login")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(
            res.headers().get(header::REFERRER_POLICY).unwrap(),
            "no-referrer"
        );
    }
}
