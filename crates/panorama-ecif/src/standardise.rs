//! Standardisation: the same value written differently by different systems
//! becomes one string, so that comparison measures real differences.

use panorama_domain::division;
use panorama_domain::text::{digits_only, half_width};
use panorama_domain::{CreditCode, Mobile, ResidentId};
use std::sync::OnceLock;

/// Whether a character is a CJK ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// A person or company name: full-width folded, lower-cased; spaces removed
/// inside Chinese names (`张　三` = `张三`), collapsed in Latin ones.
pub fn name(raw: &str) -> Option<String> {
    let folded: String = raw
        .chars()
        .map(half_width)
        .flat_map(char::to_lowercase)
        .collect();
    let has_han = folded.chars().any(is_han);
    let out = if has_han {
        folded
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '.' | '-'))
            .collect::<String>()
    } else {
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    (!out.is_empty()).then_some(out)
}

/// Legal forms at the end of a company name, longest first.
const LEGAL_FORMS: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "公司",
];

/// Endings of a branch office's name. A branch (分公司, 分行, …) is a party of
/// its own, with its own credit code, named after its parent and the place it
/// is in: `上海恒联科技有限公司武汉分公司`.
const BRANCH_ENDINGS: &[&str] = &["分公司", "分行", "支行", "分店", "营业部", "办事处"];

/// A Chinese company name taken apart: the parent's name, and for a branch
/// office its ending and the place before it.
struct OrgParts<'a> {
    parent: &'a str,
    branch: Option<(&'a str, Option<&'static str>)>,
}

fn org_parts(n: &str) -> OrgParts<'_> {
    for ending in BRANCH_ENDINGS {
        let Some(rest) = n.strip_suffix(ending) else {
            continue;
        };
        if rest.chars().count() < 2 {
            break;
        }
        // `…(武汉)分公司` or `…武汉市分公司` / `…武汉分公司`.
        if let Some(inner) = rest.strip_suffix(')') {
            if let Some(open) = inner.rfind('(') {
                if let Some(place) = place_named(&inner[open + 1..]) {
                    return OrgParts {
                        parent: &inner[..open],
                        branch: Some((ending, Some(place))),
                    };
                }
            }
        }
        let r = regions();
        if let Some((variant, place)) = r
            .places
            .iter()
            .find(|(variant, _)| rest.len() > variant.len() && rest.ends_with(variant.as_str()))
        {
            return OrgParts {
                parent: &rest[..rest.len() - variant.len()],
                branch: Some((ending, Some(place.as_str()))),
            };
        }
        return OrgParts {
            parent: rest,
            branch: Some((ending, None)),
        };
    }
    OrgParts {
        parent: n,
        branch: None,
    }
}

/// The place a bracket, a province or a city names (`上海市`, `杭州`), as
/// one spelling (`上海`, `杭州`).
fn place_named(s: &str) -> Option<&'static str> {
    regions()
        .places
        .iter()
        .find(|(variant, _)| variant == s)
        .map(|(_, place)| place.as_str())
}

/// A company name reduced to what tells it apart: [`name`], then without a
/// place in brackets (`(上海)`), a leading province or city (`上海`,
/// `深圳市`) or the legal form (`有限公司`, `股份有限公司`, …), so
/// `上海嘉禾置业有限公司`, `嘉禾置业有限公司` and `嘉禾置业(上海)有限公司`
/// agree. A branch office keeps its ending without its place
/// (`上海恒联科技有限公司武汉分公司` → `恒联科技分公司`): the place is
/// [`organisation_city`]'s evidence. A name that would keep fewer than two
/// characters stays whole; Latin names get [`name`].
pub fn organisation_name(raw: &str) -> Option<String> {
    let n = name(raw)?;
    if !n.chars().any(is_han) {
        return Some(n);
    }
    let parts = org_parts(&n);
    let core = organisation_core(parts.parent).unwrap_or_else(|| parts.parent.to_owned());
    Some(match parts.branch {
        Some((ending, _)) => format!("{core}{ending}"),
        None => core,
    })
}

/// The city a company's name places it in: a branch office's place
/// (`…武汉分公司` → `武汉`), else a place in brackets (`嘉禾置业(上海)有限公司`)
/// or leading the name (`深圳市…`, `浙江省杭州…`). `None` when the name names
/// no place. Two companies of one trade name in two cities are two parties;
/// this is the evidence that tells them apart.
pub fn organisation_city(raw: &str) -> Option<String> {
    let n = name(raw)?;
    if !n.chars().any(is_han) {
        return None;
    }
    let parts = org_parts(&n);
    if let Some((_, place)) = parts.branch {
        return place.map(str::to_owned);
    }
    city_named_in(parts.parent)
}

