//! What the admin pages read besides users (issue 16): `GET /settings`, the
//! server's settings that are flags of `stampede server` and not stored
//! (allowed targets, rate limit, body limit, retention) — read-only, each
//! with the flag that sets it — and `GET /users/{id}/tokens`, another
//! user's API tokens (never their secrets). Admins only.
//!
//! Quotas are per user and stored: they are changed with
//! `PATCH /users/{id}` like the role.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use stampede_store::{ApiToken, Role, UserId};

use super::ApiPath;
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

const DAY: u64 = 24 * 3600;

/// The server's flag-configured settings, with where each is set.
#[utoipa::path(
    get, path = "/api/v1/settings",
    tag = "ops",
    description = "Role: admin. Read-only: each is a flag of `stampede server`.",
    responses(
        (status = 200, description = "Each setting's value and what sets it.", body = super::openapi::Settings),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
    )
)]
pub async fn settings(
    State(state): State<Arc<AppState>>,
    who: Principal,
) -> Result<Json<Value>, AppError> {
    who.require(Role::Admin)?;
    let c = &state.config;
    let r = &c.platform.retention;
    Ok(Json(json!({
        "allow_targets": {
            "value": c.allow_targets,
            "set_by": "stampede server --allow-target CIDR (repeatable; default loopback only)",
        },
        "rate_limit_per_sec": {
            "value": c.rate_limit_per_sec,
            "set_by": "stampede server --rate-limit N (0: no limit)",
        },
        "max_body_bytes": {
            "value": c.max_body_bytes,
            "set_by": "stampede server --max-body BYTES",
        },
        "retention_days": {
            "value": {
                "metrics": r.metrics.as_secs() / DAY,
                "alerts": r.alerts.as_secs() / DAY,
                "reports": r.reports.as_secs() / DAY,
            },
            "set_by": "stampede server --retention-metrics-days, --retention-alerts-days, --retention-reports-days",
        },
        "workers": {
            "value": if c.redis.is_some() { "redis" } else { "local processes" },
            "set_by": "stampede server --redis URL (STAMPEDE_REDIS_URL)",
        },
        "quotas": {
            "value": "per user",
            "set_by": "PATCH /api/v1/users/{id} {\"quotas\": …} (the Users page)",
        },
    })))
}

/// A user's API tokens (admins).
#[utoipa::path(
    get, path = "/api/v1/users/{id}/tokens",
    tag = "users",
    description = "Role: admin.",
    params(("id" = i64, Path, description = "The user's id.")),
    responses(
        (status = 200, description = "The user's tokens (never their secrets).", body = Vec<stampede_store::ApiToken>),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such user.", body = super::openapi::ErrorBody),
    )
)]
pub async fn user_tokens(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<ApiToken>>, AppError> {
    who.require(Role::Admin)?;
    state.store.user(UserId(id)).await?;
    Ok(Json(state.store.list_tokens(UserId(id)).await?))
}
