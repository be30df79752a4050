//! Password hashing (bcrypt) on threads of its own, one per core, at the
//! lowest priority that still runs when the CPU is busy (`SCHED_BATCH`,
//! nice 19).
//!
//! Why: a bcrypt hash is ~60 ms of CPU at cost 10. On the blocking pool at
//! normal priority, two hashes in flight on two cores made every other
//! request wait for the kernel to preempt a hash: GET p99 went from 0.5 ms
//! to 4.5 ms during signups (9-13x; BENCHMARKS.md, round 4). At the lowest
//! priority a request thread that wakes runs at once (GET p99 0.4-1.0x of
//! its time without signups, round 9), and the hashes get every cycle
//! nobody else wants, so signups keep their rate (~0.95 of cores / hash
//! time) on a server that is not saturated.
//!
//! On a saturated server hashes get a small share (nice 19 weighs 15 to a
//! normal thread's 1024): cheap requests go first, yet a hash always ends,
//! and one that cannot start within [`MAX_WAIT`] is refused with a 503 and
//! `Retry-After` rather than left hanging. `SCHED_IDLE`, used before, gave
//! them nothing at all while other threads were busy: a signup could wait
//! without bound (round 9).

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::error::ApiError;
use crate::domain::Password;

/// How long a hash may wait for a hashing thread before it is refused.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Work for a hashing thread, and when it was queued.
type Job = (Instant, Box<dyn FnOnce() + Send>);

/// bcrypt hashing and checking, off the async threads.
pub struct Passwords {
    cost: u32,
    jobs: mpsc::Sender<Job>,
    /// A real hash of a random password, checked for unknown emails so they
    /// cost the same time as a wrong password.
    dummy_hash: String,
}

impl Passwords {
    /// A hasher at `cost`, with one hashing thread per core.
    pub fn new(cost: u32) -> Result<Self, ApiError> {
        Self::with_max_wait(cost, MAX_WAIT)
    }

    /// A hasher refusing work that waited longer than `max_wait`.
    fn with_max_wait(cost: u32, max_wait: Duration) -> Result<Self, ApiError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..cores {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || hashing_thread(&rx, max_wait))
                .map_err(|e| ApiError::Internal(format!("starting a hashing thread: {e}")))?;
        }
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| ApiError::Internal(e.to_string()))?;
        let dummy_hash =
            bcrypt::hash(random, cost).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Passwords {
            cost,
            jobs: tx,
            dummy_hash,
        })
    }

    /// The bcrypt hash of `password`.
    pub async fn hash(&self, password: Password) -> Result<String, ApiError> {
        let cost = self.cost;
        self.run(move || bcrypt::hash(password.expose(), cost))
            .await?
            .map_err(|e| ApiError::Internal(format!("hashing: {e}")))
    }

    /// Whether `password` matches `hash`; with no hash (unknown email) it
    /// checks the dummy hash and answers `false`, taking the same time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self
            .run(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await?;
        Ok(ok && known)
    }

    /// Runs `work` on a hashing thread; 503 if it could not start within
    /// [`MAX_WAIT`].
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        let job: Box<dyn FnOnce() + Send> = Box::new(move || {
            // The caller may be gone (client disconnected): skip the work.
            if !tx.is_closed() {
                let _ = tx.send(work());
            }
        });
        self.jobs
            .send((Instant::now(), job))
            .map_err(|_| ApiError::Internal("the hashing threads are gone".into()))?;
        // A job refused for waiting too long is dropped unrun: `tx` with it.
        rx.await.map_err(|_| ApiError::Busy)
    }
}

/// Takes jobs until the queue closes, at the lowest priority.
fn hashing_thread(jobs: &Mutex<mpsc::Receiver<Job>>, max_wait: Duration) {
    lowest_priority();
    loop {
        let next = jobs.lock().expect("hashing queue lock").recv();
        let Ok((queued, job)) = next else { return };
        if queued.elapsed() > max_wait {
            metrics::counter!("password_hashes_refused_total").increment(1);
            continue;
        }
        job();
    }
}

/// Puts the calling thread at `SCHED_BATCH`, nice 19: it yields to any
/// other thread that wakes, yet keeps a small share of a busy core.
fn lowest_priority() {
    let attr = libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: libc::SCHED_BATCH as u32,
        sched_flags: 0,
        sched_nice: 19,
        sched_priority: 0,
        sched_runtime: 0,
        sched_deadline: 0,
        sched_period: 0,
    };
    // SAFETY: plain syscall on the calling thread (pid 0) with a valid,
    // fully initialised `sched_attr` that outlives the call; flags 0.
    let set = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw const attr, 0) };
    if set != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "hashing thread keeps normal priority"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_run_on_the_hashing_threads_and_verify() {
        let passwords = Arc::new(Passwords::new(4).unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let passwords = passwords.clone();
                tokio::spawn(async move {
                    let password = format!("password-{i}");
                    let hash = passwords
                        .hash(Password::parse(&password).unwrap())
                        .await
                        .unwrap();
                    (
                        passwords
                            .verify(password, Some(hash.clone()))
                            .await
                            .unwrap(),
                        passwords
                            .verify("wrong-password".into(), Some(hash))
                            .await
                            .unwrap(),
                    )
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), (true, false));
        }
        // Unknown email: the dummy hash is checked, and the answer is no.
        assert!(!passwords.verify("password-0".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn hashing_threads_run_at_batch_priority_nice_19() {
        let passwords = Passwords::new(4).unwrap();
        let (policy, nice) = passwords
            .run(|| {
                // SAFETY: plain syscalls on the calling thread (pid/tid 0).
                unsafe {
                    (
                        libc::sched_getscheduler(0),
                        libc::getpriority(libc::PRIO_PROCESS, 0),
                    )
                }
            })
            .await
            .unwrap();
        assert_eq!((policy, nice), (libc::SCHED_BATCH, 19));
    }

    #[tokio::test]
    async fn work_that_waited_too_long_is_refused_as_busy() {
        let passwords = Passwords::with_max_wait(4, Duration::ZERO).unwrap();
        let refused = passwords.hash(Password::parse("password-1").unwrap()).await;
        assert!(matches!(refused, Err(ApiError::Busy)), "{refused:?}");
    }
}
