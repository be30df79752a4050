//! Rate limits on the authentication routes: fixed one-minute windows per
//! key. A limiter that can be *checked* without being charged is what the
//! failed-signin rule needs (a correct password after too many failures must
//! still get 429, or the limit would leak which guess was right); the
//! maintained keyed limiters only offer check-and-charge, so this small one
//! is kept here.

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

    /// 429 if `key` has used up its window, without charging it.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let now = Instant::now();
        let windows = self.windows.lock().expect("rate limit lock");
        match windows.get(key) {
            Some((start, count)) if now < *start + WINDOW && *count >= self.limit => {
                let left = (*start + WINDOW).saturating_duration_since(now);
                Err(ApiError::TooManyRequests(left.as_secs() + 1))
            }
            _ => Ok(()),
        }
    }

    /// Charges one event to `key`.
    pub fn charge(&self, key: &K) {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("rate limit lock");
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now < *start + WINDOW);
        }
        let entry = windows.entry(key.clone()).or_insert((now, 0));
        if now >= entry.0 + WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Checks, then charges: 429 once `key` used up its window.
    pub fn take(&self, key: &K) -> Result<(), ApiError> {
        self.check(key)?;
        self.charge(key);
        Ok(())
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
        assert!(l.check(&"b").is_ok());
    }
}
