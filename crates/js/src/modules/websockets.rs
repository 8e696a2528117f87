//! Native part of `k6/experimental/websockets` (also `k6/websockets`): each
//! socket is a chain of the VU's asynchronous operations (connect, then one
//! wait per event), so the event loop interleaves it with timers, promises
//! and other sockets, and an iteration lasts until its sockets closed, as in
//! k6. Events reach the JavaScript `WebSocket` (`js/websockets.js`) through
//! the dispatch function it passes to `open`; the script's calls come back
//! here by socket number.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use rquickjs::{Ctx, Exception, Function, Object, Persistent, Result, Value};
use stampede_http::ws::{
    self as client, WsClosed, WsConnect, WsEvent, WsRequest, WsSender, WsSocket,
};
use stampede_metrics::{Builtin, TagSet};

use super::set_fn;
use super::ws::{
    emit_connect, emit_count, emit_end, params, response_cookies, socket_tags, HandshakeTags, Pings,
};
use crate::bytes::{array_buffer, to_bytes};
use crate::log::Level;
use crate::ops::Callback;
use crate::state::VuState;

type Dispatch = Persistent<Function<'static>>;

/// What the script's calls need of one socket.
struct Sock {
    url: String,
    started: Instant,
    /// Set once connected.
    sender: RefCell<Option<WsSender>>,
    tags: RefCell<TagSet>,
    pings: Pings,
    /// `close()` before the connection opened: sent as soon as it does.
    early_close: RefCell<Option<(u16, String)>>,
    /// A listener threw: the connection is dropped without a close frame.
    aborted: Cell<bool>,
}

/// The sockets of one VU, by number.
#[derive(Default)]
struct Registry {
    socks: RefCell<HashMap<u32, Rc<Sock>>>,
    next: Cell<u32>,
}

impl Registry {
    fn get(&self, id: u32) -> Option<Rc<Sock>> {
        self.socks.borrow().get(&id).cloned()
    }
}

/// A socket's place in the registry, moved along its operation chain: when
/// the chain ends (closed, failed, or cancelled with the iteration) the
/// socket is forgotten.
struct Entry {
    reg: Rc<Registry>,
    id: u32,
    sock: Rc<Sock>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.reg.socks.borrow_mut().remove(&self.id);
    }
}

fn invalid_state(ctx: &Ctx<'_>) -> rquickjs::Error {
    Exception::throw_message(ctx, "InvalidStateError")
}

/// Builds the native part of `k6/experimental/websockets`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let reg = Rc::new(Registry::default());

    let (s, r) = (state.clone(), reg.clone());
    set_fn(
        &obj,
        "open",
        move |ctx: Ctx<'js>,
              url: String,
              protocols: Vec<String>,
              params: Value<'js>,
              dispatch: Function<'js>|
              -> Result<u32> { open(&ctx, &s, &r, url, protocols, params, dispatch) },
    )?;

    let (s, r) = (state.clone(), reg.clone());
    set_fn(
        &obj,
        "send",
        move |ctx: Ctx<'js>, id: u32, data: Value<'js>, binary: bool| -> Result<()> {
            let sock = r.get(id).ok_or_else(|| invalid_state(&ctx))?;
            let sender = sock.sender.borrow().clone();
            let sender = sender.ok_or_else(|| invalid_state(&ctx))?;
            let sent = if binary {
                sender.binary(to_bytes(&ctx, &data)?)
            } else {
                sender.text(crate::value::to_display_string(&ctx, &data)?)
            };
            sent.map_err(|e| Exception::throw_message(&ctx, &e.0))?;
            emit_count(&s, Builtin::WsMsgsSent, &sock.tags.borrow());
            Ok(())
        },
    )?;

    let (s, r) = (state.clone(), reg.clone());
    set_fn(&obj, "ping", move |ctx: Ctx<'js>, id: u32| -> Result<()> {
        let sock = r.get(id).ok_or_else(|| invalid_state(&ctx))?;
        let sender = sock.sender.borrow().clone();
        let sender = sender.ok_or_else(|| invalid_state(&ctx))?;
        sock.pings
            .send(&sender)
            .map_err(|e| Exception::throw_message(&ctx, &e.0))?;
        // k6 counts every frame it writes, pings included.
        emit_count(&s, Builtin::WsMsgsSent, &sock.tags.borrow());
        Ok(())
    })?;

    let (s, r) = (state.clone(), reg.clone());
    set_fn(&obj, "close", move |id: u32, code: f64, reason: String| {
        let Some(sock) = r.get(id) else { return };
        let code = code.clamp(0.0, u16::MAX as f64) as u16;
        let sender = sock.sender.borrow().clone();
        match sender {
            Some(sender) => {
                if sender.close(code, &reason).is_ok() {
                    emit_count(&s, Builtin::WsMsgsSent, &sock.tags.borrow());
                }
            }
            None => *sock.early_close.borrow_mut() = Some((code, reason)),
        }
    })?;

    let r = reg.clone();
    set_fn(&obj, "buffered", move |id: u32| -> f64 {
        r.get(id)
            .and_then(|s| s.sender.borrow().as_ref().map(|x| x.buffered() as f64))
            .unwrap_or(0.0)
    })?;

    let r = reg.clone();
    set_fn(&obj, "abort", move |id: u32| {
        if let Some(sock) = r.get(id) {
            sock.aborted.set(true);
        }
    })?;

    set_fn(
        &obj,
        "encode",
        |ctx: Ctx<'js>, text: String| -> Result<Value<'js>> {
            array_buffer(&ctx, text.into_bytes())
        },
    )?;
    set_fn(
        &obj,
        "decode",
        |ctx: Ctx<'js>, data: Value<'js>| -> Result<String> {
            Ok(String::from_utf8_lossy(&to_bytes(&ctx, &data)?).into_owned())
        },
    )?;
    Ok(obj)
}

