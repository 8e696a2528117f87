//! Network option values: `hosts` addresses and `blacklistIPs` ranges.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// A `hosts` override target: an IP, optionally with a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostAddress {
    /// The address to connect to instead of resolving the name.
    pub ip: IpAddr,
    /// The port to use instead of the URL's, if given.
    pub port: Option<u16>,
}

impl FromStr for HostAddress {
    type Err = String;

    /// `"1.2.3.4"`, `"1.2.3.4:8080"`, `"::1"` or `"[::1]:8080"`.
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(HostAddress { ip, port: None });
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(HostAddress {
                ip: addr.ip(),
                port: Some(addr.port()),
            });
        }
        Err(format!(
            "{s:?} is not an IP address (optionally with a port)"
        ))
    }
}

impl fmt::Display for HostAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (ip, None) => write!(f, "{ip}"),
            (ip, Some(port)) => write!(f, "{}", SocketAddr::new(ip, port)),
        }
    }
}

/// A CIDR range such as `10.0.0.0/8`, stored masked like Go's `ParseCIDR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub prefix: u8,
}

impl IpNet {
    /// Whether `ip` is inside the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => mask_v4(ip, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V6(ip)) => mask_v6(ip, self.prefix) == net,
            _ => false,
        }
    }
}

fn mask_v4(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(ip) & mask)
}

fn mask_v6(ip: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ipv6Addr::from(u128::from(ip) & mask)
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("failed to parse CIDR '{s}'");
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let addr = match addr {
            IpAddr::V4(ip) if prefix <= 32 => IpAddr::V4(mask_v4(ip, prefix)),
            IpAddr::V6(ip) if prefix <= 128 => IpAddr::V6(mask_v6(ip, prefix)),
            _ => return Err(bad()),
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Checks a `blockHostnames` pattern: a hostname, optionally starting with
/// `*` as a wildcard for any prefix.
pub(crate) fn check_hostname_pattern(pattern: &str) -> Result<String, String> {
    let lower = pattern.to_ascii_lowercase();
    let body = lower.strip_prefix('*').unwrap_or(&lower);
    let valid = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid {
        Ok(lower)
    } else {
        Err(format!(
            "invalid hostname pattern '{pattern}' (a wildcard '*' is only allowed at the start)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses() {
        assert_eq!(
            "1.2.3.4".parse::<HostAddress>().unwrap().to_string(),
            "1.2.3.4"
        );
        assert_eq!(
            "1.2.3.4:8080".parse::<HostAddress>().unwrap().to_string(),
            "1.2.3.4:8080"
        );
        assert_eq!(
            "[::1]:80".parse::<HostAddress>().unwrap().to_string(),
            "[::1]:80"
        );
        assert_eq!("::1".parse::<HostAddress>().unwrap().port, None);
        assert!("localhost".parse::<HostAddress>().is_err());
    }

    #[test]
    fn cidr_ranges() {
        let net: IpNet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains("10.9.9.9".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert_eq!(
            "fd00::1/120".parse::<IpNet>().unwrap().to_string(),
            "fd00::/120"
        );
        assert!("0.0.0.0/0"
            .parse::<IpNet>()
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.0/33", "x/8", "10.0.0.0/"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hostname_patterns() {
        assert_eq!(
            check_hostname_pattern("*.Example.com"),
            Ok("*.example.com".into())
        );
        assert!(check_hostname_pattern("a.*.com").is_err());
        assert!(check_hostname_pattern("*").is_err());
    }
}
