//! A VU: one QuickJS context (in the runtime its thread shares, see
//! [`crate::shared`]) running the script's init code once, then its
//! lifecycle functions and iterations on demand.
//!
//! Every method must be called from inside the VU's coroutine ([`crate::coro`]),
//! since native functions suspend it while they wait for I/O.

use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::context::intrinsic::{
    Date, Eval, Json, Promise as PromiseIntrinsic, Proxy, RegExp, RegExpCompiler,
};
use rquickjs::function::Opt;
use rquickjs::promise::PromiseState;
use rquickjs::{CatchResultExt, Context, Ctx, Exception, Function, Object, Persistent, Value};
use stampede_metrics::Builtin;

use crate::coro::{suspend, InterruptSignal};
use crate::error::ScriptError;
use crate::host::{now_ns, Emitter, ScenarioInfo, TestEnv};
use crate::modules;
use crate::program::{resolve, Specifier};
use crate::state::{vu_state, Phase, VuState};

/// Room a VU stack keeps above QuickJS's limit for the Rust frames of
/// native calls (VU stacks have no guard page each: see `stack.rs`).
const NATIVE_STACK_ROOM: usize = 320 * 1024;

/// The stack a VU coroutine needs: QuickJS's own limit plus room for the
/// Rust frames of native calls. Only the pages a VU touches are resident
/// (about 16 KB); the rest is address space.
pub const VU_STACK_SIZE: usize = crate::shared::JS_STACK_LIMIT + NATIVE_STACK_ROOM;

impl Drop for Vu {
    fn drop(&mut self) {
        // Pending operations may hold JavaScript values: release them while
        // the runtime is still alive.
        self.state.ops.cancel_all();
        // SAFETY: the context is alive (dropped after this); no JavaScript runs.
        let ctx = unsafe { Ctx::from_raw(self.context.as_raw()) };
        ctx.forget_class_prototypes();
        crate::state::detach(&ctx);
    }
}

/// What a VU needs from the engine besides the test-wide [`TestEnv`].
pub struct VuConfig {
    /// VU number on this instance, from 1 (0 for the init probe).
    pub id: u64,
    /// VU number across all instances of the test.
    pub id_in_test: u64,
    /// Where the VU's samples go.
    pub emitter: Emitter,
    /// Tells the VU to stop what it is doing.
    pub interrupt: Arc<InterruptSignal>,
}

/// How an iteration ended.
#[derive(Debug, Clone, PartialEq)]
pub enum IterationOutcome {
    /// The function returned (and its timers and promises settled).
    Completed,
    /// The function threw; the text is the error with its stack.
    Failed(String),
    /// The iteration was interrupted before it ended.
    Interrupted,
    /// The script called `exec.test.abort()`.
    Aborted(String),
}

/// What to run in an iteration.
pub struct IterationRequest<'a> {
    /// The exported function to call (`default` unless the scenario's `exec`).
    pub exec: &'a str,
    /// This VU's iteration number within the scenario
    /// (`exec.vu.iterationInScenario`).
    pub iteration_in_scenario: u64,
    /// Iteration number within the scenario on this instance
    /// (`exec.scenario.iterationInInstance`).
    pub iteration_in_instance: u64,
    /// Iteration number within the scenario across all instances.
    pub iteration_in_test: u64,
}

/// What `handleSummary` asked to write, by destination (`stdout`, `stderr`
/// or a file path).
pub type SummaryOutputs = Vec<(String, Vec<u8>)>;

