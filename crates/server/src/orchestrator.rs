//! The orchestrator: turns a start request into a run and sees it through.
//!
//! Before anything is created it validates the run with the engine's own
//! loader in a validate-only segment (an invalid option or a script that
//! does not compile is a 422 with k6's message, and nothing is stored),
//! then checks the user's quotas. A started run is supervised by one task:
//! it hands the segment to the [`Transport`], stores every interval as it
//! arrives (idempotent by interval start), tracks the state machine
//! `queued → starting → running → finishing → passed | failed | aborted |
//! errored` with k6's exit code, and publishes snapshots, progress and
//! state changes on the [`Hub`] for WebSocket subscribers. A run of
//! `workers: N` is split into N execution segments started together,
//! merged exactly and judged by the controller (`supervise.rs`): thresholds
//! and `abortOnFail` every 2 s, the summary, export and exit code at the
//! end, all over the merged data, as `stampede run` of the same script.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use stampede_cluster::protocol::SummarySettings;
use stampede_cluster::redis::ha::{QueuedRun, RunBoard};
use stampede_cluster::{Control, Progress, SegmentEvent, SegmentJob, Transport};
use stampede_store::{NewAudit, NewRun, Run, RunEnd, RunId, RunStatus, Scenario, StartedBy, Store};
use tokio::sync::mpsc;

use crate::auth::Principal;
use crate::error::AppError;
use crate::hub::Hub;
use crate::metrics::LoadMetrics;
use crate::scenario_files;
use crate::supervise::{segment_jobs, Supervision, MAX_WORKERS};

/// Options of `POST /api/v1/scenarios/{id}/start` (k6's precedence: these
/// override the scenario's stored options).
#[derive(Clone, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// VUs (`--vus`).
    pub vus: Option<i64>,
    /// Duration (`--duration`, e.g. `30s`).
    pub duration: Option<String>,
    /// Total iterations (`--iterations`).
    pub iterations: Option<i64>,
    /// `__ENV` pairs (`-e`).
    pub env: Option<BTreeMap<String, String>>,
    /// Execution segments to split the run into (1 to 64; default 1).
    pub workers: Option<u32>,
    /// Any other k6 options (JSON form), below the fields above.
    pub options: Option<Value>,
    /// What starts the run when not the caller (a pipeline); never from JSON.
    #[serde(skip)]
    pub started_by: Option<StartedBy>,
    /// The run's `CHAOS_AGENT` is a pipeline stage's agent that remote
    /// workers reach through the Redis relay; never from JSON.
    #[serde(skip)]
    pub chaos_relay: bool,
}

impl StartRequest {
    /// The request as one k6 JSON options object.
    pub fn overrides(&self) -> Result<Value, AppError> {
        let mut map = match &self.options {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(AppError::unprocessable(
                    "invalid_options",
                    "`options` must be an object of k6 options",
                ))
            }
        };
        if let Some(v) = self.vus {
            map.insert("vus".into(), v.into());
        }
        if let Some(d) = &self.duration {
            map.insert("duration".into(), d.clone().into());
        }
        if let Some(i) = self.iterations {
            map.insert("iterations".into(), i.into());
        }
        Ok(Value::Object(map))
    }
}

/// What is known live about a run in flight.
struct Live {
    controls: Vec<mpsc::UnboundedSender<Control>>,
    progress: Progress,
    abort_requested: bool,
}

/// Starts and supervises runs.
pub struct Orchestrator {
    pub(crate) store: Store,
    transport: Arc<dyn Transport>,
    pub(crate) hub: Hub,
    live: Mutex<HashMap<RunId, Live>>,
    validate_timeout: Duration,
    pub(crate) load: Arc<LoadMetrics>,
    /// `blacklistIPs` entries outside the target allow-list.
    blocked_targets: Vec<String>,
    /// With several servers: the board runs are queued on for the leader
    /// (`leader.rs`).
    board: std::sync::OnceLock<RunBoard>,
    /// With several servers: the progress of runs another replica
    /// supervises, as relayed to this one (and when).
    relayed: Mutex<HashMap<RunId, (std::time::Instant, Progress)>>,
}

