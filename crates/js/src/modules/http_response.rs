//! The `Response` of `k6/http` as a native class: the request's outcome stays
//! on the Rust side and each property is built on first access (and cached),
//! so a script that only reads `res.status` pays for nothing else.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use rquickjs::class::Trace;
use rquickjs::{Array, Ctx, JsLifetime, Object, Result, Value};
use stampede_http::{HeaderList, HttpError, RequestCookie, ResponseCookie, Timings, TlsInfo};

use crate::bytes::array_buffer;

/// How the body is exposed (`responseType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ResponseType {
    Text,
    Binary,
    None,
}

/// Everything a request produced, kept until the script reads it.
pub(crate) struct ResponseParts {
    pub status: u16,
    pub status_text: String,
    pub proto: &'static str,
    /// The final URL, shown without credentials.
    pub url: url::Url,
    pub body: Bytes,
    pub body_type: ResponseType,
    /// No response at all (a transport error): the body is `null`.
    pub failed: bool,
    pub headers: HeaderList,
    pub cookies: Vec<ResponseCookie>,
    pub timings: Timings,
    pub error: Option<HttpError>,
    pub remote: Option<SocketAddr>,
    pub tls: Option<TlsInfo>,
    pub request: RequestParts,
}

/// The request as `res.request` shows it.
pub(crate) struct RequestParts {
    pub method: String,
    /// The last hop's URL (none when the request never went out), shown
    /// without credentials.
    pub url: Option<url::Url>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub cookies: Vec<RequestCookie>,
}

/// Values built on first access.
#[derive(Default, JsLifetime)]
struct Cache<'js> {
    body: Option<Value<'js>>,
    headers: Option<Object<'js>>,
    cookies: Option<Object<'js>>,
    timings: Option<Object<'js>>,
    request: Option<Object<'js>>,
    ocsp: Option<Object<'js>>,
}

impl<'js> Trace<'js> for Cache<'js> {
    fn trace<'a>(&self, tracer: rquickjs::class::Tracer<'a, 'js>) {
        if let Some(v) = &self.body {
            v.trace(tracer);
        }
        for o in [
            &self.headers,
            &self.cookies,
            &self.timings,
            &self.request,
            &self.ocsp,
        ]
        .into_iter()
        .flatten()
        {
            o.trace(tracer);
        }
    }
}

/// A `k6/http` Response.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "Response")]
pub(crate) struct Response<'js> {
    #[qjs(skip_trace)]
    parts: Box<ResponseParts>,
    cache: Cache<'js>,
}

impl Response<'_> {
    pub(crate) fn new(parts: ResponseParts) -> Self {
        Self {
            parts: Box::new(parts),
            cache: Cache::default(),
        }
    }
}

/// `u` as k6 shows URLs: without user name and password.
pub(crate) fn strip_userinfo(u: &url::Url) -> Cow<'_, str> {
    if u.username().is_empty() && u.password().is_none() {
        return Cow::Borrowed(u.as_str());
    }
    let mut c = u.clone();
    let _ = c.set_username("");
    let _ = c.set_password(None);
    Cow::Owned(c.as_str().to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `{name: [values]}`, the shape k6 gives request headers and cookies.
fn multi<'js>(
    ctx: &Ctx<'js>,
    pairs: impl Iterator<Item = (String, Value<'js>)>,
) -> Result<Object<'js>> {
    let o = Object::new(ctx.clone())?;
    for (k, v) in pairs {
        let list: Array = match o.get::<_, Option<Array>>(k.as_str())? {
            Some(a) => a,
            None => {
                let a = Array::new(ctx.clone())?;
                o.set(k.as_str(), a.clone())?;
                a
            }
        };
        list.set(list.len(), v)?;
    }
    Ok(o)
}

#[rquickjs::methods]
impl<'js> Response<'js> {
    #[qjs(get, enumerable)]
    fn status(&self) -> u16 {
        self.parts.status
    }

    #[qjs(get, enumerable)]
    fn status_text(&self) -> String {
        self.parts.status_text.clone()
    }

