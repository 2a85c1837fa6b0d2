//! Reading match inputs (CSV) into a [`Dataset`], and writing the results.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::engine::{Dataset, Outcome};
use crate::{EcifError, Schema};

fn input_err(path: &Path, reason: impl Into<String>) -> EcifError {
    EcifError::Input {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads the inputs; record ids must be unique across all of them.
pub fn read_inputs(schema: &Schema, paths: &[PathBuf]) -> Result<Dataset, EcifError> {
    let mut ds = Dataset::new(schema.fields.len());
    let mut seen: HashMap<String, (usize, u64)> = HashMap::new();
    for (source, path) in paths.iter().enumerate() {
        let file = fs::File::open(path).map_err(|source| EcifError::Io {
            path: path.clone(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(schema.delimiter as u8)
            .trim(if schema.trim {
                csv::Trim::All
            } else {
                csv::Trim::None
            })
            .from_reader(std::io::BufReader::new(file));
        let header = reader
            .headers()
            .map_err(|e| input_err(path, format!("cannot read the header: {e}")))?
            .clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(input_err(path, "the file is empty (no header line)"));
        }
        let index = |col: &str| {
            header
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == col)
        };
        let id_col = index(&schema.id_column).ok_or_else(|| {
            input_err(
                path,
                format!("the id column {} is not in the header", schema.id_column),
            )
        })?;
        let cols: Vec<usize> = schema
            .fields
            .iter()
            .map(|f| {
                index(&f.column).ok_or_else(|| {
                    input_err(
                        path,
                        format!(
                            "column {} named in the schema is not in the header",
                            f.column
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(input_err(path, format!("unreadable row: {e}"))),
            }
            let line = record.position().map_or(0, csv::Position::line);
            let id = record.get(id_col).unwrap_or("").to_owned();
            if id.is_empty() {
                return Err(input_err(
                    path,
                    format!("line {line}: the record id is empty"),
                ));
            }
            if let Some((other, first)) = seen.insert(id.clone(), (source, line)) {
                return Err(input_err(
                    path,
                    format!(
                        "line {line}: record id {id} already used (input {}, line {first})",
                        other + 1
                    ),
                ));
            }
            let raw: Vec<Option<&str>> = cols
                .iter()
                .map(|&c| record.get(c).filter(|v| !v.is_empty()))
                .collect();
            ds.push(schema, id, source as u16, &raw);
        }
    }
    if ds.is_empty() {
        return Err(EcifError::Schema("the inputs hold no records".into()));
    }
    Ok(ds)
}

/// Writes `clusters.csv`, `pairs.csv` and `report.json` into `out`: first to
/// temporary names, then renamed, so a failure leaves no half-written result.
pub fn write_outputs(
    out: &Path,
    schema: &Schema,
    ds: &Dataset,
    outcome: &Outcome,
    extra: &serde_json::Value,
) -> Result<(), EcifError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EcifError::Io { path, source }
    };
    fs::create_dir_all(out).map_err(io(out))?;
    let mut clusters = Vec::with_capacity(ds.len() * 24);
    writeln!(clusters, "record_id,cluster_id").map_err(io(out))?;
    for (r, c) in outcome.cluster.iter().enumerate() {
        write_csv_field(&mut clusters, &ds.ids[r]);
        clusters.push(b',');
        write_csv_field(&mut clusters, &ds.ids[*c as usize]);
        clusters.push(b'\n');
    }
    // pairs.csv: each pair above the floor with its waterfall — the prior's
    // weight, then per field the comparison level, its weight and the
    // term-frequency adjustment, and the total. Formatted in parallel chunks
    // and streamed to the file a batch at a time (it can be half a gigabyte),
    // without building a waterfall per pair.
    let pairs_tmp = out.join(".pairs.csv.tmp");
    let mut pairs = std::io::BufWriter::new(fs::File::create(&pairs_tmp).map_err(io(&pairs_tmp))?);
    let mut header = String::from("left_id,right_id,match_probability,match_weight,prior_weight");
    for f in &schema.fields {
        header.push_str(&format!(",{0}_level,{0}_weight,{0}_tf", f.label()));
    }
    writeln!(pairs, "{header}").map_err(io(&pairs_tmp))?;
    let levels: Vec<&[&str]> = schema
        .fields
        .iter()
        .map(|f| crate::compare::level_names(f.kind))
        .collect();
    let nf = outcome.fields.max(1);
    const CHUNK: usize = 65_536;
    for (b, batch) in outcome.pairs.chunks(CHUNK * 16).enumerate() {
        let chunks: Vec<Vec<u8>> = batch
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let mut buf = Vec::new();
                for (k, &(i, j, p)) in chunk.iter().enumerate() {
                    if p < schema.pair_floor {
                        continue;
                    }
                    let at = b * CHUNK * 16 + c * CHUNK + k;
                    let pattern = &outcome.patterns[at * nf..][..nf];
                    let m = &outcome.model;
                    let steps: Vec<(f64, f64)> = pattern
                        .iter()
                        .enumerate()
                        .map(|(f, &l)| m.step(f, l, i as usize))
                        .collect();
                    let total = m.base + steps.iter().map(|(w, t)| w + t).sum::<f64>();
                    write_csv_field(&mut buf, &ds.ids[i as usize]);
                    buf.push(b',');
                    write_csv_field(&mut buf, &ds.ids[j as usize]);
                    let _ = write!(buf, ",{p:.6},{total:.3},{:.3}", m.base);
                    for (f, (&l, (w, t))) in pattern.iter().zip(&steps).enumerate() {
                        let level = if l == crate::compare::NULL {
                            "missing"
                        } else {
                            levels[f][l as usize]
                        };
                        let _ = write!(buf, ",{level},{w:.3},{t:.3}");
                    }
                    buf.push(b'\n');
                }
                buf
            })
            .collect();
        for c in chunks {
            pairs.write_all(&c).map_err(io(&pairs_tmp))?;
        }
    }
    pairs.flush().map_err(io(&pairs_tmp))?;
    drop(pairs);
    let mut report = serde_json::to_value(&outcome.report).unwrap_or_default();
    if let (Some(obj), Some(more)) = (report.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    let report = serde_json::to_vec_pretty(&report).unwrap_or_default();
    let files = [("clusters.csv", clusters), ("report.json", report)];
    for (name, bytes) in &files {
        let tmp = out.join(format!(".{name}.tmp"));
        fs::write(&tmp, bytes).map_err(io(&tmp))?;
    }
    for name in ["clusters.csv", "pairs.csv", "report.json"] {
        let (tmp, dest) = (out.join(format!(".{name}.tmp")), out.join(name));
        fs::rename(&tmp, &dest).map_err(io(&dest))?;
    }
    Ok(())
}

fn write_csv_field(buf: &mut Vec<u8>, v: &str) {
    if v.contains([',', '"', '\n']) {
        buf.push(b'"');
        buf.extend_from_slice(v.replace('"', "\"\"").as_bytes());
        buf.push(b'"');
    } else {
        buf.extend_from_slice(v.as_bytes());
    }
}
