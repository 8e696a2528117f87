//! Results: the end-of-test summary text, summary export, JSON and CSV outputs.
