//! Streams one extract file: decompresses it when it is gzip (as banks send
//! large extracts, `.csv.gz`), decodes text (UTF-8 or GBK), maps columns and
//! code values to Panorama's fields, and reports each row as fields or as a
//! rejection with its line, column and reason.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use flate2::bufread::MultiGzDecoder;
use std::path::{Path, PathBuf};

use crate::IngestError;
use crate::manifest::{Encoding, FileDef};

/// Hashes the bytes that pass through, so a file is read once.
struct Hashing<R> {
    inner: R,
    hasher: xxhash_rust::xxh3::Xxh3,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The bytes of a file as stored (hashed and counted), decompressed when
/// the file is gzip: recognised by its magic bytes, whatever its name.
enum Source {
    Plain(Box<Hashing<BufReader<File>>>),
    Gzip(Box<MultiGzDecoder<BufReader<Hashing<BufReader<File>>>>>),
}

impl Source {
    fn new(file: File) -> std::io::Result<Source> {
        let mut hashing = Hashing {
            inner: BufReader::with_capacity(1 << 20, file),
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            bytes: 0,
        };
        // Peek without consuming: the magic bytes stay in the buffer.
        let gzip = hashing.inner.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        Ok(if gzip {
            Source::Gzip(Box::new(MultiGzDecoder::new(BufReader::with_capacity(
                1 << 16,
                hashing,
            ))))
        } else {
            Source::Plain(Box::new(hashing))
        })
    }

    /// The file's bytes as stored (compressed, for a gzip file).
    fn stored(&self) -> &Hashing<BufReader<File>> {
        match self {
            Source::Plain(h) => h,
            Source::Gzip(d) => d.get_ref().get_ref(),
        }
    }

    fn is_gzip(&self) -> bool {
        matches!(self, Source::Gzip(_))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Plain(h) => h.read(buf),
            Source::Gzip(d) => d.read(buf),
        }
    }
}

/// A row that could not be read into fields.
#[derive(Debug, Clone)]
pub struct Reject {
    /// 1-based line number in the file.
    pub line: u64,
    /// The source column at fault, if one.
    pub column: Option<String>,
    /// Why.
    pub reason: String,
    /// The raw row, as far as it could be decoded.
    pub raw: String,
}

/// One data row: the kind's fields in order, `None` when empty or absent.
pub struct Fields {
    /// 1-based line number.
    pub line: u64,
    /// Values aligned with `Kind::fields()`.
    pub values: Vec<Option<String>>,
}

impl Fields {
    /// The value of field `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.values.get(i).and_then(|v| v.as_deref())
    }

    /// Moves the value of field `i` out (for building the stored row without a copy).
    pub fn take(&mut self, i: usize) -> Option<String> {
        self.values.get_mut(i).and_then(Option::take)
    }
}

/// Reads one file of the manifest.
pub struct ExtractReader<'a> {
    def: &'a FileDef,
    path: PathBuf,
    reader: csv::Reader<Source>,
    header_len: usize,
    /// For each field of the kind: the source column index, or None.
    sources: Vec<Option<usize>>,
    /// For each field: its constant value.
    constants: Vec<Option<String>>,
    /// For each field: its code table.
    value_maps: Vec<Option<&'a std::collections::BTreeMap<String, String>>>,
    /// Source column name per field (for reject messages).
    column_names: Vec<String>,
    record: csv::ByteRecord,
    total_bytes: u64,
}

/// Decodes a field; borrows when the bytes are already UTF-8.
fn decode(bytes: &[u8], encoding: Encoding) -> Result<Cow<'_, str>, String> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(bytes).map(Cow::Borrowed).map_err(|_| {
            "not valid UTF-8 (if the file is GBK-encoded, set encoding = \"gbk\" for it in the manifest)".to_owned()
        }),
        Encoding::Gbk => {
            let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors { Err("not valid GBK/GB18030 text".to_owned()) } else { Ok(text) }
        }
    }
}

