//! The end of a run as the user sees it: the summary text (or what
//! `handleSummary` returned), `--summary-export`, and the streaming outputs.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use stampede_config::options::SummaryMode as CfgMode;
use stampede_config::plan::Plan;
use stampede_engine::{Loaded, Output, RunReport, SummaryDataFn, SummaryParts};
use stampede_js::TextSummaryFn;
use stampede_output::{from_spec, metric_metas, OutputContext, Report, SummaryInput, SummaryMode};

/// What the summary needs from the plan and the terminal.
pub struct SummarySetup {
    trend_stats: Vec<String>,
    time_unit: Option<String>,
    mode: SummaryMode,
    no_summary: bool,
    export: Option<String>,
    no_color: bool,
    stdout_tty: bool,
    stderr_tty: bool,
}

impl SummarySetup {
    /// Reads the summary settings of the plan.
    pub fn new(loaded: &Loaded, no_color: bool, stdout_tty: bool) -> Self {
        let plan: &Plan = &loaded.plan;
        Self {
            trend_stats: plan.summary.trend_stats.clone(),
            time_unit: plan.summary.time_unit.map(|u| u.name().to_string()),
            mode: match plan.summary.mode {
                CfgMode::Full => SummaryMode::Full,
                CfgMode::Legacy => SummaryMode::Legacy,
                CfgMode::Compact => SummaryMode::Compact,
            },
            no_summary: plan.summary.no_summary,
            export: plan.summary.export.clone(),
            no_color,
            stdout_tty,
            stderr_tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    fn input<'a>(
        &'a self,
        store: &'a stampede_metrics::Store,
        registry: &'a stampede_metrics::Registry,
        thresholds: &'a stampede_metrics::thresholds::Thresholds,
        duration: Duration,
        setup_data: Option<&'a serde_json::Value>,
    ) -> SummaryInput<'a> {
        SummaryInput {
            store,
            registry,
            thresholds: Some(thresholds),
            duration,
            trend_stats: self.trend_stats.clone(),
            time_unit: self.time_unit.clone(),
            setup_data: setup_data.cloned(),
            no_color: self.no_color,
            stdout_tty: self.stdout_tty,
            stderr_tty: self.stderr_tty,
        }
    }

    /// The summary of a finished run.
    fn report(&self, report: &RunReport) -> Report {
        Report::new(self.input(
            &report.store,
            &report.registry,
            &report.thresholds,
            report.duration,
            report.setup_data.as_ref(),
        ))
    }

    /// Builds `handleSummary`'s data argument inside the engine.
    pub fn data_fn(&self) -> SummaryDataFn {
        let me = self.clone_settings();
        Box::new(move |p: &SummaryParts<'_>| {
            let input = me.input(p.store, p.registry, p.thresholds, p.duration, p.setup_data);
            Report::new(input).handle_summary_data()
        })
    }

    fn clone_settings(&self) -> SummarySetup {
        SummarySetup {
            trend_stats: self.trend_stats.clone(),
            time_unit: self.time_unit.clone(),
            mode: self.mode,
            no_summary: self.no_summary,
            export: self.export.clone(),
            no_color: self.no_color,
            stdout_tty: self.stdout_tty,
            stderr_tty: self.stderr_tty,
        }
    }

    /// Prints the summary (or writes what `handleSummary` returned) and the
    /// summary export.
    pub fn emit(&self, report: &RunReport) -> Result<(), String> {
        let summary = self.report(report);
        if let Some(path) = &self.export {
            let text = stampede_output::summary_export::to_file_text(&summary.summary_export());
            std::fs::write(path, text)
                .map_err(|e| format!("could not write the summary export to {path}: {e}"))?;
        }
        match &report.handle_summary {
            Some(outputs) => write_handle_summary(outputs),
            None if self.no_summary => Ok(()),
            None => {
                let mut out = std::io::stdout().lock();
                let text = summary.render(self.mode);
                let text = if self.stdout_tty {
                    stampede_output::ansi::for_terminal(&text)
                } else {
                    text
                };
                let _ = write!(out, "{text}");
                let _ = out.flush();
                Ok(())
            }
        }
    }
}

