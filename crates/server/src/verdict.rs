//! Judging a run on its merged data, as `stampede run` judges one process.
//!
//! The controller — not the segments — evaluates the thresholds: every 2 s
//! on the merged intervals so far (an `abortOnFail` breach stops every
//! segment), and once at the end on the whole run. [`Judge`] wraps the
//! engine's own evaluator ([`Thresholds`]) and the CLI's summary model
//! ([`Report`]), so the summary text, the `--summary-export` document and
//! `handleSummary`'s data argument are those of one process. [`exit_code`]
//! combines the segments' own exit codes (script errors, `exec.test.fail`,
//! stops) with the merged verdict in k6's order of precedence.

use std::time::Duration;

use serde_json::Value;
use stampede_cluster::protocol::SummarySettings;
use stampede_metrics::thresholds::{Evaluation, ThresholdSpec, Thresholds};
use stampede_metrics::{Registry, Snapshot, Store};
use stampede_output::{Report, SummaryInput, SummaryMode};

/// k6's exit codes the verdict produces or looks at.
const THRESHOLDS_FAILED: i32 = 99;
const STOPPED_BY_API: i32 = 103;

/// The thresholds and the metrics they are judged on.
pub struct Judge {
    settings: SummarySettings,
    thresholds: Thresholds,
    live: Store,
    /// An `abortOnFail` threshold stopped the run.
    pub aborted: Option<Evaluation>,
}

impl Judge {
    /// A judge for the plan's `settings`; an invalid threshold (already
    /// rejected by the validation segment) is an error.
    pub fn new(settings: SummarySettings) -> Result<Self, String> {
        let thresholds = build(&settings)?;
        Ok(Self {
            settings,
            thresholds,
            live: Store::new(),
            aborted: None,
        })
    }

    /// The plan's summary settings.
    pub fn settings(&self) -> &SummarySettings {
        &self.settings
    }

    /// Adds a merged interval (or a late part of one) to the live data.
    pub fn apply(&mut self, snap: &Snapshot) {
        self.live.apply(snap);
    }

    /// The periodic evaluation; `Some` when an `abortOnFail` threshold
    /// asks to stop the run (once).
    pub fn evaluate_running(&mut self, reg: &Registry, elapsed: Duration) -> Option<&Evaluation> {
        if self.thresholds.is_empty() || self.aborted.is_some() {
            return None;
        }
        // Custom metrics are known once a segment reported them.
        let _ = self.thresholds.validate(reg);
        let eval = self.thresholds.evaluate_running(&self.live, elapsed);
        if eval.abort {
            self.aborted = Some(eval);
            return self.aborted.as_ref();
        }
        None
    }

    /// The end of the run, over `store` (every merged interval): the final
    /// evaluation (none without thresholds) and the summary.
    pub fn finish(
        &mut self,
        reg: &Registry,
        store: &Store,
        duration: Duration,
        setup_data: Option<Value>,
    ) -> (Option<Evaluation>, Report) {
        let evaluation = (!self.thresholds.is_empty()).then(|| {
            let _ = self.thresholds.validate(reg);
            self.thresholds.evaluate(store, duration)
        });
        let report = Report::new(SummaryInput {
            store,
            registry: reg,
            thresholds: Some(&self.thresholds),
            duration,
            trend_stats: self.settings.trend_stats.clone(),
            time_unit: self.settings.time_unit.clone(),
            setup_data,
            no_color: true,
            stdout_tty: false,
            stderr_tty: false,
        });
        (evaluation, report)
    }

    /// The summary text `stampede run` prints (empty with `noSummary`).
    pub fn text(&self, report: &Report) -> String {
        if self.settings.no_summary {
            return String::new();
        }
        let mode = self
            .settings
            .mode
            .parse::<SummaryMode>()
            .unwrap_or(SummaryMode::Compact);
        report.render(mode)
    }
}

