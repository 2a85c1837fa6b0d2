//! Turns a file's fields into typed rows for the store, one kind at a time,
//! and says exactly why a row cannot land.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use panorama_domain::{CreditCode, Mobile, Money, ResidentId, parse_date};
use panorama_store::ingest as q;
use panorama_store::{AnyConnection, Backend, BulkInsert, Value};

use crate::manifest::{AmountUnit, FileDef, Kind};
use crate::reader::Fields;
use crate::{IngestError, KeyMap};

/// A row ready for the store, and the key that must not repeat within one statement.
pub struct Converted {
    /// Values in the statement's column order.
    pub values: Vec<Value>,
    /// Upsert key, when the statement upserts.
    pub flush_key: Option<String>,
}

/// Why a row is rejected: the field index (for its column name) and the reason.
pub type RowError = (Option<usize>, String);

/// The insert statement of a kind (`None`: org units, written row by row).
pub fn statement(backend: Backend, kind: Kind) -> Option<BulkInsert> {
    match kind {
        Kind::OrgUnits => None,
        Kind::Products => Some(q::product_insert(backend)),
        Kind::Customers => Some(q::source_record_insert(backend)),
        Kind::Relationships => Some(q::relationship_insert(backend)),
        Kind::Accounts => Some(q::account_insert(backend)),
        Kind::Balances => Some(q::balance_insert(backend)),
        Kind::Transactions => Some(q::txn_insert(backend)),
    }
}

/// Lookups shared across the files of one batch.
pub struct Context {
    batch_id: i64,
    /// Source key → source_record id, for the current system.
    customers: KeyMap,
    /// Account number → account id, for the current system.
    accounts: KeyMap,
    /// Known product codes.
    products: HashSet<String>,
    /// Known org unit codes.
    org_units: HashSet<String>,
    /// Keys seen in the current file (customers, accounts): a repeat is rejected.
    seen: HashMap<String, u64>,
}

const ENUM_PARTY: &[&str] = &["person", "organisation"];
const ENUM_GENDER: &[&str] = &["M", "F"];
const ENUM_STATUS: &[&str] = &["active", "dormant", "closed"];
const ENUM_DIRECTION: &[&str] = &["C", "D"];
const ENUM_CHANNEL: &[&str] = &["counter", "atm", "mobile", "online", "pos", "batch"];
const ENUM_LEVEL: &[&str] = &["head_office", "branch", "sub_branch"];
const ENUM_CLASS: &[&str] = &[
    "deposit",
    "wealth",
    "fund",
    "insurance",
    "loan",
    "card",
    "settlement",
];
const ENUM_RELATION: &[&str] = &[
    "spouse",
    "parent",
    "child",
    "sibling",
    "legal_representative",
    "executive",
    "shareholder",
    "finance_contact",
    "guarantor",
    "payroll_employee",
];

fn one_of(value: &str, allowed: &[&str], field: usize) -> Result<(), RowError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err((
            Some(field),
            format!(
                "'{value}' is not one of {} (map it under [files.values])",
                allowed.join(", ")
            ),
        ))
    }
}

fn required(f: &Fields, i: usize, name: &str) -> Result<String, RowError> {
    f.get(i)
        .map(str::to_owned)
        .ok_or_else(|| (Some(i), format!("{name} is required but empty")))
}

fn date(f: &Fields, i: usize, format: &str) -> Result<Option<String>, RowError> {
    match f.get(i) {
        None => Ok(None),
        // NaiveDate's Display is ISO-8601 and avoids re-parsing a format string.
        Some(v) => parse_date(v, format)
            .map(|d| Some(d.to_string()))
            .map_err(|e| (Some(i), e.to_string())),
    }
}

fn month(f: &Fields, i: usize, format: &str) -> Result<String, RowError> {
    let v = required(f, i, "month")?;
    // chrono needs a day: read the month as its first day.
    NaiveDate::parse_from_str(&format!("{v}-01"), &format!("{format}-%d"))
        .map(|d| d.format("%Y-%m").to_string())
        .map_err(|_| {
            (
                Some(i),
                format!("'{v}' is not a month in the format {format}"),
            )
        })
}

fn datetime(f: &Fields, i: usize, format: &str) -> Result<String, RowError> {
    let v = required(f, i, "timestamp")?;
    NaiveDateTime::parse_from_str(&v, format)
        .map(|t| format!("{}T{}", t.date(), t.time()))
        .map_err(|_| {
            (
                Some(i),
                format!("'{v}' is not a timestamp in the format {format}"),
            )
        })
}

