//! Log lines in k6's format (logrus text: `time="..." level=info msg="..." key=value`).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

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

/// Where log lines go: standard error by default, or a buffer in tests;
/// `console` lines go to the `--console-output` file when one is set.
#[derive(Debug)]
pub struct Logger {
    verbose: AtomicBool,
    capture: Option<Mutex<Vec<String>>>,
    out: Mutex<()>,
    console_file: OnceLock<Mutex<File>>,
}

impl Default for Logger {
    fn default() -> Self {
        Self {
            verbose: AtomicBool::new(false),
            capture: None,
            out: Mutex::new(()),
            console_file: OnceLock::new(),
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

    /// Sends `console` lines to `path` from now on (k6's `--console-output`):
    /// the file is created if missing and appended to, as k6 does.
    pub fn set_console_output(&self, path: &Path) -> std::io::Result<()> {
        let file = File::options().create(true).append(true).open(path)?;
        // A second call keeps the first file, like k6's single option.
        let _ = self.console_file.set(Mutex::new(file));
        Ok(())
    }

    /// Writes a line logged by the script's `console`: to the console output
    /// file when set (without k6's `source=console` field, as k6 writes it),
    /// otherwise like any other line.
    pub fn console(&self, level: Level, msg: &str) {
        let Some(file) = self.console_file.get() else {
            return self.log(level, msg, &[("source", "console")]);
        };
        if level == Level::Debug && !self.verbose.load(Ordering::Relaxed) {
            return;
        }
        let line = format_line(level, msg, &[]);
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(f, "{line}");
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
    let mut line = format!("time={} level={}", quote(&ts), level.as_str());
    // logrus leaves out an empty message.
    if !msg.is_empty() {
        line.push_str(" msg=");
        line.push_str(&quote(msg));
    }
    for (k, v) in fields {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&quote(v));
    }
    line
}

/// logrus quotes a value unless it is made only of `[A-Za-z0-9-._/@^+]`
/// (an empty value is written as nothing: `group=`).
fn quote(s: &str) -> String {
    let plain = s
        .chars()
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
        assert_eq!(quote(""), "");
        let line = format_line(Level::Info, "", &[("group", ""), ("source", "console")]);
        assert!(
            line.ends_with(" level=info group= source=console"),
            "{line}"
        );
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
    fn console_output_file_is_appended_without_the_source_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.log");
        std::fs::write(&path, "old line\n").unwrap();
        let l = Logger::capturing();
        l.console(Level::Info, "before");
        l.set_console_output(&path).unwrap();
        l.console(Level::Warning, "to the file");
        l.console(Level::Debug, "hidden");
        l.warn("not console");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "old line");
        assert!(
            lines[1].ends_with("level=warning msg=\"to the file\""),
            "{text}"
        );
        let captured = l.captured();
        assert_eq!(captured.len(), 2);
        assert!(captured[0].ends_with("msg=before source=console"));
        assert!(captured[1].ends_with("msg=\"not console\""));
        let missing = dir.path().join("no/such/dir.log");
        assert!(l.set_console_output(&missing).is_err());
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
