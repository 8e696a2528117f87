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
    /// A k6 archive (the tar `stampede archive` writes) to run instead of
    /// `files`: its modules and files, binary ones included, are read from
    /// it only. Base64 in JSON.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_bytes"
    )]
    pub archive: Option<Vec<u8>>,
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
    /// Initialize the VUs, report [`SegmentEvent::Ready`] and wait for
    /// [`Control::Start`] before `setup()` and the scenarios, so that every
    /// segment of a run starts together. Such a segment evaluates no
    /// thresholds: its controller judges the merged run.
    #[serde(default)]
    pub start_gate: bool,
    /// Run `handleSummary` over the data the controller sends in
    /// [`Control::Summary`] (the whole run's merged metrics) instead of this
    /// segment's own; announced by [`SegmentEvent::SummaryWanted`].
    #[serde(default)]
    pub summary_gate: bool,
    /// This segment's share of a run split over several (k6's distributed
    /// semantics: `setup()`, `teardown()` and `handleSummary()` once);
    /// none: it runs them all, as `k6 run` does.
    #[serde(default)]
    pub share: Option<Share>,
    /// Resume a lost worker's segment mid-run (set by the worker that
    /// takes it over).
    #[serde(default)]
    pub resume: Option<Resume>,
    /// The run's chaos agent (`CHAOS_AGENT`) is reached through the Redis
    /// relay (`relay.rs`): a `stampede worker` gives the script a loopback
    /// relay of its own instead. Only sent when set, so jobs without it
    /// stay readable by older workers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chaos_relay: bool,
}

/// A segment's share of a split run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Share {
    /// The lead segment runs `setup()` before it is ready and reports its
    /// data ([`SegmentEvent::Setup`]), which the others get in
    /// [`Control::Start`]; it also runs `teardown()` and `handleSummary()`.
    /// The others run none of the three.
    pub lead: bool,
}

/// Where a resumed segment takes over.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// The run's common start instant (Unix milliseconds).
    pub start_unix_ms: u64,
    /// The first interval (second of the run) the lost worker did not
    /// report.
    pub next_interval: u64,
    /// Iterations the lost worker reported, by scenario: completed and
    /// dropped ones (an arrival-rate scenario skips that many of its
    /// scheduled iterations; an iteration-based one runs the rest).
    #[serde(default)]
    pub done_iterations: BTreeMap<String, u64>,
    /// What `setup()` returned (it does not run again).
    #[serde(default)]
    pub setup_data: Option<Value>,
}

/// One threshold of the plan, as the controller re-evaluates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdWire {
    /// The key, e.g. `http_req_duration{name:x}`.
    pub selector: String,
    /// The expression, e.g. `p(95)<500`.
    pub expr: String,
    /// Stop the test when it fails.
    #[serde(default)]
    pub abort_on_fail: bool,
    /// No abort before this much of the test ran, in milliseconds.
    #[serde(default)]
    pub delay_abort_eval_ms: Option<u64>,
}

/// What the controller needs of a plan to judge and summarize the merged
/// run as `stampede run` would.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SummarySettings {
    /// The thresholds (empty with `noThresholds`).
    #[serde(default)]
    pub thresholds: Vec<ThresholdWire>,
    /// `summaryTrendStats` (empty: k6's default).
    #[serde(default)]
    pub trend_stats: Vec<String>,
    /// `summaryTimeUnit`.
    #[serde(default)]
    pub time_unit: Option<String>,
    /// `summaryMode`: `compact`, `full` or `legacy`.
    #[serde(default)]
    pub mode: String,
    /// `noSummary`.
    #[serde(default)]
    pub no_summary: bool,
    /// The script exports `handleSummary`.
    #[serde(default)]
    pub handle_summary: bool,
    /// The script declares `stampede/chaos` phases (its summary gets the
    /// recovery time; see [`crate::runner::chaos_slo`]).
    #[serde(default)]
    pub chaos_phases: bool,
    /// Their SLO (the `recover` scenario's `STAMPEDE_CHAOS_SLO`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos_slo: Option<String>,
}

/// A literal URL of a script and the address it connects to (an IP
/// literal, or a name the `hosts` option maps): known before any request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticTarget {
    /// The URL as written (up to its host and port).
    pub url: String,
    /// The file that names it.
    pub file: String,
    /// The IP address it connects to.
    pub ip: std::net::IpAddr,
}