fn amount(f: &Fields, i: usize, unit: AmountUnit) -> Result<Option<i64>, RowError> {
    match f.get(i) {
        None => Ok(None),
        Some(v) => match unit {
            AmountUnit::Yuan => Money::parse_major(v),
            AmountUnit::Fen => Money::parse_minor(v),
        }
        .map(|m| Some(m.minor()))
        .map_err(|e| (Some(i), e.to_string())),
    }
}

fn integer(f: &Fields, i: usize) -> Result<Option<i64>, RowError> {
    match f.get(i) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| (Some(i), format!("'{v}' is not a whole number"))),
    }
}

fn hash(values: &[Option<String>]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for v in values {
        h.update(v.as_deref().unwrap_or("\u{0}").as_bytes());
        h.update(b"\x1f");
    }
    format!("{:016x}", h.digest())
}

fn text(v: Option<&str>) -> Value {
    Value::text_opt(v)
}

impl Context {
    /// A context for batch `batch_id`.
    pub fn new(batch_id: i64) -> Self {
        Context {
            batch_id,
            customers: KeyMap::new(),
            accounts: KeyMap::new(),
            products: HashSet::new(),
            org_units: HashSet::new(),
            seen: HashMap::new(),
        }
    }

    /// A context for one row from outside a file (an event), with only the
    /// lookups that row needs: its customer's key, its account, its product.
    pub(crate) fn for_row(
        batch_id: i64,
        customers: KeyMap,
        accounts: KeyMap,
        products: HashSet<String>,
    ) -> Self {
        Context {
            customers,
            accounts,
            products,
            ..Context::new(batch_id)
        }
    }

    /// Loads what a file of `kind` from `system` needs to look up.
    pub async fn prepare(
        &mut self,
        conn: &mut AnyConnection,
        kind: Kind,
        system: &str,
    ) -> Result<(), IngestError> {
        self.seen.clear();
        match kind {
            Kind::OrgUnits => {
                let codes = panorama_store::org::codes(conn).await?;
                self.org_units = codes.into_iter().collect();
            }
            Kind::Products => {}
            Kind::Customers | Kind::Relationships => {
                self.customers = q::source_record_ids(conn, system).await?
            }
            Kind::Accounts => {
                self.customers = q::source_record_ids(conn, system).await?;
                let codes = panorama_store::products::codes(conn).await?;
                self.products = codes.into_iter().collect();
            }
            Kind::Balances | Kind::Transactions => {
                self.accounts = q::account_ids(conn, system).await?
            }
        }
        Ok(())
    }

    /// After a file: refreshes lookups the next files need.
    pub async fn finish(
        &mut self,
        conn: &mut AnyConnection,
        kind: Kind,
        _system: &str,
    ) -> Result<(), IngestError> {
        if kind == Kind::OrgUnits {
            panorama_store::org::fix_paths(conn).await?;
        }
        Ok(())
    }

    /// Converts one row of `def` (from `system`).
    pub fn convert(
        &mut self,
        def: &FileDef,
        system: &str,
        f: &mut Fields,
    ) -> Result<Converted, RowError> {
        match def.kind {
            Kind::OrgUnits => self.org_unit(f),
            Kind::Products => product(f),
            Kind::Customers => self.customer(def, system, f),
            Kind::Relationships => self.relationship(def, system, f),
            Kind::Accounts => self.account(def, system, f),
            Kind::Balances => self.balance(def, f),
            Kind::Transactions => self.transaction(def, system, f),
        }
    }

    fn first_time(
        &mut self,
        key: &str,
        line: u64,
        field: usize,
        what: &str,
    ) -> Result<(), RowError> {
        if let Some(first) = self.seen.get(key) {
            return Err((
                Some(field),
                format!("duplicate {what} '{key}' in this file (first on line {first})"),
            ));
        }
        self.seen.insert(key.to_owned(), line);
        Ok(())
    }

    fn org_unit(&mut self, f: &Fields) -> Result<Converted, RowError> {
        let code = required(f, 0, "code")?;
        let name = required(f, 1, "name")?;
        let level = required(f, 3, "level")?;
        one_of(&level, ENUM_LEVEL, 3)?;
        let parent = f.get(4).map(str::to_owned);
        if let Some(p) = &parent {
            if !self.org_units.contains(p) {
                return Err((
                    Some(4),
                    format!("parent '{p}' is not an org unit listed before this one"),
                ));
            }
        } else if level != "head_office" {
            return Err((Some(4), "only the head office has no parent".into()));
        }
        self.first_time(&code, f.line, 0, "org unit")?;
        self.org_units.insert(code.clone());
        Ok(Converted {
            values: vec![
                Value::Text(Some(code)),
                Value::Text(Some(name)),
                text(f.get(2)),
                Value::Text(Some(level)),
                Value::Text(parent),
            ],
            flush_key: None,
        })
    }

