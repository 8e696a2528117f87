//! End-to-end runs of the engine against the httpbin test server.

mod common;

use common::{run_script, run_script_with};
use stampede_demo::TestServer;
use stampede_engine::ExitCode;

#[test]
fn shared_iterations_with_http_and_checks() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import http from 'k6/http';\nimport { check } from 'k6';\n\
         export const options = { iterations: 10, vus: 3 };\n\
         export default function () {\n\
           const r = http.get(`${__ENV.BASE_URL}/get`);\n\
           check(r, { 'ok': (x) => x.status === 200 });\n\
         }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(
        run.report.exit_code,
        ExitCode::Ok,
        "{:?} {:?}",
        run.report.error,
        run.logs
    );
    assert_eq!(run.count("iterations", &[]), 10);
    assert_eq!(
        run.count("http_reqs", &[("status", "200"), ("method", "GET")]),
        10
    );
    assert_eq!(run.count("checks", &[("check", "ok")]), 10);
    assert_eq!(
        run.count("http_req_duration", &[("expected_response", "true")]),
        10
    );
    assert!(run.count("data_received", &[]) > 1000);
}

#[test]
fn thresholds_fail_with_99() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import http from 'k6/http';\n\
         export const options = { iterations: 3, thresholds: { http_req_failed: ['rate<0.1'] } };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/status/500`); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::ThresholdsFailed);
    assert!(run
        .report
        .error
        .as_deref()
        .unwrap()
        .contains("http_req_failed"));
}

#[test]
fn constant_vus_runs_for_its_duration_and_stops() {
    let server = TestServer::start_in_background();
    let started = std::time::Instant::now();
    let run = run_script(
        "import http from 'k6/http';\nimport { sleep } from 'k6';\n\
         export const options = { vus: 2, duration: '2s' };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.1); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    let n = run.count("iterations", &[]);
    assert!((12..=42).contains(&n), "{n} iterations");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(run.count("vus_max", &[]) >= 1);
}

#[test]
fn graceful_stop_interrupts_long_iterations() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '1s', gracefulStop: '300ms' } } };\n\
         export default function () { sleep(5); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok);
    assert_eq!(run.count("iterations", &[]), 0);
    assert!(run.report.duration < std::time::Duration::from_secs(4));
    assert_eq!(run.report.exit_code, ExitCode::Ok);
}

#[test]
fn back_to_back_scenarios_hand_over_every_vu() {
    // `b` and `once` start the instant `a` ends; `a`'s VUs are interrupted
    // (gracefulStop 0s) and come back a moment later. `b` must still run
    // with all 5 VUs, as in k6, not with the few that were idle at its
    // start, and `once` must get its VU.
    let server = TestServer::start_in_background();
    let run = run_script(
        "import { sleep } from 'k6';\n\
         const phase = (start) => ({ executor: 'constant-vus', vus: 5, startTime: start, duration: '2s', gracefulStop: '0s' });\n\
         export const options = { scenarios: { a: phase('0s'), b: phase('2s'),\n\
           once: { executor: 'per-vu-iterations', vus: 1, iterations: 1, startTime: '2s', exec: 'once' } } };\n\
         export default function () { sleep(0.5); }\n\
         export function once() {}\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    // 5 VUs x 2 s / 0.5 s = 20 iterations (one VU alone: 4).
    let b = run.count("iterations", &[("scenario", "b")]);
    assert!(b >= 15, "scenario b ran {b} iterations");
    // The one-iteration scenario starting at the same instant (seed 000's
    // fault injection) waits for its VU rather than running none.
    assert_eq!(run.count("iterations", &[("scenario", "once")]), 1);
}

#[test]
fn arrival_rate_starts_iterations_on_schedule() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import http from 'k6/http';\n\
         export const options = { scenarios: { r: { executor: 'constant-arrival-rate', rate: 50, duration: '1s', preAllocatedVUs: 5, maxVUs: 10 } } };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/get`); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    // k6 starts one at 0s and one at the very end: rate * duration + 1.
    assert_eq!(run.count("iterations", &[]), 51);
    assert_eq!(run.count("dropped_iterations", &[]), 0);
}

