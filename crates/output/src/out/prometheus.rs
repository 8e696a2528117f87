//! `--out experimental-prometheus-rw`: Prometheus remote write, as k6's
//! output sends it.
//!
//! Each series (metric and tags, k6's metadata `vu`/`iter` left out)
//! aggregates the whole run, and every push interval (5s) the series
//! updated since the last push are written, stamped with their latest
//! sample's time (milliseconds):
//!
//! | k6 type | series |
//! | --- | --- |
//! | counter | `k6_<name>_total`: the running sum |
//! | gauge | `k6_<name>`: the latest value |
//! | rate | `k6_<name>_rate`: non-zero share so far |
//! | trend | `k6_<name>_<stat>` per `K6_PROMETHEUS_RW_TREND_STATS` (default `p(99)`; `p(95)` → `_p95`, also `avg`, `min`, `max`, `med`, `count`, `sum`), time in seconds |
//! | trend, `K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=true` | `k6_<name>_seconds` (time), `_bytes` (data) or `k6_<name>`: a native histogram (schema 3, as Prometheus' client with bucket factor 1.1) |
//!
//! Settings (environment, as k6): `K6_PROMETHEUS_RW_SERVER_URL` (default
//! `http://localhost:9090/api/v1/write`; Stampede also takes it as the
//! output's argument), `K6_PROMETHEUS_RW_PUSH_INTERVAL`,
//! `K6_PROMETHEUS_RW_TREND_STATS`, `K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM`,
//! `K6_PROMETHEUS_RW_USERNAME`/`_PASSWORD` (basic auth),
//! `K6_PROMETHEUS_RW_BEARER_TOKEN`, `K6_PROMETHEUS_RW_HEADERS_<NAME>`,
//! `K6_PROMETHEUS_RW_HTTP_HEADERS` (`k:v,k:v`),
//! `K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY`, `K6_PROMETHEUS_RW_STALE_MARKERS`.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stampede_metrics::{MetricId, MetricType, Registry, Sample, Stat, TagSet, TrendAgg, ValueType};
use url::Url;

use super::background::{Background, Worker};
use super::json::METADATA;
use super::net::Client;
use super::proto::Enc;
use super::settings::{Env, Logger};
use super::{Output, OutputContext, OutputError};

const OUTPUT: &str = "experimental-prometheus-rw";

/// Prometheus' staleness marker (a NaN with this payload).
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

/// Native histograms: Prometheus' client with bucket factor 1.1 picks
/// schema 3 (eight buckets per power of two).
const SCHEMA: i32 = 3;
const ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

