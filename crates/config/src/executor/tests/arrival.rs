//! Arrival-rate schedules and requirements against k6.

use std::time::Duration;

use super::*;

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
        // The engine numbers them the same way.
        let numbering = ExecutorConfig::RampingArrivalRate(conf.clone())
            .iteration_tuple(&tuple(seg, seq))
            .unwrap();
        let mut index = crate::segment::SegmentedIndex::new(&numbering);
        let global: Vec<usize> = iters
            .iter()
            .map(|_| index.forward().1 as usize - 1)
            .collect();
        assert_eq!(global, iters, "{seg}");
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
