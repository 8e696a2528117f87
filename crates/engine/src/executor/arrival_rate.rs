//! `constant-arrival-rate` and `ramping-arrival-rate`: iterations start on
//! schedule whatever the response times (no coordinated omission). An
//! iteration with no idle VU to run it is dropped (`dropped_iterations`)
//! and another VU is initialized in the background, up to `maxVUs`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stampede_config::executor::ArrivalSchedule;
use stampede_js::log::Level;

use super::{sleep_until, Crew, ExecCtx, ScenarioPlan};
use crate::arrivals::Arrivals;
use crate::progress::ScenarioProgress;
use crate::vu_task::Gate;

pub(super) struct Settings {
    pub pre_allocated: u64,
    pub max_vus: u64,
    pub duration: Duration,
}

pub(super) async fn run(
    ctx: &Arc<ExecCtx>,
    plan: &ScenarioPlan,
    progress: &Arc<ScenarioProgress>,
    s: Settings,
    schedule: ArrivalSchedule,
) {
    let arrivals = Arrivals::new();
    let busy = Arc::new(AtomicI64::new(0));
    let gate = Gate::Arrivals {
        arrivals: arrivals.clone(),
        busy: busy.clone(),
    };
    let mut crew = Crew::new(ctx, plan, gate, progress);
    progress.start();
    crew.activate_from_pool(s.pre_allocated);
    // A resumed part is where the scenario is now; as many iterations as
    // the lost worker reported are not issued again, the others are, at
    // once those already due (a catch-up), so the plan's count holds.
    let start = Instant::now()
        .checked_sub(plan.resume.offset)
        .unwrap_or_else(Instant::now);
    let mut initializing = tokio::task::JoinSet::new();
    let mut warned = false;
    // A part resumed after the scenario's end issues nothing: no burst of
    // everything left once the run is over.
    let over = !plan.resume.offset.is_zero() && plan.resume.offset > s.duration;
    'schedule: for (number, offset) in (0_u64..).zip(schedule.take_while(|_| !over)) {
        if number < plan.resume.done {
            continue;
        }
        let at = start + offset;
        while Instant::now() < at {
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => {},
                Some(done) = initializing.join_next(), if !initializing.is_empty() => {
                    match done {
                        Ok(Ok(vu)) => crew.activate(vu),
                        Ok(Err(e)) => {
                            ctx.logger.log(Level::Error, &format!("could not initialize a VU: {e}"), &[]);
                        }
                        Err(_) => {}
                    }
                }
                _ = ctx.stopper.stopped() => break 'schedule,
            }
        }
        let free = crew.len() as i64 - busy.load(Ordering::Acquire);
        if !arrivals.try_start(free) {
            ctx.dropped(&plan.info);
            let allocated = (crew.len() + initializing.len()) as u64;
            if allocated < s.max_vus {
                let borrowed = crew.activate_from_pool(1);
                if borrowed == 0 {
                    let pool = ctx.pool.clone();
                    initializing.spawn(async move { pool.create().await });
                }
            } else if !warned {
                warned = true;
                ctx.logger.log(
                    Level::Warning,
                    &format!(
                        "Insufficient VUs, reached {} active VUs and cannot initialize more",
                        s.max_vus
                    ),
                    &[
                        ("executor", plan.info.executor.as_str()),
                        ("scenario", plan.info.name.as_str()),
                    ],
                );
            }
        }
    }
    sleep_until(&ctx.stopper, start + s.duration).await;
    while let Some(done) = initializing.join_next().await {
        if let Ok(Ok(vu)) = done {
            ctx.pool.give_back(vu);
        }
    }
    crew.finish(plan.graceful_stop, None).await;
}
