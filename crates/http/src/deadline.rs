//! Request deadlines on reused timers.
//!
//! A tokio timer is put into the timer wheel when first polled and taken out
//! when dropped: about 500 instructions, a twentieth of a small keep-alive
//! request's whole cost. A session keeps the timers of its finished requests
//! and hands one to the next request instead. A reused timer may be set
//! earlier than the request's deadline, never later: when it fires early it
//! is moved to the request's deadline, which happens about once per timeout
//! period, not once per request.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::task::coop;
use tokio::time::{Instant, Sleep};

/// Spare timers kept by a session: enough for the requests a VU usually has
/// in flight at once (`http.batch` may have more; they make their own).
const SPARE: usize = 8;

/// A session's spare timers.
#[derive(Default)]
pub(crate) struct Timers(RefCell<Vec<Pin<Box<Sleep>>>>);

impl Timers {
    /// Runs `fut` until it completes (`Some`) or `deadline` passes (`None`).
    ///
    /// A future of its own (as tokio's `Timeout`), not an `async fn`: `fut`
    /// is moved in once, not again into a pinned local.
    pub(crate) fn within<F: Future>(&self, deadline: Instant, fut: F) -> Within<'_, F> {
        Within {
            fut,
            timer: None,
            deadline,
            timers: self,
        }
    }

    /// A timer for `deadline`: a spare one (set no later), else a new one.
    fn take(&self, deadline: Instant) -> Pin<Box<Sleep>> {
        let spare = self.0.borrow_mut().pop();
        match spare {
            Some(mut t) => {
                if t.deadline() > deadline {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    fn give_back(&self, timer: Pin<Box<Sleep>>) {
        let mut spare = self.0.borrow_mut();
        if spare.len() < SPARE {
            spare.push(timer);
        }
    }
}

pin_project! {
    /// The future of [`Timers::within`].
    pub(crate) struct Within<'a, F> {
        #[pin]
        fut: F,
        // Taken when the future first waits, given back when it completes.
        timer: Option<Pin<Box<Sleep>>>,
        deadline: Instant,
        timers: &'a Timers,
    }
}

impl<F: Future> Future for Within<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.project();
        // As tokio's `Timeout`: the future first, then the timer, which is
        // polled without a budget when the future spent the task's, so that a
        // busy response cannot outrun its deadline.
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(v) = me.fut.poll(cx) {
            if let Some(t) = me.timer.take() {
                me.timers.give_back(t);
            }
            return Poll::Ready(Some(v));
        }
        let starved = had_budget && !coop::has_budget_remaining();
        let deadline = *me.deadline;
        let timer = me.timer.get_or_insert_with(|| me.timers.take(deadline));
        loop {
            let fired = if starved {
                let mut unbounded =
                    pin!(coop::unconstrained(poll_fn(|cx| timer.as_mut().poll(cx))));
                unbounded.as_mut().poll(cx)
            } else {
                timer.as_mut().poll(cx)
            };
            match fired {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if timer.deadline() >= deadline => return Poll::Ready(None),
                // An earlier request's deadline: move on to ours.
                Poll::Ready(()) => timer.as_mut().reset(deadline),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    #[test]
    fn a_finished_future_returns_its_output_and_keeps_the_timer() {
        rt().block_on(async {
            let timers = Timers::default();
            let d = Instant::now() + Duration::from_secs(60);
            // Ready at once: no timer is needed.
            assert_eq!(timers.within(d, async { 6 }).await, Some(6));
            assert_eq!(timers.0.borrow().len(), 0);
            let waits = |v| async move {
                tokio::task::yield_now().await;
                v
            };
            assert_eq!(timers.within(d, waits(7)).await, Some(7));
            assert_eq!(timers.0.borrow().len(), 1);
            // The next request takes it and gives it back: still one.
            assert_eq!(timers.within(d, waits(8)).await, Some(8));
            assert_eq!(timers.0.borrow().len(), 1);
        });
    }

    #[test]
    fn the_deadline_stops_a_slow_future() {
        rt().block_on(async {
            let timers = Timers::default();
            let start = Instant::now();
            let d = start + Duration::from_secs(2);
            let slow = tokio::time::sleep(Duration::from_secs(10));
            assert_eq!(timers.within(d, slow).await, None);
            assert_eq!(Instant::now() - start, Duration::from_secs(2));
        });
    }

    #[test]
    fn an_earlier_timer_is_moved_to_the_later_deadline() {
        rt().block_on(async {
            let timers = Timers::default();
            let start = Instant::now();
            // The first request waits once, and leaves a timer set for 1 s.
            let first = tokio::task::yield_now();
            let first = timers.within(start + Duration::from_secs(1), first).await;
            assert_eq!(first, Some(()));
            assert_eq!(timers.0.borrow().len(), 1);
            // The second has 5 s: the spare timer fires at 1 s, is moved to
            // 5 s, and a 3 s future completes.
            let d = start + Duration::from_secs(5);
            let three = tokio::time::sleep(Duration::from_secs(3));
            assert_eq!(timers.within(d, three).await, Some(()));
            assert_eq!(Instant::now() - start, Duration::from_secs(3));
            // A 10 s future stops at 5 s, not at the old 1 s.
            let ten = tokio::time::sleep(Duration::from_secs(10));
            assert_eq!(timers.within(d, ten).await, None);
            assert_eq!(Instant::now() - start, Duration::from_secs(5));
        });
    }

    #[test]
    fn a_later_timer_is_moved_to_the_earlier_deadline() {
        rt().block_on(async {
            let timers = Timers::default();
            let start = Instant::now();
            let long = start + Duration::from_secs(60);
            let first = tokio::task::yield_now();
            assert_eq!(timers.within(long, first).await, Some(()));
            assert_eq!(timers.0.borrow().len(), 1);
            let short = start + Duration::from_secs(1);
            let slow = tokio::time::sleep(Duration::from_secs(10));
            assert_eq!(timers.within(short, slow).await, None);
            assert_eq!(Instant::now() - start, Duration::from_secs(1));
        });
    }

    #[test]
    fn a_future_that_spends_the_budget_still_times_out() {
        // Real time: a busy future never lets paused time advance.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let timers = Timers::default();
            let d = Instant::now() + Duration::from_millis(10);
            // Always ready to go on: it spends the task's budget at every
            // poll, and gives up (so that a broken deadline fails rather
            // than hangs) only after far longer than 10 ms.
            let busy = async {
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(5) {
                    coop::consume_budget().await;
                }
            };
            assert_eq!(timers.within(d, busy).await, None);
        });
    }

    #[test]
    fn at_most_spare_timers_are_kept() {
        rt().block_on(async {
            let timers = Timers::default();
            let d = Instant::now() + Duration::from_secs(1);
            let many = (0..SPARE + 3).map(|_| timers.within(d, tokio::task::yield_now()));
            futures_util::future::join_all(many).await;
            assert_eq!(timers.0.borrow().len(), SPARE);
        });
    }
}
