//! Name resolution as k6 does it, one policy for HTTP, WebSocket and gRPC
//! ([`resolve`]): `blockHostnames` refuses names, `hosts` overrides them,
//! `dns.policy` filters the resolved addresses, `dns.select` picks one per
//! new connection, `blacklistIPs` refuses the address, and an HTTP session
//! caches names for `dns.ttl` (a socket resolves once for its life).

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::config::{ClientConfig, DnsPolicy, DnsSelect};
use crate::error::HttpError;

/// An HTTP session's resolved names, each kept for `dns.ttl`.
#[derive(Default)]
pub(crate) struct DnsCache(Vec<DnsEntry>);

/// Resolves `host:port` under the client's policy: `blockHostnames`,
/// `hosts`, IP literals, `cache` (when given), the system resolver with
/// `dns.policy` and `dns.select`, then `blacklistIPs`.
pub(crate) async fn resolve(
    cfg: &ClientConfig,
    host: &str,
    port: u16,
    cache: Option<&RefCell<DnsCache>>,
) -> Result<SocketAddr, HttpError> {
    let addr = resolve_name(cfg, host, port, cache).await?;
    if let Some(net) = cfg.blacklist_ips.iter().find(|n| n.contains(addr.ip())) {
        return Err(HttpError::blacklisted(addr.ip(), net));
    }
    Ok(addr)
}

async fn resolve_name(
    cfg: &ClientConfig,
    host: &str,
    port: u16,
    cache: Option<&RefCell<DnsCache>>,
) -> Result<SocketAddr, HttpError> {
    if !cfg.block_hostnames.is_empty() {
        if let Some(p) = crate::config::blocked_by(&cfg.block_hostnames, host) {
            return Err(HttpError::blocked_host(host, p));
        }
    }
    if !cfg.hosts.is_empty() {
        let with_port = format!("{host}:{port}");
        if let Some(o) = cfg.hosts.get(&with_port).or_else(|| cfg.hosts.get(host)) {
            return Ok(SocketAddr::new(o.ip, o.port.unwrap_or(port)));
        }
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let now = Instant::now();
    if let Some(cache) = cache {
        let mut entries = cache.borrow_mut();
        entries.0.retain(|e| e.expires > now);
        if let Some(e) = entries.0.iter_mut().find(|e| e.host == bare) {
            return Ok(SocketAddr::new(e.select(cfg.dns_select), port));
        }
    }
    let ips = filter(lookup(bare, port).await?, cfg.dns_policy);
    if ips.is_empty() {
        return Err(HttpError::no_such_host(bare));
    }
    let mut entry = DnsEntry {
        host: bare.to_string(),
        ips,
        next: 0,
        expires: now + cfg.dns_ttl,
    };
    let ip = entry.select(cfg.dns_select);
    if let Some(cache) = cache.filter(|_| !cfg.dns_ttl.is_zero()) {
        cache.borrow_mut().0.push(entry);
    }
    Ok(SocketAddr::new(ip, port))
}

/// Resolves `host` with the system resolver (on Tokio's blocking pool).
pub(crate) async fn lookup(host: &str, port: u16) -> Result<Vec<IpAddr>, HttpError> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(it) => Ok(it.map(|a| a.ip()).collect()),
        Err(e) => {
            let text = e.to_string();
            Err(
                if text.contains("not known") || text.contains("No address") {
                    HttpError::no_such_host(host)
                } else {
                    HttpError::dns(host, &e)
                },
            )
        }
    }
}

/// Resolved addresses of one host.
pub(crate) struct DnsEntry {
    pub(crate) host: String,
    /// Addresses allowed by the policy, in resolver order (never empty).
    pub(crate) ips: Vec<IpAddr>,
    /// Round-robin position.
    pub(crate) next: usize,
    pub(crate) expires: Instant,
}

impl DnsEntry {
    pub(crate) fn select(&mut self, select: DnsSelect) -> IpAddr {
        match select {
            DnsSelect::First => self.ips[0],
            DnsSelect::Random => self.ips[rand::random_range(0..self.ips.len())],
            DnsSelect::RoundRobin => {
                let ip = self.ips[self.next % self.ips.len()];
                self.next = self.next.wrapping_add(1);
                ip
            }
        }
    }
}

/// The addresses k6's `dns.policy` allows.
pub(crate) fn filter(addrs: Vec<IpAddr>, policy: DnsPolicy) -> Vec<IpAddr> {
    let has_v4 = addrs.iter().any(IpAddr::is_ipv4);
    let has_v6 = addrs.iter().any(IpAddr::is_ipv6);
    let keep = |a: &IpAddr| match policy {
        DnsPolicy::PreferIpv4 => a.is_ipv4() || !has_v4,
        DnsPolicy::PreferIpv6 => a.is_ipv6() || !has_v6,
        DnsPolicy::OnlyIpv4 => a.is_ipv4(),
        DnsPolicy::OnlyIpv6 => a.is_ipv6(),
        DnsPolicy::Any => true,
    };
    addrs.into_iter().filter(keep).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HTTP (with its cache) and WebSocket/gRPC (without) resolve under the
    /// same rules, in the same order.
    #[test]
    fn one_policy_with_or_without_a_cache() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = ClientConfig {
            block_hostnames: vec!["*.blocked.test".into()],
            blacklist_ips: vec![crate::config::IpNet::parse("127.0.0.0/24").unwrap()],
            ..ClientConfig::default()
        };
        cfg.hosts.insert(
            "over.test".into(),
            crate::config::HostOverride {
                ip: "127.0.1.5".parse().unwrap(),
                port: Some(9),
            },
        );
        let cache = RefCell::new(DnsCache::default());
        for c in [None, Some(&cache)] {
            rt.block_on(async {
                let e = resolve(&cfg, "a.blocked.test", 80, c).await.unwrap_err();
                assert_eq!(e.code, 1111, "{e}");
                let e = resolve(&cfg, "127.0.0.1", 80, c).await.unwrap_err();
                assert_eq!(e.code, 1110, "{e}");
                let a = resolve(&cfg, "over.test", 80, c).await.unwrap();
                assert_eq!(a, "127.0.1.5:9".parse().unwrap());
                let a = resolve(&cfg, "[::1]", 81, c).await.unwrap();
                assert_eq!(a, "[::1]:81".parse().unwrap());
            });
        }
    }

    #[test]
    fn dns_policy_and_select() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v4b: IpAddr = "10.0.0.2".parse().unwrap();
        let v6: IpAddr = "fd00::1".parse().unwrap();
        assert_eq!(
            filter(vec![v6, v4, v4b], DnsPolicy::PreferIpv4),
            vec![v4, v4b]
        );
        assert_eq!(filter(vec![v6], DnsPolicy::PreferIpv4), vec![v6]);
        assert!(filter(vec![v6], DnsPolicy::OnlyIpv4).is_empty());
        assert_eq!(filter(vec![v4, v6], DnsPolicy::Any), vec![v4, v6]);
        let mut e = DnsEntry {
            host: "h".into(),
            ips: vec![v4, v4b],
            next: 0,
            expires: Instant::now(),
        };
        assert_eq!(e.select(DnsSelect::First), v4);
        assert_eq!(e.select(DnsSelect::RoundRobin), v4);
        assert_eq!(e.select(DnsSelect::RoundRobin), v4b);
        assert_eq!(e.select(DnsSelect::RoundRobin), v4);
        assert!([v4, v4b].contains(&e.select(DnsSelect::Random)));
    }
}
