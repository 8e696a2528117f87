//! A small HTTP client for the tests: hyper's HTTP/1.1 connection API over a
//! real socket, plus raw TCP helpers for what a client library hides.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use stampede_demo::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response, body read in full.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Conn {
            send,
            host: addr.to_string(),
        }
    }

    /// Sends a request; `Host` is added.
    pub async fn send(&mut self, mut req: Request<Full<Bytes>>) -> Resp {
        req.headers_mut()
            .entry(http::header::HOST)
            .or_insert(self.host.parse().unwrap());
        self.send.ready().await.unwrap();
        let res = self.send.send_request(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(req(Method::GET, path).body(Full::default()).unwrap())
            .await
    }
}

/// A request builder for `path`.
pub fn req(method: Method, path: &str) -> http::request::Builder {
    Request::builder().method(method).uri(path)
}

/// `GET path` on a fresh connection.
pub async fn get(server: &TestServer, path: &str) -> Resp {
    Conn::open(server.addr()).await.get(path).await
}

/// `GET path` with extra headers on a fresh connection.
pub async fn get_with(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut b = req(Method::GET, path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(server, b.body(Full::default()).unwrap()).await
}

/// Any request on a fresh connection.
pub async fn send(server: &TestServer, req: Request<Full<Bytes>>) -> Resp {
    Conn::open(server.addr()).await.send(req).await
}

/// A request with a body and content type.
pub fn with_body(
    method: Method,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    req(method, path)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

/// Writes `raw` and reads until the server closes, resets, or `wait` passes.
/// Returns the bytes read and how the read ended.
pub async fn raw(addr: SocketAddr, raw: &[u8], wait: Duration) -> (Vec<u8>, End) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    read_to_end(&mut stream, wait).await
}

/// How a raw read ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    Eof,
    Reset,
    TimedOut,
}

pub async fn read_to_end(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, End) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (out, End::TimedOut),
            Ok(Ok(0)) => return (out, End::Eof),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (out, End::Reset)
            }
            Ok(Err(e)) => panic!("read failed: {e}"),
        }
    }
}

/// A raw `GET` request line and headers.
pub fn raw_get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}
