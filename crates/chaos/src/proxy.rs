//! The TCP fault proxy: accepts clients on a (loopback by default) address,
//! connects each to the upstream, and pumps bytes both ways through the
//! current [`Faults`].
//!
//! Faults live in a `watch` channel so a switch reaches every open
//! connection at once, not only new ones: a partition stalls live
//! connections, a reset tears them down. Each connection is one task that
//! owns both sockets and runs its three pumps (client → upstream, upstream
//! reader, client writer) as futures over borrowed halves, so a reset can
//! set `SO_LINGER 0` on the client socket and close it without a FIN first.
//! The upstream reader stamps each chunk with its arrival time and the
//! writer delays it relative to that stamp (as Toxiproxy does), so latency
//! does not accumulate over the chunks of one response.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::faults::{starts_http_request, Faults};

/// How long the proxy waits for the upstream to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer per direction.
const CHUNK: usize = 16 * 1024;

/// Counters of a proxy since it started.
#[derive(Debug, Default)]
pub struct ProxyStats {
    accepted: AtomicU64,
    active: AtomicU64,
    resets: AtomicU64,
    injected_errors: AtomicU64,
    upstream_failures: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

/// A copy of [`ProxyStats`] for the API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Client connections accepted.
    pub accepted: u64,
    /// Client connections open now.
    pub active: u64,
    /// Connections reset by the `reset` fault.
    pub resets: u64,
    /// HTTP requests answered with an injected error.
    pub injected_errors: u64,
    /// Connections whose upstream could not be reached.
    pub upstream_failures: u64,
    /// Bytes forwarded from clients to the upstream.
    pub bytes_up: u64,
    /// Bytes forwarded from the upstream to clients.
    pub bytes_down: u64,
}

impl ProxyStats {
    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            accepted: g(&self.accepted),
            active: g(&self.active),
            resets: g(&self.resets),
            injected_errors: g(&self.injected_errors),
            upstream_failures: g(&self.upstream_failures),
            bytes_up: g(&self.bytes_up),
            bytes_down: g(&self.bytes_down),
        }
    }
}

