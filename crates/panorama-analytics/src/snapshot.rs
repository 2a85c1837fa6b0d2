//! The analytics snapshot: the operational store's customers, accounts,
//! balances and transactions copied to Parquet for the columnar engine.
//!
//! Customers, accounts, products and households are small and rewritten on
//! every run (resolution changes which customer an account belongs to).
//! Balances and transactions are large and append-mostly, so they are
//! written one Parquet file per ingest batch and only re-exported when the
//! store's row count for that batch differs from the file's (a new batch,
//! or rows an upsert moved to a later batch). A file is written under a
//! temporary name and renamed into place, so a crash leaves the last good
//! snapshot.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    ArrayRef, Date32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampSecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures_util::TryStreamExt;
use panorama_store::snapshot::{self, Table};
use panorama_store::{Row, Store};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{AnalyticsError, Result};

/// Rows per Arrow batch while exporting.
const BATCH_ROWS: usize = 65_536;

/// How a store column becomes an Arrow column.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// 64-bit integer.
    Int,
    /// Text.
    Text,
    /// ISO date text (the first 10 characters of a date or timestamp).
    Date,
    /// `YYYY-MM` text, as the month's first day.
    Month,
    /// ISO timestamp text, to the second.
    Timestamp,
}

/// A table of the snapshot: its name, the store's query and the column
/// kinds (in the query's column order).
struct Export {
    name: &'static str,
    table: Table,
    columns: &'static [(&'static str, Kind)],
}

const CUSTOMER: Export = Export {
    name: "customer",
    table: Table::Customer,
    columns: &[
        ("customer_id", Kind::Int),
        ("customer_no", Kind::Text),
        ("party_type", Kind::Text),
        ("gender", Kind::Text),
        ("birth_date", Kind::Date),
        ("industry", Kind::Text),
        ("home_branch", Kind::Text),
        ("household_id", Kind::Int),
        ("created_on", Kind::Date),
    ],
};

const ACCOUNT: Export = Export {
    name: "account",
    table: Table::Account,
    columns: &[
        ("account_id", Kind::Int),
        ("customer_id", Kind::Int),
        ("product_code", Kind::Text),
        ("class", Kind::Text),
        ("branch_code", Kind::Text),
        ("opened_on", Kind::Date),
        ("matures_on", Kind::Date),
        ("closed_on", Kind::Date),
        ("status", Kind::Text),
        ("rate_bp", Kind::Int),
        ("credit_limit_minor", Kind::Int),
    ],
};

const PRODUCT: Export = Export {
    name: "product",
    table: Table::Product,
    columns: &[
        ("product_code", Kind::Text),
        ("name", Kind::Text),
        ("name_en", Kind::Text),
        ("class", Kind::Text),
        ("term_months", Kind::Int),
        ("rate_bp", Kind::Int),
    ],
};

/// Relationships between active customers (household ties, a company's
/// officers and contacts, guarantors), either way round as declared.
const RELATIONSHIP: Export = Export {
    name: "relationship",
    table: Table::Relationship,
    columns: &[
        ("from_customer_id", Kind::Int),
        ("to_customer_id", Kind::Int),
        ("kind", Kind::Text),
    ],
};

const BALANCE: Export = Export {
    name: "balance",
    table: Table::Balance,
    columns: &[
        ("account_id", Kind::Int),
        ("month", Kind::Month),
        ("avg_balance_minor", Kind::Int),
        ("end_balance_minor", Kind::Int),
    ],
};

const TXN: Export = Export {
    name: "txn",
    table: Table::Txn,
    columns: &[
        ("account_id", Kind::Int),
        ("booked_at", Kind::Timestamp),
        ("booked_on", Kind::Date),
        ("amount_minor", Kind::Int),
        ("direction", Kind::Text),
        ("channel", Kind::Text),
        ("mcc", Kind::Text),
    ],
};

/// What a snapshot run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SnapshotReport {
    /// Rows written per small table.
    pub tables: BTreeMap<String, u64>,
    /// Balance batches (re-)exported, with their row counts.
    pub balance_batches: BTreeMap<i64, u64>,
    /// Transaction batches (re-)exported, with their row counts.
    pub txn_batches: BTreeMap<i64, u64>,
    /// Transaction batches already current.
    pub txn_batches_current: usize,
}

