//! WebSocket client connections for k6's `k6/ws` and
//! `k6/experimental/websockets`: the upgrade handshake as gorilla/websocket
//! (k6's library) does it, then frames through tungstenite.
//!
//! [`connect`] dials with the [`Client`]'s settings (`hosts` overrides,
//! `blockHostnames`, `blacklistIPs`, the DNS policy, TLS with ALPN limited to
//! `http/1.1` as k6 does), sends the upgrade request with the jar's cookies
//! and the `User-Agent`, stores the response's cookies, and returns a
//! [`WsConnect`]: how long connecting took (k6's `ws_connecting`), the
//! handshake response, and a [`WsSocket`] or the error in gorilla's words
//! (`websocket: bad handshake`, `dial tcp 127.0.0.1:1: connect: connection
//! refused`, `malformed ws or wss URL`).
//!
//! A [`WsSocket`] moves only when [`WsSocket::next`] is polled: it writes
//! what its [`WsSender`]s queued, answers pings, and returns the next
//! [`WsEvent`]. Dropping that future between events loses nothing (queued
//! messages stay queued), so it can race a timer. Nothing is spawned and
//! nothing is `Send`: run it on the VU's thread.
//!
//! ```no_run
//! # async fn demo() {
//! use stampede_http::{ws, Client, ClientConfig};
//! let client = Client::new(ClientConfig::default()).unwrap();
//! let req = ws::WsRequest::new("ws://127.0.0.1:8080/echo".parse().unwrap());
//! let open = ws::connect(&client, req, None).await;
//! let mut socket = open.socket.unwrap();
//! socket.sender().text("hello".into()).unwrap();
//! if let ws::WsEvent::Text(t) = socket.next().await {
//!     assert_eq!(t, "hello");
//! }
//! # }
//! ```

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Sink, Stream as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::{Error as TError, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use url::Url;

use crate::config::{Client, ClientConfig};
use crate::conn::{Counted, Counters, Stream};
use crate::cookies::CookieJar;
use crate::dns;
use crate::error::{code, HttpError, Op};
use crate::h1::canonical_header_name;
use crate::header_list::{header_text, HeaderList};

/// How long dialing plus the upgrade may take (gorilla's `HandshakeTimeout`,
/// which k6 sets to 60 s).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a refused upgrade's body is kept (gorilla keeps 1 KiB).
const MAX_REFUSED_BODY: usize = 1024;
/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Read buffer of an open socket: small, since a load test keeps thousands
/// of mostly idle sockets (tungstenite's default is 128 KiB each).
const READ_BUFFER: usize = 4 * 1024;
/// gorilla's `writeWait` for close frames and pings.
pub const WRITE_WAIT: Duration = Duration::from_secs(10);

/// A WebSocket to open.
#[derive(Debug, Clone)]
pub struct WsRequest {
    /// A `ws://` or `wss://` URL.
    pub url: Url,
    /// Extra request headers (`Host` replaces the URL's host; the upgrade's
    /// own headers may not be set, as in gorilla).
    pub headers: Vec<(String, String)>,
    /// Offered subprotocols (`Sec-WebSocket-Protocol`).
    pub subprotocols: Vec<String>,
    /// Limit for dialing plus the handshake.
    pub timeout: Duration,
}

impl WsRequest {
    /// A request for `url` with no extra headers.
    pub fn new(url: Url) -> Self {
        WsRequest {
            url,
            headers: Vec::new(),
            subprotocols: Vec::new(),
            timeout: HANDSHAKE_TIMEOUT,
        }
    }
}

/// The server's answer to the upgrade request.
#[derive(Debug, Clone, Default)]
pub struct WsResponse {
    /// `101` when the upgrade succeeded.
    pub status: u16,
    /// Canonical names, repeats joined with `, ` (Go's view, as k6 shows it).
    pub headers: HeaderList,
    /// The first KiB of a refused upgrade's body; empty after a `101`.
    pub body: Bytes,
    /// The subprotocol the server picked, or empty.
    pub subprotocol: String,
    /// `Sec-WebSocket-Extensions` values.
    pub extensions: Vec<String>,
}

/// Why opening or using a socket failed, in gorilla's (Go's) words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WsError(pub String);

/// The outcome of [`connect`].
pub struct WsConnect {
    /// From the start until the handshake completed or failed.
    pub connecting: Duration,
    /// The upgrade response, when one was read.
    pub response: Option<WsResponse>,
    /// The address connected to.
    pub remote: Option<SocketAddr>,
    /// The open socket, or why there is none.
    pub socket: Result<WsSocket, WsError>,
    /// Bytes on the wire of a failed attempt (an open socket counts its own:
    /// [`WsSocket::bytes`]).
    pub bytes: (u64, u64),
}

/// Something that happened on an open socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping from the server (already answered).
    Ping(Bytes),
    /// A pong, carrying what our ping carried.
    Pong(Bytes),
    /// The connection ended; the socket is done.
    Closed(WsClosed),
}

