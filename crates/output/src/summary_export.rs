//! `--summary-export=FILE`: k6's legacy machine-readable summary.
//!
//! It is `handleSummary` data reshaped as k6 v1.1's summary wrapper does:
//! `options` and `state` dropped; groups and checks keyed by name; each
//! metric flattened to its values, with a rate's `rate` renamed `value`
//! and thresholds as `{source: failed}` (true means the threshold *failed*,
//! as in k6).

use serde_json::{Map, Value};

use crate::jsjson::stringify;

fn transform_group(group: &Value) -> Value {
    let Some(obj) = group.as_object() else {
        return group.clone();
    };
    let mut out = obj.clone();
    if let Some(Value::Array(groups)) = obj.get("groups") {
        let mut by_name = Map::new();
        for g in groups {
            let name = g
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            by_name.insert(name, transform_group(g));
        }
        out.insert("groups".into(), Value::Object(by_name));
    }
    if let Some(Value::Array(checks)) = obj.get("checks") {
        let mut by_name = Map::new();
        for c in checks {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            by_name.insert(name, c.clone());
        }
        out.insert("checks".into(), Value::Object(by_name));
    }
    Value::Object(out)
}

fn transform_metric(metric: &Value) -> Value {
    let mut values = metric
        .get("values")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Object(th)) = metric.get("thresholds") {
        if !th.is_empty() {
            let failed: Map<String, Value> = th
                .iter()
                .map(|(source, r)| {
                    let ok = r.get("ok").and_then(Value::as_bool).unwrap_or(false);
                    (source.clone(), Value::Bool(!ok))
                })
                .collect();
            values.insert("thresholds".into(), Value::Object(failed));
        }
    }
    if metric.get("type").and_then(Value::as_str) == Some("rate") {
        if let Some(rate) = values.shift_remove("rate") {
            values.insert("value".into(), rate);
        }
    }
    Value::Object(values)
}

/// The export document from `handleSummary` data (see the module docs).
pub fn from_data(data: &Value) -> Value {
    let mut out = Map::new();
    if let Some(root) = data.get("root_group") {
        out.insert("root_group".into(), transform_group(root));
    }
    let mut metrics = Map::new();
    if let Some(Value::Object(m)) = data.get("metrics") {
        for (name, metric) in m {
            metrics.insert(name.clone(), transform_metric(metric));
        }
    }
    out.insert("metrics".into(), Value::Object(metrics));
    if let Some(obj) = data.as_object() {
        for (k, v) in obj {
            if !matches!(k.as_str(), "root_group" | "metrics" | "options" | "state") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The file's text: `JSON.stringify(export, null, 4)`.
pub fn to_file_text(export: &Value) -> String {
    stringify(export, "    ")
}