#[derive(Clone, Debug)]
struct Config {
    url: Url,
    push_interval: Duration,
    native_histograms: bool,
    /// `(suffix, stat)`, e.g. `("p99", Percentile(99))`.
    trend_stats: Vec<(String, TrendStat)>,
    headers: Vec<(String, String)>,
    insecure: bool,
    stale_markers: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TrendStat {
    Stat(Stat),
    Sum,
}

fn cfg_err(message: impl Into<String>) -> OutputError {
    OutputError::Config {
        output: OUTPUT,
        message: message.into(),
    }
}

/// `p(99)` → `p99`, `p(99.9)` → `p999`, `avg` → `avg` (k6's series names).
fn stat_suffix(s: &str) -> String {
    match s.strip_prefix("p(").and_then(|r| r.strip_suffix(')')) {
        Some(n) => format!("p{}", n.replace('.', "")),
        None => s.to_owned(),
    }
}

impl Config {
    fn from(arg: &str, ctx: &OutputContext) -> Result<Config, OutputError> {
        let mut env = Env::new(&ctx.env);
        let mut url = env
            .string("K6_PROMETHEUS_RW_SERVER_URL")
            .unwrap_or_else(|| "http://localhost:9090/api/v1/write".into());
        if !arg.is_empty() {
            let u = arg.strip_prefix("url=").unwrap_or(arg);
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(cfg_err(format!(
                    "{arg:?}: the argument is the remote write URL (http://host:9090/api/v1/write); \
                     other settings go in K6_PROMETHEUS_RW_* environment variables"
                )));
            }
            url = u.to_owned();
        }
        let push_interval = env
            .duration("K6_PROMETHEUS_RW_PUSH_INTERVAL")
            .unwrap_or(Duration::from_secs(5));
        let native_histograms = env
            .bool("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM")
            .unwrap_or(false);
        let insecure = env
            .bool("K6_PROMETHEUS_RW_INSECURE_SKIP_TLS_VERIFY")
            .unwrap_or(false);
        let stale_markers = env.bool("K6_PROMETHEUS_RW_STALE_MARKERS").unwrap_or(false);
        let stats = env
            .list("K6_PROMETHEUS_RW_TREND_STATS")
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| vec!["p(99)".into()]);
        let mut trend_stats = Vec::new();
        for s in &stats {
            let stat = if s == "sum" {
                TrendStat::Sum
            } else {
                match s.parse::<Stat>() {
                    Ok(st) if st.applies_to(MetricType::Trend) => TrendStat::Stat(st),
                    _ => {
                        env.problems.push(format!(
                            "K6_PROMETHEUS_RW_TREND_STATS: invalid trend stat {s:?} (use avg, min, max, med, count, sum or p(N))"
                        ));
                        continue;
                    }
                }
            };
            let suffix = stat_suffix(s);
            if !trend_stats.iter().any(|(x, _)| *x == suffix) {
                trend_stats.push((suffix, stat));
            }
        }
        let mut headers: Vec<(String, String)> = env.prefixed("K6_PROMETHEUS_RW_HEADERS_");
        if let Some(list) = env.string("K6_PROMETHEUS_RW_HTTP_HEADERS") {
            for pair in list.split(',') {
                match pair.split_once(':') {
                    Some((k, v)) if !v.contains(':') => headers.push((k.trim().into(), v.trim().into())),
                    _ => env.problems.push(format!(
                        "the provided header ({pair}) does not respect the expected format <header key>:<value>"
                    )),
                }
            }
        }
        let user = env.string("K6_PROMETHEUS_RW_USERNAME");
        if let Some(user) = user {
            use base64::Engine as _;
            let pass = env.string("K6_PROMETHEUS_RW_PASSWORD").unwrap_or_default();
            let cred = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            headers.push(("Authorization".into(), format!("Basic {cred}")));
        }
        if let Some(token) = env
            .string("K6_PROMETHEUS_RW_BEARER_TOKEN")
            .filter(|t| !t.is_empty())
        {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        for unsupported in [
            "K6_PROMETHEUS_RW_SIGV4_REGION",
            "K6_PROMETHEUS_RW_CLIENT_CERTIFICATE",
        ] {
            if env.string(unsupported).is_some() {
                env.problems
                    .push(format!("{unsupported}: not supported by Stampede yet"));
            }
        }
        if !env.problems.is_empty() {
            return Err(cfg_err(env.problems.join("; ")));
        }
        let url = Url::parse(&url).map_err(|e| cfg_err(format!("{url}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(cfg_err(format!("{url}: use an http:// or https:// URL")));
        }
        if push_interval.is_zero() {
            return Err(cfg_err("the push interval must be more than 0"));
        }
        Ok(Config {
            url,
            push_interval,
            native_histograms,
            trend_stats,
            headers,
            insecure,
            stale_markers,
        })
    }
}

/// What a series keeps for the whole run.
enum Measure {
    Counter(f64),
    Gauge(f64),
    Rate { passes: u64, total: u64 },
    Trend(Box<TrendAgg>),
    Histogram(Box<NativeHistogram>),
}

struct Series {
    /// Labels, sorted, `__name__` without the type suffix.
    labels: Vec<(String, String)>,
    name: String,
    contains: ValueType,
    measure: Measure,
    latest_ms: i64,
    dirty: bool,
}

/// A native histogram with exponential buckets (schema 3), cumulative.
#[derive(Default)]
pub(crate) struct NativeHistogram {
    count: u64,
    sum: f64,
    zero: u64,
    positive: HashMap<i32, u64>,
    negative: HashMap<i32, u64>,
}

/// The bucket of `v > 0` (upper bound `2^(key / 8)`, inclusive), as
/// Prometheus computes it from `frexp`.
fn bucket_key(v: f64) -> i32 {
    // v = frac * 2^exp with frac in [0.5, 1).
    let bits = v.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i32;
    let (frac, exp) = if raw_exp == 0 {
        // Subnormal: scale up first.
        let scaled = v * 2f64.powi(64);
        let b = scaled.to_bits();
        let e = ((b >> 52) & 0x7ff) as i32 - 1022 - 64;
        (f64::from_bits((b & !(0x7ff << 52)) | (1022 << 52)), e)
    } else {
        let e = raw_exp - 1022;
        (f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52)), e)
    };
    let per = 1 << SCHEMA;
    // The smallest i with bound[i] >= frac, bound[i] = 2^(i/8 - 1).
    let i = (0..per)
        .find(|&i| 2f64.powf(f64::from(i) / f64::from(per) - 1.0) >= frac)
        .unwrap_or(per);
    i + (exp - 1) * per
}