/// The legal form a company's name declares, as the company law's kind of
/// company: `股份有限公司` (a joint-stock company, also written `股份公司`),
/// `有限责任公司` (a limited liability company, which the law lets write
/// `有限公司`), `合伙企业` (a partnership, also `(普通合伙)`/`(有限合伙)`) or
/// `个人独资企业`. A branch office carries its parent's. `None` when the
/// name declares none (`嘉禾置业`, `…公司`). A company keeps its kind unless
/// it is re-formed, so two kinds are evidence of two parties.
pub fn organisation_form(raw: &str) -> Option<String> {
    let n = name(raw)?;
    let parts = org_parts(&n);
    let parent = parts.parent.trim_end_matches(['(', ')']);
    let kind = if parent.ends_with("股份有限公司") || parent.ends_with("股份公司") {
        "股份有限公司"
    } else if parent.ends_with("有限责任公司") || parent.ends_with("有限公司") {
        "有限责任公司"
    } else if parent.ends_with("合伙企业")
        || parent.ends_with("普通合伙")
        || parent.ends_with("有限合伙")
    {
        "合伙企业"
    } else if parent.ends_with("个人独资企业") {
        "个人独资企业"
    } else {
        return None;
    };
    Some(kind.to_owned())
}

/// For a branch office, the city its parent's name places the parent in
/// (`上海恒联科技有限公司武汉分公司` → `上海`, `恒联科技(上海)有限公司武汉分公司`
/// → `上海`); `None` for a head office or when the parent's name carries no
/// place. Two branches in one city of parents in two cities are two parties.
pub fn parent_city(raw: &str) -> Option<String> {
    let n = name(raw)?;
    if !n.chars().any(is_han) {
        return None;
    }
    let parts = org_parts(&n);
    parts.branch?;
    city_named_in(parts.parent)
}

/// The city a head office's name carries: in brackets, or leading it.
fn city_named_in(name: &str) -> Option<String> {
    let mut rest = name;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let close = after.find(')')?;
        if let Some(place) = place_named(&after[..close]) {
            return Some(place.to_owned());
        }
        rest = &after[close + 1..];
    }
    if leading_place(name) == 0 {
        return None;
    }
    let r = regions();
    let (mut rest, mut found) = (name, None);
    if let Some((p, i)) = r
        .provinces
        .iter()
        .find(|(p, _)| rest.starts_with(p.as_str()))
    {
        rest = &rest[p.len()..];
        found = place_named(p);
        if let Some(c) = r.cities_of[*i]
            .iter()
            .find(|c| rest.starts_with(c.as_str()))
        {
            return place_named(c).map(str::to_owned);
        }
    }
    if found.is_none() {
        found = r
            .cities_of
            .iter()
            .flatten()
            .filter(|c| rest.starts_with(c.as_str()))
            .max_by_key(|c| c.len())
            .and_then(|c| place_named(c));
    }
    found.map(str::to_owned)
}

/// The trade name of a company that is not a branch: without brackets
/// holding a place, leading places and the legal form; `None` if fewer than
/// two characters would be left.
fn organisation_core(n: &str) -> Option<String> {
    // Brackets holding a place name: dropped with their content.
    let mut core = String::with_capacity(n.len());
    let mut rest = n;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        match after.find(')') {
            Some(close) if after[..close].chars().count() <= 6 => {
                core.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => break,
        }
    }
    core.push_str(rest);
    let mut stripped = &core[leading_place(&core)..];
    if let Some(form) = LEGAL_FORMS.iter().find(|f| stripped.ends_with(*f)) {
        stripped = &stripped[..stripped.len() - form.len()];
    }
    (stripped.chars().count() >= 2).then(|| stripped.to_owned())
}

/// Endings that make a leading place name explicit (`金华市`, `浙江省`).
const PLACE_ENDINGS: &[&str] = &["市", "省", "自治区", "自治州", "地区", "盟"];

