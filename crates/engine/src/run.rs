//! The run lifecycle: initialize VUs, `setup()`, the scenarios, `teardown()`,
//! the final metrics, `handleSummary()` and the exit code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stampede_js::log::Level;
use stampede_js::{ScenarioInfo, ScriptError, SummaryOutputs, TestControl, TestEnv};
use stampede_metrics::thresholds::Thresholds;
use stampede_metrics::{Registry, Store, TagSet};
use stampede_output::Output;
use tokio::sync::{mpsc, oneshot};

use crate::collector::{Collected, Collector, CollectorMsg};
use crate::control::{ControlError, Pauser, StopReason, Stopper};
use crate::error::{EngineError, ExitCode};
use crate::executor::{self, ExecCtx, ScenarioPlan};
use crate::load::Loaded;
use crate::main_sink::MainSink;
use crate::pool::Pool;
use crate::progress::{ProgressView, ScenarioProgress};
use crate::stats::{status, RunStats};
use crate::vu_task::{VuCmd, VuHandle};
use crate::worker::Workers;

/// Everything a finished run produced.
pub struct RunReport {
    /// The process exit code, k6's.
    pub exit_code: ExitCode,
    /// Why the run ended early or failed, as a message for the user.
    pub error: Option<String>,
    /// Every metric's aggregates.
    pub store: Store,
    /// Metric definitions.
    pub registry: Arc<Registry>,
    /// Thresholds after the final evaluation.
    pub thresholds: Thresholds,
    /// Time from the start of the scenarios to the end of the run.
    pub duration: Duration,
    /// What `setup()` returned.
    pub setup_data: Option<serde_json::Value>,
    /// What `handleSummary()` asked to write, when the script exports it.
    pub handle_summary: Option<SummaryOutputs>,
    /// Why the run stopped early, if it did.
    pub stop_reason: Option<StopReason>,
    /// Iteration errors: each distinct message and how often it occurred.
    pub exceptions: Vec<(String, u64)>,
}

/// Turns the run's metrics into `handleSummary`'s data argument.
pub type SummaryDataFn = Box<dyn FnOnce(&SummaryParts<'_>) -> serde_json::Value + Send>;

/// What the summary is built from.
pub struct SummaryParts<'a> {
    /// Every metric's aggregates.
    pub store: &'a Store,
    /// Metric definitions.
    pub registry: &'a Registry,
    /// Thresholds after the final evaluation.
    pub thresholds: &'a Thresholds,
    /// Test run duration.
    pub duration: Duration,
    /// What `setup()` returned.
    pub setup_data: Option<&'a serde_json::Value>,
}

/// A view of a run's progress that outlives [`Running::finish`].
#[derive(Clone)]
pub struct Monitor {
    stats: Arc<RunStats>,
    progress: Arc<Mutex<Vec<Arc<ScenarioProgress>>>>,
}

impl Monitor {
    /// Live counters.
    pub fn stats(&self) -> &Arc<RunStats> {
        &self.stats
    }

    /// Every started scenario's progress.
    pub fn progress(&self) -> Vec<ProgressView> {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|p| p.view())
            .collect()
    }
}

/// A run in progress. It derefs to its [`RunControl`], a handle that can
/// also be cloned and sent elsewhere (a control API, signal handlers).
pub struct Running {
    control: RunControl,
    task: tokio::task::JoinHandle<RunReport>,
}

impl std::ops::Deref for Running {
    type Target = RunControl;

    fn deref(&self) -> &RunControl {
        &self.control
    }
}

impl Running {
    /// Waits for the end of the run.
    pub async fn finish(self) -> RunReport {
        match self.task.await {
            Ok(r) => r,
            Err(e) => panic!("the run task failed: {e}"),
        }
    }
}

/// What k6's REST API reports of a run (`GET /v1/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunStatus {
    /// k6's execution status number (see [`crate::stats::status`]).
    pub status: u8,
    /// The test is paused.
    pub paused: bool,
    /// VUs running iterations.
    pub vus: u64,
    /// VUs initialized.
    pub vus_max: u64,
    /// The run was told to stop.
    pub stopped: bool,
    /// The scenarios have started and the run has not ended.
    pub running: bool,
    /// A threshold failed at the last evaluation.
    pub tainted: bool,
}

