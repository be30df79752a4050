//! [`Listeners`]: one wake-up signal per key that costs nothing for keys
//! nobody listens to: a key's signal comes with its first [`Listener`] and
//! goes with its last. The sessions use it to close a session's sockets at
//! signout; a waiting room to wake an account's watchers at once when its
//! own entry changed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// The signals of the keys someone listens to.
pub struct Listeners<K> {
    senders: Mutex<HashMap<K, watch::Sender<()>>>,
}

impl<K> Default for Listeners<K> {
    fn default() -> Self {
        Listeners {
            senders: Mutex::default(),
        }
    }
}

/// One listener of one key; it stops listening when dropped.
pub struct Listener<K: Hash + Eq + Copy> {
    key: K,
    rx: watch::Receiver<()>,
    listeners: Arc<Listeners<K>>,
}

impl<K: Hash + Eq + Copy> Listeners<K> {
    /// A listener of `key`, woken by the signals sent after this call.
    pub fn listen(self: &Arc<Self>, key: K) -> Listener<K> {
        let rx = self
            .senders
            .lock()
            .expect("listeners lock")
            .entry(key)
            .or_insert_with(|| watch::Sender::new(()))
            .subscribe();
        Listener {
            key,
            rx,
            listeners: self.clone(),
        }
    }

    /// Wakes the listeners of each of `keys` (one lock for all; a key
    /// nobody listens to costs a lookup).
    pub fn signal(&self, keys: impl IntoIterator<Item = K>) {
        let senders = self.senders.lock().expect("listeners lock");
        if senders.is_empty() {
            return;
        }
        for key in keys {
            if let Some(tx) = senders.get(&key) {
                tx.send_replace(());
            }
        }
    }

    /// Ends `key`'s signal: its listeners' [`Listener::changed`] fails from
    /// now on; later listeners get a new one.
    pub fn end(&self, key: K) {
        self.senders.lock().expect("listeners lock").remove(&key);
    }
}

impl<K: Hash + Eq + Copy> Listener<K> {
    /// Waits for the next signal; an error once the key's signal ended.
    pub async fn changed(&mut self) -> Result<(), watch::error::RecvError> {
        self.rx.changed().await
    }

    /// Forgets the signals sent so far.
    pub fn mark_unchanged(&mut self) {
        self.rx.mark_unchanged();
    }
}

impl<K: Hash + Eq + Copy> Drop for Listener<K> {
    fn drop(&mut self) {
        let mut senders = self.listeners.senders.lock().expect("listeners lock");
        // A signal still alive is the one in the map (only the map holds
        // senders), and this listener's receiver still counts: it was the
        // last one. An ended signal leaves a later one alone.
        let alive = self.rx.has_changed().is_ok();
        if alive
            && senders
                .get(&self.key)
                .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            senders.remove(&self.key);
        }
    }
}