/// A VU with its JavaScript context.
pub struct Vu {
    // Field order matters: JavaScript values must be freed before the
    // context that owns them (the context keeps its runtime alive).
    namespace: Persistent<Object<'static>>,
    /// The last scenario function called, looked up once.
    exec_fn: Option<(String, Persistent<Function<'static>>)>,
    setup_data: Option<(Arc<str>, Persistent<Value<'static>>)>,
    context: Context,
    state: Rc<VuState>,
}

impl Vu {
    /// Creates the VU's context (in the runtime its thread shares for
    /// `test`) and runs the script's init code.
    pub fn new(test: Arc<TestEnv>, cfg: VuConfig) -> Result<Self, ScriptError> {
        let runtime = crate::shared::runtime_for(&test)?;
        // Typed arrays, Map/Set, WeakRef and performance come later, when
        // the code uses them (see `intrinsics`).
        let context = Context::custom::<(
            Date,
            Eval,
            RegExpCompiler,
            RegExp,
            Json,
            Proxy,
            PromiseIntrinsic,
        )>(&runtime)
        .map_err(|e| ScriptError::Exception(format!("context: {e}")))?;
        // SAFETY: atob/btoa, as a full context has them; added once, to a live context.
        unsafe {
            rquickjs::qjs::JS_AddIntrinsicAToB(context.as_raw().as_ptr());
        }
        let state = VuState::new(test, cfg.id, cfg.id_in_test, cfg.emitter, cfg.interrupt);
        let namespace = crate::shared::enter(&context, &state.interrupt, |ctx| {
            crate::state::attach(&ctx, &state);
            install_globals(&ctx, &state)
                .catch(&ctx)
                .map_err(|e| ScriptError::from_caught(&ctx, e))?;
            let program = &state.test.program;
            let result = (|| {
                if crate::commonjs::analysis(program, program.main()).is_ok_and(|a| a.commonjs) {
                    // A CommonJS entry script: `module.exports` holds the exports.
                    let exports = crate::commonjs::run(&ctx, program.main())?;
                    return match exports.into_object() {
                        Some(o) => Ok(o),
                        None => Err(Exception::throw_type(
                            &ctx,
                            "module.exports of the entry script must be an object",
                        )),
                    };
                }
                let module = crate::loader::load_module(&ctx, program, program.main())?;
                let (module, promise) = module.eval()?;
                settle(&ctx, promise.into_value())?;
                module.namespace()
            })();
            let ns = result.catch(&ctx).map_err(|e| error_for(&ctx, &state, e))?;
            Ok(Persistent::save(&ctx, ns))
        })?;
        Ok(Self {
            namespace,
            exec_fn: None,
            setup_data: None,
            context,
            state,
        })
    }

    /// This VU's number on the instance.
    pub fn id(&self) -> u64 {
        self.state.id
    }

    /// The exported `options` as JSON, if the script exports them.
    pub fn options(&self) -> Result<Option<serde_json::Value>, ScriptError> {
        self.with_ns(|ctx, ns| {
            let v: Value = ns.get("options")?;
            if v.is_undefined() || v.is_null() {
                return Ok(None);
            }
            crate::value::to_json(ctx, v).map(Some)
        })
    }

    /// Names of the exported functions.
    pub fn exported_functions(&self) -> Vec<String> {
        self.with_ns(|_, ns| {
            let mut out = Vec::new();
            for kv in ns.props::<String, Value>() {
                let (k, v) = kv?;
                if v.is_function() {
                    out.push(k);
                }
            }
            Ok(out)
        })
        .unwrap_or_default()
    }

    /// Starts running iterations of `scenario` (sets its tags and `__ENV`).
    pub fn activate(&mut self, scenario: Arc<ScenarioInfo>) {
        let env_changed = !scenario.env.is_empty()
            || self
                .state
                .scenario
                .borrow()
                .as_ref()
                .is_some_and(|s| !s.env.is_empty());
        *self.state.scenario.borrow_mut() = Some(scenario);
        self.state.iteration_in_scenario.set(0);
        self.state.rebuild_tags();
        if env_changed {
            let state = self.state.clone();
            let _ = self.enter(|ctx| install_env(&ctx, &state));
        }
    }

    /// Runs one iteration of `req.exec`, passing the setup data (JSON text)
    /// when there is any. Emits `iterations`, `iteration_duration`,
    /// `data_sent` and `data_received` as k6 does.
    pub fn run_iteration(
        &mut self,
        req: IterationRequest<'_>,
        setup_json: Option<&Arc<str>>,
    ) -> IterationOutcome {
        let st = self.state.clone();
        st.phase.set(Phase::Iteration);
        st.iteration_in_scenario.set(req.iteration_in_scenario);
        st.iteration_in_instance.set(req.iteration_in_instance);
        st.iteration_in_test.set(req.iteration_in_test);
        st.http.start_iteration(&st.test);
        self.ensure_setup_data(setup_json);
        let cached = match &self.exec_fn {
            Some((name, f)) if name == req.exec => Some(f.clone()),
            _ => None,
        };
        let exec = match cached {
            Some(f) => f,
            None => {
                let looked_up = self.with_ns(|ctx, ns| {
                    let f: Function = ns.get(req.exec)?;
                    Ok(Persistent::save(ctx, f))
                });
                match looked_up {
                    Ok(f) => {
                        self.exec_fn = Some((req.exec.to_string(), f.clone()));
                        f
                    }
                    Err(e) => {
                        let outcome = IterationOutcome::Failed(e.to_string());
                        self.finish_iteration(&outcome, Duration::ZERO);
                        return outcome;
                    }
                }
            }
        };
        let start = Instant::now();
        let data = self.setup_data.as_ref().map(|(_, p)| p.clone());
        let result = self.with_ns(|ctx, _ns| {
            let f: Function = exec.restore(ctx)?;
            let arg = match data {
                Some(p) => p.restore(ctx)?,
                None => Value::new_undefined(ctx.clone()),
            };
            let ret: Value = f.call((arg,))?;
            settle(ctx, ret)
        });
        let elapsed = start.elapsed();
        let outcome = match result {
            Ok(()) => IterationOutcome::Completed,
            Err(ScriptError::Interrupted) => IterationOutcome::Interrupted,
            Err(ScriptError::Aborted(r)) => IterationOutcome::Aborted(r),
            Err(e) => IterationOutcome::Failed(e.to_string()),
        };
        self.finish_iteration(&outcome, elapsed);
        outcome
    }

    fn finish_iteration(&mut self, outcome: &IterationOutcome, elapsed: Duration) {
        let st = &self.state;
        st.ops.cancel_all();
        if st.timers_armed.replace(false) {
            let _ = self.enter(|ctx| -> rquickjs::Result<()> {
                let timers: Object = ctx.globals().get("__stampede_timers")?;
                timers.get::<_, Function>("clear")?.call::<_, ()>(())
            });
        }
        // A group left by an exception or interruption still closes.
        if !st.group_stack.borrow().is_empty() {
            st.group_stack.borrow_mut().clear();
            st.group.borrow_mut().clear();
            st.rebuild_tags();
        }
        let now = now_ns();
        st.flush_data_counters_at(now);
        // An iteration that called `exec.test.abort()` ended, as far as
        // k6's `iterations` and `iteration_duration` go; an interrupted one
        // did not.
        if *outcome != IterationOutcome::Interrupted {
            st.emit_at(Builtin::Iterations.metric(), &[], 1.0, now);
            st.emit_at(
                Builtin::IterationDuration.metric(),
                &[],
                elapsed.as_secs_f64() * 1000.0,
                now,
            );
        }
        st.iteration.set(st.iteration.get() + 1);
        st.iteration_in_scenario
            .set(st.iteration_in_scenario.get() + 1);
    }

    fn ensure_setup_data(&mut self, json: Option<&Arc<str>>) {
        let current = self.setup_data.as_ref().map(|(j, _)| j.clone());
        match (json, current) {
            (None, _) => self.setup_data = None,
            (Some(j), Some(c)) if Arc::ptr_eq(j, &c) => {}
            (Some(j), _) => {
                let parsed = self.enter(|ctx| {
                    crate::value::from_json_str(&ctx, j).map(|v| Persistent::save(&ctx, v))
                });
                self.setup_data = parsed.ok().map(|p| (j.clone(), p));
            }
        }
    }

    /// Calls `setup()` if exported; returns its result as JSON text.
    pub fn call_setup(&mut self) -> Result<Option<String>, ScriptError> {
        self.state.phase.set(Phase::Setup);
        self.state.set_lifecycle_group("::setup");
        self.state.http.start_iteration(&self.state.test);
        let out = self.with_ns(|ctx, ns| {
            let v: Value = ns.get("setup")?;
            let Some(f) = v.as_function() else {
                return Ok(None);
            };
            let ret: Value = f.call(())?;
            let ret = settle_value(ctx, ret)?;
            if ret.is_undefined() {
                return Ok(None);
            }
            ctx.json_stringify(ret)?.map(|s| s.to_string()).transpose()
        });
        self.state.flush_data_counters();
        self.state.set_lifecycle_group("");
        out
    }

    /// Calls `teardown(data)` if exported.
    pub fn call_teardown(&mut self, setup_json: Option<&Arc<str>>) -> Result<(), ScriptError> {
        self.state.phase.set(Phase::Teardown);
        self.state.set_lifecycle_group("::teardown");
        self.state.http.start_iteration(&self.state.test);
        self.ensure_setup_data(setup_json);
        let data = self.setup_data.as_ref().map(|(_, p)| p.clone());
        let out = self.with_ns(|ctx, ns| {
            let v: Value = ns.get("teardown")?;
            let Some(f) = v.as_function() else {
                return Ok(());
            };
            let arg = match data {
                Some(p) => p.restore(ctx)?,
                None => Value::new_undefined(ctx.clone()),
            };
            let ret: Value = f.call((arg,))?;
            settle(ctx, ret)
        });
        self.state.flush_data_counters();
        self.state.set_lifecycle_group("");
        out
    }

    /// Whether the script exports `handleSummary`.
    pub fn has_handle_summary(&self) -> bool {
        self.exported_functions()
            .iter()
            .any(|f| f == "handleSummary")
    }

    /// Calls `handleSummary(data)`; returns what it asked to write, or
    /// `None` when the script does not export it.
    pub fn call_handle_summary(
        &mut self,
        data: &serde_json::Value,
    ) -> Result<Option<SummaryOutputs>, ScriptError> {
        self.state.phase.set(Phase::Summary);
        self.with_ns(|ctx, ns| {
            let v: Value = ns.get("handleSummary")?;
            let Some(f) = v.as_function() else {
                return Ok(None);
            };
            let arg = crate::value::from_json(ctx, data)?;
            let ret: Value = f.call((arg,))?;
            let ret = settle_value(ctx, ret)?;
            let Some(obj) = ret.as_object() else {
                if ret.is_undefined() || ret.is_null() {
                    return Ok(Some(Vec::new()));
                }
                return Err(Exception::throw_type(
                    ctx,
                    "handleSummary() must return an object mapping outputs to their content",
                ));
            };
            let mut outs = Vec::new();
            for kv in obj.props::<String, Value>() {
                let (k, v) = kv?;
                let bytes = if v.is_string() {
                    v.as_string().expect("checked").to_string()?.into_bytes()
                } else if v.is_object() && !v.is_array() {
                    match crate::bytes::to_bytes(ctx, &v) {
                        Ok(b) => b,
                        Err(_) => crate::value::to_display_string(ctx, &v)?.into_bytes(),
                    }
                } else {
                    crate::value::to_display_string(ctx, &v)?.into_bytes()
                };
                outs.push((k, bytes));
            }
            Ok(Some(outs))
        })
    }

    /// Runs `f` in this VU's context.
    fn enter<R>(&self, f: impl for<'js> FnOnce(Ctx<'js>) -> R) -> R {
        crate::shared::enter(&self.context, &self.state.interrupt, f)
    }

    /// Runs `f` with the module namespace, converting exceptions.
    fn with_ns<T>(
        &self,
        f: impl for<'js> FnOnce(&Ctx<'js>, Object<'js>) -> rquickjs::Result<T>,
    ) -> Result<T, ScriptError> {
        let state = self.state.clone();
        self.enter(|ctx| {
            let ns = self
                .namespace
                .clone()
                .restore(&ctx)
                .map_err(|e| ScriptError::Exception(e.to_string()))?;
            f(&ctx, ns)
                .catch(&ctx)
                .map_err(|e| error_for(&ctx, &state, e))
        })
    }
}

/// Maps a caught exception, recognizing aborts and interruptions.
fn error_for<'js>(ctx: &Ctx<'js>, state: &VuState, e: rquickjs::CaughtError<'js>) -> ScriptError {
    if let Some(reason) = state.test.control.abort_reason() {
        return ScriptError::Aborted(reason);
    }
    let err = ScriptError::from_caught(ctx, e);
    if state.interrupt.is_set() {
        return ScriptError::Interrupted;
    }
    err
}

