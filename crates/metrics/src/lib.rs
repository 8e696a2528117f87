//! Metric samples, tag sets, aggregates (HDR trends), per-interval snapshots, thresholds and the summary model. No I/O.
