//! Unary gRPC over HTTP/2 for k6/net/grpc: a connection per `client.connect`
//! (h2c with prior knowledge for `plaintext`, TLS with ALPN `h2` otherwise),
//! and calls with gRPC's length-prefixed framing, `grpc-timeout`, and the
//! status from the trailers (or from the headers of a trailers-only
//! response). Messages are opaque bytes here: encoding them is the caller's.
//!
//! Results follow grpc-go as k6 v1.1.0 shows them: metadata without the
//! reserved headers (`grpc-status`, `grpc-message`, `te`, ...), `-bin`
//! values base64-decoded, a trailers-only response's metadata as trailers,
//! a call past its deadline `DEADLINE_EXCEEDED` / `context deadline
//! exceeded`, a non-200 HTTP status mapped as grpc-go maps it, and dial
//! errors worded as grpc-go's `connection error: desc = "transport: ..."`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::config::Client;
use crate::conn::{Counted, Counters, Stream};
use crate::error::HttpError;

/// gRPC status codes used here.
pub mod code {
    /// `OK`.
    pub const OK: u32 = 0;
    /// `CANCELLED`.
    pub const CANCELED: u32 = 1;
    /// `UNKNOWN`.
    pub const UNKNOWN: u32 = 2;
    /// `DEADLINE_EXCEEDED`.
    pub const DEADLINE_EXCEEDED: u32 = 4;
    /// `PERMISSION_DENIED`.
    pub const PERMISSION_DENIED: u32 = 7;
    /// `UNIMPLEMENTED`.
    pub const UNIMPLEMENTED: u32 = 12;
    /// `INTERNAL`.
    pub const INTERNAL: u32 = 13;
    /// `UNAVAILABLE`.
    pub const UNAVAILABLE: u32 = 14;
    /// `UNAUTHENTICATED`.
    pub const UNAUTHENTICATED: u32 = 16;
}

/// How `client.connect` dials.
#[derive(Debug, Clone)]
pub struct GrpcConnectOptions {
    /// h2c (HTTP/2 with prior knowledge) instead of TLS.
    pub plaintext: bool,
    /// Limit for the dial, TLS and HTTP/2 handshake.
    pub timeout: Duration,
}

/// An open gRPC connection (one HTTP/2 connection; calls multiplex on it).
pub struct GrpcConn {
    sender: SendRequest<Full<Bytes>>,
    counters: Arc<Counters>,
    scheme: &'static str,
    authority: String,
    remote: SocketAddr,
    user_agent: String,
}

impl std::fmt::Debug for GrpcConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcConn")
            .field("authority", &self.authority)
            .field("remote", &self.remote)
            .finish()
    }
}

/// One unary call.
#[derive(Debug, Clone)]
pub struct GrpcCall {
    /// `/package.Service/Method`.
    pub path: String,
    /// Request metadata: lower-case names; `-bin` values are raw bytes
    /// (sent base64-encoded), others text.
    pub metadata: Vec<(String, Vec<u8>)>,
    /// The encoded request message.
    pub message: Bytes,
    /// The call's deadline (also sent as `grpc-timeout`).
    pub timeout: Duration,
}

/// Response metadata: names in arrival order, values in order.
pub type Metadata = Vec<(String, Vec<String>)>;

/// The outcome of a call; transport failures are statuses too, as in grpc-go.
#[derive(Debug, Clone, Default)]
pub struct GrpcReply {
    /// The gRPC status code.
    pub status: u32,
    /// The status message (`grpc-message`, percent-decoded).
    pub message: String,
    /// Response header metadata.
    pub headers: Metadata,
    /// Trailer metadata (a trailers-only response's headers land here).
    pub trailers: Metadata,
    /// The response message, when the status is OK.
    pub body: Option<Bytes>,
    /// The deadline passed before the call ended (k6 then records no
    /// `grpc_req_duration` sample: its context is done).
    pub deadline_exceeded: bool,
}

impl GrpcConn {
    /// Dials `addr` (`host:port`) with the client's `hosts`, DNS and TLS
    /// settings. The error is grpc-go's text as k6 throws it.
    pub async fn connect(
        client: &Client,
        addr: &str,
        opts: &GrpcConnectOptions,
    ) -> Result<GrpcConn, String> {
        match tokio::time::timeout(opts.timeout, dial(client, addr, opts)).await {
            Ok(r) => r,
            Err(_) => Err("context deadline exceeded".to_string()),
        }
    }

