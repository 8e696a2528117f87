//! `stampede server` end to end: the real binary serving on a free
//! loopback port with SQLite in a temp dir (or the PostgreSQL of
//! `STAMPEDE_TEST_DATABASE_URL`), driven over HTTP and WebSocket, with runs
//! against the built-in test target (httpbin) on loopback: the user path,
//! `stampede login`/`submit`/`runs`, roles, bad input and attacks, and a
//! `kill -9` of the server mid-run followed by a restart.

mod alerts;
mod archives;
mod attacks;
mod chaos;
mod declarative;
mod email;
mod harness;
mod memory;
mod pipelines;
mod schedules;
mod segments;
mod ui_api;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use harness::*;
use serde_json::{json, Value};

fn user_path_over_http_websocket_and_the_cli(db: Option<&str>) {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), db, &[]);
    let addr = server.addr.clone();

    // Login answers a JWT and sets an HttpOnly, SameSite=Strict cookie.
    let (s, head, body) = http_raw(
        &addr,
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "application/json")],
        json!({"username": "admin", "password": ADMIN_PASSWORD})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 200, "{}", text(&body));
    let cookie_line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap();
    assert!(
        cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"),
        "{cookie_line}"
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["user"]["role"], "admin");
    let token = v["token"].as_str().unwrap().to_string();
    let (s, me) = call(&addr, "GET", "/api/v1/auth/me", Some(&token), None);
    assert_eq!((s, me["username"].as_str()), (200, Some("admin")));

    // Create a scenario, start it, watch it over the WebSocket.
    let scenario = create_scenario(&addr, &token, "smoke", SCRIPT);
    let run = start_run(
        &addr,
        &token,
        scenario,
        json!({"vus": 2, "duration": "3s", "env": {"BASE": target.url()}}),
    );
    let ws_req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/ws?run_id={run}"
    ))
    .unwrap();
    let mut ws_req = ws_req;
    ws_req
        .headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let (mut ws, _) = tungstenite::client::client(ws_req, stream).expect("WebSocket handshake");
    let (mut snapshots, mut states, mut progress) = (0, Vec::new(), 0);
    loop {
        let msg = ws.read().expect("messages until the run ends");
        let tungstenite::Message::Text(t) = msg else {
            continue;
        };
        let m: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(m["run_id"], run);
        match m["type"].as_str().unwrap() {
            "snapshot" => {
                snapshots += 1;
                assert!(m["snapshot"]["entries"].is_array());
            }
            "progress" => progress += 1,
            "state" => {
                let st = m["status"].as_str().unwrap().to_string();
                let end = matches!(st.as_str(), "passed" | "failed" | "aborted" | "errored");
                states.push(st);
                if end {
                    break;
                }
            }
            other => panic!("unexpected message type {other}"),
        }
    }
    assert!(snapshots >= 2, "{snapshots} snapshots");
    assert!(progress >= 2, "{progress} progress messages");
    assert!(states.contains(&"running".to_string()), "{states:?}");
    assert_eq!(
        states.last().map(String::as_str),
        Some("passed"),
        "{states:?}"
    );

    let (_, r) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}"),
        Some(&token),
        None,
    );
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(r["exit_code"], 0);
    assert!(
        r["summary"]["metrics"]["http_reqs"]["count"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{r}"
    );
    let text_summary = r["summary_text"].as_str().unwrap();
    assert!(
        text_summary.contains("http_reqs") && text_summary.contains("status is 200"),
        "{text_summary}"
    );
    let (s, m) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}/metrics"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200);
    assert!(m["intervals"].as_array().unwrap().len() >= 2, "{m}");
    let (s, series) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}/metrics?metric=http_req_duration&step=1"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200, "{series}");
    let points = series["points"].as_array().unwrap();
    assert!(
        points.len() >= 2 && points[0]["p95"].as_f64().unwrap() > 0.0,
        "{series}"
    );
    let (s, _) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}/metrics?metric=no_such_metric"),
        Some(&token),
        None,
    );
    assert_eq!(s, 404);
    let (_, list) = call(
        &addr,
        "GET",
        "/api/v1/runs?status=passed",
        Some(&token),
        None,
    );
    assert_eq!(list["items"][0]["id"], run);

    // Exports of the stored run, and a comparison with itself.
    let (s, j) = call(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=json"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200, "{j}");
    assert!(j.to_string().contains("http_reqs"), "{j}");
    let bearer = format!("Bearer {token}");
    let (s, head, csv) = http_raw(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=csv"),
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(s, 200, "{}", text(&csv));
    assert!(
        head.contains("text/csv") && text(&csv).lines().count() >= 3,
        "{}",
        text(&csv)
    );
    let (s, _, html) = http_raw(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=html"),
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(s, 200);
    assert!(text(&html).contains("<html"), "an HTML report");
    let (s, _, pdf) = http_raw(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=pdf"),
        &[("Authorization", &bearer)],
        b"",
    );
    if s == 200 {
        assert!(pdf.starts_with(b"%PDF"), "a PDF");
    } else {
        assert_eq!(
            s,
            503,
            "PDF without Chromium is a clear 503: {}",
            text(&pdf)
        );
    }
    let (s, _) = call(
        &addr,
        "GET",
        &format!("/api/v1/export/{run}?format=docx"),
        Some(&token),
        None,
    );
    assert_eq!(s, 400);
    let (s, c) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}/compare/{run}"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["passed"], true, "{c}");
    assert!(
        c["text"].as_str().unwrap().contains("/get") || c["text"].as_str().unwrap().contains("GET"),
        "{c}"
    );

    // The CLI: login stores a token (0600); submit follows and exits like run.
    let cfg = tempfile::tempdir().unwrap();
    let cfg_dir = cfg.path().to_str().unwrap();
    let url = server.url();
    let out = stampede(
        &["login", &url],
        &[("STAMPEDE_CONFIG_DIR", cfg_dir)],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cred = cfg.path().join("credentials.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cred).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&cred).unwrap().contains("stp_"));

    let scripts = tempfile::tempdir().unwrap();
    let ok = scripts.path().join("ok.js");
    std::fs::write(&ok, SCRIPT).unwrap();
    let base = format!("BASE={}", target.url());
    let envs = [("STAMPEDE_CONFIG_DIR", cfg_dir)];
    let out = stampede(
        &[
            "submit",
            "--vus",
            "1",
            "--duration",
            "2s",
            "-e",
            &base,
            ok.to_str().unwrap(),
        ],
        &envs,
        "",
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("running ("), "{stdout}");
    assert!(stdout.contains("http_reqs"), "{stdout}");

    let failing = scripts.path().join("failing.js");
    std::fs::write(&failing, SCRIPT.replace("/get`", "/status/500`")).unwrap();
    let out = stampede(
        &[
            "submit",
            "-q",
            "--iterations",
            "3",
            "-e",
            &base,
            failing.to_str().unwrap(),
        ],
        &envs,
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(99),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("thresholds on metrics 'http_req_failed' have been crossed"),
        "{}",
        text(&out.stderr)
    );

    let run_id = run.to_string();
    let out = stampede(&["compare", "-b", &run_id, &run_id], &envs, "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let out = stampede(&["runs"], &envs, "");
    let listing = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        listing.contains("passed") && listing.contains("failed"),
        "{listing}"
    );
}

/// Child processes of `pid` (spawned from any of its threads).
fn child_pids(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok()),
        );
    }
    out
}

