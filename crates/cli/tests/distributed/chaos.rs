//! A chaos run split over `stampede worker`s (issue 18): `handleSummary`,
//! run by the lead segment on the merged data, gets the recovery time
//! under `stampede_chaos` as it does under `stampede run` — the same
//! shape and SLO — and the stored summary keeps that same value.

use std::process::Command;

use serde_json::{json, Value};

use super::Cluster;

/// The server tests' phased chaos script (seed 000's phases, short) on
/// the httpbin-like target — errors (500s) during `inject`, none after —
/// with a `handleSummary` that prints what it got under `stampede_chaos`.
fn script() -> String {
    let phased = include_str!("../common/phased_chaos.js");
    let s = phased
        .replace("'/api/orders/none'", "'/status/500'")
        .replace("'/health'", "'/get'")
        .replace("__ENV.BASE_URL", "__ENV.BASE");
    assert!(!s.contains("/health") && !s.contains("BASE_URL"), "{s}");
    s + "export function handleSummary(data) {\n  return { stdout: JSON.stringify({ chaos: \
         data.stampede_chaos === undefined ? 'missing' : data.stampede_chaos }) };\n}\n"
}

/// The JSON object `handleSummary` printed in `text`.
fn printed(text: &str) -> Value {
    let start = text.find("{\"chaos\"").unwrap_or_else(|| panic!("{text}"));
    let mut de = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    de.next().unwrap().unwrap()["chaos"].clone()
}

/// Whether `a` and `b` have the same shape: the same keys, arrays of the
/// same length, leaves of the same JSON type.
fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w))
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Null, Value::Null) => true,
        _ => false,
    }
}

#[test]
fn handle_summary_of_a_split_chaos_run_gets_the_recovery_as_stampede_run_does() {
    let c = Cluster::start();
    let _workers = [c.worker("xa", 20), c.worker("xb", 20)];
    c.wait_workers(2);

    // `stampede run`, the reference.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phased.js");
    std::fs::write(&path, script()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stampede"))
        .arg("run")
        .arg(&path)
        .args(["-e", &format!("BASE={}", c.target.url())])
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .unwrap();
    let local = printed(&String::from_utf8_lossy(&out.stdout));
    assert!(local.is_object(), "stampede run: {local}");
    assert_eq!(local["faults"].as_array().map(Vec::len), Some(1), "{local}");

    // The same script split over the two workers.
    let scenario = c.scenario("phased", &script());
    let run = c.start_on(scenario, json!({"workers": 2}));
    let r = c.wait_final(run);
    let text = r["summary_text"].as_str().unwrap_or_default();
    let remote = printed(text);
    assert!(
        same_shape(&remote, &local),
        "server {remote} vs stampede run {local}"
    );
    assert_eq!(remote["slo"], local["slo"]);
    let fault = &remote["faults"][0];
    assert_eq!(fault["phase"], "inject", "{remote}");
    assert!(
        fault["fault_end_s"]
            .as_f64()
            .is_some_and(|s| (3.0..=5.0).contains(&s)),
        "{remote}"
    );
    // The stored summary has the value handleSummary got (JavaScript
    // prints 4.0 as 4).
    let stored = &r["summary"]["stampede_chaos"];
    assert!(same_shape(stored, &remote), "{stored} vs {remote}");
    for key in ["fault_end_s", "recovery_s"] {
        assert_eq!(
            stored["faults"][0][key].as_f64(),
            fault[key].as_f64(),
            "{stored} vs {remote}"
        );
    }
}

/// A chaos stage whose fault is an HTTP error rate on the proxy `t` in
/// front of the target: the inject threshold fails unless the fault really
/// reached the wire, and `injectFault` records the `CHAOS_AGENT` it got.
const RELAYED: &str = r#"import http from 'k6/http';
import { check, sleep } from 'k6';
import chaos from 'stampede/chaos';
export const options = {
  scenarios: chaos.phases({ baseline: '2s', inject: '3s', recover: '4s', vus: 2, exec: 'traffic', k: 2, slo: { error_rate: 0.01 } }),
  thresholds: {
    'http_req_failed{phase:baseline}': ['rate<0.01'],
    'http_req_failed{phase:inject}': ['rate>0.9'],
  },
};
export function traffic() {
  http.get(`http://${__ENV.CHAOS_T_ADDR}/get`);
  sleep(0.05);
}
export function injectFault() {
  check(true, { [`agent at ${__ENV.CHAOS_AGENT};`]: (v) => v });
  chaos.agent().inject('t', { error_rate: 1, error_status: 503 }, { duration: '20s' });
}
export function restoreFault() { chaos.agent().restore('t'); }
export function teardown() { chaos.agent().restoreAll(); }
"#;

const RELAYED_PIPELINE: &str = "name: relayed
stages:
  chaos:
    script: chaos.js
    timeout: 3m
    chaos:
      proxies:
        t: { upstream: '${UP}' }
    gate:
      recovery: { scenario: recover, slo: { error_rate: 0.01 }, k: 2, max: 10s }
";

/// `text` without its ANSI colour sequences (the worker's log).
fn plain(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Starts [`RELAYED_PIPELINE`] with `script` as its stage's script;
/// returns the pipeline's id.
fn start_relayed(c: &Cluster, script: &str) -> i64 {
    let (s, p) = c.call(
        "POST",
        "/api/v1/pipelines",
        Some(json!({
            "pipeline": RELAYED_PIPELINE,
            "files": {"chaos.js": script},
            "env": {"UP": c.target.url()},
        })),
    );
    assert_eq!(s, 201, "{p}");
    p["id"].as_i64().unwrap()
}

/// The pipeline `id` once it ended.
fn wait_pipeline(c: &Cluster, id: i64) -> Value {
    super::poll(180, "the pipeline to end", || {
        let (_, v) = c.call("GET", &format!("/api/v1/pipelines/{id}"), None);
        (v["status"] != "running").then_some(v)
    })
}

/// Whether Redis has `key`.
fn redis_has(c: &Cluster, key: &str) -> bool {
    let out = Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &c.redis.port.to_string(),
            "EXISTS",
            key,
        ])
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&out.stdout).trim() != "0"
}

