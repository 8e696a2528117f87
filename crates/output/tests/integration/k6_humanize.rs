//! Value formatting against k6's own: `humanize.json` holds, for ~550
//! values, what k6 v1.1.0's summary code returned when run inside k6 (its
//! `humanizeValue` for a time trend, a data counter, a rate and a plain gauge,
//! then with `summaryTimeUnit` ms, s and us, then `String(v)`).

use serde_json::Value;
use stampede_metrics::{MetricType, ValueType};
use stampede_output::humanize::{humanize_value, TimeUnit};
use stampede_output::jsfmt::js_string;

use crate::common::fixture;

#[test]
fn humanized_values_match_k6() {
    let table: Vec<Vec<Value>> = serde_json::from_str(&fixture("humanize.json")).unwrap();
    assert!(table.len() > 500);
    let mut failures = Vec::new();
    for row in &table {
        let v = row[0].as_f64().unwrap();
        let got = [
            humanize_value(v, MetricType::Trend, ValueType::Time, None),
            humanize_value(v, MetricType::Counter, ValueType::Data, None),
            humanize_value(v, MetricType::Rate, ValueType::Default, None),
            humanize_value(v, MetricType::Gauge, ValueType::Default, None),
            humanize_value(
                v,
                MetricType::Trend,
                ValueType::Time,
                Some(TimeUnit::Millis),
            ),
            humanize_value(
                v,
                MetricType::Trend,
                ValueType::Time,
                Some(TimeUnit::Seconds),
            ),
            humanize_value(
                v,
                MetricType::Trend,
                ValueType::Time,
                Some(TimeUnit::Micros),
            ),
            js_string(v),
        ];
        for (i, g) in got.iter().enumerate() {
            let want = row[i + 1].as_str().unwrap();
            if g != want {
                failures.push(format!("{v:e} [{i}]: {g} vs k6's {want}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
