//! `ramping-vus`: follows the plan's VU steps, starting VUs on ramp-ups and
//! releasing them on ramp-downs (they finish their iteration within
//! `gracefulRampDown`, or are interrupted).

use std::sync::Arc;
use std::time::Instant;

use stampede_config::executor::RampingVus;

use super::{Crew, ExecCtx, ScenarioPlan, TICK};
use crate::progress::ScenarioProgress;
use crate::vu_task::Gate;

pub(super) async fn run(
    ctx: &Arc<ExecCtx>,
    plan: &ScenarioPlan,
    progress: &Arc<ScenarioProgress>,
    cfg: &RampingVus,
) {
    let steps = cfg.raw_steps(&ctx.tuple, true);
    let grace = cfg.graceful_ramp_down;
    let mut crew = Crew::new(ctx, plan, Gate::Loop, progress);
    progress.start();
    let start = Instant::now();
    let mut target = 0;
    'steps: for step in steps {
        let at = start + step.time_offset;
        loop {
            crew.collect_returned();
            crew.interrupt_overdue(grace);
            crew.top_up(target);
            let now = Instant::now();
            if now >= at {
                break;
            }
            let wake = (now + TICK).min(at);
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => {},
                _ = ctx.stopper.stopped() => break 'steps,
            }
        }
        target = step.planned_vus as usize;
        let running = crew.unreleased();
        if target > running {
            crew.activate_from_pool((target - running) as u64);
        } else if target < running {
            crew.release_last(running - target);
        }
    }
    crew.finish(plan.graceful_stop, Some(grace)).await;
}
