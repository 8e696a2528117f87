//! The browser test's checks for the issue-16 items the first pass left
//! untested: the home page's live run card and firing alerts, the run
//! view's JSON/HTML/PDF exports, three runs compared on one page, a
//! scenario's version history with its diff, and each page's
//! accessibility (every control named in the accessibility tree, the skip
//! link first on Tab, the themes' text colours at WCAG AA contrast).

use std::path::Path;

use serde_json::{json, Value};

use super::browser::Page;
use super::{js, set_value, shots, WAIT};

/// Goes to `url` and waits until the new document has replaced the old
/// one (the same address would otherwise pass any wait at once).
async fn open(page: &Page<'_>, url: &str) {
    page.eval("window.__leaving = true").await;
    page.goto(url).await;
    page.wait_for(
        "!window.__leaving && document.readyState === 'complete'",
        WAIT,
    )
    .await;
}

/// Picks the option shown as `text` in the select `id`, as a user would
/// (its change event fires).
pub async fn pick(page: &Page<'_>, id: &str, text: &str) {
    page.eval(&format!(
        "(() => {{ const s = document.getElementById({}); \
         s.value = [...s.options].find(o => o.textContent === {}).value; \
         s.dispatchEvent(new Event('change', {{ bubbles: true }})); }})()",
        js(id),
        js(text)
    ))
    .await;
}

/// Home while `run` goes: its card with a mini-chart that moves, and the
/// alert the test's rule fires for it. Then back to the run's page, live.
pub async fn home_live(page: &Page<'_>, base: &str, run: i64) {
    open(page, &format!("{base}/")).await;
    let card = format!("#running article.run-card[data-run=\"{run}\"]");
    let points = page
        .wait_for(
            &format!(
                "(document.querySelector('{card} .badge')?.textContent === 'running' \
                 && document.querySelector('{card} svg.spark polyline')?.getAttribute('points').split(' ').length >= 2) \
                 && document.querySelector('{card} svg.spark polyline').getAttribute('points')"
            ),
            WAIT,
        )
        .await;
    // The mini-chart is live: a later refresh draws other points.
    page.wait_for(
        &format!(
            "document.querySelector('{card} svg.spark polyline').getAttribute('points') !== {points}"
        ),
        WAIT,
    )
    .await;
    page.wait_for(
        &format!(
            "document.getElementById('alerts-empty').hidden \
             && [...document.querySelectorAll('#active-alerts tbody tr')] \
                .some(tr => tr.querySelector('a')?.getAttribute('href') === '/runs/{run}')"
        ),
        WAIT,
    )
    .await;
    let firing = page
        .eval("fetch('/api/v1/alerts?state=firing&limit=20').then(r => r.json()).then(p => p.items.length)")
        .await;
    let rows = page
        .eval("document.querySelectorAll('#active-alerts tbody tr').length")
        .await;
    assert!(
        rows.as_u64().unwrap() >= 1 && rows.as_u64() <= firing.as_u64(),
        "{rows} rows, {firing} firing"
    );
    open(page, &format!("{base}/runs/{run}")).await;
    page.wait_for(
        "document.getElementById('conn').dataset.state === 'live' \
         && !document.getElementById('stop').disabled",
        WAIT,
    )
    .await;
}

/// The run view's export links besides CSV: the results as JSON, the HTML
/// report and the PDF, each an attachment of its type.
pub async fn exports(page: &Page<'_>) {
    for (id, ext, start) in [
        ("export-json", ".json", "{"),
        ("export", ".html", "<!DOCTYPE html>"),
        ("export-pdf", ".pdf", "%PDF-"),
    ] {
        let got = page
            .eval(&format!(
                "fetch(document.getElementById({}).href).then(async r => \
                 [r.status, r.headers.get('content-disposition') || '', (await r.text()).slice(0, 200)])",
                js(id)
            ))
            .await;
        assert_eq!(got[0], json!(200), "{id}: {got}");
        assert!(got[1].as_str().unwrap().contains(ext), "{id}: {got}");
        assert!(
            got[2].as_str().unwrap().trim_start().starts_with(start),
            "{id}: {got}"
        );
    }
}