/// Watches and steers a run: stop, pause, resume, scale, status.
#[derive(Clone)]
pub struct RunControl {
    stats: Arc<RunStats>,
    progress: Arc<Mutex<Vec<Arc<ScenarioProgress>>>>,
    stopper: Arc<Stopper>,
    pauser: Arc<Pauser>,
    scale: tokio::sync::watch::Sender<(u64, u64)>,
    executors: Arc<[String]>,
}

impl RunControl {
    /// Live counters.
    pub fn stats(&self) -> &Arc<RunStats> {
        &self.stats
    }

    /// Every scenario's progress.
    pub fn progress(&self) -> Vec<ProgressView> {
        self.monitor().progress()
    }

    /// A progress view to keep after [`Running::finish`].
    pub fn monitor(&self) -> Monitor {
        Monitor {
            stats: self.stats.clone(),
            progress: self.progress.clone(),
        }
    }

    /// Stops the run early: running iterations are interrupted, teardown
    /// and the summary still run.
    pub fn stop(&self, reason: StopReason) {
        self.stopper.stop(reason);
    }

    /// Pauses the test. Before the scenarios start any test can be paused;
    /// afterwards only one whose scenarios are all externally-controlled
    /// (k6's rule), which then releases its VUs until resumed.
    pub fn pause(&self) -> Result<(), ControlError> {
        if self.stats.elapsed() > Duration::ZERO {
            if let Some(e) = self
                .executors
                .iter()
                .find(|e| e.as_str() != "externally-controlled")
            {
                return Err(ControlError::NotPausable(e.clone()));
            }
        }
        self.pauser.set(true);
        Ok(())
    }

    /// Resumes a paused test.
    pub fn resume(&self) {
        self.pauser.set(false);
    }

    /// Whether the test is paused.
    pub fn is_paused(&self) -> bool {
        self.pauser.is_paused()
    }

    /// Sets the VUs of the externally-controlled scenario (and optionally
    /// raises its ceiling).
    pub fn scale(&self, vus: u64, max_vus: Option<u64>) -> Result<(), ControlError> {
        if !self.executors.iter().any(|e| e == "externally-controlled") {
            return Err(ControlError::NotScalable);
        }
        let (_, current_max) = *self.scale.borrow();
        let max = max_vus.unwrap_or(current_max);
        if vus > max {
            return Err(ControlError::InvalidVus(format!(
                "the number of active VUs ({vus}) must be less than or equal to the number of \
                 maxVUs ({max})"
            )));
        }
        self.scale.send_replace((vus, max));
        Ok(())
    }

    /// The run's stop switch, to share with signal handlers.
    pub fn stopper(&self) -> Arc<Stopper> {
        self.stopper.clone()
    }

    /// The run's state as k6's REST API reports it.
    pub fn status(&self) -> RunStatus {
        let status = self.stats.status();
        RunStatus {
            status,
            paused: self.pauser.is_paused(),
            vus: self.stats.vus_active(),
            vus_max: self.stats.vus_initialized(),
            stopped: self.stopper.is_stopped(),
            running: (crate::stats::status::RUNNING..crate::stats::status::ENDED).contains(&status),
            tainted: self.stats.tainted(),
        }
    }
}

impl Loaded {
    /// Starts the run on the current Tokio runtime. `outputs` receive every
    /// sample; `summary_data` builds `handleSummary`'s argument.
    pub fn start(
        self,
        outputs: Vec<Box<dyn Output>>,
        summary_data: SummaryDataFn,
    ) -> Result<Running, EngineError> {
        let stats = RunStats::new(self.config.logger.clone());
        let stopper = Arc::new(Stopper::default());
        let progress = Arc::new(Mutex::new(Vec::new()));
        let pauser = Arc::new(Pauser::default());
        pauser.set(self.plan.run.paused);
        let (scale, _) = tokio::sync::watch::channel((0, 0));
        let executors = self
            .plan
            .scenarios
            .iter()
            .map(|s| s.executor.kind().name().to_string())
            .collect();
        let controls = Controls {
            stats: stats.clone(),
            stopper: stopper.clone(),
            progress: progress.clone(),
            pauser: pauser.clone(),
            scale: scale.clone(),
        };
        let running = Running {
            control: RunControl {
                stats,
                progress,
                stopper,
                pauser,
                scale,
                executors,
            },
            task: tokio::spawn(run_test(self, outputs, summary_data, controls)),
        };
        Ok(running)
    }
}