fn build(settings: &SummarySettings) -> Result<Thresholds, String> {
    let specs = settings
        .thresholds
        .iter()
        .map(|t| {
            let mut s = ThresholdSpec::new(&t.selector, &t.expr);
            s.abort_on_fail = t.abort_on_fail;
            s.delay_abort_eval = t.delay_abort_eval_ms.map(Duration::from_millis);
            s
        })
        .collect();
    Thresholds::new(specs).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The run's exit code and message: a segment's own failure (script
/// error, `exec.test.fail()`, abort, a stop through the API) wins as in
/// k6; a stop the controller itself asked for because a threshold aborted
/// is the thresholds' 99; then the final threshold evaluation.
pub fn exit_code(
    segments: &[(i32, Option<String>)],
    threshold_abort: Option<&Evaluation>,
    evaluation: Option<&Evaluation>,
) -> (i32, Option<String>) {
    let own = segments
        .iter()
        .find(|(code, _)| *code != 0 && !(*code == STOPPED_BY_API && threshold_abort.is_some()));
    if let Some((code, error)) = own {
        return (*code, error.clone());
    }
    // A segment that ended well may still carry a note (a transport's
    // "degraded: worker … was lost, … resumed"): it stays on the run.
    let notes: Vec<&str> = segments
        .iter()
        .filter_map(|(code, error)| (*code == 0).then_some(error.as_deref()).flatten())
        .collect();
    let with_notes = |message: Option<String>| {
        let all: Vec<String> = message
            .into_iter()
            .chain(notes.iter().map(|n| n.to_string()))
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    };
    if let Some(e) = threshold_abort {
        return (THRESHOLDS_FAILED, with_notes(Some(e.abort_message())));
    }
    match evaluation {
        Some(e) if !e.all_ok => (THRESHOLDS_FAILED, with_notes(Some(e.failure_message()))),
        _ => (0, with_notes(None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_cluster::protocol::ThresholdWire;
    use stampede_metrics::{Builtin, Sink, TagSet};

    fn crossed(abort: bool) -> Evaluation {
        Evaluation {
            all_ok: false,
            abort,
            breached: vec!["http_req_duration".into()],
        }
    }

    #[test]
    fn exit_codes_follow_k6_precedence() {
        let ok = (0, None);
        let stopped = (103, Some("test run stopped from REST API".to_string()));
        assert_eq!(exit_code(&[ok.clone(), ok.clone()], None, None), (0, None));
        // A resumed segment's note survives a passing run.
        let note = (0, Some("degraded: worker a was lost".to_string()));
        assert_eq!(
            exit_code(&[ok.clone(), note.clone()], None, None),
            (0, note.1.clone())
        );
        assert_eq!(
            exit_code(std::slice::from_ref(&ok), None, Some(&crossed(false))).0,
            99
        );
        // Our own stop for abortOnFail is the thresholds' failure.
        let abort = crossed(true);
        assert_eq!(
            exit_code(
                &[stopped.clone(), stopped.clone()],
                Some(&abort),
                Some(&abort)
            )
            .0,
            99
        );
        // A user's stop stays a stop, even with crossed thresholds.
        assert_eq!(
            exit_code(&[stopped, ok.clone()], None, Some(&crossed(false))).0,
            103
        );
        // exec.test.fail() wins over thresholds, as in k6.
        assert_eq!(
            exit_code(&[ok, (110, None)], None, Some(&crossed(false))).0,
            110
        );
    }

    #[test]
    fn judges_merged_data_and_aborts_once() {
        let settings = SummarySettings {
            thresholds: vec![ThresholdWire {
                selector: "http_reqs".into(),
                expr: "count<3".into(),
                abort_on_fail: true,
                delay_abort_eval_ms: None,
            }],
            ..Default::default()
        };
        let mut judge = Judge::new(settings).unwrap();
        let reg = Registry::new();
        let mut sink = Sink::new();
        sink.add(Builtin::HttpReqs.metric(), &TagSet::empty(), 1.0, 0);
        sink.add(Builtin::HttpReqs.metric(), &TagSet::empty(), 1.0, 0);
        let two = sink.take(0, 1);
        judge.apply(&two);
        assert!(judge
            .evaluate_running(&reg, Duration::from_secs(1))
            .is_none());
        judge.apply(&two);
        assert!(judge
            .evaluate_running(&reg, Duration::from_secs(2))
            .is_some());
        assert!(judge
            .evaluate_running(&reg, Duration::from_secs(3))
            .is_none());
        let mut store = Store::new();
        store.apply(&two);
        let (eval, report) = judge.finish(&reg, &store, Duration::from_secs(1), None);
        assert!(eval.unwrap().all_ok);
        assert_eq!(report.summary_export()["metrics"]["http_reqs"]["count"], 2);
        let bad = SummarySettings {
            thresholds: vec![ThresholdWire {
                selector: "http_reqs".into(),
                expr: "nonsense".into(),
                abort_on_fail: false,
                delay_abort_eval_ms: None,
            }],
            ..Default::default()
        };
        assert!(Judge::new(bad).is_err());
    }
}
