//! Appraisal (绩效考核): the head office keeps a scorecard per role (RMs,
//! tellers, call-centre agents) without code — indicators, weights adding
//! up to 100, each scored against the person's target or a standard, with
//! a floor and a cap; each period's appraisals are computed from the data
//! (sales credits, targets' actuals, campaign conversions, surveys,
//! complaints), ranked among the role's peers across the bank, and
//! confirmed by the branch manager of the people's org units. A confirmed
//! appraisal is not recomputed.

use panorama_domain::money::Money;
use panorama_domain::period::Period;
use panorama_domain::role::Role;
use panorama_domain::scorecard::{self, Basis, Better, Item};
use panorama_store::Store;
use panorama_store::appraisal::{self as q, ItemRow, LineRow, NewAppraisal};

use crate::{OcrmError, Result};

/// The roles with a scorecard.
pub const ROLES: [&str; 3] = ["rm", "teller", "agent"];

/// The unit of an item's values: a measure's, else its target indicator's.
pub async fn unit(store: &Store, item: &ItemRow) -> Result<&'static str> {
    if item.basis == "standard" {
        return q::measure_unit(&item.indicator)
            .ok_or_else(|| OcrmError::Invalid(format!("unknown measure {}", item.indicator)));
    }
    let ind = panorama_store::targets::indicator(store, &item.indicator)
        .await?
        .ok_or_else(|| OcrmError::Invalid(format!("no target indicator {}", item.indicator)))?;
    Ok(if ind.unit == "minor" {
        "minor"
    } else {
        "count"
    })
}

/// A value typed in a unit's own terms (yuan, sales, a 1–5 score, a
/// count) as the unit stores it (fen, basis points of a sale, 100 × the
/// score, the count).
pub fn parse_value(text: &str, unit: &str) -> Result<i64> {
    let bad = || OcrmError::Invalid(format!("{text:?} is not a value in {unit}"));
    let hundredths = || {
        Money::parse_major(text.trim())
            .map(|m| m.minor())
            .map_err(|_| bad())
    };
    match unit {
        "minor" | "score" => hundredths(),
        "sale_bp" => Ok(hundredths()?.saturating_mul(100)),
        _ => text.trim().parse().map_err(|_| bad()),
    }
}

/// A value as the unit's own terms say it (see [`parse_value`]).
pub fn show_value(v: i64, unit: &str) -> String {
    match unit {
        "minor" | "score" => Money::from_minor(v).to_string(),
        "sale_bp" => Money::from_minor(v / 100).to_string(),
        _ => v.to_string(),
    }
}

