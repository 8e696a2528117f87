//! Executor plans against k6's own test tables and against what k6 v1.1.0
//! printed for the same settings.

mod arrival;
mod descriptions;
mod properties;
mod ramping_vus;

use std::time::Duration;

use super::*;
use crate::segment::{ExecutionSegment, ExecutionSegmentSequence};

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn tuple(seg: &str, seq: &str) -> ExecutionTuple {
    let seg = (!seg.is_empty()).then(|| ExecutionSegment::parse(seg).unwrap());
    let seq = (!seq.is_empty()).then(|| ExecutionSegmentSequence::parse(seq).unwrap());
    ExecutionTuple::new(seg.as_ref(), seq.as_ref()).unwrap()
}

pub(super) fn steps(pairs: &[(u64, u64)]) -> Vec<ExecutionStep> {
    pairs
        .iter()
        .map(|&(t, v)| ExecutionStep::new(secs(t), v))
        .collect()
}

pub(super) fn stages(pairs: &[(u64, u64)]) -> Vec<Stage> {
    pairs.iter().map(|&(d, t)| Stage::new(secs(d), t)).collect()
}

/// The stages of k6's `TestRampingVUsConfigExecutionPlanExample`.
pub(super) fn example() -> RampingVus {
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

pub(super) const EXAMPLE_RAW: &[(u64, u64)] = &[
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
