//! Threshold errors, worded as k6 v1.1 words them.

use thiserror::Error;

use crate::gofmt::go_quote;
use crate::kind::MetricType;

/// Everything that can be wrong with a threshold definition.
///
/// `Display` reproduces k6's messages (checked against k6 v1.1.0), including
/// its "expresion's" typo; all of them map to exit code 104 (invalid config).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ThresholdError {
    /// No comparison operator found.
    #[error("failed parsing threshold expression {}; reason: malformed threshold expression", go_quote(.expr))]
    Malformed {
        /// The expression as written.
        expr: String,
    },
    /// The aggregation method (left of the operator) is not one k6 knows.
    #[error("failed parsing threshold expression's {} left hand side; reason: {reason}", go_quote(.expr))]
    LeftHandSide {
        /// The expression as written.
        expr: String,
        /// Why the method was rejected.
        reason: String,
    },
    /// The value (right of the operator) is not a number.
    #[error("failed parsing threshold expresion's {} right hand side; reason: {reason}", go_quote(.expr))]
    RightHandSide {
        /// The expression as written.
        expr: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// The metric selector (`name{tag:value}`) is malformed.
    #[error(
        "unable to validate threshold expressions; reason: parsing metric name failed, {reason}"
    )]
    Selector {
        /// The selector as written.
        selector: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The selector names a metric the script never registered.
    #[error("invalid threshold defined on {selector}; reason: no metric name {} found", go_quote(.selector))]
    UnknownMetric {
        /// The selector as written.
        selector: String,
    },
    /// The aggregation method does not exist for the metric's type.
    #[error(
        "invalid threshold {} applied on metric {selector}; reason: unsupported aggregation \
         method {method} on metric of type {kind}. supported aggregation methods for this \
         metric are: {}",
        go_quote(.expr),
        supported_methods(*.kind)
    )]
    UnsupportedMethod {
        /// The expression as written.
        expr: String,
        /// The selector as written.
        selector: String,
        /// The method used (`p` for percentiles).
        method: String,
        /// The metric's type.
        kind: MetricType,
    },
}

/// The aggregation methods a threshold may use on a metric type, as k6 lists them.
pub fn supported_methods(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "count, rate",
        MetricType::Gauge => "value",
        MetricType::Rate => "rate",
        MetricType::Trend => "avg, min, max, med, p",
    }
}
