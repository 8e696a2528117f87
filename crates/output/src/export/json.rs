//! The JSON export of a stored run: k6's `--summary-export` document (as
//! `k6 run --summary-export` writes it for the same data) with one key
//! added, `intervals`: per stored interval, every metric's values over that
//! interval (all its series merged), in the same shape as the document's
//! `metrics` (trends with `p(99)` too, counters' `rate` per second of the
//! interval).

use std::time::Duration;

use serde_json::{Map, Value};
use stampede_metrics::{Registry, Stat, Store, TagSet};

use super::{resolve, ExportError, StoredRun};
use crate::results::Results;

/// Trend statistics of each interval.
const INTERVAL_TREND_STATS: [Stat; 8] = [
    Stat::Count,
    Stat::Avg,
    Stat::Min,
    Stat::Med,
    Stat::Max,
    Stat::Percentile(90.0),
    Stat::Percentile(95.0),
    Stat::Percentile(99.0),
];

/// The export document of `run`, whose [`Results`] are `results`
/// (from [`super::results`]).
pub fn export(run: &StoredRun<'_>, results: &Results) -> Result<Value, ExportError> {
    let data = results.summary.clone().unwrap_or(Value::Null);
    let mut doc = match crate::summary_export::from_data(&data) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let reg = Registry::new();
    let snaps = resolve(&reg, run.intervals)?;
    let intervals = snaps
        .iter()
        .map(|snap| {
            let elapsed = Duration::from_nanos(snap.end_ns.saturating_sub(snap.start_ns));
            let mut store = Store::new();
            store.apply(snap);
            let mut metrics = Map::new();
            for id in store.metrics_seen() {
                let Some(agg) = store.get(id, &TagSet::empty()) else {
                    continue;
                };
                let values: Map<String, Value> = agg
                    .values(&INTERVAL_TREND_STATS, elapsed)
                    .into_iter()
                    .map(|(k, v)| (k, finite(v)))
                    .collect();
                metrics.insert(reg.def(id).name.to_string(), Value::Object(values));
            }
            let mut o = Map::new();
            o.insert("start_s".into(), finite(snap.start_ns as f64 / 1e9));
            o.insert("duration_s".into(), finite(elapsed.as_secs_f64()));
            o.insert("metrics".into(), Value::Object(metrics));
            Value::Object(o)
        })
        .collect();
    doc.insert("intervals".into(), Value::Array(intervals));
    Ok(Value::Object(doc))
}

/// JSON has no NaN or infinity: those become `null`.
fn finite(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}
