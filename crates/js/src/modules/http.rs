//! Native part of `k6/http`: requests through the VU's session, metrics per
//! request, and Response objects.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use stampede_config::K6Duration;

use rquickjs::function::{Opt, Rest};
use rquickjs::{Array, Class, Ctx, Exception, Object, Result, Value};
use smallvec::SmallVec;
use stampede_http::{
    error::code, Auth, Client, ClientConfig, CookieJar, CookieOptions, Encoding, Exchange, Hop,
    HttpError, Request, RequestCookie, Session,
};
use stampede_metrics::{Builtin, SystemTagSet};

use super::http_response::{strip_userinfo, RequestParts, Response, ResponseParts, ResponseType};
use super::set_fn;
use crate::bytes::{array_buffer, to_bytes};
use crate::coro::suspend;
use crate::host::{now_ns, TestEnv};
use crate::log::Level;
use crate::state::VuState;

/// Test-wide settings of `k6/http`.
#[derive(Clone)]
pub struct HttpSettings {
    /// The client every VU's session comes from.
    pub client: Arc<Client>,
    /// `discardResponseBodies`.
    pub discard_response_bodies: bool,
    /// `batch`: concurrent requests of one `http.batch` call.
    pub batch: usize,
    /// `batchPerHost`: concurrent requests to one host in `http.batch`.
    pub batch_per_host: usize,
    /// `noVUConnectionReuse`: close a VU's connections between iterations.
    pub no_vu_connection_reuse: bool,
    /// `maxRedirects` was set by the user (the warning about the limit
    /// mentions it only otherwise).
    pub max_redirects_set: bool,
    /// System tags to attach (`systemTags`).
    pub system_tags: SystemTagSet,
    /// The global `rps` limit, shared by every VU.
    pub rps: Option<Arc<super::rate_limit::RateLimiter>>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            client: Arc::new(
                Client::new(ClientConfig::default())
                    .expect("the default HTTP client config is valid"),
            ),
            discard_response_bodies: false,
            batch: 20,
            batch_per_host: 6,
            no_vu_connection_reuse: false,
            max_redirects_set: false,
            system_tags: SystemTagSet::default(),
            rps: None,
        }
    }
}

/// A VU's HTTP state.
pub(crate) struct VuHttp {
    session: Rc<Session>,
    /// Jars by id; 0 is the VU's own jar (`http.cookieJar()`).
    jars: RefCell<Vec<Rc<CookieJar>>>,
    /// `http.setResponseCallback`: the statuses counted as expected.
    expected: RefCell<Option<Vec<(u16, u16)>>>,
    warned_redirects: Cell<bool>,
    last_url: RefCell<Option<(String, url::Url)>>,
}

impl VuHttp {
    /// Parses `text`, reusing the last URL parsed when it is the same (a VU
    /// usually requests the same URLs again and again).
    fn parse_url(&self, text: &str) -> std::result::Result<url::Url, url::ParseError> {
        if let Some((t, u)) = &*self.last_url.borrow() {
            if t == text {
                return Ok(u.clone());
            }
        }
        let u = url::Url::parse(text)?;
        *self.last_url.borrow_mut() = Some((text.to_string(), u.clone()));
        Ok(u)
    }

    pub fn new(test: &TestEnv) -> Self {
        Self {
            last_url: RefCell::new(None),
            session: Rc::new(test.http.client.session()),
            jars: RefCell::new(vec![Rc::new(CookieJar::new())]),
            expected: RefCell::new(Some(vec![(200, 399)])),
            warned_redirects: Cell::new(false),
        }
    }

    /// Resets per-iteration state (the VU's cookies, connections when asked).
    pub fn start_iteration(&self, test: &TestEnv) {
        if !test.no_cookies_reset {
            self.jars.borrow()[0].clear_all();
        }
        if test.http.no_vu_connection_reuse {
            self.session.reset_connections();
        }
    }
}

/// One request as shaped by the JavaScript side.
struct Shaped {
    req: Request,
    jar: Option<Rc<CookieJar>>,
    tags: Vec<(String, String)>,
    name: Option<String>,
    response_type: ResponseType,
    expected: Option<Vec<(u16, u16)>>,
    /// Why k6 refuses to send this request (an invalid `timeout`): the
    /// request then fails with `error_code` 0 and no metrics.
    refused: Option<HttpError>,
}

