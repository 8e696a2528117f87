//! A connection: TCP or TLS over TCP, with byte counters at the TCP level so
//! `data_sent`/`data_received` include headers and TLS overhead, and the
//! buffers reused by every request on it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::response::TlsInfo;

/// A TCP stream that counts the bytes through it.
pub(crate) struct Counted {
    inner: TcpStream,
    pub(crate) sent: u64,
    pub(crate) received: u64,
}

impl Counted {
    pub(crate) fn new(inner: TcpStream) -> Self {
        Counted {
            inner,
            sent: 0,
            received: 0,
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
            self.received += (buf.filled().len() - before) as u64;
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
            self.sent += n as u64;
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
            self.sent += n as u64;
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
    /// Bytes (sent, received) on the wire so far.
    pub(crate) fn counters(&self) -> (u64, u64) {
        let c = match self {
            Stream::Plain(c) => c,
            Stream::Tls(t) => t.get_ref().0,
        };
        (c.sent, c.received)
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

/// Read buffer size; most responses to load tests fit in one read.
pub(crate) const READ_BUF: usize = 16 * 1024;

impl Conn {
    pub(crate) fn new(
        stream: Stream,
        key: PoolKey,
        remote: SocketAddr,
        local: Option<SocketAddr>,
    ) -> Self {
        let tls = match &stream {
            Stream::Tls(t) => crate::tls::info(t.get_ref().1),
            Stream::Plain(_) => None,
        };
        Conn {
            stream,
            key,
            local,
            remote,
            tls,
            rbuf: BytesMut::with_capacity(READ_BUF),
            wbuf: Vec::with_capacity(512),
            served: 0,
        }
    }
}