fn kill_9_mid_run_then_restart_marks_it_errored_with_its_intervals(db: Option<&str>) {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProc::start(data.path(), db, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &token, "long", SCRIPT);
    let run = start_run(
        &addr,
        &token,
        scenario,
        json!({"vus": 1, "duration": "5m", "env": {"BASE": target.url()}}),
    );
    poll(60, "two stored intervals", || {
        let (_, m) = call(
            &addr,
            "GET",
            &format!("/api/v1/runs/{run}/metrics"),
            Some(&token),
            None,
        );
        (m["intervals"].as_array().map_or(0, Vec::len) >= 2).then_some(())
    });
    let segments = child_pids(server.child.id());
    assert_eq!(segments.len(), 1, "one segment process");
    server.kill9();
    // The segment notices its closed stdin and ends by itself.
    poll(30, "the orphaned segment to exit", || {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", segments[0])).unwrap_or_default();
        (stat.is_empty() || stat.contains(") Z ")).then_some(())
    });

    let server = ServerProc::start(data.path(), db, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let (_, r) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}"),
        Some(&token),
        None,
    );
    assert_eq!(r["status"], "errored", "{r}");
    assert!(r["error"].as_str().unwrap().contains("interrupted"), "{r}");
    let (_, m) = call(
        &addr,
        "GET",
        &format!("/api/v1/runs/{run}/metrics"),
        Some(&token),
        None,
    );
    assert!(
        m["intervals"].as_array().unwrap().len() >= 2,
        "stored intervals kept: {m}"
    );
    // The server still runs new work.
    let run = start_run(
        &addr,
        &token,
        scenario,
        json!({"iterations": 2, "env": {"BASE": target.url()}}),
    );
    let r = wait_final(&addr, &token, run);
    assert_eq!(r["status"], "passed", "{r}");
}

