//! The worker protocol's messages: what a segment runner is given
//! ([`SegmentJob`]), what it reports ([`SegmentEvent`]) and how it is told
//! to stop ([`Control`]).
//!
//! They are plain serde types so that every transport carries the same
//! bytes: the in-process transport writes them as JSON lines on a child's
//! stdin/stdout, the Redis transport of issue 15 as stream entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stampede_metrics::WireSnapshot;

/// One segment of a run, as handed to a runner.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentJob {
    /// The run this segment belongs to.
    pub run_id: String,
    /// The entry script's file name inside `files` (e.g. `script.js`).
    pub entry: String,
    /// The script and the files it imports or opens, by relative path.
    pub files: BTreeMap<String, String>,
    /// Stored default options (k6 JSON options): the lower layer, like a
    /// `--config` file.
    #[serde(default)]
    pub defaults: Value,
    /// Options of the start request (k6 JSON options): the top layer, like
    /// command-line flags.
    #[serde(default)]
    pub overrides: Value,
    /// `__ENV` of the script (`-e` pairs); the runner's own environment is
    /// never passed to the script.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `executionSegment`, e.g. `0:1/2`; none for the whole test.
    #[serde(default)]
    pub segment: Option<String>,
    /// `executionSegmentSequence`, e.g. `0,1/2,1`.
    #[serde(default)]
    pub sequence: Option<String>,
    /// Only load the script and resolve the options, then report
    /// [`SegmentEvent::Loaded`] or [`SegmentEvent::Failed`] and end.
    #[serde(default)]
    pub validate_only: bool,
}

/// Live totals of a segment, sent about once per second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Time since the scenarios started, in seconds.
    pub elapsed_s: f64,
    /// VUs running iterations now.
    pub active_vus: u64,
    /// VUs initialized.
    pub max_vus: u64,
    /// Completed iterations.
    pub completed: u64,
    /// Interrupted iterations.
    pub interrupted: u64,
}

/// What a runner reports, in order: `Loaded` (or `Failed`), then
/// `Started`, `Interval`s and `Progress`es, then `Finished` (or `Failed`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SegmentEvent {
    /// The script loaded and the options resolved.
    Loaded {
        /// The longest the plan can run, in seconds (0 when unbounded).
        max_duration_s: f64,
        /// The most VUs the plan uses.
        max_vus: u64,
        /// The scenarios header `stampede run` prints.
        header: String,
    },
    /// The scenarios are running.
    Started,
    /// One closed metrics interval; idempotent by `(segment, index)`.
    Interval {
        /// The interval's index since the start (0, 1, ...).
        index: u64,
        /// The interval's merged metrics.
        snapshot: WireSnapshot,
    },
    /// Live totals.
    Progress(Progress),
    /// The run ended (the segment's part of it).
    Finished {
        /// k6's exit code.
        exit_code: i32,
        /// Why it failed or stopped early, if it did.
        error: Option<String>,
        /// The end-of-test summary text `stampede run` prints (or what
        /// `handleSummary` wrote to stdout).
        summary_text: String,
        /// The `--summary-export` document.
        summary: Value,
    },
    /// The segment could not load or crashed.
    Failed {
        /// k6's exit code (104 invalid options, 107 script error, 255 other).
        exit_code: i32,
        /// The error text (with file:line:col for script errors).
        message: String,
    },
}

/// What a controller tells a runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Stop gracefully, as k6's REST API stop (teardown and summary run).
    Stop,
    /// End at once; the segment reports nothing more.
    Abort,
}

impl SegmentEvent {
    /// One JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("events always serialize")
    }

    /// Parses [`SegmentEvent::to_line`]'s output.
    pub fn from_line(line: &str) -> Result<Self, String> {
        serde_json::from_str(line).map_err(|e| format!("malformed segment event: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_lines() {
        let events = vec![
            SegmentEvent::Started,
            SegmentEvent::Progress(Progress {
                elapsed_s: 1.5,
                active_vus: 2,
                max_vus: 2,
                completed: 10,
                interrupted: 0,
            }),
            SegmentEvent::Failed {
                exit_code: 107,
                message: "SyntaxError at script.js:1:5".into(),
            },
        ];
        for e in events {
            let line = e.to_line();
            assert!(!line.contains('\n'));
            assert_eq!(SegmentEvent::from_line(&line).unwrap(), e);
        }
        assert!(SegmentEvent::from_line("{\"event\":\"nope\"}").is_err());
    }

    #[test]
    fn jobs_reject_unknown_fields() {
        let ok = r#"{"run_id":"r","entry":"s.js","files":{"s.js":"x"}}"#;
        let job: SegmentJob = serde_json::from_str(ok).unwrap();
        assert!(!job.validate_only);
        let bad = r#"{"run_id":"r","entry":"s.js","files":{},"oops":1}"#;
        assert!(serde_json::from_str::<SegmentJob>(bad).is_err());
    }
}
