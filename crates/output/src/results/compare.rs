//! The regression gate: a run's endpoints against a [`Baseline`].
//!
//! A latency regresses when it grows by more than `max_regression` (10% by
//! default) of its baseline and by more than `latency_tolerance_ms` (0 by
//! default; a few milliseconds keep sub-millisecond noise out of the gate).
//! An error rate regresses when it grows by more than `max_regression` of
//! its baseline *and* by more than `error_rate_tolerance` (0.1 percentage
//! points by default), so that one failed request in a clean run does not
//! count as an infinite regression.
//! Improvements are the same moves downwards. An endpoint of the baseline
//! that the run did not request is missing (a failure unless allowed); an
//! endpoint the baseline does not know is listed as new.

use std::fmt::Write;

use super::baseline::{Baseline, Stat};
use super::Results;

/// How strict the comparison is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompareOptions {
    /// Largest allowed growth, as a fraction of the baseline (0.10 = 10%).
    pub max_regression: f64,
    /// Error rates must also grow by more than this (a fraction: 0.001 is
    /// 0.1 percentage points) to regress.
    pub error_rate_tolerance: f64,
    /// Latencies must also grow by more than this many milliseconds to regress.
    pub latency_tolerance_ms: f64,
    /// Whether a baseline endpoint absent from the run is acceptable.
    pub allow_missing: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            max_regression: 0.10,
            error_rate_tolerance: 0.001,
            latency_tolerance_ms: 0.0,
            allow_missing: false,
        }
    }
}

/// The outcome of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Within bounds.
    Ok,
    /// Better by more than the allowed margin.
    Improved,
    /// Worse by more than the allowed margin.
    Regressed,
    /// In the baseline, not in the run.
    Missing,
    /// In the run, not in the baseline.
    New,
}

impl Status {
    /// The word the table shows.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Improved => "improved",
            Status::Regressed => "REGRESSED",
            Status::Missing => "MISSING",
            Status::New => "new",
        }
    }
}

/// One compared statistic (or one missing or new endpoint).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The endpoint.
    pub endpoint: String,
    /// The statistic; `None` for a missing or new endpoint.
    pub stat: Option<Stat>,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// The run's value.
    pub current: Option<f64>,
    /// `(current - baseline) / baseline`; infinite when the baseline is 0.
    pub change: Option<f64>,
    /// The outcome.
    pub status: Status,
}

/// Every row of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Rows in baseline order, then new endpoints.
    pub rows: Vec<Row>,
    /// The options it was made with.
    pub options: CompareOptions,
}

/// Compares `results` with `baseline`.
pub fn compare(baseline: &Baseline, results: &Results, options: CompareOptions) -> Comparison {
    let mut rows = Vec::new();
    for b in &baseline.endpoints {
        let Some(ep) = results.endpoint(&b.name).filter(|e| e.requests > 0) else {
            rows.push(Row {
                endpoint: b.name.clone(),
                stat: None,
                baseline: None,
                current: None,
                change: None,
                status: Status::Missing,
            });
            continue;
        };
        for &(stat, base) in &b.values {
            let cur = stat.of(ep);
            let change = if base == 0.0 {
                if cur == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                (cur - base) / base
            };
            let slack_ok = |delta: f64| {
                if stat.is_latency() {
                    options.latency_tolerance_ms > 0.0
                        && delta.abs() <= options.latency_tolerance_ms
                } else {
                    delta.abs() <= options.error_rate_tolerance
                }
            };
            let status = if change > options.max_regression && !slack_ok(cur - base) {
                Status::Regressed
            } else if change < -options.max_regression && !slack_ok(cur - base) {
                Status::Improved
            } else {
                Status::Ok
            };
            rows.push(Row {
                endpoint: b.name.clone(),
                stat: Some(stat),
                baseline: Some(base),
                current: Some(cur),
                change: Some(change),
                status,
            });
        }
    }
    for ep in &results.endpoints {
        if ep.requests > 0 && !baseline.endpoints.iter().any(|b| b.name == ep.name) {
            rows.push(Row {
                endpoint: ep.name.clone(),
                stat: None,
                baseline: None,
                current: None,
                change: None,
                status: Status::New,
            });
        }
    }
    Comparison { rows, options }
}

