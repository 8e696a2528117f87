//! The seam for VUs that are not JavaScript: a [`NativeProgram`] makes
//! [`NativeVu`]s, which the pool, the executors and the scheduler threads
//! drive exactly like script VUs.
//!
//! A native VU lives on the same coroutine a JavaScript VU would, so it
//! waits on I/O with [`stampede_js::coro::suspend`] and is interrupted the
//! same way (the wait returns `Err(Interrupted)`); it records into the
//! thread's sink through the [`VuConfig`]'s emitter. Everything around an
//! iteration — executors, execution segments, pacing, metrics collection,
//! thresholds, the summary, outputs — is the engine's, unchanged. No
//! JavaScript runtime is created for a native program: its VUs never call
//! into `stampede_js::Vu`.

use std::sync::Arc;

use stampede_js::{
    IterationOutcome, IterationRequest, ScenarioInfo, ScriptError, TestEnv, VuConfig,
};

/// A test written as data, executed natively.
pub trait NativeProgram: Send + Sync {
    /// The options the program sets, as k6's `export const options` JSON
    /// (the "script" layer of the options, merged in k6's order).
    fn options(&self) -> serde_json::Value;

    /// The functions the program "exports": `default`, and `setup` when it
    /// has work to do before the load.
    fn exports(&self) -> Vec<String> {
        vec!["default".to_string()]
    }

    /// Makes one VU. Runs on the VU's scheduler thread, inside its
    /// coroutine.
    fn new_vu(&self, test: &Arc<TestEnv>, cfg: VuConfig) -> Result<Box<dyn NativeVu>, ScriptError>;
}

/// One native VU.
pub trait NativeVu {
    /// Starts running iterations of `scenario` (its tags, its name).
    fn activate(&mut self, scenario: Arc<ScenarioInfo>);

    /// Runs one iteration; emits `iterations`, `iteration_duration`,
    /// `data_sent` and `data_received` as a script VU does.
    fn run_iteration(&mut self, req: IterationRequest<'_>) -> IterationOutcome;

    /// Does the program's setup work (in VU 0, before the scenarios); an
    /// error fails the run as a failed `setup()` does.
    fn call_setup(&mut self) -> Result<(), ScriptError> {
        Ok(())
    }
}