/// Thresholds in k6's options JSON form (`{"selector": [{"threshold": …}]}`).
fn thresholds_json(list: &[stampede_cluster::protocol::ThresholdWire]) -> Value {
    let mut map = Map::new();
    for t in list {
        let mut item = Map::new();
        item.insert("threshold".into(), t.expr.clone().into());
        if t.abort_on_fail {
            item.insert("abortOnFail".into(), true.into());
        }
        if let Some(ms) = t.delay_abort_eval_ms {
            item.insert("delayAbortEval".into(), format!("{ms}ms").into());
        }
        if let Value::Array(a) = map
            .entry(t.selector.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(Value::Object(item));
        }
    }
    Value::Object(map)
}

/// A relayed progress older than this is not live any more.
const RELAYED_FOR: Duration = Duration::from_secs(10);

/// The final state for k6's exit code.
pub fn status_for_exit(code: i32) -> RunStatus {
    match code {
        0 => RunStatus::Passed,
        // Thresholds failed (also with abortOnFail), or `exec.test.fail()`.
        99 | 110 => RunStatus::Failed,
        // Stopped through the API, by a signal, or `exec.test.abort()`.
        103 | 105 | 108 => RunStatus::Aborted,
        _ => RunStatus::Errored,
    }
}

impl Orchestrator {
    /// An orchestrator over `store` and `transport`, publishing on `hub`.
    pub fn new(
        store: Store,
        transport: Arc<dyn Transport>,
        hub: Hub,
        load: Arc<LoadMetrics>,
        blocked_targets: Vec<String>,
    ) -> Self {
        Self {
            store,
            transport,
            hub,
            live: Mutex::new(HashMap::new()),
            validate_timeout: Duration::from_secs(60),
            load,
            blocked_targets,
            board: std::sync::OnceLock::new(),
            relayed: Mutex::default(),
        }
    }

    /// Several servers: runs go through `board` to the leader.
    pub fn set_board(&self, board: RunBoard) {
        let _ = self.board.set(board);
    }

    /// The runs this process supervises now.
    pub fn live_ids(&self) -> Vec<RunId> {
        self.lock().keys().copied().collect()
    }

    /// Whether this process supervises run `id` now.
    pub fn is_live(&self, id: RunId) -> bool {
        self.lock().contains_key(&id)
    }

    /// The leader takes over a run from the board: supervises it from
    /// where it is (`start_ms`: the common start, if it was started; the
    /// transport follows the segments a previous leader queued).
    pub fn adopt(self: &Arc<Self>, run: Run, queued: QueuedRun, start_ms: Option<u64>) {
        let me = self.clone();
        let mut job = queued.job;
        job.run_id = run.id.to_string();
        self.lock().insert(
            run.id,
            Live {
                controls: Vec::new(),
                progress: Progress::default(),
                abort_requested: false,
            },
        );
        tokio::spawn(async move {
            me.supervise(run, job, queued.workers, queued.settings, start_ms)
                .await
        });
    }

    /// Records a run's common start on the board before it is sent, so a
    /// leader taking over keeps it.
    pub(crate) async fn record_start(&self, id: RunId, at_ms: u64) {
        if let Some(b) = self.board.get() {
            if let Err(e) = b.set_start(&id.to_string(), at_ms).await {
                tracing::warn!(run = %id, error = %e, "cannot record the run's start on the board");
            }
        }
    }

    /// Passes a stop or abort to the leader (the run is not supervised
    /// here): `false` without a board.
    fn forward(&self, id: RunId, c: Control) -> bool {
        let Some(b) = self.board.get().cloned() else {
            return false;
        };
        tokio::spawn(async move {
            if let Err(e) = b.send_control(&id.to_string(), c).await {
                tracing::warn!(run = %id, error = %e, "cannot pass the control to the leader");
            }
        });
        true
    }

