//! `externally-controlled`: the number of looping VUs follows the run's
//! `scale` and `pause`/`resume` controls, for `duration` (or until stopped
//! when the duration is zero).

use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_config::executor::ExternallyControlled;

use super::{Crew, ExecCtx, ScenarioPlan, TICK};
use crate::progress::ScenarioProgress;
use crate::vu_task::Gate;

pub(super) async fn run(
    ctx: &Arc<ExecCtx>,
    plan: &ScenarioPlan,
    progress: &Arc<ScenarioProgress>,
    cfg: &ExternallyControlled,
) {
    let mut crew = Crew::new(ctx, plan, Gate::Loop, progress);
    progress.start();
    let mut scale = ctx.scale.subscribe();
    let deadline = (!cfg.duration.is_zero())
        .then(|| Instant::now() + cfg.duration.saturating_sub(plan.resume.offset));
    let mut creating = tokio::task::JoinSet::new();
    loop {
        crew.collect_returned();
        let (vus, max_vus) = *scale.borrow_and_update();
        let target = if ctx.pauser.is_paused() {
            0
        } else {
            vus.min(max_vus)
        } as usize;
        let running = crew.unreleased();
        if target > running + creating.len() {
            let need = (target - running - creating.len()) as u64;
            let got = crew.activate_from_pool(need);
            let allocated = (crew.len() + creating.len()) as u64;
            for _ in 0..(need - got).min(max_vus.saturating_sub(allocated)) {
                let pool = ctx.pool.clone();
                creating.spawn(async move { pool.create().await });
            }
        } else if target < running {
            crew.release_last(running - target);
        }
        let wake = Instant::now() + TICK;
        let wake = deadline.map_or(wake, |d| d.min(wake));
        tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => {},
            _ = scale.changed() => {},
            _ = ctx.pauser.changed() => {},
            Some(done) = creating.join_next(), if !creating.is_empty() => {
                if let Ok(Ok(vu)) = done {
                    crew.activate(vu);
                }
            }
            _ = ctx.stopper.stopped() => break,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    while let Some(done) = creating.join_next().await {
        if let Ok(Ok(vu)) = done {
            ctx.pool.give_back(vu);
        }
    }
    crew.finish(plan.graceful_stop, Some(Duration::ZERO)).await;
}
