//! The ACRM configuration: value tiers, RFM, profitability and life stages.
//!
//! The default (`config/acrm.toml`) is embedded; a bank replaces it with
//! its own file. Amounts are whole yuan in the file and minor units (fen)
//! in code; rates are basis points a year.

use std::path::Path;

use serde::Deserialize;

use crate::error::{AnalyticsError, Result};

/// The alert rule codes (the `alerts` module evaluates them; a configuration
/// switches some off).
pub const ALERT_RULES: &[&str] = &[
    "birthday",
    "contact_birthday",
    "maturity",
    "balance_change",
    "dormant",
    "tier_change",
    "aum_decline",
];

/// The embedded default configuration.
pub const DEFAULT_TOML: &str = include_str!("../config/acrm.toml");

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Value tiers, highest first.
    pub tiers: Vec<TierDef>,
    /// RFM window and named segments.
    pub rfm: RfmConfig,
    /// Transfer pricing, fees and costs to serve.
    pub profit: ProfitConfig,
    /// Age bounds of the life stages.
    pub life_stage: LifeStageConfig,
    /// The alert rules the batch evaluates (defaults when absent).
    #[serde(default)]
    pub alerts: AlertConfig,
    /// Key-transaction monitoring of the event feed (defaults when absent).
    #[serde(default)]
    pub monitoring: MonitorConfig,
    /// Customer value (defaults when absent).
    #[serde(default)]
    pub value: ValueConfig,
}

/// How the nightly chain values customers (客户价值): the last 12 months'
/// profit contribution kept for `horizon_years` at each customer's yearly
/// retention (from the approved churn model `churn_model`'s scores, else
/// `retention_bp` for everyone) and discounted at `discount_bp` a year.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValueConfig {
    /// Years of margin counted (1 to 30).
    pub horizon_years: u32,
    /// Yearly discount rate, basis points (0 to 5,000).
    pub discount_bp: i64,
    /// Yearly retention of customers without a churn score, basis points.
    pub retention_bp: i64,
    /// The churn model whose approved version's scores give retention.
    pub churn_model: String,
}

impl Default for ValueConfig {
    fn default() -> Self {
        ValueConfig {
            horizon_years: 5,
            discount_bp: 800,
            retention_bp: 8_500,
            churn_model: "churn".into(),
        }
    }
}

impl ValueConfig {
    fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=30).contains(&self.horizon_years)
            || !(0..=5_000).contains(&self.discount_bp)
            || !(0..=10_000).contains(&self.retention_bp)
        {
            return Err(
                "value: horizon_years 1..=30, discount_bp 0..=5000, retention_bp 0..=10000".into(),
            );
        }
        Ok(())
    }
}

/// The key-transaction rules the event feed evaluates on each posted
/// transaction (关键交易实时监控). Each raises an alert once per customer, rule
/// and day, with a task for the customer's RM. Amounts in whole yuan.
pub const MONITOR_RULES: &[&str] = &[
    "large_debit",
    "outbound_transfer",
    "maturity_outflow",
    "large_credit",
    "dormant_wake",
    "new_channel",
    "salary_stopped",
];

/// Thresholds of the key-transaction rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// Rules switched off (codes from [`MONITOR_RULES`]).
    pub disabled: Vec<String>,
    /// A debit of at least this many yuan …
    pub large_debit_yuan: i64,
    /// … or of at least this percentage of the balance before it …
    pub large_debit_share_pct: i64,
    /// … when it is at least this many yuan.
    pub large_debit_share_min_yuan: i64,
    /// A debit to another bank of at least this many yuan: money leaving.
    pub outbound_min_yuan: i64,
    /// Clearing-code prefixes of the bank's own branches (a counterparty
    /// bank starting with none of them is another bank).
    pub own_bank_prefixes: Vec<String>,
    /// Money leaving within this many days after a deposit or wealth
    /// product matured: maturity proceeds leaving.
    pub maturity_window_days: i64,
    /// A credit of at least this many yuan (a large inflow: an opportunity).
    pub large_credit_yuan: i64,
    /// An account with no transaction for this many days wakes up.
    pub wake_after_days: i64,
    /// Channels whose first use by a customer is worth a call.
    pub new_channels: Vec<String>,
    /// Tasks are due this many days after the event.
    pub task_due_days: i64,
    /// Salary stopped (the daily check, `panorama events tick`): a customer
    /// paid by payroll in at least this many of the months before …
    pub salary_months: i64,
    /// … whose last payroll credit is more than this many days old.
    pub salary_gap_days: i64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            disabled: Vec::new(),
            large_debit_yuan: 500_000,
            large_debit_share_pct: 50,
            large_debit_share_min_yuan: 50_000,
            outbound_min_yuan: 50_000,
            own_bank_prefixes: vec!["313".into()],
            maturity_window_days: 30,
            large_credit_yuan: 200_000,
            wake_after_days: 180,
            new_channels: vec!["mobile".into(), "online".into()],
            task_due_days: 1,
            salary_months: 3,
            salary_gap_days: 40,
        }
    }
}

