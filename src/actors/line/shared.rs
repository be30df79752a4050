//! [`Shared`]: one line as its readers see it, and the two signals its
//! watchers wake on. A line that takes thousands of joins a second stores
//! hundreds of batches a second; waking every watcher on each would cost
//! 15,000 watchers millions of wake-ups a second, each recomputing an entry
//! whose `ahead` may only be sent once a second anyway. So the line's
//! movement is signalled at most once per [`MOVED_EVERY`] to all, and a
//! change of an account's own entry (an admission, `soldout`, its place
//! from the draw) goes at once to that account's watchers only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::actors::listeners::{Listener, Listeners};
use crate::domain::line::Line;
use crate::domain::UserId;

/// The line's movement is signalled to its watchers at most this often: a
/// waiting entry is not sent more often than that anyway.
pub const MOVED_EVERY: Duration = Duration::from_secs(1);

/// A line as readers see it, and the signals that it changed.
pub struct Shared {
    /// The line as last stored.
    pub line: RwLock<Line>,
    /// Bumped when the line moved (at most once per [`MOVED_EVERY`]) and
    /// when it is gone.
    moved: watch::Sender<u64>,
    /// Per watched account, signalled when its own entry changed.
    own: Arc<Listeners<UserId>>,
    /// Set when the event is deleted: the line is gone.
    closed: AtomicBool,
}

/// One watcher's signals; it stops counting as a watcher of its account
/// when dropped.
pub struct Signals {
    shared: Arc<Shared>,
    /// Changes when the line moved or is gone.
    pub moved: watch::Receiver<u64>,
    /// Changes when the account's own entry changed.
    pub own: Listener<UserId>,
}

impl Shared {
    /// `line`, not yet watched.
    pub fn new(line: Line) -> Self {
        Shared {
            line: RwLock::new(line),
            moved: watch::Sender::new(0),
            own: Arc::default(),
            closed: AtomicBool::new(false),
        }
    }

    /// Whether the line is gone (its event deleted).
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the line gone and wakes every watcher to see it.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.moved.send_modify(|n| *n += 1);
    }

    /// Tells every watcher that the line moved.
    pub fn moved(&self) {
        self.moved.send_modify(|n| *n += 1);
    }

    /// Tells the watchers of each of `users` that their entry changed.
    pub fn changed(&self, users: impl IntoIterator<Item = UserId>) {
        self.own.signal(users);
    }

    /// Signals for a watcher of `user`'s entry, marked seen.
    pub fn signals(self: &Arc<Self>, user: UserId) -> Signals {
        Signals {
            shared: self.clone(),
            moved: self.moved.subscribe(),
            own: self.own.listen(user),
        }
    }
}

impl Signals {
    /// The line watched.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }
}
