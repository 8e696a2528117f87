//! Baselines: the per-endpoint figures a later run is compared with.
//!
//! The YAML format is the one of a plan's `benchmarks/baseline.yaml`:
//!
//! ```yaml
//! api_endpoints:
//!   products_list:
//!     p50: 50ms
//!     p95: 200ms
//!     p99: 500ms
//!     error_rate: 0.01%
//! ```
//!
//! Endpoints are matched with the `endpoint` tag of the requests, else
//! their `name` tag (k6 uses the URL when the script gives no name). Latencies take a unit (`us`, `µs`,
//! `ms`, `s`, `m`; a bare number is milliseconds); `error_rate` is a
//! percentage (`0.5%`) or a fraction (`0.005`). The statistics are `p50`
//! (or `med`), `p90`, `p95`, `p99`, `avg`, `min`, `max` and `error_rate`;
//! an endpoint lists any of them. Other top-level sections (say
//! `database_metrics`) are not measured by a load test and are skipped with
//! a note. A previous results file works as a baseline too: its endpoints'
//! `p50`, `p95`, `p99` and `error_rate`.
//!
//! ```
//! use stampede_output::results::baseline::{Baseline, Stat};
//! let b = Baseline::parse_yaml("b.yaml", "api_endpoints:\n  home:\n    p95: 1.5s\n    error_rate: 1%\n").unwrap();
//! assert_eq!(b.endpoints[0].name, "home");
//! assert_eq!(b.endpoints[0].values, [(Stat::P95, 1500.0), (Stat::ErrorRate, 0.01)]);
//! ```

use std::fmt;
use std::path::Path;

use serde_yaml::Value;
use thiserror::Error;

/// A YAML scalar as baselines hold them (for [`parse_latency`] and [`parse_rate`]).
pub use serde_yaml::Value as YamlValue;

use super::{Results, ResultsError, SCHEMA};

/// A statistic a baseline can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stat {
    /// Median latency.
    P50,
    /// 90th percentile latency.
    P90,
    /// 95th percentile latency.
    P95,
    /// 99th percentile latency.
    P99,
    /// Mean latency.
    Avg,
    /// Smallest latency.
    Min,
    /// Largest latency.
    Max,
    /// Share of failed requests (0..1).
    ErrorRate,
}

impl Stat {
    /// Every statistic, in the order tables show them.
    pub const ALL: [Stat; 8] = [
        Stat::P50,
        Stat::P90,
        Stat::P95,
        Stat::P99,
        Stat::Avg,
        Stat::Min,
        Stat::Max,
        Stat::ErrorRate,
    ];

