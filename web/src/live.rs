//! [`LiveRun`]: a run's merged interval snapshots in, the data contract out
//! (one [`IntervalPoint`] per interval, the cumulative [`RunState`], the
//! history for resuming clients, and the [`Results`] the HTML report is
//! rendered from).
//!
//! It reads only [`Snapshot`]s, never raw samples: the engine streams one
//! per interval to whoever asks, and the platform stores exactly these
//! (`run_metrics`), so the dashboard of `stampede run` and the server's run
//! view compute the same figures the same way. The whole-run aggregates live
//! in a [`Store`] (HDR histograms merge exactly), thresholds are evaluated
//! on it after every interval as the engine does during a run, and the
//! per-endpoint and per-check tables are folded in as intervals arrive, so
//! the cost of an interval does not grow with the length of the run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{Aggregate, Builtin, Registry, Snapshot, Store, TagSet};
use stampede_output::results::{
    CheckResult, EndpointTable, Latency, Point, Results, Series, TestInfo, ThresholdResult, Totals,
    SCHEMA,
};

use crate::contract::{
    point_latency, IntervalPoint, MetricsPage, RunState, RunStatus, ScenarioState,
};

/// One run's live figures (see the module docs).
pub struct LiveRun {
    state: RunState,
    registry: Arc<Registry>,
    thresholds: Thresholds,
    store: Store,
    start_ns: Option<u64>,
    points: Vec<IntervalPoint>,
    endpoints: EndpointTable,
    checks: Vec<CheckResult>,
    check_index: HashMap<(String, String), usize>,
}

impl LiveRun {
    /// A run that has not started. `registry` names the metrics of the
    /// snapshots (custom metrics included); `thresholds` are the run's.
    pub fn new(
        id: &str,
        script: Option<String>,
        registry: Arc<Registry>,
        thresholds: Vec<ThresholdSpec>,
        interval: Duration,
    ) -> Self {
        let thresholds = Thresholds::new(thresholds).unwrap_or_default();
        // The engine validated them already; this binds custom metrics.
        let _ = thresholds.validate(&registry);
        let mut run = LiveRun {
            state: RunState {
                id: id.to_owned(),
                script,
                interval_ms: interval.as_millis() as u64,
                ..RunState::default()
            },
            registry,
            thresholds,
            store: Store::new(),
            start_ns: None,
            points: Vec::new(),
            endpoints: EndpointTable::default(),
            checks: Vec::new(),
            check_index: HashMap::new(),
        };
        run.state.thresholds = run.threshold_rows();
        run
    }

    /// Sets the time the test started (ns since the Unix epoch); default:
    /// the start of the first interval.
    pub fn set_start(&mut self, unix_ns: u64) {
        self.start_ns = Some(unix_ns);
        self.state.started_at = Some(rfc3339(unix_ns));
    }

    /// Adds one closed interval; returns its point.
    pub fn push(&mut self, snap: &Snapshot) -> IntervalPoint {
        let point = self.fold(snap);
        self.refresh(point.t);
        point
    }

