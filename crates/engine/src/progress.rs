//! Per-scenario progress, read by the live view and by `exec.scenario.progress`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::vu_task::ScenarioRun;

/// Live state of one scenario.
pub struct ScenarioProgress {
    /// Scenario name.
    pub name: String,
    /// Executor name.
    pub executor: String,
    /// k6's description of the scenario (the "scenarios:" header line).
    pub description: String,
    /// How long iterations start (None: until stopped).
    pub duration: Option<Duration>,
    started: Mutex<Option<Instant>>,
    ended: Mutex<Option<Instant>>,
    finished: AtomicBool,
    active: AtomicU64,
    max_vus: AtomicU64,
    total_iterations: Mutex<Option<u64>>,
    run: Mutex<Option<Arc<ScenarioRun>>>,
}

/// A point-in-time view of a scenario's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressView {
    /// Scenario name.
    pub name: String,
    /// Executor name.
    pub executor: String,
    /// Time since the scenario started.
    pub elapsed: Duration,
    /// How long iterations start, if bounded.
    pub duration: Option<Duration>,
    /// VUs running now.
    pub active_vus: u64,
    /// The scenario's VU ceiling.
    pub max_vus: u64,
    /// Iterations completed.
    pub completed: u64,
    /// Iterations interrupted.
    pub interrupted: u64,
    /// Iterations planned, for iteration-based executors.
    pub total_iterations: Option<u64>,
    /// Whether the scenario started.
    pub started: bool,
    /// Whether it is over.
    pub finished: bool,
    /// Between 0 and 1.
    pub fraction: f64,
}

impl ScenarioProgress {
    pub(crate) fn new(
        name: &str,
        executor: &str,
        description: String,
        duration: Option<Duration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_string(),
            executor: executor.to_string(),
            description,
            duration,
            started: Mutex::new(None),
            ended: Mutex::new(None),
            finished: AtomicBool::new(false),
            active: AtomicU64::new(0),
            max_vus: AtomicU64::new(0),
            total_iterations: Mutex::new(None),
            run: Mutex::new(None),
        })
    }

    pub(crate) fn set_totals(&self, iterations: Option<u64>, max_vus: u64) {
        *self
            .total_iterations
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = iterations;
        self.max_vus.store(max_vus, Ordering::Relaxed);
    }

    pub(crate) fn attach(&self, run: Arc<ScenarioRun>) {
        *self.run.lock().unwrap_or_else(|p| p.into_inner()) = Some(run);
    }

    pub(crate) fn start(&self) {
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    pub(crate) fn set_active(&self, n: u64) {
        self.active.store(n, Ordering::Relaxed);
    }

    pub(crate) fn finish(&self) {
        *self.ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.finished.store(true, Ordering::Release);
        self.active.store(0, Ordering::Relaxed);
    }

    /// Reads the current state.
    pub fn view(&self) -> ProgressView {
        let started = *self.started.lock().unwrap_or_else(|p| p.into_inner());
        let ended = *self.ended.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = match (started, ended) {
            (Some(s), Some(e)) => e.duration_since(s),
            (Some(s), None) => s.elapsed(),
            _ => Duration::ZERO,
        };
        let (completed, interrupted) = self
            .run
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|r| {
                (
                    r.completed.load(Ordering::Relaxed),
                    r.interrupted.load(Ordering::Relaxed),
                )
            })
            .unwrap_or((0, 0));
        let total_iterations = *self
            .total_iterations
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let finished = self.finished.load(Ordering::Acquire);
        let fraction = if finished {
            1.0
        } else if let Some(total) = total_iterations.filter(|t| *t > 0) {
            (completed + interrupted) as f64 / total as f64
        } else if let Some(d) = self.duration.filter(|d| !d.is_zero()) {
            elapsed.as_secs_f64() / d.as_secs_f64()
        } else {
            0.0
        };
        ProgressView {
            name: self.name.clone(),
            executor: self.executor.clone(),
            elapsed,
            duration: self.duration,
            active_vus: self.active.load(Ordering::Relaxed),
            max_vus: self.max_vus.load(Ordering::Relaxed),
            completed,
            interrupted,
            total_iterations,
            started: started.is_some(),
            finished,
            fraction: fraction.clamp(0.0, 1.0),
        }
    }
}
