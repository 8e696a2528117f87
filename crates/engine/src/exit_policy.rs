//! The exit-code policy: how the phases' outcome, the reason the run
//! stopped, the thresholds, `exec.test.fail()`, handleSummary and the
//! outputs combine into one [`ExitCode`] and message, in k6's order of
//! precedence.

use stampede_js::log::{Level, Logger};
use stampede_metrics::thresholds::Evaluation;

use crate::control::StopReason;
use crate::error::ExitCode;

/// Everything the final exit code depends on.
pub(crate) struct Outcome<'a> {
    /// What the phases (init, setup, teardown) ended with.
    pub lifecycle: (ExitCode, Option<String>),
    /// Why the run stopped early, if it did.
    pub stop_reason: Option<&'a StopReason>,
    /// The final threshold evaluation, when there are thresholds.
    pub evaluation: Option<&'a Evaluation>,
    /// The script called `exec.test.fail()`.
    pub marked_failed: bool,
    /// handleSummary failed or timed out.
    pub summary_error: Option<String>,
    /// An output failed during the run.
    pub output_error: Option<String>,
    /// Where errors that do not decide the code are logged.
    pub logger: &'a Logger,
}

/// The run's exit code and the message explaining it.
pub(crate) fn decide(o: Outcome<'_>) -> (ExitCode, Option<String>) {
    // An internal failure outranks everything: the rest of the outcome
    // cannot be trusted.
    if let Some(StopReason::Fatal(why)) = o.stop_reason {
        return (ExitCode::SystemError, Some(why.clone()));
    }
    let (mut exit_code, mut error) = o.lifecycle;
    if exit_code == ExitCode::Ok {
        match (o.stop_reason, o.evaluation) {
            (Some(StopReason::Signal), _) => {
                exit_code = ExitCode::ExternalAbort;
                error = Some("test run was stopped by a signal".into());
            }
            (Some(StopReason::Api), _) => {
                exit_code = ExitCode::StoppedByApi;
                error = Some("test run stopped from REST API".into());
            }
            (Some(StopReason::ScriptAbort(reason)), _) => {
                exit_code = ExitCode::ScriptAborted;
                error = Some(format!("test run was aborted because {reason}"));
            }
            // k6: a test marked as failed exits 110 even when thresholds
            // were crossed too.
            _ if o.marked_failed => {
                exit_code = ExitCode::MarkedAsFailed;
                error = Some("test run was marked as failed".into());
            }
            (Some(StopReason::ThresholdAbort), Some(e)) => {
                exit_code = ExitCode::ThresholdsAborted;
                error = Some(e.abort_message());
            }
            (_, Some(e)) if !e.all_ok => {
                exit_code = ExitCode::ThresholdsFailed;
                error = Some(e.failure_message());
            }
            _ => {}
        }
    }
    if exit_code == ExitCode::Ok {
        if let Some(e) = o.summary_error.or(o.output_error) {
            exit_code = ExitCode::Generic;
            error = Some(e);
        }
    } else if let Some(e) = o.summary_error {
        o.logger.log(Level::Error, &e, &[]);
    }
    (exit_code, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossed() -> Evaluation {
        Evaluation {
            all_ok: false,
            abort: false,
            breached: vec!["http_req_duration".into()],
        }
    }

    fn code(
        lifecycle: ExitCode,
        stop: Option<StopReason>,
        evaluation: Option<Evaluation>,
        marked_failed: bool,
    ) -> (i32, Option<String>) {
        let logger = Logger::stderr();
        let (c, e) = decide(Outcome {
            lifecycle: (lifecycle, None),
            stop_reason: stop.as_ref(),
            evaluation: evaluation.as_ref(),
            marked_failed,
            summary_error: None,
            output_error: None,
            logger: &logger,
        });
        (c.code(), e)
    }

    #[test]
    fn each_k6_outcome_has_its_code() {
        assert_eq!(code(ExitCode::Ok, None, None, false), (0, None));
        assert_eq!(code(ExitCode::Ok, None, Some(crossed()), false).0, 99);
        assert_eq!(
            code(
                ExitCode::Ok,
                Some(StopReason::ThresholdAbort),
                Some(crossed()),
                false
            )
            .0,
            99
        );
        assert_eq!(code(ExitCode::SetupTimeout, None, None, false).0, 100);
        assert_eq!(code(ExitCode::TeardownTimeout, None, None, false).0, 101);
        assert_eq!(
            code(ExitCode::Ok, Some(StopReason::Api), None, false).0,
            103
        );
        assert_eq!(code(ExitCode::InvalidConfig, None, None, false).0, 104);
        assert_eq!(
            code(ExitCode::Ok, Some(StopReason::Signal), None, false),
            (105, Some("test run was stopped by a signal".into()))
        );
        assert_eq!(code(ExitCode::ScriptException, None, None, false).0, 107);
        assert_eq!(
            code(
                ExitCode::Ok,
                Some(StopReason::ScriptAbort("x".into())),
                None,
                false
            ),
            (108, Some("test run was aborted because x".into()))
        );
        // k6: marked as failed wins over crossed thresholds.
        assert_eq!(code(ExitCode::Ok, None, Some(crossed()), true).0, 110);
    }

    #[test]
    fn internal_failures_are_system_errors() {
        let why = "internal error: a VU panicked: boom".to_string();
        for lifecycle in [ExitCode::Ok, ExitCode::ScriptException] {
            assert_eq!(
                code(
                    lifecycle,
                    Some(StopReason::Fatal(why.clone())),
                    Some(crossed()),
                    true
                ),
                (ExitCode::SystemError.code(), Some(why.clone()))
            );
        }
    }

    #[test]
    fn a_failed_summary_or_output_fails_an_otherwise_good_run() {
        let logger = Logger::stderr();
        let (c, e) = decide(Outcome {
            lifecycle: (ExitCode::Ok, None),
            stop_reason: None,
            evaluation: None,
            marked_failed: false,
            summary_error: None,
            output_error: Some("output json failed".into()),
            logger: &logger,
        });
        assert_eq!(
            (c, e.as_deref()),
            (ExitCode::Generic, Some("output json failed"))
        );
    }
}
