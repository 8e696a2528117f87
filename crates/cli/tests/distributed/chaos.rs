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
