//! Login throttling: after `limit` failed logins for one user name or from
//! one address within `window`, further attempts for it are refused with
//! 429 and a `Retry-After` until the oldest failure leaves the window. A
//! success clears the user's failures (not the address's: one account that
//! works must not reset guessing at others from the same place).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failure counters per key (`user:NAME`, `addr:IP`).
pub struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Keys tracked at most, so a flood of names cannot grow memory unbounded.
const MAX_KEYS: usize = 100_000;

impl Throttle {
    /// `limit` failures per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when any of `keys` is over the limit at `now`.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = 0u64;
        for k in keys {
            if let Some(q) = map.get_mut(k) {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    q.pop_front();
                }
                if q.len() >= self.limit {
                    let oldest = *q.front().expect("non-empty");
                    let left = self.window.saturating_sub(now.duration_since(oldest));
                    wait = wait.max(left.as_secs().max(1));
                }
            }
        }
        if wait > 0 {
            Err(wait)
        } else {
            Ok(())
        }
    }

    /// Records a failed attempt for each key.
    pub fn fail(&self, keys: &[String], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, q| {
                q.back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for k in keys {
            let q = map.entry(k.clone()).or_default();
            q.push_back(now);
            while q.len() > self.limit {
                q.pop_front();
            }
        }
    }

    /// Forgets `key`'s failures.
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_passes() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let keys = vec!["user:ana".to_string(), "addr:127.0.0.1".to_string()];
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.check(&keys, t0).is_ok());
            t.fail(&keys, t0);
        }
        let wait = t.check(&keys, t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, 50);
        // Another user from the same address is blocked too.
        let other = vec!["user:bob".to_string(), "addr:127.0.0.1".to_string()];
        assert!(t.check(&other, t0).is_err());
        // After the window, attempts are allowed again.
        assert!(t.check(&keys, t0 + Duration::from_secs(61)).is_ok());
        t.clear("user:ana");
        assert!(t.check(&keys[..1], t0).is_ok());
    }
}
