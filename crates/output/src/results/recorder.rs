//! [`Recorder`]: samples in, [`Results`] out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{
    Aggregate, Builtin, Metric, MetricId, MetricType, Registry, Sample, Sink, Store, TagSet,
    TrendAgg, ValueType,
};

use super::series::{Add, SeriesAcc};
use super::{
    rfc3339_utc, CheckResult, Endpoint, Latency, Results, Series, TestInfo, ThresholdResult,
    Totals, MAX_ENDPOINTS, OTHER_ENDPOINTS, SCHEMA,
};
use crate::summary::{GroupNode, Report, SummaryInput};

/// What a [`Recorder`] needs besides the samples.
#[derive(Clone, Debug, Default)]
pub struct RecorderConfig {
    /// The script, for the record.
    pub script: Option<String>,
    /// Where the samples come from (default: `stampede run`).
    pub source: Option<String>,
    /// The run's thresholds, evaluated on the recorded samples at the end.
    pub thresholds: Vec<ThresholdSpec>,
    /// `summaryTrendStats` for the embedded `handleSummary` data (empty: k6's default).
    pub trend_stats: Vec<String>,
    /// The start of the test (ns since the epoch); default: the first sample.
    pub start_ns: Option<u64>,
    /// The series' interval (default: one second).
    pub interval: Option<Duration>,
}

/// One endpoint's figures while they accumulate.
#[derive(Default)]
pub struct EndpointAcc {
    /// HTTP methods seen.
    pub methods: BTreeSet<String>,
    /// `http_reqs`.
    pub requests: f64,
    /// Failed requests (`http_req_failed` passes).
    pub failed: u64,
    /// Requests `http_req_failed` saw.
    pub failed_total: u64,
    /// `http_req_duration`.
    pub duration: TrendAgg,
    /// Responses by status.
    pub statuses: BTreeMap<String, u64>,
}

/// Endpoints by name (the `endpoint` tag, else `name`, else `url`), capped
/// at [`MAX_ENDPOINTS`]; shared with the exports of stored runs and the
/// web UI's live run view.
#[derive(Default)]
pub struct EndpointTable {
    list: Vec<(String, EndpointAcc)>,
    by_name: HashMap<String, usize>,
}

impl EndpointTable {
    /// The accumulator of the endpoint `tags` belong to.
    pub fn entry(&mut self, tags: &TagSet) -> &mut EndpointAcc {
        let name = tags
            .get("endpoint")
            .or_else(|| tags.get("name"))
            .or_else(|| tags.get("url"))
            .unwrap_or("(unnamed)");
        let i = match self.by_name.get(name) {
            Some(&i) => i,
            None => {
                let key = if self.list.len() >= MAX_ENDPOINTS {
                    OTHER_ENDPOINTS
                } else {
                    name
                };
                match self.by_name.get(key) {
                    Some(&i) => i,
                    None => {
                        self.list.push((key.to_owned(), EndpointAcc::default()));
                        self.by_name.insert(key.to_owned(), self.list.len() - 1);
                        self.list.len() - 1
                    }
                }
            }
        };
        &mut self.list[i].1
    }

    /// The endpoints sorted by name; `per_sec` turns counts into rates.
    pub fn finish(self, per_sec: impl Fn(f64) -> f64) -> Vec<Endpoint> {
        self.endpoints(per_sec)
    }

    /// The endpoints so far, sorted by name (for a table that keeps growing).
    pub fn endpoints(&self, per_sec: impl Fn(f64) -> f64) -> Vec<Endpoint> {
        let mut endpoints: Vec<Endpoint> = self
            .list
            .iter()
            .map(|(name, e)| Endpoint {
                name: name.clone(),
                methods: e.methods.iter().cloned().collect(),
                requests: e.requests as u64,
                failed: e.failed,
                error_rate: ratio(e.failed, e.failed_total),
                rps: per_sec(e.requests),
                latency: Latency::from_trend(&e.duration),
                statuses: e.statuses.clone(),
            })
            .collect();
        endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        endpoints
    }
}

/// What a whole run's merged metrics say, beyond endpoints and series.
pub(crate) struct WholeRun {
    pub(crate) totals: Totals,
    pub(crate) thresholds: Vec<ThresholdResult>,
    pub(crate) checks: Vec<CheckResult>,
    /// `handleSummary` data.
    pub(crate) summary: serde_json::Value,
}

