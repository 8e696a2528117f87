//! Samples recorded outside VUs: `dropped_iterations` from executors and the
//! `vus`/`vus_max` gauges from the collector.

use stampede_metrics::{Metric, Sample, Sink, Snapshot, TagSet};

/// A sink that also keeps raw samples when an output wants every point.
#[derive(Debug)]
pub(crate) struct MainSink {
    sink: Sink,
    raw: Option<Vec<Sample>>,
}

impl MainSink {
    /// `keep_raw`: outputs need every sample.
    pub fn new(keep_raw: bool) -> Self {
        Self {
            sink: Sink::new(),
            raw: keep_raw.then(Vec::new),
        }
    }

    /// Records one sample.
    pub fn add(&mut self, metric: Metric, tags: &TagSet, value: f64, time_ns: u64) {
        self.sink.add(metric, tags, value, time_ns);
        if let Some(raw) = &mut self.raw {
            raw.push(Sample {
                metric,
                tags: tags.clone(),
                value,
                time_ns,
            });
        }
    }

    /// What was recorded since the last call, if anything.
    pub fn take(&mut self, start_ns: u64, end_ns: u64) -> Option<(Snapshot, Vec<Sample>)> {
        if self.sink.is_empty() {
            return None;
        }
        let raw = self.raw.as_mut().map(std::mem::take).unwrap_or_default();
        Some((self.sink.take(start_ns, end_ns), raw))
    }
}