#[test]
fn arrival_rate_drops_when_vus_run_out() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { r: { executor: 'constant-arrival-rate', rate: 20, duration: '1s', preAllocatedVUs: 1, maxVUs: 2 } } };\n\
         export default function () { sleep(0.5); }\n",
        &server.url(),
    )
    .unwrap();
    assert!(run.count("dropped_iterations", &[("scenario", "r")]) >= 10);
    // Every scheduled start (21, as k6: one at 0 s and one at 1 s) either
    // ran or was dropped.
    assert_eq!(
        run.count("iterations", &[]) + run.count("dropped_iterations", &[]),
        21
    );
    assert!(
        run.logged("Insufficient VUs, reached 2 active VUs"),
        "{:?}",
        run.logs
    );
}

#[test]
fn ramping_vus_follows_stages() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { r: { executor: 'ramping-vus', stages: [{ duration: '500ms', target: 4 }, { duration: '500ms', target: 0 }], gracefulRampDown: '0s' } } };\n\
         export default function () { sleep(0.05); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok);
    assert!(run.count("iterations", &[]) > 10);
}

#[test]
fn test_abort_exits_108_and_setup_data_flows() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import exec from 'k6/execution';\n\
         export const options = { vus: 1, duration: '30s' };\n\
         export function setup() { return { stopAt: 3 }; }\n\
         export default function (d) { if (__ITER === d.stopAt) exec.test.abort('enough'); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::ScriptAborted);
    // Iterations 0 to 2, and the one that aborted (k6 counts it too).
    assert_eq!(run.count("iterations", &[]), 4);
    assert_eq!(
        run.report.setup_data,
        Some(serde_json::json!({"stopAt": 3}))
    );
}

#[test]
fn invalid_options_fail_with_all_errors() {
    let err = run_script(
        "export const options = { vu: 2, scenarios: { x: { executor: 'nope' } } };\nexport default function () {}\n",
        "http://127.0.0.1:1",
    )
    .err()
    .unwrap();
    assert_eq!(err.exit_code(), ExitCode::InvalidConfig);
    let msg = err.to_string();
    assert!(msg.contains("vu"), "{msg}");
    assert!(msg.contains("nope"), "{msg}");
}

#[test]
fn setup_exception_exits_107() {
    let run = run_script(
        "export function setup() { throw new Error('no setup'); }\nexport default function () {}\n",
        "http://127.0.0.1:1",
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::ScriptException);
    assert!(run.report.error.unwrap().contains("no setup"));
}

