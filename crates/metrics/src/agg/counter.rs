//! Counter aggregate: a running sum.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A counter's sum and how many samples made it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CounterAgg {
    /// The sum of all values (k6's `count`).
    pub sum: f64,
    /// How many samples were added (a counter that saw only zeros is not empty).
    pub samples: u64,
}

impl CounterAgg {
    /// Adds one sample.
    pub fn add(&mut self, value: f64) {
        self.sum += value;
        self.samples += 1;
    }

    /// Adds another counter's samples.
    pub fn merge(&mut self, other: &CounterAgg) {
        self.sum += other.sum;
        self.samples += other.samples;
    }

    /// The sum per second of `elapsed` (0 when no time elapsed).
    pub fn rate(&self, elapsed: Duration) -> f64 {
        let secs = elapsed.as_secs_f64();
        if secs > 0.0 {
            self.sum / secs
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_rates() {
        let mut c = CounterAgg::default();
        c.add(3.0);
        c.add(2.5);
        assert_eq!(c.sum, 5.5);
        assert_eq!(c.samples, 2);
        assert_eq!(c.rate(Duration::from_millis(500)), 11.0);
        assert_eq!(c.rate(Duration::ZERO), 0.0);
        let mut d = CounterAgg::default();
        d.add(0.0);
        d.merge(&c);
        assert_eq!(
            d,
            CounterAgg {
                sum: 5.5,
                samples: 3
            }
        );
    }
}
