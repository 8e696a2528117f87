//! `stampede server` end to end: the real binary serving on a free
//! loopback port with SQLite in a temp dir (or the PostgreSQL of
//! `STAMPEDE_TEST_DATABASE_URL`), driven over HTTP and WebSocket, with runs
//! against the built-in test target (httpbin) on loopback: the user path,
//! `stampede login`/`submit`/`runs`, roles, bad input and attacks, and a
//! `kill -9` of the server mid-run followed by a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The store's throwaway PostgreSQL launcher (Debian's `postgresql`).
#[path = "../../store/tests/common/mod.rs"]
mod pg;

const ADMIN_PASSWORD: &str = "correct-horse-battery";

/// A `stampede server` child process, killed by PID on drop.
struct ServerProc {
    child: Child,
    addr: String,
}

impl ServerProc {
    fn start(data: &Path, db: Option<&str>, extra: &[&str]) -> ServerProc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stampede"));
        cmd.args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env("STAMPEDE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("STAMPEDE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = db {
            cmd.args(["--database", url]);
        }
        let mut child = cmd.spawn().expect("the server starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(a) = line.split("listening on ").nth(1) {
                        let a = a
                            .trim()
                            .trim_start_matches("http://")
                            .trim_start_matches("https://");
                        let _ = tx.send(Ok(a.to_string()));
                        sent = true;
                        continue;
                    }
                }
                eprintln!("[server] {line}");
            }
            if !sent {
                let _ = tx.send(Err("the server exited before listening".to_string()));
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server reports its address")
            .unwrap();
        ServerProc { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 exchange: (status, headers text, body).
fn http_raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) before reading it all.
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a full response head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head[9..12].parse().unwrap();
    let mut body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 4 + n..];
    }
}

/// A JSON call with an optional bearer token: (status, parsed body).
fn call(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (status, _, body) = http_raw(addr, method, path, &headers, &bytes);
    let v = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({"raw": String::from_utf8_lossy(&body)}))
    };
    (status, v)
}