impl SummarySetup {
    /// For a run on a server: the text `emit` would print to stdout
    /// (without colors; `handleSummary`'s stdout output when the script
    /// exports it) and the `--summary-export` document.
    pub fn rendered(&self, report: &RunReport) -> (String, serde_json::Value) {
        let summary = self.report(report);
        let text = match &report.handle_summary {
            Some(outputs) => outputs
                .iter()
                .filter(|(dest, _)| dest == "stdout")
                .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
                .collect(),
            None if self.no_summary => String::new(),
            None => summary.render(self.mode),
        };
        (text, summary.summary_export())
    }
}

/// Writes `handleSummary`'s outputs: `stdout`, `stderr` or file paths.
fn write_handle_summary(outputs: &[(String, Vec<u8>)]) -> Result<(), String> {
    let mut errors = Vec::new();
    for (dest, bytes) in outputs {
        let res = match dest.as_str() {
            "stdout" => std::io::stdout().lock().write_all(bytes),
            "stderr" => std::io::stderr().lock().write_all(bytes),
            path => {
                let p = std::path::Path::new(path);
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    let _ = std::fs::create_dir_all(dir);
                }
                std::fs::write(p, bytes)
            }
        };
        if let Err(e) = res {
            errors.push(format!("handleSummary: could not write {dest}: {e}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The renderer behind the k6-summary jslib's `textSummary`.
pub fn text_summary_fn() -> TextSummaryFn {
    Arc::new(|data: &serde_json::Value, opts: &serde_json::Value| {
        let version = opts
            .get("jslibVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let defaults = stampede_output::TextOptions::for_jslib(version);
        let indent = opts
            .get("indent")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| defaults.indent.clone());
        let enable_colors = opts
            .get("enableColors")
            .and_then(|v| v.as_bool())
            .unwrap_or(defaults.enable_colors);
        let summary_trend_stats = opts.get("summaryTrendStats").and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
        });
        let summary_time_unit = opts
            .get("summaryTimeUnit")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let opts = stampede_output::TextOptions {
            indent,
            enable_colors,
            summary_trend_stats,
            summary_time_unit,
            ..defaults
        };
        stampede_output::render_legacy_from_data(data, &opts)
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The run's thresholds as specs for outputs that evaluate them on their
/// own data; none with `--no-thresholds`.
pub fn threshold_specs(loaded: &Loaded) -> Vec<stampede_metrics::thresholds::ThresholdSpec> {
    if loaded.thresholds.is_empty() {
        return Vec::new();
    }
    loaded
        .plan
        .thresholds
        .iter()
        .map(|t| stampede_metrics::thresholds::ThresholdSpec {
            selector: t.selector.clone(),
            expr: t.expr.clone(),
            abort_on_fail: t.abort_on_fail,
            delay_abort_eval: t.delay_abort_eval,
        })
        .collect()
}

/// The streaming outputs of `--out`.
pub fn outputs(loaded: &Loaded, script: &str) -> Result<Vec<Box<dyn Output>>, String> {
    let thresholds = threshold_specs(loaded);
    let ctx = OutputContext {
        metrics: Arc::new(metric_metas(Some(&loaded.thresholds), true)),
        env: std::env::vars().collect(),
        system_tags: Some(loaded.plan.run.system_tags.clone()),
        utc_offset_secs: stampede_output::out::local_utc_offset(unix_now()),
        script: Some(script.to_string()),
        thresholds,
        trend_stats: loaded.plan.summary.trend_stats.clone(),
    };
    loaded
        .plan
        .outputs
        .out
        .iter()
        .map(|spec| from_spec(spec, &ctx).map_err(|e| e.to_string()))
        .collect()
}
