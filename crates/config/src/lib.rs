//! Test options: parsing, merging (defaults < file < script < env < CLI),
//! validation into a plan, executors' plans and execution segments. No I/O.

pub mod duration;
pub mod executor;
pub mod ratio;
pub mod segment;

pub use duration::{format_duration, DurationError, K6Duration};
pub use executor::{ExecutionStep, ExecutorConfig, ExecutorKind, Stage};
pub use ratio::Ratio;
pub use segment::{
    ExecutionSegment, ExecutionSegmentSequence, ExecutionTuple, SegmentError, SegmentedIndex,
};
