//! Test pipelines: seed 000's method — smoke, then load and stress in
//! parallel, then spike, chaos and an optional soak — as a YAML file of
//! stages, each a k6 script with a gate, run in dependency order.
//!
//! - [`spec`]: the file's shape ([`PipelineSpec`], [`StageSpec`], [`Gate`]).
//! - [`Pipeline::load`]: parses and validates, reporting every problem
//!   with its line before anything runs.
//! - [`run()`]: runs the stages (independent ones in parallel) and applies
//!   each stage's on-failure policy; an [`Executor`] runs each stage's
//!   script ([`process::ProcessExecutor`]: a `stampede run` process; the
//!   server has its own); [`gate`] turns a stage's results into checks
//!   (thresholds, baseline comparison, breaking point, recovery).
//! - [`report`]: JSON, JUnit and HTML, and the decision-tree text with the
//!   seed's recommendations ([`decision`]).
//! - [`chaos_summary`]: the recovery block of a chaos run's summary, for
//!   `stampede run` and the server alike.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use stampede_pipeline::{process::ProcessExecutor, run, Pipeline, RunOptions};
//! let pipeline = Pipeline::load("examples/pipeline.yaml".as_ref())?;
//! let (_stop_tx, stop) = tokio::sync::watch::channel(false);
//! let report = run(&pipeline, RunOptions {
//!     executor: Arc::new(ProcessExecutor {
//!         exe: "stampede".into(),
//!         dir: "examples".into(),
//!         out_dir: "pipeline-report".into(),
//!     }),
//!     env: Vec::new(),
//!     include: Vec::new(),
//!     on_event: Arc::new(|_| {}),
//!     stop,
//! }).await;
//! print!("{}", stampede_pipeline::report::text(&report));
//! std::process::exit(report.exit_code());
//! # }
//! ```

pub mod chaos_summary;
pub mod decision;
pub mod gate;
pub mod load;
pub mod process;
pub mod report;
pub mod run;
pub mod spec;

pub use load::{LoadError, Pipeline, Problem, Source};
pub use run::{
    run, Event, ExecFuture, Executed, Executor, Outcome, PipelineReport, RunOptions, StageJob,
    StageReport,
};
pub use spec::{Gate, PipelineSpec, StageSpec};