impl Comparison {
    /// Rows that regressed.
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.status == Status::Regressed)
    }

    /// Baseline endpoints the run did not request.
    pub fn missing(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.status == Status::Missing)
    }

    /// Whether the gate passes: no regression, and no missing endpoint
    /// unless allowed.
    pub fn passed(&self) -> bool {
        self.regressions().next().is_none()
            && (self.options.allow_missing || self.missing().next().is_none())
    }

    /// The table and a verdict line, for a terminal or a CI log.
    pub fn render(&self) -> String {
        let header = [
            "endpoint", "metric", "baseline", "current", "change", "status",
        ];
        let mut table: Vec<[String; 6]> = vec![header.map(String::from)];
        for r in &self.rows {
            let fmt = |v: Option<f64>| match (r.stat, v) {
                (Some(s), Some(v)) => s.format(v),
                _ => "-".into(),
            };
            table.push([
                r.endpoint.clone(),
                r.stat.map_or("-".into(), |s| s.key().to_owned()),
                fmt(r.baseline),
                fmt(r.current),
                r.change.map_or("-".into(), format_change),
                r.status.label().to_owned(),
            ]);
        }
        let widths: Vec<usize> = (0..6)
            .map(|c| {
                table
                    .iter()
                    .map(|row| row[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (i, row) in table.iter().enumerate() {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                // Numbers right-aligned, words left-aligned.
                if (2..=4).contains(&c) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * 5;
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        out.push('\n');
        let regressions: Vec<String> = self
            .regressions()
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.endpoint,
                    r.stat.map_or("", |s| s.key()),
                    r.change.map_or_else(String::new, format_change)
                )
            })
            .collect();
        let missing: Vec<&str> = self.missing().map(|r| r.endpoint.as_str()).collect();
        let limit = format!("{}%", trim_pct(self.options.max_regression * 100.0));
        if self.passed() {
            let _ = write!(out, "PASS: no regression beyond {limit}");
            if !missing.is_empty() {
                let _ = write!(
                    out,
                    " ({} missing endpoint(s) allowed: {})",
                    missing.len(),
                    missing.join(", ")
                );
            }
        } else {
            let mut parts = Vec::new();
            if !regressions.is_empty() {
                parts.push(format!(
                    "{} regression(s) beyond {limit}: {}",
                    regressions.len(),
                    regressions.join(", ")
                ));
            }
            if !missing.is_empty() && !self.options.allow_missing {
                parts.push(format!(
                    "{} endpoint(s) of the baseline not requested: {}",
                    missing.len(),
                    missing.join(", ")
                ));
            }
            let _ = write!(out, "FAIL: {}", parts.join("; "));
        }
        out.push('\n');
        out
    }

    /// The comparison as JSON (for scripts).
    pub fn to_json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "endpoint": r.endpoint,
                    "metric": r.stat.map(|s| s.key()),
                    "baseline": r.baseline,
                    "current": r.current,
                    "change": r.change.filter(|c| c.is_finite()),
                    "status": r.status.label().to_lowercase(),
                })
            })
            .collect();
        serde_json::json!({
            "passed": self.passed(),
            "max_regression": self.options.max_regression,
            "error_rate_tolerance": self.options.error_rate_tolerance,
            "latency_tolerance_ms": self.options.latency_tolerance_ms,
            "rows": rows,
        })
    }
}

