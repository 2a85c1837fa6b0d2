//! Sales registration (业绩登记) end to end on the quickstart bank and the
//! `panorama` binary: the nightly chain registered the accounts the
//! extracts opened, credited by the split rules to the sellers their staff
//! numbers name; a teller enters a sale referred by an RM of another
//! sub-branch, a branch manager approves it, and it is credited to the
//! teller, the customer's RM and the referrer; the RM disputes the split
//! and the branch manager upholds it with a new split (both versions
//! kept); the head office changes a channel's rule without code; bad input
//! is refused with a reason.

#![allow(clippy::unwrap_used)] // test binaries: a failed unwrap is a failed test

mod common;

use std::collections::HashMap;

use common::{panorama, quickstart_bank, succeeds};
use panorama_store::Store;

fn refused(dir: &std::path::Path, args: &[&str], expected: &str) {
    let out = panorama(dir, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "panorama {args:?} succeeded: {text}");
    assert!(
        text.contains(expected),
        "panorama {args:?}: expected {expected:?} in {text}"
    );
}

async fn user_id(store: &Store, login: &str) -> i64 {
    panorama_store::ocrm::user_by_username(store, login)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Each person's credited basis points (all classes) for sales made in 2000–2100.
async fn credited(store: &Store) -> HashMap<i64, i64> {
    let mut by_user = HashMap::new();
    for t in panorama_store::sales::credit_totals(store, "2000-01-01", "2100-12-31")
        .await
        .unwrap()
    {
        *by_user.entry(t.user_id).or_insert(0) += t.share_bp;
    }
    by_user
}

fn sale_id(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("sale "))
        .and_then(|l| l.split_whitespace().next())
        .map(|id| id.trim_end_matches(':').to_owned())
        .unwrap_or_else(|| panic!("no sale id in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_are_registered_entered_approved_credited_disputed_and_adjusted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let store = quickstart_bank(dir, 600).await;
    let db = store.pool();

    // The nightly chain registered the accounts opened in its window.
    let (sales, counter, unknown, self_service): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(CASE WHEN channel = 'counter' THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN seller_code LIKE '%-99' AND seller_user_id IS NULL THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN channel = 'self_service' THEN 1 ELSE 0 END) AS BIGINT) FROM sale WHERE source = 'extract'",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert!(sales > 50, "{sales} sales registered");
    assert!(
        counter > 0 && unknown > 0 && self_service > 0,
        "{counter} {unknown} {self_service}"
    );
    // Every registered sale's credits add up to the whole sale.
    let off: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.amount_minor, CAST(SUM(k.share_bp) AS BIGINT), CAST(SUM(k.amount_minor) AS BIGINT) \
         FROM sale s JOIN sale_credit k ON k.sale_id = s.id AND k.version = s.credit_version \
         GROUP BY s.id, s.amount_minor HAVING SUM(k.share_bp) <> 10000 OR SUM(k.amount_minor) <> s.amount_minor",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(off.is_empty(), "credits not adding up: {off:?}");
    // A teller's sale at the counter: seller 50 %, the customer's RM 30 %
    // (a referrer's 20 % passed on in proportion: 62.5 / 37.5).
    let (teller_sale, teller_share): (i64, i64) = sqlx::query_as(
        "SELECT s.id, k.share_bp FROM sale s JOIN sale_credit k ON k.sale_id = s.id AND k.part = 'seller' \
         JOIN sale_credit r ON r.sale_id = s.id AND r.part = 'rm' \
         WHERE s.channel = 'counter' AND s.referral_id IS NULL ORDER BY s.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(teller_share, 6250, "sale {teller_sale}");
    // Re-running registers nothing twice.
    let again = succeeds(dir, &["sales", "register"]);
    assert!(again.starts_with("0 sales registered"), "{again}");

    // teller1 sells a wealth product to a customer of rm1, referred by rm3.
    let (customer_no,): (String,) = sqlx::query_as(
        "SELECT c.customer_no FROM assignment a JOIN customer c ON c.id = a.customer_id \
         JOIN app_user u ON u.id = a.rm_user_id WHERE u.username = 'rm1' AND a.to_date IS NULL \
         AND c.status = 'active' ORDER BY c.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let (product,): (String,) =
        sqlx::query_as("SELECT code FROM product WHERE class = 'wealth' ORDER BY code LIMIT 1")
            .fetch_one(db)
            .await
            .unwrap();
    let (teller1, rm1, rm3) = (
        user_id(&store, "teller1").await,
        user_id(&store, "rm1").await,
        user_id(&store, "rm3").await,
    );
    let before = credited(&store).await;
    let entry = [
        "sales",
        "enter",
        "--by",
        "teller1",
        "--customer",
        &customer_no,
        "--product",
        &product,
        "--amount",
        "50000.01",
        "--referrer",
        "rm3",
        "--account-no",
        "TEST-0001",
        "--note",
        "柜面理财",
    ];
    let out = succeeds(dir, &entry);
    assert!(out.contains("pending"), "{out}");
    let id = sale_id(&out);
    for (who, part, share) in [
        ("teller1", "seller", "50.00%"),
        ("rm1", "rm", "30.00%"),
        ("rm3", "referrer", "20.00%"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains(who) && l.contains(part) && l.contains(share)),
            "{who} {part} {share} in {out}"
        );
    }
    // Pending sales count for nobody; the same account cannot be entered twice.
    assert_eq!(credited(&store).await, before);
    refused(dir, &entry, "already has a sale");
    // Only a branch manager of its org units approves, never the enterer.
    refused(
        dir,
        &["sales", "approve", &id, "--by", "rm1"],
        "branch manager",
    );
    refused(
        dir,
        &["sales", "reject", &id, "--by", "bm1", "--reason", " "],
        "says why",
    );
    succeeds(dir, &["sales", "approve", &id, "--by", "bm1"]);
    refused(
        dir,
        &["sales", "approve", &id, "--by", "bm1"],
        "only a pending sale",
    );
    let after = credited(&store).await;
    let gained =
        |u: i64| after.get(&u).copied().unwrap_or(0) - before.get(&u).copied().unwrap_or(0);
    assert_eq!(
        (gained(teller1), gained(rm1), gained(rm3)),
        (5000, 3000, 2000)
    );
    // Visible to both the teller and the referrer.
    for who in ["teller1", "rm3"] {
        let list = succeeds(
            dir,
            &["sales", "list", "--user", who, "--json", "--limit", "1000"],
        );
        let rows: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
        assert!(
            rows.iter()
                .any(
                    |r| r["id"].as_i64().map(|n| n.to_string()).as_deref() == Some(id.as_str())
                        && r["status"] == "approved"
                ),
            "{who}: {list}"
        );
    }

    // rm1 disputes: they closed it; bm1 upholds with a new split.
    let out = succeeds(
        dir,
        &[
            "sales",
            "dispute",
            &id,
            "--by",
            "rm1",
            "--reason",
            "客户由我面谈促成",
        ],
    );
    let dispute: String = out.split_whitespace().nth(1).unwrap().to_owned();
    refused(
        dir,
        &["sales", "dispute", &id, "--by", "rm1", "--reason", "again"],
        "already has a dispute",
    );
    refused(
        dir,
        &[
            "sales", "dispute", &id, "--by", "agent1", "--reason", "me too",
        ],
        "is not credited",
    );
    refused(
        dir,
        &[
            "sales",
            "resolve",
            &dispute,
            "--by",
            "bm1",
            "--split",
            "rm1=60,teller1=30",
            "--reason",
            "x",
        ],
        "add up to 9000",
    );
    succeeds(
        dir,
        &[
            "sales",
            "resolve",
            &dispute,
            "--by",
            "bm1",
            "--split",
            "rm1=60,teller1=40",
            "--reason",
            "面谈记录为证",
        ],
    );
    let shown = succeeds(dir, &["sales", "list", "--id", &id]);
    assert!(
        shown
            .lines()
            .any(|l| l.contains("2*") && l.contains("rm1") && l.contains("60.00%")),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.trim_start().starts_with('1') && l.contains("rm3")),
        "{shown}"
    );
    let adjusted = credited(&store).await;
    let gained =
        |u: i64| adjusted.get(&u).copied().unwrap_or(0) - before.get(&u).copied().unwrap_or(0);
    assert_eq!((gained(teller1), gained(rm1), gained(rm3)), (4000, 6000, 0));
    let (audited,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_event WHERE action IN ('sales.enter', 'sales.approve', 'sales.dispute', 'sales.adjust') \
         AND object_id = $1",
    )
    .bind(&id)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(audited, 4);

    // The head office changes the counter's rule; the next entry follows it.
    refused(
        dir,
        &[
            "sales",
            "rules",
            "--channel",
            "counter",
            "--seller",
            "60",
            "--by",
            "admin",
        ],
        "add up to 6000",
    );
    succeeds(
        dir,
        &[
            "sales",
            "rules",
            "--channel",
            "counter",
            "--seller",
            "40",
            "--rm",
            "40",
            "--referrer",
            "20",
            "--by",
            "admin",
        ],
    );
    let out = succeeds(
        dir,
        &[
            "sales",
            "enter",
            "--by",
            "teller1",
            "--customer",
            &customer_no,
            "--product",
            &product,
            "--amount",
            "100",
        ],
    );
    assert!(
        out.lines()
            .any(|l| l.contains("teller1") && l.contains("50.00%")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("rm1") && l.contains("50.00%")),
        "{out}"
    );

    // Appraisal: both the teller and the referrer are scored on the sale.
    let ran = succeeds(dir, &["appraisal", "run", "--period", "2026-Q4"]);
    assert!(ran.contains("teller") && ran.contains("rm"), "{ran}");
    let card = |who: &str| {
        let out = succeeds(
            dir,
            &[
                "appraisal",
                "show",
                "--period",
                "2026-Q4",
                "--user",
                who,
                "--json",
            ],
        );
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let teller_card = card("teller1");
    let line = |c: &serde_json::Value, ind: &str| {
        c["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["indicator"] == ind)
            .cloned()
            .unwrap_or_else(|| panic!("no {ind} line in {c}"))
    };
    let teller_sales = line(&teller_card, "sales_count");
    assert!(
        teller_sales["actual"].as_i64().unwrap() >= 4000,
        "{teller_sales}"
    );
    assert_eq!(teller_sales["weight"], 50);
    let rm3_card = card("rm3");
    assert!(
        rm3_card["appraisal"]["peers"].as_i64().unwrap() >= 2,
        "{rm3_card}"
    );
    // The points add up to the score.
    for c in [&teller_card, &rm3_card] {
        let sum: i64 = c["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["points_centi"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, c["appraisal"]["score_centi"].as_i64().unwrap(), "{c}");
    }
    // Head office changes the tellers' card without code; the next run uses it.
    refused(
        dir,
        &[
            "appraisal",
            "card",
            "--role",
            "teller",
            "--item",
            "sales_count=60@10",
            "--item",
            "csat=30@4.5",
        ],
        "add up to 90",
    );
    refused(
        dir,
        &[
            "appraisal",
            "card",
            "--role",
            "teller",
            "--item",
            "nonsense=100@1",
        ],
        "a standard is set on a measure",
    );
    succeeds(
        dir,
        &[
            "appraisal",
            "card",
            "--role",
            "teller",
            "--item",
            "sales_count=60@10",
            "--item",
            "sales_amount/wealth=40@500000",
            "--by",
            "admin",
        ],
    );
    succeeds(dir, &["appraisal", "run", "--period", "2026-Q4"]);
    let teller_card = card("teller1");
    assert_eq!(line(&teller_card, "sales_count")["weight"], 60);
    assert_eq!(
        line(&teller_card, "sales_amount")["product_class"],
        "wealth"
    );
    assert_eq!(teller_card["lines"].as_array().unwrap().len(), 2);
    // The branch manager confirms; a later run keeps what was confirmed.
    refused(
        dir,
        &["appraisal", "confirm", "--period", "2026-Q4", "--by", "rm1"],
        "branch manager",
    );
    let confirmed = succeeds(
        dir,
        &["appraisal", "confirm", "--period", "2026-Q4", "--by", "bm1"],
    );
    assert!(!confirmed.starts_with("0 "), "{confirmed}");
    succeeds(
        dir,
        &[
            "appraisal",
            "card",
            "--role",
            "teller",
            "--item",
            "sales_count=100@1",
            "--by",
            "admin",
        ],
    );
    succeeds(dir, &["appraisal", "run", "--period", "2026-Q4"]);
    let kept = card("teller1");
    assert_eq!(kept["appraisal"]["status"], "confirmed");
    assert_eq!(kept["lines"].as_array().unwrap().len(), 2);

    // Incentives: head office's rules, the run, one person's lines, the
    // payroll workbook read back.
    refused(
        dir,
        &[
            "incentive",
            "rules",
            "--role",
            "teller",
            "--pool",
            "2000",
            "--threshold",
            "0",
            "--rate",
            "nope=1",
        ],
        "no product class",
    );
    refused(
        dir,
        &["incentive", "run", "--period", "2026-Q1"],
        "no appraisals",
    );
    succeeds(
        dir,
        &[
            "incentive",
            "rules",
            "--role",
            "teller",
            "--pool",
            "2000",
            "--threshold",
            "0",
            "--rate",
            "wealth=0.5",
            "--by",
            "admin",
        ],
    );
    let ran = succeeds(dir, &["incentive", "run", "--period", "2026-Q4"]);
    let total: String = ran
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    let shown = succeeds(
        dir,
        &[
            "incentive",
            "show",
            "--period",
            "2026-Q4",
            "--user",
            "teller1",
        ],
    );
    // teller1's credited wealth amount (40 % of 50,000.01 after the split)
    // at 0.5 %: 100.00; and a share of the pool.
    assert!(
        shown
            .lines()
            .any(|l| l.contains("commission") && l.contains("wealth") && l.contains("100.00")),
        "{shown}"
    );
    assert!(shown.lines().any(|l| l.contains("pool")), "{shown}");
    let xlsx = dir.join("incentives.xlsx");
    let xlsx_text = xlsx.to_string_lossy().into_owned();
    succeeds(
        dir,
        &[
            "incentive",
            "export",
            "--period",
            "2026-Q4",
            "--out",
            &xlsx_text,
            "--by",
            "bm1",
        ],
    );
    use calamine::Reader as _;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range("incentives").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][2], "login");
    let fen: i64 = rows[1..].iter().map(|r| r[9].parse::<i64>().unwrap()).sum();
    let total_fen: i64 = panorama_domain::money::Money::parse_major(&total)
        .unwrap()
        .minor();
    assert_eq!(fen, total_fen, "{ran}");
    let teller_row = rows.iter().find(|r| r[2] == "teller1").unwrap();
    assert!(shown.contains(
        &panorama_domain::money::Money::from_minor(teller_row[9].parse().unwrap()).to_string()
    ));
    let (exports,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_event WHERE action = 'incentive.export' AND actor = 'bm1'",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(exports, 1);

    // Bad input is refused with the reason.
    let base = ["sales", "enter", "--by", "teller1", "--customer"];
    refused(
        dir,
        &[&base[..], &["NOPE", "--product", &product, "--amount", "1"]].concat(),
        "no customer",
    );
    refused(
        dir,
        &[
            &base[..],
            &[&customer_no, "--product", "XX", "--amount", "1"],
        ]
        .concat(),
        "no product",
    );
    refused(
        dir,
        &[
            &base[..],
            &[&customer_no, "--product", &product, "--amount", "-1"],
        ]
        .concat(),
        "not negative",
    );
    refused(
        dir,
        &[
            &base[..],
            &[
                &customer_no,
                "--product",
                &product,
                "--amount",
                "1",
                "--on",
                "2099-01-01",
            ],
        ]
        .concat(),
        "within a year",
    );
    refused(
        dir,
        &[
            "sales",
            "enter",
            "--by",
            "analyst1",
            "--customer",
            &customer_no,
            "--product",
            &product,
            "--amount",
            "1",
        ],
        "does not register sales",
    );
}
