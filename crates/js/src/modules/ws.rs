//! Native part of `k6/ws`: `connect` opens the socket, runs the script's
//! setup function, then blocks the iteration in its own loop over socket
//! events and the socket's timers (as k6, the VU's other timers and
//! operations wait) until the socket closes. Handlers and timers live in
//! JavaScript (`js/ws.js`); this side does the I/O, the metrics and the
//! loop. Also the helpers `k6/experimental/websockets` shares.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::function::This;
use rquickjs::object::Property;
use rquickjs::{Ctx, Exception, Function, Object, Result, Value};
use stampede_http::ws::{self as client, WsClosed, WsConnect, WsEvent, WsRequest, WsSender};
use stampede_metrics::{Builtin, TagSet};

use super::set_fn;
use crate::bytes::{array_buffer, to_bytes};
use crate::coro::suspend;
use crate::host::now_ns;
use crate::state::VuState;

/// What a script passes to either WebSocket API, already shaped by the
/// JavaScript side (headers include the jar's `Cookie`).
pub(crate) struct Params {
    pub headers: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

/// Reads `{ headers, tags }`.
pub(crate) fn params<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<Params> {
    let mut out = Params {
        headers: Vec::new(),
        tags: Vec::new(),
    };
    let Some(p) = v.as_object() else {
        return Ok(out);
    };
    if let Some(h) = p.get::<_, Option<Object>>("headers")? {
        for kv in h.props::<String, Value>() {
            let (k, v) = kv?;
            if v.is_undefined() || v.is_null() {
                continue;
            }
            out.headers
                .push((k, crate::value::to_display_string(ctx, &v)?));
        }
    }
    if let Some(t) = p.get::<_, Option<Value>>("tags")? {
        out.tags = super::k6::js_tags(ctx, Some(t))?;
    }
    Ok(out)
}

/// The tags of a socket's samples: the VU's, the script's, then the system
/// tags k6 adds (only those enabled by `systemTags`).
pub(crate) fn socket_tags(
    s: &VuState,
    custom: &[(String, String)],
    system: &[(&str, &str)],
) -> TagSet {
    let enabled = &s.test.http.system_tags;
    let mut pairs: Vec<(&str, &str)> = custom
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.extend(system.iter().filter(|(k, _)| enabled.contains(k)));
    s.tags_with(&pairs)
}

/// The system tags known once a connection attempt ended.
#[derive(Default)]
pub(crate) struct HandshakeTags {
    ip: String,
    status: Option<(String, String)>,
}

impl HandshakeTags {
    pub fn new(open: &WsConnect) -> Self {
        HandshakeTags {
            ip: open.remote.map(|a| a.ip().to_string()).unwrap_or_default(),
            status: open
                .response
                .as_ref()
                .map(|r| (r.status.to_string(), r.subprotocol.clone())),
        }
    }

    /// `ip`, `status` and `subproto`, as known.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::with_capacity(3);
        if !self.ip.is_empty() {
            out.push(("ip", self.ip.as_str()));
        }
        if let Some((status, subproto)) = &self.status {
            out.push(("status", status.as_str()));
            out.push(("subproto", subproto.as_str()));
        }
        out
    }
}

/// Emits `ws_sessions` and `ws_connecting` for an attempt.
pub(crate) fn emit_connect(s: &VuState, tags: &TagSet, connecting: Duration) {
    let now = now_ns();
    s.emitter.emit(Builtin::WsSessions.metric(), tags, 1.0, now);
    s.emitter.emit(
        Builtin::WsConnecting.metric(),
        tags,
        connecting.as_secs_f64() * 1000.0,
        now,
    );
}

/// Emits `ws_session_duration` and adds the socket's bytes to the VU's
/// `data_sent`/`data_received`.
pub(crate) fn emit_end(s: &VuState, tags: &TagSet, started: Instant, bytes: (u64, u64)) {
    s.emitter.emit(
        Builtin::WsSessionDuration.metric(),
        tags,
        started.elapsed().as_secs_f64() * 1000.0,
        now_ns(),
    );
    s.bytes_sent.set(s.bytes_sent.get() + bytes.0);
    s.bytes_received.set(s.bytes_received.get() + bytes.1);
}

