//! Run failures and the exit codes k6 gives them.
//!
//! [`ExitCode`] is the one table of process exit statuses: the CLI, the
//! REST API and the engine map every outcome through it, so a number is
//! never written twice.

/// k6's exit codes (`errext/exitcodes`), which Stampede keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// Everything passed.
    Ok,
    /// Some thresholds failed.
    ThresholdsFailed,
    /// `setup()` timed out.
    SetupTimeout,
    /// `teardown()` timed out.
    TeardownTimeout,
    /// Stopped through the REST API (k6's GenericEngine, 103).
    StoppedByApi,
    /// Options were invalid.
    InvalidConfig,
    /// The run was stopped by a signal.
    ExternalAbort,
    /// The script threw outside an iteration (init, setup, teardown).
    ScriptException,
    /// The script called `exec.test.abort()`, or a threshold aborted the run.
    ScriptAborted,
    /// A threshold with `abortOnFail` failed.
    ThresholdsAborted,
    /// The script called `exec.test.fail()`.
    MarkedAsFailed,
    /// Anything else k6 has no code for (k6 exits -1, i.e. 255).
    Generic,
    /// Stampede itself failed: a panic on a VU or the collector, a thread,
    /// a port or a file the machine refused. Not the script's fault, so not
    /// 107.
    SystemError,
    /// A command's own verdict was negative: `compare` found a regression,
    /// `demo` an oversold product (the `diff` convention: 1).
    CheckFailed,
    /// Bad arguments, or input a command cannot read (the `diff` and clap
    /// convention: 2).
    BadInput,
}

impl ExitCode {
    /// The process exit status.
    pub const fn code(self) -> i32 {
        match self {
            ExitCode::Ok => 0,
            ExitCode::ThresholdsFailed => 99,
            ExitCode::SetupTimeout => 100,
            ExitCode::TeardownTimeout => 101,
            ExitCode::StoppedByApi => 103,
            ExitCode::InvalidConfig => 104,
            ExitCode::ExternalAbort => 105,
            ExitCode::ScriptException => 107,
            ExitCode::ScriptAborted => 108,
            ExitCode::ThresholdsAborted => 99,
            ExitCode::MarkedAsFailed => 110,
            ExitCode::Generic => 255,
            ExitCode::SystemError => 1,
            ExitCode::CheckFailed => 1,
            ExitCode::BadInput => 2,
        }
    }
}

/// Why a run could not start or did not finish normally.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The script could not be loaded or its init code threw.
    #[error("{0}")]
    Script(#[from] stampede_js::ScriptError),
    /// The options are invalid; every problem is listed.
    #[error("{}", .0.join("\n"))]
    Config(Vec<String>),
    /// The machine refused something the run needs (threads, stacks).
    #[error("{0}")]
    System(String),
}

impl EngineError {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            EngineError::Script(_) => ExitCode::ScriptException,
            EngineError::Config(_) => ExitCode::InvalidConfig,
            EngineError::System(_) => ExitCode::SystemError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_exit_codes() {
        for (code, k6) in [
            (ExitCode::Ok, 0),
            (ExitCode::ThresholdsFailed, 99),
            (ExitCode::SetupTimeout, 100),
            (ExitCode::TeardownTimeout, 101),
            (ExitCode::StoppedByApi, 103),
            (ExitCode::InvalidConfig, 104),
            (ExitCode::ExternalAbort, 105),
            (ExitCode::ScriptException, 107),
            (ExitCode::ScriptAborted, 108),
            (ExitCode::ThresholdsAborted, 99),
            (ExitCode::MarkedAsFailed, 110),
            (ExitCode::Generic, 255),
            (ExitCode::CheckFailed, 1),
            (ExitCode::BadInput, 2),
        ] {
            assert_eq!(code.code(), k6, "{code:?}");
        }
    }

    #[test]
    fn system_errors_are_not_script_errors() {
        let code = ExitCode::SystemError.code();
        assert_ne!(code, 0);
        assert_ne!(code, ExitCode::ScriptException.code());
        // Rust's own panic status is 101, k6's teardown timeout.
        assert_ne!(code, 101);
        assert_eq!(
            EngineError::System("no threads".into()).exit_code(),
            ExitCode::SystemError
        );
        assert_eq!(
            EngineError::Config(vec!["x".into()]).exit_code(),
            ExitCode::InvalidConfig
        );
    }
}
