//! Targets: which indicators may be defined (a code of lower-case letters,
//! digits and `_`, a measure the store can compute, the unit that measure
//! counts in), which target an org unit sets itself (its own, not one its
//! parent's split gave it), and what a split must be (only the target's
//! children, no negative share, the shares adding up to the target; or in
//! proportion to the children's books, apportioned to the fen).

use panorama_domain::period::{Period, apportion};
use panorama_store::Store;
use panorama_store::targets::{self, Base, Child, ChildRow, Indicator, SOURCES, TargetRow};

use crate::{OcrmError, Result};

/// The unit a measure counts in: fen for money, else a count.
pub fn unit_of(source: &str) -> &'static str {
    if matches!(source, "aum_growth" | "opportunities_won") {
        "minor"
    } else {
        "count"
    }
}

/// Whether `i` may be defined: its code and its measure.
pub fn check_indicator(i: &Indicator) -> Result<()> {
    let valid_code = !i.code.is_empty()
        && i.code.len() <= 32
        && i.code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid_code {
        return Err(OcrmError::Invalid(
            "an indicator code is lower-case letters, digits and _".into(),
        ));
    }
    if !SOURCES.contains(&i.source.as_str()) {
        return Err(OcrmError::Invalid(format!(
            "unknown source {:?}; one of {}",
            i.source,
            SOURCES.join(", ")
        )));
    }
    Ok(())
}

/// Adds indicator `i` (e.g. `fund_sales`: product sales of class `fund`),
/// in the unit its measure counts in.
pub async fn add_indicator(store: &Store, i: &Indicator, actor: &str) -> Result<()> {
    check_indicator(i)?;
    targets::insert_indicator(store, i, unit_of(&i.source), actor).await?;
    Ok(())
}

/// Sets the target of org unit `org_code` for the period and indicator: one
/// it sets itself, not one its parent's split gave it (that one changes with
/// the parent's split). Audited by the store; returns the target's id.
pub async fn set(
    store: &Store,
    period: &Period,
    indicator_code: &str,
    org_code: &str,
    value: i64,
    actor: &str,
) -> Result<i64> {
    if targets::indicator(store, indicator_code).await?.is_none() {
        return Err(OcrmError::Invalid(format!(
            "no indicator {indicator_code:?}"
        )));
    }
    if value < 0 {
        return Err(OcrmError::Invalid("a target is not negative".into()));
    }
    let org = targets::org_by_code(store, org_code)
        .await?
        .ok_or_else(|| OcrmError::Invalid(format!("no org unit {org_code:?}")))?;
    targets::write_set(store, period, indicator_code, (org.0, &org.1), value, actor)
        .await?
        .ok_or_else(|| {
            OcrmError::Conflict(format!(
                "the target of {org_code} comes from its parent's split; change it there"
            ))
        })
}

/// Whether `shares` split target `t` among its children `kids`: only
/// children, none negative, adding up to the target.
pub fn check_split(t: &TargetRow, kids: &[ChildRow], shares: &[(Child, i64)]) -> Result<()> {
    for (c, v) in shares {
        if !kids.iter().any(|k| k.child == *c) {
            return Err(OcrmError::Invalid(format!(
                "{c:?} is not a child of target {}",
                t.id
            )));
        }
        if *v < 0 {
            return Err(OcrmError::Invalid("a share is not negative".into()));
        }
    }
    // In i128: shares near i64::MAX must not wrap round to the target.
    let sum: i128 = shares.iter().map(|s| i128::from(s.1)).sum();
    if sum != i128::from(t.value) {
        return Err(OcrmError::Invalid(format!(
            "the shares add up to {sum}, not to the target {}",
            t.value
        )));
    }
    Ok(())
}