    /// The transport's name (`local`, ...).
    pub fn transport_name(&self) -> &'static str {
        self.transport.name()
    }

    /// The transport (for its fleet of workers).
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// Runs in flight in this process.
    pub fn live_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, Live>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live progress of a run in flight (here, or relayed from the
    /// replica that supervises it).
    pub fn progress(&self, id: RunId) -> Option<Progress> {
        if let Some(p) = self.lock().get(&id).map(|l| l.progress.clone()) {
            return Some(p);
        }
        let relayed = self.relayed.lock().unwrap_or_else(|p| p.into_inner());
        relayed
            .get(&id)
            .filter(|(at, _)| at.elapsed() < RELAYED_FOR)
            .map(|(_, p)| p.clone())
    }

    /// Notes the progress of a run another replica supervises (`None`: it
    /// ended); stale entries are dropped.
    pub fn note_relayed(&self, id: RunId, progress: Option<Progress>) {
        let mut relayed = self.relayed.lock().unwrap_or_else(|p| p.into_inner());
        relayed.retain(|_, (at, _)| at.elapsed() < RELAYED_FOR);
        match progress {
            Some(p) => relayed.insert(id, (std::time::Instant::now(), p)),
            None => relayed.remove(&id),
        };
    }

    /// Sets the VUs of a running run's externally-controlled scenario
    /// (one segment only: a split run would need its VUs split too).
    pub fn scale(&self, id: RunId, vus: u64) -> Result<(), AppError> {
        let guard = self.lock();
        let Some(live) = guard.get(&id) else {
            return Err(AppError::conflict("the run is not in flight"));
        };
        let Some(ext) = live
            .progress
            .scenarios
            .iter()
            .find(|s| s.executor == "externally-controlled" && !s.finished)
        else {
            return Err(AppError::conflict(
                "the run has no externally-controlled scenario running: only those change VUs",
            ));
        };
        if live.controls.len() != 1 {
            return Err(AppError::conflict(
                "the VUs of a run split over several workers cannot be changed",
            ));
        }
        if vus > ext.max_vus {
            return Err(AppError::unprocessable(
                "invalid_vus",
                format!(
                    "{vus} VUs is more than the scenario's maxVUs ({})",
                    ext.max_vus
                ),
            ));
        }
        let _ = live.controls[0].send(Control::Scale { vus });
        Ok(())
    }

    /// Records the live progress of a run in flight.
    pub(crate) fn set_progress(&self, id: RunId, p: Progress) {
        if let Some(l) = self.lock().get_mut(&id) {
            l.progress = p;
        }
    }

    /// Loads the scenario's script with the request's options in a
    /// validate-only segment: `Ok((max_vus, max_duration_s, settings))` or
    /// the 422.
    pub async fn validate(
        &self,
        job: &SegmentJob,
    ) -> Result<(u64, f64, SummarySettings), AppError> {
        let mut job = job.clone();
        job.validate_only = true;
        let mut handle = self
            .transport
            .start(job)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let first = tokio::time::timeout(self.validate_timeout, handle.events.recv()).await;
        let _ = handle.control.send(Control::Abort);
        match first {
            Err(_) => Err(AppError::unprocessable(
                "script_timeout",
                format!(
                    "the script's init code did not finish within {}s",
                    self.validate_timeout.as_secs()
                ),
            )),
            Ok(None) => Err(AppError::internal("the validation segment ended silently")),
            Ok(Some(SegmentEvent::Loaded {
                max_vus,
                max_duration_s,
                settings,
                targets,
                ..
            })) => {
                crate::allow::check_targets(&self.blocked_targets, &targets)?;
                Ok((max_vus, max_duration_s, settings))
            }
            Ok(Some(SegmentEvent::Failed { exit_code, message })) => Err(match exit_code {
                104 => AppError::unprocessable("invalid_options", message),
                107 => AppError::unprocessable("script_error", message),
                _ => AppError::unprocessable("invalid_script", message),
            }),
            Ok(Some(other)) => Err(AppError::internal(format!(
                "unexpected validation event {other:?}"
            ))),
        }
    }

    /// Checks the caller's quotas for a run of `max_vus` VUs lasting up to
    /// `max_duration_s` (0: unbounded).
    async fn check_quotas(
        &self,
        who: &Principal,
        max_vus: u64,
        max_duration_s: f64,
    ) -> Result<(), AppError> {
        let q = &who.user.quotas;
        if let Some(limit) = q.max_vus {
            if max_vus > limit.max(0) as u64 {
                return Err(AppError::unprocessable(
                    "quota_exceeded",
                    format!("the run needs {max_vus} VUs; your quota is {limit}"),
                ));
            }
        }
        if let Some(limit) = q.max_duration_secs {
            if max_duration_s <= 0.0 || max_duration_s > limit as f64 {
                return Err(AppError::unprocessable(
                    "quota_exceeded",
                    format!(
                        "the run may last {max_duration_s:.0}s (0: unbounded); your quota is {limit}s"
                    ),
                ));
            }
        }
        if let Some(limit) = q.max_concurrent_runs {
            let active = self.store.count_active_runs(who.id()).await?;
            if active >= limit.max(0) as u64 {
                return Err(AppError::too_many(
                    format!("{active} runs already active; your quota is {limit}"),
                    5,
                ));
            }
        }
        Ok(())
    }

    /// Validates, checks quotas, creates the run and starts supervising
    /// it; returns its id.
    pub async fn start(
        self: &Arc<Self>,
        who: &Principal,
        scenario: &Scenario,
        req: &StartRequest,
    ) -> Result<RunId, AppError> {
        let workers = req.workers.unwrap_or(1);
        if workers == 0 || workers > MAX_WORKERS {
            return Err(AppError::unprocessable(
                "invalid_workers",
                format!("`workers` must be between 1 and {MAX_WORKERS}, not {workers}"),
            ));
        }
        let mut overrides = req.overrides()?;
        self.enforce_allow_list(&mut overrides);
        // A k6 archive runs as it is; otherwise the stored text files.
        let archive = scenario.content.k6_archive.clone();
        let files = match archive {
            Some(_) => BTreeMap::new(),
            None => scenario_files(&scenario.content.archive)
                .map_err(|e| AppError::unprocessable("invalid_archive", e))?,
        };
        let mut job = SegmentJob {
            run_id: String::new(),
            entry: scenario.content.entry.clone(),
            files,
            archive,
            defaults: scenario.content.options.clone(),
            overrides: overrides.clone(),
            env: req.env.clone().unwrap_or_default(),
            segment: None,
            sequence: None,
            validate_only: false,
            start_gate: false,
            summary_gate: false,
            share: None,
            resume: None,
            chaos_relay: req.chaos_relay,
        };
        let (max_vus, max_duration_s, settings) = self.validate(&job).await?;
        self.check_quotas(who, max_vus, max_duration_s).await?;
        let started_by = match (&req.started_by, who.token_id) {
            (Some(by), _) => by.clone(),
            (None, Some(t)) => StartedBy::Token(t),
            (None, None) => StartedBy::User,
        };
        let mut options = overrides;
        if let (Some(env), Value::Object(m)) = (&req.env, &mut options) {
            // Keys only: values can be secrets.
            let keys: Vec<&String> = env.keys().collect();
            m.insert("env_keys".into(), json!(keys));
        }
        if let (false, Value::Object(m)) = (settings.thresholds.is_empty(), &mut options) {
            // The thresholds as resolved (the script's `options` with the
            // scenario's and the request's on top): the run view lists them
            // while the run goes, and the reports after it.
            m.insert("thresholds".into(), thresholds_json(&settings.thresholds));
        }
        let run = self
            .store
            .create_run(&NewRun {
                scenario_id: scenario.id,
                scenario_version: Some(scenario.version),
                user_id: Some(who.id()),
                started_by,
                options,
            })
            .await?;
        self.store
            .record_audit(&NewAudit {
                user_id: Some(who.id()),
                token_id: who.token_id,
                action: "run.start".into(),
                target: format!("run:{}", run.id),
                remote_addr: who.remote_addr.clone(),
                details: json!({"scenario_id": scenario.id, "version": scenario.version}),
            })
            .await?;
        self.publish_state(&run);
        job.run_id = run.id.to_string();
        let id = run.id;
        if let Some(board) = self.board.get() {
            let queued = QueuedRun {
                job,
                workers: workers as usize,
                settings,
            };
            if let Err(e) = board.enqueue(&id.to_string(), &queued).await {
                let end = RunEnd {
                    exit_code: Some(255),
                    error: Some(format!("the run could not be queued for the leader: {e}")),
                    summary: None,
                };
                // No leader knows the run: this replica ends it itself
                // (unfenced: a follower's store handle fences every run
                // transition).
                match self
                    .store
                    .unfenced()
                    .transition_run(id, RunStatus::Errored, &end)
                    .await
                {
                    Ok(run) => self.publish_state(&run),
                    Err(e) => {
                        tracing::error!(run = %id, error = %e, "cannot record the run's state")
                    }
                }
                return Err(AppError::internal(e.to_string()));
            }
            return Ok(id);
        }
        let me = self.clone();
        tokio::spawn(async move {
            me.supervise(run, job, workers as usize, settings, None)
                .await
        });
        Ok(id)
    }

    /// Adds the networks outside the allow-list to the top layer's
    /// `blacklistIPs` (keeping the request's own entries).
    fn enforce_allow_list(&self, overrides: &mut Value) {
        if self.blocked_targets.is_empty() {
            return;
        }
        let Value::Object(m) = overrides else { return };
        let mut list: Vec<Value> = match m.remove("blacklistIPs") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        list.extend(self.blocked_targets.iter().cloned().map(Value::from));
        m.insert("blacklistIPs".into(), Value::Array(list));
    }

    /// Asks a run in flight to stop gracefully (teardown and summary run).
    pub fn stop(&self, id: RunId) -> bool {
        let here = self.lock().get(&id).map(|l| {
            l.controls
                .iter()
                .filter(|c| c.send(Control::Stop).is_ok())
                .count()
                > 0
        });
        here.unwrap_or_else(|| self.forward(id, Control::Stop))
    }

    /// Ends a run in flight at once; it is marked `aborted`.
    pub fn abort(&self, id: RunId) -> bool {
        let mut live = self.lock();
        match live.get_mut(&id) {
            Some(l) => {
                l.abort_requested = true;
                l.controls
                    .iter()
                    .filter(|c| c.send(Control::Abort).is_ok())
                    .count()
                    > 0
            }
            None => {
                drop(live);
                self.forward(id, Control::Abort)
            }
        }
    }

    fn publish_state(&self, run: &Run) {
        self.hub.publish(
            Some(run.id),
            json!({
                "type": "state",
                "run_id": run.id,
                "status": run.status,
                "exit_code": run.exit_code,
                "error": run.error,
            }),
        );
    }

    /// Moves the run to `to` (logging rather than failing: the run goes on
    /// even when the store hiccups) and publishes the change.
    pub(crate) async fn transition(&self, run: &mut Run, to: RunStatus, end: &RunEnd) {
        if run.status == to {
            return;
        }
        match self.store.transition_run(run.id, to, end).await {
            Ok(r) => {
                *run = r;
                self.publish_state(run);
            }
            Err(e) => tracing::error!(run = %run.id, error = %e, "cannot record the run's state"),
        }
    }

    /// Sees one run through to its end: starts its segments, lets
    /// [`Supervision`] drive them, records the end state.
    async fn supervise(
        self: Arc<Self>,
        mut run: Run,
        job: SegmentJob,
        workers: usize,
        settings: SummarySettings,
        start_at_ms: Option<u64>,
    ) {
        let id = run.id;
        if run.status == RunStatus::Queued {
            self.transition(&mut run, RunStatus::Starting, &RunEnd::default())
                .await;
        }
        let (tx, rx) = mpsc::channel(256);
        let mut controls = Vec::new();
        for (i, job) in segment_jobs(&job, workers, settings.handle_summary)
            .into_iter()
            .enumerate()
        {
            match self.transport.start(job) {
                Ok(mut h) => {
                    controls.push(h.control.clone());
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(ev) = h.events.recv().await {
                            if tx.send((i, Some(ev))).await.is_err() {
                                return;
                            }
                        }
                        let _ = tx.send((i, None)).await;
                    });
                }
                Err(e) => {
                    for c in &controls {
                        let _ = c.send(Control::Abort);
                    }
                    let end = RunEnd {
                        exit_code: Some(255),
                        error: Some(e.to_string()),
                        summary: None,
                    };
                    self.transition(&mut run, RunStatus::Errored, &end).await;
                    self.lock().remove(&id);
                    self.off_board(id).await;
                    return;
                }
            }
        }
        drop(tx);
        {
            let mut live = self.lock();
            let l = live.entry(id).or_insert(Live {
                controls: Vec::new(),
                progress: Progress::default(),
                abort_requested: false,
            });
            l.controls = controls.clone();
        }
        let chaos = settings.clone();
        let sup = Supervision {
            orch: &self,
            run,
            controls,
            settings,
            start_at_ms,
        };
        let (mut run, status, end) = sup.drive(rx).await;
        let aborted = self.lock().remove(&id).is_some_and(|l| l.abort_requested);
        let (status, end) = if aborted {
            (
                RunStatus::Aborted,
                RunEnd {
                    exit_code: Some(105),
                    error: Some("the run was aborted".into()),
                    summary: None,
                },
            )
        } else {
            (status, end)
        };
        let mut end = end;
        crate::chaos::annotate(&self.store, &run, &chaos, &mut end).await;
        if matches!(status, RunStatus::Passed | RunStatus::Failed) {
            if run.status == RunStatus::Starting {
                self.transition(&mut run, RunStatus::Running, &RunEnd::default())
                    .await;
            }
            self.transition(&mut run, RunStatus::Finishing, &RunEnd::default())
                .await;
        }
        self.transition(&mut run, status, &end).await;
        self.off_board(id).await;
    }

    /// Takes an ended run off the board (several servers) — unless a newer
    /// leader fenced this one off: the run is that leader's now.
    async fn off_board(&self, id: RunId) {
        if let Some(b) = self.board.get() {
            if !self.store.holds_fence().await.unwrap_or(true) {
                return;
            }
            if let Err(e) = b.finish(&id.to_string()).await {
                tracing::warn!(run = %id, error = %e, "cannot take the run off the board");
            }
        }
    }
}

