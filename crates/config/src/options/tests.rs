//! Parsing and merging layers, checked against k6 v1.1.0's behaviour.

use serde_json::json;

use super::*;
use crate::error::ConfigError;

fn script(v: Value) -> Options {
    Options::from_json(&v).unwrap()
}

fn script_errors(v: Value) -> Vec<String> {
    Options::from_json(&v)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn env(pairs: &[(&str, &str)]) -> Result<Options, Vec<ConfigError>> {
    let vars: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Options::from_env(&vars)
}

#[test]
fn reads_every_kind_of_value() {
    let o = script(json!({
        "vus": "10", "duration": 1500.5, "iterations": 2.0, "paused": false,
        "stages": [{"duration": "30s", "target": 10}],
        "setupTimeout": "2m", "teardownTimeout": 5000, "rps": 10, "maxRedirects": 3,
        "userAgent": "ua", "batch": 5, "batchPerHost": 2, "httpDebug": "full",
        "insecureSkipTLSVerify": true, "tlsVersion": {"min": "tls1.2", "max": "tls1.3"},
        "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"], "throw": true,
        "blacklistIPs": ["10.0.0.0/8"], "blockHostnames": ["*.x.com"],
        "hosts": {"a.com": "1.2.3.4", "b.com": "1.2.3.4:8080"},
        "noConnectionReuse": true, "noVUConnectionReuse": false, "minIterationDuration": "1s",
        "ext": {"loadimpact": {"name": "x"}}, "summaryTrendStats": ["avg", "p(99.9)"],
        "summaryTimeUnit": "ms", "systemTags": ["url", "method"], "tags": {"a": "b"},
        "metricSamplesBufferSize": 5, "noCookiesReset": true, "discardResponseBodies": true,
        "dns": {"ttl": "1m", "select": "first", "policy": "any"},
        "executionSegment": "1/2:1", "executionSegmentSequence": "0,1/2,1", "cloud": {"name": "x"},
    }));
    assert_eq!(o.vus, Some(10));
    assert_eq!(o.duration.unwrap().to_string(), "1.5005s");
    assert_eq!(o.iterations, Some(2));
    assert_eq!(o.teardown_timeout.unwrap().to_string(), "5s");
    assert_eq!(o.hosts.as_ref().unwrap()[1].1.port, Some(8080));
    assert_eq!(o.dns.select, Some(DnsSelect::First));
    assert_eq!(o.execution_segment.unwrap().to_string(), "1/2:1");
    assert_eq!(o.summary_time_unit, Some(SummaryTimeUnit::Milliseconds));
}

#[test]
fn unknown_options_are_errors_with_hints() {
    assert_eq!(script_errors(json!({"vu": 2, "foo": 1, "noThresholds": true})), [
        "unknown option \"vu\"; did you mean \"vus\"?",
        "unknown option \"foo\"",
        "unknown option \"noThresholds\"; it can only be set with --no-thresholds or K6_NO_THRESHOLDS",
    ]);
    // The config file knows a few more keys than scripts do.
    let file = Options::from_config_json(
        &json!({"vus": 2, "out": ["json=o.json"], "noUsageReport": true}),
    )
    .unwrap();
    assert_eq!(file.out, Some(vec!["json=o.json".to_owned()]));
    assert!(Options::from_json(&json!({"out": "json"})).is_err());
}

#[test]
fn every_bad_value_is_reported() {
    assert_eq!(
        script_errors(json!({
            "vus": 1.5, "throw": 1, "userAgent": 5, "duration": "abc", "thresholds": {"x": "p(95)<1"},
            "tlsVersion": "tls1.5", "summaryTrendStats": ["foo"], "summaryTimeUnit": "h",
            "hosts": {"a.com": "localhost"}, "systemTags": ["foo"], "executionSegment": "55%:50%",
        })),
        [
            "invalid value for vus: expected an integer, got 1.5",
            "invalid value for throw: expected true or false, got 1",
            "invalid value for userAgent: expected a string, got 5",
            "invalid value for duration: invalid duration \"abc\"",
            "invalid value for thresholds[\"x\"]: expected an array of thresholds, got the string \"p(95)<1\"",
            "invalid value for tlsVersion: unknown TLS version 'tls1.5'",
            "invalid value for summaryTrendStats: invalid trend stat 'foo', unknown format",
            "invalid value for summaryTimeUnit: invalid summary time unit 'h', use 's', 'ms' or 'us'",
            "invalid value for hosts: a.com: \"localhost\" is not an IP address (optionally with a port)",
            "invalid value for systemTags: unknown system tag 'foo'",
            "invalid value for executionSegment: segment start(0.55) must be less than its end(0.50)",
        ]
    );
}

