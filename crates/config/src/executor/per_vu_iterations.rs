//! `per-vu-iterations`: each VU runs the same number of iterations.

use std::time::Duration;

use super::{scale, ExecutionStep};
use crate::duration::format_duration;
use crate::segment::ExecutionTuple;

/// `per-vu-iterations` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerVuIterations {
    /// VUs (default 1).
    pub vus: u64,
    /// Iterations per VU (default 1); never scaled by segments, only VUs are.
    pub iterations: u64,
    /// Hard stop for starting iterations (default 10m).
    pub max_duration: Duration,
}

impl PerVuIterations {
    /// This segment's VUs.
    pub fn vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.vus)
    }

    /// All VUs from the start until `maxDuration` plus the graceful stop.
    pub fn execution_requirements(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Vec<ExecutionStep> {
        vec![
            ExecutionStep::new(Duration::ZERO, self.vus(tuple)),
            ExecutionStep::new(self.max_duration + graceful_stop, 0),
        ]
    }

    pub(super) fn description_head(&self, tuple: &ExecutionTuple) -> String {
        format!(
            "{} iterations for each of {} VUs",
            self.iterations,
            self.vus(tuple)
        )
    }

    pub(super) fn facts(&self) -> Vec<String> {
        vec![format!(
            "maxDuration: {}",
            format_duration(self.max_duration)
        )]
    }
}
