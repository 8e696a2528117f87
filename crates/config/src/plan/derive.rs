//! Shortcut options (`iterations`, `duration`, `stages`) into a single
//! "default" scenario, exactly as k6's `DeriveScenariosFromShortcuts`.

use crate::error::ConfigError;
use crate::executor::ExecutorKind;
use crate::options::{Options, RawScenario};

/// The name of the scenario derived from shortcut options.
pub const DEFAULT_SCENARIO_NAME: &str = "default";

/// Fills `options.scenarios` from the shortcuts, returning k6's warnings.
/// Conflicting shortcuts are errors with k6's wording.
pub(crate) fn derive_scenarios(options: &mut Options) -> Result<Vec<String>, ConfigError> {
    let conflict = |a: &str, b: &str| {
        ConfigError::Invalid(format!(
            "using `{a}` and `{b}` options simultaneously is not allowed"
        ))
    };
    let has_stages = options.stages.as_ref().is_some_and(|s| !s.is_empty());
    let mut warnings = Vec::new();
    let derived = if let Some(iterations) = options.iterations {
        if has_stages {
            return Err(conflict("iterations", "stages"));
        }
        if options.scenarios.is_some() {
            return Err(conflict("iterations", "scenarios"));
        }
        let mut s = RawScenario::new(ExecutorKind::SharedIterations);
        s.vus = options.vus;
        s.iterations = Some(iterations);
        s.max_duration = options.duration;
        s
    } else if let Some(duration) = options.duration {
        if has_stages {
            return Err(conflict("duration", "stages"));
        }
        if options.scenarios.is_some() {
            return Err(conflict("duration", "scenarios"));
        }
        if duration.as_nanos() <= 0 {
            return Err(ConfigError::Invalid(
                "`duration` option should be more than 0, for infinite duration use the externally-controlled executor"
                    .to_owned(),
            ));
        }
        let mut s = RawScenario::new(ExecutorKind::ConstantVus);
        s.vus = options.vus;
        s.duration = Some(duration);
        s
    } else if has_stages {
        if options.scenarios.is_some() {
            return Err(conflict("stages", "scenarios"));
        }
        let mut s = RawScenario::new(ExecutorKind::RampingVus);
        s.start_vus = options.vus;
        s.stages = options.stages.clone();
        s
    } else if options.scenarios.as_ref().is_some_and(|s| !s.is_empty()) {
        return Ok(warnings);
    } else {
        if let Some(vus) = options.vus.filter(|v| *v != 1) {
            warnings.push(format!(
                "the `vus={vus}` option will be ignored, it only works in conjunction with `iterations`, `duration`, or `stages`"
            ));
        }
        if options.stages.is_some() {
            warnings.push("`stages` was explicitly set to an empty value, running the script with 1 iteration in 1 VU".to_owned());
        }
        if options.scenarios.is_some() {
            warnings.push("`scenarios` was explicitly set to an empty value, running the script with 1 iteration in 1 VU".to_owned());
        }
        RawScenario::new(ExecutorKind::PerVuIterations)
    };
    options.scenarios = Some(vec![(DEFAULT_SCENARIO_NAME.to_owned(), derived)]);
    Ok(warnings)
}
