//! ramping-vus plans against k6's test tables.

use std::time::Duration;

use super::*;

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
