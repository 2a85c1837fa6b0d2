//! Where a store lives: a SQLite file or a PostgreSQL URL.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// The default embedded store: a `panorama.db` file in `./panorama-data`.
pub const DEFAULT_DATA_DIR: &str = "panorama-data";

/// A parsed `--store` value.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The SQLite database file.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl StoreLocation {
    /// Parses a `--store` value: a `postgres://` URL, a `sqlite:` URL, a path
    /// to a `.db`/`.sqlite` file, or a directory (the database is
    /// `DIR/panorama.db`).
    pub fn parse(value: &str) -> Result<Self, StoreError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(StoreError::Location(value.to_owned()));
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(value.to_owned()));
        }
        if let Some(rest) = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or(rest);
            return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
        }
        if value.contains("://") {
            return Err(StoreError::Location(value.to_owned()));
        }
        let path = Path::new(value);
        let is_file = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("db" | "sqlite" | "sqlite3")
        );
        Ok(StoreLocation::Sqlite(if is_file {
            path.to_path_buf()
        } else {
            path.join("panorama.db")
        }))
    }

    /// The default: SQLite under `./panorama-data`.
    pub fn default_sqlite() -> Self {
        StoreLocation::Sqlite(Path::new(DEFAULT_DATA_DIR).join("panorama.db"))
    }

    /// The connection URL for sqlx.
    pub fn url(&self) -> String {
        match self {
            StoreLocation::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            StoreLocation::Postgres(url) => url.clone(),
        }
    }
}

impl fmt::Display for StoreLocation {
    /// Shows the location with any password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kinds_of_location() {
        assert_eq!(
            StoreLocation::parse("postgres://u:p@127.0.0.1:5432/db").unwrap(),
            StoreLocation::Postgres("postgres://u:p@127.0.0.1:5432/db".into())
        );
        assert_eq!(
            StoreLocation::parse("data").unwrap(),
            StoreLocation::Sqlite("data/panorama.db".into())
        );
        assert_eq!(
            StoreLocation::parse("x/bank.db").unwrap(),
            StoreLocation::Sqlite("x/bank.db".into())
        );
        assert_eq!(
            StoreLocation::parse("sqlite://x/y.db?mode=rwc").unwrap(),
            StoreLocation::Sqlite("x/y.db".into())
        );
        assert!(StoreLocation::parse("mysql://x").is_err());
        assert!(StoreLocation::parse(" ").is_err());
    }

    #[test]
    fn never_prints_a_password() {
        let loc = StoreLocation::parse("postgres://app:s3cret@db:5432/panorama").unwrap();
        assert_eq!(loc.to_string(), "postgres://app:***@db:5432/panorama");
        assert!(!format!("{loc:?}").contains("s3cret"));
    }
}
