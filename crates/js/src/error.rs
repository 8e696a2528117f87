//! Errors raised while loading or running a script.

use rquickjs::{CaughtError, Ctx};

/// Something went wrong in a script, at load time or while running it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScriptError {
    /// The script file could not be read.
    #[error("could not load {path}: {reason}")]
    Load {
        /// The path as the user gave it.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// The script threw (syntax errors included). The text carries the
    /// JavaScript error and its stack with `file:line:column` positions.
    #[error("{0}")]
    Exception(String),
    /// The VU was interrupted (end of the scenario's graceful stop, ramp-down,
    /// or the whole test stopping).
    #[error("the iteration was interrupted")]
    Interrupted,
    /// The script called `exec.test.abort()`.
    #[error("test aborted: {0}")]
    Aborted(String),
}

impl ScriptError {
    pub(crate) fn load(path: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        Self::Load {
            path: path.to_string(),
            reason: reason.to_string(),
        }
    }

    /// Builds the error for a failed QuickJS call, reading the pending
    /// exception from `ctx`.
    pub(crate) fn from_caught<'js>(ctx: &Ctx<'js>, err: CaughtError<'js>) -> Self {
        match err {
            CaughtError::Exception(e) => {
                let message = e.message().unwrap_or_default();
                let name: String = e
                    .as_object()
                    .get::<_, Option<String>>("name")
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "Error".into());
                if name == "InternalError" && message == "interrupted" {
                    return Self::Interrupted;
                }
                let mut text = if message.is_empty() {
                    name
                } else {
                    format!("{name}: {message}")
                };
                if let Some(stack) = e.stack() {
                    for line in stack.lines().map(str::trim).filter(|l| !l.is_empty()) {
                        text.push_str("\n\t");
                        text.push_str(line);
                    }
                }
                Self::Exception(text)
            }
            CaughtError::Value(v) => Self::Exception(describe_thrown(ctx, &v)),
            CaughtError::Error(rquickjs::Error::Exception) => {
                Self::Exception("an unknown exception was thrown".into())
            }
            CaughtError::Error(e) => Self::Exception(e.to_string()),
        }
    }
}

/// A readable rendering of a thrown non-Error value, as k6 prints it.
fn describe_thrown<'js>(ctx: &Ctx<'js>, v: &rquickjs::Value<'js>) -> String {
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    if v.is_object() {
        if let Ok(Some(s)) = ctx.json_stringify(v.clone()) {
            if let Ok(s) = s.to_string() {
                return s;
            }
        }
    }
    rquickjs::Coerced::<String>::from_js(ctx, v.clone())
        .map(|c| c.0)
        .unwrap_or_else(|_| "an exception was thrown".into())
}

use rquickjs::FromJs;

/// Throws a new `kind` error (`ReferenceError`, `SyntaxError`...) with all
/// of `message`: rquickjs's `Exception::throw_reference` and friends cut
/// messages at 256 bytes, too short for k6's module-loading errors, which
/// quote URLs twice.
pub(crate) fn throw_full(ctx: &rquickjs::Ctx<'_>, kind: &str, message: &str) -> rquickjs::Error {
    let made = (|| -> rquickjs::Result<rquickjs::Value<'_>> {
        let ctor: rquickjs::Function = ctx.globals().get(kind)?;
        ctor.call((message,))
    })();
    match made {
        Ok(e) => ctx.throw(e),
        Err(e) => e,
    }
}
