//! The `stampede` binary end to end: commands, flags, outputs and exit codes.

use std::path::Path;
use std::process::{Command, Output};

#[path = "common/process.rs"]
mod process;
use process::free_port;

fn stampede(args: &[&str], dir: &Path, envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .current_dir(dir)
        .envs(envs.iter().copied())
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn script(dir: &Path, name: &str, source: &str) {
    std::fs::write(dir.join(name), source).unwrap();
}

#[test]
fn version_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let out = stampede(&["version"], dir.path(), &[]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("stampede v"),
        "{}",
        text(&out.stdout)
    );
    let out = stampede(&["run", "--help"], dir.path(), &[]);
    assert!(text(&out.stdout).contains("--summary-export"));
}

#[test]
fn inspect_prints_resolved_options() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "s.js",
        "export const options = { vus: 3, duration: '10s' };\nexport default function () {}\n",
    );
    let out = stampede(
        &["inspect", "--execution-requirements", "s.js"],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["vus"], 3);
    assert_eq!(json["maxVUs"], 3);
    assert!(json["scenarios"]["default"].is_object(), "{json}");
}

#[test]
fn handle_summary_with_the_built_in_k6_summary_jslib() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/handle_summary.js"),
    )
    .unwrap();
    script(dir.path(), "s.js", &src);
    let out = stampede(&["run", "--quiet", "s.js"], dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("checks=2"), "{stdout}");
    assert!(stdout.contains("✓ one"), "{stdout}");
    assert!(stdout.contains("iterations"), "{stdout}");
}

#[test]
fn json_and_csv_outputs_are_written() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "s.js",
        "import { Counter } from 'k6/metrics';\nconst c = new Counter('things');\n\
         export const options = { iterations: 3 };\nexport default function () { c.add(1, { kind: 'x' }); }\n",
    );
    let out = stampede(
        &[
            "run",
            "--quiet",
            "--out",
            "json=out.json.gz",
            "--out",
            "csv=out.csv",
            "s.js",
        ],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let gz = std::fs::read(dir.path().join("out.json.gz")).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    let csv = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert!(
        csv.starts_with("metric_name,timestamp,metric_value"),
        "{csv}"
    );
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("things,")).count(),
        3,
        "{csv}"
    );
}

#[test]
fn progress_blocks_without_a_terminal_and_quiet_hides_them() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "s.js",
        "import { sleep } from 'k6';\nexport const options = { vus: 2, duration: '2s' };\nexport default function () { sleep(0.2); }\n",
    );
    let out = stampede(&["run", "s.js"], dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("scenarios: (100.00%) 1 scenario, 2 max VUs"),
        "{stdout}"
    );
    assert!(stdout.contains("running ("), "{stdout}");
    assert!(stdout.contains("default ✓ [ 100% ] 2 VUs"), "{stdout}");
    let out = stampede(&["run", "--quiet", "--no-summary", "s.js"], dir.path(), &[]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn bad_flags_and_scripts_get_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "ok.js", "export default function () {}\n");
    let out = stampede(
        &["run", "--vus", "many", "--duration", "10 minutes", "ok.js"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(104));
    let err = text(&out.stderr);
    assert!(err.contains("--vus") && err.contains("--duration"), "{err}");

    let out = stampede(&["run", "ok.js"], dir.path(), &[("K6_ITERATIONS", "x")]);
    assert_eq!(out.status.code(), Some(104));
    assert!(text(&out.stderr).contains("K6_ITERATIONS"));

    script(
        dir.path(),
        "bad.js",
        "export default function () {\n  const x = ;\n}\n",
    );
    let out = stampede(&["run", "bad.js"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(107));
    assert!(
        text(&out.stderr).contains("bad.js:2:"),
        "{}",
        text(&out.stderr)
    );

    let out = stampede(&["run", "missing.js"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(107));
    assert!(
        text(&out.stderr).contains("missing.js"),
        "{}",
        text(&out.stderr)
    );

    let out = stampede(&["run", "--out", "nope=x", "ok.js"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(104));
    assert!(
        text(&out.stderr).contains("invalid output type 'nope'"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_abort_in_the_last_iteration_exits_108_every_time() {
    // The aborting iteration ends the scenario, racing the task that
    // watches for aborts: the binary exited 0 in about one run in seven
    // before the lifecycle read the abort itself. Repeated to show a loss.
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "abort.js",
        "import exec from 'k6/execution';\n\
         export const options = { iterations: 1 };\n\
         export default function () { exec.test.abort('enough'); }\n",
    );
    for _ in 0..20 {
        let out = stampede(&["run", "--quiet", "abort.js"], dir.path(), &[]);
        assert_eq!(out.status.code(), Some(108), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("aborted"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn script_from_stdin_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cfg.json"),
        r#"{"iterations": 4, "vus": 2}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args([
            "run",
            "--quiet",
            "--summary-export",
            "sum.json",
            "--config",
            "cfg.json",
            "-",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"export default function () {}\n")
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let sum: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sum.json")).unwrap())
            .unwrap();
    assert_eq!(sum["metrics"]["iterations"]["count"], 4);
}

#[test]
fn gauges_and_dropped_iterations_reach_the_outputs() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "s.js",
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { r: { executor: 'constant-arrival-rate', rate: 10, duration: '2s', preAllocatedVUs: 1, maxVUs: 1 } } };\n\
         export default function () { sleep(0.5); }\n",
    );
    let out = stampede(
        &[
            "run",
            "--quiet",
            "--no-summary",
            "--out",
            "json=o.json",
            "s.js",
        ],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = std::fs::read_to_string(dir.path().join("o.json")).unwrap();
    for metric in ["vus", "vus_max", "dropped_iterations"] {
        let points = lines
            .lines()
            .filter(|l| l.contains(&format!("\"metric\":\"{metric}\"")) && l.contains("\"Point\""))
            .count();
        assert!(points > 0, "no {metric} points in --out json");
    }
}

#[test]
fn console_output_goes_to_the_file_as_in_k6() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "c.js",
        "console.log('init');\nexport default function () { console.warn('iter', __ITER); }\n",
    );
    std::fs::write(dir.path().join("console.log"), "kept\n").unwrap();
    let out = stampede(
        &[
            "run",
            "--quiet",
            "--no-summary",
            "--iterations",
            "2",
            "--console-output",
            "console.log",
            "c.js",
        ],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("source=console"));
    let file = std::fs::read_to_string(dir.path().join("console.log")).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(lines[0], "kept", "appended, not truncated: {file}");
    assert!(
        lines.iter().any(|l| l.ends_with("level=info msg=init")),
        "{file}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("level=warning msg=\"iter "))
            .count(),
        2,
        "{file}"
    );

    // The environment variable works too; a file that cannot be opened is
    // k6's exit code 255 with the reason.
    let out = stampede(
        &["run", "--quiet", "c.js"],
        dir.path(),
        &[("K6_CONSOLE_OUTPUT", "no/such/dir/c.log")],
    );
    assert_eq!(out.status.code(), Some(255));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot open the console output file \\\"no/such/dir/c.log\\\""),
        "{err}"
    );
}