fn stop_and_abort_end_runs_and_a_crashing_script_errors(db: Option<&str>) {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), db, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &token, "s", SCRIPT);
    let start = |body: Value| start_run(&addr, &token, scenario, body);
    let running = |run: i64| wait_running(&addr, &token, run);
    let env = json!({"BASE": target.url()});
    let a = start(json!({"vus": 1, "duration": "5m", "env": env}));
    running(a);
    assert_eq!(
        call(
            &addr,
            "POST",
            &format!("/api/v1/runs/{a}/stop"),
            Some(&token),
            None
        )
        .0,
        202
    );
    let r = wait_final(&addr, &token, a);
    assert_eq!(
        (r["status"].as_str(), r["exit_code"].as_i64()),
        (Some("aborted"), Some(103)),
        "{r}"
    );
    assert!(
        r["summary_text"].as_str().unwrap().contains("http_reqs"),
        "graceful stop keeps the summary"
    );

    let b = start(json!({"vus": 1, "duration": "5m", "env": env}));
    running(b);
    assert_eq!(
        call(
            &addr,
            "POST",
            &format!("/api/v1/runs/{b}/abort"),
            Some(&token),
            None
        )
        .0,
        202
    );
    let r = wait_final(&addr, &token, b);
    assert_eq!(r["status"], "aborted", "{r}");
    assert_eq!(
        call(
            &addr,
            "POST",
            &format!("/api/v1/runs/{b}/stop"),
            Some(&token),
            None
        )
        .0,
        409
    );

    // The server's environment (secrets included) is not the script's.
    let env_probe = create_scenario(&addr, &token, "env", "import exec from 'k6/execution';\nexport default function () {\n  if (__ENV.STAMPEDE_ADMIN_PASSWORD !== undefined || __ENV.PATH !== undefined || __ENV.MINE !== 'x') exec.test.fail('leak');\n}\n");
    let run = start_run(
        &addr,
        &token,
        env_probe,
        json!({"iterations": 1, "env": {"MINE": "x"}}),
    );
    let r = wait_final(&addr, &token, run);
    assert_eq!(r["status"], "passed", "{r}");

    // A script that throws in setup: errored with the error text.
    let crash = create_scenario(&addr, &token, "crash", "export function setup() { throw new Error('boom in setup'); }\nexport default function () {}\n");
    let run = start_run(&addr, &token, crash, json!({"iterations": 1}));
    let r = wait_final(&addr, &token, run);
    assert_eq!(r["status"], "errored", "{r}");
    assert_eq!(r["exit_code"], 107, "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("boom in setup"),
        "{r}"
    );
    assert_eq!(
        call(&addr, "GET", "/healthz", None, None).0,
        200,
        "the server keeps serving"
    );
}

