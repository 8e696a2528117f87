//! The plan as `k6 inspect` prints it.

use serde_json::{Map, Value};

use super::Plan;
use crate::duration::format_duration;

impl Plan {
    /// What `k6 inspect` prints: the merged options, every key in k6's
    /// order with `null` where unset. With `execution_requirements` (k6's
    /// `--execution-requirements`), `scenarios` is derived from the
    /// shortcuts, `summaryTrendStats` and `systemTags` show their defaults,
    /// and `totalDuration` and `maxVUs` are appended.
    pub fn to_inspect_json(&self, execution_requirements: bool) -> Value {
        let mut json = self.options.to_inspect_json();
        if !execution_requirements {
            return json;
        }
        let Value::Object(map) = &mut json else {
            unreachable!("options serialize as an object")
        };
        let mut scenarios: Vec<_> = self.derived_scenarios.iter().collect();
        scenarios.sort_by(|a, b| a.0.cmp(&b.0));
        let scenarios: Map<String, Value> = scenarios
            .into_iter()
            .map(|(n, s)| (n.clone(), s.to_json()))
            .collect();
        map.insert("scenarios".into(), Value::Object(scenarios));
        map.insert(
            "summaryTrendStats".into(),
            self.summary.trend_stats.clone().into(),
        );
        let mut tags = self.run.system_tags.clone();
        tags.sort();
        tags.dedup();
        map.insert("systemTags".into(), tags.into());
        map.insert(
            "totalDuration".into(),
            format_duration(self.max_duration()).into(),
        );
        map.insert("maxVUs".into(), self.max_vus().into());
        json
    }
}
