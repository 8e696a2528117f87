//! The test's phases in order: initialize the VUs, wait while paused,
//! `setup()`, the scenarios, `teardown()`. Each phase's failure maps to k6's
//! exit code here; what the run does with the outcome (thresholds, the
//! summary, the final exit code) is `run.rs`'s and `exit_policy.rs`'s.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use stampede_js::log::Level;
use stampede_js::{ScriptError, TestControl, TestEnv};

use crate::control::{Pauser, StopReason, Stopper};
use crate::error::ExitCode;
use crate::executor::ExecCtx;
use crate::main_sink::MainSink;
use crate::part::{Part, SharedSetup};
use crate::pool::Pool;
use crate::progress::ScenarioProgress;
use crate::stats::{status, RunStats};
use crate::vu_task::{VuCmd, VuHandle};
use crate::worker::Workers;
use tokio::sync::oneshot;

/// What the phases need from the run.
pub(crate) struct Lifecycle<'a> {
    pub plan: &'a stampede_config::plan::Plan,
    pub exports: &'a [String],
    pub test: &'a Arc<TestEnv>,
    pub pool: &'a Arc<Pool>,
    pub workers: &'a Arc<Workers>,
    pub stats: &'a Arc<RunStats>,
    pub stopper: &'a Arc<Stopper>,
    pub control: &'a Arc<TestControl>,
    pub own_sink: &'a Arc<Mutex<MainSink>>,
    pub progress_list: &'a Arc<Mutex<Vec<Arc<ScenarioProgress>>>>,
    pub pauser: &'a Arc<Pauser>,
    pub scale: &'a tokio::sync::watch::Sender<(u64, u64)>,
    /// This run's role in a distributed test.
    pub part: Option<Part>,
}

pub(crate) struct LifecycleOutcome {
    pub exit_code: ExitCode,
    pub error: Option<String>,
    pub setup_data: Option<serde_json::Value>,
    pub vu0: Option<VuHandle>,
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

pub(crate) async fn lifecycle(mut l: Lifecycle<'_>) -> LifecycleOutcome {
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
    let vu0 = match l
        .workers
        .spawn_vu(l.test.clone(), l.pool.native(), 0, 0)
        .await
    {
        Ok(v) => v,
        Err(e) => return LifecycleOutcome::failed(ExitCode::ScriptException, e.to_string(), None),
    };
    if let Err(e) = l.pool.fill(plan.max_vus(), |_| {}).await {
        return LifecycleOutcome::failed(ExitCode::ScriptException, e.to_string(), Some(vu0));
    }

    l.stats.set_status(status::INIT_DONE);

    let (shared_setup, teardown_here, resume) = match l.part.take() {
        Some(p) => (Some(p.setup), p.teardown, p.resume),
        None => (None, true, None),
    };
    let wants_setup = !plan.run.no_setup && l.exports.iter().any(|e| e == "setup");

    // One part of a distributed test runs setup() before the pause, so its
    // data is known before any part starts.
    let mut setup_json: Option<Arc<str>> = None;
    let mut setup_data = None;
    // Where setup()'s data comes from after the pause: `None` when it is
    // already known (it ran here, before the pause).
    let setup_after_pause = match shared_setup {
        Some(SharedSetup::Run(report)) => {
            if wants_setup {
                match run_setup(plan, l.stats, &vu0).await {
                    Ok((json, data)) => (setup_json, setup_data) = (json, data),
                    Err((code, msg)) => return LifecycleOutcome::failed(code, msg, Some(vu0)),
                }
            }
            report(setup_data.clone());
            None
        }
        Some(SharedSetup::Receive(rx)) => Some(Some(rx)),
        None => Some(None),
    };

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

    match setup_after_pause {
        // Another part ran setup(): its data arrives with the start.
        Some(Some(rx)) => {
            let data = tokio::select! {
                d = rx => d.ok().flatten(),
                _ = l.stopper.stopped() => None,
            };
            setup_data = data.as_deref().and_then(|j| serde_json::from_str(j).ok());
            setup_json = data.map(Arc::from);
        }
        // A whole test: setup() runs after the pause, as in `k6 run`.
        Some(None) if wants_setup => match run_setup(plan, l.stats, &vu0).await {
            Ok((json, data)) => (setup_json, setup_data) = (json, data),
            Err((code, msg)) => return LifecycleOutcome::failed(code, msg, Some(vu0)),
        },
        // No setup(), or it ran here already (before the pause).
        Some(None) | None => {}
    }

    // The scenarios, each from its start time; a resumed part from where
    // the test is now.
    let offset = match &resume {
        Some(r) => {
            let offset = r.offset(SystemTime::now());
            let at = r.test_start + offset;
            let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
            crate::executor::sleep_until(l.stopper, Instant::now() + wait).await;
            offset
        }
        None => Duration::ZERO,
    };
    l.stats.mark_started_at(offset);
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
    let resume = resume.map(|r| (r, offset));
    crate::scenarios::run_all(plan, ctx, l.progress_list, l.stats, resume.as_ref()).await;
    // An abort in the last iteration can end the scenarios before the
    // watch above has run: its stop reason is recorded here as well.
    if let Some(reason) = l.control.abort_reason() {
        l.stopper.stop(StopReason::ScriptAbort(reason));
    }

    // teardown()
    let mut exit_code = ExitCode::Ok;
    let mut error = None;
    if teardown_here && !plan.run.no_teardown && l.exports.iter().any(|e| e == "teardown") {
        l.stats.set_status(status::TEARDOWN);
        let (reply, rx) = oneshot::channel();
        vu0.interrupt.reset();
        vu0.send(VuCmd::Teardown {
            data: setup_json,
            reply,
        });
        match tokio::time::timeout(plan.run.teardown_timeout, vu0.answer(rx)).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => {
                let (code, msg) = lifecycle_error("teardown", &e);
                exit_code = code;
                error = Some(msg);
            }
            Ok(None) => {}
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

/// Runs `setup()` in VU 0: its data as JSON text and as a value, or k6's
/// exit code and message.
async fn run_setup(
    plan: &stampede_config::plan::Plan,
    stats: &RunStats,
    vu0: &VuHandle,
) -> Result<(Option<Arc<str>>, Option<serde_json::Value>), (ExitCode, String)> {
    stats.set_status(status::SETUP);
    let (reply, rx) = oneshot::channel();
    vu0.send(VuCmd::Setup { reply });
    match tokio::time::timeout(plan.run.setup_timeout, vu0.answer(rx)).await {
        Ok(Some(Ok(json))) => {
            let data = json.as_deref().and_then(|j| serde_json::from_str(j).ok());
            Ok((json.map(Arc::from), data))
        }
        Ok(Some(Err(e))) => Err(lifecycle_error("setup", &e)),
        Ok(None) => Err((ExitCode::ScriptException, "setup: the VU stopped".into())),
        Err(_) => {
            vu0.interrupt.interrupt();
            Err((
                ExitCode::SetupTimeout,
                format!(
                    "setup() execution timed out after {} seconds",
                    plan.run.setup_timeout.as_secs()
                ),
            ))
        }
    }
}
