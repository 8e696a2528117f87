//! CSV exports of a stored run (RFC 4180: comma-separated, CRLF line ends,
//! fields with commas, quotes or line breaks quoted): one row per interval
//! of the chart series, and the per-endpoint table. Numbers are plain
//! decimals in the units of the column names (ms, per second, ratio).

use std::fmt::Write;

use crate::results::Results;

/// One field, quoted when it needs to be; cells starting with `=`, `+`,
/// `-` or `@` that are not numbers get a leading `'` so that spreadsheet
/// programs do not run them as formulas (endpoint names come from scripts).
fn field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err();
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        // Shortest round-trip form, without a trailing `.0` on integers.
        let s = format!("{v}");
        s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
    } else {
        String::new()
    }
}

fn row(out: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    let _ = write!(out, "{}\r\n", line.join(","));
}

/// One row per interval: `t_s,interval_s,vus,requests,failed,rps,
/// iterations,avg_ms,p50_ms,p90_ms,p95_ms,p99_ms,max_ms` (latency cells
/// empty for intervals without requests).
pub fn intervals(results: &Results) -> String {
    let mut out = String::new();
    let step = results.series.interval_ms as f64 / 1000.0;
    row(
        &mut out,
        &[
            "t_s",
            "interval_s",
            "vus",
            "requests",
            "failed",
            "rps",
            "iterations",
            "avg_ms",
            "p50_ms",
            "p90_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
        ]
        .map(String::from),
    );
    for p in &results.series.points {
        let lat = |f: fn(&crate::results::PointLatency) -> f64| {
            p.latency.as_ref().map_or(String::new(), |l| num(f(l)))
        };
        row(
            &mut out,
            &[
                num(p.t),
                num(step),
                p.vus.map_or(String::new(), num),
                p.requests.to_string(),
                p.failed.to_string(),
                num(if step > 0.0 {
                    p.requests as f64 / step
                } else {
                    0.0
                }),
                p.iterations.to_string(),
                lat(|l| l.avg),
                lat(|l| l.p50),
                lat(|l| l.p90),
                lat(|l| l.p95),
                lat(|l| l.p99),
                lat(|l| l.max),
            ],
        );
    }
    out
}

/// The per-endpoint table: `endpoint,methods,requests,failed,error_rate,
/// rps,avg_ms,min_ms,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,statuses` (methods
/// and `status:count` pairs separated by spaces).
pub fn endpoints(results: &Results) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "endpoint",
            "methods",
            "requests",
            "failed",
            "error_rate",
            "rps",
            "avg_ms",
            "min_ms",
            "p50_ms",
            "p90_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "statuses",
        ]
        .map(String::from),
    );
    for e in &results.endpoints {
        let l = &e.latency;
        let statuses: Vec<String> = e.statuses.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        row(
            &mut out,
            &[
                e.name.clone(),
                e.methods.join(" "),
                e.requests.to_string(),
                e.failed.to_string(),
                num(e.error_rate),
                num(e.rps),
                num(l.avg),
                num(l.min),
                num(l.med),
                num(l.p90),
                num(l.p95),
                num(l.p99),
                num(l.max),
                statuses.join(" "),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-12.5"), "-12.5");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(f64::NAN), "");
    }
}
