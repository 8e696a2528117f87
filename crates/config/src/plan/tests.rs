//! Resolution checked against what k6 v1.1.0 printed (`k6 run` headers,
//! `k6 inspect --execution-requirements`, error messages).

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::executor::ExecutorKind;
use crate::segment::{ExecutionSegment, ExecutionSegmentSequence};

fn plan(options: Value) -> Plan {
    Options::from_json(&options).unwrap().resolve().unwrap()
}

fn errors(options: Value) -> Vec<String> {
    Options::from_json(&options)
        .unwrap()
        .resolve()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn header(p: &Plan) -> Vec<String> {
    let mut lines = vec![p.scenarios_header()];
    lines.extend(
        p.scenario_descriptions()
            .into_iter()
            .map(|(n, d)| format!("* {n}: {d}")),
    );
    lines
}

#[test]
fn shortcuts_derive_the_default_scenario_like_k6_run() {
    let cases = [
        (json!({}), [
            "(100.00%) 1 scenario, 1 max VUs, 10m30s max duration (incl. graceful stop):",
            "* default: 1 iterations for each of 1 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
        ]),
        (json!({"vus": 2, "iterations": 4}), [
            "(100.00%) 1 scenario, 2 max VUs, 10m30s max duration (incl. graceful stop):",
            "* default: 4 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
        ]),
        // `k6 run` gives `vus` its flag default of 1 here; `k6 inspect` does not.
        (json!({"iterations": 10, "duration": "5s"}), [
            "(100.00%) 1 scenario, 1 max VUs, 35s max duration (incl. graceful stop):",
            "* default: 10 iterations shared among 1 VUs (maxDuration: 5s, gracefulStop: 30s)",
        ]),
        (json!({"vus": 10, "duration": "30s"}), [
            "(100.00%) 1 scenario, 10 max VUs, 1m0s max duration (incl. graceful stop):",
            "* default: 10 looping VUs for 30s (gracefulStop: 30s)",
        ]),
        (json!({"stages": [{"duration": "15s", "target": 100}, {"duration": "30s", "target": 100}, {"duration": "15s", "target": 0}]}), [
            "(100.00%) 1 scenario, 100 max VUs, 1m30s max duration (incl. graceful stop):",
            "* default: Up to 100 looping VUs for 1m0s over 3 stages (gracefulRampDown: 30s, gracefulStop: 30s)",
        ]),
    ];
    for (options, want) in cases {
        assert_eq!(header(&plan(options.clone())), want, "{options}");
    }
}

const SEVEN: &str = r#"{
    "a": {"executor": "shared-iterations", "vus": 2, "iterations": 10},
    "b": {"executor": "ramping-vus", "startVUs": 0, "stages": [{"duration": "10s", "target": 100}, {"duration": "10s", "target": 100}, {"duration": "5s", "target": 0}], "gracefulRampDown": "0s"},
    "c": {"executor": "constant-arrival-rate", "rate": 20, "timeUnit": "1s", "duration": "20s", "preAllocatedVUs": 50, "maxVUs": 100, "startTime": "5s"},
    "d": {"executor": "ramping-arrival-rate", "startRate": 3, "timeUnit": "1m", "stages": [{"duration": "10s", "target": 30}], "preAllocatedVUs": 5, "exec": "foo"},
    "e": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4, "maxDuration": "1m30s", "gracefulStop": "0s"},
    "f": {"executor": "constant-vus", "vus": 7, "duration": "1h2m", "env": {"A": "1"}, "tags": {"x": "y"}},
    "g": {"executor": "externally-controlled", "vus": 2, "maxVUs": 10, "duration": "10m"}
}"#;

#[test]
fn seven_scenarios_match_k6_header() {
    let scenarios: Value = serde_json::from_str(SEVEN).unwrap();
    let p = plan(json!({ "scenarios": scenarios }));
    assert_eq!(header(&p), [
        "(100.00%) 7 scenarios, 227 max VUs, 1h2m30s max duration (incl. graceful stop):",
        "* a: 10 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
        "* b: Up to 100 looping VUs for 25s over 3 stages (gracefulRampDown: 0s, gracefulStop: 30s)",
        "* d: Up to 0.50 iterations/s for 10s over 1 stages (maxVUs: 5, exec: foo, gracefulStop: 30s)",
        "* e: 4 iterations for each of 3 VUs (maxDuration: 1m30s)",
        "* f: 7 looping VUs for 1h2m0s (gracefulStop: 30s)",
        "* g: Externally controlled execution with 2 VUs, 10 max VUs, 10m0s duration",
        "* c: 20.00 iterations/s for 20s (maxVUs: 50-100, startTime: 5s, gracefulStop: 30s)",
    ]);
    let f = p.scenarios.iter().find(|s| s.name == "f").unwrap();
    assert_eq!(
        (f.env["A"].as_str(), f.tags["x"].as_str(), f.exec_fn()),
        ("1", "y", DEFAULT_EXEC)
    );
    let inspect = p.to_inspect_json(true);
    assert_eq!(
        (&inspect["totalDuration"], &inspect["maxVUs"]),
        (&json!("1h2m30s"), &json!(227))
    );
}

