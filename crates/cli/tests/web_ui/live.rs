//! The browser test's live parts: changing the VUs of an
//! externally-controlled run, a dropped WebSocket resumed with no gap in
//! the chart data (and the printed time from an interval's close to its
//! drawing), and the load time of a seeded 1-hour, 20-endpoint run.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::browser::Page;
use super::harness::{call, wait_final};
use super::{set_value, WAIT};

/// An externally-controlled run: its VUs changed from the run view (more
/// than its maxVUs refused with the server's reason), then stopped.
pub async fn change_vus(page: &Page<'_>, base: &str, addr: &str, admin: &str, target: &str) {
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
pub async fn reconnect(page: &Page<'_>, run: i64) {
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

/// A finished 1-hour run with 20 endpoints, written through the store
/// (one interval a second, as the server stores them).
pub async fn seed_long_run(data: &Path, scenario: i64) -> i64 {
    use stampede_metrics::{Builtin, Registry, Sink, TagSet};
    use stampede_store::{NewRun, RunEnd, RunStatus, ScenarioId, StartedBy, Store};
    let store = Store::open_data_dir(data).await.unwrap();
    let run = store
        .create_run(&NewRun {
            scenario_id: ScenarioId(scenario),
            scenario_version: None,
            user_id: None,
            started_by: StartedBy::User,
            options: json!({}),
        })
        .await
        .unwrap();
    let reg = Registry::new();
    let tags: Vec<TagSet> = (0..20)
        .map(|e| {
            TagSet::from_pairs([
                ("method", "GET"),
                ("endpoint", format!("endpoint-{e:02}").as_str()),
                ("status", "200"),
                ("scenario", "default"),
            ])
        })
        .collect();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        - 3600 * 1_000_000_000;
    for second in 0..3600u64 {
        let start = t0 + second * 1_000_000_000;
        let mut sink = Sink::new();
        for (e, tags) in tags.iter().enumerate() {
            for i in 0..2u64 {
                let t = start + i * 100_000_000;
                let ms = 20.0 + e as f64 + ((second * 7 + i * 13) % 50) as f64;
                sink.add(Builtin::HttpReqs.metric(), tags, 1.0, t);
                sink.add(Builtin::HttpReqFailed.metric(), tags, 0.0, t);
                sink.add(Builtin::HttpReqDuration.metric(), tags, ms, t);
            }
        }
        sink.add(Builtin::Vus.metric(), &TagSet::default(), 20.0, start);
        let snap = sink.take(start, start + 1_000_000_000).to_wire(&reg);
        store
            .put_interval(run.id, Duration::from_secs(1), &snap)
            .await
            .unwrap();
    }
    for to in [RunStatus::Starting, RunStatus::Running] {
        store
            .transition_run(run.id, to, &RunEnd::default())
            .await
            .unwrap();
    }
    let end = RunEnd {
        exit_code: Some(0),
        ..RunEnd::default()
    };
    store
        .transition_run(run.id, RunStatus::Passed, &end)
        .await
        .unwrap();
    run.id.0
}

/// The page of a 1-hour, 20-endpoint run: loaded, charted and tabled,
/// with the right figures. The run is seeded straight into the store as
/// ended, as if it had ended before the server stored views: the server
/// computes its view in the background (the time that takes is printed),
/// then the time from navigation to its last interval drawn is printed (a
/// goal, not asserted), cold (the server reads the stored view) and warm
/// (the view is in its memory).
pub async fn long_run_loads(page: &Page<'_>, base: &str, data: &Path, scenario: i64) {
    let seeding = std::time::Instant::now();
    let run = seed_long_run(data, scenario).await;
    println!(
        "seeded a 1-hour, 20-endpoint run in {:?}",
        seeding.elapsed()
    );
    let computing = std::time::Instant::now();
    let store = stampede_store::Store::open_data_dir(data).await.unwrap();
    let deadline = computing + Duration::from_secs(600);
    while store
        .run_view(
            stampede_store::RunId(run),
            stampede_server::api::view::VIEW_FORMAT,
        )
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server stored no view of the ended run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
    println!(
        "the server computed and stored the view of the ended run within {:.1} s of its end",
        computing.elapsed().as_secs_f64()
    );
    for pass in ["cold", "warm"] {
        page.goto(&format!("{base}/runs/{run}")).await;
        let drawn = page
            .wait_for(
                "window.stampedeCharts.length === 3600 \
                 && document.querySelectorAll('#endpoints tbody tr').length === 20 \
                 && document.getElementById('run-status').textContent === 'passed' \
                 && performance.getEntriesByName('stampede:interval-drawn').at(-1)?.startTime",
                WAIT,
            )
            .await;
        println!(
            "goal: the run page of a 1-hour, 20-endpoint run drawn {:.0} ms after navigation ({pass}; goal <= 1000 ms)",
            drawn.as_f64().unwrap()
        );
    }
    // The figures: 2 requests a second for an hour on each of 20
    // endpoints, each interval charted in order.
    let figures = page
        .eval(&format!(
            "fetch('/api/v1/runs/{run}/live').then(r => r.json()).then(s => {{ \
               const c = window.stampedeCharts.cols; \
               return [s.totals.requests, s.totals.latency.count, s.last_seq, \
                 s.endpoints.every(e => e.requests === 7200 && e.latency.count === 7200), \
                 c.t.every((t, i) => i === 0 || t > c.t[i - 1]), c.rps.every(r => r === 40), \
                 document.getElementById('c-p95').textContent !== '–']; }})"
        ))
        .await;
    assert_eq!(
        figures,
        json!([144000, 144000, 3599, true, true, true, true]),
        "totals, endpoints and chart points of the seeded run"
    );
}
