//! Module resolution and loading for one VU's runtime.

use std::sync::Arc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::module::WriteOptions;

use crate::intrinsics::{ensure, needs_of, Needs};
use rquickjs::{Ctx, Error, Exception, Module, Result};

use crate::error::throw_full;
use crate::program::{resolve, Program, Specifier};

/// Resolves import specifiers (relative files, `k6/*`, URLs).
pub(crate) struct ScriptResolver {
    pub(crate) program: Arc<Program>,
}

impl Resolver for ScriptResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        if let Some(body) = name.strip_prefix(crate::commonjs::BODY_PREFIX) {
            return Ok(body.to_string());
        }
        match resolve(base, name) {
            Ok(Specifier::Builtin(n)) => {
                self.program.note_jslib(name, &n);
                Ok(n)
            }
            Ok(Specifier::File(n)) => {
                self.program
                    .check_module(&n, name)
                    .map_err(|msg| throw_full(ctx, "ReferenceError", &msg))?;
                // Importers of a CommonJS file get its ES facade.
                match crate::commonjs::analysis(&self.program, &n) {
                    Ok(a) if a.commonjs => Ok(format!("{}{n}", crate::commonjs::FACADE_PREFIX)),
                    _ => Ok(n),
                }
            }
            Err(msg) => Err(throw_full(ctx, "ReferenceError", &msg)),
        }
    }
}

/// Loads files through the program's cache and builds built-in modules.
pub(crate) struct ScriptLoader {
    pub(crate) program: Arc<Program>,
}

impl Loader for ScriptLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        load_module(ctx, &self.program, name)
    }
}

/// Loads module `name`: from the bytecode another VU compiled when there is
/// some, otherwise from source, keeping its bytecode for the next VUs.
///
/// The bytecode carries no source text (QuickJS keeps a copy of every
/// function's source otherwise) and, for built-in modules, no debug
/// information: a VU then holds much less, and skips parsing.
pub(crate) fn load_module<'js>(
    ctx: &Ctx<'js>,
    program: &Program,
    name: &str,
) -> Result<Module<'js, Declared>> {
    // A native module's shim reads the object from the VU's globals: build
    // it whether the shim comes from bytecode or from source.
    if let Some(native) = crate::modules::native_shim_of(name) {
        crate::modules::native_object(ctx, native)?;
    }
    if let Some((bytes, needs)) = program.bytecode(name) {
        crate::intrinsics::ensure(ctx, needs);
        // SAFETY: the bytes were written by this process's QuickJS for this
        // module, and the program keeps them unchanged for as long as any
        // runtime that read them lives (entries are never removed).
        return unsafe { Module::load(ctx.clone(), &bytes) };
    }
    let (module, needs) = declare(ctx, program, name)?;
    let user_code = crate::program::is_user_module(name);
    let bytes = module.write(WriteOptions {
        strip_source: true,
        strip_debug: !user_code,
        ..WriteOptions::default()
    })?;
    program.store_bytecode(name, bytes, needs);
    Ok(module)
}

/// Export `export` of built-in module `name`, for host objects that load
/// their module on first use rather than in every VU (`Response.html()`,
/// the global `crypto`). The module stashes the export on its native object
/// when it evaluates, so a module the script imported already is reused.
pub(crate) fn builtin_export<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    export: &str,
) -> Result<rquickjs::Value<'js>> {
    let native = crate::modules::native_object(ctx, name)?;
    if let Some(v) = native.get::<_, Option<rquickjs::Value>>(export)? {
        return Ok(v);
    }
    let program = crate::state::vu_state(ctx).test.program.clone();
    eval_builtin(ctx, &program, name)?;
    native.get(export)
}

/// Loads and evaluates built-in module `name` (for its effects).
pub(crate) fn eval_builtin(ctx: &Ctx<'_>, program: &Program, name: &str) -> Result<()> {
    let (_, promise) = load_module(ctx, program, name)?.eval()?;
    // Built-in modules have no top-level await: evaluation is over.
    match promise.result::<rquickjs::Value>() {
        Some(Err(e)) => Err(e),
        _ => Ok(()),
    }
}