/// Serde for optional bytes as a base64 string.
mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&B64.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| B64.decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
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
    /// Each scenario's progress (empty from runners that predate it).
    #[serde(default)]
    pub scenarios: Vec<ScenarioProgress>,
}

/// One scenario's live progress, as the run view shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioProgress {
    /// Scenario name.
    pub name: String,
    /// Executor name (`externally-controlled` scenarios can be scaled).
    pub executor: String,
    /// Between 0 and 1.
    pub fraction: f64,
    /// Seconds since it started.
    pub elapsed_s: f64,
    /// How long iterations start, if bounded.
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
        /// How the controller judges and summarizes the run.
        #[serde(default)]
        settings: SummarySettings,
        /// Where the script's literal URLs lead, as far as that is known
        /// without DNS, for the controller's allow-list.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        targets: Vec<StaticTarget>,
    },
    /// The lead segment ran `setup()`; this is its data, for the others
    /// (before [`SegmentEvent::Ready`]).
    Setup {
        /// What `setup()` returned (none: `undefined` or no `setup()`).
        data: Option<Value>,
    },
    /// The VUs are initialized; the segment waits for [`Control::Start`]
    /// (only with [`SegmentJob::start_gate`]).
    Ready,
    /// The scenarios are running (a gated segment: it was started).
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
    /// The controller's transport saw the segment's worker lost and
    /// another resume it (sent again when more of it is known). Never
    /// written by a runner; the controller records it at once, so a
    /// leader taking the run over still has it.
    Fault {
        /// The loss.
        gap: Gap,
    },
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
        /// `summary_text` is what `handleSummary` wrote to stdout.
        #[serde(default)]
        handle_summary: bool,
        /// What `setup()` returned.
        #[serde(default)]
        setup_data: Option<Value>,
        /// From the start of the scenarios to the end, in seconds.
        #[serde(default)]
        duration_s: f64,
        /// Workers lost while running the segment, and what was missed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        faults: Vec<Gap>,
    },
    /// Every interval of the segment has been reported; it waits for
    /// [`Control::Summary`] (only with [`SegmentJob::summary_gate`]).
    SummaryWanted {
        /// From the start of the scenarios to the end, in seconds.
        duration_s: f64,
        /// What `setup()` returned.
        #[serde(default)]
        setup_data: Option<Value>,
    },
    /// The segment could not load or crashed.
    Failed {
        /// k6's exit code (104 invalid options, 107 script error, 255 other).
        exit_code: i32,
        /// The error text (with file:line:col for script errors).
        message: String,
    },
}

/// A stretch of a run one segment has no intervals for: its worker was
/// lost, and another resumed it (`to_s`) or none did (the run is
/// degraded).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The segment (`1/2:1`; none: the whole test).
    pub segment: Option<String>,
    /// The worker that was lost.
    pub worker: String,
    /// The first second of the run (interval index) the lost worker did
    /// not report.
    pub from_s: u64,
    /// The first interval the resuming worker reported; none: the segment
    /// was not run again.
    pub to_s: Option<u64>,
    /// The worker that resumed the segment.
    pub resumed_by: Option<String>,
}

impl Gap {
    /// No worker took the segment over: the run is degraded.
    pub fn degrades(&self) -> bool {
        self.resumed_by.is_none()
    }

    /// One line for the run's result.
    pub fn describe(&self) -> String {
        let seg = self.segment.as_deref().unwrap_or("0:1");
        match (&self.resumed_by, self.to_s) {
            (Some(by), Some(to)) => format!(
                "segment {seg}: worker {} was lost after {}s of the run; worker {by} resumed the segment at {to}s (no intervals {}..{to})",
                self.worker, self.from_s, self.from_s
            ),
            (Some(by), None) => format!(
                "segment {seg}: worker {} was lost after {}s of the run; worker {by} resumed the segment",
                self.worker, self.from_s
            ),
            (None, _) => format!(
                "degraded: segment {seg} ran on no worker from {}s of the run to its end (worker {} was lost and no worker with free capacity resumed it)",
                self.from_s, self.worker
            ),
        }
    }
}

