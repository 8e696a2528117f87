//! The segment runner: the worker side of the protocol. It unpacks a
//! [`SegmentJob`]'s files into a private directory (or reads its k6
//! archive from memory), loads the script with
//! the job's options through the engine's own resolver, runs it, and
//! reports [`SegmentEvent`]s: one wire snapshot per closed interval, live
//! totals every second, and the final exit code and summary.
//!
//! It runs in whatever process hosts it — a child `stampede` process for
//! the in-process transport, a `stampede worker` for Redis — so that a
//! script that crashes, loops or exhausts memory takes down that process
//! only. The summary rendering is the CLI's (the same text `stampede run`
//! prints), passed in as a [`Summarizer`].

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use stampede_config::segment::{ExecutionSegment, ExecutionSegmentSequence};
use stampede_config::{render_errors, Options};
use stampede_engine::{
    Loaded, Part, ResumeAt, RunConfig, RunReport, SharedSetup, StopReason, SummaryDataFn,
};
use stampede_js::log::Logger;
use stampede_js::Archive;
use stampede_scenario::Scenario;
use tokio::sync::{mpsc, oneshot};

use crate::protocol::{
    Control, Progress, ScenarioProgress, SegmentEvent, SegmentJob, SummarySettings, ThresholdWire,
};
use crate::targets::static_targets;

/// Renders the end of a run as `stampede run` would.
pub trait Summarizer: Send {
    /// Builds `handleSummary`'s data argument inside the engine.
    fn data_fn(&self) -> SummaryDataFn;
    /// The summary text (or `handleSummary`'s stdout) and the
    /// `--summary-export` document.
    fn render(&self, report: &RunReport) -> (String, Value);
}

/// Makes the [`Summarizer`] for a loaded plan.
pub type SummarizerFactory = Box<dyn FnOnce(&Loaded) -> Box<dyn Summarizer> + Send>;

/// What the host process provides to a runner.
pub struct RunnerHooks {
    /// The k6-summary jslib's `textSummary`.
    pub text_summary: Option<stampede_js::TextSummaryFn>,
    /// Makes the summarizer for a loaded plan.
    pub summarizer: SummarizerFactory,
    /// Where the script's logs go.
    pub logger: Arc<Logger>,
}

