//! Helpers: k6 v1.1.0 fixtures (see `tests/fixtures/k6-v1.1.0/gen.sh`)
//! replayed into a registry, a store and evaluated thresholds.

pub mod cdp;
pub mod load;
pub mod protodec;
pub mod servers;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{MetricType, Registry, Sample, Sink, Store, TagSet, ValueType};
use stampede_output::{Report, SummaryInput};

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/k6-v1.1.0")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn kind(s: &str) -> MetricType {
    match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "rate" => MetricType::Rate,
        _ => MetricType::Trend,
    }
}

fn contains(s: &str) -> ValueType {
    match s {
        "time" => ValueType::Time,
        "data" => ValueType::Data,
        _ => ValueType::Default,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses Go's RFC3339Nano (`2026-11-24T03:48:55.090779975+05:30`).
pub fn parse_rfc3339_ns(s: &str) -> u64 {
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let days = days_from_civil(num(0..4), num(5..7), num(8..10));
    let mut secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(['Z', '+', '-']).unwrap();
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().unwrap()
    };
    if zone != "Z" {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let h: i64 = zone[1..3].parse().unwrap();
        let m: i64 = zone[4..6].parse().unwrap();
        secs -= sign * (h * 3600 + m * 60);
    }
    (secs * 1_000_000_000 + nanos) as u64
}

/// A k6 run replayed: its metrics, samples and thresholds.
pub struct Run {
    pub registry: Registry,
    pub samples: Vec<Sample>,
    pub store: Store,
    pub thresholds: Thresholds,
    pub duration: Duration,
    pub options: Value,
    /// What `setup()` returned, for the report.
    pub setup_data: Option<Value>,
}

/// Replays `<name>.samples.json` (k6's `--out json`) with `options.json`.
pub fn replay(name: &str) -> Run {
    replay_with(name, "options.json")
}

/// Replays `<name>.samples.json` with the given options file.
pub fn replay_with(name: &str, options_file: &str) -> Run {
    let options: Value = serde_json::from_str(&fixture(options_file)).unwrap();
    let registry = Registry::new();
    for (metric, d) in options["metrics"].as_object().into_iter().flatten() {
        registry
            .register(
                metric,
                kind(d[0].as_str().unwrap()),
                contains(d[1].as_str().unwrap()),
            )
            .unwrap();
    }
    let mut samples = Vec::new();
    for line in fixture(&format!("{name}.samples.json")).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let d = &v["data"];
        if v["type"] == "Metric" {
            registry
                .register(
                    d["name"].as_str().unwrap(),
                    kind(d["type"].as_str().unwrap()),
                    contains(d["contains"].as_str().unwrap()),
                )
                .unwrap();
            continue;
        }
        let tags = d["tags"].as_object().unwrap();
        samples.push(Sample {
            metric: registry.lookup(v["metric"].as_str().unwrap()).unwrap(),
            tags: TagSet::from_pairs(tags.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap()))),
            value: d["value"].as_f64().unwrap(),
            time_ns: parse_rfc3339_ns(d["time"].as_str().unwrap()),
        });
    }
    let mut sink = Sink::new();
    for s in &samples {
        sink.add(s.metric, &s.tags, s.value, s.time_ns);
    }
    let mut store = Store::new();
    store.apply(&sink.take(0, 1));

    let mut specs = Vec::new();
    for (sel, exprs) in options["thresholds"].as_object().unwrap() {
        for e in exprs.as_array().unwrap() {
            specs.push(ThresholdSpec::new(sel, e.as_str().unwrap()));
        }
    }
    let duration = Duration::from_nanos(
        fixture(&format!("{name}.duration_ns"))
            .trim()
            .parse()
            .unwrap(),
    );
    let mut thresholds = Thresholds::new(specs).unwrap();
    assert!(thresholds.validate(&registry).is_empty());
    thresholds.evaluate(&store, duration);
    Run {
        registry,
        samples,
        store,
        thresholds,
        duration,
        options,
        setup_data: None,
    }
}

impl Run {
    pub fn report(&self, stdout_tty: bool) -> Report {
        Report::new(SummaryInput {
            store: &self.store,
            registry: &self.registry,
            thresholds: Some(&self.thresholds),
            duration: self.duration,
            trend_stats: self.options["summaryTrendStats"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect(),
            time_unit: self.options["summaryTimeUnit"].as_str().map(str::to_owned),
            setup_data: self.setup_data.clone(),
            no_color: false,
            stdout_tty,
            stderr_tty: false,
        })
    }
}

/// Compares two JSON values ignoring object key order; numbers may differ
/// by `tolerance(path)` relatively.
pub fn assert_json_close(got: &Value, want: &Value, path: &str, tolerance: &dyn Fn(&str) -> f64) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let mut gk: Vec<&String> = g.keys().collect();
            let mut wk: Vec<&String> = w.keys().collect();
            gk.sort();
            wk.sort();
            assert_eq!(gk, wk, "keys of {path}");
            for (k, wv) in w {
                assert_json_close(&g[k], wv, &format!("{path}.{k}"), tolerance);
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "length of {path}");
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                assert_json_close(gv, wv, &format!("{path}[{i}]"), tolerance);
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            let tol = tolerance(path);
            assert!(
                g == w || (g - w).abs() <= tol * w.abs(),
                "{path}: {g} vs k6's {w}"
            );
        }
        (g, w) => assert_eq!(g, w, "{path}"),
    }
}

/// A synthetic run: samples added by metric name, in order, one per
/// millisecond from a fixed instant.
pub struct Synth {
    pub registry: Registry,
    pub samples: Vec<Sample>,
    time_ns: u64,
}

impl Default for Synth {
    fn default() -> Self {
        Self::new()
    }
}

impl Synth {
    pub fn new() -> Self {
        Synth {
            registry: Registry::new(),
            samples: Vec::new(),
            // 2026-11-23T22:05:25Z
            time_ns: 1_795_471_525_000_000_000,
        }
    }

    /// Registers a custom metric.
    pub fn custom(&self, name: &str, kind: MetricType, contains: ValueType) {
        self.registry.register(name, kind, contains).unwrap();
    }

    /// Adds a sample of the (built-in or registered) metric `name`.
    pub fn add(&mut self, name: &str, value: f64, tags: &[(&str, &str)]) {
        let metric = self
            .registry
            .lookup(name)
            .unwrap_or_else(|| panic!("unknown metric {name}"));
        self.time_ns += 1_000_000;
        self.samples.push(Sample {
            metric,
            tags: TagSet::from_pairs(tags.iter().copied()),
            value,
            time_ns: self.time_ns,
        });
    }

    pub fn store(&self) -> Store {
        let mut sink = Sink::new();
        for s in &self.samples {
            sink.add(s.metric, &s.tags, s.value, s.time_ns);
        }
        let mut store = Store::new();
        store.apply(&sink.take(0, 1));
        store
    }
}
