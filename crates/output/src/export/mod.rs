//! Reports of stored runs: everything the control plane exports is computed
//! from a run's per-interval merged snapshots (as `crates/store` keeps
//! them), so any past run's percentiles are exact to the histograms' three
//! significant digits, whatever the interval length it was rolled up to.
//!
//! - [`StoredRun`] → [`results`]: the same [`Results`] record a local
//!   `--out results=FILE` run leaves (totals, thresholds evaluated on the
//!   merged data, checks, endpoints, per-interval series, `handleSummary`
//!   data), so the existing [HTML report](crate::html::render), baseline
//!   and comparison code apply unchanged.
//! - [`json`]: the `--summary-export` document plus per-interval series.
//! - [`csv`]: per-interval rows and the per-endpoint table.
//! - [`pdf`]: the HTML report printed by headless Chromium (the only I/O here).
//! - [`compare`]: two stored runs, endpoint by endpoint, with a verdict.
//! - [`timeseries`]: one metric's points for charts, re-bucketed exactly.
//!
//! ```
//! use stampede_metrics::{Builtin, Registry, Sink, TagSet};
//! use stampede_output::export::{self, StoredRun};
//!
//! let reg = Registry::new();
//! let tags = TagSet::from_pairs([("name", "home"), ("method", "GET"), ("status", "200")]);
//! let intervals: Vec<_> = (0..3u64)
//!     .map(|s| {
//!         let mut sink = Sink::new();
//!         let t = s * 1_000_000_000;
//!         sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, t);
//!         sink.add(Builtin::HttpReqDuration.metric(), &tags, 100.0 + s as f64, t);
//!         sink.take(t, t + 1_000_000_000).to_wire(&reg)
//!     })
//!     .collect();
//! let run = StoredRun { intervals: &intervals, ..StoredRun::default() };
//! let results = export::results(&run).unwrap();
//! assert_eq!(results.totals.requests, 3);
//! assert_eq!(results.endpoint("home").unwrap().latency.max, 102.0);
//! assert_eq!(results.series.points.len(), 3);
//! ```

pub mod compare;
pub mod csv;
pub mod json;
pub mod pdf;
pub mod timeseries;

use std::collections::BTreeMap;
use std::time::Duration;

use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{
    Aggregate, Builtin, MetricId, Registry, Snapshot, Store, TrendAgg, WireSnapshot,
};
use thiserror::Error;

use crate::results::recorder::{whole_run, EndpointTable};
use crate::results::{
    rfc3339_utc, Endpoint, Point, PointLatency, Results, ScenarioPoint, Series, TestInfo, SCHEMA,
};

/// What is known of a stored run, for its reports.
#[derive(Clone, Debug, Default)]
pub struct StoredRun<'a> {
    /// The run's intervals in time order (they must not overlap); their
    /// `start_ns`/`end_ns` are relative to the run's start.
    pub intervals: &'a [WireSnapshot],
    /// When the run started (ns since the Unix epoch), for timestamps.
    pub started_at_ns: u64,
    /// How long it ran (default: from the first interval's start to the
    /// last one's end). Counters' rates are per second of it.
    pub duration: Option<Duration>,
    /// The script or scenario name, for titles.
    pub script: Option<String>,
    /// Where the data comes from, e.g. `stampede server, run 12`.
    pub source: Option<String>,
    /// The run's thresholds, evaluated on the merged data (see
    /// [`thresholds_from_options`]).
    pub thresholds: Vec<ThresholdSpec>,
    /// `summaryTrendStats` (empty: k6's default).
    pub trend_stats: Vec<String>,
    /// The chart series' step: the stored intervals' nominal length (the
    /// longest when they differ). Default: the longest interval's span,
    /// rounded up to whole seconds.
    pub step: Option<Duration>,
}

/// Why a report could not be made.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A stored snapshot does not fit the others (a metric with two types).
    #[error("the stored intervals do not merge: {0}")]
    Snapshots(String),
    /// The run's thresholds do not parse.
    #[error("invalid thresholds: {0}")]
    Thresholds(String),
}

