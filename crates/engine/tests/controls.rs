//! Run control through the engine's API: pause, resume, scale, stop.

use std::sync::Arc;
use std::time::Duration;

use stampede_engine::{ControlError, ExitCode, Loaded, RunConfig, StopReason};
use stampede_js::log::Logger;

fn loaded(source: &str) -> (Loaded, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.js");
    std::fs::write(&path, source).unwrap();
    let mut cfg = RunConfig::for_script(&path);
    cfg.logger = Arc::new(Logger::capturing());
    cfg.threads = Some(1);
    (Loaded::load(cfg).unwrap(), dir)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn active(r: &stampede_engine::Running) -> u64 {
    r.progress().iter().map(|p| p.active_vus).sum()
}

/// Polls `cond` until it holds, failing after a generous deadline (a bound
/// against hangs, not a timing assertion).
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn externally_controlled_scales_pauses_and_resumes() {
    let (l, _dir) = loaded(
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { ext: { executor: 'externally-controlled', vus: 1, maxVUs: 3, duration: '0s' } } };\n\
         export default function () { sleep(0.05); }\n",
    );
    runtime().block_on(async move {
        let r = l
            .start(Vec::new(), Box::new(|_| serde_json::json!({})))
            .unwrap();
        until("1 VU active", || active(&r) == 1).await;
        r.scale(3, None).unwrap();
        until("3 VUs active", || active(&r) == 3).await;
        assert!(matches!(r.scale(5, None), Err(ControlError::InvalidVus(_))));
        r.scale(5, Some(5)).unwrap();
        until("5 VUs active", || active(&r) == 5).await;
        r.pause().unwrap();
        until("no VU active while paused", || active(&r) == 0).await;
        r.resume();
        until("5 VUs active again", || active(&r) == 5).await;
        // Enough iterations for the count check below.
        until("20 iterations", || r.stats().completed() > 20).await;
        r.stop(StopReason::Requested);
        let report = r.finish().await;
        assert_eq!(report.exit_code, ExitCode::Ok);
        let it = report.registry.lookup("iterations").unwrap();
        assert!(
            report
                .store
                .get(it.id, &Default::default())
                .unwrap()
                .samples()
                > 20
        );
    });
}

#[test]
fn paused_tests_wait_and_other_executors_refuse_pause_after_start() {
    let (l, _dir) = loaded(
        "export const options = { paused: true, vus: 1, duration: '1s' };\n\
         export default function () {}\n",
    );
    runtime().block_on(async move {
        let r = l
            .start(Vec::new(), Box::new(|_| serde_json::json!({})))
            .unwrap();
        until("the paused state is reached", || {
            r.status().status == stampede_engine::stats::status::PAUSED_BEFORE_RUN
        })
        .await;
        assert!(r.is_paused());
        assert_eq!(
            r.stats().elapsed(),
            Duration::ZERO,
            "nothing starts while paused"
        );
        r.resume();
        until("the scenarios start", || {
            r.stats().elapsed() > Duration::ZERO
        })
        .await;
        assert_eq!(
            r.pause(),
            Err(ControlError::NotPausable("constant-vus".into()))
        );
        assert!(matches!(r.scale(2, None), Err(ControlError::NotScalable)));
        let report = r.finish().await;
        assert_eq!(report.exit_code, ExitCode::Ok);
    });
}