#[test]
fn http_debug_logs_every_hop_as_k6() {
    let server = stampede_demo::TestServer::start_in_background();
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "d.js",
        "import http from 'k6/http';\n\
         export default function () {\n\
           http.post(`${__ENV.BASE_URL}/post`, '{\"a\":1}', { headers: { 'X-Trace': 'yes' } });\n\
           http.get(`${__ENV.BASE_URL}/redirect/1`);\n\
           http.get('http://127.0.0.1:1/refused');\n\
         }\n",
    );
    let run = |flag: &str| {
        let out = stampede(
            &[
                "run",
                "--quiet",
                "--no-summary",
                "--iterations",
                "1",
                flag,
                "-e",
                &format!("BASE_URL={}", server.url()),
                "d.js",
            ],
            dir.path(),
            &[],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let heads = run("--http-debug");
    let dumps: Vec<&str> = heads
        .lines()
        .filter(|l| l.contains("source=http-debug"))
        .collect();
    // POST, then the redirect and its target, then the refused request
    // (which has no response).
    let kinds: Vec<&str> = dumps
        .iter()
        .map(|l| {
            if l.contains("msg=\"Request:") {
                "req"
            } else {
                "resp"
            }
        })
        .collect();
    assert_eq!(
        kinds,
        ["req", "resp", "req", "resp", "req", "resp", "req"],
        "{heads}"
    );
    assert!(
        dumps[0].contains("msg=\"Request:\\nPOST /post HTTP/1.1\\nHost: "),
        "{}",
        dumps[0]
    );
    assert!(
        dumps[0].contains("\\nX-Trace: yes\\n\\n\\n\" group= iter=0 request_id="),
        "{}",
        dumps[0]
    );
    assert!(
        dumps[1].contains("msg=\"Response:\\nHTTP/1.1 200 OK\\n"),
        "{}",
        dumps[1]
    );
    assert!(dumps[3].contains("HTTP/1.1 302 Found\\n"), "{}", dumps[3]);
    assert!(dumps[6].contains("GET /refused HTTP/1.1"), "{}", dumps[6]);
    assert!(dumps
        .iter()
        .all(|l| l.contains(" scenario=default source=http-debug vu=1")));
    // A request and its response share one id; the next request has another.
    let id = |l: &str| l.split("request_id=").nth(1).unwrap()[..36].to_string();
    assert_eq!(id(dumps[0]), id(dumps[1]));
    assert_ne!(id(dumps[0]), id(dumps[2]));
    assert!(!heads.contains("{\\\"a\\\":1}"), "bodies only with full");

    let full = run("--http-debug=full");
    assert!(full.contains("\\n\\n{\\\"a\\\":1}\\n\""), "{full}");
    assert!(
        full.contains("\\\"X-Trace\\\": \\\"yes\\\""),
        "the echoed body: {full}"
    );
}

/// A raw HTTP/1.1 request to the REST API; the response body.
fn api(port: u16, method: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} /v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(out)
}

