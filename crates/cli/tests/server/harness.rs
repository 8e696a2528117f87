//! The harness of the server tests: a `stampede server` child process on
//! a free loopback port, raw HTTP/1.1 and JSON calls, polling helpers.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The store's throwaway PostgreSQL launcher (Debian's `postgresql`).
#[path = "../../../store/tests/common/mod.rs"]
pub mod pg;

pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

/// A `stampede server` child process, killed by PID on drop.
pub struct ServerProc {
    pub child: Child,
    pub addr: String,
}

impl ServerProc {
    pub fn start(data: &Path, db: Option<&str>, extra: &[&str]) -> ServerProc {
        Self::start_with_env(data, db, extra, &[])
    }

    /// [`ServerProc::start`] with extra environment variables.
    pub fn start_with_env(
        data: &Path,
        db: Option<&str>,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> ServerProc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stampede"));
        cmd.args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .envs(envs.iter().copied())
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

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn kill9(&mut self) {
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
pub fn http_raw(
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

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
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
pub fn call(
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

pub fn login(addr: &str, user: &str, password: &str) -> String {
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
pub fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /api/v1/runs/{run}`'s body.
pub fn get_run(addr: &str, token: &str, run: i64) -> Value {
    call(
        addr,
        "GET",
        &format!("/api/v1/runs/{run}"),
        Some(token),
        None,
    )
    .1
}

pub fn wait_final(addr: &str, token: &str, run: i64) -> Value {
    poll(120, "the run to end", || {
        let v = get_run(addr, token, run);
        matches!(
            v["status"].as_str(),
            Some("passed" | "failed" | "aborted" | "errored")
        )
        .then_some(v)
    })
}

pub const SCRIPT: &str = r#"import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { thresholds: { http_req_failed: ['rate<0.01'] } };
export default function () {
  const res = http.get(`${__ENV.BASE}/get`);
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(0.05);
}
"#;

/// Starts scenario `scenario` with `body` (expecting 202); the run's id.
pub fn start_run(addr: &str, token: &str, scenario: i64, body: Value) -> i64 {
    let (s, v) = call(
        addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(token),
        Some(body),
    );
    assert_eq!(s, 202, "{v}");
    v["run_id"].as_i64().unwrap()
}

/// Waits until run `run` is `running`.
pub fn wait_running(addr: &str, token: &str, run: i64) {
    poll(60, "the run to be running", || {
        (get_run(addr, token, run)["status"] == "running").then_some(())
    })
}

pub fn create_scenario(addr: &str, token: &str, name: &str, script: &str) -> i64 {
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

pub fn stampede(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> std::process::Output {
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

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