/// The thresholds of k6 options JSON (`{"thresholds": {"metric{tag:v}":
/// ["p(95)<500", {"threshold": "rate<0.01", "abortOnFail": true}]}}`).
pub fn thresholds_from_options(
    options: &serde_json::Value,
) -> Result<Vec<ThresholdSpec>, ExportError> {
    let Some(map) = options.get("thresholds") else {
        return Ok(Vec::new());
    };
    let map = map
        .as_object()
        .ok_or_else(|| ExportError::Thresholds("`thresholds` must be an object".into()))?;
    let mut specs = Vec::new();
    for (selector, list) in map {
        let items: Vec<&serde_json::Value> = match list {
            serde_json::Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let mut spec = match item {
                serde_json::Value::String(expr) => ThresholdSpec::new(selector, expr),
                serde_json::Value::Object(o) => {
                    let expr = o.get("threshold").and_then(|t| t.as_str()).ok_or_else(|| {
                        ExportError::Thresholds(format!(
                            "{selector}: an object needs a \"threshold\" string"
                        ))
                    })?;
                    let mut spec = ThresholdSpec::new(selector, expr);
                    spec.abort_on_fail = o
                        .get("abortOnFail")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false);
                    spec
                }
                _ => {
                    return Err(ExportError::Thresholds(format!(
                        "{selector}: each threshold is a string or an object"
                    )))
                }
            };
            spec.delay_abort_eval = None;
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// Resolves wire snapshots into one registry (custom metrics registered as met).
pub(crate) fn resolve(
    reg: &Registry,
    intervals: &[WireSnapshot],
) -> Result<Vec<Snapshot>, ExportError> {
    intervals
        .iter()
        .map(|w| {
            w.clone()
                .into_snapshot(reg)
                .map_err(|e| ExportError::Snapshots(e.to_string()))
        })
        .collect()
}

/// The [`Results`] record of a stored run (see the module docs).
pub fn results(run: &StoredRun<'_>) -> Result<Results, ExportError> {
    let reg = Registry::new();
    let snaps = resolve(&reg, run.intervals)?;
    let first = snaps.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let last = snaps.iter().map(|s| s.end_ns).max().unwrap_or(first);
    let duration = run
        .duration
        .unwrap_or_else(|| Duration::from_nanos(last.saturating_sub(first)));
    let secs = duration.as_secs_f64();
    let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };

    let mut store = Store::new();
    for s in &snaps {
        store.apply(s);
    }
    // Thresholds that do not parse are an error here (the server accepted
    // them at start, so this means the options were edited since).
    Thresholds::new(run.thresholds.clone()).map_err(|errs| {
        ExportError::Thresholds(
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let whole = whole_run(&store, &reg, &run.thresholds, &run.trend_stats, duration);

    let mut scenarios: Vec<String> = Vec::new();
    for (_, tags, _) in store.entries() {
        if let Some(s) = tags.get("scenario") {
            if !scenarios.iter().any(|x| x == s) {
                scenarios.push(s.to_owned());
            }
        }
    }

    Ok(Results {
        schema: SCHEMA.into(),
        generator: format!("stampede {}", env!("CARGO_PKG_VERSION")),
        test: TestInfo {
            script: run.script.clone(),
            source: run
                .source
                .clone()
                .unwrap_or_else(|| "stampede server".into()),
            started_at: rfc3339_utc(run.started_at_ns.saturating_add(first)),
            ended_at: rfc3339_utc(
                run.started_at_ns
                    .saturating_add(first)
                    .saturating_add(duration.as_nanos() as u64),
            ),
            duration_s: secs,
            scenarios,
        },
        totals: whole.totals,
        thresholds: whole.thresholds,
        checks: whole.checks,
        endpoints: endpoints(&store, per_sec),
        series: series(&snaps, run.step),
        summary: Some(whole.summary),
    })
}

/// Per-endpoint figures from the merged store.
fn endpoints(store: &Store, per_sec: impl Fn(f64) -> f64) -> Vec<Endpoint> {
    let mut table = EndpointTable::default();
    for (metric, tags, agg) in store.entries() {
        match agg {
            Aggregate::Trend(t) if metric == Builtin::HttpReqDuration.id() => {
                let ep = table.entry(tags);
                ep.duration.merge(t);
                if let Some(status) = tags.get("status") {
                    *ep.statuses.entry(status.to_owned()).or_default() += t.count();
                }
                if let Some(method) = tags.get("method") {
                    ep.methods.insert(method.to_owned());
                }
            }
            Aggregate::Counter(c) if metric == Builtin::HttpReqs.id() => {
                table.entry(tags).requests += c.sum;
            }
            Aggregate::Rate(r) if metric == Builtin::HttpReqFailed.id() => {
                let ep = table.entry(tags);
                ep.failed += r.passes;
                ep.failed_total += r.total;
            }
            _ => {}
        }
    }
    table.finish(per_sec)
}

/// The chart series: one point per step of the longest stored interval
/// length, each the exact merge of the intervals starting in it.
fn series(snaps: &[Snapshot], step: Option<Duration>) -> Series {
    let step = match step {
        Some(s) => (s.as_nanos() as u64).max(1_000_000),
        None => {
            snaps
                .iter()
                .map(|s| s.end_ns.saturating_sub(s.start_ns))
                .max()
                .unwrap_or(1)
                .div_ceil(1_000_000_000)
                .max(1)
                * 1_000_000_000
        }
    };
    let mut buckets: BTreeMap<u64, Snapshot> = BTreeMap::new();
    for s in snaps {
        buckets.entry(s.start_ns / step).or_default().merge(s);
    }
    let points = buckets
        .into_iter()
        .map(|(i, snap)| point((i * step) as f64 / 1e9, &snap))
        .collect();
    Series {
        interval_ms: step / 1_000_000,
        points,
    }
}

fn point(t: f64, snap: &Snapshot) -> Point {
    let mut p = Point {
        t,
        ..Point::default()
    };
    let mut duration = TrendAgg::default();
    let mut by_scenario: BTreeMap<String, (ScenarioPoint, TrendAgg)> = BTreeMap::new();
    let id = |b: Builtin| -> MetricId { b.id() };
    for e in &snap.entries {
        let sc = e
            .tags
            .get("scenario")
            .map(|s| by_scenario.entry(s.to_owned()).or_default());
        match &e.agg {
            Aggregate::Counter(c) if e.metric == id(Builtin::HttpReqs) => {
                p.requests += c.sum as u64;
                if let Some(s) = sc {
                    s.0.requests += c.sum as u64;
                }
            }
            Aggregate::Counter(c) if e.metric == id(Builtin::Iterations) => {
                p.iterations += c.sum as u64;
                if let Some(s) = sc {
                    s.0.iterations += c.sum as u64;
                }
            }
            Aggregate::Rate(r) if e.metric == id(Builtin::HttpReqFailed) => {
                p.failed += r.passes;
                if let Some(s) = sc {
                    s.0.failed += r.passes;
                }
            }
            Aggregate::Trend(t) if e.metric == id(Builtin::HttpReqDuration) => {
                duration.merge(t);
                if let Some(s) = sc {
                    s.1.merge(t);
                }
            }
            Aggregate::Gauge(g) if e.metric == id(Builtin::Vus) && g.samples > 0 => {
                p.vus = Some(p.vus.map_or(g.value, |v| v + g.value));
            }
            _ => {}
        }
    }
    p.latency = (duration.count() > 0).then(|| PointLatency {
        avg: duration.avg(),
        p50: duration.percentile(50.0),
        p90: duration.percentile(90.0),
        p95: duration.percentile(95.0),
        p99: duration.percentile(99.0),
        max: duration.max(),
    });
    p.scenarios = by_scenario
        .into_iter()
        .map(|(name, (mut sp, t))| {
            sp.p95 = (t.count() > 0).then(|| t.percentile(95.0));
            (name, sp)
        })
        .collect();
    p
}
