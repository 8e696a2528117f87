//! A chaos run through the server (issue 18): a script with
//! `stampede/chaos` phases gets, as with `stampede run`, its recovery time
//! under `stampede_chaos` in the stored summary, after the summary text,
//! and in the run's JSON export and HTML report.

use serde_json::{json, Value};

use crate::harness::*;

/// Errors during `inject` (an unknown order is a 404), none after.
const PHASED: &str = include_str!("../common/phased_chaos.js");

#[test]
fn a_chaos_run_on_the_server_reports_its_recovery_time() {
    let target = stampede_demo::DemoTarget::start_in_background(stampede_demo::DemoConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        products: 10,
        ..stampede_demo::DemoConfig::default()
    })
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &token, "phased", PHASED);
    let run = start_run(
        &addr,
        &token,
        scenario,
        json!({"env": {"BASE_URL": target.url()}}),
    );
    let r = wait_final(&addr, &token, run);
    let chaos = &r["summary"]["stampede_chaos"];
    assert_eq!(chaos["slo"]["k"], 2, "{r}");
    let fault = &chaos["faults"][0];
    let end = fault["fault_end_s"].as_f64().unwrap();
    assert!((3.5..5.0).contains(&end), "{fault}");
    assert!(fault["recovery_s"].as_f64().is_some(), "{fault}");
    let summary_text = r["summary_text"].as_str().unwrap();
    assert!(
        summary_text.contains("CHAOS RECOVERY") && summary_text.contains("recovered in"),
        "{summary_text}"
    );
    assert!(r["summary"]["metrics"]["http_reqs"].is_object(), "{r}");

    let (s, doc) = call(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=json"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(doc["stampede_chaos"], *chaos);
    let (s, _, html) = http_raw(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=html"),
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(s, 200);
    let html = text(&html);
    assert!(
        html.contains("id=\"chaos-recovery\"") && html.contains("recovered in"),
        "{html}"
    );

    // A run without phases is untouched.
    let plain = create_scenario(&addr, &token, "plain", SCRIPT);
    let run = start_run(
        &addr,
        &token,
        plain,
        json!({"vus": 1, "iterations": 2, "env": {"BASE": target.url()}}),
    );
    let r: Value = wait_final(&addr, &token, run);
    assert!(r["summary"].get("stampede_chaos").is_none(), "{r}");
}
