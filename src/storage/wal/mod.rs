//! A write-ahead log in front of the key-value backend, so that making a
//! batch durable is one `write` and one `fdatasync` on the flusher's own
//! thread, instead of a flush of sled (which seals its I/O buffers and hands
//! the writing to its thread pool: measured, those hand-offs between a dozen
//! threads on two cores were the cost of every durable write).
//!
//! - `enqueue` puts the batch's frame in the pending log, under one lock,
//!   so the log's order is the enqueue order. Nothing is visible yet and
//!   the backend is *not* written.
//! - `flush` writes the pending frames to the active *segment* and
//!   `fdatasync`s it; only then are their batches put in the in-memory
//!   overlay that reads see, and their committers told. A flush that fails
//!   drops its batches: the segment goes back to the end of the last good
//!   frame and the failed bytes are overwritten with zeros, so neither a
//!   reader now nor a replay later sees them (when even that fails, the
//!   committers hear that the write is uncertain). Segments are
//!   zero-filled when created, so a flush overwrites blocks the file
//!   already has and `fdatasync` need not write the inode too (one device
//!   write per flush instead of two).
//! - Once the active segment passes the checkpoint size, the next flush
//!   *rotates*: it starts a new segment, freezes the overlay, and a
//!   checkpoint thread folds the frozen overlay into the backend as one
//!   batch, flushes the backend and deletes the old segment. Writers go on
//!   meanwhile (before, they waited for the whole fold: ~35 ms at 1 MiB,
//!   2.4 s at 64 MiB). One fold runs at a time; a failed one is retried.
//! - Reads look in the overlay, then the frozen overlay, then the backend.
//! - At open, every segment is replayed in order (merged into the latest
//!   value of each key, then applied in slices as a fold is): each frame is
//!   a batch of whole-value puts and removes, and the backend holds the
//!   state at the end of some segment no older than the oldest one left,
//!   so replay reproduces the latest state. Folded segments are deleted
//!   oldest first, each deletion made durable before the next, so a newer
//!   segment never survives an older one it overrode. A torn last frame (a
//!   crash mid-write) fails its checksum and is dropped: it was never
//!   acknowledged.
//!
//! Here: the [`WalBackend`] and its overlay; `frame` encodes and checks one
//! frame, `segment` the log's files, `fold` rotation and checkpoints;
//! `fault` injects failures of an append or a fold, in tests.

#[cfg(test)]
mod fault;
mod fold;
mod frame;
mod segment;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

use super::{Backend, Pairs, StorageError};
use frame::{frame, frames, Batch};
use segment::{capacity, log_files, remove_durably, Segment};

/// The latest value (or removal) of every key written in some span.
type Overlay = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// A [`Backend`] made durable by a write-ahead log.
pub struct WalBackend {
    inner: Arc<dyn Backend>,
    dir: PathBuf,
    /// A segment is rotated out once it holds more than this.
    checkpoint_bytes: u64,
    state: Mutex<Applied>,
    log: Mutex<Log>,
}

/// What was applied since the last completed fold.
#[derive(Default)]
struct Applied {
    /// The latest value (or removal) of every key written since the last
    /// rotation.
    overlay: Overlay,
    /// The overlay of the rotated-out segment, until its fold is done.
    frozen: Option<Arc<Overlay>>,
    /// Frames not yet written to the log.
    pending: Vec<u8>,
    /// The batches of those frames, in order, with whoever waits for each.
    queued: Vec<Queued>,
}

/// A batch waiting for the flush that makes it durable and visible.
struct Queued {
    batch: Batch,
    done: Option<oneshot::Sender<Result<(), StorageError>>>,
}

/// The frames and batches one flush takes from the queue.
struct Taken {
    bytes: Vec<u8>,
    queued: Vec<Queued>,
}

impl Applied {
    fn take(&mut self) -> Taken {
        Taken {
            bytes: std::mem::take(&mut self.pending),
            queued: std::mem::take(&mut self.queued),
        }
    }