impl MonitorConfig {
    /// Whether rule `code` is on.
    pub fn enabled(&self, code: &str) -> bool {
        !self.disabled.iter().any(|d| d == code)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if let Some(r) = self
            .disabled
            .iter()
            .find(|r| !MONITOR_RULES.contains(&r.as_str()))
        {
            return Err(format!(
                "monitoring.disabled: unknown rule '{r}' (rules: {})",
                MONITOR_RULES.join(", ")
            ));
        }
        if [
            self.large_debit_yuan,
            self.large_debit_share_min_yuan,
            self.outbound_min_yuan,
            self.large_credit_yuan,
        ]
        .iter()
        .any(|y| !(1..=1_000_000_000_000).contains(y))
        {
            return Err("monitoring: amounts must be between 1 and 10^12 yuan".into());
        }
        if !(1..=100).contains(&self.large_debit_share_pct) {
            return Err("monitoring.large_debit_share_pct must be 1..=100".into());
        }
        if !(1..=366).contains(&self.maturity_window_days)
            || !(1..=3650).contains(&self.wake_after_days)
            || !(0..=366).contains(&self.task_due_days)
        {
            return Err("monitoring: day counts must be 1..=366 (wake_after_days up to 3650, task_due_days from 0)".into());
        }
        if !(1..=12).contains(&self.salary_months) || !(20..=366).contains(&self.salary_gap_days) {
            return Err(
                "monitoring: salary_months must be 1..=12 and salary_gap_days 20..=366".into(),
            );
        }
        if let Some(p) = self
            .own_bank_prefixes
            .iter()
            .find(|p| p.is_empty() || p.len() > 12 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "monitoring.own_bank_prefixes: '{p}' must be 1 to 12 digits of a clearing code"
            ));
        }
        if let Some(c) = self.new_channels.iter().find(|c| !is_code(c)) {
            return Err(format!(
                "monitoring.new_channels: '{c}' must be lowercase letters, digits and _"
            ));
        }
        Ok(())
    }
}

/// The alert rules: each raises an event once, as an alert and a task on
/// the owning RM's list. Amounts in whole yuan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// Rules switched off (codes from [`ALERT_RULES`]).
    pub disabled: Vec<String>,
    /// Birthdays of persons in the next this many days.
    pub birthday_days: u32,
    /// Products maturing in the next this many days.
    pub maturity_days: u32,
    /// Product classes whose maturity is worth a call.
    pub maturity_classes: Vec<String>,
    /// Month-end AUM moved by at least this percentage against the month before …
    pub balance_change_pct: i64,
    /// … and by at least this many yuan.
    pub balance_change_min_yuan: i64,
    /// No own transaction for this many days: dormant.
    pub dormant_days: i64,
    /// Dormancy is raised for customers holding at least this AUM.
    pub dormant_min_aum_yuan: i64,
    /// Churn risk: the last 3 months' average AUM fell by at least this percentage …
    pub aum_decline_pct: i64,
    /// … from a prior 3 months' average of at least this many yuan.
    pub aum_decline_min_yuan: i64,
    /// Tasks without a due date of their own are due this many days after the as-of date.
    pub task_due_days: u32,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            disabled: Vec::new(),
            birthday_days: 7,
            maturity_days: 30,
            maturity_classes: vec!["deposit".into(), "wealth".into(), "loan".into()],
            balance_change_pct: 30,
            balance_change_min_yuan: 50_000,
            dormant_days: 180,
            dormant_min_aum_yuan: 10_000,
            aum_decline_pct: 30,
            aum_decline_min_yuan: 100_000,
            task_due_days: 3,
        }
    }
}

