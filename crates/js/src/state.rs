//! Per-VU state shared by the native functions of the k6 modules.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::rc::Rc;
use std::sync::Arc;

use rquickjs::Ctx;
use stampede_metrics::{Builtin, Metric, TagSet};

use crate::coro::InterruptSignal;
use crate::host::{now_ns, Emitter, ScenarioInfo, TestEnv};

/// Extra tag pairs and the tag set they derive.
type DerivedTags = (Vec<(Box<str>, Box<str>)>, TagSet);

/// Distinct derived tag sets a VU keeps before starting over.
const MAX_DERIVED_TAGS: usize = 64;

/// Which part of the script lifecycle a VU is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Top-level module code.
    Init,
    /// `setup()`.
    Setup,
    /// An iteration of a scenario's function.
    Iteration,
    /// `teardown()`.
    Teardown,
    /// `handleSummary()`.
    Summary,
}

/// State of one VU, reachable from every native function it calls.
pub(crate) struct VuState {
    pub test: Arc<TestEnv>,
    pub id: u64,
    pub id_in_test: u64,
    pub emitter: Emitter,
    pub interrupt: Arc<InterruptSignal>,
    pub phase: Cell<Phase>,
    /// `__ITER`: iterations this VU started, across scenarios.
    pub iteration: Cell<u64>,
    pub iteration_in_scenario: Cell<u64>,
    /// `exec.scenario.iterationInInstance`.
    pub iteration_in_instance: Cell<u64>,
    pub iteration_in_test: Cell<u64>,
    pub scenario: RefCell<Option<Arc<ScenarioInfo>>>,
    /// Tags set by the script through `exec.vu.tags`.
    pub custom_tags: RefCell<Vec<(String, String)>>,
    /// `exec.vu.metrics.metadata`.
    pub metadata: RefCell<Vec<(String, String)>>,
    /// The current group path (`""` at the root, `"::a::b"` when nested).
    pub group: RefCell<String>,
    /// Enclosing groups: the parent path and when the group started.
    pub group_stack: RefCell<Vec<(String, std::time::Instant)>>,
    /// Tags every sample of the VU carries right now (test, scenario,
    /// custom tags and `group`), rebuilt when one of those changes.
    pub tags: RefCell<TagSet>,
    /// Tag sets derived from [`VuState::tags`] plus extra pairs (checks,
    /// requests), reused while the VU's tags stay the same.
    derived: RefCell<Vec<DerivedTags>>,
    /// A timer was set since the event loop last ran dry.
    pub timers_armed: Cell<bool>,
    /// Asynchronous operations the event loop waits for.
    pub ops: crate::ops::Ops,
    /// Optional built-ins added to the context so far.
    pub intrinsics: Cell<crate::intrinsics::Needs>,
    pub bytes_sent: Cell<u64>,
    pub bytes_received: Cell<u64>,
    pub http: crate::modules::http::VuHttp,
}

impl VuState {
    pub fn new(
        test: Arc<TestEnv>,
        id: u64,
        id_in_test: u64,
        emitter: Emitter,
        interrupt: Arc<InterruptSignal>,
    ) -> Rc<Self> {
        let http = crate::modules::http::VuHttp::new(&test);
        let state = Rc::new(Self {
            test,
            id,
            id_in_test,
            emitter,
            interrupt,
            phase: Cell::new(Phase::Init),
            iteration: Cell::new(0),
            iteration_in_scenario: Cell::new(0),
            iteration_in_instance: Cell::new(0),
            iteration_in_test: Cell::new(0),
            scenario: RefCell::new(None),
            custom_tags: RefCell::new(Vec::new()),
            metadata: RefCell::new(Vec::new()),
            group: RefCell::new(String::new()),
            group_stack: RefCell::new(Vec::new()),
            tags: RefCell::new(TagSet::empty()),
            derived: RefCell::new(Vec::new()),
            timers_armed: Cell::new(false),
            ops: Default::default(),
            intrinsics: Cell::new(0),
            bytes_sent: Cell::new(0),
            bytes_received: Cell::new(0),
            http,
        });
        state.rebuild_tags();
        state
    }

