//! Replays a k6 `--out json` file through Stampede's summary, to compare
//! with what k6 printed for the same run.
//!
//! ```text
//! cargo run -p stampede-output --example k6_replay -- \
//!     samples.json options.json DURATION_NS [compact|full|legacy|data|export] [--color]
//! ```
//!
//! `options.json` holds the run's `thresholds` (selector -> list of
//! expressions), `summaryTrendStats`, `summaryTimeUnit` and `metrics`
//! (custom metrics without samples: name -> [type, contains]).

use std::io::BufRead;
use std::time::Duration;

use serde_json::Value;
use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{MetricType, Registry, Sink, Store, TagSet, ValueType};
use stampede_output::jsjson::stringify;
use stampede_output::{Report, SummaryInput, SummaryMode};

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: k6_replay samples.json options.json DURATION_NS MODE [--color]");
        std::process::exit(2);
    }
    let options: Value =
        serde_json::from_str(&std::fs::read_to_string(&args[2]).expect("options file"))
            .expect("options json");
    let registry = Registry::new();
    // Custom metrics that never got a sample (so no `Metric` line): name -> [type, contains].
    if let Some(defs) = options["metrics"].as_object() {
        for (name, d) in defs {
            registry
                .register(
                    name,
                    kind(d[0].as_str().unwrap()),
                    contains(d[1].as_str().unwrap()),
                )
                .expect("register");
        }
    }
    let mut sink = Sink::new();
    let file = std::fs::File::open(&args[1]).expect("samples file");
    for line in std::io::BufReader::new(file).lines() {
        let line = line.expect("read");
        let v: Value = serde_json::from_str(&line).expect("json line");
        match v["type"].as_str() {
            Some("Metric") => {
                let d = &v["data"];
                registry
                    .register(
                        d["name"].as_str().unwrap(),
                        kind(d["type"].as_str().unwrap()),
                        contains(d["contains"].as_str().unwrap()),
                    )
                    .expect("register");
            }
            Some("Point") => {
                let metric = registry.lookup(v["metric"].as_str().unwrap()).unwrap();
                let tags: Vec<(String, String)> = v["data"]["tags"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                let value = v["data"]["value"].as_f64().unwrap();
                sink.add(metric, &TagSet::from_pairs(tags), value, 0);
            }
            _ => {}
        }
    }
    let mut store = Store::new();
    store.apply(&sink.take(0, 1));

    let mut specs = Vec::new();
    if let Some(th) = options["thresholds"].as_object() {
        for (sel, exprs) in th {
            for e in exprs.as_array().into_iter().flatten() {
                specs.push(ThresholdSpec::new(sel, e.as_str().unwrap()));
            }
        }
    }
    let duration = Duration::from_nanos(args[3].parse().expect("duration ns"));
    let mut thresholds = Thresholds::new(specs).expect("thresholds");
    assert!(thresholds.validate(&registry).is_empty());
    thresholds.evaluate(&store, duration);

    let trend_stats = options["summaryTrendStats"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    let color = args.iter().any(|a| a == "--color");
    let report = Report::new(SummaryInput {
        store: &store,
        registry: &registry,
        thresholds: Some(&thresholds),
        duration,
        trend_stats,
        time_unit: options["summaryTimeUnit"].as_str().map(str::to_owned),
        setup_data: None,
        no_color: false,
        stdout_tty: color,
        stderr_tty: false,
    });
    let out = match args[4].as_str() {
        "data" => stringify(&report.handle_summary_data(), " "),
        "export" => stampede_output::summary_export::to_file_text(&report.summary_export()),
        mode => report.render(mode.parse::<SummaryMode>().expect("mode")),
    };
    print!("{out}");
}
