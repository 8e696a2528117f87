//! The browser test's newer server pages: the baseline mark on the run
//! view, the admin page (users, tokens, settings), the alerts page
//! (acknowledge, rules, channels), the schedules page (preview, create,
//! disable) and what a viewer sees of them.

use std::path::Path;

use serde_json::json;

use super::browser::Page;
use super::harness::{call, login};
use super::{all_shots, set_value, shots, WAIT};

/// The first run is marked as its scenario's baseline from its page; the
/// second run's "compare with…" picks it by default.
pub async fn baseline(page: &Page<'_>, base: &str, dir: &Path, run: i64, second: i64) {
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
pub async fn admin_page(page: &Page<'_>, base: &str, addr: &str, dir: &Path) {
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
    super::extras::pick(page, "rs-user", "eddie").await;
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
pub async fn alerts_page(page: &Page<'_>, base: &str, dir: &Path) {
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
pub async fn schedules_page(page: &Page<'_>, base: &str, dir: &Path) {
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
pub async fn viewer_pages(page: &Page<'_>, base: &str) {
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
