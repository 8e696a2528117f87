//! Test options: parsing, merging (defaults < file < script < env < CLI),
//! validation into a plan, executors' plans and execution segments. No I/O.
//!
//! Configuration happens in two stages, as in k6:
//!
//! 1. Each source becomes an [`Options`] layer: [`Options::from_config_json`]
//!    (`--config` file), [`Options::from_json`] (the script's exported
//!    `options`), [`Options::from_env`] (`K6_*` variables), and the CLI sets
//!    fields directly. Layers combine with [`Options::merge`], higher wins.
//! 2. [`Options::resolve`] derives the "default" scenario from shortcut
//!    options, applies k6's defaults and validates everything into a
//!    [`Plan`], reporting every [`ConfigError`] (the engine maps them all
//!    to k6's exit code 104, `engine::ExitCode::InvalidConfig`).
//!
//! Each scenario's [`ExecutorConfig`] is a pure plan: VUs over time
//! ([`ExecutionStep`]s), iteration start times for arrival-rate executors,
//! durations and k6's one-line description, all for this instance's share
//! of the test ([`ExecutionTuple`], k6's execution segments).
//!
//! ```
//! use serde_json::json;
//! use stampede_config::Options;
//!
//! let script = Options::from_json(&json!({"vus": 10, "duration": "30s"})).unwrap();
//! let env = Options::from_env(&[("K6_VUS".into(), "20".into())]).unwrap();
//! let plan = Options::default().merge(script).merge(env).resolve().unwrap();
//!
//! assert_eq!(
//!     plan.scenarios_header(),
//!     "(100.00%) 1 scenario, 20 max VUs, 1m0s max duration (incl. graceful stop):"
//! );
//! assert_eq!(plan.scenarios[0].description(&plan.tuple), "20 looping VUs for 30s (gracefulStop: 30s)");
//!
//! let errors = Options::from_json(&json!({"vu": 2})).unwrap_err();
//! assert_eq!(errors[0].to_string(), "unknown option \"vu\"; did you mean \"vus\"?");
//! ```

pub mod duration;
mod error;
pub mod executor;
mod json;
pub mod options;
pub mod plan;
pub mod ratio;
pub mod segment;
mod suggest;

pub use duration::{format_duration, DurationError, K6Duration};
pub use error::{render_errors, ConfigError};
pub use executor::{ExecutionStep, ExecutorConfig, ExecutorKind, Stage};
pub use options::Options;
pub use plan::{Plan, Scenario, ThresholdSpec};
pub use ratio::Ratio;
pub use segment::{
    ExecutionSegment, ExecutionSegmentSequence, ExecutionTuple, SegmentError, SegmentedIndex,
};