const SEGMENTED: &str = r#"{
    "a": {"executor": "shared-iterations", "vus": 3, "iterations": 10},
    "b": {"executor": "ramping-vus", "startVUs": 1, "stages": [{"duration": "10s", "target": 7}, {"duration": "5s", "target": 0}]},
    "c": {"executor": "constant-arrival-rate", "rate": 7, "timeUnit": "1s", "duration": "20s", "preAllocatedVUs": 5, "maxVUs": 9},
    "d": {"executor": "ramping-arrival-rate", "startRate": 3, "timeUnit": "1s", "stages": [{"duration": "10s", "target": 30}], "preAllocatedVUs": 5, "maxVUs": 11},
    "e": {"executor": "per-vu-iterations", "vus": 5, "iterations": 4},
    "f": {"executor": "constant-vus", "vus": 7, "duration": "2s"},
    "g": {"executor": "externally-controlled", "vus": 2, "maxVUs": 10, "duration": "0s"}
}"#;

#[test]
fn segmented_headers_match_k6() {
    let scenarios: Value = serde_json::from_str(SEGMENTED).unwrap();
    for (segment, sequence, want) in [
        (
            "0:1/3",
            Some("0,1/3,2/3,1"),
            "(33.33%) 7 scenarios, 20 max VUs, 10m30s max duration (incl. graceful stop):",
        ),
        (
            "1/3:2/3",
            Some("0,1/3,2/3,1"),
            "(33.33%) 7 scenarios, 17 max VUs, 10m30s max duration (incl. graceful stop):",
        ),
        (
            "2/3:1",
            Some("0,1/3,2/3,1"),
            "(33.33%) 7 scenarios, 15 max VUs, 10m30s max duration (incl. graceful stop):",
        ),
        (
            "1/2",
            None,
            "(50.00%) 7 scenarios, 29 max VUs, 10m30s max duration (incl. graceful stop):",
        ),
    ] {
        let mut o = Options::from_json(&json!({ "scenarios": scenarios })).unwrap();
        o.execution_segment = Some(ExecutionSegment::parse(segment).unwrap());
        o.execution_segment_sequence =
            sequence.map(|s| ExecutionSegmentSequence::parse(s).unwrap());
        let p = o.resolve().unwrap();
        assert_eq!(p.scenarios_header(), want, "{segment}");
        assert!(!p.ends_by_itself());
    }
}

#[test]
fn inspect_with_requirements_matches_k6_for_empty_options() {
    // `k6 inspect --execution-requirements` of `export const options = {}`.
    let expected = json!({
        "paused": null, "vus": null, "duration": null, "iterations": null, "stages": null,
        "scenarios": {"default": {"executor": "per-vu-iterations", "startTime": null, "gracefulStop": null,
            "env": null, "exec": null, "tags": null, "vus": null, "iterations": null, "maxDuration": null}},
        "executionSegment": null, "executionSegmentSequence": null, "noSetup": null, "setupTimeout": null,
        "noTeardown": null, "teardownTimeout": null, "rps": null,
        "dns": {"ttl": null, "select": null, "policy": null},
        "maxRedirects": null, "userAgent": null, "batch": null, "batchPerHost": null, "httpDebug": null,
        "insecureSkipTLSVerify": null, "tlsCipherSuites": null, "tlsVersion": null, "tlsAuth": null,
        "throw": null, "thresholds": null, "blacklistIPs": null, "blockHostnames": null, "hosts": null,
        "noConnectionReuse": null, "noVUConnectionReuse": null, "minIterationDuration": null, "ext": null,
        "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)"], "summaryTimeUnit": null,
        "systemTags": ["check", "error", "error_code", "expected_response", "group", "method", "name",
            "proto", "scenario", "service", "status", "subproto", "tls_version", "url"],
        "tags": null, "metricSamplesBufferSize": null, "noCookiesReset": null, "discardResponseBodies": null,
        "totalDuration": "10m30s", "maxVUs": 1,
    });
    let got = plan(json!({})).to_inspect_json(true);
    assert_eq!(got, expected);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&got), keys(&expected));
}

