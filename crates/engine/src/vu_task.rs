//! The body of a VU: initialize it, then serve commands (run a scenario's
//! iterations, setup, teardown, handleSummary) until told to exit. A script
//! VU does it inside its coroutine, waiting with `suspend`; a native VU is
//! an ordinary task and awaits (see `native.rs`). The bookkeeping of a
//! VU's turns in a scenario ([`Turns`]) is shared by both.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use stampede_js::coro::{suspend, suspend_uninterruptible, InterruptSignal};
use stampede_js::{
    IterationOutcome, IterationRequest, ScenarioInfo, ScriptError, SummaryOutputs, TestEnv, Vu,
    VuConfig,
};
use tokio::sync::{mpsc, oneshot};

use crate::arrivals::{Arrivals, Slot};
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
    /// Wait for iteration starts handed out by the executor (arrival
    /// rate; see `arrivals.rs`).
    Arrivals {
        /// Where idle VUs wait for starts.
        arrivals: Arc<Arrivals>,
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

/// The sending end of a VU's command channel. Commands are boxed: an
/// unbounded channel allocates its first block of 32 slots up front, which
/// at the size of [`VuCmd`] was about 1.5 KB per VU, and a VU gets a
/// handful of commands in its life.
pub(crate) type CmdTx = mpsc::UnboundedSender<Box<VuCmd>>;
/// The receiving end of a VU's command channel.
pub(crate) type CmdRx = mpsc::UnboundedReceiver<Box<VuCmd>>;

/// The engine's side of a VU.
#[derive(Clone)]
pub(crate) struct VuHandle {
    pub id: u64,
    tx: CmdTx,
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
    pub fn new(id: u64, tx: CmdTx, interrupt: Arc<InterruptSignal>) -> Self {
        Self {
            id,
            tx,
            interrupt,
            gone: Arc::default(),
        }
    }

    /// Sends a command; false when the VU is gone.
    pub fn send(&self, cmd: VuCmd) -> bool {
        !self.is_gone() && self.tx.send(Box::new(cmd)).is_ok()
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

/// Runs inside a script VU's coroutine.
pub(crate) fn vu_main(
    test: Arc<TestEnv>,
    cfg: VuConfig,
    rx: CmdRx,
    ready: oneshot::Sender<Result<VuHandle, ScriptError>>,
    handle: VuHandle,
    stats: Arc<RunStats>,
) {
    let mut vu = match Vu::new(test, cfg) {
        Ok(vu) => vu,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if !announce(ready, &handle, &stats) {
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
        match *cmd {
            VuCmd::Run { run, release, done } => {
                run_scenario(&mut vu, &run, &release, &stats);
                let _ = done.send(handle.clone());
            }
            VuCmd::Setup { reply } => {
                let _ = reply.send(vu.call_setup());
            }
            VuCmd::Teardown { data, reply } => {
                let _ = reply.send(vu.call_teardown(data.as_ref()));
            }
            VuCmd::HandleSummary { data, reply } => {
                let _ = reply.send(vu.call_handle_summary(&data));
            }
        }
    }
}

/// The body of a native VU's task (no coroutine: see `native.rs`).
pub(crate) async fn native_vu_main(
    program: Arc<dyn NativeProgram>,
    test: Arc<TestEnv>,
    cfg: VuConfig,
    mut rx: CmdRx,
    ready: oneshot::Sender<Result<VuHandle, ScriptError>>,
    handle: VuHandle,
    stats: Arc<RunStats>,
) {
    let interrupt = cfg.interrupt.clone();
    let mut vu = match program.new_vu(&test, cfg) {
        Ok(vu) => vu,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    drop((program, test));
    if !announce(ready, &handle, &stats) {
        return;
    }
    while let Some(cmd) = rx.recv().await {
        match *cmd {
            VuCmd::Run { run, release, done } => {
                run_native_scenario(&mut *vu, &interrupt, &run, &release, &stats).await;
                let _ = done.send(handle.clone());
            }
            VuCmd::Setup { reply } => {
                let setup = tokio::select! {
                    biased;
                    _ = interrupt.wait() => Err(ScriptError::Exception("setup was interrupted".into())),
                    r = vu.call_setup() => r,
                };
                let _ = reply.send(setup.map(|()| None));
            }
            // A native program exports no teardown or handleSummary.
            VuCmd::Teardown { reply, .. } => {
                let _ = reply.send(Ok(()));
            }
            VuCmd::HandleSummary { reply, .. } => {
                let _ = reply.send(Ok(None));
            }
        }
    }
}

/// Counts a new VU and hands its handle over; false when nobody waits for
/// it any more.
fn announce(
    ready: oneshot::Sender<Result<VuHandle, ScriptError>>,
    handle: &VuHandle,
    stats: &RunStats,
) -> bool {
    // VU 0 runs setup/teardown/handleSummary and is not one of the test's VUs.
    if handle.id != 0 {
        stats.vus_initialized.fetch_add(1, Ordering::Relaxed);
    }
    ready.send(Ok(handle.clone())).is_ok()
}

/// What a VU does next in a scenario.
enum Next<'a> {
    /// Runs an iteration.
    Iteration,
    /// Waits for the executor to start an iteration (arrival rate).
    Arrival(&'a Arc<Arrivals>),
    /// Leaves the scenario.
    Leave,
}

/// The bookkeeping around a VU's iterations in a scenario, the same for
/// both kinds of VU; only how they wait differs.
struct Turns<'a> {
    run: &'a ScenarioRun,
    release: &'a AtomicBool,
    stats: &'a RunStats,
    /// Iterations this VU ran in the scenario.
    mine: u64,
}

impl<'a> Turns<'a> {
    fn start(run: &'a ScenarioRun, release: &'a AtomicBool, stats: &'a RunStats) -> Self {
        stats.vus_active.fetch_add(1, Ordering::Relaxed);
        Self {
            run,
            release,
            stats,
            mine: 0,
        }
    }

    fn next(&self) -> Next<'a> {
        let run = self.run;
        if run.stopped() || self.release.load(Ordering::Acquire) {
            return Next::Leave;
        }
        match &run.gate {
            Gate::Loop => {
                run.counter.fetch_add(1, Ordering::Relaxed);
                Next::Iteration
            }
            Gate::Shared { total } => {
                if run.counter.fetch_add(1, Ordering::Relaxed) >= *total {
                    Next::Leave
                } else {
                    Next::Iteration
                }
            }
            Gate::PerVu { each } => {
                if self.mine >= *each {
                    Next::Leave
                } else {
                    Next::Iteration
                }
            }
            Gate::Arrivals { arrivals, .. } => {
                // A VU waiting for an arrival is not active.
                self.stats.vus_active.fetch_sub(1, Ordering::Relaxed);
                Next::Arrival(arrivals)
            }
        }
    }

    /// After an arrival wait: whether an iteration started (else leave).
    fn arrived(&self, got: bool) -> bool {
        self.stats.vus_active.fetch_add(1, Ordering::Relaxed);
        if let (true, Gate::Arrivals { busy, .. }) = (got, &self.run.gate) {
            busy.fetch_add(1, Ordering::AcqRel);
        }
        got
    }

    /// The next iteration's request. As in k6, iterations are numbered as
    /// they start, whatever the executor (a dropped arrival takes no
    /// number).
    fn request(&self) -> IterationRequest<'a> {
        let (in_instance, in_test) = self.run.numbers.take();
        IterationRequest {
            exec: &self.run.info.exec,
            iteration_in_scenario: self.mine,
            iteration_in_instance: in_instance,
            iteration_in_test: in_test,
        }
    }

    /// The clock reading to measure `minIterationDuration` from, if any.
    fn clock(&self) -> Option<std::time::Instant> {
        (!self.run.min_duration.is_zero()).then(std::time::Instant::now)
    }

    /// What is left of `minIterationDuration` after an iteration started at
    /// `started` ended with `outcome`.
    fn rest(
        &self,
        started: Option<std::time::Instant>,
        outcome: &IterationOutcome,
    ) -> Option<std::time::Duration> {
        let ran = matches!(
            outcome,
            IterationOutcome::Completed | IterationOutcome::Failed(_)
        );
        started
            .filter(|_| ran)
            .and_then(|s| self.run.min_duration.checked_sub(s.elapsed()))
    }

    /// Accounts for an iteration that ended; false when the VU must leave.
    fn ended(&mut self, outcome: IterationOutcome) -> bool {
        let (run, stats) = (self.run, self.stats);
        self.mine += 1;
        if let Gate::Arrivals { busy, .. } = &run.gate {
            busy.fetch_sub(1, Ordering::AcqRel);
        }
        match outcome {
            IterationOutcome::Completed => {
                run.completed.fetch_add(1, Ordering::Relaxed);
                stats.iterations_completed.fetch_add(1, Ordering::Relaxed);
                true
            }
            IterationOutcome::Failed(err) => {
                run.completed.fetch_add(1, Ordering::Relaxed);
                stats.iterations_completed.fetch_add(1, Ordering::Relaxed);
                stats.report_exception(&err, &run.info);
                true
            }
            IterationOutcome::Interrupted | IterationOutcome::Aborted(_) => {
                run.interrupted.fetch_add(1, Ordering::Relaxed);
                stats.iterations_interrupted.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }
}

impl Drop for Turns<'_> {
    fn drop(&mut self) {
        self.stats.vus_active.fetch_sub(1, Ordering::Relaxed);
    }
}

fn run_scenario(vu: &mut Vu, run: &ScenarioRun, release: &AtomicBool, stats: &RunStats) {
    vu.activate(run.info.clone());
    let mut turns = Turns::start(run, release, stats);
    // Where this VU waits for arrivals (arrival-rate executors only).
    let mut slot: Option<Arc<Slot>> = None;
    loop {
        match turns.next() {
            Next::Iteration => {}
            Next::Arrival(arrivals) => {
                let slot = slot.get_or_insert_with(Slot::new).clone();
                let arrivals = arrivals.clone();
                let got = suspend(move || async move { arrivals.wait(&slot).await });
                if !turns.arrived(matches!(got, Ok(true))) {
                    break;
                }
            }
            Next::Leave => break,
        }
        let started = turns.clock();
        let outcome = vu.run_iteration(turns.request(), run.setup_data.as_ref());
        // minIterationDuration: sleep out the rest of a short iteration.
        if let Some(rest) = turns.rest(started, &outcome) {
            let _ = suspend(move || tokio::time::sleep(rest));
        }
        if !turns.ended(outcome) {
            break;
        }
    }
}

/// [`run_scenario`] for a native VU: the same turns, awaited, each wait
/// abandoned when the VU is interrupted.
async fn run_native_scenario(
    vu: &mut dyn NativeVu,
    interrupt: &InterruptSignal,
    run: &ScenarioRun,
    release: &AtomicBool,
    stats: &RunStats,
) {
    vu.activate(run.info.clone());
    let mut turns = Turns::start(run, release, stats);
    // Where this VU waits for arrivals (arrival-rate executors only).
    let mut slot: Option<Arc<Slot>> = None;
    loop {
        match turns.next() {
            Next::Iteration => {}
            Next::Arrival(arrivals) => {
                let slot = slot.get_or_insert_with(Slot::new);
                let got = tokio::select! {
                    biased;
                    _ = interrupt.interrupted() => false,
                    got = arrivals.wait(slot) => got,
                };
                if !turns.arrived(got) {
                    break;
                }
            }
            Next::Leave => break,
        }
        let started = turns.clock();
        let outcome = {
            let iteration = vu.run_iteration(turns.request());
            tokio::select! {
                biased;
                _ = interrupt.interrupted() => None,
                outcome = iteration => Some(outcome),
            }
        };
        let outcome = outcome.unwrap_or_else(|| {
            vu.interrupted();
            IterationOutcome::Interrupted
        });
        if let Some(rest) = turns.rest(started, &outcome) {
            tokio::select! {
                biased;
                _ = interrupt.interrupted() => {},
                _ = tokio::time::sleep(rest) => {},
            }
        }
        if !turns.ended(outcome) {
            break;
        }
    }
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