/// Counts one message.
pub(crate) fn emit_count(s: &VuState, metric: Builtin, tags: &TagSet) {
    s.emitter.emit(metric.metric(), tags, 1.0, now_ns());
}

/// Pings sent and not yet answered, by payload (k6 numbers them).
#[derive(Default)]
pub(crate) struct Pings {
    next: Cell<u64>,
    sent: RefCell<Vec<(u64, Instant)>>,
}

impl Pings {
    /// Queues the next ping on `sender`.
    pub fn send(&self, sender: &WsSender) -> std::result::Result<(), client::WsError> {
        let id = self.next.get();
        sender.ping(id.to_string().into_bytes())?;
        self.next.set(id + 1);
        self.sent.borrow_mut().push((id, Instant::now()));
        Ok(())
    }

    /// The round trip of the ping `payload` answers, if it is one of ours.
    pub fn answered(&self, payload: &[u8]) -> Option<Duration> {
        let id: u64 = std::str::from_utf8(payload).ok()?.parse().ok()?;
        let mut sent = self.sent.borrow_mut();
        let i = sent.iter().position(|(p, _)| *p == id)?;
        Some(sent.swap_remove(i).1.elapsed())
    }
}

/// Builds the native part of `k6/ws`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let s = state.clone();
    set_fn(
        &obj,
        "connect",
        move |ctx: Ctx<'js>,
              url: String,
              params: Value<'js>,
              setup: Function<'js>,
              socket: Function<'js>|
              -> Result<Value<'js>> { connect(&ctx, &s, url, params, setup, socket) },
    )?;
    Ok(obj)
}

/// One `ws.connect` session, reachable from the socket's methods.
struct Session {
    state: Rc<VuState>,
    sender: WsSender,
    tags: TagSet,
    closed: Cell<bool>,
    pings: Pings,
}

impl Session {
    /// k6's `closeConnection`: the first call queues the close frame and
    /// reports that the `close` handlers must run.
    fn close(&self, code: u16) -> bool {
        if self.closed.replace(true) {
            return false;
        }
        let _ = self.sender.close(code, "");
        true
    }
}

