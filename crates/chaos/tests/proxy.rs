//! Each fault of the proxy measured on the wire, against upstreams this
//! test starts on loopback.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stampede_chaos::{Agent, Faults, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LOOPBACK: &str = "127.0.0.1:0";

/// An upstream answering each `ping\n` line with `pong\n`.
async fn echo_upstream() -> SocketAddr {
    let l = TcpListener::bind(LOOPBACK).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let lines = buf[..n].iter().filter(|&&b| b == b'\n').count();
                    if s.write_all(&b"pong\n".repeat(lines)).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// An upstream that sends `size` bytes to each client, then closes.
async fn blob_upstream(size: usize) -> SocketAddr {
    let l = TcpListener::bind(LOOPBACK).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(&vec![b'x'; size]).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

/// An HTTP/1.1 upstream answering every request with 200 `ok`.
async fn http_upstream() -> SocketAddr {
    let l = TcpListener::bind(LOOPBACK).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut have = Vec::new();
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    have.extend_from_slice(&buf[..n]);
                    while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                        have.drain(..end + 4);
                        let r = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if s.write_all(r).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn proxy_to(upstream: SocketAddr) -> Proxy {
    Proxy::start(LOOPBACK.parse().unwrap(), &upstream.to_string())
        .await
        .unwrap()
}

/// One ping/pong round trip on an open connection.
async fn round_trip(s: &mut TcpStream) -> Duration {
    let t = Instant::now();
    s.write_all(b"ping\n").await.unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong\n");
    t.elapsed()
}

async fn median_rtt(s: &mut TcpStream, n: usize) -> Duration {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(round_trip(s).await);
    }
    v.sort();
    v[n / 2]
}

#[tokio::test]
async fn transparent_without_faults_and_adds_latency_within_10_percent() {
    let proxy = proxy_to(echo_upstream().await).await;
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    s.set_nodelay(true).unwrap();
    let base = median_rtt(&mut s, 5).await;
    proxy.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let slow = median_rtt(&mut s, 5).await;
    let added = slow.saturating_sub(base).as_secs_f64() * 1000.0;
    assert!((180.0..=220.0).contains(&added), "added {added} ms");
    proxy.set_faults(Faults::default());
    let after = median_rtt(&mut s, 3).await;
    assert!(after < Duration::from_millis(100), "{after:?}");
}

#[tokio::test]
async fn jitter_spreads_latency_within_its_range() {
    let proxy = proxy_to(echo_upstream().await).await;
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    s.set_nodelay(true).unwrap();
    proxy.set_faults(Faults {
        latency_ms: 50,
        jitter_ms: 100,
        ..Faults::default()
    });
    let mut rtts = Vec::new();
    for _ in 0..12 {
        rtts.push(round_trip(&mut s).await.as_secs_f64() * 1000.0);
    }
    let (min, max) = rtts
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(min >= 50.0, "{rtts:?}");
    // Twelve draws from 0..=100 ms essentially never fall within 10 ms.
    assert!(max - min > 10.0, "{rtts:?}");
}

#[tokio::test]
async fn limits_bandwidth_within_10_percent() {
    const SIZE: usize = 200_000;
    const RATE: u64 = 400_000;
    let proxy = proxy_to(blob_upstream(SIZE).await).await;
    proxy.set_faults(Faults {
        bandwidth: RATE,
        ..Faults::default()
    });
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut first = [0u8; 1];
    s.read_exact(&mut first).await.unwrap();
    let t = Instant::now();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(rest.len() + 1, SIZE);
    let rate = rest.len() as f64 / secs;
    let err = (rate - RATE as f64).abs() / RATE as f64;
    assert!(err <= 0.10, "measured {rate:.0} B/s for {RATE}");
}

#[tokio::test]
async fn reset_tears_down_open_and_new_connections() {
    let proxy = proxy_to(echo_upstream().await).await;
    let mut open = TcpStream::connect(proxy.local_addr()).await.unwrap();
    round_trip(&mut open).await;
    proxy.set_faults(Faults {
        reset: true,
        ..Faults::default()
    });
    let mut buf = [0u8; 8];
    let e = open.read(&mut buf).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    let mut fresh = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let _ = fresh.write_all(b"ping\n").await;
    let e = fresh.read(&mut buf).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    assert!(proxy.stats().resets >= 2);
    proxy.set_faults(Faults::default());
    let mut healed = TcpStream::connect(proxy.local_addr()).await.unwrap();
    round_trip(&mut healed).await;
}

#[tokio::test]
async fn blackhole_holds_bytes_until_the_partition_heals() {
    let proxy = proxy_to(echo_upstream().await).await;
    let mut open = TcpStream::connect(proxy.local_addr()).await.unwrap();
    round_trip(&mut open).await;
    proxy.set_faults(Faults {
        blackhole: true,
        ..Faults::default()
    });
    let mut fresh = TcpStream::connect(proxy.local_addr()).await.unwrap();
    open.write_all(b"ping\n").await.unwrap();
    fresh.write_all(b"ping\n").await.unwrap();
    let mut buf = [0u8; 5];
    // Both are accepted and silent: the client sees a timeout, not an error.
    let window = Duration::from_millis(300);
    assert!(tokio::time::timeout(window, open.read_exact(&mut buf))
        .await
        .is_err());
    assert!(tokio::time::timeout(window, fresh.read_exact(&mut buf))
        .await
        .is_err());
    proxy.set_faults(Faults::default());
    open.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong\n");
    fresh.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong\n");
}

#[tokio::test]
async fn slow_close_delays_the_close() {
    let proxy = proxy_to(blob_upstream(10).await).await;
    proxy.set_faults(Faults {
        slow_close_ms: 300,
        ..Faults::default()
    });
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut data = [0u8; 10];
    s.read_exact(&mut data).await.unwrap();
    let t = Instant::now();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(280),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn limit_data_cuts_the_connection() {
    let proxy = proxy_to(blob_upstream(10_000).await).await;
    proxy.set_faults(Faults {
        limit_data: 1000,
        ..Faults::default()
    });
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got).await;
    assert_eq!(got.len(), 1000);
}

async fn http_get(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"ok") && !head.ends_with(b"\n") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&head));
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn error_rate_answers_http_requests_with_5xx() {
    let proxy = proxy_to(http_upstream().await).await;
    assert!(http_get(proxy.local_addr())
        .await
        .starts_with("HTTP/1.1 200"));
    proxy.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    assert!(http_get(proxy.local_addr())
        .await
        .starts_with("HTTP/1.1 503"));
    proxy.set_faults(Faults {
        error_rate: 0.5,
        error_status: Some(500),
        ..Faults::default()
    });
    let mut errors = 0;
    for _ in 0..100 {
        if http_get(proxy.local_addr())
            .await
            .starts_with("HTTP/1.1 500")
        {
            errors += 1;
        }
    }
    // Binomial(100, 0.5): outside 25..=75 has probability below 1e-6.
    assert!((25..=75).contains(&errors), "{errors}");
}

