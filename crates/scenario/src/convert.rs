//! `stampede convert`: the k6 script equivalent to a compiled scenario, for
//! users who outgrow the format. It is generated from the compiled form (not
//! the text), so it does what the native VU does: the same requests in the
//! same order, the same `name` tags, the same check names (extraction
//! included), the same options. A differential test runs both against the
//! demo target, this one under real k6.
//!
//! Only k6's built-in modules are used, so the script runs offline; feeders
//! are parsed by a small CSV reader embedded in the script.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::compile::{Body, CPart, CRequest, CheckKind, Compiled, Extract, JsonT, Want};
use crate::format::Order;
use crate::template::{Expr, Seg, Template};

/// A JavaScript string literal.
fn js_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn expr(e: &Expr) -> String {
    match e {
        Expr::Var(n) => format!("val({})", js_str(n)),
        Expr::Field(f, c) => format!("rows[{}][{}]", js_str(f), js_str(c)),
        Expr::Random(a, b) => format!("rnd({a}, {b})"),
        Expr::RandomItem(n) => format!("pick(variables[{}])", js_str(n)),
        Expr::Uuid => "crypto.randomUUID()".into(),
        Expr::Timestamp => "Date.now()".into(),
        Expr::TimestampS => "Math.floor(Date.now() / 1000)".into(),
        Expr::Vu => "exec.vu.idInTest".into(),
        Expr::Iteration => "exec.scenario.iterationInTest".into(),
        Expr::Env(n, d) => match d {
            Some(d) => format!("(__ENV[{}] || {})", js_str(n), js_str(d)),
            None => format!("__ENV[{}]", js_str(n)),
        },
    }
}

/// A template as a JavaScript string expression.
fn text(t: &Template) -> String {
    if t.segs.is_empty() {
        return "''".into();
    }
    let parts: Vec<String> = t
        .segs
        .iter()
        .map(|s| match s {
            Seg::Lit(l) => js_str(l),
            Seg::Expr(e) => format!("txt({})", expr(e)),
        })
        .collect();
    parts.join(" + ")
}

/// A template as a value (a lone expression keeps its type).
fn value(t: &Template) -> String {
    match t.segs.as_slice() {
        [Seg::Expr(e)] => expr(e),
        _ => text(t),
    }
}

