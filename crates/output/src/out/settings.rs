//! Reading the network outputs' settings from `K6_*` environment variables
//! as k6 does (Go durations, `true`/`false`, comma lists), and logging their
//! failures to stderr in k6's logrus text format, at most once a while.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::timefmt::write_rfc3339;

/// Parses a duration as k6 accepts them: Go's (`1s`, `1m30s`, `500ms`,
/// `1.5h`, `250us`) or a bare number of milliseconds; `None` when invalid,
/// negative or out of range.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    stampede_config::K6Duration::parse(s.trim()).ok()?.to_std()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Typed access to the environment, collecting every problem.
pub(crate) struct Env<'a> {
    env: &'a HashMap<String, String>,
    pub problems: Vec<String>,
}

impl<'a> Env<'a> {
    pub(crate) fn new(env: &'a HashMap<String, String>) -> Self {
        Env {
            env,
            problems: Vec::new(),
        }
    }

    pub(crate) fn string(&self, key: &str) -> Option<String> {
        self.env.get(key).cloned()
    }

    pub(crate) fn duration(&mut self, key: &str) -> Option<Duration> {
        let v = self.env.get(key)?;
        let d = parse_duration(v);
        if d.is_none() {
            self.problems.push(format!(
                "{key}: {v:?} is not a duration (use e.g. 1s or 500ms)"
            ));
        }
        d
    }

    pub(crate) fn bool(&mut self, key: &str) -> Option<bool> {
        let v = self.env.get(key)?;
        let b = parse_bool(v);
        if b.is_none() {
            self.problems
                .push(format!("{key}: {v:?} is not true or false"));
        }
        b
    }

    pub(crate) fn list(&self, key: &str) -> Option<Vec<String>> {
        self.env.get(key).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    }

    /// Every variable starting with `prefix`, without it.
    pub(crate) fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .env
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.to_owned(), v.clone())))
            .collect();
        v.sort();
        v
    }
}

/// Logs an output's problems to stderr like k6 (`time=... level=error
/// msg=... output=...`), repeating one message at most every 10 seconds
/// and counting what it held back.
pub(crate) struct Logger {
    output: &'static str,
    offset_secs: i32,
    last: Option<Instant>,
    held_back: u64,
}

const QUIET: Duration = Duration::from_secs(10);

impl Logger {
    pub(crate) fn new(output: &'static str, offset_secs: i32) -> Self {
        Logger {
            output,
            offset_secs,
            last: None,
            held_back: 0,
        }
    }

    /// An error, unless one was logged less than 10 seconds ago.
    pub(crate) fn error(&mut self, msg: &str, err: &str) {
        if self.last.is_some_and(|t| t.elapsed() < QUIET) {
            self.held_back += 1;
            return;
        }
        let mut err = err.to_owned();
        if self.held_back > 0 {
            err = format!("{err} ({} similar errors not shown)", self.held_back);
            self.held_back = 0;
        }
        self.last = Some(Instant::now());
        self.line("error", msg, &[("error", &err)]);
    }

    /// A warning, always.
    pub(crate) fn warn(&self, msg: &str) {
        self.line("warning", msg, &[]);
    }

    fn line(&self, level: &str, msg: &str, fields: &[(&str, &str)]) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut s = String::from("time=\"");
        write_rfc3339(&mut s, now, self.offset_secs, false);
        s.push_str("\" level=");
        s.push_str(level);
        s.push_str(" msg=");
        s.push_str(&quote(msg));
        for (k, v) in fields {
            s.push(' ');
            s.push_str(k);
            s.push('=');
            s.push_str(&quote(v));
        }
        s.push_str(" output=");
        s.push_str(&quote(self.output));
        eprintln!("{s}");
    }
}

/// logrus quotes values with spaces or quotes.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c))
    {
        v.to_owned()
    } else {
        format!("{v:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_k6() {
        let d = |s| parse_duration(s);
        assert_eq!(d("1s"), Some(Duration::from_secs(1)));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("250"), Some(Duration::from_millis(250)));
        assert_eq!(d("5 s"), None);
        assert_eq!(d("s"), None);
        assert_eq!(d("10x"), None);
        assert_eq!(d("-1s"), None);
        assert_eq!(d("1e300"), None);
        assert_eq!(d("99999999999999h"), None);
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn env_collects_problems() {
        let map: HashMap<String, String> = [
            ("A", "1s"),
            ("B", "soon"),
            ("C", "maybe"),
            ("P_X", "1"),
            ("P_Y", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let mut env = Env::new(&map);
        assert_eq!(env.duration("A"), Some(Duration::from_secs(1)));
        assert_eq!(env.duration("B"), None);
        assert_eq!(env.bool("C"), None);
        assert_eq!(env.duration("MISSING"), None);
        assert_eq!(env.problems.len(), 2);
        assert_eq!(
            env.prefixed("P_"),
            [
                ("X".to_owned(), "1".to_owned()),
                ("Y".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("two words"), "\"two words\"");
    }
}
