//! From the file as written to what a VU runs: every template compiled,
//! every name resolved, feeders read, `once` requests ordered, checks and
//! extractions parsed, the load turned into k6 options and validated by the
//! same code that validates a script's options — all before any load, with
//! every problem reported at `file:line:col`.
//!
//! The parser reports structural errors (unknown keys, wrong types) with
//! exact positions. The problems found here concern values the typed tree no
//! longer places, so [`Locator`] finds them in the text: the offending token
//! (a `{{name}}`, a file name, a key) searched from the request it belongs
//! to. The position is that of the token as written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use stampede_config::{K6Duration, Options};

use crate::feeder::FeederData;
use crate::format::{Flow, Part, RequestSpec, Retry, ScenarioFile, Text, ThinkTime};
use crate::rules::{check, once_order, options};
use crate::template::{Expr, Template};
pub use crate::types::*;

/// A problem in a scenario file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Finds tokens in the source text.
pub struct Locator<'a> {
    src: &'a str,
    file: String,
}

impl<'a> Locator<'a> {
    /// A locator over `src`, naming `file`.
    pub fn new(src: &'a str, file: &str) -> Self {
        Self {
            src,
            file: file.to_string(),
        }
    }

    fn pos(&self, offset: usize) -> (usize, usize) {
        let before = &self.src[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map_or(offset, |n| offset - n - 1) + 1;
        (line, col)
    }

    /// The first `needle` at or after the first `anchor` (the start of the
    /// file without one); the anchor itself when the needle is not found.
    pub fn find(&self, anchor: Option<&str>, needle: &str) -> (usize, usize) {
        let from = anchor
            .and_then(|a| self.name_value(a).or_else(|| self.src.find(a)))
            .unwrap_or(0);
        if let Some(i) = self.src[from..].find(needle) {
            return self.pos(from + i);
        }
        if anchor.is_some() {
            return self.pos(from);
        }
        (1, 1)
    }

    /// Where `name: <value>` (YAML) or `"name": "<value>"` (JSON) gives
    /// `value`: a request's place.
    fn name_value(&self, value: &str) -> Option<usize> {
        self.src.match_indices(value).map(|(i, _)| i).find(|&i| {
            let line_start = self.src[..i].rfind('\n').map_or(0, |n| n + 1);
            let before: String = self.src[line_start..i]
                .chars()
                .filter(|c| !matches!(c, ' ' | '"' | '\'' | '\t'))
                .collect();
            let after = self.src[i + value.len()..].chars().next();
            (before.ends_with("name:") || before.ends_with("{name:") || before.ends_with(",name:"))
                && after
                    .is_none_or(|c| matches!(c, '\n' | '\r' | '"' | '\'' | ',' | '}' | ' ' | '#'))
        })
    }

    /// A diagnostic at `needle` (see [`Locator::find`]).
    pub fn at(&self, anchor: Option<&str>, needle: &str, message: String) -> Diagnostic {
        let (line, col) = self.find(anchor, needle);
        Diagnostic {
            file: self.file.clone(),
            line,
            col,
            message,
        }
    }
}

pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    K6Duration::parse(s)
        .map_err(|e| format!("{s:?} is not a duration: {e}"))?
        .to_std()
        .ok_or_else(|| format!("{s:?} must not be negative"))
}

pub(crate) fn path_of(p: &str) -> Vec<PathSeg> {
    p.replace('[', ".")
        .replace(']', "")
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Collects problems, each located.
pub(crate) struct Problems<'a> {
    loc: &'a Locator<'a>,
    list: Vec<Diagnostic>,
}

impl Problems<'_> {
    pub(crate) fn add(&mut self, anchor: Option<&str>, needle: &str, msg: impl Into<String>) {
        self.list.push(self.loc.at(anchor, needle, msg.into()));
    }
}

/// Reads a file the scenario names (a feeder, an upload) by its full path:
/// the disk, or a k6 archive's files.
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> std::io::Result<Vec<u8>>;