    /// Makes durable batches visible to reads, in log order.
    fn publish(&mut self, queued: &mut [Queued]) {
        for q in queued.iter_mut() {
            self.overlay.extend(std::mem::take(&mut q.batch));
        }
    }
}

/// Tells each committer of `queued` how its flush went.
fn answer(queued: Vec<Queued>, outcome: &Result<(), StorageError>) {
    for q in queued {
        if let Some(done) = q.done {
            let _ = done.send(outcome.clone());
        }
    }
}

/// The segment files and the fold of the previous one.
struct Log {
    active: Segment,
    /// The previous segment, until its fold succeeds.
    retired: Option<PathBuf>,
    /// The running fold, or a spare's preparation (see
    /// [`WalBackend::prepare_spare`]); it returns a spare segment for the
    /// next rotation.
    folding: Option<fold::Folding>,
    /// No fold is tried before this (after a failure).
    retry_at: Option<Instant>,
    /// A zero-filled segment ready to become the next active one.
    spare: Option<Segment>,
}

/// A log I/O failure, as the storage error writers see.
fn io(what: &str, e: std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("write-ahead log: {what}: {e}"))
}

/// Writes what a flush took to `segment`; once durable, its batches are
/// published to the overlay (under the state lock) before the committers
/// are told. On failure they are dropped and their committers told why.
fn write_taken(
    segment: &mut Segment,
    state: &Mutex<Applied>,
    mut taken: Taken,
) -> Result<(), StorageError> {
    let outcome = segment.append(&taken.bytes);
    if outcome.is_ok() {
        state.lock().expect("wal lock").publish(&mut taken.queued);
    }
    answer(taken.queued, &outcome);
    outcome
}

impl WalBackend {
    /// Opens the log in `dir` over `inner`: replays every segment into
    /// `inner`, flushes it, deletes the segments, and starts a new one.
    pub fn open(
        inner: Arc<dyn Backend>,
        dir: &Path,
        checkpoint_bytes: u64,
    ) -> Result<Self, StorageError> {
        let found = log_files(dir)?;
        // Every batch of every segment, oldest first, merged into the
        // latest value of each key, then applied as a fold is: a crash log
        // of 16 MiB is ~12,000 batches, and a sled batch each took 1.8 s.
        let mut latest = Overlay::new();
        let mut replayed = 0usize;
        for (_, path) in &found {
            let mut bytes = Vec::new();
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| io("read", e))?;
            for batch in frames(&bytes) {
                latest.extend(batch);
                replayed += 1;
            }
        }
        fold::apply_in_slices(inner.as_ref(), &latest)?;
        drop(latest);
        if replayed > 0 {
            tracing::info!(
                batches = replayed,
                segments = found.len(),
                "replayed the write-ahead log"
            );
        }
        inner.flush()?;
        for (_, path) in &found {
            remove_durably(dir, path)?;
        }
        let next = found.last().map_or(1, |(seq, _)| seq + 1);
        let active = Segment::create(dir, next, capacity(checkpoint_bytes))?;
        Ok(WalBackend {
            inner,
            dir: dir.to_owned(),
            checkpoint_bytes,
            state: Mutex::new(Applied::default()),
            log: Mutex::new(Log {
                active,
                retired: None,
                folding: None,
                retry_at: None,
                spare: None,
            }),
        })
    }

    /// Writes the pending frames to the active segment and syncs it, without
    /// holding the state lock during the I/O.
    fn flush_pending(&self, log: &mut Log) -> Result<(), StorageError> {
        let taken = self.state.lock().expect("wal lock").take();
        write_taken(&mut log.active, &self.state, taken)
    }

    /// Queues `batch` for the next flush, which makes it durable and then
    /// visible; the receiver hears how that went.
    pub fn enqueue(&self, batch: Batch) -> oneshot::Receiver<Result<(), StorageError>> {
        let (done, outcome) = oneshot::channel();
        self.push(batch, Some(done));
        outcome
    }

    fn push(&self, batch: Batch, done: Option<oneshot::Sender<Result<(), StorageError>>>) {
        let record = frame(&batch);
        let mut state = self.state.lock().expect("wal lock");
        state.pending.extend_from_slice(&record);
        state.queued.push(Queued { batch, done });
    }
}

