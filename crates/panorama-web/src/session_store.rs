//! Sessions kept in the operational store (table `web_session`), so they
//! survive a restart and work the same on SQLite and PostgreSQL.

use panorama_store::Store;
use panorama_store::ocrm::sessions;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// A tower-sessions store over the Panorama store.
#[derive(Clone)]
pub struct StoreSessions {
    store: Store,
}

impl std::fmt::Debug for StoreSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreSessions")
    }
}

impl StoreSessions {
    /// Sessions in `store`.
    pub fn new(store: Store) -> StoreSessions {
        StoreSessions { store }
    }
}

/// What the store keeps of a session id: its SHA-256, so that a copy of
/// the table (a backup, a read replica) holds no cookie that logs anyone in.
fn key(id: &Id) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(id.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for StoreSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // A colliding random id is astronomically unlikely; draw again if so.
        while !sessions::create(
            &self.store,
            &key(&record.id),
            &data,
            record.expiry_date.unix_timestamp(),
        )
        .await
        .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sessions::save(
            &self.store,
            &key(&record.id),
            &data,
            record.expiry_date.unix_timestamp(),
        )
        .await
        .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let Some((data, expires)) = sessions::load(&self.store, &key(id), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete(&self.store, &key(id))
            .await
            .map_err(backend)
    }
}
