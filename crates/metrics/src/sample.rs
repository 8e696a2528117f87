//! A single recorded value, for outputs that want every point.

use crate::{Metric, TagSet};

/// One value of one metric with its tags, as `--out json` writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric.
    pub metric: Metric,
    /// Its tags.
    pub tags: TagSet,
    /// The value.
    pub value: f64,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: u64,
}
