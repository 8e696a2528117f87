//! Test pipelines: seed 000's method — smoke, then load and stress in
//! parallel, then spike, chaos and an optional soak — as a YAML file of
//! stages, each a k6 script with a gate, run in dependency order.
//!
//! - [`spec`]: the file's shape ([`PipelineSpec`], [`StageSpec`], [`Gate`]).
//! - [`Pipeline::load`]: parses and validates, reporting every problem
//!   with its line before anything runs.
//! - [`run()`]: runs the stages (independent ones in parallel) and applies
//!   each stage's on-failure policy; [`gate`] turns a stage's results into
//!   checks (thresholds, baseline comparison, breaking point, recovery).
//! - [`report`]: JSON, JUnit and HTML, and the decision-tree text with the
//!   seed's recommendations ([`decision`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use stampede_pipeline::{run, Pipeline, RunOptions};
//! let pipeline = Pipeline::load("examples/pipeline.yaml".as_ref())?;
//! let (_stop_tx, stop) = tokio::sync::watch::channel(false);
//! let report = run(&pipeline, RunOptions {
//!     exe: "stampede".into(),
//!     out_dir: "pipeline-report".into(),
//!     env: Vec::new(),
//!     include: Vec::new(),
//!     on_event: Arc::new(|_| {}),
//!     stop,
//! }).await;
//! print!("{}", stampede_pipeline::report::text(&report));
//! std::process::exit(report.exit_code());
//! # }
//! ```

pub mod decision;
pub mod gate;
pub mod load;
pub mod report;
pub mod run;
pub mod spec;

pub use load::{LoadError, Pipeline, Problem};
pub use run::{run, Event, Outcome, PipelineReport, RunOptions, StageReport};
pub use spec::{Gate, PipelineSpec, StageSpec};