/// Totals, thresholds (evaluated here on `store`), checks and the
/// `handleSummary` data of a run whose merged metrics are `store`.
pub(crate) fn whole_run(
    store: &Store,
    registry: &Registry,
    specs: &[ThresholdSpec],
    trend_stats: &[String],
    duration: Duration,
) -> WholeRun {
    let secs = duration.as_secs_f64();
    let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };
    let mut thresholds = Thresholds::new(specs.to_vec()).unwrap_or_default();
    let _ = thresholds.validate(registry);
    if !thresholds.is_empty() {
        thresholds.evaluate(store, duration);
    }
    let report = Report::new(SummaryInput {
        store,
        registry,
        thresholds: Some(&thresholds),
        duration,
        trend_stats: trend_stats.to_vec(),
        time_unit: None,
        setup_data: None,
        no_color: true,
        stdout_tty: false,
        stderr_tty: false,
    });

    let threshold_results = thresholds
        .results()
        .into_iter()
        .flat_map(|r| {
            let def = registry
                .lookup(&r.selector.metric)
                .map(|m| registry.def(m.id));
            let contains = def
                .as_ref()
                .map_or("default", |d| d.contains.as_str())
                .to_owned();
            let kind = def.as_ref().map_or("", |d| d.kind.as_str()).to_owned();
            r.thresholds.into_iter().map(move |t| ThresholdResult {
                metric: r.name.clone(),
                expression: t.source,
                ok: t.ok,
                observed: t.observed,
                contains: contains.clone(),
                kind: kind.clone(),
            })
        })
        .collect();

    let mut checks = Vec::new();
    flatten_checks(&report.model().root_group, &mut checks);

    let whole = |b: Builtin| store.get(b.id(), &TagSet::empty());
    let count = |b: Builtin| match whole(b) {
        Some(Aggregate::Counter(c)) => c.sum,
        _ => 0.0,
    };
    let (failed, failed_total) = match whole(Builtin::HttpReqFailed) {
        Some(Aggregate::Rate(r)) => (r.passes, r.total),
        _ => (0, 0),
    };
    let (checks_passed, checks_total) = match whole(Builtin::Checks) {
        Some(Aggregate::Rate(r)) => (r.passes, r.total),
        _ => (0, 0),
    };
    let latency = match whole(Builtin::HttpReqDuration) {
        Some(Aggregate::Trend(t)) => Latency::from_trend(&t),
        _ => Latency::default(),
    };
    let vus_max = match whole(Builtin::Vus) {
        Some(Aggregate::Gauge(g)) => Some(g.max),
        _ => None,
    };
    let requests = count(Builtin::HttpReqs);
    let totals = Totals {
        requests: requests as u64,
        failed,
        error_rate: ratio(failed, failed_total),
        rps: per_sec(requests),
        iterations: count(Builtin::Iterations) as u64,
        dropped_iterations: count(Builtin::DroppedIterations) as u64,
        vus_max,
        data_sent: count(Builtin::DataSent),
        data_received: count(Builtin::DataReceived),
        checks_passed,
        checks_failed: checks_total - checks_passed,
        latency,
    };
    WholeRun {
        totals,
        thresholds: threshold_results,
        checks,
        summary: report.handle_summary_data(),
    }
}

/// Accumulates samples into [`Results`]: the whole run (as the summary sees
/// it), per endpoint and per interval. Never keeps the samples.
pub struct Recorder {
    cfg: RecorderConfig,
    registry: Registry,
    /// Source registry id → this registry's metric.
    ids: Vec<Option<Metric>>,
    sink: Sink,
    first_ns: Option<u64>,
    last_ns: u64,
    endpoints: EndpointTable,
    series: SeriesAcc,
    scenarios: Vec<String>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new(cfg: RecorderConfig) -> Self {
        let interval = cfg.interval.unwrap_or(Duration::from_secs(1));
        Recorder {
            first_ns: cfg.start_ns,
            cfg,
            registry: Registry::new(),
            ids: Vec::new(),
            sink: Sink::new(),
            last_ns: 0,
            endpoints: EndpointTable::default(),
            series: SeriesAcc::new(interval.as_nanos() as u64),
            scenarios: Vec::new(),
        }
    }

    /// Registers a metric in the recorder's own registry (built-ins are
    /// already there); for samples that do not come with a [`Registry`].
    pub fn register(
        &mut self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
    ) -> Option<Metric> {
        self.registry.register(name, kind, contains).ok()
    }

    /// Adds a batch of samples whose metrics are defined in `registry`.
    pub fn add_samples(&mut self, samples: &[Sample], registry: &Registry) {
        for s in samples {
            if let Some(m) = self.map(s.metric.id, registry) {
                self.add(m, &s.tags, s.value, s.time_ns);
            }
        }
    }

    fn map(&mut self, id: MetricId, registry: &Registry) -> Option<Metric> {
        let i = id.0 as usize;
        if let Some(Some(m)) = self.ids.get(i) {
            return Some(*m);
        }
        let def = registry.get_def(id)?;
        let m = self
            .registry
            .register(&def.name, def.kind, def.contains)
            .ok()?;
        if self.ids.len() <= i {
            self.ids.resize(i + 1, None);
        }
        self.ids[i] = Some(m);
        Some(m)
    }

