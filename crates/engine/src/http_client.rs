//! Builds the HTTP client every VU's session comes from, from the plan's
//! HTTP settings.

use std::sync::Arc;
use std::time::Duration;

use stampede_config::options::{DnsPolicy as CfgPolicy, DnsTtl, TlsVersion as CfgTls};
use stampede_config::plan::HttpSettings as PlanHttp;
use stampede_http::{Client, ClientCert, ClientConfig, DnsPolicy, HostOverride, TlsVersion};
use stampede_js::modules::http::HttpSettings;
use stampede_metrics::SystemTagSet;

use crate::error::EngineError;

/// Maps a k6 TLS version onto what rustls offers (1.2 and 1.3).
fn tls(v: Option<CfgTls>, what: &str) -> Result<Option<TlsVersion>, EngineError> {
    match v {
        None => Ok(None),
        Some(CfgTls::Tls1_2) => Ok(Some(TlsVersion::Tls12)),
        Some(CfgTls::Tls1_3) => Ok(Some(TlsVersion::Tls13)),
        Some(other) => Err(EngineError::Config(vec![format!(
            "tlsVersion {what} {} is not supported: Stampede speaks TLS 1.2 and 1.3",
            other.name()
        )])),
    }
}

/// The `k6/http` settings of a run.
pub(crate) fn http_settings(
    plan: &PlanHttp,
    system_tags: &[String],
    default_user_agent: &str,
) -> Result<HttpSettings, EngineError> {
    let mut cfg = ClientConfig {
        user_agent: Some(
            plan.user_agent
                .clone()
                .unwrap_or_else(|| default_user_agent.to_string()),
        ),
        insecure_skip_tls_verify: plan.insecure_skip_tls_verify,
        max_redirects: plan.max_redirects,
        no_connection_reuse: plan.no_connection_reuse,
        tls_min_version: tls(plan.tls_version.min, "min")?,
        tls_max_version: tls(plan.tls_version.max, "max")?,
        tls_cipher_suites: plan.tls_cipher_suites.clone(),
        client_certs: plan
            .tls_auth
            .iter()
            .map(|a| ClientCert {
                cert_pem: a.cert.clone(),
                key_pem: a.key.clone(),
                password: a.password.clone(),
                domains: a.domains.clone(),
            })
            .collect(),
        ..ClientConfig::default()
    };
    // An empty user agent means "send none", as in k6.
    if cfg.user_agent.as_deref() == Some("") {
        cfg.user_agent = None;
    }
    for (name, addr) in &plan.hosts {
        cfg.hosts.insert(
            name.clone(),
            HostOverride {
                ip: addr.ip,
                port: addr.port,
            },
        );
    }
    cfg.dns_ttl = match plan.dns.ttl {
        DnsTtl::Forever => Duration::from_secs(u64::MAX / 4),
        DnsTtl::For(d) => d,
    };
    cfg.dns_policy = match plan.dns.policy {
        CfgPolicy::PreferIpv4 => DnsPolicy::PreferIpv4,
        CfgPolicy::PreferIpv6 => DnsPolicy::PreferIpv6,
        CfgPolicy::OnlyIpv4 => DnsPolicy::OnlyIpv4,
        CfgPolicy::OnlyIpv6 => DnsPolicy::OnlyIpv6,
        CfgPolicy::Any => DnsPolicy::Any,
    };
    cfg.blacklist_ips = plan
        .blacklist_ips
        .iter()
        .filter_map(|n| stampede_http::IpNet::parse(&n.to_string()))
        .collect();
    cfg.block_hostnames = plan.block_hostnames.clone();
    cfg.debug = stampede_http::HttpDebug::from_option(plan.http_debug.as_deref());
    let client = Client::new(cfg).map_err(|e| EngineError::Config(vec![e.to_string()]))?;
    Ok(HttpSettings {
        client: Arc::new(client),
        discard_response_bodies: plan.discard_response_bodies,
        batch: plan.batch as usize,
        batch_per_host: plan.batch_per_host as usize,
        no_vu_connection_reuse: plan.no_vu_connection_reuse,
        max_redirects_set: plan.max_redirects != stampede_config::plan::DEFAULT_MAX_REDIRECTS,
        system_tags: SystemTagSet::from_names(system_tags),
        rps: plan
            .rps
            .filter(|r| *r > 0)
            .map(|r| Arc::new(stampede_js::modules::rate_limit::RateLimiter::new(r))),
    })
}