/// Writes `files` under `dir`, refusing absolute paths and `..`; returns
/// the entry script's path.
pub fn unpack(
    dir: &Path,
    entry: &str,
    files: &BTreeMap<String, String>,
) -> Result<PathBuf, String> {
    for (name, text) in files {
        let rel = safe_relative(name)?;
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if !files.contains_key(entry) {
        return Err(format!("the entry script {entry:?} is not among the files"));
    }
    Ok(dir.join(safe_relative(entry)?))
}

/// `name` as a relative path without `..`, root or prefix components.
fn safe_relative(name: &str) -> Result<PathBuf, String> {
    let p = Path::new(name);
    let ok = !name.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if ok {
        Ok(p.to_path_buf())
    } else {
        Err(format!("invalid file name {name:?} in the archive"))
    }
}

/// The job's options as the engine's layers: stored defaults as the
/// config-file layer, the start request (with `-e` pairs and the segment)
/// as the command-line layer.
pub fn option_layers(job: &SegmentJob) -> Result<(Options, Options), String> {
    let defaults = Options::from_config_json(&job.defaults).map_err(|e| render_errors(&e))?;
    let mut top = Options::from_json(&job.overrides).map_err(|e| render_errors(&e))?;
    if !job.env.is_empty() {
        let mut env = top.env.take().unwrap_or_default();
        env.extend(job.env.clone());
        top.env = Some(env);
    }
    if let Some(s) = &job.segment {
        top.execution_segment =
            Some(ExecutionSegment::parse(s).map_err(|e| format!("invalid segment {s:?}: {e}"))?);
    }
    if let Some(s) = &job.sequence {
        top.execution_segment_sequence = Some(
            ExecutionSegmentSequence::parse(s)
                .map_err(|e| format!("invalid segment sequence {s:?}: {e}"))?,
        );
    }
    Ok((defaults, top))
}

/// Loads the job's script; `Err` is the exit code and message of the
/// [`SegmentEvent::Failed`] to report.
fn load(
    job: &SegmentJob,
    dir: &Path,
    hooks: &RunnerHooks,
    snapshots: Option<mpsc::UnboundedSender<stampede_metrics::Snapshot>>,
    part: Option<Part>,
) -> Result<Loaded, (i32, String)> {
    let failed = |exit_code: i32, message: String| (exit_code, message);
    let mut script = None;
    let mut cfg = match &job.archive {
        // An archive runs from memory: nothing is written to the disk.
        Some(bytes) => {
            let archive = Archive::from_tar(bytes).map_err(|e| failed(107, e.to_string()))?;
            RunConfig::for_archive(Arc::new(archive))
        }
        None => {
            let path = unpack(dir, &job.entry, &job.files).map_err(|m| failed(107, m))?;
            script = Some(path.clone());
            RunConfig::for_script(path)
        }
    };
    let (defaults, mut top) = option_layers(job).map_err(|m| failed(104, m))?;
    if job.resume.is_some() && !job.validate_only {
        // A resumed segment starts at once, where the run is now.
        top.no_thresholds = Some(true);
    } else if job.start_gate && !job.validate_only {
        // Initialize the VUs, then wait for the common start; the
        // controller judges the thresholds on the merged data.
        top.paused = Some(true);
        top.no_thresholds = Some(true);
    }
    cfg.config_file = defaults;
    cfg.cli_options = top;
    // The host's environment is not the script's business.
    cfg.system_env = BTreeMap::new();
    cfg.logger = hooks.logger.clone();
    cfg.text_summary = hooks.text_summary.clone();
    cfg.snapshots = snapshots;
    cfg.part = part;
    let loaded = match (
        cfg.archive.as_deref().and_then(Scenario::from_archive),
        script,
    ) {
        // An archive of a declarative scenario (`stampede archive x.yaml`)
        // runs natively, its feeder files read from the archive.
        (Some(Ok(s)), _) => Loaded::load_native(cfg, s.program()),
        (Some(Err(errors)), _) => return Err(failed(107, diagnostic_lines(&errors))),
        // A declarative scenario sent as files runs natively, as under
        // `stampede run`.
        (None, Some(script)) if stampede_scenario::is_scenario_path(&script) => {
            let scenario = load_declarative(dir, &job.files, &script)
                .map_err(|d| failed(104, diagnostic_lines(&d)))?;
            Loaded::load_native(cfg, scenario.program())
        }
        _ => Loaded::load(cfg),
    };
    loaded.map_err(|e| failed(e.exit_code().code(), e.to_string()))
}

/// Loads the declarative scenario at `entry` (unpacked under `dir` with
/// `files`): every file it reads must be one of the job's files, so that
/// it reads nothing of the host's. Errors are at `file:line:col`.
pub fn load_declarative(
    dir: &Path,
    files: &BTreeMap<String, String>,
    entry: &Path,
) -> Result<stampede_scenario::Scenario, Vec<stampede_scenario::Diagnostic>> {
    let at_top = |message: String| {
        vec![stampede_scenario::Diagnostic {
            file: entry.display().to_string(),
            line: 1,
            col: 1,
            message,
        }]
    };
    let src = std::fs::read_to_string(entry).map_err(|e| at_top(format!("cannot read it: {e}")))?;
    let parsed = stampede_scenario::parse_file(&src, entry)?;
    let missing: Vec<String> = parsed
        .data_files()
        .into_iter()
        .filter(|f| !job_has_file(dir, files, entry, f))
        .collect();
    if !missing.is_empty() {
        return Err(at_top(format!(
            "the scenario reads {} which {} not among the files sent with it",
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
        )));
    }
    stampede_scenario::Scenario::parse(&src, entry)
}

/// Diagnostics as lines.
fn diagnostic_lines(d: &[stampede_scenario::Diagnostic]) -> String {
    d.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `name`, relative to `entry`'s directory, is one of `files`
/// (unpacked under `dir`).
fn job_has_file(dir: &Path, files: &BTreeMap<String, String>, entry: &Path, name: &str) -> bool {
    let base = entry.parent().unwrap_or(dir);
    let Ok(rel) = base.join(name).strip_prefix(dir).map(Path::to_path_buf) else {
        return false;
    };
    let Ok(rel) = safe_relative(&rel.to_string_lossy()) else {
        return false;
    };
    let normal = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter(|c| *c != Component::CurDir)
            .map(|c| c.as_os_str().to_os_string())
            .collect()
    };
    let want = normal(&rel);
    files.keys().any(|k| normal(Path::new(k)) == want)
}

/// Runs `job` to its end, reporting through `emit`; `controls` stop or
/// abort it. Returns the exit code (k6's).
pub async fn run_segment(
    job: SegmentJob,
    hooks: RunnerHooks,
    mut controls: mpsc::UnboundedReceiver<Control>,
    mut emit: impl FnMut(&SegmentEvent),
) -> i32 {
    let dir = match tempfile::Builder::new()
        .prefix("stampede-segment-")
        .tempdir()
    {
        Ok(d) => d,
        Err(e) => {
            emit(&SegmentEvent::Failed {
                exit_code: 255,
                message: format!("cannot create a working directory: {e}"),
            });
            return 255;
        }
    };
    let (snap_tx, mut snap_rx) = mpsc::unbounded_channel();
    let sender = (!job.validate_only).then_some(snap_tx);
    // Errors name files as the user wrote them (`script.js:3:5`), not by
    // this runner's working directory.
    let dir_prefix = format!("{}/", dir.path().display());
    let scrub = |message: String| message.replace(&dir_prefix, "");
    let (setup_tx, mut setup_rx) = mpsc::unbounded_channel::<Option<Value>>();
    let (part, mut start_setup) = match job.validate_only {
        true => (None, None),
        false => part_of(&job, setup_tx),
    };
    let loaded = match load(&job, dir.path(), &hooks, sender, part) {
        Ok(l) => l,
        Err((exit_code, message)) => {
            let message = scrub(message);
            emit(&SegmentEvent::Failed { exit_code, message });
            return exit_code;
        }
    };
    emit(&SegmentEvent::Loaded {
        max_duration_s: loaded.plan.max_duration().as_secs_f64(),
        max_vus: loaded.plan.max_vus(),
        header: loaded.plan.scenarios_header(),
        settings: settings(&loaded),
        targets: static_targets(&loaded.archive(), &loaded.plan.http.hosts),
    });
    if job.validate_only {
        return 0;
    }
    let registry = loaded.registry();
    let summarizer = (hooks.summarizer)(&loaded);
    let (wanted_tx, mut wanted_rx) = mpsc::unbounded_channel::<(Duration, Option<Value>)>();
    let (data_tx, data_rx) = std::sync::mpsc::channel::<Value>();
    let data_fn = if job.summary_gate {
        gated_data_fn(summarizer.data_fn(), wanted_tx, data_rx)
    } else {
        summarizer.data_fn()
    };
    let running = match loaded.start(Vec::new(), data_fn) {
        Ok(r) => r,
        Err(e) => {
            let code = e.exit_code().code();
            emit(&SegmentEvent::Failed {
                exit_code: code,
                message: scrub(e.to_string()),
            });
            return code;
        }
    };
    if !job.start_gate {
        emit(&SegmentEvent::Started);
    }
    let monitor = running.monitor();
    let stopper = running.stopper();
    let resume: stampede_engine::RunControl = (*running).clone();
    let finished = running.finish();
    tokio::pin!(finished);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut next_index = 0u64;
    // Intervals are numbered by the second of the test they close, so that
    // segments started together agree on them even when one skips an
    // empty interval.
    let mut number = |elapsed: Duration| {
        let index = next_index.max(elapsed.as_secs().saturating_sub(1));
        next_index = index + 1;
        index
    };
    let mut gate = (job.start_gate && job.resume.is_none()).then_some(Gate::Loading);
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    let report = loop {
        tokio::select! {
            r = &mut finished => break r,
            Some(snap) = snap_rx.recv() => {
                let index = number(monitor.stats().elapsed());
                emit(&SegmentEvent::Interval { index, snapshot: snap.to_wire(&registry) });
            }
            Some((duration, setup_data)) = wanted_rx.recv() => {
                // The last intervals were published before handleSummary.
                while let Ok(snap) = snap_rx.try_recv() {
                    let index = number(monitor.stats().elapsed());
                    emit(&SegmentEvent::Interval { index, snapshot: snap.to_wire(&registry) });
                }
                emit(&SegmentEvent::SummaryWanted {
                    duration_s: duration.as_secs_f64(),
                    setup_data,
                });
            }
            Some(data) = setup_rx.recv() => emit(&SegmentEvent::Setup { data }),
            _ = poll.tick(), if gate == Some(Gate::Loading) => {
                if monitor.stats().status() == stampede_engine::stats::status::PAUSED_BEFORE_RUN {
                    // The lead's setup() data goes first.
                    while let Ok(data) = setup_rx.try_recv() {
                        emit(&SegmentEvent::Setup { data });
                    }
                    gate = Some(Gate::Ready);
                    emit(&SegmentEvent::Ready);
                }
            }
            c = controls.recv() => match c {
                // A paused (gated) run ends cleanly on a stop too.
                Some(Control::Stop) => stopper.stop(StopReason::Api),
                Some(Control::Start { at_unix_ms, setup_data }) => {
                    if gate.take().is_some() {
                        if let Some(tx) = start_setup.take() {
                            let _ = tx.send(setup_data.map(|d| d.to_string()));
                        }
                        tokio::time::sleep(until_unix_ms(at_unix_ms)).await;
                        resume.resume();
                        emit(&SegmentEvent::Started);
                    }
                }
                Some(Control::Summary { data }) => {
                    let _ = data_tx.send(data);
                }
                // The controller checked the plan has such a scenario; a
                // refusal (above maxVUs) changes nothing.
                Some(Control::Scale { vus }) => {
                    if let Err(e) = resume.scale(vus, None) {
                        tracing::warn!("cannot scale to {vus} VUs: {e}");
                    }
                }
                // The caller ends the process; nothing more is reported.
                Some(Control::Abort) | None => return 105,
            },
            _ = ticker.tick() => {
                let s = monitor.stats();
                emit(&SegmentEvent::Progress(Progress {
                    elapsed_s: s.elapsed().as_secs_f64(),
                    active_vus: s.active_vus(),
                    max_vus: s.initialized_vus(),
                    completed: s.completed(),
                    interrupted: s.interrupted(),
                    scenarios: scenarios(&monitor),
                }));
            }
        }
    };
    // Intervals the collector closed at the very end.
    while let Ok(snap) = snap_rx.try_recv() {
        let index = number(monitor.stats().elapsed());
        emit(&SegmentEvent::Interval {
            index,
            snapshot: snap.to_wire(&registry),
        });
    }
    let s = monitor.stats();
    emit(&SegmentEvent::Progress(Progress {
        elapsed_s: s.elapsed().as_secs_f64(),
        active_vus: 0,
        max_vus: s.initialized_vus(),
        completed: s.completed(),
        interrupted: s.interrupted(),
        scenarios: scenarios(&monitor),
    }));
    let (summary_text, summary) = summarizer.render(&report);
    let exit_code = report.exit_code.code();
    emit(&SegmentEvent::Finished {
        exit_code,
        error: report.error.clone(),
        summary_text,
        summary,
        handle_summary: report.handle_summary.is_some(),
        setup_data: report.setup_data.clone(),
        duration_s: report.duration.as_secs_f64(),
        faults: Vec::new(),
    });
    exit_code
}

/// The engine's [`Part`] for a segment of a split or resumed run, and the
/// sender of the `setup()` data the segment waits for at its start (the
/// lead's, sent with [`Control::Start`]). `None`: the segment is the whole
/// test, as `k6 run`.
fn part_of(
    job: &SegmentJob,
    setup_report: mpsc::UnboundedSender<Option<Value>>,
) -> (Option<Part>, Option<oneshot::Sender<Option<String>>>) {
    let lead = job.share.as_ref().is_none_or(|s| s.lead);
    if let Some(r) = &job.resume {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(r.setup_data.as_ref().map(Value::to_string));
        let part = Part {
            setup: SharedSetup::Receive(rx),
            teardown: lead,
            handle_summary: lead,
            resume: Some(ResumeAt {
                test_start: std::time::UNIX_EPOCH + Duration::from_millis(r.start_unix_ms),
                done_iterations: r.done_iterations.clone(),
            }),
        };
        return (Some(part), None);
    }
    if job.share.is_none() {
        return (None, None);
    }
    if lead {
        let report = Box::new(move |data| {
            let _ = setup_report.send(data);
        });
        let part = Part {
            setup: SharedSetup::Run(report),
            teardown: true,
            handle_summary: true,
            resume: None,
        };
        return (Some(part), None);
    }
    let (tx, rx) = oneshot::channel();
    let part = Part {
        setup: SharedSetup::Receive(rx),
        teardown: false,
        handle_summary: false,
        resume: None,
    };
    (Some(part), Some(tx))
}

/// Where a gated segment is before its start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Initializing VUs.
    Loading,
    /// Reported `Ready`; waits for `Start`.
    Ready,
}

