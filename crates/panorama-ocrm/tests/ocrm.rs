//! The OCRM rules over a real store (SQLite, and PostgreSQL when
//! `PANORAMA_TEST_PG` names a server): four-eyes approval, and a
//! complaint's life from its opening to its escalation past the SLA.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

use panorama_ocrm::OcrmError;
use panorama_ocrm::approval::{approve_campaign, approve_model};
use panorama_ocrm::complaints::{self, Action, NewComplaint, Refusal};
use panorama_store::ocrm::{self, NewUser, Scope};
use panorama_store::{Store, test_support};

/// A head office and a branch with a branch manager and an RM, and one
/// customer of the RM's.
async fn bank(store: &Store) {
    for (id, code, level, parent, path) in [
        (1_i64, "HO", "head_office", None, "/1/"),
        (2, "BR01", "branch", Some(1_i64), "/1/2/"),
    ] {
        sqlx::query(
            "INSERT INTO org_unit (id, code, name, level, parent_id, path) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(code)
        .bind(format!("机构{code}"))
        .bind(level)
        .bind(parent)
        .bind(path)
        .execute(store.pool())
        .await
        .unwrap();
    }
    for (username, role, org) in [("rm", "rm", "BR01"), ("bm", "branch_manager", "BR01")] {
        let user = NewUser {
            username,
            display_name: username,
            role,
            org_code: org,
            password_hash: "unused",
        };
        ocrm::save_user(store, &user, "test").await.unwrap();
    }
    sqlx::query(
        "INSERT INTO customer (id, customer_no, party_type, name, home_org_unit_id, created_at, updated_at) \
         VALUES (1, 'C00000001', 'person', '张华强', 2, '2026-01-01', '2026-01-01')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    ocrm::assign_unassigned(store, "test", "2026-01-01")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_follows_its_rules_and_is_escalated_when_overdue() {
    for t in test_support::both("ocrm_complaints").await.unwrap() {
        let store = &t.store;
        bank(store).await;
        let new = |category, severity| NewComplaint {
            customer_id: 1,
            category,
            channel: "phone",
            severity,
            description: "卡被盗刷",
            actor: "rm",
            actor_id: 1,
        };
        let err = complaints::open(store, &new("weather", "normal"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OcrmError::Invalid(ref m) if m.contains("category")),
            "{err}"
        );
        let id = complaints::open(store, &new("fraud", "high"))
            .await
            .unwrap();
        let row = panorama_store::complaints::get(store, &Scope::All, id)
            .await
            .unwrap()
            .unwrap();
        let opened = chrono::DateTime::parse_from_rfc3339(&row.opened_at).unwrap();
        let due = chrono::DateTime::parse_from_rfc3339(&row.sla_due_at).unwrap();
        assert_eq!(
            (due - opened).num_hours(),
            12,
            "fraud, high: half of 24 hours"
        );

        let act = |action, note| complaints::act(store, &Scope::All, id, action, note, "rm");
        assert_eq!(
            act(Action::Close, None).await.unwrap(),
            Err(Refusal::WrongStatus("open".into()))
        );
        assert_eq!(
            act(Action::Resolve, None).await.unwrap(),
            Err(Refusal::NoteNeeded)
        );
        assert_eq!(
            act(Action::Start, None).await.unwrap(),
            Ok("in_progress".into())
        );

        // Past the SLA, once: to the branch manager, as an `sla` step.
        let later = (due + chrono::Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert_eq!(
            complaints::escalate_overdue(store, &later).await.unwrap(),
            1
        );
        assert_eq!(
            complaints::escalate_overdue(store, &later).await.unwrap(),
            0
        );
        let row = panorama_store::complaints::get(store, &Scope::All, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.status.as_str(), row.owner.as_deref()),
            ("escalated", Some("bm"))
        );
        let events = panorama_store::complaints::events(store, id).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.status.as_str()),
            ("sla", "escalated")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_person_approves_a_campaign_and_a_model() {
    for t in test_support::both("ocrm_approval").await.unwrap() {
        let store = &t.store;
        use panorama_store::campaigns as c;
        let id = c::create(
            store,
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
        let err = approve_campaign(store, id, "analyst1").await.unwrap_err();
        assert!(matches!(err, OcrmError::Refused(_)), "{err}");
        let approved = approve_campaign(store, id, "bm1").await.unwrap();
        assert_eq!(approved.status, "approved");
        let err = approve_campaign(store, id, "bm1").await.unwrap_err();
        assert!(
            matches!(err, OcrmError::Conflict(ref m) if m.contains("only a draft")),
            "{err}"
        );
        let err = approve_campaign(store, id + 100, "bm1").await.unwrap_err();
        assert!(matches!(err, OcrmError::NotFound(_)), "{err}");
        let err = approve_model(store, 4242, "exec1").await.unwrap_err();
        assert!(matches!(err, OcrmError::NotFound(_)), "{err}");
        let audited: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_event WHERE action = 'campaign.approve' AND actor = 'bm1'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(audited, 1, "approved once, audited once");
    }
}

/// Customers won every 7 days from 2026-08-08 to 2026-10-31 (13, five of
/// them in October), and an opportunity history: 20 closed from their
/// first stage (8 won), 2 open at the proposal stage for 10,000 yuan each.
async fn forecast_bank(store: &Store) {
    bank(store).await;
    for sql in [
        "INSERT INTO source_system (code, name, trust) VALUES ('core', '核心', 80)",
        "INSERT INTO ingest_batch (started_at, folder, status) VALUES ('2026-11-01', 'bank', 'committed')",
        "INSERT INTO source_record (id, system, source_key, party_type, name, id_status, credit_code_status, row_hash, first_batch_id, batch_id) \
         VALUES (1, 'core', 'P1', 'person', '张华强', 'missing', 'missing', 'h', 1, 1)",
        "INSERT INTO product (code, name, name_en, class, system) VALUES ('CUR', '活期', 'Current', 'settlement', 'core')",
        "INSERT INTO product (code, name, name_en, class, system) VALUES ('W001', '稳健理财', 'Wealth', 'wealth', 'core')",
    ] {
        sqlx::query(sql).execute(store.pool()).await.unwrap();
    }
    let first = chrono::NaiveDate::from_ymd_opt(2026, 8, 8).unwrap();
    for k in 0..13_i64 {
        let id = 10 + k;
        let opened = first + chrono::Days::new(7 * k as u64);
        sqlx::query(
            "INSERT INTO customer (id, customer_no, party_type, name, home_org_unit_id, created_at, updated_at) \
             VALUES ($1, $2, 'person', '李新客', 2, '2026-01-01', '2026-01-01')",
        )
        .bind(id)
        .bind(format!("C{id:08}"))
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO account (id, system, account_no, source_record_id, customer_id, product_code, opened_on, \
             status, row_hash, batch_id) VALUES ($1, 'core', $2, 1, $1, 'CUR', $3, 'active', 'h', 1)",
        )
        .bind(id)
        .bind(format!("A{id}"))
        .bind(opened.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    }
    ocrm::assign_unassigned(store, "test", "2026-01-01")
        .await
        .unwrap();
    let rm = ocrm::user_by_username(store, "rm").await.unwrap().unwrap();
    for k in 0..22 {
        let o = panorama_store::pipeline::NewOpportunity {
            customer_id: 1,
            owner_user_id: rm.id,
            product_code: "W001",
            amount_minor: (k >= 20).then_some(1_000_000),
            expected_close: None,
            campaign_id: None,
            notes: None,
        };
        let id = panorama_store::pipeline::create(store, &o, "rm")
            .await
            .unwrap()
            .unwrap();
        let stage = match k {
            0..8 => "won",
            8..20 => "lost",
            _ => "proposal",
        };
        panorama_store::pipeline::move_stage(store, id, rm.id, stage, None, "rm")
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_is_forecast_from_its_trend_and_pipeline_and_a_miss_is_listed() {
    use panorama_domain::period::Period;
    use panorama_ocrm::forecast;
    use panorama_store::targets::{self as tq, Base, Child};
    for t in test_support::both("ocrm_forecast").await.unwrap() {
        let store = &t.store;
        forecast_bank(store).await;
        let q4 = Period::parse("2026-Q4").unwrap();
        for (indicator, value) in [("new_customers", 40), ("opportunities_won", 1_000_000)] {
            let id = panorama_ocrm::targets::set(store, &q4, indicator, "HO", value, "exec")
                .await
                .unwrap();
            let ho = tq::get(store, id).await.unwrap().unwrap();
            panorama_ocrm::targets::split_in_proportion(store, &ho, Base::Customers, "exec")
                .await
                .unwrap();
            let br = tq::target_of(store, "2026-Q4", indicator, 2)
                .await
                .unwrap()
                .unwrap();
            panorama_ocrm::targets::split_in_proportion(store, &br, Base::Customers, "exec")
                .await
                .unwrap();
        }
        let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        tq::refresh_current(store, day).await.unwrap();
        let done = forecast::refresh(store, day).await.unwrap();
        assert_eq!((done.targets, done.books), (2, 2), "{done:?}");
        // Every closed opportunity was at its first stage: 8 of 20 won.
        let lead = done.win_rates.iter().find(|h| h.stage == "lead").unwrap();
        assert_eq!((lead.closed, lead.won), (20, 8));
        let rm = ocrm::user_by_username(store, "rm").await.unwrap().unwrap();

        // New customers: 5 in October; the last 90 days' 13 over the 61
        // days left is 8.81 more (the past quarters had nothing to choose
        // pacing on).
        let ind = tq::indicator(store, "new_customers")
            .await
            .unwrap()
            .unwrap();
        let basis = panorama_store::forecasts::basis_of(store, "new_customers")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(basis.basis, "window");
        let actual = tq::actual_under(store, "2026-Q4", "new_customers", Child::Rm(rm.id))
            .await
            .unwrap();
        assert_eq!(actual, 5);
        let o = forecast::outlook(store, "2026-Q4", &ind, Child::Rm(rm.id), actual, Some(40))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((o.actual, o.trend, o.pipeline, o.forecast), (5, 9, 0, 14));
        assert!(o.low >= 5 && o.low < 14 && o.high > 14, "{o:?}");
        assert!(o.p_meet.unwrap() < 0.01, "{o:?}");
        // The org units above add their RMs' books.
        let org = forecast::outlook(store, "2026-Q4", &ind, Child::Org(1), actual, Some(40))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(org.forecast, o.forecast);

        // Opportunities won: nothing yet, the two open ones at the pooled
        // 40 %: 8,000 yuan expected, a 39 % chance of reaching 10,000.
        let ind = tq::indicator(store, "opportunities_won")
            .await
            .unwrap()
            .unwrap();
        let o = forecast::outlook(store, "2026-Q4", &ind, Child::Rm(rm.id), 0, Some(1_000_000))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((o.trend, o.pipeline, o.forecast), (0, 800_000, 800_000));
        assert!((o.p_meet.unwrap() - 0.386).abs() < 0.002, "{o:?}");

        // Head office sees both org units missing both, the least likely
        // first.
        let misses = forecast::at_risk(store, "2026-Q4", "").await.unwrap();
        let seen: Vec<(&str, &str)> = misses
            .iter()
            .map(|m| (m.org_code.as_str(), m.indicator.code.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("HO", "new_customers"),
                ("BR01", "new_customers"),
                ("HO", "opportunities_won"),
                ("BR01", "opportunities_won"),
            ]
        );
        // A branch manager's subtree holds only the branch.
        let branch = forecast::at_risk(store, "2026-Q4", "/1/2/").await.unwrap();
        assert!(branch.iter().all(|m| m.org_code == "BR01") && branch.len() == 2);

        // The backtest replays the quarter before: 8 customers won in it,
        // none foreseen on its 31st day (nothing in the window then).
        let b = forecast::backtest(store, "new_customers", day, 1, 31)
            .await
            .unwrap();
        let s = b.total();
        assert_eq!((s.books, s.truth, s.forecast), (1, 8.0, 0.0));
        assert!(
            forecast::backtest(store, "aum_growth", day, 1, 31)
                .await
                .is_err()
        );
    }
}
