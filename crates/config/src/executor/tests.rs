//! Executor plans against k6's own test tables and against what k6 v1.1.0
//! printed for the same settings.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::segment::{ExecutionSegment, ExecutionSegmentSequence};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn tuple(seg: &str, seq: &str) -> ExecutionTuple {
    let seg = (!seg.is_empty()).then(|| ExecutionSegment::parse(seg).unwrap());
    let seq = (!seq.is_empty()).then(|| ExecutionSegmentSequence::parse(seq).unwrap());
    ExecutionTuple::new(seg.as_ref(), seq.as_ref()).unwrap()
}

fn steps(pairs: &[(u64, u64)]) -> Vec<ExecutionStep> {
    pairs
        .iter()
        .map(|&(t, v)| ExecutionStep::new(secs(t), v))
        .collect()
}

fn stages(pairs: &[(u64, u64)]) -> Vec<Stage> {
    pairs.iter().map(|&(d, t)| Stage::new(secs(d), t)).collect()
}

/// The stages of k6's `TestRampingVUsConfigExecutionPlanExample`.
fn example() -> RampingVus {
    RampingVus {
        start_vus: 4,
        stages: stages(&[
            (2, 6),
            (5, 1),
            (4, 5),
            (4, 1),
            (3, 4),
            (2, 4),
            (0, 1),
            (3, 1),
        ]),
        graceful_ramp_down: secs(30),
    }
}

const EXAMPLE_RAW: &[(u64, u64)] = &[
    (0, 4),
    (1, 5),
    (2, 6),
    (3, 5),
    (4, 4),
    (5, 3),
    (6, 2),
    (7, 1),
    (8, 2),
    (9, 3),
    (10, 4),
    (11, 5),
    (12, 4),
    (13, 3),
    (14, 2),
    (15, 1),
    (16, 2),
    (17, 3),
    (18, 4),
    (20, 1),
];

#[test]
fn ramping_vus_plan_matches_k6_example() {
    let mut conf = example();
    let full = ExecutionTuple::full();
    assert_eq!(conf.raw_steps(&full, false), steps(EXAMPLE_RAW));
    let mut zero_end = steps(EXAMPLE_RAW);
    zero_end.push(ExecutionStep::new(secs(23), 0));
    assert_eq!(conf.raw_steps(&full, true), zero_end);

    let reserved = |end| steps(&[(0, 4), (1, 5), (2, 6), (33, 5), (42, 4), (50, 1), (end, 0)]);
    assert_eq!(conf.execution_requirements(&full, secs(30)), reserved(53));
    assert_eq!(conf.execution_requirements(&full, secs(80)), reserved(103));
    assert_eq!(
        conf.execution_requirements(&full, secs(3)),
        steps(&[(0, 4), (1, 5), (2, 6), (26, 0)])
    );
    assert_eq!(
        conf.execution_requirements(&full, secs(0)),
        steps(&[(0, 4), (1, 5), (2, 6), (23, 0)])
    );
    conf.graceful_ramp_down = Duration::ZERO;
    assert_eq!(conf.execution_requirements(&full, secs(0)), zero_end);
}

#[test]
fn ramping_vus_plan_matches_k6_example_one_third() {
    let mut conf = example();
    let t = tuple("0:1/3", "");
    let raw = steps(&[
        (0, 1),
        (1, 2),
        (4, 1),
        (7, 0),
        (8, 1),
        (11, 2),
        (12, 1),
        (15, 0),
        (16, 1),
        (20, 0),
    ]);
    assert_eq!(conf.raw_steps(&t, false), raw);
    assert_eq!(conf.raw_steps(&t, true), raw);
    let reserved = steps(&[(0, 1), (1, 2), (42, 1), (50, 0)]);
    assert_eq!(conf.execution_requirements(&t, secs(30)), reserved);
    assert_eq!(conf.execution_requirements(&t, secs(80)), reserved);
    assert_eq!(
        conf.execution_requirements(&t, secs(3)),
        steps(&[(0, 1), (1, 2), (26, 0)])
    );
    assert_eq!(
        conf.execution_requirements(&t, secs(0)),
        steps(&[(0, 1), (1, 2), (23, 0)])
    );
    conf.graceful_ramp_down = Duration::ZERO;
    assert_eq!(conf.execution_requirements(&t, secs(0)), raw);
}

