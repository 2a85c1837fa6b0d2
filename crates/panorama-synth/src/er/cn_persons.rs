//! Chinese persons as a bank's systems hold them: one person in one to six
//! records across deposits, cards, loans, wealth and e-banking, each system
//! with its own habits — and people who are easily confused: many share the
//! commonest names (张伟, 王芳), families share an address and sometimes a
//! mobile, twins share a birth date.
//!
//! Noise: traditional-character forms, same-pinyin substitutions, names in
//! pinyin in either order (card embossing, e-banking sign-ups), legacy
//! 15-digit ids, lower-case `x`, full-width digits, one mistyped id digit,
//! ids missing on card and e-banking records, `+86` mobiles, mobiles and
//! addresses changed over the years, dates in three layouts.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::{Files, Written, zipf};

/// Surnames with pinyin and a relative frequency (per ten thousand).
const SURNAMES: &[(&str, &str, u32)] = &[
    ("王", "wang", 719),
    ("李", "li", 714),
    ("张", "zhang", 686),
    ("刘", "liu", 538),
    ("陈", "chen", 453),
    ("杨", "yang", 308),
    ("黄", "huang", 225),
    ("赵", "zhao", 219),
    ("吴", "wu", 205),
    ("周", "zhou", 189),
    ("徐", "xu", 167),
    ("孙", "sun", 154),
    ("马", "ma", 146),
    ("朱", "zhu", 139),
    ("胡", "hu", 131),
    ("郭", "guo", 115),
    ("何", "he", 110),
    ("林", "lin", 101),
    ("高", "gao", 100),
    ("罗", "luo", 96),
    ("郑", "zheng", 86),
    ("梁", "liang", 81),
    ("谢", "xie", 69),
    ("宋", "song", 66),
    ("唐", "tang", 63),
    ("许", "xu", 60),
    ("邓", "deng", 56),
    ("冯", "feng", 55),
    ("韩", "han", 54),
    ("曹", "cao", 51),
    ("曾", "zeng", 50),
    ("彭", "peng", 49),
    ("萧", "xiao", 20),
    ("蔡", "cai", 44),
    ("潘", "pan", 41),
    ("田", "tian", 41),
    ("董", "dong", 40),
    ("袁", "yuan", 39),
    ("于", "yu", 38),
    ("余", "yu", 36),
    ("叶", "ye", 35),
    ("蒋", "jiang", 34),
    ("杜", "du", 34),
    ("苏", "su", 32),
    ("魏", "wei", 31),
    ("程", "cheng", 30),
    ("吕", "lv", 29),
    ("丁", "ding", 28),
    ("沈", "shen", 27),
    ("任", "ren", 26),
    ("姚", "yao", 25),
    ("卢", "lu", 24),
    ("傅", "fu", 23),
    ("钟", "zhong", 22),
    ("姜", "jiang", 21),
    ("崔", "cui", 20),
    ("谭", "tan", 19),
    ("廖", "liao", 18),
    ("范", "fan", 17),
    ("汪", "wang", 16),
    ("陆", "lu", 16),
    ("金", "jin", 15),
    ("石", "shi", 15),
    ("戴", "dai", 14),
    ("贾", "jia", 14),
    ("韦", "wei", 13),
    ("夏", "xia", 13),
    ("邱", "qiu", 12),
    ("方", "fang", 12),
    ("侯", "hou", 11),
    ("邹", "zou", 11),
    ("熊", "xiong", 10),
    ("孟", "meng", 10),
    ("秦", "qin", 10),
    ("白", "bai", 9),
    ("江", "jiang", 9),
    ("欧阳", "ouyang", 3),
    ("司马", "sima", 1),
];

