//! `ramping-arrival-rate`: the iteration start rate ramps linearly between
//! stage targets.

use std::time::Duration;

use super::arrival::{max_vus_range, per_second};
use super::stage::{max_target, total_duration};
use super::{scale, ArrivalSchedule, ExecutionStep, Stage};
use crate::duration::format_duration;
use crate::segment::ExecutionTuple;

/// `ramping-arrival-rate` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RampingArrivalRate {
    /// Iterations per `time_unit` at the start (default 0).
    pub start_rate: u64,
    /// The period rates refer to (default 1s).
    pub time_unit: Duration,
    /// Rate targets over time; at least one.
    pub stages: Vec<Stage>,
    /// VUs initialized before the start.
    pub pre_allocated_vus: u64,
    /// Upper bound on VUs (defaults to `pre_allocated_vus`).
    pub max_vus: u64,
}

impl RampingArrivalRate {
    /// This segment's pre-allocated VUs.
    pub fn pre_allocated_vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.pre_allocated_vus)
    }

    /// This segment's VU limit.
    pub fn max_vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.max_vus)
    }

    /// Pre-allocated VUs planned, the rest up to `maxVUs` unplanned, until
    /// the stages plus the graceful stop.
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
            ExecutionStep::new(total_duration(&self.stages) + graceful_stop, 0),
        ]
    }

    /// When this segment's iterations start: the i-th iteration of the
    /// unsegmented test starts when the integral of the rate reaches i, and
    /// the segment takes the iterations it owns by striping (k6 `cal`).
    pub fn iteration_starts(&self, tuple: &ExecutionTuple) -> ArrivalSchedule {
        ArrivalSchedule::ramping(
            tuple,
            self.max_vus,
            self.start_rate,
            self.time_unit,
            &self.stages,
        )
    }

    pub(super) fn description_head(&self, tuple: &ExecutionTuple) -> String {
        let max_rate = max_target(self.start_rate, &self.stages);
        format!(
            "Up to {:.2} iterations/s for {} over {} stages",
            per_second(max_rate, self.time_unit, tuple.segment().length()),
            format_duration(total_duration(&self.stages)),
            self.stages.len()
        )
    }

    pub(super) fn facts(&self, tuple: &ExecutionTuple) -> Vec<String> {
        let show_max = self.max_vus > self.pre_allocated_vus;
        vec![max_vus_range(
            self.pre_allocated_vus(tuple),
            self.max_vus(tuple),
            show_max,
        )]
    }
}
