//! Loads a folder of source-system extracts into the store.
//!
//! The folder's `manifest.toml` says what each file holds and how to read it
//! ([`manifest`]). Every data row either lands or goes to a reject report with
//! its file, line, column and reason, so that for each file
//! `read = landed + rejected`. The whole batch is one transaction: a failure
//! mid-run leaves the store as it was. Loading the same extract again changes
//! nothing (rows are upserted by their source keys and unchanged rows are
//! left alone).

pub mod manifest;
mod reader;
mod record;
mod rows;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use panorama_store::ingest::{self as q, FileRecord, RowCounts};
use panorama_store::{Any, BulkInsert, BulkLoader, Store, StoreError, Transaction, Value};
use serde::Serialize;
use tokio::sync::mpsc;

pub use manifest::{Kind, Manifest};
pub use reader::Reject;
pub use record::{land_customer, land_row};

/// What can stop an ingest run (row-level problems are rejects, not errors).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The manifest is missing, unreadable or inconsistent.
    #[error("manifest: {0}")]
    Manifest(String),
    /// A file cannot be read as a whole (missing header column, empty, I/O).
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An I/O error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer task stopped early (its own error is reported instead when known).
    #[error("the store writer stopped")]
    Writer,
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where reject reports go (a sub-folder per batch is made).
    pub rejects_dir: PathBuf,
    /// On PostgreSQL, send the rows by `COPY` through staging tables
    /// instead of multi-row `INSERT`s (measured slower on a local server,
    /// where index upkeep dominates; for a server where round trips cost).
    pub copy: bool,
}

/// Per-file outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// File name relative to the folder.
    pub file: String,
    /// Source system.
    pub system: Option<String>,
    /// What it holds.
    pub kind: &'static str,
    /// Data rows read.
    pub read: i64,
    /// Rows that landed (inserted, updated or already present unchanged).
    pub landed: i64,
    /// Rows rejected.
    pub rejected: i64,
    /// Rows inserted or updated.
    pub changed: i64,
    /// The reject report, when a row was rejected.
    pub reject_file: Option<String>,
    /// Seconds spent on this file.
    pub seconds: f64,
}

/// The run report written as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Batch id in the store.
    pub batch_id: i64,
    /// The extract folder.
    pub folder: String,
    /// The store (password hidden).
    pub store: String,
    /// `committed` or `failed`.
    pub status: String,
    /// The error of a failed run.
    pub error: Option<String>,
    /// Extract date from the manifest.
    pub extract_date: Option<String>,
    /// Files in load order.
    pub files: Vec<FileReport>,
    /// Sum over files.
    pub read: i64,
    /// Sum over files.
    pub landed: i64,
    /// Sum over files.
    pub rejected: i64,
    /// Sum over files.
    pub changed: i64,
    /// Wall time.
    pub seconds: f64,
    /// Rows read per second.
    pub rows_per_second: f64,
}

/// The report as a table: one line per file, then the totals.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Batch {} {} into {}:",
            self.batch_id, self.status, self.store
        )?;
        writeln!(
            f,
            "  {:<28} {:>11} {:>11} {:>9} {:>11}",
            "file", "read", "landed", "rejected", "changed"
        )?;
        for file in &self.files {
            writeln!(
                f,
                "  {:<28} {:>11} {:>11} {:>9} {:>11}",
                file.file, file.read, file.landed, file.rejected, file.changed
            )?;
            if let Some(path) = &file.reject_file {
                writeln!(f, "      rejects: {path}")?;
            }
        }
        write!(
            f,
            "  {} rows read, {} landed, {} rejected, {} changed in {:.1} s ({:.0} rows/s)",
            self.read, self.landed, self.rejected, self.changed, self.seconds, self.rows_per_second
        )
    }
}

/// Progress callback: (file, bytes read, bytes in file).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Loads the extract in `folder` into `store` as one batch.
///
/// On success the batch is committed and its report returned. On failure the
/// transaction is rolled back, the batch is recorded as `failed` with the
/// error, and the error is returned.
pub async fn ingest(
    store: &Store,
    folder: &Path,
    options: &Options,
    progress: Progress<'_>,
) -> Result<Report, IngestError> {
    let manifest = Manifest::load(folder)?;
    let started = Instant::now();
    let folder_text = folder.display().to_string();
    let batch_id = q::begin_batch(store, &folder_text, manifest.extract_date.as_deref()).await?;
    let rejects_dir = options.rejects_dir.join(format!("batch-{batch_id}"));
    let mut report = Report {
        batch_id,
        folder: folder_text,
        store: store.location().to_string(),
        status: "committed".into(),
        error: None,
        extract_date: manifest.extract_date.clone(),
        files: Vec::new(),
        read: 0,
        landed: 0,
        rejected: 0,
        changed: 0,
        seconds: 0.0,
        rows_per_second: 0.0,
    };
    let outcome = run(
        store,
        folder,
        &manifest,
        batch_id,
        &rejects_dir,
        options.copy,
        &mut report,
        progress,
        started,
    )
    .await;
    if outcome.is_ok() {
        if let Err(e) = store.checkpoint().await {
            tracing::warn!(error = %e, "could not checkpoint the store after the batch");
        }
    }
    if let Err(e) = outcome {
        let message = error_chain(&e);
        tracing::error!(batch_id, error = %message, "ingest failed; the batch was rolled back");
        let mut conn = store.acquire().await?;
        report.status = "failed".into();
        report.error = Some(message.clone());
        let json = serde_json::to_string(&report).ok();
        q::finish_batch(
            &mut conn,
            batch_id,
            "failed",
            RowCounts::default(),
            json.as_deref(),
            Some(&message),
        )
        .await?;
        return Err(e);
    }
    Ok(report)
}

