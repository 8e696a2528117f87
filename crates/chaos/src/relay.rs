//! The HTTP ends of the chaos relay: how a script on a `stampede worker`
//! that cannot reach a pipeline stage's agent (it listens on the server's
//! loopback) still injects and restores its faults.
//!
//! The worker starts a [`Front`] for the segment: a loopback HTTP server
//! that the script knows as `CHAOS_AGENT`. It answers nothing itself: every
//! call that passes [`check`] becomes a [`RelayCall`] handed to a forwarder
//! (in `stampede-cluster`, over Redis to the server), and the forwarder's
//! [`RelayReply`] is the answer. On the server, [`to_agent`] checks the call
//! again — a relay never trusts the other end — and sends it to the run's
//! own agent. Only the agent's control API passes (listing the targets,
//! injecting and restoring one, restoring all), with bounded bodies, so a
//! relay is no general proxy into the server's loopback. The transport in
//! between is not this crate's concern.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

/// The largest request body relayed (an inject's faults are a few hundred
/// bytes).
pub const MAX_BODY: usize = 64 * 1024;
/// The largest answer relayed back (the target list with its counters).
pub const MAX_REPLY: usize = 1024 * 1024;
/// The longest target name relayed.
const MAX_NAME: usize = 128;

/// One call of the agent's control API, as relayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayCall {
    /// `GET` or `POST`.
    pub method: String,
    /// The path (no query), e.g. `/api/v1/targets/db/inject`.
    pub path: String,
    /// The JSON body (empty for none).
    #[serde(default)]
    pub body: String,
}

/// The agent's answer (or the relay's own error), as relayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayReply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
}

impl RelayReply {
    /// An error answer in the agent's own shape (`{"error": "..."}`), so
    /// the `stampede/chaos` module shows `message` to the script.
    pub fn error(status: u16, message: impl Into<String>) -> RelayReply {
        RelayReply {
            status,
            body: serde_json::json!({ "error": message.into() }).to_string(),
        }
    }
}

/// Whether `method path` with a body of `body_len` bytes is a control call
/// a relay may forward: `GET /api/v1/targets`, `POST
/// /api/v1/targets/{name}/inject`, `POST /api/v1/targets/{name}/restore`,
/// `POST /api/v1/restore`. The answer to send back when it is not.
pub fn check(method: &str, path: &str, body_len: usize) -> Result<(), RelayReply> {
    if body_len > MAX_BODY {
        return Err(RelayReply::error(
            413,
            format!("the chaos relay forwards bodies of up to {MAX_BODY} bytes, not {body_len}"),
        ));
    }
    let allowed = match (method, path) {
        ("GET", "/api/v1/targets") | ("POST", "/api/v1/restore") => true,
        ("POST", p) => p
            .strip_prefix("/api/v1/targets/")
            .and_then(|rest| {
                rest.strip_suffix("/inject")
                    .or_else(|| rest.strip_suffix("/restore"))
            })
            .is_some_and(valid_name),
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    let mut shown: String = format!("{method} {path}").chars().take(200).collect();
    shown.retain(|c| !c.is_control());
    Err(RelayReply::error(
        403,
        format!(
            "the chaos relay forwards only the agent's control API (GET /api/v1/targets, \
             POST /api/v1/targets/{{name}}/inject or /restore, POST /api/v1/restore), not {shown}"
        ),
    ))
}

/// A target name as a path segment: 1 to 128 of letters, digits and
/// `-._~%` (percent-encoded names pass, as `encodeURIComponent` makes
/// them), never `.` or `..`.
fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
}

/// Sends a relayed call to the agent whose API listens at `agent`
/// (`host:port`), after checking it again; the agent's answer, or a 502
/// saying why there is none.
pub async fn to_agent(agent: &str, call: &RelayCall) -> RelayReply {
    if let Err(refused) = check(&call.method, &call.path, call.body.len()) {
        return refused;
    }
    let agent = agent.to_string();
    let call = call.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let body = (!call.body.is_empty()).then_some(call.body.as_str());
        crate::client::call(&agent, &call.method, &call.path, body)
    })
    .await;
    match answer {
        Ok(Ok((status, body))) if body.len() <= MAX_REPLY => RelayReply { status, body },
        Ok(Ok((_, body))) => RelayReply::error(
            502,
            format!(
                "the chaos agent's answer ({} bytes) is over the relay's limit of {MAX_REPLY}",
                body.len()
            ),
        ),
        Ok(Err(e)) => RelayReply::error(502, e),
        Err(e) => RelayReply::error(502, format!("the relayed call failed: {e}")),
    }
}

/// A future a [`Forwarder`] returns.
pub type ForwardFuture = Pin<Box<dyn Future<Output = RelayReply> + Send>>;
/// Carries a checked call to the agent and brings its answer back.
pub type Forwarder = Arc<dyn Fn(RelayCall) -> ForwardFuture + Send + Sync>;

#[derive(Clone)]
struct FrontState {
    forward: Forwarder,
    calls: Arc<AtomicU64>,
}