fn open<'js>(
    ctx: &Ctx<'js>,
    s: &Rc<VuState>,
    reg: &Rc<Registry>,
    url_text: String,
    protocols: Vec<String>,
    params_value: Value<'js>,
    dispatch: Function<'js>,
) -> Result<u32> {
    if s.in_init() {
        return Err(Exception::throw_message(
            ctx,
            "using websockets in the init context is not supported",
        ));
    }
    let p = params(ctx, &params_value)?;
    let url = url::Url::parse(&url_text).map_err(|e| {
        Exception::throw_message(
            ctx,
            &format!("WebSocket requires valid url, but got {url_text:?} which resulted in {e}"),
        )
    })?;
    let id = reg.next.get();
    reg.next.set(id.wrapping_add(1));
    let sock = Rc::new(Sock {
        url: url_text,
        started: Instant::now(),
        sender: RefCell::new(None),
        tags: RefCell::new(s.tags()),
        pings: Pings::default(),
        early_close: RefCell::new(None),
        aborted: Cell::new(false),
    });
    reg.socks.borrow_mut().insert(id, sock.clone());
    let entry = Entry {
        reg: reg.clone(),
        id,
        sock,
    };
    let mut req = WsRequest::new(url);
    req.headers = p.headers;
    req.subprotocols = protocols;
    let client = s.test.http.client.clone();
    let dispatch = Persistent::save(ctx, dispatch);
    let st = s.clone();
    let custom = p.tags;
    s.ops.spawn(async move {
        let open = client::connect(&client, req, None).await;
        Box::new(move |ctx: &Ctx<'_>| connected(ctx, st, entry, custom, open, dispatch)) as Callback
    });
    Ok(id)
}

/// The connection attempt ended: metrics, then `open` or `error` and
/// `close` for the script.
fn connected(
    ctx: &Ctx<'_>,
    s: Rc<VuState>,
    entry: Entry,
    custom: Vec<(String, String)>,
    open: WsConnect,
    dispatch: Dispatch,
) -> Result<()> {
    let sock = entry.sock.clone();
    let handshake = HandshakeTags::new(&open);
    let mut system = handshake.pairs();
    // k6: `url` and `name` are the same, the script's `name` tag winning.
    match custom.iter().find(|(k, _)| k == "name") {
        Some((_, name)) => system.push(("url", name)),
        None => {
            system.push(("url", &sock.url));
            system.push(("name", &sock.url));
        }
    }
    let tags = socket_tags(&s, &custom, &system);
    emit_connect(&s, &tags, open.connecting);
    *sock.tags.borrow_mut() = tags.clone();
    let f = dispatch.clone().restore(ctx)?;
    let set_cookies = response_cookies(&open);
    let socket = match open.socket {
        Ok(socket) => socket,
        Err(e) => {
            s.bytes_sent.set(s.bytes_sent.get() + open.bytes.0);
            s.bytes_received.set(s.bytes_received.get() + open.bytes.1);
            return f.call((
                "close",
                e.0,
                Value::new_undefined(ctx.clone()),
                "",
                set_cookies,
            ));
        }
    };
    let sender = socket.sender();
    *sock.sender.borrow_mut() = Some(sender.clone());
    if let Some((code, reason)) = sock.early_close.borrow_mut().take() {
        if sender.close(code, &reason).is_ok() {
            emit_count(&s, Builtin::WsMsgsSent, &tags);
        }
    }
    let response = open.response.unwrap_or_default();
    let opened = f.call::<_, ()>((
        "open",
        response.subprotocol,
        response.extensions,
        set_cookies,
    ));
    if let Err(e) = opened {
        emit_end(&s, &tags, sock.started, socket.bytes());
        return Err(e);
    }
    if sock.aborted.get() {
        emit_end(&s, &tags, sock.started, socket.bytes());
        return Ok(());
    }
    wait(&s, entry, socket, dispatch);
    Ok(())
}

/// Waits for the socket's next event.
fn wait(s: &Rc<VuState>, entry: Entry, mut socket: WsSocket, dispatch: Dispatch) {
    let st = s.clone();
    s.ops.spawn(async move {
        let ev = socket.next().await;
        Box::new(move |ctx: &Ctx<'_>| event(ctx, st, entry, socket, ev, dispatch)) as Callback
    });
}

/// Hands one event to the script, then waits for the next unless the
/// socket is done.
fn event(
    ctx: &Ctx<'_>,
    s: Rc<VuState>,
    entry: Entry,
    socket: WsSocket,
    ev: WsEvent,
    dispatch: Dispatch,
) -> Result<()> {
    let sock = entry.sock.clone();
    let tags = sock.tags.borrow().clone();
    let f = dispatch.clone().restore(ctx)?;
    let closing = || {
        sock.sender
            .borrow()
            .as_ref()
            .is_some_and(WsSender::is_closing)
    };
    let handled = match ev {
        // k6 drops messages that arrive once the script asked to close.
        WsEvent::Text(_) | WsEvent::Binary(_) if closing() => Ok(()),
        WsEvent::Text(t) => {
            emit_count(&s, Builtin::WsMsgsReceived, &tags);
            f.call(("message", t, false))
        }
        WsEvent::Binary(b) => {
            emit_count(&s, Builtin::WsMsgsReceived, &tags);
            f.call(("message", array_buffer(ctx, b.to_vec())?, true))
        }
        WsEvent::Ping(_) => f.call(("ping",)),
        WsEvent::Pong(payload) => {
            match sock.pings.answered(&payload) {
                Some(rtt) => s.emitter.emit(
                    Builtin::WsPing.metric(),
                    &tags,
                    rtt.as_secs_f64() * 1000.0,
                    crate::host::now_ns(),
                ),
                None => s.test.logger.log(
                    Level::Warning,
                    &format!(
                        "received pong for unknown ping ID {}",
                        String::from_utf8_lossy(&payload)
                    ),
                    &[],
                ),
            }
            f.call(("pong",))
        }
        WsEvent::Closed(how) => {
            emit_end(&s, &tags, sock.started, socket.bytes());
            // k6: closes other than normal and going away, and write
            // failures, reach the error listeners; a failed read does not.
            let error = match &how {
                WsClosed::Frame { code, .. } if *code == 1000 || *code == 1001 => None,
                WsClosed::ReadFailed(_) => None,
                other => Some(other.error_text()),
            };
            let reason = match &how {
                WsClosed::Frame { reason, .. } => reason.clone(),
                _ => String::new(),
            };
            return f.call((
                "close",
                error,
                how.code().unwrap_or(1006),
                reason,
                Value::new_undefined(ctx.clone()),
            ));
        }
    };
    if let Err(e) = handled {
        emit_end(&s, &tags, sock.started, socket.bytes());
        return Err(e);
    }
    if sock.aborted.get() {
        emit_end(&s, &tags, sock.started, socket.bytes());
        return Ok(());
    }
    wait(&s, entry, socket, dispatch);
    Ok(())
}
