//! An httpbin-like test server.
//!
//! [`httpbin_router`] answers like httpbin.org (and k6's httpbin.test.k6.io):
//! same paths, same JSON field names and shapes (`args`, `headers`,
//! `origin`, `url`, `data`, `files`, `form`, `json`, `method`; keys sorted,
//! header names title-cased, repeated values as lists), so scripts written
//! against those work unchanged. [`TestServer`] serves it on a loopback port.
//!
//! # httpbin endpoints
//!
//! | Path | What |
//! | --- | --- |
//! | `/get`, `/post`, `/put`, `/patch`, `/delete` | echo the request (method-restricted) |
//! | `/anything`, `/anything/{*path}` | echo any method, with `method` |
//! | `/headers`, `/ip`, `/user-agent`, `/uuid` | one field each |
//! | `/status/{codes}` | that status; `200,500:3` picks by weight |
//! | `/delay/{secs}` | echo after a delay (float seconds, at most 10) |
//! | `/redirect/{n}` (`?absolute=true`), `/relative-redirect/{n}`, `/absolute-redirect/{n}` | redirect chains ending at `/get` |
//! | `/redirect-to?url=&status_code=` | one redirect anywhere |
//! | `/cookies`, `/cookies/set?k=v`, `/cookies/set/{name}/{value}`, `/cookies/delete?k` | cookie jar checks |
//! | `/basic-auth/{user}/{passwd}`, `/hidden-basic-auth/{user}/{passwd}`, `/bearer` | authentication |
//! | `/digest-auth/{qop}/{user}/{passwd}[/{algorithm}[/{stale_after}]]` | RFC 7616 digest (MD5, SHA-256, SHA-512, `-sess` variants) |
//! | `/bytes/{n}`, `/stream-bytes/{n}` (`?seed=&chunk_size=`) | random bytes, fixed length or chunked |
//! | `/stream/{n}`, `/range/{n}`, `/drip?duration=&numbytes=&delay=&code=` | streamed and ranged bodies |
//! | `/gzip`, `/deflate`, `/brotli`, `/zstd` | compressed JSON |
//! | `/json`, `/html`, `/xml`, `/robots.txt`, `/deny`, `/forms/post`, `/image`, `/image/png`, `/image/svg` | fixed documents |
//! | `/base64/{value}`, `/response-headers?k=v`, `/cache`, `/cache/{n}`, `/etag/{etag}`, `/links/{n}[/{offset}]` | the rest |
//!
//! Deviations from httpbin: `/status/1xx` sends the 1xx as an interim
//! response followed by a final empty `200` (hyper cannot send a 1xx as a
//! final response, and a real client would wait for the final one forever);
//! `/status/101` writes the bare status line and closes the connection.
//! `/bytes/{n}` allows up to 10 MiB and `/stream-bytes/{n}` up to 100 MiB
//! (httpbin: 100 KiB). `/digest-auth` also checks the user name. `/html`
//! is a shorter excerpt of the same book. `/image` only serves PNG and SVG.
//! `/zstd` is an addition.
//!
//! # Endpoints for load-tool tests (not in httpbin)
//!
//! | Path | What |
//! | --- | --- |
//! | `/reset` | reads the request, then resets the TCP connection (SO_LINGER 0, so a RST) without responding |
//! | `/close` | responds, then closes the connection (`Connection: close`) |
//! | `/hang` | never responds (for timeout tests); dropped when the server shuts down |
//! | `/slow-body?chunks=10&interval_ms=100&chunk_size=1` | headers at once, then the body dribbled chunk by chunk |
//! | `/echo` | the request body back, with the request's `Content-Type` |
//! | `/count` | `GET` reads a per-server counter, `POST` increments it, `DELETE` zeroes it |
//! | `/stats` | `{"requests": N, "connections": M}`: requests served (this one included) and connections accepted |
//! | `/ws/echo` | WebSocket echo with a few `!commands` (close with a code, ping, binary, bursts, drop); see the `ws` module |
//!
//! `/reset`, `/status/1xx` and the connection count need the connection,
//! which only [`TestServer`] provides: served by another server, `/reset`
//! answers 501.

mod auth;
mod cache;
mod cookies;
mod data;
pub(crate) mod digest;
mod documents;
mod encoding;
mod faults;
mod methods;
mod multipart;
mod redirect;
mod request;
mod status;
mod test_server;
mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post, put};
use axum::Router;
use http::{header, HeaderValue, Method, StatusCode};