impl Shaped {
    /// The refused request's exchange, when it is refused.
    fn unsent(&self) -> Option<Exchange> {
        self.refused
            .clone()
            .map(|e| Exchange::unsent(self.req.url.clone(), e))
    }
}

/// Builds the native part of `k6/http`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    set_fn(
        &obj,
        "responsePrototype",
        move |ctx: Ctx<'js>| -> Result<Object<'js>> {
            Class::<Response>::prototype(&ctx)?.ok_or_else(|| {
                Exception::throw_internal(&ctx, "the Response class is not registered")
            })
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "request",
        move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<Value<'js>> {
            let shaped = shape(&ctx, &s, &args.0)?;
            if let Some(ex) = shaped.unsent() {
                return finish(&ctx, &s, shaped, ex);
            }
            let session = s.http.session.clone();
            let Shaped { req, jar, .. } = &shaped;
            let (req, jar) = (req.clone(), jar.clone());
            let limiter = s.test.http.rps.clone();
            let ex = suspend(move || async move {
                if let Some(l) = limiter {
                    tokio::time::sleep(l.reserve()).await;
                }
                session.request(req, jar.as_deref()).await
            })
            .map_err(|_| super::k6::interrupted(&ctx))?;
            finish(&ctx, &s, shaped, ex)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "asyncRequest",
        move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<Value<'js>> {
            let st = s.clone();
            crate::ops::promise(&ctx, &s.ops, shape(&ctx, &s, &args.0), |shaped| {
                let session = st.http.session.clone();
                let (req, jar) = (shaped.req.clone(), shaped.jar.clone());
                let limiter = st.test.http.rps.clone();
                let unsent = shaped.unsent();
                async move {
                    if let Some(ex) = unsent {
                        return crate::ops::settle(move |ctx| finish(ctx, &st, shaped, ex));
                    }
                    if let Some(l) = limiter {
                        tokio::time::sleep(l.reserve()).await;
                    }
                    let ex = session.request(req, jar.as_deref()).await;
                    crate::ops::settle(move |ctx| finish(ctx, &st, shaped, ex))
                }
            })
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "batch",
        move |ctx: Ctx<'js>, items: Array<'js>| -> Result<Array<'js>> {
            let mut shaped = Vec::with_capacity(items.len());
            for item in items.iter::<Array>() {
                let item: Vec<Value> = item?.iter().collect::<Result<_>>()?;
                shaped.push(shape(&ctx, &s, &item)?);
            }
            if let Some(i) = shaped.iter().position(|sh| sh.refused.is_some()) {
                return refused_batch(&ctx, &s, shaped, i);
            }
            let reqs: Vec<(Request, Option<Rc<CookieJar>>)> = shaped
                .iter()
                .map(|sh| (sh.req.clone(), sh.jar.clone()))
                .collect();
            let session = s.http.session.clone();
            let limit = s.test.http.batch.max(1);
            let per_host = s.test.http.batch_per_host;
            let limiter = s.test.http.rps.clone();
            let exchanges = suspend(move || run_batch(session, reqs, limit, per_host, limiter))
                .map_err(|_| super::k6::interrupted(&ctx))?;
            let out = Array::new(ctx.clone())?;
            for (i, (sh, ex)) in shaped.into_iter().zip(exchanges).enumerate() {
                out.set(i, finish(&ctx, &s, sh, ex)?)?;
            }
            Ok(out)
        },
    )?;

    set_fn(&obj, "boundary", || {
        let n: u128 = rand::random();
        format!("{n:032x}")
    })?;

    set_fn(
        &obj,
        "concat",
        |ctx: Ctx<'js>, parts: Vec<Value<'js>>| -> Result<Value<'js>> {
            let mut out = Vec::new();
            for p in &parts {
                out.extend(to_bytes(&ctx, p)?);
            }
            array_buffer(&ctx, out)
        },
    )?;

    set_fn(&obj, "isBinary", |v: Value<'js>| {
        crate::bytes::is_binary(&v)
    })?;

    // k6/html loads on the first `Response.html()`, not in every VU.
    set_fn(
        &obj,
        "htmlExport",
        |ctx: Ctx<'js>, name: String| -> Result<Value<'js>> {
            crate::loader::builtin_export(&ctx, "k6/html", &name)
        },
    )?;

    set_fn(
        &obj,
        "bytesToString",
        |ctx: Ctx<'js>, v: Value<'js>| -> Result<String> {
            Ok(String::from_utf8_lossy(&to_bytes(&ctx, &v)?).into_owned())
        },
    )?;

    set_fn(
        &obj,
        "expectedStatuses",
        |ctx: Ctx<'js>, ranges: Vec<Vec<i32>>| -> Result<Object<'js>> {
            let o = Object::new(ctx.clone())?;
            let flat: Vec<i32> = ranges.into_iter().flatten().collect();
            o.set("__expected", flat)?;
            Ok(o)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "setResponseCallback",
        move |ctx: Ctx<'js>, cb: Value<'js>| -> Result<()> {
            *s.http.expected.borrow_mut() = response_callback(&ctx, &cb)?;
            Ok(())
        },
    )?;

    let s = state.clone();
    set_fn(&obj, "newJar", move |this: Object<'js>| -> Result<()> {
        let mut jars = s.http.jars.borrow_mut();
        jars.push(Rc::new(CookieJar::new()));
        this.set("__jar", (jars.len() - 1) as u32)
    })?;

    set_fn(
        &obj,
        "vuJar",
        move |ctx: Ctx<'js>, proto: Object<'js>| -> Result<Object<'js>> {
            let o = Object::new(ctx)?;
            o.set_prototype(Some(&proto))?;
            o.set("__jar", 0u32)?;
            Ok(o)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "jarCookiesForURL",
        move |ctx: Ctx<'js>, jar: Object<'js>, url: String| -> Result<Object<'js>> {
            let jar = jar_of(&ctx, &s, &jar)?;
            let url = parse_url(&ctx, &url)?;
            let out = Object::new(ctx.clone())?;
            let mut by_name: Vec<(String, Vec<String>)> = Vec::new();
            for (k, v) in jar.cookies_for_url(&url) {
                match by_name.iter_mut().find(|(n, _)| *n == k) {
                    Some((_, vals)) => vals.push(v),
                    None => by_name.push((k, vec![v])),
                }
            }
            for (k, vals) in by_name {
                out.set(k, vals)?;
            }
            Ok(out)
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "jarSet",
        move |ctx: Ctx<'js>,
              jar: Object<'js>,
              url: String,
              name: String,
              value: String,
              opts: Opt<Option<Object<'js>>>|
              -> Result<()> {
            let jar = jar_of(&ctx, &s, &jar)?;
            let url = parse_url(&ctx, &url)?;
            let mut o = CookieOptions::default();
            if let Some(opts) = opts.0.flatten() {
                o.domain = opts.get("domain")?;
                o.path = opts.get("path")?;
                o.secure = opts.get::<_, Option<bool>>("secure")?.unwrap_or(false);
                o.http_only = opts.get::<_, Option<bool>>("http_only")?.unwrap_or(false);
                o.max_age = opts.get("max_age")?;
                if let Some(exp) = opts.get::<_, Option<String>>("expires")? {
                    o.expires = httpdate_or_rfc3339(&exp);
                }
            }
            jar.set(&url, &name, &value, &o);
            Ok(())
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "jarClear",
        move |ctx: Ctx<'js>, jar: Object<'js>, url: String| -> Result<()> {
            let jar = jar_of(&ctx, &s, &jar)?;
            jar.clear(&parse_url(&ctx, &url)?);
            Ok(())
        },
    )?;

    let s = state.clone();
    set_fn(
        &obj,
        "jarDelete",
        move |ctx: Ctx<'js>, jar: Object<'js>, url: String, name: String| -> Result<()> {
            let jar = jar_of(&ctx, &s, &jar)?;
            jar.delete(&parse_url(&ctx, &url)?, &name);
            Ok(())
        },
    )?;
    Ok(obj)
}

