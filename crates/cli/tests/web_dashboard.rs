//! `stampede run --web-dashboard` in a real headless Chromium: a run against
//! the demo target, the page loads, the charts move, the thresholds table
//! fills and turns red, the endpoint table sorts, the page reconnects
//! without a gap after its connection drops, the report exports, the stop
//! button stops the run, and the process exits once the page closes.
//! Screenshots (light and dark, desktop and phone) are taken on the way:
//! into `docs/screenshots/` with `STAMPEDE_SCREENSHOTS=docs`, else into a
//! temporary folder. The time from an interval's end to its point on the
//! chart is measured in the page and printed (a goal, not an assertion).

#[path = "common/browser.rs"]
mod browser;
#[path = "common/proxy.rs"]
mod proxy;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use browser::{chromium_path, Browser, Page};
use proxy::Relay;
use serde_json::Value;

const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, group, sleep } from 'k6';
export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: 3, duration: '120s', exec: 'browse' },
    probe: { executor: 'constant-arrival-rate', rate: 2, timeUnit: '1s', duration: '120s',
             preAllocatedVUs: 1, exec: 'probe' },
  },
  thresholds: {
    http_req_duration: ['p(95)<5000'],
    'http_req_failed{name:product_missing}': ['rate<0.01'],
    checks: ['rate>0.5'],
  },
};
export function browse() {
  group('catalogue', () => {
    const r = http.get(`${__ENV.BASE}/api/products?page=1`, { tags: { name: 'products_list' } });
    check(r, { 'list is 200': (x) => x.status === 200 });
    http.get(`${__ENV.BASE}/api/products/1`, { tags: { name: 'product_get' } });
  });
  sleep(0.2);
}
export function probe() {
  const r = http.get(`${__ENV.BASE}/api/products/999999`, { tags: { name: 'product_missing' } });
  check(r, { 'missing is 404': (x) => x.status === 404 });
}
"#;

/// A `stampede run` child, killed by PID if the test ends early.
struct Run {
    child: Child,
    stdout: Arc<Mutex<String>>,
}

impl Run {
    fn start(dir: &Path, envs: &[(&str, String)]) -> Run {
        Run::start_with(dir, &[], envs)
    }

    fn start_with(dir: &Path, args: &[&str], envs: &[(&str, String)]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
            .args(["run", "--address", ""])
            .args(args)
            .arg("t.js")
            .current_dir(dir)
            .env("K6_NO_USAGE_REPORT", "true")
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start stampede");
        let stdout = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = stdout.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Run { child, stdout }
    }

