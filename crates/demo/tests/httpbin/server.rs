//! The server itself: keep-alive, lifecycle, background mode, TLS, HTTP/2.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use stampede_demo::TestServer;
use tokio::net::TcpStream;

use crate::client::{get, Conn};

/// Polls `cond` until it holds, failing after a generous deadline (a bound
/// against hangs, not a timing assertion).
async fn until<F: std::future::Future<Output = bool>>(what: &str, cond: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let server = TestServer::start().await.unwrap();
    let mut conn = Conn::open(server.addr()).await;
    for path in ["/get", "/status/200", "/bytes/10", "/status/204", "/post"] {
        conn.get(path).await;
    }
    assert_eq!(server.requests_served(), 5);
    assert_eq!(server.connections_accepted(), 1);
}

#[tokio::test]
async fn url_and_start_on() {
    let server = TestServer::start().await.unwrap();
    assert_eq!(
        server.url(),
        format!("http://127.0.0.1:{}", server.addr().port())
    );
    let port = server.addr().port();
    drop(server);
    // The port is free again once the runtime has run the aborted task.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let again = loop {
        match TestServer::start_on(addr).await {
            Ok(s) => break s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(e) => panic!("the port never came free: {e}"),
        }
    };
    assert_eq!(again.addr(), addr);
    assert_eq!(get(&again, "/status/201").await.status, 201);
}

#[tokio::test]
async fn many_requests_over_few_connections() {
    let server = TestServer::start().await.unwrap();
    let addr = server.addr();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(async move {
                let mut conn = Conn::open(addr).await;
                for _ in 0..250 {
                    assert_eq!(conn.get("/status/200").await.status, 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(server.requests_served(), 1000);
    assert_eq!(server.connections_accepted(), 4);
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let server = TestServer::start().await.unwrap();
    let addr = server.addr();
    let in_flight = tokio::spawn(async move { Conn::open(addr).await.get("/delay/0.3").await });
    until("the request's connection is accepted", || async {
        server.connections_accepted() == 1
    })
    .await;
    server.shutdown().await;
    assert_eq!(in_flight.await.unwrap().status, 200);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn drop_stops_the_server() {
    let server = TestServer::start().await.unwrap();
    let addr = server.addr();
    drop(server);
    until("the port refuses connections", || async {
        TcpStream::connect(addr).await.is_err()
    })
    .await;
}

#[test]
fn background_server_serves_plain_blocking_clients() {
    let server = TestServer::start_in_background();
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"GET /get?bg=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains(r#""bg": "1""#));
    assert_eq!(server.requests_served(), 1);

    // A hanging request does not keep the server alive after drop.
    let mut hung = std::net::TcpStream::connect(server.addr()).unwrap();
    hung.write_all(b"GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.connections_accepted() < 2 {
        assert!(
            Instant::now() < deadline,
            "the hanging request never arrived"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let addr = server.addr();
    drop(server);
    // The server closed the hanging connection (a bound, not a timing).
    hung.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = [0u8; 16];
    match hung.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the hanging connection stayed open: {other:?}"),
    }
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn background_server_shuts_down_from_async_code() {
    let server = tokio::task::spawn_blocking(TestServer::start_in_background)
        .await
        .unwrap();
    assert_eq!(get(&server, "/status/202").await.status, 202);
    let addr = server.addr();
    server.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

fn tls_connector(server: &TestServer, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(
            server.certificate_der().unwrap().to_vec(),
        ))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn tls_with_self_signed_certificate() {
    let server = TestServer::start_tls().await.unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
    assert!(server
        .certificate_pem()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let connector = tls_connector(&server, &[b"http/1.1"]);
    for name in ["localhost", "127.0.0.1"] {
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let tls = connector
            .connect(ServerName::try_from(name).unwrap(), tcp)
            .await
            .unwrap();
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get("/get")
            .header("host", format!("{name}:{}", server.addr().port()))
            .body(Empty::<Bytes>::new())
            .unwrap();
        let res = send.send_request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["url"].as_str().unwrap().starts_with("https://"));
    }
    assert!(TestServer::start()
        .await
        .unwrap()
        .certificate_pem()
        .is_none());
}

#[tokio::test]
async fn tls_cookies_are_secure() {
    let server = TestServer::start_tls().await.unwrap();
    let connector = tls_connector(&server, &[b"h2"]);
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let uri = format!("https://localhost:{}/cookies/set?a=1", server.addr().port());
    let res = send
        .send_request(Request::get(uri).body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.version(), http::Version::HTTP_2);
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["set-cookie"], "a=1; Path=/; Secure");
}

#[tokio::test]
async fn http2_prior_knowledge() {
    let server = TestServer::start().await.unwrap();
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let uri = format!("http://{}/get?h2=1", server.addr());
    let res = send
        .send_request(Request::get(uri).body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.version(), http::Version::HTTP_2);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["args"]["h2"], "1");
    assert_eq!(
        json["url"],
        format!("http://{}/get?h2=1", server.addr()).as_str()
    );
}
