//! Runs split into execution segments (`workers: N`): exact request counts,
//! a merged histogram identical to one process's, thresholds, abortOnFail,
//! handleSummary and exit codes judged on the merged data exactly as
//! `stampede run` judges the same script, stop and abort reaching every
//! segment.

use serde_json::{json, Value};

use crate::harness::*;

/// Every iteration requests the demo target once and adds values to a
/// trend that depend on its `exec.scenario.iterationInTest`: split runs
/// number their iterations by the segments' stripes of the test-wide
/// sequence, as k6 does, so the multiset of values is the same however the
/// run is split, and the merged histogram must be bit-identical to the one
/// `stampede run` builds.
const COUNTED: &str = r#"import http from 'k6/http';
import exec from 'k6/execution';
import { Trend } from 'k6/metrics';
const known = new Trend('known_values');
export const options = {
  scenarios: {
    shared: { executor: 'shared-iterations', vus: 4, iterations: 40, maxDuration: '60s' },
    arrival: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '2s',
               preAllocatedVUs: 4, startTime: '0s', exec: 'arrival' },
  },
  thresholds: { known_values: ['p(95)<1000'], iterations: ['count>10'] },
};
function one(offset) {
  const res = http.get(`${__ENV.BASE}/get`);
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  const n = exec.scenario.iterationInTest;
  for (let k = 0; k < 20; k++) known.add(((n * 20 + k + offset) * 7919) % 1000);
}
export default function () { one(0); }
export function arrival() { one(100000); }
"#;

/// Starts scenario `scenario` with `body` and waits for its end.
fn run_on_server(addr: &str, token: &str, scenario: i64, body: Value) -> Value {
    let run = start_run(addr, token, scenario, body);
    wait_final(addr, token, run)
}

/// `stampede run` of `script` with `-e BASE=…`: (exit code, summary export).
fn run_locally(script: &str, base: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.js");
    std::fs::write(&path, script).unwrap();
    let export = dir.path().join("export.json");
    let out = stampede(
        &[
            "run",
            "-q",
            "--summary-export",
            export.to_str().unwrap(),
            "-e",
            &format!("BASE={base}"),
            path.to_str().unwrap(),
        ],
        &[("K6_NO_USAGE_REPORT", "true")],
        "",
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&export).unwrap_or_default())
        .unwrap_or_else(|_| panic!("no export: {}", text(&out.stderr)));
    (out.status.code().unwrap(), doc)
}

/// The parts of a summary export that do not depend on timing.
fn exact_parts(doc: &Value) -> Value {
    let m = &doc["metrics"];
    json!({
        "known_values": m["known_values"],
        "iterations": m["iterations"]["count"],
        "http_reqs": m["http_reqs"]["count"],
        "thresholds": [
            m["known_values"]["thresholds"],
            m["iterations"]["thresholds"],
        ],
    })
}

pub fn split_runs_merge_exactly() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &token, "counted", COUNTED);

    let (code, local) = run_locally(COUNTED, &target.url());
    assert_eq!(code, 0);
    let expected = exact_parts(&local);
    // 40 shared iterations, 2 s at 20/s: what the script asks for.
    let requests = expected["http_reqs"].as_f64().unwrap();
    assert!((80.0..=81.0).contains(&requests), "{expected}");
    assert_eq!(expected["iterations"], expected["http_reqs"], "{expected}");

    let mut last_run = None;
    for workers in [1, 2, 4] {
        let r = run_on_server(
            &addr,
            &token,
            scenario,
            json!({"workers": workers, "env": {"BASE": target.url()}}),
        );
        assert_eq!(
            (r["status"].as_str(), r["exit_code"].as_i64()),
            (Some("passed"), Some(0)),
            "workers {workers}: {r}"
        );
        assert_eq!(
            exact_parts(&r["summary"]),
            expected,
            "workers {workers}: the merged run equals one process"
        );
        let text = r["summary_text"].as_str().unwrap();
        assert!(text.contains("known_values"), "{text}");
        last_run = r["id"].as_i64();
    }

    // The stored merged intervals add up to the run: nothing lost,
    // nothing counted twice.
    let run = last_run.unwrap();
    let (s, v) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}/metrics"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let mut total = 0.0;
    for i in v["intervals"].as_array().unwrap() {
        let snap = &i["snapshot"];
        for e in snap["entries"].as_array().unwrap() {
            let name = &snap["metrics"][e["metric"].as_u64().unwrap() as usize]["name"];
            if name == "http_reqs" {
                total += e["agg"]["sum"].as_f64().unwrap();
            }
        }
    }
    assert_eq!(total, requests, "{v}");
}

