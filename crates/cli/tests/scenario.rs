//! Declarative scenarios through the `stampede` binary against the demo
//! target on loopback: a native run records k6's metrics and tags, bad input
//! fails before any load with `file:line:col` and exit code 104, and the
//! differential test runs a scenario natively and its `stampede convert`
//! output under real k6 (`K6_NO_USAGE_REPORT=true`), comparing request and
//! check counts. The protocol features are each checked against a real
//! server on loopback: HTTP/2 over TLS by ALPN (and HTTP/1.1 when asked),
//! certificate verification and `insecure_skip_tls_verify`, multipart
//! bodies with a file, retries with exponential backoff and jitter on
//! 503/429 (attempts counted and timed at the server), per-request
//! timeouts (a server that never answers), redirects and cookies; a
//! private CA (`http.ca_certs`) and client certificates (`http.tls_auth`)
//! against a server that requires one, natively and converted under k6.

#[path = "../../engine/tests/common/tls_server.rs"]
mod tls_server;

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

// ---- Protocol features (issue 19), each against a real server on loopback.

/// Passes and fails of every check of request `req`.
fn request_checks(export: &Value, req: &str) -> (u64, u64) {
    let checks = export["root_group"]["checks"].as_object().unwrap();
    checks
        .iter()
        .filter(|(name, _)| name.starts_with(&format!("{req}: ")))
        .fold((0, 0), |(p, f), (_, c)| {
            (
                p + c["passes"].as_u64().unwrap_or(0),
                f + c["fails"].as_u64().unwrap_or(0),
            )
        })
}

