//! Tests of [`LiveRun`]: snapshots as a sink flushes them in, contract out.

use super::*;
use stampede_metrics::Sink;

const SEC: u64 = 1_000_000_000;
const T0: u64 = 1_700_000_000 * SEC;

fn req(sink: &mut Sink, name: &str, status: &str, ms: f64, failed: bool, at: u64) {
    let tags = TagSet::from_pairs([("name", name), ("method", "GET"), ("status", status)]);
    sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, at);
    sink.add(Builtin::HttpReqDuration.metric(), &tags, ms, at);
    sink.add(
        Builtin::HttpReqFailed.metric(),
        &tags,
        if failed { 1.0 } else { 0.0 },
        at,
    );
}

fn run_with(thresholds: &[(&str, &str)]) -> LiveRun {
    let specs = thresholds
        .iter()
        .map(|(s, e)| ThresholdSpec::new(s, e))
        .collect();
    LiveRun::new(
        "local",
        Some("script.js".into()),
        Arc::new(Registry::new()),
        specs,
        Duration::from_secs(1),
    )
}

#[test]
fn points_count_each_interval_and_number_without_gaps() {
    let mut run = run_with(&[]);
    let mut sink = Sink::new();
    for i in 0..10 {
        req(&mut sink, "home", "200", 100.0 + i as f64, false, T0 + i);
    }
    sink.add(Builtin::Vus.metric(), &TagSet::empty(), 5.0, T0 + 10);
    sink.add(
        Builtin::DataSent.metric(),
        &TagSet::empty(),
        2000.0,
        T0 + 10,
    );
    let p0 = run.push(&sink.take(T0, T0 + SEC));
    req(&mut sink, "home", "500", 900.0, true, T0 + SEC + 1);
    let p1 = run.push(&sink.take(T0 + SEC, T0 + 2 * SEC));

    assert_eq!((p0.seq, p0.requests, p0.failed), (0, 10, 0));
    assert_eq!(p0.vus, Some(5.0));
    assert_eq!(p0.sent_bps, 2000.0);
    assert_eq!(p0.rps, 10.0);
    assert_eq!(p0.error_rate, Some(0.0));
    assert!((p0.t - 1.0).abs() < 1e-9);
    let l = p0.latency.expect("latency");
    assert!(l.p50 >= 104.0 && l.p50 <= 105.1, "{l:?}");
    assert_eq!((p1.seq, p1.requests, p1.failed), (1, 1, 1));
    assert_eq!(p1.error_rate, Some(1.0));
    assert_eq!(p1.vus, None);

    let s = run.state();
    assert_eq!(s.last_seq, Some(1));
    assert_eq!(s.totals.requests, 11);
    assert_eq!(s.totals.failed, 1);
    let ep = &s.endpoints[0];
    assert_eq!((ep.name.as_str(), ep.requests, ep.failed), ("home", 11, 1));
    assert_eq!(ep.statuses.get("500"), Some(&1));
    assert_eq!(ep.statuses.get("200"), Some(&10));
    assert_eq!(ep.methods, ["GET"]);
}

#[test]
fn page_resumes_after_a_sequence_number() {
    let mut run = run_with(&[]);
    let mut sink = Sink::new();
    for i in 0..5u64 {
        req(&mut sink, "a", "200", 10.0, false, T0 + i * SEC);
        run.push(&sink.take(T0 + i * SEC, T0 + (i + 1) * SEC));
    }
    let seqs = |p: MetricsPage| p.points.iter().map(|p| p.seq).collect::<Vec<_>>();
    assert_eq!(seqs(run.page(None)), [0, 1, 2, 3, 4]);
    assert_eq!(seqs(run.page(Some(2))), [3, 4]);
    assert_eq!(seqs(run.page(Some(4))), Vec::<u64>::new());
    assert_eq!(seqs(run.page(Some(99))), Vec::<u64>::new());
}

#[test]
fn thresholds_turn_failed_when_crossed_and_checks_add_up() {
    let mut run = run_with(&[("http_req_duration", "p(95)<200"), ("checks", "rate>0.9")]);
    assert_eq!(run.state().thresholds.len(), 2);
    assert!(run.state().thresholds.iter().all(|t| t.ok));
    let mut sink = Sink::new();
    let check = TagSet::from_pairs([("check", "is 200"), ("group", "")]);
    req(&mut sink, "a", "200", 50.0, false, T0);
    sink.add(Builtin::Checks.metric(), &check, 1.0, T0);
    run.push(&sink.take(T0, T0 + SEC));
    assert!(run.state().thresholds.iter().all(|t| t.ok));
    assert_eq!(run.state().thresholds[0].observed, Some(50.0));
    for i in 0..5 {
        req(&mut sink, "a", "200", 900.0, false, T0 + SEC + i);
        sink.add(Builtin::Checks.metric(), &check, 0.0, T0 + SEC + i);
    }
    run.push(&sink.take(T0 + SEC, T0 + 2 * SEC));
    let th = &run.state().thresholds;
    assert!(!th[0].ok && !th[1].ok, "{th:?}");
    assert_eq!(th[0].kind, "trend");
    assert_eq!(th[0].contains, "time");
    let c = &run.state().checks[0];
    assert_eq!((c.name.as_str(), c.passes, c.fails), ("is 200", 1, 5));
}

#[test]
fn results_render_as_the_html_report() {
    let mut run = run_with(&[("http_req_duration", "p(95)<200")]);
    let mut sink = Sink::new();
    req(&mut sink, "products", "200", 120.0, false, T0);
    run.push(&sink.take(T0, T0 + SEC));
    run.set_status(RunStatus::Running);
    assert!(run.state().can_stop);
    let results = run.results();
    assert_eq!(results.series.points.len(), 1);
    assert_eq!(results.endpoints[0].name, "products");
    let html = stampede_output::html::render(&results);
    assert!(html.contains("products"));
    assert!(html.contains("p(95)&lt;200") || html.contains("p(95)<200"));
}

#[test]
fn finish_keeps_the_engine_thresholds() {
    let mut run = run_with(&[("http_req_duration", "p(95)<200")]);
    let mut engine =
        Thresholds::new(vec![ThresholdSpec::new("http_req_duration", "p(95)<200")]).expect("valid");
    let mut store = Store::new();
    let mut sink = Sink::new();
    req(&mut sink, "a", "200", 500.0, false, T0);
    store.apply(&sink.take(T0, T0 + SEC));
    engine.evaluate(&store, Duration::from_secs(1));
    run.finish(RunStatus::Failed, 99, None, &engine);
    let s = run.state();
    assert_eq!(s.status, RunStatus::Failed);
    assert_eq!(s.exit_code, Some(99));
    assert!(!s.can_stop);
    assert!(!s.thresholds[0].ok);
}

#[test]
fn extend_equals_pushing_one_by_one() {
    let mut sink = Sink::new();
    let snaps: Vec<Snapshot> = (0..4u64)
        .map(|i| {
            req(
                &mut sink,
                "a",
                "200",
                10.0 * (i + 1) as f64,
                i == 2,
                T0 + i * SEC,
            );
            sink.take(T0 + i * SEC, T0 + (i + 1) * SEC)
        })
        .collect();
    let mut one = run_with(&[("http_req_duration", "p(95)<35")]);
    let pushed: Vec<IntervalPoint> = snaps.iter().map(|s| one.push(s)).collect();
    let mut all = run_with(&[("http_req_duration", "p(95)<35")]);
    let extended = all.extend(&snaps);
    assert_eq!(pushed, extended);
    assert_eq!(one.state(), all.state());
    assert!(!all.state().thresholds[0].ok);
}