/// Compiles a parsed file; `src` is its text (for positions), `read` reads
/// the files it names.
pub fn compile(
    file: ScenarioFile,
    src: &str,
    path: &Path,
    read: ReadFile<'_>,
) -> Result<Compiled, Vec<Diagnostic>> {
    let loc = Locator::new(src, &path.display().to_string());
    let mut p = Problems {
        loc: &loc,
        list: Vec::new(),
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

    // Feeders.
    let mut feeders = BTreeMap::new();
    for (name, f) in &file.feeders {
        let anchor = Some("feeders");
        let (kind, rel) = match (&f.csv, &f.json) {
            (Some(c), None) => ("csv", c),
            (None, Some(j)) => ("json", j),
            _ => {
                p.add(
                    anchor,
                    name,
                    format!("feeder {name:?}: give exactly one of csv or json"),
                );
                continue;
            }
        };
        let full = dir.join(rel);
        let text = match read(&full).and_then(|b| {
            String::from_utf8(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        }) {
            Ok(t) => t,
            Err(e) => {
                p.add(
                    anchor,
                    rel,
                    format!("feeder {name:?}: cannot read {}: {e}", full.display()),
                );
                continue;
            }
        };
        let data = if kind == "csv" {
            FeederData::from_csv(&text, f.order)
        } else {
            FeederData::from_json(&text, f.order)
        };
        match data {
            Ok(d) => {
                feeders.insert(name.clone(), Arc::new(d));
            }
            Err(e) => p.add(
                anchor,
                rel,
                format!("feeder {name:?}: {}: {e}", full.display()),
            ),
        }
    }

    // Names a template may use.
    let mut extracted: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in file.requests.iter().chain(&file.setup).enumerate() {
        for k in r.extract.keys() {
            extracted.entry(k.as_str()).or_default().push(i);
        }
    }
    let variables: HashMap<String, Value> = file
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let defaults = &file.defaults;
    let default_timeout = match &defaults.timeout {
        Some(t) => duration(t).unwrap_or_else(|e| {
            p.add(Some("defaults"), t, format!("defaults.timeout: {e}"));
            stampede_http::DEFAULT_TIMEOUT
        }),
        None => stampede_http::DEFAULT_TIMEOUT,
    };
    let default_think = defaults
        .think_time
        .as_ref()
        .and_then(|t| think(t, &mut p, Some("defaults")));
    let default_retry = defaults
        .retry
        .as_ref()
        .and_then(|r| retry(r, &mut p, Some("defaults")));

    // Requests.
    let mut names = HashSet::new();
    let mut requests = Vec::new();
    let mut uses: Vec<HashSet<String>> = Vec::new();
    for spec in file.requests.iter().chain(&file.setup) {
        let anchor = Some(spec.name.as_str());
        if !names.insert(spec.name.clone()) {
            p.add(
                anchor,
                &spec.name,
                format!("request {:?} is defined twice", spec.name),
            );
        }
        if spec.name.contains("::") {
            p.add(anchor, &spec.name, "a request name may not contain '::'");
        }
        let mut ctx = ReqCtx {
            p: &mut p,
            anchor,
            used: HashSet::new(),
            variables: &variables,
            extracted: &extracted,
            feeders: &feeders,
            dir: &dir,
            read,
        };
        let req = request(
            spec,
            &file,
            &mut ctx,
            default_timeout,
            default_think,
            &default_retry,
        );
        uses.push(ctx.used);
        requests.extend(req);
    }
    if requests.len() != file.requests.len() + file.setup.len() {
        return Err(p.list);
    }
    let setup: Vec<usize> = (file.requests.len()..requests.len()).collect();
    for &i in &setup {
        let r = &file.setup[i - file.requests.len()];
        if r.once.is_some() || r.weight.is_some() {
            p.add(
                Some(&r.name),
                &r.name,
                format!(
                    "setup request {:?}: once and weight are for requests",
                    r.name
                ),
            );
        }
    }

    // Flow.
    let main: Vec<usize> = (0..file.requests.len())
        .filter(|i| !requests[*i].once)
        .collect();
    if main.is_empty() {
        p.add(
            Some("requests"),
            "requests",
            "requests: at least one request must not be `once`",
        );
    }
    let any_weight = file.requests.iter().any(|r| r.weight.is_some());
    let flow = file.flow.unwrap_or(if any_weight {
        Flow::Weighted
    } else {
        Flow::Sequence
    });
    let weights = match flow {
        Flow::Sequence => {
            if let Some(r) = file.requests.iter().find(|r| r.weight.is_some()) {
                p.add(
                    Some(&r.name),
                    "weight",
                    format!("request {:?}: weight is for flow: weighted", r.name),
                );
            }
            None
        }
        Flow::Weighted => {
            let mut acc = 0u32;
            let mut cum = Vec::new();
            for &i in &main {
                let spec = &file.requests[i];
                match spec.weight {
                    Some(w) if w > 0 => acc = acc.saturating_add(w),
                    _ => p.add(
                        Some(&spec.name),
                        &spec.name,
                        format!(
                            "request {:?}: flow is weighted, so it needs a weight above 0",
                            spec.name
                        ),
                    ),
                }
                cum.push(acc);
            }
            Some(cum)
        }
    };
    for r in &file.requests {
        if r.once.is_some() && r.weight.is_some() {
            p.add(
                Some(&r.name),
                "weight",
                format!("request {:?}: a once request has no weight", r.name),
            );
        }
    }

    // `once` requests in dependency order.
    let once_order = match once_order(&requests, &uses, &extracted) {
        Ok(o) => o,
        Err(cycle) => {
            let names: Vec<&str> = cycle.iter().map(|i| requests[*i].name.as_str()).collect();
            let first = names[0];
            p.add(
                Some(first),
                first,
                format!(
                    "once requests depend on each other's extracted values in a cycle: {} -> {first}",
                    names.join(" -> ")
                ),
            );
            Vec::new()
        }
    };

    let tls = crate::tls::tls_files(&file.http, &dir, read, &mut p);

    // Options, validated as a script's would be.
    let (options, http2, cookies) = options(&file, &mut p);
    if p.list.is_empty() {
        match Options::from_json(&options).and_then(|o| o.resolve().map(|_| ())) {
            Ok(()) => {}
            Err(errs) => {
                for e in errs {
                    p.add(None, "load", format!("load: {e}"));
                }
            }
        }
    }
    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(Compiled {
        file,
        dir,
        requests,
        once_order,
        main,
        setup,
        weights,
        feeders,
        variables,
        options,
        http2,
        cookies,
        tls,
    })
}

fn think(t: &ThinkTime, p: &mut Problems<'_>, anchor: Option<&str>) -> Option<Think> {
    let (lo, hi) = match t {
        ThinkTime::Fixed(d) => (d, d),
        ThinkTime::Range { min, max } => (min, max),
    };
    let parse = |s: &String, p: &mut Problems<'_>| match duration(s) {
        Ok(d) => Some(d),
        Err(e) => {
            p.add(anchor, s, format!("think_time: {e}"));
            None
        }
    };
    let (min, max) = (parse(lo, p)?, parse(hi, p)?);
    if min > max {
        p.add(anchor, "think_time", "think_time: min is greater than max");
        return None;
    }
    Some(Think { min, max })
}

fn retry(r: &Retry, p: &mut Problems<'_>, anchor: Option<&str>) -> Option<RetryPolicy> {
    let mut get = |s: &Option<String>, default: Duration| match s {
        None => Some(default),
        Some(s) => match duration(s) {
            Ok(d) => Some(d),
            Err(e) => {
                p.add(anchor, s, format!("retry: {e}"));
                None
            }
        },
    };
    let base = get(&r.base, Duration::from_millis(100))?;
    let max_delay = get(&r.max_delay, Duration::from_secs(10))?;
    if r.on.is_empty() && !r.on_error {
        p.add(
            anchor,
            "retry",
            "retry: give the statuses to retry (on) or on_error: true",
        );
        return None;
    }
    Some(RetryPolicy {
        on: r.on.clone(),
        on_error: r.on_error,
        max: r.max,
        backoff: r.backoff,
        base,
        max_delay,
        jitter: r.jitter.unwrap_or(true),
    })
}

/// What compiling one request needs.
struct ReqCtx<'a, 'b> {
    p: &'a mut Problems<'b>,
    anchor: Option<&'a str>,
    used: HashSet<String>,
    variables: &'a HashMap<String, Value>,
    extracted: &'a HashMap<&'a str, Vec<usize>>,
    feeders: &'a BTreeMap<String, Arc<FeederData>>,
    dir: &'a Path,
    read: ReadFile<'a>,
}

impl ReqCtx<'_, '_> {
    /// Compiles a template and checks the names it uses.
    fn template(&mut self, text: &str) -> Template {
        let t = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.p.add(self.anchor, text, e);
                return Template::literal(text);
            }
        };
        for e in t.exprs() {
            match e {
                Expr::Var(n) => {
                    if !self.variables.contains_key(n) && !self.extracted.contains_key(n.as_str()) {
                        let msg = if self.feeders.contains_key(n) {
                            format!("{{{{{n}}}}} is a feeder: name a column, as {{{{{n}.column}}}}")
                        } else {
                            format!("undefined variable {n:?} (not in variables, not extracted by any request)")
                        };
                        self.p.add(self.anchor, n, msg);
                    }
                    self.used.insert(n.clone());
                }
                Expr::Field(f, c) => match self.feeders.get(f) {
                    Some(d) if d.columns.iter().any(|x| x == c) => {}
                    Some(d) => self.p.add(
                        self.anchor,
                        &format!("{f}.{c}"),
                        format!(
                            "feeder {f:?} has no column {c:?} (it has {})",
                            d.columns.join(", ")
                        ),
                    ),
                    None => self.p.add(
                        self.anchor,
                        &format!("{f}.{c}"),
                        format!("undefined feeder {f:?}"),
                    ),
                },
                Expr::RandomItem(n) => match self.variables.get(n) {
                    Some(Value::Array(a)) if !a.is_empty() => {}
                    _ => self.p.add(
                        self.anchor,
                        n,
                        format!("random_item needs a non-empty list variable; {n:?} is not one"),
                    ),
                },
                _ => {}
            }
        }
        t
    }

    fn pairs(&mut self, m: &BTreeMap<String, Text>) -> Vec<(String, Template)> {
        m.iter()
            .map(|(k, v)| (k.clone(), self.template(&v.as_text())))
            .collect()
    }

    fn json(&mut self, v: &Value) -> JsonT {
        match v {
            Value::String(s) => {
                let t = self.template(s);
                if t.is_literal() {
                    JsonT::Lit(v.clone())
                } else {
                    JsonT::Str(t)
                }
            }
            Value::Array(a) => JsonT::Arr(a.iter().map(|x| self.json(x)).collect()),
            Value::Object(o) => {
                JsonT::Obj(o.iter().map(|(k, x)| (k.clone(), self.json(x))).collect())
            }
            other => JsonT::Lit(other.clone()),
        }
    }
}