/// Splits target `t` by hand: a value per child. Child org units get their
/// own targets, which they split in turn; RMs get allocations. The previous
/// split is replaced; audited.
pub async fn split(
    store: &Store,
    t: &TargetRow,
    shares: &[(Child, i64)],
    actor: &str,
) -> Result<()> {
    let kids = targets::children(store, t).await?;
    check_split(t, &kids, shares)?;
    targets::write_split(store, t, shares, "manual", actor).await?;
    Ok(())
}

/// Splits target `t` among all its children in proportion to their books
/// (customers or AUM), apportioned so the shares add up to the target
/// exactly; returns the shares.
pub async fn split_in_proportion(
    store: &Store,
    t: &TargetRow,
    base: Base,
    actor: &str,
) -> Result<Vec<(Child, i64)>> {
    let kids = targets::children(store, t).await?;
    let weights = targets::base_of(store, base, &kids).await?;
    let shares: Vec<(Child, i64)> = kids
        .iter()
        .map(|k| k.child)
        .zip(apportion(t.value, &weights))
        .collect();
    check_split(t, &kids, &shares)?;
    targets::write_split(store, t, &shares, "proportional", actor).await?;
    Ok(shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(value: i64) -> TargetRow {
        TargetRow {
            id: 7,
            period: "2026-11".into(),
            indicator: "aum_growth".into(),
            org_unit_id: 1,
            value,
            parent_id: None,
            method: "set".into(),
            set_by: "exec".into(),
        }
    }

    fn kid(child: Child) -> ChildRow {
        ChildRow {
            child,
            code: "x".into(),
            name: "x".into(),
            value: None,
        }
    }

    fn indicator(code: &str, source: &str) -> Indicator {
        Indicator {
            code: code.into(),
            name: "基金销售".into(),
            name_en: "Fund sales".into(),
            source: source.into(),
            product_class: Some("fund".into()),
            unit: String::new(),
        }
    }

    #[test]
    fn a_split_names_only_children_and_adds_up() {
        let t = target(100);
        let kids = [kid(Child::Org(2)), kid(Child::Org(3))];
        assert!(check_split(&t, &kids, &[(Child::Org(2), 60), (Child::Org(3), 40)]).is_ok());
        let short = check_split(&t, &kids, &[(Child::Org(2), 60), (Child::Org(3), 39)]);
        assert!(matches!(short, Err(OcrmError::Invalid(m)) if m.contains("add up to 99")));
        let stranger = check_split(&t, &kids, &[(Child::Org(9), 100)]);
        assert!(matches!(stranger, Err(OcrmError::Invalid(m)) if m.contains("not a child")));
        let negative = check_split(&t, &kids, &[(Child::Org(2), 110), (Child::Org(3), -10)]);
        assert!(matches!(negative, Err(OcrmError::Invalid(m)) if m.contains("not negative")));
        // An RM is not an org unit of the same id.
        assert!(check_split(&t, &kids, &[(Child::Rm(2), 100)]).is_err());
    }

    #[test]
    fn shares_near_the_largest_value_do_not_wrap_round() {
        let t = target(1);
        let kids = [kid(Child::Rm(1)), kid(Child::Rm(2))];
        // i64::MAX + i64::MAX + 3 wraps to 1 in i64 arithmetic.
        let shares = [(Child::Rm(1), i64::MAX), (Child::Rm(2), i64::MAX)];
        assert!(check_split(&t, &kids, &shares).is_err());
    }

    #[test]
    fn an_indicator_has_a_plain_code_and_a_known_measure() {
        assert!(check_indicator(&indicator("fund_sales", "product_sales")).is_ok());
        for bad in ["", "Fund", "fund-sales", "基金", &"x".repeat(33)] {
            assert!(
                check_indicator(&indicator(bad, "product_sales")).is_err(),
                "{bad:?}"
            );
        }
        assert!(check_indicator(&indicator("x", "revenue")).is_err());
        assert_eq!(unit_of("aum_growth"), "minor");
        assert_eq!(unit_of("opportunities_won"), "minor");
        assert_eq!(unit_of("new_customers"), "count");
    }
}
