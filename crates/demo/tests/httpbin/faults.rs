//! The endpoints for load-tool tests: transport faults, `/echo`, counters.

use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;
use stampede_demo::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{raw, raw_get, read_to_end, send, with_body, Conn, End};

#[tokio::test]
async fn reset_sends_rst_without_a_response() {
    let server = TestServer::start().await.unwrap();
    let (bytes, end) = raw(
        server.addr(),
        b"POST /reset HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
        Duration::from_secs(5),
    )
    .await;
    assert!(bytes.is_empty());
    assert_eq!(end, End::Reset);
}

#[tokio::test]
async fn close_responds_then_closes() {
    let server = TestServer::start().await.unwrap();
    let (bytes, end) = raw(
        server.addr(),
        &raw_get("/close?x=1"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(end, End::Eof);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"));
    assert!(text.contains(r#""x": "1""#));
}

#[tokio::test]
async fn hang_never_answers_and_shutdown_drops_it() {
    let server = TestServer::start().await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(&raw_get("/hang")).await.unwrap();
    let (bytes, end) = read_to_end(&mut stream, Duration::from_millis(300)).await;
    assert!(bytes.is_empty());
    assert_eq!(end, End::TimedOut);

    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let (bytes, end) = read_to_end(&mut stream, Duration::from_secs(2)).await;
    assert!(bytes.is_empty());
    assert_ne!(end, End::TimedOut, "the hanging connection is closed");
}

#[tokio::test]
async fn slow_body_sends_the_head_first() {
    let server = TestServer::start().await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(&raw_get("/slow-body?chunks=5&interval_ms=100&chunk_size=2"))
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let head_at = Instant::now();
    let head_len = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&got[..head_len]).to_ascii_lowercase();
    assert!(head.contains("content-length: 10"), "{head}");
    while got.len() < head_len + 10 {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&got[head_len..], b"..........");
    assert!(
        head_at.elapsed() >= Duration::from_millis(350),
        "{:?}",
        head_at.elapsed()
    );
}

#[tokio::test]
async fn echo_returns_the_body_and_its_type() {
    let server = TestServer::start().await.unwrap();
    let res = send(
        &server,
        with_body(Method::PUT, "/echo", "text/x-thing", "raw \x01 body"),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/x-thing"));
    assert_eq!(&res.body[..], b"raw \x01 body");
}

#[tokio::test]
async fn count_and_stats() {
    let server = TestServer::start().await.unwrap();
    let mut conn = Conn::open(server.addr()).await;
    assert_eq!(conn.get("/count").await.json(), json!({"count": 0}));
    let post = || with_body(Method::POST, "/count", "text/plain", "");
    assert_eq!(conn.send(post()).await.json(), json!({"count": 1}));
    assert_eq!(conn.send(post()).await.json(), json!({"count": 2}));
    assert_eq!(conn.get("/count").await.json(), json!({"count": 2}));
    let stats = conn.get("/stats").await.json();
    assert_eq!(stats, json!({"requests": 5, "connections": 1}));
    assert_eq!(server.requests_served(), 5);
    assert_eq!(server.connections_accepted(), 1);
    let zero = with_body(Method::DELETE, "/count", "text/plain", "");
    assert_eq!(conn.send(zero).await.json(), json!({"count": 0}));
}
