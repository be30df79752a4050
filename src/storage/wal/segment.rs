//! The log's files: segments zero-filled when created (so a flush
//! overwrites blocks the file already has and `fdatasync` need not write the
//! inode too), their naming, the order they are replayed in, and deletions
//! made durable one at a time.
//!
//! Files: `<data>/ticketing.wal.<n>`, `n` rising, never reused (earlier
//! builds wrote one `<data>/ticketing.wal`: replayed first, then removed).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::io;
use crate::storage::StorageError;

/// The single log file of earlier builds.
pub(super) const LEGACY_LOG: &str = "ticketing.wal";
/// Segment files: this prefix and a sequence number.
pub(super) const SEGMENT_PREFIX: &str = "ticketing.wal.";

/// One log file, zero-filled up to its capacity when created.
pub(super) struct Segment {
    /// Its place in the replay order.
    pub(super) seq: u64,
    /// Where it is, to delete it once folded.
    pub(super) path: PathBuf,
    file: File,
    /// Bytes of whole frames written.
    pub(super) len: u64,
}

/// Makes file creations and deletions in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync directory", e))
}

/// Every log file in `dir`, oldest first (the legacy file counts as 0).
pub(super) fn log_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StorageError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io("list", e))? {
        let entry = entry.map_err(|e| io("list", e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let seq = if name == LEGACY_LOG {
            Some(0)
        } else {
            name.strip_prefix(SEGMENT_PREFIX)
                .and_then(|n| n.parse::<u64>().ok())
        };
        if let Some(seq) = seq {
            found.push((seq, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Removes `path` (gone already is fine) and makes that durable.
pub(super) fn remove_durably(dir: &Path, path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("remove a folded segment", e)),
    }
    sync_dir(dir)
}

impl Segment {
    /// Creates segment `seq` in `dir`, zero-filled to `capacity` bytes and
    /// synced, so appends within it change no file metadata.
    pub(super) fn create(dir: &Path, seq: u64, capacity: u64) -> Result<Segment, StorageError> {
        let path = dir.join(format!("{SEGMENT_PREFIX}{seq:020}"));
        let made = (|| {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?;
            let zeros = vec![0u8; 64 * 1024];
            let mut left = capacity;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                file.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            file.sync_all()?;
            file.seek(SeekFrom::Start(0))?;
            Ok(file)
        })();
        match made {
            Ok(file) => {
                sync_dir(dir)?;
                Ok(Segment {
                    seq,
                    path,
                    file,
                    len: 0,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(io("create a segment", e))
            }
        }
    }

    /// Appends `bytes` and syncs. On failure, goes back to the end of the
    /// last whole frame and overwrites what may have been written with
    /// zeros (synced), so no replay finds the failed frames: then the error
    /// is `Unavailable` (nothing written); if even that fails, `Uncertain`.
    pub(super) fn append(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        if bytes.is_empty() {
            return Ok(());
        }
        #[cfg(test)]
        if super::fault::append_fails() {
            let injected = std::io::Error::other("injected fault");
            return self.undo(bytes.len(), io("append (injected)", injected));
        }
        let result = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => self.undo(bytes.len(), io("append", e)),
        }
    }

    /// Clears `n` bytes after the last whole frame (see [`Segment::append`]).
    fn undo(&mut self, n: usize, failed: StorageError) -> Result<(), StorageError> {
        let cleared = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&vec![0u8; n]))
            .and_then(|()| self.file.sync_data())
            .and_then(|()| self.file.seek(SeekFrom::Start(self.len)));
        match cleared {
            Ok(_) => Err(failed),
            Err(e) => Err(StorageError::Uncertain(format!(
                "{failed}; and the failed frames could not be cleared: {e}"
            ))),
        }
    }
}

/// Bytes a new segment is zero-filled to: the checkpoint size and some room
/// for the flushes that come before the rotation.
pub(super) fn capacity(checkpoint_bytes: u64) -> u64 {
    (checkpoint_bytes + 64 * 1024).next_multiple_of(4096)
}