/// Given-name characters with pinyin: (character, pinyin, used for men, for women).
const GIVEN: &[(&str, &str, bool, bool)] = &[
    ("伟", "wei", true, false),
    ("芳", "fang", false, true),
    ("娜", "na", false, true),
    ("秀", "xiu", false, true),
    ("英", "ying", false, true),
    ("敏", "min", true, true),
    ("静", "jing", false, true),
    ("丽", "li", false, true),
    ("强", "qiang", true, false),
    ("磊", "lei", true, false),
    ("军", "jun", true, false),
    ("洋", "yang", true, true),
    ("勇", "yong", true, false),
    ("艳", "yan", false, true),
    ("杰", "jie", true, false),
    ("娟", "juan", false, true),
    ("涛", "tao", true, false),
    ("明", "ming", true, true),
    ("超", "chao", true, false),
    ("霞", "xia", false, true),
    ("平", "ping", true, true),
    ("刚", "gang", true, false),
    ("桂", "gui", false, true),
    ("华", "hua", true, true),
    ("建", "jian", true, false),
    ("国", "guo", true, false),
    ("文", "wen", true, true),
    ("辉", "hui", true, false),
    ("玲", "ling", false, true),
    ("鹏", "peng", true, false),
    ("宇", "yu", true, false),
    ("浩", "hao", true, false),
    ("婷", "ting", false, true),
    ("雪", "xue", false, true),
    ("慧", "hui", false, true),
    ("志", "zhi", true, false),
    ("红", "hong", false, true),
    ("梅", "mei", false, true),
    ("林", "lin", true, true),
    ("东", "dong", true, false),
    ("海", "hai", true, false),
    ("晓", "xiao", true, true),
    ("春", "chun", true, true),
    ("燕", "yan", false, true),
    ("龙", "long", true, false),
    ("飞", "fei", true, false),
    ("凤", "feng", false, true),
    ("兰", "lan", false, true),
    ("云", "yun", true, true),
    ("成", "cheng", true, false),
    ("德", "de", true, false),
    ("佳", "jia", true, true),
    ("欣", "xin", false, true),
    ("子", "zi", true, true),
    ("涵", "han", false, true),
    ("思", "si", true, true),
    ("俊", "jun", true, false),
    ("庆", "qing", true, false),
    ("凯", "kai", true, false),
    ("琳", "lin", false, true),
    ("颖", "ying", false, true),
    ("博", "bo", true, false),
    ("瑞", "rui", true, true),
    ("雅", "ya", false, true),
    ("泽", "ze", true, false),
    ("轩", "xuan", true, false),
    ("萱", "xuan", false, true),
    ("宁", "ning", true, true),
    ("丰", "feng", true, false),
    ("斌", "bin", true, false),
];

/// The commonest full names: a bank holds hundreds of each.
const COMMON: &[(&str, &str, &str, &str, bool)] = &[
    ("张", "伟", "zhang", "wei", true),
    ("王", "伟", "wang", "wei", true),
    ("王", "芳", "wang", "fang", false),
    ("李", "伟", "li", "wei", true),
    ("李", "娜", "li", "na", false),
    ("张", "敏", "zhang", "min", false),
    ("李", "静", "li", "jing", false),
    ("王", "静", "wang", "jing", false),
    ("刘", "伟", "liu", "wei", true),
    ("王", "秀英", "wang", "xiuying", false),
    ("张", "丽", "zhang", "li", false),
    ("李", "强", "li", "qiang", true),
    ("王", "磊", "wang", "lei", true),
    ("刘", "洋", "liu", "yang", true),
    ("张", "勇", "zhang", "yong", true),
    ("陈", "静", "chen", "jing", false),
];

