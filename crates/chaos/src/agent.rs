//! The agent: named fault targets (proxies and process faults) that the
//! control API, the CLI and scripts inject and restore by name.
//!
//! The agent is where "every fault is restored" is kept: an inject may
//! carry a duration after which the agent restores by itself (a dead
//! man's switch for scripts that die mid-fault), and
//! [`Agent::restore_all`] undoes everything on shutdown, collecting every
//! failure instead of stopping at the first so the caller can report each.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Mutex;

use crate::faults::Faults;
use crate::process::{ProcessError, ProcessFault, ProcessSpec};
use crate::proxy::{Proxy, StatsSnapshot};

/// Why an agent call failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No target has this name.
    #[error("no fault target named {0:?}")]
    Unknown(String),
    /// A target with this name exists already.
    #[error("a fault target named {0:?} exists already")]
    Duplicate(String),
    /// Faults were given for a process target.
    #[error("{0:?} is a process fault: it takes no proxy faults")]
    NotAProxy(String),
    /// Bad faults.
    #[error(transparent)]
    Faults(#[from] crate::faults::FaultsError),
    /// A process fault failed.
    #[error("{name}: {error}")]
    Process {
        /// The target.
        name: String,
        /// What failed.
        error: ProcessError,
    },
    /// The proxy could not listen.
    #[error("{name}: cannot listen on {addr}: {error}")]
    Listen {
        /// The target.
        name: String,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
}

enum Kind {
    Proxy(Proxy),
    Process(ProcessFault),
}

struct Target {
    kind: Kind,
    injected: bool,
    /// Bumped by every inject and restore, so a timed restore only undoes
    /// the inject that scheduled it.
    generation: u64,
}

/// The state of one target, as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TargetState {
    /// Its name.
    pub name: String,
    /// `proxy` or `process`.
    pub kind: &'static str,
    /// Whether a fault is applied now.
    pub injected: bool,
    /// A proxy's address, upstream, current faults and counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyState>,
    /// A process fault's declaration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessSpec>,
}

/// A proxy's view in [`TargetState`].
#[derive(Clone, Debug, Serialize)]
pub struct ProxyState {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// Where it forwards.
    pub upstream: String,
    /// The faults in force.
    pub faults: Faults,
    /// Counters.
    pub stats: StatsSnapshot,
}

/// Named fault targets; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Agent {
    targets: Arc<Mutex<BTreeMap<String, Target>>>,
}

impl Agent {
    /// An agent without targets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a proxy named `name`; returns its address.
    pub async fn add_proxy(
        &self,
        name: &str,
        listen: SocketAddr,
        upstream: &str,
    ) -> Result<SocketAddr, AgentError> {
        let mut t = self.targets.lock().await;
        if t.contains_key(name) {
            return Err(AgentError::Duplicate(name.into()));
        }
        let proxy = Proxy::start(listen, upstream)
            .await
            .map_err(|error| AgentError::Listen {
                name: name.into(),
                addr: listen,
                error,
            })?;
        let addr = proxy.local_addr();
        t.insert(name.into(), target(Kind::Proxy(proxy)));
        Ok(addr)
    }

    /// Adds a process fault named `name` (a `restart` one starts its command).
    pub async fn add_process(&self, name: &str, spec: ProcessSpec) -> Result<(), AgentError> {
        let mut t = self.targets.lock().await;
        if t.contains_key(name) {
            return Err(AgentError::Duplicate(name.into()));
        }
        let fault = ProcessFault::new(spec).map_err(|error| AgentError::Process {
            name: name.into(),
            error,
        })?;
        t.insert(name.into(), target(Kind::Process(fault)));
        Ok(())
    }

    /// Applies a fault: `faults` for a proxy (refused for a
    /// process), and restores by itself after `duration` when given.
    pub async fn inject(
        &self,
        name: &str,
        faults: Option<Faults>,
        duration: Option<Duration>,
    ) -> Result<(), AgentError> {
        let generation = {
            let mut t = self.targets.lock().await;
            let target = t
                .get_mut(name)
                .ok_or_else(|| AgentError::Unknown(name.into()))?;
            match &mut target.kind {
                Kind::Proxy(p) => {
                    let f = faults.unwrap_or_default();
                    f.validate()?;
                    p.set_faults(f);
                }
                Kind::Process(p) => {
                    if faults.as_ref().is_some_and(Faults::is_active) {
                        return Err(AgentError::NotAProxy(name.into()));
                    }
                    if !target.injected {
                        p.inject().await.map_err(|error| AgentError::Process {
                            name: name.into(),
                            error,
                        })?;
                    }
                }
            }
            target.injected = true;
            target.generation += 1;
            target.generation
        };
        tracing::info!(target = name, "chaos: fault injected");
        if let Some(d) = duration {
            let agent = self.clone();
            let name = name.to_string();
            tokio::spawn(async move {
                tokio::time::sleep(d).await;
                if let Err(e) = agent.restore_if(&name, Some(generation)).await {
                    tracing::error!(target = %name, error = %e, "chaos: timed RESTORE FAILED");
                    eprintln!("stampede chaos: RESTORE FAILED for {name}: {e}");
                }
            });
        }
        Ok(())
    }