    /// Bytes through the connection so far: (sent, received), TCP level.
    pub fn bytes(&self) -> (u64, u64) {
        self.counters.get()
    }

    /// The server's address.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Whether the connection is gone.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Performs a unary call. Never fails: errors are statuses.
    pub async fn invoke(&self, call: &GrpcCall) -> GrpcReply {
        let req = match self.request(call) {
            Ok(r) => r,
            Err(e) => {
                return GrpcReply {
                    status: code::INTERNAL,
                    message: e,
                    ..GrpcReply::default()
                }
            }
        };
        let mut sender = self.sender.clone();
        let exchange = async move {
            if let Err(e) = sender.ready().await {
                return unavailable(&e);
            }
            match sender.send_request(req).await {
                Ok(resp) => read_reply(resp).await,
                Err(e) => unavailable(&e),
            }
        };
        match tokio::time::timeout(call.timeout, exchange).await {
            Ok(reply) => reply,
            Err(_) => GrpcReply {
                status: code::DEADLINE_EXCEEDED,
                message: "context deadline exceeded".into(),
                deadline_exceeded: true,
                ..GrpcReply::default()
            },
        }
    }

    fn request(&self, call: &GrpcCall) -> Result<http::Request<Full<Bytes>>, String> {
        let uri = format!("{}://{}{}", self.scheme, self.authority, call.path);
        let mut b = http::Request::builder()
            .method(http::Method::POST)
            .uri(uri)
            .version(http::Version::HTTP_2)
            .header("content-type", "application/grpc")
            .header("user-agent", self.user_agent.as_str())
            .header("te", "trailers")
            .header("grpc-timeout", encode_timeout(call.timeout));
        for (k, v) in &call.metadata {
            let value = if k.ends_with("-bin") {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(v)
            } else {
                String::from_utf8_lossy(v).into_owned()
            };
            b = b.header(k.as_str(), value);
        }
        b.body(Full::new(frame(&call.message)))
            .map_err(|e| format!("grpc: invalid request: {e}"))
    }
}

async fn dial(client: &Client, addr: &str, opts: &GrpcConnectOptions) -> Result<GrpcConn, String> {
    let transport = |detail: String| {
        format!("connection error: desc = \"transport: error while dialing: {detail}\"")
    };
    let (host, port) = split_host_port(addr).map_err(|e| transport(e.to_string()))?;
    let cfg = &client.inner.cfg;
    let remote = crate::dns::resolve(cfg, &host, port, None)
        .await
        .map_err(|e| transport(e.detail))?;
    let tcp = TcpStream::connect(remote)
        .await
        .map_err(|e| transport(HttpError::dial(remote, &e).detail))?;
    let _ = tcp.set_nodelay(true);
    let counted = Counted::new(tcp);
    let counters = counted.counters.clone();
    let stream = if opts.plaintext {
        Stream::Plain(counted)
    } else {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = rustls::pki_types::ServerName::try_from(bare.to_string())
            .map_err(|_| transport(format!("tls: invalid server name {bare:?}")))?;
        let tls = client
            .inner
            .tls
            .with_alpn(vec![b"h2".to_vec()])
            .connect(name, counted)
            .await
            .map_err(|e| {
                format!(
                    "connection error: desc = \"transport: authentication handshake failed: {}\"",
                    HttpError::tls(&e).detail
                )
            })?;
        Stream::Tls(Box::new(tls))
    };
    let (mut sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("connection error: desc = \"transport: {e}\""))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "grpc connection closed");
        }
    });
    sender
        .ready()
        .await
        .map_err(|e| format!("connection error: desc = \"transport: {e}\""))?;
    let user_agent = format!(
        "{} grpc-go/1.73.0",
        cfg.user_agent
            .as_deref()
            .unwrap_or(crate::config::DEFAULT_USER_AGENT)
    );
    Ok(GrpcConn {
        sender,
        counters,
        scheme: if opts.plaintext { "http" } else { "https" },
        authority: addr.to_string(),
        remote,
        user_agent,
    })
}

