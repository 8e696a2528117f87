//! Starting the scenarios: each one's tags and `exec.scenario` info, its
//! progress bar, and its executor from its `startTime` on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stampede_config::plan::Plan;
use stampede_js::ScenarioInfo;
use stampede_metrics::TagSet;

use crate::executor::{self, ExecCtx, ScenarioPlan};
use crate::part::{ResumeAt, ScenarioResume};
use crate::progress::ScenarioProgress;
use crate::stats::RunStats;

/// Runs every scenario with work in this segment, each from its start time;
/// returns when all have ended.
pub(crate) async fn run_all(
    plan: &Plan,
    ctx: Arc<ExecCtx>,
    progress_list: &Mutex<Vec<Arc<ScenarioProgress>>>,
    stats: &RunStats,
    resume: Option<&(ResumeAt, Duration)>,
) {
    // A resumed part's scenarios are where the test is now.
    let now = Instant::now();
    let start = resume
        .and_then(|(_, offset)| now.checked_sub(*offset))
        .unwrap_or(now);
    let mut tasks = Vec::new();
    for sc in &plan.scenarios {
        if !sc.has_work(&plan.tuple) {
            continue;
        }
        let mut tags: Vec<(String, String)> = plan
            .run
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.extend(sc.tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if plan.run.system_tags.iter().any(|t| t == "scenario") {
            tags.push(("scenario".into(), sc.name.clone()));
        }
        let info = Arc::new(ScenarioInfo {
            name: sc.name.clone(),
            executor: sc.executor.kind().name().to_string(),
            exec: sc.exec_fn().to_string(),
            start_time_ms: 0.0,
            env: sc.env.clone(),
            tags: TagSet::from_pairs(tags),
        });
        let progress = ScenarioProgress::new(
            &sc.name,
            sc.executor.kind().name(),
            sc.description(&plan.tuple),
            sc.executor.regular_duration(),
        );
        progress_list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(progress.clone());
        let p = progress.clone();
        stats.set_progress(&sc.name, Arc::new(move || p.view().fraction));
        let plan_sc = Arc::new(ScenarioPlan {
            info,
            executor: sc.executor.clone(),
            start_time: sc.start_time,
            graceful_stop: sc.graceful_stop,
            resume: resume.map_or_else(ScenarioResume::default, |(r, offset)| {
                ScenarioResume::for_scenario(r, *offset, sc.start_time, &sc.name)
            }),
        });
        let ctx = ctx.clone();
        tasks.push(tokio::spawn(async move {
            if !plan_sc.start_time.is_zero()
                && !executor::sleep_until(&ctx.stopper, start + plan_sc.start_time).await
            {
                progress.finish();
                return;
            }
            let mut info = (*plan_sc.info).clone();
            // When the scenario started (for a resumed part, on the test's clock).
            info.start_time_ms = std::time::SystemTime::now()
                .checked_sub(plan_sc.resume.offset)
                .unwrap_or_else(std::time::SystemTime::now)
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
                .floor();
            let plan_sc = Arc::new(ScenarioPlan {
                info: Arc::new(info),
                executor: plan_sc.executor.clone(),
                start_time: plan_sc.start_time,
                graceful_stop: plan_sc.graceful_stop,
                resume: plan_sc.resume,
            });
            executor::run(ctx, plan_sc, progress).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
