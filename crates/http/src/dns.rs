//! Name resolution as k6 does it: `dns.policy` filters the resolved
//! addresses, `dns.select` picks one per new connection, and a session caches
//! them for `dns.ttl`.

use std::net::IpAddr;
use std::time::Instant;

use crate::config::{DnsPolicy, DnsSelect};
use crate::error::HttpError;

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
