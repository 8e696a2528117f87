//! Native part of `k6/data`: the store behind `SharedArray`.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use rquickjs::{Ctx, Exception, Object, Result};

use super::set_fn;
use crate::state::VuState;

/// One shared array: its elements as JSON text.
type Elements = Arc<[Box<str>]>;

/// Arrays shared by all VUs of a test, each element kept as JSON text.
#[derive(Debug, Default)]
pub struct SharedArrays(Mutex<HashMap<String, Elements>>);

impl SharedArrays {
    fn get(&self, name: &str) -> Option<Elements> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Stores `items` unless another VU stored the array first; returns the
    /// array kept.
    fn store(&self, name: &str, items: Vec<String>) -> Elements {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(name.to_string())
            .or_insert_with(|| items.into_iter().map(String::into_boxed_str).collect())
            .clone()
    }
}

/// Builds the native part of `k6/data`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    // This VU's handles on the arrays it uses, so reads take no lock.
    let local: Rc<std::cell::RefCell<HashMap<String, Elements>>> = Rc::default();

    let s = state.clone();
    let l = local.clone();
    set_fn(&obj, "length", move |name: String| -> i64 {
        if let Some(a) = l.borrow().get(&name) {
            return a.len() as i64;
        }
        match s.test.shared_arrays.get(&name) {
            Some(a) => {
                let n = a.len() as i64;
                l.borrow_mut().insert(name, a);
                n
            }
            None => -1,
        }
    })?;

    let s = state.clone();
    let l = local.clone();
    set_fn(
        &obj,
        "store",
        move |ctx: Ctx<'js>, name: String, items: Vec<String>| -> Result<i64> {
            if !s.in_init() {
                return Err(Exception::throw_message(
                    &ctx,
                    "new SharedArray must be called in the init context",
                ));
            }
            let a = s.test.shared_arrays.store(&name, items);
            let n = a.len() as i64;
            l.borrow_mut().insert(name, a);
            Ok(n)
        },
    )?;

    set_fn(
        &obj,
        "get",
        move |ctx: Ctx<'js>, name: String, index: usize| -> Result<String> {
            local
                .borrow()
                .get(&name)
                .and_then(|a| a.get(index).map(|s| s.to_string()))
                .ok_or_else(|| Exception::throw_range(&ctx, "SharedArray index out of range"))
        },
    )?;
    Ok(obj)
}