/// The length in bytes of the places leading a company's name (`浙江省杭州`,
/// `深圳市`, `杭州`), 0 if none. Company names lead with their city even
/// without the province (杭州…, 深圳…), unlike addresses, where a short city
/// name alone is too often a district or a street. But a short place name
/// is the trade name itself when what would be left is shorter than a trade
/// name and a line of business (two characters each): `金华科技有限公司`
/// and `上海银行股份有限公司` are named 金华科技 and 上海银行, wherever
/// they are.
fn leading_place(name: &str) -> usize {
    let mut rest = strip_region_prefixes(name);
    if rest.len() == name.len() {
        if let Some(c) = regions()
            .cities_of
            .iter()
            .flatten()
            .filter(|c| rest.starts_with(c.as_str()))
            .max_by_key(|c| c.len())
        {
            rest = &rest[c.len()..];
        }
    }
    let prefix = &name[..name.len() - rest.len()];
    if prefix.is_empty() || PLACE_ENDINGS.iter().any(|e| prefix.ends_with(e)) {
        return prefix.len();
    }
    let trade = LEGAL_FORMS
        .iter()
        .find_map(|f| rest.strip_suffix(f))
        .unwrap_or(rest);
    if trade.chars().count() < 4 {
        0
    } else {
        prefix.len()
    }
}

pub use panorama_domain::pinyin::pinyin_key;

/// A resident id in its 18-character form (15-digit ids upgraded); `None` if it does not parse.
pub fn resident_id(raw: &str) -> Option<String> {
    ResidentId::parse(raw).ok().map(|id| id.to_string())
}

/// An id-like value that may not parse (a mistyped resident id): digits and X only.
pub fn id_digits(raw: &str) -> Option<String> {
    let d = digits_only(raw, true);
    (!d.is_empty()).then_some(d)
}

/// A credit code, upper-cased; kept even when its checksum fails.
pub fn credit_code(raw: &str) -> Option<String> {
    CreditCode::parse(raw).ok().map(|c| c.to_string())
}

/// A mobile number's 11 digits.
pub fn mobile(raw: &str) -> Option<String> {
    Mobile::parse(raw).ok().map(|m| m.to_string())
}

/// A generic value: trimmed, full-width folded, lower-cased, spaces collapsed.
pub fn text(raw: &str) -> Option<String> {
    let folded: String = raw
        .chars()
        .map(half_width)
        .flat_map(char::to_lowercase)
        .collect();
    let out = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

/// A date as 8 digits `YYYYMMDD` from `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD`.
pub fn date(raw: &str) -> Option<String> {
    let d = digits_only(raw, false);
    (!d.is_empty()).then_some(d)
}

/// A Chinese address without the optional province and city prefixes and
/// with common spelling variants unified, so `浙江省杭州市西湖区文三路12号3栋`
/// and `西湖区文三路12号3幢` agree. Latin addresses get [`text`].
pub fn address(raw: &str) -> Option<String> {
    let t = text(raw)?;
    if !t.chars().any(is_han) {
        return Some(t);
    }
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let mut s = strip_region_prefixes(&compact).to_owned();
    for (from, to) in [
        ("号楼", "幢"),
        ("栋", "幢"),
        ("座", "幢"),
        ("弄", "号"),
        ("號", "号"),
        // Floors (11层 = 11楼) and unit-room (1单元302室 = 1-302).
        ("层", "楼"),
        ("单元", "-"),
        ("室", ""),
    ] {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    Some(s)
}

/// Province names (full and short, longest first) with each province's city
/// names (full and short, longest first), and all full city names.
struct Regions {
    provinces: Vec<(String, usize)>,
    cities_of: Vec<Vec<String>>,
    full_cities: Vec<String>,
    /// Every spelling of a province or city (`上海市`, `上海`, `杭州市`,
    /// `杭州`) with its one spelling (`上海`, `杭州`), longest first.
    places: Vec<(String, String)>,
}

fn shorten(name: &str) -> Option<String> {
    [
        "维吾尔自治区",
        "壮族自治区",
        "回族自治区",
        "自治区",
        "省",
        "市",
    ]
    .iter()
    .find_map(|suffix| name.strip_suffix(suffix))
    .filter(|s| s.chars().count() >= 2)
    .map(str::to_owned)
}

fn regions() -> &'static Regions {
    static REGIONS: OnceLock<Regions> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut cities_of: Vec<Vec<String>> = Vec::new();
        let mut full_cities = Vec::new();
        for d in division::all() {
            let p = *index.entry(d.province.clone()).or_insert_with(|| {
                cities_of.push(Vec::new());
                cities_of.len() - 1
            });
            if d.city != d.province && !cities_of[p].contains(&d.city) {
                cities_of[p].push(d.city.clone());
                full_cities.push(d.city.clone());
                if let Some(short) = shorten(&d.city) {
                    cities_of[p].push(short);
                }
            }
        }
        let mut provinces: Vec<(String, usize)> = Vec::new();
        for (name, &i) in &index {
            provinces.push((name.clone(), i));
            if let Some(short) = shorten(name) {
                provinces.push((short, i));
            }
        }
        provinces.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        for c in &mut cities_of {
            c.sort_by_key(|n| std::cmp::Reverse(n.len()));
        }
        full_cities.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut places: Vec<(String, String)> = Vec::new();
        for full in provinces.iter().map(|(p, _)| p).chain(&full_cities) {
            let one = shorten(full).unwrap_or_else(|| full.clone());
            places.push((full.clone(), one.clone()));
            places.push((one.clone(), one));
        }
        places.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        places.dedup_by(|a, b| a.0 == b.0);
        Regions {
            provinces,
            cities_of,
            full_cities,
            places,
        }
    })
}

