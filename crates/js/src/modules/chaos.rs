//! `stampede/chaos`, native part: one blocking HTTP/1.1 call to a chaos
//! agent's control API (see `docs/chaos.md`). The JavaScript part
//! (`js/chaos.js`) builds the requests and the phase scenarios.
//!
//! Blocking on purpose: scripts call it a few times per test, at phase
//! boundaries, against an agent on loopback, and the call stays out of the
//! HTTP client so control traffic never shows up in `http_reqs` or the
//! phases' thresholds. Every step has a time limit, so a dead agent costs
//! a VU at most that long, and the error says which agent failed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::time::Duration;

use rquickjs::{Ctx, Exception, Object, Result};
use stampede_config::K6Duration;

use super::set_fn;
use crate::state::VuState;

/// Time limit of connecting, sending and reading the answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends one request; returns `(status, body)` or why it failed.
fn call(
    address: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::result::Result<(u16, String), String> {
    let addr = address
        .to_socket_addrs()
        .map_err(|e| format!("bad chaos agent address {address:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("chaos agent address {address:?} resolves to nothing"))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot reach the chaos agent at {address}: {e}"))?;
    let _ = s.set_read_timeout(Some(TIMEOUT));
    let _ = s.set_write_timeout(Some(TIMEOUT));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("cannot send to the chaos agent at {address}: {e}"))?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)
        .map_err(|e| format!("no answer from the chaos agent at {address}: {e}"))?;
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("the chaos agent at {address} sent a malformed answer"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the chaos agent at {address} sent no status"))?;
    Ok((status, body.to_string()))
}

/// Builds the native part of `stampede/chaos`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, _state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    set_fn(
        &obj,
        "request",
        |ctx: Ctx<'js>,
         address: String,
         method: String,
         path: String,
         body: String|
         -> Result<Object<'js>> {
            let (status, text) = call(&address, &method, &path, &body)
                .map_err(|e| Exception::throw_message(&ctx, &e))?;
            let out = Object::new(ctx.clone())?;
            out.set("status", status)?;
            out.set("body", text)?;
            Ok(out)
        },
    )?;
    set_fn(&obj, "millis", |ctx: Ctx<'js>, d: String| -> Result<f64> {
        millis(&d).map_err(|e| Exception::throw_type(&ctx, &e))
    })?;
    Ok(obj)
}

/// A duration string in whole milliseconds, parsed by the one k6 duration
/// parser in `config`; negative values are refused.
fn millis(d: &str) -> std::result::Result<f64, String> {
    let bad = |why: String| format!("invalid duration {d:?}: {why} (use e.g. 500ms, 30s, 2m)");
    let parsed = K6Duration::parse(d.trim()).map_err(|e| bad(e.to_string()))?;
    if parsed.is_negative() {
        return Err(bad("must not be negative".into()));
    }
    Ok((parsed.as_nanos() as f64 / 1e6).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_k6_parser() {
        assert_eq!(millis("1m30s"), Ok(90_000.0));
        assert_eq!(millis(" 500ms "), Ok(500.0));
        assert_eq!(millis("1d"), Ok(86_400_000.0));
        assert_eq!(millis("1.5"), Ok(2.0));
        assert_eq!(millis("250"), Ok(250.0));
        assert!(millis("-1s").unwrap_err().contains("negative"));
        assert!(millis("abc")
            .unwrap_err()
            .contains("invalid duration \"abc\""));
    }

    #[test]
    fn reports_an_unreachable_agent() {
        // A port nobody listens on: bind, learn it, drop.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = call(&format!("127.0.0.1:{port}"), "GET", "/", "").unwrap_err();
        assert!(e.contains("cannot reach the chaos agent"), "{e}");
    }

    #[test]
    fn reads_status_and_body() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("POST /api/v1/restore HTTP/1.1"));
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                .unwrap();
        });
        assert_eq!(
            call(&addr, "POST", "/api/v1/restore", "").unwrap(),
            (200, "{}".into())
        );
        server.join().unwrap();
    }
}
