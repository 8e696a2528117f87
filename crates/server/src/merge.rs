//! The exact merge of a run's segments, interval by interval.
//!
//! Every segment reports one [`WireSnapshot`] per closed interval, numbered
//! by the second of the test it closes. [`IntervalMerger`] keeps each
//! `(segment, index)` once (a redelivered snapshot is ignored, never counted
//! twice) and releases an interval's merge once every live segment has
//! moved past it — or, for a slow or lost segment, once a timeout passed;
//! a part arriving after that releases the interval again, re-merged, for
//! an idempotent upsert. It is pure (time is passed in) so that its rules
//! are unit-tested without a run.
//!
//! Merging is exact: HDR histograms, counters and rates add (they are the
//! same aggregates `stampede run` keeps per thread). Gauges have no sum in
//! one process; across segments the engine's own `vus` and `vus_max` add up
//! (each segment runs its share of the VUs), every other gauge keeps its
//! latest value by sample time, as within one process.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use stampede_metrics::{
    Aggregate, GaugeAgg, MetricError, Registry, Snapshot, SnapshotEntry, TagSet, WireSnapshot,
};

/// Gauges whose values add up across segments.
const SUMMED_GAUGES: [&str; 2] = ["vus", "vus_max"];

/// The nominal length of an interval.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Merges snapshots of different segments covering the same interval.
pub fn merge_segments(reg: &Registry, parts: &[&Snapshot]) -> Snapshot {
    let mut out = Snapshot::default();
    let mut summed: Vec<(SnapshotEntry, ())> = Vec::new();
    let mut summed_at: HashMap<(u32, TagSet), usize> = HashMap::new();
    for part in parts {
        let mut rest = Snapshot::new(part.start_ns, part.end_ns);
        for e in &part.entries {
            let sums = matches!(e.agg, Aggregate::Gauge(_))
                && SUMMED_GAUGES.contains(&reg.def(e.metric).name.as_ref());
            if !sums {
                rest.entries.push(e.clone());
                continue;
            }
            let key = (e.metric.0, e.tags.clone());
            match summed_at.get(&key) {
                Some(&i) => {
                    if let (Aggregate::Gauge(a), Aggregate::Gauge(b)) =
                        (&mut summed[i].0.agg, &e.agg)
                    {
                        add_gauges(a, b);
                    }
                }
                None => {
                    summed_at.insert(key, summed.len());
                    summed.push((e.clone(), ()));
                }
            }
        }
        out.merge(&rest);
    }
    out.entries.extend(summed.into_iter().map(|(e, ())| e));
    out
}

/// Adds a segment's gauge to the others' of the same interval.
fn add_gauges(a: &mut GaugeAgg, b: &GaugeAgg) {
    if b.samples == 0 {
        return;
    }
    if a.samples == 0 {
        *a = b.clone();
        return;
    }
    a.value += b.value;
    a.min += b.min;
    a.max += b.max;
    a.time_ns = a.time_ns.max(b.time_ns);
    a.samples = a.samples.max(b.samples);
}

/// What [`IntervalMerger::add`] did with a part.
#[derive(Debug, PartialEq)]
pub enum Added {
    /// A new part.
    New,
    /// A new part of an interval released before: it will be released
    /// again, and here it is alone (to add to running totals).
    Late(Snapshot),
    /// The same `(segment, index)` was already there: ignored.
    Duplicate,
}

/// A merged interval to store.
#[derive(Debug)]
pub struct Released {
    /// Its index.
    pub index: u64,
    /// The merge of every part so far, spanning its nominal second.
    pub snapshot: Snapshot,
    /// Released for the first time (else an upsert with late parts).
    pub first: bool,
}

/// One interval's parts.
struct Slot {
    parts: BTreeMap<usize, Snapshot>,
    first_seen: Instant,
    /// Released at least once.
    released: bool,
    /// Has parts the last release did not include.
    dirty: bool,
    /// Seeded from its stored merge: every part is in it already.
    seeded: bool,
}

/// Collects every segment's intervals and releases them merged.
pub struct IntervalMerger {
    registry: Registry,
    start_ns: u64,
    timeout: Duration,
    slots: BTreeMap<u64, Slot>,
    /// Per segment: the next index it may report (all below are in).
    next: Vec<u64>,
    /// Per segment: it reports nothing more.
    done: Vec<bool>,
}

impl IntervalMerger {
    /// A merger for `segments` segments that started their scenarios at
    /// `start_ns` (ns since the Unix epoch); an interval waits at most
    /// `timeout` for a late segment.
    pub fn new(segments: usize, start_ns: u64, timeout: Duration) -> Self {
        Self {
            registry: Registry::new(),
            start_ns,
            timeout,
            slots: BTreeMap::new(),
            next: vec![0; segments],
            done: vec![false; segments],
        }
    }

