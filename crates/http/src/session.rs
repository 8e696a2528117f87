//! A VU's [`Session`]: its keep-alive connections, DNS cache, and the request
//! loop (redirects, digest auth, cookies) that turns a [`Request`] into an
//! [`Exchange`].

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use tokio::net::TcpStream;
use url::Url;

use crate::config::ClientInner;
use crate::conn::{Conn, Counted, KeyRef, Stream};
use crate::cookies::{parse_set_cookie, CookieJar};
use crate::deadline::Timers;
use crate::dns::{self, DnsCache};
use crate::error::{code, HttpError};
use crate::h1::{self, Marks, RawResponse};
use crate::h2::{self, H2Conn};
use crate::header_list::HeaderList;
use crate::headers::{has_header, prepare_headers, take_header};
use crate::hop::{HopParams, HopState};
use crate::request::{Auth, Request};
use crate::response::{Exchange, Hop, Response, Timings};

/// Per-VU HTTP state: idle keep-alive connections and resolved names.
///
/// Requests take `&self`, so several may be in flight at once (`http.batch`):
/// a request takes a connection out of the pool for its duration and puts it
/// back when the response is complete and the connection reusable. Nothing is
/// borrowed across an await. Futures are not `Send`; run them on the VU's
/// current-thread runtime. No task is spawned. The session keeps timers of
/// that runtime for its requests' deadlines (see `deadline`), so it stays
/// on one runtime, as a VU does.
pub struct Session {
    inner: Arc<ClientInner>,
    state: RefCell<State>,
    dns: RefCell<DnsCache>,
    timers: Timers,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("idle", &self.state.borrow().idle.len())
            .finish()
    }
}

#[derive(Default)]
struct State {
    /// Boxed: a connection moves between the pool and a hop several times
    /// per request, and a pointer is cheaper to move than 300 bytes.
    #[allow(clippy::vec_box)]
    idle: Vec<Box<Conn>>,
    /// HTTP/2 connections stay here while in use: requests share them.
    h2: Vec<H2Conn>,
}

/// How a hop reaches the server.
enum Via {
    /// The HTTP/1 connection in `HopState::conn`.
    H1,
    /// A handle on a shared HTTP/2 connection.
    H2(hyper::client::conn::http2::SendRequest<http_body_util::Full<Bytes>>),
}

/// A freshly established connection.
enum Connected {
    H1(Box<Conn>),
    H2(H2Conn),
}

impl Session {
    pub(crate) fn new(inner: Arc<ClientInner>) -> Self {
        Session {
            inner,
            state: RefCell::new(State::default()),
            dns: RefCell::default(),
            timers: Timers::default(),
        }
    }

    /// Closes every idle connection (k6 `noVUConnectionReuse` at each
    /// iteration start). Requests in flight keep theirs until they finish.
    pub fn reset_connections(&self) {
        let mut state = self.state.borrow_mut();
        state.idle.clear();
        state.h2.clear();
    }

    /// Number of idle HTTP/1 keep-alive connections plus open HTTP/2 ones.
    pub fn idle_connections(&self) -> usize {
        let state = self.state.borrow();
        state.idle.len() + state.h2.len()
    }

    /// Performs a request with its redirects and auth legs and reports every
    /// hop. Never fails: errors are in the hops and the response, as in k6.
    pub async fn request(&self, req: Request, jar: Option<&CookieJar>) -> Exchange {
        // One clock reading starts the whole request and its first hop.
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started) + req.timeout;
        let mut hop_start = Some(started);
        let cfg = &self.inner.cfg;
        let Request {
            method,
            url,
            mut headers,
            body,
            max_redirects,
            auth,
            compression,
            discard_body,
            cookies,
            ..
        } = req;

        let mut hops: Vec<Hop> = Vec::with_capacity(1);
        if let Err(e) = prepare_headers(&mut headers) {
            return error_exchange(hops, method, url, e);
        }
        if url.scheme() != "http" && url.scheme() != "https" {
            let e = HttpError::plain(
                code::GENERIC,
                format!("unsupported protocol scheme {:?}", url.scheme()),
            );
            return error_exchange(hops, method, url, e);
        }

