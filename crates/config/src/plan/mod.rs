//! The validated test plan: merged options resolved with k6's defaults,
//! shortcuts turned into scenarios, everything checked at once.

mod derive;
mod inspect;
mod requirements;
mod resolve;
mod scenario;
mod settings;

use std::time::Duration;

pub use derive::DEFAULT_SCENARIO_NAME;
pub use scenario::{Scenario, DEFAULT_EXEC};
pub use settings::{
    HttpSettings, OutputSettings, RunSettings, SummarySettings, DEFAULT_BATCH,
    DEFAULT_BATCH_PER_HOST, DEFAULT_MAX_REDIRECTS, DEFAULT_METRIC_SAMPLES_BUFFER_SIZE,
    DEFAULT_SETUP_TIMEOUT,
};

use crate::error::ConfigError;
use crate::options::Options;
use crate::segment::ExecutionTuple;

/// One threshold as written, for the metrics crate to parse: thresholds
/// keep their declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdSpec {
    /// Metric name, optionally with a tag filter: `http_req_duration{status:200}`.
    pub selector: String,
    /// The expression, e.g. `p(95)<200`.
    pub expr: String,
    /// Abort the test when it fails.
    pub abort_on_fail: bool,
    /// Wait this long into the test before an abort may happen.
    pub delay_abort_eval: Option<Duration>,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Scenarios sorted by start time, then name (k6's order).
    pub scenarios: Vec<Scenario>,
    /// Thresholds in declaration order.
    pub thresholds: Vec<ThresholdSpec>,
    /// This instance's segment within the sequence.
    pub tuple: ExecutionTuple,
    /// Lifecycle and VU settings.
    pub run: RunSettings,
    /// HTTP settings.
    pub http: HttpSettings,
    /// Summary and threshold settings.
    pub summary: SummarySettings,
    /// Output settings.
    pub outputs: OutputSettings,
    /// Warnings k6 would log (ignored `vus`, empty `stages`...).
    pub warnings: Vec<String>,
    /// The merged options the plan was resolved from.
    options: Options,
    /// `scenarios` after deriving shortcuts, as written (for `inspect`).
    derived_scenarios: Vec<(String, crate::options::RawScenario)>,
}

impl Options {
    /// Resolves merged options into a [`Plan`]: derives the "default"
    /// scenario from shortcuts as k6 does, applies defaults, and validates
    /// everything, returning every problem found.
    pub fn resolve(self) -> Result<Plan, Vec<ConfigError>> {
        resolve::resolve(self)
    }
}

impl Plan {
    /// The merged options the plan was resolved from.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Checks that every scenario's function is exported by the script
    /// (k6: "function 'x' not found in exports").
    pub fn check_exec(&self, is_exported: impl Fn(&str) -> bool) -> Result<(), Vec<ConfigError>> {
        let errors: Vec<ConfigError> = self
            .scenarios
            .iter()
            .filter(|s| !is_exported(s.exec_fn()))
            .map(|s| {
                ConfigError::scenario(
                    &s.name,
                    format!("function '{}' not found in exports", s.exec_fn()),
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests;
