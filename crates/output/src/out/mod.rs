//! The outputs of `--out`: every sample, written or sent as k6 v1.1 does
//! (`json`, `csv`, `influxdb`, `xk6-influxdb`, `experimental-prometheus-rw`,
//! `experimental-opentelemetry`), or recorded into the run's results
//! (`results`, `html`, `junit`).
//!
//! The engine builds each output with [`from_spec`] and an [`OutputContext`]
//! (the thresholds and sub-metrics k6 writes into the JSON `Metric` lines,
//! the environment for `K6_CSV_*`, the local UTC offset), calls
//! [`Output::start`], hands batches of samples to [`Output::add_samples`]
//! from its collector task, and [`Output::stop`] at the end.

mod background;
mod csv;
mod influxdb;
mod json;
mod localtime;
mod net;
mod otel;
mod prometheus;
mod proto;
mod report;
mod settings;
mod target;
mod timefmt;

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{Registry, Sample, TagSet};
use thiserror::Error;

pub use csv::{CsvOutput, CsvTimeFormat};
pub use influxdb::InfluxOutput;
pub use json::JsonOutput;
pub use localtime::{local_utc_offset, tzif_offset};
pub use otel::OtelOutput;
pub use prometheus::PrometheusOutput;
pub use report::{ReportKind, ReportOutput};
pub use timefmt::write_rfc3339;

/// A streaming output of samples.
pub trait Output: Send {
    /// What k6 prints after `output:`, e.g. `json (results.json)`.
    fn description(&self) -> String;
    /// Opens the destination and writes any header.
    fn start(&mut self) -> io::Result<()>;
    /// Writes a batch of samples (buffered).
    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()>;
    /// Flushes and closes.
    fn stop(&mut self) -> io::Result<()>;
}

/// The payload of the `io::Error` an output returns when its own thread
/// panicked (a Stampede bug, not a destination failure): the engine ends
/// the run at once as a system error instead of reporting it at the end.
/// Find it with [`OutputPanic::of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPanic(pub String);

impl std::fmt::Display for OutputPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the output's thread panicked: {}", self.0)
    }
}

impl std::error::Error for OutputPanic {}

impl OutputPanic {
    /// The panic an output error carries, if it is one.
    pub fn of(e: &io::Error) -> Option<&OutputPanic> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<OutputPanic>())
    }

    /// The error an output returns for it.
    pub fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

/// A sub-metric as the JSON output's `Metric` lines list it.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmetricMeta {
    /// `http_req_duration{status:200}`.
    pub name: String,
    /// `status:200`.
    pub suffix: String,
    /// The tags it selects.
    pub tags: TagSet,
}

/// What a JSON `Metric` line says besides the definition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricMeta {
    /// The metric's own threshold expressions, in configuration order.
    pub thresholds: Vec<String>,
    /// Its sub-metrics (`null` in the line when empty).
    pub submetrics: Vec<SubmetricMeta>,
}

/// Per-metric metadata by metric name.
pub type MetricMetas = HashMap<String, MetricMeta>;

/// The metadata k6 writes for a run's thresholds: each metric's own
/// expressions and the sub-metrics thresholds name, then
/// `http_req_duration{expected_response:true}` when `expected_response`
/// (the `expected_response` system tag is enabled).
pub fn metric_metas(thresholds: Option<&Thresholds>, expected_response: bool) -> MetricMetas {
    let mut metas = MetricMetas::new();
    for r in thresholds.map(Thresholds::results).unwrap_or_default() {
        let meta = metas.entry(r.selector.metric.clone()).or_default();
        if r.selector.is_submetric() {
            meta.submetrics.push(SubmetricMeta {
                name: r.name.clone(),
                suffix: r.selector.suffix.clone().unwrap_or_default(),
                tags: r.selector.tags.clone(),
            });
        } else {
            meta.thresholds
                .extend(r.thresholds.iter().map(|t| t.source.clone()));
        }
    }
    if expected_response {
        let name = "http_req_duration{expected_response:true}";
        let meta = metas.entry("http_req_duration".into()).or_default();
        if !meta.submetrics.iter().any(|s| s.name == name) {
            meta.submetrics.push(SubmetricMeta {
                name: name.into(),
                suffix: "expected_response:true".into(),
                tags: TagSet::from_pairs([("expected_response", "true")]),
            });
        }
    }
    metas
}

/// Everything outputs need from the run besides the samples.
#[derive(Clone, Debug, Default)]
pub struct OutputContext {
    /// Thresholds and sub-metrics per metric (see [`metric_metas`]).
    pub metrics: Arc<MetricMetas>,
    /// Environment variables (`K6_CSV_FILENAME`, `K6_CSV_SAVE_INTERVAL`,
    /// `K6_CSV_TIME_FORMAT`).
    pub env: HashMap<String, String>,
    /// The enabled system tags (`systemTags`); `None` for k6's default set.
    pub system_tags: Option<Vec<String>>,
    /// The local time zone's offset from UTC in seconds, for timestamps
    /// written as dates (k6 writes local time); see [`local_utc_offset`].
    pub utc_offset_secs: i32,
    /// The script as given on the command line (results, HTML and JUnit
    /// outputs name the test after it).
    pub script: Option<String>,
    /// The run's thresholds as configured; the results, HTML and JUnit
    /// outputs evaluate them on the samples they received.
    pub thresholds: Vec<ThresholdSpec>,
    /// `summaryTrendStats` (empty: k6's default), for the `handleSummary`
    /// data the results output embeds.
    pub trend_stats: Vec<String>,
}

#[cfg(test)]
impl OutputContext {
    /// A context with only these environment variables, for tests.
    pub(crate) fn with_env(env: &[(&str, &str)]) -> Self {
        OutputContext {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..OutputContext::default()
        }
    }
}

