//! Streaming outputs: what is written reads back.

use std::io::Read;

use serde_json::Value;
use stampede_metrics::{MetricType, ValueType};
use stampede_output::out::OutputContext;
use stampede_output::{from_spec, Output};

use crate::common::Synth;

fn synth() -> Synth {
    let mut s = Synth::new();
    s.custom("my_trend", MetricType::Trend, ValueType::Time);
    for i in 0..500 {
        let tags = [("scenario", "default"), ("url", "http://x/a,b"), ("k", "v")];
        s.add("http_reqs", 1.0, &tags);
        s.add(
            "my_trend",
            f64::from(i) * 0.5,
            &[("group", "::g"), ("note", "a\"b")],
        );
    }
    s
}

fn write(s: &Synth, spec: &str) -> Box<dyn Output> {
    let mut out = from_spec(spec, &OutputContext::default()).unwrap();
    out.start().unwrap();
    for batch in s.samples.chunks(64) {
        out.add_samples(batch, &s.registry).unwrap();
    }
    out.stop().unwrap();
    out
}

fn read(path: &std::path::Path) -> String {
    let mut text = String::new();
    let file = std::fs::File::open(path).unwrap();
    if path.to_string_lossy().ends_with(".gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    text
}

#[test]
fn json_lines_read_back() {
    let s = synth();
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.json", "out.json.gz"] {
        let path = dir.path().join(name);
        write(&s, &format!("json={}", path.display()));
        let lines: Vec<Value> = read(&path)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let metrics: Vec<&str> = lines
            .iter()
            .filter(|l| l["type"] == "Metric")
            .map(|l| l["metric"].as_str().unwrap())
            .collect();
        assert_eq!(metrics, ["http_reqs", "my_trend"]);
        let points: Vec<&Value> = lines.iter().filter(|l| l["type"] == "Point").collect();
        assert_eq!(points.len(), s.samples.len());
        assert_eq!(points[1]["metric"], "my_trend");
        assert_eq!(points[1]["data"]["tags"]["note"], "a\"b");
        assert_eq!(points[3]["data"]["value"], 0.5);
        assert_eq!(points[0]["data"]["time"], "2026-11-23T22:05:25.001Z");
    }
}

#[test]
fn csv_rows_read_back() {
    let s = synth();
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.csv", "out.csv.gz"] {
        let path = dir.path().join(name);
        write(&s, &format!("csv={}", path.display()));
        let text = read(&path);
        let mut lines = text.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("metric_name,timestamp,metric_value,"));
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), s.samples.len());
        assert_eq!(
            rows[0],
            "http_reqs,1795471525,1.000000,,,,,,,,,default,,,,,\"http://x/a,b\",k=v,"
        );
        assert_eq!(
            rows[3],
            "my_trend,1795471525,0.500000,,,,,::g,,,,,,,,,,\"note=a\"\"b\","
        );
    }
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let s = synth();
    let mut out = from_spec("json=/nonexistent-dir/x.json", &OutputContext::default()).unwrap();
    let err = out.start().unwrap_err();
    assert!(err.to_string().contains("/nonexistent-dir/x.json"), "{err}");
    assert!(out.add_samples(&s.samples[..1], &s.registry).is_err());
    out.stop().unwrap();
}
