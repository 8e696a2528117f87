//! Test options: parsing, merging (defaults < file < script < env < CLI),
//! validation into a plan, executors' plans and execution segments. No I/O.

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
pub use error::{render_errors, ConfigError, INVALID_CONFIG_EXIT_CODE};
pub use executor::{ExecutionStep, ExecutorConfig, ExecutorKind, Stage};
pub use options::Options;
pub use plan::{Plan, Scenario, ThresholdSpec};
pub use ratio::Ratio;
pub use segment::{
    ExecutionSegment, ExecutionSegmentSequence, ExecutionTuple, SegmentError, SegmentedIndex,
};
