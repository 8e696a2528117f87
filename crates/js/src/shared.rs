//! One QuickJS runtime per thread and test, shared by that thread's VUs.
//!
//! A runtime holds what its contexts have in common: the atoms (every
//! property and function name), the class table, the shape hash. With a
//! runtime per VU that was about 60 KB of every VU; now the VUs of a test on
//! one thread share a runtime, each VU with its own context (its own
//! globals and modules, as in k6).
//!
//! Sharing needs care because a VU suspends in the middle of JavaScript
//! (see [`crate::coro`]) and QuickJS keeps the current stack frame, the
//! stack window and the pending exception in the runtime:
//! - [`enter`] marks a VU as the one running JavaScript on this thread and
//!   sets the stack window to its coroutine's stack;
//! - when that VU suspends, [`park`] moves the runtime's execution state
//!   into the coroutine and leaves the runtime idle for the next VU;
//!   [`Parked::resume`] puts it back;
//! - jobs (promise reactions) run per context ([`run_job`]), the interrupt
//!   handler checks the running VU's signal, the VU's state is the
//!   context's opaque pointer, and the vendored rquickjs keeps class
//!   prototypes per context.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void};
use std::sync::{Arc, Weak};

use rquickjs::qjs::{JSContext, JSRuntime};
use rquickjs::runtime::WeakRuntime;
use rquickjs::{Ctx, Runtime};

use crate::coro::InterruptSignal;
use crate::error::ScriptError;
use crate::host::TestEnv;
use crate::loader::{ScriptLoader, ScriptResolver};

/// QuickJS's own stack limit; the coroutine stack adds room for the Rust
/// frames of native calls.
pub(crate) const JS_STACK_LIMIT: usize = 192 * 1024;

/// Machine words of QuickJS's saved execution state (`JS_EXEC_STATE_WORDS`
/// in the vendored quickjs.c).
const EXEC_STATE_WORDS: usize = 8;

extern "C" {
    // Added to the vendored QuickJS (vendor/rquickjs-sys/STAMPEDE-PATCH.md).
    fn JS_ParkExecState(rt: *mut JSRuntime, buf: *mut c_void);
    fn JS_UnparkExecState(rt: *mut JSRuntime, buf: *const c_void);
    fn JS_LeaveExecState(rt: *mut JSRuntime);
    fn JS_ExecutePendingJobOf(ctx: *mut JSContext) -> c_int;
}

/// The VU running JavaScript on this thread.
#[derive(Clone, Copy)]
struct Active {
    rt: *mut JSRuntime,
    signal: *const InterruptSignal,
}

thread_local! {
    static ACTIVE: Cell<Option<Active>> = const { Cell::new(None) };
    /// The runtimes of this thread, by test.
    static RUNTIMES: RefCell<Vec<(Weak<TestEnv>, WeakRuntime)>> = const { RefCell::new(Vec::new()) };
}

/// The runtime this thread's VUs of `test` share, created on first use.
pub(crate) fn runtime_for(test: &Arc<TestEnv>) -> Result<Runtime, ScriptError> {
    RUNTIMES.with(|cell| {
        let mut runtimes = cell.borrow_mut();
        runtimes.retain(|(t, r)| t.strong_count() > 0 && r.try_ref().is_some());
        if let Some(rt) = runtimes
            .iter()
            .find(|(t, _)| std::ptr::eq(t.as_ptr(), Arc::as_ptr(test)))
            .and_then(|(_, r)| r.try_ref())
        {
            return Ok(rt);
        }
        let rt = Runtime::new().map_err(|e| ScriptError::Exception(format!("runtime: {e}")))?;
        rt.set_max_stack_size(JS_STACK_LIMIT);
        if test.memory_limit > 0 {
            rt.set_memory_limit(test.memory_limit);
        }
        rt.set_interrupt_handler(Some(Box::new(|| {
            ACTIVE.with(|a| {
                // SAFETY: the signal belongs to the VU inside `enter`, which
                // keeps it alive while it is the active one.
                a.get().is_some_and(|a| unsafe { &*a.signal }.is_set())
            })
        })));
        rt.set_loader(
            ScriptResolver {
                program: test.program.clone(),
            },
            ScriptLoader {
                program: test.program.clone(),
            },
        );
        runtimes.push((Arc::downgrade(test), rt.weak()));
        Ok(rt)
    })
}