fn trim_pct(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `+7.5%`, `-100%`, `+inf%`.
fn format_change(c: f64) -> String {
    if c.is_infinite() {
        return "+inf%".into();
    }
    let sign = if c >= 0.0 { "+" } else { "" };
    format!("{sign}{}%", trim_pct(c * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::baseline::BaselineEndpoint;
    use crate::results::{Endpoint, Latency, Results, Series, TestInfo, Totals, SCHEMA};

    fn results(eps: &[(&str, f64, f64)]) -> Results {
        Results {
            schema: SCHEMA.into(),
            generator: "test".into(),
            test: TestInfo::default(),
            totals: Totals::default(),
            thresholds: vec![],
            checks: vec![],
            endpoints: eps
                .iter()
                .map(|&(name, p95, err)| Endpoint {
                    name: name.into(),
                    requests: 100,
                    error_rate: err,
                    latency: Latency {
                        p95,
                        med: p95 / 2.0,
                        ..Latency::default()
                    },
                    ..Endpoint::default()
                })
                .collect(),
            series: Series::default(),
            summary: None,
        }
    }

    fn baseline(eps: &[(&str, f64, f64)]) -> Baseline {
        Baseline {
            endpoints: eps
                .iter()
                .map(|&(name, p95, err)| BaselineEndpoint {
                    name: name.into(),
                    values: vec![(Stat::P95, p95), (Stat::ErrorRate, err)],
                })
                .collect(),
            skipped_sections: vec![],
        }
    }

    #[test]
    fn statuses() {
        let b = baseline(&[("a", 200.0, 0.0001), ("b", 500.0, 0.01), ("c", 100.0, 0.0)]);
        let r = results(&[
            ("a", 219.0, 0.0009),
            ("b", 620.0, 0.0),
            ("c", 80.0, 0.05),
            ("d", 1.0, 0.0),
        ]);
        let c = compare(&b, &r, CompareOptions::default());
        let st: Vec<(&str, Option<Stat>, Status)> = c
            .rows
            .iter()
            .map(|r| (r.endpoint.as_str(), r.stat, r.status))
            .collect();
        assert_eq!(
            st,
            [
                ("a", Some(Stat::P95), Status::Ok),
                // +800% but only 0.08 points: within the tolerance.
                ("a", Some(Stat::ErrorRate), Status::Ok),
                ("b", Some(Stat::P95), Status::Regressed),
                ("b", Some(Stat::ErrorRate), Status::Improved),
                ("c", Some(Stat::P95), Status::Improved),
                ("c", Some(Stat::ErrorRate), Status::Regressed),
                ("d", None, Status::New),
            ]
        );
        assert!(!c.passed());
        assert_eq!(c.rows[5].change, Some(f64::INFINITY));
        let text = c.render();
        assert!(
            text.contains("FAIL: 2 regression(s) beyond 10%: b p95 +24%, c error_rate +inf%"),
            "{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("b ")
                && l.contains("500ms")
                && l.contains("620ms")
                && l.ends_with("REGRESSED")),
            "{text}"
        );
    }

    #[test]
    fn missing_endpoints_fail_unless_allowed() {
        let b = baseline(&[("a", 200.0, 0.0), ("gone", 1.0, 0.0)]);
        let r = results(&[("a", 200.0, 0.0)]);
        let c = compare(&b, &r, CompareOptions::default());
        assert!(!c.passed());
        assert!(c
            .render()
            .contains("FAIL: 1 endpoint(s) of the baseline not requested: gone"));
        let opts = CompareOptions {
            allow_missing: true,
            ..CompareOptions::default()
        };
        let c = compare(&b, &r, opts);
        assert!(c.passed());
        assert!(c
            .render()
            .contains("PASS: no regression beyond 10% (1 missing endpoint(s) allowed: gone)"));
    }

    #[test]
    fn the_margin_is_configurable() {
        let b = baseline(&[("a", 200.0, 0.0)]);
        let r = results(&[("a", 230.0, 0.0)]);
        assert!(!compare(&b, &r, CompareOptions::default()).passed());
        let opts = CompareOptions {
            max_regression: 0.2,
            ..CompareOptions::default()
        };
        let c = compare(&b, &r, opts);
        assert!(c.passed());
        assert_eq!(c.to_json()["rows"][0]["change"], 0.15);
        assert!(c.render().ends_with("PASS: no regression beyond 20%\n"));
        // An absolute floor for latencies: +30 ms is within 50 ms.
        let opts = CompareOptions {
            latency_tolerance_ms: 50.0,
            ..CompareOptions::default()
        };
        assert!(compare(&b, &r, opts).passed());
    }
}
