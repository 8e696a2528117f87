//! The seam for VUs that are not JavaScript: a [`NativeProgram`] makes
//! [`NativeVu`]s, which the pool, the executors and the scheduler threads
//! drive exactly like script VUs.
//!
//! A native VU is a plain task on its scheduler thread, not a coroutine:
//! it needs no stack of its own (a coroutine keeps about 12 KB of touched
//! stack resident per VU, which at 10,000 connections was more than half
//! the process), and waiting on I/O is an ordinary `.await` instead of two
//! stack switches. Its iteration is a future the engine drops when the VU
//! is interrupted (then [`NativeVu::interrupted`] runs), as a script VU's
//! pending wait is abandoned. It records into the thread's sink through the
//! [`VuConfig`]'s emitter. Everything around an iteration — executors,
//! execution segments, pacing, metrics collection, thresholds, the summary,
//! outputs — is the engine's, unchanged. No JavaScript runtime is created
//! for a native program: its VUs never call into `stampede_js::Vu`.

use std::future::Future;
use std::pin::Pin;
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

    /// Makes one VU. Runs on the VU's scheduler thread.
    fn new_vu(&self, test: &Arc<TestEnv>, cfg: VuConfig) -> Result<Box<dyn NativeVu>, ScriptError>;
}

/// A future of a native VU, polled on its scheduler thread only.
pub type VuFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One native VU.
pub trait NativeVu {
    /// Starts running iterations of `scenario` (its tags, its name).
    fn activate(&mut self, scenario: Arc<ScenarioInfo>);

    /// Runs one iteration; emits `iterations`, `iteration_duration`,
    /// `data_sent` and `data_received` as a script VU does. The engine
    /// drops the future when the VU is interrupted, and then calls
    /// [`NativeVu::interrupted`].
    fn run_iteration(&mut self, req: IterationRequest<'_>) -> VuFuture<'_, IterationOutcome>;

    /// Records what an iteration abandoned by an interrupt had done so far
    /// (a script VU's interrupted iteration still counts its bytes).
    fn interrupted(&mut self) {}

    /// Does the program's setup work (in VU 0, before the scenarios); an
    /// error fails the run as a failed `setup()` does.
    fn call_setup(&mut self) -> VuFuture<'_, Result<(), ScriptError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
