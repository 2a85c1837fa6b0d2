//! Key-transaction monitoring (关键交易实时监控): the rules a posted
//! transaction is checked against as it arrives. Pure: the facts the rules
//! need from the store (the account's previous transaction, whether the
//! customer used the channel before, a recent maturity) are gathered by the
//! caller and passed in.

use chrono::NaiveDate;
use panorama_analytics::config::MonitorConfig;
use serde_json::json;

use crate::schema::{Direction, TxnPosted};

/// What the store says around a transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// When the account's previous transaction was booked, if any.
    pub previous_txn_at: Option<String>,
    /// Whether the customer used this channel before (`None`: not asked).
    pub channel_used_before: Option<bool>,
    /// A deposit or wealth account of the customer's that matured within
    /// the window before this transaction: (account number, maturity date).
    pub matured: Option<(String, String)>,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Rule code (one of `MONITOR_RULES`).
    pub rule: &'static str,
    /// `info`, `warning` or `critical`.
    pub severity: &'static str,
    /// Chinese text for the alert and the RM's task.
    pub message: String,
    /// English text.
    pub message_en: String,
    /// The facts behind it, as JSON.
    pub detail: String,
}

const FEN_PER_YUAN: i64 = 100;

/// Whether a transaction is money leaving for another bank.
pub fn to_other_bank(cfg: &MonitorConfig, t: &TxnPosted) -> bool {
    t.direction == Direction::Debit
        && t.counterparty_bank.as_deref().is_some_and(|bank| {
            !cfg.own_bank_prefixes
                .iter()
                .any(|p| bank.starts_with(p.as_str()))
        })
}

/// Whether a transaction is a payroll credit (a batch posting into the
/// account: how salaries arrive).
pub fn is_payroll_credit(t: &TxnPosted) -> bool {
    t.direction == Direction::Credit && t.channel == "batch"
}

/// Whether the outbound rules need to know of a recent maturity.
pub fn wants_maturity(cfg: &MonitorConfig, t: &TxnPosted) -> bool {
    cfg.enabled("maturity_outflow")
        && to_other_bank(cfg, t)
        && t.amount_minor >= cfg.outbound_min_yuan * FEN_PER_YUAN
}

/// Whether the first use of the transaction's channel is watched.
pub fn wants_channel(cfg: &MonitorConfig, t: &TxnPosted) -> bool {
    cfg.enabled("new_channel") && cfg.new_channels.contains(&t.channel)
}

