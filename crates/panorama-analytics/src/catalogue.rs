//! The feature catalogue: every column of the feature table, its type,
//! unit and meaning. Segment conditions are type-checked against it, the
//! CLI lists it, and a test holds it equal to the feature table's schema.

/// What a feature holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureType {
    /// A count or whole number (age, months, days, scores).
    Integer,
    /// Money, stored in fen (minor units); written in yuan in conditions.
    Money,
    /// A ratio or percentage (may be empty).
    Float,
    /// A code or name (tier, life stage, RFM segment).
    Text,
    /// A date.
    Date,
    /// A list of codes as `,A,B,` (held products); tested with `holds()`.
    CodeList,
}

impl FeatureType {
    /// A word for error messages and listings.
    pub fn word(self) -> &'static str {
        match self {
            FeatureType::Integer => "integer",
            FeatureType::Money => "money",
            FeatureType::Float => "number",
            FeatureType::Text => "text",
            FeatureType::Date => "date",
            FeatureType::CodeList => "code list",
        }
    }
}

/// One feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Column name.
    pub name: String,
    /// Type.
    pub kind: FeatureType,
    /// Unit, in words (`fen`, `months`, `1-5`).
    pub unit: &'static str,
    /// Meaning, in English.
    pub meaning: String,
    /// Meaning, in Chinese.
    pub meaning_zh: String,
}

/// Transaction channels with their Chinese names.
pub const CHANNELS: &[(&str, &str)] = &[
    ("counter", "柜面"),
    ("atm", "ATM"),
    ("mobile", "手机银行"),
    ("online", "网上银行"),
    ("pos", "POS"),
];

/// Transaction windows in months.
pub const WINDOWS: &[u32] = &[1, 3, 12];

/// Merchant categories: code, Chinese name, merchant category codes.
pub const MERCHANT_CATEGORIES: &[(&str, &str, &[&str])] = &[
    ("grocery", "商超", &["5411"]),
    ("dining", "餐饮", &["5812", "5814"]),
    ("fuel", "加油", &["5541"]),
    ("retail", "百货零售", &["5311", "5999"]),
    ("telecom", "通信", &["4812"]),
    ("health", "医药", &["5912"]),
    ("travel", "旅行", &["7011", "4511"]),
    ("electronics", "电子产品", &["5732"]),
    ("education", "教育", &["8220"]),
];

/// Product classes with their Chinese names (balances are reported by class).
pub const CLASSES: &[(&str, &str)] = &[
    ("deposit", "定期存款"),
    ("settlement", "结算(活期)"),
    ("wealth", "理财"),
    ("fund", "基金"),
    ("insurance", "保险"),
    ("loan", "贷款"),
    ("card", "信用卡"),
];

/// Classes that count toward AUM.
pub const AUM_CLASSES: &[&str] = &["deposit", "settlement", "wealth", "fund", "insurance"];

fn f(name: &str, kind: FeatureType, unit: &'static str, meaning: &str, zh: &str) -> Feature {
    Feature {
        name: name.to_owned(),
        kind,
        unit,
        meaning: meaning.to_owned(),
        meaning_zh: zh.to_owned(),
    }
}