/// Runs the event loop until `ret` (a promise or plain value) settles and no
/// timer is pending, as k6 does before ending an iteration.
fn settle<'js>(ctx: &Ctx<'js>, ret: Value<'js>) -> rquickjs::Result<()> {
    settle_value(ctx, ret).map(|_| ())
}

/// Like [`settle`], returning the promise's value (or `ret` itself).
pub(crate) fn settle_value<'js>(ctx: &Ctx<'js>, ret: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let state = vu_state(ctx);
    let mut hooks: Option<(Function, Function)> = None;
    loop {
        while crate::shared::run_job(ctx) {}
        if let Some(p) = ret.as_promise() {
            if p.state() == PromiseState::Rejected {
                return p
                    .result::<Value>()
                    .unwrap_or_else(|| Ok(Value::new_undefined(ctx.clone())));
            }
        }
        let has_ops = !state.ops.is_empty();
        // Most iterations set no timer and start no operation: nothing to
        // wait for.
        if !state.timers_armed.get() && !has_ops {
            break;
        }
        let mut wait = None;
        if state.timers_armed.get() {
            if hooks.is_none() {
                let timers: Object = ctx.globals().get("__stampede_timers")?;
                hooks = Some((timers.get("next")?, timers.get("fire")?));
            }
            let (next, _) = hooks.as_ref().expect("set above");
            let ms: f64 = next.call(())?;
            if ms < 0.0 {
                state.timers_armed.set(false);
            } else {
                wait = Some(stampede_config::K6Duration::from_millis_f64(ms).to_std_or_zero());
            }
        }
        if !has_ops && wait.is_none() {
            break;
        }
        match wait_for_event(&state, wait).map_err(|_| modules::k6::interrupted(ctx))? {
            Some(callback) => callback(ctx)?,
            None => {
                let (_, fire) = hooks.as_ref().expect("a timer is due");
                fire.call::<_, ()>(())?;
            }
        }
    }
    match ret.as_promise() {
        Some(p) => match p.state() {
            PromiseState::Pending => Ok(Value::new_undefined(ctx.clone())),
            _ => p
                .result::<Value>()
                .unwrap_or_else(|| Ok(Value::new_undefined(ctx.clone()))),
        },
        None => Ok(ret),
    }
}

