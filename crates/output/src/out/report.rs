//! `--out results=FILE`, `--out html=FILE` and `--out junit=FILE`: the
//! run's samples go into a [`Recorder`] on a background thread; at the end
//! the [`Results`](crate::results::Results) are written as the results
//! record, the HTML report or a JUnit XML file.
//!
//! The file is created when the output starts, so a bad path fails the run
//! before it begins (as k6's file outputs do), and written when it stops.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use stampede_metrics::{Registry, Sample};

use super::background::{Background, Worker};
use super::target::go_open_error;
use super::{Output, OutputContext, OutputError};
use crate::results::{Recorder, RecorderConfig, Results};

/// Which file the output writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// The results record (JSON).
    Results,
    /// The self-contained HTML report.
    Html,
    /// JUnit XML: thresholds and checks as test cases.
    Junit,
}

impl ReportKind {
    fn name(self) -> &'static str {
        match self {
            ReportKind::Results => "results",
            ReportKind::Html => "html",
            ReportKind::Junit => "junit",
        }
    }

    fn default_file(self) -> &'static str {
        match self {
            ReportKind::Results => "results.json",
            ReportKind::Html => "report.html",
            ReportKind::Junit => "junit.xml",
        }
    }

    fn render(self, results: &Results) -> String {
        match self {
            ReportKind::Results => results.to_json(),
            ReportKind::Html => crate::html::render(results),
            ReportKind::Junit => crate::junit::render(results),
        }
    }
}

/// A results, HTML or JUnit output.
pub struct ReportOutput {
    kind: ReportKind,
    path: PathBuf,
    cfg: RecorderConfig,
    bg: Option<Background>,
}

impl ReportOutput {
    /// The output for `--out KIND=ARG` (`ARG` empty: a default file name).
    pub fn new(kind: ReportKind, arg: &str, ctx: &OutputContext) -> Result<Self, OutputError> {
        let output = kind.name();
        if arg == "-" {
            return Err(OutputError::Config {
                output,
                message: "writing to stdout is not supported, give a file name".into(),
            });
        }
        let file = if arg.is_empty() {
            kind.default_file()
        } else {
            arg
        };
        Ok(ReportOutput {
            kind,
            path: PathBuf::from(file),
            cfg: RecorderConfig {
                script: ctx.script.clone(),
                source: None,
                thresholds: ctx.thresholds.clone(),
                trend_stats: ctx.trend_stats.clone(),
                start_ns: None,
                interval: None,
            },
            bg: None,
        })
    }
}

struct RecordWorker {
    kind: ReportKind,
    file: Option<File>,
    path: PathBuf,
    recorder: Option<Recorder>,
}

impl Worker for RecordWorker {
    fn batch(&mut self, samples: &[Sample], registry: &Registry) {
        if let Some(r) = &mut self.recorder {
            r.add_samples(samples, registry);
        }
    }

    fn finish(&mut self, _: &Registry) -> Result<(), String> {
        let Some(recorder) = self.recorder.take() else {
            return Ok(());
        };
        let results = recorder.finish(Some(now_ns()));
        let text = self.kind.render(&results);
        let mut file = self.file.take().expect("opened at start");
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("write {}: {e}", self.path.display()))
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Output for ReportOutput {
    fn description(&self) -> String {
        format!("{} ({})", self.kind.name(), self.path.display())
    }

    fn start(&mut self) -> io::Result<()> {
        let file = File::create(&self.path).map_err(|e| go_open_error(&self.path, &e))?;
        let mut cfg = self.cfg.clone();
        cfg.start_ns = Some(now_ns());
        let worker = RecordWorker {
            kind: self.kind,
            file: Some(file),
            path: self.path.clone(),
            recorder: Some(Recorder::new(cfg)),
        };
        let name = format!("out-{}", self.kind.name());
        self.bg = Some(Background::spawn(&name, worker, None)?);
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        super::background::send_to(&mut self.bg, self.kind.name(), samples, registry)
    }

    fn stop(&mut self) -> io::Result<()> {
        super::background::stop(&mut self.bg)
    }
}
