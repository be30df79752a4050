//! Group commit: one thread flushes the write-ahead log whenever batches
//! were queued since its last flush. The log itself tells each batch's
//! committer the outcome (see `wal`), so this thread only decides when to
//! flush and keeps the health and the counts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::{Backend, CommitStats};

/// The group-commit thread's handle, shared by all writers.
pub struct Flusher {
    queued: AtomicU64,
    stop: Mutex<bool>,
    wake: Condvar,
    healthy: AtomicBool,
    flushes: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Flusher {
    /// Starts the flusher thread for `backend`.
    pub fn start(backend: Arc<dyn Backend>) -> Arc<Self> {
        let flusher = Arc::new(Flusher {
            queued: AtomicU64::new(0),
            stop: Mutex::new(false),
            wake: Condvar::new(),
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
                while !*stop && self.queued.load(Ordering::Acquire) <= flushed {
                    stop = self.wake.wait(stop).expect("flusher lock");
                }
                *stop
            };
            // Every batch counted up to `target` was queued before this
            // load, so the flush below covers it.
            let target = self.queued.load(Ordering::Acquire);
            if target > flushed {
                let started = std::time::Instant::now();
                let result = backend.flush();
                metrics::counter!("storage_flushes_total").increment(1);
                metrics::histogram!("storage_flush_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!("storage_flush_batches").record((target - flushed) as f64);
                if let Err(e) = &result {
                    metrics::counter!("storage_flush_errors_total").increment(1);
                    tracing::error!(error = %e, "storage flush failed; its writes were refused");
                }
                self.healthy.store(result.is_ok(), Ordering::Release);
                self.flushes.fetch_add(1, Ordering::Relaxed);
                flushed = target;
            }
            if stopping {
                return;
            }
        }
    }

    /// Counts a batch that was just queued and wakes the flusher.
    pub fn queued(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let _guard = self.stop.lock().expect("flusher lock");
        self.wake.notify_one();
    }

    /// Whether the latest flush succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Batches queued and the flushes that covered them.
    pub fn stats(&self) -> CommitStats {
        CommitStats {
            batches: self.queued.load(Ordering::Relaxed),
            groups: self.flushes.load(Ordering::Relaxed),
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
