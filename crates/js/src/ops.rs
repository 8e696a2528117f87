//! Asynchronous operations of a VU: work a native function starts and the
//! event loop finishes later (`http.asyncRequest`, WebSocket events). Each
//! operation is a future yielding a callback that runs in the VU's context;
//! an iteration ends only when none is pending, as k6's event loop.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use futures_util::stream::FuturesUnordered;
use rquickjs::{Ctx, Exception, Persistent, Value};

/// Runs in the VU's context when its operation completes.
pub type Callback = Box<dyn for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<()>>;

type Op = Pin<Box<dyn Future<Output = Callback>>>;

/// What an operation behind a promise hands back to the VU: how to build
/// the value the promise resolves with (an error rejects it).
pub type Settle = Box<dyn for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<Value<'js>>>;

/// The pending operations of one VU.
#[derive(Default)]
pub(crate) struct Ops {
    pending: RefCell<FuturesUnordered<Op>>,
}

impl Ops {
    /// Starts tracking `op`.
    pub fn spawn(&self, op: impl Future<Output = Callback> + 'static) {
        self.pending.borrow_mut().push(Box::pin(op));
    }

    /// Whether any operation is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.borrow().is_empty()
    }

    /// Takes the pending set out (to await it from a suspended VU).
    pub fn take(&self) -> FuturesUnordered<Op> {
        std::mem::take(&mut *self.pending.borrow_mut())
    }

    /// Puts a set back, merged with operations started meanwhile.
    pub fn restore(&self, set: FuturesUnordered<Op>) {
        let mut pending = self.pending.borrow_mut();
        let started = std::mem::replace(&mut *pending, set);
        pending.extend(started);
    }

    /// Drops every pending operation (the iteration ended or was
    /// interrupted): their resources are released, their callbacks never run.
    pub fn cancel_all(&self) {
        // `clear` allocates a new queue: most iterations have nothing to drop.
        let mut pending = self.pending.borrow_mut();
        if !pending.is_empty() {
            pending.clear();
        }
    }
}

/// Boxes a closure as a [`Settle`] (a plain `Box::new` cannot infer that
/// the closure works for every context lifetime).
pub fn settle<F>(f: F) -> Settle
where
    F: for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<Value<'js>> + 'static,
{
    Box::new(f)
}

/// A promise settled on the VU's event loop (`http.asyncRequest`,
/// `grpc.asyncInvoke`): `prepared` is the synchronous part, whose error
/// rejects the promise at once; otherwise `op` makes the future whose
/// [`Settle`] resolves or rejects it.
pub(crate) fn promise<'js, P, F>(
    ctx: &Ctx<'js>,
    ops: &Ops,
    prepared: rquickjs::Result<P>,
    op: impl FnOnce(P) -> F + 'static,
) -> rquickjs::Result<Value<'js>>
where
    P: 'static,
    F: Future<Output = Settle> + 'static,
{
    let (promise, resolve, reject) = ctx.promise()?;
    let p = match prepared {
        Ok(p) => p,
        Err(e) => {
            reject.call::<_, ()>((caught(ctx, e),))?;
            return Ok(promise.into_value());
        }
    };
    let resolve = Persistent::save(ctx, resolve);
    let reject = Persistent::save(ctx, reject);
    // The future is made when first polled, on the driver's side, and boxed:
    // not on the VU's stack (see `coro::suspend`).
    ops.spawn(async move {
        let settle = Box::pin(op(p)).await;
        Box::new(move |ctx: &Ctx<'_>| -> rquickjs::Result<()> {
            match settle(ctx) {
                Ok(v) => resolve.restore(ctx)?.call::<_, ()>((v,)),
                Err(e) => {
                    let err = caught(ctx, e);
                    reject.restore(ctx)?.call::<_, ()>((err,))
                }
            }
        }) as Callback
    });
    Ok(promise.into_value())
}

/// The value a failed native call threw, for rejecting a promise with it.
fn caught<'js>(ctx: &Ctx<'js>, e: rquickjs::Error) -> Value<'js> {
    match e {
        rquickjs::Error::Exception => ctx.catch(),
        other => Exception::from_message(ctx.clone(), &other.to_string())
            .map(|x| x.into_value())
            .unwrap_or_else(|_| Value::new_undefined(ctx.clone())),
    }
}
