//! Record-linkage benchmark files: three seeded generators, each with a noise
//! style of its own and unlike the synthetic bank's, for measuring the ECIF
//! matcher on data it was not built on (`panorama bench ecif`).
//!
//! - [`febrl_like`]: English-style person records as the Febrl generator used
//!   by public entity-resolution benchmarks makes them (typos in names, suburbs
//!   and postcodes, swapped day and month, missing fields, clusters of 1–10).
//! - [`cn_persons`]: Chinese persons as bank systems hold them (traditional
//!   characters, same-pinyin substitutions, pinyin names in either order,
//!   legacy 15-digit ids, full-width digits, mistyped ids, ids missing on card
//!   and e-banking records, +86 mobiles, changed mobiles and addresses, many
//!   people sharing common names and family addresses).
//! - [`companies`]: companies with and without their legal form and city,
//!   branch offices that are distinct parties, missing or mistyped credit codes.
//!
//! Each writes `records.csv` and `truth.csv` (`record_id,entity_id`) into a
//! folder; the output is a pure function of the size and the seed.

pub mod cn_persons;
pub mod companies;
pub mod febrl_like;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// What a generator wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Records (rows of `records.csv`).
    pub records: usize,
    /// Distinct entities.
    pub entities: usize,
    /// True pairs: the sum over entities of C(records, 2).
    pub true_pairs: u64,
}

/// A row-by-row writer of `records.csv` and `truth.csv`.
pub(crate) struct Files {
    records: BufWriter<fs::File>,
    truth: BufWriter<fs::File>,
    written: Written,
    cluster: usize,
}

impl Files {
    pub(crate) fn create(dir: &Path, header: &[&str]) -> std::io::Result<Files> {
        fs::create_dir_all(dir)?;
        let mut records = BufWriter::new(fs::File::create(dir.join("records.csv"))?);
        let mut truth = BufWriter::new(fs::File::create(dir.join("truth.csv"))?);
        writeln!(records, "{}", header.join(","))?;
        writeln!(truth, "record_id,entity_id")?;
        Ok(Files {
            records,
            truth,
            written: Written {
                records: 0,
                entities: 0,
                true_pairs: 0,
            },
            cluster: 0,
        })
    }

    /// Starts a new entity.
    pub(crate) fn entity(&mut self) {
        self.written.entities += 1;
        self.cluster = 0;
    }

    /// Writes one record of the current entity (`values[0]` is the record id).
    pub(crate) fn row(&mut self, entity: &str, values: &[&str]) -> std::io::Result<()> {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.records.write_all(b",")?;
            }
            if v.contains([',', '"', '\n']) {
                write!(self.records, "\"{}\"", v.replace('"', "\"\""))?;
            } else {
                self.records.write_all(v.as_bytes())?;
            }
        }
        self.records.write_all(b"\n")?;
        writeln!(self.truth, "{},{entity}", values[0])?;
        self.written.true_pairs += self.cluster as u64;
        self.cluster += 1;
        self.written.records += 1;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> std::io::Result<Written> {
        self.records.flush()?;
        self.truth.flush()?;
        Ok(self.written)
    }
}

/// Picks from a list by weight (weights need not sum to anything).
pub(crate) fn weighted<'a, T>(rng: &mut Pcg64Mcg, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A Zipf-like pick of an index in `0..n` (rank r with weight 1 / (r + 1)^s).
pub(crate) fn zipf(rng: &mut Pcg64Mcg, n: usize, s: f64) -> usize {
    // Inverse transform on the continuous approximation.
    let u: f64 = rng.random();
    let n = n as f64;
    let r = if (s - 1.0).abs() < 1e-9 {
        (n + 1.0).powf(u) - 1.0
    } else {
        let a = 1.0 - s;
        (((n + 1.0).powf(a) - 1.0) * u + 1.0).powf(1.0 / a) - 1.0
    };
    (r as usize).min(n as usize - 1)
}

/// One random character edit: insert, delete, substitute or transpose (ASCII
/// lower-case letters or digits, matching the value's kind).
pub(crate) fn typo(rng: &mut Pcg64Mcg, value: &str) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return value.to_owned();
    }
    let digits = chars.iter().all(char::is_ascii_digit);
    let alphabet: &[u8] = if digits {
        b"0123456789"
    } else {
        b"abcdefghijklmnopqrstuvwxyz"
    };
    let pos = rng.random_range(0..chars.len());
    let letter = alphabet[rng.random_range(0..alphabet.len())] as char;
    match rng.random_range(0..4) {
        0 => chars.insert(pos, letter),
        1 if chars.len() > 1 => {
            chars.remove(pos);
        }
        2 if pos + 1 < chars.len() => chars.swap(pos, pos + 1),
        _ => chars[pos] = letter,
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn zipf_stays_in_range_and_favours_the_head() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let picks: Vec<usize> = (0..10_000).map(|_| zipf(&mut rng, 50, 1.1)).collect();
        assert!(picks.iter().all(|&p| p < 50));
        let head = picks.iter().filter(|&&p| p < 5).count();
        let tail = picks.iter().filter(|&&p| p >= 45).count();
        assert!(head > 4 * tail, "head {head} tail {tail}");
    }

    #[test]
    fn typo_changes_a_value_by_one_edit() {
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        for _ in 0..200 {
            let t = typo(&mut rng, "harrington");
            let d = t.len() as i64 - 10;
            assert!(d.abs() <= 1, "{t}");
        }
    }
}
