//! A write-ahead log in front of the key-value backend, so that making a
//! batch durable is one `write` and one `fdatasync` on the flusher's own
//! thread, instead of a flush of sled (which seals its I/O buffers and hands
//! the writing to its thread pool: measured, those hand-offs between a dozen
//! threads on two cores were the cost of every durable write).
//!
//! - `apply` puts the batch in an in-memory overlay and its frame in the
//!   pending log, under one lock, so the log's order is the apply order.
//!   The backend is *not* written: sled persists on its own schedule, and a
//!   backend that could be ahead of the log would make replay tear batches.
//! - `flush` writes the pending frames and `fdatasync`s the log. Once the
//!   log passes its checkpoint size (and at shutdown), a checkpoint writes the
//!   overlay to the backend as one atomic batch, flushes the backend, and
//!   empties the log. The backend is thus always at a checkpoint, never
//!   between two.
//! - Reads look in the overlay first, then in the backend.
//! - At open, every whole frame is applied to the backend in order (each is
//!   a batch of whole-value puts and removes, and the backend holds the state
//!   of the last checkpoint or of the one before, so replay reproduces the
//!   latest state), the backend is flushed, and the log emptied. A torn last
//!   frame (a crash mid-write) fails its checksum and is dropped: it was
//!   never acknowledged.
//!
//! Frame: length (u32, little-endian) | CRC-32 of the body | body (postcard).

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::{Backend, Pairs, StorageError};

type Batch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A [`Backend`] made durable by a write-ahead log.
pub struct WalBackend {
    inner: Arc<dyn Backend>,
    /// The log is folded into the backend once it grows past this.
    checkpoint_bytes: u64,
    state: Mutex<Applied>,
    log: Mutex<Log>,
}

/// What was applied since the last checkpoint.
#[derive(Default)]
struct Applied {
    /// The latest value (or removal) of every key written since.
    overlay: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// Frames not yet written to the log file.
    pending: Vec<u8>,
}

struct Log {
    file: File,
    /// Bytes of whole frames in the file.
    len: u64,
}

fn io(what: &str, e: std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("write-ahead log: {what}: {e}"))
}

fn frame(batch: &Batch) -> Vec<u8> {
    let body = postcard::to_allocvec(batch).expect("postcard encodes byte vectors");
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The whole, intact frames at the start of `bytes`.
fn frames(bytes: &[u8]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 8 {
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let Some(body) = rest.get(8..8 + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        match postcard::from_bytes::<Batch>(body) {
            Ok(batch) => out.push(batch),
            Err(_) => break,
        }
        rest = &rest[8 + len..];
    }
    out
}

impl WalBackend {
    /// Opens (or creates) the log at `path` over `inner`, replaying what it
    /// holds into `inner`.
    pub fn open(
        inner: Arc<dyn Backend>,
        path: &Path,
        checkpoint_bytes: u64,
    ) -> Result<Self, StorageError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io("open", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| io("read", e))?;
        let batches = frames(&bytes);
        if !batches.is_empty() {
            tracing::info!(batches = batches.len(), "replaying the write-ahead log");
        }
        for batch in batches {
            inner.apply(batch)?;
        }
        inner.flush()?;
        let mut log = Log { file, len: 0 };
        log.truncate()?;
        Ok(WalBackend {
            inner,
            checkpoint_bytes,
            state: Mutex::new(Applied::default()),
            log: Mutex::new(log),
        })
    }

    /// Writes every pending frame to the log, moves the overlay into the
    /// backend as one batch, flushes the backend, and empties the log. The
    /// log file holds every frame whose writes the checkpoint carries before
    /// the backend sees them, so a crash at any point replays correctly.
    fn checkpoint_locked(&self, log: &mut Log) -> Result<(), StorageError> {
        {
            let mut state = self.state.lock().expect("wal lock");
            log.append(&state.pending)?;
            state.pending.clear();
            let batch: Batch = state.overlay.drain().collect();
            if batch.is_empty() {
                return Ok(());
            }
            // Still under the lock: no read sees a key gone from the overlay
            // before the backend has it.
            self.inner.apply(batch)?;
        }
        self.inner.flush()?;
        log.truncate()
    }
}

impl Log {
    fn truncate(&mut self) -> Result<(), StorageError> {
        self.file.set_len(0).map_err(|e| io("truncate", e))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| io("seek", e))?;
        self.file.sync_all().map_err(|e| io("sync", e))?;
        self.len = 0;
        Ok(())
    }

    /// Appends `bytes` and syncs; on failure, cuts the file back to its
    /// last whole frame so a retry starts clean.
    fn append(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        let result = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                let _ = self.file.seek(SeekFrom::Start(self.len));
                Err(io("append", e))
            }
        }
    }
}

