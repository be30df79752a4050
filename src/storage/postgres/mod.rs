//! The PostgreSQL store of record (`storage.backend = "postgres"`).
//!
//! Being built (issue 16): until then opening it is refused.

use super::{Answer, CommitStats, Committing, Snapshot, StorageError, Store, Write};

/// The store of record in a PostgreSQL database.
pub struct PgStore;

impl PgStore {
    /// Connects to `url` and brings its schema to this build's.
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let _ = url;
        Err(StorageError::Unavailable(
            "the PostgreSQL store is not built yet".into(),
        ))
    }
}

impl Store for PgStore {
    fn commit(&self, _writes: Vec<Write>) -> Committing {
        Box::pin(async { Err(StorageError::Unavailable("not built".into())) })
    }
    fn load(&self) -> Answer<Snapshot> {
        Box::pin(async { Err(StorageError::Unavailable("not built".into())) })
    }
    fn jwt_secret(&self) -> Answer<Vec<u8>> {
        Box::pin(async { Err(StorageError::Unavailable("not built".into())) })
    }
    fn is_writable(&self) -> bool {
        false
    }
    fn stats(&self) -> CommitStats {
        CommitStats::default()
    }
    fn close(&self) -> Result<(), StorageError> {
        Ok(())
    }
}