/// Removes a leading province and then a leading city of that province (a
/// short city name only after its province; otherwise only a full city name,
/// so 北京市朝阳区 keeps 朝阳区 although 朝阳 is also a city in Liaoning).
fn strip_region_prefixes(s: &str) -> &str {
    let r = regions();
    let mut rest = s;
    let province = r
        .provinces
        .iter()
        .find(|(p, _)| rest.starts_with(p.as_str()));
    if let Some((p, _)) = province {
        rest = &rest[p.len()..];
    }
    let cities: &[String] = match province {
        Some((_, i)) => &r.cities_of[*i],
        None => &r.full_cities,
    };
    if let Some(c) = cities.iter().find(|c| rest.starts_with(c.as_str())) {
        rest = &rest[c.len()..];
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_width_case_and_spaces() {
        assert_eq!(name("张　三").as_deref(), Some("张三"));
        assert_eq!(name("  ＪＯＨＮ   Smith ").as_deref(), Some("john smith"));
        assert_eq!(name("   "), None);
    }

    #[test]
    fn company_names_lose_region_brackets_and_legal_form() {
        for raw in [
            "上海嘉禾置业有限公司",
            "嘉禾置业有限公司",
            "嘉禾置业(上海)有限公司",
            "上海市嘉禾置业股份有限公司",
            "嘉禾置业（上海）",
        ] {
            assert_eq!(organisation_name(raw).as_deref(), Some("嘉禾置业"), "{raw}");
        }
        assert_eq!(
            organisation_name("深圳市腾达网络科技有限公司").as_deref(),
            Some("腾达网络科技")
        );
        assert_eq!(
            organisation_name("杭州众合宏贸易股份有限公司"),
            organisation_name("众合宏贸易股份有限公司")
        );
        // Nothing but a place and a form: the place is the name.
        assert_eq!(organisation_name("上海有限公司").as_deref(), Some("上海"));
        assert_eq!(organisation_name("ACME  Ltd").as_deref(), Some("acme ltd"));
    }

    #[test]
    fn a_branch_office_keeps_its_ending_and_its_place_is_the_city() {
        for raw in [
            "上海恒联信息技术股份有限公司武汉分公司",
            "恒联信息技术有限公司武汉市分公司",
            "上海恒联信息技术股份有限公司（武汉）分公司",
        ] {
            assert_eq!(
                organisation_name(raw).as_deref(),
                Some("恒联信息技术分公司"),
                "{raw}"
            );
            assert_eq!(organisation_city(raw).as_deref(), Some("武汉"), "{raw}");
        }
        // The parent is another party: another name and another city.
        assert_eq!(
            organisation_name("上海恒联信息技术股份有限公司").as_deref(),
            Some("恒联信息技术")
        );
        assert_eq!(
            organisation_city("上海恒联信息技术股份有限公司").as_deref(),
            Some("上海")
        );
        // A branch that names no place: no city evidence.
        assert_eq!(organisation_city("恒联信息技术有限公司分公司"), None);
    }

    #[test]
    fn a_place_leading_a_name_is_its_trade_name_when_nothing_else_would_be() {
        for (raw, core, city) in [
            ("金华科技股份有限公司", "金华科技", None),
            ("厦门金华科技股份有限公司", "金华科技", Some("厦门")),
            ("金华市科技有限公司", "科技", Some("金华")),
            ("上海银行股份有限公司", "上海银行", None),
            ("上海嘉禾置业有限公司", "嘉禾置业", Some("上海")),
            ("浙江省杭州嘉禾置业", "嘉禾置业", Some("杭州")),
        ] {
            assert_eq!(organisation_name(raw).as_deref(), Some(core), "{raw}");
            assert_eq!(organisation_city(raw).as_deref(), city, "{raw}");
        }
    }

    #[test]
    fn a_name_declares_its_kind_of_company() {
        for (raw, want) in [
            ("上海嘉禾置业有限公司", Some("有限责任公司")),
            ("嘉禾置业（上海）有限责任公司", Some("有限责任公司")),
            ("上海嘉禾置业股份有限公司", Some("股份有限公司")),
            ("嘉禾置业股份公司", Some("股份有限公司")),
            ("上海嘉禾置业股份有限公司武汉分公司", Some("股份有限公司")),
            ("上海嘉禾投资合伙企业（有限合伙）", Some("合伙企业")),
            ("嘉禾置业", None),
            ("上海嘉禾置业有限公司武汉", None),
        ] {
            assert_eq!(organisation_form(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn a_branch_names_its_parent_city() {
        for (raw, want) in [
            ("上海恒联科技有限公司武汉分公司", Some("上海")),
            ("上海市恒联科技股份有限公司（武汉）分公司", Some("上海")),
            ("恒联科技(上海)有限公司武汉市分公司", Some("上海")),
            ("恒联科技有限公司武汉分公司", None),
            ("上海恒联科技有限公司", None),
        ] {
            assert_eq!(parent_city(raw).as_deref(), want, "{raw}");
            if raw.ends_with("分公司") {
                assert_eq!(organisation_city(raw).as_deref(), Some("武汉"), "{raw}");
            }
        }
    }

    #[test]
    fn a_company_name_places_it_in_a_city() {
        for (raw, city) in [
            ("上海嘉禾置业有限公司", Some("上海")),
            ("上海市嘉禾置业有限公司", Some("上海")),
            ("嘉禾置业(上海)有限公司", Some("上海")),
            ("嘉禾置业（上海）", Some("上海")),
            ("浙江省杭州华嘉商贸有限公司", Some("杭州")),
            ("杭州市华嘉商贸有限公司", Some("杭州")),
            ("深圳腾达网络科技有限公司", Some("深圳")),
            ("嘉禾置业有限公司", None),
            ("ACME Ltd", None),
        ] {
            assert_eq!(organisation_city(raw).as_deref(), city, "{raw}");
        }
    }

    #[test]
    fn an_address_places_a_company_in_the_city_it_leads_with() {
        // What an org_city field with `or_column = "address"` reads when the
        // name carries no city.
        for (raw, city) in [
            ("浙江省杭州市科技园路472号24层", Some("杭州")),
            ("杭州市世纪大道339号24层", Some("杭州")),
            ("上海市滨江路768号12楼", Some("上海")),
            ("广东省深圳市南山区科技园路1号", Some("深圳")),
            ("科技园路472号24层", None),
        ] {
            assert_eq!(organisation_city(raw).as_deref(), city, "{raw}");
        }
    }

    #[test]
    fn homophones_share_a_pinyin_key() {
        assert_eq!(pinyin_key("张三"), "zhangsan");
        assert_eq!(pinyin_key("张叁"), "zhangsan");
        assert_eq!(pinyin_key("章三"), "zhangsan");
        assert_ne!(pinyin_key("李四"), pinyin_key("张三"));
        assert_eq!(pinyin_key("anna"), "anna");
    }

    #[test]
    fn ids_and_mobiles() {
        assert_eq!(
            resident_id("110105491231002").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(resident_id("110105194912310021"), None);
        assert_eq!(
            id_digits("110105 19491231 002x").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(mobile("+86 138-1234-5678").as_deref(), Some("13812345678"));
        assert_eq!(date("2024-06-30").as_deref(), Some("20240630"));
    }

    #[test]
    fn addresses_drop_optional_prefixes() {
        let a = address("浙江省杭州市西湖区文三路12号翠苑3幢2单元501室").unwrap();
        let b = address("杭州市西湖区文三路12号翠苑3栋2单元501室").unwrap();
        let c = address("西湖区文三路12号翠苑3幢2单元501室").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(address("北京市朝阳区建国路1号").unwrap(), "朝阳区建国路1号");
        assert_eq!(address(" 12  Main St ").unwrap(), "12 main st");
    }
}
