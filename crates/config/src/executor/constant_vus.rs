//! `constant-vus`: a fixed number of VUs looping for a duration.

use std::time::Duration;

use super::{scale, ExecutionStep};
use crate::duration::format_duration;
use crate::segment::ExecutionTuple;

/// `constant-vus` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstantVus {
    /// VUs (default 1).
    pub vus: u64,
    /// How long VUs loop.
    pub duration: Duration,
}

impl ConstantVus {
    /// This segment's VUs.
    pub fn vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.vus)
    }

    /// All VUs from the start until the duration plus the graceful stop.
    pub fn execution_requirements(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Vec<ExecutionStep> {
        vec![
            ExecutionStep::new(Duration::ZERO, self.vus(tuple)),
            ExecutionStep::new(self.duration + graceful_stop, 0),
        ]
    }

    pub(super) fn description_head(&self, tuple: &ExecutionTuple) -> String {
        format!(
            "{} looping VUs for {}",
            self.vus(tuple),
            format_duration(self.duration)
        )
    }
}