/// k6 `TestRampingVUsExecutionTupleTests`.
#[test]
fn ramping_vus_raw_steps_per_segment_match_k6() {
    let mut conf = example();
    conf.stages
        .extend(stages(&[(0, 5), (3, 5), (0, 0), (2, 2), (2, 0), (4, 4)]));
    let third = &[
        (0, 1),
        (1, 2),
        (4, 1),
        (7, 0),
        (8, 1),
        (11, 2),
        (12, 1),
        (15, 0),
        (16, 1),
        (20, 0),
        (23, 2),
        (26, 0),
        (28, 1),
        (29, 0),
        (32, 1),
    ][..];
    type Case<'a> = (&'a str, &'a str, &'a [(u64, u64)]);
    let cases: &[Case] = &[
        (
            "",
            "",
            &[
                (0, 4),
                (1, 5),
                (2, 6),
                (3, 5),
                (4, 4),
                (5, 3),
                (6, 2),
                (7, 1),
                (8, 2),
                (9, 3),
                (10, 4),
                (11, 5),
                (12, 4),
                (13, 3),
                (14, 2),
                (15, 1),
                (16, 2),
                (17, 3),
                (18, 4),
                (20, 1),
                (23, 5),
                (26, 0),
                (27, 1),
                (28, 2),
                (29, 1),
                (30, 0),
                (31, 1),
                (32, 2),
                (33, 3),
                (34, 4),
            ],
        ),
        ("0:1/3", "", third),
        ("0:1/3", "0,1/3,1", third),
        ("1/3:2/3", "", third),
        ("2/3:1", "", third),
        (
            "0:1/3",
            "0,1/3,2/3,1",
            &[
                (0, 2),
                (5, 1),
                (10, 2),
                (13, 1),
                (18, 2),
                (20, 1),
                (23, 2),
                (26, 0),
                (27, 1),
                (30, 0),
                (31, 1),
                (34, 2),
            ],
        ),
        ("1/3:2/3", "0,1/3,2/3,1", third),
        (
            "2/3:1",
            "0,1/3,2/3,1",
            &[
                (0, 1),
                (2, 2),
                (3, 1),
                (6, 0),
                (9, 1),
                (14, 0),
                (17, 1),
                (20, 0),
                (23, 1),
                (26, 0),
                (33, 1),
            ],
        ),
    ];
    for (seg, seq, want) in cases {
        assert_eq!(
            conf.raw_steps(&tuple(seg, seq), false),
            steps(want),
            "{seg} in {seq}"
        );
    }
}

/// k6 `TestRampingVUsGetRawExecutionStepsCornerCases` (unsegmented ones).
#[test]
fn ramping_vus_corner_cases_match_k6() {
    let full = ExecutionTuple::full();
    let plan = |start, st: &[(u64, u64)]| {
        RampingVus {
            start_vus: start,
            stages: stages(st),
            graceful_ramp_down: secs(30),
        }
        .raw_steps(&full, false)
    };
    assert_eq!(
        plan(2, &[(0, 5), (2, 3)]),
        steps(&[(0, 2), (0, 5), (1, 4), (2, 3)])
    );
    assert_eq!(plan(3, &[(2, 5)]), steps(&[(0, 3), (1, 4), (2, 5)]));
    assert_eq!(
        plan(0, &[(2, 2), (2, 0), (2, 2), (2, 0)]),
        steps(&[
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 1),
            (4, 0),
            (5, 1),
            (6, 2),
            (7, 1),
            (8, 0)
        ])
    );
}

