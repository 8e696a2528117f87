use std::time::Duration;

use super::*;
use crate::kind::{MetricType, ValueType};
use crate::sink::Sink;
use crate::tags::TagSet;

fn spec(selector: &str, expr: &str) -> ThresholdSpec {
    ThresholdSpec::new(selector, expr)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn tags(pairs: &[(&str, &str)]) -> TagSet {
    TagSet::from_pairs(pairs.iter().copied())
}

/// A store with 4 requests (durations 100, 200, 300 with name=a; 400 with name=b)
/// and two checks (one passing, one failing).
fn store() -> Store {
    let mut sink = Sink::new();
    let a = tags(&[("name", "a")]);
    let b = tags(&[("name", "b")]);
    for (v, t) in [(100.0, &a), (200.0, &a), (300.0, &a), (400.0, &b)] {
        sink.add(Builtin::HttpReqDuration.metric(), t, v, 0);
        sink.add(Builtin::HttpReqs.metric(), t, 1.0, 0);
    }
    sink.add(Builtin::Checks.metric(), &a, 1.0, 0);
    sink.add(Builtin::Checks.metric(), &b, 0.0, 0);
    let mut store = Store::new();
    store.apply(&sink.take(0, 1));
    store
}

fn thresholds(specs: Vec<ThresholdSpec>) -> Thresholds {
    let th = Thresholds::new(specs).unwrap();
    assert_eq!(th.validate(&Registry::new()), vec![]);
    th
}

#[test]
fn new_reports_every_syntax_error() {
    let errors = Thresholds::new(vec![
        spec("checks", "rate>0.9"),
        spec("checks", "foo<1"),
        spec("checks", "p(95)<"),
        spec("http_reqs{a", "count>1"),
        spec("http_reqs{a", "count>2"),
        spec("http_reqs", "count<x"),
    ])
    .unwrap_err();
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            r#"failed parsing threshold expression's "foo<1" left hand side; reason: failed parsing method from expression"#,
            r#"failed parsing threshold expression "p(95)<"; reason: malformed threshold expression"#,
            r#"unable to validate threshold expressions; reason: parsing metric name failed, metric "http_reqs{a" has unmatched opening/close curly brace"#,
            r#"failed parsing threshold expresion's "count<x" right hand side; reason: strconv.ParseFloat: parsing "x": invalid syntax"#,
        ]
    );
}

#[test]
fn validate_reports_unknown_metrics_and_methods_like_k6() {
    let reg = Registry::new();
    reg.register("my_gauge", MetricType::Gauge, ValueType::Default)
        .unwrap();
    let th = Thresholds::new(vec![
        spec("foo", "rate>0.9"),
        spec("foo{a:b}", "rate>0.9"),
        spec("http_req_duration", "count>1"),
        spec("http_req_duration", "p(99.9)<1"),
        spec("http_reqs", "value>1"),
        spec("vus", "rate>1"),
        spec("checks{a:b}", "avg>1"),
        spec("my_gauge", "value>1"),
        spec("my_gauge", "min>1"),
    ])
    .unwrap();
    let messages: Vec<String> = th.validate(&reg).iter().map(ToString::to_string).collect();
    // Each message was produced by k6 v1.1.0 for the same threshold.
    assert_eq!(
        messages,
        [
            r#"invalid threshold defined on foo; reason: no metric name "foo" found"#,
            r#"invalid threshold defined on foo{a:b}; reason: no metric name "foo{a:b}" found"#,
            r#"invalid threshold "count>1" applied on metric http_req_duration; reason: unsupported aggregation method count on metric of type trend. supported aggregation methods for this metric are: avg, min, max, med, p"#,
            r#"invalid threshold "value>1" applied on metric http_reqs; reason: unsupported aggregation method value on metric of type counter. supported aggregation methods for this metric are: count, rate"#,
            r#"invalid threshold "rate>1" applied on metric vus; reason: unsupported aggregation method rate on metric of type gauge. supported aggregation methods for this metric are: value"#,
            r#"invalid threshold "avg>1" applied on metric checks{a:b}; reason: unsupported aggregation method avg on metric of type rate. supported aggregation methods for this metric are: rate"#,
            r#"invalid threshold "min>1" applied on metric my_gauge; reason: unsupported aggregation method min on metric of type gauge. supported aggregation methods for this metric are: value"#,
        ]
    );
}

#[test]
fn evaluates_metrics_and_submetrics() {
    let mut th = thresholds(vec![
        spec("http_req_duration", "max<=400"),
        spec("http_req_duration", "avg<200"),
        spec("http_req_duration{name:a}", "avg==200"),
        spec("http_req_duration{name:a}", "p(50)<250"),
        spec("http_reqs", "count>=4"),
        spec("http_reqs", "rate==2"),
        spec("checks", "rate>=0.5"),
        spec("checks{name:b}", "rate>0"),
    ]);
    let eval = th.evaluate(&store(), secs(2));
    assert!(!eval.all_ok);
    assert!(!eval.abort);
    assert_eq!(eval.breached, ["checks{name:b}", "http_req_duration"]);

    let results = th.results();
    let flat: Vec<(String, String, bool, Option<f64>)> = results
        .iter()
        .flat_map(|g| {
            g.thresholds
                .iter()
                .map(|t| (g.name.clone(), t.source.clone(), t.ok, t.observed))
        })
        .collect();
    let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() <= b * 1e-3;
    assert!(flat[0].2);
    assert_eq!((flat[1].2, flat[1].3), (false, Some(250.0)));
    assert_eq!(flat[2].0, "http_req_duration{name:a}");
    assert!(flat[2].2);
    assert!(close(flat[3].3, 200.0) && flat[3].2);
    assert_eq!((flat[4].2, flat[4].3), (true, Some(4.0)));
    assert_eq!((flat[5].2, flat[5].3), (true, Some(2.0)));
    assert_eq!((flat[6].2, flat[6].3), (true, Some(0.5)));
    assert_eq!((flat[7].2, flat[7].3), (false, Some(0.0)));
}

