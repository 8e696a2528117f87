//! VU coroutines: synchronous JavaScript calls that wait on futures.
//!
//! k6's API is synchronous (`const res = http.get(url)`), but the I/O under it
//! is async. Each VU therefore runs on its own small stack (a corosensei
//! coroutine). A native function that needs to wait calls [`suspend`] with a
//! future; the coroutine switches back to its driver ([`Coro::run`], an async
//! task on the thread's Tokio runtime), which awaits the future and resumes the
//! coroutine with the output. Thousands of VUs share one thread this way.
//!
//! A coroutine that is suspended inside QuickJS must never be unwound (Rust
//! panics cannot cross C frames), so a VU is always driven to completion: when
//! it must stop, the pending future is dropped and the coroutine is resumed with
//! [`Interrupted`], which the binding turns into a JavaScript exception.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use corosensei::{Coroutine, CoroutineResult, Yielder};
use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

use crate::stack::SlabStack;
pub use crate::stack::SLAB_STACKS;

type Resume = Box<dyn Any>;
/// A suspended wait: the future and whether an interrupt may abandon it.
type Wait = (Pin<Box<dyn Future<Output = Resume>>>, bool);
type VuYielder = Yielder<Resume, Wait>;

thread_local! {
    /// The yielder of the coroutine running on this thread right now.
    static CURRENT: Cell<*const VuYielder> = const { Cell::new(std::ptr::null()) };
}

/// The VU was told to stop while it was waiting: the wait was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Whether the caller runs inside a VU coroutine (so [`suspend`] may be used).
pub fn in_coroutine() -> bool {
    CURRENT.with(|c| !c.get().is_null())
}

/// Waits for the future `make` returns, from synchronous code running
/// inside a VU coroutine.
///
/// The future is made on the driver's side when it is first polled: an
/// I/O future can be several KB, and building it here would grow every VU's
/// stack by that much for good (stack pages stay resident once touched).
///
/// Returns `Err(Interrupted)` when the VU's [`InterruptSignal`] fired while
/// waiting (the future is then dropped unfinished). Outside a coroutine the
/// future cannot be awaited and `Err(Interrupted)` is returned as well.
pub fn suspend<F, Fut>(make: F) -> Result<Fut::Output, Interrupted>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    wait(make, true)
}

/// Like [`suspend`], but an interrupt does not abandon the wait: for a VU
/// idling between jobs, where the signal is meant for its next iteration.
pub fn suspend_uninterruptible<F, Fut>(make: F) -> Result<Fut::Output, Interrupted>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    wait(make, false)
}

fn wait<F, Fut>(make: F, interruptible: bool) -> Result<Fut::Output, Interrupted>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    let yielder = CURRENT.with(|c| c.get());
    if yielder.is_null() {
        return Err(Interrupted);
    }
    // The wrapper holds `make` and then a box of its future: both small.
    let boxed: Wait = (
        Box::pin(async move { Box::new(Box::pin(make()).await) as Resume }),
        interruptible,
    );
    // Other VUs of the thread run JavaScript in the same QuickJS runtime
    // while this one waits.
    let parked = crate::shared::park();
    // SAFETY: `yielder` was set by this coroutine's own body (see `Coro::new`)
    // and lives on its stack for as long as the coroutine runs; we are inside
    // that coroutine, so it is alive.
    let out = unsafe { &*yielder }.suspend(boxed);
    // Other coroutines ran on this thread meanwhile and changed CURRENT.
    CURRENT.with(|c| c.set(yielder));
    if let Some(parked) = parked {
        parked.resume();
    }
    match out.downcast::<Fut::Output>() {
        Ok(v) => Ok(*v),
        Err(_) => Err(Interrupted),
    }
}

/// Tells a VU to abandon what it is waiting for, and QuickJS to stop running
/// its code (checked by the runtime's interrupt handler).
#[derive(Debug, Default)]
pub struct InterruptSignal {
    flag: AtomicBool,
    notify: Notify,
    /// The task running the VU, for [`InterruptSignal::interrupted`].
    owner: AtomicWaker,
}