/// The first day of the maturity window before a transaction.
pub fn maturity_window_start(cfg: &MonitorConfig, t: &TxnPosted) -> String {
    NaiveDate::parse_from_str(t.day(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.checked_sub_days(chrono::Days::new(cfg.maturity_window_days as u64)))
        .map_or_else(|| t.day().to_owned(), |d| d.to_string())
}

/// The rules `t` fires, most severe first.
pub fn evaluate(cfg: &MonitorConfig, t: &TxnPosted, facts: &Facts) -> Vec<Hit> {
    let mut hits = Vec::new();
    let amount = yuan(t.amount_minor);
    let counterparty = t
        .counterparty_name
        .clone()
        .or_else(|| t.counterparty_account.clone())
        .unwrap_or_default();
    let base = json!({
        "txn_ref": t.txn_ref,
        "account_no": t.account_no,
        "booked_at": t.booked_at,
        "amount_minor": t.amount_minor,
        "direction": t.direction.code(),
        "channel": t.channel,
        "counterparty": counterparty,
        "counterparty_bank": t.counterparty_bank,
        "balance_after_minor": t.balance_after_minor,
    });
    let detail = |extra: serde_json::Value| {
        let mut d = base.clone();
        if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
            d.extend(extra.clone());
        }
        d.to_string()
    };
    let outbound = to_other_bank(cfg, t) && t.amount_minor >= cfg.outbound_min_yuan * FEN_PER_YUAN;
    let bank = t.counterparty_bank.as_deref().unwrap_or("");
    if outbound && let Some((account, matured)) = &facts.matured {
        hits.push(Hit {
            rule: "maturity_outflow",
            severity: "critical",
            message: format!(
                "到期资金外流：{matured} 到期的 {account} 后，转出 {amount} 元至他行 {counterparty}（{bank}）"
            ),
            message_en: format!(
                "Maturity proceeds leaving: {amount} yuan to another bank ({counterparty}, {bank}) after {account} matured on {matured}"
            ),
            detail: detail(json!({"matured_account": account, "matured_on": matured})),
        });
    } else if outbound && cfg.enabled("outbound_transfer") {
        hits.push(Hit {
            rule: "outbound_transfer",
            severity: "critical",
            message: format!("资金外流：转出 {amount} 元至他行 {counterparty}（{bank}）"),
            message_en: format!(
                "Money leaving: {amount} yuan to another bank ({counterparty}, {bank})"
            ),
            detail: detail(json!({})),
        });
    }
    if t.direction == Direction::Debit && cfg.enabled("large_debit") {
        let before = t.balance_after_minor.map(|b| b + t.amount_minor);
        let share = before
            .filter(|b| *b > 0)
            .map(|b| (t.amount_minor as i128 * 100 / b as i128) as i64);
        let by_amount = t.amount_minor >= cfg.large_debit_yuan * FEN_PER_YUAN;
        let by_share = share.is_some_and(|s| s >= cfg.large_debit_share_pct)
            && t.amount_minor >= cfg.large_debit_share_min_yuan * FEN_PER_YUAN;
        if by_amount || by_share {
            let of_balance = share.map(|s| format!("，占余额 {s}%")).unwrap_or_default();
            let of_balance_en = share
                .map(|s| format!(", {s}% of the balance"))
                .unwrap_or_default();
            hits.push(Hit {
                rule: "large_debit",
                severity: "warning",
                message: format!("大额支出：{amount} 元{of_balance}（{}）", t.channel),
                message_en: format!("Large debit: {amount} yuan{of_balance_en} ({})", t.channel),
                detail: detail(json!({"share_of_balance_pct": share})),
            });
        }
    }
    if t.direction == Direction::Credit
        && cfg.enabled("large_credit")
        && t.amount_minor >= cfg.large_credit_yuan * FEN_PER_YUAN
    {
        hits.push(Hit {
            rule: "large_credit",
            severity: "info",
            message: format!("大额资金入账：{amount} 元，来自 {counterparty}，可推荐理财配置"),
            message_en: format!(
                "Large inflow: {amount} yuan from {counterparty}, worth a wealth conversation"
            ),
            detail: detail(json!({})),
        });
    }
    if cfg.enabled("dormant_wake")
        && let Some(previous) = &facts.previous_txn_at
        && let Some(idle) = days_between(previous, &t.booked_at)
        && idle >= cfg.wake_after_days
    {
        hits.push(Hit {
            rule: "dormant_wake",
            severity: "warning",
            message: format!("休眠账户激活：{idle} 天无交易后发生 {amount} 元交易"),
            message_en: format!(
                "Dormant account woke: a {amount} yuan transaction after {idle} days without one"
            ),
            detail: detail(json!({"previous_txn_at": previous, "idle_days": idle})),
        });
    }
    if facts.channel_used_before == Some(false) && wants_channel(cfg, t) {
        hits.push(Hit {
            rule: "new_channel",
            severity: "info",
            message: format!("首次使用{}渠道：{amount} 元", channel_zh(&t.channel)),
            message_en: format!("First use of the {} channel: {amount} yuan", t.channel),
            detail: detail(json!({})),
        });
    }
    hits
}

/// The daily check's hit for a customer whose payroll credits (in
/// `months` months) stopped: the last one booked on `last_day`, `idle`
/// days before the check.
pub fn salary_stopped(months: i64, last_day: &str, idle: i64) -> Hit {
    Hit {
        rule: "salary_stopped",
        severity: "warning",
        message: format!(
            "代发工资中断：此前 {months} 个月有代发工资入账，最近一次 {last_day}，已 {idle} 天未到账"
        ),
        message_en: format!(
            "Salary stopped: payroll credits in {months} months, the last on {last_day}, none for {idle} days"
        ),
        detail: json!({"last_payroll_on": last_day, "months_paid": months, "idle_days": idle})
            .to_string(),
    }
}

fn channel_zh(code: &str) -> &'static str {
    match code {
        "mobile" => "手机银行",
        "online" => "网上银行",
        "atm" => "ATM",
        "pos" => "POS",
        "counter" => "柜面",
        _ => "批量",
    }
}