    /// The key as written in baselines.
    pub fn key(self) -> &'static str {
        match self {
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
            Stat::Avg => "avg",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::ErrorRate => "error_rate",
        }
    }

    fn parse(key: &str) -> Option<Stat> {
        if key == "med" {
            return Some(Stat::P50);
        }
        Stat::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether this is a latency (milliseconds) rather than a rate.
    pub fn is_latency(self) -> bool {
        self != Stat::ErrorRate
    }

    /// This statistic of an endpoint of `results`.
    pub fn of(self, ep: &super::Endpoint) -> f64 {
        match self {
            Stat::ErrorRate => ep.error_rate,
            s => ep.latency.get(s.key()).expect("latency keys"),
        }
    }

    /// The value as a baseline writes it: `12.5ms`, `0.25%`.
    pub fn format(self, v: f64) -> String {
        if self.is_latency() {
            format!("{}ms", trim(v, 3))
        } else {
            format!("{}%", trim(v * 100.0, 4))
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// `v` with at most `decimals` decimals, trailing zeros removed.
fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// One endpoint's baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineEndpoint {
    /// The endpoint (`name` tag).
    pub name: String,
    /// Its statistics, latencies in milliseconds, rates as fractions.
    pub values: Vec<(Stat, f64)>,
}

/// A baseline (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// Endpoints in file order.
    pub endpoints: Vec<BaselineEndpoint>,
    /// Top-level sections that were skipped (not measured by a load test).
    pub skipped_sections: Vec<String>,
}

/// Why a baseline could not be read.
#[derive(Debug, Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not YAML (or JSON).
    #[error("{path}: not valid YAML: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Valid YAML, but not a baseline; each problem names its key.
    #[error("{path}: invalid baseline:\n  - {}", problems.join("\n  - "))]
    Invalid {
        /// The file.
        path: String,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// A results file used as baseline that could not be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
}

/// The sections that hold endpoints.
const ENDPOINT_SECTIONS: [&str; 2] = ["api_endpoints", "endpoints"];

impl Baseline {
    /// Reads a YAML baseline or a results file (JSON with a `schema`).
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let name = path.display().to_string();
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) {
            if map.contains_key("schema") {
                let results = super::parse_results(path, &text)?;
                return Ok(Baseline::from_results(&results));
            }
        }
        Baseline::parse_yaml(&name, &text)
    }

    /// The baseline a results file gives: each endpoint's p50, p95, p99
    /// and error rate.
    pub fn from_results(results: &Results) -> Baseline {
        let endpoints = results
            .endpoints
            .iter()
            .filter(|e| e.requests > 0)
            .map(|e| BaselineEndpoint {
                name: e.name.clone(),
                values: [Stat::P50, Stat::P95, Stat::P99, Stat::ErrorRate]
                    .into_iter()
                    .map(|s| (s, s.of(e)))
                    .collect(),
            })
            .collect();
        Baseline {
            endpoints,
            skipped_sections: Vec::new(),
        }
    }

    /// Parses the YAML text of file `path` (used in messages).
    pub fn parse_yaml(path: &str, text: &str) -> Result<Baseline, BaselineError> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| BaselineError::Syntax {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let mut problems = Vec::new();
        let mut endpoints = Vec::new();
        let mut skipped = Vec::new();
        let mut found_section = false;
        match &doc {
            Value::Mapping(top) => {
                for (k, v) in top {
                    let Some(section) = k.as_str() else {
                        problems.push(format!("top-level key {} is not a string", show(k)));
                        continue;
                    };
                    if section == "schema" && v.as_str() == Some(SCHEMA) {
                        continue;
                    }
                    if !ENDPOINT_SECTIONS.contains(&section) {
                        skipped.push(section.to_owned());
                        continue;
                    }
                    found_section = true;
                    parse_section(section, v, &mut endpoints, &mut problems);
                }
            }
            Value::Null => problems.push("the file is empty".into()),
            other => problems.push(format!(
                "expected a mapping with an `api_endpoints` section, found {}",
                kind(other)
            )),
        }
        if problems.is_empty() && !found_section {
            problems.push(format!(
                "no `api_endpoints` section (found: {})",
                if skipped.is_empty() {
                    "nothing".to_owned()
                } else {
                    skipped.join(", ")
                }
            ));
        }
        if problems.is_empty() && endpoints.is_empty() {
            problems.push("`api_endpoints` lists no endpoint".into());
        }
        if !problems.is_empty() {
            return Err(BaselineError::Invalid {
                path: path.to_owned(),
                problems,
            });
        }
        Ok(Baseline {
            endpoints,
            skipped_sections: skipped,
        })
    }

    /// The YAML text of this baseline; `header` lines become comments.
    pub fn to_yaml(&self, header: &[String]) -> String {
        let mut eps = serde_yaml::Mapping::new();
        for e in &self.endpoints {
            let mut m = serde_yaml::Mapping::new();
            for (s, v) in &e.values {
                m.insert(Value::from(s.key()), Value::from(s.format(*v)));
            }
            eps.insert(Value::from(e.name.as_str()), Value::Mapping(m));
        }
        let mut top = serde_yaml::Mapping::new();
        top.insert(Value::from("api_endpoints"), Value::Mapping(eps));
        let body = serde_yaml::to_string(&Value::Mapping(top)).expect("YAML serializes");
        let mut out = String::new();
        for h in header {
            out.push_str("# ");
            out.push_str(h);
            out.push('\n');
        }
        out.push_str(&body);
        out
    }
}

