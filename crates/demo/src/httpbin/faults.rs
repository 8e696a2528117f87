//! Endpoints for load-tool tests that httpbin lacks: transport faults
//! (`/reset`, `/close`, `/hang`, `/slow-body`), `/echo`, and the counters
//! (`/count`, `/stats`).

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use http::{header, HeaderValue, StatusCode, Version};
use serde_json::json;

use super::request::{json, Exchange, Head};
use super::Shared;

/// `/reset`: reads the whole request, then drops the connection with a RST
/// and no response.
pub(crate) async fn reset(ex: Exchange) -> Response {
    let Some(conn) = ex.head.conn else {
        return (
            StatusCode::NOT_IMPLEMENTED,
            "/reset needs stampede_demo::TestServer\n",
        )
            .into_response();
    };
    conn.reset();
    // The connection task drops this handler with the connection.
    std::future::pending().await
}

/// `/close`: the `/get` echo, then the connection closes.
pub(crate) async fn close(ex: Exchange) -> Response {
    let mut res = json(&ex.head.dict(&["args", "headers", "origin", "url"]));
    if matches!(ex.head.version, Version::HTTP_10 | Version::HTTP_11) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// `/hang`: never answers. The connection is dropped at once on shutdown.
pub(crate) async fn hang(head: Head) -> Response {
    let _guard = head.conn.as_ref().map(|c| c.hang_guard());
    std::future::pending().await
}

/// `/slow-body?chunks=10&interval_ms=100&chunk_size=1`: the head at once,
/// then `chunks` chunks of `chunk_size` bytes `interval_ms` apart. The total
/// length is announced in `Content-Length`.
pub(crate) async fn slow_body(head: Head) -> Response {
    let num = |name: &str, default: u64, max: u64| -> Option<u64> {
        match head.query(name) {
            None => Some(default),
            Some(v) => v.parse::<u64>().ok().filter(|v| *v <= max),
        }
    };
    let (Some(chunks), Some(interval), Some(size)) = (
        num("chunks", 10, 100_000),
        num("interval_ms", 100, 600_000),
        num("chunk_size", 1, 1024 * 1024),
    ) else {
        return (StatusCode::BAD_REQUEST, "invalid slow-body parameter\n").into_response();
    };
    let chunk = Bytes::from(vec![b'.'; size as usize]);
    let interval = Duration::from_millis(interval);
    let body = stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent == chunks {
                return None;
            }
            if sent > 0 {
                tokio::time::sleep(interval).await;
            }
            Some((Ok::<_, Infallible>(chunk), sent + 1))
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/plain".to_string()),
            (header::CONTENT_LENGTH, (chunks * size).to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `/echo`: the request body back, with the request's `Content-Type`.
pub(crate) async fn echo(ex: Exchange) -> Response {
    let content_type = ex
        .head
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    ([(header::CONTENT_TYPE, content_type)], ex.body).into_response()
}

/// `GET /count`.
pub(crate) async fn count(State(shared): State<Arc<Shared>>) -> Response {
    json(&json!({ "count": shared.count.load(Ordering::SeqCst) }))
}

/// `POST /count`: increments, returns the new value.
pub(crate) async fn increment(State(shared): State<Arc<Shared>>) -> Response {
    json(&json!({ "count": shared.count.fetch_add(1, Ordering::SeqCst) + 1 }))
}

/// `DELETE /count`: back to zero.
pub(crate) async fn zero(State(shared): State<Arc<Shared>>) -> Response {
    shared.count.store(0, Ordering::SeqCst);
    json(&json!({ "count": 0 }))
}

/// `/stats`: requests served (this one included) and connections accepted.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    json(&json!({
        "requests": shared.counters.requests.load(Ordering::Relaxed),
        "connections": shared.counters.connections.load(Ordering::Relaxed),
    }))
}