fn connect<'js>(
    ctx: &Ctx<'js>,
    s: &Rc<VuState>,
    url_text: String,
    params_value: Value<'js>,
    setup: Function<'js>,
    make_socket: Function<'js>,
) -> Result<Value<'js>> {
    if s.in_init() {
        return Err(Exception::throw_message(
            ctx,
            "using websockets in the init context is not supported",
        ));
    }
    let p = params(ctx, &params_value)?;
    let started = Instant::now();
    let url = url::Url::parse(&url_text);
    let open = match url {
        Ok(url) => {
            let mut req = WsRequest::new(url);
            req.headers = p.headers;
            let client = s.test.http.client.clone();
            suspend(move || async move { client::connect(&client, req, None).await })
                .map_err(|_| super::k6::interrupted(ctx))?
        }
        Err(_) => WsConnect {
            connecting: started.elapsed(),
            response: None,
            remote: None,
            socket: Err(client::WsError("malformed ws or wss URL".into())),
            bytes: (0, 0),
        },
    };
    let handshake = HandshakeTags::new(&open);
    let mut system = vec![("url", url_text.as_str())];
    system.extend(handshake.pairs());
    let tags = socket_tags(s, &p.tags, &system);
    emit_connect(s, &tags, open.connecting);
    let response = open.response.clone();
    let set_cookies = response_cookies(&open);
    let socket = match open.socket {
        Ok(sock) => sock,
        Err(e) => {
            emit_end(s, &tags, started, open.bytes);
            if s.test.throw {
                return Err(Exception::throw_message(ctx, &e.0));
            }
            return response_object(ctx, "", response.as_ref(), Some(&e.0), &set_cookies);
        }
    };
    let session = Rc::new(Session {
        state: s.clone(),
        sender: socket.sender(),
        tags,
        closed: Cell::new(false),
        pings: Pings::default(),
    });
    let handle = handle_object(ctx, &session)?;
    let js: Object = make_socket.call((handle,))?;
    let fire: Function = js.get("_fire")?;
    let next_timer: Function = js.get("_nextTimer")?;
    let run_timer: Function = js.get("_runTimer")?;
    let end = |socket: client::WsSocket| {
        let bytes = socket.bytes();
        // Writes the close frame; an interrupted VU just drops the socket.
        let _ = suspend(move || socket.finish());
        emit_end(s, &session.tags, started, bytes);
    };
    // A throwing handler or timer closes the socket (k6: going away), runs
    // the `close` handlers, then the exception goes on.
    let fail = |socket: client::WsSocket, e: rquickjs::Error| -> rquickjs::Error {
        let exc = match e {
            rquickjs::Error::Exception => Some(ctx.catch()),
            _ => None,
        };
        if session.close(1001) {
            let _ = fire.call::<_, ()>((This(js.clone()), "close", 1001));
        }
        end(socket);
        match exc {
            Some(v) => ctx.throw(v),
            None => e,
        }
    };
    if let Err(e) = setup.call::<_, ()>((js.clone(),)) {
        return Err(fail(socket, e));
    }
    let result = response_object(ctx, &url_text, response.as_ref(), None, &set_cookies)?;
    if let Err(e) = fire.call::<_, ()>((This(js.clone()), "open")) {
        return Err(fail(socket, e));
    }
    let mut socket = Some(socket);
    while !session.closed.get() {
        let delay: f64 = next_timer.call((This(js.clone()),))?;
        let mut sock = socket.take().expect("the socket is back after each wait");
        let waited = suspend(move || async move {
            let ev = if delay >= 0.0 {
                tokio::select! {
                    ev = sock.next() => Some(ev),
                    _ = tokio::time::sleep(
                        stampede_config::K6Duration::from_millis_f64(delay).to_std_or_zero(),
                    ) => None,
                }
            } else {
                Some(sock.next().await)
            };
            (sock, ev)
        });
        // Interrupted: the socket was dropped with the wait, closing it.
        let (sock, ev) = waited.map_err(|_| super::k6::interrupted(ctx))?;
        let handled = match ev {
            None => run_timer.call::<_, ()>((This(js.clone()),)),
            Some(ev) => dispatch(ctx, &session, &js, &fire, ev),
        };
        if let Err(e) = handled {
            return Err(fail(sock, e));
        }
        socket = Some(sock);
    }
    if let Some(sock) = socket {
        end(sock);
    }
    Ok(result)
}