/// A report for a run that could not start its scenarios.
fn early_report(
    code: ExitCode,
    error: String,
    registry: Arc<Registry>,
    thresholds: Thresholds,
) -> RunReport {
    RunReport {
        exit_code: code,
        error: Some(error),
        store: Store::new(),
        registry,
        thresholds,
        duration: Duration::ZERO,
        setup_data: None,
        handle_summary: None,
        stop_reason: None,
        exceptions: Vec::new(),
    }
}

/// The run's shared switches and views.
struct Controls {
    stats: Arc<RunStats>,
    stopper: Arc<Stopper>,
    progress: Arc<Mutex<Vec<Arc<ScenarioProgress>>>>,
    pauser: Arc<Pauser>,
    scale: tokio::sync::watch::Sender<(u64, u64)>,
}

async fn run_test(
    loaded: Loaded,
    mut outputs: Vec<Box<dyn Output>>,
    summary_data: SummaryDataFn,
    controls: Controls,
) -> RunReport {
    let Controls {
        stats,
        stopper,
        progress: progress_list,
        pauser,
        scale,
    } = controls;
    let Loaded {
        plan,
        mut thresholds,
        exports,
        program,
        registry,
        env,
        config,
        ..
    } = loaded;
    let logger = config.logger.clone();
    let control = TestControl::new();

    let http = match crate::http_client::http_settings(
        &plan.http,
        &plan.run.system_tags,
        &config.default_user_agent,
    ) {
        Ok(h) => h,
        Err(e) => return early_report(e.exit_code(), e.to_string(), registry, thresholds),
    };
    let test_tags = TagSet::from_pairs(plan.run.tags.iter());
    let test = Arc::new(TestEnv {
        program,
        env,
        registry: registry.clone(),
        control: control.clone(),
        execution: stats.clone(),
        logger: logger.clone(),
        options: plan.to_inspect_json(false),
        tags: test_tags.clone(),
        http,
        throw: plan.run.throw,
        no_cookies_reset: plan.run.no_cookies_reset,
        memory_limit: 0,
        text_summary: config.text_summary.clone(),
        shared_arrays: Default::default(),
    });

    for o in outputs.iter_mut() {
        if let Err(e) = o.start() {
            let msg = format!("could not start output {}: {e}", o.description());
            return early_report(ExitCode::InvalidConfig, msg, registry, thresholds);
        }
    }

    // Threads, collector, VUs.
    let threads = config
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    // The generator checks itself: enough file descriptors for the VUs'
    // connections (raising the soft limit when allowed) and memory mappings
    // for their stacks, CPU not saturated.
    let fd_limit = crate::selfcheck::raise_fd_limit();
    let most_vus: u64 = plan
        .scenarios
        .iter()
        .map(|s| s.executor.max_vus(&plan.tuple))
        .sum();
    crate::selfcheck::check_fds(&logger, fd_limit, most_vus);
    crate::selfcheck::check_maps(&logger, crate::selfcheck::max_map_count(), most_vus);
    let (tx, rx) = mpsc::unbounded_channel::<CollectorMsg>();
    let workers = match Workers::start(
        threads,
        tx.clone(),
        !outputs.is_empty(),
        Duration::from_secs(1),
        stats.clone(),
    ) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            let msg = format!("cannot start scheduler threads: {e}");
            return early_report(ExitCode::Generic, msg, registry, thresholds);
        }
    };
    let pool = Pool::new(workers.clone(), test.clone(), 0);
    let own_sink = Arc::new(Mutex::new(MainSink::new(!outputs.is_empty())));
    let shared = Arc::new(Mutex::new(Collected {
        store: Store::new(),
        thresholds: std::mem::take(&mut thresholds),
        outputs,
        output_error: None,
    }));
    let collector = Collector {
        shared: shared.clone(),
        snapshots: config.snapshots.clone(),
        registry: registry.clone(),
        stopper: stopper.clone(),
        stats: stats.clone(),
        pool: pool.clone(),
        sink: own_sink.clone(),
        logger: logger.clone(),
        tags: test_tags.clone(),
        cpu: crate::selfcheck::CpuWatch::new(threads),
    };
    let collector_task = tokio::spawn(collector.run(rx));

    let outcome = lifecycle(Lifecycle {
        plan: &plan,
        exports: &exports,
        test: &test,
        pool: &pool,
        workers: &workers,
        stats: &stats,
        stopper: &stopper,
        control: &control,
        own_sink: &own_sink,
        progress_list: &progress_list,
        pauser: &pauser,
        scale: &scale,
    })
    .await;
    stats.set_status(status::ENDED);

    // Everything recorded reaches the store before the summary.
    workers.flush().await;
    let (barrier, done) = oneshot::channel();
    let _ = tx.send(CollectorMsg::Barrier(barrier));
    let _ = done.await;

    let duration = stats.elapsed();
    let (store, mut thresholds, mut outputs, output_error) = {
        let mut c = shared.lock().unwrap_or_else(|p| p.into_inner());
        (
            std::mem::take(&mut c.store),
            std::mem::take(&mut c.thresholds),
            std::mem::take(&mut c.outputs),
            c.output_error.take(),
        )
    };
    let evaluation = (!thresholds.is_empty()).then(|| thresholds.evaluate(&store, duration));

    // handleSummary runs in the setup VU.
    let mut handle_summary = None;
    let mut summary_error = None;
    if let Some(vu0) = &outcome.vu0 {
        if exports.iter().any(|e| e == "handleSummary") {
            let data = summary_data(&SummaryParts {
                store: &store,
                registry: &registry,
                thresholds: &thresholds,
                duration,
                setup_data: outcome.setup_data.as_ref(),
            });
            let (reply, rx) = oneshot::channel();
            vu0.interrupt.reset();
            if vu0.send(VuCmd::HandleSummary { data, reply }) {
                match tokio::time::timeout(Duration::from_secs(120), rx).await {
                    Ok(Ok(Ok(out))) => handle_summary = out,
                    Ok(Ok(Err(e))) => summary_error = Some(format!("handleSummary: {e}")),
                    Ok(Err(_)) => summary_error = Some("handleSummary: the VU stopped".into()),
                    Err(_) => {
                        summary_error = Some("handleSummary() timed out after 2 minutes".into())
                    }
                }
            }
        }
    }
    for o in outputs.iter_mut() {
        if let Err(e) = o.stop() {
            logger.log(
                Level::Error,
                &format!("output {} failed to finish: {e}", o.description()),
                &[],
            );
        }
    }

    // Let the VUs go and the threads end.
    drop(outcome.vu0);
    drop(pool.drain());
    drop(tx);
    let workers = Arc::try_unwrap(workers);
    if let Ok(w) = workers {
        let _ = tokio::task::spawn_blocking(move || w.shutdown()).await;
    }
    collector_task.abort();

    let stop_reason = stopper.reason();
    let (mut exit_code, mut error) = (outcome.exit_code, outcome.error);
    if exit_code == ExitCode::Ok {
        match (&stop_reason, &evaluation) {
            (Some(StopReason::Signal), _) => {
                exit_code = ExitCode::ExternalAbort;
                error = Some("test run was stopped by a signal".into());
            }
            (Some(StopReason::Api), _) => {
                exit_code = ExitCode::StoppedByApi;
                error = Some("test run stopped from REST API".into());
            }
            (Some(StopReason::ScriptAbort(reason)), _) => {
                exit_code = ExitCode::ScriptAborted;
                error = Some(format!("test run was aborted because {reason}"));
            }
            // k6: a test marked as failed exits 110 even when thresholds
            // were crossed too.
            _ if control.is_failed() => {
                exit_code = ExitCode::MarkedAsFailed;
                error = Some("test run was marked as failed".into());
            }
            (Some(StopReason::ThresholdAbort), Some(e)) => {
                exit_code = ExitCode::ThresholdsAborted;
                error = Some(e.abort_message());
            }
            (_, Some(e)) if !e.all_ok => {
                exit_code = ExitCode::ThresholdsFailed;
                error = Some(e.failure_message());
            }
            _ => {}
        }
    }
    if exit_code == ExitCode::Ok {
        if let Some(e) = summary_error.or(output_error) {
            exit_code = ExitCode::Generic;
            error = Some(e);
        }
    } else if let Some(e) = summary_error {
        logger.log(Level::Error, &e, &[]);
    }
    RunReport {
        exit_code,
        error,
        store,
        registry,
        thresholds,
        duration,
        setup_data: outcome.setup_data,
        handle_summary,
        stop_reason,
        exceptions: stats.exceptions(),
    }
}

