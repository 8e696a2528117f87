//! A keep-alive HTTPS/1.1 server on loopback for the TLS tests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// Serves `config` on a free loopback port, answering every request head of
/// a connection with a 200 whose body is `body(&connection)`; the port.
pub fn serve(
    config: Arc<rustls::ServerConfig>,
    body: impl Fn(&rustls::ServerConnection) -> String + Send + Sync + 'static,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { return };
            let (config, body) = (config.clone(), body.clone());
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // Keep-alive: answer every request head until the client leaves.
                loop {
                    let n = match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    head.extend_from_slice(&buf[..n]);
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let text = body(tls.conn);
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{text}",
                            text.len()
                        );
                        if tls.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// An HTTPS server for `localhost` that requires a client certificate,
/// with its own CA: it answers `client` to the client certificate issued
/// with it and `unknown` otherwise.
#[allow(dead_code)] // each test binary reads the parts it needs
pub struct MtlsServer {
    /// The server's loopback port.
    pub port: u16,
    /// The CA that signed both certificates (PEM).
    pub ca_pem: String,
    /// The client certificate the server expects (PEM).
    pub cert_pem: String,
    /// The client certificate's private key (PEM).
    pub key_pem: String,
}

/// Starts an [`MtlsServer`] whose CA has the common name `ca_name`.
#[allow(dead_code)] // not every test binary including this file uses it
pub fn mtls_server(ca_name: &str) -> MtlsServer {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert, key)
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into()]);
    let (client_cert, client_key) = leaf(Vec::new());

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_cert.der().clone()], key)
            .unwrap(),
    );
    let expected = client_cert.der().clone();
    let port = serve(config, move |conn| {
        match conn.peer_certificates().and_then(|c| c.first()) {
            Some(c) if *c == expected => "client",
            _ => "unknown",
        }
        .to_string()
    });
    MtlsServer {
        port,
        ca_pem: ca.pem(),
        cert_pem: client_cert.pem(),
        key_pem: client_key.serialize_pem(),
    }
}
