//! Companies as a bank's corporate, trade-finance, cash-management and
//! payroll systems hold them. A company's name appears with and without its
//! city and legal form, in brackets or not; branch offices (分公司) are parties
//! of their own with their own credit code; companies in different cities
//! share a trade name; credit codes are missing on some systems and mistyped
//! on others; addresses move and are written several ways.
//!
//! Like a company registry (企业名称登记管理规定: one registration authority
//! registers a trade name once per line of business), no two head offices in
//! one city share a trade name and a trade; a reused trade name is always in
//! another city, and a company has at most one branch office per city (its
//! name is the parent's name and the city). Records may still collide by a
//! mistyped character.

use std::collections::HashSet;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::{Files, Written, zipf};

/// Trade-name characters (two or three make a name).
const TRADE: &[&str] = &[
    "华", "信", "鑫", "达", "恒", "泰", "盛", "源", "宏", "远", "博", "通", "安", "嘉", "和", "祥",
    "瑞", "丰", "荣", "昌", "隆", "兴", "汇", "诚", "德", "永", "金", "利", "天", "海", "星", "辰",
    "正", "元", "新", "中", "联", "创", "智", "锦", "凯", "美", "东", "方", "长", "青", "蓝", "晟",
];

/// What the company does, as it appears in its name, with an industry code.
const TRADES: &[(&str, &str)] = &[
    ("科技", "I65"),
    ("信息技术", "I65"),
    ("贸易", "F51"),
    ("商贸", "F52"),
    ("置业", "K70"),
    ("物流", "G58"),
    ("餐饮管理", "H62"),
    ("建材", "F51"),
    ("服饰", "C18"),
    ("机械制造", "C34"),
    ("电子", "C39"),
    ("生物医药", "C27"),
    ("建筑工程", "E48"),
    ("投资管理", "L72"),
    ("文化传媒", "R86"),
    ("食品", "C14"),
    ("新材料", "C26"),
    ("环保科技", "N77"),
    ("汽车销售", "F52"),
    ("教育咨询", "P83"),
];

/// Cities: (area code, city as written in a name, province).
const CITIES: &[(&str, &str, &str)] = &[
    ("330100", "杭州", "浙江省"),
    ("310000", "上海", "上海市"),
    ("110000", "北京", "北京市"),
    ("320100", "南京", "江苏省"),
    ("320500", "苏州", "江苏省"),
    ("440300", "深圳", "广东省"),
    ("440100", "广州", "广东省"),
    ("510100", "成都", "四川省"),
    ("420100", "武汉", "湖北省"),
    ("370200", "青岛", "山东省"),
    ("350200", "厦门", "福建省"),
    ("330200", "宁波", "浙江省"),
];

const FORMS: &[&str] = &["有限公司", "股份有限公司", "有限责任公司"];

const ROADS: &[&str] = &[
    "科技园路",
    "创业大道",
    "金融街",
    "工业园区",
    "滨江路",
    "世纪大道",
    "高新路",
    "软件园",
    "港湾路",
    "经济开发区",
    "商务大道",
    "物流园",
];

const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

#[derive(Clone)]
struct Company {
    trade_name: String,
    trade: usize,
    city: usize,
    form: usize,
    credit_code: String,
    address: (usize, u32, u32),
    old_address: Option<(usize, u32, u32)>,
    /// For a branch office: the city it is in (its name carries it).
    branch_of: Option<usize>,
}

fn credit_code(rng: &mut Pcg64Mcg, city: usize) -> String {
    let body: String = (0..8)
        .map(|_| CHARSET[rng.random_range(0..CHARSET.len())] as char)
        .collect();
    let first16 = format!("91{}{body}", CITIES[city].0);
    panorama_domain::CreditCode::with_checksums(&first16)
        .map(|c| c.to_string())
        .unwrap_or(first16)
}

fn company(rng: &mut Pcg64Mcg, trade_name: String, city: usize) -> Company {
    Company {
        trade_name,
        trade: zipf(rng, TRADES.len(), 0.7),
        city,
        form: *super::weighted(rng, &[(0usize, 70), (1, 20), (2, 10)]),
        credit_code: credit_code(rng, city),
        address: (
            rng.random_range(0..ROADS.len()),
            rng.random_range(1..900),
            rng.random_range(1..30),
        ),
        old_address: rng.random_bool(0.25).then(|| {
            (
                rng.random_range(0..ROADS.len()),
                rng.random_range(1..900),
                rng.random_range(1..30),
            )
        }),
        branch_of: None,
    }
}

fn trade_name(rng: &mut Pcg64Mcg) -> String {
    let n = if rng.random_bool(0.8) { 2 } else { 3 };
    (0..n).map(|_| TRADE[zipf(rng, TRADE.len(), 0.6)]).collect()
}