#[test]
fn a_chaos_stage_on_a_remote_worker_reaches_its_agent_through_the_relay() {
    let c = Cluster::start();
    let w = c.worker("rw", 20);
    c.wait_workers(1);
    let id = start_relayed(&c, RELAYED);
    let p = wait_pipeline(&c, id);
    let stage = &p["stages"][0];
    let run = stage["run_id"].as_i64().unwrap_or_else(|| panic!("{p}"));
    let r = c.wait_final(run);
    assert_eq!(p["status"], "passed", "{p}\n{r}\n{}", w.log());
    // The fault was injected (the inject threshold held: > 90 % errors)
    // and restored (the recovery gate passed: the SLO held again).
    assert!(
        stage["findings"]["recovery"]["recovery_s"]
            .as_f64()
            .is_some(),
        "{stage}"
    );

    // The script's agent was the worker's relay, not the server's agent.
    let text = r["summary"].to_string();
    let addr = text
        .split("agent at ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or_else(|| panic!("no recorded CHAOS_AGENT in {text}"));
    let log = plain(&w.log());
    let listens = log
        .lines()
        .find(|l| l.contains("chaos relay for the run's agent listens"))
        .unwrap_or_else(|| panic!("the worker started no relay:\n{log}"));
    assert!(
        listens.contains(&format!("addr={addr}")),
        "{addr}: {listens}"
    );
    // Inject, restore and teardown's restore-all went through it, and it
    // closed with the segment.
    let closed = log
        .lines()
        .find(|l| l.contains("chaos relay closed"))
        .unwrap_or_else(|| panic!("the relay did not close:\n{log}"));
    assert!(closed.contains("calls=3"), "{closed}");
    // The server stopped serving the run's calls with the run.
    assert!(!redis_has(&c, &format!("stampede:run:{run}:chaos:agent")));
    assert!(!redis_has(&c, &format!("stampede:run:{run}:chaos:req")));
}

/// The worker holding the relayed chaos stage dies right after its script
/// injected the fault: a spare resumes the segment with a relay of its
/// own, through which the restore (and teardown's restore-all) reach the
/// stage's agent — the fault does not outlive its phase (its deadline is
/// past the run's end), and the recovery gate passes. (When the kill lands
/// before the inject's iteration was reported, the resumer injects again:
/// harmless, the restore still undoes it.)
#[test]
fn a_resumed_chaos_segment_restores_through_its_new_worker_s_relay() {
    let c = Cluster::start();
    let mut workers = [c.worker("ka", 20), c.worker("kb", 20)];
    c.wait_workers(2);
    let script = RELAYED
        .replace(
            "inject: '3s', recover: '4s'",
            "inject: '10s', recover: '6s'",
        )
        .replace("duration: '20s'", "duration: '60s'");
    assert!(script.contains("inject: '10s'") && script.contains("'60s'"));
    let id = start_relayed(&c, &script);
    let victim = super::poll(60, "the inject to go through a relay", || {
        workers.iter().position(|w| {
            plain(&w.log()).lines().any(|l| {
                l.contains("chaos relay call") && l.contains("/inject") && l.contains("status=200")
            })
        })
    });
    workers[victim].kill9();
    let spare = &workers[1 - victim];
    let p = wait_pipeline(&c, id);
    let log = plain(&spare.log());
    assert!(log.contains("resuming a lost worker's segment"), "{log}");
    assert_eq!(p["status"], "passed", "{p}\n{log}");
    let stage = &p["stages"][0];
    assert!(
        stage["findings"]["recovery"]["recovery_s"]
            .as_f64()
            .is_some(),
        "{stage}"
    );
    let restored = log.lines().any(|l| {
        l.contains("chaos relay call") && l.contains("/restore") && l.contains("status=200")
    });
    assert!(restored, "the spare's relay carried no restore:\n{log}");
}
