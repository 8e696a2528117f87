//! Gauge aggregate: the latest value by sample time, with min and max.

use serde::{Deserialize, Serialize};

/// A gauge's latest value (by sample time) and the extremes it took.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GaugeAgg {
    /// The value of the latest sample.
    pub value: f64,
    /// The time of that sample (ns since the run's epoch).
    pub time_ns: u64,
    /// The smallest value (0 when empty).
    pub min: f64,
    /// The largest value (0 when empty). See [`GaugeAgg::k6_max`].
    pub max: f64,
    /// How many samples were added.
    pub samples: u64,
}

impl GaugeAgg {
    /// Adds one sample; a sample at the same time as the latest replaces it.
    pub fn add(&mut self, value: f64, time_ns: u64) {
        if self.samples == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        if self.samples == 0 || time_ns >= self.time_ns {
            self.value = value;
            self.time_ns = time_ns;
        }
        self.samples += 1;
    }

    /// Adds another gauge's samples; on equal times, `other`'s latest value wins,
    /// as if its samples had been added after ours.
    pub fn merge(&mut self, other: &GaugeAgg) {
        if other.samples == 0 {
            return;
        }
        if self.samples == 0 {
            *self = other.clone();
            return;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.time_ns >= self.time_ns {
            self.value = other.value;
            self.time_ns = other.time_ns;
        }
        self.samples += other.samples;
    }

    /// The maximum as k6 v1.1 reports it: its gauge sink starts `max` at 0,
    /// so a gauge that only saw negative values reports a max of 0.
    pub fn k6_max(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.max.max(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_by_time_and_extremes() {
        let mut g = GaugeAgg::default();
        g.add(5.0, 10);
        g.add(3.0, 30);
        g.add(7.0, 20); // older than the latest: counts for min/max only
        assert_eq!((g.value, g.min, g.max), (3.0, 3.0, 7.0));
        g.add(4.0, 30); // same time: later wins
        assert_eq!(g.value, 4.0);
    }

    #[test]
    fn k6_max_starts_at_zero() {
        // k6 v1.1.0: gauge.add(-5); gauge.add(-3) -> value -3, min -5, max 0.
        let mut g = GaugeAgg::default();
        g.add(-5.0, 1);
        g.add(-3.0, 2);
        assert_eq!((g.value, g.min, g.max, g.k6_max()), (-3.0, -5.0, -3.0, 0.0));
    }

    #[test]
    fn merge_prefers_later_and_other_on_ties() {
        let mut a = GaugeAgg::default();
        a.add(1.0, 5);
        let mut b = GaugeAgg::default();
        b.add(2.0, 5);
        let mut m = a.clone();
        m.merge(&b);
        assert_eq!(m.value, 2.0);
        let mut m = b.clone();
        m.merge(&a);
        assert_eq!(m.value, 1.0);
        let mut c = GaugeAgg::default();
        c.add(9.0, 1);
        m.merge(&c);
        assert_eq!((m.value, m.max, m.samples), (1.0, 9.0, 3));
        let mut e = GaugeAgg::default();
        e.merge(&c);
        assert_eq!(e, c);
        e.merge(&GaugeAgg::default());
        assert_eq!(e, c);
    }
}
