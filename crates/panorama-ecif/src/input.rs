//! Reading match inputs (CSV) into a [`Dataset`], and writing the results.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::compare::Std;
use crate::engine::{Dataset, Outcome};
use crate::{EcifError, Schema};

fn input_err(path: &Path, reason: impl Into<String>) -> EcifError {
    EcifError::Input {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The true entity of each record of `ids`, from a CSV of `record_id,
/// entity_id` rows; a record the file does not name is an entity of its own.
pub fn read_truth(path: &Path, ids: &[String]) -> Result<Vec<String>, EcifError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| input_err(path, e.to_string()))?;
    let mut entity = HashMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| input_err(path, e.to_string()))?;
        entity.insert(
            row.get(0).unwrap_or("").to_owned(),
            row.get(1).unwrap_or("").to_owned(),
        );
    }
    Ok(ids
        .iter()
        .map(|id| {
            entity
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("unlabelled:{id}"))
        })
        .collect())
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
        // Every or_column is a compared field's column, so it is in the header.
        let or_cols: Vec<Option<usize>> = schema
            .fields
            .iter()
            .map(|f| f.or_column.as_deref().and_then(index))
            .collect();
        // Rows are read in batches and standardised in parallel, then added
        // in file order.
        const BATCH: usize = 32_768;
        let mut batch: Vec<(String, csv::StringRecord)> = Vec::with_capacity(BATCH);
        let mut record = csv::StringRecord::new();
        loop {
            let more = match reader.read_record(&mut record) {
                Ok(more) => more,
                Err(e) => return Err(input_err(path, format!("unreadable row: {e}"))),
            };
            if more {
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
                batch.push((id, record.clone()));
            }
            if batch.len() == BATCH || (!more && !batch.is_empty()) {
                let standardised: Vec<Vec<Option<Std>>> = batch
                    .par_iter()
                    .map(|(_, row)| {
                        schema
                            .fields
                            .iter()
                            .zip(&cols)
                            .zip(&or_cols)
                            .map(|((def, &c), &or)| {
                                crate::engine::read_field(def, row.get(c), || {
                                    or.and_then(|o| row.get(o))
                                })
                            })
                            .collect()
                    })
                    .collect();
                for ((id, _), values) in batch.drain(..).zip(standardised) {
                    ds.push_standardised(id, source as u16, &values);
                }
            }
            if !more {
                break;
            }
        }
    }
    if ds.is_empty() {
        return Err(EcifError::Schema("the inputs hold no records".into()));
    }
    Ok(ds)
}

/// Appends `x` with `decimals` digits after the point, as `{x:.decimals$}`
/// would (half away from zero rather than to even, which no reader of a
/// three-decimal weight can tell), without the float formatter's cost: it
/// was a tenth of a million-record run.
fn push_fixed(buf: &mut Vec<u8>, x: f64, decimals: u32) {
    let scale = 10i64.pow(decimals);
    if !x.is_finite() || x.abs() >= (i64::MAX / scale) as f64 {
        let _ = write!(buf, "{x:.0$}", decimals as usize);
        return;
    }
    let scaled = (x * scale as f64).round() as i64;
    if scaled < 0 {
        buf.push(b'-');
    }
    let (whole, frac) = (
        scaled.unsigned_abs() / scale as u64,
        scaled.unsigned_abs() % scale as u64,
    );
    let _ = write!(buf, "{whole}.{frac:0width$}", width = decimals as usize);
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
                    let steps: Vec<(f64, f64)> =
                        (0..nf).map(|f| m.step(pattern, f, i as usize)).collect();
                    let total = m.base + steps.iter().map(|(w, t)| w + t).sum::<f64>();
                    write_csv_field(&mut buf, &ds.ids[i as usize]);
                    buf.push(b',');
                    write_csv_field(&mut buf, &ds.ids[j as usize]);
                    buf.push(b',');
                    push_fixed(&mut buf, p, 6);
                    buf.push(b',');
                    push_fixed(&mut buf, total, 3);
                    buf.push(b',');
                    push_fixed(&mut buf, m.base, 3);
                    for (f, (&l, (w, t))) in pattern.iter().zip(&steps).enumerate() {
                        let level = if l == crate::compare::NULL {
                            "missing"
                        } else {
                            levels[f][l as usize]
                        };
                        buf.push(b',');
                        buf.extend_from_slice(level.as_bytes());
                        buf.push(b',');
                        push_fixed(&mut buf, *w, 3);
                        buf.push(b',');
                        push_fixed(&mut buf, *t, 3);
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

#[cfg(test)]
mod tests {
    use super::push_fixed;

    #[test]
    fn fixed_point_matches_the_float_formatter() {
        for x in [
            0.0,
            1.0,
            -1.0,
            0.1234567,
            -0.0004,
            -0.0006,
            13.228,
            -13.5994,
            0.999_999_4,
            1e9,
            -2.5e-7,
        ] {
            for d in [3u32, 6] {
                let mut ours = Vec::new();
                push_fixed(&mut ours, x, d);
                let std = format!("{x:.0$}", d as usize);
                let ours = String::from_utf8(ours).unwrap();
                // Equal, or differing only by the sign of a rounded zero.
                assert!(
                    ours == std || ours.trim_start_matches('-') == std.trim_start_matches('-'),
                    "{x} at {d}: {ours} vs {std}"
                );
            }
        }
        let mut nan = Vec::new();
        push_fixed(&mut nan, f64::NAN, 3);
        assert_eq!(nan, b"NaN");
    }
}