impl Backend for WalBackend {
    fn apply(&self, batch: Batch) -> Result<(), StorageError> {
        let record = frame(&batch);
        let mut state = self.state.lock().expect("wal lock");
        state.pending.extend_from_slice(&record);
        state.overlay.extend(batch);
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        let mut log = self.log.lock().expect("wal lock");
        let bytes = std::mem::take(&mut self.state.lock().expect("wal lock").pending);
        if let Err(e) = log.append(&bytes) {
            // Put the frames back in front of any newer ones, for the retry.
            let mut state = self.state.lock().expect("wal lock");
            let newer = std::mem::replace(&mut state.pending, bytes);
            state.pending.extend_from_slice(&newer);
            return Err(e);
        }
        if log.len > self.checkpoint_bytes {
            self.checkpoint_locked(&mut log)?;
        }
        Ok(())
    }

    fn checkpoint(&self) -> Result<(), StorageError> {
        let mut log = self.log.lock().expect("wal lock");
        self.checkpoint_locked(&mut log)
    }

    fn scan(&self, prefix: &[u8]) -> Result<Pairs, StorageError> {
        let state = self.state.lock().expect("wal lock");
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self.inner.scan(prefix)?.into_iter().collect();
        for (k, v) in state.overlay.iter().filter(|(k, _)| k.starts_with(prefix)) {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
        Ok(merged.into_iter().collect())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let state = self.state.lock().expect("wal lock");
        match state.overlay.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.inner.get(key),
        }
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        let state = self.state.lock().expect("wal lock");
        Ok(self.inner.is_empty()? && state.overlay.values().all(Option::is_none))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flushed_log_is_replayed_after_a_crash_and_reads_see_the_overlay() {
        use super::super::sled_backend::SledBackend;
        let dir = tempfile::tempdir().unwrap();
        let wal_path = dir.path().join("ticketing.wal");
        {
            let sled: Arc<dyn Backend> = Arc::new(SledBackend::open(dir.path()).unwrap());
            let wal = WalBackend::open(sled, &wal_path, 1 << 20).unwrap();
            wal.apply(vec![(b"t/a".to_vec(), Some(b"1".to_vec()))])
                .unwrap();
            wal.apply(vec![
                (b"t/a".to_vec(), Some(b"2".to_vec())),
                (b"t/b".to_vec(), Some(b"x".to_vec())),
            ])
            .unwrap();
            wal.apply(vec![(b"t/b".to_vec(), None)]).unwrap();
            // Reads see the overlay before any checkpoint.
            assert_eq!(wal.get(b"t/a").unwrap(), Some(b"2".to_vec()));
            assert_eq!(wal.get(b"t/b").unwrap(), None);
            assert_eq!(
                wal.scan(b"t/").unwrap(),
                vec![(b"t/a".to_vec(), b"2".to_vec())]
            );
            wal.flush().unwrap();
            // Written after the last flush: not durable, may be lost.
            wal.apply(vec![(b"t/c".to_vec(), Some(b"lost".to_vec()))])
                .unwrap();
            // Dropped without a checkpoint: a crash, as far as sled knows.
        }
        let sled: Arc<dyn Backend> = Arc::new(SledBackend::open(dir.path()).unwrap());
        let wal = WalBackend::open(sled, &wal_path, 1 << 20).unwrap();
        assert_eq!(wal.get(b"t/a").unwrap(), Some(b"2".to_vec()));
        assert_eq!(wal.get(b"t/b").unwrap(), None);
        assert_eq!(wal.get(b"t/c").unwrap(), None);
        assert_eq!(
            std::fs::metadata(&wal_path).unwrap().len(),
            0,
            "replayed, then emptied"
        );
    }

    #[test]
    fn frames_round_trip_and_a_torn_tail_is_dropped() {
        let a: Batch = vec![(b"k1".to_vec(), Some(b"v1".to_vec()))];
        let b: Batch = vec![(b"k2".to_vec(), None), (b"k3".to_vec(), Some(vec![7; 300]))];
        let mut bytes = frame(&a);
        bytes.extend(frame(&b));
        assert_eq!(frames(&bytes), vec![a.clone(), b.clone()]);
        // Torn: the last frame cut short, or its body damaged.
        assert_eq!(frames(&bytes[..bytes.len() - 1]), vec![a.clone()]);
        let mut damaged = bytes.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0xff;
        assert_eq!(frames(&damaged), vec![a]);
        assert!(frames(&[1, 2, 3]).is_empty());
    }
}
