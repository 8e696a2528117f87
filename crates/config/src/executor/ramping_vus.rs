//! `ramping-vus`: VUs ramp linearly between stage targets. A port of k6's
//! `lib/executor/ramping_vus.go` plan: raw steps and graceful ramp-downs.

use std::time::Duration;

use super::stage::{max_target, nanos, total_duration};
use super::{scale, ExecutionStep, Stage};
use crate::duration::format_duration;
use crate::segment::{ExecutionTuple, SegmentedIndex};

/// `ramping-vus` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RampingVus {
    /// VUs at the start (default 1).
    pub start_vus: u64,
    /// Targets over time; at least one.
    pub stages: Vec<Stage>,
    /// How long VUs removed by a ramp-down may finish their iteration
    /// (default 30s).
    pub graceful_ramp_down: Duration,
}

impl RampingVus {
    /// This segment's share of the largest VU target.
    pub fn max_target_vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, max_target(self.start_vus, &self.stages))
    }

    /// How many VUs should run iterations at each moment, ignoring graceful
    /// ramp-downs (k6 `getRawExecutionSteps`). With `zero_end`, a 0-VU step
    /// is added at the end of the stages. This is the schedule an engine
    /// follows to start and (gracefully) stop VUs.
    ///
    /// Segments get VUs by striping: this segment's k-th VU is the global
    /// VU it owns, so the sum over a sequence is exactly the whole ramp.
    pub fn raw_steps(&self, tuple: &ExecutionTuple, zero_end: bool) -> Vec<ExecutionStep> {
        let mut index = SegmentedIndex::new(tuple);
        let mut from_vus = to_i64(self.start_vus);
        let (mut scaled, mut unscaled) = index.go_to(from_vus);
        let mut steps = vec![step(0, scaled)];
        let add = |steps: &mut Vec<ExecutionStep>, offset: i64, vus: i64| {
            if steps.last().is_some_and(|s| s.planned_vus != vus as u64) {
                steps.push(step(offset, vus));
            }
        };
        let mut time_till_end: i64 = 0;
        for stage in &self.stages {
            let end_vus = to_i64(stage.target);
            let duration = nanos(stage.duration);
            time_till_end = time_till_end.saturating_add(duration);
            let diff = end_vus - from_vus;
            if diff == 0 {
                continue;
            }
            if duration == 0 {
                (scaled, unscaled) = index.go_to(end_vus);
                add(&mut steps, time_till_end, scaled);
                from_vus = end_vus;
                continue;
            }
            // Offset at which the ramp crosses `vus`, measured back from the
            // stage's end; integer division truncates as Go's does.
            let at = |vus: i64| {
                time_till_end
                    - (i128::from(duration) * i128::from(end_vus - vus) / i128::from(diff)) as i64
            };
            if unscaled > end_vus {
                // A VU stops when the next lower global VU would start on the
                // way up, so that ramp-downs mirror ramp-ups.
                while unscaled > end_vus {
                    add(&mut steps, at(unscaled - 1), scaled - 1);
                    (scaled, unscaled) = index.back();
                }
            } else {
                while unscaled <= end_vus {
                    add(&mut steps, at(unscaled), scaled);
                    (scaled, unscaled) = index.forward();
                }
            }
            from_vus = end_vus;
        }
        if zero_end && steps.last().is_some_and(|s| s.planned_vus != 0) {
            steps.push(step(time_till_end, 0));
        }
        steps
    }

    /// VUs to keep initialized at each moment, including those finishing
    /// iterations during graceful ramp-downs, ending with 0 VUs at
    /// `sum(stages) + gracefulStop` at the latest (k6
    /// `GetExecutionRequirements`).
    pub fn execution_requirements(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Vec<ExecutionStep> {
        let mut steps = self.raw_steps(tuple, false);
        let end = nanos(total_duration(&self.stages) + graceful_stop);
        if !self.graceful_ramp_down.is_zero() {
            steps = reserve_for_graceful_ramp_downs(&steps, end, nanos(self.graceful_ramp_down));
        }
        if steps.last().is_some_and(|s| s.planned_vus != 0) {
            steps.push(step(end, 0));
        }
        steps
    }

    pub(super) fn description_head(&self, tuple: &ExecutionTuple) -> String {
        format!(
            "Up to {} looping VUs for {} over {} stages",
            self.max_target_vus(tuple),
            format_duration(total_duration(&self.stages)),
            self.stages.len()
        )
    }

    pub(super) fn facts(&self) -> Vec<String> {
        vec![format!(
            "gracefulRampDown: {}",
            format_duration(self.graceful_ramp_down)
        )]
    }
}

/// Keeps VUs reserved for `grace` after each decrease so that interrupted
/// iterations can finish, without ever exceeding the peak already planned
/// (k6 `reserveVUsForGracefulRampDowns`). Adds no step at or after `end`.
fn reserve_for_graceful_ramp_downs(
    raw: &[ExecutionStep],
    end: i64,
    grace: i64,
) -> Vec<ExecutionStep> {
    let mut result = Vec::new();
    let mut last_planned = 0u64;
    let mut last_downward_slope = 0usize;
    let mut n = 0usize;
    while n < raw.len() {
        let raw_step = raw[n];
        if n == 0 || raw_step.planned_vus > last_planned {
            result.push(raw_step);
            last_planned = raw_step.planned_vus;
            n += 1;
            continue;
        }
        if raw_step.planned_vus == last_planned {
            n += 1;
            continue;
        }
        // A decrease: look ahead within the grace period for a step that
        // climbs back to the current level, which makes the dip irrelevant.
        let with_grace = nanos(raw_step.time_offset).saturating_add(grace);
        let mut climbed_back = false;
        let mut was_ramping_down = true;
        for adv in (n + 1).max(last_downward_slope)..raw.len() {
            let ahead = raw[adv];
            if nanos(ahead.time_offset) > with_grace {
                break;
            }
            if ahead.planned_vus >= last_planned {
                n = adv;
                climbed_back = true;
                break;
            }
            if was_ramping_down {
                if raw[adv - 1].planned_vus > ahead.planned_vus {
                    last_downward_slope = adv;
                } else {
                    was_ramping_down = false;
                }
            }
        }
        if climbed_back {
            continue;
        }
        if with_grace >= end {
            break;
        }
        result.push(step(with_grace, raw_step.planned_vus as i64));
        last_planned = raw_step.planned_vus;
        n += 1;
    }
    result
}

fn step(offset_nanos: i64, vus: i64) -> ExecutionStep {
    ExecutionStep::new(
        Duration::from_nanos(offset_nanos.max(0) as u64),
        vus.max(0) as u64,
    )
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