fn write_name(rng: &mut Pcg64Mcg, c: &Company, parent_city: Option<usize>) -> String {
    let city = CITIES[parent_city.unwrap_or(c.city)].1;
    let core = format!("{}{}", c.trade_name, TRADES[c.trade].0);
    let form = FORMS[c.form];
    let mut name = match rng.random_range(0..10) {
        0..=4 => format!("{city}{core}{form}"),
        5 => format!("{city}市{core}{form}"),
        6 => format!("{core}({city}){form}"),
        7 => format!("{core}{form}"),
        8 => format!("{city}{core}"),
        _ => {
            // Another legal form than registered (a clerk's shortening).
            format!("{city}{core}{}", FORMS[(c.form + 1) % FORMS.len()])
        }
    };
    if let Some(branch_city) = c.branch_of {
        let suffix = match rng.random_range(0..3) {
            0 => format!("{}分公司", CITIES[branch_city].1),
            1 => format!("{}市分公司", CITIES[branch_city].1),
            _ => format!("（{}）分公司", CITIES[branch_city].1),
        };
        if name.ends_with('司') {
            name.push_str(&suffix);
        } else {
            name = format!("{name}{form}{suffix}");
        }
    }
    if rng.random_bool(0.04) {
        // One trade-name character mistyped for another.
        let mut chars: Vec<char> = name.chars().collect();
        let first = chars.iter().position(|ch| c.trade_name.contains(*ch));
        if let Some(i) = first {
            chars[i] = TRADE[rng.random_range(0..TRADE.len())]
                .chars()
                .next()
                .unwrap_or(chars[i]);
        }
        name = chars.into_iter().collect();
    }
    name
}

fn write_code(rng: &mut Pcg64Mcg, c: &Company, system: usize) -> String {
    let missing = if system == 3 { 0.5 } else { 0.12 };
    if rng.random_bool(missing) {
        return String::new();
    }
    let mut code = c.credit_code.clone();
    if rng.random_bool(0.05) {
        let mut b = code.into_bytes();
        let pos = rng.random_range(8..17);
        b[pos] = CHARSET[rng.random_range(0..CHARSET.len())];
        code = String::from_utf8(b).unwrap_or_default();
    } else if rng.random_bool(0.05) {
        code = code.to_lowercase();
    }
    code
}

fn write_address(rng: &mut Pcg64Mcg, c: &Company) -> String {
    if rng.random_bool(0.08) {
        return String::new();
    }
    let (road, number, floor) = match c.old_address {
        Some(old) if rng.random_bool(0.4) => old,
        _ => c.address,
    };
    let (_, city, province) = CITIES[c.city];
    let prefix = if rng.random_bool(0.5) && province != format!("{city}市") {
        format!("{province}{city}市")
    } else {
        format!("{city}市")
    };
    let floor = if rng.random_bool(0.5) {
        format!("{floor}楼")
    } else {
        format!("{floor}层")
    };
    format!("{prefix}{}{number}号{floor}", ROADS[road])
}

/// Writes records of about `parties` companies (branch offices included) into `dir`.
pub fn generate(dir: &Path, parties: usize, seed: u64) -> std::io::Result<Written> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0xC0DE);
    let mut files = Files::create(
        dir,
        &["record_id", "name", "credit_code", "address", "industry"],
    )?;
    let mut made = 0;
    let mut record = 0usize;
    // (trade name, trade, city) of every head office registered so far.
    let mut registered: HashSet<(String, usize, usize)> = HashSet::new();
    while made < parties {
        let name = trade_name(&mut rng);
        let city = rng.random_range(0..CITIES.len());
        let head = company(&mut rng, name.clone(), city);
        if !registered.insert((name.clone(), head.trade, city)) {
            // The registry refuses a name it already holds: draw another.
            continue;
        }
        let mut group = vec![(head.clone(), None)];
        // A trade name reused by an unrelated company in another city.
        if rng.random_bool(0.08) {
            let other_city = (city + 1) % CITIES.len();
            let mut other = company(&mut rng, name.clone(), other_city);
            other.trade = head.trade;
            if registered.insert((name.clone(), head.trade, other_city)) {
                group.push((other, None));
            }
        }
        // Branch offices: distinct parties registered where they trade.
        let branches = *super::weighted(&mut rng, &[(0usize, 85), (1, 10), (2, 5)]);
        let mut branch_cities: Vec<usize> = Vec::new();
        for _ in 0..branches {
            let where_ = rng.random_range(0..CITIES.len());
            if branch_cities.contains(&where_) {
                // A second branch in one city would carry the first one's
                // name, which the registry refuses.
                continue;
            }
            branch_cities.push(where_);
            let mut b = head.clone();
            b.branch_of = Some(where_);
            b.city = where_;
            b.credit_code = credit_code(&mut rng, where_);
            b.address = (
                rng.random_range(0..ROADS.len()),
                rng.random_range(1..900),
                1,
            );
            b.old_address = None;
            group.push((b, Some(city)));
        }
        for (c, parent_city) in &group {
            made += 1;
            files.entity();
            let label = format!("c{made}");
            let n_records = 1 + zipf(&mut rng, 5, 1.2);
            for _ in 0..n_records {
                record += 1;
                let system = rng.random_range(0..4);
                let id = format!("k{record:07}");
                let name = write_name(&mut rng, c, *parent_city);
                let code = write_code(&mut rng, c, system);
                let address = write_address(&mut rng, c);
                let industry = if rng.random_bool(0.1) {
                    ""
                } else {
                    TRADES[c.trade].1
                };
                files.row(&label, &[&id, &name, &code, &address, industry])?;
            }
        }
    }
    files.finish()
}