/// How a socket ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsClosed {
    /// The server sent a close frame (code 1005 when it carried none), or
    /// answered ours.
    Frame {
        /// Close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// The connection ended without a close frame (gorilla: close 1006,
    /// `unexpected EOF`).
    Abnormal,
    /// Reading failed (a reset, a protocol violation).
    ReadFailed(String),
    /// Writing failed.
    WriteFailed(String),
}

impl WsClosed {
    /// The close code gorilla reports for this ending: the frame's, 1006 for
    /// an abnormal end, none for I/O errors.
    pub fn code(&self) -> Option<u16> {
        match self {
            WsClosed::Frame { code, .. } => Some(*code),
            WsClosed::Abnormal => Some(1006),
            _ => None,
        }
    }

    /// gorilla's error text for this ending (`websocket: close 1006
    /// (abnormal closure): unexpected EOF`, or the I/O error).
    pub fn error_text(&self) -> String {
        match self {
            WsClosed::Frame { code, reason } => close_error_text(*code, reason),
            WsClosed::Abnormal => close_error_text(1006, "unexpected EOF"),
            WsClosed::ReadFailed(m) | WsClosed::WriteFailed(m) => m.clone(),
        }
    }
}

/// gorilla's `CloseError.Error()`: `websocket: close 1011 (internal server
/// error): reason`.
pub fn close_error_text(code: u16, reason: &str) -> String {
    let name = match code {
        1000 => " (normal)",
        1001 => " (going away)",
        1002 => " (protocol error)",
        1003 => " (unsupported data)",
        1005 => " (no status)",
        1006 => " (abnormal closure)",
        1007 => " (invalid payload data)",
        1008 => " (policy violation)",
        1009 => " (message too big)",
        1010 => " (mandatory extension missing)",
        1011 => " (internal server error)",
        1015 => " (TLS handshake error)",
        _ => "",
    };
    let mut s = format!("websocket: close {code}{name}");
    if !reason.is_empty() {
        s.push_str(": ");
        s.push_str(reason);
    }
    s
}

/// What a socket shares with its senders.
#[derive(Default)]
struct Shared {
    queue: RefCell<VecDeque<Message>>,
    waker: Cell<Option<Waker>>,
    /// Payload bytes queued and not yet handed to the socket.
    buffered: Cell<u64>,
    close_queued: Cell<bool>,
}

/// Queues messages on a socket from anywhere on its thread, also while
/// [`WsSocket::next`] is pending.
#[derive(Clone)]
pub struct WsSender(Rc<Shared>);

