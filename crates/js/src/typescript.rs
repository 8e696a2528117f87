//! TypeScript test files: types are stripped at load time, as k6 v1 does
//! (with esbuild there).
//!
//! oxc parses the file; every TypeScript-only piece of syntax (annotations,
//! interfaces, `as`, `!`, modifiers, type-only imports...) is then replaced
//! by spaces in place, so the JavaScript that QuickJS runs has the lines and
//! columns of the source and stack traces point at the `.ts` file without a
//! source map. The few constructs that generate code are rewritten on their
//! own lines: enums become the usual object-building function and
//! constructor parameter properties become assignments at the start of the
//! constructor. Imports used only as types are dropped, as TypeScript and
//! esbuild do (`import { Options } from 'k6/options'` names no runtime
//! module). Namespaces (other than `declare`d ones) are refused.

use std::collections::HashSet;

use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_ast_visit::{walk, Visit};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};
use oxc_syntax::scope::ScopeFlags;

/// TypeScript-only modifiers that may precede a class member or parameter.
const MODIFIERS: &[&str] = &[
    "public",
    "private",
    "protected",
    "readonly",
    "override",
    "abstract",
    "declare",
];

/// Returns `source` (the TypeScript file `filename`) as JavaScript with the
/// same line and column for every token it keeps.
pub(crate) fn strip_types(source: &str, filename: &str) -> Result<String, String> {
    let allocator = Allocator::default();
    let ret = Parser::new(&allocator, source, SourceType::ts().with_module(true)).parse();
    if let Some(d) = ret.diagnostics.iter().next() {
        let at = d.labels.first().map_or(0, |l| l.offset() as usize);
        let (line, col) = line_col(source, at);
        return Err(format!(
            "{filename}:{line}:{col}: SyntaxError: {}",
            d.message
        ));
    }
    let mut s = Stripper {
        src: source,
        edits: Vec::new(),
        value_refs: HashSet::new(),
        imports: Vec::new(),
        type_names: HashSet::new(),
        local_exports: Vec::new(),
        error: None,
    };
    s.visit_program(&ret.program);
    if let Some((at, msg)) = s.error {
        let (line, col) = line_col(source, at);
        return Err(format!("{filename}:{line}:{col}: {msg}"));
    }
    s.finish_imports();
    Ok(s.apply())
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// An import binding that may be dropped when only types use it.
struct ImportInfo {
    decl: Span,
    /// Each binding: its span, local name, and whether it is type-only.
    bindings: Vec<(Span, String, bool)>,
}

struct Stripper<'s> {
    src: &'s str,
    /// `(start, end, replacement)`: `None` blanks the range.
    edits: Vec<(u32, u32, Option<String>)>,
    value_refs: HashSet<String>,
    imports: Vec<ImportInfo>,
    /// Names of interfaces and type aliases declared in this file.
    type_names: HashSet<String>,
    /// `export { x }` specifiers: span and local name.
    local_exports: Vec<(Span, String)>,
    error: Option<(usize, String)>,
}

impl<'s> Stripper<'s> {
    fn blank(&mut self, span: Span) {
        if span.start < span.end {
            self.edits.push((span.start, span.end, None));
        }
    }

    fn blank_range(&mut self, start: u32, end: u32) {
        self.blank(Span::new(start, end));
    }

    fn insert(&mut self, at: u32, text: String) {
        self.edits.push((at, at, Some(text)));
    }

    fn replace(&mut self, span: Span, text: String) {
        self.edits.push((span.start, span.end, Some(text)));
    }

    fn refuse(&mut self, at: u32, msg: &str) {
        if self.error.is_none() {
            self.error = Some((at as usize, msg.to_string()));
        }
    }

    /// Blanks a span and the comma that follows it.
    fn blank_with_comma(&mut self, span: Span) {
        let rest = &self.src[span.end as usize..];
        let skip = rest.len() - rest.trim_start().len();
        let mut end = span.end;
        if rest.trim_start().starts_with(',') {
            end += skip as u32 + 1;
        }
        self.blank_range(span.start, end);
    }

