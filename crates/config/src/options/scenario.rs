//! Stages and scenarios as written, before validation. Keys are checked
//! strictly per executor type, as k6 does for scenarios.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::duration::K6Duration;
use crate::error::ConfigError;
use crate::executor::ExecutorKind;
use crate::json::{self, read};
use crate::suggest::did_you_mean;

/// A stage as written; either field may be missing until validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawStage {
    /// `duration`.
    pub duration: Option<K6Duration>,
    /// `target`.
    pub target: Option<i64>,
}

impl RawStage {
    /// `"30s:10"` (target optional), as on the command line and in
    /// `K6_STAGES`.
    pub fn parse(text: &str) -> Result<RawStage, String> {
        let (duration, target) = text.split_once(':').unwrap_or((text, ""));
        let duration = if duration.is_empty() {
            None
        } else {
            Some(K6Duration::parse(duration).map_err(|e| e.to_string())?)
        };
        let target = if target.is_empty() {
            None
        } else {
            Some(
                target
                    .parse()
                    .map_err(|_| format!("invalid stage target {target:?} in {text:?}"))?,
            )
        };
        Ok(RawStage { duration, target })
    }
}

/// A scenario as written; `None` fields take executor defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RawScenario {
    /// `executor`.
    pub executor: ExecutorKind,
    /// `startTime`.
    pub start_time: Option<K6Duration>,
    /// `gracefulStop`.
    pub graceful_stop: Option<K6Duration>,
    /// `env`.
    pub env: Option<BTreeMap<String, String>>,
    /// `exec`.
    pub exec: Option<String>,
    /// `tags`.
    pub tags: Option<BTreeMap<String, String>>,
    /// `options` (browser settings and the like), kept as written.
    pub options: Option<Value>,
    /// `vus`.
    pub vus: Option<i64>,
    /// `iterations`.
    pub iterations: Option<i64>,
    /// `maxDuration`.
    pub max_duration: Option<K6Duration>,
    /// `duration`.
    pub duration: Option<K6Duration>,
    /// `startVUs`.
    pub start_vus: Option<i64>,
    /// `stages`.
    pub stages: Option<Vec<RawStage>>,
    /// `gracefulRampDown`.
    pub graceful_ramp_down: Option<K6Duration>,
    /// `rate`.
    pub rate: Option<i64>,
    /// `startRate`.
    pub start_rate: Option<i64>,
    /// `timeUnit`.
    pub time_unit: Option<K6Duration>,
    /// `preAllocatedVUs`.
    pub pre_allocated_vus: Option<i64>,
    /// `maxVUs`.
    pub max_vus: Option<i64>,
}

impl RawScenario {
    /// A scenario of `executor` with nothing set.
    pub fn new(executor: ExecutorKind) -> Self {
        RawScenario {
            executor,
            start_time: None,
            graceful_stop: None,
            env: None,
            exec: None,
            tags: None,
            options: None,
            vus: None,
            iterations: None,
            max_duration: None,
            duration: None,
            start_vus: None,
            stages: None,
            graceful_ramp_down: None,
            rate: None,
            start_rate: None,
            time_unit: None,
            pre_allocated_vus: None,
            max_vus: None,
        }
    }
}

/// Parses a `stages` array at `path`.
pub(crate) fn parse_stages(
    v: &Value,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<RawStage>> {
    let items = match v {
        Value::Null => return None,
        Value::Array(items) => items,
        other => {
            errors.push(ConfigError::value(
                path,
                format!("expected an array of stages, got {}", json::show(other)),
            ));
            return None;
        }
    };
    let mut stages = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        let Some(map) = read(
            errors,
            || here.clone(),
            json::object(item, "a {duration, target} object"),
        ) else {
            stages.push(RawStage::default());
            continue;
        };
        let mut stage = RawStage::default();
        for (key, value) in map {
            match key.as_str() {
                "duration" => {
                    stage.duration =
                        read(errors, || format!("{here}.duration"), json::duration(value))
                }
                "target" => {
                    stage.target = read(errors, || format!("{here}.target"), json::int(value))
                }
                other => errors.push(ConfigError::UnknownKey {
                    context: here.clone(),
                    key: other.to_owned(),
                    hint: did_you_mean(other, ["duration", "target"]),
                }),
            }
        }
        stages.push(stage);
    }
    Some(stages)
}

