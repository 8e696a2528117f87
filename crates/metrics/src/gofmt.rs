//! Go's number parsing and quoting, so parse errors read exactly like k6's.

use std::fmt::Write;

/// Why Go's `strconv.ParseFloat` rejected its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatError {
    /// `invalid syntax`
    Syntax,
    /// `value out of range`
    Range,
}

impl FloatError {
    /// The error text as Go prints it: `strconv.ParseFloat: parsing "x": invalid syntax`.
    pub(crate) fn message(self, input: &str) -> String {
        let what = match self {
            FloatError::Syntax => "invalid syntax",
            FloatError::Range => "value out of range",
        };
        format!("strconv.ParseFloat: parsing {}: {what}", go_quote(input))
    }
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (`0x1p-2`)
/// literals, `_` digit separators, `inf`/`infinity`/`nan` in any case.
pub(crate) fn parse_float(s: &str) -> Result<f64, FloatError> {
    if let Some(v) = special(s) {
        return Ok(v);
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if body.contains('_') && !underscore_ok(s) {
        return Err(FloatError::Syntax);
    }
    let body: String = body.chars().filter(|&c| c != '_').collect();
    let magnitude = if body.len() > 2 && body[..2].eq_ignore_ascii_case("0x") {
        parse_hex(&body[2..])?
    } else {
        if !is_decimal(&body) {
            return Err(FloatError::Syntax);
        }
        body.parse::<f64>().map_err(|_| FloatError::Syntax)?
    };
    if magnitude.is_infinite() {
        return Err(FloatError::Range);
    }
    Ok(if neg { -magnitude } else { magnitude })
}

/// `[+-]inf`, `[+-]infinity`, `nan` (case-insensitive), as Go's `special`.
fn special(s: &str) -> Option<f64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    if rest.len() == s.len() && s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    None
}

/// digits [. digits] [e [+-] digits], at least one mantissa digit.
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Hex mantissa with a mandatory binary exponent: `1.8p3`.
fn parse_hex(s: &str) -> Result<f64, FloatError> {
    let (mant, exp) = s.split_once(['p', 'P']).ok_or(FloatError::Syntax)?;
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(FloatError::Syntax);
    }
    let mut value = 0f64;
    for c in int.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16).ok_or(FloatError::Syntax)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        value += f64::from(c.to_digit(16).ok_or(FloatError::Syntax)?) * scale;
        scale /= 16.0;
    }
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FloatError::Syntax);
    }
    let exp: i32 = exp.parse().unwrap_or(if exp.starts_with('-') {
        i32::MIN
    } else {
        i32::MAX
    });
    Ok(value * 2f64.powi(exp))
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let mut b = s.as_bytes();
    if let Some(b'+' | b'-') = b.first() {
        b = &b[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `%q` for a string: double quotes, Go escapes, printable Unicode kept.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%g` for a float64 (shortest representation; exponent form below
/// 1e-4 or from 1e21 on, with at least two exponent digits).
pub(crate) fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e').expect("{:e} has an exponent");
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mant}e{sign}{digits:0>2}");
    }
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(parse_float("5."), Ok(5.0));
        assert_eq!(parse_float("+5"), Ok(5.0));
        assert_eq!(parse_float("-1e3"), Ok(-1000.0));
        assert_eq!(parse_float("1_0"), Ok(10.0));
        assert_eq!(parse_float("0x1p-2"), Ok(0.25));
        assert_eq!(parse_float("0x1.8p1"), Ok(3.0));
        assert_eq!(parse_float("Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").unwrap().is_nan());
        for bad in [
            "", "x", "0x10", "1,5", "1 < 2", "_1", "1_", "1__0", "+nan", ".", "e5", "1e",
        ] {
            assert_eq!(parse_float(bad), Err(FloatError::Syntax), "{bad:?}");
        }
        assert_eq!(parse_float("1e400"), Err(FloatError::Range));
        assert_eq!(
            FloatError::Syntax.message(" 95 "),
            r#"strconv.ParseFloat: parsing " 95 ": invalid syntax"#
        );
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(go_quote("é\n\x01"), "\"é\\n\\x01\"");
    }

    #[test]
    fn formats_g_like_go() {
        assert_eq!(format_g(95.0), "95");
        assert_eq!(format_g(99.9), "99.9");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(1e21), "1e+21");
        assert_eq!(format_g(0.0), "0");
    }
}
