//! A token bucket: the shop's per-tenant limits and the flash sale's
//! admission rate.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Allows `rate` requests per second on average and bursts of up to
/// `burst`; starts full.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    // A std mutex: held for a few arithmetic operations, never across an
    // await, so it is cheaper than an async one.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    at: Instant,
}

/// The outcome of [`TokenBucket::try_take`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Allowed; this many whole tokens are left.
    Allowed { remaining: u64 },
    /// Refused; a token is available again after this long.
    Limited { retry_after: Duration },
}

impl TokenBucket {
    /// `rate` per second with bursts of `burst` (both at least 1).
    pub(crate) fn new(rate: u32, burst: u32) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate: f64::from(rate.max(1)),
            burst,
            state: Mutex::new(State {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&self) -> Verdict {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> Verdict {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(s.at).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.rate).min(self.burst);
        s.at = now.max(s.at);
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            Verdict::Allowed {
                remaining: s.tokens as u64,
            }
        } else {
            Verdict::Limited {
                retry_after: Duration::from_secs_f64((1.0 - s.tokens) / self.rate),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let bucket = TokenBucket::new(10, 10);
        let t0 = Instant::now();
        for left in (0..10).rev() {
            assert_eq!(bucket.try_take_at(t0), Verdict::Allowed { remaining: left });
        }
        let Verdict::Limited { retry_after } = bucket.try_take_at(t0) else {
            panic!("should be limited");
        };
        assert!(retry_after <= Duration::from_millis(100));
        // 250 ms later, two tokens have come back.
        let later = t0 + Duration::from_millis(250);
        assert!(matches!(bucket.try_take_at(later), Verdict::Allowed { .. }));
        assert!(matches!(bucket.try_take_at(later), Verdict::Allowed { .. }));
        assert!(matches!(bucket.try_take_at(later), Verdict::Limited { .. }));
    }
}
