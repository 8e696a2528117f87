//! Replays a k6 `--out json` file (from k6 or Stampede) into [`Results`],
//! so reports and comparisons work on existing k6 runs.
//!
//! The file has a `Metric` line per metric (its type, what it contains and
//! its thresholds) and a `Point` line per sample. Sub-metric thresholds are
//! not in the file (k6 only lists the sub-metrics' names), so only the
//! thresholds on whole metrics are evaluated.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use stampede_metrics::thresholds::ThresholdSpec;
use stampede_metrics::{Metric, MetricType, TagSet, ValueType};

use super::{Recorder, RecorderConfig, Results, ResultsError};

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    metric: String,
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct MetricData {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    contains: String,
    #[serde(default)]
    thresholds: Vec<String>,
}

#[derive(Deserialize)]
struct PointData {
    time: String,
    value: Option<f64>,
    #[serde(default)]
    tags: Option<HashMap<String, serde_json::Value>>,
}

fn metric_type(s: &str) -> Option<MetricType> {
    Some(match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "rate" => MetricType::Rate,
        "trend" => MetricType::Trend,
        _ => return None,
    })
}

fn value_type(s: &str) -> ValueType {
    match s {
        "time" => ValueType::Time,
        "data" => ValueType::Data,
        _ => ValueType::Default,
    }
}

/// Replays the lines of `text` (the content of `path`) into results.
pub fn replay_k6_json(
    path: &Path,
    text: &str,
    script: Option<String>,
) -> Result<Results, ResultsError> {
    let bad = |n: usize, msg: String| ResultsError::Invalid {
        path: path.display().to_string(),
        message: format!("line {n}: {msg}"),
    };
    // First pass: metric definitions, thresholds and the earliest sample,
    // so thresholds are known up front and the series starts at the start.
    let mut defs: Vec<MetricData> = Vec::new();
    let mut start: Option<u64> = None;
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw).map_err(|e| bad(i + 1, e.to_string()))?;
        match line.kind.as_str() {
            "Metric" => {
                let d: MetricData =
                    serde_json::from_value(line.data).map_err(|e| bad(i + 1, e.to_string()))?;
                if metric_type(&d.kind).is_none() {
                    return Err(bad(i + 1, format!("unknown metric type {:?}", d.kind)));
                }
                defs.push(d);
            }
            "Point" => {
                let time = line
                    .data
                    .get("time")
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| bad(i + 1, "a Point without a time".into()))?;
                let t = parse_rfc3339_ns(time)
                    .ok_or_else(|| bad(i + 1, format!("invalid time {time:?}")))?;
                start = Some(start.map_or(t, |s| s.min(t)));
            }
            other => return Err(bad(i + 1, format!("unknown line type {other:?}"))),
        }
    }
    let thresholds = defs
        .iter()
        .flat_map(|d| d.thresholds.iter().map(|t| ThresholdSpec::new(&d.name, t)))
        .collect();
    let mut rec = Recorder::new(RecorderConfig {
        script,
        source: Some("--out json file".into()),
        thresholds,
        start_ns: start,
        ..RecorderConfig::default()
    });
    let mut metrics: HashMap<String, Metric> = HashMap::new();
    for d in &defs {
        let kind = metric_type(&d.kind).expect("checked above");
        let m = rec
            .register(&d.name, kind, value_type(&d.contains))
            .ok_or_else(|| ResultsError::Invalid {
                path: path.display().to_string(),
                message: format!("metric {:?} is defined twice with different types", d.name),
            })?;
        metrics.insert(d.name.clone(), m);
    }
    let mut tag_cache: HashMap<String, TagSet> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw).map_err(|e| bad(i + 1, e.to_string()))?;
        if line.kind != "Point" {
            continue;
        }
        let Some(&metric) = metrics.get(&line.metric) else {
            return Err(bad(
                i + 1,
                format!("a Point of {:?} before its Metric line", line.metric),
            ));
        };
        let p: PointData =
            serde_json::from_value(line.data).map_err(|e| bad(i + 1, e.to_string()))?;
        let Some(value) = p.value else { continue };
        let time = parse_rfc3339_ns(&p.time).expect("parsed in the first pass");
        let tags = match p.tags {
            None => TagSet::empty(),
            Some(map) => {
                let mut pairs: Vec<(String, String)> = map
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (k, v)
                    })
                    .collect();
                pairs.sort();
                let key = serde_json::to_string(&pairs).unwrap_or_default();
                if tag_cache.len() > 16 * 1024 {
                    tag_cache.clear();
                }
                tag_cache
                    .entry(key)
                    .or_insert_with(|| TagSet::from_pairs(pairs))
                    .clone()
            }
        };
        rec.add(metric, &tags, value, time);
    }
    Ok(rec.finish(None))
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

