//! Starting and stopping the demo target, and its router on its own.

use std::time::{Duration, Instant};

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use stampede_demo::{demo_router, DemoConfig, DemoState, DemoTarget, DEFAULT_ADDR};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::Conn;
use crate::common::{config, start};

#[test]
fn defaults() {
    assert_eq!(DEFAULT_ADDR, "127.0.0.1:3000");
    let cfg = DemoConfig::default();
    assert_eq!(cfg.addr.to_string(), DEFAULT_ADDR);
    assert_eq!(cfg.products, 1000);
    assert_eq!(cfg.access_token_ttl, Duration::from_secs(900));
    assert_eq!(cfg.tier_rates.free, 20);
    assert_eq!(cfg.tier_rates.enterprise, 10_000);
}

#[tokio::test]
async fn url_and_graceful_shutdown() {
    let target = start().await;
    let addr = target.addr();
    assert_eq!(target.url(), format!("http://127.0.0.1:{}", addr.port()));
    let mut conn = Conn::open(addr).await;
    assert_eq!(conn.get("/health").await.status, 200);
    target
        .set_faults(stampede_demo::FaultConfig {
            latency_ms: 300,
            ..Default::default()
        })
        .unwrap();
    // The request is in flight once the server has read it off the socket:
    // its receive queue is empty after the whole request was sent.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"GET /api/products HTTP/1.1\r\nhost: demo\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let client_port = raw.local_addr().unwrap().port();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server_unread(addr.port(), client_port) != Some(0) {
        assert!(
            Instant::now() < deadline,
            "the server never read the request"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    target.shutdown().await;
    let mut answer = String::new();
    raw.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[test]
fn runs_in_the_background_without_a_runtime() {
    let target = DemoTarget::start_in_background(config()).unwrap();
    let addr = target.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = Conn::open(addr).await.get("/api/products?limit=1").await;
        assert_eq!(r.status, 200);
        // Task timers run on the target's own runtime.
        let r = Conn::open(addr).await.get("/health").await;
        assert_eq!(r.status, 200);
    });
    assert_eq!(target.state().requests_answered(), 2);
    drop(target);
    rt.block_on(async {
        assert!(TcpStream::connect(addr).await.is_err(), "stopped on drop");
    });
}

#[test]
fn a_taken_port_is_an_error() {
    let first = DemoTarget::start_in_background(config()).unwrap();
    let cfg = DemoConfig {
        addr: first.addr(),
        ..config()
    };
    let err = DemoTarget::start_in_background(cfg).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn invalid_settings_are_reported_together() {
    let cfg = DemoConfig {
        products: 5_000_000,
        task_failure_rate: 2.0,
        ..config()
    };
    let err = DemoTarget::start(cfg).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(
        message.contains("products") && message.contains("failure rate"),
        "{message}"
    );
    assert!(config().problems().is_empty());
}

#[tokio::test]
async fn the_router_works_without_the_server() {
    let state = DemoState::new(config());
    let mut router = demo_router(state.clone());
    let req = Request::get("/api/products/search?category=toys")
        .body(Body::empty())
        .unwrap();
    let res = tower_service::Service::call(&mut router, req)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["total"].as_u64().unwrap() > 0);
    assert_eq!(state.requests_answered(), 1);
}

/// Bytes the server has not yet read on its side of the loopback connection
/// from `client_port` to `server_port` (`rx_queue` in `/proc/net/tcp`), or
/// `None` while the kernel lists no such socket.
fn server_unread(server_port: u16, client_port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() > 4 && port(f[1]) == Some(server_port) && port(f[2]) == Some(client_port))
            .then(|| u64::from_str_radix(f[4].split(':').nth(1)?, 16).ok())
            .flatten()
    })
}
