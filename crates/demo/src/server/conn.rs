//! Per-connection control: lets a handler misbehave at the transport level
//! (reset the TCP connection, send raw bytes, send an interim 1xx response),
//! which a plain request/response router cannot express.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Handle on the connection a request arrived on, inserted into every
/// request's extensions by the accept loop.
#[derive(Clone, Default)]
pub(crate) struct Connection(Arc<ConnControl>);

#[derive(Default)]
pub(crate) struct ConnControl {
    /// Woken when the connection must be dropped without answering.
    abort: Notify,
    aborted: AtomicBool,
    reset: AtomicBool,
    raw_on_close: Mutex<Option<Bytes>>,
    has_interim: AtomicBool,
    interim: Mutex<Option<Bytes>>,
    hanging: AtomicUsize,
}

impl Connection {
    /// Drops the connection without a response; with SO_LINGER 0 the kernel
    /// sends a RST instead of a FIN.
    pub(crate) fn reset(&self) {
        self.0.reset.store(true, Ordering::Release);
        self.abort();
    }

    /// Writes `raw` straight to the socket, then closes it (plain TCP only:
    /// under TLS the connection just closes).
    pub(crate) fn close_with_raw(&self, raw: Bytes) {
        *lock(&self.0.raw_on_close) = Some(raw);
        self.abort();
    }

    /// Queues bytes written before the next response bytes, e.g. an interim
    /// `HTTP/1.1 103 Early Hints` head, which hyper cannot produce itself.
    pub(crate) fn send_before_response(&self, raw: Bytes) {
        *lock(&self.0.interim) = Some(raw);
        self.0.has_interim.store(true, Ordering::Release);
    }

    /// Marks the connection as stuck in a handler that never answers, so
    /// shutdown drops it at once instead of waiting for the response.
    pub(crate) fn hang_guard(&self) -> HangGuard {
        self.0.hanging.fetch_add(1, Ordering::AcqRel);
        HangGuard(self.0.clone())
    }

    pub(crate) fn is_hanging(&self) -> bool {
        self.0.hanging.load(Ordering::Acquire) > 0
    }

    /// Resolves once a handler asked to drop the connection.
    pub(crate) async fn aborted(&self) {
        loop {
            let notified = self.0.abort.notified();
            if self.0.aborted.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn abort(&self) {
        self.0.aborted.store(true, Ordering::Release);
        self.0.abort.notify_waiters();
    }

    pub(crate) fn control(&self) -> Arc<ConnControl> {
        self.0.clone()
    }
}

/// Decrements the hanging count when the hanging handler is dropped.
pub(crate) struct HangGuard(Arc<ConnControl>);

impl Drop for HangGuard {
    fn drop(&mut self) {
        self.0.hanging.fetch_sub(1, Ordering::AcqRel);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stream with a TCP socket underneath.
pub(crate) trait TcpBacked: AsyncRead + AsyncWrite + Unpin {
    /// The TCP socket.
    fn tcp(&self) -> &TcpStream;
    /// Whether bytes written to the socket directly reach the peer as-is.
    const PLAIN: bool;
}

impl TcpBacked for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
    const PLAIN: bool = true;
}

impl TcpBacked for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
    const PLAIN: bool = false;
}

/// The stream hyper serves: writes queued interim bytes first, and on drop
/// applies what the handlers asked for (raw bytes, RST).
pub(crate) struct ConnIo<S: TcpBacked> {
    inner: S,
    control: Arc<ConnControl>,
    pending: Option<Bytes>,
}

impl<S: TcpBacked> ConnIo<S> {
    pub(crate) fn new(inner: S, control: Arc<ConnControl>) -> Self {
        ConnIo {
            inner,
            control,
            pending: None,
        }
    }

    fn poll_interim(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.pending.is_none() {
            // Checked on every write, so the common case is one plain load.
            if !self.control.has_interim.load(Ordering::Acquire)
                || !self.control.has_interim.swap(false, Ordering::AcqRel)
            {
                return Poll::Ready(Ok(()));
            }
            self.pending = lock(&self.control.interim).take();
        }
        while let Some(buf) = self.pending.as_mut() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            buf.advance(n);
            if buf.is_empty() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: TcpBacked> Drop for ConnIo<S> {
    fn drop(&mut self) {
        let raw = lock(&self.control.raw_on_close).take();
        if let Some(raw) = raw.filter(|_| S::PLAIN) {
            // Best effort: a fresh connection's send buffer takes a few bytes.
            let _ = self.inner.tcp().try_write(&raw);
        }
        if self.control.reset.load(Ordering::Acquire) {
            let _ = self.inner.tcp().set_zero_linger();
        }
    }
}

impl<S: TcpBacked> AsyncRead for ConnIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: TcpBacked> AsyncWrite for ConnIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_interim(cx))?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_interim(cx))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_interim(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