impl WsSender {
    fn push(&self, msg: Message, len: usize) -> Result<(), WsError> {
        if self.0.close_queued.get() {
            return Err(WsError("websocket: close sent".into()));
        }
        self.0.buffered.set(self.0.buffered.get() + len as u64);
        self.0.queue.borrow_mut().push_back(msg);
        if let Some(w) = self.0.waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Queues a text message.
    pub fn text(&self, text: String) -> Result<(), WsError> {
        let len = text.len();
        self.push(Message::Text(text.into()), len)
    }

    /// Queues a binary message.
    pub fn binary(&self, data: Vec<u8>) -> Result<(), WsError> {
        let len = data.len();
        self.push(Message::Binary(data.into()), len)
    }

    /// Queues a ping.
    pub fn ping(&self, data: Vec<u8>) -> Result<(), WsError> {
        self.push(Message::Ping(data.into()), 0)
    }

    /// Queues a close frame; later messages are refused (`websocket: close
    /// sent`).
    pub fn close(&self, code: u16, reason: &str) -> Result<(), WsError> {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        self.push(Message::Close(Some(frame)), 0)?;
        self.0.close_queued.set(true);
        Ok(())
    }

    /// Whether a close frame was queued.
    pub fn is_closing(&self) -> bool {
        self.0.close_queued.get()
    }

    /// Payload bytes queued but not yet written (`bufferedAmount`).
    pub fn buffered(&self) -> u64 {
        self.0.buffered.get()
    }
}

/// An open WebSocket.
pub struct WsSocket {
    ws: WebSocketStream<Stream>,
    shared: Rc<Shared>,
    counters: Arc<Counters>,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    /// A message taken from the queue that the sink was not ready for.
    pending: Option<Message>,
    unflushed: bool,
    done: bool,
}

impl std::fmt::Debug for WsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsSocket")
            .field("queued", &self.shared.queue.borrow().len())
            .field("done", &self.done)
            .finish()
    }
}

impl WsSocket {
    /// A handle to queue messages with.
    pub fn sender(&self) -> WsSender {
        WsSender(self.shared.clone())
    }

    /// (sent, received) bytes on the wire so far, handshake included.
    pub fn bytes(&self) -> (u64, u64) {
        self.counters.get()
    }

