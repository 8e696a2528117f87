//! `Snapshot`: one interval's aggregates, as flushed by a sink.

use crate::agg::Aggregate;
use crate::key::{Key, KeyMap, KeyRef};
use crate::registry::{MetricId, Registry};
use crate::tags::TagSet;
use crate::wire::{WireEntry, WireMetric, WireSnapshot};

/// The aggregates of one `(metric, tag set)` series over a snapshot's interval.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotEntry {
    /// The metric.
    pub metric: MetricId,
    /// The series' tags.
    pub tags: TagSet,
    /// Its aggregated samples.
    pub agg: Aggregate,
}

/// The aggregates of an interval `[start_ns, end_ns)`; merges exactly.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Start of the interval (ns since the run's epoch).
    pub start_ns: u64,
    /// End of the interval.
    pub end_ns: u64,
    /// One entry per series, in first-recorded order.
    pub entries: Vec<SnapshotEntry>,
}

impl Snapshot {
    /// An empty snapshot of `[start_ns, end_ns)`.
    pub fn new(start_ns: u64, end_ns: u64) -> Self {
        Snapshot {
            start_ns,
            end_ns,
            entries: Vec::new(),
        }
    }

    /// Merges `other` in: series are merged by `(metric, tags)` (new ones
    /// appended in `other`'s order) and the span becomes the union's hull.
    /// `Snapshot::default()` (no entries, span 0..0) is the identity.
    pub fn merge(&mut self, other: &Snapshot) {
        if self.entries.is_empty() && self.start_ns == 0 && self.end_ns == 0 {
            self.start_ns = other.start_ns;
            self.end_ns = other.end_ns;
        } else if !(other.entries.is_empty() && other.start_ns == 0 && other.end_ns == 0) {
            self.start_ns = self.start_ns.min(other.start_ns);
            self.end_ns = self.end_ns.max(other.end_ns);
        }
        let mut index: KeyMap<usize> = KeyMap::default();
        for (i, e) in self.entries.iter().enumerate() {
            index
                .entry(Key {
                    metric: e.metric,
                    tags: e.tags.clone(),
                })
                .or_insert(i);
        }
        for e in &other.entries {
            let probe = KeyRef {
                metric: e.metric,
                tags: &e.tags,
            };
            match index.get(&probe) {
                Some(&i) => self.entries[i].agg.merge(&e.agg),
                None => {
                    index.insert(
                        Key {
                            metric: e.metric,
                            tags: e.tags.clone(),
                        },
                        self.entries.len(),
                    );
                    self.entries.push(e.clone());
                }
            }
        }
    }

