//! A running agent with its control API: what `stampede chaos serve`, a
//! pipeline's chaos stage and `stampede demo --example chaos` all start
//! from a [`ChaosConfig`], and the variables a script gets to reach it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::task::JoinHandle;

use crate::agent::{Agent, AgentError};
use crate::config::ChaosConfig;

/// An agent whose proxies listen and whose API serves.
pub struct RunningAgent {
    /// The agent.
    pub agent: Agent,
    /// The API's address.
    pub api: SocketAddr,
    /// Each proxy's address, by name.
    pub proxies: BTreeMap<String, SocketAddr>,
    server: JoinHandle<()>,
}

impl RunningAgent {
    /// Checks `cfg`, starts its targets and the API (inside a Tokio runtime).
    pub async fn start(cfg: &ChaosConfig) -> Result<RunningAgent, String> {
        let problems = cfg.problems();
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let agent = Agent::new();
        let proxies = cfg.apply(&agent).await.map_err(|e| e.to_string())?;
        let addr = cfg.api.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let api = listener.local_addr().map_err(|e| e.to_string())?;
        let router = crate::api::router(agent.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(RunningAgent {
            agent,
            api,
            proxies,
            server,
        })
    }

    /// `CHAOS_AGENT` (the API) and `CHAOS_<NAME>_ADDR` for each proxy.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut vars = vec![("CHAOS_AGENT".to_string(), self.api.to_string())];
        for (name, a) in &self.proxies {
            let key: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            vars.push((format!("CHAOS_{key}_ADDR"), a.to_string()));
        }
        vars
    }

    /// Restores every fault and stops the API and the proxies; returns the
    /// restores that failed (the caller must report them loudly).
    pub async fn shutdown(self) -> Vec<AgentError> {
        let failures = self.agent.restore_all().await;
        // The API's clone of the agent goes with the server, the proxies
        // with the last clone.
        self.server.abort();
        let _ = self.server.await;
        failures
    }
}