/// A loopback HTTP server standing in for the agent: each checked call
/// goes to its [`Forwarder`]. It stops when dropped.
pub struct Front {
    addr: SocketAddr,
    calls: Arc<AtomicU64>,
    server: JoinHandle<()>,
}

impl Front {
    /// Listens on an ephemeral loopback port and serves until dropped.
    pub async fn start(forward: Forwarder) -> std::io::Result<Front> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let calls = Arc::new(AtomicU64::new(0));
        let router = Router::new()
            .fallback(relay)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(FrontState {
                forward,
                calls: calls.clone(),
            });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Front {
            addr,
            calls,
            server,
        })
    }

    /// Where it listens (what the script gets as `CHAOS_AGENT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The calls forwarded so far (refused ones not counted).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn relay(State(st): State<FrontState>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let reply = match check(method.as_str(), path, body.len()) {
        Err(refused) => refused,
        Ok(()) => match String::from_utf8(body.to_vec()) {
            Err(_) => RelayReply::error(400, "the body is not UTF-8 JSON"),
            Ok(body) => {
                st.calls.fetch_add(1, Ordering::Relaxed);
                (st.forward)(RelayCall {
                    method: method.to_string(),
                    path: path.to_string(),
                    body,
                })
                .await
            }
        },
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        reply.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_control_api_passes() {
        for (m, p) in [
            ("GET", "/api/v1/targets"),
            ("POST", "/api/v1/restore"),
            ("POST", "/api/v1/targets/db/inject"),
            ("POST", "/api/v1/targets/db/restore"),
            ("POST", "/api/v1/targets/my%20db_1.x~/inject"),
        ] {
            assert_eq!(check(m, p, 10), Ok(()), "{m} {p}");
        }
        for (m, p) in [
            ("POST", "/api/v1/targets"),
            ("GET", "/api/v1/targets/db/inject"),
            ("DELETE", "/api/v1/restore"),
            ("POST", "/api/v1/targets//inject"),
            ("POST", "/api/v1/targets/../inject"),
            ("POST", "/api/v1/targets/a/b/inject"),
            ("POST", "/api/v1/targets/db/inject?x=1"),
            ("POST", "/api/v1/targets/db inject"),
            ("POST", "/api/v1/targets/db\r\nx: y/inject"),
            ("GET", "/api/v1/targets?all"),
            ("GET", "/metrics"),
            ("GET", "/"),
        ] {
            let e = check(m, p, 0).unwrap_err();
            assert_eq!(e.status, 403, "{m} {p}");
            assert!(
                e.body.contains("only the agent's control API"),
                "{}",
                e.body
            );
            assert!(!e.body.contains('\r'), "{}", e.body);
        }
        let long = format!("/api/v1/targets/{}/inject", "a".repeat(129));
        assert_eq!(check("POST", &long, 0).unwrap_err().status, 403);
        let e = check("POST", "/api/v1/restore", MAX_BODY + 1).unwrap_err();
        assert_eq!(e.status, 413);
    }

    #[test]
    fn calls_and_replies_round_trip_and_unknown_fields_are_refused() {
        let call = RelayCall {
            method: "POST".into(),
            path: "/api/v1/targets/db/inject".into(),
            body: r#"{"faults":{"blackhole":true}}"#.into(),
        };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(serde_json::from_str::<RelayCall>(&text).unwrap(), call);
        let reply = RelayReply::error(503, "no agent");
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<RelayReply>(&text).unwrap(), reply);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"], "no agent");
        assert!(serde_json::from_str::<RelayCall>(
            r#"{"method":"GET","path":"/api/v1/targets","host":"10.0.0.1"}"#
        )
        .is_err());
    }

    #[tokio::test]
    async fn a_front_forwards_checked_calls_and_refuses_the_rest() {
        let forward: Forwarder = Arc::new(|call: RelayCall| {
            Box::pin(async move {
                RelayReply {
                    status: 200,
                    body: serde_json::json!({"seen": format!("{} {} {}", call.method, call.path, call.body)})
                        .to_string(),
                }
            }) as ForwardFuture
        });
        let front = Front::start(forward).await.unwrap();
        let addr = front.addr().to_string();
        assert!(front.addr().ip().is_loopback());
        let a = addr.clone();
        let (ok, refused) = tokio::task::spawn_blocking(move || {
            (
                crate::client::call(&a, "POST", "/api/v1/targets/db/inject", Some("{}")),
                crate::client::call(&a, "GET", "/api/v1/secrets", None),
            )
        })
        .await
        .unwrap();
        let (status, body) = ok.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("POST /api/v1/targets/db/inject {}"), "{body}");
        let (status, body) = refused.unwrap();
        assert_eq!(status, 403, "{body}");
        assert_eq!(front.calls(), 1);
        drop(front);
        // Dropped: it stops listening (the abort lands at the next poll).
        let mut gone = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(&addr).await.is_err() {
                gone = true;
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(gone, "the front still listens after it was dropped");
    }
}
