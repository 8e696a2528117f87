//! The body of a VU coroutine: initialize the script, then serve commands
//! (run a scenario's iterations, setup, teardown, handleSummary) until told
//! to exit.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use stampede_js::coro::{suspend, suspend_uninterruptible, InterruptSignal};
use stampede_js::{
    IterationOutcome, IterationRequest, ScenarioInfo, ScriptError, SummaryOutputs, TestEnv, Vu,
    VuConfig,
};
use tokio::sync::{mpsc, oneshot};

use crate::native::{NativeProgram, NativeVu};
use crate::stats::RunStats;

/// How a VU obtains its next iteration in a scenario.
pub(crate) enum Gate {
    /// Iterate until the scenario stops or the VU is released
    /// (constant-vus, ramping-vus).
    Loop,
    /// Take numbers from the scenario's counter up to `total`
    /// (shared-iterations).
    Shared {
        /// Iterations of this segment.
        total: u64,
    },
    /// Run `each` iterations (per-vu-iterations).
    PerVu {
        /// Iterations per VU.
        each: u64,
    },
    /// Wait for iteration starts sent by the executor (arrival rate).
    Arrivals {
        /// Starts, carrying the iteration's number in the schedule.
        rx: async_channel::Receiver<u64>,
        /// VUs running an iteration right now (the executor counts the
        /// others as available).
        busy: Arc<AtomicI64>,
    },
}

/// A scenario being run, shared by its VUs.
pub(crate) struct ScenarioRun {
    pub info: Arc<ScenarioInfo>,
    pub gate: Gate,
    /// Set when no new iteration may start.
    pub stop: AtomicBool,
    /// Takes iterations from the scenario's share (shared-iterations) and
    /// counts them for the constant-VU executors.
    pub counter: AtomicU64,
    /// Numbers the iterations this instance starts, in the instance and in
    /// the whole test (`exec.scenario.iterationInInstance` /
    /// `iterationInTest`).
    pub numbers: IterationNumbers,
    /// Iterations completed in this scenario (progress display).
    pub completed: AtomicU64,
    /// Iterations interrupted in this scenario.
    pub interrupted: AtomicU64,
    /// JSON returned by `setup()`.
    pub setup_data: Option<Arc<str>>,
    /// `minIterationDuration`.
    pub min_duration: std::time::Duration,
}

