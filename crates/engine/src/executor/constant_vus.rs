//! `constant-vus`: a fixed number of VUs looping for a duration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{sleep_until, Crew, ExecCtx, ScenarioPlan};
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
    crew.activate_from_pool(vus);
    sleep_until(&ctx.stopper, Instant::now() + duration).await;
    crew.finish(plan.graceful_stop, None).await;
}
