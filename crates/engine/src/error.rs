//! Run failures and the exit codes k6 gives them.

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
    /// Anything else.
    Generic,
}

impl ExitCode {
    /// The process exit status.
    pub fn code(self) -> i32 {
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
            EngineError::System(_) => ExitCode::Generic,
        }
    }
}
