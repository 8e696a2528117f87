//! `stampede report`/`compare` read k6's own `--out json` files: the
//! fixture k6 v1.1.0 wrote replays into results that agree with the
//! summary export k6 wrote for the same run.

use serde_json::Value;
use stampede_output::results;

use crate::common::{fixture, fixture_path};

#[test]
fn k6_json_output_replays_into_results() {
    let r = results::load(&fixture_path("legacy.samples.json")).unwrap();
    let export: Value = serde_json::from_str(&fixture("legacy.export.json")).unwrap();
    let m = &export["metrics"];
    assert_eq!(r.test.source, "--out json file");
    assert_eq!(
        r.totals.requests as f64,
        m["http_reqs"]["count"].as_f64().unwrap()
    );
    assert_eq!(
        r.totals.iterations as f64,
        m["iterations"]["count"].as_f64().unwrap()
    );
    let d = &m["http_req_duration"];
    assert_eq!(r.totals.latency.avg, d["avg"].as_f64().unwrap());
    assert_eq!(r.totals.latency.max, d["max"].as_f64().unwrap());
    assert_eq!(
        r.totals.failed,
        m["http_req_failed"]["passes"].as_u64().unwrap()
    );
    assert_eq!(
        r.totals.checks_passed,
        m["checks"]["passes"].as_u64().unwrap()
    );
    assert_eq!(
        r.totals.checks_failed,
        m["checks"]["fails"].as_u64().unwrap()
    );
    // The thresholds on whole metrics are in the file, with k6's outcomes
    // (the export says `true` for a failed threshold).
    for t in r.thresholds.iter().filter(|t| !t.metric.contains('{')) {
        let failed = m[&t.metric]["thresholds"][&t.expression].as_bool();
        assert_eq!(failed, Some(!t.ok), "{} {}", t.metric, t.expression);
    }
    assert!(r.thresholds.len() >= 3, "{:?}", r.thresholds);
    let ep = &r.endpoints[0];
    assert_eq!(ep.name, "http://127.0.0.1:18181/json");
    assert_eq!(ep.requests, r.totals.requests);
    let html = stampede_output::html::render(&r);
    assert!(html.contains("<td class=\"name\">http://127.0.0.1:18181/json</td>"));
}