/// How long until `at_unix_ms` (zero when it has passed).
fn until_unix_ms(at_unix_ms: u64) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_millis(at_unix_ms).saturating_sub(now)
}

/// How long a gated segment waits for the controller's summary data before
/// it summarizes its own (k6's limit on handleSummary is 2 minutes too).
const SUMMARY_WAIT: Duration = Duration::from_secs(120);

/// A [`SummaryDataFn`] that announces the end of the segment's data and
/// waits for the merged run's data from the controller; on silence it
/// falls back to `own` (this segment's data).
fn gated_data_fn(
    own: SummaryDataFn,
    wanted: mpsc::UnboundedSender<(Duration, Option<Value>)>,
    data: std::sync::mpsc::Receiver<Value>,
) -> SummaryDataFn {
    Box::new(move |parts| {
        let _ = wanted.send((parts.duration, parts.setup_data.cloned()));
        let wait = move || data.recv_timeout(SUMMARY_WAIT).ok();
        // The engine calls this inside a task: let the runtime move its
        // other work away while this thread waits.
        let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
        let merged = match flavor {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        };
        merged.unwrap_or_else(|| own(parts))
    })
}

/// Each started scenario's progress, for the run view.
fn scenarios(monitor: &stampede_engine::Monitor) -> Vec<ScenarioProgress> {
    monitor
        .progress()
        .into_iter()
        .map(|v| ScenarioProgress {
            name: v.name,
            executor: v.executor,
            fraction: v.fraction,
            elapsed_s: v.elapsed.as_secs_f64(),
            duration_s: v.duration.map(|d| d.as_secs_f64()),
            active_vus: v.active_vus,
            max_vus: v.max_vus,
            completed: v.completed,
            interrupted: v.interrupted,
            finished: v.finished,
        })
        .collect()
}

