//! Aggregates: what a sink keeps per (metric, tag set) instead of samples.

mod counter;
mod de;
mod gauge;
mod hist;
mod rate;
mod trend;

use std::time::Duration;

use serde::Serialize;

pub use counter::CounterAgg;
pub use gauge::GaugeAgg;
pub use rate::RateAgg;
pub use trend::{TrendAgg, SCALE as TREND_SCALE, SIGFIG as TREND_SIGFIG};

use crate::kind::MetricType;
use crate::stat::Stat;

/// The aggregate of one metric's samples; the variant follows the metric type.
///
/// Serialized as an object tagged by `type` (`{"type": "trend", ...}`);
/// read by a hand-written `Deserialize` (in `de.rs`) that does not buffer it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Aggregate {
    /// Sum of a counter.
    Counter(CounterAgg),
    /// Latest value, min and max of a gauge.
    Gauge(GaugeAgg),
    /// Passes and total of a rate.
    Rate(RateAgg),
    /// Distribution of a trend.
    Trend(TrendAgg),
}

impl Aggregate {
    /// An empty aggregate for a metric of type `kind`.
    pub fn new(kind: MetricType) -> Self {
        match kind {
            MetricType::Counter => Aggregate::Counter(CounterAgg::default()),
            MetricType::Gauge => Aggregate::Gauge(GaugeAgg::default()),
            MetricType::Rate => Aggregate::Rate(RateAgg::default()),
            MetricType::Trend => Aggregate::Trend(TrendAgg::default()),
        }
    }

    /// The metric type this aggregate belongs to.
    pub fn kind(&self) -> MetricType {
        match self {
            Aggregate::Counter(_) => MetricType::Counter,
            Aggregate::Gauge(_) => MetricType::Gauge,
            Aggregate::Rate(_) => MetricType::Rate,
            Aggregate::Trend(_) => MetricType::Trend,
        }
    }

    /// Adds one sample taken at `time_ns` (only gauges use the time).
    #[inline]
    pub fn add(&mut self, value: f64, time_ns: u64) {
        match self {
            Aggregate::Counter(c) => c.add(value),
            Aggregate::Gauge(g) => g.add(value, time_ns),
            Aggregate::Rate(r) => r.add(value),
            Aggregate::Trend(t) => t.add(value),
        }
    }

    /// Adds `other`'s samples, exactly as if they had been added here.
    ///
    /// # Panics
    /// If the two aggregates are of different kinds (a bug in the caller:
    /// a metric's type never changes).
    pub fn merge(&mut self, other: &Aggregate) {
        match (self, other) {
            (Aggregate::Counter(a), Aggregate::Counter(b)) => a.merge(b),
            (Aggregate::Gauge(a), Aggregate::Gauge(b)) => a.merge(b),
            (Aggregate::Rate(a), Aggregate::Rate(b)) => a.merge(b),
            (Aggregate::Trend(a), Aggregate::Trend(b)) => a.merge(b),
            (a, b) => panic!("cannot merge a {} into a {}", b.kind(), a.kind()),
        }
    }

    /// How many samples were added.
    pub fn samples(&self) -> u64 {
        match self {
            Aggregate::Counter(c) => c.samples,
            Aggregate::Gauge(g) => g.samples,
            Aggregate::Rate(r) => r.total,
            Aggregate::Trend(t) => t.count(),
        }
    }

    /// Whether no sample was added.
    pub fn is_empty(&self) -> bool {
        self.samples() == 0
    }

    /// The value of `stat`, or `None` if it does not apply to this kind
    /// (see [`Stat::applies_to`]). `elapsed` is the run time so far, for a
    /// counter's `rate`. Empty aggregates give 0, as k6.
    pub fn stat(&self, stat: &Stat, elapsed: Duration) -> Option<f64> {
        Some(match (self, stat) {
            (Aggregate::Counter(c), Stat::Count) => c.sum,
            (Aggregate::Counter(c), Stat::Rate) => c.rate(elapsed),
            (Aggregate::Gauge(g), Stat::Value) => g.value,
            (Aggregate::Gauge(g), Stat::Min) => g.min,
            (Aggregate::Gauge(g), Stat::Max) => g.k6_max(),
            (Aggregate::Rate(r), Stat::Rate) => r.rate(),
            (Aggregate::Rate(r), Stat::Passes) => r.passes as f64,
            (Aggregate::Rate(r), Stat::Fails) => r.fails() as f64,
            (Aggregate::Trend(t), Stat::Count) => t.count() as f64,
            (Aggregate::Trend(t), Stat::Avg) => t.avg(),
            (Aggregate::Trend(t), Stat::Min) => t.min(),
            (Aggregate::Trend(t), Stat::Max) => t.max(),
            (Aggregate::Trend(t), Stat::Med) => t.percentile(50.0),
            (Aggregate::Trend(t), Stat::Percentile(p)) => t.percentile(*p),
            _ => return None,
        })
    }