    /// Recomputes [`VuState::tags`] from its sources.
    pub fn rebuild_tags(&self) {
        let mut pairs: Vec<(String, String)> = self
            .test
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(s) = &*self.scenario.borrow() {
            pairs.extend(s.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        }
        pairs.extend(self.custom_tags.borrow().iter().cloned());
        // A system tag like the others: k6 leaves it out when `systemTags`
        // does not list it.
        if self.test.http.system_tags.contains("group") {
            pairs.push(("group".into(), self.group.borrow().clone()));
        }
        *self.tags.borrow_mut() = self.emitter.intern(TagSet::from_pairs(pairs));
        self.derived.borrow_mut().clear();
    }

    /// The current tags plus `extra` (later pairs win), built once per
    /// distinct `extra` while the VU's tags stay the same and shared with
    /// the thread's other VUs through the sink's interning.
    pub fn tags_with(&self, extra: &[(&str, &str)]) -> TagSet {
        if extra.is_empty() {
            return self.tags();
        }
        let same = |k: &[(Box<str>, Box<str>)]| {
            k.len() == extra.len()
                && k.iter()
                    .zip(extra)
                    .all(|(a, b)| &*a.0 == b.0 && &*a.1 == b.1)
        };
        if let Some((_, t)) = self.derived.borrow().iter().find(|(k, _)| same(k)) {
            return t.clone();
        }
        let base = self.tags();
        let t = self
            .emitter
            .intern(TagSet::from_pairs(base.iter().chain(extra.iter().copied())));
        let mut d = self.derived.borrow_mut();
        if d.len() >= MAX_DERIVED_TAGS {
            d.clear();
        }
        d.push((
            extra
                .iter()
                .map(|(k, v)| (Box::from(*k), Box::from(*v)))
                .collect(),
            t.clone(),
        ));
        t
    }

    /// Current tags.
    pub fn tags(&self) -> TagSet {
        self.tags.borrow().clone()
    }

    /// Records a sample with the VU's current tags plus `extra`.
    pub fn emit(&self, metric: Metric, extra: &[(&str, &str)], value: f64) {
        self.emit_at(metric, extra, value, now_ns());
    }

    /// [`VuState::emit`] with the time stamp given.
    pub fn emit_at(&self, metric: Metric, extra: &[(&str, &str)], value: f64, time_ns: u64) {
        let tags = self.tags_with(extra);
        self.emitter.emit(metric, &tags, value, time_ns);
    }

    /// Emits `data_sent`/`data_received` accumulated since the last call, as
    /// k6 does at the end of each iteration, setup and teardown (zero
    /// included).
    pub fn flush_data_counters(&self) {
        self.flush_data_counters_at(now_ns());
    }

    /// [`VuState::flush_data_counters`] with the time stamp given.
    pub fn flush_data_counters_at(&self, now: u64) {
        let sent = self.bytes_sent.replace(0);
        let received = self.bytes_received.replace(0);
        let tags = self.tags();
        self.emitter
            .emit(Builtin::DataSent.metric(), &tags, sent as f64, now);
        self.emitter
            .emit(Builtin::DataReceived.metric(), &tags, received as f64, now);
    }

    /// Enters one of the implicit groups k6 runs `setup()` and
    /// `teardown()` in (`::setup`, `::teardown`), or the root group.
    pub fn set_lifecycle_group(&self, path: &str) {
        *self.group.borrow_mut() = path.to_string();
        self.rebuild_tags();
    }

    /// Whether the VU is in its init context.
    pub fn in_init(&self) -> bool {
        self.phase.get() == Phase::Init
    }
}

/// Makes `state` the one [`vu_state`] finds for `ctx`. The context's
/// opaque pointer holds a reference to it until [`detach`].
pub(crate) fn attach(ctx: &Ctx<'_>, state: &Rc<VuState>) {
    let ptr = Rc::into_raw(state.clone());
    // SAFETY: a live context; rquickjs does not use the context opaque.
    unsafe { rquickjs::qjs::JS_SetContextOpaque(ctx.as_raw().as_ptr(), ptr as *mut c_void) };
}

/// Drops the reference [`attach`] stored in `ctx`.
pub(crate) fn detach(ctx: &Ctx<'_>) {
    // SAFETY: a live context; its opaque is null or set by `attach`.
    unsafe {
        let ptr = rquickjs::qjs::JS_GetContextOpaque(ctx.as_raw().as_ptr()) as *const VuState;
        rquickjs::qjs::JS_SetContextOpaque(ctx.as_raw().as_ptr(), std::ptr::null_mut());
        if !ptr.is_null() {
            drop(Rc::from_raw(ptr));
        }
    }
}

/// The state of the VU owning `ctx`.
pub(crate) fn vu_state(ctx: &Ctx<'_>) -> Rc<VuState> {
    // SAFETY: a live context; its opaque is null or a reference made by
    // `attach`, which stays until `detach`.
    unsafe {
        let ptr = rquickjs::qjs::JS_GetContextOpaque(ctx.as_raw().as_ptr()) as *const VuState;
        assert!(!ptr.is_null(), "every VU context stores its state");
        Rc::increment_strong_count(ptr);
        Rc::from_raw(ptr)
    }
}
