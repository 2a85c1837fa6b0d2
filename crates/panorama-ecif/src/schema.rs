//! The match schema (`S.toml`): which column is the record id, what kind of
//! value each compared column holds, and how to block.

use std::path::Path;

use serde::Deserialize;

use crate::EcifError;

/// What a column holds; decides standardisation and comparison levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A person's or company's name (Chinese names also compared by pinyin).
    Name,
    /// A company's name, compared without its region prefix and legal form
    /// (`上海嘉禾置业有限公司` = `嘉禾置业有限公司`), also by pinyin.
    OrgName,
    /// The city a company's name places it in (a branch office's city, else
    /// the city leading the name or in brackets); read from the name column
    /// beside an `org_name` field, so that one trade name in two cities is
    /// two parties.
    OrgCity,
    /// For a branch office (分公司), the city its parent's name carries
    /// (`上海恒联科技有限公司武汉分公司` → 上海): two branches in one city of
    /// parents in two cities are two parties. Missing for a head office, or
    /// a branch whose name leaves the parent's city out.
    OrgParentCity,
    /// The kind of company a name declares (股份有限公司, 有限责任公司 also
    /// written 有限公司, 合伙企业, 个人独资企业); missing when it declares none.
    OrgForm,
    /// Free text (street, suburb, company, occupation).
    Text,
    /// A Chinese or free-form address (region prefixes optional).
    Address,
    /// A code compared digit by digit: account, postcode, social security number, house number.
    Code,
    /// A resident id (15/18 digits; compared after the 15→18 upgrade).
    ResidentId,
    /// A unified social credit code.
    CreditCode,
    /// A mobile number.
    Mobile,
    /// A date (any of YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD).
    Date,
    /// Equal or not (gender, state).
    Exact,
}

/// One compared column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The field's name in blocking keys, `pairs.csv` and explanations;
    /// the column's by default (two fields may read one column).
    #[serde(default)]
    pub name: Option<String>,
    /// Column name in the input.
    pub column: String,
    /// Kind of value.
    pub kind: FieldKind,
    /// Term-frequency adjustment: an exact match on a rare value counts more.
    #[serde(default)]
    pub tf: bool,
    /// For resident ids and credit codes: two *valid* values that differ mean
    /// two different parties (their check characters catch single typos), so
    /// such a pair is never linked.
    #[serde(default)]
    pub distinct: bool,
    /// Another compared field's column, read when `column` gives no value:
    /// an `org_city` from the address when the name carries no city.
    #[serde(default)]
    pub or_column: Option<String>,
    /// Another compared field (by name) this one is not independent of among
    /// different parties. When that field agrees exactly, this field's u is
    /// the one measured among different parties that agree on it — pairs
    /// whose `distinct` ids are valid and differ — not over all pairs. A
    /// registry grants a trade name once per city and line of business, so
    /// two companies of one name seldom share a city, and a shared city says
    /// more when the names agree than when they do not.
    #[serde(default)]
    pub depends_on: Option<String>,
}

impl FieldDef {
    /// The field's name: `name` if given, else its column.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.column)
    }
}

/// A blocking rule: records that agree on all of these keys are compared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockRule {
    /// Keys: a field's name, optionally with a transform — `col`, `col:first3`
    /// (first 3 characters), `col:pinyin` (toneless pinyin), `col:year`
    /// (first 4 characters of a date), `col:last4`.
    pub keys: Vec<String>,
}

/// A match schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The column holding each record's unique id.
    pub id_column: String,
    /// Field delimiter (default `,`).
    #[serde(default = "comma")]
    pub delimiter: char,
    /// Trim spaces around fields (Febrl files separate fields by ", ").
    #[serde(default = "yes")]
    pub trim: bool,
    /// Compared columns.
    pub fields: Vec<FieldDef>,
    /// Blocking rules (candidate pairs are the union over rules).
    pub blocking: Vec<BlockRule>,
    /// Blocks larger than this are skipped (they are too common to be a key).
    #[serde(default = "default_max_block")]
    pub max_block: usize,
    /// Pairs at or above this probability are linked into clusters.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Pairs at or above this probability are written to pairs.csv.
    #[serde(default = "default_floor")]
    pub pair_floor: f64,
    /// A link without a shared strong id joins two groups only if the mean
    /// match probability of all their cross pairs reaches this (average
    /// linkage); 0, the default, asks only that no cross pair be clearly
    /// different. For records with few fields, where a mistyped name equals
    /// another party's, 0.5: more likely one party than two.
    #[serde(default)]
    pub group_agreement: f64,
}

