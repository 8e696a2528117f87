//! rustls client configuration: webpki roots, or no verification for
//! `insecureSkipTLSVerify`; optional version and cipher-suite limits;
//! client certificates (k6 `tlsAuth`); the servers' stapled OCSP responses.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::{Connect, TlsConnector};

use crate::config::{ClientCert, ClientConfig, ConfigError, TlsVersion};
use crate::ocsp::Ocsp;
use crate::response::TlsInfo;

/// The TLS connectors of a client: one for every host, and one per
/// `tlsAuth` domain that prefers that entry's certificate.
#[derive(Clone)]
pub(crate) struct Connector {
    default: TlsConnector,
    by_domain: Arc<[(String, TlsConnector)]>,
    staples: Arc<Staples>,
}

impl Connector {
    /// k6's TLS details of an established connection.
    pub(crate) fn info(&self, conn: &rustls::ClientConnection) -> Option<TlsInfo> {
        let version = match conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "tls1.3",
            rustls::ProtocolVersion::TLSv1_2 => "tls1.2",
            _ => "",
        };
        let suite = conn.negotiated_cipher_suite()?;
        Some(TlsInfo {
            version,
            cipher_suite: cipher_suite_name(suite.suite()),
            ocsp: self.staples.find(conn),
        })
    }

    fn for_name(&self, name: &ServerName<'_>) -> &TlsConnector {
        if self.by_domain.is_empty() {
            return &self.default;
        }
        let host = match name {
            ServerName::DnsName(d) => d.as_ref().to_string(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            _ => return &self.default,
        };
        self.by_domain
            .iter()
            .find(|(pattern, _)| domain_matches(pattern, &host))
            .map_or(&self.default, |(_, c)| c)
    }

    /// Starts a TLS handshake with the connector for `domain`.
    pub(crate) fn connect<IO>(&self, domain: ServerName<'static>, stream: IO) -> Connect<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        self.for_name(&domain).connect(domain, stream)
    }

    /// The same connectors offering `alpn` instead of the configured protocols.
    pub(crate) fn with_alpn(&self, alpn: Vec<Vec<u8>>) -> WithAlpn<'_> {
        WithAlpn { inner: self, alpn }
    }
}

/// A [`Connector`] with other ALPN protocols, for one connection.
pub(crate) struct WithAlpn<'a> {
    inner: &'a Connector,
    alpn: Vec<Vec<u8>>,
}

impl WithAlpn<'_> {
    pub(crate) fn connect<IO>(self, domain: ServerName<'static>, stream: IO) -> Connect<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        self.inner
            .for_name(&domain)
            .with_alpn(self.alpn)
            .connect(domain, stream)
    }
}

/// `example.com` matches itself (any case); `*.example.com` one more label.
fn domain_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(host),
    }
}

/// Client certificates in order of preference. As Go's `tls.Config`
/// (k6) does, the first one the server accepts is sent (its key can make
/// one of the server's signature schemes and, when the server names the
/// authorities it trusts, its chain mentions one of them); none otherwise.
#[derive(Debug)]
struct ClientCerts(Vec<Arc<CertifiedKey>>);

impl ClientCerts {
    fn accepts(key: &CertifiedKey, hints: &[&[u8]], schemes: &[SignatureScheme]) -> bool {
        // A chain certificate containing an authority's DER name: its
        // issuer (or, for the authority itself, its subject), as Go
        // compares raw issuer names.
        key.key.choose_scheme(schemes).is_some()
            && (hints.is_empty()
                || key.cert.iter().any(|der| {
                    hints
                        .iter()
                        .any(|h| !h.is_empty() && der.windows(h.len()).any(|w| w == *h))
                }))
    }
}

impl ResolvesClientCert for ClientCerts {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0
            .iter()
            .find(|k| Self::accepts(k, root_hint_subjects, sigschemes))
            .cloned()
    }

    fn has_certs(&self) -> bool {
        !self.0.is_empty()
    }
}

