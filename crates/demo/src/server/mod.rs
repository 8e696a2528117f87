//! The accept loop every server of this crate runs on: hyper's HTTP/1.1 and
//! HTTP/2 (prior knowledge or ALPN) over TCP or TLS, serving an axum
//! [`Router`], with per-connection control for handlers that must misbehave at
//! the transport level (see [`conn::Connection`]).

pub(crate) mod background;
pub(crate) mod conn;
pub(crate) mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use conn::{ConnIo, Connection, TcpBacked};

/// How long a graceful shutdown waits for in-flight responses.
const GRACE: Duration = Duration::from_secs(1);
/// How long a client may take to finish its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts shared by a server and its handlers.
#[derive(Default, Debug)]
pub(crate) struct Counters {
    /// Requests that reached the router.
    pub(crate) requests: AtomicU64,
    /// TCP connections accepted.
    pub(crate) connections: AtomicU64,
}

/// The URL scheme a request arrived with, in its extensions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scheme(pub(crate) &'static str);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Running,
    /// Stop accepting; let in-flight responses finish.
    Draining,
    /// Drop everything now.
    Killed,
}

/// A running server; dropping it stops everything at once.
pub(crate) struct Server {
    addr: SocketAddr,
    phase: Arc<watch::Sender<Phase>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and serves `router` on the current Tokio runtime.
    pub(crate) async fn bind(
        addr: SocketAddr,
        router: Router,
        tls: Option<TlsAcceptor>,
        counters: Arc<Counters>,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (phase, _) = watch::channel(Phase::Running);
        let phase = Arc::new(phase);
        let task = tokio::spawn(accept_loop(listener, router, tls, counters, phase.clone()));
        Ok(Server {
            addr,
            phase,
            task: Some(task),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits up to [`GRACE`] for in-flight responses, then
    /// drops whatever is left (hanging requests are dropped at once).
    pub(crate) async fn shutdown(mut self) {
        self.phase.send_replace(Phase::Draining);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.phase.send_replace(Phase::Killed);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    counters: Arc<Counters>,
    phase: Arc<watch::Sender<Phase>>,
) {
    let mut builder = auto::Builder::new(KillableExecutor(phase.subscribe()));
    builder
        .http1()
        .keep_alive(true)
        .pipeline_flush(true)
        // No timer is configured, so no timeout may be either: idle
        // keep-alive connections live until the client closes them.
        .header_read_timeout(None);
    let builder = Arc::new(builder);
    let mut stop = phase.subscribe();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = until(&mut stop, |p| p != Phase::Running) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    counters.connections.fetch_add(1, Ordering::Relaxed);
                    conns.spawn(serve_connection(
                        stream,
                        peer,
                        router.clone(),
                        tls.clone(),
                        builder.clone(),
                        phase.subscribe(),
                    ));
                }
                Err(error) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    let drained = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(GRACE, drained).await;
    phase.send_replace(Phase::Killed);
    conns.shutdown().await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<KillableExecutor>>,
    phase: watch::Receiver<Phase>,
) {
    // Load tests send small requests back to back; Nagle would add delays.
    let _ = stream.set_nodelay(true);
    match tls {
        None => drive(stream, "http", peer, router, &builder, phase).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                drive(stream, "https", peer, router, &builder, phase).await;
            }
        }
    }
}

async fn drive<S: TcpBacked + Send + 'static>(
    stream: S,
    scheme: &'static str,
    peer: SocketAddr,
    router: Router,
    builder: &auto::Builder<KillableExecutor>,
    mut phase: watch::Receiver<Phase>,
) {
    let handle = Connection::default();
    let io = TokioIo::new(ConnIo::new(stream, handle.control()));
    let per_request = handle.clone();
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let ext = req.extensions_mut();
        ext.insert(ConnectInfo(peer));
        ext.insert(per_request.clone());
        ext.insert(Scheme(scheme));
        tower_service::Service::call(&mut router.clone(), req)
    });
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = handle.aborted() => return,
        _ = until(&mut phase, |p| p != Phase::Running) => {}
    }
    if handle.is_hanging() || *phase.borrow() == Phase::Killed {
        return;
    }
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn => {}
        _ = handle.aborted() => {}
        _ = until(&mut phase, |p| p == Phase::Killed) => {}
    }
}

/// Resolves once the phase satisfies `done` (or the server is gone), without
/// holding the watch's lock across awaits.
async fn until(phase: &mut watch::Receiver<Phase>, done: impl Fn(Phase) -> bool) {
    let _ = phase.wait_for(|p| done(*p)).await;
}

/// Spawns HTTP/2 stream tasks that end when the server is killed, so a
/// handler that never answers cannot outlive its server.
#[derive(Clone)]
struct KillableExecutor(watch::Receiver<Phase>);

impl<F> hyper::rt::Executor<F> for KillableExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        let mut phase = self.0.clone();
        TokioExecutor::new().execute(async move {
            tokio::select! {
                _ = fut => {}
                _ = until(&mut phase, |p| p == Phase::Killed) => {}
            }
        });
    }
}
