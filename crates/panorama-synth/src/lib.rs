//! A seeded synthetic bank: the source-system extracts a Chinese retail bank
//! would hand over, with the ground truth that the product never reads.
//!
//! Five systems (core deposits, credit cards, loans, wealth management,
//! e-channel) each export their own customer file with their own keys, layout,
//! code tables, date formats and typical errors: homophone typos in names,
//! legacy 15-digit or mistyped resident ids, old mobile numbers, abbreviated
//! addresses, duplicate customer numbers. People live in households; companies
//! have officers, payroll employees and suppliers. Accounts, monthly balances
//! and 24 months of transactions carry planted structure: high balances and
//! frequent ATM use raise credit-card uptake; falling balances precede churn.
//! `truth/` records who is who and the hidden propensities.
//!
//! Output is a pure function of (customers, seed, as-of): the bank is built in
//! chunks of [`CHUNK`] parties, each from its own seeded generator, in parallel,
//! and written in chunk order.

mod bank;
mod csvout;
mod data;
pub mod er;
mod extract;
mod manifest;
mod people;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;

pub use bank::{OrgUnit, PRODUCTS, Product, org_units};
pub use extract::FILES;

/// Parties per chunk.
pub const CHUNK: u64 = 2_000;

/// The extract date a generated bank is as of unless told otherwise (fixed,
/// so a seed always gives the same bank).
pub const DEFAULT_AS_OF: &str = "2026-10-31";

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of customers (people and companies).
    pub customers: u64,
    /// Seed: the same seed gives the same bank, byte for byte.
    pub seed: u64,
    /// Extract date: the last day covered by balances and transactions.
    pub as_of: NaiveDate,
    /// Output folder (created; existing extract files are overwritten).
    pub out: PathBuf,
    /// Write the extract files gzip-compressed (`name.csv.gz`, as banks send
    /// large extracts; the manifest names them so). The truth stays plain.
    pub gzip: bool,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Rows per file (file name relative to the output folder).
    pub files: Vec<(String, u64)>,
    /// Bytes written.
    pub bytes: u64,
}

impl Summary {
    /// Rows of one file.
    pub fn rows(&self, file: &str) -> u64 {
        self.files
            .iter()
            .find(|(f, _)| f == file)
            .map_or(0, |(_, n)| *n)
    }

