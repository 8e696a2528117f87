//! Gate evaluation over a stage's results: the script's thresholds, the
//! comparison with a baseline, the breaking point and the recovery time.
//! Each condition becomes one [`Check`] (one JUnit test case, one line of
//! the decision tree), so a failed gate always says which condition failed.

use serde::{Deserialize, Serialize};
use stampede_chaos::{recovery, Interval, Recovery, Slo};
use stampede_output::results::baseline::Baseline;
use stampede_output::results::compare::{compare, CompareOptions};
use stampede_output::results::{Point, Results};

use crate::load::duration;
use crate::spec::{BreakingPointGate, Gate, RecoveryGate};

/// One condition of a gate and its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// `thresholds`, `compare`, `breaking_point` or `recovery`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was measured, for people.
    pub detail: String,
}

impl Check {
    /// A failed condition `name` (`run`, `timeout`, `chaos`, ...) and why.
    pub fn failed(name: &str, detail: String) -> Check {
        Check {
            name: name.into(),
            ok: false,
            detail,
        }
    }
}

/// Where the load broke the SLO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakingPoint {
    /// Seconds from the start of the test to the first breaching interval.
    pub t: f64,
    /// VUs then.
    pub vus: Option<f64>,
    /// Requests per second in that interval.
    pub rps: f64,
    /// Its error rate.
    pub error_rate: f64,
    /// Its p95 latency (ms).
    pub p95_ms: Option<f64>,
}

/// Figures a gate derives from the results, kept for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    /// The first interval with a failed request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<BreakingPoint>,
    /// The first interval breaching the breaking-point SLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaking_point: Option<BreakingPoint>,
    /// The most VUs seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_vus: Option<f64>,
    /// The recovery after the fault or spike.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
}

fn intervals(results: &Results) -> Vec<Interval> {
    results
        .series
        .points
        .iter()
        .map(|p| Interval {
            t: p.t,
            requests: p.requests,
            failed: p.failed,
            p95_ms: p.latency.map(|l| l.p95),
        })
        .collect()
}

fn point_at(p: &Point, interval_s: f64) -> BreakingPoint {
    BreakingPoint {
        t: p.t,
        vus: p.vus,
        rps: p.requests as f64 / interval_s,
        error_rate: if p.requests == 0 {
            0.0
        } else {
            p.failed as f64 / p.requests as f64
        },
        p95_ms: p.latency.map(|l| l.p95),
    }
}

/// The first interval (with requests) where `slo` does not hold.
pub fn first_breach(results: &Results, slo: &Slo) -> Option<BreakingPoint> {
    let secs = (results.series.interval_ms.max(1)) as f64 / 1000.0;
    results
        .series
        .points
        .iter()
        .zip(intervals(results))
        .find(|(_, i)| i.requests > 0 && !slo.holds(i))
        .map(|(p, _)| point_at(p, secs))
}

/// Evaluates `gate` over `results` (`exit_code` is the run's); the
/// baseline was loaded by the caller when the gate compares.
pub fn evaluate(
    gate: &Gate,
    results: &Results,
    exit_code: i32,
    baseline: Option<&Baseline>,
) -> (Vec<Check>, Findings) {
    let mut checks = Vec::new();
    let mut findings = Findings {
        max_vus: results.totals.vus_max,
        first_error: first_breach(
            results,
            &Slo {
                p95_ms: None,
                error_rate: Some(0.0),
            },
        ),
        ..Findings::default()
    };
    if gate.thresholds {
        let failed: Vec<String> = results
            .thresholds
            .iter()
            .filter(|t| !t.ok)
            .map(|t| format!("{} {} ({})", t.metric, t.expression, t.observed_text()))
            .collect();
        let ok = failed.is_empty() && exit_code == 0;
        let detail = if !failed.is_empty() {
            format!("failed: {}", failed.join("; "))
        } else if exit_code != 0 {
            format!("the run exited with code {exit_code}")
        } else {
            format!("{} thresholds passed", results.thresholds.len())
        };
        checks.push(Check {
            name: "thresholds".into(),
            ok,
            detail,
        });
    }
    if let (Some(c), Some(b)) = (&gate.compare, baseline) {
        let mut opts = CompareOptions {
            allow_missing: c.allow_missing,
            ..CompareOptions::default()
        };
        if let Some(p) = c.max_regression_pct {
            opts.max_regression = p / 100.0;
        }
        if let Some(t) = c.latency_tolerance_ms {
            opts.latency_tolerance_ms = t;
        }
        let cmp = compare(b, results, opts);
        let regressions: Vec<String> = cmp
            .regressions()
            .map(|r| match r.stat {
                Some(s) => format!("{} {}", r.endpoint, format!("{s:?}").to_lowercase()),
                None => r.endpoint.clone(),
            })
            .collect();
        let missing = cmp.missing().count();
        checks.push(Check {
            name: "compare".into(),
            ok: cmp.passed(),
            detail: if cmp.passed() {
                format!("no regression against {}", c.baseline)
            } else {
                format!(
                    "regressed against {}: {}{}",
                    c.baseline,
                    regressions.join(", "),
                    if missing > 0 {
                        format!(" ({missing} baseline endpoints not requested)")
                    } else {
                        String::new()
                    }
                )
            },
        });
    }
    if let Some(bp) = &gate.breaking_point {
        let (check, point) = breaking_point(bp, results);
        findings.breaking_point = point;
        checks.push(check);
    }
    if let Some(r) = &gate.recovery {
        let (check, rec) = recovery_check(r, results);
        findings.recovery = rec;
        checks.push(check);
    }
    (checks, findings)
}

