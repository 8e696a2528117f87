//! Stopping a run early: a signal, `exec.test.abort()`, a threshold with
//! `abortOnFail`, or a caller of the engine's API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

/// Why a run stopped before its plan ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// SIGINT/SIGTERM (k6 exit code 105).
    Signal,
    /// The script called `exec.test.abort(reason)` (exit code 108).
    ScriptAbort(String),
    /// A threshold with `abortOnFail` failed (exit code 99).
    ThresholdAbort,
    /// The engine's caller asked to stop.
    Requested,
    /// A `PATCH /v1/status` with `stopped: true` (exit code 103).
    Api,
    /// Stampede failed internally (a panic on a VU thread or in the
    /// collector); the message says where. Exit code
    /// [`ExitCode::SystemError`](crate::ExitCode::SystemError).
    Fatal(String),
}

/// The text of a panic payload (`panic!` carries a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// A one-way switch every executor watches.
#[derive(Debug, Default)]
pub struct Stopper {
    flag: AtomicBool,
    reason: Mutex<Option<StopReason>>,
    notify: Notify,
}

impl Stopper {
    /// Stops the run (the first reason given wins).
    pub fn stop(&self, reason: StopReason) {
        {
            let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the run was stopped.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Why the run was stopped.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Resolves once the run is stopped.
    pub async fn stopped(&self) {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.is_stopped() {
                return;
            }
            n.await;
        }
    }
}

/// Pausing: a test started with `paused` waits before `setup()`; an
/// externally-controlled scenario releases its VUs while paused.
#[derive(Debug, Default)]
pub struct Pauser {
    paused: AtomicBool,
    notify: Notify,
}

impl Pauser {
    /// Pauses or resumes.
    pub fn set(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the test is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Resolves on the next pause or resume.
    pub async fn changed(&self) {
        self.notify.notified().await;
    }

    /// Resolves once the test is not paused.
    pub async fn resumed(&self) {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if !self.is_paused() {
                return;
            }
            n.await;
        }
    }
}

/// Why a control request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// k6: only externally-controlled executors can pause after the start.
    #[error("executor '{0}' doesn't support pause and resume operations after its start")]
    NotPausable(String),
    /// Scaling needs an externally-controlled scenario.
    #[error("the test has no externally-controlled scenario to scale")]
    NotScalable,
    /// The VU count asked for is out of bounds.
    #[error("invalid configuration supplied: {0}")]
    InvalidVus(String),
}
