//! The native VU: runs a compiled scenario's requests on the VU's HTTP
//! session and records k6's metrics with k6's names and tags, so that
//! thresholds, the summary and every output see the same data a script
//! doing the same requests would produce.
//!
//! It is a task on its scheduler thread, not a coroutine (see the engine's
//! `native.rs`): it awaits I/O, and the engine drops an iteration's future
//! when the VU is interrupted. A request's exchange (its future, several
//! KB: request, response, retry timer) is boxed only while it runs, so that
//! a VU sleeping through its think time holds a timer and a few hundred
//! bytes besides its connection (which then keeps no buffers). Tag sets are built
//! once per distinct (request, method, status, protocol, error) and looked
//! up by comparing those fields, each series is recorded through a
//! `SeriesRef` (no lookup in the sink), the URL of a request whose text did not
//! change is not parsed again, and one clock reading stamps a request's
//! samples: a steady load allocates no tags and little else.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use serde_json::{Map, Value};
use stampede_engine::{NativeProgram, NativeVu, VuFuture};
use stampede_http::{Client, CookieJar, Exchange, Hop, Request, Session};
use stampede_js::{
    now_ns, Emitter, IterationOutcome, IterationRequest, ScenarioInfo, ScriptError, TestEnv,
    VuConfig,
};
use stampede_metrics::{Builtin, SeriesRef, SystemTagSet, TagSet};

use crate::compile::{Body, CPart, CRequest, CheckKind, Compiled, Extract, JsonT, Think, Want};
use crate::template::Scope;

/// A compiled scenario as the engine's native program.
pub struct Program {
    c: Arc<Compiled>,
    /// The client of [`Program::client`] when the run's does not do.
    client: OnceLock<Result<Arc<Client>, String>>,
    env: OnceLock<Arc<std::collections::BTreeMap<String, String>>>,
}

impl Program {
    /// The program of `c`.
    pub fn new(c: Arc<Compiled>) -> Self {
        Self {
            c,
            client: OnceLock::new(),
            env: OnceLock::new(),
        }
    }

    /// The run's client, or one with the same settings but the HTTP
    /// version `http.version` asks for and the scenario's CA certificates
    /// and client certificates added (kept out of the run's options, so
    /// that no key travels or shows with them).
    fn client(&self, test: &TestEnv) -> Result<Arc<Client>, ScriptError> {
        let run = test.http.client.config();
        let http2 = self.c.http2.unwrap_or(run.http2);
        if run.http2 == http2 && self.c.tls.is_empty() {
            return Ok(test.http.client.clone());
        }
        self.client
            .get_or_init(|| {
                let mut cfg = run.clone();
                cfg.http2 = http2;
                cfg.extra_root_certs
                    .extend(self.c.tls.roots.iter().cloned());
                cfg.client_certs
                    .extend(self.c.tls.client_certs.iter().cloned());
                Client::new(cfg).map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(ScriptError::Exception)
    }
}

impl NativeProgram for Program {
    fn options(&self) -> Value {
        self.c.options.clone()
    }

    fn exports(&self) -> Vec<String> {
        let mut e = vec!["default".to_string()];
        if !self.c.setup.is_empty() {
            e.push("setup".into());
        }
        e
    }

    fn new_vu(&self, test: &Arc<TestEnv>, cfg: VuConfig) -> Result<Box<dyn NativeVu>, ScriptError> {
        let client = self.client(test)?;
        Ok(Box::new(ScenarioVu {
            c: self.c.clone(),
            session: client.session(),
            jar: self.c.cookies.then(CookieJar::new),
            emitter: cfg.emitter,
            id_in_test: cfg.id_in_test,
            sys: test.http.system_tags,
            discard: test.http.discard_response_bodies,
            test_tags: test.tags.clone(),
            base: test.tags.clone(),
            state: State::default(),
            env: self.env.get_or_init(|| Arc::new(test.env.clone())).clone(),
            tags: Vec::new(),
            check_tags: Vec::new(),
            base_refs: Default::default(),
            urls: Vec::new(),
            first: true,
            sent: 0,
            received: 0,
        }))
    }
}

/// Values an iteration sees.
#[derive(Default)]
struct State {
    /// Extracted values (kept for the VU's life).
    vars: HashMap<String, Value>,
    /// This iteration's feeder rows.
    rows: HashMap<String, Arc<Map<String, Value>>>,
    vu: u64,
    iteration: u64,
}

/// Variables and rows, for templates.
struct View<'a> {
    c: &'a Compiled,
    s: &'a State,
    env: &'a std::collections::BTreeMap<String, String>,
}

impl Scope for View<'_> {
    fn var(&self, name: &str) -> Option<&Value> {
        self.s.vars.get(name).or_else(|| self.c.variables.get(name))
    }
    fn field(&self, feeder: &str, column: &str) -> Option<&Value> {
        self.s.rows.get(feeder).and_then(|r| r.get(column))
    }
    fn vu(&self) -> u64 {
        self.s.vu
    }
    fn iteration(&self) -> u64 {
        self.s.iteration
    }
    fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }
}

