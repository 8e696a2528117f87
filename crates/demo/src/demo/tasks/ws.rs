//! `GET /ws`: task status over WebSocket. One Tokio task per socket; each
//! subscription is a stream over the task's `watch` channel, all merged in
//! that one task, so thousands of sockets cost memory, not threads.
//!
//! Authentication: `?token=ACCESS_TOKEN`, an `Authorization: Bearer`
//! header, or a first message `{"type":"auth","token":...}` within
//! [`AUTH_TIMEOUT`] (answered `{"type":"authenticated","userId":...}`).
//! A bad token in the query or header is refused with 401 before the
//! upgrade; a bad auth message closes the socket with code 4401.
//!
//! Client messages: `{"type":"subscribe","taskId":...}` (answered at once
//! with the task's current status, then one message per change until it
//! completes or fails), `{"type":"unsubscribe","taskId":...}`,
//! `{"type":"ping"}` (answered `{"type":"pong"}`). Errors are answered
//! `{"type":"error","error":...}` (with `taskId` when about a task) and
//! leave the socket open.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, SelectAll, Stream, StreamExt};
use http::{header, HeaderMap};
use serde::Deserialize;
use serde_json::{json as json_value, Value};

use super::auth::authenticate;
use super::store::{Progress, Task};
use super::users::User;
use crate::demo::api::{bearer, Query};
use crate::demo::{ops, DemoState};

/// How long an unauthenticated socket may wait before its auth message.
pub(crate) const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Subscriptions one socket may hold at once.
const MAX_SUBSCRIPTIONS: usize = 1000;
/// Close code for a failed authentication (4000–4999 are the
/// application's).
const CLOSE_UNAUTHORIZED: u16 = 4401;

/// `GET /`: the WebSocket endpoint too (clients such as seed 004's connect
/// to the bare host), and otherwise the target's index.
pub(crate) async fn root(State(state): State<Arc<DemoState>>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let wants_ws = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_ws {
        return ops::index().await;
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let q = match Query::from_request_parts(&mut parts, &state).await {
        Ok(q) => q,
        Err(never) => match never {},
    };
    upgrade(State(state), parts.headers, q, ws).await
}

/// `GET /ws`.
pub(crate) async fn upgrade(
    State(state): State<Arc<DemoState>>,
    headers: HeaderMap,
    q: Query,
    ws: WebSocketUpgrade,
) -> Response {
    let token = q.get("token").or_else(|| bearer(&headers));
    let user = match token.map(|t| authenticate(&state, t)) {
        Some(Ok(user)) => Some(user),
        Some(Err(refused)) => return refused.into_response(),
        None => None,
    };
    ws.on_upgrade(move |socket| serve(socket, state, user))
}

/// Counts an open socket while alive.
struct Open(Arc<DemoState>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.tasks.ws_active.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default, rename = "taskId", alias = "task_id")]
    task_id: Option<Value>,
    #[serde(default)]
    token: Option<String>,
}

/// A subscription's updates, tagged with its number so a stream left over
/// from an earlier subscription to the same task is told apart.
type Updates = Pin<Box<dyn Stream<Item = (Arc<Task>, Progress, u64)> + Send>>;

/// What a socket follows: task id to subscription number.
#[derive(Default)]
struct Subscriptions {
    active: HashMap<String, u64>,
    streams: SelectAll<Updates>,
    next: u64,
}

