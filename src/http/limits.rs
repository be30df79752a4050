//! Rate limits on the authentication routes: fixed one-minute windows per
//! key. The failed-signin rule charges an attempt *before* the password is
//! checked (so concurrent guesses cannot slip past the limit, and a correct
//! password after too many failures still gets 429) and refunds it when the
//! signin succeeds; keyed limiters such as governor's cannot refund, so this
//! small one is kept here.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ApiError;

/// The window every limit counts over.
const WINDOW: Duration = Duration::from_secs(60);
/// Keys kept before expired windows are swept.
const SWEEP_AT: usize = 10_000;

/// At most `limit` events per key per minute.
pub struct RateLimit<K> {
    limit: u32,
    windows: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// A limit of `limit` events per minute per key.
    pub fn per_minute(limit: u32) -> Self {
        RateLimit {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Checks and charges in one step: 429 once `key` used up its window.
    /// Concurrent callers cannot all pass the check before any is charged.
    pub fn take(&self, key: &K) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("rate limit lock");
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now < *start + WINDOW);
        }
        let entry = windows.entry(key.clone()).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let left = (entry.0 + WINDOW).saturating_duration_since(now);
            return Err(ApiError::TooManyRequests(left.as_secs() + 1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Gives back one event taken by [`RateLimit::take`] (a signin that
    /// turned out to succeed is not a failure).
    pub fn refund(&self, key: &K) {
        let mut windows = self.windows.lock().expect("rate limit lock");
        if let Some(entry) = windows.get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_then_429_and_others_are_unaffected() {
        let l = RateLimit::per_minute(2);
        assert!(l.take(&"a").is_ok());
        assert!(l.take(&"a").is_ok());
        assert!(matches!(l.take(&"a"), Err(ApiError::TooManyRequests(s)) if (1..=60).contains(&s)));
        assert!(l.take(&"b").is_ok());
        l.refund(&"a");
        assert!(l.take(&"a").is_ok());
        assert!(l.take(&"a").is_err());
    }
}
