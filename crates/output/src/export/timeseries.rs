//! One metric's time series for charts, from a stored run's intervals:
//! the series matching a tag filter are merged, and intervals are
//! re-bucketed to the requested step exactly (histograms add; nothing is
//! averaged). Buckets are aligned to multiples of the step from the run's
//! start; an interval belongs to the bucket its start falls in, so a step
//! shorter than the stored intervals (10 s or 60 s after rollup) gives one
//! point per stored interval.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use stampede_metrics::{Aggregate, Registry, Snapshot, Stat, TagSet, WireSnapshot};

use super::{resolve, ExportError};

/// What to chart.
#[derive(Clone, Debug)]
pub struct Query {
    /// The metric name, e.g. `http_req_duration`.
    pub metric: String,
    /// Only series whose tags include all of these (empty: all series).
    pub tags: TagSet,
    /// From this offset into the run (inclusive).
    pub from: Option<Duration>,
    /// To this offset (exclusive).
    pub to: Option<Duration>,
    /// Bucket length (at least 1 ms; default 1 s).
    pub step: Option<Duration>,
}

/// One bucket. Fields that do not apply to the metric's type are `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// The bucket's start, in seconds from the run's start.
    pub t: f64,
    /// How long the merged intervals span, in seconds.
    pub duration_s: f64,
    /// Samples (counter: their sum; trend, rate, gauge: their number).
    pub count: f64,
    /// Counter: per second of the bucket; rate: share of non-zero values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Trend and gauge: smallest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Trend and gauge: largest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Trend: mean; gauge: the latest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    /// Trend: median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// Trend: 90th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    /// Trend: 95th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    /// Trend: 99th percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
}

/// Why a query cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The run never recorded this metric.
    #[error("the run has no metric '{0}'")]
    UnknownMetric(String),
    /// `from` is not before `to`, or the step is under 1 ms.
    #[error("{0}")]
    InvalidRange(String),
    /// The stored data itself.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// The points of `query` over `intervals` (a run's stored intervals, in
/// time order), one per non-empty bucket.
pub fn query(intervals: &[WireSnapshot], query: &Query) -> Result<Vec<SeriesPoint>, QueryError> {
    let step = query.step.unwrap_or(Duration::from_secs(1));
    if step < Duration::from_millis(1) {
        return Err(QueryError::InvalidRange(
            "the step must be at least 1ms".into(),
        ));
    }
    if let (Some(f), Some(t)) = (query.from, query.to) {
        if f >= t {
            return Err(QueryError::InvalidRange(
                "`from` must be before `to`".into(),
            ));
        }
    }
    let reg = Registry::new();
    let known = intervals
        .iter()
        .any(|w| w.metrics.iter().any(|m| m.name == query.metric));
    if !known {
        return Err(QueryError::UnknownMetric(query.metric.clone()));
    }
    let snaps = resolve(&reg, intervals)?;
    let metric = reg
        .lookup(&query.metric)
        .ok_or_else(|| QueryError::UnknownMetric(query.metric.clone()))?;
    let step_ns = step.as_nanos() as u64;
    let from = query.from.map_or(0, |d| d.as_nanos() as u64);
    let to = query.to.map_or(u64::MAX, |d| d.as_nanos() as u64);
    let mut buckets: BTreeMap<u64, (Aggregate, u64, u64)> = BTreeMap::new();
    for s in snaps
        .iter()
        .filter(|s| s.start_ns >= from && s.start_ns < to)
    {
        add_bucket(&mut buckets, s, metric.id, &query.tags, step_ns);
    }
    Ok(buckets
        .into_iter()
        .map(|(i, (agg, start, end))| point(i * step_ns, start, end, &agg))
        .collect())
}

fn add_bucket(
    buckets: &mut BTreeMap<u64, (Aggregate, u64, u64)>,
    snap: &Snapshot,
    metric: stampede_metrics::MetricId,
    filter: &TagSet,
    step_ns: u64,
) {
    for e in snap
        .entries
        .iter()
        .filter(|e| e.metric == metric && e.tags.contains(filter))
    {
        let slot = buckets
            .entry(snap.start_ns / step_ns)
            .or_insert_with(|| (Aggregate::new(e.agg.kind()), snap.start_ns, snap.end_ns));
        slot.0.merge(&e.agg);
        slot.1 = slot.1.min(snap.start_ns);
        slot.2 = slot.2.max(snap.end_ns);
    }
}

fn point(t_ns: u64, start: u64, end: u64, agg: &Aggregate) -> SeriesPoint {
    let span = Duration::from_nanos(end.saturating_sub(start));
    let stat = |s: Stat| agg.stat(&s, span);
    let mut p = SeriesPoint {
        t: t_ns as f64 / 1e9,
        duration_s: span.as_secs_f64(),
        ..SeriesPoint::default()
    };
    match agg {
        Aggregate::Counter(c) => {
            p.count = c.sum;
            p.rate = stat(Stat::Rate);
        }
        Aggregate::Rate(r) => {
            p.count = r.total as f64;
            p.rate = Some(r.rate());
        }
        Aggregate::Gauge(g) => {
            p.count = g.samples as f64;
            p.min = Some(g.min);
            p.max = stat(Stat::Max);
            p.avg = Some(g.value);
        }
        Aggregate::Trend(t) => {
            p.count = t.count() as f64;
            p.min = Some(t.min());
            p.max = Some(t.max());
            p.avg = Some(t.avg());
            p.p50 = Some(t.percentile(50.0));
            p.p90 = Some(t.percentile(90.0));
            p.p95 = Some(t.percentile(95.0));
            p.p99 = Some(t.percentile(99.0));
        }
    }
    p
}