        let mut host_override = take_header(&mut headers, "Host");
        take_header(&mut headers, "Content-Length");
        let user_cookie = take_header(&mut headers, "Cookie");
        let user_has_auth = has_header(&headers, "Authorization");
        let user_has_referer = has_header(&headers, "Referer");
        let user_agent = if has_header(&headers, "User-Agent") {
            None
        } else {
            cfg.user_agent.as_deref()
        };
        let mut content_encoding = None;
        let mut body = body;
        if !compression.is_empty() && !body.is_empty() {
            // The hops start after the compression, as k6's timings do.
            hop_start = None;
            match crate::compress::compress(&body, &compression) {
                Ok((b, enc)) => {
                    body = b;
                    if !has_header(&headers, "Content-Encoding") {
                        content_encoding = Some(enc);
                    }
                }
                Err(e) => {
                    let e = HttpError::plain(code::GENERIC, e.to_string());
                    return error_exchange(hops, method, url, e);
                }
            }
        }
        let max_redirects = max_redirects.unwrap_or(cfg.max_redirects);
        // Made at the first redirect (while `url` is still the first one).
        let mut initial_host: Option<String> = None;

        let mut method = method;
        let mut url = url;
        let mut redirects = 0u32;
        let mut referer: Option<String> = None;
        let mut digest_answer: Option<String> = None;
        let mut strip_sensitive = false;
        // Go sends basic credentials where the URL carries them: the first
        // hop and relative redirects (which inherit the userinfo).
        let mut carry_basic = true;
        let mut cookie = String::new();