/// Three runs on one comparison: the baseline and two current runs
/// overlaid on every chart, a verdict and table rows for each; the form
/// takes the runs as a list.
pub async fn compare_many(page: &Page<'_>, base: &str, dir: &Path, a: i64, b: i64, c: i64) {
    open(page, &format!("{base}/compare")).await;
    page.wait_for("document.getElementById('user')", WAIT).await;
    set_value(page, "a", &a.to_string()).await;
    set_value(page, "b", &format!("{b}, {c}")).await;
    page.click("#pick button[type=submit]").await;
    page.wait_for(
        &format!(
            "document.querySelectorAll('#verdict span').length === 2 \
             && document.querySelector('#verdict span[data-run=\"{c}\"]') \
             && document.querySelectorAll('#rows tbody tr[data-run=\"{b}\"]').length > 0 \
             && document.querySelectorAll('#rows tbody tr[data-run=\"{c}\"]').length > 0 \
             && [...document.querySelectorAll('.charts figure')].every(f => \
                  f.querySelector('canvas') && f.querySelectorAll('.u-legend .u-series').length === 4)"
        ),
        WAIT,
    )
    .await;
    let path = page.eval("location.pathname + location.search").await;
    assert_eq!(path, json!(format!("/compare?a={a}&b={b}&b={c}")));
    let title = page
        .eval("document.getElementById('title').textContent")
        .await;
    assert_eq!(title, json!(format!("Runs #{b}, #{c} against #{a}")));
    shots(page, dir, "compare-three").await;
    // Nothing to compare with: said, not drawn.
    set_value(page, "b", "").await;
    page.click("#pick button[type=submit]").await;
    page.wait_for(
        "!document.getElementById('error').hidden \
         && document.getElementById('error').textContent.includes('at least one run')",
        WAIT,
    )
    .await;
}

/// A second version saved from the editor; the history lists both and the
/// diff shows the added line.
pub async fn version_diff(page: &Page<'_>, base: &str, scenario: i64) {
    open(page, &format!("{base}/scenarios/{scenario}")).await;
    page.wait_for(
        "!document.getElementById('history-panel').hidden \
         && document.querySelectorAll('#from option').length === 1 \
         && document.getElementById('code').value.includes('export default')",
        WAIT,
    )
    .await;
    page.eval(
        "(() => { const e = document.getElementById('code'); \
         e.value = e.value + '// the second version\\n'; \
         e.dispatchEvent(new Event('input', { bubbles: true })); })()",
    )
    .await;
    page.click("#save").await;
    page.wait_for(
        "document.getElementById('save-status').textContent === 'Saved version 2.' \
         && document.querySelectorAll('#from option').length === 2 \
         && document.getElementById('version').textContent.includes('2')",
        WAIT,
    )
    .await;
    let diff = page
        .wait_for(
            "document.querySelectorAll('#diff .add').length === 1 \
             && [...document.querySelectorAll('#diff span')].map(s => s.className + ' ' + s.textContent)",
            WAIT,
        )
        .await;
    let lines: Vec<&str> = diff
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(lines.contains(&"add + // the second version"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.starts_with("del")), "{lines:#?}");
}

/// The page now: every control has an accessible name (Chromium's own
/// computation), Tab first reaches the skip link, and the theme's text
/// colours meet WCAG AA (4.5:1) on their backgrounds, light and dark.
pub async fn accessible(page: &Page<'_>, what: &str) {
    for role in [
        "button",
        "link",
        "textbox",
        "searchbox",
        "combobox",
        "spinbutton",
        "checkbox",
    ] {
        let unnamed: Vec<String> = page
            .ax_nodes(role)
            .await
            .into_iter()
            .filter(|(name, _)| name.is_empty())
            .map(|(_, n)| n["backendDOMNodeId"].to_string())
            .collect();
        assert!(
            unnamed.is_empty(),
            "{what}: a {role} without a name: {unnamed:?}"
        );
    }
    // Focus on the body: the next Tab starts from the document's top.
    page.eval(
        "(() => { const b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex'); })()",
    )
    .await;
    page.press("Tab").await;
    let first = page
        .eval(
            "document.activeElement.className + ' ' + document.activeElement.getAttribute('href')",
        )
        .await;
    assert_eq!(first, json!("skip #main"), "{what}");
    let low = page
        .eval(
            "(() => { \
               const hex = (v) => { v = v.trim().replace('#', ''); return [0, 2, 4].map(i => parseInt(v.slice(i, i + 2), 16) / 255); }; \
               const lum = (c) => { const [r, g, b] = c.map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4); return 0.2126 * r + 0.7152 * g + 0.0722 * b; }; \
               const ratio = (a, b) => { const [x, y] = [lum(hex(a)), lum(hex(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); }; \
               const root = document.documentElement, was = root.dataset.theme, low = []; \
               for (const theme of ['light', 'dark']) { \
                 root.dataset.theme = theme; \
                 const s = getComputedStyle(root), v = (n) => s.getPropertyValue(n); \
                 const pairs = [['--ok', '--ok-bg'], ['--bad', '--bad-bg']]; \
                 for (const fg of ['--text', '--muted', '--accent', '--ok', '--bad', '--warn']) \
                   for (const bg of ['--bg', '--panel']) pairs.push([fg, bg]); \
                 for (const [fg, bg] of pairs) { \
                   if (!/^#[0-9a-f]{6}$/i.test(v(fg).trim()) || !/^#[0-9a-f]{6}$/i.test(v(bg).trim())) { low.push(`${theme} ${fg}/${bg}: not a colour`); continue; } \
                   const r = ratio(v(fg), v(bg)); if (r < 4.5) low.push(`${theme} ${fg} on ${bg}: ${r.toFixed(2)}`); } \
               } \
               if (was === undefined) delete root.dataset.theme; else root.dataset.theme = was; return low; })()",
        )
        .await;
    assert_eq!(low, json!([]), "{what}: colours below 4.5:1");
}

