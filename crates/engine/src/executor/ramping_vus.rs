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
    // A resumed part starts at the level the ramp has reached by now.
    let offset = plan.resume.offset;
    let start = Instant::now()
        .checked_sub(offset)
        .unwrap_or_else(Instant::now);
    let past = steps.iter().take_while(|s| s.time_offset <= offset).count();
    let mut target = 0;
    'steps: for step in steps.into_iter().skip(past.saturating_sub(1)) {
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
