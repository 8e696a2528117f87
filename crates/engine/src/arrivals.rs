//! How an arrival-rate executor hands iteration starts to its idle VUs.
//!
//! Idle VUs wait on a stack and each start goes to the VU that became idle
//! **last**. A queue (the first idle VU first) would rotate every start
//! through all of the scenario's VUs: at 50,000 starts/s with 500 VUs,
//! each iteration then finds its VU's state, connection and buffers cold,
//! which measured about 1.5x the CPU per iteration of a handful of VUs
//! doing the same work. With a stack the few VUs that keep up stay hot and
//! the others just wait. Which VU runs which iteration is not part of k6's
//! semantics (its VUs take starts from a channel, whichever is free).
//!
//! Each waiting VU owns a [`Slot`] (one per VU and scenario, reused for
//! every wait), so handing over a start allocates nothing: a pop under a
//! short lock, a store and a wake-up. A start issued while no VU waits but
//! one is on its way back (the executor counts VUs that are neither busy
//! nor already promised a start, as before) is queued and taken by the
//! next VU to wait, without waiting.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The idle VUs of one arrival-rate scenario.
#[derive(Default)]
pub(crate) struct Arrivals {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// VUs waiting for a start, the most recently idle last.
    idle: Vec<Arc<Slot>>,
    /// Starts issued that no VU has taken yet.
    queued: u64,
    /// Set once the scenario issues no more starts.
    closed: bool,
}

impl Inner {
    fn start(&mut self) {
        if self.closed {
            return;
        }
        match self.idle.pop() {
            // Given under the lock, so that a wait abandoned meanwhile
            // (`Listed::drop`, under the lock too) sees the start it was
            // handed and passes it on rather than losing it.
            Some(slot) => slot.give(STARTED),
            None => self.queued += 1,
        }
    }
}

/// Where one VU waits for its next start.
#[derive(Default)]
pub(crate) struct Slot {
    state: AtomicU8,
    notify: Notify,
}

/// A slot's states.
const WAITING: u8 = 0;
const STARTED: u8 = 1;
const CLOSED: u8 = 2;

impl Slot {
    /// A slot for one VU.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn give(&self, state: u8) {
        self.state.store(state, Ordering::Release);
        self.notify.notify_one();
    }
}

impl Arrivals {
    /// A scenario's hand-off, with nobody waiting yet.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an iteration when one of the `free` VUs (those not running
    /// one) is not already promised a start issued earlier; whether it
    /// did. The start goes to the VU idle most recently, or to the next
    /// VU to wait when none waits now.
    pub fn try_start(&self, free: i64) -> bool {
        let mut g = self.lock();
        if free <= g.queued as i64 {
            return false;
        }
        g.start();
        true
    }

    /// Starts an iteration whatever the number of free VUs.
    #[cfg(test)]
    fn start(&self) {
        self.lock().start();
    }

    /// Starts issued and not yet taken by a VU.
    #[cfg(test)]
    fn queued(&self) -> u64 {
        self.lock().queued
    }

    /// Issues no more starts: every waiting VU is released (its wait
    /// returns false), and so is every later wait. Returns the starts
    /// issued that no VU took, which will never run: the executor counts
    /// them as dropped, as k6 does an iteration no VU was free for, so
    /// that iterations and drops add up to the schedule.
    pub fn close(&self) -> u64 {
        let (idle, queued) = {
            let mut g = self.lock();
            g.closed = true;
            (std::mem::take(&mut g.idle), std::mem::take(&mut g.queued))
        };
        for slot in idle {
            slot.give(CLOSED);
        }
        queued
    }

    /// Waits, as the VU owning `slot`, for an iteration start: true when
    /// one was handed over, false once the scenario issues no more.
    /// Dropping the wait takes the VU off the stack; a start handed to it
    /// meanwhile goes to the next VU that waits.
    pub async fn wait(self: &Arc<Self>, slot: &Arc<Slot>) -> bool {
        {
            let mut g = self.lock();
            if g.queued > 0 {
                g.queued -= 1;
                return true;
            }
            if g.closed {
                return false;
            }
            slot.state.store(WAITING, Ordering::Relaxed);
            g.idle.push(slot.clone());
        }
        let listed = Listed {
            arrivals: self,
            slot,
        };
        loop {
            // A wake-up left over from a wait that was dropped after its
            // start came shows as a spurious turn of this loop.
            let notified = slot.notify.notified();
            match slot.state.load(Ordering::Acquire) {
                WAITING => notified.await,
                state => {
                    std::mem::forget(listed);
                    return state == STARTED;
                }
            }
        }
    }
}

/// A waiting VU on the stack; dropped only when its wait is abandoned.
struct Listed<'a> {
    arrivals: &'a Arrivals,
    slot: &'a Arc<Slot>,
}

