//! Stored results end to end: `run --out results=/html=/junit=`, then
//! `stampede report`, `baseline` and `compare` (the regression gate and its
//! exit codes: 0 pass, 1 regression or missing endpoint, 2 bad input).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn stampede(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(dir)
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited")
}

/// A results file with endpoints `(name, p50, p95, p99, error rate)`.
fn results_file(dir: &Path, name: &str, endpoints: &[(&str, f64, f64, f64, f64)]) {
    let eps: Vec<Value> = endpoints
        .iter()
        .map(|&(n, p50, p95, p99, err)| {
            serde_json::json!({
                "name": n, "methods": ["GET"], "requests": 1000, "failed": (err * 1000.0) as u64,
                "error_rate": err, "rps": 100.0,
                "latency": {"count": 1000, "avg": p50, "min": 1.0, "med": p50, "max": p99 * 2.0,
                            "p90": p95 * 0.9, "p95": p95, "p99": p99},
                "statuses": {"200": 1000}
            })
        })
        .collect();
    let doc = serde_json::json!({
        "schema": "stampede.results/v1",
        "generator": "test",
        "test": {"source": "test", "started_at": "2026-11-23T22:05:25Z",
                 "ended_at": "2026-11-23T22:05:35Z", "duration_s": 10.0, "scenarios": ["default"]},
        "totals": {"requests": 1000, "failed": 0, "error_rate": 0.0, "rps": 100.0, "iterations": 1000,
                   "dropped_iterations": 0, "data_sent": 0.0, "data_received": 0.0,
                   "checks_passed": 0, "checks_failed": 0,
                   "latency": {"count": 0, "avg": 0.0, "min": 0.0, "med": 0.0, "max": 0.0,
                               "p90": 0.0, "p95": 0.0, "p99": 0.0}},
        "thresholds": [], "checks": [], "endpoints": eps,
        "series": {"interval_ms": 1000, "points": []}
    });
    std::fs::write(dir.join(name), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

/// The baseline of the test plan's format (`api_endpoints`, units, `%`).
const PLAN_BASELINE: &str = "# k6/benchmarks/baseline.yaml
api_endpoints:
  products_list:
    p50: 50ms
    p95: 200ms
    p99: 500ms
    error_rate: 0.01%

  orders_create:
    p50: 150ms
    p95: 500ms
    p99: 1000ms
    error_rate: 0.1%

database_metrics:
  connection_pool:
    size: 100
";

fn compare(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["compare", "--baseline", "baseline.yaml"];
    args.extend_from_slice(extra);
    args.push("results.json");
    stampede(&args, dir)
}

#[test]
fn compare_passes_within_ten_percent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baseline.yaml"), PLAN_BASELINE).unwrap();
    results_file(
        dir.path(),
        "results.json",
        &[
            ("products_list", 52.0, 215.0, 480.0, 0.0001),
            ("orders_create", 150.0, 549.0, 1000.0, 0.001),
        ],
    );
    let out = compare(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("endpoint "), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("products_list  p95")
            && l.contains("200ms")
            && l.contains("215ms")
            && l.contains("+7.5%")
            && l.ends_with("ok")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("PASS: no regression beyond 10%\n"),
        "{stdout}"
    );
    // The plan's other sections are not measured by a load test.
    assert!(
        text(&out.stderr).contains("skipped section(s) database_metrics"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn compare_fails_on_a_p95_regression() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baseline.yaml"), PLAN_BASELINE).unwrap();
    results_file(
        dir.path(),
        "results.json",
        &[
            ("products_list", 50.0, 200.0, 500.0, 0.0001),
            ("orders_create", 150.0, 620.0, 1000.0, 0.001),
        ],
    );
    let out = compare(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 1, "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("orders_create  p95")
            && l.contains("+24%")
            && l.ends_with("REGRESSED")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("FAIL: 1 regression(s) beyond 10%: orders_create p95 +24%\n"),
        "{stdout}"
    );
    // A looser gate lets it through.
    let out = compare(dir.path(), &["--max-regression", "25%"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    // JSON for scripts.
    let out = compare(dir.path(), &["--json"]);
    assert_eq!(code(&out), 1);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], false);
    let row = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["endpoint"] == "orders_create" && r["metric"] == "p95")
        .unwrap();
    assert_eq!(row["status"], "regressed");
    assert_eq!(row["baseline"], 500.0);
    assert_eq!(row["current"], 620.0);
}

#[test]
fn compare_reports_improvements_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baseline.yaml"), PLAN_BASELINE).unwrap();
    results_file(
        dir.path(),
        "results.json",
        &[
            ("products_list", 20.0, 100.0, 250.0, 0.0),
            ("orders_create", 150.0, 500.0, 1000.0, 0.001),
        ],
    );
    let out = compare(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("products_list  p95")
            && l.contains("-50%")
            && l.ends_with("improved")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("PASS: no regression beyond 10%\n"),
        "{stdout}"
    );
}

#[test]
fn compare_fails_on_missing_endpoints_and_lists_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baseline.yaml"), PLAN_BASELINE).unwrap();
    results_file(
        dir.path(),
        "results.json",
        &[
            ("products_list", 50.0, 200.0, 500.0, 0.0001),
            ("reports_generate", 2000.0, 5000.0, 9000.0, 0.0),
        ],
    );
    let out = compare(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 1, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("orders_create ") && l.ends_with("MISSING")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("reports_generate ") && l.ends_with("new")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("FAIL: 1 endpoint(s) of the baseline not requested: orders_create\n"),
        "{stdout}"
    );
    let out = compare(dir.path(), &["--allow-missing"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
}

#[test]
fn malformed_baselines_exit_2_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    results_file(dir.path(), "results.json", &[("a", 1.0, 2.0, 3.0, 0.0)]);
    let cases: [(&str, &str); 6] = [
        ("api_endpoints: [1\n", "baseline.yaml: not valid YAML: "),
        (
            "api_endpoints:\n  a:\n    p95: soon\n",
            "baseline.yaml: invalid baseline:\n  - api_endpoints.a.p95: \"soon\" is not a duration (use e.g. 200ms, 1.5s or 250us)",
        ),
        (
            "api_endpoints:\n  a:\n    p955: 1ms\n    error_rate: 3\n",
            "  - api_endpoints.a.p955: unknown statistic (use p50, p90, p95, p99, avg, min, max or error_rate)\n  - api_endpoints.a.error_rate: 3 is more than 1",
        ),
        (
            "cache_metrics:\n  hit_rate: 85%\n",
            "invalid baseline:\n  - no `api_endpoints` section (found: cache_metrics)",
        ),
        ("", "invalid baseline:\n  - the file is empty"),
        ("- a\n- b\n", "expected a mapping with an `api_endpoints` section, found a list"),
    ];
    for (yaml, want) in cases {
        std::fs::write(dir.path().join("baseline.yaml"), yaml).unwrap();
        let out = compare(dir.path(), &[]);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 2, "{yaml:?}: {stderr}");
        assert!(stderr.starts_with("stampede compare: "), "{stderr}");
        assert!(stderr.contains(want), "{yaml:?}:\n{stderr}\nwant: {want}");
        assert!(out.stdout.is_empty());
    }
    // No such baseline, malformed results, a bad flag.
    let out = stampede(
        &["compare", "--baseline", "nope.yaml", "results.json"],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("nope.yaml: No such file"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(dir.path().join("baseline.yaml"), PLAN_BASELINE).unwrap();
    std::fs::write(dir.path().join("bad.json"), "{\"hello\": 1}").unwrap();
    let out = stampede(
        &["compare", "--baseline", "baseline.yaml", "bad.json"],
        dir.path(),
    );
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("bad.json: not a results file"),
        "{}",
        text(&out.stderr)
    );
    let out = compare(dir.path(), &["--max-regression", "lots"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn a_run_becomes_results_report_junit_and_baseline() {
    let server = stampede_demo::TestServer::start_in_background();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.js"),
        "import http from 'k6/http';\nimport { check, group } from 'k6';\n\
         export const options = {\n  scenarios: {\n\
             browse: { executor: 'shared-iterations', vus: 2, iterations: 30, exec: 'browse' },\n\
             buy: { executor: 'per-vu-iterations', vus: 1, iterations: 5, exec: 'buy' },\n  },\n\
           thresholds: { http_req_duration: ['p(95)<5000'], 'http_req_duration{name:orders_create}': ['max<0'] },\n};\n\
         export function browse() {\n\
           const r = http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'products_list' } });\n\
           check(r, { 'status is 200': (r) => r.status === 200 });\n}\n\
         export function buy() {\n\
           group('checkout', () => {\n\
             const r = http.post(`${__ENV.BASE_URL}/status/500`, 'x', { tags: { name: 'orders_create' } });\n\
             check(r, { 'order created': (r) => r.status === 201 });\n\
           });\n}\n",
    )
    .unwrap();
    let base = format!("BASE_URL={}", server.url());
    let out = stampede(
        &[
            "run",
            "-q",
            "-e",
            &base,
            "--out",
            "results=results.json",
            "--out",
            "html=report.html",
            "--out",
            "junit=junit.xml",
            "--summary-export",
            "export.json",
            "t.js",
        ],
        dir.path(),
    );
    // The orders_create threshold fails on purpose.
    assert_eq!(code(&out), 99, "{}", text(&out.stderr));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("export.json")).unwrap())
            .unwrap();
    // The record agrees with the summary.
    assert_eq!(results["schema"], "stampede.results/v1");
    assert_eq!(results["totals"]["requests"], 35);
    assert_eq!(export["metrics"]["http_reqs"]["count"], 35.0);
    assert_eq!(results["totals"]["failed"], 5);
    assert_eq!(
        results["totals"]["latency"]["max"],
        export["metrics"]["http_req_duration"]["max"]
    );
    let eps = results["endpoints"].as_array().unwrap();
    let names: Vec<&str> = eps.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["orders_create", "products_list"]);
    assert_eq!(eps[0]["requests"], 5);
    assert_eq!(eps[0]["error_rate"], 1.0);
    assert_eq!(eps[0]["methods"], serde_json::json!(["POST"]));
    assert_eq!(eps[1]["requests"], 30);
    assert_eq!(eps[1]["statuses"]["200"], 30);
    let th = results["thresholds"].as_array().unwrap();
    assert_eq!(th.len(), 2);
    assert_eq!(
        (th[0]["ok"].as_bool(), th[1]["ok"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(th[1]["metric"], "http_req_duration{name:orders_create}");
    let checks = results["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2, "{checks:?}");
    let created = checks
        .iter()
        .find(|c| c["name"] == "order created")
        .unwrap();
    assert_eq!(
        (created["group"].as_str(), created["fails"].as_u64()),
        (Some("::checkout"), Some(5))
    );
    let mut scenarios: Vec<&str> = results["test"]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scenarios.sort();
    assert_eq!(scenarios, ["browse", "buy"]);
    let points = results["series"]["points"].as_array().unwrap();
    let per_point: u64 = points.iter().map(|p| p["requests"].as_u64().unwrap()).sum();
    assert_eq!(per_point, 35);

    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testsuite name="thresholds" tests="2" failures="1""#),
        "{junit}"
    );
    assert!(
        junit.contains(r#"<testcase classname="checks.checkout" name="order created" time="0">"#),
        "{junit}"
    );

    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("✗ thresholds failed"));
    assert!(html.contains("<td class=\"name\">products_list</td>"));

    // The stored run renders again, and becomes a baseline it passes.
    let out = stampede(
        &[
            "report",
            "results.json",
            "-o",
            "again.html",
            "--title",
            "nightly",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let again = std::fs::read_to_string(dir.path().join("again.html")).unwrap();
    assert!(again.contains("<title>Load test report: nightly</title>"));
    let out = stampede(
        &["baseline", "results.json", "-o", "baseline.yaml"],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let yaml = std::fs::read_to_string(dir.path().join("baseline.yaml")).unwrap();
    assert!(
        yaml.contains("api_endpoints:\n  orders_create:\n    p50: "),
        "{yaml}"
    );
    assert!(yaml.contains("    error_rate: 100%\n"), "{yaml}");
    let out = compare(dir.path(), &[]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    // A previous results file works as the baseline too.
    let out = stampede(
        &["compare", "--baseline", "results.json", "results.json"],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
}

#[test]
fn reports_from_k6_json_output() {
    let server = stampede_demo::TestServer::start_in_background();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.js"),
        "import http from 'k6/http';\n\
         export const options = { iterations: 8, vus: 2, thresholds: { http_reqs: ['count>1'] } };\n\
         export default function () { http.get(`${__ENV.BASE_URL}/get`, { tags: { name: 'home' } }); }\n",
    )
    .unwrap();
    let base = format!("BASE_URL={}", server.url());
    let out = stampede(
        &[
            "run",
            "-q",
            "-e",
            &base,
            "--out",
            "json=out.json.gz",
            "t.js",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = stampede(&["report", "out.json.gz", "-o", "r.html"], dir.path());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("wrote r.html (8 requests, 1 endpoints, 1 thresholds, 0 checks)"),
        "{}",
        text(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("✓ thresholds passed"));
    let out = stampede(&["baseline", "out.json.gz", "-o", "-"], dir.path());
    assert_eq!(code(&out), 0);
    assert!(
        text(&out.stdout).contains("\n  home:\n    p50: "),
        "{}",
        text(&out.stdout)
    );
    let out = stampede(&["report", "missing.json"], dir.path());
    assert_eq!(code(&out), 2);
}