#[test]
fn inspect_totals_match_k6() {
    let env = |pairs: &[(&str, &str)]| {
        let vars: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Options::from_env(&vars).unwrap()
    };
    for (options, want_scenario, total, max_vus) in [
        (
            Options::from_json(&json!({"vus": "10", "duration": "10s"})).unwrap(),
            json!({"executor": "constant-vus", "startTime": null, "gracefulStop": null, "env": null, "exec": null,
                   "tags": null, "vus": 10, "duration": "10s"}),
            "40s",
            10,
        ),
        (
            Options::from_json(&json!({"stages": [{"duration": "10s", "target": 5}], "vus": 3}))
                .unwrap(),
            json!({"executor": "ramping-vus", "startTime": null, "gracefulStop": null, "env": null, "exec": null,
                   "tags": null, "startVUs": 3, "stages": [{"duration": "10s", "target": 5}], "gracefulRampDown": null}),
            "40s",
            5,
        ),
        (
            env(&[("K6_STAGES", "30s:10,1m:0")]),
            json!({"executor": "ramping-vus", "startTime": null, "gracefulStop": null, "env": null, "exec": null,
                   "tags": null, "startVUs": null,
                   "stages": [{"duration": "30s", "target": 10}, {"duration": "1m0s", "target": 0}], "gracefulRampDown": null}),
            "2m0s",
            10,
        ),
        (
            Options::from_json(&json!({"duration": "10s"}))
                .unwrap()
                .merge(env(&[("K6_ITERATIONS", "7"), ("K6_VUS", "2")])),
            json!({"executor": "shared-iterations", "startTime": null, "gracefulStop": null, "env": null, "exec": null,
                   "tags": null, "vus": 2, "iterations": 7, "maxDuration": null}),
            "10m30s",
            2,
        ),
    ] {
        let j = options.resolve().unwrap().to_inspect_json(true);
        assert_eq!(j["scenarios"]["default"], want_scenario);
        assert_eq!(
            (&j["totalDuration"], &j["maxVUs"]),
            (&json!(total), &json!(max_vus))
        );
    }
}

#[test]
fn env_vus_keeps_script_scenarios_but_env_duration_replaces_them() {
    let script = Options::from_json(
        &json!({"scenarios": {"a": {"executor": "constant-vus", "vus": 2, "duration": "10s"}}}),
    )
    .unwrap();
    let vus_only = Options {
        vus: Some(5),
        ..Options::default()
    };
    let p = script.clone().merge(vus_only.clone()).resolve().unwrap();
    assert_eq!((p.scenarios[0].name.as_str(), p.max_vus()), ("a", 2));
    let with_duration = Options {
        duration: Some(crate::K6Duration::from_secs(20)),
        ..vus_only
    };
    let p = script.merge(with_duration).resolve().unwrap();
    assert_eq!(
        p.scenarios_header(),
        "(100.00%) 1 scenario, 5 max VUs, 50s max duration (incl. graceful stop):"
    );
}

