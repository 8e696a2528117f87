//! The `dns` option: cache TTL, address selection and IP version policy.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::duration::{format_duration, K6Duration};
use crate::json;

/// How long resolved addresses are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsTtl {
    /// `inf`: cache for the whole test.
    Forever,
    /// A duration; zero disables the cache.
    For(Duration),
}

/// Which resolved address a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsSelect {
    /// `first`.
    First,
    /// `random` (k6's default).
    Random,
    /// `roundRobin`.
    RoundRobin,
}

/// Which IP versions to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsPolicy {
    /// `preferIPv4` (k6's default).
    PreferIpv4,
    /// `preferIPv6`.
    PreferIpv6,
    /// `onlyIPv4`.
    OnlyIpv4,
    /// `onlyIPv6`.
    OnlyIpv6,
    /// `any`.
    Any,
}

const SELECTS: [(&str, DnsSelect); 3] = [
    ("first", DnsSelect::First),
    ("random", DnsSelect::Random),
    ("roundRobin", DnsSelect::RoundRobin),
];

const POLICIES: [(&str, DnsPolicy); 5] = [
    ("preferIPv4", DnsPolicy::PreferIpv4),
    ("preferIPv6", DnsPolicy::PreferIpv6),
    ("onlyIPv4", DnsPolicy::OnlyIpv4),
    ("onlyIPv6", DnsPolicy::OnlyIpv6),
    ("any", DnsPolicy::Any),
];

/// The `dns` option layer: each part may be set independently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DnsOptions {
    /// `ttl`.
    pub ttl: Option<DnsTtl>,
    /// `select`.
    pub select: Option<DnsSelect>,
    /// `policy`.
    pub policy: Option<DnsPolicy>,
}

/// The resolved DNS settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsConfig {
    /// Cache TTL (default 5m).
    pub ttl: DnsTtl,
    /// Address selection (default random).
    pub select: DnsSelect,
    /// IP version policy (default preferIPv4).
    pub policy: DnsPolicy,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            ttl: DnsTtl::For(Duration::from_secs(300)),
            select: DnsSelect::Random,
            policy: DnsPolicy::PreferIpv4,
        }
    }
}

impl DnsOptions {
    /// Field-wise: `higher` wins where set.
    pub fn merge(self, higher: DnsOptions) -> DnsOptions {
        DnsOptions {
            ttl: higher.ttl.or(self.ttl),
            select: higher.select.or(self.select),
            policy: higher.policy.or(self.policy),
        }
    }

    /// Defaults applied.
    pub fn resolve(self) -> DnsConfig {
        let d = DnsConfig::default();
        DnsConfig {
            ttl: self.ttl.unwrap_or(d.ttl),
            select: self.select.unwrap_or(d.select),
            policy: self.policy.unwrap_or(d.policy),
        }
    }

    /// `"ttl=5m,select=random,policy=preferIPv4"` (any subset), as on the
    /// command line and in `K6_DNS`.
    pub fn parse(text: &str) -> Result<DnsOptions, String> {
        let mut result = DnsOptions::default();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("invalid DNS setting '{part}', expected key=value"))?;
            result.set(key, value)?;
        }
        Ok(result)
    }

    /// `{"ttl": "1m", "select": "first", "policy": "any"}`.
    pub(crate) fn from_json(v: &Value) -> Result<Option<DnsOptions>, String> {
        let Some(map) = json::object(v, "an object with ttl, select and policy")? else {
            return Ok(None);
        };
        let mut result = DnsOptions::default();
        for (key, value) in map {
            if let Some(text) = json::string(value)? {
                result.set(key, &text)?;
            }
        }
        Ok(Some(result))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "ttl" => self.ttl = Some(parse_ttl(value)?),
            "select" => self.select = Some(lookup(&SELECTS, "select", value)?),
            "policy" => self.policy = Some(lookup(&POLICIES, "policy", value)?),
            other => {
                return Err(format!(
                    "unknown DNS setting '{other}' (expected ttl, select or policy)"
                ))
            }
        }
        Ok(())
    }
}

fn parse_ttl(value: &str) -> Result<DnsTtl, String> {
    if value == "inf" {
        return Ok(DnsTtl::Forever);
    }
    let d = K6Duration::parse(value).map_err(|e| format!("invalid DNS ttl '{value}': {e}"))?;
    d.to_std()
        .map(DnsTtl::For)
        .ok_or_else(|| format!("invalid DNS ttl '{value}': must not be negative"))
}

fn lookup<T: Copy>(table: &[(&str, T)], what: &str, value: &str) -> Result<T, String> {
    table
        .iter()
        .find(|(n, _)| *n == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!(
                "invalid DNS {what} '{value}', expected one of: {}",
                names.join(", ")
            )
        })
}

fn name_of<T: Copy + PartialEq>(table: &[(&'static str, T)], v: T) -> &'static str {
    table.iter().find(|(_, x)| *x == v).map_or("", |(n, _)| n)
}

impl fmt::Display for DnsTtl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsTtl::Forever => f.write_str("inf"),
            DnsTtl::For(d) => f.write_str(&format_duration(*d)),
        }
    }
}

impl fmt::Display for DnsSelect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name_of(&SELECTS, *self))
    }
}

impl fmt::Display for DnsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name_of(&POLICIES, *self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_json() {
        let d = DnsOptions::parse("ttl=1m,policy=any").unwrap();
        assert_eq!(d.ttl, Some(DnsTtl::For(Duration::from_secs(60))));
        assert_eq!(d.policy, Some(DnsPolicy::Any));
        assert_eq!(d.select, None);
        assert_eq!(
            DnsOptions::parse("ttl=inf").unwrap().ttl,
            Some(DnsTtl::Forever)
        );
        assert_eq!(
            DnsOptions::parse("ttl=1000").unwrap().ttl,
            Some(DnsTtl::For(Duration::from_secs(1)))
        );
        assert!(DnsOptions::parse("select=best")
            .unwrap_err()
            .contains("first, random, roundRobin"));
        let j = DnsOptions::from_json(&serde_json::json!({"select": "first"}))
            .unwrap()
            .unwrap();
        assert_eq!(j.resolve().select, DnsSelect::First);
        assert_eq!(DnsOptions::default().resolve().ttl.to_string(), "5m0s");
    }
}
