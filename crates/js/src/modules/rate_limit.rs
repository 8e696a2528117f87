//! The global `rps` limit: one schedule of request slots shared by every VU
//! of the test, as k6's single rate limiter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Hands out request start times no closer than `1/rps` apart.
#[derive(Debug)]
pub struct RateLimiter {
    epoch: Instant,
    interval_ns: u64,
    /// Nanoseconds since `epoch` of the next free slot.
    next_ns: AtomicU64,
}

impl RateLimiter {
    /// A limiter allowing `rps` requests per second.
    pub fn new(rps: u64) -> Self {
        Self {
            epoch: Instant::now(),
            interval_ns: 1_000_000_000 / rps.max(1),
            next_ns: AtomicU64::new(0),
        }
    }

    /// Reserves the next slot; returns how long to wait for it.
    pub fn reserve(&self) -> Duration {
        let now = self.epoch.elapsed().as_nanos() as u64;
        let mut cur = self.next_ns.load(Ordering::Relaxed);
        loop {
            let slot = cur.max(now);
            match self.next_ns.compare_exchange_weak(
                cur,
                slot + self.interval_ns,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Duration::from_nanos(slot - now),
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_reservations_by_the_interval() {
        let l = RateLimiter::new(10);
        let waits: Vec<Duration> = (0..5).map(|_| l.reserve()).collect();
        assert!(waits[0] < Duration::from_millis(5));
        // Each later slot is 100ms after the previous one.
        for w in waits.windows(2) {
            let gap = w[1].saturating_sub(w[0]);
            assert!(
                gap > Duration::from_millis(95) && gap <= Duration::from_millis(100),
                "{gap:?}"
            );
        }
    }
}
