//! What the engine gives the JavaScript side: test-wide state shared by all
//! VUs, run control, execution statistics and the metric sink.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stampede_metrics::{Metric, Registry, Sample, SeriesRef, Sink, TagSet};

use crate::log::Logger;
use crate::program::Program;

/// Statistics of the running test that `k6/execution` exposes. The engine
/// implements it; outside a run every figure is zero.
pub trait ExecutionInfo: Send + Sync {
    /// VUs currently running iterations.
    fn vus_active(&self) -> u64 {
        0
    }
    /// VUs initialized so far.
    fn vus_initialized(&self) -> u64 {
        0
    }
    /// Iterations completed on this instance.
    fn iterations_completed(&self) -> u64 {
        0
    }
    /// Iterations interrupted on this instance.
    fn iterations_interrupted(&self) -> u64 {
        0
    }
    /// Time since the test started (after setup, as k6).
    fn test_run_duration(&self) -> Duration {
        Duration::ZERO
    }
    /// Progress of a scenario between 0 and 1.
    fn scenario_progress(&self, _scenario: &str) -> f64 {
        0.0
    }
}

/// [`ExecutionInfo`] for contexts without a running test (the init probe).
#[derive(Debug, Default)]
pub struct NoExecution;

impl ExecutionInfo for NoExecution {}

/// Test-wide run control: abort and fail requests from scripts.
#[derive(Debug, Default)]
pub struct TestControl {
    aborted: Mutex<Option<String>>,
    failed: AtomicBool,
    abort_notify: tokio::sync::Notify,
}

impl TestControl {
    /// New control with nothing requested.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Requests the whole test to stop (k6 `exec.test.abort()`, exit code 108).
    pub fn abort(&self, reason: &str) {
        let mut a = self.aborted.lock().unwrap_or_else(|p| p.into_inner());
        if a.is_none() {
            *a = Some(reason.to_string());
        }
        drop(a);
        self.abort_notify.notify_waiters();
    }

    /// The abort reason, if the test was aborted.
    pub fn abort_reason(&self) -> Option<String> {
        self.aborted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Resolves once the test is aborted.
    pub async fn aborted(&self) {
        loop {
            let n = self.abort_notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.abort_reason().is_some() {
                return;
            }
            n.await;
        }
    }

    /// Marks the test as failed (k6 `exec.test.fail()`, exit code 110).
    pub fn fail(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    /// Whether the test was marked as failed.
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
}

/// Everything VUs of one test share.
pub struct TestEnv {
    /// The script and its file cache.
    pub program: Arc<Program>,
    /// `__ENV`.
    pub env: BTreeMap<String, String>,
    /// Metric definitions.
    pub registry: Arc<Registry>,
    /// Abort and fail requests.
    pub control: Arc<TestControl>,
    /// Statistics for `k6/execution`.
    pub execution: Arc<dyn ExecutionInfo>,
    /// Log output.
    pub logger: Arc<Logger>,
    /// The consolidated options as JSON (`exec.test.options`).
    pub options: serde_json::Value,
    /// Test-wide tags (`options.tags`).
    pub tags: TagSet,
    /// Settings of the `k6/http` module.
    pub http: crate::modules::http::HttpSettings,
    /// `options.throw`: failed requests throw instead of returning an error.
    pub throw: bool,
    /// `options.noCookiesReset`: keep the VU cookie jar across iterations.
    pub no_cookies_reset: bool,
    /// Maximum JavaScript heap of the runtime the VUs of a thread share, in
    /// bytes (0: unlimited).
    pub memory_limit: usize,
    /// Data of `SharedArray`s, built once for all VUs.
    pub shared_arrays: crate::modules::data::SharedArrays,
    /// Renders the end-of-test summary text (the k6-summary jslib's
    /// `textSummary`): `(data, options) -> text`.
    pub text_summary: Option<TextSummaryFn>,
}

/// Renders summary data (k6's `handleSummary` shape) as text.
pub type TextSummaryFn =
    Arc<dyn Fn(&serde_json::Value, &serde_json::Value) -> String + Send + Sync>;

impl TestEnv {
    /// Settings for loading a script outside a run (the init probe): k6
    /// defaults, no execution statistics.
    pub fn probe(
        program: Arc<Program>,
        env: BTreeMap<String, String>,
        logger: Arc<Logger>,
    ) -> Self {
        Self {
            program,
            env,
            registry: Arc::new(Registry::new()),
            control: TestControl::new(),
            execution: Arc::new(NoExecution),
            logger,
            options: serde_json::Value::Object(Default::default()),
            tags: TagSet::empty(),
            http: Default::default(),
            throw: false,
            no_cookies_reset: false,
            memory_limit: 0,
            text_summary: None,
            shared_arrays: Default::default(),
        }
    }
}

/// Samples produced by VUs of one thread go into its sink; raw samples are
/// kept as well when an output needs every point.
#[derive(Clone)]
pub struct Emitter {
    sink: Rc<RefCell<Sink>>,
    raw: Option<Rc<RefCell<Vec<Sample>>>>,
}

impl Emitter {
    /// An emitter writing into `sink` and, when given, also into `raw`.
    pub fn new(sink: Rc<RefCell<Sink>>, raw: Option<Rc<RefCell<Vec<Sample>>>>) -> Self {
        Self { sink, raw }
    }

    /// An emitter with a private sink (tests, the init probe).
    pub fn detached() -> Self {
        Self::new(Rc::new(RefCell::new(Sink::new())), None)
    }

    /// Records one sample.
    pub fn emit(&self, metric: Metric, tags: &TagSet, value: f64, time_ns: u64) {
        self.sink.borrow_mut().add(metric, tags, value, time_ns);
        self.keep_raw(metric, tags, value, time_ns);
    }

    /// Records one sample through `at` (see `Sink::add_via`): the caller
    /// keeps one `SeriesRef` per series it records into again and again.
    pub fn emit_via(
        &self,
        at: &mut SeriesRef,
        metric: Metric,
        tags: &TagSet,
        value: f64,
        time_ns: u64,
    ) {
        self.sink
            .borrow_mut()
            .add_via(at, metric, tags, value, time_ns);
        self.keep_raw(metric, tags, value, time_ns);
    }

    /// Keeps the sample for the raw outputs, when they are on.
    fn keep_raw(&self, metric: Metric, tags: &TagSet, value: f64, time_ns: u64) {
        if let Some(raw) = &self.raw {
            raw.borrow_mut().push(Sample {
                metric,
                tags: tags.clone(),
                value,
                time_ns,
            });
        }
    }

    /// The thread's canonical copy of `tags` (see `Sink::intern`).
    pub fn intern(&self, tags: TagSet) -> TagSet {
        self.sink.borrow_mut().intern(tags)
    }

    /// The sink this emitter writes into.
    pub fn sink(&self) -> &Rc<RefCell<Sink>> {
        &self.sink
    }
}

/// Nanoseconds since the Unix epoch, the time stamp of samples.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// What the engine tells a VU about the scenario it runs.
#[derive(Debug, Clone)]
pub struct ScenarioInfo {
    /// Scenario name.
    pub name: String,
    /// Executor name (`constant-vus`...).
    pub executor: String,
    /// The exported function it runs.
    pub exec: String,
    /// Scenario start, milliseconds since the Unix epoch.
    pub start_time_ms: f64,
    /// `__ENV` additions of the scenario.
    pub env: BTreeMap<String, String>,
    /// Tags of the scenario (`scenario` itself included).
    pub tags: TagSet,
}
