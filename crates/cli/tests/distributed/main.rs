//! Distributed runs end to end (issue 15): a real `redis-server` on a free
//! loopback port, a real `stampede server --redis` and real `stampede
//! worker` processes of the built binary, runs against the built-in test
//! target on loopback. Covers exact counts with one and two workers and
//! several runs at once, `kill -9` of a worker mid-run (its lease resumed
//! by a spare where the run is, the plan's count kept, nothing counted
//! twice; without a spare the run ends degraded with the gap recorded),
//! `setup()` and `teardown()` once for a split run, Redis restarted
//! mid-run, stop and abort reaching the workers, a redelivered lease, the
//! worker's exit when Redis is gone, and the fleet endpoints.

#[path = "../server/harness.rs"]
mod harness;

mod chaos;
mod cluster;
mod ha;

use std::collections::BTreeSet;

use cluster::{RedisProc, WorkerProc};
use harness::*;
use serde_json::{json, Value};

/// One request per iteration, a little pause so runs last a while.
const ITER_SCRIPT: &str = r#"import http from 'k6/http';
import { sleep } from 'k6';
export default function () {
  http.get(`${__ENV.BASE}/get`);
  sleep(0.1);
}
"#;

struct Cluster {
    target: stampede_demo::TestServer,
    redis: RedisProc,
    server: ServerProc,
    token: String,
    scenario: i64,
    _data: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let target = stampede_demo::TestServer::start_in_background();
        let redis = RedisProc::start();
        let data = tempfile::tempdir().unwrap();
        let server = ServerProc::start(data.path(), None, &["--redis", &redis.url()]);
        let token = login(&server.addr, "admin", ADMIN_PASSWORD);
        let scenario = create_scenario(&server.addr, &token, "dist", ITER_SCRIPT);
        Cluster {
            target,
            redis,
            server,
            token,
            scenario,
            _data: data,
        }
    }

    fn worker(&self, id: &str, capacity: u64) -> WorkerProc {
        WorkerProc::start(&self.redis.url(), id, capacity, &[])
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        call(&self.server.addr, method, path, Some(&self.token), body)
    }

    fn start_run(&self, opts: Value) -> i64 {
        self.start_on(self.scenario, opts)
    }

    /// Creates another scenario.
    fn scenario(&self, name: &str, script: &str) -> i64 {
        create_scenario(&self.server.addr, &self.token, name, script)
    }

    /// Starts `scenario` with `opts` and `BASE` pointing at the target.
    fn start_on(&self, scenario: i64, opts: Value) -> i64 {
        let mut body = opts;
        body["env"] = json!({"BASE": self.target.url()});
        let (s, v) = self.call(
            "POST",
            &format!("/api/v1/scenarios/{scenario}/start"),
            Some(body),
        );
        assert_eq!(s, 202, "{v}");
        v["run_id"].as_i64().unwrap()
    }

    fn wait_final(&self, run: i64) -> Value {
        wait_final(&self.server.addr, &self.token, run)
    }

    fn workers(&self) -> Vec<Value> {
        let (s, v) = self.call("GET", "/api/v1/workers", None);
        assert_eq!(s, 200, "{v}");
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `n` workers are online.
    fn wait_workers(&self, n: usize) {
        poll(60, "the workers to register", || {
            (self.workers().len() == n).then_some(())
        });
    }

    /// The worker whose heartbeat lists a lease of `run`.
    fn holder(&self, run: i64) -> Option<String> {
        self.holders(run).into_iter().next()
    }

    /// Every worker whose heartbeat lists a lease of `run`.
    fn holders(&self, run: i64) -> BTreeSet<String> {
        let prefix = format!("{run}.");
        self.workers()
            .into_iter()
            .filter_map(|w| {
                let leases = w["leases"].as_array()?;
                leases
                    .iter()
                    .any(|l| l.as_str().is_some_and(|l| l.starts_with(&prefix)))
                    .then(|| w["id"].as_str().unwrap().to_string())
            })
            .collect()
    }

    fn wait_running(&self, run: i64) {
        poll(60, "the run to be running", || {
            let (_, v) = self.call("GET", &format!("/api/v1/runs/{run}"), None);
            (v["status"] == "running").then_some(())
        });
    }

    /// The stored intervals' `http_reqs` counts and start instants.
    fn intervals(&self, run: i64) -> (f64, Vec<i64>) {
        let (s, m) = self.call("GET", &format!("/api/v1/runs/{run}/metrics"), None);
        assert_eq!(s, 200, "{m}");
        let mut total = 0.0;
        let mut starts = Vec::new();
        for i in m["intervals"].as_array().unwrap() {
            starts.push(i["start_ms"].as_i64().unwrap());
            total += http_reqs_in(&i["snapshot"]);
        }
        (total, starts)
    }
}