/// Runs `f` with `ctx` as the context running JavaScript on this thread,
/// interruptible by `signal`. Must be called on the coroutine that owns the
/// context (its stack becomes the runtime's stack window).
pub(crate) fn enter<R>(
    ctx: &rquickjs::Context,
    signal: &Arc<InterruptSignal>,
    f: impl for<'js> FnOnce(Ctx<'js>) -> R,
) -> R {
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is a live context (`ctx` owns a reference).
    let rt = unsafe { rquickjs::qjs::JS_GetRuntime(raw) };
    let previous = ACTIVE.with(|a| {
        a.replace(Some(Active {
            rt,
            signal: Arc::as_ptr(signal),
        }))
    });
    struct Leave(*mut JSRuntime, Option<Active>);
    impl Drop for Leave {
        fn drop(&mut self) {
            if self.1.is_none() {
                // SAFETY: the runtime is alive (the context holds it).
                unsafe { JS_LeaveExecState(self.0) };
            }
            ACTIVE.with(|a| a.set(self.1));
        }
    }
    let outermost = previous.is_none();
    let _leave = Leave(rt, previous);
    if outermost {
        // SAFETY: the runtime is alive; the stack window now starts here, on
        // this coroutine's stack. A nested entry keeps the outer window:
        // moving it down would let JavaScript eat into the room that VU
        // stacks keep for native frames (stacks have no guard page each).
        unsafe { rquickjs::qjs::JS_UpdateStackTop(rt) };
    }
    // SAFETY: the context is alive for the call and only used on this
    // thread; no other VU runs JavaScript until this one returns or parks
    // (which saves the runtime's state), so nothing else holds the runtime.
    let ctx = unsafe { Ctx::from_raw(ctx.as_raw()) };
    f(ctx)
}

/// The execution state of a VU suspended in the middle of JavaScript.
pub(crate) struct Parked {
    active: Active,
    state: [usize; EXEC_STATE_WORDS],
}

/// Called by a coroutine about to suspend: when its VU is running
/// JavaScript, moves the runtime's execution state out so other VUs of the
/// thread can run.
pub(crate) fn park() -> Option<Parked> {
    let active = ACTIVE.with(|a| a.take())?;
    let mut parked = Parked {
        active,
        state: [0; EXEC_STATE_WORDS],
    };
    // SAFETY: the runtime is alive (the active VU holds it); the buffer has
    // the size the C side checks for.
    unsafe { JS_ParkExecState(active.rt, parked.state.as_mut_ptr().cast()) };
    Some(parked)
}

impl Parked {
    /// Called by the coroutine when it resumes: makes its VU the active one
    /// again with the state it left.
    pub(crate) fn resume(self) {
        // SAFETY: as in `park`; the runtime is idle (whoever ran meanwhile
        // parked or left), so restoring overwrites nothing in use.
        unsafe { JS_UnparkExecState(self.active.rt, self.state.as_ptr().cast()) };
        ACTIVE.with(|a| a.set(Some(self.active)));
    }
}

/// Runs one pending job of `ctx`'s own; false when it has none. A job that
/// threw (an uncatchable interruption) leaves no exception behind.
pub(crate) fn run_job(ctx: &Ctx<'_>) -> bool {
    // SAFETY: a live context, inside `enter`.
    match unsafe { JS_ExecutePendingJobOf(ctx.as_raw().as_ptr()) } {
        0 => false,
        1 => true,
        _ => {
            let _ = ctx.catch();
            true
        }
    }
}
