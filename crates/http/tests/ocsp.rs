//! The server's stapled OCSP response (k6's `res.ocsp` and `ocsp_status`)
//! against a rustls HTTPS server that staples one. The responses are built
//! and signed here (a CA made with rcgen signs both the server certificate
//! and the responses); the two DER files in `fixtures/` were made by
//! `openssl ocsp` (signer certificate embedded, nonce extension), and the
//! values expected of them are those k6 v1.1.0 reported against
//! `openssl s_server -status_file` stapling them.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SigningKey,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use stampede_http::ocsp::{self, GO_ZERO_TIME};
use stampede_http::{Client, ClientConfig, Exchange, Ocsp, Request, TlsVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use x509_cert::der::asn1::{Any, BitString, GeneralizedTime, ObjectIdentifier, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::CrlReason;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspResponse, ResponderId,
    ResponseData, RevokedInfo, SingleResponse, Version,
};

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// A CA and the `localhost` certificate it signed.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Stampede OCSP test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Pki {
            ca,
            server_der: cert.der().clone(),
            server_key: key.serialize_der(),
        }
    }

    fn ca_der(&self) -> Vec<u8> {
        self.ca.der().to_vec()
    }
}

/// What a built response says.
struct Staple {
    status: CertStatus,
    produced_at: u64,
    this_update: u64,
    next_update: Option<u64>,
    /// Embed the CA certificate (the signer), as many responders do.
    embed_signer: bool,
    /// Spoil the signature.
    tamper: bool,
}

fn time(secs: u64) -> OcspGeneralizedTime {
    OcspGeneralizedTime(GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).unwrap())
}

/// A DER `OCSPResponse` for the server certificate, signed by the CA
/// (ECDSA P-256 with SHA-256).
fn ocsp_response(pki: &Pki, s: &Staple) -> Vec<u8> {
    let ca = Certificate::from_der(pki.ca.der()).unwrap();
    let server = Certificate::from_der(&pki.server_der).unwrap();
    let serial: SerialNumber = server.tbs_certificate.serial_number.clone();
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByName(ca.tbs_certificate.subject.clone()),
        produced_at: time(s.produced_at),
        responses: vec![SingleResponse {
            // k6 gives Go no issuer, so these hashes go unchecked.
            cert_id: CertId {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid: SHA1,
                    parameters: Some(Any::null()),
                },
                issuer_name_hash: OctetString::new([1u8; 20]).unwrap(),
                issuer_key_hash: OctetString::new([2u8; 20]).unwrap(),
                serial_number: serial,
            },
            cert_status: s.status,
            this_update: time(s.this_update),
            next_update: s.next_update.map(time),
            single_extensions: None,
        }],
        response_extensions: None,
    };
    let mut signature = pki.ca.key().sign(&data.to_der().unwrap()).unwrap();
    if s.tamper {
        // Inside the ECDSA signature's `r`: still DER, no longer valid.
        signature[10] ^= 1;
    }
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: ECDSA_SHA256,
            parameters: None,
        },
        signature: BitString::from_bytes(&signature).unwrap(),
        certs: s.embed_signer.then(|| vec![ca]),
    };
    OcspResponse::successful(basic).unwrap().to_der().unwrap()
}

fn good(embed_signer: bool) -> Staple {
    Staple {
        status: CertStatus::good(),
        produced_at: 1_700_000_100,
        this_update: 1_700_000_000,
        next_update: Some(1_700_604_800),
        embed_signer,
        tamper: false,
    }
}

fn revoked(reason: Option<CrlReason>) -> Staple {
    Staple {
        status: CertStatus::Revoked(RevokedInfo {
            revocation_time: time(1_650_000_000),
            revocation_reason: reason,
        }),
        produced_at: 1_700_000_200,
        this_update: 1_700_000_150,
        next_update: None,
        embed_signer: false,
        tamper: false,
    }
}

/// An HTTPS server for `localhost` stapling `staple` (nothing when empty),
/// keeping connections alive; each response's body says whether the
/// handshake was a full one or resumed a session.
async fn stapling_server(pki: &Pki, staple: Vec<u8>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert_with_ocsp(vec![pki.server_der.clone()], key, staple)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let kind = match tls.get_ref().1.handshake_kind() {
                    Some(rustls::HandshakeKind::Resumed) => "resumed",
                    _ => "full",
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    head.extend_from_slice(&buf[..n]);
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{kind}",
                            kind.len()
                        );
                        if tls.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

/// A client trusting the test CA (WebPKI verification), or verifying
/// nothing (`insecureSkipTLSVerify`).
fn client(pki: &Pki, insecure: bool, version: Option<TlsVersion>) -> Client {
    Client::new(ClientConfig {
        extra_root_certs: vec![pki.ca_der()],
        insecure_skip_tls_verify: insecure,
        tls_min_version: version,
        tls_max_version: version,
        ..Default::default()
    })
    .unwrap()
}

async fn get(session: &stampede_http::Session, port: u16) -> Exchange {
    let url = format!("https://localhost:{port}/").parse().unwrap();
    let mut req = Request::get(url);
    req.timeout = Duration::from_secs(5);
    let ex = session.request(req, None).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    ex
}

fn ocsp_of(ex: &Exchange) -> Option<Ocsp> {
    ex.response.tls.as_ref().expect("over TLS").ocsp
}

#[tokio::test]
async fn a_good_staple_is_read_with_its_times() {
    let pki = Pki::new();
    let port = stapling_server(&pki, ocsp_response(&pki, &good(true))).await;
    for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let c = client(&pki, false, Some(version));
        let session = c.session();
        let expected = Some(Ocsp {
            status: "good",
            revocation_reason: "unspecified",
            produced_at: 1_700_000_100,
            this_update: 1_700_000_000,
            next_update: 1_700_604_800,
            revoked_at: GO_ZERO_TIME,
        });
        let first = get(&session, port).await;
        assert_eq!(ocsp_of(&first), expected, "{version:?}");
        assert_eq!(first.hops[0].ocsp_status, "good");
        assert_eq!(first.response.tls.as_ref().unwrap().ocsp_status(), "good");
        // The same connection again: the same response, as k6 reports it.
        let again = get(&session, port).await;
        assert_eq!(again.hops[0].timings.tls_handshaking, Duration::ZERO);
        assert_eq!(ocsp_of(&again), expected);
        assert_eq!(again.hops[0].ocsp_status, "good");
    }
}

