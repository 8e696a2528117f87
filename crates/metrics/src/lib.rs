//! Metrics for Stampede, with k6 v1.1 semantics: samples, tag sets,
//! aggregates, per-interval snapshots, the run's store and thresholds. Pure:
//! no I/O, no async, no JavaScript.
//!
//! The main types, in the order samples flow through them:
//!
//! - [`Registry`]: metric definitions ([`MetricDef`]); k6's [`Builtin`]
//!   metrics have fixed ids, custom ones are registered by name and get a
//!   cheap [`Metric`] handle.
//! - [`TagSet`]: sorted tags, cloned by `Arc`, hashed once.
//! - [`Sink`]: per-thread aggregation of samples into an [`Aggregate`] per
//!   `(metric, tags)`; Trends keep HDR histograms (3 significant digits), never
//!   the samples.
//! - [`Snapshot`]: what a sink flushes each interval; merges exactly and
//!   travels between processes as a [`WireSnapshot`].
//! - [`Store`]: the whole run, queried by metric and tag selector.
//! - [`thresholds::Thresholds`]: k6 threshold syntax, validation and evaluation.
//!
//! ```
//! use std::time::Duration;
//! use stampede_metrics::thresholds::{ThresholdSpec, Thresholds};
//! use stampede_metrics::{Builtin, Registry, Sink, Stat, Store, TagSet};
//!
//! let reg = Registry::new();
//! let mut sink = Sink::new();
//! let tags = TagSet::from_pairs([("name", "home"), ("status", "200")]);
//! for ms in [120.0, 80.0, 310.0] {
//!     sink.add(Builtin::HttpReqDuration.metric(), &tags, ms, 0);
//! }
//!
//! // Each second a thread flushes; the collector merges into the store.
//! let mut store = Store::new();
//! store.apply(&sink.take(0, 1_000_000_000));
//! let home = TagSet::from_pairs([("name", "home")]);
//! let agg = store.get(Builtin::HttpReqDuration.id(), &home).unwrap();
//! assert_eq!(agg.stat(&Stat::Max, Duration::from_secs(1)), Some(310.0));
//!
//! let mut th = Thresholds::new(vec![ThresholdSpec::new("http_req_duration{name:home}", "p(95)<250")])
//!     .unwrap();
//! assert!(th.validate(&reg).is_empty());
//! let eval = th.evaluate(&store, Duration::from_secs(1));
//! assert!(!eval.all_ok);
//! assert_eq!(eval.breached, ["http_req_duration{name:home}"]); // p(95) is 291 ms
//! ```

pub mod agg;
mod builtin;
mod error;
mod gofmt;
mod key;
mod kind;
mod registry;
mod sample;
mod sink;
mod snapshot;
mod stat;
mod store;
mod system_tags;
mod tags;
pub mod thresholds;
mod wire;

pub use agg::{Aggregate, CounterAgg, GaugeAgg, RateAgg, TrendAgg};
pub use builtin::Builtin;
pub use error::MetricError;
pub use kind::{MetricType, ValueType};
pub use registry::{is_valid_name, Metric, MetricDef, MetricId, Registry};
pub use sample::Sample;
pub use sink::{SeriesRef, Sink};
pub use snapshot::{Snapshot, SnapshotEntry};
pub use stat::{Stat, StatParseError};
pub use store::Store;
pub use system_tags::{SystemTagSet, DEFAULT_SYSTEM_TAGS, SYSTEM_TAGS};
pub use tags::TagSet;
pub use wire::{WireEntry, WireMetric, WireSnapshot};
