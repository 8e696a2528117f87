//! Results, presented as k6 v1.1 presents them.
//!
//! - [`summary::Report`]: the end-of-test summary, built once from the run's
//!   [`stampede_metrics::Store`]; renders the compact, full and legacy text
//!   ([`summary::SummaryMode`]) and the `handleSummary(data)` object.
//! - [`summary::render_legacy_from_data`]: the k6-summary jslib's
//!   `textSummary(data, options)`.
//! - [`summary_export`], for `--summary-export=FILE`.
//! - [`out`]: the streaming outputs `--out json=FILE[.gz]` and
//!   `--out csv=FILE[.gz]` behind the [`out::Output`] trait.
//!
//! The summary code does no I/O: it returns strings and JSON values. The
//! streaming outputs write their files themselves, buffered.
//!
//! k6 renders its summary in JavaScript, so the number formatting here
//! follows JavaScript's (`toFixed`, `Number#toString`, see [`jsfmt`]) and the
//! metric order follows `localeCompare` ([`collate`]).

pub mod ansi;
pub mod collate;
pub mod humanize;
pub mod jsfmt;
pub mod jsjson;
pub mod out;
pub mod summary;
pub mod summary_export;

pub use out::{from_spec, metric_metas, Output, OutputContext, OutputError};
pub use summary::{render_legacy_from_data, Report, SummaryInput, SummaryMode, TextOptions};
