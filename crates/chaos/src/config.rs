//! The agent's declaration file (`stampede chaos serve FILE`, and the
//! `chaos:` section of a pipeline stage): the proxies to start and the
//! process faults to prepare, by name. Only what is named here is ever
//! touched, and proxies listen on loopback unless `allow_remote` says
//! otherwise.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::agent::{Agent, AgentError};
use crate::process::ProcessSpec;

/// A proxy to start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxySpec {
    /// Where clients connect (default `127.0.0.1:0`, a free port).
    #[serde(default = "loopback_any")]
    pub listen: SocketAddr,
    /// Where it forwards (`host:port`).
    pub upstream: String,
}

fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// The whole declaration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosConfig {
    /// Address of the control API (default `127.0.0.1:0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<SocketAddr>,
    /// Let proxies and the API listen on non-loopback addresses.
    #[serde(default)]
    pub allow_remote: bool,
    /// Proxies by name.
    #[serde(default)]
    pub proxies: BTreeMap<String, ProxySpec>,
    /// Process faults by name (`pause: {pid: N}` and friends: one-key
    /// maps, not YAML tags).
    #[serde(default, with = "serde_yaml::with::singleton_map_recursive")]
    pub processes: BTreeMap<String, ProcessSpec>,
}

impl ChaosConfig {
    /// Every problem of the declaration (empty when it is usable).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let remote = |a: &SocketAddr| !a.ip().is_loopback();
        if !self.allow_remote {
            if let Some(a) = self.api.filter(remote) {
                out.push(format!(
                    "the control API address {a} is not loopback (set allow_remote to allow it)"
                ));
            }
            for (name, p) in &self.proxies {
                if remote(&p.listen) {
                    out.push(format!(
                        "proxy {name:?} listens on {} which is not loopback (set allow_remote to allow it)",
                        p.listen
                    ));
                }
            }
        }
        for (name, p) in &self.proxies {
            if self.processes.contains_key(name) {
                out.push(format!("{name:?} is both a proxy and a process fault"));
            }
            if !p.upstream.contains(':') {
                out.push(format!(
                    "proxy {name:?}: upstream {:?} needs a port (host:port)",
                    p.upstream
                ));
            }
        }
        out
    }

    /// Starts the proxies and prepares the process faults on `agent`;
    /// returns each proxy's address by name.
    pub async fn apply(&self, agent: &Agent) -> Result<BTreeMap<String, SocketAddr>, AgentError> {
        let mut addrs = BTreeMap::new();
        for (name, p) in &self.proxies {
            addrs.insert(
                name.clone(),
                agent.add_proxy(name, p.listen, &p.upstream).await?,
            );
        }
        for (name, spec) in &self.processes {
            agent.add_process(name, spec.clone()).await?;
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_remote_listeners() {
        let c: ChaosConfig = serde_yaml::from_str(
            "proxies:\n  db: {listen: '0.0.0.0:5000', upstream: '127.0.0.1:5432'}\n  cache: {upstream: nohost}\nprocesses:\n  app: {pause: {pid: 42}}\n",
        )
        .unwrap();
        assert_eq!(c.proxies["cache"].listen, loopback_any());
        assert_eq!(c.processes["app"], ProcessSpec::Pause { pid: 42 });
        let p = c.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("not loopback"), "{p:?}");
        assert!(p[1].contains("needs a port"), "{p:?}");
        let e = serde_yaml::from_str::<ChaosConfig>("proxy: {}\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `proxy`"), "{e}");
    }
}