    /// Blanks the TypeScript modifier keywords in `start..end`.
    fn blank_modifiers(&mut self, start: u32, end: u32) {
        let text = &self.src[start as usize..end as usize];
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let word_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            if word_len == 0 {
                i += rest.chars().next().map_or(1, char::len_utf8);
                continue;
            }
            if MODIFIERS.contains(&&rest[..word_len]) {
                let s = start + i as u32;
                self.blank_range(s, s + word_len as u32);
            }
            i += word_len;
        }
    }

    /// Blanks a `?` or `!` right after `pos` (optional and definite marks).
    fn blank_mark_after(&mut self, pos: u32) {
        let rest = &self.src[pos as usize..];
        let skip = rest.len() - rest.trim_start_matches([' ', '\t', ']']).len();
        if let Some(c @ ('?' | '!')) = rest[skip..].chars().next() {
            let _ = c;
            let at = pos + skip as u32;
            self.blank_range(at, at + 1);
        }
    }

    /// Blanks a whole statement, including an `export` before it.
    fn blank_statement(&mut self, span: Span) {
        self.blank(span);
    }

    fn is_type_only_declaration(decl: &Declaration<'_>) -> bool {
        match decl {
            Declaration::TSTypeAliasDeclaration(_) | Declaration::TSInterfaceDeclaration(_) => true,
            Declaration::VariableDeclaration(v) => v.declare,
            Declaration::FunctionDeclaration(f) => f.declare || f.body.is_none(),
            Declaration::ClassDeclaration(c) => c.declare,
            Declaration::TSEnumDeclaration(e) => e.declare,
            Declaration::TSNamespaceDeclaration(n) => n.declare,
            Declaration::TSExternalModuleDeclaration(m) => m.declare,
            Declaration::TSGlobalDeclaration(g) => g.declare,
            Declaration::TSImportEqualsDeclaration(i) => i.import_kind.is_type(),
        }
    }

    fn record_type_name(&mut self, decl: &Declaration<'_>) {
        match decl {
            Declaration::TSTypeAliasDeclaration(t) => {
                self.type_names.insert(t.id.name.to_string());
            }
            Declaration::TSInterfaceDeclaration(i) => {
                self.type_names.insert(i.id.name.to_string());
            }
            _ => {}
        }
    }

    /// Rewrites `enum E { A, B = 5 }` in place as
    /// `var E; (function (E) { E[E["A"] = 0] = "A"; ... })(E || (E = {}));`.
    fn rewrite_enum(&mut self, e: &TSEnumDeclaration<'_>) {
        let name = e.id.name.as_str();
        let header_end = e.body.span.start + 1; // past `{`
        let header_start = e.span.start;
        let mut locals = Vec::new();
        for m in &e.body.members {
            if let TSEnumMemberName::Identifier(id) = &m.id {
                locals.push(id.name.to_string());
            }
        }
        let decl = format!("var {name}; (function ({name}) {{");
        let decl = if locals.is_empty() {
            decl
        } else {
            format!("{decl} var {};", locals.join(", "))
        };
        self.replace(Span::new(header_start, header_end), decl);
        // Auto-incremented values: the previous numeric value, or an
        // expression over the previous member.
        let mut prev: Option<(String, Option<f64>)> = None;
        for m in &e.body.members {
            let key = match &m.id {
                TSEnumMemberName::Identifier(id) => id.name.to_string(),
                TSEnumMemberName::String(s) | TSEnumMemberName::ComputedString(s) => {
                    s.value.to_string()
                }
                TSEnumMemberName::ComputedTemplateString(t) => t
                    .quasis
                    .first()
                    .map(|q| q.value.raw.to_string())
                    .unwrap_or_default(),
            };
            let local = match &m.id {
                TSEnumMemberName::Identifier(_) => format!("{key} = "),
                _ => String::new(),
            };
            let k = serde_json::to_string(&key).unwrap_or_default();
            match &m.initializer {
                Some(init) => {
                    let is_string = matches!(
                        init,
                        Expression::StringLiteral(_) | Expression::TemplateLiteral(_)
                    );
                    let value = match init {
                        Expression::NumericLiteral(n) => Some(n.value),
                        _ => None,
                    };
                    let id_span = Span::new(m.span.start, init.span().start);
                    if is_string {
                        self.replace(id_span, format!("{name}[{k}] = {local}"));
                        self.insert(init.span().end, ";".into());
                    } else {
                        self.replace(id_span, format!("{name}[{name}[{k}] = {local}"));
                        self.insert(init.span().end, format!("] = {k};"));
                    }
                    self.visit_expression(init);
                    prev = Some((key.clone(), value));
                }
                None => {
                    let value = match &prev {
                        None => Some(0.0),
                        Some((_, Some(v))) => Some(v + 1.0),
                        Some((_, None)) => None,
                    };
                    let expr = match (&value, &prev) {
                        (Some(v), _) => format!("{v}"),
                        (None, Some((p, _))) => {
                            format!(
                                "{name}[{}] + 1",
                                serde_json::to_string(p).unwrap_or_default()
                            )
                        }
                        (None, None) => "0".into(),
                    };
                    self.replace(
                        m.span,
                        format!("{name}[{name}[{k}] = {local}{expr}] = {k};"),
                    );
                    prev = Some((key.clone(), value));
                }
            }
            // The comma after the member.
            let rest = &self.src[m.span.end as usize..];
            let skip = rest.len() - rest.trim_start().len();
            if rest.trim_start().starts_with(',') {
                let at = m.span.end + skip as u32;
                self.blank_range(at, at + 1);
            }
        }
        let close = e.body.span.end - 1;
        self.replace(
            Span::new(close, e.body.span.end),
            format!("}})({name} || ({name} = {{}}));"),
        );
    }

    /// After the whole file: drops import bindings no value uses, and
    /// `export { T }` of local types.
    fn finish_imports(&mut self) {
        let imports = std::mem::take(&mut self.imports);
        for imp in imports {
            let keep: Vec<bool> = imp
                .bindings
                .iter()
                .map(|(_, name, type_only)| !type_only && self.value_refs.contains(name))
                .collect();
            if !imp.bindings.is_empty() && keep.iter().all(|k| !k) {
                self.blank_statement(imp.decl);
                continue;
            }
            for (i, (span, _, _)) in imp.bindings.iter().enumerate() {
                if !keep[i] {
                    self.blank_with_comma(*span);
                }
            }
        }
        let exports = std::mem::take(&mut self.local_exports);
        for (span, name) in exports {
            if self.type_names.contains(&name) && !self.value_refs.contains(&name) {
                self.blank_with_comma(span);
            }
        }
    }

    fn apply(mut self) -> String {
        self.edits.sort_by_key(|e| (e.0, e.1));
        let src = self.src;
        let mut out = String::with_capacity(src.len() + 64);
        let mut cursor = 0usize;
        for (start, end, text) in self.edits {
            let (start, end) = (start as usize, end as usize);
            if start < cursor {
                // Nested in something already blanked: only insertions at
                // the cursor still apply.
                if let Some(t) = text.filter(|_| start == end && start == cursor) {
                    out.push_str(&t);
                }
                continue;
            }
            out.push_str(&src[cursor..start]);
            match text {
                Some(t) => {
                    out.push_str(&t);
                    // Keep the replaced text's line breaks.
                    for c in src[start..end].chars() {
                        if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                            out.push(c);
                        }
                    }
                }
                None => {
                    for c in src[start..end].chars() {
                        out.push(if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
                            c
                        } else {
                            ' '
                        });
                    }
                }
            }
            cursor = end;
        }
        out.push_str(&src[cursor..]);
        out
    }
}