/// `host:port` as Go's net.SplitHostPort reads it (`[::1]:50051` too).
fn split_host_port(addr: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("address {addr}: missing port in address"))?;
        (h.to_string(), p)
    } else {
        let (h, p) = addr
            .rsplit_once(':')
            .ok_or_else(|| format!("address {addr}: missing port in address"))?;
        if h.contains(':') {
            return Err(format!("address {addr}: too many colons in address"));
        }
        (h.to_string(), p)
    };
    let port = port
        .parse()
        .map_err(|_| format!("address {addr}: invalid port"))?;
    Ok((host, port))
}

fn unavailable(e: &hyper::Error) -> GrpcReply {
    let msg = crate::error::chain(e);
    GrpcReply {
        status: code::UNAVAILABLE,
        message: format!("error reading from server: {msg}"),
        ..GrpcReply::default()
    }
}

async fn read_reply(resp: http::Response<hyper::body::Incoming>) -> GrpcReply {
    let (parts, mut body) = resp.into_parts();
    let http_status = parts.status.as_u16();
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_grpc = content_type.as_deref().is_some_and(|c| {
        c == "application/grpc"
            || c.starts_with("application/grpc+")
            || c.starts_with("application/grpc;")
    });
    if http_status != 200 || !is_grpc {
        let mut errs = Vec::new();
        if http_status != 200 {
            errs.push(format!(
                "unexpected HTTP status code received from server: {http_status} ({})",
                parts.status.canonical_reason().unwrap_or("")
            ));
        }
        match &content_type {
            None => errs.push("malformed header: missing HTTP content-type".into()),
            Some(c) if !is_grpc => {
                errs.push(format!("transport: received unexpected content-type {c:?}"))
            }
            Some(_) => {}
        }
        return GrpcReply {
            status: http_status_code(http_status),
            message: errs.join("; "),
            ..GrpcReply::default()
        };
    }
    // A trailers-only response: the status is in the headers.
    if parts.headers.contains_key("grpc-status") {
        let (status, message) = status_of(&parts.headers);
        return GrpcReply {
            status,
            message,
            trailers: metadata(&parts.headers),
            ..GrpcReply::default()
        };
    }
    let headers = metadata(&parts.headers);
    let mut data = BytesMut::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => data.extend_from_slice(&d),
                Err(f) => {
                    if let Ok(t) = f.into_trailers() {
                        trailers = Some(t);
                    }
                }
            },
            Err(e) => {
                let mut r = unavailable(&e);
                r.headers = headers;
                return r;
            }
        }
    }
    let Some(trailers) = trailers else {
        return GrpcReply {
            status: code::INTERNAL,
            message: "server closed the stream without sending trailers".into(),
            headers,
            ..GrpcReply::default()
        };
    };
    let (status, message) = status_of(&trailers);
    let mut reply = GrpcReply {
        status,
        message,
        headers,
        trailers: metadata(&trailers),
        ..GrpcReply::default()
    };
    if status == code::OK {
        match unframe(&mut data.freeze()) {
            Ok(m) => reply.body = Some(m),
            Err(e) => {
                reply.status = code::INTERNAL;
                reply.message = e;
            }
        }
    }
    reply
}

/// grpc-go's HTTP status to gRPC code table.
pub fn http_status_code(status: u16) -> u32 {
    match status {
        400 => code::INTERNAL,
        401 => code::UNAUTHENTICATED,
        403 => code::PERMISSION_DENIED,
        404 => code::UNIMPLEMENTED,
        429 | 502 | 503 | 504 => code::UNAVAILABLE,
        _ => code::UNKNOWN,
    }
}

fn status_of(h: &http::HeaderMap) -> (u32, String) {
    let raw = h.get("grpc-status").map(|v| v.as_bytes()).unwrap_or(b"");
    let status = match std::str::from_utf8(raw).ok().and_then(|s| s.parse().ok()) {
        Some(c) => c,
        None => {
            return (
                code::INTERNAL,
                format!(
                    "transport: malformed grpc-status: {:?}",
                    String::from_utf8_lossy(raw)
                ),
            )
        }
    };
    let message = h
        .get("grpc-message")
        .map(|v| decode_message(v.as_bytes()))
        .unwrap_or_default();
    (status, message)
}

/// Headers that grpc-go keeps out of metadata (`user-agent` is kept).
fn reserved(name: &str) -> bool {
    name.starts_with(':')
        || matches!(
            name,
            "grpc-message-type"
                | "grpc-encoding"
                | "grpc-message"
                | "grpc-status"
                | "grpc-timeout"
                | "grpc-status-details-bin"
                | "grpc-tags-bin"
                | "grpc-trace-bin"
                | "te"
        )
}