/// What a controller tells a runner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    /// Stop gracefully, as k6's REST API stop (teardown and summary run).
    Stop,
    /// End at once; the segment reports nothing more.
    Abort,
    /// Start `setup()` and the scenarios at this instant (ms since the
    /// Unix epoch), after [`SegmentEvent::Ready`].
    Start {
        /// The common start instant.
        at_unix_ms: u64,
        /// The lead segment's `setup()` data, for a segment that does not
        /// run `setup()` itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        setup_data: Option<Value>,
    },
    /// `handleSummary`'s data argument, built from the merged run.
    Summary {
        /// The data.
        data: Value,
    },
    /// Sets the VUs of the externally-controlled scenario (k6's
    /// `PATCH /v1/status` `{"vus": N}`); ignored by other plans.
    Scale {
        /// The VUs wanted (at most the scenario's `maxVUs`).
        vus: u64,
    },
}

impl Control {
    /// One JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("controls always serialize")
    }

    /// Parses [`Control::to_line`]'s output (or a bare `stop`).
    pub fn from_line(line: &str) -> Result<Self, String> {
        match line.trim() {
            "stop" => Ok(Control::Stop),
            l => serde_json::from_str(l).map_err(|e| format!("malformed control: {e}")),
        }
    }
}

impl SegmentEvent {
    /// One JSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("events always serialize")
    }

    /// Parses [`SegmentEvent::to_line`]'s output.
    ///
    /// An `interval` line (the bulk of what a controller reads: one per
    /// worker per second, most of it the snapshot) is read straight into
    /// its fields; every other line, and an interval line that does not
    /// read that way, goes through the enum's derived (internally tagged)
    /// form, which first buffers the whole object — so both accept and
    /// reject the same lines, and errors read as they always did.
    pub fn from_line(line: &str) -> Result<Self, String> {
        if let Ok(IntervalLine {
            index, snapshot, ..
        }) = serde_json::from_str(line)
        {
            return Ok(SegmentEvent::Interval { index, snapshot });
        }
        serde_json::from_str(line).map_err(|e| format!("malformed segment event: {e}"))
    }
}

/// The fields of a [`SegmentEvent::Interval`] line in any order, the tag
/// included: a line with another tag fails at its first field (writers put
/// the tag first), before anything is allocated.
#[derive(Deserialize)]
struct IntervalLine {
    #[serde(rename = "event")]
    _event: IntervalTag,
    index: u64,
    snapshot: WireSnapshot,
}

/// The one tag [`IntervalLine`] accepts.
#[derive(Deserialize)]
enum IntervalTag {
    #[serde(rename = "interval")]
    Interval,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_line(job: &SegmentJob) -> String {
        serde_json::to_string(job).unwrap()
    }

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
                scenarios: vec![ScenarioProgress {
                    name: "ext".into(),
                    executor: "externally-controlled".into(),
                    max_vus: 5,
                    ..Default::default()
                }],
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

    /// An interval line as workers before the direct read wrote it
    /// (serde's derived internally tagged form, tag first).
    const OLD_INTERVAL: &str = concat!(
        r#"{"event":"interval","index":3,"snapshot":{"start_ns":3000000000,"end_ns":4000000000,"#,
        r#""metrics":[{"name":"http_reqs","type":"counter","contains":"default"},"#,
        r#"{"name":"http_req_duration","type":"trend","contains":"time"},"#,
        r#"{"name":"http_req_failed","type":"rate","contains":"default"},"#,
        r#"{"name":"vus","type":"gauge","contains":"default"}],"entries":["#,
        r#"{"metric":0,"tags":{"name":"home","status":"200"},"agg":{"type":"counter","sum":3.0,"samples":3}},"#,
        r#"{"metric":1,"tags":{"name":"home","status":"200"},"agg":{"type":"trend","count":3,"sum":173.0,"min":12.5,"max":80.25,"hist":"HISTFAAAACR4nJNpmSzMwMDAxgABzFCaEUL+/2//ASKw2YNpsjYLAHCGBj4="}},"#,
        r#"{"metric":2,"tags":{},"agg":{"type":"rate","passes":1,"total":3}},"#,
        r#"{"metric":3,"tags":{},"agg":{"type":"gauge","value":5.0,"time_ns":3500000000,"min":1.0,"max":5.0,"samples":4}}]}}"#
    );