/// Parses RFC 3339 with an optional fraction (Go's RFC3339Nano, as k6
/// writes `time`): `2026-11-24T03:48:55.090779975+05:30`.
pub(crate) fn parse_rfc3339_ns(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (mo, d) = (num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(num(0..4)?, mo, d);
    let mut secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(['Z', 'z', '+', '-'])?;
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    match zone {
        "Z" | "z" => {}
        z if z.len() == 6 && z.as_bytes()[3] == b':' => {
            let sign = match z.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zh: i64 = z.get(1..3)?.parse().ok()?;
            let zm: i64 = z.get(4..6)?.parse().ok()?;
            secs -= sign * (zh * 3600 + zm * 60);
        }
        _ => return None,
    }
    u64::try_from(secs * 1_000_000_000 + nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_k6_writes_them() {
        assert_eq!(
            parse_rfc3339_ns("2026-11-23T22:05:25.591070535Z"),
            Some(1_795_471_525_591_070_535)
        );
        assert_eq!(
            parse_rfc3339_ns("2026-11-24T03:35:59.165901691+05:30"),
            Some(1_795_471_559_165_901_691)
        );
        assert_eq!(
            parse_rfc3339_ns("2026-11-23T22:05:25Z"),
            Some(1_795_471_525_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2026-11-23T17:05:25.5-05:00"),
            Some(1_795_471_525_500_000_000)
        );
        for bad in [
            "",
            "2026-11-23",
            "2026-13-23T22:05:25Z",
            "2026-11-23T22:05:25",
            "x026-11-23T22:05:25Z",
        ] {
            assert_eq!(parse_rfc3339_ns(bad), None, "{bad}");
        }
    }

    #[test]
    fn replays_lines() {
        let text = r#"{"type":"Metric","data":{"name":"http_req_duration","type":"trend","contains":"time","thresholds":["p(95)<1"],"submetrics":null},"metric":"http_req_duration"}
{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-23T22:05:25.5Z","value":12.5,"tags":{"name":"home","method":"GET","status":"200"}}}
{"type":"Metric","data":{"name":"vus","type":"gauge","contains":"default","thresholds":[],"submetrics":null},"metric":"vus"}
{"metric":"vus","type":"Point","data":{"time":"2026-11-23T22:05:26Z","value":3,"tags":{}}}
{"metric":"http_req_duration","type":"Point","data":{"time":"2026-11-23T22:05:25Z","value":7.5,"tags":{"name":"home","method":"GET","status":"200"},"metadata":{"vu":"1"}}}
"#;
        let r = replay_k6_json(Path::new("x.json"), text, None).unwrap();
        assert_eq!(r.test.source, "--out json file");
        assert_eq!(r.test.started_at, "2026-11-23T22:05:25Z");
        assert_eq!(r.test.duration_s, 1.0);
        let home = r.endpoint("home").unwrap();
        assert_eq!((home.latency.count, home.latency.avg), (2, 10.0));
        assert_eq!(r.thresholds.len(), 1);
        assert!(!r.thresholds[0].ok);
        assert_eq!(r.series.points.len(), 2);
        assert_eq!(r.series.points[1].vus, Some(3.0));
    }

    #[test]
    fn errors_name_the_line() {
        let text = "{\"type\":\"Metric\",\"data\":{\"name\":\"x\",\"type\":\"trend\"},\"metric\":\"x\"}\nnot json\n";
        let err = replay_k6_json(Path::new("r.json"), text, None).unwrap_err();
        assert!(err.to_string().starts_with("r.json: line 2: "), "{err}");
        let text = "{\"metric\":\"y\",\"type\":\"Point\",\"data\":{\"time\":\"2026-11-23T22:05:25Z\",\"value\":1}}\n";
        let err = replay_k6_json(Path::new("r.json"), text, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.json: line 1: a Point of \"y\" before its Metric line"
        );
    }
}