#[test]
fn env_uses_k6_names_and_syntax() {
    let o = env(&[
        ("K6_VUS", "5"),
        ("K6_STAGES", "30s:10,1m:0"),
        ("K6_TAGS", "a:b,c:d"),
        ("K6_SUMMARY_TREND_STATS", "avg,p(99)"),
        ("K6_NO_THRESHOLDS", "1"),
        ("K6_THROW", "true"),
        ("K6_USER_AGENT", "foo"),
        ("K6_DNS", "ttl=1m"),
        ("K6_SETUP_TIMEOUT", "10s"),
        ("K6_SUMMARY_MODE", "full"),
        ("HOME", "/root"),
        ("K6_CLOUD_TOKEN", "ignored"),
    ])
    .unwrap();
    assert_eq!(o.vus, Some(5));
    assert_eq!(
        o.stages.as_ref().unwrap()[1],
        RawStage {
            duration: Some(K6Duration::from_secs(60)),
            target: Some(0)
        }
    );
    assert_eq!(o.tags.as_ref().unwrap()["c"], "d");
    assert_eq!(o.no_thresholds, Some(true));
    assert_eq!(o.throw, Some(true));
    assert_eq!(o.summary_mode, Some(SummaryMode::Full));
    assert_eq!(
        o.dns.ttl,
        Some(DnsTtl::For(std::time::Duration::from_secs(60)))
    );

    let errors: Vec<String> = env(&[
        ("K6_THROW", "1"),
        ("K6_VUS", "abc"),
        ("K6_TAGS", "a=b"),
        ("K6_SUMMARY_MODE", "bogus"),
    ])
    .unwrap_err()
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(errors, [
        "invalid environment variable K6_THROW: \"1\" is not a valid boolean, use true or false",
        "invalid environment variable K6_VUS: \"abc\" is not an integer",
        "invalid environment variable K6_TAGS: invalid map item: \"a=b\", expected name:value",
        "invalid environment variable K6_SUMMARY_MODE: invalid summary mode 'bogus', use 'compact', 'full' or 'legacy'",
    ]);
}

#[test]
fn higher_layers_win_field_by_field() {
    let file = Options {
        vus: Some(1),
        user_agent: Some("file".into()),
        max_redirects: Some(3),
        ..Options::default()
    };
    let script = Options {
        vus: Some(2),
        ..Options::default()
    };
    let merged = file.merge(script);
    assert_eq!(
        (
            merged.vus,
            merged.user_agent.as_deref(),
            merged.max_redirects
        ),
        (Some(2), Some("file"), Some(3))
    );
}

#[test]
fn execution_options_move_together() {
    // k6: `K6_VUS=5 K6_DURATION=20s` over a script with scenarios replaces
    // the scenarios; `K6_VUS=5` alone keeps them.
    let scenarios = script(
        json!({"scenarios": {"a": {"executor": "constant-vus", "vus": 2, "duration": "10s"}}}),
    );
    let kept = scenarios.clone().merge(env(&[("K6_VUS", "5")]).unwrap());
    assert!(kept.scenarios.is_some());
    assert_eq!(kept.vus, Some(5));
    let higher = env(&[("K6_VUS", "5"), ("K6_DURATION", "20s")]).unwrap();
    assert_eq!(
        scenarios
            .scenario_override_warning(&higher, "env")
            .as_deref(),
        Some("\"env\" level configuration overrode scenarios configuration entirely")
    );
    let replaced = scenarios.merge(higher);
    assert!(replaced.scenarios.is_none());
    assert_eq!(replaced.duration, Some(K6Duration::from_secs(20)));

    // `K6_ITERATIONS` over a script `duration` drops the duration.
    let merged = script(json!({"duration": "10s"})).merge(env(&[("K6_ITERATIONS", "7")]).unwrap());
    assert_eq!((merged.iterations, merged.duration), (Some(7), None));
}

#[test]
fn empty_tags_do_not_override() {
    let lower = Options {
        tags: Some([("a".to_owned(), "b".to_owned())].into()),
        ..Options::default()
    };
    let merged = lower.merge(Options {
        tags: Some(Default::default()),
        ..Options::default()
    });
    assert_eq!(merged.tags.unwrap().len(), 1);
}

