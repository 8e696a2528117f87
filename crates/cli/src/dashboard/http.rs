//! The dashboard's HTTP side: the UI's files and the part of the platform's
//! API the run view reads (`/api/v1/runs/{id}[/live]`, `…[/live]/metrics?after=`,
//! `…/stop`, `/api/v1/export/{id}`, `/api/v1/ws`), for the one run `local`.
//!
//! There is no login, so the guards are about the browser: every response
//! carries the UI's strict Content-Security-Policy; a request whose `Host`
//! is a name other than `localhost` or the configured host is refused (DNS
//! rebinding); one whose `Origin` is another site is refused (cross-site
//! WebSocket hijacking, forged stops); and a stop must be a JSON POST, which
//! a page of another origin cannot send without a CORS preflight that this
//! server never grants.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use stampede_engine::StopReason;
use tokio::sync::broadcast::error::RecvError;

use super::{Shared, RUN_ID};

type AppState = Arc<Shared>;

/// The dashboard's routes.
pub(crate) fn router(shared: AppState, host: String) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/runs/{id}", get(index))
        .route("/ui/{*path}", get(asset))
        .route("/api/v1/runs/{id}", get(run_state))
        .route("/api/v1/runs/{id}/metrics", get(metrics))
        // The run view reads these (the server's `/runs/{id}` is its record).
        .route("/api/v1/runs/{id}/live", get(run_state))
        .route("/api/v1/runs/{id}/live/metrics", get(metrics))
        .route("/api/v1/runs/{id}/stop", post(stop))
        .route("/api/v1/export/{id}", get(export))
        .route("/api/v1/ws", get(ws))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such page") })
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let host = host.clone();
            async move { guard(&host, req, next).await }
        }))
        .with_state(shared)
}

/// The platform's error shape: `{"error": {"code", "message"}}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// The hostname of a `Host` header value (without port or brackets).
fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// Whether a request's `Host` may reach the dashboard: IP literals (DNS
/// rebinding needs a name), `localhost`, and the configured host.
fn host_allowed(host: &str, configured: &str) -> bool {
    let name = hostname(host);
    name.parse::<std::net::IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || (!configured.is_empty() && name.eq_ignore_ascii_case(configured))
}

async fn guard(configured: &str, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !host_allowed(&host, configured) {
        return with_headers(error(
            StatusCode::MISDIRECTED_REQUEST,
            "bad_host",
            "this dashboard answers only to its own address",
        ));
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let same = origin.to_str().ok().is_some_and(|o| {
            o.strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"))
                == Some(host.as_str())
        });
        if !same {
            return with_headers(error(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "requests from other sites are refused",
            ));
        }
    }
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    if api {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    with_headers(res)
}

fn with_headers(mut res: Response) -> Response {
    for (k, v) in stampede_web::assets::SECURITY_HEADERS {
        res.headers_mut().insert(*k, HeaderValue::from_static(v));
    }
    res
}

async fn index() -> Response {
    asset_response("index.html")
}

async fn asset(Path(path): Path<String>) -> Response {
    asset_response(&path)
}

fn asset_response(path: &str) -> Response {
    match stampede_web::assets::get(path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            a.bytes,
        )
            .into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "no such file"),
    }
}

/// The 404 for a run this dashboard does not serve.
fn unknown(id: &str) -> Option<Response> {
    (id != RUN_ID).then(|| {
        error(
            StatusCode::NOT_FOUND,
            "run_not_found",
            &format!("no run {id:?}: this dashboard serves the run {RUN_ID:?}"),
        )
    })
}

async fn run_state(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    if let Some(r) = unknown(&id) {
        return r;
    }
    axum::Json(s.live().state().clone()).into_response()
}

#[derive(serde::Deserialize)]
struct MetricsQuery {
    after: Option<String>,
}

async fn metrics(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> Response {
    if let Some(r) = unknown(&id) {
        return r;
    }
    let after = match q.after.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_after",
                "`after` must be an interval sequence number (0 or more)",
            )
        }
    };
    axum::Json(s.live().page(after)).into_response()
}

async fn stop(State(s): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    if let Some(r) = unknown(&id) {
        return r;
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json_required",
            "send the stop request with Content-Type: application/json",
        );
    }
    let control = s.control.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match control {
        Some(c) if s.live().state().can_stop => {
            c.stop(StopReason::Api);
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({"status": "stopping"})),
            )
                .into_response()
        }
        _ => error(
            StatusCode::CONFLICT,
            "not_running",
            "the run is not running",
        ),
    }
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    format: Option<String>,
}

async fn export(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Response {
    if let Some(r) = unknown(&id) {
        return r;
    }
    let results = s.live().results();
    let (body, ty, ext) = match q.format.as_deref().unwrap_or("html") {
        "html" => (
            stampede_output::html::render(&results),
            "text/html; charset=utf-8",
            "html",
        ),
        "json" => (results.to_json(), "application/json", "json"),
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_format",
                &format!("unknown export format {other:?} (this dashboard exports html or json)"),
            )
        }
    };
    let disposition = format!("attachment; filename=\"stampede-report.{ext}\"");
    Response::builder()
        .header(header::CONTENT_TYPE, ty)
        .header(header::CONTENT_DISPOSITION, disposition)
        .body(Body::from(body))
        .unwrap_or_else(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "export failed",
            )
        })
}

#[derive(serde::Deserialize)]
struct WsQuery {
    run: Option<String>,
}

async fn ws(
    State(s): State<AppState>,
    Query(q): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(id) = &q.run {
        if let Some(r) = unknown(id) {
            return r;
        }
    }
    upgrade.on_upgrade(move |socket| follow(socket, s))
}

/// Counts an open page for as long as it lives.
struct Client(AppState);

impl Drop for Client {
    fn drop(&mut self) {
        self.0.clients.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Relays the live messages to one page until it leaves; a page that falls
/// [`super::BACKLOG`] messages behind is closed with 1013 ("try again
/// later") and resumes through the metrics history when it reconnects.
async fn follow(mut socket: WebSocket, shared: AppState) {
    let mut rx = shared.tx.subscribe();
    shared.clients.send_modify(|n| *n += 1);
    let _client = Client(shared.clone());
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(text) => {
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    let close = CloseFrame { code: 1013, reason: "fell behind; reconnect".into() };
                    let _ = socket.send(Message::Close(Some(close))).await;
                    break;
                }
                Err(RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(host_allowed("127.0.0.1:5665", "localhost"));
        assert!(host_allowed("[::1]:5665", "localhost"));
        assert!(host_allowed("localhost:5665", "localhost"));
        assert!(host_allowed("LocalHost", ""));
        assert!(host_allowed("dash.example:5665", "dash.example"));
        assert!(!host_allowed("evil.example:5665", "localhost"));
        assert!(!host_allowed("", "localhost"));
    }
}
