//! k6 durations: parsing and Go-style formatting.
//!
//! k6 accepts Go's `time.ParseDuration` syntax (`"1m30s"`, `"1.5s"`, `"10us"`,
//! `"-2h"`), a leading day count (`"2d3h"`), and bare numbers meaning
//! milliseconds (`"100"`, `1500.5`). Values print like Go's
//! `time.Duration.String()` (`"10m0s"`, `"1.5005s"`, `"10µs"`).
//!
//! This is the one place where user-supplied durations become numbers:
//! options, `K6_*` variables and outputs' settings parse here, and the
//! numbers scripts pass (timeouts in milliseconds, `sleep()` seconds, timer
//! delays) convert through [`K6Duration::from_f64_units`], which never panics
//! (unlike `Duration::from_secs_f64` on `Infinity` or `1e300`).

use std::fmt;
use std::time::Duration;

use serde_json::Value;

const NANOS_PER_MILLI: f64 = 1_000_000.0;
const SECOND: u64 = 1_000_000_000;

/// A signed duration in nanoseconds, as k6 (Go) stores it before validation.
///
/// Negative values parse fine and are rejected later by validation, which is
/// why this is not a `std::time::Duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct K6Duration(i64);

/// Why a duration string or JSON value was rejected; Display names the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(String);

impl DurationError {
    /// The message as Go's `time` package words it (`time: invalid duration
    /// "abc"`), which k6 shows for durations given to its JavaScript APIs.
    pub fn go_message(&self) -> String {
        format!("time: {}", self.0)
    }
}

impl K6Duration {
    /// Zero.
    pub const ZERO: K6Duration = K6Duration(0);

    /// From signed nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        K6Duration(nanos)
    }

    /// From whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        K6Duration(secs * SECOND as i64)
    }

    /// From whole milliseconds.
    pub const fn from_millis(millis: i64) -> Self {
        K6Duration(millis * 1_000_000)
    }

    /// From a standard duration, saturating at Go's maximum (about 292 years).
    pub fn from_std(d: Duration) -> Self {
        K6Duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }

    /// Signed nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// True when below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The standard duration, or `None` when negative.
    pub fn to_std(self) -> Option<Duration> {
        u64::try_from(self.0).ok().map(Duration::from_nanos)
    }

    /// Go's `time.Duration(value * float64(unit))`, the conversion k6 applies
    /// to the numbers scripts pass: a timeout of `500` milliseconds is
    /// `from_f64_units(500.0, 1e6)`. Fractions of a nanosecond truncate. A
    /// product Go cannot represent (infinite, NaN, beyond ±292 years) becomes
    /// the most negative duration, as Go on amd64 makes it, so k6 and
    /// Stampede both treat `Infinity` or `1e300` as already expired instead
    /// of failing.
    pub fn from_f64_units(value: f64, unit_nanos: f64) -> Self {
        // 2^63 as f64; everything strictly inside (-2^63, 2^63) fits an i64.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        let nanos = value * unit_nanos;
        if nanos.is_finite() && nanos > -LIMIT && nanos < LIMIT {
            K6Duration(nanos as i64)
        } else {
            K6Duration(i64::MIN)
        }
    }

    /// [`K6Duration::from_f64_units`] for milliseconds.
    pub fn from_millis_f64(ms: f64) -> Self {
        Self::from_f64_units(ms, NANOS_PER_MILLI)
    }

    /// [`K6Duration::from_f64_units`] for seconds.
    pub fn from_secs_f64(secs: f64) -> Self {
        Self::from_f64_units(secs, SECOND as f64)
    }

    /// The standard duration, with negative values (deadlines already
    /// passed) as zero.
    pub fn to_std_or_zero(self) -> Duration {
        self.to_std().unwrap_or(Duration::ZERO)
    }

    /// Go's `time.ParseDuration` alone, without k6's days and bare
    /// milliseconds: `"1m30s"`, `"500ms"`, `"-2h"`, `"0"`.
    pub fn parse_go(s: &str) -> Result<Self, DurationError> {
        parse_go(s).map(K6Duration)
    }

    /// Parses a k6 duration string: `"1m30s"`, `"2d3h"`, or a bare number of
    /// milliseconds such as `"100"` or `"1e3"`.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        if let Some(ms) = parse_go_float(s) {
            return checked_millis(ms, s);
        }
        let Some(d_pos) = s.find('d') else {
            return parse_go(s).map(K6Duration);
        };
        let rest = &s[d_pos + 1..];
        let mut hours = 0i64;
        if !rest.is_empty() {
            hours = parse_go(rest)?;
            if hours < 0 {
                return Err(DurationError(format!("invalid time format '{rest}'")));
            }
        }
        let days_str = &s[..d_pos];
        let days: i64 = parse_go_int(days_str).ok_or_else(|| {
            DurationError(format!(
                "invalid number of days {days_str:?} in duration {s:?}"
            ))
        })?;
        if days < 0 {
            hours = -hours;
        }
        days.checked_mul(24 * 3600 * SECOND as i64)
            .and_then(|d| d.checked_add(hours))
            .map(K6Duration)
            .ok_or_else(|| DurationError(format!("invalid duration {s:?}: out of range")))
    }

    /// Reads an optional duration from JSON: `null` is `None`, strings parse
    /// with [`K6Duration::parse`], numbers are milliseconds.
    pub fn from_json(v: &Value) -> Result<Option<Self>, DurationError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Self::parse(s).map(Some),
            Value::Number(n) => {
                let ms = n.as_f64().unwrap_or(f64::NAN);
                checked_millis(ms, &n.to_string()).map(Some)
            }
            other => Err(DurationError(format!(
                "'{other}' is not a valid duration value"
            ))),
        }
    }
}

