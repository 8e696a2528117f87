//! `shared-iterations`: a fixed number of iterations shared by a fixed
//! number of VUs.

use std::time::Duration;

use super::{scale, ExecutionStep};
use crate::duration::format_duration;
use crate::segment::ExecutionTuple;

/// `shared-iterations` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedIterations {
    /// VUs sharing the iterations (default 1).
    pub vus: u64,
    /// Total iterations (default 1).
    pub iterations: u64,
    /// Hard stop for starting iterations (default 10m).
    pub max_duration: Duration,
}

impl SharedIterations {
    /// This segment's VUs.
    pub fn vus(&self, tuple: &ExecutionTuple) -> u64 {
        scale(tuple, self.vus)
    }

    /// This segment's iterations: striped over the VUs first, as k6 does, so
    /// segments with more VUs get more iterations.
    pub fn iterations(&self, tuple: &ExecutionTuple) -> u64 {
        let vus = i64::try_from(self.vus).unwrap_or(i64::MAX);
        tuple
            .with_value(vus)
            .map_or(0, |t| scale(&t, self.iterations))
    }

    /// All VUs from the start until `maxDuration` plus the graceful stop.
    pub fn execution_requirements(
        &self,
        tuple: &ExecutionTuple,
        graceful_stop: Duration,
    ) -> Vec<ExecutionStep> {
        let vus = self.vus(tuple);
        if vus == 0 {
            return vec![ExecutionStep::new(Duration::ZERO, 0)];
        }
        vec![
            ExecutionStep::new(Duration::ZERO, vus),
            ExecutionStep::new(self.max_duration + graceful_stop, 0),
        ]
    }

    pub(super) fn description_head(&self, tuple: &ExecutionTuple) -> String {
        format!(
            "{} iterations shared among {} VUs",
            self.iterations(tuple),
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
