use std::sync::Arc;

use stampede_http::{Client, ClientConfig};
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;

use crate::common::*;

const CERT: &[u8] = include_bytes!("../fixtures/cert.pem");
const KEY: &[u8] = include_bytes!("../fixtures/key.pem");
const CA: &[u8] = include_bytes!("../fixtures/ca.pem");

/// An HTTPS keep-alive server with a certificate for `localhost` signed by
/// the test CA; answers `ok`.
async fn tls_server() -> std::net::SocketAddr {
    let certs = rustls_pemfile::certs(&mut &CERT[..])
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut &KEY[..]).unwrap().unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    raw_server(move |s| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(mut tls) = acceptor.accept(s).await else {
                return;
            };
            loop {
                let mut buf = vec![0u8; 4096];
                use tokio::io::AsyncReadExt;
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if tls
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    })
    .await
}

fn ca_der() -> Vec<u8> {
    rustls_pemfile::certs(&mut &CA[..])
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn https_with_trusted_root() {
    let addr = tls_server().await;
    let client = Client::new(ClientConfig {
        extra_root_certs: vec![ca_der()],
        ..Default::default()
    })
    .unwrap();
    let session = client.session();
    let u = format!("https://localhost:{}/", addr.port());
    let ex = get(&session, &u).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    assert_eq!(&ex.response.body[..], b"ok");
    let tls = ex.response.tls.clone().unwrap();
    assert_eq!(tls.version, "tls1.3");
    assert_eq!(ex.hops[0].tls_version, "tls1.3");
    assert!(tls.cipher_suite.starts_with("TLS_"), "{}", tls.cipher_suite);
    let t = ex.hops[0].timings;
    assert!(t.tls_handshaking > std::time::Duration::ZERO);
    assert!(t.blocked >= t.connecting + t.tls_handshaking);
    // TLS overhead is counted: more than the plaintext.
    assert!(ex.hops[0].bytes_received > 1000);
    let again = get(&session, &u).await;
    assert_eq!(again.response.status, 200);
    assert!(again.hops[0].timings.tls_handshaking.is_zero());
    assert!(again.hops[0].bytes_received < 200);
}

#[tokio::test]
async fn unknown_authority_is_1310_unless_insecure() {
    let addr = tls_server().await;
    let u = format!("https://localhost:{}/", addr.port());
    let ex = get(&client().session(), &u).await;
    let e = ex.response.error.unwrap();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1310, "x509: unknown authority")
    );

    let insecure = Client::new(ClientConfig {
        insecure_skip_tls_verify: true,
        ..Default::default()
    })
    .unwrap();
    let ex = get(
        &insecure.session(),
        &format!("https://127.0.0.1:{}/", addr.port()),
    )
    .await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
}

#[tokio::test]
async fn hostname_mismatch_is_1311() {
    let addr = tls_server().await;
    let client = Client::new(ClientConfig {
        extra_root_certs: vec![ca_der()],
        ..Default::default()
    })
    .unwrap();
    let ex = get(
        &client.session(),
        &format!("https://127.0.0.1:{}/", addr.port()),
    )
    .await;
    let e = ex.response.error.unwrap();
    assert_eq!(e.code, 1311, "{e:?}");
}

#[tokio::test]
async fn tls_to_a_plain_server_fails_cleanly() {
    // Speaks plain HTTP as soon as the connection opens.
    let addr = raw_server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let ex = get(
        &client().session(),
        &format!("https://127.0.0.1:{}/", addr.port()),
    )
    .await;
    assert_eq!(ex.response.status, 0);
    let e = ex.response.error.unwrap();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1301, "tls: first record does not look like a TLS handshake")
    );
    assert!(ex.hops[0].timings.connecting > std::time::Duration::ZERO);
    assert!(ex.hops[0].timings.blocked.is_zero());
}