    /// Adds many closed intervals (a stored run's history), evaluating the
    /// thresholds and the tables once at the end; returns their points.
    pub fn extend<'a>(
        &mut self,
        snaps: impl IntoIterator<Item = &'a Snapshot>,
    ) -> Vec<IntervalPoint> {
        let points: Vec<IntervalPoint> = snaps.into_iter().map(|s| self.fold(s)).collect();
        if let Some(last) = points.last() {
            self.refresh(last.t);
        }
        points
    }

    /// Folds an interval into the run; the tables are left to [`Self::refresh`].
    fn fold(&mut self, snap: &Snapshot) -> IntervalPoint {
        if self.start_ns.is_none() {
            self.set_start(snap.start_ns);
        }
        let start = self.start_ns.unwrap_or(snap.start_ns);
        let mut interval = Store::new();
        interval.apply(snap);
        self.store.apply(snap);
        for e in &snap.entries {
            self.fold_entry(e.metric, &e.tags, &e.agg);
        }
        let nominal = self.state.interval_ms as f64 / 1000.0;
        let dur = match snap.end_ns.saturating_sub(snap.start_ns) as f64 / 1e9 {
            d if d > 0.0 => d,
            _ => nominal,
        };
        let t = snap.end_ns.saturating_sub(start) as f64 / 1e9;
        let mut point = interval_point(&interval, self.points.len() as u64, t, dur);
        point.closed_at_ms = snap.end_ns / 1_000_000;
        self.points.push(point.clone());
        self.state.last_seq = Some(point.seq);
        self.state.elapsed_s = self.state.elapsed_s.max(t);
        point
    }

    /// Evaluates the thresholds at `t` seconds and recomputes the tables.
    fn refresh(&mut self, t: f64) {
        if !self.thresholds.is_empty() {
            self.thresholds
                .evaluate_running(&self.store, Duration::from_secs_f64(t));
            self.state.thresholds = self.threshold_rows();
        }
        self.refresh_tables();
    }

    /// Sets the lifecycle state.
    pub fn set_status(&mut self, status: RunStatus) {
        self.state.status = status;
        self.state.can_stop = matches!(status, RunStatus::Starting | RunStatus::Running);
    }

    /// Sets the scenarios' progress and the time since the test started.
    pub fn set_progress(&mut self, scenarios: Vec<ScenarioState>, elapsed: Duration) {
        self.state.scenarios = scenarios;
        self.state.elapsed_s = self.state.elapsed_s.max(elapsed.as_secs_f64());
    }

    /// Records the end of the run: its status, exit code, error and the
    /// final threshold outcomes (the engine's end-of-test evaluation).
    pub fn finish(
        &mut self,
        status: RunStatus,
        exit_code: i32,
        error: Option<String>,
        thresholds: &Thresholds,
    ) {
        self.set_status(status);
        self.state.exit_code = Some(exit_code);
        self.state.error = error;
        if !thresholds.is_empty() {
            self.state.thresholds = threshold_rows(thresholds, &self.registry);
        }
    }

    /// The run's state now.
    pub fn state(&self) -> &RunState {
        &self.state
    }

    /// The points after `after` (every point without it).
    pub fn page(&self, after: Option<u64>) -> MetricsPage {
        MetricsPage::after(&self.state.id, self.state.interval_ms, &self.points, after)
    }

    /// Every point so far, by `seq`.
    pub fn points(&self) -> &[IntervalPoint] {
        &self.points
    }

    /// The run as a results record, for the HTML report.
    pub fn results(&self) -> Results {
        let start = self.start_ns.unwrap_or(0);
        let duration_s = self.state.elapsed_s;
        let end = start + (duration_s * 1e9) as u64;
        let points = self
            .points
            .iter()
            .map(|p| Point {
                t: (p.t - p.dur).max(0.0),
                vus: p.vus,
                requests: p.requests,
                failed: p.failed,
                iterations: p.iterations,
                latency: p.latency.map(|l| stampede_output::results::PointLatency {
                    avg: l.avg,
                    p50: l.p50,
                    p90: l.p90,
                    p95: l.p95,
                    p99: l.p99,
                    max: l.max,
                }),
                scenarios: Default::default(),
            })
            .collect();
        Results {
            schema: SCHEMA.into(),
            generator: format!("stampede {}", env!("CARGO_PKG_VERSION")),
            test: TestInfo {
                script: self.state.script.clone(),
                source: "stampede run".into(),
                started_at: rfc3339(start),
                ended_at: rfc3339(end),
                duration_s,
                scenarios: self
                    .state
                    .scenarios
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
            },
            totals: self.state.totals.clone(),
            thresholds: self.state.thresholds.clone(),
            checks: self.state.checks.clone(),
            endpoints: self.state.endpoints.clone(),
            series: Series {
                interval_ms: self.state.interval_ms,
                points,
            },
            summary: None,
        }
    }

    fn fold_entry(&mut self, metric: stampede_metrics::MetricId, tags: &TagSet, agg: &Aggregate) {
        match (metric, agg) {
            (m, Aggregate::Trend(t)) if m == Builtin::HttpReqDuration.id() => {
                let ep = self.endpoints.entry(tags);
                ep.duration.merge(t);
                if let Some(status) = tags.get("status") {
                    *ep.statuses.entry(status.to_owned()).or_default() += t.count();
                }
                if let Some(method) = tags.get("method") {
                    ep.methods.insert(method.to_owned());
                }
            }
            (m, Aggregate::Counter(c)) if m == Builtin::HttpReqs.id() => {
                self.endpoints.entry(tags).requests += c.sum;
            }
            (m, Aggregate::Rate(r)) if m == Builtin::HttpReqFailed.id() => {
                let ep = self.endpoints.entry(tags);
                ep.failed += r.passes;
                ep.failed_total += r.total;
            }
            (m, Aggregate::Rate(r)) if m == Builtin::Checks.id() => {
                let key = (
                    tags.get("group").unwrap_or_default().to_owned(),
                    tags.get("check").unwrap_or_default().to_owned(),
                );
                let i = match self.check_index.get(&key) {
                    Some(&i) => i,
                    None => {
                        self.checks.push(CheckResult {
                            name: key.1.clone(),
                            group: key.0.clone(),
                            passes: 0,
                            fails: 0,
                        });
                        self.check_index.insert(key, self.checks.len() - 1);
                        self.checks.len() - 1
                    }
                };
                self.checks[i].passes += r.passes;
                self.checks[i].fails += r.fails();
            }
            _ => {}
        }
    }

    /// Recomputes the totals and the endpoint and check tables.
    fn refresh_tables(&mut self) {
        let secs = self.state.elapsed_s;
        let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
        self.state.endpoints = self.endpoints.endpoints(per_sec);
        self.state.checks = self.checks.clone();
        self.state.totals = totals(&self.store, per_sec);
    }

    fn threshold_rows(&self) -> Vec<ThresholdResult> {
        threshold_rows(&self.thresholds, &self.registry)
    }
}