fn breaking_point(bp: &BreakingPointGate, results: &Results) -> (Check, Option<BreakingPoint>) {
    let slo = bp.slo.unwrap_or(Slo {
        p95_ms: None,
        error_rate: Some(0.0),
    });
    let point = first_breach(results, &slo);
    let (ok, detail) = match &point {
        None => (
            true,
            format!(
                "not reached: the SLO held up to {} VUs",
                results
                    .totals
                    .vus_max
                    .map_or("?".into(), |v| format!("{v:.0}"))
            ),
        ),
        Some(p) => {
            let vus_ok = bp.min_vus.is_none_or(|m| p.vus.is_some_and(|v| v >= m));
            let rps_ok = bp.min_rps.is_none_or(|m| p.rps >= m);
            let mut d = format!(
                "{} VUs, {:.0} req/s at {:.0}s ({:.1}% errors{})",
                p.vus.map_or("?".into(), |v| format!("{v:.0}")),
                p.rps,
                p.t,
                p.error_rate * 100.0,
                p.p95_ms
                    .map_or(String::new(), |l| format!(", p95 {l:.0} ms"))
            );
            if let Some(m) = bp.min_vus {
                d.push_str(&format!("; required ≥ {m:.0} VUs"));
            }
            if let Some(m) = bp.min_rps {
                d.push_str(&format!("; required ≥ {m:.0} req/s"));
            }
            (vus_ok && rps_ok, d)
        }
    };
    (
        Check {
            name: "breaking_point".into(),
            ok,
            detail,
        },
        point,
    )
}

/// When a fault ended: `fault_end` (seconds from the start) when given,
/// else when `scenario` (default `recover`) first ran.
pub fn fault_end(
    results: &Results,
    scenario: Option<&str>,
    fault_end: Option<f64>,
) -> Result<f64, String> {
    if let Some(f) = fault_end {
        return Ok(f);
    }
    let name = scenario.unwrap_or("recover");
    results
        .series
        .points
        .iter()
        .find(|p| {
            p.scenarios
                .get(name)
                .is_some_and(|s| s.requests > 0 || s.iterations > 0)
        })
        .map(|p| p.t)
        .ok_or_else(|| {
            format!("cannot tell when the fault ended: no requests of scenario {name:?}")
        })
}

/// The recovery after a fault that ended at `end` (see [`fault_end`]).
pub fn measure_recovery(results: &Results, end: f64, slo: &Slo, k: usize) -> Recovery {
    recovery(&intervals(results), end, slo, k)
}

