//! Descriptions against what k6 v1.1.0 printed.

use std::time::Duration;

use super::*;

/// The scenarios of a script run with real k6 v1.1.0; descriptions copied
/// from its "scenarios:" header.
type HeaderScenario = (ExecutorConfig, Option<&'static str>, Duration, Duration);

fn header_scenarios() -> Vec<HeaderScenario> {
    use ExecutorConfig as E;
    let gs = DEFAULT_GRACEFUL_STOP;
    vec![
        (
            E::SharedIterations(SharedIterations {
                vus: 3,
                iterations: 10,
                max_duration: secs(600),
            }),
            None,
            Duration::ZERO,
            gs,
        ),
        (
            E::RampingVus(RampingVus {
                start_vus: 1,
                stages: stages(&[(10, 7), (5, 0)]),
                graceful_ramp_down: secs(30),
            }),
            None,
            Duration::ZERO,
            gs,
        ),
        (
            E::ConstantArrivalRate(ConstantArrivalRate {
                rate: 7,
                time_unit: secs(1),
                duration: secs(20),
                pre_allocated_vus: 5,
                max_vus: 9,
            }),
            None,
            Duration::ZERO,
            gs,
        ),
        (
            E::RampingArrivalRate(RampingArrivalRate {
                start_rate: 3,
                time_unit: secs(1),
                stages: stages(&[(10, 30)]),
                pre_allocated_vus: 5,
                max_vus: 11,
            }),
            None,
            Duration::ZERO,
            gs,
        ),
        (
            E::PerVuIterations(PerVuIterations {
                vus: 5,
                iterations: 4,
                max_duration: secs(600),
            }),
            None,
            Duration::ZERO,
            gs,
        ),
        (
            E::ConstantVus(ConstantVus {
                vus: 7,
                duration: secs(2),
            }),
            None,
            Duration::ZERO,
            gs,
        ),
        (
            E::ExternallyControlled(ExternallyControlled {
                vus: 2,
                max_vus: 10,
                duration: Duration::ZERO,
            }),
            None,
            Duration::ZERO,
            gs,
        ),
    ]
}

#[test]
fn descriptions_match_k6_output() {
    let cases: &[(&str, &str, [&str; 7])] = &[
        ("0:1/3", "0,1/3,2/3,1", [
            "4 iterations shared among 1 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "Up to 3 looping VUs for 15s over 2 stages (gracefulRampDown: 30s, gracefulStop: 30s)",
            "2.33 iterations/s for 20s (maxVUs: 2-3, gracefulStop: 30s)",
            "Up to 10.00 iterations/s for 10s over 1 stages (maxVUs: 2-4, gracefulStop: 30s)",
            "4 iterations for each of 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "3 looping VUs for 2s (gracefulStop: 30s)",
            "Externally controlled execution with 2 VUs, 10 max VUs, infinite duration",
        ]),
        ("1/3:2/3", "0,1/3,2/3,1", [
            "3 iterations shared among 1 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "Up to 2 looping VUs for 15s over 2 stages (gracefulRampDown: 30s, gracefulStop: 30s)",
            "2.33 iterations/s for 20s (maxVUs: 2-3, gracefulStop: 30s)",
            "Up to 10.00 iterations/s for 10s over 1 stages (maxVUs: 2-4, gracefulStop: 30s)",
            "4 iterations for each of 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "2 looping VUs for 2s (gracefulStop: 30s)",
            "Externally controlled execution with 2 VUs, 10 max VUs, infinite duration",
        ]),
        ("2/3:1", "0,1/3,2/3,1", [
            "3 iterations shared among 1 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "Up to 2 looping VUs for 15s over 2 stages (gracefulRampDown: 30s, gracefulStop: 30s)",
            "2.33 iterations/s for 20s (maxVUs: 1-3, gracefulStop: 30s)",
            "Up to 10.00 iterations/s for 10s over 1 stages (maxVUs: 1-3, gracefulStop: 30s)",
            "4 iterations for each of 1 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "2 looping VUs for 2s (gracefulStop: 30s)",
            "Externally controlled execution with 2 VUs, 10 max VUs, infinite duration",
        ]),
        ("1/2", "", [
            "7 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "Up to 4 looping VUs for 15s over 2 stages (gracefulRampDown: 30s, gracefulStop: 30s)",
            "3.89 iterations/s for 20s (maxVUs: 3-5, gracefulStop: 30s)",
            "Up to 15.00 iterations/s for 10s over 1 stages (maxVUs: 3-6, gracefulStop: 30s)",
            "4 iterations for each of 3 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
            "4 looping VUs for 2s (gracefulStop: 30s)",
            "Externally controlled execution with 2 VUs, 10 max VUs, infinite duration",
        ]),
    ];
    for (seg, seq, want) in cases {
        let t = tuple(seg, seq);
        for ((executor, exec, start_time, graceful_stop), want) in
            header_scenarios().iter().zip(want)
        {
            let base = BaseInfo {
                exec: *exec,
                start_time: *start_time,
                graceful_stop: *graceful_stop,
            };
            assert_eq!(description(executor, &t, base), *want, "{seg} in {seq}");
        }
    }
}

#[test]
fn unsegmented_descriptions_match_k6_output() {
    use ExecutorConfig as E;
    let full = ExecutionTuple::full();
    let gs = DEFAULT_GRACEFUL_STOP;
    let cases: Vec<(ExecutorConfig, BaseInfo, &str)> = vec![
        (
            E::SharedIterations(SharedIterations { vus: 2, iterations: 10, max_duration: secs(600) }),
            BaseInfo { exec: None, start_time: Duration::ZERO, graceful_stop: gs },
            "10 iterations shared among 2 VUs (maxDuration: 10m0s, gracefulStop: 30s)",
        ),
        (
            E::RampingVus(RampingVus { start_vus: 0, stages: stages(&[(10, 100), (10, 100), (5, 0)]), graceful_ramp_down: Duration::ZERO }),
            BaseInfo { exec: None, start_time: Duration::ZERO, graceful_stop: gs },
            "Up to 100 looping VUs for 25s over 3 stages (gracefulRampDown: 0s, gracefulStop: 30s)",
        ),
        (
            E::ConstantArrivalRate(ConstantArrivalRate { rate: 20, time_unit: secs(1), duration: secs(20), pre_allocated_vus: 50, max_vus: 100 }),
            BaseInfo { exec: None, start_time: secs(5), graceful_stop: gs },
            "20.00 iterations/s for 20s (maxVUs: 50-100, startTime: 5s, gracefulStop: 30s)",
        ),
        (
            E::RampingArrivalRate(RampingArrivalRate { start_rate: 3, time_unit: secs(60), stages: stages(&[(10, 30)]), pre_allocated_vus: 5, max_vus: 5 }),
            BaseInfo { exec: Some("foo"), start_time: Duration::ZERO, graceful_stop: gs },
            "Up to 0.50 iterations/s for 10s over 1 stages (maxVUs: 5, exec: foo, gracefulStop: 30s)",
        ),
        (
            E::PerVuIterations(PerVuIterations { vus: 3, iterations: 4, max_duration: secs(90) }),
            BaseInfo { exec: None, start_time: Duration::ZERO, graceful_stop: Duration::ZERO },
            "4 iterations for each of 3 VUs (maxDuration: 1m30s)",
        ),
        (
            E::ConstantVus(ConstantVus { vus: 7, duration: secs(3720) }),
            BaseInfo { exec: None, start_time: Duration::ZERO, graceful_stop: gs },
            "7 looping VUs for 1h2m0s (gracefulStop: 30s)",
        ),
        (
            E::ExternallyControlled(ExternallyControlled { vus: 2, max_vus: 10, duration: secs(600) }),
            BaseInfo { exec: None, start_time: Duration::ZERO, graceful_stop: gs },
            "Externally controlled execution with 2 VUs, 10 max VUs, 10m0s duration",
        ),
    ];
    for (executor, base, want) in cases {
        assert_eq!(description(&executor, &full, base), want);
    }
}
