//! Conversions between JavaScript values and Rust data.

use rquickjs::{Coerced, Ctx, FromJs, Result, Value};

/// Converts a value to JSON through `JSON.stringify` (`undefined` and
/// functions become `null`).
pub(crate) fn to_json<'js>(ctx: &Ctx<'js>, v: Value<'js>) -> Result<serde_json::Value> {
    match ctx.json_stringify(v)? {
        Some(s) => {
            let s = s.to_string()?;
            serde_json::from_str(&s)
                .map_err(|e| rquickjs::Exception::throw_internal(ctx, &e.to_string()))
        }
        None => Ok(serde_json::Value::Null),
    }
}

/// Builds a JavaScript value from JSON text.
pub(crate) fn from_json_str<'js>(ctx: &Ctx<'js>, json: &str) -> Result<Value<'js>> {
    ctx.json_parse(json)
}

/// Builds a JavaScript value from JSON.
pub(crate) fn from_json<'js>(ctx: &Ctx<'js>, v: &serde_json::Value) -> Result<Value<'js>> {
    from_json_str(ctx, &v.to_string())
}

/// Renders a value as text the way k6 does for tags and log arguments:
/// strings as they are, other primitives with `String()`, objects as JSON.
pub(crate) fn to_display_string<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<String> {
    if let Some(s) = v.as_string() {
        return s.to_string();
    }
    if v.is_object() && !v.is_function() {
        if let Some(s) = ctx.json_stringify(v.clone())? {
            return s.to_string();
        }
    }
    Ok(Coerced::<String>::from_js(ctx, v.clone())?.0)
}