/// The `http_reqs` count in a wire snapshot (summed over its series).
fn http_reqs_in(snapshot: &Value) -> f64 {
    let snap: stampede_metrics::WireSnapshot = serde_json::from_value(snapshot.clone()).unwrap();
    snap.entries
        .iter()
        .filter(|e| snap.metrics[e.metric as usize].name == "http_reqs")
        .map(|e| match &e.agg {
            stampede_metrics::Aggregate::Counter(c) => c.sum,
            _ => 0.0,
        })
        .sum()
}

fn http_reqs(run: &Value) -> f64 {
    count(run, "http_reqs")
}

/// A counter's count in the run's summary export (-1 when absent).
fn count(run: &Value, metric: &str) -> f64 {
    run["summary"]["metrics"][metric]["count"]
        .as_f64()
        .unwrap_or(-1.0)
}

/// 5 iterations/s for 12 s, one request each: 61 planned (k6 also starts
/// the iteration due at exactly 12 s), split over two
/// segments of 2.5/s (a resumer catches up what its lost worker had not
/// reported, so each segment has VUs to spare).
const ARRIVAL_SCRIPT: &str = r#"import http from 'k6/http';
export const options = {
  scenarios: {
    car: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '12s',
           preAllocatedVUs: 60 },
  },
};
export default function () { http.get(`${__ENV.BASE}/get`); }
"#;

/// The planned iterations of [`ARRIVAL_SCRIPT`].
const ARRIVAL_PLANNED: f64 = 61.0;

/// The stored intervals' indices: seconds of the run from its first.
fn interval_seconds(starts: &[i64]) -> Vec<i64> {
    let first = starts.iter().copied().min().unwrap_or(0);
    starts.iter().map(|s| (s - first) / 1000).collect()
}

#[test]
fn one_and_two_workers_complete_runs_with_exact_counts() {
    let c = Cluster::start();
    let _w1 = c.worker("w1", 4);
    c.wait_workers(1);

    let run = c.start_run(json!({"vus": 2, "iterations": 20}));
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(http_reqs(&r), 20.0, "{r}");
    assert_eq!(c.target.requests_served(), 20);
    let (stored, _) = c.intervals(run);
    assert_eq!(
        stored, 20.0,
        "the stored intervals count every request once"
    );

    // Two workers, several runs at once: each gets its exact count.
    let _w2 = c.worker("w2", 4);
    c.wait_workers(2);
    let runs: Vec<i64> = (0..3)
        .map(|_| c.start_run(json!({"vus": 2, "iterations": 15})))
        .collect();
    for run in &runs {
        let r = c.wait_final(*run);
        assert_eq!(r["status"], "passed", "{r}");
        assert_eq!(http_reqs(&r), 15.0, "{r}");
    }
    assert_eq!(c.target.requests_served(), 20 + 3 * 15);

    // One run split into two execution segments, one per worker: one
    // merged result with the exact count.
    let run = c.start_run(json!({"vus": 2, "iterations": 24, "workers": 2}));
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(http_reqs(&r), 24.0, "{r}");
    assert_eq!(c.target.requests_served(), 20 + 3 * 15 + 24);
    let (stored, _) = c.intervals(run);
    assert_eq!(
        stored, 24.0,
        "the merged intervals count every request once"
    );

    // The fleet: workers, metrics, readiness.
    let ws = c.workers();
    let ids: BTreeSet<&str> = ws.iter().filter_map(|w| w["id"].as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["w1", "w2"]), "{ws:?}");
    for w in &ws {
        assert_eq!(w["capacity"], 4, "{w}");
        assert!(w["heartbeat_age_ms"].as_u64().unwrap() < 60_000, "{w}");
        assert!(w["state"].is_string() && w["load"].is_u64(), "{w}");
    }
    let (s, _, body) = http_raw(&c.server.addr, "GET", "/metrics", &[], b"");
    let text = String::from_utf8_lossy(&body);
    assert_eq!(s, 200);
    assert!(text.contains("loadtest_active_workers 2\n"), "{text}");
    assert!(text.contains("loadtest_lease_queue_depth 0\n"), "{text}");
    let (s, v) = call(&c.server.addr, "GET", "/readyz", None, None);
    assert_eq!((s, v["redis"].as_str()), (200, Some("ok")), "{v}");
}