/// Runs `yaml` (written as `s.yaml` in `dir`, beside any files already
/// there) natively; its exit code and summary export.
fn run_scenario(dir: &Path, yaml: &str) -> (Option<i32>, Value, String) {
    let path = dir.join("s.yaml");
    std::fs::write(&path, yaml).unwrap();
    let export_path = dir.join("summary.json");
    let _ = std::fs::remove_file(&export_path);
    let out = stampede(
        &[
            "run",
            "--quiet",
            "--summary-export",
            export_path.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
        dir,
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let summary = std::fs::read(&export_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (out.status.code(), summary, stderr)
}

fn count(export: &Value, metric: &str) -> u64 {
    export["metrics"][metric]["count"].as_u64().unwrap_or(0)
}

#[test]
fn http2_over_tls_by_alpn_and_certificate_verification() {
    let server = stampede_demo::TestServer::start_tls_in_background();
    let dir = tempfile::tempdir().unwrap();
    let scenario = |version: Option<&str>, insecure: bool| {
        let version = version.map_or(String::new(), |v| format!("version: \"{v}\", "));
        format!(
            "base_url: {url}\n\
             load: {{ executor: per-vu-iterations, vus: 2, iterations: 3 }}\n\
             http: {{ {version}insecure_skip_tls_verify: {insecure} }}\n\
             requests:\n  - {{ name: get, GET: /get, check: {{ status: 200 }} }}\n\
             thresholds:\n  \"http_reqs{{proto:HTTP/2.0}}\": [\"count>=0\"]\n  \
             \"http_reqs{{proto:HTTP/1.1}}\": [\"count>=0\"]\n",
            url = server.url()
        )
    };

    // HTTP/2, negotiated by ALPN over TLS: asked for, and by default (k6's).
    for version in [Some("2"), None] {
        let (code, s, stderr) = run_scenario(dir.path(), &scenario(version, true));
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(
            count(&s, "http_reqs{proto:HTTP/2.0}"),
            6,
            "{version:?}: {s}"
        );
        assert_eq!(count(&s, "http_reqs{proto:HTTP/1.1}"), 0, "{s}");
        assert_eq!(request_checks(&s, "get"), (6, 0));
    }

    // HTTP/1.1 only over the same TLS server when asked.
    let (code, s, stderr) = run_scenario(dir.path(), &scenario(Some("1.1"), true));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(count(&s, "http_reqs{proto:HTTP/1.1}"), 6, "{s}");
    assert_eq!(count(&s, "http_reqs{proto:HTTP/2.0}"), 0, "{s}");

    // The self-signed certificate is refused unless verification is off:
    // every request fails, none gets a status.
    let served = server.requests_served();
    let (code, s, stderr) = run_scenario(dir.path(), &scenario(Some("2"), false));
    assert_eq!(code, Some(0), "no threshold fails: {stderr}");
    assert_eq!(s["metrics"]["http_req_failed"]["value"], 1.0, "{s}");
    assert_eq!(request_checks(&s, "get"), (0, 6), "{s}");
    assert_eq!(
        server.requests_served(),
        served,
        "no request got through an unverified handshake"
    );
}

#[test]
fn multipart_bodies_carry_files_and_fields() {
    let server = stampede_demo::TestServer::start_in_background();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("files")).unwrap();
    std::fs::write(dir.path().join("files/note.txt"), "hello from a file").unwrap();
    let yaml = format!(
        r#"base_url: {url}
load: {{ executor: shared-iterations, vus: 1, iterations: 2 }}
requests:
  - name: upload
    POST: /post
    multipart:
      doc: {{ file: files/note.txt, content_type: text/plain, filename: renamed.txt }}
      comment: "field text {{{{iteration}}}}"
    check:
      status: 200
      json.files.doc: hello from a file
      json.form.comment: exists
      body_contains: multipart/form-data
"#,
        url = server.url()
    );
    let (code, s, stderr) = run_scenario(dir.path(), &yaml);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(count(&s, "http_reqs"), 2);
    let (passes, fails) = request_checks(&s, "upload");
    assert_eq!((passes, fails), (8, 0), "{}", s["root_group"]["checks"]);
}

/// A loopback HTTP/1.1 server answering `/flaky` with `statuses` in turn
/// (then 200) and `/down` always with 503, recording when each request
/// came. It stops by itself after a minute at most.
struct Scripted {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, Instant)>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Scripted {
    fn start(statuses: &'static [u16]) -> Scripted {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop2.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let seen = seen2.clone();
                std::thread::spawn(move || {
                    conn.set_nonblocking(false).unwrap();
                    conn.set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut w = conn.try_clone().unwrap();
                    let mut r = BufReader::new(conn);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let path = line.split(' ').nth(1).unwrap_or("").to_string();
                        loop {
                            let mut h = String::new();
                            if r.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            if h == "\r\n" {
                                break;
                            }
                        }
                        let status = {
                            let mut seen = seen.lock().unwrap();
                            let n = seen.iter().filter(|(p, _)| *p == path).count();
                            seen.push((path.clone(), Instant::now()));
                            match path.as_str() {
                                "/flaky" => statuses.get(n).copied().unwrap_or(200),
                                _ => 503,
                            }
                        };
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nretry-after: 0\r\n\r\nok"
                        );
                        if w.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Scripted { url, seen, stop }
    }

    /// When each request to `path` came.
    fn times(&self, path: &str) -> Vec<Instant> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(p, _)| p == path)
            .map(|(_, t)| *t)
            .collect()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn retries_back_off_exponentially_on_503_and_429() {
    let server = Scripted::start(&[503, 429, 503]);
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"base_url: {url}
load: {{ executor: shared-iterations, vus: 1, iterations: 1 }}
flow: sequence
requests:
  - name: flaky
    GET: /flaky
    retry: {{ on: [503, 429], max: 5, backoff: exponential, base: 40ms, jitter: false }}
    check: {{ status: 200 }}
  - name: down
    GET: /down
    retry: {{ on: [503], max: 2, base: 40ms }}
    check: {{ status: 200 }}
"#,
        url = server.url
    );
    let (code, s, stderr) = run_scenario(dir.path(), &yaml);
    assert_eq!(code, Some(0), "{stderr}");
    // /flaky: 503, 429, 503, then 200 — four attempts, each a request in
    // the metrics; the check sees the last.
    let flaky = server.times("/flaky");
    assert_eq!(flaky.len(), 4, "attempts at the server");
    assert_eq!(request_checks(&s, "flaky"), (1, 0));
    // Without jitter the pauses are at least 40, 80 and 160 ms: doubling.
    for (i, pair) in flaky.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let least = Duration::from_millis(40 << i);
        assert!(gap >= least, "pause {i} was {gap:?}, below {least:?}");
    }
    // /down: the first attempt and two retries (jitter on: at least half of
    // 40 and 80 ms), then the check fails on the last 503.
    let down = server.times("/down");
    assert_eq!(down.len(), 3, "attempts at the server");
    for (i, pair) in down.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let least = Duration::from_millis(20 << i);
        assert!(gap >= least, "pause {i} was {gap:?}, below {least:?}");
    }
    assert_eq!(request_checks(&s, "down"), (0, 1));
    assert_eq!(count(&s, "http_reqs"), 7, "every attempt is a request");
}

