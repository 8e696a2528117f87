//! Results, presented as k6 v1.1 presents them.
//!
//! - [`summary::Report`]: the end-of-test summary, built once from the run's
//!   [`stampede_metrics::Store`]; renders the compact, full and legacy text
//!   ([`summary::SummaryMode`]) and the `handleSummary(data)` object.
//! - [`summary::render_legacy_from_data`]: the k6-summary jslib's
//!   `textSummary(data, options)`.
//! - [`summary_export`], for `--summary-export=FILE`.
//! - [`out`]: the outputs of `--out` behind the [`out::Output`] trait:
//!   `json` and `csv` files; `influxdb` (1.x) and `xk6-influxdb` (2.x),
//!   `experimental-prometheus-rw` and `experimental-opentelemetry` over the
//!   network; `results`, `html` and `junit` files written at the end.
//! - [`results`]: the results record a run leaves behind, built by a
//!   [`results::Recorder`] from samples (or replayed from a k6 `--out json`
//!   file), baselines and the regression comparison; [`html`] renders it
//!   as the HTML report and [`junit`] as JUnit XML.
//!
//! The summary code does no I/O: it returns strings and JSON values. The
//! file outputs write themselves, buffered; the network and report outputs
//! do their work on a thread of their own, so `add_samples` only queues.
//!
//! k6 renders its summary in JavaScript, so the number formatting here
//! follows JavaScript's (`toFixed`, `Number#toString`, see [`jsfmt`]) and the
//! metric order follows `localeCompare` ([`collate`]).
//!
//! # At the end of a run
//!
//! After the final [`Thresholds::evaluate`](stampede_metrics::thresholds::Thresholds::evaluate):
//! build a [`Report`]; hand [`Report::handle_summary_data`] to the script's
//! `handleSummary` if it has one, else print [`Report::render`] (through
//! [`ansi::for_terminal`] when stdout is a terminal, as k6 does); write
//! [`summary_export::to_file_text`]`(&report.summary_export())` for
//! `--summary-export`.
//!
//! # During a run
//!
//! ```
//! use std::sync::Arc;
//! use stampede_metrics::{Builtin, Registry, Sample, TagSet};
//! use stampede_output::out::{local_utc_offset, metric_metas, OutputContext};
//!
//! let registry = Registry::new();
//! let path = std::env::temp_dir().join(format!("doc-{}.json.gz", std::process::id()));
//! let ctx = OutputContext {
//!     metrics: Arc::new(metric_metas(None, true)), // the run's thresholds
//!     utc_offset_secs: local_utc_offset(1_795_471_525),
//!     ..OutputContext::default()
//! };
//! let mut out = stampede_output::from_spec(&format!("json={}", path.display()), &ctx).unwrap();
//! assert!(out.description().starts_with("json ("));
//! out.start().unwrap();
//! let sample = Sample {
//!     metric: Builtin::Iterations.metric(),
//!     tags: TagSet::from_pairs([("scenario", "default")]),
//!     value: 1.0,
//!     time_ns: 1_795_471_525_000_000_000,
//! };
//! out.add_samples(&[sample], &registry).unwrap(); // from the collector, per batch
//! out.stop().unwrap();
//! # std::fs::remove_file(path).unwrap();
//! ```

pub mod ansi;
pub mod collate;
pub mod export;
pub mod html;
pub mod humanize;
pub mod jsfmt;
pub mod jsjson;
pub mod junit;
pub mod out;
pub mod results;
pub mod summary;
pub mod summary_export;
pub mod units;

pub use out::{from_spec, metric_metas, Output, OutputContext, OutputError, OutputPanic};
pub use summary::{
    render_legacy_from_data, LegacyFlavor, Report, SummaryInput, SummaryMode, TextOptions,
};
