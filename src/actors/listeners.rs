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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn keys(l: &Listeners<u32>) -> usize {
        l.senders.lock().expect("listeners lock").len()
    }

    async fn woken(l: &mut Listener<u32>) -> Option<bool> {
        tokio::time::timeout(Duration::from_millis(50), l.changed())
            .await
            .ok()
            .map(|r| r.is_ok())
    }

    #[tokio::test]
    async fn a_signal_wakes_its_keys_listeners_only_and_goes_with_the_last() {
        let ls = Arc::new(Listeners::default());
        let (mut a1, mut a2, mut b) = (ls.listen(1), ls.listen(1), ls.listen(2));
        ls.signal([1, 7]);
        assert_eq!(woken(&mut a1).await, Some(true));
        assert_eq!(woken(&mut a2).await, Some(true));
        assert_eq!(woken(&mut b).await, None, "key 2 was not signalled");
        drop(a1);
        assert_eq!(keys(&ls), 2, "key 1 still has a listener");
        ls.signal([1]);
        assert_eq!(woken(&mut a2).await, Some(true));
        drop((a2, b));
        assert_eq!(keys(&ls), 0, "nobody listens: nothing kept");
    }

    #[tokio::test]
    async fn an_ended_signal_fails_its_listeners_and_spares_later_ones() {
        let ls = Arc::new(Listeners::default());
        let mut old = ls.listen(1);
        ls.end(1);
        assert_eq!(woken(&mut old).await, Some(false));
        let mut new = ls.listen(1);
        // The old listener going must not take the new signal with it.
        drop(old);
        assert_eq!(keys(&ls), 1);
        ls.signal([1]);
        assert_eq!(woken(&mut new).await, Some(true));
    }
}
