//! `shared-iterations` and `per-vu-iterations`: a fixed number of
//! iterations, shared among VUs or per VU, within `maxDuration`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Crew, ExecCtx, ScenarioPlan, TICK};
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
    // Each of per-vu-iterations' VUs owes its iterations, so VUs another
    // scenario is still handing back are waited for; shared iterations are
    // done once every VU that started has come back.
    let per_vu = matches!(gate, Gate::PerVu { .. });
    let mut crew = Crew::new(ctx, plan, gate, progress);
    progress.start();
    let deadline = Instant::now() + max_duration;
    let mut activated = crew.activate_from_pool(vus);
    loop {
        let waiting = activated < vus && (per_vu || crew.len() > 0);
        if (crew.len() == 0 && !waiting) || ctx.stopper.is_stopped() {
            break;
        }
        let wake = if waiting {
            (Instant::now() + TICK).min(deadline)
        } else {
            deadline
        };
        tokio::select! {
            _ = crew.wait_one(Some(wake)) => {},
            _ = ctx.stopper.stopped() => break,
        }
        if Instant::now() >= deadline {
            break;
        }
        if activated < vus {
            activated += crew.activate_from_pool(vus - activated);
        }
    }
    crew.finish(plan.graceful_stop, None).await;
}
