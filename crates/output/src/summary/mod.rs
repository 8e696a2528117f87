//! The end-of-test summary: a [`Report`] built once from the run's store,
//! rendered as k6 v1.1 text ([`SummaryMode`]) or as `handleSummary` data.

mod data;
mod legacy;
mod model;
mod text;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use stampede_metrics::thresholds::Thresholds;
use stampede_metrics::{Registry, Stat, Store};

use crate::humanize::TimeUnit;

pub use legacy::{render_legacy_from_data, LegacyFlavor, TextOptions};
pub use model::{
    path_id, Breakdown, CheckCount, ChecksBlock, GroupNode, MetricSummary, Model, ThresholdOutcome,
};

/// k6's default `summaryTrendStats`.
pub const DEFAULT_TREND_STATS: [&str; 6] = ["avg", "min", "med", "max", "p(90)", "p(95)"];

/// `--summary-mode`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SummaryMode {
    /// Thresholds and total results (k6 v1's default).
    #[default]
    Compact,
    /// Compact, plus every network timing metric and per-group and
    /// per-scenario sections.
    Full,
    /// k6's pre-v1 summary (the k6-summary jslib's `textSummary`).
    Legacy,
}

/// An unknown `--summary-mode` (k6's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid summary mode")]
pub struct InvalidSummaryMode;

impl FromStr for SummaryMode {
    type Err = InvalidSummaryMode;

    /// `compact` (or empty), `full` or `legacy`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "compact" => Ok(SummaryMode::Compact),
            "full" => Ok(SummaryMode::Full),
            "legacy" => Ok(SummaryMode::Legacy),
            _ => Err(InvalidSummaryMode),
        }
    }
}

impl fmt::Display for SummaryMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SummaryMode::Compact => "compact",
            SummaryMode::Full => "full",
            SummaryMode::Legacy => "legacy",
        })
    }
}

/// What the summary is built from, at the end of the test (after the final
/// [`Thresholds::evaluate`]).
pub struct SummaryInput<'a> {
    /// The whole run's metrics.
    pub store: &'a Store,
    /// Metric definitions.
    pub registry: &'a Registry,
    /// The thresholds, already evaluated.
    pub thresholds: Option<&'a Thresholds>,
    /// How long the test ran (counters' rates are per second of it).
    pub duration: Duration,
    /// `summaryTrendStats` as the user wrote them (empty: k6's default).
    pub trend_stats: Vec<String>,
    /// `summaryTimeUnit` (`s`, `ms`, `us`).
    pub time_unit: Option<String>,
    /// What `setup()` returned.
    pub setup_data: Option<serde_json::Value>,
    /// `--no-color`.
    pub no_color: bool,
    /// Whether stdout is a terminal.
    pub stdout_tty: bool,
    /// Whether stderr is a terminal.
    pub stderr_tty: bool,
}

/// The end-of-test summary, ready to render.
///
/// ```
/// use std::time::Duration;
/// use stampede_metrics::{Builtin, Registry, Sink, Store, TagSet};
/// use stampede_output::summary::{Report, SummaryInput, SummaryMode};
///
/// let registry = Registry::new();
/// let mut sink = Sink::new();
/// sink.add(Builtin::Iterations.metric(), &TagSet::empty(), 1.0, 0);
/// let mut store = Store::new();
/// store.apply(&sink.take(0, 1));
/// let report = Report::new(SummaryInput {
///     store: &store,
///     registry: &registry,
///     thresholds: None,
///     duration: Duration::from_secs(1),
///     trend_stats: vec![],
///     time_unit: None,
///     setup_data: None,
///     no_color: true,
///     stdout_tty: false,
///     stderr_tty: false,
/// });
/// assert!(report.render(SummaryMode::Compact).contains("iterations...."));
/// assert_eq!(report.handle_summary_data()["metrics"]["iterations"]["values"]["count"], 1);
/// ```
#[derive(Clone, Debug)]
pub struct Report {
    model: Model,
    trend_stats: Vec<(String, Stat)>,
    time_unit: Option<String>,
    duration: Duration,
    setup_data: Option<serde_json::Value>,
    no_color: bool,
    stdout_tty: bool,
    stderr_tty: bool,
}

impl Report {
    /// Builds the summary. Trend stats that do not parse (the configuration
    /// rejects them first) are left out.
    pub fn new(input: SummaryInput<'_>) -> Report {
        let written: Vec<String> = if input.trend_stats.is_empty() {
            DEFAULT_TREND_STATS.iter().map(|s| s.to_string()).collect()
        } else {
            input.trend_stats
        };
        let trend_stats: Vec<(String, Stat)> = written
            .into_iter()
            .filter_map(|s| {
                let stat = s.parse::<Stat>().ok()?;
                Some((s, stat))
            })
            .collect();
        let model = Model::build(
            input.store,
            input.registry,
            input.thresholds,
            input.duration,
            &trend_stats,
        );
        Report {
            model,
            trend_stats,
            time_unit: input.time_unit.filter(|u| !u.is_empty()),
            duration: input.duration,
            setup_data: input.setup_data,
            no_color: input.no_color,
            stdout_tty: input.stdout_tty,
            stderr_tty: input.stderr_tty,
        }
    }

    /// The summary's data: metrics, thresholds, checks, groups, scenarios.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Whether the text summary is colored: k6 colors it when stdout is a
    /// terminal and `--no-color` is off.
    pub fn enable_colors(&self) -> bool {
        !self.no_color && self.stdout_tty
    }

    fn unit(&self) -> Option<TimeUnit> {
        self.time_unit.as_deref().and_then(TimeUnit::parse)
    }

    /// The summary text k6 prints to stdout, newlines around it included.
    pub fn render(&self, mode: SummaryMode) -> String {
        match mode {
            SummaryMode::Legacy => {
                let opts = TextOptions {
                    indent: " ".into(),
                    enable_colors: self.enable_colors(),
                    flavor: LegacyFlavor::K6,
                    ..TextOptions::default()
                };
                let text = render_legacy_from_data(&self.handle_summary_data(), &opts);
                format!("\n{text}\n\n")
            }
            mode => {
                let text = text::render(self, mode == SummaryMode::Full);
                format!("\n{text}\n\n")
            }
        }
    }

    /// k6's `--summary-export` document (see [`crate::summary_export`]).
    pub fn summary_export(&self) -> serde_json::Value {
        crate::summary_export::from_data(&self.handle_summary_data())
    }
}