fn login(addr: &str, user: &str, password: &str) -> String {
    let (s, v) = call(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    );
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// Polls `f` until it returns `Some`, up to `secs`.
fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_final(addr: &str, token: &str, run: i64) -> Value {
    poll(120, "the run to end", || {
        let (_, v) = call(
            addr,
            "GET",
            &format!("/api/v1/runs/{run}"),
            Some(token),
            None,
        );
        matches!(
            v["status"].as_str(),
            Some("passed" | "failed" | "aborted" | "errored")
        )
        .then_some(v)
    })
}

const SCRIPT: &str = r#"import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { thresholds: { http_req_failed: ['rate<0.01'] } };
export default function () {
  const res = http.get(`${__ENV.BASE}/get`);
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(0.05);
}
"#;

fn create_scenario(addr: &str, token: &str, name: &str, script: &str) -> i64 {
    let (s, v) = call(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some(token),
        Some(json!({"name": name, "script": script})),
    );
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

fn stampede(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("STAMPEDE_URL")
        .env_remove("STAMPEDE_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&token),
        Some(json!({"vus": 2, "duration": "3s", "env": {"BASE": target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let run = v["run_id"].as_i64().unwrap();
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

fn roles_bad_input_and_attacks(db: Option<&str>) {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), db, &["--max-body", "4096"]);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);

    // Users of each role.
    for (name, role) in [("vera", "viewer"), ("ed", "editor"), ("eve", "editor")] {
        let (s, v) = call(
            &addr,
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(
                json!({"username": name, "password": format!("{name}-password-123"), "role": role}),
            ),
        );
        assert_eq!(s, 201, "{v}");
    }
    let viewer = login(&addr, "vera", "vera-password-123");
    let ed = login(&addr, "ed", "ed-password-123");
    let eve = login(&addr, "eve", "eve-password-123");

    // Unauthenticated, forged, alg:none, expired, garbage.
    let (s, v) = call(&addr, "GET", "/api/v1/scenarios", None, None);
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    let parts: Vec<&str> = admin.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let forged_payload = b64.encode(r#"{"sub":1,"iat":0,"exp":99999999999}"#);
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let expired_claims = b64.encode(r#"{"sub":1,"iat":0,"exp":1}"#);
    let expired = format!("{}.{expired_claims}.{}", parts[0], parts[2]);
    for (bad, why) in [
        (none.as_str(), "algorithm"),
        (forged.as_str(), "signature"),
        (expired.as_str(), "signature"),
        ("stp_nope", "invalid API token"),
        ("x.y", "malformed"),
    ] {
        let (s, v) = call(&addr, "GET", "/api/v1/auth/me", Some(bad), None);
        assert_eq!(s, 401, "{bad}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(why),
            "{bad}: {v}"
        );
    }

    // Roles on endpoints.
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&viewer),
        Some(json!({"name": "v", "script": "export default function () {}"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&ed),
        Some(json!({"username": "x", "password": "long-enough-password", "role": "admin"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(&addr, "GET", "/api/v1/users", Some(&viewer), None);
    assert_eq!(s, 403);
    let mine = create_scenario(&addr, &ed, "ed's", "export default function () {}");
    let (s, _) = call(
        &addr,
        "GET",
        &format!("/api/v1/scenarios/{mine}"),
        Some(&viewer),
        None,
    );
    assert_eq!(s, 200, "viewers read");
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&viewer),
        Some(json!({"iterations": 1})),
    );
    assert_eq!(s, 403, "{v}");
    // Another user's ids.
    let (s, _) = call(
        &addr,
        "PUT",
        &format!("/api/v1/scenarios/{mine}"),
        Some(&eve),
        Some(json!({"name": "taken over"})),
    );
    assert_eq!(s, 403);
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/scenarios/{mine}"),
        Some(&eve),
        None,
    );
    assert_eq!(s, 403);
    let (s, t) = call(
        &addr,
        "POST",
        "/api/v1/tokens",
        Some(&ed),
        Some(json!({"name": "ci"})),
    );
    assert_eq!(s, 201);
    let ed_token_id = t["id"].as_i64().unwrap();
    let ed_api_token = t["token"].as_str().unwrap().to_string();
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/tokens/{ed_token_id}"),
        Some(&eve),
        None,
    );
    assert_eq!(s, 404);
    // The API token works until revoked.
    let (s, me) = call(&addr, "GET", "/api/v1/auth/me", Some(&ed_api_token), None);
    assert_eq!((s, me["username"].as_str()), (200, Some("ed")));
    let (s, _) = call(
        &addr,
        "DELETE",
        &format!("/api/v1/tokens/{ed_token_id}"),
        Some(&ed),
        None,
    );
    assert_eq!(s, 204);
    let (s, _) = call(&addr, "GET", "/api/v1/auth/me", Some(&ed_api_token), None);
    assert_eq!(s, 401);

    // Bad bodies: malformed, unknown fields, oversized, wrong types.
    let auth = format!("Bearer {ed}");
    let hdrs = [
        ("Content-Type", "application/json"),
        ("Authorization", auth.as_str()),
    ];
    let (s, _, b) = http_raw(&addr, "POST", "/api/v1/scenarios", &hdrs, b"{\"name\": ");
    assert_eq!(s, 400, "{}", text(&b));
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&ed),
        Some(json!({"name": "x", "script": "export default function () {}", "shell": "rm -rf /"})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `shell`"),
        "{v}"
    );
    let big = json!({"name": "big", "script": "x".repeat(10_000)}).to_string();
    let (s, _, b) = http_raw(&addr, "POST", "/api/v1/scenarios", &hdrs, big.as_bytes());
    assert_eq!(s, 413, "{}", text(&b));
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&ed),
        Some(json!({"vus": "many"})),
    );
    assert_eq!(s, 422, "{v}");

    // Scripts that do not compile; options that do not resolve.
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/scenarios",
        Some(&ed),
        Some(json!({"name": "broken", "script": "export default function () {\n  let x = ;\n}\n"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "script_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("script.js:2:"),
        "{v}"
    );
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&ed),
        Some(json!({"vus": -1, "duration": "1s"})),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "invalid_options");
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{mine}/start"),
        Some(&ed),
        Some(json!({"duration": "soon"})),
    );
    assert_eq!(s, 422, "{v}");
    // Nothing half-created: no run exists.
    let (_, runs) = call(&addr, "GET", "/api/v1/runs", Some(&ed), None);
    assert_eq!(runs["total"], 0, "{runs}");

    // Unknown ids and bad ids.
    let (s, v) = call(&addr, "GET", "/api/v1/runs/424242", Some(&ed), None);
    assert_eq!(s, 404, "{v}");
    let (s, _) = call(&addr, "GET", "/api/v1/runs/abc", Some(&ed), None);
    assert_eq!(s, 400);

    // Cookie-authenticated writes need this server's Origin.
    let cookie = format!("stampede_session={ed}");
    let body = json!({"name": "c", "script": "export default function () {}"}).to_string();
    let (s, _, _) = http_raw(
        &addr,
        "POST",
        "/api/v1/scenarios",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie),
            ("Origin", "http://evil.example"),
        ],
        body.as_bytes(),
    );
    assert_eq!(s, 403);
    let origin = format!("http://{addr}");
    let (s, _, b) = http_raw(
        &addr,
        "POST",
        "/api/v1/scenarios",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &cookie),
            ("Origin", &origin),
        ],
        body.as_bytes(),
    );
    assert_eq!(s, 201, "{}", text(&b));

    // A cross-site WebSocket handshake is refused (no hijacking with the cookie).
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/ws"
    ))
    .unwrap();
    req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    match tungstenite::client::client(req, TcpStream::connect(&addr).unwrap()) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(res))) => {
            assert_eq!(res.status(), 403)
        }
        other => panic!(
            "a cross-site handshake must fail with 403: {:?}",
            other.map(|_| ())
        ),
    }

    // Login throttling: the 6th wrong password in a row is refused with 429.
    for _ in 0..5 {
        let (s, _) = call(
            &addr,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "vera", "password": "wrong-password"})),
        );
        assert_eq!(s, 401);
    }
    let (s, head, _) = http_raw(
        &addr,
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "application/json")],
        json!({"username": "vera", "password": "vera-password-123"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(s, 429);
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");

    // Health, readiness, metrics need no token.
    assert_eq!(call(&addr, "GET", "/healthz", None, None).0, 200);
    assert_eq!(call(&addr, "GET", "/readyz", None, None).0, 200);
    let (s, _, m) = http_raw(&addr, "GET", "/metrics", &[], b"");
    assert_eq!(s, 200);
    let m = text(&m);
    assert!(
        m.contains("loadtest_requests_total")
            && m.contains("stampede_http_requests_total{method=\"POST\",status=\"401\"}"),
        "{m}"
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
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&token),
        Some(json!({"vus": 1, "duration": "5m", "env": {"BASE": target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let run = v["run_id"].as_i64().unwrap();
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
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&token),
        Some(json!({"iterations": 2, "env": {"BASE": target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let r = wait_final(&addr, &token, v["run_id"].as_i64().unwrap());
    assert_eq!(r["status"], "passed", "{r}");
}

fn stop_and_abort_end_runs_and_a_crashing_script_errors(db: Option<&str>) {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), db, &[]);
    let addr = server.addr.clone();
    let token = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &token, "s", SCRIPT);
    let start = |body: Value| {
        let (s, v) = call(
            &addr,
            "POST",
            &format!("/api/v1/scenarios/{scenario}/start"),
            Some(&token),
            Some(body),
        );
        assert_eq!(s, 202, "{v}");
        v["run_id"].as_i64().unwrap()
    };
    let running = |run: i64| {
        poll(60, "the run to be running", || {
            let (_, v) = call(
                &addr,
                "GET",
                &format!("/api/v1/runs/{run}"),
                Some(&token),
                None,
            );
            (v["status"] == "running").then_some(())
        })
    };
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

    // A script that throws in setup: errored with the error text.
    let crash = create_scenario(&addr, &token, "crash", "export function setup() { throw new Error('boom in setup'); }\nexport default function () {}\n");
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{crash}/start"),
        Some(&token),
        Some(json!({"iterations": 1})),
    );
    assert_eq!(s, 202, "{v}");
    let r = wait_final(&addr, &token, v["run_id"].as_i64().unwrap());
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
    let Some(bin) = pg::postgres_bin_dir() else {
        return;
    };
    let server = pg::Postgres::start(&bin);
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
    roles_bad_input_and_attacks(None);
}

#[test]
fn roles_and_attacks_postgres() {
    with_postgres(roles_bad_input_and_attacks);
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
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&token),
        Some(
            json!({"iterations": 3, "env": {"BASE": target.url()}, "options": {"blacklistIPs": []}}),
        ),
    );
    assert_eq!(s, 202, "{v}");
    let r = wait_final(&addr, &token, v["run_id"].as_i64().unwrap());
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