/// What the controller needs of the plan to judge the merged run.
pub fn settings(loaded: &Loaded) -> SummarySettings {
    let plan = &loaded.plan;
    let thresholds = if plan.summary.no_thresholds {
        Vec::new()
    } else {
        plan.thresholds
            .iter()
            .map(|t| ThresholdWire {
                selector: t.selector.clone(),
                expr: t.expr.clone(),
                abort_on_fail: t.abort_on_fail,
                delay_abort_eval_ms: t.delay_abort_eval.map(|d| d.as_millis() as u64),
            })
            .collect()
    };
    let chaos = chaos_slo(plan);
    SummarySettings {
        chaos_phases: chaos.is_some(),
        chaos_slo: chaos.flatten(),
        thresholds,
        trend_stats: plan.summary.trend_stats.clone(),
        time_unit: plan.summary.time_unit.map(|u| u.name().to_string()),
        mode: format!("{:?}", plan.summary.mode).to_lowercase(),
        no_summary: plan.summary.no_summary,
        handle_summary: loaded.exports.iter().any(|e| e == "handleSummary"),
    }
}

/// `Some` when the plan declares seed 000's chaos phases with
/// `stampede/chaos` (scenarios `inject` and `recover`, each tagged `phase`
/// with its name), with the `recover` scenario's `STAMPEDE_CHAOS_SLO` if it
/// has one: such a run's summary gets its recovery time
/// (`stampede_pipeline::chaos_summary`, in `stampede run` and the server).
pub fn chaos_slo(plan: &stampede_config::plan::Plan) -> Option<Option<String>> {
    let phase = |name: &str| {
        plan.scenarios
            .iter()
            .find(|s| s.name == name && s.tags.get("phase").map(String::as_str) == Some(name))
    };
    phase("inject")?;
    Some(phase("recover")?.env.get("STAMPEDE_CHAOS_SLO").cloned())
}

