//! `GET /api/v1/ws[?run_id=N]`: live run snapshots, progress and state
//! changes as JSON text messages (all runs, or one). `?run=N` is the run
//! view's feed instead: the UI's `LiveMessage`s of one run (`view.rs`).
//!
//! A subscriber first gets the run's current state (so nothing between
//! reading it and subscribing is lost, the hub is subscribed first), then
//! every message as published. One that falls behind the hub's buffer is
//! closed with code 1008 ("too slow"): it never slows the run or others.
//! Browsers send the session cookie with WebSocket handshakes, so a
//! handshake whose `Origin` is not this server's is refused (no
//! cross-site WebSocket hijacking).

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use stampede_store::RunId;
use tokio::sync::broadcast::error::RecvError;

use super::ApiQuery;
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// `?run_id=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WsQuery {
    run_id: Option<i64>,
    /// The run view's feed of one run (`LiveMessage`s, see `view.rs`).
    run: Option<i64>,
}

fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Not a browser: no ambient credentials to abuse.
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    crate::auth::same_origin(origin, host)
}

/// Upgrades to a WebSocket streaming the hub.
#[utoipa::path(
    get, path = "/api/v1/ws",
    tag = "live",
    description = "Role: viewer.",
    params(WsQuery),
    responses(
        (status = 101, description = "WebSocket: JSON text messages `state`, `progress`, `snapshot` (and with `run`, the run view's messages). A subscriber 1024 messages behind is closed with 1008."),
        (status = 403, description = "A cross-origin handshake.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn subscribe(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<WsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !same_origin(&headers) {
        return Err(AppError::forbidden("cross-origin WebSocket refused"));
    }
    if let Some(id) = q.run {
        let id = state.store.run(RunId(id)).await?.id;
        return Ok(ws.on_upgrade(move |socket| super::view::stream(state, id, socket)));
    }
    let run = match q.run_id {
        Some(id) => Some(state.store.run(RunId(id)).await?.id),
        None => None,
    };
    Ok(ws.on_upgrade(move |socket| stream(state, run, socket)))
}

async fn stream(state: Arc<AppState>, run: Option<RunId>, mut socket: WebSocket) {
    let mut rx = state.hub.subscribe();
    if let Some(id) = run {
        if let Ok(r) = state.store.run(id).await {
            let hello = json!({
                "type": "state", "run_id": r.id, "status": r.status,
                "exit_code": r.exit_code, "error": r.error,
            });
            if socket
                .send(Message::Text(hello.to_string().into()))
                .await
                .is_err()
            {
                return;
            }
        }
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(m) => {
                    if run.is_some() && m.run_id != run {
                        continue;
                    }
                    if socket.send(Message::Text(m.text.clone().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "dropping a slow WebSocket subscriber");
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1008,
                            reason: "too slow: missed messages".into(),
                        })))
                        .await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
