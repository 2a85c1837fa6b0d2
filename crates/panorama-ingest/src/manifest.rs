//! The source manifest (`FOLDER/manifest.toml`): which files an extract holds,
//! which system each comes from, what it holds, how to read it, and how its
//! columns and code values map to Panorama's fields.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::IngestError;

/// A parsed manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The bank's name (informational).
    pub bank: Option<String>,
    /// The date the extract was taken.
    pub extract_date: Option<String>,
    /// Source systems.
    #[serde(default)]
    pub systems: Vec<SystemDef>,
    /// Files, in any order (they load in dependency order).
    pub files: Vec<FileDef>,
}

/// A source system.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemDef {
    /// Short code used in the store (`core`, `card`, …).
    pub code: String,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Survivorship trust, 0–100.
    #[serde(default = "default_trust")]
    pub trust: i64,
}

fn default_trust() -> i64 {
    50
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The bank's organisation hierarchy.
    OrgUnits,
    /// The product catalogue.
    Products,
    /// Customer records of one system.
    Customers,
    /// Relationships between records of one system.
    Relationships,
    /// Accounts, contracts, cards, holdings.
    Accounts,
    /// Monthly balances.
    Balances,
    /// Transactions.
    Transactions,
}

impl Kind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::OrgUnits => "org_units",
            Kind::Products => "products",
            Kind::Customers => "customers",
            Kind::Relationships => "relationships",
            Kind::Accounts => "accounts",
            Kind::Balances => "balances",
            Kind::Transactions => "transactions",
        }
    }

    /// The canonical fields of this kind, with whether each is required.
    pub fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            Kind::OrgUnits => &[
                ("code", true),
                ("name", true),
                ("name_en", false),
                ("level", true),
                ("parent_code", false),
            ],
            Kind::Products => &[
                ("code", true),
                ("name", true),
                ("name_en", false),
                ("class", true),
                ("system", true),
                ("term_months", false),
                ("rate_bp", false),
            ],
            Kind::Customers => &[
                ("source_key", true),
                ("party_type", true),
                ("name", true),
                ("gender", false),
                ("birth_date", false),
                ("id_type", false),
                ("id_no", false),
                ("credit_code", false),
                ("mobile", false),
                ("phone", false),
                ("email", false),
                ("address", false),
                ("postcode", false),
                ("industry", false),
                ("occupation", false),
                ("branch_code", false),
                ("opened_on", false),
            ],
            Kind::Relationships => &[
                ("from_key", true),
                ("to_key", true),
                ("kind", true),
                ("since", false),
            ],
            Kind::Accounts => &[
                ("account_no", true),
                ("customer_key", true),
                ("product_code", true),
                ("branch_code", false),
                ("currency", false),
                ("opened_on", true),
                ("matures_on", false),
                ("closed_on", false),
                ("status", true),
                ("credit_limit", false),
                ("rate_bp", false),
                // The staff number of who sold it (营销人员), as the source records it.
                ("sold_by", false),
            ],
            Kind::Balances => &[
                ("account_no", true),
                ("month", true),
                ("avg_balance", true),
                ("end_balance", true),
            ],
            Kind::Transactions => &[
                ("txn_ref", true),
                ("account_no", true),
                ("booked_at", true),
                ("amount", true),
                ("direction", true),
                ("channel", true),
                ("mcc", false),
                ("counterparty_account", false),
                ("counterparty_name", false),
                ("balance_after", false),
            ],
        }
    }

    fn needs_system(self) -> bool {
        !matches!(self, Kind::OrgUnits | Kind::Products)
    }
}

/// Text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 (a leading BOM is skipped).
    #[default]
    #[serde(alias = "utf8")]
    Utf8,
    /// GBK / GB18030, common in Chinese banks' older systems.
    #[serde(alias = "gb18030", alias = "gb2312")]
    Gbk,
}