fn httpdate_or_rfc3339(s: &str) -> Option<std::time::SystemTime> {
    if let Ok(t) = httpdate::parse_http_date(s) {
        return Some(t);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(std::time::SystemTime::from)
}

fn jar_of(ctx: &Ctx<'_>, s: &VuState, jar: &Object<'_>) -> Result<Rc<CookieJar>> {
    let id: Option<u32> = jar.get("__jar")?;
    id.and_then(|i| s.http.jars.borrow().get(i as usize).cloned())
        .ok_or_else(|| Exception::throw_type(ctx, "not a cookie jar"))
}

fn parse_url(ctx: &Ctx<'_>, url: &str) -> Result<url::Url> {
    url::Url::parse(url)
        .map_err(|e| Exception::throw_type(ctx, &format!("invalid URL \"{url}\": {e}")))
}

/// Reads a `responseCallback` value: `null` (nothing expected: every
/// response counts as failed? no: k6 then skips `http_req_failed`) or the
/// result of `http.expectedStatuses()`.
fn response_callback(ctx: &Ctx<'_>, cb: &Value<'_>) -> Result<Option<Vec<(u16, u16)>>> {
    if cb.is_null() || cb.is_undefined() {
        return Ok(None);
    }
    let flat: Option<Vec<i32>> = cb
        .as_object()
        .map(|o| o.get("__expected"))
        .transpose()?
        .flatten();
    match flat {
        Some(flat) => Ok(Some(
            flat.chunks(2)
                .map(|c| (c[0].clamp(0, 999) as u16, c[1].clamp(0, 999) as u16))
                .collect(),
        )),
        None => Err(Exception::throw_type(
            ctx,
            "the responseCallback must be the result of http.expectedStatuses() or null",
        )),
    }
}

/// Turns `(method, url, body, params, contentType, nameFromTemplate)` into a
/// request.
fn shape<'js>(ctx: &Ctx<'js>, s: &Rc<VuState>, args: &[Value<'js>]) -> Result<Shaped> {
    if s.in_init() {
        return Err(Exception::throw_message(
            ctx,
            "making HTTP requests in the init context is not supported",
        ));
    }
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .unwrap_or_else(|| Value::new_undefined(ctx.clone()))
    };
    let method: rquickjs::CString = arg(0).get()?;
    let url_text = crate::value::to_display_string(ctx, &arg(1))?;
    let url = s
        .http
        .parse_url(&url_text)
        .map_err(|e| Exception::throw_message(ctx, &format!("invalid URL \"{url_text}\": {e}")))?;
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| {
        Exception::throw_type(ctx, &format!("invalid HTTP method \"{}\"", method.as_str()))
    })?;
    let body = arg(2);
    let mut req = Request::new(method, url);
    if !body.is_null() && !body.is_undefined() {
        req.body = to_bytes(ctx, &body)?.into();
    }
    let mut has_content_type = false;
    let mut tags = Vec::new();
    let mut name = arg(5).as_string().map(|s| s.to_string()).transpose()?;
    let mut response_type = if s.test.http.discard_response_bodies {
        ResponseType::None
    } else {
        ResponseType::Text
    };
    let mut jar = Some(s.http.jars.borrow()[0].clone());
    let mut expected = s.http.expected.borrow().clone();
    let mut auth_kind: Option<String> = None;
    let mut refused = None;
    let params = arg(3);
    if let Some(p) = params.as_object() {
        if let Some(h) = p.get::<_, Option<Object>>("headers")? {
            for kv in h.props::<String, Value>() {
                let (k, v) = kv?;
                if v.is_undefined() || v.is_null() {
                    continue;
                }
                if k.eq_ignore_ascii_case("content-type") {
                    has_content_type = true;
                }
                req.headers
                    .push((k, crate::value::to_display_string(ctx, &v)?));
            }
        }
        if let Some(t) = p.get::<_, Option<Value>>("tags")? {
            tags = super::k6::js_tags(ctx, Some(t))?;
            if let Some((_, n)) = tags.iter().find(|(k, _)| k == "name") {
                name = Some(n.clone());
            }
        }
        // k6 takes a present key even when its value is undefined.
        if p.contains_key("timeout")? {
            match timeout_param(&p.get("timeout")?)? {
                Ok(t) => req.timeout = t,
                Err(why) => {
                    refused = Some(HttpError::plain(
                        code::UNSENT,
                        format!("invalid timeout value: {why}"),
                    ))
                }
            }
        }
        if let Some(r) = p.get::<_, Option<f64>>("redirects")? {
            req.max_redirects = Some(r.max(0.0) as u32);
        }
        auth_kind = p.get("auth")?;
        if let Some(c) = p.get::<_, Option<Object>>("cookies")? {
            for kv in c.props::<String, Value>() {
                let (k, v) = kv?;
                let (value, replace) = if let Some(o) = v.as_object() {
                    (
                        crate::value::to_display_string(ctx, &o.get("value")?)?,
                        o.get::<_, Option<bool>>("replace")?.unwrap_or(false),
                    )
                } else {
                    (crate::value::to_display_string(ctx, &v)?, false)
                };
                req.cookies.push(RequestCookie {
                    name: k,
                    value,
                    replace,
                });
            }
        }
        let j: Value = p.get("jar")?;
        if j.is_null() {
            jar = None;
        } else if let Some(o) = j.as_object() {
            jar = Some(jar_of(ctx, s, o)?);
        }
        if let Some(rt) = p.get::<_, Option<String>>("responseType")? {
            response_type = match rt.as_str() {
                "text" => ResponseType::Text,
                "binary" => ResponseType::Binary,
                "none" => ResponseType::None,
                other => {
                    return Err(Exception::throw_type(
                        ctx,
                        &format!("unknown responseType \"{other}\": use text, binary or none"),
                    ))
                }
            };
        }
        if let Some(c) = p.get::<_, Option<String>>("compression")? {
            for part in c.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                req.compression.push(Encoding::parse(part).ok_or_else(|| {
                    Exception::throw_type(ctx, &format!("unknown compression algorithm \"{part}\""))
                })?);
            }
        }
        if p.contains_key("responseCallback")? {
            expected = response_callback(ctx, &p.get("responseCallback")?)?;
        }
    }
    if !has_content_type {
        if let Some(ct) = arg(4).as_string() {
            req.headers.push(("Content-Type".into(), ct.to_string()?));
        }
    }
    // Credentials in the URL: basic auth unless `auth` asks for another scheme.
    if !req.url.username().is_empty() {
        let user = percent_decode(req.url.username());
        let pass = percent_decode(req.url.password().unwrap_or(""));
        req.auth = Some(match auth_kind.as_deref() {
            Some("digest") => Auth::Digest { user, pass },
            Some("ntlm") => {
                return Err(Exception::throw_type(
                    ctx,
                    "NTLM authentication is not supported",
                ))
            }
            _ => Auth::Basic { user, pass },
        });
        let _ = req.url.set_username("");
        let _ = req.url.set_password(None);
    }
    req.discard_body = response_type == ResponseType::None;
    Ok(Shaped {
        req,
        jar,
        tags,
        name,
        response_type,
        expected,
        refused,
    })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A duration a script passes as a parameter, as k6 reads it: a number of
