//! The one clock the core reads: every decision by time (hold deadlines and
//! their expiry, order, payment and account timestamps, session token
//! `iat`/`exp` and their expiry check, pruning revoked sessions) asks a
//! [`Clock`], and hold timers wait on it. The server runs on the system
//! clock; tests run it on a [`ManualClock`] they move by hand, so holds,
//! expiry and restarts are tested without real waiting.
//!
//! Not domain time, so on `Instant` on purpose: the ticket actors' idle stop,
//! rate-limit windows, retry delays and I/O timeouts. Ids
//! (`domain::IdGenerator`) embed the OS time for ordering only; nothing
//! decides by it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use tokio::sync::watch;

use crate::domain::Timestamp;

/// Where the core gets the time from. Cheap to clone, `Send + Sync`.
#[derive(Clone, Default)]
pub struct Clock {
    source: Source,
}

#[derive(Clone, Default)]
enum Source {
    /// The OS clock; waits are tokio sleeps. No lock on this path.
    #[default]
    System,
    /// A [`ManualClock`]'s current time; waits end when it passes them.
    Manual(Arc<watch::Sender<Timestamp>>),
}

impl Clock {
    /// The OS clock (what the server runs on).
    pub fn system() -> Self {
        Clock::default()
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match &self.source {
            Source::System => Timestamp::now(),
            Source::Manual(time) => *time.borrow(),
        }
    }

    /// A future that completes once this clock reads `deadline` or later
    /// (never before; at once if it has passed). Hold timers wait on it.
    pub fn sleep_until(&self, deadline: Timestamp) -> impl Future<Output = ()> + Send + 'static {
        match &self.source {
            // One extra millisecond: `now()` truncates to milliseconds, so
            // the wait must not end inside the millisecond before `deadline`.
            Source::System => Either::Left(tokio::time::sleep(
                Timestamp::now().until(deadline) + Duration::from_millis(1),
            )),
            Source::Manual(time) => {
                let mut time = time.subscribe();
                Either::Right(async move {
                    if time.wait_for(|now| *now >= deadline).await.is_err() {
                        // The clock is gone, so its time never comes.
                        std::future::pending::<()>().await;
                    }
                })
            }
        }
    }
}

/// A clock that stands still until moved, for tests of holds, expiry,
/// sessions and restarts: start the server on [`ManualClock::clock`], then
/// [`advance`](ManualClock::advance) or [`set`](ManualClock::set) it.
/// Cheap to clone; every clone moves the same time.
#[derive(Clone)]
pub struct ManualClock {
    time: Arc<watch::Sender<Timestamp>>,
}

impl ManualClock {
    /// A clock reading `start` until moved.
    pub fn starting_at(start: Timestamp) -> Self {
        ManualClock {
            time: Arc::new(watch::Sender::new(start)),
        }
    }

    /// The [`Clock`] to hand to the server: it reads this clock's time.
    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(self.time.clone()),
        }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        *self.time.borrow()
    }

    /// Moves the time to `to` (backwards too) and wakes every wait that is
    /// now due.
    pub fn set(&self, to: Timestamp) {
        self.time.send_replace(to);
    }

    /// Moves the time forward by `by` and wakes every wait now due.
    pub fn advance(&self, by: Duration) {
        self.time.send_modify(|now| *now = now.plus(by));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_wait_ends_when_the_clock_reaches_its_deadline_not_before() {
        let manual = ManualClock::starting_at(Timestamp(1_000));
        let clock = manual.clock();
        let wait = tokio::spawn(clock.sleep_until(Timestamp(1_500)));
        manual.advance(Duration::from_millis(499));
        assert_eq!(clock.now(), Timestamp(1_499));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!wait.is_finished(), "woke 1 ms before the deadline");
        manual.set(Timestamp(1_500));
        tokio::time::timeout(Duration::from_secs(2), wait)
            .await
            .expect("woke at the deadline")
            .unwrap();
        // A deadline already passed ends at once.
        tokio::time::timeout(Duration::from_secs(2), clock.sleep_until(Timestamp(0)))
            .await
            .expect("a past deadline ends at once");
    }

    #[tokio::test]
    async fn a_system_wait_does_not_end_before_its_deadline() {
        let clock = Clock::system();
        let deadline = clock.now().plus(Duration::from_millis(30));
        clock.sleep_until(deadline).await;
        assert!(clock.now() >= deadline);
    }
}
