//! `stampede pipeline` end to end: the example pipeline against a demo
//! target, a failing smoke gate, invalid files, seed 000's chaos scenarios
//! through real fault proxies with their recovery time, and an interrupted
//! chaos stage that must restore every fault.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stampede_demo::{DemoConfig, DemoTarget};

#[path = "common/process.rs"]
mod process;
use process::{free_port, state};

fn stampede() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn target() -> DemoTarget {
    DemoTarget::start_in_background(DemoConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        products: 200,
        ..DemoConfig::default()
    })
    .expect("the demo target starts")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("pipeline.json")).unwrap()).unwrap()
}

fn stage<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

#[test]
fn the_example_pipeline_passes_against_the_demo_target() {
    let t = target();
    let dir = tempfile::tempdir().unwrap();
    let out = stampede()
        .args(["pipeline", "run"])
        .arg(examples().join("pipeline.yaml"))
        .args(["-e", &format!("BASE_URL=http://{}", t.addr())])
        .args(["-e", "LATENCY_FACTOR=10", "-e", "PRODUCTS=200"])
        .arg("--report-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = report(dir.path());
    assert_eq!(r["passed"], true);
    for name in ["smoke", "load", "stress", "spike", "chaos"] {
        assert_eq!(
            stage(&r, name)["outcome"],
            "passed",
            "{name}: {}",
            show(&out)
        );
    }
    assert_eq!(stage(&r, "soak")["outcome"], "skipped");
    // Load and stress both start when smoke ends: in parallel.
    let (load, stress) = (stage(&r, "load"), stage(&r, "stress"));
    let spike = stage(&r, "spike")["started_s"].as_f64().unwrap();
    assert!(
        load["started_s"].as_f64().unwrap()
            < stress["started_s"].as_f64().unwrap() + stress["duration_s"].as_f64().unwrap()
    );
    assert!(spike >= load["started_s"].as_f64().unwrap() + load["duration_s"].as_f64().unwrap());
    let rec = &stage(&r, "chaos")["findings"]["recovery"];
    assert!(rec["recovery_s"].as_f64().is_some(), "{rec}");
    let junit = std::fs::read_to_string(dir.path().join("pipeline.junit.xml")).unwrap();
    assert!(
        junit.contains("name=\"breaking_point\"") && junit.contains("<skipped"),
        "{junit}"
    );
    let html = std::fs::read_to_string(dir.path().join("pipeline.html")).unwrap();
    assert!(html.contains("id=\"stage-chaos\"") && html.contains("chaos.html"));
    assert!(dir.path().join("stress.html").is_file());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Deploy to production"), "{text}");
}

const FAILING_SMOKE: &str = "import { check } from 'k6';\n\
export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };\n\
export default function () { check(1, { 'the service answers': () => false }); }\n";

const PASSING: &str = "export const options = { iterations: 1 };\nexport default function () {}\n";

#[test]
fn a_failing_smoke_gate_stops_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("smoke.js"), FAILING_SMOKE).unwrap();
    std::fs::write(dir.path().join("ok.js"), PASSING).unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(
        &file,
        "stages:\n  smoke: {script: smoke.js}\n  load: {script: ok.js, needs: [smoke]}\n  spike: {script: ok.js, needs: [load]}\n",
    )
    .unwrap();
    let reports = dir.path().join("out");
    let out = stampede()
        .args(["pipeline", "run"])
        .arg(&file)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = report(&reports);
    assert_eq!(stage(&r, "smoke")["outcome"], "failed");
    assert!(stage(&r, "smoke")["recommendation"]
        .as_str()
        .unwrap()
        .starts_with("Fix issues"));
    for name in ["load", "spike"] {
        assert_eq!(stage(&r, name)["outcome"], "skipped", "{name}");
    }
    assert!(!reports.join("load.log").exists(), "a skipped stage ran");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("smoke Smoke test passes? No → Fix issues"),
        "{text}"
    );
    let junit = std::fs::read_to_string(reports.join("pipeline.junit.xml")).unwrap();
    assert!(
        junit.contains("<failure message=\"failed: checks rate==1"),
        "{junit}"
    );

    // skip_dependants lets independent stages run on.
    std::fs::write(
        &file,
        "stages:\n  smoke: {script: smoke.js, on_failure: skip_dependants}\n  load: {script: ok.js, needs: [smoke]}\n  other: {script: ok.js}\n",
    )
    .unwrap();
    let out = stampede()
        .args(["pipeline", "run"])
        .arg(&file)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let r = report(&reports);
    assert_eq!(stage(&r, "load")["outcome"], "skipped");
    assert_eq!(stage(&r, "other")["outcome"], "passed");
}