#[tokio::test]
async fn a_revoked_staple_gives_k6s_reason_and_revocation_time() {
    let pki = Pki::new();
    let cases = [
        (Some(CrlReason::KeyCompromise), "key_compromise"),
        (
            Some(CrlReason::CessationOfOperation),
            "cessation_of_operation",
        ),
        (Some(CrlReason::RemoveFromCRL), "remove_from_crl"),
        (None, "unspecified"),
    ];
    for (reason, name) in cases {
        let port = stapling_server(&pki, ocsp_response(&pki, &revoked(reason))).await;
        // insecureSkipTLSVerify: the other verifier reads staples as well.
        let c = client(&pki, true, None);
        let ex = get(&c.session(), port).await;
        assert_eq!(
            ocsp_of(&ex),
            Some(Ocsp {
                status: "revoked",
                revocation_reason: name,
                produced_at: 1_700_000_200,
                this_update: 1_700_000_150,
                // No nextUpdate: Go's zero time.
                next_update: GO_ZERO_TIME,
                revoked_at: 1_650_000_000,
            })
        );
        assert_eq!(ex.hops[0].ocsp_status, "revoked");
    }
}

#[tokio::test]
async fn without_a_staple_the_status_is_unknown() {
    let pki = Pki::new();
    let port = stapling_server(&pki, Vec::new()).await;
    for insecure in [false, true] {
        let ex = get(&client(&pki, insecure, None).session(), port).await;
        assert_eq!(ocsp_of(&ex), None);
        assert_eq!(ex.response.tls.as_ref().unwrap().ocsp_status(), "unknown");
        assert_eq!(ex.hops[0].ocsp_status, "unknown");
    }
}

#[tokio::test]
async fn a_response_k6_cannot_read_is_unknown() {
    let pki = Pki::new();
    let spoiled = Staple {
        tamper: true,
        ..good(true)
    };
    for staple in [
        ocsp_response(&pki, &spoiled),
        b"not an OCSP response".to_vec(),
    ] {
        let port = stapling_server(&pki, staple).await;
        let ex = get(&client(&pki, false, None).session(), port).await;
        assert_eq!(ocsp_of(&ex), None);
        assert_eq!(ex.hops[0].ocsp_status, "unknown");
    }
}

#[tokio::test]
async fn a_resumed_session_keeps_the_staple() {
    let pki = Pki::new();
    let port = stapling_server(&pki, ocsp_response(&pki, &good(false))).await;
    let c = Client::new(ClientConfig {
        extra_root_certs: vec![pki.ca_der()],
        no_connection_reuse: true,
        ..Default::default()
    })
    .unwrap();
    let session = c.session();
    let first = get(&session, port).await;
    let second = get(&session, port).await;
    assert_eq!(&first.response.body[..], b"full");
    // No staple comes with a resumed session; k6 (which does not resume)
    // would have read the same one again.
    assert_eq!(&second.response.body[..], b"resumed");
    assert_eq!(ocsp_of(&second), ocsp_of(&first));
    assert_eq!(ocsp_of(&second).unwrap().status, "good");
}

#[test]
fn the_signature_is_checked_only_against_an_embedded_certificate() {
    // Go's ocsp.ParseResponse(der, nil): the first embedded certificate
    // must have made the signature; with none embedded it goes unchecked.
    let pki = Pki::new();
    let parsed = |embed_signer, tamper| {
        ocsp::parse(&ocsp_response(
            &pki,
            &Staple {
                embed_signer,
                tamper,
                ..good(false)
            },
        ))
    };
    assert_eq!(parsed(true, false).map(|o| o.status), Some("good"));
    assert_eq!(parsed(true, true), None);
    assert_eq!(parsed(false, true).map(|o| o.status), Some("good"));
}

#[test]
fn responses_made_by_openssl_read_as_k6_read_them() {
    let good = ocsp::parse(include_bytes!("fixtures/ocsp-good.der"));
    assert_eq!(
        good,
        Some(Ocsp {
            status: "good",
            revocation_reason: "unspecified",
            produced_at: 1_795_480_893,
            this_update: 1_795_480_893,
            next_update: 1_795_653_693,
            revoked_at: -62_135_596_800,
        })
    );
    let revoked = ocsp::parse(include_bytes!("fixtures/ocsp-revoked.der"));
    assert_eq!(
        revoked,
        Some(Ocsp {
            status: "revoked",
            revocation_reason: "key_compromise",
            produced_at: 1_795_480_893,
            this_update: 1_795_480_893,
            next_update: -62_135_596_800,
            revoked_at: 1_704_164_645,
        })
    );
    // Cut short, or with a byte more: Go's parser refuses both.
    let der = include_bytes!("fixtures/ocsp-good.der");
    assert_eq!(ocsp::parse(&der[..der.len() - 1]), None);
    let mut longer = der.to_vec();
    longer.push(0);
    assert_eq!(ocsp::parse(&longer), None);
}