impl<'a> Visit<'a> for Stripper<'_> {
    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        self.value_refs.insert(it.name.to_string());
    }

    // --- types: blanked, never walked -------------------------------------
    fn visit_ts_type_annotation(&mut self, it: &TSTypeAnnotation<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_type_parameter_declaration(&mut self, it: &TSTypeParameterDeclaration<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_type_parameter_instantiation(&mut self, it: &TSTypeParameterInstantiation<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_class_implements(&mut self, _it: &TSClassImplements<'a>) {
        // Blanked with the `implements` clause (see `visit_class`); the
        // names there are types, not values an export could keep.
    }
    fn visit_ts_this_parameter(&mut self, it: &TSThisParameter<'a>) {
        self.blank_with_comma(it.span);
    }
    fn visit_ts_interface_declaration(&mut self, it: &TSInterfaceDeclaration<'a>) {
        self.type_names.insert(it.id.name.to_string());
        self.blank(it.span);
    }
    fn visit_ts_type_alias_declaration(&mut self, it: &TSTypeAliasDeclaration<'a>) {
        self.type_names.insert(it.id.name.to_string());
        self.blank(it.span);
    }
    fn visit_ts_index_signature(&mut self, it: &TSIndexSignature<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_namespace_export_declaration(&mut self, it: &TSNamespaceExportDeclaration<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_export_assignment(&mut self, it: &TSExportAssignment<'a>) {
        self.refuse(
            it.span.start,
            "`export =` is not supported in ES modules; use `export default`",
        );
    }
    fn visit_ts_import_equals_declaration(&mut self, it: &TSImportEqualsDeclaration<'a>) {
        if it.import_kind.is_type() {
            self.blank(it.span);
        } else {
            self.refuse(
                it.span.start,
                "`import x = require(...)` is not supported; use an `import` declaration",
            );
        }
    }
    fn visit_ts_namespace_declaration(&mut self, it: &TSNamespaceDeclaration<'a>) {
        if it.declare {
            self.blank(it.span);
        } else {
            self.refuse(
                it.span.start,
                "TypeScript namespaces are not supported; use ES modules",
            );
        }
    }
    fn visit_ts_external_module_declaration(&mut self, it: &TSExternalModuleDeclaration<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_global_declaration(&mut self, it: &TSGlobalDeclaration<'a>) {
        self.blank(it.span);
    }
    fn visit_ts_enum_declaration(&mut self, it: &TSEnumDeclaration<'a>) {
        if it.declare {
            self.blank(it.span);
        } else {
            self.rewrite_enum(it);
        }
    }

    // --- expressions ------------------------------------------------------
    fn visit_ts_as_expression(&mut self, it: &TSAsExpression<'a>) {
        self.blank_range(it.expression.span().end, it.span.end);
        self.visit_expression(&it.expression);
    }
    fn visit_ts_satisfies_expression(&mut self, it: &TSSatisfiesExpression<'a>) {
        self.blank_range(it.expression.span().end, it.span.end);
        self.visit_expression(&it.expression);
    }
    fn visit_ts_non_null_expression(&mut self, it: &TSNonNullExpression<'a>) {
        self.blank_range(it.expression.span().end, it.span.end);
        self.visit_expression(&it.expression);
    }
    fn visit_ts_type_assertion(&mut self, it: &TSTypeAssertion<'a>) {
        self.blank_range(it.span.start, it.expression.span().start);
        self.visit_expression(&it.expression);
    }

    // --- declarations and statements ---------------------------------------
    fn visit_variable_declaration(&mut self, it: &VariableDeclaration<'a>) {
        if it.declare {
            self.blank(it.span);
            return;
        }
        walk::walk_variable_declaration(self, it);
    }
    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if it.definite {
            self.blank_mark_after(it.id.span().end);
        }
        walk::walk_variable_declarator(self, it);
    }
    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        if it.declare || it.body.is_none() {
            self.blank(it.span);
            return;
        }
        walk::walk_function(self, it, flags);
    }
    fn visit_formal_parameter(&mut self, it: &FormalParameter<'a>) {
        if it.optional {
            self.blank_mark_after(it.pattern.span().end);
        }
        if it.accessibility.is_some() || it.readonly || it.r#override {
            self.blank_modifiers(it.span.start, it.pattern.span().start);
        }
        walk::walk_formal_parameter(self, it);
    }
    fn visit_class(&mut self, it: &Class<'a>) {
        if it.declare {
            self.blank(it.span);
            return;
        }
        if it.r#abstract && self.src[it.span.start as usize..].starts_with("abstract") {
            self.blank_range(it.span.start, it.span.start + "abstract".len() as u32);
        }
        if let (Some(first), Some(last)) = (it.implements.first(), it.implements.last()) {
            let before = &self.src[..first.span.start as usize];
            if let Some(k) = before.rfind("implements") {
                self.blank_range(k as u32, last.span.end);
            }
        }
        walk::walk_class(self, it);
    }
    fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
        if it.r#type == MethodDefinitionType::TSAbstractMethodDefinition || it.value.body.is_none()
        {
            self.blank(it.span);
            return;
        }
        let start = it.decorators.last().map_or(it.span.start, |d| d.span.end);
        self.blank_modifiers(start, it.key.span().start);
        if it.optional {
            self.blank_mark_after(it.key.span().end);
        }
        if it.kind == MethodDefinitionKind::Constructor {
            self.parameter_properties(&it.value);
        }
        walk::walk_method_definition(self, it);
    }
    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        if it.declare || it.r#type == PropertyDefinitionType::TSAbstractPropertyDefinition {
            self.blank(it.span);
            return;
        }
        let start = it.decorators.last().map_or(it.span.start, |d| d.span.end);
        self.blank_modifiers(start, it.key.span().start);
        if it.optional || it.definite {
            self.blank_mark_after(it.key.span().end);
        }
        walk::walk_property_definition(self, it);
    }
    fn visit_accessor_property(&mut self, it: &AccessorProperty<'a>) {
        let start = it.decorators.last().map_or(it.span.start, |d| d.span.end);
        self.blank_modifiers(start, it.key.span().start);
        if it.definite {
            self.blank_mark_after(it.key.span().end);
        }
        walk::walk_accessor_property(self, it);
    }

    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        if it.import_kind.is_type() {
            self.blank(it.span);
            return;
        }
        let Some(specifiers) = &it.specifiers else {
            return;
        };
        let mut bindings = Vec::new();
        for s in specifiers {
            match s {
                ImportDeclarationSpecifier::ImportSpecifier(s) => {
                    bindings.push((s.span, s.local.name.to_string(), s.import_kind.is_type()))
                }
                ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                    bindings.push((s.span, s.local.name.to_string(), false))
                }
                ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                    bindings.push((s.span, s.local.name.to_string(), false))
                }
            }
        }
        self.imports.push(ImportInfo {
            decl: it.span,
            bindings,
        });
    }
    fn visit_export_named_declaration(&mut self, it: &ExportNamedDeclaration<'a>) {
        if it.export_kind.is_type() {
            self.blank(it.span);
            return;
        }
        for s in &it.specifiers {
            if s.export_kind.is_type() {
                self.blank_with_comma(s.span);
            } else if let ModuleExportName::IdentifierReference(r) = &s.local {
                self.local_exports.push((s.span, r.name.to_string()));
            }
        }
    }
    fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
        if it.export_kind.is_type() {
            self.blank(it.span);
            return;
        }
        for s in &it.specifiers {
            if s.export_kind.is_type() {
                self.blank_with_comma(s.span);
            }
        }
    }
    fn visit_export_all_declaration(&mut self, it: &ExportAllDeclaration<'a>) {
        if it.export_kind.is_type() {
            self.blank(it.span);
        }
    }
    fn visit_export_declaration(&mut self, it: &ExportDeclaration<'a>) {
        self.record_type_name(&it.declaration);
        if Self::is_type_only_declaration(&it.declaration) {
            self.blank(it.span);
            return;
        }
        walk::walk_export_declaration(self, it);
    }
    fn visit_export_default_declaration(&mut self, it: &ExportDefaultDeclaration<'a>) {
        match &it.declaration {
            ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => self.blank(it.span),
            ExportDefaultDeclarationKind::FunctionDeclaration(f) if f.body.is_none() => {
                self.blank(it.span)
            }
            _ => walk::walk_export_default_declaration(self, it),
        }
    }
}

