//! Client certificates (k6 `tlsAuth`) against an HTTPS server that requires
//! one: a CA, server and client certificates are generated here with rcgen.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use stampede_http::{Client, ClientCert, ClientConfig, Request, TlsVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A certificate authority that signs server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM and DER.
struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn leaf(&self, names: &[&str], cn: &str) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }
}

fn client_cert(leaf: &Leaf, domains: &[&str]) -> ClientCert {
    ClientCert {
        cert_pem: leaf.cert_pem.clone(),
        key_pem: leaf.key_pem.clone(),
        password: None,
        domains: domains.iter().map(|d| d.to_string()).collect(),
    }
}

/// An HTTPS server for `localhost` requiring a client certificate signed by
/// `client_ca`; answers with the name of the client certificate it got
/// (from `known`) or `unknown`.
async fn mtls_server(
    ca: &Ca,
    client_ca: &Ca,
    known: Vec<(&'static str, CertificateDer<'static>)>,
) -> u16 {
    let server = ca.leaf(&["localhost"], "localhost");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(client_ca.der())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server.key_der.clone()));
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server.der.clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let known = Arc::new(known);
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, known) = (acceptor.clone(), known.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let presented = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
                let name = known
                    .iter()
                    .find(|(_, der)| Some(der) == presented)
                    .map_or("unknown", |(n, _)| n);
                let mut buf = vec![0u8; 4096];
                if tls.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{name}",
                    name.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn client(ca: &Ca, certs: Vec<ClientCert>) -> Client {
    Client::new(ClientConfig {
        extra_root_certs: vec![ca.der()],
        client_certs: certs,
        ..Default::default()
    })
    .unwrap()
}

async fn get(client: &Client, port: u16) -> stampede_http::Exchange {
    let url = format!("https://localhost:{port}/").parse().unwrap();
    let mut req = Request::get(url);
    req.timeout = Duration::from_secs(5);
    client.session().request(req, None).await
}

#[tokio::test]
async fn the_certificate_for_the_domain_is_presented() {
    let ca = Ca::new("Stampede test CA");
    let (a, b) = (ca.leaf(&[], "client-a"), ca.leaf(&[], "client-b"));
    let port = mtls_server(&ca, &ca, vec![("a", a.der.clone()), ("b", b.der.clone())]).await;

    let only = client(&ca, vec![client_cert(&a, &["localhost"])]);
    let ex = get(&only, port).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    assert_eq!(&ex.response.body[..], b"a");
    assert_eq!(ex.response.tls.as_ref().unwrap().version, "tls1.3");
    assert!(ex.hops[0].timings.tls_handshaking > Duration::ZERO);

    // An entry listing the host wins over earlier entries.
    let both = client(
        &ca,
        vec![
            client_cert(&a, &["other.test"]),
            client_cert(&b, &["*.nope.test", "localhost"]),
        ],
    );
    assert_eq!(&get(&both, port).await.response.body[..], b"b");
    // No entry for the host: the first the server accepts, as Go (k6).
    let neither = client(
        &ca,
        vec![client_cert(&a, &["other.test"]), client_cert(&b, &[])],
    );
    assert_eq!(&get(&neither, port).await.response.body[..], b"a");
}

#[tokio::test]
async fn certificates_from_authorities_the_server_does_not_name_are_skipped() {
    let ca = Ca::new("Stampede test CA");
    let stranger = Ca::new("Another CA");
    let (wrong, right) = (stranger.leaf(&[], "wrong"), ca.leaf(&[], "right"));
    let port = mtls_server(&ca, &ca, vec![("right", right.der.clone())]).await;
    let c = client(
        &ca,
        vec![client_cert(&wrong, &[]), client_cert(&right, &[])],
    );
    let ex = get(&c, port).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    assert_eq!(&ex.response.body[..], b"right");
}

#[tokio::test]
async fn without_a_certificate_the_request_fails_with_the_servers_alert() {
    let ca = Ca::new("Stampede test CA");
    let port = mtls_server(&ca, &ca, Vec::new()).await;
    // A rustls server sends `certificate_required` under TLS 1.2 as well
    // (OpenSSL's sends `handshake_failure`: `remote error: tls: handshake
    // failure` in k6, and here).
    for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let c = Client::new(ClientConfig {
            extra_root_certs: vec![ca.der()],
            tls_min_version: Some(version),
            tls_max_version: Some(version),
            ..Default::default()
        })
        .unwrap();
        let ex = get(&c, port).await;
        let e = ex
            .response
            .error
            .expect("the server refuses the connection");
        assert_eq!(ex.response.status, 0);
        // k6 v1.1.0 against the same kind of server.
        assert_eq!(
            (e.code, e.message.as_str()),
            (1010, "remote error: tls: certificate required"),
            "{version:?}"
        );
    }
}

#[test]
fn unusable_certificates_are_configuration_errors() {
    let ca = Ca::new("Stampede test CA");
    let (a, b) = (ca.leaf(&[], "a"), ca.leaf(&[], "b"));
    let mismatched = ClientCert {
        key_pem: b.key_pem.clone(),
        ..client_cert(&a, &[])
    };
    let err = Client::new(ClientConfig {
        client_certs: vec![client_cert(&a, &[]), mismatched],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("tlsAuth[1]: "), "{err}");
    let garbage = ClientCert {
        cert_pem: "not a certificate".into(),
        ..client_cert(&a, &[])
    };
    let err = Client::new(ClientConfig {
        client_certs: vec![garbage],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("cert"), "{err}");
}