use crate::server::Counters;
pub use test_server::TestServer;

/// State shared by the handlers of one server.
#[derive(Default, Debug)]
pub(crate) struct Shared {
    pub(crate) counters: Arc<Counters>,
    /// The `/count` counter.
    pub(crate) count: AtomicU64,
}

/// The httpbin router, with its own counters for `/count` and `/stats`.
pub fn httpbin_router() -> Router {
    router(Arc::new(Shared::default()))
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/get", get(methods::get))
        .route("/post", post(methods::with_body))
        .route("/put", put(methods::with_body))
        .route("/patch", patch(methods::with_body))
        .route("/delete", delete(methods::with_body))
        .route("/anything", any(methods::anything))
        .route("/anything/{*path}", any(methods::anything))
        .route("/headers", get(methods::headers))
        .route("/ip", get(methods::ip))
        .route("/user-agent", get(methods::user_agent))
        .route("/uuid", get(methods::uuid))
        .route("/delay/{secs}", any(methods::delay))
        .route("/status/{codes}", any(status::status))
        .route("/redirect/{n}", get(redirect::redirect))
        .route("/relative-redirect/{n}", get(redirect::relative))
        .route("/absolute-redirect/{n}", get(redirect::absolute))
        .route("/redirect-to", any(redirect::redirect_to))
        .route("/cookies", get(cookies::list))
        .route("/cookies/set", get(cookies::set_from_query))
        .route("/cookies/set/{name}/{value}", get(cookies::set_one))
        .route("/cookies/delete", get(cookies::delete))
        .route("/basic-auth/{user}/{passwd}", get(auth::basic))
        .route(
            "/hidden-basic-auth/{user}/{passwd}",
            get(auth::hidden_basic),
        )
        .route("/bearer", get(auth::bearer))
        .route("/digest-auth/{qop}/{user}/{passwd}", get(auth::digest))
        .route(
            "/digest-auth/{qop}/{user}/{passwd}/{algorithm}",
            get(auth::digest_with_algorithm),
        )
        .route(
            "/digest-auth/{qop}/{user}/{passwd}/{algorithm}/{stale_after}",
            get(auth::digest_with_stale_after),
        )
        .route("/bytes/{n}", get(data::bytes))
        .route("/stream-bytes/{n}", get(data::stream_bytes))
        .route("/stream/{n}", get(data::stream))
        .route("/range/{n}", get(data::range))
        .route("/drip", get(data::drip))
        .route("/base64/{value}", get(data::base64))
        .route("/links/{n}", get(data::links_start))
        .route("/links/{n}/{offset}", get(data::links))
        .route("/gzip", get(encoding::gzip))
        .route("/deflate", get(encoding::deflate))
        .route("/brotli", get(encoding::brotli))
        .route("/zstd", get(encoding::zstd))
        .route("/json", get(documents::json_doc))
        .route("/html", get(documents::html))
        .route("/xml", get(documents::xml))
        .route("/robots.txt", get(documents::robots))
        .route("/deny", get(documents::deny))
        .route("/forms/post", get(documents::forms_post))
        .route("/image", get(documents::image))
        .route("/image/png", get(documents::png))
        .route("/image/svg", get(documents::svg))
        .route("/cache", get(cache::cache))
        .route("/cache/{n}", get(cache::cache_for))
        .route("/etag/{etag}", get(cache::etag))
        .route(
            "/response-headers",
            get(cache::response_headers).post(cache::response_headers),
        )
        .route("/reset", any(faults::reset))
        .route("/close", any(faults::close))
        .route("/hang", any(faults::hang))
        .route("/slow-body", any(faults::slow_body))
        .route("/echo", any(faults::echo))
        .route(
            "/count",
            get(faults::count)
                .post(faults::increment)
                .delete(faults::zero),
        )
        .route("/stats", get(faults::stats))
        .route("/ws/echo", get(ws::echo))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            every_request,
        ))
        .with_state(shared)
        .merge(crate::grpc::grpc_router())
}

/// Counts every request and adds httpbin's CORS headers; answers CORS
/// preflight requests itself, as httpbin does.
async fn every_request(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut res = if req.method() == Method::OPTIONS {
        let mut res = StatusCode::OK.into_response();
        let h = res.headers_mut();
        h.insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, PATCH, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("3600"),
        );
        if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        res
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        origin.unwrap_or(HeaderValue::from_static("*")),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    res
}