/// Waits for the first pending operation to complete (its callback) or,
/// when `timer` is given, for that long (`None`).
fn wait_for_event(
    state: &VuState,
    timer: Option<Duration>,
) -> Result<Option<crate::ops::Callback>, crate::coro::Interrupted> {
    use futures_util::StreamExt;
    if state.ops.is_empty() {
        let d = timer.unwrap_or_default();
        if !d.is_zero() {
            suspend(move || tokio::time::sleep(d))?;
        }
        return Ok(None);
    }
    let mut ops = state.ops.take();
    let (out, ops) = suspend(move || async move {
        let out = match timer {
            Some(d) => tokio::select! {
                cb = ops.next() => cb,
                _ = tokio::time::sleep(d) => None,
            },
            None => ops.next().await,
        };
        (out, ops)
    })?;
    state.ops.restore(ops);
    Ok(out)
}

/// Defines the globals of a VU: `__ENV`, `__VU`, `__ITER`, `open`,
/// `require`, `console`, timers.
fn install_globals<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> rquickjs::Result<()> {
    let g = ctx.globals();
    let epoch = Instant::now();
    g.set(
        "__stampede_now",
        Function::new(ctx.clone(), move || epoch.elapsed().as_secs_f64() * 1000.0)?,
    )?;
    let s = state.clone();
    g.set(
        "__stampede_arm",
        Function::new(ctx.clone(), move || s.timers_armed.set(true))?,
    )?;
    // A module rather than a script: its bytecode is compiled once and shared.
    crate::loader::eval_builtin(ctx, &state.test.program, "stampede:prelude")?;
    modules::console::install(ctx, state)?;
    modules::webcrypto::install_global(ctx, state)?;
    install_env(ctx, state)?;
    g.set("__VU", state.id)?;
    let s = state.clone();
    let iter_getter = Function::new(ctx.clone(), move || s.iteration.get())?;
    let define: Function = ctx.eval(
        "(function (get) { Object.defineProperty(globalThis, '__ITER', { get, configurable: true }); })",
    )?;
    define.call::<_, ()>((iter_getter,))?;
    g.set("open", Function::new(ctx.clone(), open)?.with_name("open")?)?;
    crate::commonjs::install(ctx)?;
    Ok(())
}