/// The `Failed` event for a job line that does not parse.
pub fn bad_job(e: &serde_json::Error) -> SegmentEvent {
    SegmentEvent::Failed {
        exit_code: 255,
        message: format!("invalid segment job: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unpack_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../x.js", "/etc/passwd", "a/../../b.js", ""] {
            let files = BTreeMap::from([(bad.to_string(), "x".to_string())]);
            assert!(unpack(dir.path(), bad, &files).is_err(), "{bad}");
        }
        let files = BTreeMap::from([
            (
                "script.js".to_string(),
                "export default function () {}".to_string(),
            ),
            ("lib/util.js".to_string(), "export const a = 1".to_string()),
        ]);
        let p = unpack(dir.path(), "script.js", &files).unwrap();
        assert!(p.ends_with("script.js"));
        assert!(dir.path().join("lib/util.js").exists());
        assert!(unpack(dir.path(), "missing.js", &files).is_err());
    }

    #[test]
    fn a_declarative_scenario_reads_only_the_files_sent_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = |feeder: &str| {
            format!(
                "load: {{ executor: shared-iterations, vus: 1, iterations: 1 }}\n\
                 feeders: {{ u: {{ csv: {feeder} }} }}\n\
                 requests:\n  - {{ name: r, GET: \"http://127.0.0.1:9/{{{{u.a}}}}\" }}\n"
            )
        };
        let outside = dir.path().join("outside.csv");
        std::fs::write(&outside, "a\n1\n").unwrap();
        let sub = dir.path().join("job");
        for (feeder, ok) in [
            ("u.csv", true),
            ("./u.csv", true),
            ("../outside.csv", false),
            (outside.to_str().unwrap(), false),
            ("other.csv", false),
        ] {
            let files = BTreeMap::from([
                ("s.yaml".to_string(), yaml(feeder)),
                ("u.csv".to_string(), "a\n1\n".to_string()),
            ]);
            let entry = unpack(&sub, "s.yaml", &files).unwrap();
            let got = load_declarative(&sub, &files, &entry).map_err(|d| diagnostic_lines(&d));
            assert_eq!(got.is_ok(), ok, "{feeder}: {:?}", got.err());
            if !ok {
                let e = got.err().unwrap();
                assert!(e.contains("not among the files"), "{e}");
            }
        }
        // Its own errors keep their place.
        let files = BTreeMap::from([(
            "s.yaml".to_string(),
            "load: {}\nrequests: []\nbogus: 1\n".to_string(),
        )]);
        let entry = unpack(&sub, "s.yaml", &files).unwrap();
        let e = diagnostic_lines(&load_declarative(&sub, &files, &entry).err().unwrap());
        assert!(e.contains("s.yaml:3:1: unknown field `bogus`"), "{e}");
    }

    #[test]
    fn options_layer_in_k6_order() {
        let job = SegmentJob {
            run_id: "r".into(),
            entry: "s.js".into(),
            files: BTreeMap::new(),
            archive: None,
            defaults: json!({"vus": 2, "duration": "10s"}),
            overrides: json!({"vus": 5}),
            env: BTreeMap::from([("A".to_string(), "1".to_string())]),
            segment: Some("0:1/2".into()),
            sequence: None,
            validate_only: false,
            start_gate: false,
            summary_gate: false,
            share: None,
            resume: None,
            chaos_relay: false,
        };
        let (low, top) = option_layers(&job).unwrap();
        let merged = low.merge(top);
        assert_eq!(merged.vus, Some(5));
        assert!(merged.duration.is_some());
        assert_eq!(merged.env.unwrap()["A"], "1");
        assert!(merged.execution_segment.is_some());
        let bad = SegmentJob {
            overrides: json!({"vus": "many"}),
            ..job
        };
        assert!(option_layers(&bad).is_err());
    }
}