impl NativeHistogram {
    pub(crate) fn observe(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.count += 1;
        self.sum += v;
        if v.abs() <= ZERO_THRESHOLD {
            self.zero += 1;
        } else if v > 0.0 {
            *self.positive.entry(bucket_key(v)).or_default() += 1;
        } else {
            *self.negative.entry(bucket_key(-v)).or_default() += 1;
        }
    }

    /// Spans and deltas of one side.
    fn spans(buckets: &HashMap<i32, u64>) -> (Vec<(i32, u32)>, Vec<i64>) {
        let mut keys: Vec<i32> = buckets.keys().copied().collect();
        keys.sort_unstable();
        let mut spans: Vec<(i32, u32)> = Vec::new();
        let mut deltas = Vec::new();
        let mut prev_key: Option<i32> = None;
        let mut prev_count = 0i64;
        for k in keys {
            match prev_key {
                Some(p) if k == p + 1 => spans.last_mut().expect("a span").1 += 1,
                Some(p) => spans.push((k - p - 1, 1)),
                None => spans.push((k, 1)),
            }
            let c = buckets[&k] as i64;
            deltas.push(c - prev_count);
            prev_count = c;
            prev_key = Some(k);
        }
        (spans, deltas)
    }

    fn encode(&self, e: &mut Enc, timestamp_ms: i64) {
        e.uint_always(1, self.count); // count_int
        e.double(3, self.sum);
        e.sint(4, i64::from(SCHEMA));
        e.double(5, ZERO_THRESHOLD);
        e.uint_always(6, self.zero); // zero_count_int
        for (field_spans, field_deltas, side) in [(8, 9, &self.negative), (11, 12, &self.positive)]
        {
            let (spans, deltas) = Self::spans(side);
            for (offset, len) in spans {
                e.message(field_spans, |s| {
                    s.sint(1, i64::from(offset));
                    s.uint(2, u64::from(len));
                });
            }
            e.packed_sint(field_deltas, &deltas);
        }
        e.int64(15, timestamp_ms);
    }
}

/// The Prometheus remote write output.
pub struct PrometheusOutput {
    cfg: Config,
    offset: i32,
    bg: Option<Background>,
}

impl PrometheusOutput {
    /// `--out experimental-prometheus-rw[=URL]`.
    pub fn new(arg: &str, ctx: &OutputContext) -> Result<Self, OutputError> {
        Ok(PrometheusOutput {
            cfg: Config::from(arg, ctx)?,
            offset: ctx.utc_offset_secs,
            bg: None,
        })
    }
}

struct PromWorker {
    cfg: Config,
    client: Client,
    log: Logger,
    series: HashMap<(MetricId, TagSet), Series>,
}

fn without_metadata(tags: &TagSet) -> TagSet {
    let mut t = tags.clone();
    for k in METADATA {
        if t.get(k).is_some() {
            t = t.without(k);
        }
    }
    t
}

impl PromWorker {
    fn new_series(
        &self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
        tags: &TagSet,
    ) -> Series {
        let mut labels: Vec<(String, String)> = tags
            .iter()
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        labels.sort();
        let measure = match kind {
            MetricType::Counter => Measure::Counter(0.0),
            MetricType::Gauge => Measure::Gauge(0.0),
            MetricType::Rate => Measure::Rate {
                passes: 0,
                total: 0,
            },
            MetricType::Trend if self.cfg.native_histograms => Measure::Histogram(Box::default()),
            MetricType::Trend => Measure::Trend(Box::default()),
        };
        Series {
            labels,
            name: format!("k6_{name}"),
            contains,
            measure,
            latest_ms: i64::MIN,
            dirty: false,
        }
    }

