//! The sled implementation of [`Backend`]: one tree, atomic batches,
//! `flush` for durability.

use std::path::Path;

use super::{Backend, Pairs, StorageError};

/// A sled database used as a [`Backend`].
pub struct SledBackend {
    db: sled::Db,
}

impl SledBackend {
    /// Opens or creates the database in `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let db = sled::Config::new()
            .path(path)
            // We flush explicitly before acknowledging; sled's own periodic
            // flush only adds background I/O.
            .flush_every_ms(None)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) => StorageError::Unavailable(format!(
                    "cannot open data directory {}: {io}",
                    path.display()
                )),
                other => StorageError::Incompatible(format!(
                    "cannot open data directory {}: {other}",
                    path.display()
                )),
            })?;
        Ok(SledBackend { db })
    }
}

fn unavailable(e: sled::Error) -> StorageError {
    match e {
        sled::Error::Corruption { .. } => StorageError::Corrupt {
            key: String::new(),
            reason: e.to_string(),
        },
        other => StorageError::Unavailable(other.to_string()),
    }
}

impl Backend for SledBackend {
    fn apply(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StorageError> {
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(unavailable)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.db.flush().map(|_| ()).map_err(unavailable)
    }

    fn scan(&self, prefix: &[u8]) -> Result<Pairs, StorageError> {
        self.db
            .scan_prefix(prefix)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(unavailable)
            })
            .collect()
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(unavailable)
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(self.db.is_empty())
    }
}
