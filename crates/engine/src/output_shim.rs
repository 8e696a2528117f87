//! Where every sample goes when an output wants raw points (`--out json`).
//! The file outputs themselves live in `stampede-output`.

use stampede_metrics::{Registry, Sample};

/// A streaming output fed by the collector in batches.
pub trait Output: Send {
    /// What k6 prints after "output:", e.g. `json (results.json)`.
    fn description(&self) -> String;
    /// Opens the output before the first sample.
    fn start(&mut self) -> std::io::Result<()>;
    /// Receives a batch of samples.
    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> std::io::Result<()>;
    /// Flushes and closes the output.
    fn stop(&mut self) -> std::io::Result<()>;
}