/// The key under which a run's stored summary keeps the summary text (the
/// API answers it as `summary_text`, beside the `--summary-export` document).
pub const SUMMARY_TEXT_KEY: &str = "stampede_summary_text";

/// Splits a stored summary into the `--summary-export` document and the text.
pub fn split_summary(summary: Option<Value>) -> (Option<Value>, Option<String>) {
    match summary {
        Some(Value::Object(mut m)) => {
            let text = m
                .remove(SUMMARY_TEXT_KEY)
                .and_then(|t| t.as_str().map(str::to_string));
            (Some(Value::Object(m)), text)
        }
        other => (other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_map_to_final_states() {
        assert_eq!(status_for_exit(0), RunStatus::Passed);
        assert_eq!(status_for_exit(99), RunStatus::Failed);
        assert_eq!(status_for_exit(103), RunStatus::Aborted);
        assert_eq!(status_for_exit(108), RunStatus::Aborted);
        assert_eq!(status_for_exit(107), RunStatus::Errored);
        assert_eq!(status_for_exit(255), RunStatus::Errored);
    }

    #[test]
    fn start_request_layers_its_fields_over_options() {
        let req = StartRequest {
            vus: Some(3),
            duration: Some("5s".into()),
            options: Some(json!({"vus": 1, "iterations": 7})),
            ..Default::default()
        };
        assert_eq!(
            req.overrides().unwrap(),
            json!({"vus": 3, "iterations": 7, "duration": "5s"})
        );
        let bad = StartRequest {
            options: Some(json!([1])),
            ..Default::default()
        };
        assert!(bad.overrides().is_err());
        let unknown = serde_json::from_value::<StartRequest>(json!({"vuz": 1}));
        assert!(unknown.is_err());
    }

    #[test]
    fn resolved_thresholds_are_stored_as_k6_options_the_reports_read() {
        use stampede_cluster::protocol::ThresholdWire;
        let wire = |selector: &str, expr: &str, abort: bool| ThresholdWire {
            selector: selector.into(),
            expr: expr.into(),
            abort_on_fail: abort,
            delay_abort_eval_ms: abort.then_some(1500),
        };
        let v = thresholds_json(&[
            wire("http_req_failed", "rate<0.01", false),
            wire("http_req_duration{name:x}", "p(95)<500", true),
            wire("http_req_failed", "rate<0.5", false),
        ]);
        assert_eq!(v["http_req_failed"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["http_req_duration{name:x}"][0],
            json!({"threshold": "p(95)<500", "abortOnFail": true, "delayAbortEval": "1500ms"})
        );
        let specs =
            stampede_output::export::thresholds_from_options(&json!({ "thresholds": v })).unwrap();
        let mut got: Vec<(String, String)> =
            specs.into_iter().map(|s| (s.selector, s.expr)).collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("http_req_duration{name:x}".into(), "p(95)<500".into()),
                ("http_req_failed".into(), "rate<0.01".into()),
                ("http_req_failed".into(), "rate<0.5".into()),
            ]
        );
    }

    #[test]
    fn summary_text_is_split_off() {
        let (doc, text) = split_summary(Some(json!({"metrics": {}, SUMMARY_TEXT_KEY: "hi"})));
        assert_eq!(doc, Some(json!({"metrics": {}})));
        assert_eq!(text.as_deref(), Some("hi"));
    }
}