/// One scorecard item as head office types it:
/// `INDICATOR[/CLASS]=WEIGHT[@STANDARD][,lower][,floor=F][,cap=C]` —
/// without a standard it is scored against the person's target.
pub fn parse_item(text: &str) -> Result<ItemRow> {
    let bad = |why: &str| OcrmError::Invalid(format!("{text:?}: {why}"));
    let (head, rest) = text
        .split_once('=')
        .ok_or_else(|| bad("INDICATOR[/CLASS]=WEIGHT[@STANDARD][,lower][,floor=F][,cap=C]"))?;
    let (indicator, class) = head.trim().split_once('/').unwrap_or((head.trim(), ""));
    let mut parts = rest.split(',');
    let first = parts.next().unwrap_or("");
    let (weight, standard) = first
        .split_once('@')
        .map_or((first, None), |(w, s)| (w, Some(s)));
    let weight: i64 = weight
        .trim()
        .parse()
        .map_err(|_| bad("the weight is a whole number"))?;
    let mut item = ItemRow {
        role: String::new(),
        indicator: indicator.to_owned(),
        product_class: class.trim().to_owned(),
        weight,
        basis: if standard.is_some() {
            "standard"
        } else {
            "target"
        }
        .into(),
        standard: None,
        better: "higher".into(),
        floor_pct: 0,
        cap_pct: 120,
        updated_by: String::new(),
        updated_at: String::new(),
    };
    if let Some(s) = standard {
        let unit = q::measure_unit(indicator).ok_or_else(|| {
            bad(&format!(
                "a standard is set on a measure: {}",
                q::MEASURES
                    .iter()
                    .map(|m| m.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        item.standard = Some(parse_value(s, unit)?);
    }
    for p in parts {
        match p.trim().split_once('=') {
            None if p.trim() == "lower" => item.better = "lower".into(),
            None if p.trim() == "higher" => item.better = "higher".into(),
            Some(("floor", v)) => {
                item.floor_pct = v.trim().parse().map_err(|_| bad("floor=PERCENT"))?
            }
            Some(("cap", v)) => item.cap_pct = v.trim().parse().map_err(|_| bad("cap=PERCENT"))?,
            _ => return Err(bad(&format!("unknown option {p:?}"))),
        }
    }
    Ok(item)
}

/// An item as head office types it — the inverse of [`parse_item`] — its
/// standard shown in `unit`.
pub fn item_text(i: &ItemRow, unit: &str) -> String {
    let mut s = i.indicator.clone();
    if !i.product_class.is_empty() {
        s.push('/');
        s.push_str(&i.product_class);
    }
    s.push_str(&format!("={}", i.weight));
    if let (Some(v), "standard") = (i.standard, i.basis.as_str()) {
        s.push_str(&format!("@{}", show_value(v, unit)));
    }
    if i.better == "lower" {
        s.push_str(",lower");
    }
    if i.floor_pct != 0 {
        s.push_str(&format!(",floor={}", i.floor_pct));
    }
    if i.cap_pct != 120 {
        s.push_str(&format!(",cap={}", i.cap_pct));
    }
    s
}

fn to_domain(i: &ItemRow) -> Item {
    Item {
        weight: i.weight,
        basis: match i.standard {
            Some(s) if i.basis == "standard" => Basis::Standard(s),
            _ => Basis::Target,
        },
        better: if i.better == "lower" {
            Better::Lower
        } else {
            Better::Higher
        },
        floor_pct: i.floor_pct,
        cap_pct: i.cap_pct,
    }
}

/// Replaces `role`'s scorecard by `items` (head office, no code): target
/// items name a target indicator, standard items a measure (sales ones
/// optionally narrowed to a product class); weights add up to 100; audited.
pub async fn set_card(store: &Store, role: &str, items: &[ItemRow], actor: &str) -> Result<()> {
    if !ROLES.contains(&role) {
        return Err(OcrmError::Invalid(format!(
            "scorecards are kept for {}, not {role}",
            ROLES.join(", ")
        )));
    }
    let classes = panorama_store::products::classes(store).await?;
    for i in items {
        unit(store, i).await?;
        let narrowable = matches!(i.indicator.as_str(), "sales_count" | "sales_amount");
        if !i.product_class.is_empty() && (!narrowable || !classes.contains(&i.product_class)) {
            return Err(OcrmError::Invalid(format!(
                "{}/{}: only sales measures are narrowed, to a product class ({})",
                i.indicator,
                i.product_class,
                classes.join(", ")
            )));
        }
    }
    let domain: Vec<Item> = items.iter().map(to_domain).collect();
    scorecard::check(&domain).map_err(|e| OcrmError::Invalid(e.to_string()))?;
    q::set_card(store, role, items, actor).await?;
    Ok(())
}

/// What an appraisal run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Ran {
    /// The period.
    pub period: String,
    /// Appraisals written (confirmed ones are left as they are).
    pub written: usize,
    /// People appraised per role.
    pub by_role: Vec<(String, usize)>,
}

/// Computes `period`'s appraisals of every active RM, teller and agent:
/// the targets' actuals refreshed first, each item scored, the total
/// ranked among the role's peers; confirmed appraisals kept; audited.
pub async fn run(store: &Store, period: &Period, actor: &str) -> Result<Ran> {
    let all = q::items(store).await?;
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let mut ran = Ran {
        period: period.code.clone(),
        ..Ran::default()
    };
    let mut out = Vec::new();
    for role in ROLES {
        let items: Vec<&ItemRow> = all.iter().filter(|i| i.role == role).collect();
        let people = q::people(store, role).await?;
        if items.is_empty() || people.is_empty() {
            continue;
        }
        let domain: Vec<Item> = items.iter().map(|i| to_domain(i)).collect();
        scorecard::check(&domain)
            .map_err(|e| OcrmError::Invalid(format!("the {role} scorecard: {e}")))?;
        // Each item's (actual, reference) per person.
        let mut columns = Vec::with_capacity(items.len());
        let mut units = Vec::with_capacity(items.len());
        for i in &items {
            units.push(unit(store, i).await?);
            let class = (!i.product_class.is_empty()).then_some(i.product_class.as_str());
            let column = if i.basis == "target" {
                panorama_store::targets::refresh_actuals(store, period, &i.indicator).await?;
                let actuals = q::target_actuals(store, &period.code, &i.indicator).await?;
                let targets = q::targets(store, &period.code, &i.indicator).await?;
                people
                    .iter()
                    .map(|p| {
                        (
                            actuals.get(&p.id).copied().unwrap_or(0),
                            targets.get(&p.id).copied(),
                        )
                    })
                    .collect::<Vec<_>>()
            } else {
                let values = q::measure(store, &i.indicator, class, (&from, &to)).await?;
                people
                    .iter()
                    .map(|p| match values.get(&p.id) {
                        Some(v) => (*v, i.standard),
                        // No survey answered: nothing to score satisfaction on.
                        None if i.indicator == "csat" => (0, None),
                        None => (0, i.standard),
                    })
                    .collect()
            };
            columns.push(column);
        }
        let mut scored = Vec::with_capacity(people.len());
        for (k, _) in people.iter().enumerate() {
            let values: Vec<(i64, Option<i64>)> = columns.iter().map(|c| c[k]).collect();
            scored.push((values.clone(), scorecard::score(&domain, &values)));
        }
        let totals: Vec<i64> = scored.iter().map(|(_, (_, t))| *t).collect();
        let ranks = scorecard::ranks(&totals);
        for ((p, (values, (lines, total))), rank) in people.iter().zip(scored).zip(ranks) {
            let lines = items
                .iter()
                .zip(&units)
                .zip(values)
                .zip(lines)
                .map(|(((i, unit), (actual, reference)), s)| LineRow {
                    indicator: i.indicator.clone(),
                    product_class: i.product_class.clone(),
                    basis: i.basis.clone(),
                    better: i.better.clone(),
                    unit: (*unit).to_owned(),
                    actual,
                    reference,
                    ratio_bp: s.ratio_bp,
                    weight: i.weight,
                    points_centi: s.points_centi,
                })
                .collect();
            out.push(NewAppraisal {
                user_id: p.id,
                role: role.to_owned(),
                org_unit_id: p.org_unit_id,
                score_centi: total,
                peer_rank: rank as i64,
                peers: totals.len() as i64,
                lines,
            });
        }
        ran.by_role.push((role.to_owned(), people.len()));
    }
    ran.written = q::write(store, &period.code, &out, actor).await?;
    Ok(ran)
}

/// Confirms `period`'s computed appraisals of the people under branch
/// manager `by`'s org units; audited. Returns how many.
pub async fn confirm(store: &Store, period: &Period, by: &str) -> Result<u64> {
    let m = panorama_store::ocrm::user_by_username(store, by)
        .await?
        .filter(|u| u.active == 1)
        .ok_or_else(|| OcrmError::NotFound(format!("no active user {by}")))?;
    if Role::parse(&m.role) != Some(Role::BranchManager) {
        return Err(OcrmError::Refused(format!(
            "a {} does not confirm appraisals; a branch manager does",
            m.role
        )));
    }
    Ok(q::confirm(store, &period.code, &m.org_path, (m.id, &m.username)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_typed_in_their_units() {
        let i = parse_item("sales_amount/wealth=15@1000000,cap=150").unwrap();
        assert_eq!(
            (
                i.indicator.as_str(),
                i.product_class.as_str(),
                i.weight,
                i.basis.as_str(),
                i.standard,
                i.cap_pct
            ),
            (
                "sales_amount",
                "wealth",
                15,
                "standard",
                Some(100_000_000),
                150
            )
        );
        let i = parse_item("sla_breaches=5@2,lower").unwrap();
        assert_eq!((i.standard, i.better.as_str()), (Some(2), "lower"));
        let i = parse_item("csat=10@4.5").unwrap();
        assert_eq!(i.standard, Some(450));
        let i = parse_item("sales_count=50@2.5").unwrap();
        assert_eq!(i.standard, Some(25_000));
        let i = parse_item("aum_growth=30").unwrap();
        assert_eq!((i.basis.as_str(), i.standard), ("target", None));
        assert!(parse_item("aum_growth").is_err());
        assert!(parse_item("aum_growth=30@5").is_err());
        assert!(parse_item("csat=10@4.5,sideways").is_err());
        assert_eq!(show_value(25_000, "sale_bp"), "2.50");
        assert_eq!(show_value(100_000_000, "minor"), "1000000.00");
    }

    #[test]
    fn an_item_reads_back_as_it_was_typed() {
        for text in [
            "sales_amount/wealth=15@1000000.00,cap=150",
            "sla_breaches=5@2,lower,floor=20",
            "sales_count=50@2.50",
            "csat=10@4.50",
            "aum_growth=30",
        ] {
            let i = parse_item(text).unwrap();
            let unit = if i.basis == "standard" {
                q::measure_unit(&i.indicator).unwrap()
            } else {
                "minor"
            };
            assert_eq!(item_text(&i, unit), text);
            assert_eq!(
                parse_item(&item_text(&i, unit)).unwrap().standard,
                i.standard
            );
        }
    }
}
