//! Group commit: one thread flushes the backend whenever batches were applied
//! since its last flush, and tells every waiting writer which batches the
//! flush covered.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::{Backend, StorageError};

/// The outcome of the latest flush.
#[derive(Debug, Clone, Default)]
struct FlushOutcome {
    /// Every batch with a sequence number up to this one was covered.
    upto: u64,
    /// `None` when the flush succeeded.
    error: Option<String>,
}

/// Counters for benches and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushStats {
    /// Flushes done.
    pub flushes: u64,
    /// Batches those flushes covered.
    pub batches: u64,
}

/// The group-commit coordinator shared by all writers.
pub struct Flusher {
    applied: AtomicU64,
    stop: Mutex<bool>,
    wake: Condvar,
    outcome: watch::Sender<FlushOutcome>,
    healthy: AtomicBool,
    flushes: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Flusher {
    /// Starts the flusher thread for `backend`.
    pub fn start(backend: Arc<dyn Backend>) -> Arc<Self> {
        let flusher = Arc::new(Flusher {
            applied: AtomicU64::new(0),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            outcome: watch::Sender::new(FlushOutcome::default()),
            healthy: AtomicBool::new(true),
            flushes: AtomicU64::new(0),
            thread: Mutex::new(None),
        });
        let worker = flusher.clone();
        let handle = std::thread::Builder::new()
            .name("storage-flusher".into())
            .spawn(move || worker.run(backend))
            .expect("spawn the storage flusher thread");
        *flusher.thread.lock().expect("flusher lock") = Some(handle);
        flusher
    }

    fn run(&self, backend: Arc<dyn Backend>) {
        let mut flushed = 0u64;
        loop {
            let stopping = {
                let mut stop = self.stop.lock().expect("flusher lock");
                while !*stop && self.applied.load(Ordering::Acquire) <= flushed {
                    stop = self.wake.wait(stop).expect("flusher lock");
                }
                *stop
            };
            // Every batch numbered up to `target` was applied before this
            // load, so the flush below covers it.
            let target = self.applied.load(Ordering::Acquire);
            if target > flushed {
                let started = std::time::Instant::now();
                let error = backend.flush().err().map(|e| e.to_string());
                metrics::counter!("storage_flushes_total").increment(1);
                metrics::histogram!("storage_flush_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!("storage_flush_batches").record((target - flushed) as f64);
                if error.is_some() {
                    metrics::counter!("storage_flush_errors_total").increment(1);
                }
                if let Some(e) = &error {
                    tracing::error!(error = %e, "storage flush failed");
                }
                self.healthy.store(error.is_none(), Ordering::Release);
                self.flushes.fetch_add(1, Ordering::Relaxed);
                flushed = target;
                self.outcome.send_replace(FlushOutcome {
                    upto: target,
                    error,
                });
            }
            if stopping {
                return;
            }
        }
    }

    /// Numbers a batch that was just applied and wakes the flusher.
    pub fn applied(&self) -> u64 {
        let seq = self.applied.fetch_add(1, Ordering::AcqRel) + 1;
        let _guard = self.stop.lock().expect("flusher lock");
        self.wake.notify_one();
        seq
    }

    /// Waits for the flush covering batch `seq`.
    pub async fn wait(&self, seq: u64) -> Result<(), StorageError> {
        let mut rx = self.outcome.subscribe();
        let outcome = rx
            .wait_for(|o| o.upto >= seq)
            .await
            .map_err(|_| StorageError::Unavailable("storage is closed".into()))?;
        match &outcome.error {
            None => Ok(()),
            Some(e) => Err(StorageError::Unavailable(e.clone())),
        }
    }

    /// Records that a write failed before reaching the flusher.
    pub fn mark_failed(&self, e: &StorageError) {
        tracing::error!(error = %e, "storage write failed");
        self.healthy.store(false, Ordering::Release);
    }

    /// Whether the latest write and flush succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Flush counters.
    pub fn stats(&self) -> FlushStats {
        FlushStats {
            flushes: self.flushes.load(Ordering::Relaxed),
            batches: self.applied.load(Ordering::Relaxed),
        }
    }

    /// Flushes what is pending and ends the thread.
    pub fn stop(&self) {
        *self.stop.lock().expect("flusher lock") = true;
        self.wake.notify_one();
        if let Some(handle) = self.thread.lock().expect("flusher lock").take() {
            let _ = handle.join();
        }
    }
}