    /// Adds one sample of `metric` (a handle of this recorder's registry:
    /// a [`Builtin`] or what [`Recorder::register`] returned).
    pub fn add(&mut self, metric: Metric, tags: &TagSet, value: f64, time_ns: u64) {
        self.sink.add(metric, tags, value, time_ns);
        let start = *self.first_ns.get_or_insert(time_ns);
        self.last_ns = self.last_ns.max(time_ns);
        let scenario = tags.get("scenario");
        if let Some(s) = scenario {
            if !self.scenarios.iter().any(|x| x == s) {
                self.scenarios.push(s.to_owned());
            }
        }
        let offset = time_ns.saturating_sub(start);
        let add = match metric.id {
            id if id == Builtin::HttpReqDuration.id() => {
                let ep = self.endpoint(tags);
                ep.duration.add(value);
                if let Some(status) = tags.get("status") {
                    *ep.statuses.entry(status.to_owned()).or_default() += 1;
                }
                if let Some(method) = tags.get("method") {
                    if !ep.methods.contains(method) {
                        ep.methods.insert(method.to_owned());
                    }
                }
                Add::Duration(value)
            }
            id if id == Builtin::HttpReqs.id() => {
                self.endpoint(tags).requests += value;
                Add::Requests(value)
            }
            id if id == Builtin::HttpReqFailed.id() => {
                let ep = self.endpoint(tags);
                ep.failed_total += 1;
                if value != 0.0 {
                    ep.failed += 1;
                }
                Add::Failed(value != 0.0)
            }
            id if id == Builtin::Iterations.id() => Add::Iterations(value),
            id if id == Builtin::Vus.id() => Add::Vus(value),
            _ => return,
        };
        self.series.add(offset, time_ns, scenario, add);
    }

    fn endpoint(&mut self, tags: &TagSet) -> &mut EndpointAcc {
        self.endpoints.entry(tags)
    }

    /// The results. `end_ns` is the end of the test (default: the last sample).
    pub fn finish(mut self, end_ns: Option<u64>) -> Results {
        let start = self.first_ns.unwrap_or(0);
        let end = end_ns.unwrap_or(self.last_ns).max(self.last_ns).max(start);
        let duration = Duration::from_nanos(end - start);
        let secs = duration.as_secs_f64();
        let per_sec = |n: f64| if secs > 0.0 { n / secs } else { 0.0 };

        let mut store = Store::new();
        store.apply(&self.sink.take(start, end));
        let whole = whole_run(
            &store,
            &self.registry,
            &self.cfg.thresholds,
            &self.cfg.trend_stats,
            duration,
        );
        let endpoints = self.endpoints.finish(per_sec);

        let series: Series = self.series.finish();
        Results {
            schema: SCHEMA.into(),
            generator: format!("stampede {}", env!("CARGO_PKG_VERSION")),
            test: TestInfo {
                script: self.cfg.script.clone(),
                source: self
                    .cfg
                    .source
                    .clone()
                    .unwrap_or_else(|| "stampede run".into()),
                started_at: rfc3339_utc(start),
                ended_at: rfc3339_utc(end),
                duration_s: secs,
                scenarios: self.scenarios,
            },
            totals: whole.totals,
            thresholds: whole.thresholds,
            checks: whole.checks,
            endpoints,
            series,
            summary: Some(whole.summary),
        }
    }
}