/// Simplified → traditional forms (as Hong Kong, Taiwan and some legacy systems keep them).
const TRADITIONAL: &[(char, char)] = &[
    ('张', '張'),
    ('刘', '劉'),
    ('陈', '陳'),
    ('杨', '楊'),
    ('黄', '黃'),
    ('赵', '趙'),
    ('吴', '吳'),
    ('孙', '孫'),
    ('马', '馬'),
    ('郭', '郭'),
    ('罗', '羅'),
    ('郑', '鄭'),
    ('梁', '梁'),
    ('谢', '謝'),
    ('许', '許'),
    ('邓', '鄧'),
    ('冯', '馮'),
    ('韩', '韓'),
    ('蔡', '蔡'),
    ('叶', '葉'),
    ('蒋', '蔣'),
    ('苏', '蘇'),
    ('钟', '鍾'),
    ('卢', '盧'),
    ('邹', '鄒'),
    ('伟', '偉'),
    ('丽', '麗'),
    ('强', '強'),
    ('军', '軍'),
    ('艳', '艷'),
    ('杰', '傑'),
    ('涛', '濤'),
    ('刚', '剛'),
    ('华', '華'),
    ('国', '國'),
    ('辉', '輝'),
    ('鹏', '鵬'),
    ('红', '紅'),
    ('东', '東'),
    ('晓', '曉'),
    ('龙', '龍'),
    ('飞', '飛'),
    ('凤', '鳳'),
    ('兰', '蘭'),
    ('云', '雲'),
    ('庆', '慶'),
    ('凯', '凱'),
    ('颖', '穎'),
    ('宁', '寧'),
    ('丰', '豐'),
    ('静', '靜'),
];

/// Characters a clerk types for another with the same toneless pinyin.
const SAME_PINYIN: &[(char, char)] = &[
    ('伟', '玮'),
    ('芳', '方'),
    ('娜', '纳'),
    ('敏', '民'),
    ('静', '晶'),
    ('丽', '莉'),
    ('强', '蔷'),
    ('磊', '蕾'),
    ('军', '君'),
    ('勇', '永'),
    ('艳', '燕'),
    ('杰', '洁'),
    ('娟', '鹃'),
    ('涛', '滔'),
    ('明', '鸣'),
    ('霞', '侠'),
    ('华', '桦'),
    ('建', '健'),
    ('辉', '晖'),
    ('玲', '铃'),
    ('鹏', '朋'),
    ('宇', '雨'),
    ('婷', '亭'),
    ('慧', '惠'),
    ('志', '智'),
    ('红', '虹'),
    ('林', '琳'),
    ('海', '亥'),
    ('飞', '菲'),
    ('云', '芸'),
    ('佳', '嘉'),
    ('欣', '馨'),
    ('俊', '骏'),
    ('瑞', '睿'),
    ('张', '章'),
    ('王', '汪'),
    ('李', '黎'),
    ('刘', '柳'),
    ('陈', '程'),
    ('徐', '许'),
];

/// Districts: (area code, province, city, district).
const DISTRICTS: &[(&str, &str, &str, &str)] = &[
    ("110105", "北京市", "", "朝阳区"),
    ("110108", "北京市", "", "海淀区"),
    ("110101", "北京市", "", "东城区"),
    ("310104", "上海市", "", "徐汇区"),
    ("310115", "上海市", "", "浦东新区"),
    ("310101", "上海市", "", "黄浦区"),
    ("330106", "浙江省", "杭州市", "西湖区"),
    ("330102", "浙江省", "杭州市", "上城区"),
    ("330110", "浙江省", "杭州市", "余杭区"),
    ("320102", "江苏省", "南京市", "玄武区"),
    ("320506", "江苏省", "苏州市", "吴中区"),
    ("440305", "广东省", "深圳市", "南山区"),
    ("440106", "广东省", "广州市", "天河区"),
    ("510107", "四川省", "成都市", "武侯区"),
    ("420106", "湖北省", "武汉市", "武昌区"),
    ("610113", "陕西省", "西安市", "雁塔区"),
    ("370202", "山东省", "青岛市", "市南区"),
    ("350203", "福建省", "厦门市", "思明区"),
    ("430104", "湖南省", "长沙市", "岳麓区"),
    ("410105", "河南省", "郑州市", "金水区"),
];

const ROADS: &[&str] = &[
    "文三路",
    "天目山路",
    "学院路",
    "中山路",
    "解放路",
    "人民路",
    "建设路",
    "南京路",
    "淮海路",
    "长江路",
    "黄河路",
    "和平路",
    "新华路",
    "胜利路",
    "光明路",
    "朝阳路",
    "滨江大道",
    "世纪大道",
    "科技路",
    "花园路",
    "青年路",
    "复兴路",
    "延安路",
    "东风路",
    "五一路",
    "迎宾路",
    "育才路",
    "幸福路",
    "春晖路",
    "望江路",
];

