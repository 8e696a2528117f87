//! Operations endpoints: `/healthz` (alive), `/readyz` (the store
//! answers, and Redis with the Redis transport), `/metrics` (Prometheus text) and `GET /api/v1/workers`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use stampede_store::{Page, RunFilter, RunStatus};

use crate::auth::Principal;
use crate::error::AppError;
use crate::metrics::Gauges;
use crate::state::AppState;

/// Liveness.
#[utoipa::path(
    get, path = "/healthz",
    tag = "ops",
    description = "Role: none (public).",
    security(()),
    responses(
        (status = 200, description = "Alive.", body = super::openapi::Health),
    )
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

fn not_ready(message: String) -> AppError {
    let mut err = AppError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message);
    err.retry_after = Some(1);
    err
}

/// Readiness: the store answers (and Redis, with the Redis transport).
#[utoipa::path(
    get, path = "/readyz",
    tag = "ops",
    description = "Role: none (public).",
    security(()),
    responses(
        (status = 200, description = "Ready: the store (and Redis, with workers) answer.", body = super::openapi::Health),
        (status = 503, description = "Not ready.", body = super::openapi::ErrorBody),
    )
)]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Value>, AppError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| not_ready(e.to_string()))?;
    if let Some(fleet) = state.orchestrator.transport().fleet() {
        fleet.await.map_err(|e| not_ready(e.to_string()))?;
        return Ok(Json(
            json!({"status": "ready", "store": "ok", "redis": "ok"}),
        ));
    }
    Ok(Json(json!({"status": "ready", "store": "ok"})))
}

/// Prometheus exposition.
#[utoipa::path(
    get, path = "/metrics",
    tag = "ops",
    description = "Role: none (public).",
    security(()),
    responses(
        (status = 200, description = "Prometheus text: `loadtest_*` and the server's own metrics.", content_type = "text/plain", body = String),
    )
)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let mut runs_by_state = Vec::new();
    let mut queue_depth = 0;
    for s in RunStatus::ALL {
        let filter = RunFilter {
            statuses: vec![*s],
            ..Default::default()
        };
        let n = state.store.list_runs(&filter, Page::new(1, 0)).await?.total;
        if *s == RunStatus::Queued {
            queue_depth = n;
        }
        runs_by_state.push((s.as_str(), n));
    }
    let (active_workers, lease_queue_depth) = match state.orchestrator.transport().fleet() {
        Some(fleet) => match fleet.await {
            Ok(f) => (f.workers.len() as u64, Some(f.queue_depth)),
            Err(_) => (0, None),
        },
        None => (state.orchestrator.live_count() as u64, None),
    };
    let mut text = state.metrics.render(&Gauges {
        runs_by_state,
        queue_depth,
        active_workers,
        ws_subscribers: state.hub.subscribers() as u64,
    });
    if let Some(depth) = lease_queue_depth {
        text.push_str(&format!(
            "# HELP loadtest_lease_queue_depth Segments waiting for a worker.\n# TYPE loadtest_lease_queue_depth gauge\nloadtest_lease_queue_depth {depth}\n"
        ));
    }
    text.push_str(&state.alerting.prometheus().await?);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}

/// The workers: the live Redis workers (state, capacity, load, heartbeat
/// age), or for the in-process transport this server itself.
#[utoipa::path(
    get, path = "/api/v1/workers",
    tag = "ops",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "The workers.", body = super::openapi::Workers),
        (status = 503, description = "Redis does not answer.", body = super::openapi::ErrorBody),
    )
)]
pub async fn workers(
    State(state): State<Arc<AppState>>,
    _who: Principal,
) -> Result<Json<Value>, AppError> {
    if let Some(fleet) = state.orchestrator.transport().fleet() {
        let f = fleet
            .await
            .map_err(|e| not_ready(format!("cannot list the workers: {e}")))?;
        return Ok(Json(
            json!({"items": f.workers, "queue_depth": f.queue_depth}),
        ));
    }
    Ok(Json(json!({"items": [{
        "id": "local",
        "transport": state.orchestrator.transport_name(),
        "state": "online",
        "active_segments": state.orchestrator.live_count(),
    }]})))
}