#[test]
fn rps_limits_requests_across_vus() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import http from 'k6/http';\n\
         export const options = { iterations: 10, vus: 5, rps: 5 };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/get`); }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.count("http_reqs", &[]), 10);
    // Ten requests at five per second cannot take less than 1.8s.
    assert!(
        run.report.duration >= std::time::Duration::from_millis(1700),
        "{:?}",
        run.report.duration
    );
}

#[test]
fn min_iteration_duration_pads_short_iterations() {
    let run = run_script(
        "export const options = { iterations: 3, minIterationDuration: '300ms' };\n\
         export default function () {}\n",
        "http://127.0.0.1:1",
    )
    .unwrap();
    assert_eq!(run.count("iterations", &[]), 3);
    assert!(
        run.report.duration >= std::time::Duration::from_millis(850),
        "{:?}",
        run.report.duration
    );
}

#[test]
fn interval_snapshots_merge_into_the_final_store() {
    let server = TestServer::start_in_background();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = run_script_with(
        "import http from 'k6/http';\nimport { sleep } from 'k6';\n\
         export const options = { vus: 2, duration: '2s' };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/get`); sleep(0.05); }\n",
        &server.url(),
        move |cfg| cfg.snapshots = Some(tx),
    )
    .unwrap();
    let mut snaps = Vec::new();
    while let Ok(s) = rx.try_recv() {
        snaps.push(s);
    }
    assert!(snaps.len() >= 2, "{} snapshots", snaps.len());
    let mut merged = stampede_metrics::Store::new();
    for s in &snaps {
        merged.apply(s);
    }
    let reqs = run.report.registry.lookup("http_reqs").unwrap().id;
    let all = stampede_metrics::TagSet::empty();
    assert_eq!(merged.get(reqs, &all), run.report.store.get(reqs, &all));
    // Trend sums add floats in another order, so compare what is exact.
    let dur = run.report.registry.lookup("http_req_duration").unwrap().id;
    let (a, b) = (
        merged.get(dur, &all).unwrap(),
        run.report.store.get(dur, &all).unwrap(),
    );
    let d = std::time::Duration::from_secs(1);
    for stat in ["count", "min", "max", "med", "p(95)"] {
        let stat = stat.parse().unwrap();
        assert_eq!(a.stat(&stat, d), b.stat(&stat, d), "{stat:?}");
    }
}

#[test]
fn execution_segments_split_a_plan_exactly() {
    let server = TestServer::start_in_background();
    let script = "import http from 'k6/http';\n\
         export const options = { scenarios: {\n\
           shared: { executor: 'shared-iterations', vus: 3, iterations: 17 },\n\
           rate: { executor: 'constant-arrival-rate', rate: 30, duration: '1s', preAllocatedVUs: 6 },\n\
         } };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/get`); }\n";
    let mut shared = 0;
    let mut rate = 0;
    for segment in ["0:1/3", "1/3:2/3", "2/3:1"] {
        let run = run_script_with(script, &server.url(), |cfg| {
            cfg.cli_options.execution_segment = Some(segment.parse().unwrap());
            cfg.cli_options.execution_segment_sequence = Some("0,1/3,2/3,1".parse().unwrap());
        })
        .unwrap();
        assert_eq!(
            run.report.exit_code,
            ExitCode::Ok,
            "{segment}: {:?}",
            run.logs
        );
        shared += run.count("iterations", &[("scenario", "shared")]);
        rate += run.count("iterations", &[("scenario", "rate")]);
    }
    assert_eq!(shared, 17);
    // k6 starts rate * duration + 1 iterations; the segments share them exactly.
    assert_eq!(rate, 31);
}

