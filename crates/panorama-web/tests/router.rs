//! The web crate's router on a hand-built bank (two sub-branches, an RM in
//! each, a branch manager over both, three customers), without the
//! synthetic bank or the batch: login and logout, scope in the 360 and the
//! lists, masking, CSRF on writes, the per-route body limits, the SLA
//! escalation of a complaint to the branch manager.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use panorama_store::ocrm::{self, NewUser};
use panorama_store::test_support;
use serde_json::Value;
use tower::ServiceExt;

const PASSWORD: &str = "router-pass-1";

struct Reply {
    status: StatusCode,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

struct Client {
    app: Router,
    cookie: Option<String>,
    csrf: String,
}

impl Client {
    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        body: Option<(&str, Vec<u8>)>,
        csrf: bool,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, c);
        }
        if csrf {
            req = req.header("x-csrf-token", &self.csrf);
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
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        Reply {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn login(app: &Router, username: &str) -> Client {
        let mut c = Client {
            app: app.clone(),
            cookie: None,
            csrf: String::new(),
        };
        let body = format!(r#"{{"username":"{username}","password":"{PASSWORD}"}}"#);
        let r = c
            .send(
                "POST",
                "/api/login",
                Some(("application/json", body.into_bytes())),
                false,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        c.csrf = r.json()["csrf"].as_str().unwrap().to_owned();
        c
    }

    async fn get(&mut self, uri: &str) -> Reply {
        self.send("GET", uri, None, false).await
    }

    async fn post(&mut self, uri: &str, json: &str) -> Reply {
        self.send(
            "POST",
            uri,
            Some(("application/json", json.as_bytes().to_vec())),
            true,
        )
        .await
    }
}

/// Org units /1/ (head office), /1/2/ (branch), /1/2/3/ and /1/2/4/
/// (sub-branches); rm.a at 3, rm.b at 4, bm at 2; customers 1 and 2 with
/// rm.a, customer 3 with rm.b.
async fn bank(store: &panorama_store::Store) {
    for (id, code, level, parent, path) in [
        (1, "HO", "head_office", None, "/1/"),
        (2, "BR01", "branch", Some(1), "/1/2/"),
        (3, "SB0101", "sub_branch", Some(2), "/1/2/3/"),
        (4, "SB0102", "sub_branch", Some(2), "/1/2/4/"),
    ] {
        sqlx::query("INSERT INTO org_unit (id, code, name, level, parent_id, path) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id as i64)
            .bind(code)
            .bind(format!("机构{code}"))
            .bind(level)
            .bind(parent.map(|p: i32| p as i64))
            .bind(path)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let hash = panorama_web::auth::hash_password(PASSWORD).unwrap();
    for (username, role, org) in [
        ("rm.a", "rm", "SB0101"),
        ("rm.b", "rm", "SB0102"),
        ("bm", "branch_manager", "BR01"),
        ("agent", "agent", "HO"),
        ("analyst", "analyst", "HO"),
    ] {
        ocrm::save_user(
            store,
            &NewUser {
                username,
                display_name: username,
                role,
                org_code: org,
                password_hash: &hash,
            },
            "test",
        )
        .await
        .unwrap();
    }
    for (id, name, mobile, org) in [
        (1_i64, "张华强", "13812345678", 3_i64),
        (2, "李娜", "13912345678", 3),
        (3, "王伟", "13712345678", 4),
    ] {
        sqlx::query(
            "INSERT INTO customer (id, customer_no, party_type, name, mobile, home_org_unit_id, created_at, updated_at) \
             VALUES ($1, $2, 'person', $3, $4, $5, '2026-01-01', '2026-01-01')",
        )
        .bind(id)
        .bind(format!("C{id:08}"))
        .bind(name)
        .bind(mobile)
        .bind(org)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let report = ocrm::assign_unassigned(store, "test", "2026-01-01")
        .await
        .unwrap();
    assert_eq!(report.assigned, 3);
    panorama_store::names::index_names(store).await.unwrap();
}

fn app(store: &panorama_store::Store) -> Router {
    panorama_web::router(store.clone(), panorama_web::WebConfig::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_masking_csrf_limits_and_the_sla_on_a_hand_built_bank() {
    for store in test_support::both("web_router_hand_built_bank")
        .await
        .unwrap()
    {
        bank(&store).await;
        let app = app(&store);
        let mut a = Client::login(&app, "rm.a").await;
        let mut b = Client::login(&app, "rm.b").await;
        let mut bm = Client::login(&app, "bm").await;

        // Lists and the 360 in scope; another RM's customer is not found.
        assert_eq!(a.get("/api/customers").await.json()["total"], 2);
        assert_eq!(b.get("/api/customers").await.json()["total"], 1);
        assert_eq!(bm.get("/api/customers").await.json()["total"], 3);
        assert_eq!(
            a.get("/api/customers/3").await.status,
            StatusCode::NOT_FOUND
        );
        let view = a.get("/api/customers/1").await.json();
        assert_eq!(view["profile"]["mobile"], "138****5678");
        // Pinyin finds in scope only.
        let hits = |r: Reply| r.json()["customers"].as_array().unwrap().len();
        assert_eq!(hits(a.get("/api/search?q=zhq").await), 1);
        assert_eq!(hits(b.get("/api/search?q=zhanghuaqiang").await), 0);

        // Writes need the token.
        let complaint =
            r#"{"customer_id":1,"category":"fraud","channel":"phone","description":"卡被盗刷"}"#;
        let mut forged = Client {
            app: app.clone(),
            cookie: a.cookie.clone(),
            csrf: "forged".into(),
        };
        assert_eq!(
            forged.post("/api/complaints", complaint).await.status,
            StatusCode::FORBIDDEN
        );
        let r = a.post("/api/complaints", complaint).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.json()["id"].as_i64().unwrap();

        // Fraud: 24 hours, then the branch manager owns it.
        let after = (chrono::Utc::now() + chrono::Duration::hours(25))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert_eq!(
            panorama_ocrm::complaints::escalate_overdue(&store, &after)
                .await
                .unwrap(),
            1
        );
        let j = bm.get(&format!("/api/complaints/{id}")).await.json();
        assert_eq!(j["complaint"]["owner"], "bm");
        assert_eq!(
            b.get(&format!("/api/complaints/{id}")).await.status,
            StatusCode::NOT_FOUND
        );

        // Bodies: 64 KiB for JSON and forms, more only for the upload.
        let big = format!(r#"{{"sections":["{}"]}}"#, "x".repeat(70 * 1024));
        assert_eq!(
            a.post("/api/me/workbench", &big).await.status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let boundary = "B0undary";
        let csv = "customer_no,rm\nC00000001,rm.b\n".to_owned() + &"#\n".repeat(40 * 1024);
        let upload = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.csv\"\r\n\r\n{csv}\r\n--{boundary}--\r\n",
            bm.csrf
        );
        let r = bm
            .send(
                "POST",
                "/assignments/upload",
                Some((
                    &format!("multipart/form-data; boundary={boundary}"),
                    upload.into_bytes(),
                )),
                false,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            &r.body[..r.body.len().min(300)]
        );
        assert_eq!(
            b.get("/api/customers/1").await.status,
            StatusCode::OK,
            "moved by the file"
        );

        // The API document names the campaign endpoints beside the rest.
        let doc = a.get("/api/openapi.json").await.json();
        for path in [
            "/api/customers",
            "/api/campaigns",
            "/api/campaigns/compare",
            "/api/campaigns/preview",
            "/api/campaigns/{id}/launch",
            "/api/campaigns/{id}/finish",
        ] {
            assert!(
                doc["paths"][path].is_object(),
                "{path} in the OpenAPI document"
            );
        }
        assert!(doc["paths"]["/api/campaigns"]["post"].is_object());
        // Without the analytics directory, design answers why.
        let mut analyst = Client::login(&app, "analyst").await;
        let r = analyst
            .post("/api/campaigns", r#"{"name":"x","segment":"aum >= 0"}"#)
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(r.body.contains("analytics"), "{}", r.body);

        // Logout ends the session.
        let r = a.post("/api/logout", "").await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        assert_eq!(a.get("/api/me").await.status, StatusCode::UNAUTHORIZED);
    }
}
