//! The target allow-list (`--allow-target CIDR`, default loopback only): a
//! load tester is an SSRF and DDoS cannon, so a run may only send load to
//! the allowed networks.
//!
//! It is enforced by the engine's own `blacklistIPs` check, which every
//! connection passes after name resolution and before it dials: the server
//! adds the complement of the allowed networks (a few dozen CIDRs) to the
//! top options layer of every run, above anything the script or request
//! sets, so a script cannot lift it. A blocked request fails with k6's
//! "IP (…) is in a blacklisted range (…)" error and never leaves the host.
//!
//! Before that, a run whose targets are known up front is refused whole
//! ([`check_targets`], a 403 before the run is created): the segment that
//! validates the script reports the literal URLs of its script files whose
//! address is known without DNS (IP literals, names the `hosts` option
//! maps; see `stampede_cluster::targets`). URLs built at run time and names
//! only DNS resolves are left to the connection-time check above.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::json;
use stampede_cluster::StaticTarget;
use stampede_config::options::IpNet;

use crate::error::AppError;

/// The default: IPv4 and IPv6 loopback.
pub const DEFAULT_ALLOWED: [&str; 2] = ["127.0.0.0/8", "::1/128"];

/// Parses `--allow-target` values (CIDRs or single addresses).
pub fn parse(values: &[String]) -> Result<Vec<IpNet>, String> {
    values
        .iter()
        .map(|v| {
            let text = if v.contains('/') {
                v.clone()
            } else if v.contains(':') {
                format!("{v}/128")
            } else {
                format!("{v}/32")
            };
            text.parse::<IpNet>()
                .map_err(|e| format!("invalid --allow-target {v:?}: {e}"))
        })
        .collect()
}

/// A prefix as (network bits, prefix length) in a `width`-bit space.
type Range = (u128, u8);

fn mask(width: u8, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        let ones = if width == 128 {
            u128::MAX
        } else {
            (1u128 << width) - 1
        };
        ones & !((1u128 << (width - len)) - 1)
    }
}

fn contains(width: u8, outer: Range, inner: Range) -> bool {
    outer.1 <= inner.1 && (inner.0 & mask(width, outer.1)) == outer.0
}

/// `ranges` minus `cut`, splitting ranges that contain it.
fn subtract(width: u8, ranges: Vec<Range>, cut: Range) -> Vec<Range> {
    let mut out = Vec::new();
    for r in ranges {
        if contains(width, cut, r) {
            continue;
        }
        if !contains(width, r, cut) {
            out.push(r);
            continue;
        }
        let len = r.1 + 1;
        let high = r.0 | (1u128 << (width - len));
        out.extend(subtract(width, vec![(r.0, len), (high, len)], cut));
    }
    out
}

/// The CIDRs (as `blacklistIPs` strings) covering every address outside
/// `allowed`, IPv4 and IPv6.
pub fn blocked_ranges(allowed: &[IpNet]) -> Vec<String> {
    let mut v4: Vec<Range> = vec![(0, 0)];
    let mut v6: Vec<Range> = vec![(0, 0)];
    for net in allowed {
        match net.addr {
            IpAddr::V4(a) => v4 = subtract(32, v4, (u32::from(a) as u128, net.prefix)),
            IpAddr::V6(a) => v6 = subtract(128, v6, (u128::from(a), net.prefix)),
        }
    }
    let mut out: Vec<String> = v4
        .into_iter()
        .map(|(n, l)| format!("{}/{l}", Ipv4Addr::from(n as u32)))
        .collect();
    out.extend(
        v6.into_iter()
            .map(|(n, l)| format!("{}/{l}", Ipv6Addr::from(n))),
    );
    out
}

/// Refuses `targets` that lead into `blocked` (the ranges of
/// [`blocked_ranges`]): 403 `target_not_allowed`, naming each URL, its file
/// and address.
pub fn check_targets(blocked: &[String], targets: &[StaticTarget]) -> Result<(), AppError> {
    let nets: Vec<IpNet> = blocked.iter().filter_map(|b| b.parse().ok()).collect();
    let refused: Vec<&StaticTarget> = targets
        .iter()
        .filter(|t| nets.iter().any(|n| n.contains(t.ip)))
        .collect();
    let Some(first) = refused.first() else {
        return Ok(());
    };
    let more = match refused.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Err(AppError::forbidden(format!(
        "the script targets {} ({}, in {}), outside this server's allowed targets (--allow-target){more}",
        first.url, first.ip, first.file
    ))
    .with_code("target_not_allowed")
    .with_details(
        refused
            .iter()
            .map(|t| json!({"url": t.url, "ip": t.ip.to_string(), "file": t.file}))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(allowed: &[&str]) -> Vec<IpNet> {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        blocked_ranges(&parse(&allowed).unwrap())
            .iter()
            .map(|s| s.parse().unwrap())
            .collect()
    }

    fn is_blocked(list: &[IpNet], ip: &str) -> bool {
        let ip: IpAddr = ip.parse().unwrap();
        list.iter().any(|n| n.contains(ip))
    }

    #[test]
    fn loopback_only_blocks_everything_else() {
        let list = blocked(&DEFAULT_ALLOWED);
        for ok in ["127.0.0.1", "127.255.0.9", "::1"] {
            assert!(!is_blocked(&list, ok), "{ok}");
        }
        for bad in [
            "10.0.0.1",
            "192.168.1.1",
            "8.8.8.8",
            "0.0.0.0",
            "255.255.255.255",
            "128.0.0.1",
            "126.255.255.255",
            "::2",
            "::ffff:8.8.8.8",
            "fe80::1",
            "2001:db8::1",
        ] {
            assert!(is_blocked(&list, bad), "{bad}");
        }
        assert!(list.len() <= 32 + 128, "{}", list.len());
    }

    #[test]
    fn known_targets_outside_the_list_are_refused() {
        let allowed: Vec<String> = DEFAULT_ALLOWED.map(String::from).to_vec();
        let blocked = blocked_ranges(&parse(&allowed).unwrap());
        let t = |url: &str, ip: &str| StaticTarget {
            url: url.into(),
            file: "/p/s.js".into(),
            ip: ip.parse().unwrap(),
        };
        assert!(check_targets(&blocked, &[t("http://127.0.0.1:8080", "127.0.0.1")]).is_ok());
        let e = check_targets(
            &blocked,
            &[
                t("http://127.0.0.1", "127.0.0.1"),
                t("http://api.internal", "10.0.0.5"),
                t("https://[2001:db8::1]", "2001:db8::1"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::FORBIDDEN);
        assert_eq!(e.code, "target_not_allowed");
        assert!(
            e.message
                .contains("http://api.internal (10.0.0.5, in /p/s.js)")
                && e.message.contains("and 1 more"),
            "{}",
            e.message
        );
        assert_eq!(e.details.len(), 2);
        assert!(check_targets(&[], &[t("http://10.0.0.5", "10.0.0.5")]).is_ok());
    }

    #[test]
    fn several_networks_and_single_hosts() {
        let list = blocked(&["127.0.0.2", "10.1.0.0/16"]);
        assert!(!is_blocked(&list, "127.0.0.2"));
        assert!(is_blocked(&list, "127.0.0.1"));
        assert!(!is_blocked(&list, "10.1.200.3"));
        assert!(is_blocked(&list, "10.2.0.1"));
        assert!(is_blocked(&list, "::1"), "no IPv6 allowed");
        assert!(parse(&["nonsense".into()]).is_err());
        // Everything allowed: nothing blocked.
        assert!(blocked(&["0.0.0.0/0", "::/0"]).is_empty());
    }
}