#[test]
fn a_killed_worker_s_lease_is_resumed_and_nothing_counts_twice() {
    let c = Cluster::start();
    let mut workers = [c.worker("wa", 2), c.worker("wb", 2)];
    c.wait_workers(2);
    let run = c.start_run(json!({"vus": 2, "duration": "10s"}));
    c.wait_running(run);
    let holder = poll(30, "a worker to hold the lease", || c.holder(run));
    // Let it report a few intervals first.
    poll(30, "intervals to be stored", || {
        (c.intervals(run).1.len() >= 2).then_some(())
    });
    let victim = workers.iter().position(|w| w.id == holder).unwrap();
    workers[victim].kill9();
    let other = &workers[1 - victim];
    poll(30, "the other worker to resume the lease", || {
        (c.holder(run).as_deref() == Some(other.id.as_str())).then_some(())
    });
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "{r}");
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!("worker {holder} was lost"))
            && error.contains(&format!("worker {} resumed", other.id)),
        "the loss and the resume are recorded: {r}"
    );
    let (stored, starts) = c.intervals(run);
    let unique: BTreeSet<i64> = starts.iter().copied().collect();
    assert_eq!(unique.len(), starts.len(), "no interval stored twice");
    let served = c.target.requests_served() as f64;
    assert!(
        stored > 0.0 && stored <= served,
        "{stored} counted, {served} served"
    );
    assert!(
        other.log().contains("resuming a lost worker's segment"),
        "{}",
        other.log()
    );
}

#[test]
fn a_run_survives_a_redis_restart() {
    let mut c = Cluster::start();
    let _w = c.worker("wr", 4);
    c.wait_workers(1);
    let run = c.start_run(json!({"vus": 1, "duration": "8s"}));
    c.wait_running(run);
    poll(30, "an interval to be stored", || {
        (!c.intervals(run).1.is_empty()).then_some(())
    });
    c.redis.restart();
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "{r}");
    assert!(r["error"].is_null(), "a Redis restart loses no worker: {r}");
    let (stored, starts) = c.intervals(run);
    let unique: BTreeSet<i64> = starts.iter().copied().collect();
    assert_eq!(unique.len(), starts.len());
    assert!(stored <= c.target.requests_served() as f64);
    // The worker is back in the (new) Redis.
    c.wait_workers(1);
}

#[test]
fn stop_and_abort_reach_every_worker() {
    let c = Cluster::start();
    let _a = c.worker("sa", 1);
    let _b = c.worker("sb", 1);
    c.wait_workers(2);
    let stopped = c.start_run(json!({"vus": 1, "duration": "5m"}));
    let aborted = c.start_run(json!({"vus": 1, "duration": "5m"}));
    c.wait_running(stopped);
    c.wait_running(aborted);
    let (h1, h2) = (
        poll(30, "a holder", || c.holder(stopped)),
        poll(30, "a holder", || c.holder(aborted)),
    );
    assert_ne!(h1, h2, "one run per worker (capacity 1 each)");
    let (s, _) = c.call("POST", &format!("/api/v1/runs/{stopped}/stop"), None);
    assert_eq!(s, 202);
    let (s, _) = c.call("POST", &format!("/api/v1/runs/{aborted}/abort"), None);
    assert_eq!(s, 202);
    let r = c.wait_final(stopped);
    assert_eq!(
        (r["status"].as_str(), r["exit_code"].as_i64()),
        (Some("aborted"), Some(103)),
        "{r}"
    );
    assert!(r["summary_text"].as_str().unwrap().contains("http_reqs"));
    let r = c.wait_final(aborted);
    assert_eq!(r["status"], "aborted", "{r}");
    // Both workers let go of their segments.
    poll(30, "the workers to be idle", || {
        c.workers()
            .iter()
            .all(|w| w["leases"].as_array().is_some_and(Vec::is_empty))
            .then_some(())
    });
}

#[test]
fn a_redelivered_lease_is_not_run_twice() {
    let c = Cluster::start();
    let _a = c.worker("ra", 4);
    let _b = c.worker("rb", 4);
    c.wait_workers(2);
    let run = c.start_run(json!({"vus": 1, "iterations": 30}));
    c.wait_running(run);
    poll(30, "a holder", || c.holder(run));
    // Queue the same lease again, as a redelivery would.
    let entries = c.redis.cli(&["XRANGE", "stampede:leases", "-", "+"]);
    let body = entries
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("the lease entry")
        .to_string();
    c.redis
        .cli(&["XADD", "stampede:leases", "*", "lease", &body]);
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(http_reqs(&r), 30.0, "{r}");
    assert_eq!(c.target.requests_served(), 30);
    let (stored, _) = c.intervals(run);
    assert_eq!(stored, 30.0);
}

