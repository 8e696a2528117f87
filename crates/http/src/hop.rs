//! One hop: what goes into its request ([`HopParams`]) and what happened
//! while it ran ([`HopState`]), turned into k6 timings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::Method;
use url::Url;

use crate::conn::{Conn, Counters};
use crate::h1::Marks;
use crate::response::{Timings, TlsInfo};

/// Progress of one hop, kept outside the hop's future so that a timeout which
/// drops the future still leaves what happened up to then.
pub(crate) struct HopState {
    pub(crate) start: Instant,
    pub(crate) got_conn: Option<Instant>,
    pub(crate) connect: Option<(Instant, Instant)>,
    pub(crate) tls: Option<(Instant, Instant)>,
    pub(crate) marks: Marks,
    /// The HTTP/1 connection while this hop uses it.
    pub(crate) conn: Option<Box<Conn>>,
    pub(crate) counters: Option<Arc<Counters>>,
    pub(crate) counters_at_start: (u64, u64),
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) tls_info: Option<TlsInfo>,
    pub(crate) reused: bool,
}

impl HopState {
    pub(crate) fn timings(&self, done: Instant) -> Timings {
        let mut t = Timings::default();
        if let Some(g) = self.got_conn {
            t.blocked = g - self.start;
        }
        if let Some((a, b)) = self.connect {
            t.connecting = b - a;
        }
        if let Some((a, b)) = self.tls {
            t.tls_handshaking = b - a;
        }
        if let (Some(g), Some(w)) = (self.got_conn, self.marks.wrote) {
            t.sending = w.saturating_duration_since(g);
            let first = self.marks.first_byte.unwrap_or(done);
            t.waiting = first.saturating_duration_since(w);
        }
        if let Some(f) = self.marks.first_byte {
            t.receiving = done.saturating_duration_since(f);
        }
        t
    }

    pub(crate) fn bytes(&self) -> (u64, u64) {
        match &self.counters {
            Some(c) => {
                let (s, r) = c.get();
                (
                    s.saturating_sub(self.counters_at_start.0),
                    r.saturating_sub(self.counters_at_start.1),
                )
            }
            None => (0, 0),
        }
    }
}

/// Everything that goes into one hop's request.
pub(crate) struct HopParams<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a Url,
    pub(crate) host_override: Option<&'a str>,
    pub(crate) headers: &'a [(String, String)],
    /// Authorization, Cookie and friends may not cross to another host.
    pub(crate) strip_sensitive: bool,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) authorization: Option<&'a str>,
    pub(crate) cookie: &'a str,
    pub(crate) referer: Option<&'a str>,
    pub(crate) content_encoding: Option<&'a str>,
    pub(crate) body: &'a Bytes,
    pub(crate) collect: bool,
    pub(crate) close: bool,
}