#[test]
fn every_scenario_error_is_reported_with_k6_wording() {
    let got = errors(json!({"scenarios": {
        "a": {"executor": "shared-iterations", "vus": 0, "iterations": -1, "maxDuration": "0s"},
        "b": {"executor": "ramping-vus", "stages": []},
        "c": {"executor": "constant-arrival-rate"},
        "d": {"executor": "ramping-arrival-rate", "stages": [{"target": -1}], "timeUnit": "-1s", "maxVUs": 2, "preAllocatedVUs": 3, "startRate": -1},
        "e": {"executor": "per-vu-iterations", "vus": 0, "iterations": 0},
        "f": {"executor": "constant-vus", "vus": -2, "duration": "-10s", "startTime": "-1s", "gracefulStop": "-1s", "exec": ""},
        "g": {"executor": "externally-controlled", "vus": 6, "maxVUs": 5, "gracefulStop": "1s"},
        "h h": {"executor": "ramping-vus", "startVUs": 100000001, "stages": [{"duration": "1s", "target": 100000002}]},
    }}));
    assert_eq!(got, [
        "scenario \"a\": the number of VUs must be more than 0",
        "scenario \"a\": the number of iterations (-1) can't be less than the number of VUs (0)",
        "scenario \"a\": the maxDuration must be at least 1s, but is 0s",
        "scenario \"b\": at least one stage has to be specified",
        "scenario \"c\": the iteration rate isn't specified",
        "scenario \"c\": the duration is unspecified",
        "scenario \"c\": the number of preAllocatedVUs isn't specified",
        "scenario \"d\": the startRate value can't be negative",
        "scenario \"d\": the timeUnit must be more than 0",
        "scenario \"d\": stage 1 doesn't have a duration",
        "scenario \"d\": the target for stage 1 can't be negative",
        "scenario \"d\": maxVUs can't be less than preAllocatedVUs",
        "scenario \"e\": the number of VUs must be more than 0",
        "scenario \"e\": the number of iterations must be more than 0",
        "scenario \"f\": exec value cannot be empty",
        "scenario \"f\": the startTime can't be negative",
        "scenario \"f\": the gracefulStop timeout can't be negative",
        "scenario \"f\": the number of VUs must be more than 0",
        "scenario \"f\": the duration must be at least 1s, but is -10s",
        "scenario \"g\": the number of active VUs (6) must be less than or equal to the number of maxVUs (5)",
        "scenario \"g\": the duration must be specified, for infinite duration use 0",
        "scenario \"g\": gracefulStop is not supported by the externally controlled executor",
        "scenario \"h h\": the scenario name should contain only numbers, latin letters, underscores, and dashes",
        "scenario \"h h\": the startVUs exceed max limit of 100000000",
        "scenario \"h h\": target for stage 1 exceeds max limit of 100000000",
    ]);
}

#[test]
fn shortcut_conflicts_use_k6_messages() {
    let scenario = json!({"a": {"executor": "constant-vus", "duration": "1s"}});
    let stages = json!([{"duration": "10s", "target": 5}]);
    for (options, want) in [
        (json!({"stages": stages, "duration": "5s"}), "using `duration` and `stages` options simultaneously is not allowed"),
        (json!({"stages": stages, "iterations": 5}), "using `iterations` and `stages` options simultaneously is not allowed"),
        (json!({"stages": stages, "scenarios": scenario}), "using `stages` and `scenarios` options simultaneously is not allowed"),
        (json!({"stages": stages, "scenarios": {}}), "using `stages` and `scenarios` options simultaneously is not allowed"),
        (json!({"iterations": 5, "scenarios": scenario}), "using `iterations` and `scenarios` options simultaneously is not allowed"),
        (json!({"duration": "5s", "scenarios": scenario}), "using `duration` and `scenarios` options simultaneously is not allowed"),
        (json!({"vus": 10, "duration": "0s"}), "`duration` option should be more than 0, for infinite duration use the externally-controlled executor"),
        (json!({"vus": 10, "duration": "-1s"}), "`duration` option should be more than 0, for infinite duration use the externally-controlled executor"),
        (json!({"vus": 10, "duration": "100"}), "scenario \"default\": the duration must be at least 1s, but is 100ms"),
        (json!({"vus": 20, "iterations": 10}), "scenario \"default\": the number of iterations (10) can't be less than the number of VUs (20)"),
        (json!({"vus": 0, "duration": "10s"}), "scenario \"default\": the number of VUs must be more than 0"),
    ] {
        assert_eq!(errors(options.clone()), [want], "{options}");
    }
}

#[test]
fn ignored_shortcuts_warn_like_k6() {
    for (options, warning) in [
        (json!({"vus": 2}), "the `vus=2` option will be ignored, it only works in conjunction with `iterations`, `duration`, or `stages`"),
        (json!({"vus": 0}), "the `vus=0` option will be ignored, it only works in conjunction with `iterations`, `duration`, or `stages`"),
        (json!({"stages": []}), "`stages` was explicitly set to an empty value, running the script with 1 iteration in 1 VU"),
        (json!({"scenarios": {}}), "`scenarios` was explicitly set to an empty value, running the script with 1 iteration in 1 VU"),
    ] {
        let p = plan(options.clone());
        assert_eq!(p.warnings, [warning], "{options}");
        assert_eq!(p.scenarios[0].executor.kind(), ExecutorKind::PerVuIterations);
    }
    assert!(plan(json!({"vus": 1})).warnings.is_empty());
    // `stages: []` does not conflict with a duration: it just yields to it.
    assert_eq!(
        plan(json!({"vus": 2, "duration": "1m", "stages": []})).scenarios[0]
            .executor
            .kind(),
        ExecutorKind::ConstantVus
    );
}