fn recovery_check(r: &RecoveryGate, results: &Results) -> (Check, Option<Recovery>) {
    let max = duration(&r.max).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let k = r.k.unwrap_or(3);
    let given = r
        .fault_end
        .as_deref()
        .and_then(|f| duration(f).ok())
        .map(|d| d.as_secs_f64());
    let end = match fault_end(results, r.scenario.as_deref(), given) {
        Ok(e) => e,
        Err(why) => {
            return (
                Check {
                    name: "recovery".into(),
                    ok: false,
                    detail: why,
                },
                None,
            )
        }
    };
    let rec = measure_recovery(results, end, &r.slo, k);
    let (ok, detail) = match rec.recovery_s {
        Some(s) => (
            s <= max + 1e-9,
            format!("recovered {s:.0}s after the fault ended at {end:.0}s (SLO held {k} intervals; limit {})", r.max),
        ),
        None => (
            false,
            format!("did not recover: the SLO never held {k} intervals in a row after {end:.0}s"),
        ),
    };
    (
        Check {
            name: "recovery".into(),
            ok,
            detail,
        },
        Some(rec),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_output::results::{PointLatency, ScenarioPoint, Series};

    fn results(points: &[(f64, u64, u64, f64)]) -> Results {
        let mut r: Results = serde_json::from_value(serde_json::json!({
            "schema": "stampede.results/v1", "generator": "test",
            "test": {"source": "t", "started_at": "", "ended_at": "", "duration_s": 1.0, "scenarios": []},
            "totals": {"requests": 0, "failed": 0, "error_rate": 0.0, "rps": 0.0, "iterations": 0,
                "dropped_iterations": 0, "data_sent": 0.0, "data_received": 0.0,
                "checks_passed": 0, "checks_failed": 0,
                "latency": {"count": 0, "avg": 0.0, "min": 0.0, "med": 0.0, "max": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0}},
            "thresholds": [], "checks": [], "endpoints": [],
            "series": {"interval_ms": 1000, "points": []}
        }))
        .unwrap();
        r.series = Series {
            interval_ms: 1000,
            points: points
                .iter()
                .map(|&(vus, requests, failed, p95)| Point {
                    t: 0.0,
                    vus: Some(vus),
                    requests,
                    failed,
                    latency: Some(PointLatency {
                        p95,
                        ..PointLatency::default()
                    }),
                    ..Point::default()
                })
                .enumerate()
                .map(|(i, mut p)| {
                    p.t = i as f64;
                    p
                })
                .collect(),
        };
        r
    }

    #[test]
    fn finds_the_breaking_point_and_gates_on_it() {
        let r = results(&[
            (10.0, 100, 0, 50.0),
            (20.0, 200, 0, 80.0),
            (30.0, 250, 0, 900.0),
            (40.0, 260, 30, 1500.0),
        ]);
        let gate = Gate {
            breaking_point: Some(BreakingPointGate {
                slo: Some(Slo {
                    p95_ms: Some(500.0),
                    error_rate: Some(0.01),
                }),
                min_vus: Some(25.0),
                min_rps: None,
            }),
            ..Gate::default()
        };
        let (checks, f) = evaluate(&gate, &r, 0, None);
        let bp = f.breaking_point.unwrap();
        assert_eq!((bp.vus, bp.rps, bp.t), (Some(30.0), 250.0, 2.0));
        assert_eq!(f.first_error.unwrap().vus, Some(40.0));
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
        let strict = Gate {
            breaking_point: Some(BreakingPointGate {
                min_vus: Some(35.0),
                ..gate.breaking_point.clone().unwrap()
            }),
            ..Gate::default()
        };
        let (checks, _) = evaluate(&strict, &r, 0, None);
        let bp = checks.iter().find(|c| c.name == "breaking_point").unwrap();
        assert!(!bp.ok && bp.detail.contains("30 VUs"), "{bp:?}");
        // A nonzero exit fails the thresholds check even with none listed.
        let (checks, _) = evaluate(&Gate::default(), &r, 99, None);
        assert!(!checks[0].ok && checks[0].detail.contains("99"));
    }

    #[test]
    fn measures_recovery_from_the_recover_scenario() {
        let mut r = results(&[
            (5.0, 50, 0, 20.0),
            (5.0, 50, 40, 20.0),
            (5.0, 50, 10, 20.0),
            (5.0, 50, 0, 20.0),
            (5.0, 50, 0, 20.0),
            (5.0, 50, 0, 20.0),
        ]);
        for p in &mut r.series.points[2..] {
            p.scenarios.insert(
                "recover".into(),
                ScenarioPoint {
                    requests: 50,
                    ..ScenarioPoint::default()
                },
            );
        }
        let gate = Gate {
            thresholds: false,
            recovery: Some(RecoveryGate {
                slo: Slo {
                    p95_ms: None,
                    error_rate: Some(0.01),
                },
                k: Some(3),
                max: "2s".into(),
                scenario: None,
                fault_end: None,
            }),
            ..Gate::default()
        };
        let (checks, f) = evaluate(&gate, &r, 0, None);
        assert_eq!(f.recovery.unwrap().recovery_s, Some(1.0));
        assert!(checks[0].ok, "{checks:?}");
        let mut slow = gate.clone();
        slow.recovery.as_mut().unwrap().max = "500ms".into();
        assert!(!evaluate(&slow, &r, 0, None).0[0].ok);
    }
}
