//! A store in front of the server's real one (`Gate`), for tests of what
//! readers see while commits are held in flight or refused: the commit
//! tests and the waiting room's deletion tests.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ticketing::storage::{
    Answer, CommitStats, Committing, Snapshot, Storage, StorageError, Store, Write,
};
use tokio::sync::Semaphore;

use crate::helpers::StoreLayer;

/// A store in front of the real one that can hold commits back (until the
/// test lets them through) or refuse them (nothing reaches the real store).
struct Gate {
    inner: Storage,
    refuse: Arc<AtomicBool>,
    /// Batches refused once through the gate, whatever `refuse` says.
    refuse_when: fn(&[Write]) -> bool,
    /// Commits let through; closed (0 permits) holds them.
    open: Arc<Semaphore>,
    /// Commits that reached the gate, held or not.
    arrived: Arc<AtomicUsize>,
}

/// Permits of an open gate: more than any test's commits at once.
const PERMITS: u32 = 1 << 20;

/// The test's side of a [`Gate`].
#[derive(Clone)]
pub struct Controls {
    /// Refuse every commit at once (and say unwritable) while set.
    pub refuse: Arc<AtomicBool>,
    open: Arc<Semaphore>,
    /// Commits that reached the gate, held or not.
    pub arrived: Arc<AtomicUsize>,
    refuse_when: fn(&[Write]) -> bool,
}

impl Controls {
    /// An open gate that refuses nothing.
    pub fn new() -> Self {
        Self::refusing(|_| false)
    }

    /// An open gate that refuses, once through, the batches `when` picks.
    pub fn refusing(when: fn(&[Write]) -> bool) -> Self {
        Controls {
            refuse: Arc::new(AtomicBool::new(false)),
            open: Arc::new(Semaphore::new(PERMITS as usize)),
            arrived: Arc::new(AtomicUsize::new(0)),
            refuse_when: when,
        }
    }

    /// Holds every later commit until [`Controls::release`].
    pub async fn hold(&self) {
        let all = self.open.acquire_many(PERMITS).await;
        all.expect("gate").forget();
    }

    /// Lets held and later commits through.
    pub fn release(&self) {
        self.open.add_permits(PERMITS as usize);
    }

    /// Wraps the server's store in this gate (at every start).
    pub fn layer(&self) -> StoreLayer {
        let c = self.clone();
        Arc::new(move |inner| {
            Arc::new(Gate {
                inner,
                refuse: c.refuse.clone(),
                open: c.open.clone(),
                arrived: c.arrived.clone(),
                refuse_when: c.refuse_when,
            }) as Storage
        })
    }
}

impl Store for Gate {
    fn commit(&self, writes: Vec<Write>) -> Committing {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        if self.refuse.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(StorageError::Unavailable(
                "injected fault".into(),
            ))));
        }
        let (inner, open) = (self.inner.clone(), self.open.clone());
        let refused = (self.refuse_when)(&writes);
        Box::pin(async move {
            drop(open.acquire().await.expect("gate"));
            if refused {
                return Err(StorageError::Unavailable("injected fault".into()));
            }
            inner.commit(writes).await
        })
    }
    fn load(&self) -> Answer<Snapshot> {
        self.inner.load()
    }
    fn jwt_secret(&self) -> Answer<Vec<u8>> {
        self.inner.jwt_secret()
    }
    fn is_writable(&self) -> bool {
        !self.refuse.load(Ordering::SeqCst) && self.inner.is_writable()
    }
    fn stats(&self) -> CommitStats {
        self.inner.stats()
    }
    fn close(&self) -> Result<(), StorageError> {
        self.inner.close()
    }
}