fn show(v: &Value) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim_end().to_owned())
        .unwrap_or_else(|_| "?".into())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn parse_section(
    section: &str,
    v: &Value,
    endpoints: &mut Vec<BaselineEndpoint>,
    problems: &mut Vec<String>,
) {
    let Value::Mapping(map) = v else {
        problems.push(format!(
            "{section}: expected a mapping of endpoint names, found {}",
            kind(v)
        ));
        return;
    };
    for (name, stats) in map {
        let name = match name {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                problems.push(format!(
                    "{section}: endpoint name {} is not a string",
                    show(other)
                ));
                continue;
            }
        };
        let at = format!("{section}.{name}");
        if endpoints.iter().any(|e| e.name == name) {
            problems.push(format!("{at}: listed twice"));
            continue;
        }
        let Value::Mapping(stats) = stats else {
            problems.push(format!(
                "{at}: expected a mapping like `p95: 200ms`, found {}",
                kind(stats)
            ));
            continue;
        };
        let mut values: Vec<(Stat, f64)> = Vec::new();
        for (k, raw) in stats {
            let Some(key) = k.as_str() else {
                problems.push(format!("{at}: key {} is not a string", show(k)));
                continue;
            };
            let Some(stat) = Stat::parse(key) else {
                problems.push(format!(
                    "{at}.{key}: unknown statistic (use p50, p90, p95, p99, avg, min, max or error_rate)"
                ));
                continue;
            };
            if values.iter().any(|(s, _)| *s == stat) {
                problems.push(format!("{at}.{key}: {stat} is given twice"));
                continue;
            }
            let parsed = if stat.is_latency() {
                parse_latency(raw)
            } else {
                parse_rate(raw)
            };
            match parsed {
                Ok(v) => values.push((stat, v)),
                Err(e) => problems.push(format!("{at}.{key}: {e}")),
            }
        }
        if values.is_empty() && stats.is_empty() {
            problems.push(format!("{at}: no statistics"));
        }
        values.sort_by_key(|(s, _)| *s);
        endpoints.push(BaselineEndpoint { name, values });
    }
}

fn number_of(raw: &Value) -> Result<Option<f64>, String> {
    match raw {
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| "not a number".into()),
        Value::String(_) => Ok(None),
        other => Err(format!(
            "expected a value like 200ms, found {}",
            kind(other)
        )),
    }
}

/// A latency in milliseconds: `200ms`, `1.5s`, `250us`, `2m`, or a bare number (ms).
pub fn parse_latency(raw: &Value) -> Result<f64, String> {
    let v = match number_of(raw)? {
        Some(n) => n,
        None => {
            let s = raw.as_str().expect("a string").trim();
            let split = s
                .find(|c: char| {
                    !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e')
                })
                .unwrap_or(s.len());
            let (num, unit) = s.split_at(split);
            let n: f64 = num
                .parse()
                .map_err(|_| format!("{s:?} is not a duration (use e.g. 200ms, 1.5s or 250us)"))?;
            let factor = match unit.trim() {
                "" | "ms" => 1.0,
                "us" | "µs" | "μs" => 0.001,
                "ns" => 0.000_001,
                "s" => 1000.0,
                "m" | "min" => 60_000.0,
                other => {
                    return Err(format!(
                        "{s:?}: unknown unit {other:?} (use ns, us, ms, s or m)"
                    ))
                }
            };
            n * factor
        }
    };
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{} is not a valid latency", show(raw)));
    }
    Ok(v)
}

