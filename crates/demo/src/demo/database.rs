//! The demo target's optional database: a real Redis (or anything speaking
//! RESP `GET`/`SET`) over TCP, enabled with `--database HOST:PORT`, that
//! holds the shop's orders, so seed 000's "database failure" breaks a real
//! dependency: kill it, pause it or cut it off behind a fault proxy and
//! order creation and lookup answer 503 (`Retry-After: 1`) after a few
//! retries, while the endpoints that need no database keep working.
//!
//! Shaped as a service's data layer usually is: each call has a time limit
//! ([`OP_TIMEOUT`]) and is tried [`ATTEMPTS`] times with a doubling backoff
//! (from [`BACKOFF`]), so a blip is absorbed and an outage costs a request
//! well under a second; the connection pool dials again after a failure,
//! so the target recovers by itself when the database is back.

use std::time::Duration;

use super::api::ApiError;
use super::resp::{Reply, Resp};

/// Longest one database call (including connecting) may take.
pub(crate) const OP_TIMEOUT: Duration = Duration::from_millis(200);
/// Tries of a call before the request fails.
pub(crate) const ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubled for each further one.
pub(crate) const BACKOFF: Duration = Duration::from_millis(25);
/// How long the database keeps an order (bounded memory in long soaks).
const ORDER_TTL_S: &str = "3600";

/// The database did not answer after every retry.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unavailable;

impl From<Unavailable> for ApiError {
    fn from(_: Unavailable) -> ApiError {
        ApiError::new(
            http::StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable, try again shortly",
        )
    }
}

/// The orders' database at one address.
#[derive(Debug)]
pub(crate) struct Database {
    resp: Resp,
}

fn order_key(id: &str) -> Vec<u8> {
    format!("stampede-demo:order:{id}").into_bytes()
}

impl Database {
    /// A database at `addr` (`host:port`); nothing connects until the first call.
    pub(crate) fn new(addr: &str) -> Database {
        Database {
            resp: Resp::new(addr, OP_TIMEOUT),
        }
    }

    /// One command with retries and backoff.
    async fn call(&self, args: &[&[u8]]) -> Result<Reply, Unavailable> {
        let mut wait = BACKOFF;
        for attempt in 1..=ATTEMPTS {
            if let Some(r) = self.resp.call(args).await {
                return Ok(r);
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        Err(Unavailable)
    }

    /// Stores the order `id` (its JSON).
    pub(crate) async fn save_order(&self, id: &str, body: &[u8]) -> Result<(), Unavailable> {
        match self
            .call(&[b"SET", &order_key(id), body, b"EX", ORDER_TTL_S.as_bytes()])
            .await?
        {
            Reply::Ok => Ok(()),
            _ => Err(Unavailable),
        }
    }

    /// The order `id` (its JSON), `None` when the database has no such order.
    pub(crate) async fn load_order(&self, id: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        match self.call(&[b"GET", &order_key(id)]).await? {
            Reply::Bulk(v) => Ok(Some(v)),
            Reply::Nil => Ok(None),
            Reply::Ok => Err(Unavailable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_silent_database_is_tried_again_then_unavailable() {
        // Accepts and never answers, counting the connections.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let counter = tokio::spawn(async move {
            let mut conns = Vec::new();
            while let Ok(Ok((mut s, _))) =
                tokio::time::timeout(Duration::from_secs(1), listener.accept()).await
            {
                let mut buf = [0u8; 64];
                let _ = tokio::time::timeout(Duration::from_millis(10), s.read(&mut buf)).await;
                conns.push(s);
            }
            conns.len()
        });
        let db = Database::new(&addr);
        assert_eq!(db.save_order("ord-1", b"{}").await, Err(Unavailable));
        drop(db);
        assert_eq!(counter.await.unwrap(), ATTEMPTS as usize);
        let e: ApiError = Unavailable.into();
        assert_eq!(e.status, http::StatusCode::SERVICE_UNAVAILABLE);
    }
}
