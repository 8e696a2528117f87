//! A run from start to report: the public handles ([`Running`],
//! [`RunControl`], [`Monitor`]), then the run itself: outputs, scheduler
//! threads and the collector around the test's phases (`lifecycle.rs`,
//! scenario starts in `scenarios.rs`), the final metrics, `handleSummary()`
//! (`handle_summary.rs`) and the exit code (`exit_policy.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use stampede_js::log::Level;
use stampede_js::{SummaryOutputs, TestControl, TestEnv};
use stampede_metrics::thresholds::Thresholds;
use stampede_metrics::{Registry, Store, TagSet};
use stampede_output::Output;
use tokio::sync::{mpsc, oneshot};

use crate::collector::{Collected, Collector, CollectorMsg};
use crate::control::{panic_message, ControlError, Pauser, StopReason, Stopper};
use crate::error::{EngineError, ExitCode};
use crate::lifecycle::{lifecycle, Lifecycle};
use crate::load::Loaded;
use crate::main_sink::MainSink;
use crate::pool::Pool;
use crate::progress::{ProgressView, ScenarioProgress};
use crate::stats::{status, RunStats};
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
    registry: Arc<Registry>,
}

impl std::ops::Deref for Running {
    type Target = RunControl;

    fn deref(&self) -> &RunControl {
        &self.control
    }
}

impl Running {
    /// Waits for the end of the run. A panic of the run itself (a Stampede
    /// bug) becomes a report with [`ExitCode::SystemError`], not a crash.
    pub async fn finish(self) -> RunReport {
        match self.task.await {
            Ok(r) => r,
            Err(e) => {
                let why = if e.is_panic() {
                    panic_message(e.into_panic().as_ref())
                } else {
                    e.to_string()
                };
                early_report(
                    ExitCode::SystemError,
                    format!("internal error: the run failed: {why}"),
                    self.registry,
                    Thresholds::default(),
                )
            }
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
        let registry = self.registry.clone();
        let running = Running {
            registry,
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
        mut config,
        native,
        ..
    } = loaded;
    let logger = config.logger.clone();
    let control = TestControl::new();
    let part = config.part.take();
    let handle_summary_here = part.as_ref().is_none_or(|p| p.handle_summary);

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
        stopper.clone(),
    ) {
        Ok(w) => Arc::new(w),
        Err(e) => {
            let msg = format!("cannot start scheduler threads: {e}");
            return early_report(ExitCode::SystemError, msg, registry, thresholds);
        }
    };
    let pool = Pool::new(workers.clone(), test.clone(), native, 0);
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
    let collector_abort = collector_task.abort_handle();
    // A panic in the collector (or an output it calls) ends the run now.
    tokio::spawn({
        let stopper = stopper.clone();
        async move {
            if let Err(e) = collector_task.await {
                if e.is_panic() {
                    stopper.stop(StopReason::Fatal(format!(
                        "internal error: the metrics collector panicked: {}",
                        panic_message(e.into_panic().as_ref())
                    )));
                }
            }
        }
    });

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
        part,
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

    // handleSummary runs in the setup VU (of one part of a distributed
    // test only).
    let exports: &[String] = if handle_summary_here { &exports } else { &[] };
    let parts = SummaryParts {
        store: &store,
        registry: &registry,
        thresholds: &thresholds,
        duration,
        setup_data: outcome.setup_data.as_ref(),
    };
    let (handle_summary, summary_error) =
        crate::handle_summary::call(outcome.vu0.as_ref(), exports, summary_data, &parts).await;
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
    collector_abort.abort();

    let stop_reason = stopper.reason();
    let (exit_code, error) = crate::exit_policy::decide(crate::exit_policy::Outcome {
        lifecycle: (outcome.exit_code, outcome.error),
        stop_reason: stop_reason.as_ref(),
        evaluation: evaluation.as_ref(),
        marked_failed: control.is_failed(),
        summary_error,
        output_error,
        logger: &logger,
    });
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
