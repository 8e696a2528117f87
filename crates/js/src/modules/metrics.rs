//! Native part of `k6/metrics`: registering custom metrics and adding samples.

use std::cell::RefCell;
use std::rc::Rc;

use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Object, Result, Value};
use stampede_metrics::{Metric, MetricType, ValueType};

use super::k6::js_tags;
use super::set_fn;
use crate::log::Level;
use crate::state::VuState;

/// Builds the native part of `k6/metrics`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    // Metrics this VU declared, indexed by the id handed to JavaScript.
    let declared: Rc<RefCell<Vec<Metric>>> = Rc::default();

    let s = state.clone();
    let d = declared.clone();
    set_fn(
        &obj,
        "register",
        move |ctx: Ctx<'js>,
              kind: String,
              name: Value<'js>,
              is_time: Opt<Value<'js>>|
              -> Result<u32> {
            if !s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "metrics must be declared in the init context",
                ));
            }
            let Some(name) = name.as_string().map(|n| n.to_string()).transpose()? else {
                return Err(Exception::throw_type(
                    &ctx,
                    "the metric name must be a string",
                ));
            };
            let kind = match kind.as_str() {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "rate" => MetricType::Rate,
                _ => MetricType::Trend,
            };
            let is_time = is_time
                .0
                .map(|v| v.as_bool().unwrap_or(false))
                .unwrap_or(false);
            let contains = if is_time {
                ValueType::Time
            } else {
                ValueType::Default
            };
            let metric = s
                .test
                .registry
                .register(&name, kind, contains)
                .map_err(|e| Exception::throw_message(&ctx, &e.to_string()))?;
            let mut d = d.borrow_mut();
            d.push(metric);
            Ok((d.len() - 1) as u32)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "add",
        move |ctx: Ctx<'js>, id: u32, value: Value<'js>, tags: Opt<Value<'js>>| -> Result<bool> {
            let metric = declared.borrow()[id as usize];
            if s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "cannot add samples to metrics in the init context",
                ));
            }
            let number = if let Some(b) = value.as_bool() {
                Some(if b { 1.0 } else { 0.0 })
            } else {
                value.as_number().filter(|n| n.is_finite())
            };
            let Some(number) = number else {
                let shown = crate::value::to_display_string(&ctx, &value)?;
                let name = s.test.registry.def(metric.id).name;
                s.test.logger.log(
                    Level::Warning,
                    &format!(
                        "'{shown}' is an invalid value for metric '{name}', a number or a boolean value is expected"
                    ),
                    &[],
                );
                return Ok(false);
            };
            let extra = js_tags(&ctx, tags.0)?;
            let pairs: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            s.emit(metric, &pairs, number);
            Ok(true)
        },
    )?;
    Ok(obj)
}
