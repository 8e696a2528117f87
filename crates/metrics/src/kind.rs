//! Metric kinds (`MetricType`) and what their values measure (`ValueType`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four k6 metric kinds; serialized as k6 spells them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// A cumulative sum (`count`, `rate` per second).
    Counter,
    /// The latest value, with its minimum and maximum.
    Gauge,
    /// The share of non-zero values.
    Rate,
    /// A distribution (avg, min, med, max, percentiles).
    Trend,
}

impl MetricType {
    /// The name k6 uses ("counter", "gauge", "rate", "trend").
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Rate => "rate",
            MetricType::Trend => "trend",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a metric's values measure (k6's `contains`); drives formatting only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Plain numbers.
    #[default]
    Default,
    /// Durations in milliseconds.
    Time,
    /// Byte counts.
    Data,
}

impl ValueType {
    /// The name k6 uses ("default", "time", "data").
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Default => "default",
            ValueType::Time => "time",
            ValueType::Data => "data",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_k6() {
        for (kind, name) in [
            (MetricType::Counter, "counter"),
            (MetricType::Gauge, "gauge"),
            (MetricType::Rate, "rate"),
            (MetricType::Trend, "trend"),
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(kind.to_string(), name);
        }
        for (vt, name) in [
            (ValueType::Default, "default"),
            (ValueType::Time, "time"),
            (ValueType::Data, "data"),
        ] {
            assert_eq!(serde_json::to_string(&vt).unwrap(), format!("\"{name}\""));
            let back: ValueType = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, vt);
        }
    }
}
