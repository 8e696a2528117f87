//! `externally-controlled`: VUs changed at run time through the REST API.

use std::time::Duration;

use super::{scale, ExecutionStep};
use crate::duration::format_duration;
use crate::segment::ExecutionTuple;

/// `externally-controlled` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternallyControlled {
    /// VUs active at the start.
    pub vus: u64,
    /// VUs initialized up front (defaults to `vus`).
    pub max_vus: u64,
    /// Run time; zero means until stopped.
    pub duration: Duration,
}

impl ExternallyControlled {
    /// Reserves `maxVUs` for the whole duration; an infinite duration never
    /// releases them. There is no graceful stop for this executor.
    pub fn execution_requirements(&self, tuple: &ExecutionTuple) -> Vec<ExecutionStep> {
        let start = ExecutionStep::new(Duration::ZERO, scale(tuple, self.max_vus));
        if self.duration.is_zero() {
            return vec![start];
        }
        vec![start, ExecutionStep::new(self.duration, 0)]
    }

    /// k6 prints unscaled values and no common suffix for this executor.
    pub(super) fn description(&self) -> String {
        let duration = if self.duration.is_zero() {
            "infinite".to_owned()
        } else {
            format_duration(self.duration)
        };
        format!(
            "Externally controlled execution with {} VUs, {} max VUs, {duration} duration",
            self.vus, self.max_vus
        )
    }
}