/// One value tier.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TierDef {
    /// Stable code (`core`, `gold`, …), stored in the tier history.
    pub code: String,
    /// Chinese name (核心).
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Monthly average AUM, in whole yuan, that qualifies.
    pub min_aum_yuan: i64,
    /// Consecutive months below this tier's threshold before a downgrade.
    pub downgrade_after: u32,
}

impl TierDef {
    /// The threshold in minor units.
    pub fn min_aum_minor(&self) -> i64 {
        self.min_aum_yuan.saturating_mul(100)
    }
}

/// RFM settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmConfig {
    /// Trailing window, in months, for frequency and monetary value.
    pub window_months: u32,
    /// Named segments; the first matching rule wins.
    pub segments: Vec<RfmSegmentDef>,
}

/// A named RFM segment: inclusive score ranges.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfmSegmentDef {
    /// Stable code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Recency score range.
    pub r: [u8; 2],
    /// Frequency score range.
    pub f: [u8; 2],
    /// Monetary score range.
    pub m: [u8; 2],
}

/// Profitability settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfitConfig {
    /// Transfer price credited to term deposits.
    pub ftp_deposit_bp: i64,
    /// Transfer price credited to current (settlement) balances.
    pub ftp_settlement_bp: i64,
    /// Transfer price charged to loans.
    pub ftp_loan_bp: i64,
    /// Fee on wealth-management balances.
    pub fee_wealth_bp: i64,
    /// Fee on fund balances.
    pub fee_fund_bp: i64,
    /// Fee on insurance balances.
    pub fee_insurance_bp: i64,
    /// Interchange earned on card spend.
    pub card_interchange_bp: i64,
    /// Monthly cost of keeping one account open, in fen.
    pub account_cost_fen_month: i64,
    /// Cost of one transaction by channel, in fen.
    pub channel_cost_fen: ChannelCost,
}

/// Cost to serve one transaction, by channel, in fen.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelCost {
    /// Branch counter (柜面).
    pub counter: i64,
    /// ATM.
    pub atm: i64,
    /// Mobile banking.
    pub mobile: i64,
    /// Online banking.
    pub online: i64,
    /// Card terminals.
    pub pos: i64,
    /// Batch postings (payroll).
    pub batch: i64,
}

/// Upper age bounds (inclusive) of the life stages of persons.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifeStageConfig {
    /// Student.
    pub student_max_age: i64,
    /// Young professional.
    pub young_max_age: i64,
    /// Family formation.
    pub family_max_age: i64,
    /// Mature; older customers are seniors.
    pub mature_max_age: i64,
}