/// What a hop's tag set depends on besides the scenario.
struct HopKey {
    request: usize,
    method: http::Method,
    status: u16,
    proto: &'static str,
    error: Option<(u32, String)>,
    tls_version: &'static str,
}

impl HopKey {
    fn matches(&self, request: usize, hop: &Hop) -> bool {
        self.request == request
            && self.status == hop.status
            && self.method == hop.method
            && same(self.proto, hop.proto)
            && same(self.tls_version, hop.tls_version)
            && match (&self.error, &hop.error) {
                (None, None) => true,
                (Some((code, msg)), Some(e)) => *code == e.code && *msg == e.message,
                _ => false,
            }
    }
}

/// Equal static strings; the same constant, usually, so the pointers are
/// compared before the bytes.
fn same(a: &'static str, b: &'static str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

struct ScenarioVu {
    c: Arc<Compiled>,
    session: Session,
    jar: Option<CookieJar>,
    emitter: Emitter,
    id_in_test: u64,
    sys: SystemTagSet,
    discard: bool,
    test_tags: TagSet,
    /// The scenario's tags (test tags, scenario tags, `scenario`, `group`).
    base: TagSet,
    state: State,
    /// `__ENV`.
    env: Arc<std::collections::BTreeMap<String, String>>,
    /// Hop tag sets seen (a handful: a linear search beats hashing).
    /// With where their nine `http_req_*` series are in the sink.
    tags: Vec<(HopKey, TagSet, [SeriesRef; 9])>,
    /// `checks` tag sets by request, then check (extractions after checks).
    check_tags: Vec<Vec<Option<(TagSet, SeriesRef)>>>,
    /// Where the series of `base` are in the sink: iterations, iteration
    /// duration, data sent, data received.
    base_refs: [SeriesRef; 4],
    /// By request: the last URL text and its parse.
    urls: Vec<Option<(String, url::Url)>>,
    first: bool,
    sent: u64,
    received: u64,
}

impl NativeVu for ScenarioVu {
    fn activate(&mut self, scenario: Arc<ScenarioInfo>) {
        let mut pairs: Vec<(String, String)> = self
            .test_tags
            .iter()
            .chain(scenario.tags.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if self.sys.contains("group") {
            pairs.push(("group".into(), String::new()));
        }
        self.base = self.emitter.intern(TagSet::from_pairs(pairs));
        self.tags.clear();
        self.check_tags.clear();
        self.base_refs = Default::default();
    }

    fn run_iteration(&mut self, req: IterationRequest<'_>) -> VuFuture<'_, IterationOutcome> {
        let iteration = req.iteration_in_test;
        boxed_in_place(|| async move {
            let start = Instant::now();
            self.state.vu = self.id_in_test;
            self.state.iteration = iteration;
            let outcome = self.iteration().await;
            let now = now_ns();
            self.emit_data(now);
            if outcome != IterationOutcome::Interrupted {
                let (e, tags, [its, dur, ..]) = (&self.emitter, &self.base, &mut self.base_refs);
                e.emit_via(its, Builtin::Iterations.metric(), tags, 1.0, now);
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                e.emit_via(dur, Builtin::IterationDuration.metric(), tags, ms, now);
            }
            outcome
        })
    }

    fn interrupted(&mut self) {
        self.emit_data(now_ns());
    }

    fn call_setup(&mut self) -> VuFuture<'_, Result<(), ScriptError>> {
        Box::pin(async move {
            let c = self.c.clone();
            for &i in &c.setup {
                match self.run_request(&c, i).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(ScriptError::Exception(format!(
                            "setup request {:?} failed a check or an extraction",
                            c.requests[i].name
                        )))
                    }
                    Err(_) => return Err(ScriptError::Exception("setup was interrupted".into())),
                }
            }
            Ok(())
        })
    }
}