/// `exec.scenario.iterationInInstance` / `iterationInTest` under execution
/// segments, as k6 v1.1.0 prints them for this script with
/// `--execution-segment 0:1/2` and `1/2:1` of `0,1/2,1`: each instance
/// counts from 0, and the test-wide numbers are the segment's stripe.
#[test]
fn iteration_numbers_under_execution_segments_match_k6() {
    let script = "import exec from 'k6/execution';\n\
         export const options = { scenarios: {\n\
           shared: { executor: 'shared-iterations', vus: 2, iterations: 8, maxDuration: '10s' },\n\
           pervu: { executor: 'per-vu-iterations', vus: 2, iterations: 2, maxDuration: '10s' },\n\
           arrival: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s',\n\
                      preAllocatedVUs: 2 },\n\
         } };\n\
         export default function () {\n\
           const s = exec.scenario;\n\
           console.log(`${s.name} test=${s.iterationInTest} inst=${s.iterationInInstance}`);\n\
         }\n";
    let k6 = [
        (
            "0:1/2",
            "arrival test=0 inst=0;arrival test=2 inst=1;arrival test=4 inst=2;arrival test=6 inst=3;\
             arrival test=8 inst=4;arrival test=10 inst=5;pervu test=0 inst=0;pervu test=2 inst=1;\
             shared test=0 inst=0;shared test=2 inst=1;shared test=4 inst=2;shared test=6 inst=3",
        ),
        (
            "1/2:1",
            "arrival test=1 inst=0;arrival test=3 inst=1;arrival test=5 inst=2;arrival test=7 inst=3;\
             arrival test=9 inst=4;pervu test=1 inst=0;pervu test=3 inst=1;\
             shared test=1 inst=0;shared test=3 inst=1;shared test=5 inst=2;shared test=7 inst=3",
        ),
    ];
    for (segment, want) in k6 {
        let run = run_script_with(script, "http://127.0.0.1:1", |cfg| {
            cfg.cli_options.execution_segment = Some(segment.parse().unwrap());
            cfg.cli_options.execution_segment_sequence = Some("0,1/2,1".parse().unwrap());
        })
        .unwrap();
        assert_eq!(run.report.exit_code, ExitCode::Ok, "{segment}");
        let mut got: Vec<String> = run
            .logs
            .iter()
            .filter_map(|l| {
                let at = ["arrival ", "pervu ", "shared "]
                    .iter()
                    .find_map(|p| l.find(p))?;
                l[at..].split('"').next().map(str::to_string)
            })
            .collect();
        got.sort_by_key(|l| {
            let (name, rest) = l.split_once(" test=").unwrap();
            let n: u64 = rest.split_once(' ').unwrap().0.parse().unwrap();
            (name.to_string(), n)
        });
        let want: Vec<&str> = want.split(';').map(str::trim).collect();
        assert_eq!(got, want, "{segment}: {:?}", run.logs);
    }
}

#[test]
fn async_requests_run_concurrently_and_keep_the_iteration_alive() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import http from 'k6/http';\nimport { check } from 'k6';\n\
         export const options = { iterations: 2 };\n\
         export default async function () {\n\
           const order = [];\n\
           const slow = http.asyncRequest('GET', `${__ENV.BASE_URL}/delay/0.5`).then((r) => { order.push('slow'); return r; });\n\
           const fast = http.asyncRequest('GET', `${__ENV.BASE_URL}/get`).then((r) => { order.push('fast'); return r; });\n\
           const [a, b] = await Promise.all([slow, fast]);\n\
           check(order, { 'fast came back first': (o) => o.join() === 'fast,slow' });\n\
           check(a, { 'slow ok': (r) => r.status === 200 && r.json('url').endsWith('/delay/0.5') });\n\
           check(b, { 'fast ok': (r) => r.status === 200 });\n\
           // Not awaited: the iteration still waits for it, as k6's event loop.\n\
           http.asyncRequest('GET', `${__ENV.BASE_URL}/status/201`).then((r) => check(r, { 'late one': (x) => x.status === 201 }));\n\
         }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    for check in ["fast came back first", "slow ok", "fast ok", "late one"] {
        assert_eq!(
            run.count("checks", &[("check", check)]),
            2,
            "{check}: {:?}",
            run.logs
        );
        assert_eq!(run.rate("checks", &[("check", check)]), 1.0, "{check}");
    }
    assert_eq!(run.count("http_reqs", &[]), 6);
}

#[test]
fn system_tags_limit_the_tags_of_every_sample() {
    let server = TestServer::start_in_background();
    let run = run_script(
        "import http from 'k6/http';\nimport { group } from 'k6';\n\
         export const options = { iterations: 2, systemTags: ['method'] };\n\
         export default function () {\n\
           group('g', () => http.get(`${__ENV.BASE_URL}/get`));\n\
         }\n",
        &server.url(),
    )
    .unwrap();
    assert_eq!(run.report.exit_code, ExitCode::Ok, "{:?}", run.logs);
    assert_eq!(run.count("http_reqs", &[("method", "GET")]), 2);
    // k6 leaves out every system tag not listed, `group` included.
    for (_, tags, _) in run.report.store.entries() {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k).collect();
        assert!(
            keys.iter().all(|k| *k == "method"),
            "unexpected tags {keys:?}"
        );
    }
}
