//! Stages of the ramping executors.

use std::time::Duration;

/// Ramp linearly to `target` (VUs or iterations per time unit) over
/// `duration`; a zero duration jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// How long the ramp lasts.
    pub duration: Duration,
    /// The value reached at the end of the stage.
    pub target: u64,
}

impl Stage {
    /// A stage.
    pub fn new(duration: Duration, target: u64) -> Self {
        Stage { duration, target }
    }
}

/// Sum of the stage durations.
pub(crate) fn total_duration(stages: &[Stage]) -> Duration {
    stages.iter().map(|s| s.duration).sum()
}

/// The biggest of `start` and every target (k6 `getStagesUnscaledMaxTarget`).
pub(crate) fn max_target(start: u64, stages: &[Stage]) -> u64 {
    stages.iter().map(|s| s.target).fold(start, u64::max)
}

/// Nanoseconds as `i64` (validated durations always fit).
pub(crate) fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
