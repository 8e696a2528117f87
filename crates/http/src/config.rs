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

/// k6 `dns.policy`: which resolved addresses may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsPolicy {
    /// IPv4 addresses if there are any, else the others (k6 default).
    #[default]
    PreferIpv4,
    /// IPv6 addresses if there are any, else the others.
    PreferIpv6,
    /// Only IPv4 addresses.
    OnlyIpv4,
    /// Only IPv6 addresses.
    OnlyIpv6,
    /// Every address.
    Any,
}

/// k6 `dns.select`: which of the allowed addresses a new connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsSelect {
    /// The first one.
    First,
    /// A random one each time (k6 default).
    #[default]
    Random,
    /// Each in turn.
    RoundRobin,
}

/// A k6 `hosts` entry's target: an IP and optionally a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostOverride {
    /// Address to connect to.
    pub ip: IpAddr,
    /// Port to connect to instead of the URL's.
    pub port: Option<u16>,
}

/// An IP range in CIDR notation (k6 `blacklistIPs` entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl IpNet {
    /// Parses `10.0.0.0/8` or `fd00::/8` (a bare address is a /32 or /128).
    pub fn parse(s: &str) -> Option<Self> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }

    /// Whether `ip` is in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                masked(u32::from(n) as u128, self.prefix, 32)
                    == masked(u32::from(i) as u128, self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                masked(u128::from(n), self.prefix, 128) == masked(u128::from(i), self.prefix, 128)
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A client certificate (a k6 `tlsAuth` entry).
#[derive(Clone, Default)]
pub struct ClientCert {
    /// PEM certificate chain, leaf first.
    pub cert_pem: String,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
    /// Password of an encrypted key: refused, Stampede reads plain keys only.
    pub password: Option<String>,
    /// Hosts (`*.example.com` wildcards allowed) this certificate is offered
    /// to first; every other host gets the first certificate it accepts.
    pub domains: Vec<String>,
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("ClientCert")
            .field("domains", &self.domains)
            .finish_non_exhaustive()
    }
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
    /// k6 `tlsAuth`: client certificates for servers that ask for one.
    pub client_certs: Vec<ClientCert>,
    /// How long a session keeps resolved addresses (k6 `dns.ttl`, default
    /// 5m; zero resolves for every new connection).
    pub dns_ttl: Duration,
    /// Which resolved addresses may be used (`dns.policy`).
    pub dns_policy: DnsPolicy,
    /// Which allowed address a new connection uses (`dns.select`).
    pub dns_select: DnsSelect,
    /// Offer HTTP/2 over TLS through ALPN, as k6 (Go) does by default.
    pub http2: bool,
    /// Idle HTTP/1 connections kept per host (Go `MaxIdleConnsPerHost`, which
    /// k6 sets to `batchPerHost`, default 6; 0 means Go's default of 2).
    pub max_idle_conns_per_host: usize,
    /// Idle HTTP/1 connections kept in all (Go `MaxIdleConns`, which k6 sets
    /// to `batch`, default 20; 0 means no limit).
    pub max_idle_conns: usize,
    /// k6 `blacklistIPs`: connecting to these fails with 1110.
    pub blacklist_ips: Vec<IpNet>,
    /// k6 `blockHostnames`: exact names or `*.suffix` patterns; 1111.
    pub block_hostnames: Vec<String>,
    /// k6 `httpDebug`: keep each hop's request and response as text
    /// ([`crate::Hop::debug`]).
    pub debug: crate::HttpDebug,
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
            client_certs: Vec::new(),
            dns_ttl: Duration::from_secs(300),
            dns_policy: DnsPolicy::default(),
            dns_select: DnsSelect::default(),
            http2: true,
            max_idle_conns_per_host: 6,
            max_idle_conns: 20,
            blacklist_ips: Vec::new(),
            block_hostnames: Vec::new(),
            debug: crate::HttpDebug::Off,
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
    /// A `blockHostnames` pattern with `*` elsewhere than at the start.
    #[error("invalid blockHostnames pattern {0:?}: '*' may only start a pattern")]
    BadHostnamePattern(String),
    /// Other TLS configuration errors.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// A `tlsAuth` entry whose certificate or key cannot be used.
    #[error("tlsAuth[{index}]: {what}")]
    ClientCert {
        /// Position in `tlsAuth`.
        index: usize,
        /// What is wrong.
        what: String,
    },
}

pub(crate) struct ClientInner {
    pub(crate) cfg: ClientConfig,
    pub(crate) tls: crate::tls::Connector,
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
        if let Some(p) = cfg
            .block_hostnames
            .iter()
            .find(|p| p.get(1..).is_some_and(|r| r.contains('*')))
        {
            return Err(ConfigError::BadHostnamePattern(p.clone()));
        }
        let tls = crate::tls::connector(&cfg)?;
        Ok(Client {
            inner: Arc::new(ClientInner { cfg, tls }),
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

/// The `blockHostnames` pattern matching `host`, if any.
pub fn blocked_by<'a>(patterns: &'a [String], host: &str) -> Option<&'a str> {
    patterns
        .iter()
        .find(|p| match p.strip_prefix('*') {
            Some(suffix) => {
                host.len() >= suffix.len()
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
            None => p.eq_ignore_ascii_case(host),
        })
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges() {
        let n = IpNet::parse("127.0.0.0/24").unwrap();
        assert!(n.contains("127.0.0.1".parse().unwrap()));
        assert!(!n.contains("127.0.1.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpNet::parse("fd00::/8")
            .unwrap()
            .contains("fd12::1".parse().unwrap()));
        assert_eq!(IpNet::parse("10.0.0.1").unwrap().prefix, 32);
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert_eq!(n.to_string(), "127.0.0.0/24");
    }

    #[test]
    fn hostname_patterns() {
        let p = vec!["*.blocked.test".to_string(), "exact.test".to_string()];
        assert_eq!(blocked_by(&p, "a.blocked.test"), Some("*.blocked.test"));
        assert_eq!(blocked_by(&p, "EXACT.test"), Some("exact.test"));
        assert_eq!(blocked_by(&p, "blocked.test"), None);
        assert_eq!(blocked_by(&p, "other.test"), None);
        let bad = ClientConfig {
            block_hostnames: vec!["a*b".into()],
            ..Default::default()
        };
        assert!(Client::new(bad).is_err());
    }
}
