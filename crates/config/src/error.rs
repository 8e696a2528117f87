//! Configuration errors: each names the option, scenario or key at fault.

/// One problem with the options; parsing and resolving report all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A top-level option k6 does not know.
    #[error("unknown option \"{key}\"{}", suffix(.hint))]
    UnknownOption {
        /// The key as written.
        key: String,
        /// "did you mean ..." or where the setting belongs.
        hint: Option<String>,
    },
    /// A key that does not belong where it was written (inside a scenario,
    /// a stage, a threshold...).
    #[error("{context}: unknown key \"{key}\"{}", suffix(.hint))]
    UnknownKey {
        /// Where the key was found, e.g. `scenario "a" (constant-vus)`.
        context: String,
        /// The key as written.
        key: String,
        /// "did you mean ...", if a known key is close.
        hint: Option<String>,
    },
    /// An executor type k6 does not know.
    #[error("scenario \"{scenario}\": unknown executor \"{executor}\"{}", suffix(.hint))]
    UnknownExecutor {
        /// The scenario name.
        scenario: String,
        /// The executor as written.
        executor: String,
        /// "did you mean ...", if a known executor is close.
        hint: Option<String>,
    },
    /// A value of the wrong type or syntax.
    #[error("invalid value for {option}: {reason}")]
    InvalidValue {
        /// Path of the option, e.g. `scenarios.a.duration`.
        option: String,
        /// What is wrong, naming the value.
        reason: String,
    },
    /// A `K6_*` environment variable that does not parse.
    #[error("invalid environment variable {var}: {reason}")]
    InvalidEnv {
        /// The variable name.
        var: String,
        /// What is wrong, naming the value.
        reason: String,
    },
    /// A scenario whose settings are inconsistent or out of range.
    #[error("scenario \"{scenario}\": {reason}")]
    InvalidScenario {
        /// The scenario name.
        scenario: String,
        /// What is wrong (k6's wording).
        reason: String,
    },
    /// Options that are invalid together, or an invalid option value.
    #[error("{0}")]
    Invalid(String),
}

fn suffix(h: &Option<String>) -> String {
    h.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
}

impl ConfigError {
    pub(crate) fn value(option: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::InvalidValue {
            option: option.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn scenario(scenario: &str, reason: impl Into<String>) -> Self {
        ConfigError::InvalidScenario {
            scenario: scenario.to_owned(),
            reason: reason.into(),
        }
    }
}

/// All errors as one message, in k6's layout:
/// a title line, then one `\t- error` line per problem.
pub fn render_errors(errors: &[ConfigError]) -> String {
    let mut out = String::from("There were problems with the specified script configuration:");
    for e in errors {
        out.push_str("\n\t- ");
        out.push_str(&e.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let e = ConfigError::UnknownOption {
            key: "vu".into(),
            hint: Some("did you mean \"vus\"?".into()),
        };
        assert_eq!(
            e.to_string(),
            "unknown option \"vu\"; did you mean \"vus\"?"
        );
        let e = ConfigError::value("scenarios.a.duration", "invalid duration \"x\"");
        assert_eq!(
            e.to_string(),
            "invalid value for scenarios.a.duration: invalid duration \"x\""
        );
        assert_eq!(
            render_errors(&[ConfigError::scenario("a", "the number of VUs must be more than 0")]),
            "There were problems with the specified script configuration:\n\t- scenario \"a\": the number of VUs must be more than 0"
        );
    }
}
