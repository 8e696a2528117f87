//! Helpers shared by the integration tests.

use serde_json::Value;
use stampede_config::{ConfigError, Options, Plan};

/// A layer from `K6_*` pairs.
pub fn env(pairs: &[(&str, &str)]) -> Options {
    let vars: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Options::from_env(&vars).expect("valid env")
}

/// Runs the whole configuration pipeline as the engine does: config file,
/// script options, env and CLI layers, consolidated and resolved.
pub fn pipeline(
    file: Value,
    script: Value,
    env: Options,
    cli: Options,
) -> Result<(Plan, Vec<String>), Vec<ConfigError>> {
    let file = Options::from_config_json(&file)?;
    let script = Options::from_json(&script)?;
    let (merged, mut warnings) = Options::consolidate(file, script, env, cli);
    let plan = merged.resolve()?;
    warnings.extend(plan.warnings.iter().cloned());
    Ok((plan, warnings))
}

/// The header k6 prints: the "scenarios:" line, then one line per scenario.
pub fn header(plan: &Plan) -> Vec<String> {
    let mut lines = vec![plan.scenarios_header()];
    lines.extend(
        plan.scenario_descriptions()
            .into_iter()
            .map(|(n, d)| format!("* {n}: {d}")),
    );
    lines
}
