//! The agent's HTTP control API, which `stampede chaos`, scripts (the
//! `stampede/chaos` module) and people with curl use to switch faults at
//! run time:
//!
//! | request | does |
//! | --- | --- |
//! | `GET /api/v1/targets` | every target with its state, faults and counters |
//! | `POST /api/v1/targets/{name}/inject` | applies `{"faults": {...}, "duration_ms": N}` (both optional) |
//! | `POST /api/v1/targets/{name}/restore` | undoes the target's fault |
//! | `POST /api/v1/restore` | undoes every fault; 500 listing the failures |
//!
//! Bad input is a 4xx with a message; a failed restore is a 500 that says
//! which target failed and why.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::agent::{Agent, AgentError};
use crate::faults::Faults;

/// The body of an inject request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectRequest {
    /// A proxy's faults (absent for process faults).
    #[serde(default)]
    pub faults: Option<Faults>,
    /// Restore by itself after this many milliseconds.
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

/// The API's routes over `agent`.
pub fn router(agent: Agent) -> Router {
    Router::new()
        .route("/api/v1/targets", get(list))
        .route("/api/v1/targets/{name}/inject", post(inject))
        .route("/api/v1/targets/{name}/restore", post(restore))
        .route("/api/v1/restore", post(restore_all))
        .with_state(agent)
}

struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<AgentError> for ApiError {
    fn from(e: AgentError) -> Self {
        let status = match e {
            AgentError::Unknown(_) => StatusCode::NOT_FOUND,
            AgentError::Duplicate(_) | AgentError::NotAProxy(_) | AgentError::Faults(_) => {
                StatusCode::BAD_REQUEST
            }
            AgentError::Process { .. } | AgentError::Listen { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError(status, e.to_string())
    }
}

async fn list(State(agent): State<Agent>) -> Json<serde_json::Value> {
    Json(json!({ "targets": agent.states().await }))
}

async fn inject(
    State(agent): State<Agent>,
    Path(name): Path<String>,
    body: Option<Json<InjectRequest>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let duration = req.duration_ms.map(Duration::from_millis);
    agent.inject(&name, req.faults, duration).await?;
    Ok(Json(json!({ "injected": name })))
}

async fn restore(
    State(agent): State<Agent>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    agent.restore(&name).await?;
    Ok(Json(json!({ "restored": name })))
}

async fn restore_all(State(agent): State<Agent>) -> Result<Json<serde_json::Value>, ApiError> {
    let failures = agent.restore_all().await;
    if failures.is_empty() {
        return Ok(Json(json!({ "restored": "all" })));
    }
    let msg: Vec<String> = failures.iter().map(ToString::to_string).collect();
    Err(ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("restore failed: {}", msg.join("; ")),
    ))
}
