//! CommonJS, as k6 runs it: a file without `import`/`export` (or one that
//! only parses as a function body, e.g. with a top-level `return`) is
//! CommonJS, wrapped in `function (module, exports, require)` and run in
//! strict mode (as k6 does), with `this` the exports object. The wrapper is
//! the default export of a module named by the file (its "body", loaded
//! through the `stampede:cjs-body:` specifier), so its bytecode is compiled
//! once and shared by every VU like any module's, and stack traces name the
//! file.
//!
//! - `require()` of a CommonJS file runs it once and returns
//!   `module.exports`; of an ES module, its namespace.
//! - An ES module importing a CommonJS file gets a generated ES module in
//!   its place (named `stampede:cjs:` and the file): `default` is `module.exports`, and each name some importer
//!   asks for is that property of it (a missing one is `undefined`, as in
//!   k6). QuickJS needs a module's export names before anything runs, so
//!   before the first user module is compiled the import graph is scanned
//!   (oxc, no evaluation) for the names every ES module imports from every
//!   other; the CommonJS file itself still runs when its importer's imports
//!   are evaluated, in k6's order. For `import * as ns`, the names the
//!   file visibly assigns (`exports.x =`, `module.exports.x =`,
//!   `module.exports = { x }`, `Object.defineProperty(exports, 'x', …)`, as
//!   Node's cjs-module-lexer finds them) are exported too.
//! - A CommonJS entry script's `module.exports` is the test's exports
//!   (`options`, `default`, `setup`…).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, AssignmentExpression, CallExpression, Expression, ObjectPropertyKind,
};
use oxc_ast_visit::{walk, Visit};
use oxc_parser::{ParseOptions, Parser};
use oxc_span::SourceType;
use oxc_syntax::module_record::{ExportImportName, ImportImportName};
use rquickjs::{Ctx, Function, Module, Object, Promise, Value};

use crate::error::throw_full;
use crate::program::{is_user_module, resolve, Program, Specifier};
use crate::state::vu_state;

/// Prefix of the name of a CommonJS file's ES facade (what importers of the
/// file get): `stampede:cjs:/abs/file.js`.
pub(crate) const FACADE_PREFIX: &str = "stampede:cjs:";

/// Prefix of the specifier that loads a CommonJS file's body, the module
/// named by the file's own name whose default export is the wrapper
/// function (so its bytecode is compiled once and shared by every VU).
pub(crate) const BODY_PREFIX: &str = "stampede:cjs-body:";

/// A user module's JavaScript (types stripped) and its kind.
#[derive(Debug)]
pub(crate) struct Analysis {
    /// The module is CommonJS.
    pub(crate) commonjs: bool,
    /// Its JavaScript, ready to compile.
    pub(crate) source: Arc<str>,
    /// Specifiers it imports from, with the names it imports (`*` for a
    /// namespace or `export *`).
    imports: Vec<(String, Vec<String>)>,
    /// For CommonJS: the export names its code visibly assigns.
    assigned: BTreeSet<String>,
}

/// What the program learned about its user modules.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    analyses: Mutex<HashMap<String, Result<Arc<Analysis>, String>>>,
    /// Names some ES module imports from module (key), by resolved name.
    requested: Mutex<HashMap<String, BTreeSet<String>>>,
    /// Modules whose imports were scanned (with everything they import).
    scanned: Mutex<std::collections::HashSet<String>>,
}

impl Graph {
    /// The names ES modules import from module `name`.
    fn requested(&self, name: &str) -> BTreeSet<String> {
        self.requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
            .unwrap_or_default()
    }
}

/// Reads and analyses user module `name` once. Errors are messages: a file
/// that cannot be read, or TypeScript that does not parse (prefixed
/// `SyntaxError:` for the caller to throw as one).
pub(crate) fn analysis(program: &Program, name: &str) -> Result<Arc<Analysis>, String> {
    if let Some(a) = program
        .graph()
        .analyses
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(name)
    {
        return a.clone();
    }
    let result = analyse(program, name);
    program
        .graph()
        .analyses
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(name.to_string())
        .or_insert(result)
        .clone()
}

