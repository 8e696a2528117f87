//! Declarative scenarios through the `stampede` binary against the demo
//! target on loopback: a native run records k6's metrics and tags, bad input
//! fails before any load with `file:line:col` and exit code 104, and the
//! differential test runs a scenario natively and its `stampede convert`
//! output under real k6 (`K6_NO_USAGE_REPORT=true`), comparing request and
//! check counts.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stampede_demo::{DemoConfig, DemoTarget};

/// Longest any one run may take before it is killed.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn target() -> DemoTarget {
    DemoTarget::start_in_background(DemoConfig {
        addr: "127.0.0.1:0".parse().expect("an address"),
        products: 50,
        ..DemoConfig::default()
    })
    .expect("the demo target starts")
}

/// Runs a command to completion (killed past [`RUN_LIMIT`]).
fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the command starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("waiting").is_some() {
            break;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("the output")
}

fn stampede(args: &[&str], dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stampede"));
    cmd.args(args).current_dir(dir);
    run(cmd)
}

fn export(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("a summary export"))
        .expect("the export is JSON")
}

/// Passes and fails of check `name` (root group).
fn check(export: &Value, name: &str) -> (u64, u64) {
    let c = &export["root_group"]["checks"][name];
    (
        c["passes"].as_u64().unwrap_or(0),
        c["fails"].as_u64().unwrap_or(0),
    )
}

/// A scenario exercising once + extraction, templates, feeders, checks of
/// every kind and a sequence flow, with a deterministic request count.
const SCENARIO: &str = r#"
name: differential
base_url: "{{env BASE_URL}}"
load: { executor: per-vu-iterations, vus: 2, iterations: 5 }
variables: { terms: [lamp, chair] }
feeders: { users: { csv: users.csv, order: sequential } }
requests:
  - name: login
    once: per-vu
    POST: /api/auth/login
    json: { email: "{{users.email}}", password: stampede-examples }
    extract: { token: json.token, nothing: json.no_such_field }
    check: { status: 200 }
  - name: products_list
    GET: /api/products
    query: { page: "{{random 1 2}}", limit: 5 }
    headers: { Authorization: "Bearer {{token}}" }
    check: { status: 200, json.items: exists, header.Content-Type: exists, duration: "<60s" }
  - name: products_search
    GET: /api/products/search?q={{random_item terms}}
    headers: { Authorization: "Bearer {{token}}" }
    check: { status: 200, body_contains: total }
thresholds: { "http_reqs{name:products_list}": ["count==10"] }
"#;

fn write_scenario(dir: &Path) -> std::path::PathBuf {
    std::fs::write(
        dir.join("users.csv"),
        "email\npro-tier@example.com\nstarter-tier@example.com\n",
    )
    .unwrap();
    let path = dir.join("s.yaml");
    std::fs::write(&path, SCENARIO).unwrap();
    path
}

