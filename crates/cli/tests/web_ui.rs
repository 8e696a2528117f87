//! The web UI of `stampede server` in a real headless Chromium, against a
//! real server (SQLite in a temp dir) and the demo target, all on
//! loopback: an unauthenticated page redirects to the login page, a wrong
//! password shows the error, login lands on the home page; a scenario is
//! created in the editor from a template, a script that does not compile
//! shows the server's 422 at its line; the scenario is started with
//! overrides, the live run view draws intervals and fills its tables, the
//! stop button ends the run, the CSV export downloads; a second run is
//! compared with the first (charts, table, verdict); the home and workers
//! pages show the runs and the server; a viewer (after logging out) sees
//! no edit button and is refused by the API; the pages fit a phone's width;
//! and the browser logged no error and no CSP violation.
//!
//! Screenshots go to `docs/screenshots/` with `STAMPEDE_SCREENSHOTS=docs`,
//! else to a temporary folder.

#[path = "common/browser.rs"]
mod browser;
#[path = "server/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser::{Browser, Page};
use harness::{call, login, wait_final, ServerProc, ADMIN_PASSWORD};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// A script whose third line does not parse.
const BROKEN: &str = "import http from 'k6/http';\nexport default function () {\n  http.get(;\n}\n";

/// The run the browser starts: long enough to watch, stopped by the test.
const SCRIPT: &str = r#"import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { thresholds: { http_req_failed: ['rate<0.5'], http_req_duration: ['p(95)<5000'] } };
export default function () {
  const r = http.get(`${__ENV.BASE}/get`, { tags: { endpoint: 'get' } });
  check(r, { 'status is 200': (x) => x.status === 200 });
  sleep(0.1);
}
"#;

fn screenshot_dir(tmp: &Path) -> PathBuf {
    match std::env::var("STAMPEDE_SCREENSHOTS").as_deref() {
        Ok("docs") => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots"),
        _ => tmp.join("screenshots"),
    }
}

/// Desktop and phone screenshots of the page now, light and dark.
async fn shots(page: &Page<'_>, dir: &Path, name: &str) {
    for dark in [false, true] {
        page.color_scheme(dark).await;
        page.eval(&format!(
            "document.documentElement.dataset.theme = '{}'",
            if dark { "dark" } else { "light" }
        ))
        .await;
        page.screenshot(&dir.join(format!(
            "{name}-{}-desktop.png",
            if dark { "dark" } else { "light" }
        )))
        .await;
    }
    page.eval("document.documentElement.dataset.theme = 'light'")
        .await;
}

/// JSON string literal of `s`, for expressions.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

async fn set_value(page: &Page<'_>, id: &str, value: &str) {
    page.eval(&format!(
        "(() => {{ const e = document.getElementById({}); e.value = {}; \
         e.dispatchEvent(new Event('input', {{ bubbles: true }})); \
         e.dispatchEvent(new Event('change', {{ bubbles: true }})); }})()",
        js(id),
        js(value)
    ))
    .await;
}