/// k6 `TestRampingArrivalRateCal`: 0 -> 1/s over 5s, 1/s for 1s, 1 -> 0 over 5s.
#[test]
fn ramping_arrival_rate_cal_matches_k6() {
    let st = stages(&[(5, 1), (1, 1), (5, 0)]);
    let check = |t: &ExecutionTuple, unit: Duration, want_ms: &[u64]| {
        let got: Vec<Duration> = ArrivalSchedule::ramping_on(t, 0, unit, &st).collect();
        assert_eq!(got.len(), want_ms.len(), "{t}: {got:?}");
        for (g, w) in got.iter().zip(want_ms) {
            let (g, w) = (g.as_secs_f64() * 1000.0, *w as f64);
            assert!(
                (g - w).abs() / w < 0.001,
                "{t}: expected about {w}ms, got {g}ms"
            );
        }
    };
    let third = "0,1/3,2/3,1";
    check(
        &ExecutionTuple::full(),
        secs(1),
        &[3162, 4472, 5500, 6527, 7837, 11000],
    );
    check(&tuple("0:1/3", ""), secs(1), &[4472, 7837]);
    check(&tuple("0:1/3", "0,1/3,1"), secs(1), &[4472, 7837]);
    check(&tuple("1/3:2/3", ""), secs(1), &[4472, 7837]);
    check(&tuple("2/3:1", ""), secs(1), &[4472, 7837]);
    check(&tuple("0:1/3", third), secs(1), &[3162, 6527]);
    check(&tuple("1/3:2/3", third), secs(1), &[4472, 7837]);
    check(&tuple("2/3:1", third), secs(1), &[5500, 11000]);
    check(
        &ExecutionTuple::full(),
        Duration::from_nanos(1_000_000_000 / 3),
        &[
            1825, 2581, 3162, 3651, 4082, 4472, 4830, 5166, 5499, 5833, 6169, 6527, 6917, 7348,
            7837, 8418, 9174, 10999,
        ],
    );
}

/// k6 `TestRampingArrivalRateGlobalIters`: segments get the global
/// iterations k6 gives them when striped by `maxVUs`.
#[test]
fn ramping_arrival_rate_segments_take_k6_iterations() {
    let conf = RampingArrivalRate {
        start_rate: 0,
        time_unit: Duration::from_millis(950),
        stages: stages(&[(1, 20), (1, 0)]),
        pre_allocated_vus: 4,
        max_vus: 5,
    };
    let all: Vec<Duration> = conf.iteration_starts(&ExecutionTuple::full()).collect();
    let seq = "0,1/4,3/4,1";
    for (seg, iters) in [
        ("0:1/4", &[1, 6, 11, 16][..]),
        ("1/4:3/4", &[0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19, 20]),
        ("3/4:1", &[3, 8, 13, 18]),
    ] {
        let got: Vec<Duration> = conf.iteration_starts(&tuple(seg, seq)).collect();
        let want: Vec<Duration> = iters.iter().map(|i| all[*i]).collect();
        assert_eq!(got, want, "{seg}");
    }
}

#[test]
fn constant_arrival_rate_starts_on_the_ticker() {
    let conf = ConstantArrivalRate {
        rate: 20,
        time_unit: secs(1),
        duration: secs(20),
        pre_allocated_vus: 50,
        max_vus: 100,
    };
    let all: Vec<Duration> = conf.iteration_starts(&ExecutionTuple::full()).collect();
    // k6 v1.1.0 runs 21 iterations for 10/s over 2s: the tick at exactly
    // the end starts too.
    assert_eq!(all.len(), 401);
    assert_eq!(all[0], Duration::ZERO);
    assert_eq!(all[1], Duration::from_millis(50));
    assert_eq!(all[400], Duration::from_secs(20));
    // 3 per second: k6 truncates the period to 333333333ns.
    let thirds = ConstantArrivalRate {
        rate: 3,
        duration: secs(2),
        ..conf
    };
    let starts: Vec<u64> = thirds
        .iteration_starts(&ExecutionTuple::full())
        .map(|d| d.as_nanos() as u64)
        .collect();
    assert_eq!(
        starts,
        [
            0,
            333_333_333,
            666_666_666,
            999_999_999,
            1_333_333_332,
            1_666_666_665,
            1_999_999_998
        ]
    );
}