/// Rows per batch, as exported (kept in `manifest.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    balance: BTreeMap<i64, u64>,
    txn: BTreeMap<i64, u64>,
}

/// The snapshot directory inside an analytics directory.
pub fn snapshot_dir(analytics: &Path) -> PathBuf {
    analytics.join("snapshot")
}

/// Brings the Parquet snapshot under `analytics` up to date with `store`.
pub async fn refresh(store: &Store, analytics: &Path) -> Result<SnapshotReport> {
    let dir = snapshot_dir(analytics);
    for sub in ["balance", "txn"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|source| AnalyticsError::Io { path: d, source })?;
    }
    let mut report = SnapshotReport::default();
    for export in [&CUSTOMER, &ACCOUNT, &PRODUCT, &RELATIONSHIP] {
        let path = dir.join(format!("{}.parquet", export.name));
        let n = export_query(store, export, None, &path).await?;
        report.tables.insert(export.name.to_owned(), n);
    }
    let manifest_path = dir.join("manifest.json");
    let mut manifest: Manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Manifest::default(),
    };
    for (export, done) in [(&BALANCE, &mut manifest.balance), (&TXN, &mut manifest.txn)] {
        let counts = batch_counts(store, export.table).await?;
        let sub = dir.join(export.name);
        // Files of batches the store no longer holds rows for.
        for (&batch, _) in done.iter().filter(|(b, _)| !counts.contains_key(b)) {
            let _ = std::fs::remove_file(batch_file(&sub, batch));
        }
        done.retain(|b, _| counts.contains_key(b));
        for (&batch, &count) in &counts {
            if done.get(&batch) == Some(&count) && batch_file(&sub, batch).exists() {
                if export.name == "txn" {
                    report.txn_batches_current += 1;
                }
                continue;
            }
            let n = export_query(store, export, Some(batch), &batch_file(&sub, batch)).await?;
            done.insert(batch, n);
            if export.name == "txn" {
                report.txn_batches.insert(batch, n);
            } else {
                report.balance_batches.insert(batch, n);
            }
        }
    }
    write_atomic(
        &manifest_path,
        &serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
    )?;
    Ok(report)
}

fn batch_file(dir: &Path, batch: i64) -> PathBuf {
    dir.join(format!("batch-{batch:06}.parquet"))
}

async fn batch_counts(store: &Store, table: Table) -> Result<BTreeMap<i64, u64>> {
    let rows = snapshot::batch_counts(store, table).await?;
    Ok(rows
        .into_iter()
        .map(|(b, n)| (b, u64::try_from(n).unwrap_or(0)))
        .collect())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|source| AnalyticsError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| AnalyticsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parquet writer settings shared by every file Panorama writes.
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(256 * 1024))
        .build()
}