/// Sets `__ENV` from the test's environment and the scenario's `env`.
fn install_env<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> rquickjs::Result<()> {
    let env = Object::new(ctx.clone())?;
    for (k, v) in &state.test.env {
        env.set(k.as_str(), v.as_str())?;
    }
    if let Some(s) = &*state.scenario.borrow() {
        for (k, v) in &s.env {
            env.set(k.as_str(), v.as_str())?;
        }
    }
    ctx.globals().set("__ENV", env)
}

/// The module that called the current native function.
pub(crate) fn calling_module(ctx: &Ctx<'_>) -> String {
    for level in 0..3 {
        if let Some(name) = ctx
            .script_or_module_name(level)
            .and_then(|a| a.to_string().ok())
        {
            if crate::program::is_user_module(&name) {
                return name;
            }
        }
    }
    vu_state(ctx).test.program.main().to_string()
}

/// `open(path, mode)`: reads a file in the init context, relative to the
/// calling module.
fn open<'js>(
    ctx: Ctx<'js>,
    path: String,
    mode: Opt<Option<String>>,
) -> rquickjs::Result<Value<'js>> {
    let state = vu_state(&ctx);
    if !state.in_init() {
        return Err(Exception::throw_message(
            &ctx,
            "the \"open\" function is only available in the init stage (i.e. the global scope)",
        ));
    }
    let base = calling_module(&ctx);
    let full = if Path::new(&path).is_absolute() {
        crate::program::normalize(Path::new(&path))
    } else if crate::program::is_remote(&base) {
        // A remote module opens files next to it, on its server.
        let url = match resolve(&base, &path) {
            Ok(Specifier::File(u)) => u,
            Ok(Specifier::Builtin(u)) => u,
            Err(m) => return Err(Exception::throw_message(&ctx, &m)),
        };
        std::path::PathBuf::from(url)
    } else {
        let dir = Path::new(&base).parent().unwrap_or(Path::new("/"));
        crate::program::normalize(&dir.join(path.trim_start_matches("file://")))
    };
    let data = state
        .test
        .program
        .read(&full)
        .map_err(|m| Exception::throw_message(&ctx, &m))?;
    match mode.0.flatten().as_deref() {
        Some("b") => crate::bytes::array_buffer(&ctx, data.to_vec()),
        None | Some("") | Some("r") => {
            let s = String::from_utf8_lossy(&data);
            Ok(rquickjs::String::from_str(ctx, &s)?.into_value())
        }
        Some(other) => Err(Exception::throw_type(
            &ctx,
            &format!("open(): unknown mode \"{other}\"; use \"b\" for binary"),
        )),
    }
}