/// The catalogue, in the feature table's column order.
pub fn catalogue() -> Vec<Feature> {
    use FeatureType::*;
    let mut v = vec![
        f(
            "customer_id",
            Integer,
            "id",
            "golden customer id",
            "客户内部编号",
        ),
        f("customer_no", Text, "", "customer number", "客户号"),
        f(
            "party_type",
            Text,
            "person|organisation",
            "person or organisation",
            "客户类型",
        ),
        f("gender", Text, "M|F", "gender (persons)", "性别"),
        f(
            "age",
            Integer,
            "years",
            "age on the as-of date (persons)",
            "年龄",
        ),
        f(
            "life_stage",
            Text,
            "student|young|family|mature|senior|organisation",
            "life stage from age",
            "人生阶段",
        ),
        f("home_branch", Text, "org code", "home branch", "归属机构"),
        f("household_id", Integer, "id", "household", "家庭编号"),
        f(
            "tenure_months",
            Integer,
            "months",
            "months since the first account opened",
            "客户在行时长(月)",
        ),
        f(
            "aum",
            Money,
            "fen",
            "AUM at the month end: deposits, current accounts, wealth, funds, insurance",
            "时点AUM",
        ),
        f(
            "aum_month_avg",
            Money,
            "fen",
            "AUM monthly average (average daily balance of the month)",
            "月日均AUM",
        ),
        f(
            "aum_3m_avg",
            Money,
            "fen",
            "AUM averaged over the last 3 months",
            "近3月日均AUM",
        ),
        f(
            "aum_trend_3m_pct",
            Float,
            "%",
            "change of the 3-month average AUM against the 3 months before",
            "AUM近3月较前3月变化(%)",
        ),
    ];
    for (class, zh) in CLASSES {
        v.push(f(
            &format!("avg_{class}"),
            Money,
            "fen",
            &format!("average daily balance of {class} products in the month"),
            &format!("{zh}月日均余额"),
        ));
    }
    v.extend([
        f(
            "loan_balance",
            Money,
            "fen",
            "loan balance at the month end",
            "贷款余额",
        ),
        f(
            "card_balance",
            Money,
            "fen",
            "credit card balance at the month end",
            "信用卡余额",
        ),
        f(
            "product_count",
            Integer,
            "products",
            "distinct products held",
            "持有产品数",
        ),
        f(
            "account_count",
            Integer,
            "accounts",
            "open accounts",
            "账户数",
        ),
        f(
            "products",
            CodeList,
            "product codes",
            "products held (test with holds())",
            "持有产品",
        ),
        f(
            "product_classes",
            CodeList,
            "classes",
            "product classes held",
            "持有产品大类",
        ),
        f(
            "product_tenure",
            Text,
            "code:months;…",
            "months each held product has been held",
            "各产品持有时长(月)",
        ),
    ]);
    for (ch, zh) in CHANNELS {
        for w in WINDOWS {
            v.push(f(
                &format!("txn_{ch}_{w}m_count"),
                Integer,
                "transactions",
                &format!("{ch} transactions in the last {w} months"),
                &format!("近{w}月{zh}交易笔数"),
            ));
            v.push(f(
                &format!("txn_{ch}_{w}m_amount"),
                Money,
                "fen",
                &format!("{ch} transaction amount in the last {w} months"),
                &format!("近{w}月{zh}交易金额"),
            ));
        }
    }
    for (cat, zh, _) in MERCHANT_CATEGORIES {
        v.push(f(
            &format!("spend_{cat}_12m"),
            Money,
            "fen",
            &format!("card and POS spend on {cat} merchants in the last 12 months"),
            &format!("近12月{zh}消费"),
        ));
    }
    v.extend([
        f(
            "txn_amount_3m",
            Money,
            "fen",
            "transaction amount, last 3 months (all channels but batch)",
            "近3月交易金额",
        ),
        f(
            "txn_amount_prior_3m",
            Money,
            "fen",
            "transaction amount, the 3 months before",
            "前3月交易金额",
        ),
        f(
            "txn_trend_3m_pct",
            Float,
            "%",
            "change of the 3-month amount against the 3 months before",
            "交易金额近3月较前3月变化(%)",
        ),
        f(
            "last_txn_on",
            Date,
            "date",
            "last customer-initiated transaction",
            "最近交易日",
        ),
        f(
            "recency_days",
            Integer,
            "days",
            "days since the last customer-initiated transaction",
            "最近交易距今天数",
        ),
        f(
            "rfm_frequency",
            Integer,
            "transactions",
            "customer-initiated transactions in the RFM window",
            "RFM频次",
        ),
        f("rfm_monetary", Money, "fen", "their amount", "RFM金额"),
        f(
            "rfm_r",
            Integer,
            "1-5",
            "recency score (5 = most recent fifth)",
            "R得分",
        ),
        f("rfm_f", Integer, "1-5", "frequency score", "F得分"),
        f("rfm_m", Integer, "1-5", "monetary score", "M得分"),
        f("rfm_segment", Text, "code", "named RFM segment", "RFM分群"),
        f(
            "profit_nii",
            Money,
            "fen",
            "net interest income against transfer prices, last 12 months",
            "近12月净利息收入",
        ),
        f(
            "profit_fee",
            Money,
            "fen",
            "fees and card interchange, last 12 months",
            "近12月中间业务收入",
        ),
        f(
            "profit_cost",
            Money,
            "fen",
            "cost to serve (transactions by channel, accounts), last 12 months",
            "近12月服务成本",
        ),
        f(
            "profit",
            Money,
            "fen",
            "profit contribution: nii + fee - cost, last 12 months",
            "近12月利润贡献",
        ),
        f(
            "tier",
            Text,
            "tier code",
            "value tier decided on the as-of date",
            "客户等级",
        ),
        f(
            "tier_months",
            Integer,
            "months",
            "months since the current tier was decided",
            "当前等级持续月数",
        ),
        f(
            "clv",
            Money,
            "fen",
            "lifetime value: the profit contribution kept for the value horizon at the churn model's retention, discounted (the last nightly run's; empty before the first)",
            "客户终身价值",
        ),
    ]);
    v
}

/// Looks a feature up by name.
pub fn feature(name: &str) -> Option<Feature> {
    catalogue().into_iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_the_documented_minimum_and_unique_names() {
        let c = catalogue();
        for name in [
            "aum",
            "aum_month_avg",
            "tier",
            "age",
            "tenure_months",
            "product_count",
            "rfm_r",
            "rfm_f",
            "rfm_m",
            "profit",
        ] {
            assert!(c.iter().any(|f| f.name == name), "{name}");
        }
        let mut names: Vec<&str> = c.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), c.len());
    }
}