fn json(j: &JsonT) -> String {
    match j {
        JsonT::Lit(v) => v.to_string(),
        JsonT::Str(t) => value(t),
        JsonT::Arr(a) => format!("[{}]", a.iter().map(json).collect::<Vec<_>>().join(", ")),
        JsonT::Obj(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", js_str(k), json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn ms(d: Duration) -> String {
    format!("'{}ms'", d.as_millis())
}

fn path_js(p: &[String]) -> String {
    format!(
        "[{}]",
        p.iter().map(|s| js_str(s)).collect::<Vec<_>>().join(", ")
    )
}

/// A file path as the script should open it: relative to the scenario's
/// directory when the script goes there, else absolute.
fn file_path(c: &Compiled, rel: &str, out_dir: Option<&Path>) -> String {
    let full = c.dir.join(rel);
    let same = out_dir.is_some_and(|o| {
        o.canonicalize().ok() == c.dir.canonicalize().ok()
            || (o.as_os_str().is_empty() && c.dir.as_os_str().is_empty())
    });
    if same {
        rel.to_string()
    } else {
        std::path::absolute(&full)
            .unwrap_or(full)
            .display()
            .to_string()
    }
}

fn check_fn(k: &CheckKind) -> String {
    let want = |v: &str, w: &Want| match w {
        Want::Exists => format!("{v} !== undefined && {v} !== null"),
        Want::Equals(x) => format!("same({v}, {x})"),
    };
    match k {
        CheckKind::Status(list) => format!(
            "(r) => [{}].includes(r.status)",
            list.iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CheckKind::Json(p, w) => format!(
            "(r) => {}",
            want(&format!("dig(body(r), {})", path_js(p)), w)
        ),
        CheckKind::Header(h, w) => format!(
            "(r) => {}",
            want(&format!("r.headers[{}]", js_str(&canonical(h))), w)
        ),
        CheckKind::BodyContains(s) => format!(
            "(r) => typeof r.body === 'string' && r.body.includes({})",
            js_str(s)
        ),
        CheckKind::Duration {
            inclusive,
            limit_ms,
        } => format!(
            "(r) => r.timings.duration {} {limit_ms}",
            if *inclusive { "<=" } else { "<" }
        ),
    }
}

/// k6's canonical header name (`x-foo` → `X-Foo`).
fn canonical(h: &str) -> String {
    h.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f
                    .to_uppercase()
                    .chain(c.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<String>>()
        .join("-")
}

fn request_fn(out: &mut String, i: usize, r: &CRequest, c: &Compiled) {
    let _ = writeln!(out, "// {}", r.name);
    let _ = writeln!(out, "function req{i}() {{");
    let _ = writeln!(out, "  let url = {};", text(&r.url));
    if !r.query.is_empty() {
        let q: Vec<String> = r
            .query
            .iter()
            .map(|(k, v)| {
                format!(
                    "{} + '=' + encodeURIComponent({})",
                    js_str(&urlencode(k)),
                    text(v)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  url += (url.includes('?') ? '&' : '?') + [{}].join('&');",
            q.join(", ")
        );
    }
    let mut headers: Vec<String> = r
        .headers
        .iter()
        .map(|(k, v)| format!("{}: {}", js_str(k), text(v)))
        .collect();
    let has_ct = r
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let body = match &r.body {
        Body::None => "null".to_string(),
        Body::Json(j) => {
            if !has_ct {
                headers.push("'Content-Type': 'application/json'".into());
            }
            format!("JSON.stringify({})", json(j))
        }
        Body::Raw(t) => text(t),
        Body::File(_) => {
            let rel = c
                .file
                .requests
                .iter()
                .chain(&c.file.setup)
                .find(|s| s.name == r.name)
                .and_then(|s| s.body_file.clone())
                .unwrap_or_default();
            format!("files[{}]", js_str(&rel))
        }
        Body::Form(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", js_str(k), text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Body::Multipart(parts) => {
            let mut fields = Vec::new();
            for (k, p) in parts {
                let v = match p {
                    CPart::Field(t) => text(t),
                    CPart::File {
                        filename,
                        content_type,
                        ..
                    } => {
                        let rel = multipart_source(c, r, k).unwrap_or_default();
                        format!(
                            "http.file(files[{}], {}, {})",
                            js_str(&rel),
                            js_str(filename),
                            js_str(content_type)
                        )
                    }
                };
                fields.push(format!("{}: {v}", js_str(k)));
            }
            format!("{{{}}}", fields.join(", "))
        }
    };
    let mut tags = vec![format!("name: {}", js_str(&r.name))];
    tags.extend(
        r.tags
            .iter()
            .map(|(k, v)| format!("{}: {}", js_str(k), js_str(v))),
    );
    let mut params = vec![
        format!("headers: {{{}}}", headers.join(", ")),
        format!("tags: {{{}}}", tags.join(", ")),
        format!("timeout: {}", ms(r.timeout)),
    ];
    if let Some(n) = r.redirects {
        params.push(format!("redirects: {n}"));
    }
    let _ = writeln!(
        out,
        "  const send = () => http.request({}, url, {body}, {{ {} }});",
        js_str(r.method.as_str()),
        params.join(", ")
    );
    let _ = writeln!(out, "  let res = send();\n  let passed = true;");
    if let Some(p) = &r.retry {
        let on: Vec<String> = p.on.iter().map(u16::to_string).collect();
        let _ = writeln!(
            out,
            "  for (let n = 0; n < {} && ([{}].includes(res.status){}); n++) {{",
            p.max,
            on.join(", "),
            if p.on_error {
                " || res.status === 0"
            } else {
                ""
            }
        );
        let grow = match p.backoff {
            crate::format::Backoff::Exponential => "Math.pow(2, n)",
            crate::format::Backoff::Constant => "1",
        };
        let _ = writeln!(
            out,
            "    let d = Math.min({} * {grow}, {});",
            p.base.as_secs_f64(),
            p.max_delay.as_secs_f64()
        );
        if p.jitter {
            let _ = writeln!(out, "    d *= 0.5 + Math.random() * 0.5;");
        }
        let _ = writeln!(out, "    sleep(d);\n    res = send();\n  }}");
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "  passed = check(res, {{");
        for ch in &r.checks {
            let _ = writeln!(out, "    {}: {},", js_str(&ch.name), check_fn(&ch.kind));
        }
        let _ = writeln!(out, "  }}) && passed;");
    }
    for (var, how) in &r.extract {
        let get = match how {
            Extract::Json(p) => format!("dig(body(res), {})", path_js(p)),
            Extract::Header(h) => format!("res.headers[{}]", js_str(&canonical(h))),
            Extract::Regex(re) => format!("regex(res, {})", js_str(re.as_str())),
        };
        let _ = writeln!(out, "  {{\n    const v = {get};\n    const ok = v !== undefined && v !== null;\n    if (ok) vars[{n}] = v;\n    passed = check(res, {{ {name}: () => ok }}) && passed;\n  }}",
            n = js_str(var),
            name = js_str(&format!("{}: extract {var}", r.name)));
    }
    if let Some(t) = r.think {
        if t.max > t.min {
            let _ = writeln!(
                out,
                "  sleep({} + Math.random() * {});",
                t.min.as_secs_f64(),
                (t.max - t.min).as_secs_f64()
            );
        } else if !t.min.is_zero() {
            let _ = writeln!(out, "  sleep({});", t.min.as_secs_f64());
        }
    }
    let _ = writeln!(out, "  return passed;\n}}\n");
}

/// The file a multipart part of request `r` reads (from the file as written).
fn multipart_source(c: &Compiled, r: &CRequest, key: &str) -> Option<String> {
    let spec = c
        .file
        .requests
        .iter()
        .chain(&c.file.setup)
        .find(|s| s.name == r.name)?;
    match spec.multipart.as_ref()?.get(key)? {
        crate::format::Part::File { file, .. } => Some(file.clone()),
        crate::format::Part::Field(_) => None,
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const HELPERS: &str = r#"function txt(v) {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
function val(n) { return n in vars ? vars[n] : variables[n]; }
function rnd(a, b) { return a + Math.floor(Math.random() * (b - a + 1)); }
function pick(list) { return list[Math.floor(Math.random() * list.length)]; }
function body(r) { try { return r.json(); } catch (e) { return undefined; } }
function dig(v, path) {
  for (const k of path) {
    if (v === undefined || v === null || typeof v !== 'object') return undefined;
    v = v[Array.isArray(v) ? Number(k) : k];
  }
  return v;
}
function same(a, b) { return a === b || txt(a) === txt(b); }
function regex(r, re) {
  if (typeof r.body !== 'string') return undefined;
  const m = r.body.match(new RegExp(re));
  return m ? (m.length > 1 ? m[1] : m[0]) : undefined;
}
function parseCsv(text) {
  const recs = [];
  let rec = [], f = '', q = false;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { f += '"'; i++; }
      else if (ch === '"') q = false;
      else f += ch;
    } else if (ch === '"' && f === '') q = true;
    else if (ch === ',') { rec.push(f); f = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') {}
    else if (ch === '\n') { rec.push(f); recs.push(rec); rec = []; f = ''; }
    else f += ch;
  }
  if (f !== '' || rec.length) { rec.push(f); recs.push(rec); }
  const head = recs.shift();
  return recs.filter((r) => !(r.length === 1 && r[0] === '')).map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}
"#;

/// `http.tls_auth` as k6's `tlsAuth` (the PEM files opened in the init
/// code, as k6 users write it), and a note on `http.ca_certs`, which k6
/// takes from the environment rather than from options.
fn tls_options(out: &mut String, c: &Compiled, out_dir: Option<&Path>) {
    let h = &c.file.http;
    if !h.tls_auth.is_empty() {
        let entries: Vec<String> = h
            .tls_auth
            .iter()
            .map(|a| {
                let domains: Vec<String> = a.domains.iter().map(|d| js_str(d)).collect();
                format!(
                    "  {{ domains: [{}], cert: open({}), key: open({}) }},",
                    domains.join(", "),
                    js_str(&file_path(c, &a.cert, out_dir)),
                    js_str(&file_path(c, &a.key, out_dir))
                )
            })
            .collect();
        let _ = writeln!(out, "options.tlsAuth = [\n{}\n];", entries.join("\n"));
    }
    if !h.ca_certs.is_empty() {
        let files: Vec<String> = h
            .ca_certs
            .iter()
            .map(|f| file_path(c, f, out_dir))
            .collect();
        let _ = writeln!(
            out,
            "// http.ca_certs: k6 has no option for CA certificates; it trusts the PEM file\n\
             // named by SSL_CERT_FILE instead of the system's roots. Run it with\n\
             // SSL_CERT_FILE=<one PEM file holding {}>.",
            files.join(" and ")
        );
    }
}

/// The k6 script equivalent to `c`; file paths relative to `out_dir` when
/// the script is written next to the scenario.
pub fn k6_script(c: &Compiled, out_dir: Option<&Path>) -> String {
    let mut out = String::new();
    let title = c.file.name.as_deref().unwrap_or("scenario");
    let _ = writeln!(
        out,
        "// {title}: generated by `stampede convert` from a declarative scenario."
    );
    out.push_str("import http from 'k6/http';\nimport { check, sleep } from 'k6';\nimport exec from 'k6/execution';\nimport { SharedArray } from 'k6/data';\n\n");
    let options = serde_json::to_string_pretty(&c.options).unwrap_or_default();
    let _ = writeln!(out, "export const options = {options};");
    tls_options(&mut out, c, out_dir);
    out.push('\n');
    let vars: serde_json::Map<String, Value> = c.file.variables.clone().into_iter().collect();
    let _ = writeln!(out, "const variables = {};", Value::Object(vars));
    let _ = writeln!(
        out,
        "// Values extracted from responses, kept for the VU's life.\nconst vars = {{}};"
    );
    let _ = writeln!(out, "const feeders = {{");
    for (name, f) in &c.file.feeders {
        let (parse, rel) = match (&f.csv, &f.json) {
            (Some(p), _) => ("parseCsv", p),
            (_, Some(p)) => ("JSON.parse", p),
            _ => continue,
        };
        let order = match f.order {
            Order::Sequential => "sequential",
            Order::Random => "random",
            Order::Unique => "unique",
        };
        let _ = writeln!(
            out,
            "  {}: {{ order: '{order}', rows: new SharedArray({}, () => {parse}(open({}))) }},",
            js_str(name),
            js_str(name),
            js_str(&file_path(c, rel, out_dir))
        );
    }
    let _ = writeln!(out, "}};\nlet rows = {{}};\nlet first = true;\n");
    // Files sent as bodies or uploads, read in the init code: k6's open()
    // works only there.
    let mut sent: Vec<&String> = Vec::new();
    for spec in c.file.requests.iter().chain(&c.file.setup) {
        let parts = spec.multipart.iter().flat_map(|m| m.values());
        let uploads = parts.filter_map(|p| match p {
            crate::format::Part::File { file, .. } => Some(file),
            crate::format::Part::Field(_) => None,
        });
        for f in uploads.chain(spec.body_file.iter()) {
            if !sent.contains(&f) {
                sent.push(f);
            }
        }
    }
    let _ = writeln!(out, "const files = {{");
    for f in sent {
        let _ = writeln!(
            out,
            "  {}: open({}, 'b'),",
            js_str(f),
            js_str(&file_path(c, f, out_dir))
        );
    }
    let _ = writeln!(out, "}};\n");
    out.push_str(HELPERS);
    out.push('\n');
    for (i, r) in c.requests.iter().enumerate() {
        request_fn(&mut out, i, r, c);
    }
    if !c.setup.is_empty() {
        let _ = writeln!(out, "export function setup() {{");
        for &i in &c.setup {
            let _ = writeln!(
                out,
                "  if (!req{i}()) throw new Error({});",
                js_str(&format!(
                    "setup request {:?} failed a check or an extraction",
                    c.requests[i].name
                ))
            );
        }
        let _ = writeln!(out, "}}\n");
    }
    let _ = writeln!(out, "export default function () {{");
    let _ = writeln!(
        out,
        "  const n = exec.scenario.iterationInTest;\n  rows = {{}};"
    );
    let _ = writeln!(out, "  for (const [name, f] of Object.entries(feeders)) {{");
    let _ = writeln!(out, "    if (f.order === 'unique' && n >= f.rows.length) throw new Error(`feeder \"${{name}}\" has no rows left (order: unique)`);");
    let _ = writeln!(
        out,
        "    rows[name] = f.order === 'random' ? pick(f.rows) : f.rows[n % f.rows.length];\n  }}"
    );
    if !c.once_order.is_empty() {
        let calls: Vec<String> = c.once_order.iter().map(|i| format!("req{i}();")).collect();
        let _ = writeln!(
            out,
            "  if (first) {{\n    first = false;\n    {}\n  }}",
            calls.join("\n    ")
        );
    }
    match &c.weights {
        Some(cum) => {
            let total = cum.last().copied().unwrap_or(1);
            let _ = writeln!(out, "  const p = Math.floor(Math.random() * {total});");
            for (k, (&i, w)) in c.main.iter().zip(cum).enumerate() {
                let kw = if k == 0 { "if" } else { "else if" };
                let _ = writeln!(out, "  {kw} (p < {w}) req{i}();");
            }
        }
        None => {
            for &i in &c.main {
                let _ = writeln!(out, "  req{i}();");
            }
        }
    }
    let _ = writeln!(out, "}}");
    out
}
