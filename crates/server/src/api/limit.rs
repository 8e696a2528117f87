//! The API rate limit: a token bucket per caller key (API token or
//! address) refilled at `per_sec` with a burst of twice that; an empty
//! bucket is a 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets per key.
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Keys tracked at most; idle full buckets are forgotten beyond it.
const MAX_KEYS: usize = 50_000;

impl RateLimiter {
    /// `per_sec` requests per second per key (0 disables the limit).
    pub fn new(per_sec: u32) -> Self {
        Self {
            per_sec: f64::from(per_sec),
            burst: f64::from(per_sec) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket at `now`; `Err(seconds)` when
    /// it is empty.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_sec <= 0.0 {
            return Ok(());
        }
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let (per_sec, burst) = (self.per_sec, self.burst);
            map.retain(|_, (level, at)| {
                *level + now.duration_since(*at).as_secs_f64() * per_sec < burst
            });
        }
        let (level, at) = map.entry(key.to_string()).or_insert((self.burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *level) / self.per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let l = RateLimiter::new(2);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert!(l.take("a", t0).is_ok());
        }
        assert_eq!(l.take("a", t0), Err(1));
        assert!(l.take("b", t0).is_ok(), "keys are independent");
        assert!(l.take("a", t0 + Duration::from_millis(600)).is_ok());
        assert!(RateLimiter::new(0).take("a", t0).is_ok());
    }
}
