//! Runtime option values set only on the command line or in the environment.

/// How the script is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompatibilityMode {
    /// `extended` (default): `global` aliases `globalThis`.
    #[default]
    Extended,
    /// `base`: plain ECMAScript.
    Base,
}

impl CompatibilityMode {
    /// Parses `"extended"` or `"base"` (empty means the default).
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "" | "extended" => Ok(Self::Extended),
            "base" => Ok(Self::Base),
            other => Err(format!(
                "invalid compatibility mode \"{other}\". Use: \"extended\", \"base\""
            )),
        }
    }
}