/// A rate as a fraction: `0.5%` or `0.005`.
pub fn parse_rate(raw: &Value) -> Result<f64, String> {
    let v = match number_of(raw)? {
        Some(n) => {
            if n > 1.0 {
                return Err(format!(
                    "{n} is more than 1: write a percentage like {n}% or a fraction like {}",
                    n / 100.0
                ));
            }
            n
        }
        None => {
            let s = raw.as_str().expect("a string").trim();
            let (num, pct) = match s.strip_suffix('%') {
                Some(n) => (n.trim(), true),
                None => (s, false),
            };
            let n: f64 = num
                .parse()
                .map_err(|_| format!("{s:?} is not a rate (use e.g. 0.1% or 0.001)"))?;
            if pct {
                n / 100.0
            } else if n > 1.0 {
                return Err(format!("{s:?} is more than 1: did you mean {s}%?"));
            } else {
                n
            }
        }
    };
    if !v.is_finite() || !(0.0..=1.0).contains(&v) {
        return Err(format!("{} is not a rate between 0% and 100%", show(raw)));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "# k6/benchmarks/baseline.yaml
api_endpoints:
  products_list:
    p50: 50ms
    p95: 200ms
    p99: 500ms
    error_rate: 0.01%

  reports_generate:
    p50: 2000ms
    p95: 5000ms
    p99: 10000ms
    error_rate: 1%

database_metrics:
  connection_pool:
    size: 100
    wait_time_p95: 5ms

cache_metrics:
  hit_rate: 85%
";

    #[test]
    fn the_plans_format() {
        let b = Baseline::parse_yaml("b.yaml", SEED).unwrap();
        assert_eq!(b.skipped_sections, ["database_metrics", "cache_metrics"]);
        assert_eq!(b.endpoints.len(), 2);
        assert_eq!(
            b.endpoints[0].values,
            [
                (Stat::P50, 50.0),
                (Stat::P95, 200.0),
                (Stat::P99, 500.0),
                (Stat::ErrorRate, 0.0001)
            ]
        );
        assert_eq!(b.endpoints[1].name, "reports_generate");
    }

    #[test]
    fn units_and_rates() {
        let lat = |s: &str| parse_latency(&serde_yaml::from_str(s).unwrap());
        assert_eq!(lat("1.5s"), Ok(1500.0));
        assert_eq!(lat("250us"), Ok(0.25));
        assert_eq!(lat("250µs"), Ok(0.25));
        assert_eq!(lat("42"), Ok(42.0));
        assert_eq!(lat("2m"), Ok(120_000.0));
        assert!(lat("fast").unwrap_err().contains("not a duration"));
        assert!(lat("5 hours").unwrap_err().contains("unknown unit"));
        assert!(lat("-5ms").is_err());
        let rate = |s: &str| parse_rate(&serde_yaml::from_str(s).unwrap());
        assert_eq!(rate("1%"), Ok(0.01));
        assert_eq!(rate("0.002"), Ok(0.002));
        assert!(rate("5").unwrap_err().contains("more than 1"));
        assert!(rate("150%").is_err());
    }

    #[test]
    fn every_problem_is_reported() {
        let text =
            "api_endpoints:\n  a:\n    p95: soon\n    p96: 1ms\n  b: 12\n  c:\n    error_rate: 2\n";
        let err = Baseline::parse_yaml("b.yaml", text)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "b.yaml: invalid baseline:\n  \
             - api_endpoints.a.p95: \"soon\" is not a duration (use e.g. 200ms, 1.5s or 250us)\n  \
             - api_endpoints.a.p96: unknown statistic (use p50, p90, p95, p99, avg, min, max or error_rate)\n  \
             - api_endpoints.b: expected a mapping like `p95: 200ms`, found a number\n  \
             - api_endpoints.c.error_rate: 2 is more than 1: write a percentage like 2% or a fraction like 0.02"
        );
        let err = Baseline::parse_yaml("b.yaml", "cache_metrics:\n  hit_rate: 85%\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no `api_endpoints` section (found: cache_metrics)"),
            "{err}"
        );
        let err = Baseline::parse_yaml("b.yaml", "api_endpoints: [1\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("b.yaml: not valid YAML: "), "{err}");
        let err = Baseline::parse_yaml("b.yaml", "").unwrap_err().to_string();
        assert!(err.contains("the file is empty"), "{err}");
    }

    #[test]
    fn round_trips_through_yaml() {
        let b = Baseline {
            endpoints: vec![BaselineEndpoint {
                name: "http://x/y?z=1".into(),
                values: vec![
                    (Stat::P50, 0.1845),
                    (Stat::P95, 200.0),
                    (Stat::ErrorRate, 0.000123),
                ],
            }],
            skipped_sections: vec![],
        };
        let text = b.to_yaml(&["written by a test".into()]);
        assert!(
            text.starts_with("# written by a test\napi_endpoints:\n"),
            "{text}"
        );
        assert!(
            text.contains("p50: 0.185ms") || text.contains("p50: 0.184ms"),
            "{text}"
        );
        assert!(text.contains("error_rate: 0.0123%"), "{text}");
        let back = Baseline::parse_yaml("b.yaml", &text).unwrap();
        assert_eq!(back.endpoints[0].name, "http://x/y?z=1");
        assert_eq!(back.endpoints[0].values[1], (Stat::P95, 200.0));
    }
}