async fn serve(mut socket: WebSocket, state: Arc<DemoState>, mut user: Option<Arc<User>>) {
    state.tasks.ws_active.fetch_add(1, Ordering::Relaxed);
    state.tasks.ws_total.fetch_add(1, Ordering::Relaxed);
    let _open = Open(state.clone());
    let mut subs = Subscriptions::default();
    let auth_deadline = tokio::time::sleep(AUTH_TIMEOUT);
    tokio::pin!(auth_deadline);
    loop {
        let reply = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    match handle(&state, &mut user, &mut subs, text.as_str()) {
                        Handled::Reply(reply) => reply,
                        Handled::Nothing => continue,
                        Handled::Close(reason) => {
                            close(&mut socket, reason).await;
                            return;
                        }
                    }
                }
                // The protocol layer queued the reply to a client's Close:
                // send it, so the client sees a clean close (not 1006).
                Some(Ok(Message::Close(_))) => {
                    let _ = futures_util::SinkExt::close(&mut socket).await;
                    return;
                }
                None | Some(Err(_)) => return,
                // Pings are answered by the protocol layer; binary is ignored.
                Some(Ok(_)) => continue,
            },
            Some((task, progress, number)) = subs.streams.next(), if !subs.streams.is_empty() => {
                if subs.active.get(&task.id) != Some(&number) {
                    continue;
                }
                if progress.status.is_final() {
                    subs.active.remove(&task.id);
                }
                status_message(&task, &progress)
            }
            _ = &mut auth_deadline, if user.is_none() => {
                close(&mut socket, "authentication timed out").await;
                return;
            }
        };
        if socket
            .send(Message::Text(reply.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}

enum Handled {
    Reply(Value),
    Nothing,
    Close(&'static str),
}

fn handle(
    state: &DemoState,
    user: &mut Option<Arc<User>>,
    subs: &mut Subscriptions,
    text: &str,
) -> Handled {
    let msg: ClientMessage = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => return error(None, &format!("invalid message: {e}")),
    };
    if msg.kind == "auth" {
        let Some(token) = msg.token.as_deref() else {
            return Handled::Close("auth message without token");
        };
        return match authenticate(state, token) {
            Ok(u) => {
                let reply = json_value!({"type": "authenticated", "userId": u.id});
                *user = Some(u);
                Handled::Reply(reply)
            }
            Err(_) => Handled::Close("invalid token"),
        };
    }
    let Some(user) = user.as_ref() else {
        return Handled::Close("authenticate first: {\"type\":\"auth\",\"token\":...}");
    };
    let task_id = match &msg.task_id {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match (msg.kind.as_str(), task_id) {
        ("ping", _) => Handled::Reply(json_value!({"type": "pong"})),
        ("subscribe", Some(id)) => {
            let task = state.tasks.tasks.get(&id).filter(|t| t.owner == user.id);
            let Some(task) = task else {
                return error(Some(&id), "task not found");
            };
            if subs.active.contains_key(&id) {
                // Already following it: the next change will come anyway,
                // but answer with the current status as an acknowledgement.
                let now = task.state.borrow().clone();
                return Handled::Reply(status_message(&task, &now));
            }
            if subs.active.len() >= MAX_SUBSCRIPTIONS {
                return error(Some(&id), "too many subscriptions on this connection");
            }
            subs.next += 1;
            subs.active.insert(id, subs.next);
            subs.streams.push(follow(task, subs.next));
            Handled::Nothing
        }
        ("unsubscribe", Some(id)) => {
            // Its stream runs on until the task ends, unreported.
            subs.active.remove(&id);
            Handled::Reply(json_value!({"type": "unsubscribed", "taskId": id}))
        }
        ("subscribe" | "unsubscribe", None) => error(None, "taskId is required"),
        (other, _) => error(None, &format!("unknown message type {other:?}")),
    }
}

/// The task's current state, then every change until a final one.
fn follow(task: Arc<Task>, number: u64) -> Updates {
    let rx = task.state.subscribe();
    Box::pin(stream::unfold(
        Some((task, rx, true)),
        move |state| async move {
            let (task, mut rx, first) = state?;
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let progress = rx.borrow_and_update().clone();
            let next = (!progress.status.is_final()).then(|| (task.clone(), rx, false));
            Some(((task, progress, number), next))
        },
    ))
}

fn status_message(task: &Task, p: &Progress) -> Value {
    let mut m = json_value!({
        "type": "status",
        "taskId": task.id,
        "taskType": task.kind,
        "status": p.status,
        "progress": p.progress,
        "updatedAt": p.updated_at,
    });
    if let Some(result) = &p.result {
        m["result"] = (**result).clone();
    }
    if let Some(error) = p.error {
        m["error"] = error.into();
    }
    m
}

fn error(task_id: Option<&str>, message: &str) -> Handled {
    let mut m = json_value!({"type": "error", "error": message});
    if let Some(id) = task_id {
        m["taskId"] = id.into();
    }
    Handled::Reply(m)
}

async fn close(socket: &mut WebSocket, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_UNAUTHORIZED,
            reason: reason.into(),
        })))
        .await;
}
