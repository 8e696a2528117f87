//! Module resolution and loading for one VU's runtime.

use std::sync::Arc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Exception, Module, Result};

use crate::program::{resolve, Program, Specifier};

/// Resolves import specifiers (relative files, `k6/*`, jslib URLs).
pub(crate) struct ScriptResolver;

impl Resolver for ScriptResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        match resolve(base, name) {
            Ok(Specifier::Builtin(n)) | Ok(Specifier::File(n)) => Ok(n),
            Err(msg) => Err(Exception::throw_reference(ctx, &msg)),
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
        if let Some(source) = crate::modules::builtin_source(ctx, name)? {
            return Module::declare(ctx.clone(), name, source);
        }
        if !name.starts_with('/') {
            return Err(Exception::throw_reference(
                ctx,
                &format!("unknown module: {name}"),
            ));
        }
        let source = self
            .program
            .module_source(name)
            .map_err(|msg| Exception::throw_reference(ctx, &msg))?;
        let source = crate::modules::strip_shebang(&source);
        Module::declare(ctx.clone(), name, source).map_err(|e| match e {
            Error::Exception => e,
            other => Exception::throw_syntax(ctx, &format!("{name}: {other}")),
        })
    }
}
