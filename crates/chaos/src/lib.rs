//! Chaos faults on real connections and processes, with the recovery
//! time measured afterwards.
//!
//! - [`Proxy`]: a TCP fault proxy (like Toxiproxy) between clients and an
//!   upstream; its [`Faults`] — latency and jitter, bandwidth, reset,
//!   blackhole (partition), slow close, data limit, HTTP error rate — switch
//!   at run time and reach open connections too.
//! - [`ProcessFault`]: pause/resume a PID, kill and restart a command, or
//!   run the user's inject/restore commands under a timeout.
//! - [`Agent`]: named targets of both kinds, injected and restored by name,
//!   with timed restores and a restore-everything for shutdown; [`api`]
//!   serves it over HTTP.
//! - [`relay`]: the HTTP ends of the relay that lets a remote worker's
//!   script reach a pipeline stage's agent (only its control API).
//! - [`recovery`]: the time from the end of a fault until the SLO holds for
//!   `k` consecutive intervals.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use stampede_chaos::{Agent, Faults};
//! let agent = Agent::new();
//! let addr = agent.add_proxy("db", "127.0.0.1:0".parse()?, "127.0.0.1:5432").await?;
//! println!("point the service at {addr}");
//! let slow = Faults { latency_ms: 200, ..Faults::default() };
//! agent.inject("db", Some(slow), None).await?;
//! // ... measure ...
//! for failure in agent.restore_all().await {
//!     eprintln!("RESTORE FAILED: {failure}");
//! }
//! # Ok(()) }
//! ```

pub mod agent;
pub mod api;
pub mod client;
pub mod config;
pub mod faults;
pub mod process;
pub mod proxy;
pub mod recovery;
pub mod relay;
pub mod serve;

pub use agent::{Agent, AgentError, TargetState};
pub use config::{ChaosConfig, ProxySpec};
pub use faults::{Faults, FaultsError};
pub use process::{ProcessError, ProcessFault, ProcessSpec};
pub use proxy::{Proxy, StatsSnapshot};
pub use recovery::{recovery, Interval, Recovery, Slo};
pub use serve::RunningAgent;