const ESTATES: &[&str] = &[
    "阳光花园",
    "翠苑",
    "金色家园",
    "绿城桂花园",
    "万科城",
    "世纪新城",
    "东方名苑",
    "锦绣江南",
    "湖畔花园",
    "碧水湾",
    "华府",
    "丽景苑",
    "和谐家园",
    "紫金庭",
    "新天地",
    "枫林苑",
    "香樟园",
    "星河湾",
    "御景园",
    "清华园",
];

const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158",
    "159", "166", "177", "180", "181", "186", "187", "188", "189", "198", "199",
];

#[derive(Clone)]
struct Person {
    surname: &'static str,
    given: String,
    surname_py: &'static str,
    given_py: String,
    male: bool,
    birth: (i32, u32, u32),
    district: usize,
    seq: u32,
    mobile: String,
    old_mobile: Option<String>,
    address: Address,
    old_address: Option<Address>,
    email: String,
}

#[derive(Clone)]
struct Address {
    district: usize,
    road: usize,
    number: u32,
    estate: usize,
    building: u32,
    unit: u32,
    room: u32,
}

fn address(rng: &mut Pcg64Mcg, district: usize) -> Address {
    Address {
        district,
        road: rng.random_range(0..ROADS.len()),
        number: rng.random_range(1..400),
        estate: rng.random_range(0..ESTATES.len()),
        building: rng.random_range(1..30),
        unit: rng.random_range(1..5),
        room: rng.random_range(1..30) * 100 + rng.random_range(1..5),
    }
}

fn mobile(rng: &mut Pcg64Mcg) -> String {
    format!(
        "{}{:08}",
        MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())],
        rng.random_range(0..100_000_000u32)
    )
}

fn person(rng: &mut Pcg64Mcg, surname_ix: Option<usize>, district: usize) -> Person {
    let male = rng.random_bool(0.5);
    let (surname, surname_py, given, given_py) = if rng.random_bool(0.05) {
        let c = COMMON[rng.random_range(0..COMMON.len())];
        (c.0, c.2, c.1.to_owned(), c.3.to_owned())
    } else {
        let s = SURNAMES[surname_ix.unwrap_or_else(|| {
            let weights: Vec<(usize, u32)> =
                SURNAMES.iter().enumerate().map(|(i, s)| (i, s.2)).collect();
            *super::weighted(rng, &weights)
        })];
        let fits: Vec<&(&str, &str, bool, bool)> = GIVEN
            .iter()
            .filter(|g| if male { g.2 } else { g.3 })
            .collect();
        let chars = if rng.random_bool(0.6) { 2 } else { 1 };
        let (mut given, mut py) = (String::new(), String::new());
        for _ in 0..chars {
            let g = fits[zipf(rng, fits.len(), 0.8)];
            given.push_str(g.0);
            py.push_str(g.1);
        }
        (s.0, s.1, given, py)
    };
    let birth = (
        rng.random_range(1940..2006),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
    );
    let home = address(rng, district);
    Person {
        surname,
        given,
        surname_py,
        given_py: given_py.clone(),
        male,
        birth,
        district,
        seq: rng.random_range(0..500) * 2 + u32::from(male),
        mobile: mobile(rng),
        old_mobile: rng.random_bool(0.25).then(|| mobile(rng)),
        old_address: rng.random_bool(0.3).then(|| {
            let district = rng.random_range(0..DISTRICTS.len());
            address(rng, district)
        }),
        address: home,
        email: format!(
            "{}{}{}@{}",
            surname_py,
            given_py,
            rng.random_range(1..999),
            ["163.com", "qq.com", "126.com", "sina.com", "gmail.com"][rng.random_range(0..5)]
        ),
    }
}