#[test]
fn inspect_json_lists_every_key_in_k6_order() {
    let empty = Options::default().to_inspect_json();
    let keys: Vec<&str> = empty
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, &SCRIPT_KEYS[..SCRIPT_KEYS.len() - 1]);
    assert!(empty
        .as_object()
        .unwrap()
        .values()
        .filter(|v| !v.is_object())
        .all(Value::is_null));

    let o = script(json!({
        "scenarios": {"b": {"executor": "externally-controlled", "vus": 2, "duration": "0s"},
                      "a": {"executor": "constant-vus", "vus": 2, "duration": "10s"}},
        "thresholds": {"http_req_duration": ["p(95)<200", {"threshold": "avg<100", "abortOnFail": true, "delayAbortEval": "10s"}]},
        "tlsVersion": "tls1.2", "systemTags": ["url", "method"], "setupTimeout": "2m",
    }));
    let j = o.to_inspect_json();
    assert_eq!(
        j["scenarios"],
        json!({
            "a": {"executor": "constant-vus", "startTime": null, "gracefulStop": null, "env": null, "exec": null,
                  "tags": null, "vus": 2, "duration": "10s"},
            "b": {"executor": "externally-controlled", "startTime": null, "gracefulStop": null, "env": null,
                  "exec": null, "tags": null, "vus": 2, "duration": "0s", "maxVUs": 2},
        })
    );
    assert_eq!(
        j["thresholds"],
        json!({"http_req_duration": ["p(95)<200", {"threshold": "avg<100", "abortOnFail": true, "delayAbortEval": "10s"}]})
    );
    assert_eq!(j["tlsVersion"], json!({"min": "tls1.2", "max": "tls1.2"}));
    assert_eq!(j["systemTags"], json!(["method", "url"]));
    assert_eq!(j["setupTimeout"], json!("2m0s"));
}