    #[qjs(get, enumerable)]
    fn proto(&self) -> &'static str {
        self.parts.proto
    }

    #[qjs(get, enumerable)]
    fn url(&self) -> String {
        strip_userinfo(&self.parts.url).into_owned()
    }

    #[qjs(get, enumerable)]
    fn error(&self) -> String {
        self.parts
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    }

    #[qjs(get, enumerable)]
    fn error_code(&self) -> u32 {
        self.parts.error.as_ref().map(|e| e.code).unwrap_or(0)
    }

    #[qjs(get, enumerable)]
    fn remote_ip(&self) -> String {
        self.parts
            .remote
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    }

    #[qjs(get, enumerable)]
    fn remote_port(&self) -> u16 {
        self.parts.remote.map(|a| a.port()).unwrap_or(0)
    }

    #[qjs(get, enumerable)]
    fn tls_version(&self) -> &'static str {
        self.parts.tls.as_ref().map(|t| t.version).unwrap_or("")
    }

    #[qjs(get, enumerable)]
    fn tls_cipher_suite(&self) -> String {
        self.parts
            .tls
            .as_ref()
            .map(|t| t.cipher_suite.clone())
            .unwrap_or_default()
    }

    #[qjs(get, enumerable)]
    fn body(&mut self, ctx: Ctx<'js>) -> Result<Value<'js>> {
        if let Some(v) = &self.cache.body {
            return Ok(v.clone());
        }
        let p = &self.parts;
        let v = if p.failed {
            Value::new_null(ctx)
        } else {
            match p.body_type {
                ResponseType::None => Value::new_null(ctx),
                ResponseType::Binary => array_buffer(&ctx, p.body.to_vec())?,
                ResponseType::Text => {
                    rquickjs::String::from_str(ctx, &String::from_utf8_lossy(&p.body))?.into_value()
                }
            }
        };
        self.cache.body = Some(v.clone());
        Ok(v)
    }

    #[qjs(set, rename = "body")]
    fn set_body(&mut self, v: Value<'js>) {
        self.cache.body = Some(v);
    }

    #[qjs(get, enumerable)]
    fn headers(&mut self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        if let Some(o) = &self.cache.headers {
            return Ok(o.clone());
        }
        let o = Object::new(ctx)?;
        for (k, v) in &self.parts.headers {
            o.set(k, v)?;
        }
        self.cache.headers = Some(o.clone());
        Ok(o)
    }

    #[qjs(get, enumerable)]
    fn cookies(&mut self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        if let Some(o) = &self.cache.cookies {
            return Ok(o.clone());
        }
        let mut pairs = Vec::with_capacity(self.parts.cookies.len());
        for c in &self.parts.cookies {
            let co = Object::new(ctx.clone())?;
            co.set("name", c.name.as_str())?;
            co.set("value", c.value.as_str())?;
            co.set("domain", c.domain.as_str())?;
            co.set("path", c.path.as_str())?;
            co.set("http_only", c.http_only)?;
            co.set("secure", c.secure)?;
            co.set("max_age", c.max_age)?;
            co.set("expires", c.expires.unwrap_or(0))?;
            pairs.push((c.name.clone(), co.into_value()));
        }
        let o = multi(&ctx, pairs.into_iter())?;
        self.cache.cookies = Some(o.clone());
        Ok(o)
    }

    #[qjs(get, enumerable)]
    fn timings(&mut self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        if let Some(o) = &self.cache.timings {
            return Ok(o.clone());
        }
        let t = &self.parts.timings;
        let o = Object::new(ctx)?;
        o.set("blocked", ms(t.blocked))?;
        o.set("connecting", ms(t.connecting))?;
        o.set("tls_handshaking", ms(t.tls_handshaking))?;
        o.set("sending", ms(t.sending))?;
        o.set("waiting", ms(t.waiting))?;
        o.set("receiving", ms(t.receiving))?;
        o.set("duration", ms(t.duration()))?;
        self.cache.timings = Some(o.clone());
        Ok(o)
    }

    #[qjs(get, enumerable)]
    fn ocsp(&mut self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        if let Some(o) = &self.cache.ocsp {
            return Ok(o.clone());
        }
        // k6: zero values without TLS; status `unknown` (and zero times)
        // when the server stapled no response k6 can read.
        let (status, ocsp) = match &self.parts.tls {
            None => ("", None),
            Some(t) => (t.ocsp_status(), t.ocsp),
        };
        let times = ocsp.map_or([0; 4], |o| {
            [o.produced_at, o.this_update, o.next_update, o.revoked_at]
        });
        // In k6's order (its struct's fields).
        let o = Object::new(ctx)?;
        o.set("produced_at", times[0])?;
        o.set("this_update", times[1])?;
        o.set("next_update", times[2])?;
        o.set("revoked_at", times[3])?;
        o.set(
            "revocation_reason",
            ocsp.map_or("", |o| o.revocation_reason),
        )?;
        o.set("status", status)?;
        self.cache.ocsp = Some(o.clone());
        Ok(o)
    }

    #[qjs(get, enumerable)]
    fn request(&mut self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        if let Some(o) = &self.cache.request {
            return Ok(o.clone());
        }
        let r = &self.parts.request;
        let o = Object::new(ctx.clone())?;
        o.set("method", r.method.as_str())?;
        o.set(
            "url",
            r.url
                .as_ref()
                .map_or(Cow::Borrowed(""), strip_userinfo)
                .as_ref(),
        )?;
        let headers = multi(
            &ctx,
            r.headers
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        rquickjs::String::from_str(ctx.clone(), v)?.into_value(),
                    ))
                })
                .collect::<Result<Vec<_>>>()?
                .into_iter(),
        )?;
        o.set("headers", headers)?;
        o.set("body", String::from_utf8_lossy(&r.body).into_owned())?;
        let mut cookies = Vec::with_capacity(r.cookies.len());
        for c in &r.cookies {
            let co = Object::new(ctx.clone())?;
            co.set("name", c.name.as_str())?;
            co.set("value", c.value.as_str())?;
            co.set("replace", c.replace)?;
            cookies.push((c.name.clone(), co.into_value()));
        }
        o.set("cookies", multi(&ctx, cookies.into_iter())?)?;
        self.cache.request = Some(o.clone());
        Ok(o)
    }

    /// `JSON.stringify(res)` shows every field, as k6's plain object does.
    #[qjs(rename = "toJSON")]
    fn json_view(&mut self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        let o = Object::new(ctx.clone())?;
        o.set("status", self.status())?;
        o.set("status_text", self.status_text())?;
        o.set("proto", self.proto())?;
        o.set("url", self.url())?;
        o.set("body", self.body(ctx.clone())?)?;
        o.set("headers", self.headers(ctx.clone())?)?;
        o.set("cookies", self.cookies(ctx.clone())?)?;
        o.set("timings", self.timings(ctx.clone())?)?;
        o.set("error", self.error())?;
        o.set("error_code", self.error_code())?;
        o.set("remote_ip", self.remote_ip())?;
        o.set("remote_port", self.remote_port())?;
        o.set("tls_version", self.tls_version())?;
        o.set("tls_cipher_suite", self.tls_cipher_suite())?;
        o.set("ocsp", self.ocsp(ctx.clone())?)?;
        o.set("request", self.request(ctx)?)?;
        Ok(o)
    }
}