/// milliseconds (converted as Go does, so `Infinity` or `1e300` is an
/// already-expired duration, never a panic) or a k6 duration text (`"1.5s"`,
/// `"2d"`, `"250"`). `None` when absent; negative values become zero.
/// A request's `timeout` parameter as k6 reads it: a number of
/// milliseconds or a duration string; any other type (null, undefined,
/// booleans, objects) is refused with Go's wording for its type.
fn timeout_param(v: &Value<'_>) -> Result<std::result::Result<Duration, String>> {
    if let Some(ms) = v.as_number() {
        return Ok(Ok(K6Duration::from_millis_f64(ms).to_std_or_zero()));
    }
    if let Some(text) = v.as_string() {
        let text = text.to_string()?;
        return Ok(K6Duration::parse(&text)
            .map(K6Duration::to_std_or_zero)
            .map_err(|e| e.go_message()));
    }
    let go_type = if v.is_null() || v.is_undefined() {
        "<nil>"
    } else if v.is_bool() {
        "bool"
    } else if v.is_array() {
        "[]interface {}"
    } else if v.is_object() {
        "map[string]interface {}"
    } else {
        "interface {}"
    };
    Ok(Err(format!(
        "unable to use type {go_type} as a duration value"
    )))
}

/// Runs a batch with at most `limit` requests in flight, and at most
/// `per_host` to the same host.
async fn run_batch(
    session: Rc<Session>,
    reqs: Vec<(Request, Option<Rc<CookieJar>>)>,
    limit: usize,
    per_host: usize,
    limiter: Option<Arc<super::rate_limit::RateLimiter>>,
) -> Vec<Exchange> {
    use std::collections::HashMap;
    let global = Rc::new(tokio::sync::Semaphore::new(limit));
    let mut hosts: HashMap<String, Rc<tokio::sync::Semaphore>> = HashMap::new();
    let futs = reqs.into_iter().map(|(req, jar)| {
        let host = req.url.host_str().unwrap_or("").to_string();
        let host_sem = (per_host > 0).then(|| {
            hosts
                .entry(host)
                .or_insert_with(|| Rc::new(tokio::sync::Semaphore::new(per_host)))
                .clone()
        });
        let global = global.clone();
        let session = session.clone();
        let limiter = limiter.clone();
        async move {
            if let Some(l) = limiter {
                tokio::time::sleep(l.reserve()).await;
            }
            let _h = match &host_sem {
                Some(s) => s.acquire().await.ok(),
                None => None,
            };
            let _g = global.acquire().await.ok();
            session.request(req, jar.as_deref()).await
        }
    });
    futures_util::future::join_all(futs).await
}

