//! Templates: text with `{{ ... }}` expressions, compiled once at load time
//! into literal and expression segments so that an iteration only copies
//! and looks up — no parsing on the hot path.
//!
//! Expressions: `name` (a variable or an extracted value), `feeder.column`,
//! `random A B` (an integer in [A, B]), `random_item list`, `uuid`,
//! `timestamp` (Unix milliseconds), `timestamp_s`, `vu`, `iteration`,
//! `env NAME [default]`.

use rand::Rng;
use serde_json::Value;

/// One `{{ ... }}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A variable or an extracted value.
    Var(String),
    /// A column of the iteration's row of a feeder.
    Field(String, String),
    /// A random integer in an inclusive range.
    Random(i64, i64),
    /// A random element of a list variable.
    RandomItem(String),
    /// A random UUID (v4).
    Uuid,
    /// Unix time in milliseconds.
    Timestamp,
    /// Unix time in seconds.
    TimestampS,
    /// The VU's number in the test.
    Vu,
    /// The iteration's number in the test.
    Iteration,
    /// An environment variable (`-e NAME=value` or the system's), with a
    /// default when unset.
    Env(String, Option<String>),
}

/// A part of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Seg {
    /// Text as written.
    Lit(String),
    /// An expression.
    Expr(Expr),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    /// Its parts.
    pub segs: Vec<Seg>,
}

/// Where values come from while rendering.
pub trait Scope {
    /// A variable or extracted value.
    fn var(&self, name: &str) -> Option<&Value>;
    /// A feeder row's column.
    fn field(&self, feeder: &str, column: &str) -> Option<&Value>;
    /// The VU's number in the test.
    fn vu(&self) -> u64;
    /// The iteration's number in the test.
    fn iteration(&self) -> u64;
    /// An environment variable.
    fn env(&self, name: &str) -> Option<&str>;
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
}

fn parse_expr(inner: &str) -> Result<Expr, String> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        [] => Err("empty expression {{}}".into()),
        ["uuid"] => Ok(Expr::Uuid),
        ["timestamp"] => Ok(Expr::Timestamp),
        ["timestamp_s"] => Ok(Expr::TimestampS),
        ["vu"] => Ok(Expr::Vu),
        ["iteration"] => Ok(Expr::Iteration),
        ["random", a, b] => {
            let lo: i64 = a
                .parse()
                .map_err(|_| format!("random: {a:?} is not an integer"))?;
            let hi: i64 = b
                .parse()
                .map_err(|_| format!("random: {b:?} is not an integer"))?;
            if lo > hi {
                return Err(format!("random: {lo} is greater than {hi}"));
            }
            Ok(Expr::Random(lo, hi))
        }
        ["env", name] if is_name(name) => Ok(Expr::Env(name.to_string(), None)),
        ["env", name, default] if is_name(name) => {
            Ok(Expr::Env(name.to_string(), Some(default.to_string())))
        }
        ["env", ..] => {
            Err("env takes a name and an optional default: {{env HOST localhost}}".into())
        }
        ["random", ..] => Err("random takes two integers: {{random 1 50}}".into()),
        ["random_item", name] if is_name(name) => Ok(Expr::RandomItem(name.to_string())),
        ["random_item", ..] => Err("random_item takes a list variable: {{random_item ids}}".into()),
        [one] => match one.split_once('.') {
            Some((f, c)) if is_name(f) && !c.is_empty() => {
                Ok(Expr::Field(f.to_string(), c.to_string()))
            }
            None if is_name(one) => Ok(Expr::Var(one.to_string())),
            _ => Err(format!("{one:?} is not a variable name")),
        },
        [first, ..] => Err(format!("unknown helper {first:?}")),
    }
}

impl Template {
    /// Compiles `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut segs = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segs.push(Seg::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("unclosed {{{{ in {text:?}"))?;
            segs.push(Seg::Expr(parse_expr(after[..close].trim())?));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            segs.push(Seg::Lit(rest.to_string()));
        }
        Ok(Self { segs })
    }

    /// The template of a text without expressions.
    pub fn literal(text: &str) -> Self {
        Self {
            segs: vec![Seg::Lit(text.to_string())],
        }
    }

    /// Whether the template has no expressions.
    pub fn is_literal(&self) -> bool {
        self.segs.iter().all(|s| matches!(s, Seg::Lit(_)))
    }

    /// Whether the template renders the same text all run long: literal
    /// text and environment variables only.
    pub fn is_fixed(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Lit(_) | Seg::Expr(Expr::Env(..))))
    }

    /// The expressions.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.segs.iter().filter_map(|s| match s {
            Seg::Expr(e) => Some(e),
            Seg::Lit(_) => None,
        })
    }

    /// Renders as text; an unset extracted value renders as nothing.
    pub fn render(&self, scope: &dyn Scope) -> String {
        if let [Seg::Lit(s)] = self.segs.as_slice() {
            return s.clone();
        }
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Lit(l) => out.push_str(l),
                Seg::Expr(e) => push_text(&mut out, &eval(e, scope)),
            }
        }
        out
    }

    /// Renders keeping the type of a lone expression (`"{{id}}"` with a
    /// numeric `id` gives a number).
    pub fn render_value(&self, scope: &dyn Scope) -> Value {
        match self.segs.as_slice() {
            [Seg::Expr(e)] => eval(e, scope),
            _ => Value::String(self.render(scope)),
        }
    }
}

