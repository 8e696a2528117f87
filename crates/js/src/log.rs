//! Log lines in k6's format (logrus text: `time="..." level=info msg="..." key=value`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `console.debug`, `--verbose` only.
    Debug,
    /// `console.log` and `console.info`.
    Info,
    /// `console.warn`.
    Warning,
    /// `console.error` and uncaught exceptions.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Where log lines go: standard error by default, or a buffer in tests.
#[derive(Debug)]
pub struct Logger {
    verbose: AtomicBool,
    capture: Option<Mutex<Vec<String>>>,
    out: Mutex<()>,
}

impl Default for Logger {
    fn default() -> Self {
        Self {
            verbose: AtomicBool::new(false),
            capture: None,
            out: Mutex::new(()),
        }
    }
}

impl Logger {
    /// A logger writing to standard error.
    pub fn stderr() -> Self {
        Self::default()
    }

    /// A logger that keeps lines in memory (see [`Logger::captured`]).
    pub fn capturing() -> Self {
        Self {
            capture: Some(Mutex::new(Vec::new())),
            ..Self::default()
        }
    }

    /// Shows debug lines too.
    pub fn set_verbose(&self, verbose: bool) {
        self.verbose.store(verbose, Ordering::Relaxed);
    }

    /// Lines captured so far (capturing loggers only).
    pub fn captured(&self) -> Vec<String> {
        self.capture
            .as_ref()
            .map(|c| c.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default()
    }

    /// Writes one line with extra `key=value` fields.
    pub fn log(&self, level: Level, msg: &str, fields: &[(&str, &str)]) {
        if level == Level::Debug && !self.verbose.load(Ordering::Relaxed) {
            return;
        }
        let line = format_line(level, msg, fields);
        if let Some(c) = &self.capture {
            c.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            return;
        }
        let _guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// Shorthand for a warning without fields.
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warning, msg, &[]);
    }
}

/// Formats a line as logrus's text formatter does without a terminal.
pub fn format_line(level: Level, msg: &str, fields: &[(&str, &str)]) -> String {
    let now = time::OffsetDateTime::now_utc();
    let ts = now
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let mut line = format!(
        "time={} level={} msg={}",
        quote(&ts),
        level.as_str(),
        quote(msg)
    );
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&quote(v));
    }
    line
}

/// logrus quotes a value unless it is made only of `[A-Za-z0-9-._/@^+]`.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_logrus() {
        assert_eq!(quote("w"), "w");
        assert_eq!(quote("init 0"), "\"init 0\"");
        assert_eq!(quote("{\"a\":1}"), "\"{\\\"a\\\":1}\"");
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn formats_fields() {
        let l = format_line(Level::Info, "hi there", &[("source", "console")]);
        assert!(l.starts_with("time=\""), "{l}");
        assert!(
            l.ends_with("level=info msg=\"hi there\" source=console"),
            "{l}"
        );
    }

    #[test]
    fn debug_needs_verbose() {
        let l = Logger::capturing();
        l.log(Level::Debug, "d", &[]);
        assert!(l.captured().is_empty());
        l.set_verbose(true);
        l.log(Level::Debug, "d", &[]);
        assert_eq!(l.captured().len(), 1);
    }
}
