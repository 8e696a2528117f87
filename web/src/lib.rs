//! Stampede's web UI: the static assets every Stampede process that serves
//! a page embeds ([`assets`]), and the data contract the pages read
//! ([`contract`]), computed from a run's interval snapshots by [`LiveRun`].
//!
//! The UI is plain ES modules with no build step (`cargo build` never needs
//! Node); uPlot is vendored from npm with its license. A server serves
//! [`assets::get`] under `/` with [`assets::SECURITY_HEADERS`], and the
//! contract's JSON under `/api/v1`:
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use stampede_metrics::{Builtin, Registry, Sink, TagSet};
//! use stampede_web::LiveRun;
//!
//! let mut run = LiveRun::new("local", None, Arc::new(Registry::new()), vec![], Duration::from_secs(1));
//! let mut sink = Sink::new();
//! sink.add(Builtin::HttpReqs.metric(), &TagSet::empty(), 1.0, 10);
//! let point = run.push(&sink.take(0, 1_000_000_000));
//! assert_eq!((point.seq, point.requests), (0, 1));
//! assert!(stampede_web::assets::get("index.html").is_some());
//! ```

pub mod assets;
pub mod contract;
mod live;

pub use contract::{IntervalPoint, LiveMessage, MetricsPage, RunState, RunStatus, ScenarioState};
pub use live::LiveRun;