#[test]
fn timeouts_redirects_and_cookies() {
    let server = stampede_demo::TestServer::start_in_background();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"base_url: {url}
load: {{ executor: per-vu-iterations, vus: 2, iterations: 2 }}
flow: sequence
requests:
  - {{ name: hang, GET: /hang, timeout: 300ms, check: {{ status: 200 }} }}
  - {{ name: followed, GET: /redirect/3, check: {{ status: 200, json.url: exists }} }}
  - {{ name: not_followed, GET: /redirect/3, redirects: 0, check: {{ status: 302 }} }}
  - {{ name: set_cookie, GET: "/cookies/set/flavor/oat{{{{vu}}}}", redirects: 0, check: {{ status: 302 }} }}
  - {{ name: cookies, GET: /cookies, check: {{ status: 200 }}, extract: {{ flavor: json.cookies.flavor }} }}
  - {{ name: echo, GET: "/get?flavor={{{{flavor}}}}", check: {{ json.args.flavor: exists }} }}
thresholds:
  "http_reqs{{name:hang}}": ["count==4"]
  "http_reqs{{name:followed}}": ["count>=0"]
  "http_reqs{{name:not_followed}}": ["count==4"]
  "http_req_failed{{name:hang}}": ["rate==1"]
"#,
        url = server.url()
    );
    let (code, s, stderr) = run_scenario(dir.path(), &yaml);
    assert_eq!(code, Some(0), "{stderr}");
    let checks = &s["root_group"]["checks"];
    // Each /hang attempt ends at its own 300 ms timeout, as a failed
    // request without a status.
    assert_eq!(request_checks(&s, "hang"), (0, 4), "{checks}");
    // Redirects: followed to the end (each hop a request, as in k6), or not.
    assert_eq!(request_checks(&s, "followed"), (8, 0), "{checks}");
    assert_eq!(count(&s, "http_reqs{name:followed}"), 16, "4 hops x 4");
    assert_eq!(request_checks(&s, "not_followed"), (4, 0), "{checks}");
    // Cookies: each VU's jar keeps what the server set and sends it back.
    assert_eq!(request_checks(&s, "set_cookie"), (4, 0), "{checks}");
    assert_eq!(request_checks(&s, "cookies"), (8, 0), "{checks}");
    assert_eq!(request_checks(&s, "echo"), (4, 0), "{checks}");
    assert_eq!(
        check(&s, "cookies: extract flavor"),
        (4, 0),
        "the cookie came back: {checks}"
    );
}

/// An mTLS server (see `tls_server::mtls_server`) whose CA, client
/// certificate and key are written into `dir` as `ca.pem`, `client.pem` and
/// `client-key.pem`; the port.
fn mtls_server(dir: &Path) -> u16 {
    let server = tls_server::mtls_server("Stampede scenario test CA");
    std::fs::write(dir.join("ca.pem"), &server.ca_pem).unwrap();
    std::fs::write(dir.join("client.pem"), &server.cert_pem).unwrap();
    std::fs::write(dir.join("client-key.pem"), &server.key_pem).unwrap();
    server.port
}

#[test]
fn private_cas_and_client_certificates() {
    // A private CA: the demo server's self-signed certificate, trusted
    // through `ca_certs` with verification on.
    let server = stampede_demo::TestServer::start_tls_in_background();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("self.pem"),
        server.certificate_pem().unwrap(),
    )
    .unwrap();
    let yaml = format!(
        "base_url: {}\n\
         load: {{ executor: per-vu-iterations, vus: 2, iterations: 3 }}\n\
         http: {{ ca_certs: [self.pem], tls_min: tls1.3 }}\n\
         requests:\n  - {{ name: get, GET: /get, check: {{ status: 200 }} }}\n",
        server.url()
    );
    let (code, s, stderr) = run_scenario(dir.path(), &yaml);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(request_checks(&s, "get"), (6, 0), "{s}");
    assert_eq!(count(&s, "http_reqs"), 6, "{s}");

    // A server that requires a client certificate: with `tls_auth` it
    // gets the right one; without, no request gets through.
    let port = mtls_server(dir.path());
    let scenario = |auth: &str| {
        format!(
            "base_url: https://localhost:{port}\n\
             load: {{ executor: per-vu-iterations, vus: 2, iterations: 2 }}\n\
             http:\n  ca_certs: [ca.pem]\n{auth}\
             requests:\n  - {{ name: who, GET: /, check: {{ status: 200, body_contains: client }} }}\n"
        )
    };
    let with_cert = scenario(
        "  tls_auth:\n    - { cert: client.pem, key: client-key.pem, domains: [localhost] }\n",
    );
    let (code, s, stderr) = run_scenario(dir.path(), &with_cert);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(request_checks(&s, "who"), (8, 0), "{s}");
    let (code, s, stderr) = run_scenario(dir.path(), &scenario(""));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(s["metrics"]["http_req_failed"]["value"], 1.0, "{s}");
    assert_eq!(request_checks(&s, "who"), (0, 8), "{s}");

    // A key file that is missing: exit 104 before any load, at its place.
    let missing = scenario("  tls_auth:\n    - { cert: client.pem, key: gone.pem }\n");
    let (code, _, stderr) = run_scenario(dir.path(), &missing);
    assert_eq!(code, Some(104), "{stderr}");
    assert!(
        stderr.contains("s.yaml:6:32: http.tls_auth[0].key: cannot read"),
        "{stderr}"
    );

    // The k6 conversion opens the same files as `tlsAuth`; real k6 trusts
    // the CA through SSL_CERT_FILE, as the script's note says.
    let js = dir.path().join("s.js");
    std::fs::write(dir.path().join("s.yaml"), &with_cert).unwrap();
    let out = stampede(
        &["convert", "s.yaml", "-o", js.to_str().unwrap()],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export_path = dir.path().join("k6.json");
    let mut k6 = Command::new("k6");
    k6.args(["run", "--quiet", "--summary-export"])
        .arg(&export_path)
        .arg(&js)
        .current_dir(dir.path())
        .env("K6_NO_USAGE_REPORT", "true")
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"));
    let out = run(k6);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(request_checks(&export(&export_path), "who"), (8, 0));
}