impl Drop for Listed<'_> {
    fn drop(&mut self) {
        let mut g = self.arrivals.lock();
        let before = g.idle.len();
        g.idle.retain(|s| !Arc::ptr_eq(s, self.slot));
        let popped = g.idle.len() == before;
        // Popped and given a start it will never run: the next VU runs it.
        if popped && !g.closed && self.slot.state.load(Ordering::Acquire) == STARTED {
            g.queued += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn the_vu_idle_last_gets_the_start() {
        let a = Arrivals::new();
        let slots: Vec<_> = (0..3).map(|_| Slot::new()).collect();
        let mut waits: Vec<_> = slots.iter().map(|s| Box::pin(a.wait(s))).collect();
        for w in &mut waits {
            assert_eq!(w.as_mut().now_or_never(), None);
        }
        a.start();
        assert_eq!(waits[2].as_mut().now_or_never(), Some(true));
        assert_eq!(waits[0].as_mut().now_or_never(), None);
        assert_eq!(waits[1].as_mut().now_or_never(), None);
        a.start();
        assert_eq!(waits[1].as_mut().now_or_never(), Some(true));
        assert_eq!(a.queued(), 0);
    }

    #[tokio::test]
    async fn a_start_with_nobody_waiting_goes_to_the_next_wait() {
        let a = Arrivals::new();
        let slot = Slot::new();
        a.start();
        a.start();
        assert_eq!(a.queued(), 2);
        assert_eq!(a.wait(&slot).now_or_never(), Some(true));
        assert_eq!(a.wait(&slot).now_or_never(), Some(true));
        assert_eq!(a.queued(), 0);
        assert_eq!(a.wait(&slot).now_or_never(), None);
    }

    #[tokio::test]
    async fn a_start_needs_a_free_vu_not_promised_one_already() {
        let a = Arrivals::new();
        assert!(!a.try_start(0));
        assert!(a.try_start(1));
        // The one free VU is promised the queued start.
        assert!(!a.try_start(1));
        assert!(a.try_start(2));
        assert_eq!(a.queued(), 2);
        let slot = Slot::new();
        assert_eq!(a.wait(&slot).now_or_never(), Some(true));
        assert!(a.try_start(2));
        assert_eq!(a.queued(), 2);
    }

    #[tokio::test]
    async fn closing_releases_waiting_and_later_vus() {
        let a = Arrivals::new();
        let (s1, s2) = (Slot::new(), Slot::new());
        let mut w = Box::pin(a.wait(&s1));
        assert_eq!(w.as_mut().now_or_never(), None);
        a.start();
        // A start nobody took yet never runs: the close reports it.
        a.start();
        assert_eq!(a.close(), 1);
        // The start was handed over before the close: it stands.
        assert_eq!(w.as_mut().now_or_never(), Some(true));
        let mut w = Box::pin(a.wait(&s1));
        a.start();
        assert_eq!(w.as_mut().now_or_never(), Some(false));
        assert_eq!(a.wait(&s2).now_or_never(), Some(false));
        assert_eq!(a.queued(), 0);
        assert_eq!(a.close(), 0);
    }

    #[tokio::test]
    async fn an_abandoned_wait_loses_no_start() {
        let a = Arrivals::new();
        let (s1, s2) = (Slot::new(), Slot::new());
        // Abandoned before any start: off the stack, the start goes on.
        let mut w = Box::pin(a.wait(&s1));
        assert_eq!(w.as_mut().now_or_never(), None);
        drop(w);
        a.start();
        assert_eq!(a.queued(), 1);
        assert_eq!(a.wait(&s2).now_or_never(), Some(true));
        // Abandoned after its start was handed over: the next wait runs it,
        // and the slot's leftover wake-up does not start an iteration.
        let mut w = Box::pin(a.wait(&s1));
        assert_eq!(w.as_mut().now_or_never(), None);
        a.start();
        drop(w);
        assert_eq!(a.queued(), 1);
        assert_eq!(a.wait(&s2).now_or_never(), Some(true));
        let mut w = Box::pin(a.wait(&s1));
        assert_eq!(w.as_mut().now_or_never(), None);
        a.start();
        assert_eq!(w.as_mut().now_or_never(), Some(true));
    }

    #[tokio::test]
    async fn every_start_is_taken_exactly_once() {
        // Many VUs on a thread each take starts and come back; every start
        // the executor issues is run once, none twice.
        let a = Arrivals::new();
        let local = tokio::task::LocalSet::new();
        let taken = Arc::new(std::sync::atomic::AtomicU64::new(0));
        local
            .run_until(async {
                let mut vus = Vec::new();
                for _ in 0..50 {
                    let (a, taken) = (a.clone(), taken.clone());
                    vus.push(tokio::task::spawn_local(async move {
                        let slot = Slot::new();
                        while a.wait(&slot).await {
                            taken.fetch_add(1, Ordering::Relaxed);
                            tokio::task::yield_now().await;
                        }
                    }));
                }
                for i in 0..10_000 {
                    a.start();
                    if i % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                while a.queued() > 0 {
                    tokio::task::yield_now().await;
                }
                // Let the last VUs count theirs.
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                a.close();
                for v in vus {
                    v.await.unwrap();
                }
            })
            .await;
        assert_eq!(taken.load(Ordering::Relaxed), 10_000);
    }
}
