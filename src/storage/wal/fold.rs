//! Checkpoints: rotating to a new segment, freezing the overlay, and
//! folding the frozen overlay into the backend as one batch on a thread of
//! its own, so writers go on meanwhile. One fold runs at a time; a failed one
//! is retried.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::frame::Batch;
use super::segment::{capacity, remove_durably, Segment};
use super::{write_taken, Log, Overlay, WalBackend};
use crate::storage::{Backend, StorageError};

/// Pairs per sled batch when a frozen overlay is folded.
const FOLD_SLICE: usize = 1024;

/// How long a failed fold waits before it is tried again.
const FOLD_RETRY: Duration = Duration::from_secs(1);

/// Applies `overlay` to `backend` in slices of [`FOLD_SLICE`] pairs: one
/// sled batch of a 100,000-seat event costs sled gigabytes. Need not be
/// atomic: until the backend is flushed and the segments deleted, a crash
/// replays them whole (whole-value puts and removes) over whatever part was
/// applied.
pub(super) fn apply_in_slices(
    backend: &dyn Backend,
    overlay: &Overlay,
) -> Result<(), StorageError> {
    let mut pairs = overlay.iter().peekable();
    while pairs.peek().is_some() {
        let slice: Batch = pairs
            .by_ref()
            .take(FOLD_SLICE)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        backend.apply(slice)?;
    }
    Ok(())
}

/// The thread that a fold's result comes from.
pub(super) type Folding = std::thread::JoinHandle<Result<Option<Segment>, StorageError>>;

impl WalBackend {
    /// Once the active segment is half full with no spare and no fold to
    /// make one (the first segment after opening, or after a fold that
    /// could not), zero-fills the next segment on a thread of its own, as
    /// a fold that folds nothing: the first rotation made its own while
    /// every commit waited for the 16 MiB fill and its sync (15 ms on a
    /// quiet disk, more beside a sale). Not at opening: a server that
    /// never fills half a segment (every test's) writes no spare. Not while
    /// a failed fold's segment waits for its retry either: the preparation
    /// takes the fold's place, and a finished one is reaped as a fold that
    /// succeeded, which would drop the unfolded writes from the overlay.
    pub(super) fn prepare_spare(&self, log: &mut Log) {
        if log.spare.is_some()
            || log.folding.is_some()
            || log.retired.is_some()
            || log.active.len <= self.checkpoint_bytes / 2
        {
            return;
        }
        let dir = self.dir.clone();
        let (seq, capacity) = (log.active.seq + 1, capacity(self.checkpoint_bytes));
        match std::thread::Builder::new()
            .name("storage-spare".into())
            .spawn(move || Ok(Segment::create(&dir, seq, capacity).ok()))
        {
            Ok(handle) => log.folding = Some(handle),
            Err(e) => tracing::warn!(error = %e, "cannot prepare a spare log segment"),
        }
    }

    /// Collects the fold if it has finished (or, with `wait`, once it has).
    pub(super) fn reap_fold(&self, log: &mut Log, wait: bool) {
        let Some(handle) = log.folding.take_if(|h| wait || h.is_finished()) else {
            return;
        };
        let failed = match handle.join() {
            Ok(Ok(spare)) => {
                self.state.lock().expect("wal lock").frozen = None;
                log.retired = None;
                log.spare = spare;
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the checkpoint thread panicked".to_owned(),
        };
        tracing::error!(error = %failed, "checkpoint failed; will retry");
        metrics::counter!("storage_checkpoint_errors_total").increment(1);
        log.retry_at = Some(Instant::now() + FOLD_RETRY);
    }

    /// Starts folding `frozen` into the backend on a thread of its own;
    /// when done, it deletes the retired segment and prepares a spare.
    pub(super) fn start_fold(&self, log: &mut Log, frozen: Arc<Overlay>) {
        let inner = self.inner.clone();
        let dir = self.dir.clone();
        let retired = log.retired.clone();
        let spare_seq = log.active.seq + 1;
        let spare_capacity = capacity(self.checkpoint_bytes);
        #[cfg(test)]
        let injected = super::fault::fold_fails();
        let fold = move || {
            #[cfg(test)]
            if injected {
                return Err(StorageError::Unavailable("injected fold fault".into()));
            }
            let started = Instant::now();
            apply_in_slices(inner.as_ref(), &frozen)?;
            inner.flush()?;
            if let Some(path) = retired {
                remove_durably(&dir, &path)?;
            }
            metrics::counter!("storage_checkpoints_total").increment(1);
            metrics::histogram!("storage_checkpoint_seconds")
                .record(started.elapsed().as_secs_f64());
            // Without a spare, the next rotation makes its own segment.
            Ok(Segment::create(&dir, spare_seq, spare_capacity).ok())
        };
        match std::thread::Builder::new()
            .name("storage-checkpoint".into())
            .spawn(fold)
        {
            Ok(handle) => log.folding = Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the checkpoint thread; will retry");
                log.retry_at = Some(Instant::now() + FOLD_RETRY);
            }
        }
    }

