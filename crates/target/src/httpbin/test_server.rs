//! [`TestServer`]: the httpbin router on a loopback port.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread;

use tokio::sync::oneshot;

use super::{router, Shared};
use crate::server::tls::SelfSigned;
use crate::server::Server;

/// The httpbin test server, on plain HTTP or HTTPS.
///
/// Dropping it stops the server at once (open connections and hanging
/// requests included; a server started on a runtime releases its port when
/// that runtime next runs); [`TestServer::shutdown`] lets in-flight
/// responses finish first.
///
/// ```no_run
/// // In a plain #[test] that spawns a binary against the server:
/// let server = stampede_target::TestServer::start_in_background();
/// let url = format!("{}/status/200", server.url());
/// # drop(url);
/// ```
pub struct TestServer {
    addr: SocketAddr,
    scheme: &'static str,
    shared: Arc<Shared>,
    certificate: Option<Certificate>,
    run: Run,
}

/// The self-signed certificate of a TLS server.
struct Certificate {
    der: Vec<u8>,
    pem: String,
}

enum Run {
    /// Serving on the runtime that started it.
    Task(Server),
    /// Serving on its own runtime on its own thread.
    Thread {
        /// `true` to drain gracefully, `false` to drop everything.
        stop: Option<oneshot::Sender<bool>>,
        stopped: Option<oneshot::Receiver<()>>,
        thread: Option<thread::JoinHandle<()>>,
    },
}

impl TestServer {
    /// Starts a plain HTTP server on `127.0.0.1` and a free port.
    pub async fn start() -> io::Result<TestServer> {
        Self::start_on(loopback()).await
    }

    /// Starts a plain HTTP server on `addr`.
    pub async fn start_on(addr: SocketAddr) -> io::Result<TestServer> {
        Self::launch(addr, false).await
    }

    /// Starts an HTTPS server on `127.0.0.1` and a free port, with a
    /// self-signed certificate for `localhost`, `127.0.0.1` and `::1` (see
    /// [`TestServer::certificate_pem`]). HTTP/2 is offered by ALPN.
    pub async fn start_tls() -> io::Result<TestServer> {
        Self::start_tls_on(loopback()).await
    }

    /// Starts an HTTPS server on `addr`.
    pub async fn start_tls_on(addr: SocketAddr) -> io::Result<TestServer> {
        Self::launch(addr, true).await
    }

    /// Starts a plain HTTP server on `127.0.0.1` on its own thread and Tokio
    /// runtime, for tests without a runtime of their own.
    ///
    /// # Panics
    ///
    /// If the server cannot start (no runtime, no free port).
    pub fn start_in_background() -> TestServer {
        Self::launch_in_background(loopback(), false).expect("starting the test server")
    }

    /// [`TestServer::start_in_background`] with HTTPS.
    ///
    /// # Panics
    ///
    /// If the server cannot start.
    pub fn start_tls_in_background() -> TestServer {
        Self::launch_in_background(loopback(), true).expect("starting the TLS test server")
    }

    /// The base URL, such as `http://127.0.0.1:40123`, without a trailing
    /// slash.
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
            ip if ip.is_unspecified() => "[::1]".to_string(),
            ip if ip.is_ipv6() => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("{}://{}:{}", self.scheme, ip, self.addr.port())
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests that reached the router so far, whatever their outcome.
    pub fn requests_served(&self) -> u64 {
        self.shared.counters.requests.load(Ordering::Relaxed)
    }

    /// TCP connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.counters.connections.load(Ordering::Relaxed)
    }

    /// The self-signed certificate (PEM) of a TLS server, for clients to
    /// trust; `None` for plain HTTP.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate.as_ref().map(|c| c.pem.as_str())
    }

    /// The self-signed certificate (DER) of a TLS server.
    pub fn certificate_der(&self) -> Option<&[u8]> {
        self.certificate.as_ref().map(|c| c.der.as_slice())
    }

    /// Stops accepting connections, lets in-flight responses finish (for up
    /// to a second), then stops.
    pub async fn shutdown(mut self) {
        match &mut self.run {
            Run::Task(_) => {
                let Run::Task(server) = std::mem::replace(&mut self.run, Run::none()) else {
                    unreachable!("matched above")
                };
                server.shutdown().await;
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

    async fn launch(addr: SocketAddr, tls: bool) -> io::Result<TestServer> {
        let shared = Arc::new(Shared::default());
        let (acceptor, certificate) = if tls {
            let cert = SelfSigned::generate()?;
            let certificate = Certificate {
                der: cert.cert_der.to_vec(),
                pem: cert.cert_pem,
            };
            (Some(cert.acceptor), Some(certificate))
        } else {
            (None, None)
        };
        let server = Server::bind(
            addr,
            router(shared.clone()),
            acceptor,
            shared.counters.clone(),
        )
        .await?;
        Ok(TestServer {
            addr: server.addr(),
            scheme: if tls { "https" } else { "http" },
            shared,
            certificate,
            run: Run::Task(server),
        })
    }

    fn launch_in_background(addr: SocketAddr, tls: bool) -> io::Result<TestServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stampede-target")
            .enable_all()
            .build()?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<bool>();
        let (stopped_tx, stopped_rx) = oneshot::channel();
        let thread = thread::Builder::new()
            .name("stampede-target".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut server = match TestServer::launch(addr, tls).await {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let run = std::mem::replace(&mut server.run, Run::none());
                    let _ = ready_tx.send(Ok(server));
                    let graceful = stop_rx.await.unwrap_or(false);
                    if let (true, Run::Task(server)) = (graceful, run) {
                        server.shutdown().await;
                    }
                });
                // Dropping the runtime drops every task still running.
                drop(runtime);
                let _ = stopped_tx.send(());
            })?;
        let mut server = ready_rx
            .recv()
            .map_err(|_| io::Error::other("test server thread died"))??;
        server.run = Run::Thread {
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
            thread: Some(thread),
        };
        Ok(server)
    }
}

impl Run {
    /// A placeholder for a run moved elsewhere.
    fn none() -> Run {
        Run::Thread {
            stop: None,
            stopped: None,
            thread: None,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Run::Thread { stop, thread, .. } = &mut self.run {
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

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}
