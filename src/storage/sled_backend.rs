//! The sled implementation of [`Backend`]: one tree, atomic batches,
//! `flush` for durability.

use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Backend, Pairs, StorageError};

/// A sled database used as a [`Backend`].
pub struct SledBackend {
    /// `Some` until dropped.
    db: Option<sled::Db>,
    /// sled's lock file (`<dir>/db`), to see the lock released.
    lock_file: PathBuf,
}

/// sled's page cache: enough for the start-up scan and the checkpoints.
const SLED_CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl SledBackend {
    /// Opens or creates the database in `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let db = sled::Config::new()
            .path(path)
            // We flush explicitly before acknowledging; sled's own periodic
            // flush only adds background I/O.
            .flush_every_ms(None)
            // Everything is read once at start-up into the read model, and
            // sled is read again only for a few keys: its page cache would
            // keep a second copy of the data (its default is 1 GiB, which
            // 1,000,000 seats fill), so keep it small.
            .cache_capacity(SLED_CACHE_BYTES)
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
        Ok(SledBackend {
            db: Some(db),
            lock_file: path.join("db"),
        })
    }

    fn db(&self) -> &sled::Db {
        self.db
            .as_ref()
            .expect("the database is open until dropped")
    }
}

/// Dropping the backend closes sled and waits (up to 5 s) until its lock on
/// the directory is released: sled's I/O threads let go of the file a
/// moment after the last handle, and a server restarted in the same process
/// must find the directory free.
impl Drop for SledBackend {
    fn drop(&mut self) {
        drop(self.db.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !lock_is_free(&self.lock_file) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Whether an exclusive `flock` (what sled takes) on `file` would succeed
/// now; takes it and lets it go at once.
fn lock_is_free(file: &Path) -> bool {
    let Ok(f) = std::fs::File::open(file) else {
        return true;
    };
    // SAFETY: flock on a descriptor we own for the duration of the call.
    let taken = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if taken {
        // SAFETY: as above; closing the file would release it anyway.
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_UN) };
    }
    taken
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
        self.db().apply_batch(b).map_err(unavailable)
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.db().flush().map(|_| ()).map_err(unavailable)
    }

    fn scan(&self, prefix: &[u8]) -> Result<Pairs, StorageError> {
        self.db()
            .scan_prefix(prefix)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(unavailable)
            })
            .collect()
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.db()
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(unavailable)
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        Ok(self.db().is_empty())
    }
}
