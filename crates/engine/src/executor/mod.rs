//! Executors: turn a scenario's plan (from `stampede-config`) into VUs
//! running iterations. One file per executor; the shared mechanics (lending
//! VUs, graceful stops) live in [`Crew`].

mod arrival_rate;
mod constant_vus;
mod externally_controlled;
mod iterations;
mod ramping_vus;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stampede_config::{ExecutionTuple, ExecutorConfig};
use stampede_js::log::Logger;
use stampede_js::ScenarioInfo;
use stampede_metrics::Builtin;

use crate::main_sink::MainSink;
use tokio::sync::mpsc;

use crate::control::Stopper;
use crate::pool::Pool;
use crate::progress::ScenarioProgress;
use crate::vu_task::{Gate, ScenarioRun, VuCmd, VuHandle};

/// What every executor works with.
pub(crate) struct ExecCtx {
    pub pool: Arc<Pool>,
    pub stopper: Arc<Stopper>,
    pub tuple: ExecutionTuple,
    pub setup_data: Option<Arc<str>>,
    /// `minIterationDuration`.
    pub min_iteration_duration: Duration,
    /// Target and ceiling of VUs for an externally-controlled scenario.
    pub scale: tokio::sync::watch::Sender<(u64, u64)>,
    /// Pause and resume.
    pub pauser: Arc<crate::control::Pauser>,
    /// Samples produced outside VUs (`dropped_iterations`).
    pub sink: Arc<Mutex<MainSink>>,
    pub logger: Arc<Logger>,
}

impl ExecCtx {
    /// Records a `dropped_iterations` sample.
    pub fn dropped(&self, info: &ScenarioInfo) {
        self.sink.lock().unwrap_or_else(|p| p.into_inner()).add(
            Builtin::DroppedIterations.metric(),
            &info.tags,
            1.0,
            stampede_js::now_ns(),
        );
    }
}

/// A scenario as the engine runs it.
pub(crate) struct ScenarioPlan {
    pub info: Arc<ScenarioInfo>,
    pub executor: ExecutorConfig,
    pub start_time: Duration,
    pub graceful_stop: Duration,
    /// Where a resumed part of a distributed test takes the scenario up
    /// (zero: from its start).
    pub resume: crate::part::ScenarioResume,
}

/// Runs one scenario to its end (or until the run stops).
pub(crate) async fn run(
    ctx: Arc<ExecCtx>,
    plan: Arc<ScenarioPlan>,
    progress: Arc<ScenarioProgress>,
) {
    match &plan.executor {
        // A resumed part runs the iterations left and within what is left
        // of `maxDuration`.
        ExecutorConfig::SharedIterations(e) => {
            let vus = e.vus(&ctx.tuple);
            let total = e.iterations(&ctx.tuple).saturating_sub(plan.resume.done);
            progress.set_totals(Some(total), vus);
            let max_duration = e.max_duration.saturating_sub(plan.resume.offset);
            let gate = Gate::Shared { total };
            iterations::run(&ctx, &plan, &progress, vus, gate, max_duration).await
        }
        ExecutorConfig::PerVuIterations(e) => {
            let vus = e.vus(&ctx.tuple);
            let planned = vus * e.iterations;
            // Which VU did how many is not reported: the VUs share what is
            // left, so the scenario's total still holds.
            let gate = match plan.resume.done {
                0 => Gate::PerVu { each: e.iterations },
                done => Gate::Shared {
                    total: planned.saturating_sub(done),
                },
            };
            progress.set_totals(Some(planned.saturating_sub(plan.resume.done)), vus);
            let max_duration = e.max_duration.saturating_sub(plan.resume.offset);
            iterations::run(&ctx, &plan, &progress, vus, gate, max_duration).await
        }
        ExecutorConfig::ConstantVus(e) => {
            let vus = e.vus(&ctx.tuple);
            progress.set_totals(None, vus);
            constant_vus::run(&ctx, &plan, &progress, vus, e.duration).await
        }
        ExecutorConfig::RampingVus(e) => {
            progress.set_totals(None, e.max_target_vus(&ctx.tuple));
            ramping_vus::run(&ctx, &plan, &progress, e).await
        }
        ExecutorConfig::ConstantArrivalRate(e) => {
            progress.set_totals(None, e.max_vus(&ctx.tuple));
            let settings = arrival_rate::Settings {
                pre_allocated: e.pre_allocated_vus(&ctx.tuple),
                max_vus: e.max_vus(&ctx.tuple),
                duration: e.duration,
            };
            arrival_rate::run(
                &ctx,
                &plan,
                &progress,
                settings,
                e.iteration_starts(&ctx.tuple),
            )
            .await
        }
        ExecutorConfig::RampingArrivalRate(e) => {
            progress.set_totals(None, e.max_vus(&ctx.tuple));
            let settings = arrival_rate::Settings {
                pre_allocated: e.pre_allocated_vus(&ctx.tuple),
                max_vus: e.max_vus(&ctx.tuple),
                duration: plan.executor.regular_duration().unwrap_or_default(),
            };
            arrival_rate::run(
                &ctx,
                &plan,
                &progress,
                settings,
                e.iteration_starts(&ctx.tuple),
            )
            .await
        }
        ExecutorConfig::ExternallyControlled(e) => {
            progress.set_totals(None, e.max_vus.max(e.vus));
            ctx.scale.send_replace((e.vus, e.max_vus.max(e.vus)));
            externally_controlled::run(&ctx, &plan, &progress, e).await
        }
    }
    progress.finish();
}

