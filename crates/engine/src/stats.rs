//! Counters of the running test, shared by the VUs, executors and views.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use stampede_js::log::{Level, Logger};
use stampede_js::{ExecutionInfo, ScenarioInfo};

/// Reports a scenario's progress between 0 and 1.
pub(crate) type ProgressFn = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Live counters of a run.
pub struct RunStats {
    /// k6's execution status (`lib.ExecutionStatus`), see [`RunStats::status`].
    status: AtomicU8,
    /// Some threshold failed at the last evaluation.
    tainted: AtomicBool,
    pub(crate) vus_active: AtomicI64,
    pub(crate) vus_initialized: AtomicU64,
    pub(crate) iterations_completed: AtomicU64,
    pub(crate) iterations_interrupted: AtomicU64,
    started: OnceLock<Instant>,
    progress: Mutex<HashMap<String, ProgressFn>>,
    errors: Mutex<HashMap<String, u64>>,
    logger: Arc<Logger>,
}

impl RunStats {
    pub(crate) fn new(logger: Arc<Logger>) -> Arc<Self> {
        Arc::new(Self {
            status: AtomicU8::new(status::CREATED),
            tainted: AtomicBool::new(false),
            vus_active: AtomicI64::new(0),
            vus_initialized: AtomicU64::new(0),
            iterations_completed: AtomicU64::new(0),
            iterations_interrupted: AtomicU64::new(0),
            started: OnceLock::new(),
            progress: Mutex::new(HashMap::new()),
            errors: Mutex::new(HashMap::new()),
            logger,
        })
    }

    /// Marks the start of the test proper (after setup), `offset` into the
    /// test (non-zero for a resumed part of a distributed test):
    /// [`RunStats::elapsed`] counts on the test's clock.
    pub(crate) fn mark_started_at(&self, offset: std::time::Duration) {
        let now = Instant::now();
        let _ = self.started.set(now.checked_sub(offset).unwrap_or(now));
        self.set_status(status::RUNNING);
    }

    pub(crate) fn set_status(&self, s: u8) {
        self.status.store(s, Ordering::Relaxed);
    }

    /// Where the run is, in k6's numbering of `lib.ExecutionStatus` (what
    /// its REST API reports): see [`status`].
    pub fn status(&self) -> u8 {
        self.status.load(Ordering::Relaxed)
    }

    pub(crate) fn set_tainted(&self, tainted: bool) {
        self.tainted.store(tainted, Ordering::Relaxed);
    }

    /// Whether a threshold failed at the last evaluation during the run.
    pub fn tainted(&self) -> bool {
        self.tainted.load(Ordering::Relaxed)
    }

    /// VUs running iterations now.
    pub fn vus_active(&self) -> u64 {
        self.vus_active.load(Ordering::Relaxed).max(0) as u64
    }

    /// VUs initialized so far.
    pub fn vus_initialized(&self) -> u64 {
        self.vus_initialized.load(Ordering::Relaxed)
    }

    pub(crate) fn set_progress(&self, scenario: &str, f: ProgressFn) {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(scenario.to_string(), f);
    }

    /// Logs an exception thrown by an iteration. Each distinct error is
    /// logged once, then again when its count reaches 10, 100, 1000...
    pub(crate) fn report_exception(&self, err: &str, scenario: &ScenarioInfo) {
        let count = {
            let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            let c = errors.entry(err.to_string()).or_insert(0);
            *c += 1;
            *c
        };
        let fields = [
            ("executor", scenario.executor.as_str()),
            ("scenario", scenario.name.as_str()),
            ("source", "stacktrace"),
        ];
        if count == 1 {
            self.logger.log(Level::Error, err, &fields);
        } else if is_power_of_ten(count) {
            let first = err.lines().next().unwrap_or(err);
            self.logger.log(
                Level::Error,
                &format!("{first} (the same error has now occurred {count} times)"),
                &fields,
            );
        }
    }

    /// Iteration errors: each distinct message with how often it occurred.
    pub fn exceptions(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// VUs running an iteration or between iterations of a scenario.
    pub fn active_vus(&self) -> u64 {
        self.vus_active.load(Ordering::Relaxed).max(0) as u64
    }

    /// VUs initialized so far.
    pub fn initialized_vus(&self) -> u64 {
        self.vus_initialized.load(Ordering::Relaxed)
    }

    /// Iterations completed so far.
    pub fn completed(&self) -> u64 {
        self.iterations_completed.load(Ordering::Relaxed)
    }

    /// Iterations interrupted so far.
    pub fn interrupted(&self) -> u64 {
        self.iterations_interrupted.load(Ordering::Relaxed)
    }

    /// Time since the test proper started.
    pub fn elapsed(&self) -> Duration {
        self.started.get().map(|s| s.elapsed()).unwrap_or_default()
    }
}

/// k6's execution statuses (`lib.ExecutionStatus`), in its numbering.
pub mod status {
    /// Nothing has started.
    pub const CREATED: u8 = 0;
    /// VUs are being initialized.
    pub const INIT_VUS: u8 = 1;
    /// VUs are initialized.
    pub const INIT_DONE: u8 = 3;
    /// Started paused, waiting to be resumed.
    pub const PAUSED_BEFORE_RUN: u8 = 4;
    /// `setup()` runs.
    pub const SETUP: u8 = 6;
    /// The scenarios run.
    pub const RUNNING: u8 = 7;
    /// `teardown()` runs.
    pub const TEARDOWN: u8 = 8;
    /// The run is over.
    pub const ENDED: u8 = 9;
}

/// 10, 100, 1000...
fn is_power_of_ten(mut n: u64) -> bool {
    if n < 10 {
        return false;
    }
    while n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

impl ExecutionInfo for RunStats {
    fn vus_active(&self) -> u64 {
        self.active_vus()
    }
    fn vus_initialized(&self) -> u64 {
        self.initialized_vus()
    }
    fn iterations_completed(&self) -> u64 {
        self.completed()
    }
    fn iterations_interrupted(&self) -> u64 {
        self.interrupted()
    }
    fn test_run_duration(&self) -> Duration {
        self.elapsed()
    }
    fn scenario_progress(&self, scenario: &str) -> f64 {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(scenario)
            .map(|f| f())
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deduplicates_exceptions() {
        let logger = Arc::new(Logger::capturing());
        let stats = RunStats::new(logger.clone());
        let info = ScenarioInfo {
            name: "default".into(),
            executor: "shared-iterations".into(),
            exec: "default".into(),
            start_time_ms: 0.0,
            env: Default::default(),
            tags: stampede_metrics::TagSet::empty(),
        };
        for _ in 0..100 {
            stats.report_exception("Error: boom\n\tat default (/t.js:1:1)", &info);
        }
        let lines = logger.captured();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].contains("source=stacktrace"));
        assert!(lines[2].contains("occurred 100 times"));
        assert_eq!(stats.exceptions()[0].1, 100);
    }
}
