//! The demo target's optional cache: a real Redis (or anything speaking
//! RESP `GET`/`SET ... PX`) over TCP, enabled with `--cache HOST:PORT`, so
//! chaos experiments can break a real dependency and watch the target
//! degrade as a service would: with the cache down, every inventory report
//! is computed again (a cache miss is slower), and nothing fails.
//!
//! Every cache call has a short time limit, so a blackholed cache costs a
//! request at most [`OP_TIMEOUT`]; a connection that failed is dropped and
//! the next call dials again (see [`Resp`]), so the target recovers by
//! itself when the cache comes back.

use std::time::Duration;

use super::resp::{Reply, Resp};

/// Longest a cache call (including connecting) may take.
pub(crate) const OP_TIMEOUT: Duration = Duration::from_millis(100);

/// A RESP cache at one address.
#[derive(Debug)]
pub(crate) struct Cache {
    resp: Resp,
}

/// What a cache read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The value.
    Hit(Vec<u8>),
    /// No such key.
    Miss,
    /// The cache did not answer in time or answered nonsense.
    Down,
}

impl Cache {
    /// A cache at `addr` (`host:port`); nothing connects until the first call.
    pub(crate) fn new(addr: &str) -> Cache {
        Cache {
            resp: Resp::new(addr, OP_TIMEOUT),
        }
    }

    /// `GET key`.
    pub(crate) async fn get(&self, key: &str) -> Lookup {
        match self.resp.call(&[b"GET", key.as_bytes()]).await {
            Some(Reply::Bulk(v)) => Lookup::Hit(v),
            Some(Reply::Nil) => Lookup::Miss,
            _ => Lookup::Down,
        }
    }

    /// `SET key value PX ttl`; whether the cache took it.
    pub(crate) async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> bool {
        let ms = ttl.as_millis().max(1).to_string();
        matches!(
            self.resp
                .call(&[b"SET", key.as_bytes(), value, b"PX", ms.as_bytes()])
                .await,
            Some(Reply::Ok)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_cache_is_down_not_an_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cache::new(&format!("127.0.0.1:{port}"));
        assert_eq!(c.get("k").await, Lookup::Down);
        assert!(!c.set("k", b"v", Duration::from_secs(1)).await);
    }
}
