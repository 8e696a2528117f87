//! Executors as pure plans, one file per k6 executor (as in k6's
//! `lib/executor/`): how many VUs each needs over time, how long it runs,
//! the line k6 prints for it, and for arrival-rate executors when each
//! iteration starts.
//!
//! Everything here is already validated: counts are unsigned, durations are
//! standard durations. Segment-dependent values take an [`ExecutionTuple`].

mod arrival;
mod constant_arrival_rate;
mod constant_vus;
mod externally_controlled;
mod kind;
mod per_vu_iterations;
mod ramping_arrival_rate;
mod ramping_vus;
mod shared_iterations;
mod stage;

use std::time::Duration;

pub use arrival::ArrivalSchedule;
pub use constant_arrival_rate::ConstantArrivalRate;
pub use constant_vus::ConstantVus;
pub use externally_controlled::ExternallyControlled;
pub use kind::ExecutorKind;
pub use per_vu_iterations::PerVuIterations;
pub use ramping_arrival_rate::RampingArrivalRate;
pub use ramping_vus::RampingVus;
pub use shared_iterations::SharedIterations;
pub use stage::Stage;

use crate::duration::format_duration;
use crate::segment::ExecutionTuple;

/// k6's default `gracefulStop` for every executor.
pub const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);

/// The shortest `duration`/`maxDuration` k6 accepts (stages may be shorter).
pub const MIN_DURATION: Duration = Duration::from_secs(1);

/// From `time_offset` on, an executor needs `planned_vus` initialized VUs and
/// may create up to `max_unplanned_vus` more (k6 `lib.ExecutionStep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutionStep {
    /// Offset from the executor's (or, combined, the test's) start.
    pub time_offset: Duration,
    /// VUs that must be initialized from this moment.
    pub planned_vus: u64,
    /// VUs that may be initialized on demand (arrival-rate executors).
    pub max_unplanned_vus: u64,
}

impl ExecutionStep {
    /// A step with planned VUs only.
    pub fn new(time_offset: Duration, planned_vus: u64) -> Self {
        ExecutionStep {
            time_offset,
            planned_vus,
            max_unplanned_vus: 0,
        }
    }
}

/// The most VUs any step may need (k6 `GetMaxPossibleVUs`).
pub fn max_possible_vus(steps: &[ExecutionStep]) -> u64 {
    steps
        .iter()
        .map(|s| s.planned_vus + s.max_unplanned_vus)
        .max()
        .unwrap_or(0)
}

/// The last step's offset, if that step releases every VU; `None` when the
/// plan never ends (k6 `GetEndOffset` with `isFinal == false`).
pub fn end_offset(steps: &[ExecutionStep]) -> Option<Duration> {
    match steps.last() {
        None => Some(Duration::ZERO),
        Some(s) if s.planned_vus == 0 && s.max_unplanned_vus == 0 => Some(s.time_offset),
        Some(_) => None,
    }
}

/// One executor's validated settings.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorConfig {
    /// `shared-iterations`.
    SharedIterations(SharedIterations),
    /// `per-vu-iterations`.
    PerVuIterations(PerVuIterations),
    /// `constant-vus`.
    ConstantVus(ConstantVus),
    /// `ramping-vus`.
    RampingVus(RampingVus),
    /// `constant-arrival-rate`.
    ConstantArrivalRate(ConstantArrivalRate),
    /// `ramping-arrival-rate`.
    RampingArrivalRate(RampingArrivalRate),
    /// `externally-controlled`.
    ExternallyControlled(ExternallyControlled),
}

impl ExecutorConfig {
    /// Which executor this is.
    pub fn kind(&self) -> ExecutorKind {
        match self {
            Self::SharedIterations(_) => ExecutorKind::SharedIterations,
            Self::PerVuIterations(_) => ExecutorKind::PerVuIterations,
            Self::ConstantVus(_) => ExecutorKind::ConstantVus,
            Self::RampingVus(_) => ExecutorKind::RampingVus,
            Self::ConstantArrivalRate(_) => ExecutorKind::ConstantArrivalRate,
            Self::RampingArrivalRate(_) => ExecutorKind::RampingArrivalRate,
            Self::ExternallyControlled(_) => ExecutorKind::ExternallyControlled,
        }
    }

