//! `--run-memory-limit`: a script that allocates without bound ends its run
//! `errored` with the cap named, and the server keeps serving (the next run
//! on it passes).

use serde_json::json;

use crate::harness::*;

/// Keeps every string it builds: memory grows until something stops it.
const HOG: &str = r#"
const kept = [];
export const options = { vus: 1, duration: '60s' };
export default function () {
  for (let i = 0; i < 64; i++) kept.push('x'.repeat(1 << 20) + i);
}
"#;

const SMALL: &str = "export default function () {}\n";

#[test]
fn a_script_over_the_memory_limit_ends_errored_and_the_server_serves_on() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &["--run-memory-limit", "256MiB"]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let hog = create_scenario(&addr, &token, "hog", HOG);
    let run = start_run(&addr, &token, hog, json!({}));
    let v = wait_final(&addr, &token, run);
    assert_eq!(v["status"], "errored", "{v}");
    let error = v["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("exceeded the memory limit of 256 MiB"),
        "the error names the cap: {v}"
    );
    // The server is unharmed: it answers, and a normal run passes.
    let (s, _) = call(&addr, "GET", "/healthz", None, None);
    assert_eq!(s, 200);
    let small = create_scenario(&addr, &token, "small", SMALL);
    let run = start_run(&addr, &token, small, json!({"iterations": 3}));
    let v = wait_final(&addr, &token, run);
    assert_eq!(v["status"], "passed", "{v}");
}

#[test]
fn a_bad_memory_limit_is_refused_at_start() {
    let out = stampede(
        &[
            "server",
            "--run-memory-limit",
            "2 parsecs",
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("unknown unit"), "{err}");
}