/// Thresholds that fail, judged on merged data, give k6's 99 and the same
/// export as `stampede run`; handleSummary gets the merged data.
const JUDGED: &str = r#"import http from 'k6/http';
export const options = {
  vus: 3, iterations: 30,
  thresholds: { http_reqs: ['count<20'], http_req_failed: ['rate<0.5'] },
};
export default function () { http.get(`${__ENV.BASE}/get`); }
export function handleSummary(data) {
  return { stdout: `iterations=${data.metrics.iterations.values.count} ok=${data.metrics.http_reqs.thresholds['count<20'].ok}\n` };
}
"#;

const ABORTING: &str = r#"import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  vus: 2, duration: '5m',
  thresholds: { http_reqs: [{ threshold: 'count<10', abortOnFail: true }] },
};
export default function () { http.get(`${__ENV.BASE}/get`); sleep(0.05); }
"#;

pub fn thresholds_handle_summary_stop_and_abort() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let env = json!({"BASE": target.url()});

    // Failing thresholds with handleSummary: as `stampede run`.
    let (code, local) = run_locally(JUDGED, &target.url());
    assert_eq!(code, 99);
    let judged = create_scenario(&addr, &token, "judged", JUDGED);
    let r = run_on_server(&addr, &token, judged, json!({"workers": 3, "env": env}));
    assert_eq!(
        (r["status"].as_str(), r["exit_code"].as_i64()),
        (Some("failed"), Some(99)),
        "{r}"
    );
    assert_eq!(
        r["summary_text"].as_str(),
        Some("iterations=30 ok=false\n"),
        "{r}"
    );
    for metric in ["http_reqs", "http_req_failed"] {
        assert_eq!(
            r["summary"]["metrics"][metric]["thresholds"], local["metrics"][metric]["thresholds"],
            "{metric}"
        );
    }

    // abortOnFail on the merged count stops every segment.
    let aborting = create_scenario(&addr, &token, "aborting", ABORTING);
    let r = run_on_server(&addr, &token, aborting, json!({"workers": 2, "env": env}));
    assert_eq!(
        (r["status"].as_str(), r["exit_code"].as_i64()),
        (Some("failed"), Some(99)),
        "{r}"
    );
    assert!(r["error"].as_str().unwrap().contains("http_reqs"), "{r}");

    // Stop and abort reach both segments.
    let endless = create_scenario(&addr, &token, "endless", SCRIPT);
    for (action, status, code) in [("stop", "aborted", 103), ("abort", "aborted", 105)] {
        let body = json!({"vus": 2, "duration": "5m", "workers": 2, "env": env});
        let run = start_run(&addr, &token, endless, body);
        wait_running(&addr, &token, run);
        let (s, _) = call(
            &addr,
            "POST",
            &format!("/api/v1/runs/{run}/{action}"),
            Some(&token),
            None,
        );
        assert_eq!(s, 202);
        let r = wait_final(&addr, &token, run);
        assert_eq!(
            (r["status"].as_str(), r["exit_code"].as_i64()),
            (Some(status), Some(code)),
            "{action}: {r}"
        );
    }

    // Bad worker counts are refused before anything starts.
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{endless}/start"),
        Some(&token),
        Some(json!({"workers": 0})),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_workers")),
        "{v}"
    );
}
