//! The demo bank's reference data: organisation hierarchy and product catalogue.

use panorama_domain::division::{self, Division};

use crate::data::BANK_CITIES;

/// A unit of the bank's organisation.
#[derive(Debug, Clone)]
pub struct OrgUnit {
    /// Code, e.g. `HO`, `BR01`, `SB0103`.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// `head_office`, `branch` or `sub_branch`.
    pub level: &'static str,
    /// Parent's code.
    pub parent: Option<String>,
    /// For a sub-branch: the district it serves.
    pub district: Option<&'static Division>,
}

/// The bank's head office, branches and sub-branches (one per urban district,
/// at most eight per branch).
pub fn org_units() -> Vec<OrgUnit> {
    let mut units = vec![OrgUnit {
        code: "HO".into(),
        name: "总行".into(),
        name_en: "Head Office".into(),
        level: "head_office",
        parent: None,
        district: None,
    }];
    for (b, (city, name, name_en)) in BANK_CITIES.iter().enumerate() {
        let branch = format!("BR{:02}", b + 1);
        units.push(OrgUnit {
            code: branch.clone(),
            name: (*name).into(),
            name_en: (*name_en).into(),
            level: "branch",
            parent: Some("HO".into()),
            district: None,
        });
        let districts = division::all()
            .iter()
            .filter(|d| d.code.starts_with(city) && d.district.ends_with('区'));
        for (s, d) in districts.take(8).enumerate() {
            units.push(OrgUnit {
                code: format!("SB{:02}{:02}", b + 1, s + 1),
                name: format!("{}支行", d.district.trim_end_matches('区')),
                name_en: format!("{} Sub-branch", name_en.trim_end_matches(" Branch")),
                level: "sub_branch",
                parent: Some(branch.clone()),
                district: Some(d),
            });
        }
    }
    units
}

/// A product in the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    /// Product code.
    pub code: &'static str,
    /// Chinese name.
    pub name: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Product class (deposit, wealth, fund, insurance, loan, card, settlement).
    pub class: &'static str,
    /// Source system holding it.
    pub system: &'static str,
    /// Term in months, for term products.
    pub term_months: Option<u32>,
    /// Customer rate in basis points a year.
    pub rate_bp: Option<u32>,
}

const fn p(
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    class: &'static str,
    system: &'static str,
    term_months: Option<u32>,
    rate_bp: Option<u32>,
) -> Product {
    Product {
        code,
        name,
        name_en,
        class,
        system,
        term_months,
        rate_bp,
    }
}

/// The catalogue.
pub const PRODUCTS: &[Product] = &[
    p(
        "D001",
        "个人活期储蓄",
        "Personal current savings",
        "settlement",
        "core",
        None,
        Some(10),
    ),
    p(
        "D003",
        "整存整取三个月",
        "Term deposit 3 months",
        "deposit",
        "core",
        Some(3),
        Some(125),
    ),
    p(
        "D006",
        "整存整取六个月",
        "Term deposit 6 months",
        "deposit",
        "core",
        Some(6),
        Some(145),
    ),
    p(
        "D012",
        "整存整取一年",
        "Term deposit 1 year",
        "deposit",
        "core",
        Some(12),
        Some(165),
    ),
    p(
        "D024",
        "整存整取两年",
        "Term deposit 2 years",
        "deposit",
        "core",
        Some(24),
        Some(185),
    ),
    p(
        "D036",
        "整存整取三年",
        "Term deposit 3 years",
        "deposit",
        "core",
        Some(36),
        Some(225),
    ),
    p(
        "D100",
        "大额存单三年",
        "Large certificate of deposit 3 years",
        "deposit",
        "core",
        Some(36),
        Some(255),
    ),
    p(
        "D200",
        "单位活期存款",
        "Corporate current deposit",
        "settlement",
        "core",
        None,
        Some(20),
    ),
    p(
        "D201",
        "单位定期存款一年",
        "Corporate term deposit 1 year",
        "deposit",
        "core",
        Some(12),
        Some(170),
    ),
    p(
        "C001",
        "标准信用卡",
        "Classic credit card",
        "card",
        "card",
        None,
        None,
    ),
    p(
        "C002",
        "金卡信用卡",
        "Gold credit card",
        "card",
        "card",
        None,
        None,
    ),
    p(
        "C003",
        "白金信用卡",
        "Platinum credit card",
        "card",
        "card",
        None,
        None,
    ),
    p(
        "L001",
        "个人住房贷款",
        "Residential mortgage",
        "loan",
        "loan",
        Some(240),
        Some(390),
    ),
    p(
        "L002",
        "个人消费贷款",
        "Personal consumer loan",
        "loan",
        "loan",
        Some(36),
        Some(450),
    ),
    p(
        "L003",
        "个人经营贷款",
        "Small business owner loan",
        "loan",
        "loan",
        Some(36),
        Some(420),
    ),
    p(
        "L004",
        "流动资金贷款",
        "Corporate working capital loan",
        "loan",
        "loan",
        Some(12),
        Some(380),
    ),
    p(
        "W001",
        "稳健理财六个月",
        "Conservative wealth product 6 months",
        "wealth",
        "wealth",
        Some(6),
        Some(280),
    ),
    p(
        "W002",
        "现金管理类理财",
        "Cash management wealth product",
        "wealth",
        "wealth",
        None,
        Some(200),
    ),
    p(
        "F001",
        "货币市场基金",
        "Money market fund",
        "fund",
        "wealth",
        None,
        None,
    ),
    p(
        "F002",
        "股票型基金",
        "Equity fund",
        "fund",
        "wealth",
        None,
        None,
    ),
    p(
        "I001",
        "年金保险",
        "Annuity insurance",
        "insurance",
        "wealth",
        Some(120),
        None,
    ),
];

/// Looks a product up by code.
pub fn product(code: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.code == code)
}
