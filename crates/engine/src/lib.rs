//! Runs a test: VU pool, executors, lifecycle (init, setup, iterations,
//! teardown, handleSummary), metrics collection and run control.
//!
//! The engine is a library; the `stampede` CLI is one client. A run is a
//! resolved plan in, a stream of per-interval snapshots and a final report
//! out:
//!
//! ```no_run
//! # async fn demo() -> Result<(), stampede_engine::EngineError> {
//! use stampede_engine::{Loaded, RunConfig};
//! let loaded = Loaded::load(RunConfig::for_script("script.js"))?;
//! println!("{}", loaded.plan.scenarios_header());
//! // Outputs get every sample; the closure builds handleSummary's data.
//! let running = loaded.start(Vec::new(), Box::new(|_| serde_json::json!({})))?;
//! println!("{:?}", running.progress());    // live progress
//! let report = running.finish().await;      // metrics, thresholds, exit code
//! std::process::exit(report.exit_code.code());
//! # }
//! ```

mod archive;
mod arrivals;
mod collector;
mod control;
mod error;
mod executor;
mod exit_policy;
mod handle_summary;
mod http_client;
mod lifecycle;
mod load;
mod main_sink;
mod native;
mod part;
mod pool;
mod progress;
mod run;
mod scenarios;
mod selfcheck;
pub mod stats;
mod vu_task;
mod worker;

pub use archive::build_archive;
pub use control::{ControlError, Pauser, StopReason, Stopper};
pub use error::{EngineError, ExitCode};
pub use load::{Loaded, RunConfig};
pub use native::{NativeProgram, NativeVu, VuFuture};
pub use part::{Part, ResumeAt, SetupReport, SharedSetup};
pub use progress::{ProgressView, ScenarioProgress};
pub use run::{Monitor, RunControl, RunReport, RunStatus, Running, SummaryDataFn, SummaryParts};
pub use stampede_js::Archive;
pub use stampede_output::Output;
pub use stats::RunStats;
