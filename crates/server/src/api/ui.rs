//! The web UI's pages: the embedded files of `stampede_web::assets`, each
//! served with the UI's strict Content-Security-Policy.
//!
//! Pages are static files (no data in them: every figure comes from the
//! JSON API, same origin, so the API's own authorization is the only one),
//! each put into the one shared head of `web/assets/layout.html` by
//! `stampede_web::assets::get`. A page asked for without a valid session redirects to
//! `/login?next=…`; the login page and the static files under `/ui/` need
//! none, they hold no data. The admin page is refused (403) to all but
//! admins, though it holds no data either: its API calls are admin-only.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use stampede_store::Role;

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// The page routes (merged at the root, beside `/api/v1`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(|| async { file("login.html") }))
        .route("/", get(|w, u| page("home.html", w, u)))
        .route("/runs/{id}", get(|w, u| page("index.html", w, u)))
        .route("/scenarios", get(|w, u| page("scenarios.html", w, u)))
        .route("/scenarios/new", get(|w, u| page("scenario.html", w, u)))
        .route("/scenarios/{id}", get(|w, u| page("scenario.html", w, u)))
        .route("/compare", get(|w, u| page("compare.html", w, u)))
        .route("/workers", get(|w, u| page("workers.html", w, u)))
        .route("/alerts", get(|w, u| page("alerts.html", w, u)))
        .route("/schedules", get(|w, u| page("schedules.html", w, u)))
        .route("/admin", get(admin_page))
        .route("/pipelines", get(|w, u| page("pipelines.html", w, u)))
        .route("/pipelines/{id}", get(|w, u| page("pipelines.html", w, u)))
        .route(
            "/ui/{*path}",
            get(|Path(p): Path<String>| async move { file(&p) }),
        )
}

/// A page for a signed-in user, else the redirect to the login page.
async fn page(name: &'static str, who: Result<Principal, AppError>, uri: Uri) -> Response {
    if who.is_ok() {
        return file(name);
    }
    let next = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let q: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/login?next={q}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    secure(res)
}

/// The admin page: admins only (others get the API's 403, not the page).
async fn admin_page(who: Result<Principal, AppError>, uri: Uri) -> Response {
    match &who {
        Ok(p) => match p.require(Role::Admin) {
            Ok(()) => file("admin.html"),
            Err(e) => secure(e.into_response()),
        },
        Err(_) => page("admin.html", who, uri).await,
    }
}

/// An embedded file with its type and the UI's security headers.
fn file(path: &str) -> Response {
    match stampede_web::assets::get(path) {
        Some(a) => secure(
            (
                [
                    (header::CONTENT_TYPE, a.content_type),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                a.bytes,
            )
                .into_response(),
        ),
        None => AppError::not_found("no such file").into_response(),
    }
}

fn secure(mut res: Response) -> Response {
    for (k, v) in stampede_web::assets::SECURITY_HEADERS {
        res.headers_mut().insert(*k, HeaderValue::from_static(v));
    }
    res
}
