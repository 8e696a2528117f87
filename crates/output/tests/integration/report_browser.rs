//! The HTML report in real headless Chromium (over the DevTools protocol):
//! it renders with no console message or exception, shows the charts and
//! the tables, sorts the endpoint table on click, requests nothing but
//! itself, and fits a phone. Full-page screenshots (laptop and phone) are
//! left in `target/report-screenshots/` to look at.

use std::path::PathBuf;

use serde_json::Value;
use stampede_output::results::{Recorder, RecorderConfig, Results};

use crate::common::cdp::Browser;
use crate::common::load::realistic_run;
use crate::common::servers::{binary, target_dir};

fn results() -> Results {
    let run = realistic_run();
    let mut rec = Recorder::new(RecorderConfig {
        script: Some("shop-load-test.js".into()),
        thresholds: run.thresholds.clone(),
        start_ns: Some(run.start_ns),
        ..RecorderConfig::default()
    });
    for batch in run.samples.chunks(4096) {
        rec.add_samples(batch, &run.registry);
    }
    rec.finish(Some(run.end_ns))
}

#[test]
fn the_report_renders_in_chromium() {
    let Some(exe) = binary("chromium", "chromium") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let shots: PathBuf = target_dir().join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let results = results();
    let page = shots.join("report.html");
    std::fs::write(&page, stampede_output::html::render(&results)).unwrap();
    let url = format!("file://{}", page.display());
    let mut b = Browser::launch(&exe, tmp.path());

    // The harness sees console output and exceptions.
    let bad = tmp.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><script>console.error('boom'); missing();</script>",
    )
    .unwrap();
    b.navigate(&format!("file://{}", bad.display()));
    let seen = b.console();
    assert!(
        seen.iter()
            .any(|m| m.starts_with("console.error") && m.contains("boom"))
            && seen
                .iter()
                .any(|m| m.starts_with("exception") && m.contains("missing")),
        "the console capture does not work: {seen:?}"
    );

    b.viewport(1280, 900, false);
    b.navigate(&url);
    assert_eq!(b.console(), Vec::<String>::new(), "console output");
    assert_eq!(
        b.requests(),
        std::slice::from_ref(&url),
        "the report fetched something"
    );
    assert_eq!(
        b.eval("document.title"),
        "Load test report: shop-load-test.js"
    );
    assert_eq!(
        b.eval("document.getElementById('verdict').textContent"),
        "✗ thresholds failed"
    );

    // Every chart is drawn: an SVG with lines and a non-zero size.
    let charts = b.eval(
        "Array.from(document.querySelectorAll('.chart-card')).map(c => ({id: c.id, \
         lines: c.querySelectorAll('polyline').length, \
         w: c.querySelector('svg') ? c.querySelector('svg').getBoundingClientRect().width : 0, \
         h: c.querySelector('svg') ? c.querySelector('svg').getBoundingClientRect().height : 0}))",
    );
    let ids: Vec<&str> = charts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "chart-vus",
            "chart-rps",
            "chart-latency",
            "chart-errors",
            "chart-scenario-rps",
            "chart-scenario-p95"
        ]
    );
    for c in charts.as_array().unwrap() {
        assert!(c["lines"].as_u64().unwrap() >= 1, "{c}");
        assert!(
            c["w"].as_f64().unwrap() > 400.0 && c["h"].as_f64().unwrap() > 140.0,
            "{c}"
        );
    }

    // Tables: thresholds, checks and endpoints, with what the results say.
    let rows = |b: &mut Browser, sel: &str| -> Vec<Vec<String>> {
        let v = b.eval(&format!(
            "Array.from(document.querySelectorAll('{sel} tbody tr')).map(r => \
             Array.from(r.cells).map(c => c.textContent))"
        ));
        serde_json::from_value(v).unwrap()
    };
    let th = rows(&mut b, "#thresholds");
    assert_eq!(th.len(), 4);
    assert_eq!(
        th[2][..2],
        ["http_req_duration{name:reports_generate}", "p(95)<1500"]
    );
    assert_eq!(th[2][3], "fail");
    assert_eq!(
        th[3][2],
        stampede_output::units::pct(results.thresholds[3].observed.unwrap())
    );
    let checks = rows(&mut b, "#checks");
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1][..2], ["order accepted", "checkout"]);
    let eps = rows(&mut b, "#endpoints");
    let mut by_requests: Vec<_> = results.endpoints.iter().collect();
    by_requests.sort_by_key(|e| std::cmp::Reverse(e.requests));
    let names: Vec<&str> = eps.iter().map(|r| r[0].as_str()).collect();
    let want: Vec<&str> = by_requests.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, want);
    assert_eq!(
        eps[0][2],
        stampede_output::units::count(by_requests[0].requests)
    );

    // Sorting: a click on "Requests" sorts ascending, another descending.
    b.eval("document.querySelector('#endpoint-table th:nth-child(3)').click()");
    let first = b.eval("document.querySelector('#endpoint-table tbody td').textContent");
    assert_eq!(first, Value::from(*want.last().unwrap()));
    b.eval("document.querySelector('#endpoint-table th:nth-child(3)').click()");
    let first = b.eval("document.querySelector('#endpoint-table tbody td').textContent");
    assert_eq!(first, Value::from(want[0]));
    assert_eq!(b.console(), Vec::<String>::new());

    let shot = b.screenshot();
    assert!(shot.starts_with(b"\x89PNG") && shot.len() > 50_000);
    std::fs::write(shots.join("report-desktop.png"), shot).unwrap();

    // A phone: nothing wider than the screen (wide tables scroll inside
    // their box), the summary cards two abreast.
    b.viewport(390, 844, true);
    b.navigate(&url);
    assert_eq!(b.console(), Vec::<String>::new());
    let layout = b.eval(
        "({page: document.documentElement.scrollWidth, \
          card: document.querySelector('.card').getBoundingClientRect().width, \
          chart: document.querySelector('svg.chart').getBoundingClientRect().width, \
          table: document.querySelector('#endpoints .table-wrap').getBoundingClientRect().width})",
    );
    assert!(layout["page"].as_f64().unwrap() <= 390.0, "{layout}");
    assert!(layout["table"].as_f64().unwrap() <= 390.0, "{layout}");
    let card = layout["card"].as_f64().unwrap();
    assert!((150.0..195.0).contains(&card), "{layout}");
    assert!(layout["chart"].as_f64().unwrap() > 300.0, "{layout}");
    let shot = b.screenshot();
    std::fs::write(shots.join("report-phone.png"), shot).unwrap();
}
