//! Metric samples, tag sets, aggregates (HDR trends), per-interval snapshots,
//! thresholds and the summary model. No I/O.

pub mod agg;
mod builtin;
mod error;
mod gofmt;
mod key;
mod kind;
mod registry;
mod sink;
mod snapshot;
mod stat;
mod store;
mod tags;
pub mod thresholds;
mod wire;

pub use agg::{Aggregate, CounterAgg, GaugeAgg, RateAgg, TrendAgg};
pub use builtin::Builtin;
pub use error::MetricError;
pub use kind::{MetricType, ValueType};
pub use registry::{is_valid_name, Metric, MetricDef, MetricId, Registry};
pub use sink::Sink;
pub use snapshot::{Snapshot, SnapshotEntry};
pub use stat::{Stat, StatParseError};
pub use store::Store;
pub use tags::TagSet;
pub use wire::{WireEntry, WireMetric, WireSnapshot};
