//! Runs scripts through the engine against the in-repo test server.

#![allow(dead_code)]

use std::sync::Arc;

use stampede_engine::{Loaded, RunConfig, RunReport};
use stampede_js::log::Logger;
use stampede_metrics::TagSet;

pub struct Run {
    pub report: RunReport,
    pub logs: Vec<String>,
}

impl Run {
    /// Samples (or count, for counters) of a metric filtered by tags.
    pub fn count(&self, metric: &str, tags: &[(&str, &str)]) -> u64 {
        let Some(m) = self.report.registry.lookup(metric) else {
            return 0;
        };
        let Some(agg) = self
            .report
            .store
            .get(m.id, &TagSet::from_pairs(tags.iter().copied()))
        else {
            return 0;
        };
        match agg {
            stampede_metrics::Aggregate::Counter(c) => c.sum as u64,
            other => other.samples(),
        }
    }

    /// Asserts that each named check ran and always passed.
    pub fn assert_checks_pass(&self, names: &[&str]) {
        for name in names {
            let n = self.count("checks", &[("check", name)]);
            assert!(n > 0, "check {name:?} never ran: {:?}", self.logs);
            assert_eq!(
                self.rate("checks", &[("check", name)]),
                1.0,
                "check {name:?} failed: {:?}",
                self.logs
            );
        }
    }

    pub fn rate(&self, metric: &str, tags: &[(&str, &str)]) -> f64 {
        let m = self.report.registry.lookup(metric).unwrap();
        let agg = self
            .report
            .store
            .get(m.id, &TagSet::from_pairs(tags.iter().copied()))
            .unwrap();
        agg.stat(&"rate".parse().unwrap(), self.report.duration)
            .unwrap()
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.contains(needle))
    }
}

/// Loads and runs `source` with `BASE_URL` set to `base`.
pub fn run_script(source: &str, base: &str) -> Result<Run, stampede_engine::EngineError> {
    run_script_with(source, base, |_| {})
}

/// Like [`run_script`], adjusting the configuration first.
pub fn run_script_with(
    source: &str,
    base: &str,
    tweak: impl FnOnce(&mut RunConfig),
) -> Result<Run, stampede_engine::EngineError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.js");
    std::fs::write(&path, source).unwrap();
    let logger = Arc::new(Logger::capturing());
    let mut cfg = RunConfig::for_script(&path);
    cfg.logger = logger.clone();
    cfg.system_env.insert("BASE_URL".into(), base.to_string());
    cfg.threads = Some(2);
    tweak(&mut cfg);
    let loaded = Loaded::load(cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async move {
        let running = loaded
            .start(Vec::new(), Box::new(|_| serde_json::json!({})))
            .unwrap();
        running.finish().await
    });
    Ok(Run {
        report,
        logs: logger.captured(),
    })
}
