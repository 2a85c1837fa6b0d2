//! One customer record from outside an extract — a source system's event
//! (`customer_record` on the Kafka feed): checked and landed exactly as a
//! row of a customers file would be, so the record is the same whichever
//! way it came.

use std::collections::{BTreeMap, BTreeSet};

use panorama_store::ingest as q;
use panorama_store::{AnyConnection, Backend};

use crate::IngestError;
use crate::manifest::{AmountUnit, Encoding, FileDef, Kind};
use crate::reader::Fields;
use crate::rows::Context;

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
    let fields = Kind::Customers.fields();
    let known: BTreeSet<&str> = fields.iter().map(|(f, _)| *f).collect();
    if let Some(unknown) = data.keys().find(|k| !known.contains(k.as_str())) {
        return Ok(Err(format!(
            "data.{unknown}: not a customer record field ({})",
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
    let mut row = Fields {
        line: 0,
        values: fields
            .iter()
            .map(|(f, _)| {
                data.get(*f)
                    .cloned()
                    .flatten()
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            })
            .collect(),
    };
    let def = FileDef {
        path: "event".into(),
        system: Some(system.to_owned()),
        kind: Kind::Customers,
        encoding: Encoding::Utf8,
        delimiter: ',',
        date_format: "%Y-%m-%d".into(),
        datetime_format: "%Y-%m-%dT%H:%M:%S".into(),
        month_format: "%Y-%m".into(),
        amount_unit: AmountUnit::Yuan,
        columns: BTreeMap::new(),
        constants: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    let key = row.get(0).map(str::to_owned);
    let converted = match Context::new(batch_id).convert(&def, system, &mut row) {
        Ok(c) => c,
        Err((field, reason)) => {
            let name = field.and_then(|i| fields.get(i)).map_or("data", |(f, _)| f);
            return Ok(Err(format!("data.{name}: {reason}")));
        }
    };
    q::source_record_insert(backend)
        .execute(&mut *conn, &[converted.values])
        .await?;
    let key = key.unwrap_or_default();
    match q::source_record_id(&mut *conn, system, &key).await? {
        Some(id) => Ok(Ok(id)),
        None => Ok(Err(format!(
            "data.source_key: record '{key}' of '{system}' did not land"
        ))),
    }
}
