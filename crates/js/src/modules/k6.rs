//! Native part of the `k6` module: checks, groups and sleep.

use std::rc::Rc;
use std::time::Instant;

use rquickjs::function::Opt;
use rquickjs::{CString, Ctx, Exception, Object, Result, Value};
use stampede_metrics::Builtin;

use super::set_fn;
use crate::coro::suspend;
use crate::state::VuState;

/// Builds the native part of `k6`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let s = state.clone();
    set_fn(
        &obj,
        "recordCheck",
        move |ctx: Ctx<'js>,
              name: CString<'js>,
              passed: bool,
              tags: Opt<Value<'js>>|
              -> Result<()> {
            // Borrowed from QuickJS, not copied: this runs for every check.
            let name = name.as_str();
            if s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "check() is not available in the init context",
                ));
            }
            if name.contains("::") {
                return Err(Exception::throw_message(
                    &ctx,
                    "group and check names may not contain '::'",
                ));
            }
            let extra = js_tags(&ctx, tags.0)?;
            let mut pairs: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            pairs.push(("check", name));
            s.emit(
                Builtin::Checks.metric(),
                &pairs,
                if passed { 1.0 } else { 0.0 },
            );
            Ok(())
        },
    )?;
    let s = state.clone();
    set_fn(
        &obj,
        "enterGroup",
        move |ctx: Ctx<'js>, name: String| -> Result<()> {
            if s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "group() is not available in the init context",
                ));
            }
            if name.contains("::") {
                return Err(Exception::throw_message(
                    &ctx,
                    "group and check names may not contain '::'",
                ));
            }
            let parent = s.group.borrow().clone();
            s.group_stack
                .borrow_mut()
                .push((parent.clone(), Instant::now()));
            *s.group.borrow_mut() = format!("{parent}::{name}");
            s.rebuild_tags();
            Ok(())
        },
    )?;
    let s = state.clone();
    set_fn(&obj, "exitGroup", move || {
        let Some((parent, start)) = s.group_stack.borrow_mut().pop() else {
            return;
        };
        let elapsed = start.elapsed();
        s.emit(
            Builtin::GroupDuration.metric(),
            &[],
            elapsed.as_secs_f64() * 1000.0,
        );
        *s.group.borrow_mut() = parent;
        s.rebuild_tags();
    })?;
    set_fn(
        &obj,
        "sleep",
        move |ctx: Ctx<'js>, secs: Opt<rquickjs::Coerced<f64>>| -> Result<()> {
            // As k6: any value converts to a number (`"abc"` is NaN), then as
            // Go converts it, so Infinity, NaN and 1e300 do not wait.
            let secs = secs.0.map_or(0.0, |c| c.0);
            let d = stampede_config::K6Duration::from_secs_f64(secs);
            let d = d.to_std_or_zero();
            if d.is_zero() {
                return Ok(());
            }
            suspend(move || tokio::time::sleep(d)).map_err(|_| interrupted(&ctx))
        },
    )?;
    Ok(obj)
}

/// The exception thrown into a VU that must stop.
pub(crate) fn interrupted(ctx: &Ctx<'_>) -> rquickjs::Error {
    Exception::throw_internal(ctx, "interrupted")
}

/// Reads a `tags` argument (an object of strings) into pairs.
pub(crate) fn js_tags<'js>(ctx: &Ctx<'js>, v: Option<Value<'js>>) -> Result<Vec<(String, String)>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    let Some(obj) = v.as_object() else {
        return Err(Exception::throw_type(ctx, "tags must be an object"));
    };
    let mut out = Vec::new();
    for kv in obj.props::<String, Value>() {
        let (k, v) = kv?;
        out.push((k, crate::value::to_display_string(ctx, &v)?));
    }
    Ok(out)
}

/// Builds the native part of the k6-summary jslib: `textSummary` renders
/// with the engine's summary renderer.
pub(crate) fn summary_native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let s = state.clone();
    set_fn(
        &obj,
        "textSummary",
        move |ctx: Ctx<'js>, data: Value<'js>, opts: Opt<Value<'js>>| -> Result<String> {
            let Some(render) = s.test.text_summary.clone() else {
                return Err(Exception::throw_message(
                    &ctx,
                    "textSummary is not available here",
                ));
            };
            let json = crate::value::to_json(&ctx, data)?;
            let opts = match opts.0 {
                Some(v) if v.is_object() => crate::value::to_json(&ctx, v)?,
                _ => serde_json::Value::Null,
            };
            Ok(render(&json, &opts))
        },
    )?;
    Ok(obj)
}