        loop {
            // Authorization for this hop.
            let answering_digest = digest_answer.is_some();
            let authorization = if user_has_auth && !strip_sensitive {
                None
            } else if let Some(a) = digest_answer.take() {
                Some(a)
            } else {
                match &auth {
                    Some(Auth::Basic { user, pass }) if carry_basic => Some(basic(user, pass)),
                    Some(Auth::Digest { .. }) => None,
                    _ if !url.username().is_empty() || url.password().is_some() => {
                        let user = percent_decode(url.username());
                        let pass = percent_decode(url.password().unwrap_or(""));
                        Some(basic(&user, &pass))
                    }
                    _ => None,
                }
            };
            cookie.clear();
            // With a jar, k6 rebuilds Cookie on each redirect from the jar and
            // the cookies param only, so a Cookie header goes on the first hop.
            if let Some(c) = &user_cookie {
                if redirects == 0 || (jar.is_none() && !strip_sensitive) {
                    cookie.push_str(c);
                }
            }
            CookieJar::header_value(jar, &url, &cookies, &mut cookie);

            let params = HopParams {
                method: &method,
                url: &url,
                host_override: host_override.as_deref(),
                headers: &headers,
                strip_sensitive,
                user_agent,
                authorization: authorization.as_deref(),
                cookie: &cookie,
                referer: referer.as_deref(),
                content_encoding: content_encoding.as_deref(),
                body: &body,
                collect: !discard_body,
                close: cfg.no_connection_reuse,
            };
            let start = hop_start.take().unwrap_or_else(Instant::now);
            let (mut hop, outcome) = self.hop(&params, start, deadline).await;
            let (raw, tls) = match outcome {
                Ok(r) => r,
                Err((e, partial)) => {
                    hop.error = Some(e.clone());
                    let timings = hop.timings;
                    let remote = hop.remote;
                    hops.push(hop);
                    let mut response = failed_response(url, timings, remote, e);
                    response.body = partial;
                    return Exchange {
                        hops,
                        response,
                        redirect_limit_reached: false,
                    };
                }
            };
            if let Some(jar) = jar {
                for sc in &raw.set_cookies {
                    jar.set_from_header(&url, sc);
                }
            }

            // Digest: answer the first 401 challenge once.
            if let (Some(Auth::Digest { user, pass }), 401, false) =
                (&auth, raw.status, answering_digest)
            {
                if let Some(ch) = crate::digest::find_challenge(&raw.www_authenticate) {
                    let uri = request_target(&url);
                    digest_answer = Some(crate::digest::authorization(
                        &ch,
                        user,
                        pass,
                        method.as_str(),
                        &uri,
                        &crate::digest::cnonce(),
                    ));
                    hop.auth_challenge = true;
                    hops.push(hop);
                    continue;
                }
            }

            let location = match raw.status {
                301 | 302 | 303 | 307 | 308 => raw.header("Location"),
                _ => None,
            };
            if let Some(loc) = location {
                if redirects >= max_redirects {
                    hops.push(hop);
                    return self.finish(hops, url, raw, tls, discard_body, true);
                }
                let next = match url.join(loc) {
                    Ok(n) => n,
                    Err(err) => {
                        let e = HttpError::plain(
                            code::GENERIC,
                            format!("failed to parse Location header {loc:?}: {err}"),
                        );
                        hop.error = Some(e.clone());
                        let (timings, remote) = (hop.timings, hop.remote);
                        hops.push(hop);
                        return Exchange {
                            hops,
                            response: failed_response(url, timings, remote, e),
                            redirect_limit_reached: false,
                        };
                    }
                };
                // Go: 301/302/303 turn anything but GET/HEAD into a body-less GET.
                if matches!(raw.status, 301..=303)
                    && method != Method::GET
                    && method != Method::HEAD
                {
                    method = Method::GET;
                    // Headers, Content-Encoding included, are still copied.
                    body = Bytes::new();
                }
                // Go keeps a custom Host and the URL's credentials only for
                // relative redirects.
                if Url::parse(loc).is_ok() {
                    host_override = None;
                    carry_basic = false;
                }
                let initial_host = initial_host
                    .get_or_insert_with(|| url.host_str().unwrap_or("").to_ascii_lowercase());
                let next_host = next.host_str().unwrap_or("").to_ascii_lowercase();
                strip_sensitive =
                    !(next_host == *initial_host || has_dot_suffix(&next_host, initial_host));
                if !user_has_referer {
                    referer = referer_for(&url, &next);
                }
                hops.push(hop);
                url = next;
                redirects += 1;
                continue;
            }
            hops.push(hop);
            return self.finish(hops, url, raw, tls, discard_body, false);
        }
    }

    fn finish(
        &self,
        mut hops: Vec<Hop>,
        url: Url,
        raw: Box<RawResponse>,
        tls: Option<crate::response::TlsInfo>,
        discard: bool,
        limit_reached: bool,
    ) -> Exchange {
        let last = hops.last().expect("at least one hop");
        let (timings, remote) = (last.timings, last.remote);
        let mut raw = raw;
        let mut body = std::mem::take(&mut raw.body);
        let mut error = None;
        if !discard && !body.is_empty() && raw.headers.contains("Content-Encoding") {
            if let Some(ce) = raw.header("Content-Encoding") {
                match crate::compress::decompress(body.clone(), ce) {
                    Ok(b) => body = b,
                    Err(e) => {
                        if let Some(h) = hops.last_mut() {
                            h.error = Some(e.clone());
                        }
                        error = Some(e);
                    }
                }
            }
        }
        if let Some(e) = error {
            // k6 reports a decompression failure with status 0 on the response.
            let mut r = failed_response(url, timings, remote, e);
            r.tls = tls;
            return Exchange {
                hops,
                response: r,
                redirect_limit_reached: limit_reached,
            };
        }
        let cookies = raw
            .set_cookies
            .iter()
            .filter_map(|s| parse_set_cookie(s))
            .map(|c| c.into_response_cookie())
            .collect();
        let response = Box::new(Response {
            status: raw.status,
            status_text: raw.status_text,
            proto: raw.proto,
            headers: raw.headers,
            body,
            url,
            timings,
            error: None,
            remote,
            tls,
            cookies,
        });
        Exchange {
            hops,
            response,
            redirect_limit_reached: limit_reached,
        }
    }

    /// One request on the wire, started at `start` and bounded by the
    /// deadline.
    async fn hop(
        &self,
        p: &HopParams<'_>,
        start: Instant,
        deadline: tokio::time::Instant,
    ) -> (
        Hop,
        Result<(Box<RawResponse>, Option<crate::response::TlsInfo>), (HttpError, Bytes)>,
    ) {
        let mut st = HopState {
            start,
            got_conn: None,
            connect: None,
            tls: None,
            marks: Marks::default(),
            conn: None,
            counters: None,
            counters_at_start: (0, 0),
            remote: None,
            tls_info: None,
            reused: false,
        };
        // A deadline already passed (a zero timeout, or `Infinity`, which
        // converts as in Go to a negative one) fails before dialing, as in
        // k6; a timer would first try the connection. (The hop's start
        // is the clock reading: none more on the request path.)
        let res = if tokio::time::Instant::from_std(st.start) >= deadline {
            Err(HttpError::timeout())
        } else {
            match self
                .timers
                .within(deadline, self.hop_inner(p, &mut st))
                .await
            {
                Some(r) => r,
                None => Err(HttpError::timeout()),
            }
        };
        let done = Instant::now();
        let timings = st.timings(done);
        let (bytes_sent, bytes_received) = st.bytes();
        let remote = st.remote;
        let tls = st.tls_info.take();
        let (status, proto_str) = match &res {
            Ok(r) => (r.status, r.proto),
            Err(_) => (0, ""),
        };
        if let (Ok(r), Some(mut conn)) = (&res, st.conn.take_if(|_| res.is_ok())) {
            let cfg = &self.inner.cfg;
            if r.keep_alive && !cfg.no_connection_reuse && conn.rbuf.is_empty() {
                conn.served += 1;
                let mut state = self.state.borrow_mut();
                // Go's Transport limits, which k6 sets from batchPerHost and batch:
                // a connection beyond the per-host limit is closed, and beyond the
                // total limit the oldest idle one is.
                let per_host = match cfg.max_idle_conns_per_host {
                    0 => 2,
                    n => n,
                };
                if state.idle.iter().filter(|c| c.key == conn.key).count() < per_host {
                    state.idle.push(conn);
                    if cfg.max_idle_conns != 0 && state.idle.len() > cfg.max_idle_conns {
                        state.idle.remove(0);
                    }
                }
            }
        }
        let hop = Hop {
            method: p.method.clone(),
            url: p.url.clone(),
            status,
            proto: proto_str,
            timings,
            error: None,
            bytes_sent,
            bytes_received,
            remote,
            auth_challenge: false,
            tls_version: tls.as_ref().map_or("", |t| t.version),
            ocsp_status: match (&tls, &res) {
                (Some(t), Ok(_)) => t.ocsp_status(),
                _ => "",
            },
            debug: crate::debug::dump(self.inner.cfg.debug, p, res.as_deref().ok()),
        };
        let res = match res {
            Ok(r) => Ok((r, tls)),
            Err(e) => {
                // k6 keeps what it read of a body that failed.
                let partial = match st.conn.as_mut() {
                    Some(c) if st.marks.in_plain_body => c.rbuf.split().freeze(),
                    _ => Bytes::new(),
                };
                Err((e, partial))
            }
        };
        (hop, res)
    }

    async fn hop_inner(
        &self,
        p: &HopParams<'_>,
        st: &mut HopState,
    ) -> Result<Box<RawResponse>, HttpError> {
        let key = pool_key(p.url)?;
        let mut retried = false;
        loop {
            let res = match self.acquire(&key, st).await? {
                Via::H1 => {
                    let conn = st.conn.as_mut().expect("connection acquired");
                    let inline = h1::inline_body(p.body.len());
                    h1::encode_head(&mut conn.wbuf, p, inline);
                    async {
                        h1::send(conn, p.body, inline, &mut st.marks).await?;
                        h1::receive(conn, *p.method == Method::HEAD, p.collect, &mut st.marks).await
                    }
                    .await
                }
                Via::H2(mut sender) => {
                    let res = h2::round_trip(&mut sender, p, &mut st.marks).await;
                    if p.close {
                        self.state.borrow_mut().h2.retain(|c| !c.key.is(&key));
                    }
                    res
                }
            };
            match res {
                // A kept-alive connection the server had already closed: Go
                // retries such requests on a new connection, and so do we.
                Err(e) if st.reused && !retried && st.marks.first_byte.is_none() && stale(&e) => {
                    retried = true;
                    st.conn = None;
                    self.state.borrow_mut().h2.retain(|c| !c.key.is(&key));
                    st.marks = Marks::default();
                }
                other => return other,
            }
        }
    }

    /// Gets a connection for `key`: a shared HTTP/2 one, an idle HTTP/1 one
    /// (into `st.conn`), else a new one.
    async fn acquire(&self, key: &KeyRef<'_>, st: &mut HopState) -> Result<Via, HttpError> {
        let (h2, idle) = {
            let mut state = self.state.borrow_mut();
            state.h2.retain(|c| !c.sender.is_closed());
            let h2 = state.h2.iter().find(|c| c.key.is(key)).map(|c| {
                (
                    c.sender.clone(),
                    c.counters.clone(),
                    c.remote,
                    c.tls.clone(),
                )
            });
            let idle = match h2 {
                Some(_) => None,
                None => state
                    .idle
                    .iter()
                    .rposition(|c| c.key.is(key))
                    .map(|i| state.idle.remove(i)),
            };
            (h2, idle)
        };
        let via = if let Some((sender, counters, remote, tls)) = h2 {
            st.reused = true;
            st.counters_at_start = counters.get();
            st.counters = Some(counters);
            st.remote = Some(remote);
            st.tls_info = tls;
            Via::H2(sender)
        } else {
            let connected = match idle {
                Some(c) => {
                    st.reused = true;
                    Connected::H1(c)
                }
                None => {
                    st.reused = false;
                    Box::pin(self.connect(key, st)).await?
                }
            };
            match connected {
                Connected::H1(conn) => {
                    let counters = conn.stream.shared_counters().clone();
                    // A new connection's handshake bytes belong to its first request.
                    st.counters_at_start = if st.reused { counters.get() } else { (0, 0) };
                    st.counters = Some(counters);
                    st.remote = Some(conn.remote);
                    st.tls_info = conn.tls.clone();
                    st.conn = Some(conn);
                    Via::H1
                }
                Connected::H2(c) => {
                    st.counters_at_start = (0, 0);
                    st.counters = Some(c.counters.clone());
                    st.remote = Some(c.remote);
                    st.tls_info = c.tls.clone();
                    let sender = c.sender.clone();
                    self.state.borrow_mut().h2.push(c);
                    Via::H2(sender)
                }
            }
        };
        st.got_conn = Some(Instant::now());
        Ok(via)
    }

    async fn connect(&self, key: &KeyRef<'_>, st: &mut HopState) -> Result<Connected, HttpError> {
        let addr = self.resolve(key.host, key.port).await?;
        let t0 = Instant::now();
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| HttpError::dial(addr, &e))?;
        st.connect = Some((t0, Instant::now()));
        // Requests go out in one write; Nagle would only delay them.
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().ok();
        let counted = Counted::new(tcp);
        let (stream, info) = if key.tls {
            let t1 = Instant::now();
            let bare = key.host.trim_start_matches('[').trim_end_matches(']');
            let name = rustls::pki_types::ServerName::try_from(bare.to_string()).map_err(|_| {
                HttpError::plain(code::TLS, format!("tls: invalid server name {bare:?}"))
            })?;
            let tls = self
                .inner
                .tls
                .connect(name, counted)
                .await
                .map_err(|e| HttpError::tls(&e))?;
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let info = self.inner.tls.info(tls.get_ref().1);
            let stream = Stream::Tls(Box::new(tls));
            if h2 {
                // Go's GotConn comes after the HTTP/2 preface and settings, so
                // they count as part of the TLS handshake phase.
                let c = h2::handshake(stream, key.owned(), addr, info).await?;
                st.tls = Some((t1, Instant::now()));
                return Ok(Connected::H2(c));
            }
            st.tls = Some((t1, Instant::now()));
            (stream, info)
        } else {
            (Stream::Plain(counted), None)
        };
        Ok(Connected::H1(Box::new(Conn::new(
            stream,
            key.owned(),
            addr,
            local,
            info,
        ))))
    }

    async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, HttpError> {
        dns::resolve(&self.inner.cfg, host, port, Some(&self.dns)).await
    }
}