/// Fen as yuan with two decimals and thousands separators: 1,234,567.89.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

fn days_between(earlier: &str, later: &str) -> Option<i64> {
    let day = |s: &str| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok();
    Some((day(later)? - day(earlier)?).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Direction;

    fn txn(direction: Direction, yuan: i64) -> TxnPosted {
        TxnPosted {
            system: "core".into(),
            account_no: "A1".into(),
            txn_ref: "T1".into(),
            booked_at: "2026-12-07T10:00:00".into(),
            amount_minor: yuan * 100,
            direction,
            channel: "counter".into(),
            mcc: None,
            counterparty_account: None,
            counterparty_name: Some("某证券公司".into()),
            counterparty_bank: None,
            balance_after_minor: None,
        }
    }

    fn rules(t: &TxnPosted, f: &Facts) -> Vec<&'static str> {
        evaluate(&MonitorConfig::default(), t, f)
            .iter()
            .map(|h| h.rule)
            .collect()
    }

    #[test]
    fn large_debits_by_amount_or_by_share_of_the_balance() {
        let f = Facts::default();
        assert_eq!(rules(&txn(Direction::Debit, 500_000), &f), ["large_debit"]);
        assert!(rules(&txn(Direction::Debit, 499_999), &f).is_empty());
        let mut half = txn(Direction::Debit, 60_000);
        half.balance_after_minor = Some(60_000 * 100);
        assert_eq!(rules(&half, &f), ["large_debit"]);
        half.balance_after_minor = Some(60_001 * 100);
        assert!(rules(&half, &f).is_empty(), "49.99% of the balance");
        let mut small = txn(Direction::Debit, 40_000);
        small.balance_after_minor = Some(0);
        assert!(rules(&small, &f).is_empty(), "below the share rule's floor");
        assert!(rules(&txn(Direction::Credit, 500_000), &f) == ["large_credit"]);
    }

    #[test]
    fn money_to_another_bank_and_maturity_proceeds_leaving() {
        let mut t = txn(Direction::Debit, 80_000);
        t.counterparty_bank = Some("102100099996".into());
        assert_eq!(rules(&t, &Facts::default()), ["outbound_transfer"]);
        let matured = Facts {
            matured: Some(("D001".into(), "2026-11-30".into())),
            ..Facts::default()
        };
        let hits = evaluate(&MonitorConfig::default(), &t, &matured);
        assert_eq!(hits[0].rule, "maturity_outflow");
        assert_eq!(hits[0].severity, "critical");
        assert!(hits[0].message.contains("80,000.00"), "{}", hits[0].message);
        t.counterparty_bank = Some("313100000013".into());
        assert!(rules(&t, &Facts::default()).is_empty(), "own bank");
        t.counterparty_bank = Some("102100099996".into());
        t.amount_minor = 49_999 * 100;
        assert!(rules(&t, &Facts::default()).is_empty(), "below the floor");
    }

    #[test]
    fn dormant_accounts_waking_and_new_channels() {
        let mut t = txn(Direction::Credit, 100);
        let woke = Facts {
            previous_txn_at: Some("2026-06-09T09:00:00".into()),
            ..Facts::default()
        };
        assert_eq!(rules(&t, &woke), ["dormant_wake"]);
        let recent = Facts {
            previous_txn_at: Some("2026-06-11T09:00:00".into()),
            ..Facts::default()
        };
        assert!(rules(&t, &recent).is_empty(), "179 days");
        t.channel = "mobile".into();
        let first = Facts {
            channel_used_before: Some(false),
            ..Facts::default()
        };
        assert_eq!(rules(&t, &first), ["new_channel"]);
        let again = Facts {
            channel_used_before: Some(true),
            ..Facts::default()
        };
        assert!(rules(&t, &again).is_empty());
    }

    #[test]
    fn switched_off_rules_stay_quiet() {
        let cfg = MonitorConfig {
            disabled: vec!["large_debit".into()],
            ..MonitorConfig::default()
        };
        assert!(evaluate(&cfg, &txn(Direction::Debit, 900_000), &Facts::default()).is_empty());
    }

    #[test]
    fn yuan_reads_the_chinese_way() {
        assert_eq!(yuan(80_000_000), "800,000.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-123_456_789), "-1,234,567.89");
    }
}
