//! The `thresholds` option as written: per metric selector, a list of
//! expressions, each a string or `{threshold, abortOnFail, delayAbortEval}`.

use serde_json::Value;

use crate::duration::K6Duration;
use crate::error::ConfigError;
use crate::json::{self, read};
use crate::suggest::did_you_mean;

/// One threshold expression as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawThreshold {
    /// The expression, e.g. `p(95)<200`.
    pub expr: String,
    /// Abort the test when it fails.
    pub abort_on_fail: bool,
    /// Wait this long before evaluating for an abort.
    pub delay_abort_eval: Option<K6Duration>,
}

/// The expressions for one metric selector, e.g. `http_req_duration{status:200}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawThresholdSet {
    /// Metric name, optionally with a tag filter in braces.
    pub selector: String,
    /// Expressions in declaration order.
    pub thresholds: Vec<RawThreshold>,
}

const OBJECT_KEYS: [&str; 3] = ["threshold", "abortOnFail", "delayAbortEval"];

/// Parses the `thresholds` object, keeping declaration order.
pub(crate) fn parse(v: &Value, errors: &mut Vec<ConfigError>) -> Option<Vec<RawThresholdSet>> {
    let map = read(
        errors,
        || "thresholds".to_owned(),
        json::object(v, "an object of metric selectors"),
    )?;
    let mut sets = Vec::with_capacity(map.len());
    for (selector, list) in map {
        let path = |i: Option<usize>| match i {
            Some(i) => format!("thresholds[\"{selector}\"][{i}]"),
            None => format!("thresholds[\"{selector}\"]"),
        };
        let items = match list {
            Value::Array(items) => items,
            Value::Null => continue,
            other => {
                errors.push(ConfigError::value(
                    path(None),
                    format!("expected an array of thresholds, got {}", json::show(other)),
                ));
                continue;
            }
        };
        let mut thresholds = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(t) = parse_one(item, &path(Some(i)), errors) {
                thresholds.push(t);
            }
        }
        sets.push(RawThresholdSet {
            selector: selector.clone(),
            thresholds,
        });
    }
    Some(sets)
}

fn parse_one(item: &Value, path: &str, errors: &mut Vec<ConfigError>) -> Option<RawThreshold> {
    let map = match item {
        Value::String(s) => {
            return Some(RawThreshold {
                expr: s.clone(),
                abort_on_fail: false,
                delay_abort_eval: None,
            })
        }
        Value::Object(map) => map,
        other => {
            errors.push(ConfigError::value(
                path,
                format!(
                    "expected a threshold string or object, got {}",
                    json::show(other)
                ),
            ));
            return None;
        }
    };
    let mut expr = None;
    let mut abort_on_fail = false;
    let mut delay_abort_eval = None;
    for (key, value) in map {
        let field = || format!("{path}.{key}");
        match key.as_str() {
            "threshold" => expr = read(errors, field, json::string(value)),
            "abortOnFail" => {
                abort_on_fail = read(errors, field, json::boolean(value)).unwrap_or(false)
            }
            "delayAbortEval" => delay_abort_eval = read(errors, field, json::duration(value)),
            other => errors.push(ConfigError::UnknownKey {
                context: path.to_owned(),
                key: other.to_owned(),
                hint: did_you_mean(other, OBJECT_KEYS),
            }),
        }
    }
    let Some(expr) = expr else {
        errors.push(ConfigError::value(
            path,
            "the threshold object has no \"threshold\" expression",
        ));
        return None;
    };
    Some(RawThreshold {
        expr,
        abort_on_fail,
        delay_abort_eval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_forms_in_declaration_order() {
        let mut errors = Vec::new();
        let sets = parse(
            &json!({
                "http_req_duration": ["p(95)<200", {"threshold": "avg<100", "abortOnFail": true, "delayAbortEval": "10s"}],
                "http_reqs{a:b}": ["count>1"],
            }),
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(sets[0].selector, "http_req_duration");
        assert_eq!(sets[0].thresholds[1].expr, "avg<100");
        assert!(sets[0].thresholds[1].abort_on_fail);
        assert_eq!(
            sets[0].thresholds[1].delay_abort_eval,
            Some(K6Duration::from_secs(10))
        );
        assert_eq!(sets[1].selector, "http_reqs{a:b}");
    }

    #[test]
    fn bad_entries_are_named() {
        let mut errors = Vec::new();
        parse(
            &json!({"http_req_duration": "p(95)<200", "x": [42, {"threshold": "a", "abortOnFial": true}]}),
            &mut errors,
        );
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("thresholds[\"http_req_duration\"]"));
        assert!(msgs[1].contains("thresholds[\"x\"][0]"));
        assert!(msgs[2].contains("did you mean \"abortOnFail\"?"));
    }
}