/// Writes record batches to a Parquet file atomically (temporary name, then rename).
pub fn write_parquet(path: &Path, schema: SchemaRef, batches: &[RecordBatch]) -> Result<u64> {
    let mut w = ParquetFile::create(path, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// A Parquet file being written under a temporary name.
pub struct ParquetFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetFile {
    /// Starts `path` (written as `path.tmp` until [`ParquetFile::finish`]).
    pub fn create(path: &Path, schema: SchemaRef) -> Result<ParquetFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| AnalyticsError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let tmp = path.with_extension("parquet.tmp");
        let file = File::create(&tmp).map_err(|source| AnalyticsError::Io {
            path: tmp.clone(),
            source,
        })?;
        let writer = ArrowWriter::try_new(file, schema, Some(writer_properties()))?;
        Ok(ParquetFile {
            path: path.to_path_buf(),
            tmp,
            writer,
            rows: 0,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch)?;
        Ok(())
    }

    /// Closes the file and renames it into place; returns the rows written.
    pub fn finish(self) -> Result<u64> {
        self.writer.close()?;
        std::fs::rename(&self.tmp, &self.path).map_err(|source| AnalyticsError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.rows)
    }
}

fn schema_of(export: &Export) -> SchemaRef {
    Arc::new(Schema::new(
        export
            .columns
            .iter()
            .map(|(name, kind)| {
                let t = match kind {
                    Kind::Int => DataType::Int64,
                    Kind::Text => DataType::Utf8,
                    Kind::Date | Kind::Month => DataType::Date32,
                    Kind::Timestamp => DataType::Timestamp(TimeUnit::Second, None),
                };
                Field::new(*name, t, true)
            })
            .collect::<Vec<_>>(),
    ))
}

enum Builder {
    Int(Int64Builder),
    Text(StringBuilder),
    Date(Date32Builder),
    Timestamp(TimestampSecondBuilder),
}

impl Builder {
    fn new(kind: Kind) -> Builder {
        match kind {
            Kind::Int => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            Kind::Text => Builder::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 8)),
            Kind::Date | Kind::Month => Builder::Date(Date32Builder::with_capacity(BATCH_ROWS)),
            Kind::Timestamp => {
                Builder::Timestamp(TimestampSecondBuilder::with_capacity(BATCH_ROWS))
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
        }
    }
}

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

/// Arrow's `Date32` for a civil date.
pub fn date32(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

/// The civil date of an Arrow `Date32`.
pub fn from_date32(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_CE_DAYS)
}

fn parse_date(text: &str) -> Option<i32> {
    let head = text.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok().map(date32)
}

fn parse_month(text: &str) -> Option<i32> {
    let head = text.get(..7)?;
    NaiveDate::parse_from_str(&format!("{head}-01"), "%Y-%m-%d")
        .ok()
        .map(date32)
}

fn parse_timestamp(text: &str) -> Option<i64> {
    let head = text.get(..19)?;
    NaiveDateTime::parse_from_str(head, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

async fn export_query(
    store: &Store,
    export: &Export,
    batch: Option<i64>,
    path: &Path,
) -> Result<u64> {
    let schema = schema_of(export);
    let mut file = ParquetFile::create(path, schema.clone())?;
    let mut builders: Vec<Builder> = export
        .columns
        .iter()
        .map(|(_, k)| Builder::new(k.clone_kind()))
        .collect();
    let mut rows = snapshot::rows(store, export.table, batch);
    let mut pending = 0usize;
    while let Some(row) = rows.try_next().await? {
        for (i, ((name, kind), builder)) in export.columns.iter().zip(&mut builders).enumerate() {
            match (kind, builder) {
                (Kind::Int, Builder::Int(b)) => b.append_option(row.try_get::<Option<i64>, _>(i)?),
                (Kind::Text, Builder::Text(b)) => {
                    b.append_option(row.try_get::<Option<String>, _>(i)?)
                }
                (k @ (Kind::Date | Kind::Month), Builder::Date(b)) => {
                    let text: Option<String> = row.try_get(i)?;
                    let parse = if matches!(k, Kind::Month) {
                        parse_month
                    } else {
                        parse_date
                    };
                    b.append_option(text.as_deref().filter(|t| !t.is_empty()).and_then(|t| {
                        let v = parse(t);
                        if v.is_none() {
                            tracing::warn!(
                                table = export.name,
                                column = name,
                                value = t,
                                "not a date"
                            );
                        }
                        v
                    }));
                }
                (Kind::Timestamp, Builder::Timestamp(b)) => {
                    let text: Option<String> = row.try_get(i)?;
                    b.append_option(text.as_deref().and_then(parse_timestamp));
                }
                _ => unreachable!("builders are made from the kinds"),
            }
        }
        pending += 1;
        if pending == BATCH_ROWS {
            flush(&mut file, &schema, &mut builders)?;
            pending = 0;
        }
    }
    if pending > 0 {
        flush(&mut file, &schema, &mut builders)?;
    }
    file.finish()
}

impl Kind {
    fn clone_kind(&self) -> Kind {
        *self
    }
}

fn flush(file: &mut ParquetFile, schema: &SchemaRef, builders: &mut [Builder]) -> Result<()> {
    let columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    file.write(&batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_map_to_arrow_days() {
        let d = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
        assert_eq!(date32(d), 1);
        assert_eq!(from_date32(1), Some(d));
        assert_eq!(
            parse_date("2026-10-31T12:00:00"),
            Some(date32(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()))
        );
        assert_eq!(parse_month("2026-10"), parse_date("2026-10-01"));
        assert_eq!(parse_timestamp("1970-01-01T00:01:01"), Some(61));
        assert_eq!(parse_date("31/10/2026"), None);
    }
}
