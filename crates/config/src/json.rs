//! Reading typed option values out of JSON the way k6's Go types do
//! (`null.Int` accepts numeric strings, durations accept numbers as
//! milliseconds, ...), with errors that name the value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::duration::K6Duration;
use crate::error::ConfigError;

/// A short description of a JSON value for error messages.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {s:?}"),
        Value::Object(_) => "an object".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        other => other.to_string(),
    }
}

/// An integer: a whole JSON number or a string of digits (`""` is unset).
pub(crate) fn int(v: &Value) -> Result<Option<i64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| format!("expected an integer, got {n}")),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => s
            .parse()
            .map(Some)
            .map_err(|_| format!("expected an integer, got {}", show(v))),
        other => Err(format!("expected an integer, got {}", show(other))),
    }
}

/// `true` or `false`.
pub(crate) fn boolean(v: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(format!("expected true or false, got {}", show(other))),
    }
}

/// A string.
pub(crate) fn string(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("expected a string, got {}", show(other))),
    }
}

/// A duration string or a number of milliseconds.
pub(crate) fn duration(v: &Value) -> Result<Option<K6Duration>, String> {
    K6Duration::from_json(v).map_err(|e| e.to_string())
}

/// An array of strings.
pub(crate) fn string_list(v: &Value) -> Result<Option<Vec<String>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "expected an array of strings, found {}",
                    show(other)
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        other => Err(format!("expected an array of strings, got {}", show(other))),
    }
}

/// An object of string values.
pub(crate) fn string_map(v: &Value) -> Result<Option<BTreeMap<String, String>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!(
                    "the value of \"{k}\" must be a string, got {}",
                    show(other)
                )),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        other => Err(format!(
            "expected an object of strings, got {}",
            show(other)
        )),
    }
}

/// An object, or `None` for `null`.
pub(crate) fn object<'a>(
    v: &'a Value,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => Err(format!("expected {what}, got {}", show(other))),
    }
}

/// Runs a reader, recording its error against `path` and returning `None`.
pub(crate) fn read<T>(
    errors: &mut Vec<ConfigError>,
    path: impl FnOnce() -> String,
    result: Result<Option<T>, String>,
) -> Option<T> {
    result.unwrap_or_else(|reason| {
        errors.push(ConfigError::value(path(), reason));
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_like_null_int() {
        assert_eq!(int(&json!(10)), Ok(Some(10)));
        assert_eq!(int(&json!(2.0)), Ok(Some(2)));
        assert_eq!(int(&json!(1e3)), Ok(Some(1000)));
        assert_eq!(int(&json!("10")), Ok(Some(10)));
        assert_eq!(int(&json!("")), Ok(None));
        assert_eq!(int(&json!(null)), Ok(None));
        assert_eq!(int(&json!(1.5)), Err("expected an integer, got 1.5".into()));
        assert_eq!(
            int(&json!(true)),
            Err("expected an integer, got true".into())
        );
        assert_eq!(
            int(&json!("abc")),
            Err("expected an integer, got the string \"abc\"".into())
        );
    }

    #[test]
    fn other_scalars() {
        assert_eq!(boolean(&json!(true)), Ok(Some(true)));
        assert!(boolean(&json!("true")).is_err());
        assert!(boolean(&json!(1)).is_err());
        assert_eq!(string(&json!("ua")), Ok(Some("ua".into())));
        assert!(string(&json!(5)).is_err());
        assert_eq!(
            string_list(&json!(["a", "b"])),
            Ok(Some(vec!["a".into(), "b".into()]))
        );
        assert!(string_list(&json!(["a", 1])).is_err());
        assert!(string_map(&json!({"a": 1})).is_err());
    }
}
