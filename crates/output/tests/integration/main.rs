//! Integration tests. `k6_*` compare with what k6 v1.1.0 produced for the
//! same run (fixtures in `tests/fixtures/k6-v1.1.0`, captured by its
//! `gen.sh`); `snapshots` pins whole summaries of synthetic runs; `outputs`
//! exercises the streaming outputs.

mod common;
mod k6_data;
mod k6_humanize;
mod k6_outputs;
mod k6_results;
mod k6_text;
mod net_outputs;
mod outputs;
mod report_browser;
mod snapshots;
mod stored_exports;