impl ScenarioVu {
    /// Emits the bytes sent and received since the last time.
    fn emit_data(&mut self, now: u64) {
        let (e, tags, [.., sent_at, received_at]) =
            (&self.emitter, &self.base, &mut self.base_refs);
        let sent = std::mem::take(&mut self.sent) as f64;
        e.emit_via(sent_at, Builtin::DataSent.metric(), tags, sent, now);
        let received = std::mem::take(&mut self.received) as f64;
        e.emit_via(
            received_at,
            Builtin::DataReceived.metric(),
            tags,
            received,
            now,
        );
    }
}

/// `Box::pin(make())`, with the box allocated first: the future is then
/// written straight into it rather than built on the stack and copied (the
/// exchange's future is about 3 KB, of which a fresh one uses 24 bytes).
fn boxed_in_place<F: std::future::Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    Box::into_pin(Box::write(Box::new_uninit(), make()))
}

impl ScenarioVu {
    async fn iteration(&mut self) -> IterationOutcome {
        // One row per feeder per iteration.
        self.state.rows.clear();
        for (name, f) in &self.c.feeders {
            match f.draw() {
                Some(r) => {
                    self.state.rows.insert(name.clone(), r);
                }
                None => {
                    return IterationOutcome::Failed(format!(
                        "feeder {name:?} has no rows left (order: unique)"
                    ))
                }
            }
        }
        let c = self.c.clone();
        if std::mem::take(&mut self.first) {
            for &i in &c.once_order {
                if let Err(o) = self.run_request(&c, i).await {
                    return o;
                }
            }
        }
        match &c.weights {
            Some(cum) => {
                let total = cum.last().copied().unwrap_or(0);
                let pick = rand::rng().random_range(0..total.max(1));
                let at = cum.partition_point(|w| *w <= pick);
                if let Some(&i) = c.main.get(at) {
                    if let Err(o) = self.run_request(&c, i).await {
                        return o;
                    }
                }
            }
            None => {
                for &i in &c.main {
                    if let Err(o) = self.run_request(&c, i).await {
                        return o;
                    }
                }
            }
        }
        IterationOutcome::Completed
    }

    /// Runs request `i` with its retries, checks, extraction and think
    /// time; whether every check and extraction passed.
    ///
    /// The exchange is a boxed future of its own, freed before the think
    /// time: a VU sleeping between requests holds only this small future
    /// (a timer), not the request, the response and the retry timer.
    async fn run_request(&mut self, c: &Compiled, i: usize) -> Result<bool, IterationOutcome> {
        let passed = boxed_in_place(|| self.exchange(c, i)).await?;
        if let Some(t) = c.requests[i].think {
            pause(t).await;
        }
        Ok(passed)
    }