#[test]
fn defaults_and_settings() {
    let p = plan(json!({}));
    assert_eq!(p.run.setup_timeout, Duration::from_secs(60));
    assert_eq!(p.run.teardown_timeout, Duration::from_secs(60));
    assert_eq!(p.http.max_redirects, 10);
    assert_eq!((p.http.batch, p.http.batch_per_host), (20, 6));
    assert_eq!(p.http.user_agent, None);
    assert_eq!(
        p.summary.trend_stats,
        ["avg", "min", "med", "max", "p(90)", "p(95)"]
    );
    assert_eq!(p.run.system_tags.len(), 14);
    assert!(p.tuple.segment().is_full());

    let p = plan(json!({
        "thresholds": {"http_req_duration": ["p(95)<200", {"threshold": "avg<100", "abortOnFail": true, "delayAbortEval": "10s"}],
                       "checks": ["rate>0.9"]},
        "setupTimeout": "2m", "rps": 0, "maxRedirects": 0, "userAgent": "x",
    }));
    assert_eq!(
        p.thresholds,
        [
            ThresholdSpec {
                selector: "http_req_duration".into(),
                expr: "p(95)<200".into(),
                abort_on_fail: false,
                delay_abort_eval: None
            },
            ThresholdSpec {
                selector: "http_req_duration".into(),
                expr: "avg<100".into(),
                abort_on_fail: true,
                delay_abort_eval: Some(Duration::from_secs(10))
            },
            ThresholdSpec {
                selector: "checks".into(),
                expr: "rate>0.9".into(),
                abort_on_fail: false,
                delay_abort_eval: None
            },
        ]
    );
    assert_eq!(
        (p.run.setup_timeout, p.http.rps, p.http.max_redirects),
        (Duration::from_secs(120), None, 0)
    );
    assert_eq!(p.http.user_agent.as_deref(), Some("x"));

    assert_eq!(
        errors(json!({"setupTimeout": "-1s", "maxRedirects": -1, "batch": -2})),
        [
            "invalid value for setupTimeout: must not be negative, got -1s",
            "invalid value for maxRedirects: must not be negative, got -1",
            "invalid value for batch: must not be negative, got -2",
        ]
    );
}

#[test]
fn segment_must_belong_to_the_sequence() {
    let got = errors(json!({"executionSegment": "0:1/3", "executionSegmentSequence": "0,1/2,1"}));
    assert_eq!(
        got,
        ["provided segment 0:1/3 can't be found in sequence 0,1/2,1"]
    );
}

#[test]
fn exec_functions_must_be_exported() {
    let p = plan(json!({"scenarios": {
        "a": {"executor": "constant-vus", "duration": "1s", "exec": "nope"},
        "b": {"executor": "constant-vus", "duration": "1s"},
    }}));
    let exported = |name: &str| name == "default";
    let got: Vec<String> = p
        .check_exec(exported)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        ["scenario \"a\": function 'nope' not found in exports"]
    );
    assert!(p.check_exec(|_| true).is_ok());
}

#[test]
fn overlapping_scenarios_add_up_over_time() {
    let p = plan(json!({"scenarios": {
        "first": {"executor": "constant-vus", "vus": 5, "duration": "10s", "gracefulStop": "0s"},
        "second": {"executor": "constant-vus", "vus": 3, "duration": "10s", "startTime": "5s", "gracefulStop": "0s"},
        "later": {"executor": "constant-vus", "vus": 4, "duration": "10s", "startTime": "15s", "gracefulStop": "0s"},
    }}));
    let steps: Vec<(u64, u64)> = p
        .execution_requirements()
        .iter()
        .map(|s| (s.time_offset.as_secs(), s.planned_vus))
        .collect();
    // As in k6, same-instant changes of different scenarios stay separate
    // steps: "second" ends at 15s just as "later" starts.
    assert_eq!(steps, [(0, 5), (5, 8), (10, 3), (15, 0), (15, 4), (25, 0)]);
    assert_eq!(
        (p.max_vus(), p.max_duration()),
        (8, Duration::from_secs(25))
    );
    assert_eq!(
        p.scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["first", "second", "later"]
    );
}