    /// The time series to write: every dirty series (or, for stale
    /// markers, every series with `stale` as its only value).
    fn timeseries(&mut self, stale: Option<i64>) -> Vec<u8> {
        let mut req = Enc::new();
        let stats = self.cfg.trend_stats.clone();
        for s in self.series.values_mut() {
            if stale.is_none() && !s.dirty {
                continue;
            }
            s.dirty = false;
            let ts = stale.unwrap_or(s.latest_ms);
            let secs = |v: f64| {
                if s.contains == ValueType::Time {
                    v / 1000.0
                } else {
                    v
                }
            };
            let mut one = |suffix: &str, value: Option<f64>, hist: Option<&NativeHistogram>| {
                let name = if suffix.is_empty() {
                    s.name.clone()
                } else {
                    format!("{}_{suffix}", s.name)
                };
                req.message(1, |t| {
                    let mut labels: Vec<(&str, &str)> = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    labels.push(("__name__", &name));
                    labels.sort();
                    for (k, v) in labels {
                        t.message(1, |l| {
                            l.string(1, k);
                            l.string(2, v);
                        });
                    }
                    match (stale, value, hist) {
                        (Some(_), _, _) => t.message(2, |smp| {
                            smp.double_always(1, f64::from_bits(STALE_NAN));
                            smp.int64(2, ts);
                        }),
                        (None, Some(v), _) => t.message(2, |smp| {
                            smp.double(1, v);
                            smp.int64(2, ts);
                        }),
                        (None, None, Some(h)) => t.message(4, |m| h.encode(m, ts)),
                        (None, None, None) => {}
                    }
                });
            };
            match &s.measure {
                Measure::Counter(v) => one("total", Some(*v), None),
                Measure::Gauge(v) => one("", Some(*v), None),
                Measure::Rate { passes, total } => {
                    let r = if *total == 0 {
                        0.0
                    } else {
                        *passes as f64 / *total as f64
                    };
                    one("rate", Some(r), None);
                }
                Measure::Trend(t) => {
                    for (suffix, stat) in &stats {
                        let v = match stat {
                            // Counts are not durations (k6 scales them too).
                            TrendStat::Stat(Stat::Count) => t.count() as f64,
                            TrendStat::Sum => secs(t.sum()),
                            TrendStat::Stat(st) => secs(match st {
                                Stat::Avg => t.avg(),
                                Stat::Min => t.min(),
                                Stat::Max => t.max(),
                                Stat::Med => t.percentile(50.0),
                                Stat::Percentile(p) => t.percentile(*p),
                                _ => 0.0,
                            }),
                        };
                        one(suffix, Some(v), None);
                    }
                }
                Measure::Histogram(h) => {
                    let unit = match s.contains {
                        ValueType::Time => "seconds",
                        ValueType::Data => "bytes",
                        ValueType::Default => "",
                    };
                    one(unit, None, Some(h));
                }
            }
        }
        req.buf
    }

    fn push(&mut self, body: Vec<u8>) {
        if body.is_empty() {
            return;
        }
        let compressed = match snap::raw::Encoder::new().compress_vec(&body) {
            Ok(c) => c,
            Err(e) => {
                self.log
                    .error("Failed to compress the time series", &e.to_string());
                return;
            }
        };
        let mut headers = vec![
            ("Content-Encoding".to_owned(), "snappy".to_owned()),
            (
                "Content-Type".to_owned(),
                "application/x-protobuf".to_owned(),
            ),
            (
                "X-Prometheus-Remote-Write-Version".to_owned(),
                "0.1.0".to_owned(),
            ),
        ];
        headers.extend(self.cfg.headers.iter().cloned());
        match self
            .client
            .request("POST", &self.cfg.url, &headers, compressed)
        {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => self.log.error(
                "Failed to send the time series data to the endpoint",
                &format!(
                    "HTTP {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body).trim()
                ),
            ),
            Err(e) => self
                .log
                .error("Failed to send the time series data to the endpoint", &e),
        }
    }
}

impl Worker for PromWorker {
    fn batch(&mut self, samples: &[Sample], registry: &Registry) {
        for s in samples {
            let tags = without_metadata(&s.tags);
            let key = (s.metric.id, tags);
            if !self.series.contains_key(&key) {
                let Some(def) = registry.get_def(s.metric.id) else {
                    continue;
                };
                let series = self.new_series(&def.name, def.kind, def.contains, &key.1);
                self.series.insert(key.clone(), series);
            }
            let series = self.series.get_mut(&key).expect("inserted");
            // Milliseconds, as Prometheus stores them; only a newer
            // millisecond makes the series due again (no duplicates).
            let ms = (s.time_ns / 1_000_000) as i64;
            if ms > series.latest_ms {
                series.latest_ms = ms;
                series.dirty = true;
            }
            let v = s.value;
            match &mut series.measure {
                Measure::Counter(c) => *c += v,
                Measure::Gauge(g) => *g = v,
                Measure::Rate { passes, total } => {
                    *total += 1;
                    if v != 0.0 {
                        *passes += 1;
                    }
                }
                Measure::Trend(t) => t.add(v),
                Measure::Histogram(h) => h.observe(if series.contains == ValueType::Time {
                    v / 1000.0
                } else {
                    v
                }),
            }
        }
    }

