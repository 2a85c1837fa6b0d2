//! Alert rules evaluated by the batch for its as-of date: birthdays,
//! maturities, month-end balance swings, dormancy, tier changes and churn
//! risk (a falling AUM). Each alert names the event it is about (its
//! `event_key`: the birthday, the maturity date, the month …) so that the
//! store keeps one alert per event however many batches see it.
//!
//! Rules read the snapshot and the features of the as-of date through
//! DataFusion; the thresholds come from [`AlertConfig`]. Texts are written
//! in Chinese and English; they carry no name or number of the customer
//! (lists mask those per role).

use chrono::{Datelike, Days, Months, NaiveDate};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;
use panorama_store::acrm::TierRow;
use panorama_store::ocrm::NewAlert;
use serde_json::json;

use crate::catalogue::AUM_CLASSES;
use crate::config::{AlertConfig, Config};
use crate::error::Result;
use crate::features_sql::Dates;
use crate::tiers::month_end;

/// The rule codes.
pub use crate::config::ALERT_RULES as RULES;

/// Evaluates every enabled rule for `dates.as_of`. `tier_changes` are the
/// tier decisions of this batch.
pub async fn evaluate(
    ctx: &SessionContext,
    config: &Config,
    dates: Dates,
    tier_changes: &[TierRow],
) -> Result<Vec<NewAlert>> {
    let a = &config.alerts;
    let on = |rule: &str| !a.disabled.iter().any(|d| d == rule);
    let mut out = Vec::new();
    if on("birthday") {
        out.extend(birthdays(ctx, a, dates.as_of).await?);
    }
    if on("contact_birthday") {
        out.extend(contact_birthdays(ctx, a, dates.as_of).await?);
    }
    if on("maturity") {
        out.extend(maturities(ctx, a, dates.as_of).await?);
    }
    if on("balance_change") {
        out.extend(balance_changes(ctx, a, dates).await?);
    }
    if on("dormant") {
        out.extend(dormant(ctx, a).await?);
    }
    if on("tier_change") {
        out.extend(tier_alerts(config, dates, tier_changes));
    }
    if on("aum_decline") {
        out.extend(aum_declines(ctx, a, dates).await?);
    }
    Ok(out)
}

