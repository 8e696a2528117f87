//! A connection: TCP or TLS over TCP, with byte counters at the TCP level so
//! `data_sent`/`data_received` include headers and TLS overhead, and the
//! buffers reused by every request on it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::response::TlsInfo;

/// Bytes through a connection. Shared because an HTTP/2 connection's I/O
/// lives in its own task; only that one task writes them, so plain
/// load/store (no read-modify-write) is enough.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
}

impl Counters {
    fn add_sent(&self, n: usize) {
        let v = self.sent.load(Ordering::Relaxed);
        self.sent.store(v + n as u64, Ordering::Relaxed);
    }

    fn add_received(&self, n: usize) {
        let v = self.received.load(Ordering::Relaxed);
        self.received.store(v + n as u64, Ordering::Relaxed);
    }

    /// (sent, received) so far.
    pub(crate) fn get(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// A TCP stream that counts the bytes through it.
pub(crate) struct Counted {
    inner: TcpStream,
    pub(crate) counters: Arc<Counters>,
}

impl Counted {
    pub(crate) fn new(inner: TcpStream) -> Self {
        Counted {
            inner,
            counters: Arc::default(),
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            self.counters.add_received(buf.filled().len() - before);
        }
        res
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = res {
            self.counters.add_sent(n);
        }
        res
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = res {
            self.counters.add_sent(n);
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Plain or TLS.
pub(crate) enum Stream {
    Plain(Counted),
    Tls(Box<TlsStream<Counted>>),
}

impl Stream {
    /// The connection's byte counters.
    pub(crate) fn shared_counters(&self) -> &Arc<Counters> {
        match self {
            Stream::Plain(c) => &c.counters,
            Stream::Tls(t) => &t.get_ref().0.counters,
        }
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Identifies connections a request may reuse: (tls, host, port) of the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolKey {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl PoolKey {
    /// Whether this is the key `k` borrows.
    pub(crate) fn is(&self, k: &KeyRef<'_>) -> bool {
        self.tls == k.tls && self.port == k.port && self.host == k.host
    }
}

/// A [`PoolKey`] borrowing the host from the request's URL, for lookups.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRef<'a> {
    pub(crate) tls: bool,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
}

impl KeyRef<'_> {
    /// The owned key a new connection keeps.
    pub(crate) fn owned(self) -> PoolKey {
        PoolKey {
            tls: self.tls,
            host: self.host.to_string(),
            port: self.port,
        }
    }
}

/// An open connection with its reusable buffers.
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) key: PoolKey,
    pub(crate) local: Option<SocketAddr>,
    pub(crate) remote: SocketAddr,
    pub(crate) tls: Option<TlsInfo>,
    /// Bytes read but not yet consumed.
    pub(crate) rbuf: BytesMut,
    /// The request head being written; capacity kept between requests.
    pub(crate) wbuf: Vec<u8>,
    /// Requests completed on this connection.
    pub(crate) served: u64,
}

/// A response's first read buffer: enough for the typical API response in
/// one read. Idle connections keep none (see `h1::receive`).
pub(crate) const READ_BUF: usize = 4 * 1024;
/// The most a read buffer reserves ahead for a body of known length.
pub(crate) const MAX_READ_AHEAD: usize = 64 * 1024;

impl Conn {
    pub(crate) fn new(
        stream: Stream,
        key: PoolKey,
        remote: SocketAddr,
        local: Option<SocketAddr>,
        tls: Option<TlsInfo>,
    ) -> Self {
        Conn {
            stream,
            key,
            local,
            remote,
            tls,
            rbuf: BytesMut::new(),
            wbuf: Vec::new(),
            served: 0,
        }
    }
}