    /// The `values` object of k6's `handleSummary` data, keys in k6's order:
    /// counter `count, rate`; gauge `value, min, max`; rate `rate, passes,
    /// fails`; trend one key per applicable stat of `trend_stats`
    /// (k6's `summaryTrendStats`), in that order.
    pub fn values(&self, trend_stats: &[Stat], elapsed: Duration) -> Vec<(String, f64)> {
        let fixed: &[Stat] = match self {
            Aggregate::Counter(_) => &[Stat::Count, Stat::Rate],
            Aggregate::Gauge(_) => &[Stat::Value, Stat::Min, Stat::Max],
            Aggregate::Rate(_) => &[Stat::Rate, Stat::Passes, Stat::Fails],
            Aggregate::Trend(_) => trend_stats,
        };
        fixed
            .iter()
            .filter_map(|s| Some((s.to_string(), self.stat(s, elapsed)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn values_follow_k6_keys() {
        let mut c = Aggregate::new(MetricType::Counter);
        c.add(3.0, 0);
        c.add(2.5, 0);
        assert_eq!(
            c.values(&[], secs(2)),
            vec![("count".into(), 5.5), ("rate".into(), 2.75)]
        );

        let mut g = Aggregate::new(MetricType::Gauge);
        for (i, v) in [5.0, 3.0, 7.0, 4.0].into_iter().enumerate() {
            g.add(v, i as u64);
        }
        assert_eq!(
            g.values(&[], secs(1)),
            vec![
                ("value".into(), 4.0),
                ("min".into(), 3.0),
                ("max".into(), 7.0)
            ]
        );

        let mut r = Aggregate::new(MetricType::Rate);
        r.add(1.0, 0);
        r.add(0.0, 0);
        assert_eq!(
            r.values(&[], secs(1)),
            vec![
                ("rate".into(), 0.5),
                ("passes".into(), 1.0),
                ("fails".into(), 1.0)
            ]
        );

        let mut t = Aggregate::new(MetricType::Trend);
        for v in [1.0, 2.0, 3.0, 4.0, 10.0, -2.0] {
            t.add(v, 0);
        }
        let stats: Vec<Stat> = ["avg", "min", "med", "max", "p(90)", "count", "rate"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let values = t.values(&stats, secs(1));
        let keys: Vec<&str> = values.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["avg", "min", "med", "max", "p(90)", "count"]);
        let want = [3.0, -2.0, 2.5, 10.0, 7.0, 6.0];
        for ((k, got), want) in values.iter().zip(want) {
            assert!(
                (got - want).abs() <= 1e-3 * want.abs(),
                "{k}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn empty_aggregates_report_zero() {
        // k6 v1.1.0 handleSummary for sub-metrics without samples.
        for kind in [
            MetricType::Counter,
            MetricType::Gauge,
            MetricType::Rate,
            MetricType::Trend,
        ] {
            let a = Aggregate::new(kind);
            assert!(a.is_empty());
            let stats = [Stat::Avg, Stat::Percentile(95.0), Stat::Count];
            for (_, v) in a.values(&stats, secs(1)) {
                assert_eq!(v, 0.0, "{kind}");
            }
        }
    }

    #[test]
    fn stat_not_applicable_is_none() {
        let a = Aggregate::new(MetricType::Rate);
        assert_eq!(a.stat(&Stat::Avg, secs(1)), None);
        assert_eq!(a.stat(&Stat::Rate, secs(1)), Some(0.0));
    }

    #[test]
    #[should_panic(expected = "cannot merge a rate into a counter")]
    fn merge_of_different_kinds_panics() {
        Aggregate::new(MetricType::Counter).merge(&Aggregate::new(MetricType::Rate));
    }

    #[test]
    fn serde_round_trip() {
        let mut t = Aggregate::new(MetricType::Trend);
        t.add(1.0, 0);
        let mut g = Aggregate::new(MetricType::Gauge);
        g.add(2.0, 7);
        for a in [t, g, Aggregate::new(MetricType::Rate)] {
            let json = serde_json::to_string(&a).unwrap();
            let back: Aggregate = serde_json::from_str(&json).unwrap();
            assert_eq!(back, a);
        }
    }
}