/// Parses the `scenarios` object, keeping declaration order.
pub(crate) fn parse_scenarios(
    v: &Value,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<(String, RawScenario)>> {
    let map = read(
        errors,
        || "scenarios".to_owned(),
        json::object(v, "an object of scenarios"),
    )?;
    let mut result = Vec::with_capacity(map.len());
    for (name, body) in map {
        if let Some(scenario) = parse_scenario(name, body, errors) {
            result.push((name.clone(), scenario));
        }
    }
    Some(result)
}

fn parse_scenario(name: &str, body: &Value, errors: &mut Vec<ConfigError>) -> Option<RawScenario> {
    let Some(map) = read(
        errors,
        || format!("scenarios.{name}"),
        json::object(body, "a scenario object"),
    ) else {
        errors.push(ConfigError::scenario(
            name,
            "doesn't have a specified executor type",
        ));
        return None;
    };
    let kind = executor_kind(name, map, errors)?;
    let mut s = RawScenario::new(kind);
    for (key, value) in map {
        if key == "executor" {
            continue;
        }
        if !kind.accepts(key) {
            errors.push(ConfigError::UnknownKey {
                context: format!("scenario \"{name}\" ({kind})"),
                key: key.clone(),
                hint: did_you_mean(key, kind.keys()),
            });
            continue;
        }
        let path = || format!("scenarios.{name}.{key}");
        match key.as_str() {
            "startTime" => s.start_time = read(errors, path, json::duration(value)),
            "gracefulStop" => s.graceful_stop = read(errors, path, json::duration(value)),
            "env" => s.env = read(errors, path, json::string_map(value)),
            "exec" => s.exec = read(errors, path, json::string(value)),
            "tags" => s.tags = read(errors, path, json::string_map(value)),
            "options" => s.options = (!value.is_null()).then(|| value.clone()),
            "vus" => s.vus = read(errors, path, json::int(value)),
            "iterations" => s.iterations = read(errors, path, json::int(value)),
            "maxDuration" => s.max_duration = read(errors, path, json::duration(value)),
            "duration" => s.duration = read(errors, path, json::duration(value)),
            "startVUs" => s.start_vus = read(errors, path, json::int(value)),
            "stages" => s.stages = parse_stages(value, &path(), errors),
            "gracefulRampDown" => s.graceful_ramp_down = read(errors, path, json::duration(value)),
            "rate" => s.rate = read(errors, path, json::int(value)),
            "startRate" => s.start_rate = read(errors, path, json::int(value)),
            "timeUnit" => s.time_unit = read(errors, path, json::duration(value)),
            "preAllocatedVUs" => s.pre_allocated_vus = read(errors, path, json::int(value)),
            "maxVUs" => s.max_vus = read(errors, path, json::int(value)),
            _ => unreachable!("every accepted key is handled"),
        }
    }
    Some(s)
}

fn executor_kind(
    name: &str,
    map: &Map<String, Value>,
    errors: &mut Vec<ConfigError>,
) -> Option<ExecutorKind> {
    let executor = match map.get("executor") {
        None | Some(Value::Null) => None,
        Some(v) => read(
            errors,
            || format!("scenarios.{name}.executor"),
            json::string(v),
        ),
    };
    match executor.as_deref() {
        None | Some("") => {
            errors.push(ConfigError::scenario(
                name,
                "doesn't have a specified executor type",
            ));
            None
        }
        Some(executor) => ExecutorKind::from_name(executor).or_else(|| {
            errors.push(ConfigError::UnknownExecutor {
                scenario: name.to_owned(),
                executor: executor.to_owned(),
                hint: did_you_mean(executor, ExecutorKind::ALL.iter().map(|k| k.name())),
            });
            None
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> (Option<Vec<(String, RawScenario)>>, Vec<String>) {
        let mut errors = Vec::new();
        let r = parse_scenarios(&v, &mut errors);
        (r, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn parses_every_executor_key() {
        let (r, errors) = parse(json!({
            "a": {"executor": "ramping-arrival-rate", "startRate": 3, "timeUnit": "1m", "preAllocatedVUs": 5,
                  "maxVUs": "10", "stages": [{"duration": "10s", "target": 30}], "exec": "foo",
                  "env": {"A": "1"}, "tags": {"t": "x"}, "startTime": "5s", "gracefulStop": 0,
                  "options": {"browser": {"type": "chromium"}}},
        }));
        assert!(errors.is_empty(), "{errors:?}");
        let (name, s) = &r.unwrap()[0];
        assert_eq!(name, "a");
        assert_eq!(s.executor, ExecutorKind::RampingArrivalRate);
        assert_eq!(
            (s.start_rate, s.max_vus, s.pre_allocated_vus),
            (Some(3), Some(10), Some(5))
        );
        assert_eq!(s.time_unit, Some(K6Duration::from_secs(60)));
        assert_eq!(s.stages.as_ref().unwrap()[0].target, Some(30));
        assert_eq!(s.graceful_stop, Some(K6Duration::ZERO));
        assert!(s.options.is_some());
    }

    #[test]
    fn unknown_keys_and_executors_are_named() {
        let (_, errors) = parse(json!({
            "a": {"executor": "constant-vus", "vu": 2, "duration": "10s"},
            "b": {"executor": "constant-vu"},
            "c": {"vus": 2},
            "d": {"executor": "constant-vus", "rate": 2},
        }));
        assert_eq!(
            errors,
            [
                "scenario \"a\" (constant-vus): unknown key \"vu\"; did you mean \"vus\"?",
                "scenario \"b\": unknown executor \"constant-vu\"; did you mean \"constant-vus\"?",
                "scenario \"c\": doesn't have a specified executor type",
                "scenario \"d\" (constant-vus): unknown key \"rate\"",
            ]
        );
    }

    #[test]
    fn bad_values_are_named() {
        let (_, errors) =
            parse(json!({"a": {"executor": "constant-vus", "vus": 1.5, "duration": "abc"}}));
        assert_eq!(
            errors,
            [
                "invalid value for scenarios.a.vus: expected an integer, got 1.5",
                "invalid value for scenarios.a.duration: invalid duration \"abc\"",
            ]
        );
    }

    #[test]
    fn stage_text() {
        assert_eq!(
            RawStage::parse("30s:10").unwrap(),
            RawStage {
                duration: Some(K6Duration::from_secs(30)),
                target: Some(10)
            }
        );
        assert_eq!(RawStage::parse("1m").unwrap().target, None);
        assert!(RawStage::parse("1m:x").is_err());
        assert!(RawStage::parse("x:1").is_err());
    }
}
