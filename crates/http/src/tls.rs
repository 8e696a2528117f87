//! rustls client configuration: webpki roots, or no verification for
//! `insecureSkipTLSVerify`; optional version and cipher-suite limits.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::{ClientConfig, ConfigError, TlsVersion};
use crate::response::TlsInfo;

pub(crate) fn build(cfg: &ClientConfig) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
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
    let mut config = if cfg.insecure_skip_tls_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(insecure_verifier(provider))
            .with_no_client_auth()
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
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = if cfg.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// k6's TLS details of an established connection.
pub(crate) fn info(conn: &rustls::ClientConnection) -> Option<TlsInfo> {
    let version = match conn.protocol_version()? {
        rustls::ProtocolVersion::TLSv1_3 => "tls1.3",
        rustls::ProtocolVersion::TLSv1_2 => "tls1.2",
        _ => "",
    };
    let suite = conn.negotiated_cipher_suite()?;
    Some(TlsInfo {
        version,
        cipher_suite: cipher_suite_name(suite.suite()),
    })
}

/// Go's name for a suite: rustls says `TLS13_AES_128_GCM_SHA256`, Go `TLS_AES_128_GCM_SHA256`.
pub(crate) fn cipher_suite_name(s: rustls::CipherSuite) -> String {
    let name = format!("{s:?}");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
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