/// Every threshold's latest outcome, one row per expression.
fn threshold_rows(thresholds: &Thresholds, registry: &Registry) -> Vec<ThresholdResult> {
    let mut rows = Vec::new();
    for r in thresholds.results() {
        let def = registry
            .lookup(&r.selector.metric)
            .map(|m| registry.def(m.id));
        let contains = def.as_ref().map_or("default", |d| d.contains.as_str());
        let kind = def.as_ref().map_or("", |d| d.kind.as_str());
        for t in r.thresholds {
            rows.push(ThresholdResult {
                metric: r.name.clone(),
                expression: t.source,
                ok: t.ok,
                observed: t.observed,
                contains: contains.to_owned(),
                kind: kind.to_owned(),
            });
        }
    }
    rows
}

/// The whole-run figures of `store`.
fn totals(store: &Store, per_sec: impl Fn(f64) -> f64) -> Totals {
    let whole = |b: Builtin| store.get(b.id(), &TagSet::empty());
    let count = |b: Builtin| match whole(b) {
        Some(Aggregate::Counter(c)) => c.sum,
        _ => 0.0,
    };
    let rate = |b: Builtin| match whole(b) {
        Some(Aggregate::Rate(r)) => (r.passes, r.total),
        _ => (0, 0),
    };
    let (failed, failed_total) = rate(Builtin::HttpReqFailed);
    let (checks_passed, checks_total) = rate(Builtin::Checks);
    let requests = count(Builtin::HttpReqs);
    Totals {
        requests: requests as u64,
        failed,
        error_rate: ratio(failed, failed_total),
        rps: per_sec(requests),
        iterations: count(Builtin::Iterations) as u64,
        dropped_iterations: count(Builtin::DroppedIterations) as u64,
        vus_max: match whole(Builtin::Vus) {
            Some(Aggregate::Gauge(g)) => Some(g.max),
            _ => None,
        },
        data_sent: count(Builtin::DataSent),
        data_received: count(Builtin::DataReceived),
        checks_passed,
        checks_failed: checks_total - checks_passed,
        latency: match whole(Builtin::HttpReqDuration) {
            Some(Aggregate::Trend(t)) => Latency::from_trend(&t),
            _ => Latency::default(),
        },
    }
}

/// The chart point of one interval's store.
fn interval_point(s: &Store, seq: u64, t: f64, dur: f64) -> IntervalPoint {
    let get = |b: Builtin| s.get(b.id(), &TagSet::empty());
    let count = |b: Builtin| match get(b) {
        Some(Aggregate::Counter(c)) => c.sum,
        _ => 0.0,
    };
    let gauge = |b: Builtin| match get(b) {
        Some(Aggregate::Gauge(g)) if g.samples > 0 => Some(g.value),
        _ => None,
    };
    let (failed, failed_total) = match get(Builtin::HttpReqFailed) {
        Some(Aggregate::Rate(r)) => (r.passes, r.total),
        _ => (0, 0),
    };
    let (checks_passed, checks_failed) = match get(Builtin::Checks) {
        Some(Aggregate::Rate(r)) => (r.passes, r.fails()),
        _ => (0, 0),
    };
    let requests = count(Builtin::HttpReqs);
    IntervalPoint {
        seq,
        t,
        dur,
        closed_at_ms: 0,
        vus: gauge(Builtin::Vus),
        vus_max: gauge(Builtin::VusMax),
        requests: requests as u64,
        rps: requests / dur,
        failed,
        error_rate: (failed_total > 0).then(|| ratio(failed, failed_total)),
        iterations: count(Builtin::Iterations) as u64,
        latency: match get(Builtin::HttpReqDuration) {
            Some(Aggregate::Trend(t)) if t.count() > 0 => {
                Some(point_latency(&Latency::from_trend(&t)))
            }
            _ => None,
        },
        sent_bps: count(Builtin::DataSent) / dur,
        received_bps: count(Builtin::DataReceived) / dur,
        checks_passed,
        checks_failed,
    }
}

fn ratio(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

/// RFC 3339 in UTC, to the millisecond.
fn rfc3339(unix_ns: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(unix_ns as i128)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