/// Runs the handlers of one socket event.
fn dispatch<'js>(
    ctx: &Ctx<'js>,
    session: &Session,
    js: &Object<'js>,
    fire: &Function<'js>,
    ev: WsEvent,
) -> Result<()> {
    let s = &session.state;
    match ev {
        WsEvent::Text(t) => {
            emit_count(s, Builtin::WsMsgsReceived, &session.tags);
            fire.call((This(js.clone()), "message", t))
        }
        WsEvent::Binary(b) => {
            emit_count(s, Builtin::WsMsgsReceived, &session.tags);
            fire.call((
                This(js.clone()),
                "binaryMessage",
                array_buffer(ctx, b.to_vec())?,
            ))
        }
        WsEvent::Ping(_) => fire.call((This(js.clone()), "ping")),
        WsEvent::Pong(payload) => {
            if let Some(rtt) = session.pings.answered(&payload) {
                s.emitter.emit(
                    Builtin::WsPing.metric(),
                    &session.tags,
                    rtt.as_secs_f64() * 1000.0,
                    now_ns(),
                );
            }
            fire.call((This(js.clone()), "pong"))
        }
        WsEvent::Closed(how) => {
            // gorilla reports closes other than normal and going away as
            // errors; read failures that are not closes end silently.
            let code = how.code();
            let unexpected = match &how {
                WsClosed::Frame { code, .. } => *code != 1000 && *code != 1001,
                WsClosed::Abnormal | WsClosed::WriteFailed(_) => true,
                WsClosed::ReadFailed(_) => false,
            };
            if unexpected {
                let (c, reason) = match &how {
                    WsClosed::Frame { code, reason } => (Some(*code), reason.clone()),
                    WsClosed::Abnormal => (Some(1006), "unexpected EOF".to_string()),
                    _ => (None, String::new()),
                };
                fire.call::<_, ()>((This(js.clone()), "error", how.error_text(), c, reason))?;
            }
            let code = code.unwrap_or(1001);
            if session.close(code) {
                fire.call::<_, ()>((This(js.clone()), "close", code))?;
            }
            Ok(())
        }
    }
}

/// The socket's native methods, for `js/ws.js`'s `Socket`.
fn handle_object<'js>(ctx: &Ctx<'js>, session: &Rc<Session>) -> Result<Object<'js>> {
    let h = Object::new(ctx.clone())?;
    let se = session.clone();
    set_fn(&h, "send", move |text: String| -> Option<String> {
        let r = se.sender.text(text).err().map(|e| e.0);
        emit_count(&se.state, Builtin::WsMsgsSent, &se.tags);
        r
    })?;
    let se = session.clone();
    set_fn(
        &h,
        "sendBinary",
        move |ctx: Ctx<'js>, data: Value<'js>| -> Result<Option<String>> {
            let bytes = to_bytes(&ctx, &data)?;
            let r = se.sender.binary(bytes).err().map(|e| e.0);
            emit_count(&se.state, Builtin::WsMsgsSent, &se.tags);
            Ok(r)
        },
    )?;
    let se = session.clone();
    set_fn(&h, "ping", move || -> Option<String> {
        se.pings.send(&se.sender).err().map(|e| e.0)
    })?;
    let se = session.clone();
    set_fn(&h, "close", move |code: f64| -> bool {
        se.close(code.clamp(0.0, u16::MAX as f64) as u16)
    })?;
    Ok(h)
}

/// The `Set-Cookie` lines of a handshake response, for the jar.
pub(crate) fn response_cookies(open: &WsConnect) -> Vec<String> {
    open.response
        .as_ref()
        .map(|r| {
            r.headers
                .iter()
                .filter(|(k, _)| *k == "Set-Cookie")
                .map(|(_, v)| v.to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// k6's `{url, status, headers, body, error}` (the URL only for an open
/// socket, as k6), plus the `Set-Cookie` lines for `js/ws.js`.
fn response_object<'js>(
    ctx: &Ctx<'js>,
    url: &str,
    response: Option<&client::WsResponse>,
    error: Option<&str>,
    set_cookies: &[String],
) -> Result<Value<'js>> {
    let o = Object::new(ctx.clone())?;
    o.set("url", url)?;
    let headers = Object::new(ctx.clone())?;
    let (status, body) = match response {
        Some(r) => {
            for (k, v) in &r.headers {
                headers.set(k, v)?;
            }
            (r.status, String::from_utf8_lossy(&r.body).into_owned())
        }
        None => (0, String::new()),
    };
    o.set("status", status)?;
    o.set("headers", headers)?;
    o.set("body", body)?;
    // A refused upgrade has a response and no error text, as in k6.
    let error = if response.is_some() { None } else { error };
    o.set("error", error.unwrap_or(""))?;
    if !set_cookies.is_empty() {
        // Not enumerable: k6's response has only the five fields.
        o.prop("_setCookies", Property::from(set_cookies.to_vec()))?;
    }
    Ok(o.into_value())
}