pub(crate) fn ratio(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

fn flatten_checks(group: &GroupNode, out: &mut Vec<CheckResult>) {
    for c in &group.checks {
        out.push(CheckResult {
            name: c.name.clone(),
            group: group.path.clone(),
            passes: c.passes,
            fails: c.fails,
        });
    }
    for g in &group.groups {
        flatten_checks(g, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_795_471_525_000_000_000;
    const MS: u64 = 1_000_000;

    fn request(rec: &mut Recorder, t: u64, name: &str, status: &str, ms: f64) {
        let tags = TagSet::from_pairs([
            ("name", name),
            ("method", "GET"),
            ("status", status),
            ("scenario", "default"),
        ]);
        rec.add(Builtin::HttpReqs.metric(), &tags, 1.0, t);
        rec.add(Builtin::HttpReqDuration.metric(), &tags, ms, t);
        let failed = if status.starts_with('2') { 0.0 } else { 1.0 };
        rec.add(Builtin::HttpReqFailed.metric(), &tags, failed, t);
    }

    #[test]
    fn totals_endpoints_thresholds_and_checks() {
        let mut rec = Recorder::new(RecorderConfig {
            script: Some("t.js".into()),
            thresholds: vec![
                ThresholdSpec::new("http_req_duration", "p(95)<100"),
                ThresholdSpec::new("http_req_failed", "rate<0.5"),
            ],
            start_ns: Some(T0),
            ..RecorderConfig::default()
        });
        for i in 0..10 {
            request(&mut rec, T0 + i * 100 * MS, "home", "200", 10.0 + i as f64);
        }
        request(&mut rec, T0 + 1500 * MS, "login", "500", 400.0);
        let check = TagSet::from_pairs([("check", "is 200"), ("group", "")]);
        rec.add(Builtin::Checks.metric(), &check, 1.0, T0);
        rec.add(Builtin::Checks.metric(), &check, 0.0, T0);
        rec.add(Builtin::Vus.metric(), &TagSet::empty(), 3.0, T0 + 1000 * MS);
        let r = rec.finish(Some(T0 + 2000 * MS));

        assert_eq!(r.schema, SCHEMA);
        assert_eq!(r.test.duration_s, 2.0);
        assert_eq!(r.test.started_at, "2026-11-23T22:05:25Z");
        assert_eq!(r.test.scenarios, ["default"]);
        assert_eq!(r.totals.requests, 11);
        assert_eq!(r.totals.failed, 1);
        assert_eq!(r.totals.rps, 5.5);
        assert_eq!(r.totals.vus_max, Some(3.0));
        assert_eq!((r.totals.checks_passed, r.totals.checks_failed), (1, 1));
        assert_eq!(r.totals.latency.max, 400.0);

        let names: Vec<&str> = r.endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["home", "login"]);
        let home = r.endpoint("home").unwrap();
        assert_eq!((home.requests, home.failed, home.error_rate), (10, 0, 0.0));
        assert_eq!(home.latency.min, 10.0);
        assert_eq!(home.methods, ["GET"]);
        assert_eq!(home.statuses["200"], 10);
        assert_eq!(r.endpoint("login").unwrap().error_rate, 1.0);

        assert_eq!(r.thresholds.len(), 2);
        assert!(!r.thresholds[0].ok, "p95 is 209.5ms");
        assert_eq!(r.thresholds[0].contains, "time");
        assert_eq!(r.thresholds[0].observed, Some(209.5));
        assert!(r.thresholds[1].ok);
        assert!(!r.thresholds_ok());

        assert_eq!(
            r.checks,
            [CheckResult {
                name: "is 200".into(),
                group: String::new(),
                passes: 1,
                fails: 1
            }]
        );
        assert_eq!(r.series.points.len(), 2);
        assert_eq!(r.series.points[0].requests, 10);
        assert_eq!(r.series.points[1].vus, Some(3.0));
        assert_eq!(r.series.points[1].failed, 1);
        let data = r.summary.as_ref().unwrap();
        assert_eq!(data["metrics"]["http_reqs"]["values"]["count"], 11.0);
    }

    #[test]
    fn metrics_from_another_registry() {
        let source = Registry::new();
        let _pad = source
            .register("first_custom", MetricType::Counter, ValueType::Default)
            .unwrap();
        let m = source
            .register("my_trend", MetricType::Trend, ValueType::Time)
            .unwrap();
        let mut rec = Recorder::new(RecorderConfig::default());
        let s = Sample {
            metric: m,
            tags: TagSet::empty(),
            value: 2.5,
            time_ns: T0,
        };
        rec.add_samples(&[s], &source);
        let r = rec.finish(None);
        let data = r.summary.unwrap();
        assert_eq!(data["metrics"]["my_trend"]["values"]["avg"], 2.5);
        assert_eq!(data["metrics"]["my_trend"]["contains"], "time");
    }

    #[test]
    fn endpoints_by_the_endpoint_tag_then_name() {
        let mut rec = Recorder::new(RecorderConfig::default());
        let tagged = TagSet::from_pairs([("endpoint", "products_get"), ("name", "/p/1")]);
        let named = TagSet::from_pairs([("name", "/health")]);
        for tags in [&tagged, &named] {
            rec.add(Builtin::HttpReqs.metric(), tags, 1.0, T0);
            rec.add(Builtin::HttpReqDuration.metric(), tags, 1.0, T0);
        }
        let r = rec.finish(None);
        let names: Vec<&str> = r.endpoints.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["/health", "products_get"]);
    }

    #[test]
    fn endpoints_are_capped() {
        let mut rec = Recorder::new(RecorderConfig::default());
        for i in 0..MAX_ENDPOINTS + 5 {
            request(&mut rec, T0, &format!("/item/{i}"), "200", 1.0);
        }
        let r = rec.finish(None);
        assert_eq!(r.endpoints.len(), MAX_ENDPOINTS + 1);
        assert_eq!(r.endpoint(OTHER_ENDPOINTS).unwrap().requests, 5);
    }
}
