//! `Sink`: per-thread accumulation of samples between flushes.

use crate::agg::Aggregate;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use crate::key::{Key, KeyHasher, KeyMap, KeyRef};
use crate::registry::Metric;
use crate::snapshot::{Snapshot, SnapshotEntry};
use crate::tags::TagSet;

/// Aggregates samples per `(metric, tag set)` until [`Sink::take`].
///
/// One per scheduler thread; not shared. `add` does one hash lookup and no
/// allocation when the key was seen before in this interval.
#[derive(Debug, Default)]
pub struct Sink {
    map: KeyMap<Aggregate>,
    /// How many `take`s so far: a [`SeriesRef`] is good for one interval.
    takes: u64,
    /// Canonical tag sets (see [`Sink::intern`]); kept across `take`s.
    interned: HashSet<TagSet, BuildHasherDefault<KeyHasher>>,
}

/// Where a series was in a sink, so that a caller recording the same
/// `(metric, tag set)` again and again skips the hash lookup: see
/// [`Sink::add_via`]. The default points nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeriesRef {
    /// The sink's `takes` + 1 when it was filled in (0: never).
    interval: u64,
    index: usize,
}

/// More distinct tag sets than this and the interning table starts over.
const MAX_INTERNED: usize = 4096;

impl Sink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one sample of `metric` with `tags`, taken at `time_ns`.
    #[inline]
    pub fn add(&mut self, metric: Metric, tags: &TagSet, value: f64, time_ns: u64) {
        let index = self.series(metric, tags);
        self.map[index].add(value, time_ns);
    }

    /// The index of the series `(metric, tags)` in the map, made if new.
    #[inline]
    fn series(&mut self, metric: Metric, tags: &TagSet) -> usize {
        let probe = KeyRef {
            metric: metric.id,
            tags,
        };
        match self.map.get_index_of(&probe) {
            Some(i) => i,
            None => {
                let key = Key {
                    metric: metric.id,
                    tags: tags.clone(),
                };
                self.map.insert_full(key, Aggregate::new(metric.kind)).0
            }
        }
    }

    /// Records like [`Sink::add`], through `at`: when `at` still points at
    /// this series in this interval the sample goes there without a
    /// lookup, otherwise it is looked up and `at` updated. A `SeriesRef`
    /// filled in for another series or another sink is only a miss.
    #[inline]
    pub fn add_via(
        &mut self,
        at: &mut SeriesRef,
        metric: Metric,
        tags: &TagSet,
        value: f64,
        time_ns: u64,
    ) {
        if at.interval == self.takes + 1 {
            if let Some((k, agg)) = self.map.get_index_mut(at.index) {
                if k.metric == metric.id && k.tags.ptr_eq(tags) {
                    agg.add(value, time_ns);
                    return;
                }
            }
        }
        let index = self.series(metric, tags);
        self.map[index].add(value, time_ns);
        *at = SeriesRef {
            interval: self.takes + 1,
            index,
        };
    }

    /// The canonical copy of `tags` for this sink: equal tag sets recorded
    /// through it share one allocation, so later lookups compare pointers
    /// instead of every tag.
    pub fn intern(&mut self, tags: TagSet) -> TagSet {
        if let Some(t) = self.interned.get(&tags) {
            return t.clone();
        }
        if self.interned.len() >= MAX_INTERNED {
            self.interned.clear();
        }
        self.interned.insert(tags.clone());
        tags
    }

    /// Whether nothing was recorded since the last `take`.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// How many `(metric, tag set)` series were recorded since the last `take`.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Everything recorded since the last `take`, as a snapshot of the interval
    /// `[start_ns, end_ns)`, in first-recorded order; leaves the sink empty
    /// (keeping its capacity).
    pub fn take(&mut self, start_ns: u64, end_ns: u64) -> Snapshot {
        self.takes += 1;
        let entries = self
            .map
            .drain(..)
            .map(|(k, agg)| SnapshotEntry {
                metric: k.metric,
                tags: k.tags,
                agg,
            })
            .collect();
        Snapshot {
            start_ns,
            end_ns,
            entries,
        }
    }
}