#[test]
fn invalid_files_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.js"), PASSING).unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(
        &file,
        "stages:\n  a:\n    script: ok.js\n    needs: [b]\n  b:\n    script: gone.js\n    needs: [a]\n    timeout: soon\n",
    )
    .unwrap();
    let reports = dir.path().join("out");
    let out = stampede()
        .args(["pipeline", "run"])
        .arg(&file)
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 6: stage \"b\": script \"gone.js\" not found"),
        "{err}"
    );
    assert!(
        err.contains("line 8: stage \"b\": bad timeout \"soon\""),
        "{err}"
    );
    assert!(
        err.contains("line 4: the stages depend on each other in a cycle: a → b → a"),
        "{err}"
    );
    assert!(!reports.exists(), "something ran");
}

/// The demo target's real dependencies under one chaos agent (the shape of
/// `examples/chaos-deps.yaml` on free ports): the agent runs a database and
/// a cache (`redis-server`), with proxies `db` and `cache` in front of them.
/// Stopped (every fault restored) on drop.
struct Deps {
    child: std::process::Child,
    info: Value,
}

impl Deps {
    fn start(dir: &Path) -> Deps {
        use std::io::BufRead;
        let redis = |port: u16| {
            format!("{{restart: {{command: \"redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no\"}}}}")
        };
        let (db, cache) = (free_port(), free_port());
        let file = dir.join("deps.yaml");
        std::fs::write(
            &file,
            format!(
                "proxies:\n  db: {{upstream: '127.0.0.1:{db}'}}\n  cache: {{upstream: '127.0.0.1:{cache}'}}\nprocesses:\n  database: {}\n  cache-server: {}\n",
                redis(db),
                redis(cache)
            ),
        )
        .unwrap();
        let mut child = stampede()
            .args(["chaos", "serve"])
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        Deps { child, info }
    }

    fn addr(&self, key: &str) -> String {
        let v = if key == "api" {
            &self.info["api"]
        } else {
            &self.info["proxies"][key]
        };
        v.as_str().unwrap().to_string()
    }
}