#[test]
fn arrival_rate_requirements_match_k6() {
    // k6 `TestRampingArrivalRateActiveVUs_GetExecutionRequirements`.
    for (pre, max, seg, seq, planned, unplanned) in [
        (1, 4000, "0:1/4", "0,1/4,1/2,3/4,1", 1, 999),
        (100, 4000, "0:1/4", "0,1/4,1/2,3/4,1", 25, 975),
        (1, 4000, "0:1", "0,1", 1, 3999),
        (100, 4000, "0:1", "0,1", 100, 3900),
    ] {
        let conf = RampingArrivalRate {
            start_rate: 0,
            time_unit: secs(1),
            stages: vec![],
            pre_allocated_vus: pre,
            max_vus: max,
        };
        let want = vec![
            ExecutionStep {
                time_offset: Duration::ZERO,
                planned_vus: planned,
                max_unplanned_vus: unplanned,
            },
            ExecutionStep::default(),
        ];
        assert_eq!(
            conf.execution_requirements(&tuple(seg, seq), Duration::ZERO),
            want
        );
    }
    // k6 `TestRampingArrivalRateCornerCase`: no VU in this segment, no work.
    let conf = ExecutorConfig::RampingArrivalRate(RampingArrivalRate {
        start_rate: 1,
        time_unit: secs(1),
        stages: stages(&[(1, 1)]),
        pre_allocated_vus: 0,
        max_vus: 2,
    });
    assert!(!conf.has_work(&tuple("1/5:2/5", "0,1/5,2/5,1")));
}

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

fn arb_tuples() -> impl Strategy<Value = Vec<ExecutionTuple>> {
    prop::collection::vec(1i128..12, 1..5).prop_map(|nums| {
        let total: i128 = nums.iter().sum();
        let mut acc = 0;
        let points: Vec<String> = std::iter::once("0".to_owned())
            .chain(nums.iter().map(|n| {
                acc += n;
                format!("{acc}/{total}")
            }))
            .collect();
        let seq = ExecutionSegmentSequence::parse(&points.join(",")).unwrap();
        let first = ExecutionTuple::new(Some(&seq.segments()[0]), Some(&seq)).unwrap();
        first.siblings().collect()
    })
}

fn arb_stages(max_target: u64) -> impl Strategy<Value = Vec<Stage>> {
    prop::collection::vec((0u64..4000, 0..=max_target), 1..5).prop_map(|v| {
        v.into_iter()
            .map(|(ms, t)| Stage::new(Duration::from_millis(ms), t))
            .collect()
    })
}

/// Planned VUs at `t` according to steps (the last step at or before `t`).
fn vus_at(steps: &[ExecutionStep], t: Duration) -> u64 {
    steps
        .iter()
        .take_while(|s| s.time_offset <= t)
        .last()
        .map_or(0, |s| s.planned_vus)
}