impl InterruptSignal {
    /// A new, unset signal.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Fires the signal.
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        self.owner.wake();
    }

    /// Clears the signal so the VU can run again.
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
    }

    /// Whether the signal is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Returns once the signal is set (at once if it is already), for the
    /// one task that runs the VU: it waits without the lock and the waiter
    /// list of [`InterruptSignal::wait`] (about 500 instructions per
    /// iteration of a native VU), but only the last task to poll it is
    /// woken. Any other waiter uses `wait`.
    pub fn interrupted(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.is_set() {
                return Poll::Ready(());
            }
            self.owner.register(cx.waker());
            // Set between the check and the registration: `interrupt` may
            // have woken the previous waker.
            if self.flag.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// Returns once the signal is set (at once if it is already).
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// A VU's coroutine: a closure running on its own stack.
pub struct Coro<R> {
    inner: Option<Coroutine<Resume, Wait, R, SlabStack>>,
}

/// A coroutine's stack, allocated apart so that a caller can handle a
/// failure while it still owns what the body would take. Stacks share
/// mappings (see `stack.rs`): nothing but QuickJS's stack limit keeps deep
/// recursion from reaching the next stack, so `size` must leave room above
/// that limit for native frames ([`crate::VU_STACK_SIZE`] does).
pub struct Stack(SlabStack);

impl Stack {
    /// Takes a stack of `size` bytes.
    pub fn new(size: usize) -> io::Result<Self> {
        SlabStack::new(size).map(Stack)
    }
}

impl<R: 'static> Coro<R> {
    /// Prepares `body` to run on a new stack of `stack_size` bytes.
    pub fn new(stack_size: usize, body: impl FnOnce() -> R + 'static) -> io::Result<Self> {
        Ok(Self::on_stack(Stack::new(stack_size)?, body))
    }

    /// Prepares `body` to run on `stack`.
    pub fn on_stack(stack: Stack, body: impl FnOnce() -> R + 'static) -> Self {
        let co = Coroutine::with_stack(stack.0, move |yielder: &VuYielder, _first: Resume| {
            CURRENT.with(|c| c.set(yielder as *const VuYielder));
            let out = body();
            CURRENT.with(|c| c.set(std::ptr::null()));
            out
        });
        Self { inner: Some(co) }
    }

    /// Drives the coroutine to completion, awaiting each future it suspends
    /// on. When `interrupt` fires, pending and later waits end with
    /// [`Interrupted`] until the signal is reset.
    pub async fn run(mut self, interrupt: Arc<InterruptSignal>) -> R {
        let mut input: Resume = Box::new(());
        loop {
            let co = self
                .inner
                .as_mut()
                .expect("coroutine present until it returns");
            let step = co.resume(input);
            CURRENT.with(|c| c.set(std::ptr::null()));
            match step {
                CoroutineResult::Yield((fut, false)) => input = fut.await,
                CoroutineResult::Yield((fut, true)) => {
                    input = if interrupt.is_set() {
                        drop(fut);
                        Box::new(Interrupted)
                    } else {
                        tokio::select! {
                            biased;
                            out = fut => out,
                            _ = interrupt.wait() => Box::new(Interrupted),
                        }
                    };
                }
                CoroutineResult::Return(r) => {
                    self.inner = None;
                    return r;
                }
            }
        }
    }
}

impl<R> Drop for Coro<R> {
    fn drop(&mut self) {
        if let Some(co) = self.inner.take() {
            if co.started() && !co.done() {
                // Unwinding would cross QuickJS's C frames; leak instead. This
                // only happens when a run is torn down without finishing its VUs
                // (the process is about to exit).
                std::mem::forget(co);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn local<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, f)
    }

    #[test]
    fn the_owner_is_woken_by_an_interrupt_from_another_thread() {
        local(async {
            let signal = InterruptSignal::new();
            // Set already: at once.
            signal.interrupt();
            signal.interrupted().await;
            signal.reset();
            let from = Arc::clone(&signal);
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                from.interrupt();
            });
            // Pending until the other thread fires it; a lost wake-up
            // would hang here, so the wait is bounded.
            let woke = tokio::time::timeout(Duration::from_secs(10), signal.interrupted()).await;
            assert!(woke.is_ok(), "the interrupt did not wake its owner");
            t.join().unwrap();
            // `wait` still serves other waiters.
            signal.wait().await;
        });
    }

    #[test]
    fn suspends_and_resumes_many_coroutines() {
        let total = local(async {
            let mut handles = Vec::new();
            for i in 0..100u64 {
                let co = Coro::new(64 * 1024, move || {
                    let mut sum = 0;
                    for j in 0..10u64 {
                        sum += suspend(move || async move {
                            tokio::task::yield_now().await;
                            i * j
                        })
                        .unwrap();
                    }
                    sum
                })
                .unwrap();
                handles.push(tokio::task::spawn_local(co.run(InterruptSignal::new())));
            }
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..100u64).map(|i| i * 45).sum::<u64>());
    }

    #[test]
    fn interrupt_abandons_pending_wait() {
        let out = local(async {
            let signal = InterruptSignal::new();
            let co = Coro::new(64 * 1024, || {
                let first = suspend(|| tokio::time::sleep(Duration::from_secs(3600)));
                let second = suspend(|| async { 1 });
                (first, second)
            })
            .unwrap();
            let handle = tokio::task::spawn_local(co.run(signal.clone()));
            tokio::time::sleep(Duration::from_millis(10)).await;
            signal.interrupt();
            handle.await.unwrap()
        });
        assert_eq!(out, (Err(Interrupted), Err(Interrupted)));
    }

    #[test]
    fn uninterruptible_waits_ignore_the_signal() {
        let out = local(async {
            let signal = InterruptSignal::new();
            signal.interrupt();
            let co = Coro::new(64 * 1024, || {
                suspend_uninterruptible(|| async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    7
                })
            })
            .unwrap();
            co.run(signal).await
        });
        assert_eq!(out, Ok(7));
    }

    #[test]
    fn suspend_outside_a_coroutine_is_an_error() {
        assert!(!in_coroutine());
        assert_eq!(suspend(|| async { 1 }), Err(Interrupted));
    }
}
