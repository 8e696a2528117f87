//! `POST /tasks` and `GET /tasks/{id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::auth::AuthUser;
use super::store::Kind;
use crate::demo::api::{json, ApiError, Body};
use crate::demo::DemoState;

/// Largest task payload, serialized.
const MAX_PAYLOAD: usize = 64 * 1024;

#[derive(Deserialize)]
pub(crate) struct NewTask {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    payload: Value,
}

/// `POST /tasks {type, payload?}`: 201 with the queued task.
pub(crate) async fn create(
    State(state): State<Arc<DemoState>>,
    AuthUser(user): AuthUser,
    Body(req): Body<NewTask>,
) -> Result<Response, ApiError> {
    let name = req.kind.ok_or_else(|| {
        ApiError::bad_request(format!("type is required: one of {}", Kind::NAMES))
    })?;
    let kind = Kind::parse(&name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown task type {name:?}: expected one of {}",
            Kind::NAMES
        ))
    })?;
    if req.payload.to_string().len() > MAX_PAYLOAD {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("payload must be at most {MAX_PAYLOAD} bytes"),
        ));
    }
    let task = state.tasks.tasks.create(&user.id, kind, req.payload);
    let mut res = json(StatusCode::CREATED, &task.view());
    if let Ok(location) = HeaderValue::from_str(&format!("/tasks/{}", task.id)) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// `GET /tasks/{id}`: the task if it is the caller's; 404 otherwise.
pub(crate) async fn get_one(
    State(state): State<Arc<DemoState>>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let task = state
        .tasks
        .tasks
        .get(&id)
        .filter(|t| t.owner == user.id)
        .ok_or_else(|| ApiError::not_found(format!("no task {id:?}")))?;
    Ok(json(StatusCode::OK, &task.view()))
}