/// A batch k6 refuses as a whole because request `i` is refused: nothing is
/// sent, k6 warns `A batch request failed` (or throws, with `throw`), and
/// returns empty responses before `i`, `i`'s error, and nulls after it.
fn refused_batch<'js>(
    ctx: &Ctx<'js>,
    s: &Rc<VuState>,
    shaped: Vec<Shaped>,
    i: usize,
) -> Result<Array<'js>> {
    let err = shaped[i]
        .refused
        .clone()
        .unwrap_or_else(|| HttpError::plain(0, ""));
    let line = err.log_line(shaped[i].req.method.as_str(), shaped[i].req.url.as_str());
    if s.test.throw {
        return Err(Exception::throw_message(ctx, &line));
    }
    s.test.logger.log(
        Level::Warning,
        "A batch request failed",
        &[("error", &line)],
    );
    let out = Array::new(ctx.clone())?;
    let count = shaped.len();
    for (j, sh) in shaped.into_iter().enumerate().take(i + 1) {
        let mut ex = Exchange::unsent(sh.req.url.clone(), err.clone());
        if j < i {
            ex.response.error = None;
        }
        out.set(j, respond(ctx, sh, ex)?)?;
    }
    for j in i + 1..count {
        out.set(j, Value::new_null(ctx.clone()))?;
    }
    Ok(out)
}