/// Metadata as grpc-go gives it: reserved headers dropped, `-bin` values
/// base64-decoded.
pub fn metadata(h: &http::HeaderMap) -> Metadata {
    let mut out: Metadata = Vec::new();
    for (name, value) in h {
        let name = name.as_str();
        if reserved(name) {
            continue;
        }
        let v = if name.ends_with("-bin") {
            use base64::Engine;
            let text = value.as_bytes();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text));
            match decoded {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(_) => continue,
            }
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        match out.iter_mut().find(|(k, _)| k == name) {
            Some((_, vals)) => vals.push(v),
            None => out.push((name.to_string(), vec![v])),
        }
    }
    out
}

/// grpc-message's percent-decoding (invalid escapes stay as they are).
pub fn decode_message(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// grpc-go's `grpc-timeout`: the smallest unit whose count fits 8 digits.
pub fn encode_timeout(t: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let ns = t.as_nanos().max(1);
    for (div, unit) in [
        (1u128, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
    ] {
        let v = ns.div_ceil(div);
        if v <= MAX {
            return format!("{v}{unit}");
        }
    }
    format!("{}H", ns.div_ceil(3_600_000_000_000).min(MAX))
}

/// A message with gRPC's 5-byte prefix (uncompressed, big-endian length).
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

/// The first message of a response body.
pub fn unframe(body: &mut Bytes) -> Result<Bytes, String> {
    if body.len() < 5 {
        return Err(if body.is_empty() {
            "grpc: server returned no response message".into()
        } else {
            "grpc: unexpected EOF in the message prefix".into()
        });
    }
    let compressed = body[0];
    let n = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    if compressed != 0 {
        return Err("grpc: compressed flag set with identity or empty encoding".into());
    }
    body.advance(5);
    if body.len() < n {
        return Err("grpc: unexpected EOF in the message".into());
    }
    Ok(body.split_to(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut f = frame(b"hello");
        assert_eq!(&f[..5], &[0, 0, 0, 0, 5]);
        assert_eq!(unframe(&mut f).unwrap(), Bytes::from_static(b"hello"));
        let mut empty = frame(b"");
        assert_eq!(unframe(&mut empty).unwrap(), Bytes::new());
        assert!(unframe(&mut Bytes::from_static(b"\0\0\0\0\x09abc")).is_err());
        assert!(unframe(&mut Bytes::from_static(b"\x01\0\0\0\x01a")).is_err());
        assert!(unframe(&mut Bytes::new()).is_err());
    }

    #[test]
    fn timeouts_as_grpc_go_encodes_them() {
        assert_eq!(encode_timeout(Duration::from_millis(100)), "100000u");
        assert_eq!(encode_timeout(Duration::from_secs(120)), "120000m");
        assert_eq!(encode_timeout(Duration::from_nanos(5)), "5n");
    }

    #[test]
    fn statuses_and_messages() {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", "5".parse().unwrap());
        h.insert("grpc-message", "no such thing %25 %zz".parse().unwrap());
        h.insert("content-type", "application/grpc".parse().unwrap());
        h.insert("x-id-bin", "AQI".parse().unwrap());
        assert_eq!(status_of(&h), (5, "no such thing % %zz".to_string()));
        let md = metadata(&h);
        assert_eq!(
            md,
            vec![
                (
                    "content-type".to_string(),
                    vec!["application/grpc".to_string()]
                ),
                ("x-id-bin".to_string(), vec!["\u{1}\u{2}".to_string()]),
            ]
        );
        h.insert("grpc-status", "x".parse().unwrap());
        assert_eq!(status_of(&h).0, code::INTERNAL);
        assert_eq!(http_status_code(404), code::UNIMPLEMENTED);
        assert_eq!(http_status_code(503), code::UNAVAILABLE);
        assert_eq!(http_status_code(200), code::UNKNOWN);
    }

    #[test]
    fn host_and_port() {
        assert_eq!(
            split_host_port("127.0.0.1:80").unwrap(),
            ("127.0.0.1".into(), 80)
        );
        assert_eq!(
            split_host_port("[::1]:50051").unwrap(),
            ("::1".into(), 50051)
        );
        assert!(split_host_port("localhost").is_err());
    }
}