    fn output(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// The dashboard's address from the banner.
    fn dashboard(&self) -> SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.output();
            if let Some(line) = out.lines().find(|l| l.contains("web dashboard: http://")) {
                let url = line.split("http://").nth(1).unwrap().trim();
                return url.parse().expect("host:port");
            }
            assert!(Instant::now() < deadline, "no dashboard address in:\n{out}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "stampede did not exit:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Where screenshots go.
fn screenshot_dir(tmp: &Path) -> PathBuf {
    match std::env::var("STAMPEDE_SCREENSHOTS").as_deref() {
        Ok("docs") => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"),
        _ => tmp.join("screenshots"),
    }
}

const MARKS: &str = "performance.getEntriesByName('stampede:interval-drawn')";
const WAIT: Duration = Duration::from_secs(30);

async fn drawn(page: &Page<'_>) -> Vec<Value> {
    let v = page.eval(&format!("{MARKS}.map((m) => m.detail)")).await;
    v.as_array().cloned().unwrap_or_default()
}

fn max_seq(marks: &[Value]) -> i64 {
    marks
        .iter()
        .filter_map(|m| m["seq"].as_i64())
        .max()
        .unwrap_or(-1)
}

async fn shoot(page: &Page<'_>, dir: &Path, name: &str, dark: bool, phone: bool) {
    if phone {
        page.viewport(390, 844, true).await;
    } else {
        page.viewport(1280, 900, false).await;
    }
    page.color_scheme(dark).await;
    let theme = if dark { "dark" } else { "light" };
    page.wait_for(
        &format!("document.documentElement.dataset.theme === '{theme}'"),
        WAIT,
    )
    .await;
    // Two frames: the charts resize and redraw with the theme's colours.
    page.eval("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        .await;
    page.screenshot(&dir.join(format!(
        "{name}-{theme}-{}.png",
        if phone { "phone" } else { "desktop" }
    )))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_view_live_in_chromium() {
    assert!(
        chromium_path().exists(),
        "the UI tests need Debian's chromium (apt-get install chromium) or $CHROMIUM"
    );
    let target = stampede_demo::DemoTarget::start_in_background(stampede_demo::DemoConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .expect("demo target");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.js"), SCRIPT).unwrap();
    let export = dir.path().join("final-report.html");
    let mut run = Run::start(
        dir.path(),
        &[
            ("K6_WEB_DASHBOARD", "true".into()),
            ("K6_WEB_DASHBOARD_PORT", "0".into()),
            ("K6_WEB_DASHBOARD_EXPORT", export.display().to_string()),
            ("BASE", target.url()),
        ],
    );
    let dashboard = run.dashboard();
    assert!(dashboard.ip().is_loopback(), "{dashboard}");
    let relay = Relay::start(dashboard).await;
    let browser = Browser::launch().await;
    let downloads = tempfile::tempdir().unwrap();
    browser.allow_downloads(downloads.path()).await;
    let page = browser.page().await;
    page.viewport(1280, 900, false).await;
    page.color_scheme(false).await;
    page.goto(&format!("http://{}/", relay.addr())).await;

    // The page loads and the live chart moves.
    page.wait_for(&format!("{MARKS}.length >= 2"), WAIT).await;
    let first = drawn(&page).await.len();
    page.wait_for(&format!("{MARKS}.length >= {}", first + 2), WAIT)
        .await;
    page.wait_for(
        "document.getElementById('conn').dataset.state === 'live'",
        WAIT,
    )
    .await;
    let title = page
        .eval("document.getElementById('run-name').textContent")
        .await;
    assert_eq!(title, "t.js");

    // The thresholds table fills; the failing one turns red, the others not.
    page.wait_for(
        "document.querySelectorAll('#thresholds tbody tr').length === 3",
        WAIT,
    )
    .await;
    page.wait_for(
        "[...document.querySelectorAll('#thresholds tbody tr.fail')].some((r) => \
         r.textContent.includes('product_missing'))",
        WAIT,
    )
    .await;
    let passing = page
        .eval("[...document.querySelectorAll('#thresholds tbody tr.pass')].map((r) => r.cells[0].textContent)")
        .await;
    assert_eq!(passing, serde_json::json!(["http_req_duration", "checks"]));

    // Checks and endpoints; the endpoint table sorts by a column.
    page.wait_for(
        "document.querySelectorAll('#checks tbody tr').length === 2",
        WAIT,
    )
    .await;
    page.wait_for(
        "document.querySelectorAll('#endpoints tbody tr').length === 3",
        WAIT,
    )
    .await;
    page.click("#endpoints th[data-key='requests'] button")
        .await;
    let sorted = page
        .eval(
            "(() => { const th = document.querySelector(\"#endpoints th[data-key='requests']\"); \
             const n = [...document.querySelectorAll('#endpoints tbody tr')].map((r) => \
             Number(r.cells[2].textContent.replace(/,/g, ''))); \
             return th.getAttribute('aria-sort') === 'descending' && n.every((v, i) => i === 0 || n[i - 1] >= v); })()",
        )
        .await;
    assert_eq!(sorted, Value::Bool(true));

    // The keyboard sorts too: Enter on the focused header button.
    page.eval("document.querySelector(\"#endpoints th[data-key='name'] button\").focus()")
        .await;
    page.press("Enter").await;
    page.wait_for(
        "document.querySelector(\"#endpoints th[data-key='name']\").getAttribute('aria-sort') === 'ascending'",
        WAIT,
    )
    .await;
    // Every button, link and chart has an accessible name.
    for (role, at_least) in [
        ("button", 12),
        ("link", 2),
        ("image", 5),
        ("progressbar", 2),
    ] {
        let nodes = page.ax_nodes(role).await;
        assert!(nodes.len() >= at_least, "{role}: {nodes:#?}");
        let unnamed: Vec<_> = nodes.iter().filter(|(name, _)| name.is_empty()).collect();
        assert!(unnamed.is_empty(), "unnamed {role}: {unnamed:#?}");
    }

    // Screenshots while the run is live.
    let shots = screenshot_dir(dir.path());
    for (dark, phone) in [(false, false), (true, false), (false, true), (true, true)] {
        shoot(&page, &shots, "run-view", dark, phone).await;
    }
    page.viewport(1280, 900, false).await;
    page.color_scheme(false).await;

    // The connection drops; the page says so, reconnects, and fetches the
    // intervals it missed: every point is drawn once, in order, no gap.
    let before = max_seq(&drawn(&page).await);
    relay.cut(Duration::from_secs(3));
    page.wait_for(
        "document.getElementById('conn').dataset.state === 'lost'",
        WAIT,
    )
    .await;
    page.wait_for(
        "document.getElementById('conn').dataset.state === 'live'",
        WAIT,
    )
    .await;
    page.wait_for(
        &format!(
            "Math.max(...{MARKS}.map((m) => m.detail.seq)) >= {}",
            before + 8
        ),
        WAIT,
    )
    .await;
    let seqs: Vec<i64> = drawn(&page)
        .await
        .iter()
        .filter_map(|m| m["seq"].as_i64())
        .collect();
    let expected: Vec<i64> = (0..seqs.len() as i64).collect();
    assert_eq!(
        seqs, expected,
        "points drawn once each, in order, with no gap"
    );

    // Latency from an interval's end to its point on screen: the points
    // that came live (not those fetched when the page loaded or resumed).
    page.wait_for(
        &format!("{MARKS}.filter((m) => m.detail.live).length >= 15"),
        WAIT,
    )
    .await;
    let mut delays: Vec<f64> = drawn(&page)
        .await
        .iter()
        .filter(|m| m["live"] == Value::Bool(true))
        .filter_map(|m| Some(m["drawn_at_ms"].as_f64()? - m["closed_at_ms"].as_f64()?))
        .collect();
    delays.sort_by(f64::total_cmp);

    // Export: the link downloads the HTML report of the run so far.
    page.click("#export").await;
    let report = downloads.path().join("stampede-report.html");
    let deadline = Instant::now() + WAIT;
    let html = loop {
        if let Ok(text) = std::fs::read_to_string(&report) {
            if text.trim_end().ends_with("</html>") {
                break text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no download at {}",
            report.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("products_list") && html.contains("product_missing"));

    // Stop: the run ends gracefully as stopped through the API (k6's 103),
    // the page shows the final status and the process waits for it to close.
    page.wait_for("!document.getElementById('stop').disabled", WAIT)
        .await;
    page.click("#stop").await;
    page.wait_for(
        "document.getElementById('run-status').dataset.status === 'aborted'",
        WAIT,
    )
    .await;
    page.wait_for(
        "document.getElementById('conn').dataset.state !== 'lost'",
        WAIT,
    )
    .await;
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "waits while the page is open"
    );
    page.close().await;
    let code = run.wait_exit(WAIT);
    assert_eq!(code, 103, "{}", run.output());
    let final_report = std::fs::read_to_string(&export).expect("K6_WEB_DASHBOARD_EXPORT written");
    assert!(final_report.contains("product_missing"));

    let problems: Vec<String> = browser
        .problems
        .lock()
        .unwrap()
        .iter()
        // The reconnection attempts while the relay refused connections.
        .filter(|p| !p.starts_with("\"network\""))
        .cloned()
        .collect();
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );

    let p95 = delays
        .get(((delays.len() as f64 * 0.95).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "interval end → on screen: p95 {p95:.0} ms, max {:.0} ms over {} live intervals (goal: p95 ≤ 1500 ms)",
        delays.last().copied().unwrap_or(f64::NAN),
        delays.len()
    );
    println!("screenshots in {}", shots.display());
}

/// A short script that sends nothing.
const IDLE: &str = "import { sleep } from 'k6';\n\
    export const options = { vus: 1, duration: '30s', thresholds: { iterations: ['count>0'] } };\n\
    export default function () { sleep(0.1); }\n";

fn idle_run(envs: &[(&str, String)]) -> (tempfile::TempDir, Run) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.js"), IDLE).unwrap();
    let run = Run::start(dir.path(), envs);
    (dir, run)
}

#[test]
fn bad_dashboard_settings_fail_before_the_run() {
    let (_dir, mut run) = idle_run(&[
        ("K6_WEB_DASHBOARD", "true".into()),
        ("K6_WEB_DASHBOARD_PORT", "abc".into()),
        ("K6_WEB_DASHBOARD_PERIOD", "soon".into()),
    ]);
    assert_eq!(run.wait_exit(WAIT), 104, "{}", run.output());
    let out = run.output();
    assert!(
        out.contains("K6_WEB_DASHBOARD_PORT") && out.contains("\\\"abc\\\""),
        "{out}"
    );
    assert!(out.contains("K6_WEB_DASHBOARD_PERIOD"), "{out}");
}

#[test]
fn a_busy_port_fails_the_run() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let (_dir, mut run) = idle_run(&[
        ("K6_WEB_DASHBOARD", "true".into()),
        ("K6_WEB_DASHBOARD_PORT", port.to_string()),
    ]);
    assert_eq!(run.wait_exit(WAIT), 255, "{}", run.output());
    assert!(run.output().contains("could not start the web dashboard"));
}

#[test]
fn port_minus_one_serves_nothing_and_still_exports() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.js"),
        "export const options = { iterations: 3 };\nexport default function () {}\n",
    )
    .unwrap();
    let export = dir.path().join("r.html");
    // `--out web-dashboard` turns it on too (and is no output of its own).
    let mut run = Run::start_with(
        dir.path(),
        &["--out", "web-dashboard"],
        &[
            ("K6_WEB_DASHBOARD_PORT", "-1".into()),
            ("K6_WEB_DASHBOARD_EXPORT", export.display().to_string()),
        ],
    );
    assert_eq!(run.wait_exit(WAIT), 0, "{}", run.output());
    assert!(!run.output().contains("web dashboard:"));
    let html = std::fs::read_to_string(&export).expect("report written");
    assert!(html.starts_with("<!DOCTYPE html>"));
}

#[test]
fn open_hands_the_dashboard_to_the_desktop_opener() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.js"),
        "export const options = { iterations: 1 };\nexport default function () {}\n",
    )
    .unwrap();
    // A stand-in `xdg-open`, first on PATH, records what it was asked to open.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let opened = dir.path().join("opened");
    let opener = bin.join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut run = Run::start(
        dir.path(),
        &[
            ("K6_WEB_DASHBOARD", "true".into()),
            ("K6_WEB_DASHBOARD_PORT", "0".into()),
            ("K6_WEB_DASHBOARD_OPEN", "true".into()),
            ("PATH", path),
        ],
    );
    let addr = run.dashboard();
    assert_eq!(run.wait_exit(WAIT), 0, "{}", run.output());
    // The opener is started, not waited for.
    let deadline = Instant::now() + WAIT;
    let url = loop {
        match std::fs::read_to_string(&opened) {
            Ok(s) if !s.is_empty() => break s,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "xdg-open was not run:\n{}",
            run.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(url.trim_end_matches('/'), format!("http://{addr}"));
}

/// One HTTP/1.1 request over a fresh connection; the status and the body.
fn http(addr: SocketAddr, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

#[test]
fn guards_refuse_foreign_hosts_and_origins_and_non_json_stops() {
    let (_dir, mut run) = idle_run(&[
        ("K6_WEB_DASHBOARD", "true".into()),
        ("K6_WEB_DASHBOARD_PORT", "0".into()),
    ]);
    let addr = run.dashboard();
    let get = |host: &str, path: &str, extra: &str| {
        http(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
        )
    };
    let me = addr.to_string();
    let (status, body) = get(&me, "/api/v1/runs/local", "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"id\":\"local\""));
    assert_eq!(get("localhost:1", "/", "").0, 200);
    assert_eq!(get("evil.example", "/api/v1/runs/local", "").0, 421);
    let (status, body) = get(&me, "/api/v1/runs/local", "Origin: http://evil.example\r\n");
    assert_eq!(status, 403);
    assert!(body.contains("\"code\":\"cross_origin\""), "{body}");
    assert_eq!(get(&me, "/api/v1/runs/other", "").0, 404);
    assert_eq!(get(&me, "/api/v1/runs/local/metrics?after=x", "").0, 400);
    assert_eq!(get(&me, "/api/v1/export/local?format=pdf", "").0, 400);
    assert_eq!(get(&me, "/ui/js/nope.js", "").0, 404);

    let stop = |ct: &str| {
        http(
            addr,
            &format!(
                "POST /api/v1/runs/local/stop HTTP/1.1\r\nHost: {me}\r\n{ct}Content-Length: 2\r\n\
                 Connection: close\r\n\r\n{{}}"
            ),
        )
    };
    assert_eq!(stop("Content-Type: text/plain\r\n").0, 415);
    // The run may still be initializing: a stop is accepted once it runs.
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = stop("Content-Type: application/json\r\n");
        if status == 202 {
            break;
        }
        assert_eq!(status, 409, "{body}");
        assert!(Instant::now() < deadline, "the run never became stoppable");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(run.wait_exit(WAIT), 103, "{}", run.output());
}

#[test]
fn the_period_sets_the_interval_length() {
    let (_dir, mut run) = idle_run(&[
        ("K6_WEB_DASHBOARD", "true".into()),
        ("K6_WEB_DASHBOARD_PORT", "0".into()),
        ("K6_WEB_DASHBOARD_PERIOD", "2s".into()),
    ]);
    let addr = run.dashboard();
    let host = addr.to_string();
    let deadline = Instant::now() + WAIT;
    let page: Value = loop {
        let (status, body) = http(
            addr,
            &format!("GET /api/v1/runs/local/metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).expect("JSON");
        if page["points"].as_array().is_some_and(|p| p.len() >= 2) {
            break page;
        }
        assert!(Instant::now() < deadline, "no two intervals: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(page["interval_ms"], 2000);
    let second = &page["points"][1];
    assert_eq!(second["seq"], 1);
    let dur = second["dur"].as_f64().unwrap();
    // Engine intervals are merged until they span the period.
    assert!(dur >= 1.8, "{second}");
    // One VU sleeping 0.1 s per iteration: at most ~10 a second.
    let iterations = second["iterations"].as_u64().unwrap();
    assert!(
        iterations >= 1 && iterations as f64 <= dur * 10.0 + 1.0,
        "{second}"
    );
    run.child.kill().unwrap();
    let _ = run.child.wait();
}

/// Serves the run view for a finished `run` (the UI's files and the data
/// contract, as `stampede run --web-dashboard` and the server do), with a
/// WebSocket that stays quiet.
async fn serve_finished(run: stampede_web::LiveRun) -> SocketAddr {
    use axum::extract::ws::WebSocketUpgrade;
    use axum::response::IntoResponse;
    use axum::routing::get;
    let state = Arc::new(run);
    let asset = |path: String| {
        let a = stampede_web::assets::get(&path).expect("asset");
        ([("content-type", a.content_type)], a.bytes).into_response()
    };
    let app = axum::Router::new()
        .route("/", get(move || async move { asset(String::new()) }))
        .route(
            "/ui/{*path}",
            get(move |axum::extract::Path(p): axum::extract::Path<String>| async move { asset(p) }),
        )
        .route(
            "/api/v1/runs/{id}",
            get({
                let s = state.clone();
                move || async move { axum::Json(s.state().clone()) }
            }),
        )
        .route(
            "/api/v1/runs/{id}/metrics",
            get({
                let s = state.clone();
                move || async move { axum::Json(s.page(None)) }
            }),
        )
        .route(
            "/api/v1/ws",
            get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move { while socket.recv().await.is_some() {} })
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The issue's goal: the run page of a one-hour run with 20 endpoints
/// loads in ≤ 1 s. The run is made of synthetic interval snapshots (one a
/// second, 20 endpoints) folded by the real `LiveRun`; the page is the
/// real one. Prints the time from navigation to the last point drawn.
/// A measurement, not a check, and slow in a debug build (folding 3600
/// intervals takes minutes unoptimized), so it runs on request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: cargo test -p stampede --test web_dashboard -- --ignored --nocapture hour"]
async fn an_hour_long_run_loads_in_chromium() {
    use stampede_metrics::{Builtin, Registry, Sink, TagSet};
    use stampede_web::{LiveRun, RunStatus};
    assert!(chromium_path().exists(), "the UI tests need chromium");
    const HOUR: u64 = 3600;
    const SEC: u64 = 1_000_000_000;
    let t0 = 1_700_000_000 * SEC;
    let specs = vec![stampede_metrics::thresholds::ThresholdSpec::new(
        "http_req_duration",
        "p(95)<500",
    )];
    let mut run = LiveRun::new(
        "hour",
        Some("hour.js".into()),
        Arc::new(Registry::new()),
        specs,
        Duration::from_secs(1),
    );
    let tags: Vec<TagSet> = (0..20)
        .map(|e| {
            TagSet::from_pairs([
                ("name", format!("endpoint_{e:02}").as_str()),
                ("method", "GET"),
                ("status", "200"),
            ])
        })
        .collect();
    let mut sink = Sink::new();
    let mut snaps = Vec::with_capacity(HOUR as usize);
    for s in 0..HOUR {
        let at = t0 + s * SEC;
        for (e, t) in tags.iter().enumerate() {
            for k in 0..3u64 {
                let ms = 5.0 + ((s * 7 + e as u64 * 13 + k * 29) % 400) as f64;
                sink.add(Builtin::HttpReqs.metric(), t, 1.0, at + k);
                sink.add(Builtin::HttpReqDuration.metric(), t, ms, at + k);
                sink.add(Builtin::HttpReqFailed.metric(), t, 0.0, at + k);
            }
        }
        sink.add(Builtin::Vus.metric(), &TagSet::empty(), 50.0, at);
        snaps.push(sink.take(at, at + SEC));
    }
    run.extend(&snaps);
    let engine_thresholds = stampede_metrics::thresholds::Thresholds::new(vec![]).unwrap();
    run.finish(RunStatus::Passed, 0, None, &engine_thresholds);
    let addr = serve_finished(run).await;

    let browser = Browser::launch().await;
    let page = browser.page().await;
    page.viewport(1280, 900, false).await;
    page.goto(&format!("http://{addr}/?run=hour")).await;
    let last = page
        .wait_for(
            &format!("{MARKS}.length === {HOUR} && {MARKS}[{HOUR} - 1].startTime"),
            Duration::from_secs(60),
        )
        .await;
    page.wait_for(
        "document.querySelectorAll('#endpoints tbody tr').length === 20",
        WAIT,
    )
    .await;
    let status = page
        .eval("document.getElementById('run-status').dataset.status")
        .await;
    assert_eq!(status, "passed");
    println!(
        "one-hour run, 20 endpoints ({HOUR} points): page loaded and drawn {:.0} ms after navigation (goal: ≤ 1000 ms)",
        last.as_f64().unwrap_or(f64::NAN)
    );
}
