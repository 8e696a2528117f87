//! A panic on an output's thread ends the run at once as a system error
//! (exit code 1, "internal error: ..."), as a VU thread's panic does,
//! instead of letting a long test run on and failing only at its end.

use std::io;
use std::sync::Arc;

use stampede_engine::{ExitCode, Loaded, RunConfig};
use stampede_js::log::Logger;
use stampede_metrics::{Registry, Sample};
use stampede_output::{Output, OutputPanic};

/// An output whose thread "panicked" before the first batch: every call
/// reports it, as `Background` does for the real outputs.
struct Broken;

impl Output for Broken {
    fn description(&self) -> String {
        "broken (test)".into()
    }
    fn start(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn add_samples(&mut self, _: &[Sample], _: &Registry) -> io::Result<()> {
        Err(OutputPanic("index out of bounds".into()).into_io())
    }
    fn stop(&mut self) -> io::Result<()> {
        Err(OutputPanic("index out of bounds".into()).into_io())
    }
}

#[test]
fn an_output_thread_panic_ends_a_long_run_as_a_system_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("script.js");
    // Ten minutes unless the panic stops it; the VU only sleeps.
    std::fs::write(
        &path,
        "import { sleep } from 'k6';\n\
         export const options = { vus: 1, duration: '10m' };\n\
         export default function () { sleep(0.05); }\n",
    )
    .unwrap();
    let logger = Arc::new(Logger::capturing());
    let mut cfg = RunConfig::for_script(&path);
    cfg.logger = logger.clone();
    cfg.threads = Some(1);
    let loaded = Loaded::load(cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(async move {
        let running = loaded
            .start(vec![Box::new(Broken)], Box::new(|_| serde_json::json!({})))
            .unwrap();
        running.finish().await
    });
    assert_eq!(
        report.exit_code,
        ExitCode::SystemError,
        "{:?}",
        report.error
    );
    assert_eq!(
        report.error.as_deref(),
        Some("internal error: output broken (test) panicked: index out of bounds")
    );
}