async fn path(page: &Page<'_>) -> String {
    page.eval("location.pathname + location.search")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// No horizontal scrolling at the current width.
async fn fits(page: &Page<'_>, what: &str) {
    let over = page
        .eval("document.documentElement.scrollWidth - window.innerWidth")
        .await;
    assert!(
        over.as_f64().unwrap_or(0.0) <= 1.0,
        "{what} overflows a phone's width by {over}px"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_ui_in_chromium() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let (addr, base) = (server.addr.clone(), server.url());
    let dir = screenshot_dir(data.path());
    std::fs::create_dir_all(&dir).unwrap();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "vera", "password": "viewer-password-1", "role": "viewer"})),
    );
    assert_eq!(s, 201, "{v}");

    // A rule that fires as soon as a run has traffic: the alerts page has
    // something to acknowledge.
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&admin),
        Some(
            json!({"name": "any latency", "metric": "http_req_duration", "stat": "avg",
                    "op": ">", "threshold": 0, "for": "0s", "lookback": "1s", "severity": "info"}),
        ),
    );
    assert_eq!(s, 201, "{v}");

    let browser = Browser::launch().await;
    let page = browser.page().await;
    // Every page's WebSockets, kept where the test can close one; while
    // `__blockWs` is set, new ones go to an address that refuses them.
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "(() => { const W = window.WebSocket; window.__sockets = []; \
            window.WebSocket = class extends W { constructor(url, ...rest) { \
            super(window.__blockWs ? String(url).replace('/api/v1/ws', '/api/v1/ws-blocked') : url, ...rest); \
            window.__sockets.push(this); } }; })()"}),
    )
    .await;

    // No session: every page redirects to the login page, which comes back.
    page.goto(&format!("{base}/scenarios")).await;
    assert_eq!(path(&page).await, "/login?next=%2Fscenarios");
    shots(&page, &dir, "login").await;
    set_value(&page, "username", "admin").await;
    set_value(&page, "password", "not-the-password").await;
    page.click("#submit").await;
    page.wait_for(
        "!document.getElementById('login-error').hidden && document.getElementById('login-error').textContent.includes('Wrong')",
        WAIT,
    )
    .await;
    set_value(&page, "password", ADMIN_PASSWORD).await;
    page.click("#submit").await;
    page.wait_for(
        "location.pathname === '/scenarios' && document.getElementById('user')?.textContent === 'admin · admin'",
        WAIT,
    )
    .await;

    // A new scenario from a template; a broken script is a 422 at its line.
    page.goto(&format!("{base}/scenarios/new")).await;
    page.wait_for(
        "document.getElementById('code').value.includes('export const options')",
        WAIT,
    )
    .await;
    set_value(&page, "template", "spike").await;
    assert!(page
        .eval("document.getElementById('code').value.includes('Spike test')")
        .await
        .as_bool()
        .unwrap());
    page.wait_for(
        "document.querySelectorAll('#editor pre .tk-kw').length > 3",
        WAIT,
    )
    .await;
    set_value(&page, "name", "checkout flow").await;
    set_value(&page, "tags", "smoke, shop").await;
    set_value(&page, "code", BROKEN).await;
    page.click("#save").await;
    let line = page
        .wait_for(
            "!document.getElementById('save-error').hidden && document.getElementById('save-error').dataset.line",
            WAIT,
        )
        .await;
    let message = page
        .eval("document.getElementById('save-error').textContent")
        .await;
    assert_eq!(line, json!("3"), "{message}");
    assert_eq!(
        page.eval("document.querySelector('#editor pre .line.err .ln').textContent")
            .await,
        json!("3")
    );
    shots(&page, &dir, "scenario-error").await;
    set_value(&page, "code", SCRIPT).await;
    page.click("#save").await;
    let scenario = page
        .wait_for(
            "location.pathname.match(/^\\/scenarios\\/(\\d+)$/)?.[1]",
            WAIT,
        )
        .await;
    let scenario: i64 = scenario.as_str().unwrap().parse().unwrap();
    page.wait_for("!document.getElementById('start-panel').hidden", WAIT)
        .await;

    // Start with overrides; the live run view draws it.
    set_value(&page, "vus", "2").await;
    set_value(&page, "duration", "5m").await;
    set_value(&page, "env", &format!("BASE={}", target.url())).await;
    page.click("#start-run").await;
    let run = page
        .wait_for("location.pathname.match(/^\\/runs\\/(\\d+)$/)?.[1]", WAIT)
        .await;
    let run: i64 = run.as_str().unwrap().parse().unwrap();
    page.wait_for(
        "performance.getEntriesByName('stampede:interval-drawn').length >= 3 \
         && document.getElementById('run-status').textContent === 'running' \
         && document.querySelectorAll('#endpoints tbody tr').length >= 1 \
         && document.querySelectorAll('#checks tbody tr').length === 1 \
         && document.querySelectorAll('#thresholds tbody tr').length === 2 \
         && document.querySelector('#scenarios li .name')?.firstChild?.textContent === 'default' \
         && !document.getElementById('abort').hidden \
         && document.getElementById('conn').dataset.state === 'live'",
        WAIT,
    )
    .await;
    let live = page
        .eval("performance.getEntriesByName('stampede:interval-drawn').filter(m => m.detail.live).length")
        .await;
    page.wait_for(
        &format!(
            "performance.getEntriesByName('stampede:interval-drawn').filter(m => m.detail.live).length > {live}"
        ),
        WAIT,
    )
    .await;
    shots(&page, &dir, "run-live").await;
    reconnect(&page, run).await;

    // Stop: the run ends (k6's 103, shown as aborted) and the view says so.
    page.click("#stop").await;
    page.wait_for(
        "['aborted', 'passed', 'failed'].includes(document.getElementById('run-status').textContent) \
         && document.getElementById('conn').dataset.state === 'ended'",
        WAIT,
    )
    .await;
    let csv = page
        .eval(
            "fetch(document.getElementById('export-csv').href).then(async r => \
             [r.status, r.headers.get('content-disposition'), await r.text()])",
        )
        .await;
    assert_eq!(csv[0], json!(200), "{csv}");
    assert!(csv[1].as_str().unwrap().contains(".csv"), "{csv}");
    let lines = csv[2].as_str().unwrap().lines().count();
    assert!(lines >= 3, "the CSV has a header and the intervals: {csv}");

    // A second run, compared with the first.
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&admin),
        Some(json!({"iterations": 20, "vus": 2, "env": {"BASE": target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let second = v["run_id"].as_i64().unwrap();
    wait_final(&addr, &admin, second);
    page.goto(&format!("{base}/runs/{second}")).await;
    page.wait_for(
        &format!("document.querySelector('#compare-with option[value=\"{run}\"]')"),
        WAIT,
    )
    .await;
    page.eval(&format!(
        "document.getElementById('compare-with').value = '{run}'"
    ))
    .await;
    page.click("#compare button").await;
    page.wait_for(
        "location.pathname === '/compare' && document.getElementById('verdict').textContent \
         && document.querySelectorAll('#rows tbody tr').length > 0 \
         && document.querySelectorAll('.charts canvas').length >= 4",
        WAIT,
    )
    .await;
    assert_eq!(path(&page).await, format!("/compare?a={run}&b={second}"));
    shots(&page, &dir, "compare").await;

    baseline(&page, &base, &dir, run, second).await;
    admin_page(&page, &base, &addr, &dir).await;
    alerts_page(&page, &base, &dir).await;
    schedules_page(&page, &base, &dir).await;

    // Home: the recent runs with their verdicts; the workers page.
    page.goto(&format!("{base}/")).await;
    page.wait_for(
        "document.querySelectorAll('#recent tbody tr').length === 2",
        WAIT,
    )
    .await;
    shots(&page, &dir, "home").await;
    page.goto(&format!("{base}/workers")).await;
    page.wait_for(
        "document.querySelectorAll('#workers tbody tr').length >= 1",
        WAIT,
    )
    .await;
    page.goto(&format!("{base}/scenarios?tag=shop")).await;
    page.wait_for(
        &format!(
            "document.querySelectorAll('#list tbody tr').length === 1 \
             && document.querySelector('#list tbody td.baseline a')?.textContent === '#{run}'"
        ),
        WAIT,
    )
    .await;
    shots(&page, &dir, "scenarios").await;

    change_vus(&page, &base, &addr, &admin, &target.url()).await;

    // Phone width: no page scrolls sideways.
    page.viewport(390, 844, true).await;
    for p in [
        "/".to_string(),
        format!("/runs/{run}"),
        format!("/scenarios/{scenario}"),
        "/admin".to_string(),
        "/alerts".to_string(),
        "/schedules".to_string(),
    ] {
        page.goto(&format!("{base}{p}")).await;
        page.wait_for("document.getElementById('user')", WAIT).await;
        fits(&page, &p).await;
    }
    page.screenshot(&dir.join("run-view-server-light-phone.png"))
        .await;
    page.viewport(1280, 900, false).await;

    // Log out; a viewer sees no edit buttons and the API refuses them.
    page.goto(&format!("{base}/")).await;
    page.wait_for("document.getElementById('logout')", WAIT)
        .await;
    page.click("#logout").await;
    page.wait_for("location.pathname === '/login'", WAIT).await;
    page.goto(&format!("{base}/")).await;
    assert_eq!(path(&page).await, "/login?next=%2F");
    set_value(&page, "username", "vera").await;
    set_value(&page, "password", "viewer-password-1").await;
    page.click("#submit").await;
    page.wait_for("location.pathname === '/'", WAIT).await;
    page.goto(&format!("{base}/scenarios/{scenario}")).await;
    page.wait_for(
        "document.getElementById('user')?.textContent === 'vera · viewer' \
         && document.getElementById('name').value === 'checkout flow'",
        WAIT,
    )
    .await;
    let hidden = page
        .eval("[document.getElementById('save').hidden, document.getElementById('start').hidden, document.getElementById('code').readOnly]")
        .await;
    assert_eq!(hidden, json!([true, true, true]));
    let refused = page
        .eval(&format!(
            "fetch('/api/v1/scenarios/{scenario}/start', {{method: 'POST', headers: {{'content-type': 'application/json'}}, body: '{{}}'}}).then(r => r.status)"
        ))
        .await;
    assert_eq!(refused, json!(403));
    viewer_pages(&page, &base).await;

    let problems: Vec<String> = browser
        .problems
        .lock()
        .unwrap()
        .iter()
        // The wrong password (401), the broken script (422) and the viewer's
        // refused start (403) are logged by the browser as failed loads.
        .filter(|p| {
            !(p.starts_with("\"network\"")
                && (p.contains("401") || p.contains("422") || p.contains("403")))
                // The sockets the test refused on purpose.
                && !p.contains("ws-blocked")
        })
        .cloned()
        .collect();
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    println!("screenshots in {}", dir.display());
    page.close().await;
}

/// Screenshots of the page now at a phone's width, light and dark.
async fn phone_shots(page: &Page<'_>, dir: &Path, name: &str) {
    page.viewport(390, 844, true).await;
    for dark in [false, true] {
        let theme = if dark { "dark" } else { "light" };
        page.color_scheme(dark).await;
        page.eval(&format!(
            "document.documentElement.dataset.theme = '{theme}'"
        ))
        .await;
        page.screenshot(&dir.join(format!("{name}-{theme}-phone.png")))
            .await;
    }
    page.eval("document.documentElement.dataset.theme = 'light'")
        .await;
    page.color_scheme(false).await;
    page.viewport(1280, 900, false).await;
}

/// Every screenshot of a new page: desktop and phone, light and dark.
async fn all_shots(page: &Page<'_>, dir: &Path, name: &str) {
    shots(page, dir, name).await;
    phone_shots(page, dir, name).await;
}

/// The first run is marked as its scenario's baseline from its page; the
/// second run's "compare with…" picks it by default.
async fn baseline(page: &Page<'_>, base: &str, dir: &Path, run: i64, second: i64) {
    page.goto(&format!("{base}/runs/{run}")).await;
    page.wait_for(
        "!document.getElementById('baseline-mark').hidden \
         && document.getElementById('baseline-state').dataset.baseline === 'none'",
        WAIT,
    )
    .await;
    page.click("#baseline-mark").await;
    page.wait_for(
        "document.getElementById('baseline-state').dataset.baseline === 'this' \
         && !document.getElementById('baseline-clear').hidden \
         && document.getElementById('baseline-mark').hidden",
        WAIT,
    )
    .await;
    page.goto(&format!("{base}/runs/{second}")).await;
    page.wait_for(
        &format!(
            "document.getElementById('compare-with').value === '{run}' \
             && document.getElementById('baseline-state').dataset.baseline === 'other'"
        ),
        WAIT,
    )
    .await;
    shots(page, dir, "run-baseline").await;
}

/// Users (create, disable, enable, reset a password), API tokens (the
/// secret shown once, then revoked) and the flag-set settings.
async fn admin_page(page: &Page<'_>, base: &str, addr: &str, dir: &Path) {
    page.goto(&format!("{base}/admin")).await;
    page.wait_for(
        "document.querySelectorAll('#users tbody tr').length === 2 \
         && document.querySelectorAll('#settings tbody tr[data-setting]').length >= 5 \
         && document.querySelector('#settings tr[data-setting=allow_targets] .value').textContent !== '' \
         && [...document.querySelectorAll('nav.nav a')].some(a => a.textContent === 'Admin')",
        WAIT,
    )
    .await;
    set_value(page, "nu-name", "eddie").await;
    set_value(page, "nu-password", "editor-password-1").await;
    set_value(page, "nu-role", "editor").await;
    page.click("#new-user button[type=submit]").await;
    page.wait_for(
        "document.querySelector('#users tr[data-user=eddie] select.role')?.value === 'editor' \
         && document.getElementById('nu-password').value === ''",
        WAIT,
    )
    .await;
    // Disable, then enable again.
    page.click("#users tr[data-user=eddie] .toggle").await;
    page.wait_for(
        "document.querySelector('#users tr[data-user=eddie] .state').textContent.startsWith('disabled')",
        WAIT,
    )
    .await;
    let (s, _) = call(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "eddie", "password": "editor-password-1"})),
    );
    assert_eq!(s, 401, "a disabled user cannot log in");
    page.click("#users tr[data-user=eddie] .toggle").await;
    page.wait_for(
        "document.querySelector('#users tr[data-user=eddie] .state').textContent === 'active'",
        WAIT,
    )
    .await;
    // Change the role, then reset the password.
    page.eval("document.querySelector('#users tr[data-user=eddie] select.role').value = 'viewer'")
        .await;
    page.click("#users tr[data-user=eddie] .save-role").await;
    page.wait_for(
        "document.getElementById('status').textContent === 'eddie is now viewer'",
        WAIT,
    )
    .await;
    page.eval(
        "(() => { const s = document.getElementById('rs-user'); \
         s.value = [...s.options].find(o => o.textContent === 'eddie').value; })()",
    )
    .await;
    set_value(page, "rs-password", "a-new-password-2").await;
    page.click("#reset button[type=submit]").await;
    page.wait_for(
        "document.getElementById('status').textContent === 'password of eddie reset' \
         && document.getElementById('rs-password').value === ''",
        WAIT,
    )
    .await;
    let eddie = login(addr, "eddie", "a-new-password-2");
    let (_, me) = call(addr, "GET", "/api/v1/auth/me", Some(&eddie), None);
    assert_eq!(me["role"], "viewer", "{me}");
    // A token: its secret shown once, listed without it, then revoked.
    set_value(page, "tk-name", "ci pipeline").await;
    page.click("#new-token button[type=submit]").await;
    let secret = page
        .wait_for(
            "!document.getElementById('secret-box').hidden \
             && document.querySelector('#tokens tr[data-token=\"ci pipeline\"]') \
             && document.getElementById('token-secret').textContent",
            WAIT,
        )
        .await;
    let secret = secret.as_str().unwrap().to_string();
    assert!(secret.starts_with("stp_"), "{secret}");
    let (s, _) = call(addr, "GET", "/api/v1/auth/me", Some(&secret), None);
    assert_eq!(s, 200, "the token shown works");
    all_shots(page, dir, "admin").await;
    page.goto(&format!("{base}/admin")).await;
    page.wait_for(
        "document.querySelector('#tokens tr[data-token=\"ci pipeline\"] .revoke')",
        WAIT,
    )
    .await;
    let html = page.eval("document.documentElement.outerHTML").await;
    assert!(
        !html.as_str().unwrap().contains(&secret[4..]),
        "the secret is never shown again"
    );
    page.click("#tokens tr[data-token=\"ci pipeline\"] .revoke")
        .await;
    page.wait_for(
        "document.querySelector('#tokens tr[data-token=\"ci pipeline\"] .state').textContent.startsWith('revoked')",
        WAIT,
    )
    .await;
    let (s, _) = call(addr, "GET", "/api/v1/auth/me", Some(&secret), None);
    assert_eq!(s, 401, "a revoked token no longer works");
}