    /// Rows of all extract files (not truth).
    pub fn extract_rows(&self) -> u64 {
        self.files
            .iter()
            .filter(|(f, _)| !f.starts_with("truth/"))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Nothing to generate.
    #[error("--customers must be at least 1")]
    NoCustomers,
    /// Writing failed.
    #[error("cannot write {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Generates the bank into `config.out`, calling `progress(done, total)` as
/// chunks are written.
pub fn generate(
    config: &Config,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, SynthError> {
    if config.customers == 0 {
        return Err(SynthError::NoCustomers);
    }
    let out = &config.out;
    fs::create_dir_all(out.join("truth")).map_err(io_err(out))?;
    let units = bank::org_units();
    let world = people::World {
        as_of: config.as_of,
        branches: units
            .iter()
            .filter_map(|u| u.district.map(|d| (u.code.clone(), d)))
            .collect(),
        all_divisions: panorama_domain::division::all(),
    };
    let mut summary = Summary {
        files: Vec::new(),
        bytes: 0,
    };
    summary.bytes += write_reference(out, &units, config.gzip, &mut summary.files)?;

    let mut writers = Vec::with_capacity(FILES.len());
    for (name, header) in FILES {
        let gzip = config.gzip && !name.starts_with("truth/");
        let (path, mut w) = Out::create(out, name, gzip)?;
        writeln!(w, "{header}").map_err(io_err(&path))?;
        summary.bytes += header.len() as u64 + 1;
        writers.push((path, w, 0u64));
    }
    let chunks = config.customers.div_ceil(CHUNK);
    let group = (rayon::current_num_threads() as u64 * 2).max(2);
    let mut next = 0;
    while next < chunks {
        let upto = (next + group).min(chunks);
        let outs: Vec<extract::ChunkOut> = (next..upto)
            .into_par_iter()
            .map(|c| {
                let start = c * CHUNK;
                let end = ((c + 1) * CHUNK).min(config.customers);
                extract::chunk(&world, config.seed, c, start, end)
            })
            .collect();
        for chunk in outs {
            for (i, buf) in chunk.bufs.iter().enumerate() {
                let (path, w, rows) = &mut writers[i];
                w.write_all(buf).map_err(io_err(path))?;
                *rows += chunk.rows[i];
                summary.bytes += buf.len() as u64;
            }
        }
        next = upto;
        progress((next * CHUNK).min(config.customers), config.customers);
    }
    for (i, (path, w, rows)) in writers.into_iter().enumerate() {
        w.finish().map_err(io_err(&path))?;
        summary.files.push((FILES[i].0.to_owned(), rows));
    }
    let mut manifest = manifest::render(config.as_of);
    if config.gzip {
        manifest = manifest.replace(".csv\"", ".csv.gz\"");
    }
    let path = out.join("manifest.toml");
    fs::write(&path, &manifest).map_err(io_err(&path))?;
    let path = out.join("truth/README.md");
    fs::write(&path, TRUTH_README).map_err(io_err(&path))?;
    Ok(summary)
}

const TRUTH_README: &str = "# Ground truth of the synthetic bank\n\n\
For measuring identity resolution and models only: Panorama itself never reads this folder.\n\n\
- records.csv: which party (person or company) each source record belongs to.\n\
- parties.csv: each party's true name, resident id or credit code, mobile, birth date, household.\n\
- households.csv: household membership and role (head, spouse, child, parent).\n\
- relationships.csv: true relationships (family, company officers, payroll employees, suppliers).\n\
- propensity.csv: hidden propensities and outcomes: credit-card uptake (month), churn (month), wealth-offer response.\n";

/// An extract file being written, plain or gzip-compressed.
enum Out {
    Plain(BufWriter<File>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<File>>>),
}

impl Out {
    /// Creates `dir/name` (`name.gz` when compressed).
    fn create(dir: &Path, name: &str, gzip: bool) -> Result<(PathBuf, Out), SynthError> {
        let path = if gzip {
            dir.join(format!("{name}.gz"))
        } else {
            dir.join(name)
        };
        let file = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io_err(&path))?);
        let out = if gzip {
            Out::Gzip(Box::new(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::fast(),
            )))
        } else {
            Out::Plain(file)
        };
        Ok((path, out))
    }

    /// Flushes, and writes the gzip trailer.
    fn finish(self) -> std::io::Result<()> {
        match self {
            Out::Plain(mut w) => w.flush(),
            Out::Gzip(g) => g.finish()?.flush(),
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Plain(w) => w.write(buf),
            Out::Gzip(g) => g.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.flush(),
            Out::Gzip(g) => g.flush(),
        }
    }
}

fn write_reference(
    out: &Path,
    units: &[OrgUnit],
    gzip: bool,
    files: &mut Vec<(String, u64)>,
) -> Result<u64, SynthError> {
    let mut org = String::from("ORG_CODE,ORG_NAME,ORG_NAME_EN,ORG_LEVEL,PARENT_CODE\n");
    for u in units {
        org.push_str(&format!(
            "{},{},{},{},{}\n",
            u.code,
            u.name,
            u.name_en,
            u.level,
            u.parent.as_deref().unwrap_or("")
        ));
    }
    let mut products =
        String::from("PROD_CODE,PROD_NAME,PROD_NAME_EN,PROD_CLASS,SYSTEM,TERM_MONTHS,RATE_BP\n");
    for p in PRODUCTS {
        let term = p.term_months.map(|t| t.to_string()).unwrap_or_default();
        let rate = p.rate_bp.map(|r| r.to_string()).unwrap_or_default();
        products.push_str(&format!(
            "{},{},{},{},{},{term},{rate}\n",
            p.code, p.name, p.name_en, p.class, p.system
        ));
    }
    let mut bytes = 0;
    for (name, text, rows) in [
        ("org_units.csv", &org, units.len()),
        ("products.csv", &products, PRODUCTS.len()),
    ] {
        let (path, mut w) = Out::create(out, name, gzip)?;
        w.write_all(text.as_bytes()).map_err(io_err(&path))?;
        w.finish().map_err(io_err(&path))?;
        bytes += text.len() as u64;
        files.push((name.to_owned(), rows as u64));
    }
    Ok(bytes)
}
