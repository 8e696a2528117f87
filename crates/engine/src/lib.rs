//! Runs a test: VU pool, executors, lifecycle (init, setup, iterations, teardown, handleSummary), metrics collection and run control.