    /// Request `i` with its retries, checks and extraction.
    async fn exchange(&mut self, c: &Compiled, i: usize) -> Result<bool, IterationOutcome> {
        let r = &c.requests[i];
        let mut request = Some(self.build(i, r).map_err(IterationOutcome::Failed)?);
        let mut attempt = 0;
        let (ex, now) = loop {
            // Retries send a copy; the last attempt sends the original.
            let req = match r.retry.as_ref().filter(|p| attempt < p.max) {
                Some(_) => request.clone(),
                None => request.take(),
            };
            let Some(req) = req else {
                return Err(IterationOutcome::Failed(format!("{}: no request", r.name)));
            };
            // Inline: this future is boxed already (see `run_request`).
            let ex = self.session.request(req, self.jar.as_ref()).await;
            let now = now_ns();
            for hop in &ex.hops {
                self.record_hop(i, r, hop, now);
            }
            let retry = r.retry.as_ref().filter(|p| {
                attempt < p.max
                    && ((ex.response.error.is_some() && ex.response.status == 0 && p.on_error)
                        || p.on.contains(&ex.response.status))
            });
            let Some(p) = retry else { break (ex, now) };
            let mut delay = p.delay(attempt);
            if p.jitter {
                delay = delay.mul_f64(rand::rng().random_range(0.5..=1.0));
            }
            attempt += 1;
            tokio::time::sleep(delay).await;
        };
        Ok(self.judge(i, r, &ex, now))
    }

    /// The URL of request `i`: parsed again only when its text changed,
    /// and not even rendered again when it cannot change.
    fn url(&mut self, i: usize, r: &CRequest) -> Result<url::Url, String> {
        if r.url.is_fixed() {
            if let Some(Some((_, url))) = self.urls.get(i) {
                return Ok(url.clone());
            }
        }
        let view = View {
            c: &self.c,
            s: &self.state,
            env: &self.env,
        };
        let text = r.url.render(&view);
        if self.urls.len() <= i {
            self.urls.resize_with(i + 1, || None);
        }
        if let Some((last, url)) = &self.urls[i] {
            if *last == text {
                return Ok(url.clone());
            }
        }
        let url =
            url::Url::parse(&text).map_err(|e| format!("{}: bad URL {text:?}: {e}", r.name))?;
        self.urls[i] = Some((text, url.clone()));
        Ok(url)
    }

