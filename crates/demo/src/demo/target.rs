//! [`DemoTarget`]: the demo router on a listening socket.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use super::{demo_router, DemoConfig, DemoState, FaultConfig};
use crate::server::background::{base_url, in_background, Run};
use crate::server::Server;

/// The demo system under test, serving [`demo_router`] on
/// [`DemoConfig::addr`].
///
/// Dropping it stops the server at once; [`DemoTarget::shutdown`] lets
/// in-flight responses finish first (for up to a second).
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use stampede_demo::{DemoConfig, DemoTarget};
///
/// let cfg = DemoConfig { addr: "127.0.0.1:0".parse().unwrap(), ..DemoConfig::default() };
/// let target = DemoTarget::start(cfg).await?;
/// println!("shop at {}/api/products", target.url());
/// target.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct DemoTarget {
    addr: SocketAddr,
    state: Arc<DemoState>,
    run: Run,
}

impl DemoTarget {
    /// Binds `cfg.addr` and serves on the current Tokio runtime. Invalid
    /// settings ([`DemoConfig::problems`]) are an `InvalidInput` error.
    pub async fn start(cfg: DemoConfig) -> io::Result<DemoTarget> {
        let (mut target, server) = Self::bind(cfg).await?;
        target.run = Run::Task(Some(server));
        Ok(target)
    }

    /// Serves on its own Tokio runtime ([`DemoConfig::worker_threads`]
    /// workers) on its own thread, for callers without a runtime; returns
    /// once the socket listens.
    pub fn start_in_background(cfg: DemoConfig) -> io::Result<DemoTarget> {
        check(&cfg)?;
        let threads = cfg.worker_threads;
        let (mut target, run) = in_background(threads, move || Self::bind(cfg))?;
        target.run = run;
        Ok(target)
    }

    async fn bind(cfg: DemoConfig) -> io::Result<(DemoTarget, Server)> {
        check(&cfg)?;
        let addr = cfg.addr;
        let state = DemoState::new(cfg);
        let server = Server::bind(
            addr,
            demo_router(state.clone()),
            None,
            state.counters.clone(),
        )
        .await?;
        tracing::info!(addr = %server.addr(), "demo target listening");
        Ok((
            DemoTarget {
                addr: server.addr(),
                state,
                run: Run::none(),
            },
            server,
        ))
    }

    /// The base URL, such as `http://127.0.0.1:3000`, without a trailing
    /// slash.
    pub fn url(&self) -> String {
        base_url("http", self.addr)
    }

    /// The address the target listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The target's state (for [`demo_router`] elsewhere, or inspection).
    pub fn state(&self) -> &Arc<DemoState> {
        &self.state
    }

    /// The faults in force.
    pub fn faults(&self) -> FaultConfig {
        self.state.faults.get()
    }

    /// Replaces the faults in force, as `PUT /admin/faults` does.
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), String> {
        faults.validate()?;
        self.state.faults.set(faults);
        Ok(())
    }

    /// Stops accepting connections, lets in-flight responses finish (for up
    /// to a second), then stops.
    pub async fn shutdown(mut self) {
        self.run.shutdown().await;
    }
}

fn check(cfg: &DemoConfig) -> io::Result<()> {
    let problems = cfg.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            problems.join("; "),
        ))
    }
}

impl std::fmt::Debug for DemoTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoTarget")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}
