//! [`TestServer`]: the httpbin router on a loopback port.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{router, Shared};
use crate::server::background::{base_url, in_background, Run};
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
/// let server = stampede_demo::TestServer::start_in_background();
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
        base_url(self.scheme, self.addr)
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
        self.run.shutdown().await;
    }

    async fn launch(addr: SocketAddr, tls: bool) -> io::Result<TestServer> {
        let (mut server, run) = Self::bind(addr, tls).await?;
        server.run = Run::Task(Some(run));
        Ok(server)
    }

    /// Binds the listener; the caller decides where the server runs.
    async fn bind(addr: SocketAddr, tls: bool) -> io::Result<(TestServer, Server)> {
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
        let built = TestServer {
            addr: server.addr(),
            scheme: if tls { "https" } else { "http" },
            shared,
            certificate,
            run: Run::none(),
        };
        Ok((built, server))
    }

    fn launch_in_background(addr: SocketAddr, tls: bool) -> io::Result<TestServer> {
        let (mut server, run) = in_background(2, move || Self::bind(addr, tls))?;
        server.run = run;
        Ok(server)
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
