//! Segment plans add up to the unsegmented plan.

use std::time::Duration;

use proptest::prelude::*;

use super::*;

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