#[test]
fn empty_submetrics_at_the_end_are_zero_and_empty_rates_pass() {
    // k6 v1.1.0: a threshold on a sub-metric without samples is evaluated on an
    // empty sink at the end (counter count 0, trend avg 0, gauge value 0) and a
    // rate without samples passes whatever the expression.
    let reg = Registry::new();
    reg.register("my_gauge", MetricType::Gauge, ValueType::Default)
        .unwrap();
    let th = Thresholds::new(vec![
        spec("http_reqs{name:zzz}", "count<1"),
        spec("http_reqs{name:zzz}", "count>1"),
        spec("http_req_duration{name:zzz}", "avg>1"),
        spec("http_req_duration{name:zzz}", "p(95)<1"),
        spec("checks{name:zzz}", "rate>0.5"),
        spec("checks{name:zzz}", "rate<0.5"),
        spec("my_gauge", "value>1"),
    ])
    .unwrap();
    assert!(th.validate(&reg).is_empty());
    let mut th = th;

    let running = th.evaluate_running(&store(), secs(1));
    assert!(running.all_ok, "nothing evaluated while empty");
    assert!(th
        .results()
        .iter()
        .all(|g| g.thresholds.iter().all(|t| t.ok && t.observed.is_none())));

    let end = th.evaluate(&store(), secs(1));
    assert_eq!(
        end.breached,
        [
            "http_req_duration{name:zzz}",
            "http_reqs{name:zzz}",
            "my_gauge"
        ]
    );
    let oks: Vec<bool> = th
        .results()
        .iter()
        .flat_map(|g| g.thresholds.iter().map(|t| t.ok))
        .collect();
    assert_eq!(oks, [true, false, false, true, true, true, false]);
}

#[test]
fn abort_on_fail_respects_delay() {
    let mut abort = spec("http_req_duration", "avg<100");
    abort.abort_on_fail = true;
    abort.delay_abort_eval = Some(secs(10));
    let mut th = thresholds(vec![abort, spec("http_reqs", "count<1")]);
    assert!(th.has_abort_on_fail());
    let s = store();

    let early = th.evaluate_running(&s, secs(10));
    assert!(!early.all_ok);
    assert!(!early.abort, "not before the delay has passed");
    let late = th.evaluate_running(&s, secs(11));
    assert!(late.abort);
    assert_eq!(
        late.abort_message(),
        "thresholds on metrics 'http_req_duration, http_reqs' were crossed; at least one has \
         abortOnFail enabled, stopping test prematurely"
    );

    // Without a delay: abort at once. A plain failing threshold never aborts.
    let mut now = spec("http_req_duration", "avg<100");
    now.abort_on_fail = true;
    let mut th = thresholds(vec![now]);
    assert!(th.evaluate_running(&s, Duration::ZERO).abort);
    let mut th = thresholds(vec![spec("http_req_duration", "avg<100")]);
    let eval = th.evaluate(&s, secs(100));
    assert!(!eval.abort && !eval.all_ok);
    assert_eq!(
        eval.failure_message(),
        "thresholds on metrics 'http_req_duration' have been crossed"
    );
}

#[test]
fn the_latest_evaluation_decides() {
    let mut th = thresholds(vec![spec("http_reqs", "count>=6")]);
    let mut s = store();
    assert!(!th.evaluate_running(&s, secs(1)).all_ok);
    assert!(!th.results()[0].thresholds[0].ok);
    let mut sink = Sink::new();
    sink.add(Builtin::HttpReqs.metric(), &TagSet::empty(), 2.0, 0);
    s.apply(&sink.take(1, 2));
    assert!(th.evaluate(&s, secs(2)).all_ok);
    assert!(th.results()[0].thresholds[0].ok);
}

#[test]
fn equivalent_selectors_share_a_group() {
    let th = thresholds(vec![
        spec(r#"checks{ name : "a" }"#, "rate>0"),
        spec("checks{name:'a'}", "rate>0.5"),
        spec("checks", "rate>0"),
        spec("http_reqs{vu:1}", "count>0"),
    ]);
    let results = th.results();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].name, r#"checks{name : "a"}"#);
    assert_eq!(results[0].thresholds.len(), 2);
    let subs: Vec<String> = th
        .submetric_selectors()
        .iter()
        .map(Selector::name)
        .collect();
    assert_eq!(subs, [r#"checks{name : "a"}"#, "http_reqs{vu:1}"]);
    assert_eq!(th.selectors().len(), 3);
    assert_eq!(
        th.warnings(),
        [
            "The high-cardinality 'vu' metric tag was made non-indexable in k6 v0.41.0, so \
          thresholds like 'http_reqs{vu:1}' that are based on it won't work correctly."
        ]
    );
}

#[test]
fn custom_metrics_need_validate() {
    let reg = Registry::new();
    let m = reg
        .register("my_counter", MetricType::Counter, ValueType::Default)
        .unwrap();
    let mut sink = Sink::new();
    sink.add(m, &TagSet::empty(), 5.0, 0);
    let mut store = Store::new();
    store.apply(&sink.take(0, 1));

    let mut th = Thresholds::new(vec![spec("my_counter", "count<1")]).unwrap();
    assert!(th.evaluate(&store, secs(1)).all_ok, "unresolved: skipped");
    assert!(th.validate(&reg).is_empty());
    assert!(!th.evaluate(&store, secs(1)).all_ok);
}