fn analyse(program: &Program, name: &str) -> Result<Arc<Analysis>, String> {
    let source = program.module_source(name)?;
    let source = crate::modules::strip_shebang(&source);
    let source = if name.ends_with(".ts") {
        crate::typescript::strip_types(&source, name).map_err(|m| format!("SyntaxError: {m}"))?
    } else {
        source
    };
    let c = classify(&source);
    Ok(Arc::new(Analysis {
        commonjs: c.commonjs,
        source: source.into(),
        imports: c.imports,
        assigned: c.assigned,
    }))
}

/// What parsing a module's source tells.
#[derive(Debug, Default)]
struct Classified {
    commonjs: bool,
    imports: Vec<(String, Vec<String>)>,
    assigned: BTreeSet<String>,
}

/// Whether `source` is CommonJS, the imports of an ES module, the names a
/// CommonJS module assigns.
fn classify(source: &str) -> Classified {
    let allocator = Allocator::default();
    let ret = Parser::new(&allocator, source, SourceType::mjs()).parse();
    if !ret.diagnostics.is_empty() || ret.panicked {
        // Not a valid module: CommonJS if it is a valid function body
        // (top-level `return`), else an ES module whose syntax error
        // QuickJS reports.
        let allocator = Allocator::default();
        let script = Parser::new(&allocator, source, SourceType::cjs())
            .with_options(ParseOptions {
                allow_return_outside_function: true,
                ..ParseOptions::default()
            })
            .parse();
        let commonjs = script.diagnostics.is_empty() && !script.panicked;
        let mut lexer = AssignedExports::default();
        if commonjs {
            lexer.visit_program(&script.program);
        }
        return Classified {
            commonjs,
            assigned: lexer.names,
            ..Classified::default()
        };
    }
    let record = &ret.module_record;
    if !record.has_module_syntax {
        let mut lexer = AssignedExports::default();
        lexer.visit_program(&ret.program);
        return Classified {
            commonjs: true,
            assigned: lexer.names,
            ..Classified::default()
        };
    }
    let mut imports: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |spec: &str, name: String| match imports.iter_mut().find(|(s, _)| s == spec) {
        Some((_, names)) => names.push(name),
        None => imports.push((spec.to_string(), vec![name])),
    };
    for e in record.import_entries.iter() {
        let name = match &e.import_name {
            ImportImportName::Name(n) => n.name.to_string(),
            ImportImportName::NamespaceObject => "*".into(),
            ImportImportName::Default(_) => "default".into(),
        };
        add(e.module_request.name.as_str(), name);
    }
    let reexports = record
        .indirect_export_entries
        .iter()
        .chain(record.star_export_entries.iter());
    for e in reexports {
        let Some(req) = &e.module_request else {
            continue;
        };
        let name = match &e.import_name {
            ExportImportName::Name(n) => n.name.to_string(),
            _ => "*".into(),
        };
        add(req.name.as_str(), name);
    }
    for spec in record.requested_modules.keys() {
        if !imports.iter().any(|(s, _)| s == spec.as_str()) {
            imports.push((spec.to_string(), Vec::new()));
        }
    }
    Classified {
        commonjs: false,
        imports,
        assigned: BTreeSet::new(),
    }
}

/// The export names a CommonJS file visibly assigns.
#[derive(Default)]
struct AssignedExports {
    names: BTreeSet<String>,
}

fn is_exports(e: &Expression<'_>) -> bool {
    e.is_specific_id("exports") || e.is_specific_member_access("module", "exports")
}

impl<'a> Visit<'a> for AssignedExports {
    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        if let Some(m) = it.left.as_member_expression() {
            if is_exports(m.object()) {
                if let Some(p) = m.static_property_name() {
                    self.names.insert(p.to_string());
                }
            }
            if m.is_specific_member_access("module", "exports") {
                if let Expression::ObjectExpression(o) = it.right.get_inner_expression() {
                    for p in &o.properties {
                        if let ObjectPropertyKind::ObjectProperty(p) = p {
                            if let Some(n) = p.key.static_name() {
                                self.names.insert(n.to_string());
                            }
                        }
                    }
                }
            }
        }
        walk::walk_assignment_expression(self, it);
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if it
            .callee
            .is_specific_member_access("Object", "defineProperty")
        {
            if let (Some(target), Some(Argument::StringLiteral(name))) = (
                it.arguments.first().and_then(|a| a.as_expression()),
                it.arguments.get(1),
            ) {
                if is_exports(target) {
                    self.names.insert(name.value.to_string());
                }
            }
        }
        walk::walk_call_expression(self, it);
    }
}