/// A running proxy; dropping it stops accepting (open connections end
/// with their sockets).
pub struct Proxy {
    addr: SocketAddr,
    upstream: String,
    faults: watch::Sender<Faults>,
    stats: Arc<ProxyStats>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `listen` and forwards to `upstream` (`host:port`).
    pub async fn start(listen: SocketAddr, upstream: &str) -> io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (faults, rx) = watch::channel(Faults::default());
        let stats = Arc::new(ProxyStats::default());
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream.to_string(),
            rx,
            stats.clone(),
        ));
        Ok(Proxy {
            addr,
            upstream: upstream.to_string(),
            faults,
            stats,
            accept,
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The upstream it forwards to.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Replaces the faults (every open connection follows at once).
    pub fn set_faults(&self, faults: Faults) {
        self.faults.send_replace(faults);
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.faults.borrow().clone()
    }

    /// The counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Wakes every connection task so none stays stalled on a partition.
        self.faults.send_replace(Faults::default());
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    faults: watch::Receiver<Faults>,
    stats: Arc<ProxyStats>,
) {
    loop {
        let client = match listener.accept().await {
            Ok((c, _)) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "chaos proxy: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = client.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.active.fetch_add(1, Ordering::Relaxed);
        let (upstream, faults, stats) = (upstream.clone(), faults.clone(), stats.clone());
        tokio::spawn(async move {
            serve(client, &upstream, faults, &stats).await;
            stats.active.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// How a pump or the whole connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// This direction finished normally (its half-close was forwarded).
    Done,
    /// Close the connection now (limit reached, injected error sent, I/O error).
    Close,
    /// Reset the client connection.
    Reset,
}

/// What the upstream reader hands the client writer.
enum Down {
    Chunk(Instant, Vec<u8>),
    /// The upstream closed its side.
    Eof,
    /// Answer with this (an injected error) and close.
    Inject(Vec<u8>),
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    mut faults: watch::Receiver<Faults>,
    stats: &ProxyStats,
) {
    // A partition holds new connections too: wait before dialling.
    let held = wait_usable(&mut faults).await;
    if held == Flow::Reset {
        return reset(client, stats);
    }
    let mut up = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(_)) | Err(_) => {
            stats.upstream_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let _ = up.set_nodelay(true);
    let flow = {
        let (client_r, client_w) = client.split();
        let (up_r, up_w) = up.split();
        let (tx, rx) = mpsc::channel::<Down>(16);
        pump(client_r, client_w, up_r, up_w, tx, rx, &faults, stats).await
    };
    if flow == Flow::Reset {
        reset(client, stats);
    }
}

/// Runs the three pumps until the connection is over.
#[allow(clippy::too_many_arguments)]
async fn pump(
    client_r: tokio::net::tcp::ReadHalf<'_>,
    client_w: tokio::net::tcp::WriteHalf<'_>,
    up_r: tokio::net::tcp::ReadHalf<'_>,
    up_w: tokio::net::tcp::WriteHalf<'_>,
    tx: mpsc::Sender<Down>,
    rx: mpsc::Receiver<Down>,
    faults: &watch::Receiver<Faults>,
    stats: &ProxyStats,
) -> Flow {
    let upward = client_to_upstream(client_r, up_w, tx.clone(), faults.clone(), stats);
    let reader = upstream_reader(up_r, tx, faults.clone());
    let writer = client_writer(rx, client_w, faults.clone(), stats);
    let mut watch = faults.clone();
    let reset = async move {
        if watch.wait_for(|f| f.reset).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(upward, reader, writer, reset);
    let (mut up_done, mut read_done, mut write_done) = (false, false, false);
    loop {
        let flow = tokio::select! {
            f = &mut upward, if !up_done => { up_done = true; f }
            f = &mut reader, if !read_done => { read_done = true; f }
            f = &mut writer, if !write_done => { write_done = true; f }
            _ = &mut reset => Flow::Reset,
        };
        if flow != Flow::Done {
            return flow;
        }
        if up_done && write_done {
            return Flow::Done;
        }
    }
}

/// Client → upstream: forwards requests, decides injected HTTP errors.
async fn client_to_upstream(
    mut client_r: tokio::net::tcp::ReadHalf<'_>,
    mut up_w: tokio::net::tcp::WriteHalf<'_>,
    tx: mpsc::Sender<Down>,
    mut faults: watch::Receiver<Faults>,
    stats: &ProxyStats,
) -> Flow {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match client_r.read(&mut buf).await {
            Ok(n) => n,
            Err(_) => return Flow::Close,
        };
        match wait_usable(&mut faults).await {
            Flow::Done => {}
            other => return other,
        }
        let f = faults.borrow().clone();
        if n == 0 {
            slow_close(&f).await;
            let _ = up_w.shutdown().await;
            return Flow::Done;
        }
        if f.error_rate > 0.0
            && starts_http_request(&buf[..n])
            && rand::random::<f64>() < f.error_rate
        {
            stats.injected_errors.fetch_add(1, Ordering::Relaxed);
            let _ = tx.send(Down::Inject(f.error_response())).await;
            // The request is dropped; the writer answers and closes.
            std::future::pending::<()>().await;
        }
        if up_w.write_all(&buf[..n]).await.is_err() {
            return Flow::Close;
        }
        stats.bytes_up.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Upstream → channel: stamps each chunk with its arrival time.
async fn upstream_reader(
    mut up_r: tokio::net::tcp::ReadHalf<'_>,
    tx: mpsc::Sender<Down>,
    faults: watch::Receiver<Faults>,
) -> Flow {
    let mut buf = vec![0u8; CHUNK];
    loop {
        // Small reads under a bandwidth limit keep the pacing smooth.
        let bw = faults.borrow().bandwidth;
        let max = if bw > 0 {
            (bw as usize / 50).clamp(1, CHUNK)
        } else {
            CHUNK
        };
        match up_r.read(&mut buf[..max]).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Down::Eof).await;
                return Flow::Done;
            }
            Ok(n) => {
                if tx
                    .send(Down::Chunk(Instant::now(), buf[..n].to_vec()))
                    .await
                    .is_err()
                {
                    return Flow::Done;
                }
            }
        }
    }
}

/// Channel → client: latency, bandwidth, data limit, slow close.
async fn client_writer(
    mut rx: mpsc::Receiver<Down>,
    mut client_w: tokio::net::tcp::WriteHalf<'_>,
    mut faults: watch::Receiver<Faults>,
    stats: &ProxyStats,
) -> Flow {
    let mut sent: u64 = 0;
    let mut next_slot = Instant::now();
    while let Some(msg) = rx.recv().await {
        match wait_usable(&mut faults).await {
            Flow::Done => {}
            other => return other,
        }
        let f = faults.borrow().clone();
        let (at, mut data) = match msg {
            Down::Chunk(at, data) => (at, data),
            Down::Eof => {
                slow_close(&f).await;
                let _ = client_w.shutdown().await;
                return Flow::Done;
            }
            Down::Inject(resp) => {
                let _ = client_w.write_all(&resp).await;
                let _ = client_w.shutdown().await;
                return Flow::Close;
            }
        };
        tokio::time::sleep_until(at + f.chunk_delay()).await;
        let mut over_limit = false;
        if f.limit_data > 0 && sent + data.len() as u64 >= f.limit_data {
            data.truncate((f.limit_data - sent) as usize);
            over_limit = true;
        }
        if f.bandwidth > 0 {
            let now = Instant::now();
            if next_slot < now {
                next_slot = now;
            }
            next_slot += Duration::from_secs_f64(data.len() as f64 / f.bandwidth as f64);
        }
        if client_w.write_all(&data).await.is_err() {
            return Flow::Close;
        }
        sent += data.len() as u64;
        stats
            .bytes_down
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        if over_limit {
            let _ = client_w.shutdown().await;
            return Flow::Close;
        }
        if f.bandwidth > 0 {
            tokio::time::sleep_until(next_slot).await;
        }
    }
    Flow::Done
}

/// Waits while a partition is on; `Reset` when a reset fault is set.
async fn wait_usable(faults: &mut watch::Receiver<Faults>) -> Flow {
    match faults.wait_for(|f| f.reset || !f.blackhole).await {
        Ok(f) if f.reset => Flow::Reset,
        // A dropped proxy sends no faults: carry on transparently.
        _ => Flow::Done,
    }
}

async fn slow_close(f: &Faults) {
    if f.slow_close_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.slow_close_ms)).await;
    }
}

/// Closes `client` with a TCP RST (`SO_LINGER 0`).
fn reset(client: TcpStream, stats: &ProxyStats) {
    stats.resets.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_zero_linger();
    drop(client);
}