    #[test]
    fn interval_lines_decode_as_the_derived_form_decodes_them() {
        let derived = |l: &str| serde_json::from_str::<SegmentEvent>(l).map_err(|e| e.to_string());
        let old = SegmentEvent::from_line(OLD_INTERVAL).unwrap();
        assert_eq!(Ok(old.clone()), derived(OLD_INTERVAL));
        let SegmentEvent::Interval { index, snapshot } = &old else {
            panic!("an interval: {old:?}");
        };
        assert_eq!((*index, snapshot.entries.len()), (3, 4));
        // Written again, the line is the same bytes.
        assert_eq!(old.to_line(), OLD_INTERVAL);
        let body = OLD_INTERVAL
            .strip_prefix(r#"{"event":"interval","#)
            .unwrap();
        let snap = &OLD_INTERVAL[OLD_INTERVAL.find(r#""snapshot""#).unwrap()..];
        let cases = [
            // The tag last, unknown fields, spaces: both read them alike.
            format!(r#"{{{},"event":"interval"}}"#, &body[..body.len() - 1]),
            format!(r#"{{"event":"interval","from":"w1",{body}"#),
            format!(r#"{{ "event" : "interval" , {body}"#),
            format!(r#"{{"index":3,"event":"interval",{snap}"#),
            // Bad: both refuse.
            format!(r#"{{"event":"interval","index":3,"index":4,{snap}"#),
            format!(r#"{{"event":"interval",{snap}"#),
            format!(r#"{{"event":"interval","index":-3,{snap}"#),
            format!(r#"{{"event":"started","index":3,{snap}"#),
            OLD_INTERVAL.replace(r#""count":3"#, r#""count":2"#),
            OLD_INTERVAL.replace(r#""type":"trend","count""#, r#""type":"rate","count""#),
        ];
        for line in &cases {
            let ours = SegmentEvent::from_line(line);
            match (&ours, derived(line)) {
                (Ok(a), Ok(b)) => assert_eq!(a, &b, "{line}"),
                (Err(a), Err(b)) => assert_eq!(a, &format!("malformed segment event: {b}")),
                (a, b) => panic!("{line}: ours {a:?}, derived {b:?}"),
            }
        }
        let read = cases.iter().filter(|l| SegmentEvent::from_line(l).is_ok());
        assert_eq!(
            read.count(),
            5,
            "the tag-last, extra-field, spaced, reordered and started lines"
        );
    }

    #[test]
    fn controls_round_trip_as_lines() {
        for c in [
            Control::Stop,
            Control::Abort,
            Control::Start {
                at_unix_ms: 17,
                setup_data: None,
            },
            Control::Start {
                at_unix_ms: 17,
                setup_data: Some(serde_json::json!({"token": "t"})),
            },
            Control::Scale { vus: 3 },
            Control::Summary {
                data: serde_json::json!({"metrics": {"a\nb": 1}}),
            },
        ] {
            let line = c.to_line();
            assert!(!line.contains('\n'));
            assert_eq!(Control::from_line(&line).unwrap(), c);
        }
        assert_eq!(Control::from_line("stop\n").unwrap(), Control::Stop);
        assert!(Control::from_line("go").is_err());
    }

    #[test]
    fn jobs_reject_unknown_fields() {
        let ok = r#"{"run_id":"r","entry":"s.js","files":{"s.js":"x"}}"#;
        let job: SegmentJob = serde_json::from_str(ok).unwrap();
        assert!(!job.validate_only);
        assert!(job.archive.is_none());
        assert!(!job_line(&job).contains("archive"), "absent, not null");
        let with = SegmentJob {
            archive: Some(vec![0, 159, 255, b'\n']),
            ..job
        };
        let back: SegmentJob = serde_json::from_str(&job_line(&with)).unwrap();
        assert_eq!(back.archive, with.archive, "binary bytes survive");
        assert!(job_line(&with).contains(r#""archive":"AJ//Cg==""#));
        let bad = r#"{"run_id":"r","entry":"s.js","files":{},"oops":1}"#;
        assert!(serde_json::from_str::<SegmentJob>(bad).is_err());
    }
}
