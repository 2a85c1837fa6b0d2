//! One row from outside an extract — a source system's event on the Kafka
//! feed (`customer_record`, `account_opened`, `balance_snapshot`): checked
//! and landed exactly as a row of a customers, accounts or balances file
//! would be, so the row is the same whichever way it came.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use panorama_store::ingest as q;
use panorama_store::{AnyConnection, Backend};

use crate::manifest::{AmountUnit, Encoding, FileDef, Kind};
use crate::reader::Fields;
use crate::rows::Context;
use crate::{IngestError, KeyMap};

/// Lands one customer record of `system` in ingest batch `batch_id`: a new
/// source key inserts, a changed record updates in place, an unchanged one
/// is left alone. `data` maps the customers file's field names (source_key,
/// party_type, name, gender, birth_date as `YYYY-MM-DD`, id_type, id_no,
/// credit_code, mobile, …) to values. Returns the record's id, or the field
/// and reason it was refused.
pub async fn land_customer(
    conn: &mut AnyConnection,
    backend: Backend,
    system: &str,
    batch_id: i64,
    data: &BTreeMap<String, Option<String>>,
) -> Result<Result<i64, String>, IngestError> {
    land_row(conn, backend, Kind::Customers, system, batch_id, data).await
}

/// Lands one row of `kind` (customers, accounts or balances; amounts in
/// fen) of `system` in batch `batch_id`, upserted as its file's rows are.
/// Returns the id of the customer record or the account (for a balance,
/// the account's), or the field and reason it was refused.
pub async fn land_row(
    conn: &mut AnyConnection,
    backend: Backend,
    kind: Kind,
    system: &str,
    batch_id: i64,
    data: &BTreeMap<String, Option<String>>,
) -> Result<Result<i64, String>, IngestError> {
    let fields = kind.fields();
    let known: BTreeSet<&str> = fields.iter().map(|(f, _)| *f).collect();
    if let Some(unknown) = data.keys().find(|k| !known.contains(k.as_str())) {
        return Ok(Err(format!(
            "data.{unknown}: not a field of {} ({})",
            kind.as_str(),
            fields
                .iter()
                .map(|(f, _)| *f)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !q::source_system_known(&mut *conn, system).await? {
        return Ok(Err(format!(
            "source: '{system}' is not a source system of this bank (load one of its extracts first)"
        )));
    }
    let value = |f: &str| {
        data.get(f)
            .cloned()
            .flatten()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut row = Fields {
        line: 0,
        values: fields.iter().map(|(f, _)| value(f)).collect(),
    };
    // Only the lookups this row needs.
    let (mut customers, mut accounts, mut products) =
        (KeyMap::new(), KeyMap::new(), HashSet::new());
    match kind {
        Kind::Accounts => {
            if let Some(key) = value("customer_key")
                && let Some(id) = q::source_record_id(&mut *conn, system, &key).await?
            {
                customers.insert(key, id);
            }
            if let Some(code) = value("product_code")
                && q::product_known(&mut *conn, &code).await?
            {
                products.insert(code);
            }
        }
        Kind::Balances => {
            if let Some(no) = value("account_no")
                && let Some(id) = q::account_id(&mut *conn, system, &no).await?
            {
                accounts.insert(no, id);
            }
        }
        _ => {}
    }
    let def = FileDef {
        path: "event".into(),
        system: Some(system.to_owned()),
        kind,
        encoding: Encoding::Utf8,
        delimiter: ',',
        date_format: "%Y-%m-%d".into(),
        datetime_format: "%Y-%m-%dT%H:%M:%S".into(),
        month_format: "%Y-%m".into(),
        amount_unit: AmountUnit::Fen,
        columns: BTreeMap::new(),
        constants: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    let key = row.get(0).map(str::to_owned).unwrap_or_default();
    let converted = match Context::for_row(batch_id, customers, accounts.clone(), products)
        .convert(&def, system, &mut row)
    {
        Ok(c) => c,
        Err((field, reason)) => {
            let name = field.and_then(|i| fields.get(i)).map_or("data", |(f, _)| f);
            return Ok(Err(format!("data.{name}: {reason}")));
        }
    };
    let (statement, id) = match kind {
        Kind::Customers => (q::source_record_insert(backend), None),
        Kind::Accounts => (q::account_insert(backend), None),
        Kind::Balances => (q::balance_insert(backend), accounts.get(&key).copied()),
        other => {
            return Ok(Err(format!(
                "{} rows do not arrive as events",
                other.as_str()
            )));
        }
    };
    statement.execute(&mut *conn, &[converted.values]).await?;
    let id = match (kind, id) {
        (_, Some(id)) => Some(id),
        (Kind::Customers, None) => q::source_record_id(&mut *conn, system, &key).await?,
        _ => q::account_id(&mut *conn, system, &key).await?,
    };
    Ok(id.ok_or_else(|| format!("data: row '{key}' of '{system}' did not land")))
}