/// Alerts (filtered, acknowledged), a rule created and disabled, a channel
/// whose secret is stored and never shown back.
async fn alerts_page(page: &Page<'_>, base: &str, dir: &Path) {
    page.goto(&format!("{base}/alerts")).await;
    page.wait_for(
        "document.querySelector('#alerts tr[data-alert] .ack-button') \
         && document.querySelectorAll('#rules tbody tr').length >= 6 \
         && !document.querySelector('section.admin-only').hidden",
        WAIT,
    )
    .await;
    page.click("#alerts tr[data-alert] .ack-button").await;
    page.wait_for(
        "document.getElementById('status').textContent.endsWith('acknowledged')",
        WAIT,
    )
    .await;
    set_value(page, "f-ack", "true").await;
    page.click("#filter button[type=submit]").await;
    page.wait_for(
        "document.querySelectorAll('#alerts tbody tr').length === 1 \
         && !document.querySelector('#alerts tbody .ack-button')",
        WAIT,
    )
    .await;
    // A rule from the form; then disabled.
    set_value(page, "r-name", "slow p95").await;
    set_value(page, "r-metric", "http_req_duration").await;
    set_value(page, "r-stat", "p(95)").await;
    set_value(page, "r-threshold", "2000").await;
    set_value(page, "r-for", "5s").await;
    set_value(page, "r-severity", "warning").await;
    page.click("#r-save").await;
    page.wait_for(
        "document.querySelector('#rules tr[data-rule=\"slow p95\"]')?.dataset.enabled === 'true'",
        WAIT,
    )
    .await;
    page.click("#rules tr[data-rule=\"slow p95\"] .toggle")
        .await;
    page.wait_for(
        "document.querySelector('#rules tr[data-rule=\"slow p95\"]')?.dataset.enabled === 'false'",
        WAIT,
    )
    .await;
    // A bad rule: the server's message, nothing lost from the form.
    set_value(page, "r-name", "typo").await;
    set_value(page, "r-metric", "http_req_duraton").await;
    set_value(page, "r-stat", "avg").await;
    set_value(page, "r-threshold", "1").await;
    page.click("#r-save").await;
    page.wait_for(
        "!document.getElementById('error').hidden \
         && document.getElementById('error').textContent.includes('http_req_duraton') \
         && document.getElementById('r-name').value === 'typo'",
        WAIT,
    )
    .await;
    page.click("#r-cancel").await;
    // A channel with a secret: stored, never shown back.
    set_value(page, "c-name", "ops hook").await;
    set_value(page, "c-kind", "webhook").await;
    set_value(page, "c-config", r#"{"url": "http://127.0.0.1:9/hook"}"#).await;
    set_value(page, "c-secret", "s3cret-from-the-browser").await;
    page.click("#c-save").await;
    page.wait_for(
        "document.querySelector('#channels tr[data-channel=\"ops hook\"] .secret-state')?.textContent === 'stored' \
         && document.getElementById('c-secret').value === ''",
        WAIT,
    )
    .await;
    let listed = page
        .eval("fetch('/api/v1/alert-channels').then(r => r.text())")
        .await;
    assert!(!listed.as_str().unwrap().contains("s3cret"), "{listed}");
    all_shots(page, dir, "alerts").await;
}

/// The next fires previewed as the cron is typed (a bad one says why), a
/// schedule created, then disabled.
async fn schedules_page(page: &Page<'_>, base: &str, dir: &Path) {
    page.goto(&format!("{base}/schedules")).await;
    page.wait_for(
        "document.querySelectorAll('#s-scenario option').length === 1 \
         && document.querySelectorAll('#preview li').length === 5 \
         && !document.getElementById('schedules-empty').hidden",
        WAIT,
    )
    .await;
    set_value(page, "s-cron", "61 * * * *").await;
    page.wait_for(
        "!document.getElementById('preview-error').hidden \
         && document.querySelectorAll('#preview li').length === 0",
        WAIT,
    )
    .await;
    set_value(page, "s-cron", "*/15 * * * *").await;
    page.wait_for(
        "document.getElementById('preview-error').hidden \
         && [...document.querySelectorAll('#preview li')].length === 5 \
         && [...document.querySelectorAll('#preview li')].every(li => /T\\d\\d:(00|15|30|45):00Z$/.test(li.textContent))",
        WAIT,
    )
    .await;
    // Created once a year: nothing fires while the test runs.
    set_value(page, "s-cron", "0 3 1 1 *").await;
    set_value(page, "s-name", "yearly").await;
    set_value(page, "s-vus", "1").await;
    set_value(page, "s-duration", "2s").await;
    page.click("#new button[type=submit]").await;
    page.wait_for(
        "document.querySelector('#schedules tr[data-schedule=\"yearly\"]')?.dataset.enabled === 'true' \
         && document.querySelector('#schedules tr[data-schedule=\"yearly\"] .next').textContent.includes(':')",
        WAIT,
    )
    .await;
    all_shots(page, dir, "schedules").await;
    page.click("#schedules tr[data-schedule=\"yearly\"] .toggle")
        .await;
    page.wait_for(
        "document.querySelector('#schedules tr[data-schedule=\"yearly\"]')?.dataset.enabled === 'false' \
         && document.querySelector('#schedules tr[data-schedule=\"yearly\"] .next').textContent === 'disabled'",
        WAIT,
    )
    .await;
}

/// A viewer: no admin link and the admin page refused; alerts and
/// schedules read-only.
async fn viewer_pages(page: &Page<'_>, base: &str) {
    page.goto(&format!("{base}/alerts")).await;
    page.wait_for(
        "document.getElementById('user')?.textContent === 'vera · viewer' \
         && document.querySelectorAll('#rules tbody tr').length >= 6",
        WAIT,
    )
    .await;
    let seen = page
        .eval(
            "[[...document.querySelectorAll('nav.nav a')].some(a => a.textContent === 'Admin'), \
              !!document.querySelector('#alerts .ack-button, #rules button'), \
              document.getElementById('rule').hidden, \
              document.querySelector('section.admin-only').hidden]",
        )
        .await;
    assert_eq!(seen, json!([false, false, true, true]));
    page.goto(&format!("{base}/schedules")).await;
    page.wait_for(
        "document.querySelectorAll('#schedules tbody tr').length === 1",
        WAIT,
    )
    .await;
    let seen = page
        .eval("[!!document.querySelector('#schedules button'), document.querySelector('section.editor-only').hidden]")
        .await;
    assert_eq!(seen, json!([false, true]));
    let refused = page.eval("fetch('/admin').then(r => r.status)").await;
    assert_eq!(refused, json!(403));
}

/// An externally-controlled run: its VUs changed from the run view (more
/// than its maxVUs refused with the server's reason), then stopped.
async fn change_vus(page: &Page<'_>, base: &str, addr: &str, admin: &str, target: &str) {
    const EXT: &str = "import http from 'k6/http';\nimport { sleep } from 'k6';\n\
        export const options = { scenarios: { ext: { executor: 'externally-controlled', vus: 1, maxVUs: 5, duration: '5m' } } };\n\
        export default function () { http.get(`${__ENV.BASE}/get`); sleep(0.2); }\n";
    let (s, v) = call(
        addr,
        "POST",
        "/api/v1/scenarios",
        Some(admin),
        Some(json!({"name": "steered", "script": EXT})),
    );
    assert_eq!(s, 201, "{v}");
    let scenario = v["id"].as_i64().unwrap();
    let (s, v) = call(
        addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(admin),
        Some(json!({"env": {"BASE": target}})),
    );
    assert_eq!(s, 202, "{v}");
    let run = v["run_id"].as_i64().unwrap();
    page.goto(&format!("{base}/runs/{run}")).await;
    page.wait_for(
        "!document.getElementById('scale').hidden \
         && document.querySelector('#scenarios li .figures')?.textContent.includes('1/5 VUs')",
        WAIT,
    )
    .await;
    set_value(page, "scale-vus", "3").await;
    page.click("#scale button[type=submit]").await;
    page.wait_for(
        "document.getElementById('scale-state').textContent === 'VUs set to 3' \
         && document.querySelector('#scenarios li .figures').textContent.includes('3/5 VUs')",
        WAIT,
    )
    .await;
    set_value(page, "scale-vus", "9").await;
    // Past the input's max: the browser's own check refuses it first.
    page.eval(
        "document.getElementById('scale-vus').removeAttribute('max'); \
         document.querySelector('#scale button[type=submit]').click()",
    )
    .await;
    page.wait_for(
        "document.getElementById('scale-state').textContent.includes('maxVUs')",
        WAIT,
    )
    .await;
    let (s, v) = call(
        addr,
        "POST",
        &format!("/api/v1/runs/{run}/stop"),
        Some(admin),
        Some(json!({})),
    );
    assert!(s < 300, "{s} {v}");
    wait_final(addr, admin, run);
    page.wait_for("document.getElementById('scale').hidden", WAIT)
        .await;
}

/// The live socket drops and cannot come back for a while (the server
/// goes on closing intervals): the page reconnects by itself, fetches the
/// intervals it missed, and its charts hold exactly the server's points,
/// with no gap. Then the time from an interval's close on the server to
/// its drawing is printed (a goal, not asserted: timings belong to bench).
async fn reconnect(page: &Page<'_>, run: i64) {
    let before = page
        .eval("window.stampedeCharts.length")
        .await
        .as_u64()
        .unwrap();
    page.eval("window.__blockWs = true; window.__sockets.at(-1).close()")
        .await;
    page.wait_for(
        &format!(
            "fetch('/api/v1/runs/{run}/live').then(r => r.json()).then(s => s.last_seq >= {before} + 2)"
        ),
        WAIT,
    )
    .await;
    let state = page
        .eval("document.getElementById('conn').dataset.state")
        .await;
    assert_ne!(state, json!("live"), "the page noticed the drop");
    page.eval("window.__blockWs = false").await;
    page.wait_for(
        &format!(
            "document.getElementById('conn').dataset.state === 'live' \
             && window.stampedeCharts.length >= {before} + 3"
        ),
        WAIT,
    )
    .await;
    let same = page
        .eval(&format!(
            "fetch('/api/v1/runs/{run}/live/metrics').then(r => r.json()).then(m => {{ \
               const t = window.stampedeCharts.cols.t, s = m.points.map(p => p.t); \
               return [t.length, s.length, t.every((v, i) => v === s[i]), \
                       m.points.every((p, i) => p.seq === i)]; }})"
        ))
        .await;
    let n = same[0].as_u64().unwrap();
    assert!(n >= before + 3 && n <= same[1].as_u64().unwrap(), "{same}");
    assert_eq!(
        (&same[2], &same[3]),
        (&json!(true), &json!(true)),
        "the chart holds the server's intervals, in order, none missing: {same}"
    );
    // Enough live intervals for a p95.
    page.wait_for(
        "performance.getEntriesByName('stampede:interval-drawn').filter(m => m.detail.live).length >= 15",
        WAIT,
    )
    .await;
    let lag = page
        .eval(
            "performance.getEntriesByName('stampede:interval-drawn').filter(m => m.detail.live) \
             .map(m => m.detail.drawn_at_ms - m.detail.closed_at_ms).sort((a, b) => a - b)",
        )
        .await;
    let lag: Vec<f64> = lag
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    if !lag.is_empty() {
        let p95 = lag[((lag.len() as f64 * 0.95).ceil() as usize).clamp(1, lag.len()) - 1];
        println!(
            "goal: a new interval on screen {p95:.0} ms after it closed on the server \
             (p95 of {} live intervals; goal <= 1500 ms)",
            lag.len()
        );
    }
}