impl From<Duration> for K6Duration {
    fn from(d: Duration) -> Self {
        K6Duration::from_std(d)
    }
}

impl fmt::Display for K6Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let text = format_nanos(self.0.unsigned_abs());
        if neg && text != "0s" {
            write!(f, "-{text}")
        } else {
            f.write_str(&text)
        }
    }
}

/// Formats a standard duration exactly like Go's `time.Duration.String()`:
/// `"0s"`, `"1.5ms"`, `"10µs"`, `"30s"`, `"1m30s"`, `"10m0s"`, `"2h0m0s"`.
pub fn format_duration(d: Duration) -> String {
    format_nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn format_nanos(u: u64) -> String {
    if u == 0 {
        return "0s".to_owned();
    }
    if u < SECOND {
        let (unit, prec) = if u < 1_000 {
            ("ns", 0)
        } else if u < 1_000_000 {
            ("µs", 3)
        } else {
            ("ms", 6)
        };
        let (int, frac) = split_frac(u, prec);
        return format!("{int}{frac}{unit}");
    }
    let (secs, frac) = split_frac(u, 9);
    let (s, mins) = (secs % 60, secs / 60);
    if mins == 0 {
        return format!("{s}{frac}s");
    }
    let (m, hours) = (mins % 60, mins / 60);
    if hours == 0 {
        return format!("{m}m{s}{frac}s");
    }
    format!("{hours}h{m}m{s}{frac}s")
}

/// Splits `v` into `v / 10^prec` and its fraction as ".123" without trailing
/// zeros (empty when the fraction is zero), as Go's `fmtFrac` does.
fn split_frac(v: u64, prec: u32) -> (u64, String) {
    let scale = 10u64.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return (int, String::new());
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (int, format!(".{}", digits.trim_end_matches('0')))
}

fn checked_millis(ms: f64, text: &str) -> Result<K6Duration, DurationError> {
    let nanos = ms * NANOS_PER_MILLI;
    if !nanos.is_finite() || nanos.abs() >= 9.2e18 {
        return Err(DurationError(format!(
            "invalid duration {text:?}: out of range"
        )));
    }
    Ok(K6Duration(nanos as i64))
}

/// Go's `strconv.ParseFloat` on decimal input: digits, optional fraction and
/// exponent, optional sign. Rejects what Rust would additionally accept
/// (`inf`, `NaN`) so that they fall through to the duration parser's error.
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let first = body.chars().next()?;
    if !(first.is_ascii_digit() || first == '.') {
        return None;
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_go_int(s: &str) -> Option<i64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A port of Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`.
fn parse_go(orig: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError(format!("invalid duration {orig:?}"));
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let limit: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let c = s.as_bytes()[0];
        if !(c == b'.' || c.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut v: u64 = 0;
        for b in s[..int_len].bytes() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .filter(|v| *v <= limit)
                .ok_or_else(invalid)?;
        }
        s = &s[int_len..];
        let (mut frac, mut scale, mut frac_len) = (0u64, 1f64, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            frac_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflow = false;
            for b in s[..frac_len].bytes() {
                if overflow {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|f| f.checked_add(u64::from(b - b'0')))
                {
                    Some(f) if f <= limit => {
                        frac = f;
                        scale *= 10.0;
                    }
                    _ => overflow = true,
                }
            }
            s = &s[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err(DurationError(format!("missing unit in duration {orig:?}")));
        }
        let unit_str = &s[..unit_len];
        s = &s[unit_len..];
        let unit = unit_nanos(unit_str).ok_or_else(|| {
            DurationError(format!("unknown unit {unit_str:?} in duration {orig:?}"))
        })?;
        if v > limit / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > limit {
                return Err(invalid());
            }
        }
        total = total
            .checked_add(v)
            .filter(|t| *t <= limit)
            .ok_or_else(invalid)?;
    }
    if neg {
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| invalid())
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => SECOND,
        "m" => 60 * SECOND,
        "h" => 3600 * SECOND,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> i64 {
        K6Duration::parse(s).unwrap().as_nanos()
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(p("1m30s"), 90 * SECOND as i64);
        assert_eq!(p("500ms"), 500_000_000);
        assert_eq!(p("1.5s"), 1_500_000_000);
        assert_eq!(p("2h"), 7200 * SECOND as i64);
        assert_eq!(p("10us"), 10_000);
        assert_eq!(p("10µs"), 10_000);
        assert_eq!(p("10μs"), 10_000);
        assert_eq!(p("-1s"), -(SECOND as i64));
        assert_eq!(p("+5s"), 5 * SECOND as i64);
        assert_eq!(p("0"), 0);
        assert_eq!(p("1h2m3.5s"), 3723 * SECOND as i64 + 500_000_000);
        assert_eq!(p(".5s"), 500_000_000);
    }

    #[test]
    fn parses_k6_extensions() {
        assert_eq!(p("100"), 100_000_000);
        assert_eq!(p("1e3"), SECOND as i64);
        assert_eq!(p("1500.5"), 1_500_500_000);
        assert_eq!(p("1d"), 24 * 3600 * SECOND as i64);
        assert_eq!(p("2d3h"), 51 * 3600 * SECOND as i64);
    }

    #[test]
    fn rejects_bad_values_naming_them() {
        for (input, msg) in [
            ("abc", "invalid duration \"abc\""),
            ("", "invalid duration \"\""),
            (" 10s", "invalid duration \" 10s\""),
            ("5S", "unknown unit \"S\" in duration \"5S\""),
            (
                "1.5d",
                "invalid number of days \"1.5\" in duration \"1.5d\"",
            ),
            ("inf", "invalid duration \"inf\""),
        ] {
            assert_eq!(
                K6Duration::parse(input).unwrap_err().to_string(),
                msg,
                "{input}"
            );
        }
    }

    #[test]
    fn json_numbers_are_milliseconds() {
        let d = K6Duration::from_json(&serde_json::json!(1500.5))
            .unwrap()
            .unwrap();
        assert_eq!(d.to_string(), "1.5005s");
        assert_eq!(K6Duration::from_json(&Value::Null).unwrap(), None);
        assert!(K6Duration::from_json(&serde_json::json!(true)).is_err());
    }

    #[test]
    fn formats_like_go() {
        for (nanos, text) in [
            (0, "0s"),
            (1, "1ns"),
            (10_000, "10µs"),
            (1_500_000, "1.5ms"),
            (500_000_000, "500ms"),
            (30 * SECOND, "30s"),
            (90 * SECOND, "1m30s"),
            (600 * SECOND, "10m0s"),
            (630 * SECOND, "10m30s"),
            (1_500_500_000, "1.5005s"),
            (7200 * SECOND, "2h0m0s"),
            (3750 * SECOND, "1h2m30s"),
            (86400 * SECOND, "24h0m0s"),
        ] {
            assert_eq!(format_duration(Duration::from_nanos(nanos)), text);
        }
        assert_eq!(K6Duration::from_secs(-10).to_string(), "-10s");
    }

    #[test]
    fn numbers_convert_as_go_does_without_panicking() {
        let ms = K6Duration::from_millis_f64;
        assert_eq!(ms(1500.5).as_nanos(), 1_500_500_000);
        assert_eq!(ms(-5.0).as_nanos(), -5_000_000);
        assert_eq!(ms(0.0000001).as_nanos(), 0);
        assert_eq!(K6Duration::from_secs_f64(1.5).as_nanos(), 1_500_000_000);
        for v in [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
            -1e300,
            9.3e12,
        ] {
            assert_eq!(ms(v).as_nanos(), i64::MIN, "{v}");
            assert_eq!(ms(v).to_std_or_zero(), Duration::ZERO, "{v}");
        }
        assert_eq!(
            ms(9.2e12).to_std_or_zero(),
            Duration::from_nanos(9_200_000_000_000_000_000)
        );
        assert_eq!(ms(250.0).to_std_or_zero(), Duration::from_millis(250));
    }

    #[test]
    fn go_parser_alone_refuses_k6_extensions() {
        assert_eq!(
            K6Duration::parse_go("1m30s").unwrap().as_nanos(),
            90 * SECOND as i64
        );
        assert_eq!(K6Duration::parse_go("0").unwrap(), K6Duration::ZERO);
        for bad in ["100", "1d", "1e3s", ""] {
            assert!(K6Duration::parse_go(bad).is_err(), "{bad}");
        }
        assert_eq!(
            K6Duration::parse_go("9999999999h")
                .unwrap_err()
                .go_message(),
            "time: invalid duration \"9999999999h\""
        );
        assert_eq!(
            K6Duration::parse_go("1e300s").unwrap_err().go_message(),
            "time: unknown unit \"e\" in duration \"1e300s\""
        );
    }

    proptest! {
        #[test]
        fn numbers_never_panic(v in proptest::num::f64::ANY, unit in prop::sample::select(vec![1.0, 1e6, 1e9])) {
            let d = K6Duration::from_f64_units(v, unit);
            let _ = d.to_std_or_zero();
            if v.is_finite() && (v * unit).abs() < 9e18 {
                prop_assert_eq!(d.as_nanos(), (v * unit) as i64);
            }
        }

        #[test]
        fn go_parse_never_panics(s in "[-+]?[0-9.]{0,22}(ns|us|µs|ms|s|m|h|d|e|x)?[0-9.]{0,6}(ms|s|h)?") {
            let _ = K6Duration::parse_go(&s);
            let _ = K6Duration::parse(&s).map(K6Duration::to_std_or_zero);
        }

        #[test]
        fn format_then_parse_round_trips(nanos in 0i64..(1i64 << 62)) {
            let d = K6Duration::from_nanos(nanos);
            prop_assert_eq!(K6Duration::parse(&d.to_string()).unwrap(), d);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = K6Duration::parse(&s);
        }
    }
}
