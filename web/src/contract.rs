//! The UI's data contract: the JSON of one live interval ([`IntervalPoint`]),
//! of a run's state ([`RunState`]), of the live messages ([`LiveMessage`])
//! and of the metrics history ([`MetricsPage`]).
//!
//! These are the only shapes the run view reads, so any process that can
//! produce them serves the same page: `stampede run --web-dashboard` today,
//! `stampede server` (`/api/v1/ws`, `/api/v1/runs/{id}`,
//! `/api/v1/runs/{id}/metrics`) later. `web/README.md` documents them field
//! by field; a test there keeps the example in step with these types. The
//! tables reuse the results file's types (`stampede_output::results`) so the
//! live view, the stored results and the HTML report share one vocabulary.

use serde::{Deserialize, Serialize};
use stampede_output::results::{CheckResult, Endpoint, Latency, ThresholdResult, Totals};

/// Latency statistics of one interval, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointLatency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Mean.
    pub avg: f64,
    /// Largest.
    pub max: f64,
}

/// One closed interval of a run: a point on every chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalPoint {
    /// The interval's index, from 0, without gaps: a client that has seen
    /// `seq` n asks for the points after n to resume.
    pub seq: u64,
    /// Seconds from the start of the test to the end of the interval.
    pub t: f64,
    /// Seconds the interval covers.
    pub dur: f64,
    /// When the interval closed (ms since the Unix epoch).
    pub closed_at_ms: u64,
    /// VUs at the end of the interval (`vus`), if sampled.
    #[serde(default)]
    pub vus: Option<f64>,
    /// Initialized VUs (`vus_max`), if sampled.
    #[serde(default)]
    pub vus_max: Option<f64>,
    /// Requests that ended in the interval (`http_reqs`).
    pub requests: u64,
    /// `requests / dur`.
    pub rps: f64,
    /// Requests `http_req_failed` counted as failed.
    pub failed: u64,
    /// `http_req_failed`'s rate in the interval (0..1), if any request ended.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// Iterations that ended in the interval.
    pub iterations: u64,
    /// `http_req_duration` of the interval's requests, if any.
    #[serde(default)]
    pub latency: Option<PointLatency>,
    /// `data_sent` per second, in bytes.
    pub sent_bps: f64,
    /// `data_received` per second, in bytes.
    pub received_bps: f64,
    /// Check evaluations that passed in the interval.
    pub checks_passed: u64,
    /// Check evaluations that failed in the interval.
    pub checks_failed: u64,
}

/// A run's lifecycle, as the platform's `runs.status` spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted, not started.
    Queued,
    /// Initializing VUs, running `setup()`.
    #[default]
    Starting,
    /// Scenarios running.
    Running,
    /// Stopped or ended; teardown and summary running.
    Finishing,
    /// Ended with every threshold passing.
    Passed,
    /// Ended with a threshold failing.
    Failed,
    /// Stopped by the user or a signal.
    Aborted,
    /// Ended by an error (script exception, bad configuration).
    Errored,
}

impl RunStatus {
    /// Whether the run is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Passed | RunStatus::Failed | RunStatus::Aborted | RunStatus::Errored
        )
    }
}

/// One scenario's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioState {
    /// Scenario name.
    pub name: String,
    /// Executor name.
    pub executor: String,
    /// Between 0 and 1.
    pub fraction: f64,
    /// Seconds since it started.
    pub elapsed_s: f64,
    /// How long iterations start, if bounded.
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// VUs running now.
    pub active_vus: u64,
    /// The scenario's VU ceiling.
    pub max_vus: u64,
    /// Iterations completed.
    pub completed: u64,
    /// Iterations interrupted.
    pub interrupted: u64,
    /// Whether it is over.
    pub finished: bool,
}