    /// Org units are few and refer to each other: upsert one by one, parents first.
    pub async fn write_org_units(
        &mut self,
        conn: &mut AnyConnection,
        rows: &[Vec<Value>],
    ) -> Result<i64, IngestError> {
        let mut changed = 0;
        for row in rows {
            let [
                Value::Text(Some(code)),
                Value::Text(Some(name)),
                Value::Text(name_en),
                Value::Text(Some(level)),
                Value::Text(parent),
            ] = row.as_slice()
            else {
                continue;
            };
            let unit = panorama_store::org::UnitRecord {
                code,
                name,
                name_en: name_en.as_deref(),
                level,
                parent: parent.as_deref(),
            };
            let done = panorama_store::org::upsert_unit(conn, &unit).await?;
            changed += done as i64;
        }
        Ok(changed)
    }

    fn customer(
        &mut self,
        def: &FileDef,
        system: &str,
        f: &mut Fields,
    ) -> Result<Converted, RowError> {
        let key = required(f, 0, "source_key")?;
        let party = required(f, 1, "party_type")?;
        one_of(&party, ENUM_PARTY, 1)?;
        let name = required(f, 2, "name")?;
        if let Some(g) = f.get(3) {
            one_of(g, ENUM_GENDER, 3)?;
        }
        let birth = date(f, 4, &def.date_format)?;
        let opened = date(f, 16, &def.date_format)?;
        let id_type = f.get(5);
        let id_no = f.get(6);
        let (id_std, id_status) = match (id_no, id_type) {
            (None, _) => (None, "missing"),
            (Some(_), Some(t)) if t != "resident_id" => (None, "other_type"),
            (Some(raw), _) => match ResidentId::parse(raw) {
                Ok(id) if raw.trim().len() == 15 => (Some(id.to_string()), "upgraded"),
                Ok(id) => (Some(id.to_string()), "valid"),
                Err(_) => (None, "invalid"),
            },
        };
        let (cc_std, cc_status) = match f.get(7) {
            None => (None, "missing"),
            Some(raw) => match CreditCode::parse(raw) {
                Ok(c) if c.checksum_ok() => (Some(c.to_string()), "valid"),
                Ok(c) => (Some(c.to_string()), "checksum_failed"),
                Err(_) => (None, "invalid"),
            },
        };
        let mobile_std = f
            .get(8)
            .and_then(|m| Mobile::parse(m).ok())
            .map(|m| m.to_string());
        self.first_time(&key, f.line, 0, "customer key")?;
        let row_hash = hash(&f.values);
        let id_type = id_type.map(str::to_owned);
        let id_no = id_no.map(str::to_owned);
        let values = vec![
            Value::text(system),
            Value::Text(Some(key.clone())),
            Value::Text(Some(party)),
            Value::Text(Some(name)),
            Value::Text(f.take(3)),
            Value::Text(birth),
            Value::Text(id_type),
            Value::Text(id_no),
            Value::Text(id_std),
            Value::text(id_status),
            Value::Text(f.take(7)),
            Value::Text(cc_std),
            Value::text(cc_status),
            Value::Text(f.take(8)),
            Value::Text(mobile_std),
            Value::Text(f.take(9)),
            Value::Text(f.take(10)),
            Value::Text(f.take(11)),
            Value::Text(f.take(12)),
            Value::Text(f.take(13)),
            Value::Text(f.take(14)),
            Value::Text(f.take(15)),
            Value::Text(opened),
            Value::Text(Some(row_hash)),
            Value::Int(Some(self.batch_id)),
            Value::Int(Some(self.batch_id)),
        ];
        // Later files of this batch (accounts) may refer to this key; the id is
        // looked up again from the store before they load.
        self.customers.entry(key.clone()).or_insert(0);
        Ok(Converted {
            values,
            flush_key: Some(key),
        })
    }

    fn relationship(
        &mut self,
        def: &FileDef,
        system: &str,
        f: &Fields,
    ) -> Result<Converted, RowError> {
        let from = required(f, 0, "from_key")?;
        let to = required(f, 1, "to_key")?;
        for (i, k) in [(0, &from), (1, &to)] {
            if !self.customers.contains_key(k.as_str()) {
                return Err((
                    Some(i),
                    format!("customer key '{k}' is not in {system}'s customer records"),
                ));
            }
        }
        let kind = required(f, 2, "kind")?;
        one_of(&kind, ENUM_RELATION, 2)?;
        let since = date(f, 3, &def.date_format)?;
        Ok(Converted {
            values: vec![
                Value::text(system),
                Value::Text(Some(from)),
                Value::Text(Some(to)),
                Value::Text(Some(kind)),
                Value::Text(since),
                Value::Int(Some(self.batch_id)),
            ],
            flush_key: None,
        })
    }