/// How amounts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountUnit {
    /// Major units with up to two decimals (`1234.56`).
    #[default]
    Yuan,
    /// Integer minor units (`123456`).
    Fen,
}

/// One file of the extract.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDef {
    /// Path relative to the extract folder.
    pub path: String,
    /// Source system code (not for org units and products).
    pub system: Option<String>,
    /// What it holds.
    pub kind: Kind,
    /// Text encoding.
    #[serde(default)]
    pub encoding: Encoding,
    /// Field delimiter (one character).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// chrono format of dates.
    #[serde(default = "default_date_format")]
    pub date_format: String,
    /// chrono format of timestamps.
    #[serde(default = "default_datetime_format")]
    pub datetime_format: String,
    /// chrono format of months (`%Y-%m`, `%Y%m`).
    #[serde(default = "default_month_format")]
    pub month_format: String,
    /// How amounts are written.
    #[serde(default)]
    pub amount_unit: AmountUnit,
    /// Source column → Panorama field.
    pub columns: BTreeMap<String, String>,
    /// Panorama field → a value every row has (for fields the file lacks).
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Panorama field → (source code → Panorama value).
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

fn default_delimiter() -> char {
    ','
}
fn default_date_format() -> String {
    "%Y-%m-%d".into()
}
fn default_datetime_format() -> String {
    "%Y-%m-%d %H:%M:%S".into()
}
fn default_month_format() -> String {
    "%Y-%m".into()
}

impl Manifest {
    /// Reads and checks `FOLDER/manifest.toml`.
    pub fn load(folder: &Path) -> Result<Manifest, IngestError> {
        let path = folder.join("manifest.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest = toml::from_str(&text)
            .map_err(|e| IngestError::Manifest(format!("{}: {e}", path.display())))?;
        manifest.check(folder)?;
        Ok(manifest)
    }

    /// Checks the manifest against itself and the folder: known systems,
    /// known fields, required fields mapped, files present.
    pub fn check(&self, folder: &Path) -> Result<(), IngestError> {
        let bad = |msg: String| Err(IngestError::Manifest(msg));
        if self.files.is_empty() {
            return bad("the manifest lists no files".into());
        }
        for f in &self.files {
            let here = format!("file {}", f.path);
            match (&f.system, f.kind.needs_system()) {
                (None, true) => {
                    return bad(format!("{here}: a {} file needs `system`", f.kind.as_str()));
                }
                (Some(s), _) if !self.systems.iter().any(|d| &d.code == s) => {
                    return bad(format!(
                        "{here}: system '{s}' is not declared in [[systems]]"
                    ));
                }
                _ => {}
            }
            if !f.delimiter.is_ascii() {
                return bad(format!("{here}: the delimiter must be one ASCII character"));
            }
            let fields = f.kind.fields();
            for target in f
                .columns
                .values()
                .chain(f.constants.keys())
                .chain(f.values.keys())
            {
                if !fields.iter().any(|(name, _)| name == target) {
                    let known: Vec<&str> = fields.iter().map(|f| f.0).collect();
                    return bad(format!(
                        "{here}: '{target}' is not a field of {} (fields: {})",
                        f.kind.as_str(),
                        known.join(", ")
                    ));
                }
            }
            for (name, required) in fields {
                if *required
                    && !f.columns.values().any(|t| t == name)
                    && !f.constants.contains_key(*name)
                {
                    return bad(format!(
                        "{here}: the required field '{name}' is mapped from no column"
                    ));
                }
            }
            if !folder.join(&f.path).is_file() {
                return bad(format!("{here}: no such file in {}", folder.display()));
            }
        }
        Ok(())
    }

    /// Files in load order: reference data, customers, relationships, accounts, balances, transactions.
    pub fn files_in_load_order(&self) -> Vec<&FileDef> {
        let mut files: Vec<&FileDef> = self.files.iter().collect();
        files.sort_by_key(|f| f.kind);
        files
    }
}