impl Backend for WalBackend {
    /// Queues `batch` with nobody waiting for it: it becomes visible with
    /// the next successful flush (or is dropped by a failed one).
    fn apply(&self, batch: Batch) -> Result<(), StorageError> {
        self.push(batch, None);
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        let mut log = self.log.lock().expect("wal lock");
        self.reap_fold(&mut log, false);
        self.prepare_spare(&mut log);
        let due = log.active.len > self.checkpoint_bytes
            && log.folding.is_none()
            && log.retry_at.is_none_or(|at| Instant::now() >= at);
        if !due {
            return self.flush_pending(&mut log);
        }
        log.retry_at = None;
        let unfolded = self.state.lock().expect("wal lock").frozen.clone();
        match unfolded {
            // The last fold failed: try it again before rotating further.
            Some(frozen) => {
                self.start_fold(&mut log, frozen);
                self.flush_pending(&mut log)
            }
            None => self.rotate(&mut log),
        }
    }

    /// Folds everything into the backend now (at shutdown), waiting for a
    /// running fold first, and leaves an empty segment.
    fn checkpoint(&self) -> Result<(), StorageError> {
        let mut log = self.log.lock().expect("wal lock");
        self.reap_fold(&mut log, true);
        let taken = self.state.lock().expect("wal lock").take();
        write_taken(&mut log.active, &self.state, taken)?;
        {
            let mut state = self.state.lock().expect("wal lock");
            // An unfolded frozen overlay (its fold failed) first, newer last.
            let mut all = state.frozen.as_deref().cloned().unwrap_or_default();
            all.extend(state.overlay.iter().map(|(k, v)| (k.clone(), v.clone())));
            if !all.is_empty() {
                // Still under the lock: no read sees a key gone from the
                // overlays before the backend has it.
                self.inner.apply(all.into_iter().collect())?;
            }
            state.overlay.clear();
            state.frozen = None;
        }
        self.inner.flush()?;
        let next = self.next_segment(&mut log)?;
        let old = std::mem::replace(&mut log.active, next);
        if let Some(retired) = log.retired.take() {
            remove_durably(&self.dir, &retired)?;
        }
        remove_durably(&self.dir, &old.path)
    }

    fn scan(&self, prefix: &[u8]) -> Result<Pairs, StorageError> {
        let state = self.state.lock().expect("wal lock");
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self.inner.scan(prefix)?.into_iter().collect();
        let overlays = state.frozen.as_deref().into_iter().chain([&state.overlay]);
        for overlay in overlays {
            for (k, v) in overlay.iter().filter(|(k, _)| k.starts_with(prefix)) {
                match v {
                    Some(v) => merged.insert(k.clone(), v.clone()),
                    None => merged.remove(k),
                };
            }
        }
        Ok(merged.into_iter().collect())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let state = self.state.lock().expect("wal lock");
        let found = state
            .overlay
            .get(key)
            .or_else(|| state.frozen.as_ref().and_then(|f| f.get(key)));
        match found {
            Some(v) => Ok(v.clone()),
            None => self.inner.get(key),
        }
    }

    fn is_empty(&self) -> Result<bool, StorageError> {
        let state = self.state.lock().expect("wal lock");
        let overlays_empty = state.overlay.values().all(Option::is_none)
            && state
                .frozen
                .as_ref()
                .is_none_or(|f| f.values().all(Option::is_none));
        Ok(self.inner.is_empty()? && overlays_empty)
    }
}

/// A fold still running when the log is dropped holds the backend open:
/// wait for it, so the data directory is free once we are gone.
impl Drop for WalBackend {
    fn drop(&mut self) {
        if let Ok(log) = self.log.get_mut() {
            if let Some(handle) = log.folding.take() {
                let _ = handle.join();
            }
        }
    }
}

#[cfg(test)]
mod tests;