struct Lifecycle<'a> {
    plan: &'a stampede_config::plan::Plan,
    exports: &'a [String],
    test: &'a Arc<TestEnv>,
    pool: &'a Arc<Pool>,
    workers: &'a Arc<Workers>,
    stats: &'a Arc<RunStats>,
    stopper: &'a Arc<Stopper>,
    control: &'a Arc<TestControl>,
    own_sink: &'a Arc<Mutex<MainSink>>,
    progress_list: &'a Arc<Mutex<Vec<Arc<ScenarioProgress>>>>,
    pauser: &'a Arc<Pauser>,
    scale: &'a tokio::sync::watch::Sender<(u64, u64)>,
}

struct LifecycleOutcome {
    exit_code: ExitCode,
    error: Option<String>,
    setup_data: Option<serde_json::Value>,
    vu0: Option<VuHandle>,
}

impl LifecycleOutcome {
    fn failed(code: ExitCode, error: String, vu0: Option<VuHandle>) -> Self {
        Self {
            exit_code: code,
            error: Some(error),
            setup_data: None,
            vu0,
        }
    }
}

/// Maps a failure of `setup()`/`teardown()` to k6's exit code and message.
fn lifecycle_error(phase: &str, e: &ScriptError) -> (ExitCode, String) {
    match e {
        ScriptError::Aborted(r) => (
            ExitCode::ScriptAborted,
            format!("test run was aborted because {r}"),
        ),
        other => (ExitCode::ScriptException, format!("{phase}: {other}")),
    }
}