    /// Writes what is queued and waits for the next event. After
    /// [`WsEvent::Closed`] the socket is done and only returns that again.
    pub async fn next(&mut self) -> WsEvent {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// Writes what is queued (a close frame included) and flushes, for up to
    /// [`WRITE_WAIT`], then drops the connection without waiting for the
    /// server's answer (k6/ws closes this way).
    pub async fn finish(mut self) {
        let _ = tokio::time::timeout(WRITE_WAIT, poll_fn(|cx| self.poll_writes(cx))).await;
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<WsEvent> {
        if self.done {
            return Poll::Ready(WsEvent::Closed(WsClosed::ReadFailed(
                "use of closed network connection".into(),
            )));
        }
        if let Poll::Ready(Err(e)) = self.poll_writes(cx) {
            self.done = true;
            return Poll::Ready(WsEvent::Closed(WsClosed::WriteFailed(
                self.io_text(Op::Write, e),
            )));
        }
        loop {
            let msg = match Pin::new(&mut self.ws).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(m))) => m,
                Poll::Ready(Some(Err(e))) => {
                    self.done = true;
                    return Poll::Ready(WsEvent::Closed(self.read_failure(e)));
                }
                Poll::Ready(None) => {
                    self.done = true;
                    return Poll::Ready(WsEvent::Closed(WsClosed::Abnormal));
                }
            };
            return Poll::Ready(match msg {
                Message::Text(t) => WsEvent::Text(t.as_str().to_string()),
                Message::Binary(b) => WsEvent::Binary(b),
                Message::Ping(b) => {
                    // The pong is queued in tungstenite; send it now.
                    let _ = Pin::new(&mut self.ws).poll_flush(cx);
                    WsEvent::Ping(b)
                }
                Message::Pong(b) => WsEvent::Pong(b),
                Message::Close(frame) => {
                    self.done = true;
                    // Our answer to the server's close frame, if any, goes
                    // out before the connection is dropped.
                    let _ = Pin::new(&mut self.ws).poll_flush(cx);
                    let (code, reason) = match frame {
                        Some(f) => (u16::from(f.code), f.reason.as_str().to_string()),
                        None => (1005, String::new()),
                    };
                    WsEvent::Closed(WsClosed::Frame { code, reason })
                }
                // Raw frames are never returned by a read.
                Message::Frame(_) => continue,
            });
        }
    }

    /// Hands queued messages to tungstenite and flushes; ready when
    /// everything is written.
    fn poll_writes(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TError>> {
        loop {
            if self.pending.is_none() {
                self.pending = self.shared.queue.borrow_mut().pop_front();
            }
            let Some(msg) = self.pending.take() else {
                break;
            };
            match Pin::new(&mut self.ws).poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    let len = match &msg {
                        Message::Text(t) => t.len(),
                        Message::Binary(b) => b.len(),
                        _ => 0,
                    } as u64;
                    self.shared
                        .buffered
                        .set(self.shared.buffered.get().saturating_sub(len));
                    Pin::new(&mut self.ws).start_send(msg)?;
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.pending = Some(msg);
                    break;
                }
            }
        }
        // Woken again when a sender queues something.
        let waker = match self.shared.waker.take() {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        };
        self.shared.waker.set(Some(waker));
        if self.unflushed {
            match Pin::new(&mut self.ws).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.pending.is_some() {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn read_failure(&self, e: TError) -> WsClosed {
        match e {
            TError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => WsClosed::Abnormal,
            TError::Io(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                WsClosed::Abnormal
            }
            TError::ConnectionClosed | TError::AlreadyClosed => WsClosed::Abnormal,
            other => WsClosed::ReadFailed(self.io_text(Op::Read, other)),
        }
    }

    fn io_text(&self, op: Op, e: TError) -> String {
        match e {
            TError::Io(io) => HttpError::io(op, self.local, Some(self.remote), &io).detail,
            other => format!("websocket: {other}"),
        }
    }
}

/// Where the attempt got to, kept outside the future so a timeout that drops
/// it still leaves them readable.
#[derive(Default)]
struct Trail {
    counters: Option<Arc<Counters>>,
    remote: Option<SocketAddr>,
    response: Option<WsResponse>,
}

/// Opens a WebSocket: dial, optional TLS, the upgrade handshake.
pub async fn connect(client: &Client, req: WsRequest, jar: Option<&CookieJar>) -> WsConnect {
    let start = Instant::now();
    let mut trail = Trail::default();
    let timeout = req.timeout;
    let socket = match tokio::time::timeout(timeout, open(client, &req, jar, &mut trail)).await {
        Ok(r) => r,
        Err(_) => Err(WsError(match trail.remote {
            Some(addr) if trail.counters.is_some() => {
                format!("read tcp {addr}: i/o timeout")
            }
            _ => format!(
                "dial tcp {}: i/o timeout",
                req.url.host_str().unwrap_or_default()
            ),
        })),
    };
    let connecting = start.elapsed();
    let bytes = match (&socket, &trail.counters) {
        (Err(_), Some(c)) => c.get(),
        _ => (0, 0),
    };
    WsConnect {
        connecting,
        response: trail.response,
        remote: trail.remote,
        socket,
        bytes,
    }
}

async fn open(
    client: &Client,
    req: &WsRequest,
    jar: Option<&CookieJar>,
    trail: &mut Trail,
) -> Result<WsSocket, WsError> {
    let cfg = &client.inner.cfg;
    let (http_url, tls) = http_equivalent(&req.url)?;
    let host = http_url
        .host_str()
        .ok_or_else(|| WsError("malformed ws or wss URL".into()))?
        .to_string();
    let port = http_url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let key = handshake_key();
    let head = request_head(cfg, req, &http_url, jar, &key)?;

    let addr = dns::resolve(cfg, &host, port, None).await.map_err(|e| {
        WsError(match e.code {
            code::DNS | code::DNS_NO_SUCH_HOST => format!("dial tcp: {}", e.detail),
            _ => e.detail,
        })
    })?;
    trail.remote = Some(addr);
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| WsError(HttpError::dial(addr, &e).detail))?;
    let _ = tcp.set_nodelay(true);
    let local = tcp.local_addr().ok();
    let counted = Counted::new(tcp);
    trail.counters = Some(counted.counters.clone());
    let mut stream = if tls {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(bare.to_string())
            .map_err(|_| WsError(format!("tls: invalid server name {bare:?}")))?;
        // k6 keeps WebSockets off HTTP/2.
        let tls = client
            .inner
            .tls
            .with_alpn(vec![b"http/1.1".to_vec()])
            .connect(name, counted)
            .await
            .map_err(|e| WsError(HttpError::tls(&e).detail))?;
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(counted)
    };
    let io_err =
        |op: Op, e: &std::io::Error| WsError(HttpError::io(op, None, Some(addr), e).detail);
    stream
        .write_all(&head)
        .await
        .map_err(|e| io_err(Op::Write, &e))?;

    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let (parsed, head_len) = loop {
        if let Some(done) = parse_head(&buf)? {
            break done;
        }
        if buf.len() > MAX_HEAD {
            return Err(WsError("net/http: response head too large".into()));
        }
        let n = stream
            .read_buf(&mut buf)
            .await
            .map_err(|e| io_err(Op::Read, &e))?;
        if n == 0 {
            return Err(WsError(
                if buf.is_empty() {
                    "EOF"
                } else {
                    "unexpected EOF"
                }
                .into(),
            ));
        }
    };
    let _ = buf.split_to(head_len);
    if let Some(jar) = jar {
        for sc in &parsed.set_cookies {
            jar.set_from_header(&http_url, sc);
        }
    }
    let header = |name: &str| parsed.headers.get(name);
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let accepted = parsed.status == 101
        && has_token("Upgrade", "websocket")
        && has_token("Connection", "upgrade")
        && header("Sec-Websocket-Accept") == Some(derive_accept_key(key.as_bytes()).as_str());
    let mut response = WsResponse {
        status: parsed.status,
        subprotocol: header("Sec-Websocket-Protocol").unwrap_or("").to_string(),
        extensions: header("Sec-Websocket-Extensions")
            .map(|v| vec![v.to_string()])
            .unwrap_or_default(),
        headers: parsed.headers.clone(),
        body: Bytes::new(),
    };
    if !accepted {
        response.body = refused_body(&mut stream, buf, header("Content-Length")).await;
        trail.response = Some(response);
        return Err(WsError("websocket: bad handshake".into()));
    }
    trail.response = Some(response);
    let counters = stream.shared_counters().clone();
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let ws = WebSocketStream::from_partially_read(stream, buf.to_vec(), Role::Client, Some(config))
        .await;
    Ok(WsSocket {
        ws,
        shared: Rc::default(),
        counters,
        local,
        remote: addr,
        pending: None,
        unflushed: false,
        done: false,
    })
}

