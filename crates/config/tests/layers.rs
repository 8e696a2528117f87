//! The whole configuration pipeline against `k6 run` (v1.1.0) with a
//! `--config` file, script options, `K6_*` variables and flags.

mod common;

use common::{env, header, pipeline};
use serde_json::json;
use stampede_config::{render_errors, Options};

fn file() -> serde_json::Value {
    json!({"vus": 3, "userAgent": "file", "scenarios": {"fromfile": {"executor": "per-vu-iterations", "vus": 1}}})
}

#[test]
fn script_shortcut_replaces_file_scenarios() {
    // k6 run --config cf.json cs.js
    let (plan, warnings) = pipeline(
        file(),
        json!({"duration": "10s"}),
        Options::default(),
        Options::default(),
    )
    .unwrap();
    assert_eq!(
        warnings,
        ["\"script\" level configuration overrode scenarios configuration entirely"]
    );
    assert_eq!(
        header(&plan),
        [
            "(100.00%) 1 scenario, 3 max VUs, 40s max duration (incl. graceful stop):",
            "* default: 3 looping VUs for 10s (gracefulStop: 30s)",
        ]
    );
    assert_eq!(plan.http.user_agent.as_deref(), Some("file"));
}

#[test]
fn env_and_flags_win_over_script() {
    // K6_ITERATIONS=6 k6 run --config cf.json -u 2 cs.js
    let cli = Options {
        vus: Some(2),
        ..Options::default()
    };
    let (plan, warnings) = pipeline(
        file(),
        json!({"duration": "10s"}),
        env(&[("K6_ITERATIONS", "6")]),
        cli,
    )
    .unwrap();
    assert_eq!(
        warnings,
        ["\"script\" level configuration overrode scenarios configuration entirely"]
    );
    assert_eq!(
        header(&plan),
        [
            "(100.00%) 1 scenario, 2 max VUs, 10m30s max duration (incl. graceful stop):",
            "* default: 6 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
        ]
    );
}

#[test]
fn all_problems_of_all_layers_are_reported_with_exit_code_104() {
    let errors = pipeline(
        json!({"vu": 3}),
        json!({}),
        Options::default(),
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "unknown option \"vu\"; did you mean \"vus\"?"
    );

    let script = json!({"scenarios": {
        "a": {"executor": "constant-vus", "vus": 0, "duration": "10s"},
        "b": {"executor": "constant-arrival-rate", "rate": 0, "duration": "1m", "preAllocatedVUs": 1},
    }});
    let errors = pipeline(json!({}), script, Options::default(), Options::default()).unwrap_err();
    assert_eq!(
        render_errors(&errors),
        "There were problems with the specified script configuration:\n\
         \t- scenario \"a\": the number of VUs must be more than 0\n\
         \t- scenario \"b\": the iteration rate must be more than 0"
    );
}

#[test]
fn segments_from_flags_split_the_plan() {
    let script = json!({"vus": 10, "duration": "30s"});
    let mut vus = 0;
    for segment in ["0:1/4", "1/4:1/2", "1/2:3/4", "3/4:1"] {
        let cli = Options {
            execution_segment: Some(segment.parse().unwrap()),
            execution_segment_sequence: Some("0,1/4,1/2,3/4,1".parse().unwrap()),
            ..Options::default()
        };
        let (plan, _) = pipeline(json!({}), script.clone(), Options::default(), cli).unwrap();
        assert!(plan.scenarios_header().starts_with("(25.00%) 1 scenario"));
        vus += plan.max_vus();
    }
    assert_eq!(vus, 10);
}
