//! `shared-iterations` and `per-vu-iterations`: a fixed number of
//! iterations, shared among VUs or per VU, within `maxDuration`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Crew, ExecCtx, ScenarioPlan};
use crate::progress::ScenarioProgress;
use crate::vu_task::Gate;

pub(super) async fn run(
    ctx: &Arc<ExecCtx>,
    plan: &ScenarioPlan,
    progress: &Arc<ScenarioProgress>,
    vus: u64,
    gate: Gate,
    max_duration: Duration,
) {
    let mut crew = Crew::new(ctx, plan, gate, progress);
    progress.start();
    crew.activate_from_pool(vus);
    let deadline = Instant::now() + max_duration;
    while crew.len() > 0 && !ctx.stopper.is_stopped() {
        tokio::select! {
            ok = crew.wait_one(Some(deadline)) => if !ok { break },
            _ = ctx.stopper.stopped() => break,
        }
    }
    crew.finish(plan.graceful_stop, None).await;
}