/// Why an output could not be created.
#[derive(Debug, Error)]
pub enum OutputError {
    /// Not an output this build has.
    #[error("invalid output type '{0}', available types are: {types}", types = AVAILABLE.join(", "))]
    UnknownType(String),
    /// The output's argument or environment is invalid.
    #[error("could not create the '{output}' output: {message}")]
    Config {
        /// The output type.
        output: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl OutputError {
    /// The exit code k6 v1.1 ends with for these errors (it has no specific one).
    pub const EXIT_CODE: i32 = 255;
}

/// The outputs [`from_spec`] knows, as k6 lists them.
pub const AVAILABLE: [&str; 10] = [
    "csv",
    "experimental-opentelemetry",
    "experimental-prometheus-rw",
    "html",
    "influxdb",
    "json",
    "junit",
    "opentelemetry",
    "results",
    "xk6-influxdb",
];

/// Creates an output from a `--out` value `TYPE[=ARG]`:
///
/// - `json`, `json=FILE[.gz]`, `csv`, `csv=FILE[.gz]` or
///   `csv=fileName=F,timeFormat=T,saveInterval=D`: as in k6, `json` without
///   a file (or `-`) writes to stdout and `csv` without one writes `file.csv`;
/// - `influxdb=URL` (1.x), `xk6-influxdb=URL/BUCKET` (2.x),
///   `experimental-prometheus-rw[=URL]`, `experimental-opentelemetry` (or
///   `opentelemetry`): settings from the `K6_*` variables in `ctx.env`;
/// - `results=FILE`, `html=FILE`, `junit=FILE`: written at the end.
pub fn from_spec(spec: &str, ctx: &OutputContext) -> Result<Box<dyn Output>, OutputError> {
    let (kind, arg) = spec.split_once('=').unwrap_or((spec, ""));
    match kind {
        "json" => Ok(Box::new(JsonOutput::new(arg, ctx))),
        "csv" => Ok(Box::new(CsvOutput::from_arg(arg, ctx)?)),
        "results" => Ok(Box::new(ReportOutput::new(ReportKind::Results, arg, ctx)?)),
        "html" => Ok(Box::new(ReportOutput::new(ReportKind::Html, arg, ctx)?)),
        "junit" => Ok(Box::new(ReportOutput::new(ReportKind::Junit, arg, ctx)?)),
        "influxdb" => Ok(Box::new(InfluxOutput::v1(arg, ctx)?)),
        "xk6-influxdb" => Ok(Box::new(InfluxOutput::v2(arg, ctx)?)),
        "experimental-prometheus-rw" => Ok(Box::new(PrometheusOutput::new(arg, ctx)?)),
        "experimental-opentelemetry" => Ok(Box::new(OtelOutput::new(
            "experimental-opentelemetry",
            arg,
            ctx,
        )?)),
        "opentelemetry" => Ok(Box::new(OtelOutput::new("opentelemetry", arg, ctx)?)),
        other => Err(OutputError::UnknownType(other.to_owned())),
    }
}

/// Go's `%q` for the ASCII strings of configuration errors.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::thresholds::ThresholdSpec;

    #[test]
    fn errors_like_k6() {
        let ctx = OutputContext::default();
        let err = from_spec("foo=bar", &ctx).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid output type 'foo', available types are: csv, experimental-opentelemetry, experimental-prometheus-rw, html, influxdb, json, junit, opentelemetry, results, xk6-influxdb"
        );
        let err = from_spec("csv=bogus=1", &ctx).err().unwrap();
        assert_eq!(
            err.to_string(),
            "could not create the 'csv' output: unknown key \"bogus\" as argument for csv output"
        );
        let err = from_spec("csv=timeFormat=bogus", &ctx).err().unwrap();
        assert_eq!(
            err.to_string(),
            "could not create the 'csv' output: bogus does not belong to TimeFormat values"
        );
    }

    #[test]
    fn descriptions_like_k6() {
        let ctx = OutputContext::default();
        let d = |s: &str| from_spec(s, &ctx).unwrap().description();
        assert_eq!(d("json"), "json(stdout)");
        assert_eq!(d("json=-"), "json(stdout)");
        assert_eq!(d("json=o5.json"), "json (o5.json)");
        assert_eq!(d("json=o5.json.gz"), "json (o5.json.gz)");
        assert_eq!(d("csv=o5.csv.gz"), "csv (o5.csv.gz)");
        assert_eq!(d("csv"), "csv (file.csv)");
        assert_eq!(d("csv="), "csv (file.csv)");
        assert_eq!(d("csv=-"), "csv (stdout)");
        assert_eq!(
            d("csv=timeFormat=rfc3339_nano,fileName=o6.csv"),
            "csv (o6.csv)"
        );
    }

    #[test]
    fn metas_from_thresholds() {
        let th = Thresholds::new(vec![
            ThresholdSpec::new("http_req_duration", "p(95)<500"),
            ThresholdSpec::new("http_req_duration", "avg<100"),
            ThresholdSpec::new("http_req_duration{status:404}", "max<1000"),
            ThresholdSpec::new("my_trend{foo:bar}", "avg<1"),
        ])
        .unwrap();
        let metas = metric_metas(Some(&th), true);
        let dur = &metas["http_req_duration"];
        assert_eq!(dur.thresholds, ["p(95)<500", "avg<100"]);
        let names: Vec<&str> = dur.submetrics.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "http_req_duration{status:404}",
                "http_req_duration{expected_response:true}"
            ]
        );
        assert!(metas["my_trend"].thresholds.is_empty());
        assert_eq!(metas["my_trend"].submetrics[0].suffix, "foo:bar");
    }
}
