use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use stampede_http::{Client, ClientConfig};
use tokio_rustls::TlsAcceptor;

use crate::common::*;

const CERT: &[u8] = include_bytes!("../fixtures/cert.pem");
const KEY: &[u8] = include_bytes!("../fixtures/key.pem");

/// An HTTPS server offering h2 and http/1.1 that answers with the protocol
/// it served and a cookie.
async fn h2_server() -> std::net::SocketAddr {
    let certs = rustls_pemfile::certs(&mut &CERT[..])
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut &KEY[..]).unwrap().unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    raw_server(move |s| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(tls) = acceptor.accept(s).await else {
                return;
            };
            let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
            let svc = hyper::service::service_fn(
                |req: hyper::Request<hyper::body::Incoming>| async move {
                    if req.uri().path() == "/fail" {
                        // hyper resets the stream with INTERNAL_ERROR.
                        return Err("handler failed");
                    }
                    let body = format!("{:?} {}", req.version(), req.uri().path());
                    Ok::<_, &'static str>(
                        hyper::Response::builder()
                            .header("content-type", "text/plain")
                            .header("set-cookie", "h2=yes")
                            .header("x-multi", "a")
                            .header("x-multi", "b")
                            .body(Full::new(Bytes::from(body)))
                            .unwrap(),
                    )
                },
            );
            let io = TokioIo::new(tls);
            if h2 {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(io, svc)
                    .await;
            } else {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn negotiates_http2_and_shares_the_connection() {
    let addr = h2_server().await;
    let client = Client::new(ClientConfig {
        insecure_skip_tls_verify: true,
        ..Default::default()
    })
    .unwrap();
    let session = client.session();
    let jar = stampede_http::CookieJar::new();
    let u = format!("https://127.0.0.1:{}/p", addr.port());
    let ex = session
        .request(stampede_http::Request::get(url(&u)), Some(&jar))
        .await;
    let r = &ex.response;
    assert_eq!(r.status, 200, "{:?}", r.error);
    assert_eq!(r.proto, "HTTP/2.0");
    assert_eq!(ex.hops[0].proto, "HTTP/2.0");
    assert_eq!(r.status_text, "200 OK");
    assert_eq!(&r.body[..], b"HTTP/2.0 /p");
    assert_eq!(r.header("Content-Type"), Some("text/plain"));
    assert_eq!(r.header("X-Multi"), Some("a, b"));
    assert_eq!(r.cookies[0].name, "h2");
    assert_eq!(jar.cookies_for_url(&url(&u)).len(), 1);
    let t = ex.hops[0].timings;
    assert!(t.connecting > std::time::Duration::ZERO);
    assert!(t.tls_handshaking > std::time::Duration::ZERO);
    assert!(ex.hops[0].bytes_received > 0 && ex.hops[0].bytes_sent > 0);
    assert_sane(&ex);

    let (a, b) = tokio::join!(get(&session, &u), get(&session, &u));
    assert_eq!(a.response.proto, "HTTP/2.0");
    assert_eq!(b.response.status, 200);
    assert!(a.hops[0].timings.connecting.is_zero() && b.hops[0].timings.connecting.is_zero());
    assert_eq!(session.idle_connections(), 1);
    session.reset_connections();
    assert_eq!(session.idle_connections(), 0);
    let c = get(&session, &u).await;
    assert!(c.hops[0].timings.connecting > std::time::Duration::ZERO);
}

#[tokio::test]
async fn http2_can_be_turned_off() {
    let addr = h2_server().await;
    let client = Client::new(ClientConfig {
        insecure_skip_tls_verify: true,
        http2: false,
        ..Default::default()
    })
    .unwrap();
    let ex = get(
        &client.session(),
        &format!("https://127.0.0.1:{}/", addr.port()),
    )
    .await;
    assert_eq!(ex.response.proto, "HTTP/1.1");
    assert_eq!(&ex.response.body[..], b"HTTP/1.1 /");
}

#[tokio::test]
async fn stream_reset_maps_to_k6_code() {
    let addr = h2_server().await;
    let client = Client::new(ClientConfig {
        insecure_skip_tls_verify: true,
        ..Default::default()
    })
    .unwrap();
    let session = client.session();
    let ex = get(&session, &format!("https://127.0.0.1:{}/fail", addr.port())).await;
    let e = ex.response.error.unwrap();
    assert_eq!(e.code, 1633, "{e:?}");
    assert_eq!(
        e.message,
        "http2: stream error with http2 ErrCode INTERNAL_ERROR"
    );
    // The connection survives a stream error.
    let ok = get(&session, &format!("https://127.0.0.1:{}/ok", addr.port())).await;
    assert_eq!(ok.response.status, 200);
    assert!(ok.hops[0].timings.connecting.is_zero());
}
