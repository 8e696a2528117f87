//! JSON as k6's JavaScript runtime writes it (`JSON.stringify(v, null, indent)`),
//! and numbers stored in `serde_json` values the way JavaScript sees them.

use std::fmt::Write;

use serde_json::Value;

use crate::jsfmt::js_string;

/// A number as JavaScript holds it: integral values within 2^53 become JSON
/// integers (so `serde_json` prints `4`, not `4.0`); NaN and infinities,
/// which `JSON.stringify` writes as `null`, become `Value::Null`.
pub fn js_number(x: f64) -> Value {
    const MAX_SAFE: f64 = 9_007_199_254_740_992.0;
    if !x.is_finite() {
        return Value::Null;
    }
    if x.fract() == 0.0 && x.abs() <= MAX_SAFE {
        return Value::from(x as i64);
    }
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// `JSON.stringify(value, null, indent)`: keys in the value's order, numbers
/// as JavaScript prints them, an empty `indent` for the compact form.
pub fn stringify(value: &Value, indent: &str) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, 0);
    out
}

fn newline(out: &mut String, indent: &str, depth: usize) {
    if !indent.is_empty() {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn write_value(out: &mut String, value: &Value, indent: &str, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.is_finite() => out.push_str(&js_string(x)),
            _ => out.push_str("null"),
        },
        Value::String(s) => quote(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                quote(out, k);
                out.push(':');
                if !indent.is_empty() {
                    out.push(' ');
                }
                write_value(out, v, indent, depth + 1);
            }
            newline(out, indent, depth);
            out.push('}');
        }
    }
}

/// JavaScript's JSON string quoting: `"` `\` and control characters escaped
/// (`\b \t \n \f \r`, others as lowercase `\u00XX`), everything else verbatim.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stringify_like_javascript() {
        let v = json!({"a": 1, "b": [], "c": {}, "d": [1.5, "x\"\n\u{1}"], "e": null, "f": true});
        assert_eq!(
            stringify(&v, ""),
            r#"{"a":1,"b":[],"c":{},"d":[1.5,"x\"\n\u0001"],"e":null,"f":true}"#
        );
        assert_eq!(
            stringify(&json!({"a": {"b": [1, 2]}}), "    "),
            "{\n    \"a\": {\n        \"b\": [\n            1,\n            2\n        ]\n    }\n}"
        );
        assert_eq!(stringify(&js_number(1e21), ""), "1e+21");
        assert_eq!(stringify(&json!(0.1), ""), "0.1");
    }

    #[test]
    fn numbers_as_javascript_holds_them() {
        assert_eq!(js_number(4.0), json!(4));
        assert_eq!(js_number(-0.0), json!(0));
        assert_eq!(js_number(0.5), json!(0.5));
        assert_eq!(js_number(f64::NAN), Value::Null);
        assert_eq!(serde_json::to_string(&js_number(12.0)).unwrap(), "12");
    }
}