#[cfg(test)]
mod intern_tests {
    use super::*;

    #[test]
    fn interning_returns_one_allocation_per_content() {
        let mut sink = Sink::new();
        let a = sink.intern(TagSet::from_pairs([("k", "v")]));
        let b = sink.intern(TagSet::from_pairs([("k", "v")]));
        assert!(a.ptr_eq(&b));
        let c = sink.intern(TagSet::from_pairs([("k", "w")]));
        assert!(!a.ptr_eq(&c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::Builtin;
    use crate::registry::MetricId;

    #[test]
    fn aggregates_per_metric_and_tags_in_first_seen_order() {
        let mut sink = Sink::new();
        assert!(sink.is_empty());
        let get = TagSet::from_pairs([("method", "GET")]);
        let post = TagSet::from_pairs([("method", "POST")]);
        let reqs = Builtin::HttpReqs.metric();
        let dur = Builtin::HttpReqDuration.metric();
        sink.add(reqs, &post, 1.0, 1);
        sink.add(reqs, &get, 1.0, 2);
        sink.add(dur, &get, 12.5, 2);
        // An equal tag set built separately hits the same series.
        sink.add(reqs, &TagSet::from_pairs([("method", "GET")]), 1.0, 3);
        assert_eq!(sink.len(), 3);

        let snap = sink.take(0, 1_000);
        assert!(sink.is_empty());
        assert_eq!((snap.start_ns, snap.end_ns), (0, 1_000));
        let keys: Vec<(MetricId, &TagSet)> =
            snap.entries.iter().map(|e| (e.metric, &e.tags)).collect();
        assert_eq!(
            keys,
            vec![(reqs.id, &post), (reqs.id, &get), (dur.id, &get)]
        );
        assert_eq!(snap.entries[1].agg.samples(), 2);
        assert!(sink.take(1_000, 2_000).entries.is_empty());
    }

    #[test]
    fn a_series_ref_skips_the_lookup_within_an_interval_only() {
        let mut sink = Sink::new();
        let get = sink.intern(TagSet::from_pairs([("method", "GET")]));
        let post = sink.intern(TagSet::from_pairs([("method", "POST")]));
        let reqs = Builtin::HttpReqs.metric();
        let dur = Builtin::HttpReqDuration.metric();
        let mut at = SeriesRef::default();
        sink.add_via(&mut at, reqs, &get, 1.0, 1);
        sink.add_via(&mut at, reqs, &get, 1.0, 2);
        // Another series through the same ref: looked up, not misfiled.
        sink.add_via(&mut at, dur, &get, 5.0, 2);
        sink.add_via(&mut at, reqs, &post, 1.0, 3);
        sink.add(reqs, &get, 1.0, 3);
        let snap = sink.take(0, 10);
        let count = |m: Metric, t: &TagSet| {
            snap.entries
                .iter()
                .find(|e| e.metric == m.id && e.tags == *t)
                .map(|e| match &e.agg {
                    Aggregate::Counter(c) => c.sum,
                    Aggregate::Trend(t) => t.count() as f64,
                    _ => -1.0,
                })
        };
        assert_eq!(count(reqs, &get), Some(3.0));
        assert_eq!(count(reqs, &post), Some(1.0));
        assert_eq!(count(dur, &get), Some(1.0));
        // After a take the ref is stale: the series is made again.
        sink.add_via(&mut at, reqs, &post, 1.0, 11);
        let snap = sink.take(10, 20);
        assert_eq!(snap.entries.len(), 1);
        // A ref filled in by another sink is only a miss.
        let mut other = Sink::new();
        let mut elsewhere = SeriesRef::default();
        other.add_via(&mut elsewhere, dur, &post, 1.0, 1);
        sink.add_via(&mut elsewhere, reqs, &get, 1.0, 21);
        let snap = sink.take(20, 30);
        assert_eq!(snap.entries.len(), 1);
        assert_eq!(snap.entries[0].metric, reqs.id);
    }
}
