//! Recovery time in `stampede run`'s end-of-test summary, for scripts that
//! declare seed 000's phases with `stampede/chaos` (`chaos.phases(...)`:
//! scenarios `inject` and `recover` tagged `phase`).
//!
//! Such a run gets one more streaming output that keeps per-second figures
//! (the same [`Recorder`] the results file and the HTML report use); at the
//! end the recovery is measured as the pipeline's gate measures it (from
//! the moment the `recover` scenario first ran until the SLO holds `k`
//! intervals in a row) and shown after the summary, and added under the
//! key [`KEY`] to `handleSummary`'s data and the `--summary-export` file
//! (k6 ignores keys it does not know), and as a section of the HTML
//! report `--out html=FILE` wrote. The measuring, the text and the HTML
//! section are `stampede_pipeline::chaos_summary`'s (the server's runs use
//! the same); the phases are found by `stampede_cluster::runner::chaos_slo`.
//! A run without those phases is untouched: its summary is k6's.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use stampede_config::plan::SummarySettings as SummaryPlan;
use stampede_engine::{Loaded, RunReport, SummaryDataFn};
use stampede_metrics::{Registry, Sample};
use stampede_output::results::{Recorder, RecorderConfig};
use stampede_output::Output;
use stampede_pipeline::chaos_summary::{self as recovery, Measure};

/// The key of the recovery in `handleSummary`'s data and the summary export.
pub const KEY: &str = recovery::KEY;

/// The recovery watch of one run.
pub struct ChaosWatch {
    measure: Measure,
    recorder: Arc<Mutex<Option<Recorder>>>,
    /// Measured once, when first asked (by `handleSummary`'s data or at the end).
    result: Arc<Mutex<Option<Value>>>,
}

/// A watch when the plan has `stampede/chaos` phases; an error when their
/// SLO is malformed.
pub fn detect(loaded: &Loaded) -> Result<Option<ChaosWatch>, String> {
    let Some(slo) = stampede_cluster::runner::chaos_slo(&loaded.plan) else {
        return Ok(None);
    };
    let measure = recovery::measure_from(slo.as_deref())?;
    let recorder = Recorder::new(RecorderConfig {
        script: None,
        source: None,
        thresholds: Vec::new(),
        trend_stats: loaded.plan.summary.trend_stats.clone(),
        start_ns: None,
        interval: None,
    });
    Ok(Some(ChaosWatch {
        measure,
        recorder: Arc::new(Mutex::new(Some(recorder))),
        result: Arc::default(),
    }))
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ChaosWatch {
    /// The output that keeps the per-second figures.
    pub fn output(&self) -> Box<dyn Output> {
        Box::new(Feed(self.recorder.clone()))
    }

    /// `data` (handleSummary's) with the recovery under [`KEY`].
    pub fn wrap(&self, data: SummaryDataFn) -> SummaryDataFn {
        let me = self.share();
        Box::new(move |parts| {
            let mut v = data(parts);
            if let Some(obj) = v.as_object_mut() {
                obj.insert(KEY.to_string(), me.value());
            }
            v
        })
    }

    fn share(&self) -> ChaosWatch {
        ChaosWatch {
            measure: self.measure,
            recorder: self.recorder.clone(),
            result: self.result.clone(),
        }
    }

    /// The recovery as documented under [`KEY`] (measured on first use).
    pub fn value(&self) -> Value {
        let mut result = lock(&self.result);
        if let Some(v) = &*result {
            return v.clone();
        }
        let recorder = lock(&self.recorder).take();
        let v = match recorder {
            Some(r) => self.measure_results(&r.finish(Some(now_ns()))),
            None => json!({"error": "no samples were recorded"}),
        };
        *result = Some(v.clone());
        v
    }

    fn measure_results(&self, results: &stampede_output::results::Results) -> Value {
        recovery::value(results, &self.measure)
    }

    /// The block printed after the summary.
    pub fn text(&self) -> String {
        recovery::text(&self.value())
    }

    /// At the end of the run: prints [`ChaosWatch::text`] after k6's
    /// summary (unless `--no-summary` or `handleSummary` took over the
    /// output) and adds the recovery to the `--summary-export` file.
    pub fn finish(
        &self,
        report: &RunReport,
        plan: &SummaryPlan,
        outputs: &[String],
    ) -> Result<(), String> {
        if report.handle_summary.is_none() && !plan.no_summary {
            print!("{}", self.text());
        }
        for spec in outputs {
            match spec.split_once('=') {
                Some(("html", file)) => self.patch_html(file)?,
                None if spec == "html" => self.patch_html("report.html")?,
                _ => {}
            }
        }
        match &plan.export {
            Some(path) => self.patch_export(path),
            None => Ok(()),
        }
    }

    /// Adds a "Chaos recovery" section after the summary of the HTML
    /// report `--out html=FILE` wrote.
    fn patch_html(&self, path: &str) -> Result<(), String> {
        let html = std::fs::read_to_string(path)
            .map_err(|e| format!("could not read the HTML report {path}: {e}"))?;
        let html = recovery::patch_html(&html, &self.value())
            .ok_or_else(|| format!("{path} is not a Stampede HTML report"))?;
        std::fs::write(path, html)
            .map_err(|e| format!("could not write the HTML report {path}: {e}"))
    }

    /// Adds the recovery to the `--summary-export` file at `path`.
    fn patch_export(&self, path: &str) -> Result<(), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("could not read the summary export {path}: {e}"))?;
        let mut doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the summary export {path} is not JSON: {e}"))?;
        if let Some(obj) = doc.as_object_mut() {
            obj.insert(KEY.to_string(), self.value());
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text)
            .map_err(|e| format!("could not write the summary export {path}: {e}"))
    }
}

/// The streaming side: samples into the shared recorder.
struct Feed(Arc<Mutex<Option<Recorder>>>);

impl Output for Feed {
    fn description(&self) -> String {
        "chaos recovery (summary)".into()
    }

    fn start(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> std::io::Result<()> {
        if let Some(r) = lock(&self.0).as_mut() {
            r.add_samples(samples, registry);
        }
        Ok(())
    }

    fn stop(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
