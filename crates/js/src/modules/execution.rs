//! Native part of `k6/execution`.

use std::rc::Rc;

use rquickjs::{Ctx, Exception, Object, Result, Value};

use super::k6::interrupted;
use super::set_fn;
use crate::log::Level;
use crate::state::{Phase, VuState};

/// Builds the native part of `k6/execution`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;

    let s = state.clone();
    set_fn(&obj, "vu", move |ctx: Ctx<'js>| -> Result<Object<'js>> {
        if s.in_init() {
            return Err(Exception::throw_message(
                &ctx,
                "getting VU information in the init context is not supported",
            ));
        }
        let o = Object::new(ctx)?;
        o.set("idInInstance", s.id)?;
        o.set("idInTest", s.id_in_test)?;
        o.set("iterationInInstance", s.iteration.get())?;
        o.set("iterationInScenario", s.iteration_in_scenario.get())?;
        Ok(o)
    })?;

    let s = state.clone();
    set_fn(
        &obj,
        "scenario",
        move |ctx: Ctx<'js>| -> Result<Object<'js>> {
            let scenario = s.scenario.borrow().clone();
            let Some(info) = scenario.filter(|_| s.phase.get() == Phase::Iteration) else {
                return Err(Exception::throw_message(
                    &ctx,
                    "getting scenario information outside of the VU context is not supported",
                ));
            };
            let o = Object::new(ctx)?;
            o.set("name", info.name.as_str())?;
            o.set("executor", info.executor.as_str())?;
            o.set("startTime", info.start_time_ms)?;
            o.set("progress", s.test.execution.scenario_progress(&info.name))?;
            o.set("iterationInInstance", s.iteration_in_instance.get())?;
            o.set("iterationInTest", s.iteration_in_test.get())?;
            Ok(o)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "instance",
        move |ctx: Ctx<'js>| -> Result<Object<'js>> {
            if s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "getting instance information in the init context is not supported",
                ));
            }
            let e = &s.test.execution;
            let o = Object::new(ctx)?;
            o.set(
                "currentTestRunDuration",
                e.test_run_duration().as_secs_f64() * 1000.0,
            )?;
            o.set("iterationsCompleted", e.iterations_completed())?;
            o.set("iterationsInterrupted", e.iterations_interrupted())?;
            o.set("vusActive", e.vus_active())?;
            o.set("vusInitialized", e.vus_initialized())?;
            Ok(o)
        },
    )?;

    let s = state.clone();
    set_fn(&obj, "tags", move |ctx: Ctx<'js>| -> Result<Object<'js>> {
        let o = Object::new(ctx)?;
        for (k, v) in s.tags().iter() {
            o.set(k, v)?;
        }
        Ok(o)
    })?;

    let s = state.clone();
    set_fn(
        &obj,
        "setTag",
        move |ctx: Ctx<'js>, key: String, value: Value<'js>| -> Result<()> {
            let mut tags = s.custom_tags.borrow_mut();
            tags.retain(|(k, _)| *k != key);
            if !value.is_undefined() {
                if value.is_object() {
                    s.test.logger.log(
                        Level::Warning,
                        &format!("only string, number or boolean values are accepted as tag values; the value of '{key}' was ignored"),
                        &[],
                    );
                    return Ok(());
                }
                tags.push((key, crate::value::to_display_string(&ctx, &value)?));
            }
            drop(tags);
            s.rebuild_tags();
            Ok(())
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "metadata",
        move |ctx: Ctx<'js>| -> Result<Object<'js>> {
            let o = Object::new(ctx)?;
            for (k, v) in s.metadata.borrow().iter() {
                o.set(k.as_str(), v.as_str())?;
            }
            Ok(o)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "setMetadata",
        move |ctx: Ctx<'js>, key: String, value: Value<'js>| -> Result<()> {
            let mut m = s.metadata.borrow_mut();
            m.retain(|(k, _)| *k != key);
            if !value.is_undefined() {
                m.push((key, crate::value::to_display_string(&ctx, &value)?));
            }
            Ok(())
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "abort",
        move |ctx: Ctx<'js>, reason: String| -> Result<()> {
            let reason = if reason.is_empty() {
                "test aborted".to_string()
            } else {
                reason
            };
            s.test.control.abort(&reason);
            s.interrupt.interrupt();
            Err(interrupted(&ctx))
        },
    )?;

    let s = state.clone();
    set_fn(&obj, "fail", move |reason: String| {
        s.test.control.fail();
        let msg = if reason.is_empty() {
            "test marked as failed".to_string()
        } else {
            format!("test marked as failed: {reason}")
        };
        s.test.logger.log(Level::Error, &msg, &[]);
    })?;

    let s = state.clone();
    set_fn(&obj, "options", move || s.test.options.to_string())?;
    Ok(obj)
}
