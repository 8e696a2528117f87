//! `k6/encoding`: base64 in its four variants.

use std::rc::Rc;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Object, Result, Value};

use super::set_fn;
use crate::bytes::{array_buffer, to_bytes};
use crate::state::VuState;

fn engine<'js>(
    ctx: &Ctx<'js>,
    name: Option<&str>,
) -> Result<&'static base64::engine::GeneralPurpose> {
    match name.unwrap_or("std") {
        "" | "std" => Ok(&STANDARD),
        "rawstd" => Ok(&STANDARD_NO_PAD),
        "url" => Ok(&URL_SAFE),
        "rawurl" => Ok(&URL_SAFE_NO_PAD),
        other => Err(Exception::throw_type(
            ctx,
            &format!("unknown base64 encoding \"{other}\": use std, rawstd, url or rawurl"),
        )),
    }
}

/// Builds `k6/encoding`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, _state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    set_fn(
        &obj,
        "b64encode",
        |ctx: Ctx<'js>, input: Value<'js>, enc: Opt<Option<String>>| -> Result<String> {
            let bytes = to_bytes(&ctx, &input)?;
            Ok(engine(&ctx, enc.0.flatten().as_deref())?.encode(bytes))
        },
    )?;
    set_fn(
        &obj,
        "b64decode",
        |ctx: Ctx<'js>,
         input: String,
         enc: Opt<Option<String>>,
         format: Opt<Option<String>>|
         -> Result<Value<'js>> {
            let enc = enc.0.flatten();
            let eng = engine(&ctx, enc.as_deref())?;
            // k6 accepts input with or without padding for each variant.
            let trimmed = input.trim_end_matches('=');
            let decoded = match enc.as_deref().unwrap_or("std") {
                "url" | "rawurl" => URL_SAFE_NO_PAD.decode(trimmed),
                _ => STANDARD_NO_PAD.decode(trimmed),
            }
            .or_else(|_| eng.decode(&input))
            .map_err(|e| Exception::throw_type(&ctx, &format!("b64decode: {e}")))?;
            if format.0.flatten().as_deref() == Some("s") {
                let s = String::from_utf8_lossy(&decoded).into_owned();
                Ok(rquickjs::String::from_str(ctx, &s)?.into_value())
            } else {
                array_buffer(&ctx, decoded)
            }
        },
    )?;
    Ok(obj)
}