#[test]
fn every_known_key_is_handled() {
    for key in SCRIPT_KEYS.iter().chain(CONFIG_FILE_KEYS) {
        let o = Options::from_config_json(&json!({ *key: null })).unwrap();
        assert!(!o.sets_execution(), "{key}");
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-50i64..500).prop_map(Value::from),
            (-5.0f64..50.0).prop_map(Value::from),
            prop::sample::select(vec![
                "",
                "0",
                "1s",
                "-1s",
                "10m",
                "1h30m",
                "abc",
                "2d",
                "100",
                "1/2",
                "0:1/3",
                "0,1/3,1",
                "50%",
                "tls1.2",
                "ms",
                "p(95)",
                "constant-vus",
                "ramping-vus",
                "shared-iterations",
                "per-vu-iterations",
                "constant-arrival-rate",
                "ramping-arrival-rate",
                "externally-controlled",
                "10.0.0.0/8",
                "1.2.3.4",
                "1e300",
                "9999999999h",
                "106751d",
                "99999999999999999999",
                "-9223372036854775808",
            ])
            .prop_map(Value::from),
            // Out of every range: Infinity-like, beyond i64 and u64.
            prop::sample::select(vec![1e300, -1e300, f64::MAX, 9.3e15, 1e-300, 4294967296.5])
                .prop_map(Value::from),
            prop::sample::select(vec![i64::MIN, i64::MAX, -1]).prop_map(Value::from),
            Just(Value::from(u64::MAX)),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let keys: Vec<&'static str> = SCRIPT_KEYS
            .iter()
            .copied()
            .chain([
                "executor",
                "vus",
                "stages",
                "target",
                "startVUs",
                "rate",
                "timeUnit",
                "preAllocatedVUs",
                "maxVUs",
            ])
            .chain([
                "threshold",
                "abortOnFail",
                "min",
                "max",
                "ttl",
                "select",
                "a",
            ])
            .collect();
        scalar().prop_recursive(3, 40, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(keys.clone()), inner), 0..6).prop_map(
                    |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                ),
            ]
        })
    }

    fn count() -> impl Strategy<Value = Value> {
        prop_oneof![8 => (-1i64..60).prop_map(Value::from), 1 => scalar()]
    }

    fn span() -> impl Strategy<Value = Value> {
        let spans = vec!["0s", "1s", "5s", "30s", "2m", "-1s", "500ms"];
        prop_oneof![8 => prop::sample::select(spans).prop_map(Value::from), 1 => (0i64..5000).prop_map(Value::from), 1 => scalar()]
    }

    /// A plausible value for `key`, sometimes of the wrong type.
    fn typed(key: &str) -> BoxedStrategy<Value> {
        match key {
            "duration" | "maxDuration" | "gracefulStop" | "startTime" | "gracefulRampDown"
            | "timeUnit" | "setupTimeout" => span().boxed(),
            _ => count().boxed(),
        }
    }

    fn stage() -> impl Strategy<Value = Value> {
        (span(), count()).prop_map(|(d, t)| json!({"duration": d, "target": t}))
    }

    fn scenario() -> impl Strategy<Value = Value> {
        let kinds: Vec<&str> = crate::executor::ExecutorKind::ALL
            .iter()
            .map(|k| k.name())
            .collect();
        (
            prop::sample::select(kinds),
            prop::collection::vec((0usize..12, scalar()), 0..8),
            prop::collection::vec(stage(), 0..4),
        )
            .prop_map(|(name, fields, stages)| {
                let kind = crate::executor::ExecutorKind::from_name(name).unwrap();
                let keys: Vec<&str> = kind
                    .keys()
                    .filter(|k| !matches!(*k, "executor" | "env" | "tags" | "options"))
                    .collect();
                let mut m = serde_json::Map::new();
                m.insert("executor".into(), name.into());
                for (i, v) in fields {
                    let key = keys[i % keys.len()];
                    let v = if key == "stages" {
                        Value::Array(stages.clone())
                    } else {
                        v
                    };
                    m.insert(key.into(), v);
                }
                Value::Object(m)
            })
    }

    fn structured() -> impl Strategy<Value = Value> {
        let top: Vec<&'static str> = [
            "vus",
            "duration",
            "iterations",
            "executionSegment",
            "executionSegmentSequence",
            "setupTimeout",
            "maxRedirects",
        ]
        .to_vec();
        (
            prop::collection::vec(scenario(), 0..4),
            prop::collection::vec(
                prop::sample::select(top).prop_flat_map(|k| typed(k).prop_map(move |v| (k, v))),
                0..4,
            ),
            prop::option::of(prop::collection::vec(stage(), 0..3)),
        )
            .prop_map(|(scenarios, fields, stages)| {
                let mut m = serde_json::Map::new();
                if !scenarios.is_empty() {
                    let named = scenarios
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| (format!("s{i}"), s))
                        .collect();
                    m.insert("scenarios".into(), Value::Object(named));
                }
                for (k, v) in fields {
                    m.insert(k.into(), v);
                }
                if let Some(stages) = stages {
                    m.insert("stages".into(), Value::Array(stages));
                }
                Value::Object(m)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Plausible options never panic, and resolved plans are coherent.
        #[test]
        fn structured_options_never_panic(options in structured()) {
            if let Ok(o) = Options::from_json(&options) {
                if let Ok(plan) = o.resolve() {
                    let _ = plan.scenarios_header();
                    prop_assert_eq!(plan.scenario_descriptions().len(), plan.scenarios.len());
                    let j = plan.to_inspect_json(true);
                    prop_assert_eq!(j["maxVUs"].as_u64(), Some(plan.max_vus()));
                    for s in &plan.scenarios {
                        if let crate::ExecutorConfig::RampingArrivalRate(e) = &s.executor {
                            let _ = e.iteration_starts(&plan.tuple).take(10_000).count();
                        }
                        if let crate::ExecutorConfig::ConstantArrivalRate(e) = &s.executor {
                            let _ = e.iteration_starts(&plan.tuple).take(10_000).count();
                        }
                    }
                }
            }
        }

        /// Arbitrary JSON never panics: it parses, resolves and describes,
        /// or reports errors.
        #[test]
        fn arbitrary_options_never_panic(options in value()) {
            if let Ok(o) = Options::from_json(&options) {
                if let Ok(plan) = o.resolve() {
                    let _ = plan.scenarios_header();
                    let _ = plan.scenario_descriptions();
                    let _ = plan.to_inspect_json(true);
                }
            }
        }

        /// `K6_*` variables with any value reach the checked parsers
        /// without panics, alone and merged over script options.
        #[test]
        fn arbitrary_environment_never_panics(
            vars in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "K6_VUS", "K6_DURATION", "K6_ITERATIONS", "K6_STAGES",
                        "K6_RPS", "K6_BATCH", "K6_MAX_REDIRECTS", "K6_SETUP_TIMEOUT",
                        "K6_TEARDOWN_TIMEOUT", "K6_MIN_ITERATION_DURATION", "K6_DNS",
                        "K6_EXECUTION_SEGMENT", "K6_EXECUTION_SEGMENT_SEQUENCE",
                        "K6_HTTP_DEBUG", "K6_SUMMARY_TREND_STATS", "K6_TAGS",
                    ]),
                    prop_oneof![
                        "\\PC{0,16}",
                        prop::sample::select(vec![
                            "1e300", "-1", "99999999999999999999", "9999999999h",
                            "106751d", "1:9999999999h", "NaN", "Infinity", "0x10",
                        ]).prop_map(String::from),
                    ],
                ),
                0..6,
            ),
            script in structured(),
        ) {
            let vars: Vec<(String, String)> =
                vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            if let Ok(env) = Options::from_env(&vars) {
                let base = Options::from_json(&script).unwrap_or_default();
                if let Ok(plan) = base.merge(env).resolve() {
                    let _ = plan.scenarios_header();
                    let _ = plan.to_inspect_json(true);
                }
            }
        }
    }
}
