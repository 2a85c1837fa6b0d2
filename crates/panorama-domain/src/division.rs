//! China's administrative divisions (province → city → district/county),
//! from the National Bureau of Statistics codes shipped in `data/`.
//!
//! Used for resident-id area codes, address standardisation and realistic
//! synthetic addresses. Hong Kong, Macao and Taiwan are not included.

use std::collections::HashMap;
use std::sync::OnceLock;

const PROVINCES: &str = include_str!("../data/provinces.csv");
const CITIES: &str = include_str!("../data/cities.csv");
const AREAS: &str = include_str!("../data/areas.csv");

/// One district or county with its city and province names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Division {
    /// Six-digit area code.
    pub code: String,
    /// Province name, e.g. 北京市, 浙江省.
    pub province: String,
    /// City name; for the four municipalities this equals the province name.
    pub city: String,
    /// District or county name, e.g. 朝阳区.
    pub district: String,
}

impl Division {
    /// The full address prefix: 浙江省杭州市西湖区, or 北京市朝阳区 for a municipality.
    pub fn full_prefix(&self) -> String {
        if self.province == self.city {
            format!("{}{}", self.province, self.district)
        } else {
            format!("{}{}{}", self.province, self.city, self.district)
        }
    }
}

fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|f| f.trim_matches('"')).collect())
}

fn table() -> &'static [Division] {
    static TABLE: OnceLock<Vec<Division>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let provinces: HashMap<&str, &str> = rows(PROVINCES).map(|r| (r[0], r[1])).collect();
        let cities: HashMap<&str, &str> = rows(CITIES).map(|r| (r[0], r[1])).collect();
        rows(AREAS)
            .filter(|r| r.len() >= 4)
            .map(|r| {
                let province = provinces.get(r[3]).copied().unwrap_or_default().to_owned();
                let city = match cities.get(r[2]).copied() {
                    Some("市辖区" | "县") | None => province.clone(),
                    Some(name) => name.to_owned(),
                };
                Division {
                    code: r[0].to_owned(),
                    province,
                    city,
                    district: r[1].to_owned(),
                }
            })
            .filter(|d| !d.district.is_empty() && d.district != "市辖区")
            .collect()
    })
}

/// Every known district/county, in code order.
pub fn all() -> &'static [Division] {
    table()
}

/// Looks up a six-digit area code. Ids issued under older codes stay valid,
/// so `None` is a data-quality warning, not a rejection.
pub fn lookup_area(code: &str) -> Option<&'static Division> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        table()
            .iter()
            .enumerate()
            .map(|(i, d)| (d.code.as_str(), i))
            .collect()
    });
    index.get(code).map(|&i| &table()[i])
}

/// The district name of an area code, if known.
pub fn area_name(code: &str) -> Option<&'static str> {
    lookup_area(code).map(|d| d.district.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_beijing_chaoyang_and_hangzhou_xihu() {
        let d = lookup_area("110105").unwrap();
        assert_eq!(d.full_prefix(), "北京市朝阳区");
        let d = lookup_area("330106").unwrap();
        assert_eq!(d.full_prefix(), "浙江省杭州市西湖区");
        assert!(lookup_area("999999").is_none());
        assert!(all().len() > 2_800);
    }
}
