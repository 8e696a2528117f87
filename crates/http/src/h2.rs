//! HTTP/2 over TLS (ALPN `h2`) with hyper's client connection.
//!
//! An HTTP/2 connection is shared by every request of the session to the same
//! (host, port), so `http.batch` multiplexes on it as Go does. Its I/O runs in
//! a task spawned with `tokio::spawn` on the VU's runtime (the connection is
//! `Send`; no `LocalSet` needed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::conn::{Counters, PoolKey, Stream};
use crate::error::{code, HttpError};
use crate::h1::{Marks, RawResponse};
use crate::header_list::{header_text, HeaderList};
use crate::hop::HopParams;
use crate::response::TlsInfo;

/// A pooled HTTP/2 connection.
pub(crate) struct H2Conn {
    pub(crate) key: PoolKey,
    pub(crate) sender: SendRequest<Full<Bytes>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) remote: SocketAddr,
    pub(crate) tls: Option<TlsInfo>,
}

/// Runs the HTTP/2 handshake on an established TLS stream and spawns the
/// connection task.
pub(crate) async fn handshake(
    stream: Stream,
    key: PoolKey,
    remote: SocketAddr,
    tls: Option<TlsInfo>,
) -> Result<H2Conn, HttpError> {
    let counters = stream.shared_counters().clone();
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| to_error(&e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "http2 connection closed");
        }
    });
    Ok(H2Conn {
        key,
        sender,
        counters,
        remote,
        tls,
    })
}

/// One request/response on an HTTP/2 connection.
pub(crate) async fn round_trip(
    sender: &mut SendRequest<Full<Bytes>>,
    p: &HopParams<'_>,
    marks: &mut Marks,
) -> Result<Box<RawResponse>, HttpError> {
    let req = build(p)?;
    sender.ready().await.map_err(|e| to_error(&e))?;
    let fut = sender.send_request(req);
    // hyper hands the request to the connection task; there is no "written"
    // event, so sending ends at the hand-off.
    marks.wrote = Some(Instant::now());
    let resp = fut.await.map_err(|e| to_error(&e))?;
    marks.first_byte = Some(Instant::now());
    let (parts, mut body) = resp.into_parts();
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| to_error(&e))?;
        if let (true, Some(data)) = (p.collect, frame.data_ref()) {
            out.extend_from_slice(data);
        }
    }
    let mut set_cookies = Vec::new();
    let mut www_authenticate = Vec::new();
    for (name, value) in parts.headers.iter() {
        if name == http::header::SET_COOKIE {
            set_cookies.push(header_text(value.as_bytes()));
        } else if name == http::header::WWW_AUTHENTICATE {
            www_authenticate.push(header_text(value.as_bytes()));
        }
    }
    let pairs: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let headers = HeaderList::from_headers(pairs);
    Ok(Box::new(RawResponse {
        proto: "HTTP/2.0",
        status: parts.status.as_u16(),
        status_text: crate::h1::status_text(
            parts.status.as_u16(),
            parts.status.canonical_reason().unwrap_or(""),
        ),
        headers,
        set_cookies,
        www_authenticate,
        body: out.freeze(),
        keep_alive: true,
    }))
}

fn build(p: &HopParams<'_>) -> Result<http::Request<Full<Bytes>>, HttpError> {
    let authority = match p.host_override {
        Some(h) => h.to_string(),
        None => match p.url.port() {
            Some(port) => format!("{}:{port}", p.url.host_str().unwrap_or("")),
            None => p.url.host_str().unwrap_or("").to_string(),
        },
    };
    let uri = match p.url.query() {
        Some(q) => format!("{}://{authority}{}?{q}", p.url.scheme(), p.url.path()),
        None => format!("{}://{authority}{}", p.url.scheme(), p.url.path()),
    };
    let mut b = http::Request::builder().method(p.method.clone()).uri(uri);
    let mut add = |k: &str, v: &str| b = std::mem::take(&mut b).header(k, v);
    if let Some(ua) = p.user_agent {
        add("user-agent", ua);
    }
    for (k, v) in p.headers {
        if p.strip_sensitive && crate::headers::SENSITIVE.contains(&k.as_str()) {
            continue;
        }
        // Connection-specific headers are not allowed in HTTP/2.
        if [
            "Connection",
            "Keep-Alive",
            "Proxy-Connection",
            "Transfer-Encoding",
            "Upgrade",
        ]
        .contains(&k.as_str())
        {
            continue;
        }
        add(k, v);
    }
    if let Some(a) = p.authorization {
        add("authorization", a);
    }
    if !p.cookie.is_empty() {
        add("cookie", p.cookie);
    }
    if let Some(r) = p.referer {
        add("referer", r);
    }
    if let Some(ce) = p.content_encoding {
        add("content-encoding", ce);
    }
    b.body(Full::new(p.body.clone()))
        .map_err(|e| HttpError::plain(code::GENERIC, format!("net/http: {e}")))
}

fn to_error(e: &hyper::Error) -> HttpError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(h2e) = s.downcast_ref::<h2::Error>() {
            if let Some(io) = h2e.get_io() {
                return HttpError::io(crate::error::Op::Read, None, None, io);
            }
            if let Some(reason) = h2e.reason() {
                return h2_error(h2e, reason);
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return HttpError::io(crate::error::Op::Read, None, None, io);
        }
        src = s.source();
    }
    HttpError::plain(code::GENERIC, crate::error::chain(e))
}

/// k6's codes: GOAWAY 1610+, stream errors (RST_STREAM) 1630+, connection
/// errors 1650+; plus 1 + the HTTP/2 error code when it is a known one.
fn h2_error(e: &h2::Error, reason: h2::Reason) -> HttpError {
    let raw = u32::from(reason);
    let offset = if raw <= 13 { 1 + raw } else { 0 };
    let name = if raw <= 13 {
        format!("{reason:?}")
    } else {
        format!("unknown error code 0x{raw:x}")
    };
    let (base, what) = if e.is_go_away() {
        (1610, "received GoAway")
    } else if e.is_reset() && e.is_remote() {
        (1630, "stream error")
    } else {
        (1650, "connection error")
    };
    HttpError::new(
        base + offset,
        format!("http2: {what} with http2 ErrCode {name}"),
        e.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_http2_codes() {
        let e = h2::Error::from(h2::Reason::REFUSED_STREAM);
        let he = h2_error(&e, h2::Reason::REFUSED_STREAM);
        assert_eq!(he.code, 1658);
        assert_eq!(
            he.message,
            "http2: connection error with http2 ErrCode REFUSED_STREAM"
        );
        let he = h2_error(&e, h2::Reason::from(99));
        assert_eq!(he.code, 1650);
        assert!(he.message.ends_with("unknown error code 0x63"));
    }
}