#[test]
fn a_worker_without_redis_stops_and_exits_non_zero() {
    let mut redis = RedisProc::start();
    let mut w = WorkerProc::start(&redis.url(), "lonely", 2, &["--redis-timeout", "2"]);
    poll(30, "the worker to register", || {
        (redis.cli(&["EXISTS", "stampede:worker:lonely"]).trim() == "1").then_some(())
    });
    redis.stop();
    let status = poll(60, "the worker to exit", || w.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(1), "{}", w.log());
    assert!(w.log().contains("Redis unreachable"), "{}", w.log());
}

#[test]
fn an_archive_with_a_binary_file_runs_on_redis_workers() {
    let c = Cluster::start();
    let _w1 = c.worker("w1", 2);
    let _w2 = c.worker("w2", 2);
    c.wait_workers(2);
    // Packed by the binary, then the sources are deleted: the workers can
    // only read what the archive holds.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blob.bin"), [0u8, 200, 255, 1]).unwrap();
    let script = dir.path().join("bin.js");
    std::fs::write(
        &script,
        "import http from 'k6/http';\n\
         import { check } from 'k6';\n\
         const b = new Uint8Array(open('./blob.bin', 'b'));\n\
         export default function () {\n\
           http.get(`${__ENV.BASE}/get`);\n\
           check(b, { 'binary intact': (x) => x.length === 4 && x[1] === 200 && x[2] === 255 });\n\
         }\n",
    )
    .unwrap();
    let tar = dir.path().join("bin.tar");
    let out = stampede(
        &[
            "archive",
            "-O",
            tar.to_str().unwrap(),
            script.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_file(dir.path().join("blob.bin")).unwrap();
    std::fs::remove_file(&script).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&tar).unwrap());
    let (s, v) = c.call(
        "POST",
        "/api/v1/scenarios",
        Some(json!({"name": "archived", "archive": b64})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.call(
        "POST",
        &format!("/api/v1/scenarios/{}/start", v["id"]),
        Some(json!({"vus": 2, "iterations": 12, "workers": 2, "env": {"BASE": c.target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let r = c.wait_final(v["run_id"].as_i64().unwrap());
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(http_reqs(&r), 12.0, "{r}");
    let checks = &r["summary"]["metrics"]["checks"];
    assert_eq!(
        (&checks["passes"], &checks["fails"]),
        (&json!(12), &json!(0)),
        "{r}"
    );
    assert_eq!(c.target.requests_served(), 12);
}

/// The exact rule of a resume: the lost worker's reported intervals carry
/// its iteration count (written with each interval, atomically); the
/// resumer skips that many of the segment's scheduled iterations and
/// issues the rest — those already due at once — from where the run is,
/// and stops when the plan ends. So the merged count is the plan's; the
/// iterations the lost worker ran after its last reported interval (at
/// most about one interval's) reached the target but are counted once,
/// the resumer's.
#[test]
fn a_resumed_arrival_rate_segment_keeps_the_plan_s_count_and_ends_on_time() {
    let c = Cluster::start();
    let scenario = c.scenario("arrival", ARRIVAL_SCRIPT);
    // Each worker holds one segment (30 VUs): none is free for another.
    let mut workers = [c.worker("ca", 30), c.worker("cb", 30)];
    c.wait_workers(2);
    let run = c.start_on(scenario, json!({"workers": 2}));
    c.wait_running(run);
    poll(30, "both segments to be held", || {
        (c.holders(run).len() == 2).then_some(())
    });
    poll(30, "intervals to be stored", || {
        (c.intervals(run).1.len() >= 3).then_some(())
    });
    let spare = c.worker("cc", 30);
    c.wait_workers(3);
    workers[0].kill9();
    poll(60, "the spare to resume the segment", || {
        c.holders(run).contains("cc").then_some(())
    });
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(count(&r, "iterations"), ARRIVAL_PLANNED, "{r}");
    assert_eq!(http_reqs(&r), ARRIVAL_PLANNED, "{r}");
    let faults = r["summary"]["faults"]
        .as_array()
        .expect("the loss is recorded");
    assert_eq!(faults.len(), 1, "{r}");
    assert_eq!(faults[0]["worker"], "ca", "{r}");
    assert_eq!(faults[0]["resumed_by"], "cc", "{r}");
    assert_eq!(r["summary"]["degraded"], false, "{r}");
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("worker ca was lost") && error.contains("worker cc resumed"),
        "{r}"
    );
    let (stored, starts) = c.intervals(run);
    assert_eq!(
        stored, ARRIVAL_PLANNED,
        "the stored intervals count each request once"
    );
    let unique: BTreeSet<i64> = starts.iter().copied().collect();
    assert_eq!(unique.len(), starts.len(), "no interval stored twice");
    // The resumer ends with the plan (12 s), not 12 s after its own start.
    let last = interval_seconds(&starts).into_iter().max().unwrap();
    assert!(last <= 13, "intervals up to second {last}: {starts:?}");
    let served = c.target.requests_served() as f64;
    assert!(
        served >= ARRIVAL_PLANNED && served - ARRIVAL_PLANNED <= 10.0,
        "{served} served for {ARRIVAL_PLANNED} counted"
    );
    assert!(spare.log().contains("resuming a lost worker's segment"));
}

/// [`ARRIVAL_SCRIPT`] for 25 s: the surviving worker is still busy with its
/// own segment when the server gives up on the lost one (its loss is seen
/// within about 4 s, then 10 s of grace), so it cannot take it over.
fn long_arrival_script() -> String {
    ARRIVAL_SCRIPT.replace("duration: '12s'", "duration: '25s'")
}

#[test]
fn without_a_spare_worker_the_run_ends_degraded_with_the_gap() {
    let c = Cluster::start();
    let script = long_arrival_script();
    assert_ne!(script, ARRIVAL_SCRIPT);
    let scenario = c.scenario("arrival", &script);
    let mut workers = [c.worker("da", 30), c.worker("db", 30)];
    c.wait_workers(2);
    let run = c.start_on(scenario, json!({"workers": 2}));
    c.wait_running(run);
    poll(30, "both segments to be held", || {
        (c.holders(run).len() == 2).then_some(())
    });
    poll(30, "intervals to be stored", || {
        (c.intervals(run).1.len() >= 2).then_some(())
    });
    workers[1].kill9();
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "the rest of the run completes: {r}");
    assert_eq!(r["summary"]["degraded"], true, "{r}");
    let faults = r["summary"]["faults"]
        .as_array()
        .expect("the gap is recorded");
    assert_eq!(faults.len(), 1, "{r}");
    let gap = &faults[0];
    assert_eq!(gap["worker"], "db", "{r}");
    assert!(gap["resumed_by"].is_null() && gap["to_s"].is_null(), "{r}");
    assert!(
        gap["segment"].as_str().is_some_and(|s| s.contains(':')),
        "{r}"
    );
    assert!(gap["from_s"].as_u64().is_some_and(|s| s >= 1), "{r}");
    let error = r["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("degraded: segment"), "{r}");
    let text = r["summary_text"].as_str().unwrap_or_default();
    assert!(text.contains("degraded: segment"), "{text}");
    let counted = http_reqs(&r);
    // 5/s for 25 s: 126 planned.
    assert!(
        counted > 0.0 && counted < 126.0,
        "the lost segment's rest was not run: {counted}"
    );
}

/// setup() and teardown() each request the target once: a split run
/// calls each exactly once, and every segment gets setup()'s data.
#[test]
fn setup_and_teardown_run_once_and_every_segment_gets_the_data() {
    let c = Cluster::start();
    let scenario = c.scenario(
        "setup-once",
        r#"import http from 'k6/http';
import { check } from 'k6';
export const options = { vus: 2, iterations: 20, thresholds: { checks: ['rate==1'] } };
export function setup() {
  http.get(`${__ENV.BASE}/anything/setup`);
  return { token: 'from-setup' };
}
export default function (data) {
  check(data, { 'setup data': (d) => d && d.token === 'from-setup' });
  http.get(`${__ENV.BASE}/get`);
}
export function teardown(data) {
  if (data.token !== 'from-setup') throw new Error('teardown without the data');
  http.get(`${__ENV.BASE}/anything/teardown`);
}
"#,
    );
    let _a = c.worker("sa", 4);
    let _b = c.worker("sb", 4);
    c.wait_workers(2);
    let run = c.start_on(scenario, json!({"workers": 2}));
    let r = c.wait_final(run);
    assert_eq!(r["status"], "passed", "every segment got the data: {r}");
    assert_eq!(count(&r, "iterations"), 20.0, "{r}");
    assert_eq!(
        c.target.requests_served(),
        20 + 1 + 1,
        "setup() and teardown() ran once each"
    );
}
