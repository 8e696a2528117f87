//! `handleSummary(data)`: the object k6 v1.1 hands to the script.

use serde_json::{Map, Value};

use super::model::{path_id, GroupNode, MetricSummary};
use super::Report;
use crate::jsjson::js_number;

/// `{name, path, id, groups: [...], checks: [{name, path, id, passes, fails}]}`.
pub(crate) fn group_json(g: &GroupNode) -> Value {
    let groups: Vec<Value> = g.groups.iter().map(group_json).collect();
    let checks: Vec<Value> = g
        .checks
        .iter()
        .map(|c| {
            let path = format!("{}::{}", g.path, c.name);
            let id = path_id(&path);
            let mut m = Map::new();
            m.insert("name".into(), Value::from(c.name.clone()));
            m.insert("path".into(), Value::from(path));
            m.insert("id".into(), Value::from(id));
            m.insert("passes".into(), Value::from(c.passes));
            m.insert("fails".into(), Value::from(c.fails));
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("name".into(), Value::from(g.name.clone()));
    m.insert("path".into(), Value::from(g.path.clone()));
    m.insert("id".into(), Value::from(path_id(&g.path)));
    m.insert("groups".into(), Value::Array(groups));
    m.insert("checks".into(), Value::Array(checks));
    Value::Object(m)
}

/// `{type, contains, values, thresholds?: {source: {ok}}}`.
pub(crate) fn metric_json(m: &MetricSummary) -> Value {
    let mut values = Map::new();
    for (k, v) in &m.values {
        values.insert(k.clone(), js_number(*v));
    }
    let mut out = Map::new();
    out.insert("type".into(), Value::from(m.kind.as_str()));
    out.insert("contains".into(), Value::from(m.contains.as_str()));
    out.insert("values".into(), Value::Object(values));
    if !m.thresholds.is_empty() {
        let mut th = Map::new();
        for t in &m.thresholds {
            let mut ok = Map::new();
            ok.insert("ok".into(), Value::Bool(t.ok));
            th.insert(t.source.clone(), Value::Object(ok));
        }
        out.insert("thresholds".into(), Value::Object(th));
    }
    Value::Object(out)
}

impl Report {
    /// The `data` argument of `handleSummary(data)`, shaped as k6 v1.1's:
    /// `root_group`, `options`, `state`, `metrics` and, when `setup()`
    /// returned something, `setup_data`. (k6's key order is random; this one
    /// is fixed, metrics sorted by name.)
    pub fn handle_summary_data(&self) -> Value {
        let mut options = Map::new();
        options.insert(
            "summaryTrendStats".into(),
            Value::from(
                self.trend_stats
                    .iter()
                    .map(|(s, _)| Value::from(s.clone()))
                    .collect::<Vec<_>>(),
            ),
        );
        options.insert(
            "summaryTimeUnit".into(),
            Value::from(self.time_unit.clone().unwrap_or_default()),
        );
        options.insert("noColor".into(), Value::Bool(self.no_color));

        let mut state = Map::new();
        state.insert("isStdOutTTY".into(), Value::Bool(self.stdout_tty));
        state.insert("isStdErrTTY".into(), Value::Bool(self.stderr_tty));
        state.insert(
            "testRunDurationMs".into(),
            js_number(self.duration.as_nanos() as f64 / 1e6),
        );

        let mut metrics = Map::new();
        for m in &self.model.metrics {
            metrics.insert(m.name.clone(), metric_json(m));
        }

        let mut data = Map::new();
        data.insert("root_group".into(), group_json(&self.model.root_group));
        data.insert("options".into(), Value::Object(options));
        data.insert("state".into(), Value::Object(state));
        data.insert("metrics".into(), Value::Object(metrics));
        if let Some(setup) = &self.setup_data {
            data.insert("setup_data".into(), setup.clone());
        }
        Value::Object(data)
    }
}