impl ScenarioRun {
    pub fn new(
        info: Arc<ScenarioInfo>,
        gate: Gate,
        setup_data: Option<Arc<str>>,
        min_duration: std::time::Duration,
        numbers: IterationNumbers,
    ) -> Arc<Self> {
        Arc::new(Self {
            info,
            gate,
            stop: AtomicBool::new(false),
            counter: AtomicU64::new(0),
            numbers,
            completed: AtomicU64::new(0),
            interrupted: AtomicU64::new(0),
            setup_data,
            min_duration,
        })
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// k6's iteration numbers of one scenario on one instance: the instance's
/// iterations are numbered 0, 1, 2, ... as they start, and each also has
/// its place in the whole test, the segment's striping of the global
/// sequence (k6's `SegmentedIndex`: with `0,1/2,1`, segment `0:1/2` gets
/// 0, 2, 4, ... and `1/2:1` gets 1, 3, 5, ...).
pub(crate) struct IterationNumbers {
    next: AtomicU64,
    /// The segment's first global number.
    start: u64,
    /// Gaps between its consecutive global numbers, repeating.
    gaps: Vec<u64>,
    /// The sum of `gaps`: one cycle of the striping.
    cycle: u64,
}

impl IterationNumbers {
    /// Numbers on `tuple`'s striping (`None`: the whole test), the first
    /// local number being `first` (a resumed part continues the count of
    /// the iterations reported before it).
    pub fn new(tuple: Option<&stampede_config::segment::ExecutionTuple>, first: u64) -> Self {
        let (start, gaps) = match tuple {
            Some(t) => {
                let (start, gaps, _) = t.striped_offsets();
                let gaps: Vec<u64> = gaps.iter().map(|g| (*g).max(1) as u64).collect();
                (start.max(0) as u64, gaps)
            }
            None => (0, Vec::new()),
        };
        let gaps = if gaps.is_empty() { vec![1] } else { gaps };
        Self {
            next: AtomicU64::new(first),
            start,
            cycle: gaps.iter().sum(),
            gaps,
        }
    }

    /// The next iteration's `(number in the instance, number in the test)`.
    pub fn take(&self) -> (u64, u64) {
        let local = self.next.fetch_add(1, Ordering::Relaxed);
        (local, self.global(local))
    }

    /// The global number of the instance's `local`-th iteration.
    fn global(&self, local: u64) -> u64 {
        let n = self.gaps.len() as u64;
        let within: u64 = self.gaps[..(local % n) as usize].iter().sum();
        self.start + (local / n) * self.cycle + within
    }
}

/// Commands a VU serves.
pub(crate) enum VuCmd {
    /// Run iterations of a scenario until its gate closes, the scenario
    /// stops or `release` is set; then send the VU's handle on `done`.
    Run {
        run: Arc<ScenarioRun>,
        release: Arc<AtomicBool>,
        done: mpsc::UnboundedSender<VuHandle>,
    },
    Setup {
        reply: oneshot::Sender<Result<Option<String>, ScriptError>>,
    },
    Teardown {
        data: Option<Arc<str>>,
        reply: oneshot::Sender<Result<(), ScriptError>>,
    },
    HandleSummary {
        data: serde_json::Value,
        reply: oneshot::Sender<Result<Option<SummaryOutputs>, ScriptError>>,
    },
}

/// The engine's side of a VU.
#[derive(Clone)]
pub(crate) struct VuHandle {
    pub id: u64,
    tx: mpsc::UnboundedSender<VuCmd>,
    pub interrupt: Arc<InterruptSignal>,
    gone: Arc<Gone>,
}

/// Set when a VU's task ends for good (its coroutine returned or panicked,
/// or its thread died), so that nobody waits for a VU that cannot answer.
#[derive(Default)]
pub(crate) struct Gone {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

/// Held by a VU's task; marks the VU gone when dropped, however the task
/// ends (a panic unwinds through it, a dying thread drops it).
pub(crate) struct GoneOnDrop(pub Arc<Gone>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        self.0.flag.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }
}

impl VuHandle {
    pub fn new(id: u64, tx: mpsc::UnboundedSender<VuCmd>, interrupt: Arc<InterruptSignal>) -> Self {
        Self {
            id,
            tx,
            interrupt,
            gone: Arc::default(),
        }
    }

    /// Sends a command; false when the VU is gone.
    pub fn send(&self, cmd: VuCmd) -> bool {
        !self.is_gone() && self.tx.send(cmd).is_ok()
    }

    /// The guard the VU's task holds (see [`GoneOnDrop`]).
    pub fn gone_guard(&self) -> GoneOnDrop {
        GoneOnDrop(self.gone.clone())
    }

    /// Whether the VU's task has ended.
    pub fn is_gone(&self) -> bool {
        self.gone.flag.load(Ordering::Acquire)
    }

    /// The VU's reply to a command, or `None` once the VU is gone without
    /// replying (its thread failed).
    pub async fn answer<T>(&self, rx: oneshot::Receiver<T>) -> Option<T> {
        let gone = async {
            loop {
                let n = self.gone.notify.notified();
                tokio::pin!(n);
                n.as_mut().enable();
                if self.is_gone() {
                    return;
                }
                n.await;
            }
        };
        tokio::select! {
            biased;
            r = rx => r.ok(),
            _ = gone => None,
        }
    }
}

/// A VU of either kind: a script's or a native program's.
enum AnyVu {
    Js(Vu),
    Native(Box<dyn NativeVu>),
}

impl AnyVu {
    fn activate(&mut self, info: Arc<ScenarioInfo>) {
        match self {
            AnyVu::Js(vu) => vu.activate(info),
            AnyVu::Native(vu) => vu.activate(info),
        }
    }

    fn run_iteration(
        &mut self,
        req: IterationRequest<'_>,
        setup: Option<&Arc<str>>,
    ) -> IterationOutcome {
        match self {
            AnyVu::Js(vu) => vu.run_iteration(req, setup),
            AnyVu::Native(vu) => vu.run_iteration(req),
        }
    }
}

/// Runs inside the VU's coroutine.
pub(crate) fn vu_main(
    test: Arc<TestEnv>,
    native: Option<Arc<dyn NativeProgram>>,
    cfg: VuConfig,
    rx: mpsc::UnboundedReceiver<VuCmd>,
    ready: oneshot::Sender<Result<VuHandle, ScriptError>>,
    handle: VuHandle,
    stats: Arc<RunStats>,
) {
    let made = match &native {
        Some(p) => p.new_vu(&test, cfg).map(AnyVu::Native),
        None => Vu::new(test, cfg).map(AnyVu::Js),
    };
    let mut vu = match made {
        Ok(vu) => vu,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // VU 0 runs setup/teardown/handleSummary and is not one of the test's VUs.
    if handle.id != 0 {
        stats.vus_initialized.fetch_add(1, Ordering::Relaxed);
    }
    if ready.send(Ok(handle.clone())).is_err() {
        return;
    }
    let mut rx = Some(rx);
    loop {
        let mut r = rx.take().expect("receiver returned after each wait");
        let next = suspend_uninterruptible(move || async move {
            let cmd = r.recv().await;
            (r, cmd)
        });
        let Ok((r, cmd)) = next else { return };
        rx = Some(r);
        let Some(cmd) = cmd else { return };
        match cmd {
            VuCmd::Run { run, release, done } => {
                run_scenario(&mut vu, &run, &release, &stats);
                let _ = done.send(handle.clone());
            }
            // A native program exports no teardown or handleSummary, so
            // only a script VU is ever asked for them.
            VuCmd::Setup { reply } => {
                let _ = reply.send(match &mut vu {
                    AnyVu::Js(vu) => vu.call_setup(),
                    AnyVu::Native(vu) => vu.call_setup().map(|()| None),
                });
            }
            VuCmd::Teardown { data, reply } => {
                let _ = reply.send(match &mut vu {
                    AnyVu::Js(vu) => vu.call_teardown(data.as_ref()),
                    AnyVu::Native(_) => Ok(()),
                });
            }
            VuCmd::HandleSummary { data, reply } => {
                let _ = reply.send(match &mut vu {
                    AnyVu::Js(vu) => vu.call_handle_summary(&data),
                    AnyVu::Native(_) => Ok(None),
                });
            }
        }
    }
}

fn run_scenario(vu: &mut AnyVu, run: &ScenarioRun, release: &AtomicBool, stats: &RunStats) {
    vu.activate(run.info.clone());
    let exec = run.info.exec.clone();
    let mut mine: u64 = 0;
    stats.vus_active.fetch_add(1, Ordering::Relaxed);
    loop {
        if run.stopped() || release.load(Ordering::Acquire) {
            break;
        }
        match &run.gate {
            Gate::Loop => {
                run.counter.fetch_add(1, Ordering::Relaxed);
            }
            Gate::Shared { total } => {
                if run.counter.fetch_add(1, Ordering::Relaxed) >= *total {
                    break;
                }
            }
            Gate::PerVu { each } => {
                if mine >= *each {
                    break;
                }
            }
            Gate::Arrivals { rx, busy } => {
                stats.vus_active.fetch_sub(1, Ordering::Relaxed);
                let rx = rx.clone();
                let got = suspend(move || async move { rx.recv().await });
                stats.vus_active.fetch_add(1, Ordering::Relaxed);
                match got {
                    Ok(Ok(_)) => {
                        busy.fetch_add(1, Ordering::AcqRel);
                    }
                    _ => break,
                }
            }
        }
        // As in k6, iterations are numbered as they start, whatever the
        // executor (a dropped arrival takes no number).
        let (in_instance, in_test) = run.numbers.take();
        // Read the clock only for a minIterationDuration to honour.
        let started = (!run.min_duration.is_zero()).then(std::time::Instant::now);
        let outcome = vu.run_iteration(
            IterationRequest {
                exec: &exec,
                iteration_in_scenario: mine,
                iteration_in_instance: in_instance,
                iteration_in_test: in_test,
            },
            run.setup_data.as_ref(),
        );
        mine += 1;
        // minIterationDuration: sleep out the rest of a short iteration.
        if let Some(rest) = started.and_then(|s| run.min_duration.checked_sub(s.elapsed())) {
            if outcome == IterationOutcome::Completed
                || matches!(outcome, IterationOutcome::Failed(_))
            {
                let _ = suspend(move || tokio::time::sleep(rest));
            }
        }
        if let Gate::Arrivals { busy, .. } = &run.gate {
            busy.fetch_sub(1, Ordering::AcqRel);
        }
        match outcome {
            IterationOutcome::Completed => {
                run.completed.fetch_add(1, Ordering::Relaxed);
                stats.iterations_completed.fetch_add(1, Ordering::Relaxed);
            }
            IterationOutcome::Failed(err) => {
                run.completed.fetch_add(1, Ordering::Relaxed);
                stats.iterations_completed.fetch_add(1, Ordering::Relaxed);
                stats.report_exception(&err, &run.info);
            }
            IterationOutcome::Interrupted => {
                run.interrupted.fetch_add(1, Ordering::Relaxed);
                stats.iterations_interrupted.fetch_add(1, Ordering::Relaxed);
                break;
            }
            IterationOutcome::Aborted(_) => {
                run.interrupted.fetch_add(1, Ordering::Relaxed);
                stats.iterations_interrupted.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
    stats.vus_active.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nobody_waits_for_a_vu_that_is_gone() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let vu = VuHandle::new(1, tx, InterruptSignal::new());
        let guard = vu.gone_guard();
        let (_reply, rx) = oneshot::channel::<()>();
        let (replied, answered) = oneshot::channel::<()>();
        assert!(!vu.is_gone());
        // The VU's task ends (a panic unwinds through its guard) while a
        // reply is awaited: the wait ends with None.
        let waiting = tokio::spawn({
            let vu = vu.clone();
            async move {
                let _ = replied.send(());
                vu.answer(rx).await
            }
        });
        let _ = answered.await;
        drop(guard);
        assert_eq!(waiting.await.unwrap(), None);
        assert!(vu.is_gone());
        let (reply, _) = oneshot::channel();
        assert!(!vu.send(VuCmd::Setup { reply }));
    }

    #[tokio::test]
    async fn a_reply_wins_over_the_end_of_the_vu() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let vu = VuHandle::new(1, tx, InterruptSignal::new());
        let guard = vu.gone_guard();
        let (reply, rx) = oneshot::channel::<u8>();
        let _ = reply.send(7);
        drop(guard);
        assert_eq!(vu.answer(rx).await, Some(7));
    }
}