impl Config {
    /// The embedded default.
    pub fn default_config() -> Config {
        // The embedded file is checked by a unit test.
        Self::parse(DEFAULT_TOML, "config/acrm.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| AnalyticsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| AnalyticsError::Config {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        config.check().map_err(|message| AnalyticsError::Config {
            origin: origin.to_owned(),
            message,
        })?;
        Ok(config)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.tiers.is_empty() {
            return Err("at least one tier is needed".into());
        }
        for pair in self.tiers.windows(2) {
            if pair[0].min_aum_yuan <= pair[1].min_aum_yuan {
                return Err(format!(
                    "tiers must be listed highest first with falling thresholds: {} ({}) before {} ({})",
                    pair[0].code, pair[0].min_aum_yuan, pair[1].code, pair[1].min_aum_yuan
                ));
            }
        }
        if self.tiers.last().map(|t| t.min_aum_yuan) != Some(0) {
            return Err("the lowest tier must start at 0 so every customer has a tier".into());
        }
        let mut codes: Vec<&str> = self.tiers.iter().map(|t| t.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != self.tiers.len() {
            return Err("tier codes must be unique".into());
        }
        for t in &self.tiers {
            if t.downgrade_after == 0 {
                return Err(format!(
                    "tier {}: downgrade_after must be at least 1",
                    t.code
                ));
            }
            if !is_code(&t.code) {
                return Err(format!(
                    "tier code '{}' must be lowercase letters, digits and _",
                    t.code
                ));
            }
        }
        if !(1..=120).contains(&self.rfm.window_months) {
            return Err("rfm.window_months must be between 1 and 120".into());
        }
        for s in &self.rfm.segments {
            for (name, [lo, hi]) in [("r", s.r), ("f", s.f), ("m", s.m)] {
                if !(1..=5).contains(&lo) || !(1..=5).contains(&hi) || lo > hi {
                    return Err(format!(
                        "rfm segment {}: {name} = [{lo}, {hi}] must be a range within 1..5",
                        s.code
                    ));
                }
            }
            if !is_code(&s.code) {
                return Err(format!(
                    "rfm segment code '{}' must be lowercase letters, digits and _",
                    s.code
                ));
            }
        }
        let l = &self.life_stage;
        if !(l.student_max_age < l.young_max_age
            && l.young_max_age < l.family_max_age
            && l.family_max_age < l.mature_max_age)
        {
            return Err("life_stage bounds must rise: student < young < family < mature".into());
        }
        let a = &self.alerts;
        if let Some(r) = a
            .disabled
            .iter()
            .find(|r| !ALERT_RULES.contains(&r.as_str()))
        {
            return Err(format!(
                "alerts.disabled: unknown rule '{r}' (rules: {})",
                ALERT_RULES.join(", ")
            ));
        }
        if let Some(c) = a.maturity_classes.iter().find(|c| !is_code(c)) {
            return Err(format!(
                "alerts.maturity_classes: '{c}' must be lowercase letters, digits and _"
            ));
        }
        if !(1..=366).contains(&a.birthday_days)
            || !(1..=366).contains(&a.maturity_days)
            || !(1..=3650).contains(&a.dormant_days)
            || !(0..=366).contains(&a.task_due_days)
        {
            return Err("alerts: day counts must be 1..=366 (dormant_days up to 3650)".into());
        }
        if !(1..=1000).contains(&a.balance_change_pct) || !(1..=100).contains(&a.aum_decline_pct) {
            return Err("alerts: percentages must be 1..=1000 (aum_decline_pct up to 100)".into());
        }
        if [
            a.balance_change_min_yuan,
            a.dormant_min_aum_yuan,
            a.aum_decline_min_yuan,
        ]
        .iter()
        .any(|y| !(0..=1_000_000_000_000).contains(y))
        {
            return Err("alerts: amounts must be between 0 and 10^12 yuan".into());
        }
        self.monitoring.validate()?;
        self.value.validate()?;
        let p = &self.profit;
        let c = &p.channel_cost_fen;
        if [
            p.ftp_deposit_bp,
            p.ftp_settlement_bp,
            p.ftp_loan_bp,
            p.fee_wealth_bp,
            p.fee_fund_bp,
            p.fee_insurance_bp,
            p.card_interchange_bp,
        ]
        .iter()
        .any(|bp| !(0..=10_000).contains(bp))
        {
            return Err("profit rates must be between 0 and 10000 basis points".into());
        }
        if [
            p.account_cost_fen_month,
            c.counter,
            c.atm,
            c.mobile,
            c.online,
            c.pos,
            c.batch,
        ]
        .iter()
        .any(|f| !(0..=10_000_000).contains(f))
        {
            return Err("profit costs must be between 0 and 10000000 fen".into());
        }
        Ok(())
    }

    /// The tier with `code`.
    pub fn tier(&self, code: &str) -> Option<&TierDef> {
        self.tiers.iter().find(|t| t.code == code)
    }
}

/// Codes end up in SQL text as literals: only `[a-z0-9_]` is allowed.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_parses() {
        let c = Config::default_config();
        assert_eq!(c.tiers.len(), 5);
        assert_eq!(c.tiers[0].name_zh, "核心");
        assert_eq!(c.tier("gold").map(|t| t.min_aum_minor()), Some(5_000_000));
        assert_eq!(c.rfm.window_months, 12);
    }

    #[test]
    fn bad_configurations_are_refused_with_a_reason() {
        let bad = DEFAULT_TOML.replace("min_aum_yuan = 0", "min_aum_yuan = 10");
        let e = Config::parse(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("lowest tier must start at 0"), "{e}");
        let bad = DEFAULT_TOML.replace("r = [4, 5]", "r = [5, 4]");
        let e = Config::parse(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("must be a range"), "{e}");
        let bad = DEFAULT_TOML.replace("code = \"core\"", "code = \"Core'\"");
        let e = Config::parse(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("lowercase"), "{e}");
        let e = Config::parse("tiers = 3", "x").unwrap_err().to_string();
        assert!(e.contains("x"), "{e}");
    }
}
