//! A small RESP (Redis protocol) client over TCP with a connection pool and
//! a time limit per call: what the demo target's real dependencies (its
//! cache and its database, both a Redis or anything speaking RESP) are
//! reached through. A call that fails or times out drops its connection and
//! the next call dials again, so the target recovers by itself when the
//! dependency comes back; every failure is one value (`None`), as
//! a service only needs to know that the dependency did not answer.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Idle connections kept for reuse.
const POOL: usize = 8;

/// A RESP server at one address with a small connection pool.
#[derive(Debug)]
pub(crate) struct Resp {
    addr: String,
    timeout: Duration,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

impl Resp {
    /// A client of `addr` (`host:port`) whose calls (connecting included)
    /// take at most `timeout`; nothing connects until the first call.
    pub(crate) fn new(addr: &str, timeout: Duration) -> Resp {
        Resp {
            addr: addr.to_string(),
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends one command; its reply, or `None` when the server did not
    /// answer in time, answered an error or nonsense.
    pub(crate) async fn call(&self, args: &[&[u8]]) -> Option<Reply> {
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
        let (conn, reply) = tokio::time::timeout(self.timeout, fut).await.ok()??;
        let mut idle = self.idle.lock().await;
        if idle.len() < POOL {
            idle.push(conn);
        }
        Some(reply)
    }
}

/// A reply the demo's callers use.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `+OK` (or any simple string).
    Ok,
    /// A bulk string.
    Bulk(Vec<u8>),
    /// A nil bulk string (no such key).
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
    async fn an_unreachable_server_is_no_answer_not_an_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Resp::new(&format!("127.0.0.1:{port}"), Duration::from_millis(100));
        assert_eq!(c.call(&[b"PING"]).await, None);
    }
}