/// Parses a `tlsAuth` entry: PEM certificate chain and PEM private key.
fn certified_key(
    provider: &CryptoProvider,
    index: usize,
    cert: &ClientCert,
) -> Result<Arc<CertifiedKey>, ConfigError> {
    let bad = |what: String| ConfigError::ClientCert { index, what };
    if cert.password.is_some() {
        return Err(bad(
            "encrypted private keys (password) are not supported; decrypt the key first".into(),
        ));
    }
    let chain = CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("cert: {e}")))?;
    if chain.is_empty() {
        return Err(bad("cert: no PEM certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes())
        .map_err(|e| bad(format!("key: {e}")))?;
    let key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| bad(format!("key: {e}")))?;
    let certified = CertifiedKey::new(chain, key);
    // Only a definite mismatch is an error: webpki cannot parse some
    // certificates Go (k6) sends happily, such as X.509 v1 ones.
    if let Err(e @ rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
        certified.keys_match()
    {
        return Err(bad(format!("the key does not match the certificate: {e}")));
    }
    Ok(Arc::new(certified))
}

/// The client's connectors, ready to share between VUs.
pub(crate) fn connector(cfg: &ClientConfig) -> Result<Connector, ConfigError> {
    let staples = Arc::new(Staples::default());
    let base = build(cfg, &staples)?;
    if cfg.client_certs.is_empty() {
        return Ok(Connector {
            default: TlsConnector::from(Arc::new(base)),
            by_domain: Arc::new([]),
            staples,
        });
    }
    let provider = ring::default_provider();
    let keys = cfg
        .client_certs
        .iter()
        .enumerate()
        .map(|(i, c)| certified_key(&provider, i, c))
        .collect::<Result<Vec<_>, _>>()?;
    let with_certs = |preferred: Option<usize>| {
        let mut order: Vec<Arc<CertifiedKey>> = Vec::with_capacity(keys.len());
        if let Some(i) = preferred {
            order.push(keys[i].clone());
        }
        order.extend(
            keys.iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != preferred)
                .map(|(_, k)| k.clone()),
        );
        let mut c = base.clone();
        c.client_auth_cert_resolver = Arc::new(ClientCerts(order));
        TlsConnector::from(Arc::new(c))
    };
    let mut by_domain = Vec::new();
    for (i, cert) in cfg.client_certs.iter().enumerate() {
        for domain in &cert.domains {
            if !by_domain.iter().any(|(d, _)| d == domain) {
                by_domain.push((domain.clone(), with_certs(Some(i))));
            }
        }
    }
    Ok(Connector {
        default: with_certs(None),
        by_domain: by_domain.into(),
        staples,
    })
}

fn build(cfg: &ClientConfig, staples: &Arc<Staples>) -> Result<rustls::ClientConfig, ConfigError> {
    let mut provider = ring::default_provider();
    if let Some(names) = &cfg.tls_cipher_suites {
        let mut suites = Vec::new();
        for name in names {
            let found = provider
                .cipher_suites
                .iter()
                .find(|s| cipher_suite_name(s.suite()) == *name);
            match found {
                Some(s) => suites.push(*s),
                None => return Err(ConfigError::UnknownCipherSuite(name.clone())),
            }
        }
        provider.cipher_suites = suites;
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| {
        cfg.tls_min_version.is_none_or(|min| *v >= min)
            && cfg.tls_max_version.is_none_or(|max| *v <= max)
    })
    .map(|(_, p)| p)
    .collect();
    if versions.is_empty() {
        return Err(ConfigError::NoTlsVersion);
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| ConfigError::Tls(e.to_string()))?;
    let verifier = if cfg.insecure_skip_tls_verify {
        insecure_verifier(provider)
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut roots = roots;
        for der in &cfg.extra_root_certs {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| ConfigError::Tls(e.to_string()))?;
        }
        // What `with_root_certificates` builds: no CRLs, the provider's
        // signature algorithms.
        let webpki: Arc<dyn ServerCertVerifier> =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| ConfigError::Tls(e.to_string()))?;
        webpki
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Stapling {
            inner: verifier,
            staples: staples.clone(),
        }))
        .with_no_client_auth();
    config.alpn_protocols = if cfg.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// The OCSP responses servers stapled, read at their handshakes, by the
/// certificate they vouch for: rustls hands the staple only to the
/// certificate verifier (shared by every connection of the client), and a
/// resumed session brings no staple but the same certificate, where Go (k6,
/// which does not resume) would have read the staple again. Holds only
/// responses k6 can read, for the most recent certificates; the servers of a
/// load test usually staple none, and then this costs one atomic load per
/// connection.
#[derive(Debug, Default)]
pub(crate) struct Staples {
    /// Whether `by_cert` has anything.
    any: AtomicBool,
    by_cert: Mutex<Vec<(CertificateDer<'static>, Ocsp)>>,
}

impl Staples {
    /// Certificates remembered at most; the oldest goes first.
    const MAX: usize = 64;

    /// Reads what a full handshake stapled to `cert` (perhaps nothing) and
    /// keeps it for the connection: the latest handshake with a certificate
    /// tells. Two servers sharing a certificate but stapling different
    /// responses, handshaking at the same instant, could see each other's.
    fn record(&self, cert: &CertificateDer<'_>, staple: &[u8]) {
        let parsed = crate::ocsp::parse(staple);
        if parsed.is_none() && !self.any.load(Ordering::Acquire) {
            return;
        }
        let mut by_cert = self.by_cert.lock().unwrap_or_else(|e| e.into_inner());
        by_cert.retain(|(c, _)| c != cert);
        if let Some(ocsp) = parsed {
            if by_cert.len() >= Self::MAX {
                by_cert.remove(0);
            }
            by_cert.push((cert.clone().into_owned(), ocsp));
        }
        self.any.store(!by_cert.is_empty(), Ordering::Release);
    }