/// The VUs a scenario has borrowed, and the mechanics to stop them.
pub(crate) struct Crew {
    pub run: Arc<ScenarioRun>,
    ctx: Arc<ExecCtx>,
    done_tx: mpsc::UnboundedSender<VuHandle>,
    done_rx: mpsc::UnboundedReceiver<VuHandle>,
    /// VUs running, with their release switches, in activation order.
    active: Vec<(VuHandle, Arc<AtomicBool>)>,
    /// VUs released (ramp-down) but not yet returned: id -> release time.
    releasing: HashMap<u64, Instant>,
    progress: Arc<ScenarioProgress>,
}

impl Crew {
    pub fn new(
        ctx: &Arc<ExecCtx>,
        plan: &ScenarioPlan,
        gate: Gate,
        progress: &Arc<ScenarioProgress>,
    ) -> Self {
        let run = ScenarioRun::new(
            plan.info.clone(),
            gate,
            ctx.setup_data.clone(),
            ctx.min_iteration_duration,
            crate::vu_task::IterationNumbers::new(
                plan.executor.iteration_tuple(&ctx.tuple).as_ref(),
                plan.resume.done,
            ),
        );
        progress.attach(run.clone());
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            run,
            ctx: ctx.clone(),
            done_tx,
            done_rx,
            active: Vec::new(),
            releasing: HashMap::new(),
            progress: progress.clone(),
        }
    }

    /// Number of VUs that have not come back yet.
    pub fn len(&self) -> usize {
        self.active.len()
    }

    /// Sends `vu` to run the scenario.
    pub fn activate(&mut self, vu: VuHandle) {
        vu.interrupt.reset();
        let release = Arc::new(AtomicBool::new(false));
        let sent = vu.send(VuCmd::Run {
            run: self.run.clone(),
            release: release.clone(),
            done: self.done_tx.clone(),
        });
        if sent {
            self.active.push((vu, release));
            self.progress.set_active(self.active.len() as u64);
        }
    }

    /// Borrows up to `n` VUs from the pool and activates them; returns how
    /// many were available.
    pub fn activate_from_pool(&mut self, n: u64) -> u64 {
        let vus = self.ctx.pool.take(n);
        let got = vus.len() as u64;
        for vu in vus {
            self.activate(vu);
        }
        got
    }

    /// Activates idle VUs until `target` run unreleased. A scenario that
    /// starts as another ends finds that one's VUs still finishing (its
    /// `gracefulStop`): they join here as they come back, as k6's
    /// executors wait for their planned VUs, instead of the scenario
    /// running short for the rest of its time.
    pub fn top_up(&mut self, target: usize) {
        let running = self.unreleased();
        if target > running {
            self.activate_from_pool((target - running) as u64);
        }
    }

    /// Asks the `n` most recently activated VUs to stop after their current
    /// iteration (ramp-down).
    pub fn release_last(&mut self, n: usize) {
        let now = Instant::now();
        let mut count = 0;
        for (vu, flag) in self.active.iter().rev() {
            if count == n {
                break;
            }
            if !flag.swap(true, Ordering::AcqRel) {
                self.releasing.insert(vu.id, now);
                count += 1;
            }
        }
    }

    /// VUs running and not released.
    pub fn unreleased(&self) -> usize {
        self.active
            .iter()
            .filter(|(_, f)| !f.load(Ordering::Acquire))
            .count()
    }

    /// Interrupts VUs released longer than `grace` ago.
    pub fn interrupt_overdue(&self, grace: Duration) {
        let now = Instant::now();
        for (vu, _) in &self.active {
            if let Some(t) = self.releasing.get(&vu.id) {
                if now.duration_since(*t) >= grace {
                    vu.interrupt.interrupt();
                }
            }
        }
    }

    /// Takes in VUs that came back, returning them to the pool.
    pub fn collect_returned(&mut self) {
        while let Ok(vu) = self.done_rx.try_recv() {
            self.returned(vu);
        }
    }

    fn returned(&mut self, vu: VuHandle) {
        self.active.retain(|(v, _)| v.id != vu.id);
        self.releasing.remove(&vu.id);
        self.progress.set_active(self.active.len() as u64);
        self.ctx.pool.give_back(vu);
    }

    /// Waits for one VU to come back, or until `deadline`; false on timeout.
    pub async fn wait_one(&mut self, deadline: Option<Instant>) -> bool {
        let recv = self.done_rx.recv();
        let got = match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), recv).await.ok().flatten(),
            None => recv.await,
        };
        match got {
            Some(vu) => {
                self.returned(vu);
                true
            }
            None => false,
        }
    }

    /// Interrupts every running VU.
    pub fn interrupt_all(&self) {
        for (vu, _) in &self.active {
            vu.interrupt.interrupt();
        }
    }

    /// Ends the scenario as k6 does: no new iterations; running ones get
    /// `graceful` to finish (the run stopping early cuts that short), then
    /// they are interrupted; VUs released by a ramp-down meanwhile are
    /// interrupted once `ramp_grace` has passed. Returns once every VU is
    /// back in the pool.
    pub async fn finish(&mut self, graceful: Duration, ramp_grace: Option<Duration>) {
        self.run.stop.store(true, Ordering::Release);
        if let Gate::Arrivals { arrivals, .. } = &self.run.gate {
            // One sample per iteration, as k6 records each drop.
            for _ in 0..arrivals.close() {
                self.ctx.dropped(&self.run.info);
            }
        }
        let deadline = Instant::now() + graceful;
        let stopper = self.ctx.stopper.clone();
        while !self.active.is_empty() {
            if stopper.is_stopped() || Instant::now() >= deadline {
                break;
            }
            if let Some(g) = ramp_grace {
                self.interrupt_overdue(g);
            }
            let tick = (Instant::now() + TICK).min(deadline);
            tokio::select! {
                _ = self.wait_one(Some(tick)) => {},
                _ = stopper.stopped() => break,
            }
        }
        self.interrupt_all();
        loop {
            self.forget_gone();
            if self.active.is_empty() {
                break;
            }
            self.wait_one(Some(Instant::now() + TICK)).await;
        }
    }

    /// Drops VUs whose task ended without coming back (their thread failed
    /// and the run is stopping): they will never return.
    fn forget_gone(&mut self) {
        let before = self.active.len();
        self.active.retain(|(vu, _)| !vu.is_gone());
        if self.active.len() != before {
            let active = &self.active;
            self.releasing
                .retain(|id, _| active.iter().any(|(vu, _)| vu.id == *id));
            self.progress.set_active(self.active.len() as u64);
        }
    }
}

/// How often waiting executors look at ramp-down deadlines.
pub(crate) const TICK: Duration = Duration::from_millis(50);

/// Sleeps until `deadline` unless the run stops first; true if it slept
/// the whole way.
pub(crate) async fn sleep_until(stopper: &Stopper, deadline: Instant) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(deadline.into()) => true,
        _ = stopper.stopped() => false,
    }
}
