//! `Store`: the whole run's aggregates, queried by metric and tag selector.

use std::collections::HashMap;

use crate::agg::Aggregate;
use crate::key::{Key, KeyMap, KeyRef};
use crate::registry::MetricId;
use crate::snapshot::Snapshot;
use crate::tags::TagSet;

/// Every `(metric, tag set)` series of a run, merged from snapshots,
/// iterated in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct Store {
    series: KeyMap<Aggregate>,
    /// Positions in `series` per metric, in first-seen order.
    by_metric: HashMap<MetricId, Vec<usize>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges a snapshot in.
    pub fn apply(&mut self, snap: &Snapshot) {
        for e in &snap.entries {
            let probe = KeyRef {
                metric: e.metric,
                tags: &e.tags,
            };
            if let Some(agg) = self.series.get_mut(&probe) {
                agg.merge(&e.agg);
                continue;
            }
            let (index, _) = self.series.insert_full(
                Key {
                    metric: e.metric,
                    tags: e.tags.clone(),
                },
                e.agg.clone(),
            );
            self.by_metric.entry(e.metric).or_default().push(index);
        }
    }

    fn series_of(&self, metric: MetricId) -> impl Iterator<Item = (&TagSet, &Aggregate)> + '_ {
        self.by_metric.get(&metric).into_iter().flatten().map(|&i| {
            let (k, agg) = self.series.get_index(i).expect("indices are stable");
            (&k.tags, agg)
        })
    }

    /// The merge of every series of `metric` whose tags contain `selector`
    /// (an empty selector selects the whole metric); `None` if none does.
    pub fn get(&self, metric: MetricId, selector: &TagSet) -> Option<Aggregate> {
        let mut out: Option<Aggregate> = None;
        for (tags, agg) in self.series_of(metric) {
            if tags.contains(selector) {
                match &mut out {
                    Some(acc) => acc.merge(agg),
                    None => out = Some(agg.clone()),
                }
            }
        }
        out
    }

    /// Every series, in first-seen order.
    pub fn entries(&self) -> impl Iterator<Item = (MetricId, &TagSet, &Aggregate)> + '_ {
        self.series.iter().map(|(k, a)| (k.metric, &k.tags, a))
    }

    /// The metrics with at least one sample, in first-seen order.
    pub fn metrics_seen(&self) -> Vec<MetricId> {
        let mut seen: Vec<MetricId> = Vec::new();
        for (k, agg) in &self.series {
            if !agg.is_empty() && !seen.contains(&k.metric) {
                seen.push(k.metric);
            }
        }
        seen
    }

    /// The distinct values tag `key` took on `metric`, in first-seen order.
    pub fn tag_values(&self, metric: MetricId, key: &str) -> Vec<String> {
        let mut values: Vec<String> = Vec::new();
        for (tags, _) in self.series_of(metric) {
            if let Some(v) = tags.get(key) {
                if !values.iter().any(|x| x == v) {
                    values.push(v.to_owned());
                }
            }
        }
        values
    }

    /// How many series the store holds.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no snapshot brought anything yet.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::Builtin;
    use crate::sink::Sink;

    fn tags(pairs: &[(&str, &str)]) -> TagSet {
        TagSet::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn queries_by_selector() {
        let reqs = Builtin::HttpReqs.metric();
        let dur = Builtin::HttpReqDuration.metric();
        let mut sink = Sink::new();
        sink.add(reqs, &tags(&[("status", "200"), ("method", "GET")]), 1.0, 0);
        sink.add(reqs, &tags(&[("status", "500"), ("method", "GET")]), 1.0, 0);
        sink.add(dur, &tags(&[("status", "200")]), 10.0, 0);
        let mut store = Store::new();
        store.apply(&sink.take(0, 1));
        sink.add(
            reqs,
            &tags(&[("status", "200"), ("method", "POST")]),
            1.0,
            0,
        );
        sink.add(reqs, &tags(&[("status", "200"), ("method", "GET")]), 1.0, 0);
        store.apply(&sink.take(1, 2));

        let count = |sel: &[(&str, &str)]| {
            store
                .get(reqs.id, &tags(sel))
                .map(|a| a.samples())
                .unwrap_or(0)
        };
        assert_eq!(count(&[]), 4);
        assert_eq!(count(&[("status", "200")]), 3);
        assert_eq!(count(&[("status", "200"), ("method", "GET")]), 2);
        assert_eq!(count(&[("status", "404")]), 0);
        assert!(store.get(reqs.id, &tags(&[("status", "404")])).is_none());
        assert!(store.get(Builtin::Checks.id(), &TagSet::empty()).is_none());

        assert_eq!(store.len(), 4);
        assert_eq!(store.metrics_seen(), vec![reqs.id, dur.id]);
        assert_eq!(store.tag_values(reqs.id, "method"), vec!["GET", "POST"]);
        assert_eq!(store.tag_values(reqs.id, "status"), vec!["200", "500"]);
        assert!(store.tag_values(dur.id, "method").is_empty());
        let first: Vec<_> = store.entries().map(|(m, t, _)| (m, t.clone())).collect();
        assert_eq!(
            first[0],
            (reqs.id, tags(&[("method", "GET"), ("status", "200")]))
        );
        assert_eq!(first[3].1, tags(&[("method", "POST"), ("status", "200")]));
    }
}