/// Runs `sql` and returns every row with each value as text (NULL as None).
async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let cols = b
            .columns()
            .iter()
            .map(|c| datafusion::arrow::compute::cast(c, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for i in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| {
                        let s = c.as_string::<i32>();
                        (!s.is_null(i)).then(|| s.value(i).to_owned())
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn int(v: &Option<String>) -> i64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn date(v: &Option<String>) -> Option<NaiveDate> {
    v.as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// `'a', 'b', …` from codes checked to be `[a-z0-9_]`.
fn quoted<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    codes
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lit(d: NaiveDate) -> String {
    format!("DATE '{}'", d.format("%Y-%m-%d"))
}

/// Yuan with thousands separators, from fen (truncated).
pub fn yuan(fen: i64) -> String {
    let whole = (fen / 100).unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if fen < 0 { format!("-{out}") } else { out }
}

/// The first birthday strictly after `after` (29 February falls on
/// 28 February in common years).
pub fn next_birthday(birth: NaiveDate, after: NaiveDate) -> Option<NaiveDate> {
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
    };
    let this_year = on(after.year())?;
    if this_year > after {
        Some(this_year)
    } else {
        on(after.year() + 1)
    }
}

fn alert(
    customer_id: i64,
    rule: &str,
    event_key: String,
    due_on: Option<NaiveDate>,
    severity: &str,
    (message, message_en): (String, String),
    detail: serde_json::Value,
) -> NewAlert {
    NewAlert {
        customer_id,
        rule: rule.to_owned(),
        event_key,
        due_on: due_on.map(|d| d.to_string()),
        severity: severity.to_owned(),
        message,
        message_en,
        detail: detail.to_string(),
    }
}

async fn birthdays(
    ctx: &SessionContext,
    a: &AlertConfig,
    as_of: NaiveDate,
) -> Result<Vec<NewAlert>> {
    let until = as_of + Days::new(u64::from(a.birthday_days));
    let mut out = Vec::new();
    let sql = "SELECT customer_id, CAST(birth_date AS VARCHAR) AS born FROM customer \
               WHERE party_type = 'person' AND birth_date IS NOT NULL";
    for r in rows(ctx, sql).await? {
        let Some(birth) = date(&r[1]) else { continue };
        let Some(next) = next_birthday(birth, as_of) else {
            continue;
        };
        if next > until {
            continue;
        }
        // Without the age: an RM sees the month and day of birth beside a
        // resident id whose mask hides the date, so the year must stay out.
        out.push(alert(
            int(&r[0]),
            "birthday",
            next.to_string(),
            Some(next),
            "info",
            (
                format!("{}月{}日生日", next.month(), next.day()),
                format!("Birthday on {}", next.format("%-d %b")),
            ),
            json!({ "on": next.to_string() }),
        ));
    }
    Ok(out)
}

/// The kinds of a company's people whose birthdays its RM is told of.
const COMPANY_CONTACTS: &[(&str, &str, &str)] = &[
    ("legal_representative", "法定代表人", "legal representative"),
    ("executive", "高管", "executive"),
    ("finance_contact", "财务联系人", "finance contact"),
];

/// A company's officers and finance contacts with a birthday in the window:
/// an alert on the company (its RM calls or sends a card), naming the role
/// but not the person; the person's own customer id is in the detail.
async fn contact_birthdays(
    ctx: &SessionContext,
    a: &AlertConfig,
    as_of: NaiveDate,
) -> Result<Vec<NewAlert>> {
    let until = as_of + Days::new(u64::from(a.birthday_days));
    let kinds = quoted(COMPANY_CONTACTS.iter().map(|k| k.0));
    // Declared either way round: the company is the organisation side.
    let sql = format!(
        "SELECT o.customer_id AS company, p.customer_id AS person, r.kind, CAST(p.birth_date AS VARCHAR) AS born \
         FROM relationship r \
         JOIN customer o ON o.party_type = 'organisation' \
           AND (o.customer_id = r.from_customer_id OR o.customer_id = r.to_customer_id) \
         JOIN customer p ON p.party_type = 'person' AND p.birth_date IS NOT NULL \
           AND (p.customer_id = r.from_customer_id OR p.customer_id = r.to_customer_id) \
         WHERE r.kind IN ({kinds}) ORDER BY company, person, r.kind"
    );
    let mut out = Vec::new();
    for r in rows(ctx, &sql).await? {
        let Some(birth) = date(&r[3]) else { continue };
        let Some(next) = next_birthday(birth, as_of) else {
            continue;
        };
        if next > until {
            continue;
        }
        let kind = r[2].as_deref().unwrap_or_default();
        let Some(&(_, zh, en)) = COMPANY_CONTACTS.iter().find(|k| k.0 == kind) else {
            continue;
        };
        let person = int(&r[1]);
        out.push(alert(
            int(&r[0]),
            "contact_birthday",
            format!("{next}:{person}"),
            Some(next),
            "info",
            (
                format!("企业{zh}{}月{}日生日", next.month(), next.day()),
                format!(
                    "The company's {en} has a birthday on {}",
                    next.format("%-d %b")
                ),
            ),
            json!({ "on": next.to_string(), "person": person, "role": kind }),
        ));
    }
    Ok(out)
}

async fn maturities(
    ctx: &SessionContext,
    a: &AlertConfig,
    as_of: NaiveDate,
) -> Result<Vec<NewAlert>> {
    let until = as_of + Days::new(u64::from(a.maturity_days));
    // Classes are checked to be `[a-z0-9_]` codes when the configuration loads.
    let classes = quoted(a.maturity_classes.iter().map(String::as_str));
    if classes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT a.customer_id, CAST(a.matures_on AS VARCHAR) AS due, a.product_code, \
           COALESCE(p.name, a.product_code) AS name_zh, COALESCE(p.name_en, a.product_code) AS name_en, a.class \
         FROM account a LEFT JOIN product p ON p.product_code = a.product_code \
         WHERE a.matures_on > {from} AND a.matures_on <= {to} \
           AND (a.closed_on IS NULL OR a.closed_on > {from}) AND a.class IN ({classes}) \
         ORDER BY a.customer_id, a.matures_on, a.product_code",
        from = lit(as_of),
        to = lit(until)
    );
    let mut out: Vec<NewAlert> = Vec::new();
    let mut products: Vec<serde_json::Value> = Vec::new();
    let rows = rows(ctx, &sql).await?;
    for (i, r) in rows.iter().enumerate() {
        let customer = int(&r[0]);
        products.push(json!({ "product": r[2], "matures_on": r[1], "class": r[5] }));
        let last_of_customer = rows.get(i + 1).is_none_or(|n| int(&n[0]) != customer);
        if !last_of_customer {
            continue;
        }
        // Rows are ordered by date: the first of the customer is the earliest.
        let first = &rows[i + 1 - products.len()];
        let due = date(&first[1]);
        let n = products.len();
        let loan = first[5].as_deref() == Some("loan");
        let (zh, en) = if n == 1 {
            (
                format!(
                    "{}将于{}到期",
                    first[3].as_deref().unwrap_or(""),
                    first[1].as_deref().unwrap_or("")
                ),
                format!(
                    "{} matures on {}",
                    first[4].as_deref().unwrap_or(""),
                    first[1].as_deref().unwrap_or("")
                ),
            )
        } else {
            (
                format!(
                    "{n}个产品将在{}天内到期，最早{}于{}",
                    a.maturity_days,
                    first[3].as_deref().unwrap_or(""),
                    first[1].as_deref().unwrap_or("")
                ),
                format!(
                    "{n} products mature within {} days, first {} on {}",
                    a.maturity_days,
                    first[4].as_deref().unwrap_or(""),
                    first[1].as_deref().unwrap_or("")
                ),
            )
        };
        out.push(alert(
            customer,
            "maturity",
            due.map(|d| d.to_string()).unwrap_or_default(),
            due,
            if loan { "warning" } else { "info" },
            (zh, en),
            json!({ "products": std::mem::take(&mut products) }),
        ));
    }
    Ok(out)
}

/// A change from `before` to `now` is large when it moves at least `min`
/// and at least `pct` percent of `before` (any move of `min` from nothing).
pub fn large_change(before: i64, now: i64, pct: i64, min: i64) -> bool {
    let delta = (i128::from(now) - i128::from(before)).abs();
    delta >= i128::from(min) && delta * 100 >= i128::from(pct) * i128::from(before.max(0))
}

/// Whole percent of `delta` against `base` (0 when there is no base).
fn percent(delta: i64, base: i64) -> i64 {
    if base <= 0 {
        return 0;
    }
    i64::try_from(i128::from(delta) * 100 / i128::from(base)).unwrap_or(0)
}

async fn balance_changes(
    ctx: &SessionContext,
    a: &AlertConfig,
    dates: Dates,
) -> Result<Vec<NewAlert>> {
    let month = dates.month;
    let Some(prior) = month.checked_sub_months(Months::new(1)) else {
        return Ok(Vec::new());
    };
    let classes = quoted(AUM_CLASSES.iter().copied());
    let sql = format!(
        "SELECT a.customer_id, \
           SUM(CASE WHEN b.month = {m} THEN b.end_balance_minor ELSE 0 END) AS now_minor, \
           SUM(CASE WHEN b.month = {p} THEN b.end_balance_minor ELSE 0 END) AS before_minor \
         FROM balance b JOIN account a ON a.account_id = b.account_id \
         WHERE b.month IN ({m}, {p}) AND a.class IN ({classes}) \
         GROUP BY a.customer_id ORDER BY a.customer_id",
        m = lit(month),
        p = lit(prior)
    );
    let min = a.balance_change_min_yuan.saturating_mul(100);
    let key = month.format("%Y-%m").to_string();
    let mut out = Vec::new();
    for r in rows(ctx, &sql).await? {
        let (now, before) = (int(&r[1]), int(&r[2]));
        if !large_change(before, now, a.balance_change_pct, min) {
            continue;
        }
        let delta = now - before;
        let pct = percent(delta, before);
        // Against nothing there is no percentage to show.
        let (pct_zh, pct_en) = if before > 0 {
            (format!("（{pct:+}%）"), format!(" ({pct:+}%)"))
        } else {
            (String::new(), String::new())
        };
        let (zh, en, severity) = if delta < 0 {
            (
                format!("{key}月末资产较上月减少{}元{pct_zh}", yuan(-delta)),
                format!(
                    "Month-end AUM of {key} fell by CNY {}{pct_en}",
                    yuan(-delta)
                ),
                "warning",
            )
        } else {
            (
                format!("{key}月末资产较上月增加{}元{pct_zh}", yuan(delta)),
                format!("Month-end AUM of {key} rose by CNY {}{pct_en}", yuan(delta)),
                "info",
            )
        };
        out.push(alert(
            int(&r[0]),
            "balance_change",
            key.clone(),
            None,
            severity,
            (zh, en),
            json!({ "month": key, "before_minor": before, "now_minor": now }),
        ));
    }
    Ok(out)
}

async fn dormant(ctx: &SessionContext, a: &AlertConfig) -> Result<Vec<NewAlert>> {
    // Raised once per dormancy: the event is the last transaction's date, and
    // only customers who crossed the line in the last 31 days qualify, so a
    // long-dormant base does not flood the lists on the first run.
    let sql = format!(
        "SELECT customer_id, CAST(last_txn_on AS VARCHAR) AS last_on, recency_days, aum FROM features \
         WHERE last_txn_on IS NOT NULL AND recency_days >= {d} AND recency_days < {d} + 31 \
           AND aum >= {min} ORDER BY customer_id",
        d = a.dormant_days,
        min = a.dormant_min_aum_yuan.saturating_mul(100)
    );
    let mut out = Vec::new();
    for r in rows(ctx, &sql).await? {
        let last = r[1].clone().unwrap_or_default();
        let days = int(&r[2]);
        let aum = int(&r[3]);
        out.push(alert(
            int(&r[0]),
            "dormant",
            last.clone(),
            None,
            "warning",
            (
                format!(
                    "已{days}天无主动交易（最后一笔{last}），资产{}元",
                    yuan(aum)
                ),
                format!(
                    "No own transaction for {days} days (last on {last}); AUM CNY {}",
                    yuan(aum)
                ),
            ),
            json!({ "last_txn_on": last, "days": days, "aum_minor": aum }),
        ));
    }
    Ok(out)
}

fn tier_alerts(config: &Config, dates: Dates, changes: &[TierRow]) -> Vec<NewAlert> {
    let decided = month_end(dates.month).to_string();
    let rank = |code: &str| config.tiers.iter().position(|t| t.code == code);
    let names = |code: &str| {
        config
            .tier(code)
            .map_or((code.to_owned(), code.to_owned()), |t| {
                (t.name_zh.clone(), t.name_en.clone())
            })
    };
    changes
        .iter()
        .filter(|r| r.as_of == decided)
        .filter_map(|r| {
            let from = r.previous_tier.as_deref()?;
            if from == r.tier {
                return None;
            }
            // Tiers are listed highest first: a smaller index is an upgrade.
            let up = rank(&r.tier) < rank(from);
            let (from_zh, from_en) = names(from);
            let (to_zh, to_en) = names(&r.tier);
            let (zh, en) = if up {
                (
                    format!("客户等级由{from_zh}升至{to_zh}"),
                    format!("Upgraded from {from_en} to {to_en}"),
                )
            } else {
                (
                    format!("客户等级由{from_zh}降至{to_zh}"),
                    format!("Downgraded from {from_en} to {to_en}"),
                )
            };
            Some(alert(
                r.customer_id,
                "tier_change",
                r.as_of.clone(),
                None,
                if up { "info" } else { "warning" },
                (zh, en),
                json!({ "from": from, "to": r.tier, "decided_on": r.as_of }),
            ))
        })
        .collect()
}

async fn aum_declines(
    ctx: &SessionContext,
    a: &AlertConfig,
    dates: Dates,
) -> Result<Vec<NewAlert>> {
    // The same averages as the features `aum_3m_avg` and its prior window:
    // monthly average balances of the asset classes, three months each.
    let back = |n: u32| dates.month.checked_sub_months(Months::new(n));
    let (Some(m3), Some(p3)) = (back(2), back(5)) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT customer_id, last_3m, prior_3m FROM ( \
           SELECT a.customer_id, \
             SUM(CASE WHEN b.month >= {m3} THEN b.avg_balance_minor ELSE 0 END) / 3 AS last_3m, \
             SUM(CASE WHEN b.month < {m3} THEN b.avg_balance_minor ELSE 0 END) / 3 AS prior_3m \
           FROM balance b JOIN account a ON a.account_id = b.account_id \
           WHERE b.month >= {p3} AND b.month <= {m} AND a.class IN ({classes}) \
           GROUP BY a.customer_id) \
         WHERE prior_3m >= {min} AND last_3m * 100 <= prior_3m * {keep} \
         ORDER BY customer_id",
        m3 = lit(m3),
        p3 = lit(p3),
        m = lit(dates.month),
        classes = quoted(AUM_CLASSES.iter().copied()),
        min = a.aum_decline_min_yuan.saturating_mul(100),
        keep = 100 - a.aum_decline_pct
    );
    let key = dates.month.format("%Y-%m").to_string();
    let mut out = Vec::new();
    for r in rows(ctx, &sql).await? {
        let (now, before) = (int(&r[1]), int(&r[2]));
        let pct = -percent(now - before, before);
        out.push(alert(
            int(&r[0]),
            "aum_decline",
            key.clone(),
            None,
            "critical",
            (
                format!(
                    "流失风险：近3个月日均资产下降{pct}%（{}元→{}元）",
                    yuan(before),
                    yuan(now)
                ),
                format!(
                    "Churn risk: 3-month average AUM down {pct}% (CNY {} → {})",
                    yuan(before),
                    yuan(now)
                ),
            ),
            json!({ "month": key, "prior_3m_avg_minor": before, "last_3m_avg_minor": now }),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_next_birthday_is_strictly_after_the_date() {
        assert_eq!(
            next_birthday(d("1980-11-03"), d("2026-10-31")),
            Some(d("2026-11-03"))
        );
        assert_eq!(
            next_birthday(d("1980-10-31"), d("2026-10-31")),
            Some(d("2027-10-31"))
        );
        assert_eq!(
            next_birthday(d("1980-01-02"), d("2026-12-30")),
            Some(d("2027-01-02"))
        );
        // 29 February in a common year falls on the 28th.
        assert_eq!(
            next_birthday(d("1992-02-29"), d("2027-02-01")),
            Some(d("2027-02-28"))
        );
        assert_eq!(
            next_birthday(d("1992-02-29"), d("2028-02-01")),
            Some(d("2028-02-29"))
        );
    }

    #[test]
    fn a_large_change_needs_both_the_share_and_the_amount() {
        // 30% and 50,000 yuan (in fen).
        let (pct, min) = (30, 5_000_000);
        assert!(large_change(20_000_000, 14_000_000, pct, min)); // -30%, -60,000
        assert!(!large_change(20_000_000, 14_000_100, pct, min)); // -29.9995%
        assert!(!large_change(10_000_000, 6_000_000, pct, min)); // -40% but -40,000
        assert!(large_change(0, 5_000_000, pct, min)); // from nothing
        assert!(large_change(10_000_000, 15_000_000, pct, min)); // +50%, +50,000
        assert!(!large_change(i64::MAX, i64::MAX, pct, min));
    }

    #[test]
    fn yuan_are_grouped_by_thousands() {
        assert_eq!(yuan(0), "0");
        assert_eq!(yuan(99), "0");
        assert_eq!(yuan(123_456_789), "1,234,567");
        assert_eq!(yuan(-100_000_000), "-1,000,000");
        assert_eq!(percent(-3_000, 10_000), -30);
        assert_eq!(percent(5, 0), 0);
    }

    #[test]
    fn tier_changes_of_the_month_become_alerts_with_their_direction() {
        let config = Config::default_config();
        let dates = Dates::new(d("2026-10-31"));
        let decided = month_end(dates.month).to_string();
        let row = |c: i64, from: Option<&str>, to: &str, on: &str| TierRow {
            customer_id: c,
            as_of: on.to_owned(),
            tier: to.to_owned(),
            previous_tier: from.map(str::to_owned),
            reason: String::new(),
        };
        let rows = vec![
            row(1, Some("gold"), "platinum", &decided),
            row(2, Some("platinum"), "gold", &decided),
            row(3, None, "gold", &decided),
            row(4, Some("gold"), "platinum", "2026-08-31"),
        ];
        let alerts = tier_alerts(&config, dates, &rows);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].message, "客户等级由金升至白金");
        assert_eq!(alerts[0].severity, "info");
        assert_eq!(alerts[1].message_en, "Downgraded from Platinum to Gold");
        assert_eq!(alerts[1].severity, "warning");
        assert_eq!(alerts[1].event_key, decided);
    }
}
