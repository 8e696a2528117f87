//! Stored results: the machine-readable record of a run that
//! `--out results=FILE` writes and `stampede report`, `compare` and
//! `baseline` read.
//!
//! - [`Results`]: the record (schema [`SCHEMA`]): test metadata, totals,
//!   thresholds and checks with their outcome, per-endpoint statistics of
//!   `http_req_duration`, a per-second [`Series`] for charts, and k6's own
//!   `handleSummary` data. Requests are grouped into endpoints by their
//!   `endpoint` tag when they have one, else by the `name` tag (which k6
//!   sets to the URL when the script gives none).
//! - [`Recorder`]: builds a [`Results`] from samples, during a run (the
//!   `results`, `html` and `junit` outputs) or from a k6 `--out json` file
//!   ([`load`] replays one).
//! - [`baseline`] and [`compare`]: the regression gate.
//!
//! ```
//! use stampede_metrics::{Builtin, TagSet};
//! use stampede_output::results::{Recorder, RecorderConfig};
//!
//! let mut rec = Recorder::new(RecorderConfig::default());
//! let tags = TagSet::from_pairs([("name", "products_list"), ("method", "GET"), ("status", "200")]);
//! let t0 = 1_700_000_000_000_000_000;
//! for (i, ms) in [120.0, 80.0, 310.0].into_iter().enumerate() {
//!     let t = t0 + i as u64 * 400_000_000;
//!     rec.add(Builtin::HttpReqs.metric(), &tags, 1.0, t);
//!     rec.add(Builtin::HttpReqDuration.metric(), &tags, ms, t);
//!     rec.add(Builtin::HttpReqFailed.metric(), &tags, 0.0, t);
//! }
//! let results = rec.finish(None);
//! let ep = &results.endpoints[0];
//! assert_eq!((ep.name.as_str(), ep.requests), ("products_list", 3));
//! assert_eq!(ep.latency.max, 310.0);
//! assert_eq!(results.series.points.len(), 1);
//! ```

pub mod baseline;
pub mod compare;
mod k6json;
pub(crate) mod recorder;
mod series;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use stampede_metrics::TrendAgg;
use thiserror::Error;

pub use k6json::replay_k6_json;
pub use recorder::{EndpointAcc, EndpointTable, Recorder, RecorderConfig};

/// The schema name and version every results file carries in `schema`.
pub const SCHEMA: &str = "stampede.results/v1";

/// Endpoints beyond this many distinct names are counted under [`OTHER_ENDPOINTS`]
/// (scripts that request many URLs without a `name` tag would otherwise
/// grow the table without bound).
pub const MAX_ENDPOINTS: usize = 1000;

/// The endpoint that collects requests past [`MAX_ENDPOINTS`].
pub const OTHER_ENDPOINTS: &str = "(other endpoints)";

/// A run's results (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA`] for files this version writes.
    pub schema: String,
    /// What wrote the file, e.g. `stampede 0.1.0`.
    pub generator: String,
    /// What ran and when.
    pub test: TestInfo,
    /// Whole-run figures.
    pub totals: Totals,
    /// Every threshold expression with its outcome, in configuration order.
    pub thresholds: Vec<ThresholdResult>,
    /// Every check, in first-seen order within its group.
    pub checks: Vec<CheckResult>,
    /// `http_req_duration` per endpoint, sorted by name.
    pub endpoints: Vec<Endpoint>,
    /// Per-interval figures for charts.
    pub series: Series,
    /// k6's `handleSummary` data for the same run, when it could be built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
}

/// What ran and when.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestInfo {
    /// The script, as given on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Where the samples came from: `stampede run` or `k6 --out json`.
    pub source: String,
    /// The first sample's time (RFC 3339, UTC).
    pub started_at: String,
    /// The last sample's time (RFC 3339, UTC).
    pub ended_at: String,
    /// Seconds between the two (rates are per second of it).
    pub duration_s: f64,
    /// Scenarios seen (`scenario` tag), in first-seen order.
    pub scenarios: Vec<String>,
}