/// The error with its causes, one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn run(
    store: &Store,
    folder: &Path,
    manifest: &Manifest,
    batch_id: i64,
    rejects_dir: &Path,
    copy: bool,
    report: &mut Report,
    progress: Progress<'_>,
    started: Instant,
) -> Result<(), IngestError> {
    let mut tx = store.begin().await?;
    for s in &manifest.systems {
        q::upsert_source_system(&mut tx, &s.code, &s.name, s.trust).await?;
    }
    let mut ctx = rows::Context::new(batch_id);
    for def in manifest.files_in_load_order() {
        let file_started = Instant::now();
        let mut reader = reader::ExtractReader::open(folder, def)?;
        let system = def.system.clone().unwrap_or_default();
        ctx.prepare(&mut tx, def.kind, &system).await?;
        let mut sink = Sink::new(store, tx, rows::statement(store.backend(), def.kind), copy);
        let mut rejects = RejectWriter::new(rejects_dir, &def.path);
        let mut pending: Vec<Vec<Value>> = Vec::with_capacity(4_096);
        let mut pending_keys: HashSet<String> = HashSet::new();
        let mut counts = RowCounts::default();
        while let Some(row) = reader.next_row()? {
            counts.read += 1;
            let mut fields = match row {
                Ok(fields) => fields,
                Err(reject) => {
                    rejects.write(&reject)?;
                    continue;
                }
            };
            match ctx.convert(def, &system, &mut fields) {
                Ok(converted) => {
                    if let Some(key) = converted.flush_key {
                        // A key twice in one statement: flush first (PostgreSQL refuses
                        // to upsert one row twice in a statement); the later row wins.
                        if !pending_keys.insert(key.clone()) {
                            sink.send(&mut pending, &mut ctx).await?;
                            pending_keys.clear();
                            pending_keys.insert(key);
                        }
                    }
                    pending.push(converted.values);
                    counts.landed += 1;
                }
                Err((field, reason)) => {
                    let column = field
                        .map(|f| reader.column(f).to_owned())
                        .filter(|c| !c.is_empty());
                    rejects.write(&Reject {
                        line: fields.line,
                        column,
                        reason,
                        raw: fields
                            .values
                            .iter()
                            .map(|v| v.as_deref().unwrap_or(""))
                            .collect::<Vec<_>>()
                            .join(","),
                    })?;
                }
            }
            if pending.len() >= 4_096 {
                sink.send(&mut pending, &mut ctx).await?;
                pending_keys.clear();
                progress(&def.path, reader.bytes_read(), reader.total_bytes());
            }
        }
        sink.send(&mut pending, &mut ctx).await?;
        let (returned, changed) = sink.finish().await?;
        tx = returned;
        progress(&def.path, reader.total_bytes(), reader.total_bytes());
        ctx.finish(&mut tx, def.kind, &system).await?;
        counts.rejected = rejects.count;
        debug_assert_eq!(counts.read, counts.landed + counts.rejected);
        let reject_file = rejects.finish()?;
        let hash = reader.content_hash();
        q::record_file(
            &mut tx,
            batch_id,
            &FileRecord {
                system: &system,
                file: &def.path,
                kind: def.kind.as_str(),
                content_hash: &hash,
                counts,
                changed,
                reject_file: reject_file.as_deref(),
            },
        )
        .await?;
        report.read += counts.read;
        report.landed += counts.landed;
        report.rejected += counts.rejected;
        report.changed += changed;
        report.files.push(FileReport {
            file: def.path.clone(),
            system: def.system.clone(),
            kind: def.kind.as_str(),
            read: counts.read,
            landed: counts.landed,
            rejected: counts.rejected,
            changed,
            reject_file,
            seconds: file_started.elapsed().as_secs_f64(),
        });
        tracing::info!(file = %def.path, read = counts.read, landed = counts.landed, rejected = counts.rejected, "file loaded");
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.rows_per_second = report.read as f64 / report.seconds.max(1e-9);
    let totals = RowCounts {
        read: report.read,
        landed: report.landed,
        rejected: report.rejected,
    };
    q::note_channels(&mut tx, batch_id).await?;
    let json = serde_json::to_string(&report).ok();
    q::finish_batch(
        &mut tx,
        batch_id,
        "committed",
        totals,
        json.as_deref(),
        None,
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

/// Where a file's rows go. Bulk kinds go to a writer task that owns the
/// batch's transaction, so reading and converting the next rows overlaps
/// with the store writing the previous ones; org units (few, and referring
/// to each other) are written in place.
enum Sink {
    /// Rows written by this task.
    Direct {
        tx: Transaction<'static, Any>,
        changed: i64,
    },
    /// Rows handed to a writer task.
    Pipelined {
        sender: mpsc::Sender<Vec<Vec<Value>>>,
        writer: tokio::task::JoinHandle<Result<(Transaction<'static, Any>, i64), IngestError>>,
    },
    /// The writer failed; its error was returned.
    Failed,
}

impl Sink {
    fn new(
        store: &Store,
        tx: Transaction<'static, Any>,
        insert: Option<BulkInsert>,
        copy: bool,
    ) -> Sink {
        let Some(insert) = insert else {
            return Sink::Direct { tx, changed: 0 };
        };
        let (sender, mut receiver) = mpsc::channel::<Vec<Vec<Value>>>(2);
        let store = store.clone();
        let writer = tokio::spawn(async move {
            let mut tx = tx;
            let mut changed = 0i64;
            // PostgreSQL: the rows go by COPY (see `BulkLoader`).
            let mut loader = BulkLoader::new(&store, insert, copy).await?;
            while let Some(rows) = receiver.recv().await {
                changed += loader.execute(&mut tx, &rows).await? as i64;
            }
            Ok((tx, changed))
        });
        Sink::Pipelined { sender, writer }
    }

    /// Hands over the pending rows (leaving `pending` empty).
    async fn send(
        &mut self,
        pending: &mut Vec<Vec<Value>>,
        ctx: &mut rows::Context,
    ) -> Result<(), IngestError> {
        if pending.is_empty() {
            return Ok(());
        }
        match self {
            Sink::Direct { tx, changed } => {
                *changed += ctx.write_org_units(tx, pending).await?;
                pending.clear();
            }
            Sink::Failed => return Err(IngestError::Writer),
            Sink::Pipelined { sender, .. } => {
                let rows = std::mem::replace(pending, Vec::with_capacity(4_096));
                if sender.send(rows).await.is_err() {
                    // The writer stopped on an error: report that error.
                    let failed = std::mem::replace(self, Sink::Failed);
                    return match failed.finish().await {
                        Err(e) => Err(e),
                        Ok(_) => Err(IngestError::Writer),
                    };
                }
            }
        }
        Ok(())
    }

    /// Waits for the writes and returns the transaction and the rows changed.
    async fn finish(self) -> Result<(Transaction<'static, Any>, i64), IngestError> {
        match self {
            Sink::Direct { tx, changed } => Ok((tx, changed)),
            Sink::Failed => Err(IngestError::Writer),
            Sink::Pipelined { sender, writer } => {
                drop(sender);
                writer.await.map_err(|e| IngestError::File {
                    path: PathBuf::from("(writer)"),
                    reason: e.to_string(),
                })?
            }
        }
    }
}

/// Writes a reject report (CSV: line, column, reason, raw) on the first reject.
struct RejectWriter {
    path: PathBuf,
    writer: Option<csv::Writer<std::fs::File>>,
    count: i64,
}

impl RejectWriter {
    fn new(dir: &Path, file: &str) -> Self {
        let name = format!("{}.rejects.csv", file.replace(['/', '\\'], "_"));
        RejectWriter {
            path: dir.join(name),
            writer: None,
            count: 0,
        }
    }

    fn write(&mut self, r: &Reject) -> Result<(), IngestError> {
        let io = |source: std::io::Error, path: &Path| IngestError::Io {
            path: path.to_path_buf(),
            source,
        };
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
            }
            let mut w = csv::Writer::from_path(&self.path).map_err(|e| io(e.into(), &self.path))?;
            w.write_record(["line", "column", "reason", "raw"])
                .map_err(|e| io(e.into(), &self.path))?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            let line = r.line.to_string();
            w.write_record([
                line.as_str(),
                r.column.as_deref().unwrap_or(""),
                &r.reason,
                &r.raw,
            ])
            .map_err(|e| io(e.into(), &self.path))?;
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<Option<String>, IngestError> {
        match self.writer {
            Some(mut w) => {
                w.flush().map_err(|source| IngestError::Io {
                    path: self.path.clone(),
                    source,
                })?;
                Ok(Some(self.path.display().to_string()))
            }
            None => Ok(None),
        }
    }
}

/// Customer keys and account numbers already known, per system, so that
/// accounts, balances and transactions can be tied to what they belong to.
pub(crate) type KeyMap = HashMap<String, i64>;
