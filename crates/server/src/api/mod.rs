//! The HTTP surface: the router with every route of PLATFORM.md's API
//! contract, and the layers around it (body limit, rate limit, security
//! headers, request metrics and logs).
//!
//! Handlers live in one file per resource and stay thin: extract,
//! authorize (`Principal::require`), call the store or the orchestrator,
//! map the error.

mod admin;
mod alerts;
mod auth;
mod baseline;
mod control;
mod dashboard;
pub(crate) mod exports;
pub mod limit;
pub mod openapi;
mod ops;
mod pipelines;
mod runs;
pub(crate) mod scenarios;
mod schedules;
mod ui;
mod users;
pub mod view;
mod ws;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use stampede_store::{NewAudit, Page};

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// `Json` whose rejections are [`AppError`]s (400 syntax, 422 unknown or
/// mistyped fields, 413 too large, 415 wrong content type).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `Path` whose rejections are [`AppError`]s (400).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejections are [`AppError`]s (400, unknown parameters too).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `?limit=&offset=` of list endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u32>,
    /// Items to skip.
    pub offset: Option<u64>,
}

impl PageQuery {
    /// The store's page.
    pub fn page(&self) -> Page {
        let d = Page::default();
        Page::new(
            self.limit.unwrap_or(d.limit).clamp(1, Page::MAX_LIMIT),
            self.offset.unwrap_or(0),
        )
    }
}

/// Records a write in the audit log.
pub async fn audit(
    state: &AppState,
    who: &Principal,
    action: &str,
    target: String,
    details: serde_json::Value,
) -> Result<(), AppError> {
    state
        .store
        .record_audit(&NewAudit {
            user_id: Some(who.id()),
            token_id: who.token_id,
            action: action.into(),
            target,
            remote_addr: who.remote_addr.clone(),
            details,
        })
        .await?;
    Ok(())
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/users", post(users::create).get(users::list))
        .route(
            "/users/{id}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/users/{id}/tokens", get(admin::user_tokens))
        .route("/settings", get(admin::settings))
        .route("/tokens", post(users::create_token).get(users::list_tokens))
        .route("/tokens/{id}", axum::routing::delete(users::revoke_token))
        .route("/scenarios", post(scenarios::create).get(scenarios::list))
        .route(
            "/scenarios/{id}",
            get(scenarios::get)
                .put(scenarios::update)
                .delete(scenarios::delete),
        )
        .route("/scenarios/{id}/start", post(scenarios::start))
        .route("/scenarios/parse", post(scenarios::parse))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(runs::get).patch(control::patch))
        .route("/runs/{id}/stop", post(runs::stop))
        .route("/runs/{id}/abort", post(runs::abort))
        .route("/runs/{id}/metrics", get(runs::metrics))
        .route("/runs/{id}/live", get(view::run_state))
        .route("/runs/{id}/live/metrics", get(view::metrics))
        .route("/scenarios/{id}/versions", get(dashboard::versions))
        .route("/scenarios/{id}/versions/{v}", get(dashboard::version))
        .route("/dashboard", get(dashboard::get))
        .route("/runs/{a}/compare/{b}", get(exports::compare))
        .merge(baseline_routes())
        .route("/export/{id}", get(exports::export))
        .route("/workers", get(ops::workers))
        .route("/audit", get(users::audit_log))
        .merge(platform_routes())
        .merge(pipelines::routes())
        .route("/ws", get(ws::subscribe))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { AppError::not_found("no such API endpoint") });
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(ui::routes())
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), around))
        .with_state(state)
}

/// Baselines of scenarios (issue 16).
fn baseline_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/baselines", get(baseline::list))
        .route(
            "/scenarios/{id}/baseline",
            get(baseline::get)
                .put(baseline::set)
                .delete(baseline::clear),
        )
        .route("/runs/{a}/compare/baseline", get(baseline::compare))
}

/// Alerts, alert rules, channels and schedules (issue 17).
fn platform_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::get))
        .route("/alerts/{id}/ack", post(alerts::ack))
        .route(
            "/alert-rules",
            get(alerts::list_rules).post(alerts::create_rule),
        )
        .route(
            "/alert-rules/{id}",
            get(alerts::get_rule)
                .put(alerts::update_rule)
                .delete(alerts::delete_rule),
        )
        .route(
            "/alert-channels",
            get(alerts::list_channels).post(alerts::create_channel),
        )
        .route(
            "/alert-channels/{id}",
            axum::routing::put(alerts::update_channel).delete(alerts::delete_channel),
        )
        .route("/alert-channels/{id}/test", post(alerts::test_channel))
        .route("/schedules", get(schedules::list).post(schedules::create))
        .route("/schedules/preview", post(schedules::preview))
        .route(
            "/schedules/{id}",
            get(schedules::get)
                .put(schedules::update)
                .delete(schedules::delete),
        )
}

/// The caller's rate-limit key: its bearer credential, else its address.
fn limit_key(req: &Request) -> String {
    if let Some(auth) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return format!("cred:{}", crate::auth::crypto::token_hash(auth));
    }
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| format!("addr:{}", c.0.ip()))
        .unwrap_or_else(|| "addr:unknown".into())
}

/// Rate limit, metrics, logs and security headers around every request.
async fn around(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let limited = path.starts_with("/api/") && path != "/api/v1/auth/login" && path != "/api/v1/ws";
    let mut res = if limited {
        match state.rate_limit.take(&limit_key(&req), started) {
            Ok(()) => next.run(req).await,
            Err(wait) => AppError::too_many("rate limit exceeded", wait).into_response(),
        }
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    // UI pages set their own (`stampede_web::assets::SECURITY_HEADERS`).
    if !h.contains_key("content-security-policy") {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    // Only answers that declare themselves public may be cached (the
    // OpenAPI document).
    let public = h
        .get(header::CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes().starts_with(b"public"));
    if !public {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let secs = started.elapsed().as_secs_f64();
    state
        .metrics
        .observe_request(&method, res.status().as_u16(), secs);
    tracing::info!(%method, %path, status = res.status().as_u16(), ms = secs * 1000.0, "request");
    res
}