/// Everything the run view shows besides the charts: cumulative over the
/// whole run up to `last_seq`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The run's id (`local` for `stampede run --web-dashboard`).
    pub id: String,
    /// Lifecycle.
    pub status: RunStatus,
    /// The script, as given on the command line.
    #[serde(default)]
    pub script: Option<String>,
    /// When the test started (RFC 3339, UTC), once it has.
    #[serde(default)]
    pub started_at: Option<String>,
    /// Seconds since the start of the test.
    pub elapsed_s: f64,
    /// The nominal interval length in milliseconds.
    pub interval_ms: u64,
    /// The last interval these figures include.
    #[serde(default)]
    pub last_seq: Option<u64>,
    /// The process exit code (k6's), once the run is over.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Why the run ended early or failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Whether `POST /api/v1/runs/{id}/stop` is allowed now.
    pub can_stop: bool,
    /// Per-scenario progress.
    pub scenarios: Vec<ScenarioState>,
    /// Whole-run figures.
    pub totals: Totals,
    /// Every threshold with its latest outcome, in configuration order.
    pub thresholds: Vec<ThresholdResult>,
    /// Every check.
    pub checks: Vec<CheckResult>,
    /// `http_req_duration` per endpoint, sorted by name.
    pub endpoints: Vec<Endpoint>,
}

/// A message on the live channel (`/api/v1/ws`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LiveMessage {
    /// An interval closed: its point and the run's state after it.
    Interval {
        /// The run.
        run_id: String,
        /// The new point.
        point: IntervalPoint,
        /// The state including that point.
        run: RunState,
    },
    /// The run's state changed without a new interval (status, end).
    Run {
        /// The run.
        run_id: String,
        /// The new state.
        run: RunState,
    },
}

/// `GET /api/v1/runs/{id}/metrics?after=SEQ`: the points after `SEQ` (all
/// without it), oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsPage {
    /// The run.
    pub run_id: String,
    /// The nominal interval length in milliseconds.
    pub interval_ms: u64,
    /// The points.
    pub points: Vec<IntervalPoint>,
}

impl MetricsPage {
    /// The page of a run's `points` (numbered by `seq` from 0) after
    /// `after`, every point without it.
    pub fn after(
        run_id: &str,
        interval_ms: u64,
        points: &[IntervalPoint],
        after: Option<u64>,
    ) -> Self {
        let from = after.map_or(0, |s| {
            (s.saturating_add(1)).min(points.len() as u64) as usize
        });
        MetricsPage {
            run_id: run_id.to_owned(),
            interval_ms,
            points: points[from..].to_vec(),
        }
    }
}

/// Statistics of an interval's trend, as [`PointLatency`].
pub(crate) fn point_latency(l: &Latency) -> PointLatency {
    PointLatency {
        p50: l.med,
        p90: l.p90,
        p95: l.p95,
        p99: l.p99,
        avg: l.avg,
        max: l.max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    /// The JSON block after `<!-- contract: NAME -->` in web/README.md.
    fn example(name: &str) -> Value {
        let readme = include_str!("../README.md");
        let marker = format!("<!-- contract: {name} -->");
        let rest = &readme[readme.find(&marker).expect("marker") + marker.len()..];
        let start = rest.find("```json").expect("json block") + "```json".len();
        let end = start + rest[start..].find("```").expect("block end");
        serde_json::from_str(&rest[start..end]).expect("valid JSON")
    }

    /// The example parses as the type and says the same when written back:
    /// no field is missing, unknown or of another shape.
    fn round_trip<T: DeserializeOwned + Serialize>(name: &str) {
        let v = example(name);
        let typed: T = serde_json::from_value(v.clone()).expect(name);
        assert_eq!(serde_json::to_value(&typed).unwrap(), v, "{name}");
    }

    #[test]
    fn readme_examples_match_the_types() {
        round_trip::<IntervalPoint>("IntervalPoint");
        round_trip::<RunState>("RunState");
        round_trip::<LiveMessage>("LiveMessage");
        round_trip::<MetricsPage>("MetricsPage");
    }

    #[test]
    fn messages_are_tagged_by_type() {
        let msg = LiveMessage::Interval {
            run_id: "r".into(),
            point: IntervalPoint::default(),
            run: RunState::default(),
        };
        let v = serde_json::to_value(&msg).unwrap();
        assert_eq!(v["type"], "interval");
        assert_eq!(v["run"]["status"], "starting");
        assert!(RunStatus::Aborted.is_final() && !RunStatus::Finishing.is_final());
    }
}