/// The admin's quotas form: a user's limits saved, listed in the users
/// table and in the user's record.
pub async fn quotas(page: &Page<'_>, base: &str, addr: &str, admin: &str) {
    open(page, &format!("{base}/admin")).await;
    page.wait_for(
        "[...document.getElementById('q-user').options].some(o => o.textContent === 'eddie')",
        WAIT,
    )
    .await;
    pick(page, "q-user", "eddie").await;
    for (id, value) in [("q-vus", "7"), ("q-duration", "600"), ("q-runs", "2")] {
        set_value(page, id, value).await;
    }
    page.click("#quotas button[type=submit]").await;
    page.wait_for(
        "document.getElementById('status').textContent === 'quotas saved' \
         && document.querySelector('#users tr[data-user=eddie]').textContent.includes('7 VUs')",
        WAIT,
    )
    .await;
    let (s, users) = super::harness::call(addr, "GET", "/api/v1/users", Some(admin), None);
    assert_eq!(s, 200, "{users}");
    let eddie = users["items"]
        .as_array()
        .or(users.as_array())
        .into_iter()
        .flatten()
        .find(|u| u["username"] == "eddie")
        .cloned()
        .unwrap_or_else(|| panic!("eddie listed: {users}"));
    assert_eq!(
        (
            &eddie["quotas"]["max_vus"],
            &eddie["quotas"]["max_duration_secs"],
            &eddie["quotas"]["max_concurrent_runs"]
        ),
        (&json!(7), &json!(600), &json!(2)),
        "{eddie}"
    );
}

/// The theme button: dark and back, announced by `aria-pressed`, and
/// the choice kept across a reload — set while the page is parsed, before
/// its modules run (no first paint in the other theme).
pub async fn theme_toggle(page: &Page<'_>, base: &str) {
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": "document.addEventListener('readystatechange', () => { \
            if (document.readyState === 'interactive') \
              window.__themeAtParse = document.documentElement.dataset.theme || 'none'; })"}),
    )
    .await;
    page.eval("localStorage.removeItem('stampede-theme')").await;
    page.color_scheme(false).await;
    open(page, &format!("{base}/")).await;
    page.wait_for(
        "document.getElementById('theme') \
         && document.documentElement.dataset.theme === 'light'",
        WAIT,
    )
    .await;
    page.click("#theme").await;
    let got = page
        .eval(
            "[document.documentElement.dataset.theme, document.getElementById('theme').getAttribute('aria-pressed'), \
              getComputedStyle(document.body).backgroundColor]",
        )
        .await;
    assert_eq!(got[0], json!("dark"), "{got}");
    assert_eq!(got[1], json!("true"), "{got}");
    assert_eq!(
        got[2],
        json!("rgb(11, 15, 23)"),
        "the dark background: {got}"
    );
    open(page, &format!("{base}/")).await;
    page.wait_for(
        "document.getElementById('theme')?.getAttribute('aria-pressed') === 'true' \
         && document.documentElement.dataset.theme === 'dark'",
        WAIT,
    )
    .await;
    let at_parse = page.eval("window.__themeAtParse").await;
    assert_eq!(at_parse, json!("dark"), "the theme once the page is parsed");
    page.click("#theme").await;
    page.wait_for(
        "document.documentElement.dataset.theme === 'light' \
         && localStorage.getItem('stampede-theme') === 'light'",
        WAIT,
    )
    .await;
    page.eval("localStorage.removeItem('stampede-theme')").await;
}

