//! `KeyedLocks`: an async read-write lock per key, made when first asked for
//! and forgotten when nobody holds or waits for it, so memory follows the
//! keys in use, not every key ever seen. The seat-order coordinator
//! serialises what must not interleave with it: one order's moves, one
//! buyer's seats of one event, an event's deletion against its new orders.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::RwLock;

/// One lock per key.
pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<RwLock<()>>>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        KeyedLocks {
            locks: Mutex::default(),
        }
    }
}

/// A held lock; the key's entry is forgotten on drop if nobody else holds
/// or awaits it.
pub struct Held<K: Eq + Hash + Clone> {
    /// The tokio guard, read or write: only held, never read.
    guard: Option<Box<dyn Send + Sync>>,
    key: K,
    locks: Arc<KeyedLocks<K>>,
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    fn entry(&self, key: &K) -> Arc<RwLock<()>> {
        self.locks
            .lock()
            .expect("keyed locks")
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// Shared access to `key` (several readers at once, none while a writer
    /// holds it; a waiting writer goes first).
    pub async fn read(self: &Arc<Self>, key: K) -> Held<K> {
        let guard = self.entry(&key).read_owned().await;
        Held {
            guard: Some(Box::new(guard)),
            key,
            locks: self.clone(),
        }
    }

    /// Sole access to `key`.
    pub async fn write(self: &Arc<Self>, key: K) -> Held<K> {
        let guard = self.entry(&key).write_owned().await;
        Held {
            guard: Some(Box::new(guard)),
            key,
            locks: self.clone(),
        }
    }

    /// Keys with an entry now (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().expect("keyed locks").len()
    }
}

impl<K: Eq + Hash + Clone> Drop for Held<K> {
    fn drop(&mut self) {
        self.guard.take();
        let mut locks = self.locks.locks.lock().expect("keyed locks");
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_writer_excludes_and_entries_are_forgotten() {
        let locks = Arc::new(KeyedLocks::<u32>::default());
        let a = locks.read(1).await;
        let b = locks.read(1).await;
        let l2 = locks.clone();
        let writer = tokio::spawn(async move { l2.write(1).await });
        tokio::task::yield_now().await;
        assert!(!writer.is_finished(), "readers hold the key");
        drop((a, b));
        let w = writer.await.unwrap();
        let _other = locks.write(2).await; // another key is free
        drop(w);
        drop(_other);
        assert_eq!(locks.len(), 0);
    }
}
