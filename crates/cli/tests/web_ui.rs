//! The web UI of `stampede server` in a real headless Chromium, against a
//! real server (SQLite in a temp dir) and the demo target, all on
//! loopback: an unauthenticated page redirects to the login page, a wrong
//! password shows the error, login lands on the home page; a scenario is
//! created in the editor from a template, a script that does not compile
//! shows the server's 422 at its line; the scenario is started with
//! overrides, the live run view draws intervals and fills its tables, the
//! stop button ends the run, the CSV export downloads; a second run is
//! compared with the first (charts, table, verdict); the home and workers
//! pages show the runs and the server; a pipeline started from its YAML
//! shows an invalid file's problems with their lines, then runs its stages
//! to a verdict with run links, decision and reports; a viewer (after logging out) sees
//! no edit button and is refused by the API; the pages fit a phone's width;
//! and the browser logged no error and no CSP violation.
//!
//! Also: the baseline mark, the admin, alerts and schedules pages (and a
//! viewer's read-only view of them), changing the VUs of an
//! externally-controlled run, and a dropped WebSocket resumed with no gap
//! in the chart data; the home page's live run card and firing alert, the
//! JSON/HTML/PDF exports, three runs on one comparison, a scenario's
//! version diff, and every page's accessible names, skip link and contrast. Printed, not asserted: the time from an interval's
//! close to its drawing (p95) and, with `STAMPEDE_UI_GOALS=1`, the load
//! time of a seeded 1-hour, 20-endpoint run's page.
//!
//! Screenshots go to `docs/screenshots/` with `STAMPEDE_SCREENSHOTS=docs`,
//! else to a temporary folder.

#[path = "common/browser.rs"]
mod browser;
#[path = "web_ui/extras.rs"]
mod extras;
#[path = "server/harness.rs"]
mod harness;
#[path = "web_ui/live.rs"]
mod live;
#[path = "web_ui/pages.rs"]
mod pages;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser::{Browser, Page};
use extras::{
    abort, accessible, compare_many, exports, home_live, quotas, search_by_name, six_templates,
    theme_toggle, version_diff, workers_live,
};
use harness::{call, login, wait_final, ServerProc, ADMIN_PASSWORD};
use live::{change_vus, long_run_loads, reconnect};
use pages::{admin_page, alerts_page, baseline, schedules_page, viewer_pages};
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

/// The pipeline the browser starts: two short stages of the stored scenario.
const PIPELINE: &str = "name: ui-short
stages:
  smoke:
    script: smoke.js
    options: { vus: 1, iterations: 2 }
  load:
    script: smoke.js
    needs: [smoke]
    options: { vus: 2, iterations: 4 }
";

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
    accessible(&page, "/login").await;
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
    // The workers override reaches the server: past its limit, its reason,
    // the form kept.
    set_value(&page, "workers", "65").await;
    page.click("#start-run").await;
    page.wait_for(
        "!document.getElementById('start-error').hidden \
         && document.getElementById('start-error').textContent.includes('`workers` must be between 1 and 64, not 65') \
         && document.getElementById('vus').value === '2' && !document.getElementById('start-run').disabled",
        WAIT,
    )
    .await;
    set_value(&page, "workers", "1").await;
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
    home_live(&page, &base, run).await;

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
    exports(&page).await;

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
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&admin),
        Some(json!({"duration": "5m", "vus": 1, "env": {"BASE": target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let third = v["run_id"].as_i64().unwrap();
    abort(&page, &base, third).await;
    wait_final(&addr, &admin, third);
    compare_many(&page, &base, &dir, run, second, third).await;

    baseline(&page, &base, &dir, run, second).await;
    admin_page(&page, &base, &addr, &dir).await;
    quotas(&page, &base, &addr, &admin).await;
    alerts_page(&page, &base, &dir).await;
    schedules_page(&page, &base, &dir).await;

    // Home: the recent runs with their verdicts; the workers page.
    page.goto(&format!("{base}/")).await;
    page.wait_for(
        "document.querySelectorAll('#recent tbody tr').length === 3",
        WAIT,
    )
    .await;
    shots(&page, &dir, "home").await;
    theme_toggle(&page, &base).await;
    workers_live(&page, &base).await;
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
    version_diff(&page, &base, scenario).await;
    search_by_name(&page, &base).await;

    change_vus(&page, &base, &addr, &admin, &target.url()).await;
    // Pipelines: an invalid file shows each problem with its line; a valid
    // one runs its stages (stored scenarios), links each stage's run, and
    // ends with its verdict, decision and reports.
    page.goto(&format!("{base}/pipelines")).await;
    page.wait_for("!document.getElementById('start-panel').hidden", WAIT)
        .await;
    set_value(
        &page,
        "yaml",
        "stages:\n  smoke:\n    script: smoke.js\n    needs: [nope]\n",
    )
    .await;
    set_value(&page, "scenarios", &format!("smoke.js={scenario}")).await;
    page.click("#start-button").await;
    page.wait_for(
        "!document.getElementById('problems').hidden \
         && document.getElementById('problem-list').textContent.includes('line 4')",
        WAIT,
    )
    .await;
    set_value(&page, "yaml", PIPELINE).await;
    set_value(&page, "env", &format!("BASE={}", target.url())).await;
    page.click("#start-button").await;
    page.wait_for(
        "location.pathname.match(/^\\/pipelines\\/(\\d+)$/)?.[1]",
        WAIT,
    )
    .await;
    page.wait_for(
        "document.querySelector('#status .badge')?.textContent === 'passed' \
         && document.querySelectorAll('#stages tbody tr[data-state=\"passed\"]').length === 2 \
         && !document.getElementById('reports').hidden",
        WAIT,
    )
    .await;
    let link = page
        .eval("document.querySelector('#stages tr[data-stage=\"load\"] a')?.getAttribute('href')")
        .await;
    assert!(link.as_str().unwrap_or("").starts_with("/runs/"), "{link}");
    let decisions = page
        .eval("document.getElementById('decisions').textContent")
        .await;
    assert!(
        decisions.as_str().unwrap().contains("Deploy"),
        "{decisions}"
    );
    shots(&page, &dir, "pipeline").await;
    page.goto(&format!("{base}/pipelines")).await;
    page.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 1",
        WAIT,
    )
    .await;

    // Phone width: no page scrolls sideways.
    page.viewport(390, 844, true).await;
    for p in [
        "/".to_string(),
        format!("/runs/{run}"),
        format!("/scenarios/{scenario}"),
        "/admin".to_string(),
        "/alerts".to_string(),
        "/schedules".to_string(),
        "/pipelines".to_string(),
        "/scenarios".to_string(),
        "/scenarios/new".to_string(),
        "/workers".to_string(),
        format!("/compare?a={run}&b={second}"),
    ] {
        page.goto(&format!("{base}{p}")).await;
        page.wait_for("document.getElementById('user')", WAIT).await;
        fits(&page, &p).await;
        accessible(&page, &p).await;
    }
    page.screenshot(&dir.join("run-view-server-light-phone.png"))
        .await;
    page.viewport(1280, 900, false).await;
    six_templates(&page, &base).await;

    // Slow in a debug build (minutes): asked for with STAMPEDE_UI_GOALS=1.
    if std::env::var("STAMPEDE_UI_GOALS").as_deref() == Ok("1") {
        long_run_loads(&page, &base, data.path(), scenario).await;
    }

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
