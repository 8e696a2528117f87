//! [`ClientConfig`] (k6's HTTP-related options) and the shareable [`Client`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::session::Session;

/// k6's default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = "Grafana k6/1.1.0";

/// A TLS protocol version (k6 `tlsVersion`; rustls supports 1.2 and 1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// k6 `dns.select`/`dns.policy` reduced to what picks an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsPolicy {
    /// First IPv4 address if any, else the first address (k6 default).
    #[default]
    PreferIpv4,
    /// First IPv6 address if any, else the first address.
    PreferIpv6,
    /// Only IPv4 addresses.
    OnlyIpv4,
    /// Only IPv6 addresses.
    OnlyIpv6,
    /// The first address the resolver returns.
    Any,
}

/// A k6 `hosts` entry's target: an IP and optionally a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostOverride {
    /// Address to connect to.
    pub ip: IpAddr,
    /// Port to connect to instead of the URL's.
    pub port: Option<u16>,
}

/// HTTP options shared by every VU of a run.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `User-Agent` sent unless the request sets one; `None` sends none.
    pub user_agent: Option<String>,
    /// Accept any server certificate (`insecureSkipTLSVerify`).
    pub insecure_skip_tls_verify: bool,
    /// k6 `hosts`: keys are `name` or `name:port`; `name:port` wins.
    pub hosts: HashMap<String, HostOverride>,
    /// `maxRedirects` (default 10), used when a request has no `redirects`.
    pub max_redirects: u32,
    /// `noConnectionReuse`: close each connection after its request
    /// (and send `Connection: close`, as Go does).
    pub no_connection_reuse: bool,
    /// Lowest TLS version offered (`tlsVersion.min`).
    pub tls_min_version: Option<TlsVersion>,
    /// Highest TLS version offered (`tlsVersion.max`).
    pub tls_max_version: Option<TlsVersion>,
    /// `tlsCipherSuites` by Go name (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    pub tls_cipher_suites: Option<Vec<String>>,
    /// Extra trusted roots (DER), on top of the webpki roots.
    pub extra_root_certs: Vec<Vec<u8>>,
    /// How long a session keeps a resolved address (k6 `dns.ttl`, default 5m).
    pub dns_ttl: Duration,
    /// Which resolved address to use.
    pub dns_policy: DnsPolicy,
    /// Offer HTTP/2 over TLS through ALPN, as k6 (Go) does by default.
    pub http2: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            user_agent: Some(DEFAULT_USER_AGENT.to_string()),
            insecure_skip_tls_verify: false,
            hosts: HashMap::new(),
            max_redirects: 10,
            no_connection_reuse: false,
            tls_min_version: None,
            tls_max_version: None,
            tls_cipher_suites: None,
            extra_root_certs: Vec::new(),
            dns_ttl: Duration::from_secs(300),
            dns_policy: DnsPolicy::default(),
            http2: true,
        }
    }
}

/// An invalid [`ClientConfig`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A cipher suite name rustls does not offer.
    #[error("unknown or unsupported TLS cipher suite {0:?}")]
    UnknownCipherSuite(String),
    /// `tlsVersion` min/max leave no supported version.
    #[error("no supported TLS version between the configured min and max (rustls offers tls1.2 and tls1.3)")]
    NoTlsVersion,
    /// Other TLS configuration errors.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

pub(crate) struct ClientInner {
    pub(crate) cfg: ClientConfig,
    pub(crate) tls: tokio_rustls::TlsConnector,
}

/// Immutable configuration plus TLS setup, cheap to clone and share across
/// threads; each VU gets its own [`Session`].
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("cfg", &self.inner.cfg)
            .finish()
    }
}

impl Client {
    /// Builds a client; fails only on impossible TLS settings.
    pub fn new(cfg: ClientConfig) -> Result<Self, ConfigError> {
        let tls = crate::tls::build(&cfg)?;
        Ok(Client {
            inner: Arc::new(ClientInner {
                cfg,
                tls: tokio_rustls::TlsConnector::from(tls),
            }),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// A new per-VU session with its own connection pool and DNS cache.
    pub fn session(&self) -> Session {
        Session::new(self.inner.clone())
    }
}