/// Emits a request's metrics and builds its Response object.
fn finish<'js>(ctx: &Ctx<'js>, s: &Rc<VuState>, sh: Shaped, ex: Exchange) -> Result<Value<'js>> {
    for hop in &ex.hops {
        emit_hop(s, &sh, hop);
        log_dumps(s, hop);
    }
    // k6 warns only when the global limit stopped the chain.
    if ex.redirect_limit_reached
        && sh.req.max_redirects.is_none()
        && !s.http.warned_redirects.replace(true)
    {
        let n = sh.req.max_redirects.unwrap_or(10);
        s.test.logger.log(
            Level::Warning,
            &format!("Stopped after {n} redirects and returned the redirection; pass {{ redirects: n }} in request params or set global maxRedirects to silence this"),
            &[("url", sh.req.url.as_str())],
        );
    }
    let r = &ex.response;
    if let Some(err) = &r.error {
        if s.test.throw {
            return Err(Exception::throw_message(
                ctx,
                &err.log_line(sh.req.method.as_str(), sh.req.url.as_str()),
            ));
        }
        s.test.logger.log(
            Level::Warning,
            "Request Failed",
            &[(
                "error",
                &err.log_line(sh.req.method.as_str(), sh.req.url.as_str()),
            )],
        );
    }
    respond(ctx, sh, ex)
}

/// The Response object of an exchange whose metrics and warnings are done.
fn respond<'js>(ctx: &Ctx<'js>, sh: Shaped, ex: Exchange) -> Result<Value<'js>> {
    let request_url = ex.hops.last().map(|h| h.url.clone());
    // Move what the response and the request hold into the Response: no
    // copies of headers, cookies or bodies.
    let r = ex.response;
    let Shaped {
        req, response_type, ..
    } = sh;
    let parts = ResponseParts {
        status: r.status,
        failed: r.error.is_some() && r.status == 0,
        status_text: r.status_text,
        proto: r.proto,
        url: r.url,
        body: r.body,
        body_type: response_type,
        headers: r.headers,
        cookies: r.cookies,
        timings: r.timings,
        error: r.error,
        remote: r.remote,
        tls: r.tls,
        request: RequestParts {
            method: req.method.as_str().to_string(),
            url: request_url,
            headers: req.headers,
            body: req.body,
            cookies: req.cookies,
        },
    };
    Ok(Class::instance(ctx.clone(), Response::new(parts))?.into_value())
}

fn is_expected(expected: &Option<Vec<(u16, u16)>>, status: u16) -> Option<bool> {
    expected
        .as_ref()
        .map(|ranges| ranges.iter().any(|(lo, hi)| status >= *lo && status <= *hi))
}