    /// The metric definitions of the merged snapshots.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Adds segment `segment`'s interval `index`.
    pub fn add(
        &mut self,
        segment: usize,
        index: u64,
        snapshot: WireSnapshot,
        now: Instant,
    ) -> Result<Added, MetricError> {
        if segment >= self.next.len() {
            return Err(MetricError::Wire(format!(
                "no segment #{segment} in this run"
            )));
        }
        let snap = snapshot.into_snapshot(&self.registry)?;
        let slot = self.slots.entry(index).or_insert_with(|| Slot {
            parts: BTreeMap::new(),
            first_seen: now,
            released: false,
            dirty: false,
            seeded: false,
        });
        if slot.seeded || slot.parts.contains_key(&segment) {
            return Ok(Added::Duplicate);
        }
        let added = if slot.released {
            Added::Late(snap.clone())
        } else {
            Added::New
        };
        slot.parts.insert(segment, snap);
        slot.dirty = true;
        self.next[segment] = self.next[segment].max(index + 1);
        Ok(added)
    }

    /// Seeds interval `index` with its stored merge (a leader taking a run
    /// over): released and complete, so its parts, replayed from the
    /// segments' event streams, are duplicates. Returns the snapshot.
    pub fn seed(
        &mut self,
        index: u64,
        snapshot: WireSnapshot,
        now: Instant,
    ) -> Result<Snapshot, MetricError> {
        let snap = snapshot.into_snapshot(&self.registry)?;
        let slot = Slot {
            parts: BTreeMap::from([(0, snap.clone())]),
            first_seen: now,
            released: true,
            dirty: false,
            seeded: true,
        };
        self.slots.insert(index, slot);
        Ok(snap)
    }

    /// Segment `segment` reports no more intervals (it finished or failed).
    pub fn segment_done(&mut self, segment: usize) {
        if let Some(d) = self.done.get_mut(segment) {
            *d = true;
        }
    }

    /// The intervals to store now, merged, in index order: those every
    /// live segment has moved past, those whose wait timed out, and those
    /// released before that got a late part. `Instant` is now.
    pub fn ready(&mut self, now: Instant) -> Vec<Released> {
        let mut out = Vec::new();
        for (&index, slot) in self.slots.iter_mut() {
            if !slot.dirty {
                continue;
            }
            let complete = self
                .next
                .iter()
                .zip(&self.done)
                .all(|(&next, &done)| done || next > index);
            let timed_out = now.duration_since(slot.first_seen) >= self.timeout;
            if !(complete || timed_out || slot.released) {
                continue;
            }
            let parts: Vec<&Snapshot> = slot.parts.values().collect();
            let mut merged = merge_segments(&self.registry, &parts);
            let start = self.start_ns + index * INTERVAL.as_nanos() as u64;
            merged.start_ns = start;
            merged.end_ns = start + INTERVAL.as_nanos() as u64;
            out.push(Released {
                index,
                snapshot: merged,
                first: !slot.released,
            });
            slot.released = true;
            slot.dirty = false;
        }
        out
    }