    fn tick(&mut self, _: &Registry) {
        let body = self.timeseries(None);
        self.push(body);
    }

    fn finish(&mut self, _: &Registry) -> Result<(), String> {
        let body = self.timeseries(None);
        self.push(body);
        if self.cfg.stale_markers && !self.series.is_empty() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let latest = self
                .series
                .values()
                .map(|s| s.latest_ms)
                .max()
                .unwrap_or(now);
            let body = self.timeseries(Some(now.max(latest) + 1));
            self.push(body);
        }
        Ok(())
    }
}

impl Output for PrometheusOutput {
    fn description(&self) -> String {
        format!("Prometheus remote write ({})", self.cfg.url)
    }

    fn start(&mut self) -> io::Result<()> {
        let worker = PromWorker {
            client: Client::new(self.cfg.insecure, Duration::from_secs(5))?.with_user_agent(
                &format!(
                    "stampede-prometheus-rw-output/{}",
                    env!("CARGO_PKG_VERSION")
                ),
            ),
            log: Logger::new("Prometheus remote write", self.offset),
            cfg: self.cfg.clone(),
            series: HashMap::new(),
        };
        self.bg = Some(Background::spawn(
            "out-prometheus-rw",
            worker,
            Some(self.cfg.push_interval),
        )?);
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        super::background::send_to(&mut self.bg, "prometheus", samples, registry)
    }

    fn stop(&mut self) -> io::Result<()> {
        super::background::stop(&mut self.bg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_as_prometheus() {
        // Upper bounds are inclusive: 1 is the top of bucket 0.
        assert_eq!(bucket_key(1.0), 0);
        assert_eq!(bucket_key(1.0001), 1);
        assert_eq!(bucket_key(2.0), 8);
        assert_eq!(bucket_key(0.5), -8);
        // k6 v1.1.0's native histogram of three requests had spans at
        // -104, -96 and -88: the buckets topped by 2^-13, 2^-12, 2^-11 s.
        assert_eq!(bucket_key(2f64.powi(-13)), -104);
        assert_eq!(bucket_key(2f64.powi(-13) * 1.000_01), -103);
        let mut h = NativeHistogram::default();
        for v in [0.000_12, 0.000_24, 0.000_48, 0.0] {
            h.observe(v);
        }
        let (spans, deltas) = NativeHistogram::spans(&h.positive);
        assert_eq!(spans, [(-104, 1), (7, 1), (7, 1)]);
        assert_eq!(deltas, [1, 0, 0]);
        assert_eq!((h.count, h.zero), (4, 1));
        let mut e = Enc::new();
        h.encode(&mut e, 1_795_473_509_001);
        // count_int 4, sum, schema 3 (zigzag 6), zero threshold, zero count 1.
        assert!(e.buf.starts_with(&[0x08, 0x04, 0x19]), "{:x?}", e.buf);
    }

    #[test]
    fn settings() {
        let c = Config::from("", &OutputContext::with_env(&[])).unwrap();
        assert_eq!(c.url.as_str(), "http://localhost:9090/api/v1/write");
        assert_eq!(c.push_interval, Duration::from_secs(5));
        assert_eq!(
            c.trend_stats,
            [("p99".to_owned(), TrendStat::Stat(Stat::Percentile(99.0)))]
        );
        let c = Config::from(
            "http://127.0.0.1:9/api/v1/write",
            &OutputContext::with_env(&[
                (
                    "K6_PROMETHEUS_RW_TREND_STATS",
                    "p(95),p(99.9),avg,count,sum",
                ),
                ("K6_PROMETHEUS_RW_HEADERS_X-Scope-OrgID", "tenant"),
                ("K6_PROMETHEUS_RW_BEARER_TOKEN", "tok"),
            ]),
        )
        .unwrap();
        let names: Vec<&str> = c.trend_stats.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["p95", "p999", "avg", "count", "sum"]);
        assert!(c
            .headers
            .contains(&("X-Scope-OrgID".into(), "tenant".into())));
        assert!(c
            .headers
            .contains(&("Authorization".into(), "Bearer tok".into())));
        let err = Config::from(
            "",
            &OutputContext::with_env(&[("K6_PROMETHEUS_RW_TREND_STATS", "p(101)")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("invalid trend stat \"p(101)\""), "{err}");
        let err = Config::from("localhost:9090", &OutputContext::with_env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the argument is the remote write URL"),
            "{err}"
        );
    }
}
