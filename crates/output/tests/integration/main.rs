//! Stampede's outputs against what k6 v1.1.0 produced for the same run
//! (fixtures in `tests/fixtures/k6-v1.1.0`, captured by its `gen.sh`).

mod common;
mod data;
mod humanize;
mod outputs;
mod text;
