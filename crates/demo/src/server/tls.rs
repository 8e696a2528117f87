//! TLS with a certificate generated in-process.

use std::io;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// A self-signed certificate for `localhost`, `127.0.0.1` and `::1`.
pub(crate) struct SelfSigned {
    /// The certificate, DER encoded.
    pub(crate) cert_der: CertificateDer<'static>,
    /// The certificate, PEM encoded.
    pub(crate) cert_pem: String,
    /// An acceptor that presents it, offering HTTP/2 and HTTP/1.1 by ALPN.
    pub(crate) acceptor: TlsAcceptor,
}

impl SelfSigned {
    pub(crate) fn generate() -> io::Result<SelfSigned> {
        let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
        let key = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
        let cert_der = key.cert.der().clone();
        let cert_pem = key.cert.pem();
        let private =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der()));
        // An explicit provider: the process default may be unset, or another
        // crate of the process may have enabled a second one.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], private)
            .map_err(io::Error::other)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(SelfSigned {
            cert_der,
            cert_pem,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}
