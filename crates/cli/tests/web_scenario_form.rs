//! The declarative scenario form of the server's editor (issue 19) in a
//! real headless Chromium, against a real server (SQLite in a temp dir)
//! and the demo target, on loopback: the form writes the YAML as it is
//! filled; a value the server refuses is shown at its YAML line and its
//! field; YAML edited by hand goes back into the form; the scenario is
//! saved as `declarative`, started from the page, and completes with
//! exactly the requests the form asked for; a viewer sees the form
//! disabled; the browser logged no error and no CSP violation.

#[path = "common/browser.rs"]
mod browser;
#[path = "server/harness.rs"]
mod harness;

use std::time::Duration;

use browser::{Browser, Page};
use harness::{call, login, wait_final, ServerProc, ADMIN_PASSWORD};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// JSON string literal of `s`, for expressions.
fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Sets the value of the element `selector` finds, as typing would.
async fn set(page: &Page<'_>, selector: &str, value: &str) {
    let done = page
        .eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.value = {}; \
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); \
             e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()",
            js(selector),
            js(value)
        ))
        .await;
    assert_eq!(done, json!(true), "no element {selector}");
}

async fn text(page: &Page<'_>, expr: &str) -> String {
    page.eval(expr)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declarative_scenario_built_with_the_form() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let (addr, base) = (server.addr.clone(), server.url());
    let admin = login(&addr, "admin", ADMIN_PASSWORD);

    let browser = Browser::launch().await;
    let page = browser.page().await;
    page.goto(&format!("{base}/login")).await;
    set(&page, "#username", "admin").await;
    set(&page, "#password", ADMIN_PASSWORD).await;
    page.click("#submit").await;
    page.wait_for("location.pathname === '/'", WAIT).await;

    // The form starts from a small scenario and writes its YAML.
    page.goto(&format!("{base}/scenarios/new")).await;
    page.wait_for(
        "document.getElementById('code').value.includes('export const options')",
        WAIT,
    )
    .await;
    set(&page, "#kind", "declarative").await;
    page.wait_for(
        "!document.getElementById('form-panel').hidden \
         && document.getElementById('code').value.includes('executor: shared-iterations')",
        WAIT,
    )
    .await;
    set(&page, "#name", "form built").await;
    set(&page, "[data-f=base_url]", &target.url()).await;
    set(&page, "[data-f=vus]", "3").await;
    set(&page, "[data-f=iterations]", "24").await;
    set(&page, ".request [data-f=url]", "/get?who={{vu}}").await;
    set(
        &page,
        ".request [data-f=check]",
        "status: 200\njson.args.who: exists",
    )
    .await;
    page.click("#add-request").await;
    set(&page, ".request:nth-child(2) [data-f=name]", "post").await;
    set(&page, ".request:nth-child(2) [data-f=method]", "POST").await;
    set(&page, ".request:nth-child(2) [data-f=url]", "/post").await;
    set(&page, ".request:nth-child(2) [data-f=body_kind]", "json").await;
    set(
        &page,
        ".request:nth-child(2) [data-f=body]",
        "{\"count\": 1}",
    )
    .await;
    set(&page, ".request:nth-child(2) [data-f=check]", "status: 200").await;
    set(
        &page,
        "#f-thresholds",
        "http_reqs: count==48\nchecks: rate==1\nhttp_reqs{name:post}: count==24",
    )
    .await;
    let yaml = text(&page, "document.getElementById('code').value").await;
    for want in [
        "vus: 3",
        "iterations: 24",
        "GET: \"/get?who={{vu}}\"",
        "POST: /post",
        "json.args.who: exists",
        "count: 1",
        "\"http_reqs{name:post}\": [\"count==24\"]",
    ] {
        assert!(yaml.contains(want), "{want} not in:\n{yaml}");
    }

    // A value the server refuses: its line is marked, and its field.
    set(&page, ".request [data-f=url]", "/get?who={{nobody}}").await;
    page.click("#save").await;
    page.wait_for(
        "!document.getElementById('save-error').hidden \
         && document.querySelector('.request [data-f=url]').getAttribute('aria-invalid') === 'true'",
        WAIT,
    )
    .await;
    let message = text(&page, "document.getElementById('save-error').textContent").await;
    assert!(
        message.contains("scenario.yaml:") && message.contains("nobody"),
        "{message}"
    );
    let marked = text(
        &page,
        "document.querySelector('#editor pre .line.err')?.textContent",
    )
    .await;
    assert!(marked.contains("{{nobody}}"), "marked line: {marked:?}");
    let (_, list) = call(&addr, "GET", "/api/v1/scenarios", Some(&admin), None);
    assert_eq!(list["total"], 0, "nothing saved: {list}");
    set(&page, ".request [data-f=url]", "/get?who={{vu}}").await;

    // YAML edited by hand goes back into the form.
    let yaml = text(&page, "document.getElementById('code').value").await;
    set(&page, "#code", &yaml.replace("vus: 3", "vus: 4")).await;
    page.click("#from-yaml").await;
    page.wait_for("document.querySelector('[data-f=vus]').value === '4'", WAIT)
        .await;
    assert_eq!(
        page.eval("document.querySelectorAll('.request').length")
            .await,
        json!(2)
    );

    // Saved as a declarative scenario, started, completed exactly.
    page.click("#save").await;
    let id = page
        .wait_for(
            "location.pathname.match(/^\\/scenarios\\/(\\d+)$/)?.[1]",
            WAIT,
        )
        .await;
    let id: i64 = id.as_str().unwrap().parse().unwrap();
    let (_, s) = call(
        &addr,
        "GET",
        &format!("/api/v1/scenarios/{id}"),
        Some(&admin),
        None,
    );
    assert_eq!(s["content"]["kind"], "declarative", "{s}");
    assert_eq!(s["content"]["entry"], "scenario.yaml", "{s}");
    page.wait_for(
        "!document.getElementById('start-panel').hidden \
         && !document.getElementById('form-panel').hidden \
         && document.querySelector('[data-f=vus]')?.value === '4'",
        WAIT,
    )
    .await;
    page.click("#start-run").await;
    let run = page
        .wait_for("location.pathname.match(/^\\/runs\\/(\\d+)$/)?.[1]", WAIT)
        .await;
    let run: i64 = run.as_str().unwrap().parse().unwrap();
    let r = wait_final(&addr, &admin, run);
    assert_eq!(r["status"], "passed", "{r}");
    let m = &r["summary"]["metrics"];
    assert_eq!(m["http_reqs"]["count"], 48, "{m}");
    assert_eq!(m["iterations"]["count"], 24, "{m}");
    assert_eq!(m["checks"]["fails"], 0, "{m}");

    // A viewer reads the form but cannot change it.
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "vic", "password": "viewer-password-1", "role": "viewer"})),
    );
    assert_eq!(s, 201, "{v}");
    page.eval("fetch('/api/v1/auth/logout', {method: 'POST'}).then(r => r.status)")
        .await;
    page.goto(&format!("{base}/login")).await;
    set(&page, "#username", "vic").await;
    set(&page, "#password", "viewer-password-1").await;
    page.click("#submit").await;
    page.wait_for("location.pathname === '/'", WAIT).await;
    page.goto(&format!("{base}/scenarios/{id}")).await;
    page.wait_for(
        "document.querySelector('[data-f=vus]')?.value === '4' \
         && [...document.querySelectorAll('#form-panel input, #form-panel select, #form-panel textarea, #form-panel button')].every(e => e.disabled)",
        WAIT,
    )
    .await;

    let problems: Vec<String> = browser
        .problems
        .lock()
        .unwrap()
        .iter()
        // The refused save is logged by the browser as a failed load.
        .filter(|p| !(p.starts_with("\"network\"") && p.contains("422")))
        .cloned()
        .collect();
    assert!(
        problems.is_empty(),
        "console errors or CSP violations: {problems:#?}"
    );
    page.close().await;
}