/// Runs `test` against a throwaway PostgreSQL (skipped with a notice when
/// the package is missing, unless `STAMPEDE_REQUIRE_SERVERS` is set).
fn with_postgres(test: fn(Option<&str>)) {
    let Some(bin) = harness::pg::postgres_bin_dir() else {
        return;
    };
    let server = harness::pg::Postgres::start(&bin);
    test(Some(&server.url("postgres")));
}

#[test]
fn user_path_sqlite() {
    user_path_over_http_websocket_and_the_cli(None);
}

#[test]
fn user_path_postgres() {
    with_postgres(user_path_over_http_websocket_and_the_cli);
}

#[test]
fn roles_and_attacks_sqlite() {
    attacks::roles_bad_input_and_attacks(None);
}

#[test]
fn roles_and_attacks_postgres() {
    with_postgres(attacks::roles_bad_input_and_attacks);
}

#[test]
fn kill_9_and_restart_sqlite() {
    kill_9_mid_run_then_restart_marks_it_errored_with_its_intervals(None);
}

#[test]
fn kill_9_and_restart_postgres() {
    with_postgres(kill_9_mid_run_then_restart_marks_it_errored_with_its_intervals);
}

#[test]
fn stop_abort_crash_sqlite() {
    stop_and_abort_end_runs_and_a_crashing_script_errors(None);
}

#[test]
fn stop_abort_crash_postgres() {
    with_postgres(stop_and_abort_end_runs_and_a_crashing_script_errors);
}

#[test]
fn targets_outside_the_allow_list_get_no_load() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    // Only 127.0.0.2 is allowed: the target on 127.0.0.1 is not.
    let server = ServerProc::start(data.path(), None, &["--allow-target", "127.0.0.2"]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &token, "ssrf", SCRIPT);
    // The request's own options cannot lift the list.
    let run = start_run(
        &addr,
        &token,
        scenario,
        json!({"iterations": 3, "env": {"BASE": target.url()}, "options": {"blacklistIPs": []}}),
    );
    let r = wait_final(&addr, &token, run);
    assert_eq!(r["status"], "failed", "{r}");
    let failed = &r["summary"]["metrics"]["http_req_failed"];
    assert_eq!(
        failed["value"].as_f64(),
        Some(1.0),
        "every request refused: {r}"
    );
    assert_eq!(
        r["summary"]["metrics"]["checks"]["passes"].as_f64(),
        Some(0.0),
        "{r}"
    );
}

#[test]
fn https_with_tls_cert_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, pem_key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, key.cert.pem()).unwrap();
    std::fs::write(&pem_key, key.signing_key.serialize_pem()).unwrap();
    let data = dir.path().join("data");
    let server = ServerProc::start(
        &data,
        None,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            pem_key.to_str().unwrap(),
        ],
    );
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let out = Command::new("curl")
        .args([
            "-sS",
            "-i",
            "--max-time",
            "30",
            "--cacert",
            cert.to_str().unwrap(),
            "-H",
            "Content-Type: application/json",
            "-d",
            &body,
        ])
        .arg(format!("https://{}/api/v1/auth/login", server.addr))
        .output()
        .expect("curl runs");
    let answer = text(&out.stdout);
    assert!(
        answer.starts_with("HTTP/2 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}{}",
        text(&out.stderr)
    );
    assert!(
        answer.contains("Secure"),
        "the session cookie is Secure over TLS: {answer}"
    );
    // Plain HTTP on the TLS port gets no answer.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(!text(&buf).contains("200 OK"), "{}", text(&buf));
}

#[test]
fn segments_merge_exactly() {
    segments::split_runs_merge_exactly();
}

#[test]
fn segments_judged_on_merged_data() {
    segments::thresholds_handle_summary_stop_and_abort();
}

#[test]
fn declarative_scenarios_sqlite() {
    declarative::declarative_scenarios(None);
}

#[test]
fn declarative_scenarios_postgres() {
    with_postgres(declarative::declarative_scenarios);
}