impl Stripper<'_> {
    /// `constructor(private x: T)`: assigns `this.x = x;` at the start of the
    /// body (after `super(...)` when there is one), on the same line.
    fn parameter_properties(&mut self, f: &Function<'_>) {
        let names: Vec<String> = f
            .params
            .items
            .iter()
            .filter(|p| p.accessibility.is_some() || p.readonly || p.r#override)
            .filter_map(|p| match &p.pattern {
                BindingPattern::BindingIdentifier(id) => Some(id.name.to_string()),
                BindingPattern::AssignmentPattern(a) => match &a.left {
                    BindingPattern::BindingIdentifier(id) => Some(id.name.to_string()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return;
        }
        let Some(body) = &f.body else { return };
        let text: String = names.iter().map(|n| format!(" this.{n} = {n};")).collect();
        let super_call = body.statements.iter().find(|s| {
            matches!(s, Statement::ExpressionStatement(e)
                if matches!(&e.expression, Expression::CallExpression(c) if matches!(c.callee, Expression::Super(_))))
        });
        let at = match super_call {
            Some(s) => s.span().end,
            None => body.span.start + 1,
        };
        self.insert(at, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(ts: &str) -> String {
        strip_types(ts, "t.ts").unwrap()
    }

    #[test]
    fn keeps_lines_and_columns() {
        let ts = "const x: number = 1;\nfunction f<T>(a: T, b?: string): T {\n  return a as T;\n}\nlet y = x!;\n";
        let js = strip(ts);
        assert_eq!(js.lines().count(), ts.lines().count());
        for (a, b) in ts.lines().zip(js.lines()) {
            assert_eq!(a.len(), b.len(), "{a:?} / {b:?}");
        }
        assert!(js.contains("const x         = 1;"), "{js}");
        assert!(js.contains("return a     ;"), "{js}");
        assert!(!js.contains('?') && !js.contains('!'), "{js}");
    }

    #[test]
    fn drops_type_declarations_and_type_only_imports() {
        let js = strip(
            "import { Options } from 'k6/options';\nimport http, { type RefinedResponse } from 'k6/http';\n\
             import type { X } from './x.ts';\nexport interface P { a: number }\nexport type Q = string;\n\
             declare const g: any;\nexport const options: Options = {};\nexport default function () { http.get('u'); }\n",
        );
        assert!(!js.contains("k6/options"), "{js}");
        assert!(js.contains("import http,"), "{js}");
        assert!(
            !js.contains("RefinedResponse") && !js.contains("interface") && !js.contains("declare"),
            "{js}"
        );
        assert!(!js.contains("./x.ts"), "{js}");
    }

    #[test]
    fn type_names_in_export_lists_are_dropped_even_when_implemented() {
        let js = strip(
            "interface User { name: string }\ntype Pair<T> = [T, T];\n\
             class Admin implements User { name = 'a'; }\n\
             function newUser(name: string): User { return { name } satisfies User as User; }\n\
             export { User, Pair, Admin, newUser };\n",
        );
        assert!(js.contains("export {"), "{js}");
        assert!(js.contains("Admin") && js.contains("newUser"), "{js}");
        let list = &js[js.find("export {").unwrap()..];
        assert!(!list.contains("User,") && !list.contains("Pair"), "{js}");
    }

    #[test]
    fn classes_enums_and_parameter_properties() {
        let js = strip(
            "enum Color { Red, Green = 5, Blue }\nabstract class A implements I { abstract f(): void; private n: number = 0; }\n\
             class C extends A { constructor(public readonly name: string, x?: number) { super(); } m(): void {} }\n",
        );
        assert!(js.contains("var Color; (function (Color) {"), "{js}");
        assert!(
            js.contains("Color[Color[\"Blue\"] = Blue = 6] = \"Blue\";"),
            "{js}"
        );
        assert!(
            !js.contains("abstract") && !js.contains("implements") && !js.contains("private"),
            "{js}"
        );
        assert!(js.contains("super(); this.name = name;"), "{js}");
        assert_eq!(js.lines().count(), 3);
    }

    #[test]
    fn syntax_errors_carry_file_line_and_column() {
        let err = strip_types("const a = 1;\nlet b: = 2;\n", "/s/t.ts").unwrap_err();
        assert!(err.starts_with("/s/t.ts:2:"), "{err}");
        let err = strip_types("namespace N { export const a = 1; }\n", "t.ts").unwrap_err();
        assert!(err.contains("namespaces are not supported"), "{err}");
    }
}