/// The workers page refreshes by itself; home counts the workers online.
pub async fn workers_live(page: &Page<'_>, base: &str) {
    open(page, &format!("{base}/workers")).await;
    let first = page
        .wait_for(
            "document.querySelectorAll('#workers tbody tr').length >= 1 \
             && [...document.querySelectorAll('#workers thead th')].some(th => th.textContent === 'state') \
             && document.getElementById('updated').textContent",
            WAIT,
        )
        .await;
    page.wait_for(
        &format!(
            "document.getElementById('updated').textContent !== {}",
            first
        ),
        WAIT,
    )
    .await;
    open(page, &format!("{base}/")).await;
    page.wait_for(
        "/^\\d+ of \\d+ online/.test(document.getElementById('workers-summary').textContent) \
         && document.querySelector('#workers-summary a')?.getAttribute('href') === '/workers'",
        WAIT,
    )
    .await;
}

/// The run view's abort button ends a running run at once (after a few
/// intervals, so that it has some to compare).
pub async fn abort(page: &Page<'_>, base: &str, run: i64) {
    open(page, &format!("{base}/runs/{run}")).await;
    page.wait_for(
        "document.getElementById('run-status').textContent === 'running' \
         && performance.getEntriesByName('stampede:interval-drawn').length >= 5 \
         && !document.getElementById('abort').hidden \
         && !document.getElementById('abort').disabled",
        WAIT,
    )
    .await;
    page.click("#abort").await;
    page.wait_for(
        "document.getElementById('run-status').textContent === 'aborted' \
         && document.getElementById('conn').dataset.state === 'ended'",
        WAIT,
    )
    .await;
}

/// The scenarios list searched by name: one match, then none.
pub async fn search_by_name(page: &Page<'_>, base: &str) {
    open(page, &format!("{base}/scenarios")).await;
    page.wait_for("document.getElementById('user')", WAIT).await;
    for (q, rows) in [("checkout", 1), ("no such scenario", 0)] {
        set_value(page, "q", q).await;
        page.click("#search button[type=submit]").await;
        page.wait_for(
            &format!(
                "document.querySelectorAll('#list tbody tr').length === {rows} \
                 && document.getElementById('list-empty').hidden === {}",
                rows > 0
            ),
            WAIT,
        )
        .await;
    }
}

/// Each of the six templates (the seed's test types) is offered and saves
/// as a scenario the server accepts.
pub async fn six_templates(page: &Page<'_>, base: &str) {
    open(page, &format!("{base}/scenarios/new")).await;
    let names = page
        .wait_for(
            "document.querySelectorAll('#template option').length > 0 \
             && [...document.querySelectorAll('#template option')].map(o => o.value)",
            WAIT,
        )
        .await;
    assert_eq!(
        names,
        json!(["smoke", "load", "stress", "spike", "soak", "breaking"])
    );
    for (name, comment) in [
        ("smoke", "Smoke test"),
        ("load", "Load test"),
        ("stress", "Stress test"),
        ("spike", "Spike test"),
        ("soak", "Soak test"),
        ("breaking", "Breaking point"),
    ] {
        open(page, &format!("{base}/scenarios/new")).await;
        page.wait_for(
            "document.getElementById('code').value.includes('export const options')",
            WAIT,
        )
        .await;
        set_value(page, "template", name).await;
        page.wait_for(
            &format!(
                "document.getElementById('code').value.startsWith('// ' + {})",
                js(comment)
            ),
            WAIT,
        )
        .await;
        set_value(page, "name", &format!("template {name}")).await;
        page.click("#save").await;
        page.wait_for(
            "/^\\/scenarios\\/\\d+$/.test(location.pathname) \
             && document.getElementById('save-status').textContent === 'Saved version 1.' \
             && document.getElementById('save-error').hidden",
            WAIT,
        )
        .await;
    }
}