/// Compiles module `name` from its source, after adding the optional
/// built-ins it names (returned too, for the VUs loading its bytecode).
fn declare<'js>(
    ctx: &Ctx<'js>,
    program: &Program,
    name: &str,
) -> Result<(Module<'js, Declared>, Needs)> {
    if let Some(file) = name.strip_prefix(crate::commonjs::FACADE_PREFIX) {
        let source = crate::commonjs::facade_source(program, file);
        return Ok((Module::declare(ctx.clone(), name, source)?, 0));
    }
    if let Some(source) = crate::modules::builtin_source(ctx, name)? {
        let needs = needs_of(&source);
        ensure(ctx, needs);
        return Ok((Module::declare(ctx.clone(), name, source)?, needs));
    }
    if !crate::program::is_user_module(name) {
        return Err(Exception::throw_reference(
            ctx,
            &format!("unknown module: {name}"),
        ));
    }
    crate::commonjs::scan(program, name);
    let analysis =
        crate::commonjs::analysis(program, name).map_err(|m| crate::commonjs::throw(ctx, &m))?;
    let source = if analysis.commonjs {
        crate::commonjs::body_source(&analysis)
    } else {
        analysis.source.to_string()
    };
    let needs = needs_of(&source);
    ensure(ctx, needs);
    let module = Module::declare(ctx.clone(), name, source).map_err(|e| match e {
        Error::Exception => e,
        other => Exception::throw_syntax(ctx, &format!("{name}: {other}")),
    })?;
    Ok((module, needs))
}

#[cfg(test)]
mod tests {
    use rquickjs::{Context, Function, Module, Promise, Runtime};

    use super::WriteOptions;

    const SOURCE: &str = "
        export function plain() {
          return [Object.getPrototypeOf(plain) === Function.prototype,
                  (() => 1) instanceof Function, [] instanceof Array,
                  new Error('x') instanceof Error,
                  Object.getPrototypeOf(new (class K {})()).constructor.name === 'K'];
        }
        export async function later() { await null; return [] instanceof Array; }
        export function* gen() { yield [] instanceof Array; }
        const tag = (s) => s;
        export function template() { return tag`a${1}b`; }
        export function same() { return template() === template(); }
    ";

    #[test]
    fn contexts_reading_the_same_bytecode_share_its_functions_not_their_realms() {
        let rt = Runtime::new().unwrap();
        let first = Context::full(&rt).unwrap();
        let bytes = first.with(|ctx| {
            Module::declare(ctx, "m", SOURCE)
                .unwrap()
                .write(WriteOptions {
                    strip_source: true,
                    ..WriteOptions::default()
                })
                .unwrap()
        });
        let mut counts = vec![rt.memory_usage().js_func_count];
        let mut contexts = Vec::new();
        for _ in 0..3 {
            let c = Context::full(&rt).unwrap();
            c.with(|ctx| {
                // SAFETY: written above by this runtime's QuickJS.
                let m = unsafe { Module::load(ctx.clone(), &bytes) }.unwrap();
                let (m, done) = m.eval().unwrap();
                done.finish::<()>().unwrap();
                let call = |name: &str| -> rquickjs::Value {
                    m.get::<_, Function>(name).unwrap().call(()).unwrap()
                };
                let plain: Vec<bool> = rquickjs::FromJs::from_js(&ctx, call("plain")).unwrap();
                assert_eq!(plain, vec![true; 5], "realm of plain()");
                let strings = call("template").into_object().unwrap();
                let array: rquickjs::Object = ctx.globals().get("Array").unwrap();
                let is_own: bool = ctx
                    .eval::<Function, _>("(s, A) => s instanceof A")
                    .unwrap()
                    .call((strings, array))
                    .unwrap();
                assert!(
                    is_own,
                    "a template's strings are of the context's own realm"
                );
                assert!(call("same").as_bool().unwrap());
                let gen = call("gen").into_object().unwrap();
                let next: rquickjs::Object = gen
                    .get::<_, Function>("next")
                    .unwrap()
                    .call((rquickjs::function::This(gen.clone()),))
                    .unwrap();
                assert!(next.get::<_, bool>("value").unwrap());
                let later: Promise = call("later").into_promise().unwrap();
                assert!(later.finish::<bool>().unwrap());
            });
            counts.push(rt.memory_usage().js_func_count);
            contexts.push(c);
        }
        // Per context: its module function and template() (they hold the
        // template's strings, an object of its realm); everything else is
        // the functions the first reader interned.
        let added: Vec<i64> = counts.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(
            &added[1..],
            &[2, 2],
            "functions added per context: {added:?}"
        );
        assert!(added[0] > 2, "{added:?}");
    }
}
