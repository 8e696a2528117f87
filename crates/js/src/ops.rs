//! Asynchronous operations of a VU: work a native function starts and the
//! event loop finishes later (`http.asyncRequest`, WebSocket events). Each
//! operation is a future yielding a callback that runs in the VU's context;
//! an iteration ends only when none is pending, as k6's event loop.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use futures_util::stream::FuturesUnordered;
use rquickjs::Ctx;

/// Runs in the VU's context when its operation completes.
pub type Callback = Box<dyn for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<()>>;

type Op = Pin<Box<dyn Future<Output = Callback>>>;

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
        self.pending.borrow_mut().clear();
    }
}