    /// The registry-independent serde form (metric names instead of ids).
    ///
    /// # Panics
    /// If an entry's metric is not in `reg`.
    pub fn to_wire(&self, reg: &Registry) -> WireSnapshot {
        let mut metrics: Vec<WireMetric> = Vec::new();
        let mut slot: std::collections::HashMap<MetricId, u32> = Default::default();
        let entries = self
            .entries
            .iter()
            .map(|e| {
                let metric = *slot.entry(e.metric).or_insert_with(|| {
                    let def = reg.def(e.metric);
                    metrics.push(WireMetric {
                        name: def.name.to_string(),
                        kind: def.kind,
                        contains: def.contains,
                    });
                    (metrics.len() - 1) as u32
                });
                WireEntry {
                    metric,
                    tags: e.tags.clone(),
                    agg: e.agg.clone(),
                }
            })
            .collect();
        WireSnapshot {
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            metrics,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::Builtin;
    use crate::kind::{MetricType, ValueType};
    use crate::registry::Metric;
    use crate::sink::Sink;
    use proptest::prelude::*;

    /// One sample: (metric index into `metrics()`, tag value, value, time).
    type Sample = (usize, u8, f64, u64);

    fn metrics() -> [Metric; 4] {
        [
            Builtin::HttpReqs.metric(),
            Builtin::Vus.metric(),
            Builtin::Checks.metric(),
            Builtin::HttpReqDuration.metric(),
        ]
    }

    fn record(samples: &[Sample], start: u64, end: u64) -> Snapshot {
        let mut sink = Sink::new();
        let tags: Vec<TagSet> = (0..3)
            .map(|i| TagSet::from_pairs([("t", i.to_string())]))
            .collect();
        for &(m, t, v, time) in samples {
            sink.add(metrics()[m], &tags[t as usize], v, time);
        }
        sink.take(start, end)
    }

    fn sample() -> impl Strategy<Value = Sample> {
        (0usize..4, 0u8..3, -50.0f64..5000.0, 0u64..20)
    }

    fn assert_same(a: &Snapshot, b: &Snapshot) {
        assert_eq!((a.start_ns, a.end_ns), (b.start_ns, b.end_ns));
        assert_eq!(a.entries.len(), b.entries.len());
        for ea in &a.entries {
            let eb = b
                .entries
                .iter()
                .find(|e| e.metric == ea.metric && e.tags == ea.tags)
                .expect("same series");
            match (&ea.agg, &eb.agg) {
                // Float sums may differ in the last bits with summation order.
                (Aggregate::Counter(x), Aggregate::Counter(y)) => {
                    assert!((x.sum - y.sum).abs() <= 1e-9 * x.sum.abs().max(1.0));
                    assert_eq!(x.samples, y.samples);
                }
                (Aggregate::Trend(x), Aggregate::Trend(y)) => {
                    assert!((x.sum() - y.sum()).abs() <= 1e-9 * x.sum().abs().max(1.0));
                    assert_eq!(x.count(), y.count());
                    assert_eq!((x.min(), x.max()), (y.min(), y.max()));
                    for p in [0.0, 25.0, 50.0, 90.0, 99.0, 100.0] {
                        assert_eq!(x.percentile(p), y.percentile(p));
                    }
                }
                (x, y) => assert_eq!(x, y),
            }
        }
    }

    proptest! {
        #[test]
        fn merging_two_sinks_equals_one(
            a in proptest::collection::vec(sample(), 0..60),
            b in proptest::collection::vec(sample(), 0..60),
        ) {
            let mut merged = record(&a, 0, 1_000);
            merged.merge(&record(&b, 1_000, 2_000));
            let all: Vec<Sample> = a.iter().chain(&b).copied().collect();
            assert_same(&merged, &record(&all, 0, 2_000));
        }

        #[test]
        fn wire_round_trip(samples in proptest::collection::vec(sample(), 0..60)) {
            let reg = Registry::new();
            let snap = record(&samples, 5, 10);
            let json = snap.to_wire(&reg).to_json();
            let wire = WireSnapshot::from_json(&json).unwrap();
            let back = wire.into_snapshot(&reg).unwrap();
            prop_assert_eq!(back, snap);
        }
    }

    #[test]
    fn default_is_merge_identity() {
        let snap = record(&[(0, 0, 1.0, 0)], 3, 4);
        let mut m = Snapshot::default();
        m.merge(&snap);
        assert_eq!(m, snap);
        let mut m = snap.clone();
        m.merge(&Snapshot::default());
        assert_eq!(m, snap);
    }

    #[test]
    fn gauge_latest_wins_across_merge() {
        let mut a = record(&[(1, 0, 5.0, 10)], 0, 1);
        let b = record(&[(1, 0, 7.0, 5)], 0, 1);
        a.merge(&b);
        match &a.entries[0].agg {
            Aggregate::Gauge(g) => assert_eq!((g.value, g.max), (5.0, 7.0)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wire_registers_custom_metrics_by_name() {
        let sender = Registry::new();
        let _pad = sender
            .register("pad_metric", MetricType::Counter, ValueType::Default)
            .unwrap();
        let mine = sender
            .register("my_trend", MetricType::Trend, ValueType::Time)
            .unwrap();
        let mut sink = Sink::new();
        sink.add(mine, &TagSet::empty(), 4.0, 0);
        sink.add(Builtin::Iterations.metric(), &TagSet::empty(), 1.0, 0);
        let wire = sink.take(0, 1).to_wire(&sender);

        let receiver = Registry::new();
        let snap = wire.clone().into_snapshot(&receiver).unwrap();
        let id = receiver.lookup("my_trend").unwrap().id;
        assert_ne!(id, mine.id, "ids differ between registries");
        assert_eq!(snap.entries[0].metric, id);
        assert_eq!(snap.entries[1].metric, Builtin::Iterations.id());
        assert_eq!(receiver.def(id).contains, ValueType::Time);
    }
}
