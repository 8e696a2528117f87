//! Whole summaries of a synthetic run, pinned with insta. (The renderers
//! are checked against k6 itself in `k6_text`; these guard everything at
//! once against regressions: sections, groups, scenarios, units, colors.)

use std::time::Duration;

use serde_json::json;
use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
use stampede_metrics::{MetricType, ValueType};
use stampede_output::jsjson::stringify;
use stampede_output::summary_export::to_file_text;
use stampede_output::{render_legacy_from_data, Report, SummaryInput, SummaryMode, TextOptions};

use crate::common::Synth;

/// A small shop test: setup, two scenarios with groups, checks, custom
/// metrics, WebSocket metrics and thresholds (some failing).
fn shop() -> (Synth, Thresholds) {
    let mut s = Synth::new();
    s.custom("orders", MetricType::Counter, ValueType::Default);
    s.custom("cart_value", MetricType::Trend, ValueType::Default);
    s.custom("checkout_time", MetricType::Trend, ValueType::Time);
    s.custom("conversion", MetricType::Rate, ValueType::Default);
    s.custom("queue_depth", MetricType::Gauge, ValueType::Default);

    let http = |s: &mut Synth, tags: &[(&str, &str)], ms: f64, ok: bool| {
        let status = if ok { "200" } else { "503" };
        let mut t: Vec<(&str, &str)> = tags.to_vec();
        t.extend([
            ("method", "GET"),
            ("proto", "HTTP/1.1"),
            ("status", status),
            ("expected_response", if ok { "true" } else { "false" }),
        ]);
        s.add("http_reqs", 1.0, &t);
        s.add("http_req_duration", ms, &t);
        s.add("http_req_blocked", 0.012, &t);
        s.add("http_req_connecting", 0.0, &t);
        s.add("http_req_tls_handshaking", 0.0, &t);
        s.add("http_req_sending", 0.021, &t);
        s.add("http_req_waiting", ms - 0.5, &t);
        s.add("http_req_receiving", 0.467, &t);
        s.add("http_req_failed", if ok { 0.0 } else { 1.0 }, &t);
        s.add("data_sent", 96.0, &t);
        s.add("data_received", 1_843.0, &t);
    };

    // setup(): no scenario tag, group ::setup
    let setup = [("group", "::setup"), ("name", "login")];
    http(&mut s, &setup, 14.25, true);
    s.add(
        "checks",
        1.0,
        &[("group", "::setup"), ("check", "logged in")],
    );

    for i in 0..12 {
        let home = [("scenario", "browse"), ("group", "::home")];
        http(&mut s, &home, 20.0 + f64::from(i) * 7.5, i != 11);
        s.add(
            "checks",
            if i == 11 { 0.0 } else { 1.0 },
            &[
                ("scenario", "browse"),
                ("group", "::home"),
                ("check", "status is 200"),
            ],
        );
        let assets = [("scenario", "browse"), ("group", "::home::assets")];
        http(&mut s, &assets, 3.5 + f64::from(i) * 0.25, true);
        s.add(
            "checks",
            1.0,
            &[
                ("scenario", "browse"),
                ("group", "::home::assets"),
                ("check", "css loaded"),
            ],
        );
        s.add(
            "group_duration",
            31.0 + f64::from(i),
            &[("scenario", "browse"), ("group", "::home")],
        );
        s.add(
            "iteration_duration",
            1_031.5 + f64::from(i),
            &[("scenario", "browse")],
        );
        s.add("iterations", 1.0, &[("scenario", "browse")]);
    }
    for i in 0..5 {
        let cart = [("scenario", "checkout"), ("group", "::cart")];
        http(&mut s, &cart, 95.0 + f64::from(i) * 40.0, true);
        s.add(
            "checks",
            if i % 2 == 0 { 1.0 } else { 0.0 },
            &[
                ("scenario", "checkout"),
                ("group", "::cart"),
                ("check", "cart has items"),
            ],
        );
        s.add(
            "cart_value",
            19.99 * f64::from(i + 1),
            &[("scenario", "checkout"), ("currency", "EUR")],
        );
        s.add(
            "checkout_time",
            1_250.0 + f64::from(i) * 3_000.0,
            &[("scenario", "checkout")],
        );
        s.add(
            "conversion",
            if i < 3 { 1.0 } else { 0.0 },
            &[("scenario", "checkout")],
        );
        s.add("orders", 1.0, &[("scenario", "checkout")]);
        s.add("queue_depth", f64::from(7 - i), &[("scenario", "checkout")]);
        s.add("ws_sessions", 1.0, &[("scenario", "checkout")]);
        s.add("ws_msgs_sent", 3.0, &[("scenario", "checkout")]);
        s.add(
            "ws_session_duration",
            505.0 + f64::from(i),
            &[("scenario", "checkout")],
        );
        s.add(
            "iteration_duration",
            2_400.0 + f64::from(i) * 10.0,
            &[("scenario", "checkout")],
        );
        s.add("iterations", 1.0, &[("scenario", "checkout")]);
    }
    s.add("dropped_iterations", 2.0, &[("scenario", "checkout")]);
    s.add("vus", 8.0, &[]);
    s.add("vus_max", 10.0, &[]);
    s.add(
        "checks",
        1.0,
        &[("group", "::teardown"), ("check", "logged out")],
    );

    let th = Thresholds::new(vec![
        ThresholdSpec::new("http_req_duration", "p(95)<300"),
        ThresholdSpec::new("http_req_duration{group:::cart}", "p(99)<200"),
        ThresholdSpec::new("http_req_failed", "rate<0.01"),
        ThresholdSpec::new("checks", "rate>0.9"),
        ThresholdSpec::new("orders", "count>10"),
        ThresholdSpec::new("cart_value{currency:EUR}", "avg<100"),
        ThresholdSpec::new("queue_depth", "value<5"),
    ])
    .unwrap();
    assert!(th.validate(&s.registry).is_empty());
    (s, th)
}