fn push_text(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

fn eval(e: &Expr, scope: &dyn Scope) -> Value {
    match e {
        Expr::Var(n) => scope.var(n).cloned().unwrap_or(Value::Null),
        Expr::Field(f, c) => scope.field(f, c).cloned().unwrap_or(Value::Null),
        Expr::Random(lo, hi) => Value::from(rand::rng().random_range(*lo..=*hi)),
        Expr::RandomItem(n) => match scope.var(n) {
            Some(Value::Array(items)) if !items.is_empty() => {
                items[rand::rng().random_range(0..items.len())].clone()
            }
            _ => Value::Null,
        },
        Expr::Uuid => Value::String(uuid_v4()),
        Expr::Timestamp => Value::from(unix_nanos() / 1_000_000),
        Expr::TimestampS => Value::from(unix_nanos() / 1_000_000_000),
        Expr::Vu => Value::from(scope.vu()),
        Expr::Iteration => Value::from(scope.iteration()),
        Expr::Env(n, default) => match scope.env(n).or(default.as_deref()) {
            Some(v) => Value::String(v.to_string()),
            None => Value::Null,
        },
    }
}

fn unix_nanos() -> u64 {
    stampede_js::now_ns()
}

/// A random (version 4) UUID.
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct S(HashMap<String, Value>);
    impl Scope for S {
        fn var(&self, name: &str) -> Option<&Value> {
            self.0.get(name)
        }
        fn field(&self, f: &str, c: &str) -> Option<&Value> {
            self.0.get(&format!("{f}.{c}"))
        }
        fn vu(&self) -> u64 {
            3
        }
        fn iteration(&self) -> u64 {
            9
        }
        fn env(&self, name: &str) -> Option<&str> {
            (name == "HOST").then_some("h")
        }
    }

    fn scope() -> S {
        let mut m = HashMap::new();
        m.insert("tier".into(), Value::from("pro"));
        m.insert("id".into(), Value::from(42));
        m.insert("ids".into(), serde_json::json!([7]));
        m.insert("users.email".into(), Value::from("a@b"));
        S(m)
    }

    #[test]
    fn renders_literals_variables_fields_and_helpers() {
        let t = Template::parse("/p/{{ tier }}/{{users.email}}?v={{vu}}&i={{iteration}}").unwrap();
        assert_eq!(t.render(&scope()), "/p/pro/a@b?v=3&i=9");
        let r = Template::parse("{{random 5 5}}").unwrap();
        assert_eq!(r.render_value(&scope()), Value::from(5));
        let item = Template::parse("{{random_item ids}}").unwrap();
        assert_eq!(item.render_value(&scope()), Value::from(7));
        assert_eq!(
            Template::parse("{{id}}").unwrap().render_value(&scope()),
            Value::from(42)
        );
        assert_eq!(
            Template::parse("n{{id}}").unwrap().render_value(&scope()),
            Value::from("n42")
        );
        let u = Template::parse("{{uuid}}").unwrap().render(&scope());
        assert_eq!(u.len(), 36);
        let e = Template::parse("{{env HOST}}/{{env PORT 80}}/{{env NONE}}").unwrap();
        assert_eq!(e.render(&scope()), "h/80/");
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn only_literals_and_env_are_fixed() {
        assert!(Template::parse("http://x/a").unwrap().is_fixed());
        assert!(Template::parse("{{env TARGET}}/a/{{env P 1}}")
            .unwrap()
            .is_fixed());
        for dynamic in [
            "/{{id}}",
            "/{{users.email}}",
            "/{{random 1 2}}",
            "/{{vu}}",
            "/{{uuid}}",
        ] {
            assert!(!Template::parse(dynamic).unwrap().is_fixed(), "{dynamic}");
        }
    }

    #[test]
    fn unset_values_render_as_nothing() {
        assert_eq!(
            Template::parse("Bearer {{token}}")
                .unwrap()
                .render(&scope()),
            "Bearer "
        );
    }

    #[test]
    fn bad_expressions_are_errors() {
        assert!(Template::parse("{{tier").unwrap_err().contains("unclosed"));
        assert!(Template::parse("{{random 9 1}}").is_err());
        assert!(Template::parse("{{random a 1}}").is_err());
        assert!(Template::parse("{{shout x}}")
            .unwrap_err()
            .contains("unknown helper"));
        assert!(Template::parse("{{}}").is_err());
        assert!(Template::parse("{{1abc}}").is_err());
    }
}