#[test]
fn rest_api_and_the_commands_that_drive_it() {
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "ext.js",
        "import { sleep } from 'k6';\n\
         export const options = { scenarios: { ext: { executor: 'externally-controlled', \
           vus: 2, maxVUs: 5, duration: '60s' } } };\n\
         export default function () { sleep(0.1); }\n",
    );
    script(dir.path(), "one.js", "export default function () {}\n");
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(["run", "--quiet", "--no-summary", "-a", &address, "ext.js"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let cmd = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--address", &address]);
        stampede(&all, dir.path(), &[])
    };
    // Wait for the scenario to run.
    let mut status = String::new();
    for _ in 0..100 {
        let out = cmd(&["status"]);
        status = text(&out.stdout);
        if status.contains("running: true") && status.contains("vus: \"2\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        status,
        "status: 7\npaused: \"false\"\nvus: \"2\"\nvus-max: \"5\"\nstopped: false\nrunning: true\ntainted: false\n"
    );

    assert!(cmd(&["scale", "--vus", "4"]).status.success());
    let too_many = cmd(&["scale", "--vus", "9"]);
    assert_eq!(too_many.status.code(), Some(255));
    assert!(text(&too_many.stderr).contains(
        "Config update error: invalid configuration supplied: the number of active VUs (9) must be less than or equal to the number of maxVUs (5)"
    ));
    let paused = cmd(&["pause"]);
    assert!(
        text(&paused.stdout).contains("paused: \"true\""),
        "{}",
        text(&paused.stdout)
    );
    let resumed = cmd(&["resume"]);
    assert!(text(&resumed.stdout).contains("paused: \"false\""));
    assert!(api(port, "PATCH", "garbage").contains("\"title\":\"Invalid data\""));

    // The address is taken: another run warns as k6 does and goes on.
    let second = stampede(
        &["run", "--quiet", "--no-summary", "-a", &address, "one.js"],
        dir.path(),
        &[],
    );
    assert!(second.status.success());
    assert!(
        text(&second.stderr).contains("level=warning msg=\"Error from API server\""),
        "{}",
        text(&second.stderr)
    );

    let stopped = api(port, "PATCH", r#"{"data":{"attributes":{"stopped":true}}}"#);
    assert!(stopped.contains("\"stopped\":true"), "{stopped}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(103),
        "k6's code for a stop through the API"
    );
    assert!(text(&out.stderr).contains("test run stopped from REST API"));

    // Nobody listening: a clear error.
    let gone = cmd(&["status"]);
    assert_eq!(gone.status.code(), Some(255));
    assert!(text(&gone.stderr).contains("cannot reach the test's REST API"));
}

/// Sends `signal` (e.g. "-TERM") to the child.
fn signal(child: &std::process::Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

/// Waits for the child to exit, up to a deadline (then kills it and fails).
fn exit_code_within(child: &mut std::process::Child, secs: u64) -> Option<i32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("stampede did not exit within {secs}s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Polls `file` until it contains `needle`, up to a deadline.
fn wait_for_text(file: &Path, needle: &str, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(file).is_ok_and(|t| t.contains(needle)) {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{needle:?} never appeared in {}", file.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn spawn_run(dir: &Path, script: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args([
            "run",
            "--quiet",
            "--no-summary",
            "--console-output",
            "console.log",
            script,
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
        .spawn()
        .expect("the binary runs")
}

#[test]
fn signals_stop_the_run_and_a_second_one_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // One signal: the iterations are interrupted, teardown runs, exit 105.
    script(
        dir.path(),
        "long.js",
        "import { sleep } from 'k6';\n\
         export const options = { vus: 2, duration: '10m' };\n\
         export default function () { console.log('running'); sleep(1); }\n\
         export function teardown() { console.log('teardown ran'); }\n",
    );
    let mut child = spawn_run(dir.path(), "long.js");
    wait_for_text(&dir.path().join("console.log"), "running", &mut child);
    signal(&child, "-TERM");
    assert_eq!(exit_code_within(&mut child, 60), Some(105));
    let log = std::fs::read_to_string(dir.path().join("console.log")).unwrap();
    assert!(log.contains("teardown ran"), "{log}");

    // A second signal while teardown still runs: exit 105 at once, as k6.
    std::fs::remove_file(dir.path().join("console.log")).unwrap();
    script(
        dir.path(),
        "stuck.js",
        "import { sleep } from 'k6';\n\
         export const options = { iterations: 1, teardownTimeout: '10m' };\n\
         export default function () {}\n\
         export function teardown() { console.log('in teardown'); sleep(600); }\n",
    );
    let mut child = spawn_run(dir.path(), "stuck.js");
    wait_for_text(&dir.path().join("console.log"), "in teardown", &mut child);
    signal(&child, "-INT");
    // Signals sent back to back may arrive as one: wait for the first.
    wait_for_text(&dir.path().join("stderr.log"), "gracefully", &mut child);
    signal(&child, "-INT");
    assert_eq!(exit_code_within(&mut child, 60), Some(105));
}