    /// VU needs over time relative to the executor's start, ending with a
    /// 0-VU step at the end of the graceful stop (k6
    /// `GetExecutionRequirements`).
    pub fn execution_requirements(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Vec<ExecutionStep> {
        match self {
            Self::SharedIterations(e) => e.execution_requirements(tuple, graceful_stop),
            Self::PerVuIterations(e) => e.execution_requirements(tuple, graceful_stop),
            Self::ConstantVus(e) => e.execution_requirements(tuple, graceful_stop),
            Self::RampingVus(e) => e.execution_requirements(tuple, graceful_stop),
            Self::ConstantArrivalRate(e) => e.execution_requirements(tuple, graceful_stop),
            Self::RampingArrivalRate(e) => e.execution_requirements(tuple, graceful_stop),
            Self::ExternallyControlled(e) => e.execution_requirements(tuple),
        }
    }

    /// The most VUs this executor may use in the tuple's segment.
    pub fn max_vus(&self, tuple: &ExecutionTuple) -> u64 {
        max_possible_vus(&self.execution_requirements(tuple, Duration::ZERO))
    }

    /// How long new iterations start (the "regular" duration, without any
    /// graceful stop); `None` for an externally-controlled executor with
    /// infinite duration.
    pub fn regular_duration(&self) -> Option<Duration> {
        Some(match self {
            Self::SharedIterations(e) => e.max_duration,
            Self::PerVuIterations(e) => e.max_duration,
            Self::ConstantVus(e) => e.duration,
            Self::RampingVus(e) => stage::total_duration(&e.stages),
            Self::ConstantArrivalRate(e) => e.duration,
            Self::RampingArrivalRate(e) => stage::total_duration(&e.stages),
            Self::ExternallyControlled(e) => return (!e.duration.is_zero()).then_some(e.duration),
        })
    }

    /// The longest the executor can run, graceful stop and ramp-downs
    /// included; `None` when unbounded.
    pub fn max_duration(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Option<Duration> {
        end_offset(&self.execution_requirements(tuple, graceful_stop))
    }

    /// The tuple whose striping numbers this segment's iterations within
    /// the whole test (`exec.scenario.iterationInTest`): walk it with a
    /// [`crate::SegmentedIndex`], one `forward()` per iteration, and subtract
    /// one from `(scaled, unscaled)` for (local, global) numbers. As in k6,
    /// shared-iterations re-segments by its VUs and the arrival-rate
    /// executors by `maxVUs`; `None` when the segment gets no share.
    pub fn iteration_tuple(&self, tuple: &ExecutionTuple) -> Option<ExecutionTuple> {
        let by = |value: u64| tuple.with_value(i64::try_from(value).unwrap_or(i64::MAX));
        match self {
            Self::SharedIterations(e) => by(e.vus),
            Self::ConstantArrivalRate(e) => by(e.max_vus),
            Self::RampingArrivalRate(e) => by(e.max_vus),
            _ => Some(tuple.clone()),
        }
    }

    /// Whether the tuple's segment has anything to do (k6 `HasWork`).
    pub fn has_work(&self, tuple: &ExecutionTuple) -> bool {
        match self {
            Self::SharedIterations(e) => e.vus(tuple) > 0 && e.iterations(tuple) > 0,
            Self::PerVuIterations(e) => e.vus(tuple) > 0 && e.iterations > 0,
            Self::ConstantVus(e) => e.vus(tuple) > 0,
            Self::RampingVus(_) => self.max_vus(tuple) > 0,
            Self::ConstantArrivalRate(e) => e.max_vus(tuple) > 0,
            Self::RampingArrivalRate(e) => e.max_vus(tuple) > 0,
            Self::ExternallyControlled(_) => true,
        }
    }

    /// k6's description split as `(head, executor facts, with_base)`;
    /// `with_base` is false for externally-controlled, which prints no
    /// common suffix at all.
    pub(crate) fn describe(&self, tuple: &ExecutionTuple) -> (String, Vec<String>, bool) {
        match self {
            Self::SharedIterations(e) => (e.description_head(tuple), e.facts(), true),
            Self::PerVuIterations(e) => (e.description_head(tuple), e.facts(), true),
            Self::ConstantVus(e) => (e.description_head(tuple), Vec::new(), true),
            Self::RampingVus(e) => (e.description_head(tuple), e.facts(), true),
            Self::ConstantArrivalRate(e) => (e.description_head(tuple), e.facts(tuple), true),
            Self::RampingArrivalRate(e) => (e.description_head(tuple), e.facts(tuple), true),
            Self::ExternallyControlled(e) => (e.description(), Vec::new(), false),
        }
    }
}

/// The scenario-level settings k6 appends to every description
/// (`getBaseInfo`).
#[derive(Debug, Clone, Copy)]
pub struct BaseInfo<'a> {
    /// `exec`, when the user set it.
    pub exec: Option<&'a str>,
    /// `startTime`.
    pub start_time: Duration,
    /// `gracefulStop`.
    pub graceful_stop: Duration,
}

impl BaseInfo<'_> {
    /// `" (fact, fact, exec: x, startTime: 5s, gracefulStop: 30s)"`, or an
    /// empty string when there is nothing to say.
    pub fn suffix(&self, mut facts: Vec<String>) -> String {
        if let Some(exec) = self.exec {
            facts.push(format!("exec: {exec}"));
        }
        if !self.start_time.is_zero() {
            facts.push(format!("startTime: {}", format_duration(self.start_time)));
        }
        if !self.graceful_stop.is_zero() {
            facts.push(format!(
                "gracefulStop: {}",
                format_duration(self.graceful_stop)
            ));
        }
        if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        }
    }
}

/// The k6 description of `executor` with its scenario's base settings, as
/// printed in the "scenarios:" header.
pub fn description(
    executor: &ExecutorConfig,
    tuple: &ExecutionTuple,
    base: BaseInfo<'_>,
) -> String {
    let (head, facts, with_base) = executor.describe(tuple);
    if with_base {
        format!("{head}{}", base.suffix(facts))
    } else {
        head
    }
}

/// Scales an unsigned count through the tuple.
pub(crate) fn scale(tuple: &ExecutionTuple, value: u64) -> u64 {
    tuple.scale(i64::try_from(value).unwrap_or(i64::MAX)).max(0) as u64
}

#[cfg(test)]
mod tests;