    /// The response stapled to the certificate of an established connection.
    fn find(&self, conn: &rustls::ClientConnection) -> Option<Ocsp> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let cert = conn.peer_certificates()?.first()?;
        let by_cert = self.by_cert.lock().unwrap_or_else(|e| e.into_inner());
        by_cert.iter().find(|(c, _)| c == cert).map(|(_, o)| *o)
    }
}

/// The client's certificate verifier (WebPKI, or none for
/// `insecureSkipTLSVerify`) that also keeps the stapled OCSP response of a
/// certificate it accepts.
#[derive(Debug)]
struct Stapling {
    inner: Arc<dyn ServerCertVerifier>,
    staples: Arc<Staples>,
}

impl ServerCertVerifier for Stapling {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        self.staples.record(end_entity, ocsp);
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

/// Go's name for a suite: rustls says `TLS13_AES_128_GCM_SHA256`, Go `TLS_AES_128_GCM_SHA256`.
pub(crate) fn cipher_suite_name(s: rustls::CipherSuite) -> String {
    let name = format!("{s:?}");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// A TLS alert from the server, as Go words it: k6 reports these with code
/// 1010 and `remote error: tls: certificate required` (a server that wants
/// a client certificate and got none, under TLS 1.3) or `... handshake
/// failure` (the same under TLS 1.2).
pub(crate) fn remote_alert(err: &std::io::Error) -> Option<crate::HttpError> {
    use rustls::AlertDescription as A;
    let rustls::Error::AlertReceived(alert) = err.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    let text = match alert {
        A::CloseNotify => "close notify".to_string(),
        A::UnexpectedMessage => "unexpected message".into(),
        A::BadRecordMac => "bad record MAC".into(),
        A::RecordOverflow => "record overflow".into(),
        A::HandshakeFailure => "handshake failure".into(),
        A::BadCertificate => "bad certificate".into(),
        A::UnsupportedCertificate => "unsupported certificate".into(),
        A::CertificateRevoked => "revoked certificate".into(),
        A::CertificateExpired => "expired certificate".into(),
        A::CertificateUnknown => "unknown certificate".into(),
        A::IllegalParameter => "illegal parameter".into(),
        A::UnknownCA => "unknown certificate authority".into(),
        A::AccessDenied => "access denied".into(),
        A::DecodeError => "error decoding message".into(),
        A::DecryptError => "error decrypting message".into(),
        A::ProtocolVersion => "protocol version not supported".into(),
        A::InsufficientSecurity => "insufficient security level".into(),
        A::InternalError => "internal error".into(),
        A::InappropriateFallback => "inappropriate fallback".into(),
        A::UserCanceled => "user canceled".into(),
        A::NoRenegotiation => "no renegotiation".into(),
        A::MissingExtension => "missing extension".into(),
        A::UnsupportedExtension => "unsupported extension".into(),
        A::UnrecognisedName => "unrecognized name".into(),
        A::CertificateRequired => "certificate required".into(),
        A::NoApplicationProtocol => "no application protocol".into(),
        other => format!("alert({})", u8::from(*other)),
    };
    Some(crate::HttpError::plain(
        crate::error::code::NET_NON_TCP,
        format!("remote error: tls: {text}"),
    ))
}

/// A verifier accepting any server certificate (k6 `insecureSkipTLSVerify`),
/// still checking the handshake signatures so the connection is a real TLS
/// session. Also used by the result outputs' `insecure` settings.
pub fn insecure_verifier(provider: Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(NoVerify(provider))
}

#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_match_exactly_or_by_one_wildcard_label() {
        assert!(domain_matches("example.com", "EXAMPLE.com"));
        assert!(!domain_matches("example.com", "a.example.com"));
        assert!(domain_matches("*.example.com", "a.example.com"));
        assert!(!domain_matches("*.example.com", "example.com"));
        assert!(!domain_matches("*.example.com", "a.b.example.com"));
        assert!(domain_matches("127.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn bad_client_certificates_are_config_errors() {
        let provider = ring::default_provider();
        let cert = |cert: &str, key: &str, password: Option<&str>| ClientCert {
            cert_pem: cert.into(),
            key_pem: key.into(),
            password: password.map(Into::into),
            domains: Vec::new(),
        };
        let err = certified_key(&provider, 2, &cert("nope", "nope", None)).unwrap_err();
        assert!(err.to_string().contains("tlsAuth[2]"), "{err}");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let err = certified_key(&provider, 0, &cert("", "", Some("pw"))).unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
    }
}
