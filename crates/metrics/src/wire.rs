//! `WireSnapshot`: the serde form of a snapshot, independent of registry ids.

use serde::{Deserialize, Serialize};

use crate::agg::Aggregate;
use crate::error::MetricError;
use crate::kind::{MetricType, ValueType};
use crate::registry::Registry;
use crate::snapshot::{Snapshot, SnapshotEntry};
use crate::tags::TagSet;

/// A metric definition carried on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireMetric {
    /// The metric name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: MetricType,
    /// What its values measure.
    pub contains: ValueType,
}

/// One series on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireEntry {
    /// Index into [`WireSnapshot::metrics`].
    pub metric: u32,
    /// The series' tags.
    pub tags: TagSet,
    /// Its aggregate (trend histograms as base64 HDR V2 deflate).
    pub agg: Aggregate,
}

/// A [`Snapshot`] with metric names instead of ids, for sending between
/// processes (workers to controller) whose registries differ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireSnapshot {
    /// Start of the interval (ns since the run's epoch).
    pub start_ns: u64,
    /// End of the interval.
    pub end_ns: u64,
    /// The metrics the entries refer to.
    pub metrics: Vec<WireMetric>,
    /// The series.
    pub entries: Vec<WireEntry>,
}

impl WireSnapshot {
    /// Compact JSON; floats round-trip bit-exactly through [`WireSnapshot::from_json`].
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a wire snapshot always serializes")
    }

    /// Parses [`WireSnapshot::to_json`]'s output.
    pub fn from_json(json: &str) -> Result<Self, MetricError> {
        serde_json::from_str(json).map_err(|e| MetricError::Wire(e.to_string()))
    }

    /// Resolves metric names against `reg` (registering custom metrics it
    /// does not know yet) into a [`Snapshot`].
    pub fn into_snapshot(self, reg: &Registry) -> Result<Snapshot, MetricError> {
        let ids = self
            .metrics
            .iter()
            .map(|m| reg.register(&m.name, m.kind, m.contains))
            .collect::<Result<Vec<_>, _>>()?;
        let entries = self
            .entries
            .into_iter()
            .map(|e| {
                let metric = ids.get(e.metric as usize).ok_or_else(|| {
                    MetricError::Wire(format!("entry refers to unknown metric #{}", e.metric))
                })?;
                if e.agg.kind() != metric.kind {
                    return Err(MetricError::Wire(format!(
                        "a {} aggregate for {} metric '{}'",
                        e.agg.kind(),
                        metric.kind,
                        self.metrics[e.metric as usize].name
                    )));
                }
                Ok(SnapshotEntry {
                    metric: metric.id,
                    tags: e.tags,
                    agg: e.agg,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Snapshot {
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(metric: u32, kind: MetricType, agg: Aggregate) -> WireSnapshot {
        WireSnapshot {
            start_ns: 0,
            end_ns: 1,
            metrics: vec![WireMetric {
                name: "http_reqs".into(),
                kind,
                contains: ValueType::Default,
            }],
            entries: vec![WireEntry {
                metric,
                tags: TagSet::empty(),
                agg,
            }],
        }
    }

    #[test]
    fn rejects_inconsistent_input() {
        let reg = Registry::new();
        let counter = Aggregate::new(MetricType::Counter);
        assert!(wire(0, MetricType::Counter, counter.clone())
            .into_snapshot(&reg)
            .is_ok());
        let err = wire(1, MetricType::Counter, counter.clone())
            .into_snapshot(&reg)
            .unwrap_err();
        assert!(matches!(err, MetricError::Wire(_)), "{err}");
        let err = wire(0, MetricType::Trend, counter.clone())
            .into_snapshot(&reg)
            .unwrap_err();
        assert!(matches!(err, MetricError::TypeConflict { .. }), "{err}");
        let err = wire(0, MetricType::Counter, Aggregate::new(MetricType::Rate))
            .into_snapshot(&reg)
            .unwrap_err();
        assert!(matches!(err, MetricError::Wire(_)), "{err}");
    }

    #[test]
    fn json_shape() {
        let w = wire(0, MetricType::Counter, Aggregate::new(MetricType::Counter));
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(
            json,
            r#"{"start_ns":0,"end_ns":1,"metrics":[{"name":"http_reqs","type":"counter","contains":"default"}],"entries":[{"metric":0,"tags":{},"agg":{"type":"counter","sum":0.0,"samples":0}}]}"#
        );
    }
}