#[tokio::test]
async fn a_dead_upstream_closes_clients() {
    // A port nobody listens on: bind, learn the port, drop.
    let dead = TcpListener::bind(LOOPBACK)
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = proxy_to(dead).await;
    let mut s = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    assert!(buf.is_empty());
    assert_eq!(proxy.stats().upstream_failures, 1);
}

#[tokio::test]
async fn agent_timed_restore_ends_the_fault() {
    let agent = Agent::new();
    let addr = agent
        .add_proxy(
            "echo",
            LOOPBACK.parse().unwrap(),
            &echo_upstream().await.to_string(),
        )
        .await
        .unwrap();
    let part = Faults {
        blackhole: true,
        ..Faults::default()
    };
    agent
        .inject("echo", Some(part), Some(Duration::from_millis(200)))
        .await
        .unwrap();
    assert!(agent.states().await[0].injected);
    let mut s = TcpStream::connect(addr).await.unwrap();
    // Held by the partition, then served once the timed restore runs.
    let rtt = round_trip(&mut s).await;
    assert!(rtt >= Duration::from_millis(150), "{rtt:?}");
    assert!(!agent.states().await[0].injected);
    assert!(agent.restore_all().await.is_empty());
    let e = agent.inject("nope", None, None).await.unwrap_err();
    assert!(e.to_string().contains("nope"));
}
