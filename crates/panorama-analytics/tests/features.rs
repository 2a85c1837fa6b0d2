//! The feature SQL on a small hand-computed bank: every number below is
//! worked out by hand in the comments.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray,
};
use panorama_analytics::engine::{register_features, snapshot_schema, snapshot_session};
use panorama_analytics::features::{self, text_values};
use panorama_analytics::features_sql::Dates;
use panorama_analytics::snapshot::{date32, write_parquet};
use panorama_analytics::{Config, alerts};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dates(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(Date32Array::from(
        v.iter()
            .map(|x| x.map(|s| date32(d(s))))
            .collect::<Vec<_>>(),
    ))
}

fn ints(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn texts(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

fn write(dir: &Path, table: &str, file: &str, columns: Vec<ArrayRef>) {
    let schema = snapshot_schema(table).unwrap();
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    write_parquet(&dir.join(file), schema, &[batch]).unwrap();
}

/// Customer 1: a person born 1990-07-15 with a current account, a term
/// deposit, a credit card and a consumer loan. Customer 2: no accounts.
/// Customer 3: a company with a current account.
fn bank(root: &Path) {
    let s = root.join("snapshot");
    write(
        &s,
        "customer",
        "customer.parquet",
        vec![
            ints(&[Some(1), Some(2), Some(3)]),
            texts(&[Some("C1"), Some("C2"), Some("C3")]),
            texts(&[Some("person"), Some("person"), Some("organisation")]),
            texts(&[Some("F"), None, None]),
            dates(&[Some("1990-07-15"), None, None]),
            texts(&[None, None, Some("制造业")]),
            texts(&[Some("B01"), Some("B01"), Some("B02")]),
            ints(&[Some(10), None, None]),
            dates(&[Some("2020-01-10"), Some("2026-01-01"), Some("2026-01-01")]),
        ],
    );
    // id, customer, product, class, branch, opened, matures, closed, status, rate, limit
    write(
        &s,
        "account",
        "account.parquet",
        vec![
            ints(&[Some(1), Some(2), Some(3), Some(4), Some(5)]),
            ints(&[Some(1), Some(1), Some(1), Some(1), Some(3)]),
            texts(&[
                Some("D001"),
                Some("D012"),
                Some("C002"),
                Some("L002"),
                Some("D200"),
            ]),
            texts(&[
                Some("settlement"),
                Some("deposit"),
                Some("card"),
                Some("loan"),
                Some("settlement"),
            ]),
            texts(&[Some("B01"); 5]),
            dates(&[
                Some("2020-01-10"),
                Some("2025-12-05"),
                Some("2024-06-30"),
                Some("2025-01-01"),
                Some("2026-01-01"),
            ]),
            dates(&[None, Some("2026-12-05"), None, Some("2028-01-01"), None]),
            dates(&[None; 5]),
            texts(&[Some("active"); 5]),
            ints(&[Some(10), Some(165), Some(0), Some(450), Some(20)]),
            ints(&[None, None, Some(3_000_000), None, None]),
        ],
    );
    write(
        &s,
        "product",
        "product.parquet",
        vec![
            texts(&[Some("D001")]),
            texts(&[Some("个人活期储蓄")]),
            texts(&[Some("Personal current savings")]),
            texts(&[Some("settlement")]),
            ints(&[None]),
            ints(&[Some(10)]),
        ],
    );
    // Customer 1 is the company's legal representative (declared from the
    // company) and a shareholder; customer 2 its finance contact, without a
    // birth date.
    write(
        &s,
        "relationship",
        "relationship.parquet",
        vec![
            ints(&[Some(3), Some(1), Some(2)]),
            ints(&[Some(1), Some(3), Some(3)]),
            texts(&[
                Some("legal_representative"),
                Some("shareholder"),
                Some("finance_contact"),
            ]),
        ],
    );
    // Balances: account 1 100,000 yuan every month 2025-07..2026-06; account
    // 2 500,000 yuan 2026-01..06; card 2,000 avg / 3,000 end in June; loan
    // 50,000 yuan 2025-07..2026-06; the company 10,000 avg / 20,000 end in June.
    let (mut acct, mut month, mut avg, mut end) = (vec![], vec![], vec![], vec![]);
    let months: Vec<String> = (0..12)
        .map(|i| {
            let m = d("2025-07-01")
                .checked_add_months(chrono::Months::new(i))
                .unwrap();
            m.to_string()
        })
        .collect();
    for (k, m) in months.iter().enumerate() {
        acct.push(Some(1));
        month.push(Some(m.clone()));
        avg.push(Some(10_000_000));
        end.push(Some(10_000_000));
        acct.push(Some(4));
        month.push(Some(m.clone()));
        avg.push(Some(5_000_000));
        end.push(Some(5_000_000));
        if k >= 6 {
            acct.push(Some(2));
            month.push(Some(m.clone()));
            avg.push(Some(50_000_000));
            end.push(Some(50_000_000));
        }
    }
    for (a, v, e) in [(3, 200_000, 300_000), (5, 1_000_000, 2_000_000)] {
        acct.push(Some(a));
        month.push(Some("2026-06-01".to_owned()));
        avg.push(Some(v));
        end.push(Some(e));
    }
    let month_refs: Vec<Option<&str>> = month.iter().map(|m| m.as_deref()).collect();
    write(
        &s,
        "balance",
        "balance/batch-000001.parquet",
        vec![ints(&acct), dates(&month_refs), ints(&avg), ints(&end)],
    );
    // Transactions.
    let txns: &[Txn] = &[
        (1, "2026-06-10", 100_000, "D", "atm", None),
        (1, "2026-04-15", 500_000, "C", "counter", None),
        (1, "2025-08-01", 20_000, "D", "mobile", None),
        (1, "2026-06-10", 800_000, "C", "batch", None),
        (3, "2026-06-20", 30_000, "D", "pos", Some("5411")),
        (3, "2026-02-01", 70_000, "D", "online", Some("5812")),
        (1, "2025-05-01", 10_000, "D", "atm", None),
        (5, "2026-06-29", 1_000_000, "C", "counter", None),
        // After the as-of date: ignored.
        (1, "2026-07-02", 999_999, "D", "atm", None),
    ];
    let ts: Vec<Option<i64>> = txns
        .iter()
        .map(|t| Some(d(t.1).and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp()))
        .collect();
    write(
        &s,
        "txn",
        "txn/batch-000001.parquet",
        vec![
            ints(&txns.iter().map(|t| Some(t.0)).collect::<Vec<_>>()),
            Arc::new(TimestampSecondArray::from(ts)),
            dates(&txns.iter().map(|t| Some(t.1)).collect::<Vec<_>>()),
            ints(&txns.iter().map(|t| Some(t.2)).collect::<Vec<_>>()),
            texts(&txns.iter().map(|t| Some(t.3)).collect::<Vec<_>>()),
            texts(&txns.iter().map(|t| Some(t.4)).collect::<Vec<_>>()),
            texts(&txns.iter().map(|t| t.5).collect::<Vec<_>>()),
        ],
    );
}

/// account, booked on, amount (fen), direction, channel, MCC.
type Txn = (
    i64,
    &'static str,
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
);

struct Row(Vec<(String, String)>);

impl Row {
    fn get(&self, name: &str) -> &str {
        &self
            .0
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .1
    }
}

async fn features_of(root: &Path, as_of: &str) -> Vec<Row> {
    let config = Config::default_config();
    let ctx = snapshot_session(root).await.unwrap();
    let dates = Dates::new(d(as_of));
    let history = features::tier_history(&ctx, root, &config, dates)
        .await
        .unwrap();
    features::compute(&ctx, root, &config, dates, &history)
        .await
        .unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    register_features(&ctx, root, Some(d(as_of))).await.unwrap();
    let batches = ctx
        .sql("SELECT * FROM features ORDER BY customer_id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut rows = Vec::new();
    for b in &batches {
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let cols: Vec<Vec<Option<String>>> =
            names.iter().map(|n| text_values(b, n).unwrap()).collect();
        for i in 0..b.num_rows() {
            rows.push(Row(names
                .iter()
                .zip(&cols)
                .map(|(n, c)| (n.clone(), c[i].clone().unwrap_or_else(|| "NULL".into())))
                .collect()));
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn features_match_the_hand_computed_bank() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path());
    let rows = features_of(dir.path(), "2026-06-30").await;
    assert_eq!(rows.len(), 3);
    // The catalogue documents exactly the columns the feature table has, in order.
    let columns: Vec<&str> = rows[0].0.iter().map(|(k, _)| k.as_str()).collect();
    let documented: Vec<String> = panorama_analytics::catalogue::catalogue()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(columns, documented);
    assert_eq!(columns.len(), 84);
    let c1 = &rows[0];
    // Born 1990-07-15: 35 on 2026-06-30, a family-stage customer.
    assert_eq!(c1.get("age"), "35");
    assert_eq!(c1.get("life_stage"), "family");
    // First account 2020-01-10: 77 whole months.
    assert_eq!(c1.get("tenure_months"), "77");
    // AUM = current 100,000 + deposit 500,000 yuan (loan and card excluded).
    assert_eq!(c1.get("aum"), "60000000");
    assert_eq!(c1.get("aum_month_avg"), "60000000");
    assert_eq!(c1.get("aum_3m_avg"), "60000000");
    assert_eq!(c1.get("aum_trend_3m_pct"), "0.0");
    assert_eq!(c1.get("avg_settlement"), "10000000");
    assert_eq!(c1.get("avg_deposit"), "50000000");
    assert_eq!(c1.get("avg_card"), "200000");
    assert_eq!(c1.get("loan_balance"), "5000000");
    assert_eq!(c1.get("card_balance"), "300000");
    assert_eq!(c1.get("product_count"), "4");
    assert_eq!(c1.get("products"), ",C002,D001,D012,L002,");
    assert_eq!(c1.get("product_classes"), ",card,deposit,loan,settlement,");
    assert_eq!(c1.get("product_tenure"), "C002:24;D001:77;D012:6;L002:17");
    // Windows end on 2026-06-30: 1 month = after 2026-05-30.
    assert_eq!(c1.get("txn_atm_1m_count"), "1");
    assert_eq!(c1.get("txn_atm_1m_amount"), "100000");
    assert_eq!(c1.get("txn_atm_12m_count"), "1"); // 2025-05-01 is outside
    assert_eq!(c1.get("txn_counter_1m_count"), "0");
    assert_eq!(c1.get("txn_counter_3m_amount"), "500000");
    assert_eq!(c1.get("txn_mobile_12m_amount"), "20000");
    assert_eq!(c1.get("txn_pos_1m_amount"), "30000");
    assert_eq!(c1.get("txn_online_3m_count"), "0");
    assert_eq!(c1.get("txn_online_12m_count"), "1");
    assert_eq!(c1.get("spend_grocery_12m"), "30000");
    assert_eq!(c1.get("spend_dining_12m"), "70000");
    // Last 3 months: 100,000 + 500,000 + 30,000; the 3 before: 70,000 → +800%.
    assert_eq!(c1.get("txn_amount_3m"), "630000");
    assert_eq!(c1.get("txn_amount_prior_3m"), "70000");
    assert_eq!(c1.get("txn_trend_3m_pct"), "800.0");
    assert_eq!(c1.get("last_txn_on"), "2026-06-20");
    assert_eq!(c1.get("recency_days"), "10");
    // RFM window: five customer-initiated transactions, 720,000 fen (salary excluded).
    assert_eq!(c1.get("rfm_frequency"), "5");
    assert_eq!(c1.get("rfm_monetary"), "720000");
    // Two active customers: score = ceil(5 k / n) with k the customers at or below.
    // Recency 10 vs 1 day: c1 ranks first of 2 → 3; frequency 5 vs 1 → 5; money 720,000 vs 1,000,000 → 3.
    assert_eq!(
        (c1.get("rfm_r"), c1.get("rfm_f"), c1.get("rfm_m")),
        ("3", "5", "3")
    );
    assert_eq!(c1.get("rfm_segment"), "loyal");
    // Net interest: current 100,000×(1.80%−0.10%) = 1,700; deposit 500,000×(2.60%−1.65%)×6/12 = 2,375;
    // loan 50,000×(4.50%−3.00%) = 750 → 4,825 yuan.
    assert_eq!(c1.get("profit_nii"), "482500");
    // Interchange: 100,000 fen card spend × 0.45% = 450 fen.
    assert_eq!(c1.get("profit_fee"), "450");
    // Costs: counter 1,200 + ATM 300 + mobile 8 + online 15 + POS 5 + batch 2 + 31 account-months × 150.
    assert_eq!(c1.get("profit_cost"), "6180");
    assert_eq!(c1.get("profit"), "476770");
    // Tier: 100,000 yuan from 2025-07 (gold), 600,000 in 2026-01 → platinum decided 2026-01-31.
    assert_eq!(c1.get("tier"), "platinum");
    assert_eq!(c1.get("tier_months"), "5");

    let c2 = &rows[1];
    assert_eq!(c2.get("age"), "NULL");
    assert_eq!(c2.get("aum"), "0");
    assert_eq!(c2.get("products"), ",");
    assert_eq!(c2.get("rfm_segment"), "inactive");
    assert_eq!(
        (c2.get("rfm_r"), c2.get("rfm_f"), c2.get("rfm_m")),
        ("1", "1", "1")
    );
    assert_eq!(c2.get("tier"), "potential");
    assert_eq!(c2.get("profit"), "0");

    let c3 = &rows[2];
    assert_eq!(c3.get("life_stage"), "organisation");
    assert_eq!(
        (c3.get("rfm_r"), c3.get("rfm_f"), c3.get("rfm_m")),
        ("5", "3", "5")
    );
    assert_eq!(c3.get("recency_days"), "1");
    // 10,000 yuan June average × (1.80% − 0.20%) / 12 = 13.33 yuan → 1,333 fen, truncated.
    assert_eq!(c3.get("profit_nii"), "1333");
    assert_eq!(c3.get("profit_cost"), "1350");
    assert_eq!(c3.get("tier"), "potential");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_as_of_date_sees_only_its_past() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path());
    // 2026-05-31: the June balance and the June transactions do not exist yet.
    let rows = features_of(dir.path(), "2026-05-31").await;
    let c1 = &rows[0];
    assert_eq!(c1.get("aum"), "60000000");
    assert_eq!(c1.get("txn_atm_1m_count"), "0");
    assert_eq!(c1.get("last_txn_on"), "2026-04-15");
    assert_eq!(c1.get("age"), "35");
    // The card was held on 2026-05-31 (opened 2024-06-30): 23 months.
    assert!(
        c1.get("product_tenure").starts_with("C002:23;"),
        "{}",
        c1.get("product_tenure")
    );
    // The company has no balance and no transaction by then.
    assert_eq!(rows[2].get("rfm_segment"), "inactive");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_transaction_is_found_beyond_every_window() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path());
    // Eighteen months after the last transaction: no window holds it, but the
    // last transaction date and the recency still do.
    let rows = features_of(dir.path(), "2027-12-31").await;
    let c1 = &rows[0];
    assert_eq!(c1.get("last_txn_on"), "2026-07-02");
    assert_eq!(c1.get("recency_days"), "547");
    assert_eq!(c1.get("txn_atm_12m_count"), "0");
    assert_eq!(c1.get("rfm_frequency"), "0");
    assert_eq!(c1.get("rfm_segment"), "inactive");
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_match_the_hand_computed_bank() {
    let dir = tempfile::tempdir().unwrap();
    bank(dir.path());
    features_of(dir.path(), "2026-06-30").await;
    let mut config = Config::default_config();
    let a = &mut config.alerts;
    a.birthday_days = 15; // 15 July is 15 days after 30 June
    a.maturity_days = 160; // 5 December is 158 days after
    a.balance_change_min_yuan = 10_000;
    a.dormant_days = 10; // customer 1's last own transaction: the card on 20 June
    let ctx = snapshot_session(dir.path()).await.unwrap();
    register_features(&ctx, dir.path(), Some(d("2026-06-30")))
        .await
        .unwrap();
    let dates = Dates::new(d("2026-06-30"));
    let mut alerts = alerts::evaluate(&ctx, &config, dates, &[]).await.unwrap();
    alerts.sort_by(|x, y| (x.customer_id, &x.rule).cmp(&(y.customer_id, &y.rule)));
    let got: Vec<(i64, &str, &str, Option<&str>, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a.customer_id,
                a.rule.as_str(),
                a.event_key.as_str(),
                a.due_on.as_deref(),
                a.message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                "birthday",
                "2026-07-15",
                Some("2026-07-15"),
                "7月15日生日"
            ),
            // Accounts 1 (current) and 2 (deposit): 600,000 yuan; the card
            // and the loan are not assets.
            (
                1,
                "dormant",
                "2026-06-20",
                None,
                "已10天无主动交易（最后一笔2026-06-20），资产600,000元"
            ),
            (
                1,
                "maturity",
                "2026-12-05",
                Some("2026-12-05"),
                "D012将于2026-12-05到期"
            ),
            // The company's current account: nothing at the end of May,
            // 20,000 yuan at the end of June; customer 1 held 600,000 in both.
            (
                3,
                "balance_change",
                "2026-06",
                None,
                "2026-06月末资产较上月增加20,000元"
            ),
            // The company's RM hears of its legal representative's birthday
            // (not of a shareholder's; the finance contact has no birth date).
            (
                3,
                "contact_birthday",
                "2026-07-15:1",
                Some("2026-07-15"),
                "企业法定代表人7月15日生日"
            ),
        ]
    );
    assert_eq!(alerts[0].message_en, "Birthday on 15 Jul");
    assert_eq!(alerts[3].severity, "info");
    // With the default week, 30 days and 50,000 yuan, none of these fire.
    let quiet = alerts::evaluate(&ctx, &Config::default_config(), dates, &[])
        .await
        .unwrap();
    assert_eq!(quiet, vec![]);
}