async fn lifecycle(l: Lifecycle<'_>) -> LifecycleOutcome {
    let plan = l.plan;
    // Watch for exec.test.abort() anywhere in the script.
    let abort_watch = {
        let control = l.control.clone();
        let stopper = l.stopper.clone();
        tokio::spawn(async move {
            control.aborted().await;
            stopper.stop(StopReason::ScriptAbort(
                control.abort_reason().unwrap_or_default(),
            ));
        })
    };
    struct AbortOnDrop(tokio::task::JoinHandle<()>);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let _abort_watch = AbortOnDrop(abort_watch);

    // VU 0 runs setup, teardown and handleSummary; the others run iterations.
    l.stats.set_status(status::INIT_VUS);
    let vu0 = match l.workers.spawn_vu(l.test.clone(), 0, 0).await {
        Ok(v) => v,
        Err(e) => return LifecycleOutcome::failed(ExitCode::ScriptException, e.to_string(), None),
    };
    if let Err(e) = l.pool.fill(plan.max_vus(), |_| {}).await {
        return LifecycleOutcome::failed(ExitCode::ScriptException, e.to_string(), Some(vu0));
    }

    l.stats.set_status(status::INIT_DONE);

    // A test started paused waits here, VUs initialized, until resumed.
    if l.pauser.is_paused() {
        l.stats.set_status(status::PAUSED_BEFORE_RUN);
        l.test.logger.log(
            Level::Info,
            "The test is paused; waiting to be resumed",
            &[],
        );
        tokio::select! {
            _ = l.pauser.resumed() => {},
            _ = l.stopper.stopped() => {},
        }
    }

    // setup()
    let mut setup_json: Option<Arc<str>> = None;
    let mut setup_data = None;
    if !plan.run.no_setup && l.exports.iter().any(|e| e == "setup") {
        l.stats.set_status(status::SETUP);
        let (reply, rx) = oneshot::channel();
        vu0.send(VuCmd::Setup { reply });
        match tokio::time::timeout(plan.run.setup_timeout, rx).await {
            Ok(Ok(Ok(json))) => {
                setup_data = json.as_deref().and_then(|j| serde_json::from_str(j).ok());
                setup_json = json.map(Arc::from);
            }
            Ok(Ok(Err(e))) => {
                let (code, msg) = lifecycle_error("setup", &e);
                return LifecycleOutcome::failed(code, msg, Some(vu0));
            }
            Ok(Err(_)) => {
                return LifecycleOutcome::failed(
                    ExitCode::ScriptException,
                    "setup: the VU stopped".into(),
                    Some(vu0),
                )
            }
            Err(_) => {
                vu0.interrupt.interrupt();
                return LifecycleOutcome::failed(
                    ExitCode::SetupTimeout,
                    format!(
                        "setup() execution timed out after {} seconds",
                        plan.run.setup_timeout.as_secs()
                    ),
                    Some(vu0),
                );
            }
        }
    }

    // The scenarios, each from its start time.
    l.stats.mark_started();
    let ctx = Arc::new(ExecCtx {
        pool: l.pool.clone(),
        stopper: l.stopper.clone(),
        tuple: plan.tuple.clone(),
        setup_data: setup_json.clone(),
        min_iteration_duration: plan.run.min_iteration_duration,
        scale: l.scale.clone(),
        pauser: l.pauser.clone(),
        sink: l.own_sink.clone(),
        logger: l.test.logger.clone(),
    });
    let start = Instant::now();
    let mut tasks = Vec::new();
    for sc in &plan.scenarios {
        if !sc.has_work(&plan.tuple) {
            continue;
        }
        let mut tags: Vec<(String, String)> = plan
            .run
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.extend(sc.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if plan.run.system_tags.iter().any(|t| t == "scenario") {
            tags.push(("scenario".into(), sc.name.clone()));
        }
        let info = Arc::new(ScenarioInfo {
            name: sc.name.clone(),
            executor: sc.executor.kind().name().to_string(),
            exec: sc.exec_fn().to_string(),
            start_time_ms: 0.0,
            env: sc.env.clone(),
            tags: TagSet::from_pairs(tags),
        });
        let progress = ScenarioProgress::new(
            &sc.name,
            sc.executor.kind().name(),
            sc.description(&plan.tuple),
            sc.executor.regular_duration(),
        );
        l.progress_list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(progress.clone());
        let p = progress.clone();
        l.stats
            .set_progress(&sc.name, Arc::new(move || p.view().fraction));
        let plan_sc = Arc::new(ScenarioPlan {
            info,
            executor: sc.executor.clone(),
            start_time: sc.start_time,
            graceful_stop: sc.graceful_stop,
        });
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            if !plan_sc.start_time.is_zero()
                && !executor::sleep_until(&ctx.stopper, start + plan_sc.start_time).await
            {
                progress.finish();
                return;
            }
            let mut info = (*plan_sc.info).clone();
            info.start_time_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
                .floor();
            let plan_sc = Arc::new(ScenarioPlan {
                info: Arc::new(info),
                executor: plan_sc.executor.clone(),
                start_time: plan_sc.start_time,
                graceful_stop: plan_sc.graceful_stop,
            });
            executor::run(ctx, plan_sc, progress).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }

    // teardown()
    let mut exit_code = ExitCode::Ok;
    let mut error = None;
    if !plan.run.no_teardown && l.exports.iter().any(|e| e == "teardown") {
        l.stats.set_status(status::TEARDOWN);
        let (reply, rx) = oneshot::channel();
        vu0.interrupt.reset();
        vu0.send(VuCmd::Teardown {
            data: setup_json,
            reply,
        });
        match tokio::time::timeout(plan.run.teardown_timeout, rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                let (code, msg) = lifecycle_error("teardown", &e);
                exit_code = code;
                error = Some(msg);
            }
            Ok(Err(_)) => {}
            Err(_) => {
                vu0.interrupt.interrupt();
                exit_code = ExitCode::TeardownTimeout;
                error = Some(format!(
                    "teardown() execution timed out after {} seconds",
                    plan.run.teardown_timeout.as_secs()
                ));
            }
        }
    }
    LifecycleOutcome {
        exit_code,
        error,
        setup_data,
        vu0: Some(vu0),
    }
}