#[test]
fn a_scenario_runs_natively_with_k6_metrics_and_compares_with_its_k6_conversion() {
    let target = target();
    let dir = tempfile::tempdir().unwrap();
    let yaml = write_scenario(dir.path());
    let base = format!("BASE_URL={}", target.url());

    // Native run.
    let native_export = dir.path().join("native.json");
    let out = stampede(
        &[
            "run",
            "--quiet",
            "-e",
            &base,
            "--summary-export",
            native_export.to_str().unwrap(),
            yaml.to_str().unwrap(),
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let native = export(&native_export);
    let m = &native["metrics"];
    // 2 VUs: one login each, then 5 iterations of 2 requests.
    assert_eq!(m["http_reqs"]["count"], 22, "{native}");
    assert_eq!(m["iterations"]["count"], 10);
    assert_eq!(m["http_req_failed"]["value"], 0.0, "{stderr}");
    assert_eq!(
        m["http_reqs{name:products_list}"]["count"], 10,
        "the threshold's sub-metric"
    );
    assert_eq!(check(&native, "login: status is 200"), (2, 0));
    assert_eq!(check(&native, "login: extract token"), (2, 0));
    assert_eq!(
        check(&native, "login: extract nothing"),
        (0, 2),
        "a failed check, not a crash"
    );
    assert_eq!(check(&native, "products_list: json.items exists"), (10, 0));
    assert_eq!(
        check(&native, "products_search: body contains \"total\""),
        (10, 0)
    );
    assert!(m["data_received"]["count"].as_f64().unwrap_or(0.0) > 0.0);

    // The conversion under real k6.
    let script = dir.path().join("converted.js");
    let out = stampede(
        &[
            "convert",
            yaml.to_str().unwrap(),
            "-o",
            script.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let k6_export = dir.path().join("k6.json");
    let mut k6 = Command::new("k6");
    k6.env("K6_NO_USAGE_REPORT", "true")
        .args([
            "run",
            "--quiet",
            "--no-color",
            "-e",
            &base,
            "--summary-export",
        ])
        .arg(&k6_export)
        .arg(&script)
        .current_dir(dir.path());
    let out = run(k6);
    let k6_stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "k6: {k6_stderr}");
    let k6 = export(&k6_export);
    for metric in ["http_reqs", "iterations", "http_reqs{name:products_list}"] {
        assert_eq!(
            k6["metrics"][metric]["count"], native["metrics"][metric]["count"],
            "{metric}: k6 {} native {}",
            k6["metrics"][metric], native["metrics"][metric]
        );
    }
    assert_eq!(k6["metrics"]["checks"], native["metrics"]["checks"]);
    let names = native["root_group"]["checks"].as_object().unwrap();
    assert!(names.len() >= 8, "{names:?}");
    for name in names.keys() {
        assert_eq!(check(&k6, name), check(&native, name), "check {name:?}");
    }
}

#[test]
fn bad_scenarios_fail_before_any_load_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = write_scenario(dir.path());
    let bad = SCENARIO.replace("Bearer {{token}}", "Bearer {{tokn}}");
    std::fs::write(&yaml, bad).unwrap();
    // Port 9 on loopback: nothing may be sent there, and nothing is.
    let out = stampede(
        &[
            "run",
            "-e",
            "BASE_URL=http://127.0.0.1:9",
            yaml.to_str().unwrap(),
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(104), "{stderr}");
    assert!(
        stderr.contains("s.yaml:17:41: undefined variable"),
        "{stderr}"
    );
    assert!(stderr.contains("tokn"), "{stderr}");

    std::fs::remove_file(dir.path().join("users.csv")).unwrap();
    std::fs::write(&yaml, SCENARIO).unwrap();
    let out = stampede(&["convert", yaml.to_str().unwrap()], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(104), "{stderr}");
    assert!(
        stderr.contains("s.yaml:6:26: feeder \"users\": cannot read"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing is written");
}

#[test]
fn an_archived_scenario_runs_without_its_files() {
    let target = target();
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let yaml = write_scenario(&project);
    let base = format!("BASE_URL={}", target.url());
    let tar = dir.path().join("s.tar");
    let out = stampede(
        &[
            "archive",
            "-O",
            tar.to_str().unwrap(),
            yaml.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The scenario and its feeder file are in the archive, not only here.
    std::fs::remove_dir_all(&project).unwrap();
    let summary = dir.path().join("from-tar.json");
    let out = stampede(
        &[
            "run",
            "--quiet",
            "-e",
            &base,
            "--summary-export",
            summary.to_str().unwrap(),
            tar.to_str().unwrap(),
        ],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let native = export(&summary);
    assert_eq!(native["metrics"]["http_reqs"]["count"], 22, "{native}");
    assert_eq!(native["metrics"]["iterations"]["count"], 10);
    assert_eq!(check(&native, "login: status is 200"), (2, 0), "{stderr}");
    assert_eq!(check(&native, "products_list: json.items exists"), (10, 0));
}