/// Statistics of a latency distribution, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Number of samples.
    pub count: u64,
    /// Mean.
    pub avg: f64,
    /// Smallest.
    pub min: f64,
    /// Median (p50).
    pub med: f64,
    /// Largest.
    pub max: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Latency {
    /// The statistics of a trend (percentiles as the summary computes them).
    pub fn from_trend(t: &TrendAgg) -> Self {
        Latency {
            count: t.count(),
            avg: t.avg(),
            min: t.min(),
            med: t.percentile(50.0),
            max: t.max(),
            p90: t.percentile(90.0),
            p95: t.percentile(95.0),
            p99: t.percentile(99.0),
        }
    }

    /// A statistic by name: `avg`, `min`, `med` (or `p50`), `max`, `p90`, `p95`, `p99`.
    pub fn get(&self, key: &str) -> Option<f64> {
        Some(match key {
            "avg" => self.avg,
            "min" => self.min,
            "med" | "p50" => self.med,
            "max" => self.max,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            _ => return None,
        })
    }
}

/// Whole-run figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// `http_reqs`.
    pub requests: u64,
    /// Requests counted as failed by `http_req_failed`.
    pub failed: u64,
    /// `http_req_failed`'s rate (0..1).
    pub error_rate: f64,
    /// Requests per second of the test.
    pub rps: f64,
    /// `iterations`.
    pub iterations: u64,
    /// `dropped_iterations`.
    pub dropped_iterations: u64,
    /// The largest `vus` value seen, if the samples had any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vus_max: Option<f64>,
    /// `data_sent` in bytes.
    pub data_sent: f64,
    /// `data_received` in bytes.
    pub data_received: f64,
    /// Check evaluations that passed.
    pub checks_passed: u64,
    /// Check evaluations that failed.
    pub checks_failed: u64,
    /// `http_req_duration` over every request.
    pub latency: Latency,
}

/// One threshold expression and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The (sub-)metric, e.g. `http_req_duration{name:login}`.
    pub metric: String,
    /// The expression, e.g. `p(95)<500`.
    pub expression: String,
    /// Whether it passed at the end of the test.
    pub ok: bool,
    /// The value it compared, if the metric had samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// What the metric measures: `time` (ms), `data` (bytes) or `default`.
    pub contains: String,
    /// The metric's type: `counter`, `gauge`, `rate` or `trend`.
    #[serde(default)]
    pub kind: String,
}

impl ThresholdResult {
    /// The observed value as people read it: `212ms`, `1.2 MB`, `0.35%`
    /// for a rate; `-` when the metric had no samples.
    pub fn observed_text(&self) -> String {
        match self.observed {
            None => "-".into(),
            Some(v) if self.kind == "rate" && self.expression.trim_start().starts_with("rate") => {
                crate::units::pct(v)
            }
            Some(v) => crate::units::value(v, &self.contains),
        }
    }
}

/// One check's evaluations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Its group path (`::outer::inner`, empty at the top level).
    pub group: String,
    /// Evaluations that passed.
    pub passes: u64,
    /// Evaluations that failed.
    pub fails: u64,
}

/// One endpoint's requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The `endpoint` tag, else the `name` tag (k6 sets it to the URL
    /// when the script does not).
    pub name: String,
    /// HTTP methods seen, sorted.
    pub methods: Vec<String>,
    /// Requests (`http_reqs`).
    pub requests: u64,
    /// Requests counted as failed by `http_req_failed`.
    pub failed: u64,
    /// `failed / requests` as `http_req_failed` computes it (0..1).
    pub error_rate: f64,
    /// Requests per second of the test.
    pub rps: f64,
    /// `http_req_duration` of its requests.
    pub latency: Latency,
    /// Responses by `status` tag.
    pub statuses: BTreeMap<String, u64>,
}

/// Per-interval figures, oldest first, one point per interval from the
/// start of the test (intervals without samples have zero counts).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The interval's length in milliseconds.
    pub interval_ms: u64,
    /// The intervals.
    pub points: Vec<Point>,
}

/// One interval.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Seconds from the start of the test to the start of the interval.
    pub t: f64,
    /// The last `vus` value in the interval, if any was sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vus: Option<f64>,
    /// Requests that ended in the interval.
    pub requests: u64,
    /// Of those, the ones `http_req_failed` counted as failed.
    pub failed: u64,
    /// Iterations that ended in the interval.
    pub iterations: u64,
    /// `http_req_duration` of the interval's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<PointLatency>,
    /// The same per scenario.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scenarios: BTreeMap<String, ScenarioPoint>,
}