fn id18(p: &Person) -> String {
    let (y, m, d) = p.birth;
    let body = format!("{}{y:04}{m:02}{d:02}{:03}", DISTRICTS[p.district].0, p.seq);
    let check = panorama_domain::resident_id::check_char(body.as_bytes());
    format!("{body}{check}")
}

fn id15(p: &Person) -> String {
    let (y, m, d) = p.birth;
    format!(
        "{}{:02}{m:02}{d:02}{:03}",
        DISTRICTS[p.district].0,
        y % 100,
        p.seq
    )
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

fn write_address(rng: &mut Pcg64Mcg, a: &Address) -> String {
    let (_, province, city, district) = DISTRICTS[a.district];
    let prefix = match rng.random_range(0..3) {
        0 => format!("{province}{city}{district}"),
        1 => format!("{city}{district}"),
        _ => district.to_owned(),
    };
    let building = match rng.random_range(0..3) {
        0 => format!("{}幢", a.building),
        1 => format!("{}号楼", a.building),
        _ => format!("{}栋", a.building),
    };
    let room = if rng.random_bool(0.5) {
        format!("{}单元{}室", a.unit, a.room)
    } else {
        format!("{}-{}", a.unit, a.room)
    };
    format!(
        "{prefix}{}{}号{}{building}{room}",
        ROADS[a.road], a.number, ESTATES[a.estate]
    )
}

/// The name as one system holds it.
fn write_name(rng: &mut Pcg64Mcg, p: &Person, system: usize) -> String {
    let pinyin_share = match system {
        1 => 0.35, // card: embossed in capitals
        4 => 0.12, // e-banking: typed by the customer
        _ => 0.02,
    };
    if rng.random_bool(pinyin_share) {
        let cap = |s: &str| {
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        };
        return match rng.random_range(0..4) {
            0 => format!(
                "{} {}",
                p.surname_py.to_uppercase(),
                p.given_py.to_uppercase()
            ),
            1 => format!("{} {}", cap(&p.given_py), cap(p.surname_py)),
            2 => format!("{} {}", cap(p.surname_py), cap(&p.given_py)),
            _ => format!("{}{}", p.surname_py, p.given_py),
        };
    }
    let mut name = format!("{}{}", p.surname, p.given);
    let roll: f64 = rng.random();
    if roll < 0.06 {
        name = name
            .chars()
            .map(|c| {
                TRADITIONAL
                    .iter()
                    .find(|(s, _)| *s == c)
                    .map_or(c, |(_, t)| *t)
            })
            .collect();
    } else if roll < 0.12 {
        let chars: Vec<char> = name.chars().collect();
        let options: Vec<usize> = (0..chars.len())
            .filter(|&i| SAME_PINYIN.iter().any(|(a, _)| *a == chars[i]))
            .collect();
        if !options.is_empty() {
            let i = options[rng.random_range(0..options.len())];
            let mut out = chars.clone();
            out[i] = SAME_PINYIN
                .iter()
                .find(|(a, _)| *a == chars[i])
                .map_or(chars[i], |(_, b)| *b);
            name = out.into_iter().collect();
        }
    } else if roll < 0.15 {
        name = format!("{} {}", p.surname, p.given);
    }
    name
}

fn write_id(rng: &mut Pcg64Mcg, p: &Person, system: usize) -> String {
    let missing = match system {
        1 => 0.55,
        4 => 0.6,
        _ => 0.03,
    };
    if rng.random_bool(missing) {
        return String::new();
    }
    let mut id = if p.birth.0 < 1990 && system != 4 && rng.random_bool(0.2) {
        id15(p)
    } else {
        id18(p)
    };
    if id.ends_with('X') && rng.random_bool(0.5) {
        id = id.replace('X', "x");
    }
    let roll: f64 = rng.random();
    if roll < 0.03 {
        // One mistyped digit (the check digit no longer fits).
        let mut b: Vec<u8> = id.into_bytes();
        let pos = rng.random_range(0..14);
        b[pos] = b'0' + (b[pos] - b'0' + rng.random_range(1..10)) % 10;
        id = String::from_utf8(b).unwrap_or_default();
    } else if roll < 0.06 {
        id = full_width(&id);
    }
    id
}

fn write_mobile(rng: &mut Pcg64Mcg, p: &Person, system: usize, family: &str) -> String {
    if rng.random_bool(0.08) {
        return String::new();
    }
    let number = if rng.random_bool(0.03) && !family.is_empty() {
        family.to_owned() // a relative's number left on the record
    } else if let Some(old) = &p.old_mobile {
        if system != 4 && rng.random_bool(0.5) {
            old.clone()
        } else {
            p.mobile.clone()
        }
    } else {
        p.mobile.clone()
    };
    let plus86 = if system == 1 { 0.5 } else { 0.1 };
    if rng.random_bool(plus86) {
        format!("+86{number}")
    } else if rng.random_bool(0.05) {
        format!("{} {} {}", &number[..3], &number[3..7], &number[7..])
    } else if rng.random_bool(0.03) {
        full_width(&number)
    } else {
        number
    }
}

/// The columns of a person file (`schemas/bank-persons.toml` reads them).
pub const HEADER: [&str; 8] = [
    "record_id",
    "name",
    "id_no",
    "mobile",
    "birth_date",
    "gender",
    "address",
    "email",
];

/// Writes records of about `people` persons into `dir`.
pub fn generate(dir: &Path, people: usize, seed: u64) -> std::io::Result<Written> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0xC41A);
    let mut files = Files::create(dir, &HEADER)?;
    let mut made = 0;
    let mut record = 0usize;
    while made < people {
        // A household: one to four people at one address, children with
        // their father's surname, sometimes twins.
        let district = rng.random_range(0..DISTRICTS.len());
        let head = person(&mut rng, None, district);
        let mut household = vec![head.clone()];
        let size = *super::weighted(&mut rng, &[(1usize, 45), (2, 25), (3, 20), (4, 10)]);
        let surname_ix = SURNAMES.iter().position(|s| s.0 == head.surname);
        for k in 1..size {
            let mut member = person(&mut rng, if k >= 2 { surname_ix } else { None }, district);
            if k >= 2 {
                member.surname = head.surname;
                member.surname_py = head.surname_py;
                if k == 3 && rng.random_bool(0.3) {
                    // Twins: born the same day, consecutive sequence numbers.
                    member.birth = household[2].birth;
                    member.seq = household[2].seq + 2;
                }
            }
            member.address = head.address.clone();
            household.push(member);
        }
        let family_mobile = head.mobile.clone();
        for p in &household {
            made += 1;
            files.entity();
            let label = format!("p{made}");
            let n_records = 1 + zipf(&mut rng, 6, 1.3);
            for _ in 0..n_records {
                let system = rng.random_range(0..5);
                record += 1;
                let id = format!("r{record:07}");
                let name = write_name(&mut rng, p, system);
                let id_no = write_id(&mut rng, p, system);
                let mobile = write_mobile(&mut rng, p, system, &family_mobile);
                let (y, m, d) = p.birth;
                let birth = if rng.random_bool(0.06) {
                    String::new()
                } else {
                    match system {
                        1 => format!("{y:04}{m:02}{d:02}"),
                        2 => format!("{y:04}/{m:02}/{d:02}"),
                        _ => format!("{y:04}-{m:02}-{d:02}"),
                    }
                };
                let gender = if rng.random_bool(0.05) {
                    ""
                } else if p.male {
                    "M"
                } else {
                    "F"
                };
                let home = match &p.old_address {
                    Some(old) if rng.random_bool(0.4) => old.clone(),
                    _ => p.address.clone(),
                };
                let address = if rng.random_bool(0.1) {
                    String::new()
                } else {
                    write_address(&mut rng, &home)
                };
                let email = if matches!(system, 3 | 4) && rng.random_bool(0.7) {
                    p.email.clone()
                } else {
                    String::new()
                };
                files.row(
                    &label,
                    &[
                        &id, &name, &id_no, &mobile, &birth, gender, &address, &email,
                    ],
                )?;
            }
        }
    }
    files.finish()
}