proptest! {
    #[test]
    fn constant_arrival_segments_partition_the_whole(
        tuples in arb_tuples(), rate in 1u64..50, unit_ms in 100u64..3000, dur_ms in 1000u64..5000, max_vus in 1u64..20,
    ) {
        let conf = ConstantArrivalRate {
            rate, time_unit: Duration::from_millis(unit_ms), duration: Duration::from_millis(dur_ms),
            pre_allocated_vus: 1, max_vus,
        };
        let whole: Vec<Duration> = conf.iteration_starts(&ExecutionTuple::full()).collect();
        let mut parts: Vec<Duration> = tuples.iter().flat_map(|t| conf.iteration_starts(t)).collect();
        parts.sort();
        prop_assert_eq!(parts, whole);
    }

    #[test]
    fn ramping_arrival_segments_partition_the_whole(
        tuples in arb_tuples(), start_rate in 0u64..30, st in arb_stages(40), max_vus in 1u64..20,
    ) {
        let conf = RampingArrivalRate {
            start_rate, time_unit: Duration::from_secs(1), stages: st, pre_allocated_vus: 1, max_vus,
        };
        let whole: Vec<Duration> = conf.iteration_starts(&ExecutionTuple::full()).collect();
        prop_assert!(whole.windows(2).all(|w| w[0] <= w[1]));
        let mut parts: Vec<Duration> = tuples.iter().flat_map(|t| conf.iteration_starts(t)).collect();
        parts.sort();
        prop_assert_eq!(parts, whole);
    }

    #[test]
    fn ramping_vus_segments_sum_to_the_whole(tuples in arb_tuples(), start in 0u64..10, st in arb_stages(12)) {
        let conf = RampingVus { start_vus: start, stages: st, graceful_ramp_down: Duration::ZERO };
        let whole = conf.raw_steps(&ExecutionTuple::full(), true);
        let parts: Vec<Vec<ExecutionStep>> = tuples.iter().map(|t| conf.raw_steps(t, true)).collect();
        let mut times: Vec<Duration> = parts.iter().flatten().chain(&whole).map(|s| s.time_offset).collect();
        times.sort();
        times.dedup();
        for t in times {
            let sum: u64 = parts.iter().map(|p| vus_at(p, t)).sum();
            prop_assert_eq!(sum, vus_at(&whole, t), "at {:?}", t);
        }
    }

    #[test]
    fn shared_iterations_segments_sum_to_the_whole(tuples in arb_tuples(), vus in 1u64..30, extra in 0u64..100) {
        let conf = SharedIterations { vus, iterations: vus + extra, max_duration: secs(600) };
        let vus_sum: u64 = tuples.iter().map(|t| conf.vus(t)).sum();
        let iter_sum: u64 = tuples.iter().map(|t| conf.iterations(t)).sum();
        prop_assert_eq!((vus_sum, iter_sum), (vus, vus + extra));
    }
}

/// Iterations k6 v1.1.0 actually ran per segment of `0,1/3,2/3,1` for a
/// constant-arrival-rate (10/s for 2s, maxVUs 3) plus a ramping one
/// (0 -> 12/s over 2s, -> 3/s over 1s, maxVUs 5): 15, 14 and 11.
#[test]
fn arrival_iteration_counts_match_k6_runs() {
    let constant = ConstantArrivalRate {
        rate: 10,
        time_unit: secs(1),
        duration: secs(2),
        pre_allocated_vus: 3,
        max_vus: 3,
    };
    let ramping = RampingArrivalRate {
        start_rate: 0,
        time_unit: secs(1),
        stages: stages(&[(2, 12), (1, 3)]),
        pre_allocated_vus: 5,
        max_vus: 5,
    };
    let counts: Vec<usize> = ["0:1/3", "1/3:2/3", "2/3:1"]
        .iter()
        .map(|seg| {
            let t = tuple(seg, "0,1/3,2/3,1");
            constant.iteration_starts(&t).count() + ramping.iteration_starts(&t).count()
        })
        .collect();
    assert_eq!(counts, [15, 14, 11]);
    assert_eq!(
        constant.iteration_starts(&ExecutionTuple::full()).count(),
        21
    );
    let steady = RampingArrivalRate {
        start_rate: 10,
        stages: stages(&[(2, 10)]),
        ..ramping
    };
    assert_eq!(steady.iteration_starts(&ExecutionTuple::full()).count(), 20);
}
