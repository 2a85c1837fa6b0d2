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
