//! The demo target's optional cache: a real Redis (or anything speaking
//! RESP `GET`/`SET ... PX`) over TCP, enabled with `--cache HOST:PORT`, so
//! chaos experiments can break a real dependency and watch the target
//! degrade as a service would: with the cache down, every inventory report
//! is computed again (a cache miss is slower), and nothing fails.
//!
//! Every cache call has a short time limit, so a blackholed cache costs a
//! request at most [`OP_TIMEOUT`]; a connection that failed is dropped and
//! the next call dials again, so the target recovers by itself when the
//! cache comes back.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Longest a cache call (including connecting) may take.
pub(crate) const OP_TIMEOUT: Duration = Duration::from_millis(100);

/// Idle connections kept for reuse.
const POOL: usize = 8;

/// A RESP cache at one address with a small connection pool.
#[derive(Debug)]
pub(crate) struct Cache {
    addr: String,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
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
            addr: addr.to_string(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// `GET key`.
    pub(crate) async fn get(&self, key: &str) -> Lookup {
        match self.call(&[b"GET", key.as_bytes()]).await {
            Some(Reply::Bulk(v)) => Lookup::Hit(v),
            Some(Reply::Nil) => Lookup::Miss,
            _ => Lookup::Down,
        }
    }

    /// `SET key value PX ttl`; whether the cache took it.
    pub(crate) async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> bool {
        let ms = ttl.as_millis().max(1).to_string();
        matches!(
            self.call(&[b"SET", key.as_bytes(), value, b"PX", ms.as_bytes()])
                .await,
            Some(Reply::Ok)
        )
    }

    async fn call(&self, args: &[&[u8]]) -> Option<Reply> {
        let conn = self.idle.lock().await.pop();
        let fut = async {
            let mut conn = match conn {
                Some(c) => c,
                None => {
                    let s = TcpStream::connect(&self.addr).await.ok()?;
                    let _ = s.set_nodelay(true);
                    BufReader::new(s)
                }
            };
            conn.get_mut().write_all(&encode(args)).await.ok()?;
            let reply = read_reply(&mut conn).await?;
            Some((conn, reply))
        };
        // A connection that timed out may still get the late answer: it is
        // dropped, never reused.
        let (conn, reply) = tokio::time::timeout(OP_TIMEOUT, fut).await.ok()??;
        let mut idle = self.idle.lock().await;
        if idle.len() < POOL {
            idle.push(conn);
        }
        Some(reply)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Ok,
    Bulk(Vec<u8>),
    Nil,
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Largest value accepted from the cache.
const MAX_VALUE: usize = 64 << 20;

async fn read_reply(r: &mut BufReader<TcpStream>) -> Option<Reply> {
    let mut line = String::new();
    r.read_line(&mut line).await.ok()?;
    let line = line.trim_end();
    match line.as_bytes().first()? {
        b'+' => Some(Reply::Ok),
        b'$' => {
            let n: i64 = line[1..].parse().ok()?;
            if n < 0 {
                return Some(Reply::Nil);
            }
            let n = usize::try_from(n).ok().filter(|&n| n <= MAX_VALUE)?;
            let mut buf = vec![0u8; n + 2];
            r.read_exact(&mut buf).await.ok()?;
            buf.truncate(n);
            Some(Reply::Bulk(buf))
        }
        // Errors (`-ERR ...`) and anything else: treat the cache as down.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands_as_resp_arrays() {
        assert_eq!(
            encode(&[b"GET", b"k"]),
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".to_vec()
        );
    }

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