/// Logs a hop's `httpDebug` dumps as k6 does: at info level, with the
/// VU's position and one `request_id` for the request and its response.
fn log_dumps(s: &VuState, hop: &Hop) {
    let Some(d) = &hop.debug else { return };
    let id = super::webcrypto::random_uuid();
    let iter = s.iteration.get().to_string();
    let vu = s.id.to_string();
    let scenario = s.scenario.borrow().as_ref().map(|x| x.name.clone());
    let group = s.group.borrow().clone();
    let fields = [
        ("group", group.as_str()),
        ("iter", &iter),
        ("request_id", &id),
        ("scenario", scenario.as_deref().unwrap_or("")),
        ("source", "http-debug"),
        ("vu", &vu),
    ];
    let log = |what: &str, dump: &str| {
        let msg = format!("{what}:\n{}\n", dump.replace("\r\n", "\n"));
        s.test.logger.log(Level::Info, &msg, &fields);
    };
    log("Request", &d.request);
    if let Some(r) = &d.response {
        log("Response", r);
    }
}

fn emit_hop(s: &Rc<VuState>, sh: &Shaped, hop: &Hop) {
    let sys = &s.test.http.system_tags;
    let url_tag = match &sh.name {
        Some(n) => Cow::Borrowed(n.as_str()),
        None => strip_userinfo(&hop.url),
    };
    // The 401 answering digest auth's first leg is part of the protocol.
    let expected = if hop.auth_challenge {
        sh.expected.as_ref().map(|_| true)
    } else {
        is_expected(&sh.expected, hop.status)
    };
    let mut status = itoa::Buffer::new();
    let status = status.format(hop.status);
    let code = hop.error.as_ref().map(|e| e.code.to_string());
    let mut extra: SmallVec<[(&str, &str); 12]> = SmallVec::new();
    let mut tag = |k: &'static str, v| {
        if sys.contains(k) {
            extra.push((k, v));
        }
    };
    tag("method", hop.method.as_str());
    tag("url", &url_tag);
    tag("name", &url_tag);
    tag("status", status);
    tag("proto", hop.proto);
    if let Some(e) = expected {
        tag("expected_response", if e { "true" } else { "false" });
    }
    if let (Some(err), Some(code)) = (&hop.error, &code) {
        tag("error", &err.message);
        tag("error_code", code);
    }
    if !hop.tls_version.is_empty() {
        tag("tls_version", hop.tls_version);
    }
    if !hop.ocsp_status.is_empty() {
        tag("ocsp_status", hop.ocsp_status);
    }
    extra.extend(sh.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let tags = s.tags_with(&extra);
    let t = &hop.timings;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let now = now_ns();
    let e = &s.emitter;
    e.emit(Builtin::HttpReqs.metric(), &tags, 1.0, now);
    e.emit(
        Builtin::HttpReqDuration.metric(),
        &tags,
        ms(t.duration()),
        now,
    );
    e.emit(Builtin::HttpReqBlocked.metric(), &tags, ms(t.blocked), now);
    e.emit(
        Builtin::HttpReqConnecting.metric(),
        &tags,
        ms(t.connecting),
        now,
    );
    e.emit(
        Builtin::HttpReqTlsHandshaking.metric(),
        &tags,
        ms(t.tls_handshaking),
        now,
    );
    e.emit(Builtin::HttpReqSending.metric(), &tags, ms(t.sending), now);
    e.emit(Builtin::HttpReqWaiting.metric(), &tags, ms(t.waiting), now);
    e.emit(
        Builtin::HttpReqReceiving.metric(),
        &tags,
        ms(t.receiving),
        now,
    );
    if let Some(ok) = expected {
        e.emit(
            Builtin::HttpReqFailed.metric(),
            &tags,
            if ok { 0.0 } else { 1.0 },
            now,
        );
    }
    s.bytes_sent.set(s.bytes_sent.get() + hop.bytes_sent);
    s.bytes_received
        .set(s.bytes_received.get() + hop.bytes_received);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_statuses_default_range() {
        let e = Some(vec![(200, 399)]);
        assert_eq!(is_expected(&e, 302), Some(true));
        assert_eq!(is_expected(&e, 404), Some(false));
        assert_eq!(is_expected(&None, 404), None);
    }
}
