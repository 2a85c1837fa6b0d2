//! Fresh, migrated stores for tests: a SQLite file in a temporary directory,
//! and — when `DATABASE_URL` names a PostgreSQL server — a new database cloned
//! from a migrated template (one template per migration set).

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::{Result, Store, StoreError, StoreLocation};

/// A store that lives as long as this value (SQLite: its directory is removed on drop).
pub struct TestStore {
    /// The migrated store.
    pub store: Store,
    _dir: Option<tempfile::TempDir>,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// A new SQLite store in a temporary directory.
pub async fn sqlite() -> Result<TestStore> {
    let dir = tempfile::tempdir().map_err(|e| StoreError::Invalid(format!("temp dir: {e}")))?;
    let store = Store::open(&StoreLocation::Sqlite(dir.path().join("panorama.db"))).await?;
    Ok(TestStore {
        store,
        _dir: Some(dir),
    })
}

/// The PostgreSQL server URL for tests, from `DATABASE_URL`. When it is not
/// set, prints why the PostgreSQL half of a test is skipped.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set DATABASE_URL (.ci/run starts PostgreSQL)"
            );
            skipped(&format!(
                "PostgreSQL half of {test}: DATABASE_URL is not set to a postgres:// URL; .ci/run sets it"
            ));
            None
        }
    }
}

/// Says loudly that part of a test was skipped. The test harness captures
/// `eprintln!` and `io::stderr()`, so the line goes to `/dev/stderr` directly
/// (falling back to `eprintln!` where that does not exist).
pub fn skipped(what: &str) {
    use std::io::Write as _;
    match std::fs::OpenOptions::new().write(true).open("/dev/stderr") {
        Ok(mut tty) => {
            let _ = writeln!(tty, "SKIPPED: {what}");
        }
        Err(_) => eprintln!("SKIPPED: {what}"),
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// Stores for a test that must pass on both engines: SQLite always, plus
/// PostgreSQL when `DATABASE_URL` is set (otherwise a SKIPPED line says so).
pub async fn both(test: &str) -> Result<Vec<TestStore>> {
    let mut out = vec![sqlite().await?];
    if let Some(url) = postgres_url(test) {
        out.push(postgres(&url).await?);
    }
    Ok(out)
}

/// A new PostgreSQL database, cloned from a migrated template, on the server of `server_url`.
pub async fn postgres(server_url: &str) -> Result<TestStore> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    // Tests of one process build the template once; other processes are
    // handled by the rename race below.
    static TEMPLATE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let guard = TEMPLATE_LOCK.lock().await;
    let migrations = crate::migration_fingerprint();
    let template = format!("panorama_tpl_{migrations:016x}");
    let mut admin = sqlx::PgConnection::connect(server_url).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&template)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        let building = format!("{template}_{}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .await?;
        // Migrated over one plain connection: a pool closed after
        // `Migrator::run` was seen to leave its session open, which blocks the rename.
        let mut conn =
            sqlx::PgConnection::connect(&replace_database(server_url, &building)).await?;
        sqlx::migrate!("./migrations/postgres")
            .run(&mut conn)
            .await?;
        conn.close().await?;
        // The server ends a closed session's backend asynchronously; a rename
        // while it lingers fails with "being accessed by other users".
        wait_until_unused(&mut admin, &building).await?;
        // Rename into place; another process may have won the race, which is fine.
        if sqlx::query(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .execute(&mut admin)
            .await
            .is_err()
        {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
    }
    drop(guard);
    let name = format!(
        "panorama_t{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let store = Store::open(&StoreLocation::Postgres(replace_database(
        server_url, &name,
    )))
    .await?;
    Ok(TestStore { store, _dir: None })
}

/// Waits (up to ten seconds) until no session is connected to `database`.
async fn wait_until_unused(admin: &mut sqlx::PgConnection, database: &str) -> Result<()> {
    for _ in 0..200 {
        let sessions: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                .bind(database)
                .fetch_one(&mut *admin)
                .await?;
        if sessions == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            replace_database("postgres://u@h:1/a", "b"),
            "postgres://u@h:1/b"
        );
        assert_eq!(
            replace_database("postgres://u@h:1/a?sslmode=disable", "b"),
            "postgres://u@h:1/b?sslmode=disable"
        );
    }
}