struct Opts {
    trend_stats: Vec<&'static str>,
    time_unit: Option<&'static str>,
    tty: bool,
}

fn report(opts: Opts) -> Report {
    let (s, mut th) = shop();
    let store = s.store();
    let duration = Duration::from_millis(12_345);
    th.evaluate(&store, duration);
    Report::new(SummaryInput {
        store: &store,
        registry: &s.registry,
        thresholds: Some(&th),
        duration,
        trend_stats: opts.trend_stats.iter().map(|s| s.to_string()).collect(),
        time_unit: opts.time_unit.map(str::to_owned),
        setup_data: Some(json!({"token": "abc", "users": [1, 2]})),
        no_color: false,
        stdout_tty: opts.tty,
        stderr_tty: false,
    })
}

fn plain() -> Report {
    report(Opts {
        trend_stats: vec![],
        time_unit: None,
        tty: false,
    })
}

#[test]
fn compact() {
    insta::assert_snapshot!(plain().render(SummaryMode::Compact));
}

#[test]
fn full() {
    insta::assert_snapshot!(plain().render(SummaryMode::Full));
}

#[test]
fn legacy() {
    insta::assert_snapshot!(plain().render(SummaryMode::Legacy));
}

#[test]
fn compact_colored_with_trend_stats_and_time_unit() {
    let r = report(Opts {
        trend_stats: vec!["min", "med", "p(99.9)", "count"],
        time_unit: Some("s"),
        tty: true,
    });
    insta::assert_snapshot!(r.render(SummaryMode::Compact));
}

#[test]
fn legacy_text_summary_with_options() {
    // textSummary(data, { indent: '→ ', enableColors: true })
    let data = plain().handle_summary_data();
    let opts = TextOptions {
        indent: "→ ".into(),
        enable_colors: true,
        ..TextOptions::default()
    };
    insta::assert_snapshot!(render_legacy_from_data(&data, &opts));
}

#[test]
fn handle_summary_data() {
    insta::assert_snapshot!(stringify(&plain().handle_summary_data(), "  "));
}

#[test]
fn summary_export() {
    insta::assert_snapshot!(to_file_text(&plain().summary_export()));
}

#[test]
fn empty_run_renders() {
    let s = Synth::new();
    let store = s.store();
    let report = Report::new(SummaryInput {
        store: &store,
        registry: &s.registry,
        thresholds: None,
        duration: Duration::ZERO,
        trend_stats: vec![],
        time_unit: None,
        setup_data: None,
        no_color: true,
        stdout_tty: true,
        stderr_tty: false,
    });
    assert_eq!(
        report.render(SummaryMode::Compact),
        "\n\n  █ TOTAL RESULTS \n\n\n\n"
    );
    assert_eq!(report.render(SummaryMode::Legacy), "\n\n\n");
    assert_eq!(report.handle_summary_data()["metrics"], json!({}));
}

#[test]
fn legacy_text_summary_survives_odd_data() {
    // Scripts may hand textSummary() a modified or hand-made object.
    let data = json!({
        "root_group": {"name": "", "groups": {"g": {}}, "checks": [{"name": "c", "passes": "x"}]},
        "options": {"summaryTrendStats": ["avg", 5]},
        "metrics": {
            "a{": {"type": "trend", "contains": "time", "values": {}},
            "b": {"type": "counter", "values": {"count": "many"}},
            "c": {"type": "weird"},
            "d": {"type": "rate", "contains": "default", "values": {"rate": 0.5, "passes": 1, "fails": 1},
                  "thresholds": {"rate>0": {"ok": true}}}
        }
    });
    let opts = TextOptions {
        enable_colors: false,
        ..TextOptions::default()
    };
    insta::assert_snapshot!(render_legacy_from_data(&data, &opts));
    let _ = render_legacy_from_data(&json!(null), &opts);
    let _ = render_legacy_from_data(&json!({"metrics": [], "root_group": 3}), &opts);
}
