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
//! report `--out html=FILE` wrote. The SLO and `k` come from the
//! `recover` scenario's `env` ([`SLO_ENV`], set by `chaos.phases({slo,
//! k})`). A run without those phases is untouched: its summary is k6's.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use stampede_chaos::{Recovery, Slo};
use stampede_config::plan::SummarySettings as SummaryPlan;
use stampede_engine::{Loaded, RunReport, SummaryDataFn};
use stampede_metrics::{Registry, Sample};
use stampede_output::results::{Recorder, RecorderConfig};
use stampede_output::Output;

/// The key of the recovery in `handleSummary`'s data and the summary export.
pub const KEY: &str = "stampede_chaos";
/// The `recover` scenario's variable with the SLO: JSON `{"error_rate":
/// 0.01, "p95_ms": 500, "k": 3}` (every field optional).
pub const SLO_ENV: &str = "STAMPEDE_CHAOS_SLO";
/// The scenario that runs while the fault is on.
const INJECT: &str = "inject";
/// The scenario that starts when the fault ends.
const RECOVER: &str = "recover";

/// The SLO the recovery is measured against.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Measure {
    slo: Slo,
    k: usize,
}

/// Reads [`SLO_ENV`]: default error rate ≤ 1 %, no latency bound, k = 3.
fn measure_from(env: Option<&String>) -> Result<Measure, String> {
    let mut m = Measure {
        slo: Slo {
            p95_ms: None,
            error_rate: Some(0.01),
        },
        k: 3,
    };
    let Some(text) = env else {
        return Ok(m);
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("{SLO_ENV} is not JSON ({e}): {text}"))?;
    let num = |key: &str| -> Result<Option<f64>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(Some)
                .ok_or_else(|| format!("{SLO_ENV}: {key} must be a number ≥ 0, got {x}")),
        }
    };
    if let Some(r) = num("error_rate")? {
        m.slo.error_rate = Some(r);
    }
    m.slo.p95_ms = num("p95_ms")?;
    if let Some(k) = num("k")? {
        if k < 1.0 || k.fract() != 0.0 {
            return Err(format!("{SLO_ENV}: k must be a whole number ≥ 1, got {k}"));
        }
        m.k = k as usize;
    }
    Ok(m)
}

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
    let scenarios = &loaded.plan.scenarios;
    let phase = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name && s.tags.get("phase").map(String::as_str) == Some(name))
    };
    let (Some(_), Some(recover)) = (phase(INJECT), phase(RECOVER)) else {
        return Ok(None);
    };
    let measure = measure_from(recover.env.get(SLO_ENV))?;
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
        use stampede_pipeline::gate::{fault_end, measure_recovery};
        let slo = json!({
            "error_rate": self.measure.slo.error_rate,
            "p95_ms": self.measure.slo.p95_ms,
            "k": self.measure.k,
            "interval_s": 1,
        });
        match fault_end(results, Some(RECOVER), None) {
            Ok(end) => {
                let rec: Recovery =
                    measure_recovery(results, end, &self.measure.slo, self.measure.k);
                json!({
                    "slo": slo,
                    "faults": [{
                        "phase": INJECT,
                        "fault_end_s": rec.fault_end_s,
                        "recovery_s": rec.recovery_s,
                        "recovered": rec.recovery_s.is_some(),
                    }],
                })
            }
            Err(e) => json!({ "slo": slo, "faults": [], "error": e }),
        }
    }

    /// The block printed after the summary.
    pub fn text(&self) -> String {
        let v = self.value();
        let mut slo = Vec::new();
        if let Some(r) = v["slo"]["error_rate"].as_f64() {
            slo.push(format!("error rate ≤ {:.2}%", r * 100.0));
        }
        if let Some(p) = v["slo"]["p95_ms"].as_f64() {
            slo.push(format!("p95 ≤ {p}ms"));
        }
        let k = v["slo"]["k"].as_u64().unwrap_or(0);
        let mut out = format!(
            "\n  CHAOS RECOVERY (SLO: {}, held {k} one-second intervals in a row)\n",
            slo.join(", ")
        );
        let faults = v["faults"].as_array().cloned().unwrap_or_default();
        if faults.is_empty() {
            let why = v["error"].as_str().unwrap_or("the recover phase never ran");
            out.push_str(&format!("    not measured: {why}\n"));
        }
        for f in faults {
            let end = f["fault_end_s"].as_f64().unwrap_or(0.0);
            match f["recovery_s"].as_f64() {
                Some(s) => out.push_str(&format!(
                    "    fault ended at {end:.1}s: recovered in {s:.1}s\n"
                )),
                None => out.push_str(&format!(
                    "    fault ended at {end:.1}s: NOT RECOVERED before the end of the test\n"
                )),
            }
        }
        out.push('\n');
        out
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
        let Some(at) = html.find("<section id=\"thresholds\">") else {
            return Err(format!("{path} is not a Stampede HTML report"));
        };
        let escaped = self
            .text()
            .trim()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let section = format!(
            "<section id=\"chaos-recovery\"><h2>Chaos recovery</h2><pre>{escaped}</pre></section>\n"
        );
        let html = format!("{}{section}{}", &html[..at], &html[at..]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_slo_from_the_recover_scenario() {
        let d = measure_from(None).unwrap();
        assert_eq!(d.k, 3);
        assert_eq!(d.slo.error_rate, Some(0.01));
        let m = measure_from(Some(&r#"{"error_rate":0.05,"p95_ms":300,"k":2}"#.into())).unwrap();
        assert_eq!(m.k, 2);
        assert_eq!(m.slo.p95_ms, Some(300.0));
        assert_eq!(m.slo.error_rate, Some(0.05));
        assert!(measure_from(Some(&r#"{"k":0}"#.into()))
            .unwrap_err()
            .contains("k must"));
        assert!(measure_from(Some(&r#"{"p95_ms":"fast"}"#.into()))
            .unwrap_err()
            .contains("p95_ms"));
        assert!(measure_from(Some(&"nope".into())).is_err());
    }
}