    fn account(
        &mut self,
        def: &FileDef,
        system: &str,
        f: &mut Fields,
    ) -> Result<Converted, RowError> {
        let no = required(f, 0, "account_no")?;
        let cust = required(f, 1, "customer_key")?;
        let Some(&record_id) = self.customers.get(&cust) else {
            return Err((
                Some(1),
                format!("customer key '{cust}' is not in {system}'s customer records"),
            ));
        };
        let product = required(f, 2, "product_code")?;
        if !self.products.contains(&product) {
            return Err((
                Some(2),
                format!("product '{product}' is not in the product catalogue"),
            ));
        }
        let opened = date(f, 5, &def.date_format)?
            .ok_or_else(|| (Some(5), "opened_on is required but empty".to_owned()))?;
        let matures = date(f, 6, &def.date_format)?;
        let closed = date(f, 7, &def.date_format)?;
        if let Some(c) = &closed {
            if c < &opened {
                return Err((
                    Some(7),
                    format!("closed on {c}, before it was opened on {opened}"),
                ));
            }
        }
        let status = required(f, 8, "status")?;
        one_of(&status, ENUM_STATUS, 8)?;
        let limit = amount(f, 9, def.amount_unit)?;
        let rate = integer(f, 10)?;
        self.first_time(&no, f.line, 0, "account number")?;
        let row_hash = hash(&f.values);
        Ok(Converted {
            values: vec![
                Value::text(system),
                Value::Text(Some(no.clone())),
                Value::Int(Some(record_id)),
                Value::Text(Some(product)),
                text(f.get(3)),
                Value::text(f.get(4).unwrap_or("CNY")),
                Value::Text(Some(opened)),
                Value::Text(matures),
                Value::Text(closed),
                Value::Text(Some(status)),
                Value::Int(limit),
                Value::Int(rate),
                text(f.get(11)),
                Value::Text(Some(row_hash)),
                Value::Int(Some(self.batch_id)),
            ],
            flush_key: Some(no),
        })
    }

    fn balance(&mut self, def: &FileDef, f: &Fields) -> Result<Converted, RowError> {
        let no = required(f, 0, "account_no")?;
        let Some(&account_id) = self.accounts.get(&no) else {
            return Err((
                Some(0),
                format!("account '{no}' is not in this system's accounts"),
            ));
        };
        let month = month(f, 1, &def.month_format)?;
        let avg = amount(f, 2, def.amount_unit)?
            .ok_or_else(|| (Some(2), "avg_balance is required but empty".to_owned()))?;
        let end = amount(f, 3, def.amount_unit)?
            .ok_or_else(|| (Some(3), "end_balance is required but empty".to_owned()))?;
        let key = format!("{account_id}/{month}");
        Ok(Converted {
            values: vec![
                Value::Int(Some(account_id)),
                Value::Text(Some(month)),
                Value::Int(Some(avg)),
                Value::Int(Some(end)),
                Value::Int(Some(self.batch_id)),
            ],
            flush_key: Some(key),
        })
    }

    fn transaction(
        &mut self,
        def: &FileDef,
        system: &str,
        f: &mut Fields,
    ) -> Result<Converted, RowError> {
        let txn_ref = required(f, 0, "txn_ref")?;
        let no = required(f, 1, "account_no")?;
        let Some(&account_id) = self.accounts.get(&no) else {
            return Err((
                Some(1),
                format!("account '{no}' is not in this system's accounts"),
            ));
        };
        let booked = datetime(f, 2, &def.datetime_format)?;
        let amount_minor = amount(f, 3, def.amount_unit)?
            .ok_or_else(|| (Some(3), "amount is required but empty".to_owned()))?;
        if amount_minor < 0 {
            return Err((
                Some(3),
                "amount is negative: give the direction in its own column".into(),
            ));
        }
        let direction = required(f, 4, "direction")?;
        one_of(&direction, ENUM_DIRECTION, 4)?;
        let channel = required(f, 5, "channel")?;
        one_of(&channel, ENUM_CHANNEL, 5)?;
        let balance_after = amount(f, 9, def.amount_unit)?;
        Ok(Converted {
            values: vec![
                Value::text(system),
                Value::Text(Some(txn_ref)),
                Value::Int(Some(account_id)),
                Value::Text(Some(booked)),
                Value::Int(Some(amount_minor)),
                Value::Text(Some(direction)),
                Value::Text(Some(channel)),
                Value::Text(f.take(6)),
                Value::Text(f.take(7)),
                Value::Text(f.take(8)),
                Value::Int(balance_after),
                Value::Int(Some(self.batch_id)),
            ],
            flush_key: None,
        })
    }
}

