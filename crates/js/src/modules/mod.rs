//! The k6 module surface: a table of built-in modules, each made of an
//! optional JavaScript part (argument shaping, classes) and a native part
//! (everything that touches I/O, metrics or the VU's state).

use std::rc::Rc;

use rquickjs::{Ctx, Exception, Function, Object, Result};

use crate::state::{vu_state, VuState};

pub(crate) mod chaos;
pub(crate) mod console;
pub(crate) mod crypto;
pub(crate) mod csv;
pub mod data;
pub(crate) mod encoding;
pub(crate) mod execution;
pub(crate) mod fs;
pub(crate) mod grpc;
pub(crate) mod html;
pub mod http;
mod http_response;
pub(crate) mod k6;
pub(crate) mod metrics;
pub mod rate_limit;
pub(crate) mod webcrypto;
pub(crate) mod websockets;
pub(crate) mod ws;

/// Builds the native part of a module for the VU owning `ctx`.
type NativeBuilder = for<'js> fn(&Ctx<'js>, &Rc<VuState>) -> Result<Object<'js>>;

struct Builtin {
    name: &'static str,
    /// JavaScript source of the module; `None` exports the native part as is.
    js: Option<&'static str>,
    native: Option<NativeBuilder>,
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "k6",
        js: Some(include_str!("js/k6.js")),
        native: Some(k6::native),
    },
    Builtin {
        name: "k6/http",
        js: Some(include_str!("js/http.js")),
        native: Some(http::native),
    },
    Builtin {
        name: "k6/metrics",
        js: Some(include_str!("js/metrics.js")),
        native: Some(metrics::native),
    },
    Builtin {
        name: "k6/execution",
        js: Some(include_str!("js/execution.js")),
        native: Some(execution::native),
    },
    Builtin {
        name: "k6/data",
        js: Some(include_str!("js/data.js")),
        native: Some(data::native),
    },
    Builtin {
        name: "k6/encoding",
        js: None,
        native: Some(encoding::native),
    },
    Builtin {
        name: "k6/crypto",
        js: None,
        native: Some(crypto::native),
    },
    Builtin {
        name: "k6/timers",
        js: Some(include_str!("js/timers.js")),
        native: None,
    },
    Builtin {
        name: "k6/ws",
        js: Some(include_str!("js/ws.js")),
        native: Some(ws::native),
    },
    // Internal: the timers every VU has (see `vu::install_globals`).
    Builtin {
        name: "stampede:prelude",
        js: Some(include_str!("js/prelude.js")),
        native: None,
    },
    // Internal: the cookie handling both WebSocket modules share.
    Builtin {
        name: "stampede:ws-cookies",
        js: Some(include_str!("js/ws_cookies.js")),
        native: None,
    },
    Builtin {
        name: "k6/experimental/websockets",
        js: Some(include_str!("js/websockets.js")),
        native: Some(websockets::native),
    },
    Builtin {
        name: "k6/websockets",
        js: Some(include_str!("js/websockets.js")),
        native: None,
    },
    Builtin {
        name: "k6/net/grpc",
        js: Some(include_str!("js/grpc.js")),
        native: Some(grpc::native),
    },
    Builtin {
        name: "k6/html",
        js: Some(include_str!("js/html.js")),
        native: Some(html::native),
    },
    Builtin {
        name: "k6/experimental/fs",
        js: Some(include_str!("js/fs.js")),
        native: Some(fs::native),
    },
    Builtin {
        name: "k6/experimental/csv",
        js: Some(include_str!("js/csv.js")),
        native: Some(csv::native),
    },
    Builtin {
        name: "k6/experimental/webcrypto",
        js: Some(include_str!("js/webcrypto.js")),
        native: Some(webcrypto::native),
    },
    Builtin {
        name: "k6/experimental/streams",
        js: Some(include_str!("js/streams.js")),
        native: None,
    },
    Builtin {
        name: "stampede/chaos",
        js: Some(include_str!("js/chaos.js")),
        native: Some(chaos::native),
    },
    Builtin {
        name: "jslib/k6-utils",
        js: Some(include_str!("js/k6-utils.js")),
        native: None,
    },
    Builtin {
        name: "jslib/k6-summary",
        js: Some(include_str!("js/k6-summary.js")),
        native: Some(k6::summary_native),
    },
];

