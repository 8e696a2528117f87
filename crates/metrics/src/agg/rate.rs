//! Rate aggregate: the share of non-zero values.

use serde::{Deserialize, Serialize};

/// How many values were non-zero out of how many.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateAgg {
    /// Non-zero values (k6's `passes`).
    pub passes: u64,
    /// All values.
    pub total: u64,
}

impl RateAgg {
    /// Adds one sample: any value other than 0 passes (NaN too, as in k6).
    pub fn add(&mut self, value: f64) {
        if value != 0.0 {
            self.passes += 1;
        }
        self.total += 1;
    }

    /// Adds another rate's samples.
    pub fn merge(&mut self, other: &RateAgg) {
        self.passes += other.passes;
        self.total += other.total;
    }

    /// Zero values (k6's `fails`).
    pub fn fails(&self) -> u64 {
        self.total - self.passes
    }

    /// `passes / total`, 0 when empty.
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.passes as f64 / self.total as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_non_zero() {
        // k6 v1.1.0: r.add(1); r.add(0); r.add(true); r.add(2); r.add(-1); r.add(0)
        // -> rate 0.666.., passes 4, fails 2.
        let mut r = RateAgg::default();
        for v in [1.0, 0.0, 1.0, 2.0, -1.0, 0.0] {
            r.add(v);
        }
        assert_eq!((r.passes, r.fails()), (4, 2));
        assert!((r.rate() - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(RateAgg::default().rate(), 0.0);
    }
}
