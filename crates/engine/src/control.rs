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