/// gorilla's URL rules: `ws` and `wss` map to `http` and `https`; anything
/// else, or credentials in the URL, is malformed.
fn http_equivalent(url: &Url) -> Result<(Url, bool), WsError> {
    let malformed = || WsError("malformed ws or wss URL".into());
    let tls = match url.scheme() {
        "ws" => false,
        "wss" => true,
        _ => return Err(malformed()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(malformed());
    }
    let text = url.as_str();
    let rest = &text[url.scheme().len()..];
    let http = format!("{}{rest}", if tls { "https" } else { "http" });
    let http = Url::parse(&http).map_err(|_| malformed())?;
    Ok((http, tls))
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes in base64.
fn handshake_key() -> String {
    use base64::Engine as _;
    let raw: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// The upgrade request as Go writes it: `Host`, `User-Agent`, then the
/// other headers sorted by name.
fn request_head(
    cfg: &ClientConfig,
    req: &WsRequest,
    url: &Url,
    jar: Option<&CookieJar>,
    key: &str,
) -> Result<Vec<u8>, WsError> {
    let mut headers: Vec<(String, String)> = vec![
        ("Upgrade".into(), "websocket".into()),
        ("Connection".into(), "Upgrade".into()),
        ("Sec-WebSocket-Key".into(), key.to_string()),
        ("Sec-WebSocket-Version".into(), "13".into()),
    ];
    if !req.subprotocols.is_empty() {
        headers.push(("Sec-WebSocket-Protocol".into(), req.subprotocols.join(", ")));
    }
    let mut host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut user_agent = cfg.user_agent.clone().filter(|u| !u.is_empty());
    for (k, v) in &req.headers {
        if !crate::headers::valid_name(k) || !crate::headers::valid_value(v) {
            return Err(WsError(format!("net/http: invalid header field for {k:?}")));
        }
        let name = canonical_header_name(k);
        match name.as_str() {
            "Host" => host = v.clone(),
            "User-Agent" => user_agent = Some(v.clone()),
            "Upgrade"
            | "Connection"
            | "Sec-Websocket-Key"
            | "Sec-Websocket-Version"
            | "Sec-Websocket-Extensions" => {
                return Err(WsError(format!(
                    "websocket: duplicate header not allowed: {name}"
                )))
            }
            "Sec-Websocket-Protocol" => {
                headers.retain(|(k, _)| k != "Sec-WebSocket-Protocol");
                headers.push(("Sec-WebSocket-Protocol".into(), v.clone()));
            }
            _ => {
                headers.retain(|(k, _)| *k != name);
                headers.push((name, v.clone()));
            }
        }
    }
    let mut cookie = headers
        .iter()
        .position(|(k, _)| k == "Cookie")
        .map(|i| headers.remove(i).1)
        .unwrap_or_default();
    let mut from_jar = String::new();
    CookieJar::header_value(jar, url, &[], &mut from_jar);
    if !from_jar.is_empty() {
        if !cookie.is_empty() {
            cookie.push_str("; ");
        }
        cookie.push_str(&from_jar);
    }
    if !cookie.is_empty() {
        headers.push(("Cookie".into(), cookie));
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    if let Some(ua) = user_agent {
        out.extend_from_slice(format!("User-Agent: {ua}\r\n").as_bytes());
    }
    for (k, v) in &headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

struct ParsedHead {
    status: u16,
    headers: HeaderList,
    set_cookies: Vec<String>,
}

/// Parses a complete response head, or `None` when more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(ParsedHead, usize)>, WsError> {
    let mut raw = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut raw);
    let n = match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(WsError(format!("malformed HTTP response: {e}"))),
    };
    let headers = HeaderList::from_headers(res.headers.iter().map(|h| (h.name, h.value)));
    let set_cookies = res
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("set-cookie"))
        .map(|h| header_text(h.value))
        .collect();
    Ok(Some((
        ParsedHead {
            status: res.code.unwrap_or(0),
            headers,
            set_cookies,
        },
        n,
    )))
}

/// The first KiB of a refused upgrade's body (`Content-Length` bodies and
/// bodies ending with the connection; a chunked body is not decoded).
async fn refused_body(stream: &mut Stream, mut buf: BytesMut, length: Option<&str>) -> Bytes {
    let want = match length.and_then(|l| l.trim().parse::<usize>().ok()) {
        Some(n) => n.min(MAX_REFUSED_BODY),
        None => MAX_REFUSED_BODY,
    };
    let read = async {
        while buf.len() < want {
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    // A body that neither has a length nor ends is not waited for.
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    buf.truncate(want);
    buf.freeze()
}

#[cfg(test)]
mod tests;