    /// Every interval's merge so far, in index order (for the end-of-test
    /// summary).
    pub fn all(&self) -> impl Iterator<Item = Snapshot> + '_ {
        self.slots.values().map(|slot| {
            let parts: Vec<&Snapshot> = slot.parts.values().collect();
            merge_segments(&self.registry, &parts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{Builtin, Sink, Store};

    /// A segment's interval: `(metric, value)` samples at time `t`.
    fn snap(reg: &Registry, samples: &[(stampede_metrics::Metric, f64)], t: u64) -> WireSnapshot {
        let mut sink = Sink::new();
        for &(m, v) in samples {
            sink.add(m, &TagSet::empty(), v, t);
        }
        sink.take(t, t + 1).to_wire(reg)
    }

    fn durations(seed: u64, n: usize) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % 50_000) as f64 / 7.0
            })
            .collect()
    }

    #[test]
    fn merged_segments_equal_one_process() {
        let reg = Registry::new();
        let dur = Builtin::HttpReqDuration.metric();
        let reqs = Builtin::HttpReqs.metric();
        let failed = Builtin::HttpReqFailed.metric();
        let t0 = Instant::now();
        let mut m = IntervalMerger::new(3, 1_000_000_000, Duration::from_secs(5));
        let mut one = Sink::new();
        for seg in 0..3usize {
            for index in 0..2u64 {
                let values = durations(seg as u64 * 10 + index, 500);
                let mut samples = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    samples.push((dur, *v));
                    samples.push((reqs, 1.0));
                    samples.push((failed, (i % 7 == 0) as u8 as f64));
                    one.add(dur, &TagSet::empty(), *v, 5);
                    one.add(reqs, &TagSet::empty(), 1.0, 5);
                    one.add(failed, &TagSet::empty(), (i % 7 == 0) as u8 as f64, 5);
                }
                let w = snap(&reg, &samples, 5);
                assert_eq!(m.add(seg, index, w.clone(), t0).unwrap(), Added::New);
                // Redelivered: never counted twice.
                assert_eq!(m.add(seg, index, w, t0).unwrap(), Added::Duplicate);
            }
        }
        // Every segment reported both intervals: both are complete, once.
        let ready = m.ready(t0);
        assert_eq!(
            ready.iter().map(|r| r.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        for seg in 0..3 {
            m.segment_done(seg);
        }
        assert!(m.ready(t0).is_empty());
        let mut merged = Store::new();
        for s in m.all() {
            merged.apply(&s);
        }
        let mut expected = Store::new();
        expected.apply(&one.take(0, 1));
        for metric in [dur, reqs, failed] {
            let id = m
                .registry()
                .lookup(reg.def(metric.id).name.as_ref())
                .unwrap()
                .id;
            let a = merged.get(id, &TagSet::empty()).unwrap();
            let b = expected.get(metric.id, &TagSet::empty()).unwrap();
            match (&a, &b) {
                (Aggregate::Trend(x), Aggregate::Trend(y)) => {
                    assert_eq!(x.count(), y.count());
                    assert_eq!((x.min(), x.max()), (y.min(), y.max()));
                    for p in [50.0, 90.0, 95.0, 99.0, 99.9] {
                        assert_eq!(x.percentile(p), y.percentile(p), "p{p}");
                    }
                }
                (Aggregate::Counter(x), Aggregate::Counter(y)) => {
                    assert_eq!((x.sum, x.samples), (y.sum, y.samples))
                }
                (x, y) => assert_eq!(x, y),
            }
        }
    }

    #[test]
    fn a_seeded_interval_ignores_its_replayed_parts() {
        let reg = Registry::new();
        let reqs = Builtin::HttpReqs.metric();
        let t0 = Instant::now();
        let mut m = IntervalMerger::new(2, 0, Duration::from_secs(3));
        // Interval 0 as a previous leader stored it (both segments merged).
        m.seed(0, snap(&reg, &[(reqs, 1.0), (reqs, 1.0)], 1), t0)
            .unwrap();
        for seg in 0..2 {
            let part = snap(&reg, &[(reqs, 1.0)], 1);
            assert_eq!(m.add(seg, 0, part, t0).unwrap(), Added::Duplicate);
            let next = snap(&reg, &[(reqs, 1.0)], 2);
            assert_eq!(m.add(seg, 1, next, t0).unwrap(), Added::New);
        }
        let released: Vec<u64> = m.ready(t0).iter().map(|r| r.index).collect();
        assert_eq!(released, [1], "the seeded interval is stored already");
        assert_eq!(m.all().count(), 2, "the summary covers both");
    }

    #[test]
    fn a_slow_segment_is_waited_for_then_upserted() {
        let reg = Registry::new();
        let reqs = Builtin::HttpReqs.metric();
        let t0 = Instant::now();
        let timeout = Duration::from_secs(3);
        let mut m = IntervalMerger::new(2, 0, timeout);
        m.add(0, 0, snap(&reg, &[(reqs, 1.0)], 1), t0).unwrap();
        m.add(0, 1, snap(&reg, &[(reqs, 1.0)], 2), t0).unwrap();
        assert!(m.ready(t0).is_empty(), "segment 1 has not reported 0");
        // Done segments are not waited for.
        let mut done = IntervalMerger::new(2, 0, timeout);
        done.add(0, 0, snap(&reg, &[(reqs, 1.0)], 1), t0).unwrap();
        done.segment_done(1);
        assert_eq!(done.ready(t0).len(), 1);
        let later = t0 + timeout;
        let first = m.ready(later);
        assert_eq!(first.len(), 2, "timed out: stored with what is there");
        assert_eq!(first[0].snapshot.start_ns, 0);
        assert_eq!(first[1].snapshot.start_ns, 1_000_000_000);
        assert!(first[0].first);
        assert!(m.ready(later).is_empty(), "released once");
        // The late part releases interval 0 again, re-merged.
        let late = m.add(1, 0, snap(&reg, &[(reqs, 2.0)], 1), later).unwrap();
        assert!(matches!(late, Added::Late(_)));
        let again = m.ready(later);
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].index, again[0].first), (0, false));
        match &again[0].snapshot.entries[0].agg {
            Aggregate::Counter(c) => assert_eq!(c.sum, 3.0),
            other => panic!("{other:?}"),
        }
        assert!(m.add(2, 0, snap(&reg, &[], 1), later).is_err());
    }

    #[test]
    fn vus_add_up_other_gauges_keep_the_latest() {
        let reg = Registry::new();
        let custom = reg
            .register(
                "queue",
                stampede_metrics::MetricType::Gauge,
                Default::default(),
            )
            .unwrap();
        let vus = Builtin::Vus.metric();
        let a = snap(&reg, &[(vus, 3.0), (custom, 10.0)], 5)
            .into_snapshot(&reg)
            .unwrap();
        let b = snap(&reg, &[(vus, 4.0), (custom, 7.0)], 6)
            .into_snapshot(&reg)
            .unwrap();
        let merged = merge_segments(&reg, &[&a, &b]);
        let value = |id| {
            merged
                .entries
                .iter()
                .find_map(|e| match &e.agg {
                    Aggregate::Gauge(g) if e.metric == id => Some(g.value),
                    _ => None,
                })
                .unwrap()
        };
        assert_eq!(value(vus.id), 7.0);
        assert_eq!(value(custom.id), 7.0, "latest by time");
    }
}