/// Scans the import graph from user module `root` (once per module),
/// recording the names each ES module imports from each other module.
/// Unreadable or invalid modules are skipped: loading them reports why.
pub(crate) fn scan(program: &Program, root: &str) {
    let mut queue = VecDeque::from([root.to_string()]);
    while let Some(name) = queue.pop_front() {
        let fresh = program
            .graph()
            .scanned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone());
        if !fresh {
            continue;
        }
        let Ok(a) = analysis(program, &name) else {
            continue;
        };
        for (spec, names) in &a.imports {
            let Ok(Specifier::File(target)) = resolve(&name, spec) else {
                continue;
            };
            if !names.is_empty() {
                program
                    .graph()
                    .requested
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(target.clone())
                    .or_default()
                    .extend(names.iter().cloned());
            }
            if is_user_module(&target) {
                queue.push_back(target);
            }
        }
    }
}

/// The module holding CommonJS file `name`'s code: its default export is
/// the function `run` calls with `module`, `exports` and `require`.
pub(crate) fn body_source(a: &Analysis) -> String {
    format!(
        // In an array so the function stays anonymous in stack traces.
        "export default [function (module, exports, require) {{{}\n}}][0];",
        a.source
    )
}

/// The ES module standing for CommonJS module `name`: it runs the file
/// when evaluated and exports `module.exports` as `default` and the
/// properties importers ask for.
pub(crate) fn facade_source(program: &Program, name: &str) -> String {
    let quoted = serde_json::to_string(name).expect("strings serialize");
    // Compiled ES modules (Babel, TypeScript) mark their exports with
    // `__esModule`: their default export is `exports.default`, as in k6.
    let mut out = format!(
        "const __m = __stampede_cjs({quoted});\n\
         export default __m != null && __m.__esModule ? __m.default : __m;\n"
    );
    let mut names = program.graph().requested(name);
    if let Ok(a) = analysis(program, name) {
        names.extend(a.assigned.iter().cloned());
    }
    for (i, n) in names
        .iter()
        .filter(|n| !matches!(n.as_str(), "default" | "*" | "__esModule") && is_identifier_name(n))
        .enumerate()
    {
        out.push_str(&format!(
            "const __e{i} = __m == null ? undefined : __m.{n};\nexport {{ __e{i} as {n} }};\n"
        ));
    }
    out
}

fn is_identifier_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c == '$' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c == '$' || c.is_alphanumeric())
}

/// The cache of required modules (`module` objects and ES namespaces), a
/// global of the VU so it lives and dies with its context.
fn cache<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let g = ctx.globals();
    if let Some(c) = g.get::<_, Option<Object>>("__stampede_required")? {
        return Ok(c);
    }
    let c = Object::new(ctx.clone())?;
    g.set("__stampede_required", c.clone())?;
    Ok(c)
}

/// Runs CommonJS module `name` once per VU and returns its `module.exports`
/// (the cached, possibly partial, exports on a cyclic `require`).
pub(crate) fn run<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Value<'js>> {
    let cache = cache(ctx)?;
    let key = format!("cjs:{name}");
    if let Some(module) = cache.get::<_, Option<Object>>(key.as_str())? {
        return module.get("exports");
    }
    // The body is a module (strict, as k6 runs CommonJS) whose default
    // export is the wrapper function.
    let promise: Promise = Module::import(ctx, format!("{BODY_PREFIX}{name}"))?;
    let ns = crate::vu::settle_value(ctx, promise.into_value())?;
    let f: Function = match ns.into_object() {
        Some(ns) => ns.get("default")?,
        None => {
            return Err(throw(
                ctx,
                &format!("{name}: the CommonJS wrapper did not load"),
            ))
        }
    };
    let module = Object::new(ctx.clone())?;
    let exports = Object::new(ctx.clone())?;
    module.set("exports", exports.clone())?;
    module.set("id", name)?;
    cache.set(key.as_str(), module.clone())?;
    let require: Value = ctx.globals().get("require")?;
    let call = f.call::<_, ()>((
        rquickjs::function::This(exports.clone()),
        module.clone(),
        exports,
        require,
    ));
    if let Err(e) = call {
        let _ = cache.remove(key.as_str());
        return Err(e);
    }
    module.get("exports")
}

