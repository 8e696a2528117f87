//! Comparing two stored runs (also of different scenarios): the
//! per-endpoint p50/p95/p99/error-rate table and verdict of `stampede
//! compare`, with the earlier run as the baseline. Both sides are built
//! from merged stored histograms ([`super::results`]), so the figures are
//! each run's exact percentiles, never averages of per-interval ones.

use crate::results::baseline::Baseline;
use crate::results::compare::{compare, CompareOptions, Comparison};
use crate::results::Results;

/// Compares run `current` with run `baseline`, endpoint by endpoint, on
/// p50, p95, p99 and error rate ([`Baseline::from_results`]'s statistics).
/// [`Comparison::passed`] is the verdict, [`Comparison::render`] the
/// table, [`Comparison::to_json`] the API's answer.
pub fn runs(baseline: &Results, current: &Results, options: CompareOptions) -> Comparison {
    compare(&Baseline::from_results(baseline), current, options)
}
