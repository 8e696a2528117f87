//! A run as one part of a distributed test: `setup()` run here and handed
//! out, or received from another part; `teardown()` and `handleSummary()`
//! left to another part; and a part resumed mid-test (arrival-rate
//! iterations already reported are not issued again, iteration-based
//! scenarios run what is left, the clock is the test's).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use stampede_engine::{ExitCode, Loaded, Part, ResumeAt, RunConfig, RunReport, SharedSetup};
use stampede_js::log::Logger;

fn run(source: &str, part: Part) -> RunReport {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.js");
    std::fs::write(&path, source).unwrap();
    let mut cfg = RunConfig::for_script(&path);
    cfg.logger = Arc::new(Logger::capturing());
    cfg.threads = Some(1);
    cfg.part = Some(part);
    let loaded = Loaded::load(cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        loaded
            .start(Vec::new(), Box::new(|_| serde_json::json!({})))
            .unwrap()
            .finish()
            .await
    })
}

fn count(r: &RunReport, metric: &str) -> u64 {
    r.registry
        .lookup(metric)
        .and_then(|m| r.store.get(m.id, &Default::default()))
        .map_or(0, |a| a.samples())
}

fn received(data: Option<&str>) -> SharedSetup {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tx.send(data.map(str::to_string)).unwrap();
    SharedSetup::Receive(rx)
}

/// setup(), teardown() and handleSummary() fail the run if called here.
const ELSEWHERE: &str = "import { check } from 'k6';\n\
export const options = { iterations: 5, vus: 1, thresholds: { checks: ['rate==1'] } };\n\
export function setup() { throw new Error('setup ran here'); }\n\
export function teardown() { throw new Error('teardown ran here'); }\n\
export function handleSummary() { throw new Error('handleSummary ran here'); }\n\
export default function (data) { check(data, { 'setup data received': (d) => d && d.v === 42 }); }\n";

#[test]
fn a_part_uses_setup_data_from_another_and_leaves_teardown_and_summary() {
    let r = run(
        ELSEWHERE,
        Part {
            setup: received(Some(r#"{"v":42}"#)),
            teardown: false,
            handle_summary: false,
            resume: None,
        },
    );
    assert_eq!(r.exit_code, ExitCode::Ok, "{:?}", r.error);
    assert_eq!(count(&r, "iterations"), 5);
    assert!(r.handle_summary.is_none());
    assert_eq!(r.setup_data, Some(serde_json::json!({"v": 42})));
}

#[test]
fn the_part_that_runs_setup_hands_its_data_out() {
    let seen = Arc::new(Mutex::new(None));
    let seen_w = seen.clone();
    let r = run(
        // A second setup() call in VU 0 would return `calls: 2`.
        "export const options = { iterations: 2 };\n\
         let calls = 0;\n\
         export function setup() { calls++; return { token: 'abc', calls }; }\n\
         export default function (d) { if (d.token !== 'abc' || d.calls !== 1) throw new Error('bad data'); }\n\
         export function teardown(d) { if (d.calls !== 1) throw new Error('setup ran twice'); }\n",
        Part {
            setup: SharedSetup::Run(Box::new(move |d| *seen_w.lock().unwrap() = Some(d))),
            teardown: true,
            handle_summary: true,
            resume: None,
        },
    );
    assert_eq!(r.exit_code, ExitCode::Ok, "{:?}", r.error);
    assert_eq!(count(&r, "iterations"), 2);
    assert_eq!(
        seen.lock().unwrap().clone(),
        Some(Some(serde_json::json!({"token": "abc", "calls": 1})))
    );
}

#[test]
fn a_resumed_arrival_rate_part_issues_only_unreported_iterations() {
    // 10 iterations/s for 4 s: 41 planned (k6 also starts the one due at
    // exactly 4 s); the lost worker reported 10; the resumer starts 3 s in
    // and issues the other 31 (those due in seconds 1 and 2 at once), then
    // runs to the plan's end.
    let start = SystemTime::now() - Duration::from_millis(2500);
    let r = run(
        "export const options = { scenarios: { car: { executor: 'constant-arrival-rate', \
         rate: 10, timeUnit: '1s', duration: '4s', preAllocatedVUs: 30 } } };\n\
         export default function () {}\n",
        Part {
            setup: received(None),
            teardown: true,
            handle_summary: true,
            resume: Some(ResumeAt {
                test_start: start,
                done_iterations: BTreeMap::from([("car".to_string(), 10)]),
            }),
        },
    );
    assert_eq!(r.exit_code, ExitCode::Ok, "{:?}", r.error);
    assert_eq!(count(&r, "iterations"), 31);
    assert_eq!(count(&r, "dropped_iterations"), 0);
    assert!(
        r.duration >= Duration::from_secs(3),
        "the duration is on the test's clock: {:?}",
        r.duration
    );
}

#[test]
fn a_resumed_iterations_part_runs_what_is_left() {
    for executor in ["shared-iterations", "per-vu-iterations"] {
        let r = run(
            &format!(
                "export const options = {{ scenarios: {{ it: {{ executor: '{executor}', \
                 vus: 4, iterations: 5 }} }} }};\n\
                 export default function () {{}}\n"
            ),
            Part {
                setup: received(None),
                teardown: true,
                handle_summary: true,
                resume: Some(ResumeAt {
                    test_start: SystemTime::now(),
                    done_iterations: BTreeMap::from([("it".to_string(), 3)]),
                }),
            },
        );
        assert_eq!(r.exit_code, ExitCode::Ok, "{executor}: {:?}", r.error);
        let planned = if executor == "shared-iterations" {
            5
        } else {
            20
        };
        assert_eq!(count(&r, "iterations"), planned - 3, "{executor}");
    }
}

#[test]
fn a_part_resumed_after_the_arrival_rate_scenario_s_end_issues_nothing() {
    let r = run(
        "export const options = { scenarios: { car: { executor: 'constant-arrival-rate', \
         rate: 10, timeUnit: '1s', duration: '2s', preAllocatedVUs: 5 } } };\n\
         export default function () {}\n",
        Part {
            setup: received(None),
            teardown: true,
            handle_summary: true,
            resume: Some(ResumeAt {
                test_start: SystemTime::now() - Duration::from_secs(5),
                done_iterations: BTreeMap::from([("car".to_string(), 4)]),
            }),
        },
    );
    assert_eq!(r.exit_code, ExitCode::Ok, "{:?}", r.error);
    assert_eq!(count(&r, "iterations"), 0);
    assert_eq!(count(&r, "dropped_iterations"), 0);
}