    /// Writes the pending frames to the old segment, freezes the overlay,
    /// switches to a new segment and starts folding the frozen overlay.
    /// Without a new segment (no disk space, say), it leaves things as they
    /// are: the active segment just grows.
    pub(super) fn rotate(&self, log: &mut Log) -> Result<(), StorageError> {
        let next = match self.next_segment(log) {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a new log segment; checkpoint postponed");
                log.retry_at = Some(Instant::now() + FOLD_RETRY);
                return self.flush_pending(log);
            }
        };
        // Only this thread (holding the log) publishes to the overlay, so
        // once these frames are published the overlay is exactly the old
        // segment's content; frames queued meanwhile go to the new one.
        let taken = self.state.lock().expect("wal lock").take();
        if let Err(e) = write_taken(&mut log.active, &self.state, taken) {
            log.spare = Some(next);
            return Err(e);
        }
        let frozen = {
            let mut state = self.state.lock().expect("wal lock");
            let frozen = Arc::new(std::mem::take(&mut state.overlay));
            state.frozen = Some(frozen.clone());
            frozen
        };
        let old = std::mem::replace(&mut log.active, next);
        log.retired = Some(old.path);
        self.start_fold(log, frozen);
        Ok(())
    }

    /// The segment after the active one: the spare the last fold made ready,
    /// or a new one.
    pub(super) fn next_segment(&self, log: &mut Log) -> Result<Segment, StorageError> {
        let want = log.active.seq + 1;
        match log.spare.take() {
            Some(spare) if spare.seq == want => Ok(spare),
            _ => Segment::create(&self.dir, want, capacity(self.checkpoint_bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::segment::log_files;
    use super::super::tests::{open, put, value};
    use super::super::WalBackend;
    use crate::storage::Backend;

    /// The checkpoint size of the test below: a rotation every few flushes.
    const CHECKPOINT_BYTES: u64 = 2048;

    /// Longer than a fold takes, even on a busy machine.
    const FOLD_WITHIN: Duration = Duration::from_secs(10);

    /// Longer than a failed fold's retry delay and the retry, even on a busy
    /// machine.
    const FOLD_RETRY_WITHIN: Duration = Duration::from_secs(15);

    /// Whether a fold is running now.
    fn folding(wal: &WalBackend) -> bool {
        let log = wal.log.lock().unwrap();
        log.folding.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Waits (at most `FOLD_WITHIN`) for the running fold to end: a flush
    /// rotates only once the previous fold is done, and on a busy machine a
    /// fold can outlast the writes that fill the next segment.
    fn wait_for_fold(wal: &WalBackend) {
        let deadline = Instant::now() + FOLD_WITHIN;
        while folding(wal) {
            assert!(
                Instant::now() < deadline,
                "a fold took over {FOLD_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn writers_go_on_while_segments_are_folded_and_a_crash_at_any_point_replays() {
        let dir = tempfile::tempdir().unwrap();
        {
            let wal = open(dir.path(), CHECKPOINT_BYTES);
            let (mut rotations, mut flushes_while_folding) = (0, 0);
            for i in 0..400 {
                // Past the checkpoint size, this flush must rotate, so it
                // waits for the last fold; the others go on meanwhile.
                let (due, seq) = {
                    let log = wal.log.lock().unwrap();
                    (log.active.len > CHECKPOINT_BYTES, log.active.seq)
                };
                if due {
                    wait_for_fold(&wal);
                }
                wal.apply(vec![put(&format!("k/{}", i % 37), &i.to_string())])
                    .unwrap();
                wal.apply(vec![put(&format!("n/{i:04}"), &"x".repeat(100))])
                    .unwrap();
                wal.flush().unwrap();
                assert_eq!(
                    wal.log.lock().unwrap().active.seq,
                    seq + u64::from(due),
                    "flush {i} rotates if and only if the segment is past the checkpoint size"
                );
                rotations += usize::from(due);
                // A fold still running after this flush: it did not wait.
                if !due && folding(&wal) {
                    flushes_while_folding += 1;
                }
                // Every read sees the latest write, folded or not.
                assert_eq!(value(&wal, &format!("k/{}", i % 37)), Some(i.to_string()));
                assert_eq!(value(&wal, "n/0000").as_deref(), Some(&*"x".repeat(100)));
            }
            eprintln!("{rotations} rotations; {flushes_while_folding} flushes while a fold ran");
            assert!(
                flushes_while_folding > 0,
                "no flush went on while a fold ran"
            );
            assert_eq!(wal.scan(b"n/").unwrap().len(), 400);
            let files = log_files(dir.path()).unwrap();
            assert!(
                files.len() <= 3,
                "folded segments are deleted (active, retired, spare): {files:?}"
            );
            assert!(files[0].0 > 10, "segments rotated: {files:?}");
            // Crash: dropped without a checkpoint, a fold maybe under way.
        }
        let wal = open(dir.path(), CHECKPOINT_BYTES);
        for k in 0..37 {
            let last = (0..400).filter(|i| i % 37 == k).max().unwrap();
            assert_eq!(value(&wal, &format!("k/{k}")), Some(last.to_string()));
        }
        assert_eq!(wal.scan(b"n/").unwrap().len(), 400);
    }

    #[test]
    fn after_a_failed_fold_its_writes_stay_readable_and_the_fold_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let wal = open(dir.path(), CHECKPOINT_BYTES);
            let mut i = 0;
            // Fill the first segment (its spare made once it is half full),
            // then rotate with a fold that fails.
            while wal.log.lock().unwrap().active.seq == 1 {
                let due = wal.log.lock().unwrap().active.len > CHECKPOINT_BYTES;
                if due {
                    wait_for_fold(&wal);
                    super::super::fault::fail_next_fold();
                }
                wal.apply(vec![put(&format!("a/{i:04}"), &"x".repeat(100))])
                    .unwrap();
                wal.flush().unwrap();
                i += 1;
            }
            let before = i;
            wait_for_fold(&wal);
            // The next segment fills past half, then past full: no spare's
            // preparation may pass for the failed fold, and what it did not
            // fold stays readable.
            while wal.log.lock().unwrap().active.len <= CHECKPOINT_BYTES {
                wal.apply(vec![put(&format!("b/{i:04}"), "y")]).unwrap();
                wal.flush().unwrap();
                wait_for_fold(&wal);
                wal.flush().unwrap();
                i += 1;
                assert_eq!(
                    wal.scan(b"a/").unwrap().len(),
                    before,
                    "the writes of the failed fold's segment, after write {i}"
                );
            }
            // Once the retry is due (a second after the failure), a flush
            // folds them again and the first segment is deleted.
            wal.apply(vec![put("c/0", "z")]).unwrap();
            let deadline = Instant::now() + FOLD_RETRY_WITHIN;
            while log_files(dir.path()).unwrap()[0].0 == 1 {
                assert!(Instant::now() < deadline, "the failed fold was not retried");
                wal.flush().unwrap();
                wait_for_fold(&wal);
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(wal.scan(b"a/").unwrap().len(), before);
            assert_eq!(value(&wal, "c/0").as_deref(), Some("z"));
            before
        };
        let wal = open(dir.path(), CHECKPOINT_BYTES);
        assert_eq!(wal.scan(b"a/").unwrap().len(), before);
    }
}