/// Errors that mean a reused connection was closed by the server while idle.
fn stale(e: &HttpError) -> bool {
    e.code == code::TCP_RESET_BY_PEER
        || e.code == code::TCP_BROKEN_PIPE
        || (e.code == code::GENERIC && e.message == "EOF")
}

/// The pool key of an `http`/`https` URL (whose host the URL parser has
/// already lowercased).
fn pool_key(url: &Url) -> Result<KeyRef<'_>, HttpError> {
    let tls = url.scheme() == "https";
    let host = url
        .host_str()
        .ok_or_else(|| HttpError::plain(code::INVALID_URL, "invalid URL"))?;
    let port = url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    Ok(KeyRef { tls, host, port })
}

/// `200 OK`: the status line as k6 shows it.
fn request_target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{}", url.path(), q),
        None => url.path().to_string(),
    }
}

fn has_dot_suffix(s: &str, suffix: &str) -> bool {
    s.len() > suffix.len()
        && s.ends_with(suffix)
        && s.as_bytes()[s.len() - suffix.len() - 1] == b'.'
}

/// Go's `refererForURL`: none from https to http, userinfo stripped.
fn referer_for(last: &Url, next: &Url) -> Option<String> {
    if last.scheme() == "https" && next.scheme() == "http" {
        return None;
    }
    let mut r = last.clone();
    let _ = r.set_username("");
    let _ = r.set_password(None);
    Some(r.to_string())
}

