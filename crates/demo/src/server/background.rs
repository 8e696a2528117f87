//! Where a server runs: on the caller's runtime, or on its own runtime and
//! thread for callers without one (plain `#[test]`s, a CLI that spawns a
//! target beside its own threads).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::Server;

/// How a started server runs; dropping it stops the server at once.
pub(crate) enum Run {
    /// Serving on the runtime that started it (`None` once shut down).
    Task(Option<Server>),
    /// Serving on its own runtime on its own thread.
    Thread {
        /// `true` to drain gracefully, `false` to drop everything.
        stop: Option<oneshot::Sender<bool>>,
        stopped: Option<oneshot::Receiver<()>>,
        thread: Option<thread::JoinHandle<()>>,
    },
}

impl Run {
    /// A placeholder for a run not started yet or moved elsewhere.
    pub(crate) fn none() -> Run {
        Run::Thread {
            stop: None,
            stopped: None,
            thread: None,
        }
    }

    /// Stops accepting, lets in-flight responses finish (for up to a
    /// second), then stops.
    pub(crate) async fn shutdown(&mut self) {
        match self {
            Run::Task(server) => {
                if let Some(server) = server.take() {
                    server.shutdown().await;
                }
            }
            Run::Thread { stop, stopped, .. } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(true);
                }
                if let Some(stopped) = stopped.take() {
                    let _ = stopped.await;
                }
            }
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Run::Thread { stop, thread, .. } = self {
            if let Some(stop) = stop.take() {
                let _ = stop.send(false);
            }
            if let Some(thread) = thread.take() {
                // Quick: the runtime drops its tasks without waiting on them.
                let _ = thread.join();
            }
        }
        // A `Run::Task` server stops in its own Drop.
    }
}

/// Runs `launch` on a new multi-threaded runtime (`worker_threads` workers)
/// on its own thread, and returns what it built once it listens. The server
/// lives until the returned [`Run`] is shut down or dropped.
pub(crate) fn in_background<T, F, Fut>(worker_threads: usize, launch: F) -> io::Result<(T, Run)>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<(T, Server)>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .thread_name("stampede-demo")
        .enable_all()
        .build()?;
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<bool>();
    let (stopped_tx, stopped_rx) = oneshot::channel();
    let thread = thread::Builder::new()
        .name("stampede-demo".into())
        .spawn(move || {
            runtime.block_on(async move {
                let server = match launch().await {
                    Ok((built, server)) => {
                        let _ = ready_tx.send(Ok(built));
                        server
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let graceful = stop_rx.await.unwrap_or(false);
                if graceful {
                    server.shutdown().await;
                }
            });
            // Dropping the runtime drops every task still running.
            drop(runtime);
            let _ = stopped_tx.send(());
        })?;
    let built = ready_rx
        .recv()
        .map_err(|_| io::Error::other("server thread died"))??;
    Ok((
        built,
        Run::Thread {
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
            thread: Some(thread),
        },
    ))
}

/// The base URL of a server listening on `addr`, such as
/// `http://127.0.0.1:40123`, without a trailing slash; an unspecified
/// address becomes the loopback one.
pub(crate) fn base_url(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        ip if ip.is_ipv6() => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{}://{}:{}", scheme, ip, addr.port())
}