fn request(
    spec: &RequestSpec,
    file: &ScenarioFile,
    c: &mut ReqCtx<'_, '_>,
    default_timeout: Duration,
    default_think: Option<Think>,
    default_retry: &Option<RetryPolicy>,
) -> Option<CRequest> {
    let Some((method, url)) = spec.method_url() else {
        c.p.add(
            c.anchor,
            &spec.name,
            format!("request {:?}: give exactly one of GET/POST/PUT/PATCH/DELETE/HEAD/OPTIONS: url, or method and url", spec.name),
        );
        return None;
    };
    let method = match http::Method::from_bytes(method.as_bytes()) {
        Ok(m) => m,
        Err(_) => {
            c.p.add(
                c.anchor,
                &method,
                format!("{method:?} is not an HTTP method"),
            );
            return None;
        }
    };
    let absolute =
        url.starts_with("http://") || url.starts_with("https://") || url.starts_with("{{");
    let full = match (&file.base_url, absolute) {
        (Some(base), false) => format!("{}{}", base.trim_end_matches('/'), ensure_slash(&url)),
        (None, false) => {
            c.p.add(
                c.anchor,
                &url,
                format!(
                    "request {:?}: {url:?} is relative and there is no base_url",
                    spec.name
                ),
            );
            url.clone()
        }
        _ => url.clone(),
    };
    let url_t = c.template(&full);
    let query = c.pairs(&spec.query);
    let mut headers = c.pairs(&file.defaults.headers);
    headers.retain(|(k, _)| !spec.headers.keys().any(|h| h.eq_ignore_ascii_case(k)));
    headers.extend(c.pairs(&spec.headers));
    let bodies = [
        spec.json.is_some(),
        spec.form.is_some(),
        spec.multipart.is_some(),
        spec.body.is_some(),
        spec.body_file.is_some(),
    ];
    if bodies.iter().filter(|b| **b).count() > 1 {
        c.p.add(
            c.anchor,
            &spec.name,
            format!(
                "request {:?}: give at most one of json, form, multipart, body, body_file",
                spec.name
            ),
        );
    }
    let body = if let Some(j) = &spec.json {
        Body::Json(c.json(j))
    } else if let Some(f) = &spec.form {
        Body::Form(c.pairs(f))
    } else if let Some(m) = &spec.multipart {
        let mut parts = Vec::new();
        for (k, v) in m {
            match v {
                Part::Field(t) => parts.push((k.clone(), CPart::Field(c.template(&t.as_text())))),
                Part::File {
                    file: f,
                    content_type,
                    filename,
                } => {
                    let full = c.dir.join(f);
                    let data = match (c.read)(&full) {
                        Ok(d) => bytes::Bytes::from(d),
                        Err(e) => {
                            c.p.add(
                                c.anchor,
                                f,
                                format!("multipart {k:?}: cannot read {}: {e}", full.display()),
                            );
                            continue;
                        }
                    };
                    parts.push((
                        k.clone(),
                        CPart::File {
                            filename: filename.clone().unwrap_or_else(|| {
                                Path::new(f)
                                    .file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default()
                            }),
                            content_type: content_type
                                .clone()
                                .unwrap_or_else(|| "application/octet-stream".into()),
                            data,
                        },
                    ))
                }
            }
        }
        Body::Multipart(parts)
    } else if let Some(b) = &spec.body {
        Body::Raw(c.template(b))
    } else if let Some(f) = &spec.body_file {
        let full = c.dir.join(f);
        match (c.read)(&full) {
            Ok(d) => Body::File(bytes::Bytes::from(d)),
            Err(e) => {
                c.p.add(
                    c.anchor,
                    f,
                    format!("body_file: cannot read {}: {e}", full.display()),
                );
                Body::None
            }
        }
    } else {
        Body::None
    };
    let mut extract = Vec::new();
    for (var, how) in &spec.extract {
        let e = if let Some(p) = how.strip_prefix("json.") {
            Extract::Json(path_of(p))
        } else if let Some(h) = how.strip_prefix("header.") {
            Extract::Header(h.to_string())
        } else if let Some(re) = how.strip_prefix("regex:") {
            match regex::Regex::new(re) {
                Ok(r) => Extract::Regex(r),
                Err(e) => {
                    c.p.add(c.anchor, how, format!("extract {var:?}: bad regex: {e}"));
                    continue;
                }
            }
        } else {
            c.p.add(
                c.anchor,
                how,
                format!("extract {var:?}: {how:?} must start with json., header. or regex:"),
            );
            continue;
        };
        extract.push((var.clone(), e));
    }
    let mut checks = Vec::new();
    for (key, want) in &spec.check {
        match check(&spec.name, key, want) {
            Ok(k) => checks.push(k),
            Err(e) => c.p.add(
                c.anchor,
                key,
                format!("request {:?}: check {key:?}: {e}", spec.name),
            ),
        }
    }
    let timeout = match &spec.timeout {
        Some(t) => match duration(t) {
            Ok(d) => d,
            Err(e) => {
                c.p.add(c.anchor, t, format!("timeout: {e}"));
                default_timeout
            }
        },
        None => default_timeout,
    };
    let think_t = match &spec.think_time {
        Some(t) => think(t, c.p, c.anchor),
        None => default_think,
    };
    let retry_p = match &spec.retry {
        Some(r) => retry(r, c.p, c.anchor),
        None => default_retry.clone(),
    };
    let mut tags: Vec<(String, String)> = file.defaults.tags.clone().into_iter().collect();
    tags.extend(spec.tags.clone());
    Some(CRequest {
        name: spec.name.clone(),
        method,
        url: url_t,
        query,
        headers,
        body,
        extract,
        checks,
        think: think_t,
        retry: retry_p,
        timeout,
        redirects: spec.redirects,
        tags,
        once: spec.once.is_some(),
        weight: spec.weight.unwrap_or(0),
    })
}

fn ensure_slash(u: &str) -> String {
    if u.starts_with('/') || u.is_empty() {
        u.to_string()
    } else {
        format!("/{u}")
    }
}
