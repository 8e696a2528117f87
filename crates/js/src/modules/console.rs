//! The global `console`, logging in k6's format.

use std::rc::Rc;

use rquickjs::function::Rest;
use rquickjs::{Ctx, Object, Result, Value};

use super::set_fn;
use crate::log::Level;
use crate::state::VuState;

/// Installs `console` on the global object.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<()> {
    let console = Object::new(ctx.clone())?;
    for (name, level) in [
        ("log", Level::Info),
        ("info", Level::Info),
        ("debug", Level::Debug),
        ("warn", Level::Warning),
        ("error", Level::Error),
    ] {
        let s = state.clone();
        set_fn(
            &console,
            name,
            move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<()> {
                let mut parts = Vec::with_capacity(args.0.len());
                for a in &args.0 {
                    parts.push(format_arg(&ctx, a)?);
                }
                s.test.logger.console(level, &parts.join(" "));
                Ok(())
            },
        )?;
    }
    ctx.globals().set("console", console)
}

/// Formats one `console` argument: errors by their message, objects as JSON.
fn format_arg<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<String> {
    if let Some(obj) = v.as_object() {
        if let Some(e) = rquickjs::Exception::from_object(obj.clone()) {
            let name: Option<String> = obj.get("name").ok();
            let msg = e.message().unwrap_or_default();
            return Ok(match name {
                Some(n) => format!("{n}: {msg}"),
                None => msg,
            });
        }
    }
    crate::value::to_display_string(ctx, v)
}