    fn build(&mut self, i: usize, r: &CRequest) -> Result<Request, String> {
        let mut url = self.url(i, r)?;
        let view = View {
            c: &self.c,
            s: &self.state,
            env: &self.env,
        };
        if !r.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &r.query {
                q.append_pair(k, &v.render(&view));
            }
        }
        let mut req = Request::new(r.method.clone(), url);
        req.timeout = r.timeout;
        req.max_redirects = r.redirects;
        req.discard_body = self.discard;
        let has = |name: &str| r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        for (k, v) in &r.headers {
            req.headers.push((k.clone(), v.render(&view)));
        }
        let (ctype, body) = match &r.body {
            Body::None => (None, Bytes::new()),
            Body::Json(j) => (
                Some("application/json".to_string()),
                Bytes::from(json_value(j, &view).to_string()),
            ),
            Body::Raw(t) => (None, Bytes::from(t.render(&view))),
            Body::File(data) => (None, data.clone()),
            Body::Form(pairs) => {
                let mut f = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    f.append_pair(k, &v.render(&view));
                }
                (
                    Some("application/x-www-form-urlencoded".to_string()),
                    Bytes::from(f.finish()),
                )
            }
            Body::Multipart(parts) => {
                let boundary = format!("stampede{:016x}", rand::rng().random::<u64>());
                let mut b = Vec::new();
                for (name, p) in parts {
                    b.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                    match p {
                        CPart::Field(t) => {
                            b.extend_from_slice(
                                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                                    .as_bytes(),
                            );
                            b.extend_from_slice(t.render(&view).as_bytes());
                        }
                        CPart::File {
                            filename,
                            content_type,
                            data,
                        } => {
                            b.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
                            b.extend_from_slice(data);
                        }
                    }
                    b.extend_from_slice(b"\r\n");
                }
                b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
                (
                    Some(format!("multipart/form-data; boundary={boundary}")),
                    Bytes::from(b),
                )
            }
        };
        if let Some(ct) = ctype {
            if !has("content-type") {
                req.headers.push(("Content-Type".into(), ct));
            }
        }
        req.body = body;
        Ok(req)
    }

    /// Emits one hop's `http_req_*` samples, tagged as k6 tags them.
    fn record_hop(&mut self, i: usize, r: &CRequest, hop: &Hop, now: u64) {
        // k6's default expected statuses: 200-399.
        let expected = (200..400).contains(&hop.status);
        let at = match self.tags.iter().position(|(k, _, _)| k.matches(i, hop)) {
            Some(at) => at,
            None => {
                let t = self.hop_tags(r, hop, expected);
                let key = HopKey {
                    request: i,
                    method: hop.method.clone(),
                    status: hop.status,
                    proto: hop.proto,
                    error: hop.error.as_ref().map(|e| (e.code, e.message.clone())),
                    tls_version: hop.tls_version,
                };
                // Bounded: distinct errors could otherwise grow it forever.
                if self.tags.len() >= MAX_HOP_TAGS {
                    self.tags.clear();
                }
                self.tags.push((key, t, Default::default()));
                self.tags.len() - 1
            }
        };
        let t = &hop.timings;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let samples = [
            (Builtin::HttpReqs, 1.0),
            (Builtin::HttpReqDuration, ms(t.duration())),
            (Builtin::HttpReqBlocked, ms(t.blocked)),
            (Builtin::HttpReqConnecting, ms(t.connecting)),
            (Builtin::HttpReqTlsHandshaking, ms(t.tls_handshaking)),
            (Builtin::HttpReqSending, ms(t.sending)),
            (Builtin::HttpReqWaiting, ms(t.waiting)),
            (Builtin::HttpReqReceiving, ms(t.receiving)),
            (Builtin::HttpReqFailed, if expected { 0.0 } else { 1.0 }),
        ];
        let (_, tags, refs) = &mut self.tags[at];
        for ((m, v), r) in samples.into_iter().zip(refs.iter_mut()) {
            self.emitter.emit_via(r, m.metric(), tags, v, now);
        }
        self.sent += hop.bytes_sent;
        self.received += hop.bytes_received;
    }

    fn hop_tags(&self, r: &CRequest, hop: &Hop, expected: bool) -> TagSet {
        let status = hop.status.to_string();
        let code = hop.error.as_ref().map(|e| e.code.to_string());
        let mut pairs: Vec<(&str, &str)> = self.base.iter().collect();
        let mut add = vec![
            ("method", hop.method.as_str().to_string()),
            ("url", r.name.clone()),
            ("name", r.name.clone()),
            ("status", status),
            ("proto", hop.proto.to_string()),
            ("expected_response", expected.to_string()),
        ];
        if let (Some(e), Some(code)) = (&hop.error, code) {
            add.push(("error", e.message.clone()));
            add.push(("error_code", code));
        }
        if !hop.tls_version.is_empty() {
            add.push(("tls_version", hop.tls_version.to_string()));
        }
        add.retain(|(k, _)| self.sys.contains(k));
        pairs.extend(add.iter().map(|(k, v)| (*k, v.as_str())));
        pairs.extend(r.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.emitter.intern(TagSet::from_pairs(pairs))
    }
}

impl ScenarioVu {
    /// Checks and extraction on the final response; each failure is a
    /// failed `checks` sample, never an error of the iteration.
    fn judge(&mut self, i: usize, r: &CRequest, ex: &Exchange, now: u64) -> bool {
        let mut all = true;
        let res = &ex.response;
        let body_json = (r
            .checks
            .iter()
            .any(|c| matches!(c.kind, CheckKind::Json(..)))
            || r.extract.iter().any(|(_, e)| matches!(e, Extract::Json(_))))
        .then(|| serde_json::from_slice::<Value>(&res.body).ok())
        .flatten();
        let duration_ms = res.timings.duration().as_secs_f64() * 1000.0;
        for (k, c) in r.checks.iter().enumerate() {
            let ok = match &c.kind {
                CheckKind::Status(list) => list.contains(&res.status),
                CheckKind::Json(path, want) => {
                    let v = body_json.as_ref().and_then(|b| lookup(b, path));
                    matches_want(v, want)
                }
                CheckKind::Header(name, want) => {
                    let v = res.header(name).map(|h| Value::String(h.to_string()));
                    matches_want(v.as_ref(), want)
                }
                CheckKind::BodyContains(s) => memfind(&res.body, s.as_bytes()),
                CheckKind::Duration {
                    inclusive,
                    limit_ms,
                } => {
                    if *inclusive {
                        duration_ms <= *limit_ms
                    } else {
                        duration_ms < *limit_ms
                    }
                }
            };
            all &= ok;
            self.check(i, k, || c.name.clone(), ok, now);
        }
        for (k, (var, how)) in r.extract.iter().enumerate() {
            let got = match how {
                Extract::Json(path) => body_json
                    .as_ref()
                    .and_then(|b| lookup(b, path))
                    .filter(|v| !v.is_null())
                    .cloned(),
                Extract::Header(h) => res.header(h).map(|v| Value::String(v.to_string())),
                Extract::Regex(re) => std::str::from_utf8(&res.body).ok().and_then(|text| {
                    re.captures(text).map(|caps| {
                        let m = caps.get(1).or_else(|| caps.get(0));
                        Value::String(m.map(|m| m.as_str().to_string()).unwrap_or_default())
                    })
                }),
            };
            let ok = got.is_some();
            if let Some(v) = got {
                self.state.vars.insert(var.clone(), v);
            }
            all &= ok;
            let at = r.checks.len() + k;
            self.check(i, at, || format!("{}: extract {var}", r.name), ok, now);
        }
        all
    }