impl<'a> ExtractReader<'a> {
    /// Opens the file and checks its header against the manifest.
    pub fn open(folder: &Path, def: &'a FileDef) -> Result<Self, IngestError> {
        let path = folder.join(&def.path);
        let file = File::open(&path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let source = Source::new(file).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        let gzip = source.is_gzip();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(def.delimiter as u8)
            .flexible(true)
            .has_headers(true)
            .from_reader(source);
        let header = reader
            .byte_headers()
            .map_err(|e| IngestError::File {
                path: path.clone(),
                reason: if gzip {
                    format!("cannot read the header of the gzip file: {e}")
                } else {
                    format!("cannot read the header: {e}")
                },
            })?
            .clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(IngestError::File {
                path,
                reason: "the file is empty (no header line)".into(),
            });
        }
        let mut names = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            let raw = if i == 0 {
                raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
            } else {
                raw
            };
            let name = decode(raw, def.encoding).map_err(|reason| IngestError::File {
                path: path.clone(),
                reason: format!("header: {reason}"),
            })?;
            names.push(name.trim().to_owned());
        }
        let index: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let fields = def.kind.fields();
        let mut sources = vec![None; fields.len()];
        let mut column_names = vec![String::new(); fields.len()];
        for (column, target) in &def.columns {
            let Some(&i) = index.get(column.as_str()) else {
                return Err(IngestError::File {
                    path,
                    reason: format!(
                        "column {column} named in the manifest is not in the header ({})",
                        names.join(",")
                    ),
                });
            };
            if let Some(f) = fields.iter().position(|(n, _)| n == target) {
                sources[f] = Some(i);
                column_names[f] = column.clone();
            }
        }
        let constants = fields
            .iter()
            .map(|(n, _)| def.constants.get(*n).cloned())
            .collect();
        let value_maps = fields.iter().map(|(n, _)| def.values.get(*n)).collect();
        Ok(ExtractReader {
            def,
            path,
            reader,
            header_len: names.len(),
            sources,
            constants,
            value_maps,
            column_names,
            record: csv::ByteRecord::new(),
            total_bytes,
        })
    }

    /// The file's size in bytes (as stored: compressed, for a gzip file).
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes of the file read so far (as stored).
    pub fn bytes_read(&self) -> u64 {
        self.reader.get_ref().stored().bytes
    }

    /// The hash of the whole file as stored (valid once every row was read).
    pub fn content_hash(&self) -> String {
        format!("{:032x}", self.reader.get_ref().stored().hasher.digest128())
    }

    /// The source column mapped to field `i`.
    pub fn column(&self, i: usize) -> &str {
        &self.column_names[i]
    }

    /// The next row, `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<Result<Fields, Reject>>, IngestError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(io) = e.kind() {
                    let reason = if self.reader.get_ref().is_gzip() {
                        format!(
                            "the gzip file cannot be read to its end (truncated or corrupt?): {io}"
                        )
                    } else {
                        e.to_string()
                    };
                    return Err(IngestError::File {
                        path: self.path.clone(),
                        reason,
                    });
                }
                let line = e.position().map_or(0, csv::Position::line);
                return Ok(Some(Err(Reject {
                    line,
                    column: None,
                    reason: format!("unreadable CSV: {e}"),
                    raw: String::new(),
                })));
            }
        }
        let line = self.record.position().map_or(0, csv::Position::line);
        let raw = || String::from_utf8_lossy(self.record.as_slice()).into_owned();
        if self.record.len() != self.header_len {
            let found = self.record.len();
            return Ok(Some(Err(Reject {
                line,
                column: None,
                reason: format!(
                    "expected {} fields as in the header, found {found} (a truncated or malformed line?)",
                    self.header_len
                ),
                raw: raw_fields(&self.record),
            })));
        }
        let mut values = Vec::with_capacity(self.sources.len());
        for f in 0..self.sources.len() {
            let value = match self.sources[f] {
                Some(i) => match decode(&self.record[i], self.def.encoding) {
                    Ok(text) => {
                        let t = text.trim();
                        (!t.is_empty()).then(|| t.to_owned())
                    }
                    Err(reason) => {
                        return Ok(Some(Err(Reject {
                            line,
                            column: Some(self.column_names[f].clone()),
                            reason,
                            raw: raw(),
                        })));
                    }
                },
                None => self.constants[f].clone(),
            };
            let value = match (value, self.value_maps[f]) {
                (Some(v), Some(map)) => match map.get(&v) {
                    Some(mapped) => Some(mapped.clone()),
                    None => {
                        let field = self.def.kind.fields()[f].0;
                        let known: Vec<&str> = map.keys().map(String::as_str).collect();
                        return Ok(Some(Err(Reject {
                            line,
                            column: Some(self.column_names[f].clone()),
                            reason: format!(
                                "'{v}' is not a known code for {field} (known: {})",
                                known.join(", ")
                            ),
                            raw: raw_fields(&self.record),
                        })));
                    }
                },
                (v, _) => v,
            };
            values.push(value);
        }
        Ok(Some(Ok(Fields { line, values })))
    }
}

fn raw_fields(record: &csv::ByteRecord) -> String {
    record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}