/// Names of the generated modules exporting a native object.
const NATIVE_PREFIX: &str = "stampede:native/";
const NATIVE_CACHE: &str = "__stampede_natives";

fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Whether `name` (a `k6` or `k6/...` specifier) is a module Stampede provides.
pub(crate) fn is_builtin(name: &str) -> bool {
    find(name).is_some()
}

/// Maps the path after `https://jslib.k6.io/` to a built-in copy. The
/// k6-summary module keeps its version, which picks the text flavor.
pub(crate) fn jslib_module(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    let lib = parts.next()?;
    let version = parts.next().unwrap_or("");
    match lib {
        "k6-utils" => Some("jslib/k6-utils".into()),
        "k6-summary" => Some(format!("{SUMMARY_PREFIX}{version}")),
        _ => None,
    }
}

/// The source of a built-in jslib copy that real k6 runs as well (it
/// imports only k6's own modules): what archives carry for its URL.
pub(crate) fn portable_jslib(builtin: &str) -> Option<&'static str> {
    match builtin {
        "jslib/k6-utils" => find(builtin).and_then(|b| b.js),
        _ => None,
    }
}

/// Built-in k6-summary modules are named by version: `jslib/k6-summary@0.0.2`.
const SUMMARY_PREFIX: &str = "jslib/k6-summary@";

/// Removes a leading `#!` line, keeping line numbers.
pub(crate) fn strip_shebang(source: &str) -> String {
    if source.starts_with("#!") {
        let end = source.find('\n').unwrap_or(source.len());
        format!("//{}", &source[2..end]) + &source[end..]
    } else {
        source.to_string()
    }
}

/// When module `name` is a generated shim over a native object (a
/// `stampede:native/...` module, or a built-in without JavaScript), the
/// native module it exports.
pub(crate) fn native_shim_of(name: &str) -> Option<&str> {
    if let Some(native) = name.strip_prefix(NATIVE_PREFIX) {
        return Some(native);
    }
    find(name)
        .filter(|b| b.js.is_none() && b.native.is_some())
        .map(|b| b.name)
}

/// The source of a built-in module, or `None` when `name` is not built in.
pub(crate) fn builtin_source(ctx: &Ctx<'_>, name: &str) -> Result<Option<String>> {
    if let Some(native) = name.strip_prefix(NATIVE_PREFIX) {
        let obj = native_object(ctx, native)?;
        let keys: Vec<String> = obj.keys::<String>().collect::<Result<_>>()?;
        return Ok(Some(format!(
            "const m = globalThis.{NATIVE_CACHE}[{native:?}];\nexport default m;\nexport const {{ {} }} = m;\n",
            keys.join(", ")
        )));
    }
    if let Some(version) = name.strip_prefix(SUMMARY_PREFIX) {
        return Ok(Some(format!(
            "const JSLIB_VERSION = {version:?};\n{}",
            include_str!("js/k6-summary.js")
        )));
    }
    let Some(b) = find(name) else { return Ok(None) };
    match b.js {
        Some(js) => Ok(Some(js.to_string())),
        None => builtin_source(ctx, &format!("{NATIVE_PREFIX}{name}")),
    }
}

/// The native part of module `name`, built once per VU.
pub(crate) fn native_object<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Object<'js>> {
    let globals = ctx.globals();
    let cache: Object = match globals.get::<_, Option<Object>>(NATIVE_CACHE)? {
        Some(c) => c,
        None => {
            let c = Object::new(ctx.clone())?;
            globals.set(NATIVE_CACHE, c.clone())?;
            c
        }
    };
    if let Some(obj) = cache.get::<_, Option<Object>>(name)? {
        return Ok(obj);
    }
    let builder = find(name)
        .and_then(|b| b.native)
        .ok_or_else(|| Exception::throw_reference(ctx, &format!("unknown module: {name}")))?;
    let obj = builder(ctx, &vu_state(ctx))?;
    cache.set(name, obj.clone())?;
    Ok(obj)
}

/// Sets a native function on `obj`.
pub(crate) fn set_fn<'js, F, P>(obj: &Object<'js>, name: &str, f: F) -> Result<()>
where
    F: rquickjs::function::IntoJsFunc<'js, P> + 'js,
{
    let func = Function::new(obj.ctx().clone(), f)?.with_name(name)?;
    obj.set(name, func)
}