/// Throws an [`analysis`] error: a `SyntaxError` or a `ReferenceError`.
pub(crate) fn throw(ctx: &Ctx<'_>, msg: &str) -> rquickjs::Error {
    match msg.strip_prefix("SyntaxError: ") {
        Some(m) => throw_full(ctx, "SyntaxError", m),
        None => throw_full(ctx, "ReferenceError", msg),
    }
}

/// `require(name)`: built-in modules, ES modules (their namespace) and
/// CommonJS files (their `module.exports`), relative to the calling module.
pub(crate) fn require<'js>(ctx: Ctx<'js>, name: String) -> rquickjs::Result<Value<'js>> {
    let base = crate::vu::calling_module(&ctx);
    let spec = resolve(&base, &name).map_err(|m| throw_full(&ctx, "ReferenceError", &m))?;
    let key = match &spec {
        Specifier::Builtin(n) | Specifier::File(n) => n.clone(),
    };
    if let Specifier::File(path) = &spec {
        let program = vu_state(&ctx).test.program.clone();
        program
            .check_module(path, &name)
            .map_err(|m| throw_full(&ctx, "ReferenceError", &m))?;
        let a = analysis(&program, path).map_err(|m| throw(&ctx, &m))?;
        if a.commonjs {
            return run(&ctx, path);
        }
        scan(&program, path);
    }
    let cache = cache(&ctx)?;
    if let Some(v) = cache.get::<_, Option<Value>>(key.as_str())? {
        return Ok(v);
    }
    let promise: Promise = Module::import(&ctx, key.as_str())?;
    let ns: Value = crate::vu::settle_value(&ctx, promise.into_value())?;
    cache.set(key.as_str(), ns.clone())?;
    Ok(ns)
}

/// `__stampede_cjs(name)`: what a CommonJS module's ES facade calls.
fn run_by_name<'js>(ctx: Ctx<'js>, name: String) -> rquickjs::Result<Value<'js>> {
    run(&ctx, &name)
}

/// Defines the globals CommonJS needs: `require` and the facade's hook.
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let g = ctx.globals();
    g.set(
        "require",
        Function::new(ctx.clone(), require)?.with_name("require")?,
    )?;
    g.set("__stampede_cjs", Function::new(ctx.clone(), run_by_name)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_commonjs_from_es_modules() {
        assert!(classify("module.exports = { a: 1 };").commonjs);
        assert!(
            classify("exports.a = 1;\nreturn;\nthrow 1;").commonjs,
            "top-level return"
        );
        assert!(classify("console.log('side effects only');").commonjs);
        let c = classify(
            "import d, { a, b as c } from './x.js';\nimport * as n from './y.js';\n\
             export { z } from './x.js';\nexport * from './w.js';\nimport './side.js';",
        );
        assert!(!c.commonjs);
        let find = |s: &str| {
            c.imports
                .iter()
                .find(|(spec, _)| spec == s)
                .map(|(_, n)| n.clone())
        };
        assert_eq!(find("./x.js").unwrap(), ["default", "a", "b", "z"]);
        assert_eq!(find("./y.js").unwrap(), ["*"]);
        assert_eq!(find("./w.js").unwrap(), ["*"]);
        assert_eq!(find("./side.js").unwrap(), Vec::<String>::new());
        assert!(
            !classify("export const x = ;").commonjs,
            "an ES module with a syntax error"
        );
    }

    #[test]
    fn finds_the_names_commonjs_assigns() {
        let c = classify(
            "exports.a = 1; module.exports.b = 2; exports['c'] = 3;\n\
             Object.defineProperty(exports, 'd', { value: 4 });\n\
             if (x) { module.exports = { e: 5, 'f': 6, [g]: 7 }; }\nfoo.h = 8;\nreturn;",
        );
        assert!(c.commonjs);
        assert_eq!(
            c.assigned.into_iter().collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e", "f"]
        );
    }

    #[test]
    fn identifier_names() {
        assert!(is_identifier_name("textSummary") && is_identifier_name("$_a1"));
        assert!(!is_identifier_name("a-b") && !is_identifier_name("1a") && !is_identifier_name(""));
    }
}