fn comma() -> char {
    ','
}
fn yes() -> bool {
    true
}
fn default_max_block() -> usize {
    2_000
}
fn default_threshold() -> f64 {
    0.99
}
fn default_floor() -> f64 {
    0.1
}

impl Schema {
    /// Fields whose valid, different values mean different parties.
    pub fn distinct_fields(&self) -> Vec<usize> {
        self.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.distinct)
            .map(|(i, _)| i)
            .collect()
    }

    /// The index of the field field `f` depends on (its `depends_on`).
    pub fn depends_on(&self, f: usize) -> Option<usize> {
        let on = self.fields[f].depends_on.as_deref()?;
        self.fields.iter().position(|g| g.label() == on)
    }

    /// Reads a schema file.
    pub fn load(path: &Path) -> Result<Schema, EcifError> {
        let text = std::fs::read_to_string(path).map_err(|source| EcifError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let schema: Schema = toml::from_str(&text)
            .map_err(|e| EcifError::Schema(format!("{}: {e}", path.display())))?;
        schema.check()?;
        Ok(schema)
    }

    /// Checks the schema on its own (columns are checked against each input's header).
    pub fn check(&self) -> Result<(), EcifError> {
        if self.fields.is_empty() {
            return Err(EcifError::Schema("the schema compares no fields".into()));
        }
        if self.fields.len() > 16 {
            return Err(EcifError::Schema(format!(
                "the schema compares {} fields; at most 16 are supported",
                self.fields.len()
            )));
        }
        if self.blocking.is_empty() || self.blocking.iter().any(|b| b.keys.is_empty()) {
            return Err(EcifError::Schema(
                "every blocking rule needs at least one key, and one rule is needed".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.threshold) || !(0.0..=1.0).contains(&self.pair_floor) {
            return Err(EcifError::Schema(
                "threshold and pair_floor are probabilities between 0 and 1".into(),
            ));
        }
        if let Some(f) = self.fields.iter().find(|f| {
            f.distinct && !matches!(f.kind, FieldKind::ResidentId | FieldKind::CreditCode)
        }) {
            return Err(EcifError::Schema(format!(
                "field {}: `distinct` applies to resident_id and credit_code fields only",
                f.column
            )));
        }
        for (i, f) in self.fields.iter().enumerate() {
            if let Some(or) = &f.or_column
                && (or == &f.column || !self.fields.iter().any(|g| &g.column == or))
            {
                return Err(EcifError::Schema(format!(
                    "field {}: or_column {or} must be another compared field's column",
                    f.label()
                )));
            }
            if let Some(on) = &f.depends_on {
                let target = self.fields.iter().find(|g| g.label() == on);
                if on == f.label() || target.is_none_or(|g| g.depends_on.is_some()) {
                    return Err(EcifError::Schema(format!(
                        "field {}: depends_on {on} must name another compared field \
                         that depends on none",
                        f.label()
                    )));
                }
                if !self.fields.iter().any(|g| g.distinct) {
                    return Err(EcifError::Schema(format!(
                        "field {}: depends_on needs a `distinct` id field, whose valid \
                         different values show which pairs are different parties",
                        f.label()
                    )));
                }
            }
            if self.fields[..i].iter().any(|g| g.label() == f.label()) {
                return Err(EcifError::Schema(format!(
                    "two fields are named {}; give one a `name`",
                    f.label()
                )));
            }
        }
        for rule in &self.blocking {
            for key in &rule.keys {
                let (col, transform) = key.split_once(':').unwrap_or((key, ""));
                if col != self.id_column && !self.fields.iter().any(|f| f.label() == col) {
                    return Err(EcifError::Schema(format!(
                        "blocking key '{key}': {col} is not a compared field"
                    )));
                }
                if !transform.is_empty() && parse_transform(transform).is_none() {
                    return Err(EcifError::Schema(format!(
                        "blocking key '{key}': unknown transform '{transform}'"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A blocking-key transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The standardised value.
    Whole,
    /// The first n characters.
    First(usize),
    /// The last n characters.
    Last(usize),
    /// Toneless pinyin.
    Pinyin,
    /// The first four characters of a date.
    Year,
}

/// Parses `first3`, `last4`, `pinyin`, `year`.
pub fn parse_transform(t: &str) -> Option<Transform> {
    match t {
        "" => Some(Transform::Whole),
        "pinyin" => Some(Transform::Pinyin),
        "year" => Some(Transform::Year),
        _ => {
            if let Some(n) = t.strip_prefix("first") {
                n.parse().ok().filter(|n| *n > 0).map(Transform::First)
            } else if let Some(n) = t.strip_prefix("last") {
                n.parse().ok().filter(|n| *n > 0).map(Transform::Last)
            } else {
                None
            }
        }
    }
}