    /// Emits one `checks` sample for check `k` of request `i`, named
    /// `name()` (called the first time only).
    fn check(&mut self, i: usize, k: usize, name: impl FnOnce() -> String, ok: bool, now: u64) {
        if self.check_tags.len() <= i {
            self.check_tags.resize_with(i + 1, Vec::new);
        }
        if self.check_tags[i].len() <= k {
            self.check_tags[i].resize_with(k + 1, || None);
        }
        let slot = &mut self.check_tags[i][k];
        let (tags, at) = slot.get_or_insert_with(|| {
            let name = name();
            let mut pairs: Vec<(&str, &str)> = self.base.iter().collect();
            pairs.push(("check", &name));
            let t = self.emitter.intern(TagSet::from_pairs(pairs));
            (t, SeriesRef::default())
        });
        let value = if ok { 1.0 } else { 0.0 };
        self.emitter
            .emit_via(at, Builtin::Checks.metric(), tags, value, now);
    }
}

/// At most this many hop tag sets are kept per VU.
const MAX_HOP_TAGS: usize = 64;

/// Sleeps a think time.
async fn pause(t: Think) {
    let d = if t.max > t.min {
        t.min + (t.max - t.min).mul_f64(rand::rng().random_range(0.0..=1.0))
    } else {
        t.min
    };
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn matches_want(v: Option<&Value>, want: &Want) -> bool {
    match (v, want) {
        (None, _) | (Some(Value::Null), Want::Exists) => false,
        (Some(_), Want::Exists) => true,
        (Some(v), Want::Equals(w)) => v == w || text_of(v) == text_of(w),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Follows a path of keys and array indices.
pub(crate) fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, seg| match cur {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn json_value(j: &JsonT, scope: &dyn Scope) -> Value {
    match j {
        JsonT::Lit(v) => v.clone(),
        JsonT::Str(t) => t.render_value(scope),
        JsonT::Arr(a) => Value::Array(a.iter().map(|x| json_value(x, scope)).collect()),
        JsonT::Obj(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), json_value(x, scope)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_wants() {
        let v = serde_json::json!({"items": [{"id": 5}], "n": null});
        assert_eq!(
            lookup(&v, &["items".into(), "0".into(), "id".into()]),
            Some(&Value::from(5))
        );
        assert_eq!(lookup(&v, &["items".into(), "x".into()]), None);
        assert!(matches_want(lookup(&v, &["items".into()]), &Want::Exists));
        assert!(!matches_want(lookup(&v, &["n".into()]), &Want::Exists));
        assert!(matches_want(
            Some(&Value::from(5)),
            &Want::Equals(Value::from("5"))
        ));
        assert!(!matches_want(
            Some(&Value::from(5)),
            &Want::Equals(Value::from(6))
        ));
        assert!(memfind(b"hello world", b"lo w"));
        assert!(!memfind(b"hello", b"hello!"));
    }
}
