//! `constant-vus`: a fixed number of VUs looping for a duration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{sleep_until, Crew, ExecCtx, ScenarioPlan, TICK};
use crate::progress::ScenarioProgress;
use crate::vu_task::Gate;

pub(super) async fn run(
    ctx: &Arc<ExecCtx>,
    plan: &ScenarioPlan,
    progress: &Arc<ScenarioProgress>,
    vus: u64,
    duration: Duration,
) {
    let mut crew = Crew::new(ctx, plan, Gate::Loop, progress);
    progress.start();
    // A resumed part runs what is left of the duration.
    let left = duration.saturating_sub(plan.resume.offset);
    let end = Instant::now() + left;
    let vus = if left.is_zero() { 0 } else { vus as usize };
    crew.top_up(vus);
    // VUs still being handed back by a scenario that just ended join as
    // they arrive.
    while crew.unreleased() < vus {
        let wake = (Instant::now() + TICK).min(end);
        if wake >= end || !sleep_until(&ctx.stopper, wake).await {
            break;
        }
        crew.top_up(vus);
    }
    sleep_until(&ctx.stopper, end).await;
    crew.finish(plan.graceful_stop, None).await;
}