    /// Undoes the fault of `name` (nothing to do when none is applied).
    pub async fn restore(&self, name: &str) -> Result<(), AgentError> {
        self.restore_if(name, None).await
    }

    async fn restore_if(&self, name: &str, generation: Option<u64>) -> Result<(), AgentError> {
        let mut t = self.targets.lock().await;
        let target = t
            .get_mut(name)
            .ok_or_else(|| AgentError::Unknown(name.into()))?;
        if generation.is_some_and(|g| g != target.generation) || !target.injected {
            return Ok(());
        }
        restore_target(name, target).await
    }

    /// Restores every target; returns the failures (empty when all worked).
    pub async fn restore_all(&self) -> Vec<AgentError> {
        let mut t = self.targets.lock().await;
        let mut failures = Vec::new();
        for (name, target) in t.iter_mut() {
            if target.injected {
                if let Err(e) = restore_target(name, target).await {
                    failures.push(e);
                }
            }
        }
        failures
    }

    /// Every target's state, by name.
    pub async fn states(&self) -> Vec<TargetState> {
        let t = self.targets.lock().await;
        t.iter()
            .map(|(name, target)| match &target.kind {
                Kind::Proxy(p) => TargetState {
                    name: name.clone(),
                    kind: "proxy",
                    injected: target.injected,
                    proxy: Some(ProxyState {
                        listen: p.local_addr(),
                        upstream: p.upstream().into(),
                        faults: p.faults(),
                        stats: p.stats(),
                    }),
                    process: None,
                },
                Kind::Process(p) => TargetState {
                    name: name.clone(),
                    kind: "process",
                    injected: target.injected,
                    proxy: None,
                    process: Some(p.spec().clone()),
                },
            })
            .collect()
    }
}

fn target(kind: Kind) -> Target {
    Target {
        kind,
        injected: false,
        generation: 0,
    }
}

async fn restore_target(name: &str, target: &mut Target) -> Result<(), AgentError> {
    target.generation += 1;
    match &mut target.kind {
        Kind::Proxy(p) => p.set_faults(Faults::default()),
        Kind::Process(p) => {
            // Stays marked injected when the restore fails, so a retry
            // (and the final restore_all) tries again.
            p.restore().await.map_err(|error| AgentError::Process {
                name: name.into(),
                error,
            })?;
        }
    }
    target.injected = false;
    tracing::info!(target = name, "chaos: fault restored");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blackhole() -> Option<Faults> {
        Some(Faults {
            blackhole: true,
            ..Faults::default()
        })
    }

    async fn injected(agent: &Agent) -> bool {
        agent.states().await[0].injected
    }

    /// A resumed segment may run its one-iteration inject scenario again
    /// (through a relay or not): the second inject neither breaks the
    /// restore nor lets the first inject's timer cut the second short.
    #[tokio::test(start_paused = true)]
    async fn a_repeated_inject_keeps_restore_and_the_dead_mans_switch() {
        let agent = Agent::new();
        agent
            .add_proxy("t", "127.0.0.1:0".parse().unwrap(), "127.0.0.1:9")
            .await
            .unwrap();
        let ten = Some(Duration::from_secs(10));
        agent.inject("t", blackhole(), ten).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        agent.inject("t", blackhole(), ten).await.unwrap();
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(
            injected(&agent).await,
            "the first inject's timer undid the second"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !injected(&agent).await,
            "the second inject's timer did not restore"
        );

        agent.inject("t", blackhole(), None).await.unwrap();
        agent.inject("t", blackhole(), None).await.unwrap();
        agent.restore("t").await.unwrap();
        assert!(!injected(&agent).await);
        assert!(
            !agent.states().await[0]
                .proxy
                .as_ref()
                .unwrap()
                .faults
                .blackhole
        );
        assert!(agent.restore_all().await.is_empty());
    }
}
