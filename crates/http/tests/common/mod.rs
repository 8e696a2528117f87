//! Shared helpers: small servers on 127.0.0.1:0 and a client with defaults.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use stampede_http::{Client, ClientConfig, Exchange, Request, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Serves an axum router; returns its base URL (`http://127.0.0.1:port`).
pub async fn axum_server(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// Accepts connections forever and runs `handler` on each.
pub async fn raw_server<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let h = handler.clone();
            tokio::spawn(async move { h(s).await });
        }
    });
    addr
}

/// Reads one request (head and Content-Length body) from `s`; None at EOF.
pub async fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i + 4]).into_owned();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            let mut body = buf[i + 4..].to_vec();
            while body.len() < len {
                let n = s.read(&mut tmp).await.ok()?;
                if n == 0 {
                    return None;
                }
                body.extend_from_slice(&tmp[..n]);
            }
            return Some((head, body));
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// A keep-alive server that answers every request with the request head and
/// body as its body, and the peer port in `X-Peer-Port`.
pub async fn echo_server() -> SocketAddr {
    raw_server(|mut s| async move {
        let peer = s.peer_addr().unwrap();
        while let Some((head, body)) = read_request(&mut s).await {
            let mut payload = head.into_bytes();
            payload.extend_from_slice(&body);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Peer-Port: {}\r\n\r\n",
                payload.len(),
                peer.port()
            );
            if s.write_all(resp.as_bytes()).await.is_err() || s.write_all(&payload).await.is_err() {
                return;
            }
        }
    })
    .await
}

/// A server that reads one request and writes `response` verbatim, then
/// closes (or keeps reading requests if `keep` is true).
pub async fn canned(response: &'static [u8], keep: bool) -> SocketAddr {
    raw_server(move |mut s| async move {
        while read_request(&mut s).await.is_some() {
            if s.write_all(response).await.is_err() || !keep {
                return;
            }
        }
    })
    .await
}

pub fn client() -> Client {
    Client::new(ClientConfig::default()).unwrap()
}

pub fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

pub async fn get(session: &Session, u: &str) -> Exchange {
    session.request(Request::get(url(u)), None).await
}

/// Timings are internally consistent: non-negative phases whose sum is the
/// duration, and connection phases within `blocked`.
pub fn assert_sane(ex: &Exchange) {
    for hop in &ex.hops {
        let t = hop.timings;
        assert_eq!(t.duration(), t.sending + t.waiting + t.receiving);
        assert!(
            t.connecting + t.tls_handshaking <= t.blocked || t.blocked.is_zero(),
            "{t:?}"
        );
    }
}