fn product(f: &Fields) -> Result<Converted, RowError> {
    let code = required(f, 0, "code")?;
    let name = required(f, 1, "name")?;
    let class = required(f, 3, "class")?;
    one_of(&class, ENUM_CLASS, 3)?;
    let system = required(f, 4, "system")?;
    Ok(Converted {
        values: vec![
            Value::Text(Some(code.clone())),
            Value::Text(Some(name.clone())),
            Value::text(f.get(2).unwrap_or(&name)),
            Value::Text(Some(class)),
            Value::Text(Some(system)),
            Value::Int(integer(f, 5)?),
            Value::Int(integer(f, 6)?),
        ],
        flush_key: Some(code),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(values: &[Option<&str>]) -> Fields {
        Fields {
            line: 2,
            values: values.iter().map(|v| v.map(str::to_owned)).collect(),
        }
    }

    #[test]
    fn a_value_outside_its_vocabulary_names_the_field_and_the_fix() {
        assert!(one_of("M", ENUM_GENDER, 3).is_ok());
        let (field, why) = one_of("male", ENUM_GENDER, 3).unwrap_err();
        assert_eq!(field, Some(3));
        assert!(why.contains("'male' is not one of M, F"), "{why}");
        assert!(why.contains("[files.values]"), "{why}");
    }

    #[test]
    fn dates_months_and_timestamps_are_read_in_the_file_s_format() {
        let f = fields(&[Some("06/12/2026"), None, Some("2026-13"), Some("202612")]);
        assert_eq!(
            date(&f, 0, "%d/%m/%Y").unwrap().as_deref(),
            Some("2026-12-06")
        );
        assert_eq!(date(&f, 1, "%d/%m/%Y").unwrap(), None, "empty is no date");
        assert!(date(&f, 0, "%Y-%m-%d").is_err());
        assert_eq!(month(&f, 3, "%Y%m").unwrap(), "2026-12");
        let (field, why) = month(&f, 2, "%Y-%m").unwrap_err();
        assert_eq!(field, Some(2));
        assert!(why.contains("not a month"), "{why}");
        let (_, why) = month(&f, 1, "%Y-%m").unwrap_err();
        assert!(why.contains("month is required"), "{why}");
        let t = fields(&[Some("2026-12-06 09:30:05")]);
        assert_eq!(
            datetime(&t, 0, "%Y-%m-%d %H:%M:%S").unwrap(),
            "2026-12-06T09:30:05"
        );
        assert!(datetime(&t, 0, "%Y%m%d%H%M%S").is_err());
    }

    #[test]
    fn amounts_become_minor_units_in_the_file_s_unit() {
        let f = fields(&[
            Some("1234.5"),
            Some("123450"),
            Some("12.345"),
            Some("x"),
            None,
        ]);
        assert_eq!(amount(&f, 0, AmountUnit::Yuan).unwrap(), Some(123_450));
        assert_eq!(amount(&f, 1, AmountUnit::Fen).unwrap(), Some(123_450));
        assert!(amount(&f, 2, AmountUnit::Yuan).is_err(), "no third decimal");
        assert_eq!(amount(&f, 3, AmountUnit::Yuan).unwrap_err().0, Some(3));
        assert_eq!(amount(&f, 4, AmountUnit::Yuan).unwrap(), None);
        assert_eq!(integer(&fields(&[Some("42")]), 0).unwrap(), Some(42));
        let (_, why) = integer(&fields(&[Some("4.2")]), 0).unwrap_err();
        assert!(why.contains("not a whole number"), "{why}");
    }

    #[test]
    fn the_change_hash_tells_an_empty_field_from_a_moved_value() {
        let a = hash(&[Some("张伟".into()), None]);
        assert_eq!(a, hash(&[Some("张伟".into()), None]));
        assert_ne!(a, hash(&[None, Some("张伟".into())]));
        assert_ne!(a, hash(&[Some("张伟".into()), Some(String::new())]));
        assert_ne!(
            hash(&[Some("ab".into()), Some("c".into())]),
            hash(&[Some("a".into()), Some("bc".into())])
        );
    }
}
