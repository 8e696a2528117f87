//! `constant-arrival-rate`: iterations start at a fixed rate, whatever the
//! response times, with VUs allocated as needed.

use std::time::Duration;

use super::arrival::{max_vus_range, per_second};
use super::{scale, ArrivalSchedule, ExecutionStep};
use crate::duration::format_duration;
use crate::ratio::Ratio;
use crate::segment::ExecutionTuple;

/// `constant-arrival-rate` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstantArrivalRate {
    /// Iterations per `time_unit`.
    pub rate: u64,
    /// The period `rate` refers to (default 1s).
    pub time_unit: Duration,
    /// How long iterations start.
    pub duration: Duration,
    /// VUs initialized before the start.
    pub pre_allocated_vus: u64,
    /// Upper bound on VUs (defaults to `pre_allocated_vus`).
    pub max_vus: u64,
}

impl ConstantArrivalRate {
    /// This segment's pre-allocated VUs.
    pub fn pre_allocated_vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.pre_allocated_vus)
    }

    /// This segment's VU limit.
    pub fn max_vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.max_vus)
    }

    /// Pre-allocated VUs planned, the rest up to `maxVUs` unplanned, until
    /// the duration plus the graceful stop.
    pub fn execution_requirements(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Vec<ExecutionStep> {
        let pre = self.pre_allocated_vus(tuple);
        vec![
            ExecutionStep {
                time_offset: Duration::ZERO,
                planned_vus: pre,
                max_unplanned_vus: self.max_vus(tuple) - pre,
            },
            ExecutionStep::new(self.duration + graceful_stop, 0),
        ]
    }

    /// When this segment's iterations start: every `time_unit / rate` of the
    /// unsegmented test, the segment taking the ticks it owns by striping.
    pub fn iteration_starts(&self, tuple: &ExecutionTuple) -> ArrivalSchedule {
        ArrivalSchedule::constant(
            tuple,
            self.max_vus,
            self.rate,
            self.time_unit,
            self.duration,
        )
    }

    pub(super) fn description_head(&self, tuple: &ExecutionTuple) -> String {
        // k6 scales the displayed rate by the segment's share of maxVUs.
        let max_vus = self.max_vus(tuple);
        let per_sec = match Ratio::new(i128::from(max_vus), i128::from(self.max_vus)) {
            Some(share) if max_vus != 0 => per_second(self.rate, self.time_unit, share),
            _ => 0.0,
        };
        format!(
            "{per_sec:.2} iterations/s for {}",
            format_duration(self.duration)
        )
    }

    pub(super) fn facts(&self, tuple: &ExecutionTuple) -> Vec<String> {
        let (pre, max) = (self.pre_allocated_vus(tuple), self.max_vus(tuple));
        vec![max_vus_range(pre, max, max > pre)]
    }
}