fn basic(user: &str, pass: &str) -> String {
    use base64::Engine as _;
    let raw = format!("{user}:{pass}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn failed_response(
    url: Url,
    timings: Timings,
    remote: Option<SocketAddr>,
    e: HttpError,
) -> Box<Response> {
    Box::new(Response {
        status: 0,
        status_text: String::new(),
        proto: "",
        headers: HeaderList::new(),
        body: Bytes::new(),
        url,
        timings,
        error: Some(e),
        remote,
        tls: None,
        cookies: Vec::new(),
    })
}

/// An exchange that failed before anything went on the wire: one hop with the
/// error and zero timings, as k6 reports it.
fn error_exchange(mut hops: Vec<Hop>, method: Method, url: Url, e: HttpError) -> Exchange {
    hops.push(Hop {
        method,
        url: url.clone(),
        status: 0,
        proto: "",
        timings: Timings::default(),
        error: Some(e.clone()),
        bytes_sent: 0,
        bytes_received: 0,
        remote: None,
        auth_challenge: false,
        tls_version: "",
        ocsp_status: "",
        debug: None,
    });
    Exchange {
        hops,
        response: failed_response(url, Timings::default(), None, e),
        redirect_limit_reached: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_userinfo() {
        assert_eq!(percent_decode("us%40er"), "us@er");
        assert_eq!(percent_decode("p%3"), "p%3");
        assert_eq!(percent_decode("plain"), "plain");
    }

    #[test]
    fn referer_rules() {
        let a = Url::parse("https://u:p@a/x").unwrap();
        let b = Url::parse("http://b/").unwrap();
        assert_eq!(referer_for(&a, &b), None);
        let c = Url::parse("https://b/").unwrap();
        assert_eq!(referer_for(&a, &c).as_deref(), Some("https://a/x"));
    }
}