impl Drop for Deps {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST /api/orders` for one unit of product 1; the status.
fn order(addr: &str) -> u16 {
    use std::io::{Read, Write};
    let body = r#"{"items":[{"product_id":1}]}"#;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /api/orders HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn seed_000_chaos_scenarios_report_their_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let deps = Deps::start(dir.path());
    let t = DemoTarget::start_in_background(DemoConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        products: 200,
        database: Some(deps.addr("db")),
        cache: Some(deps.addr("cache")),
        ..DemoConfig::default()
    })
    .expect("the demo target starts");
    // Ready once the agent's database answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    while order(&t.addr().to_string()) != 201 {
        assert!(Instant::now() < deadline, "the database never came up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let file = dir.path().join("chaos.yaml");
    // Seed 000's three experiments with real faults: the partition through a
    // proxy of its own in front of the service (in parallel), the database
    // killed and the cache cut off through the dependencies' agent (one
    // after the other: they share it).
    let script = examples().join("chaos.js");
    let deps_env = format!(
        "CHAOS_AGENT: '{}', CHAOS_TARGET_ADDR: '{}'",
        deps.addr("api"),
        t.addr()
    );
    let yaml = format!(
        "stages:\n\
         \x20 partition:\n    script: {s}\n    kind: chaos\n    env: {{FAULT: partition}}\n    chaos: {{proxies: {{target: {{upstream: '${{BASE_URL}}'}}}}}}\n    gate:\n      recovery: {{slo: {{error_rate: 0.01}}, k: 1, max: 10s}}\n\
         \x20 database:\n    script: {s}\n    kind: chaos\n    env: {{FAULT: database, {deps_env}}}\n    gate:\n      recovery: {{slo: {{error_rate: 0.01}}, k: 1, max: 10s}}\n\
         \x20 cache:\n    script: {s}\n    kind: chaos\n    needs: [database]\n    env: {{FAULT: cache, {deps_env}}}\n    gate:\n      recovery: {{slo: {{error_rate: 0.01}}, k: 1, max: 10s}}\n",
        s = script.display()
    );
    std::fs::write(&file, yaml).unwrap();
    let reports = dir.path().join("out");
    let out = stampede()
        .args(["pipeline", "run"])
        .arg(&file)
        .args(["-e", &format!("BASE_URL=http://{}", t.addr())])
        .args([
            "-e",
            "LATENCY_FACTOR=10",
            "-e",
            "TIME_SCALE=0.2",
            "-e",
            "PRODUCTS=200",
        ])
        .arg("--report-dir")
        .arg(&reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let r = report(&reports);
    for name in ["partition", "database", "cache"] {
        let s = stage(&r, name);
        assert!(
            s["findings"]["recovery"]["recovery_s"].as_f64().is_some(),
            "{name}: {s}"
        );
        let results: Value = serde_json::from_str(
            &std::fs::read_to_string(reports.join(format!("{name}.results.json"))).unwrap(),
        )
        .unwrap();
        // The fault was real: the inject phase saw it on the wire.
        let mut failed = 0;
        let mut worst_p95: f64 = 0.0;
        for p in results["series"]["points"].as_array().unwrap() {
            if let Some(i) = p["scenarios"].get("inject") {
                failed += i["failed"].as_u64().unwrap_or(0);
                worst_p95 = worst_p95.max(i["p95"].as_f64().unwrap_or(0.0));
            }
        }
        // The same measure from the command line, on the stage's results.
        let rec = stampede()
            .args(["chaos", "recovery", "--k", "1"])
            .arg(reports.join(format!("{name}.results.json")))
            .output()
            .unwrap();
        assert_eq!(rec.status.code(), Some(0), "{}", show(&rec));
        let rec: Value = serde_json::from_slice(&rec.stdout).unwrap();
        assert!(rec["recovery"]["recovery_s"].as_f64().is_some(), "{rec}");
        let log = std::fs::read_to_string(reports.join(format!("{name}.log"))).unwrap_or_default();
        // And in the run's own summary.
        assert!(log.contains("CHAOS RECOVERY"), "{name}: {log}");
        match name {
            // A cache miss costs the cache's time limit (100 ms) and a report.
            "cache" => {
                assert!(worst_p95 >= 100.0, "{name}: p95 {worst_p95}\n{log}");
                assert_eq!(failed, 0, "{name}: a cache failure failed requests\n{log}");
            }
            _ => assert!(
                failed > 0,
                "{name}: no failed request during the fault\n{log}"
            ),
        }
    }
}

#[test]
fn an_interrupted_chaos_stage_restores_every_fault() {
    let dir = tempfile::tempdir().unwrap();
    let mut victim = Command::new("sleep").arg("120").spawn().unwrap();
    let marker = dir.path().join("restored");
    std::fs::write(
        dir.path().join("hold.js"),
        "import http from 'k6/http';\nimport { sleep } from 'k6';\n\
         export const options = { vus: 1, duration: '2m' };\n\
         export function setup() {\n  for (const t of ['victim', 'hook']) {\n    \
         const r = http.post(`http://${__ENV.CHAOS_AGENT}/api/v1/targets/${t}/inject`);\n    \
         if (r.status !== 200) throw new Error(`inject ${t}: ${r.status} ${r.body}`);\n  }\n}\n\
         export default function () { sleep(0.2); }\n",
    )
    .unwrap();
    let file = dir.path().join("p.yaml");
    std::fs::write(
        &file,
        format!(
            "stages:\n  chaos:\n    script: hold.js\n    chaos:\n      processes:\n        victim: {{pause: {{pid: {}}}}}\n        hook: {{exec: {{inject: 'true', restore: 'touch {}'}}}}\n",
            victim.id(),
            marker.display()
        ),
    )
    .unwrap();
    let mut child = stampede()
        .args(["pipeline", "run"])
        .arg(&file)
        .arg("--report-dir")
        .arg(dir.path().join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while state(victim.id()) != 'T' {
        assert!(Instant::now() < deadline, "the fault was never injected");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pipeline ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the pipeline did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(105));
    assert_ne!(
        state(victim.id()),
        'T',
        "the paused process was not resumed"
    );
    assert!(marker.exists(), "the restore command did not run");
    victim.kill().unwrap();
    victim.wait().unwrap();
}