/// Latency statistics of one interval, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointLatency {
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// One scenario's figures in one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioPoint {
    /// Requests that ended in the interval.
    pub requests: u64,
    /// Of those, the failed ones.
    pub failed: u64,
    /// Iterations that ended in the interval.
    pub iterations: u64,
    /// 95th percentile of `http_req_duration`, if there were requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
}

impl Results {
    /// Whether every threshold passed.
    pub fn thresholds_ok(&self) -> bool {
        self.thresholds.iter().all(|t| t.ok)
    }

    /// The endpoint named `name`.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// The file text: pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("results serialize");
        s.push('\n');
        s
    }

    /// Writes [`Results::to_json`] to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ResultsError> {
        std::fs::write(path, self.to_json()).map_err(|e| ResultsError::io(path, e))
    }
}

/// Why a results file could not be read.
#[derive(Debug, Error)]
pub enum ResultsError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not JSON, or not the shape it claims.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong (with the line for k6 JSON files).
        message: String,
    },
    /// A results file of a schema this version cannot read.
    #[error("{path}: unsupported results schema {found:?} (this stampede reads {SCHEMA:?})")]
    Schema {
        /// The file.
        path: String,
        /// Its `schema`.
        found: String,
    },
}

impl ResultsError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        ResultsError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    fn invalid(path: &Path, message: impl Into<String>) -> Self {
        ResultsError::Invalid {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// Reads a whole file, gunzipping it when its name ends in `.gz`.
fn read_text(path: &Path) -> Result<String, ResultsError> {
    let file = std::fs::File::open(path).map_err(|e| ResultsError::io(path, e))?;
    let mut text = String::new();
    let res = if path.to_string_lossy().ends_with(".gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text)
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)
    };
    res.map_err(|e| ResultsError::io(path, e))?;
    Ok(text)
}

/// Parses a results document (the text of a results file).
pub fn parse_results(path: &Path, text: &str) -> Result<Results, ResultsError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ResultsError::invalid(path, e.to_string()))?;
    from_value(path, value)
}

fn from_value(path: &Path, value: serde_json::Value) -> Result<Results, ResultsError> {
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(ResultsError::Schema {
                path: path.display().to_string(),
                found: other.to_owned(),
            })
        }
        None => {
            return Err(ResultsError::invalid(
                path,
                "not a results file: no \"schema\" key (expected a file written by \
                 --out results=FILE or k6's --out json)",
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| ResultsError::invalid(path, e.to_string()))
}

/// Reads `path` as a results file or, when it holds k6 `--out json` lines
/// (from k6 or Stampede, optionally gzipped), replays them into results.
pub fn load(path: &Path) -> Result<Results, ResultsError> {
    let text = read_text(path)?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line: Option<serde_json::Value> = serde_json::from_str(first).ok();
    let is_k6 = line.as_ref().is_some_and(|v| {
        matches!(
            v.get("type").and_then(|t| t.as_str()),
            Some("Metric") | Some("Point")
        )
    });
    if is_k6 {
        let script = None;
        return replay_k6_json(path, &text, script);
    }
    if text.trim().is_empty() {
        return Err(ResultsError::invalid(path, "the file is empty"));
    }
    parse_results(path, &text)
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC (milliseconds).
pub(crate) fn rfc3339_utc(time_ns: u64) -> String {
    let mut s = String::new();
    crate::out::write_rfc3339(&mut s, time_ns - time_ns % 1_000_000, 0, true);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339_utc(1_795_471_525_123_456_789),
            "2026-11-23T22:05:25.123Z"
        );
    }

    #[test]
    fn latency_by_key() {
        let mut t = TrendAgg::default();
        for v in 1..=100 {
            t.add(v as f64);
        }
        let l = Latency::from_trend(&t);
        assert_eq!(l.get("p50"), Some(l.med));
        assert_eq!(l.get("max"), Some(100.0));
        assert_eq!(l.get("p42"), None);
    }
}
