//! Errors of the registry and of decoding wire snapshots.

use thiserror::Error;

use crate::kind::{MetricType, ValueType};

/// A metric could not be registered, or a wire snapshot could not be decoded.
///
/// Messages for registration follow k6 word for word, since scripts see them
/// as exceptions from `new Counter(...)` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricError {
    /// The name does not match `^[a-zA-Z_][a-zA-Z0-9_]{1,128}$`.
    #[error(
        "Invalid metric name: '{0}'. Metric names must only include up to 128 ASCII letters, \
         numbers, or underscores and start with a letter or an underscore."
    )]
    InvalidName(String),
    /// The name is already registered with another metric type.
    #[error("metric '{name}' already exists but with type {existing}, instead of {requested}")]
    TypeConflict {
        /// The metric name.
        name: String,
        /// The type it was registered with.
        existing: MetricType,
        /// The type asked for now.
        requested: MetricType,
    },
    /// The name is already registered with another value type.
    #[error(
        "metric '{name}' already exists but with a value type {existing}, instead of {requested}"
    )]
    ValueTypeConflict {
        /// The metric name.
        name: String,
        /// The value type it was registered with.
        existing: ValueType,
        /// The value type asked for now.
        requested: ValueType,
    },
    /// A wire snapshot is malformed (bad histogram, dangling metric index, ...).
    #[error("invalid wire snapshot: {0}")]
    Wire(String),
}
