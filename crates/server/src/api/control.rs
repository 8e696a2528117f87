//! `PATCH /api/v1/runs/{id}` `{"vus": N}`: changes the VUs of a running
//! run's externally-controlled scenario, as k6's REST API `PATCH
//! /v1/status` does for `k6 run` (issue 16: Locust's "change users
//! mid-run"). Editors and admins; the orchestrator checks the run is in
//! flight with such a scenario and forwards the change to its segment.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_store::{Role, RunId};

use super::{audit, ApiJson, ApiPath};
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// The VUs wanted.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchRun {
    /// The VUs to run: at most the scenario's `maxVUs`.
    vus: u64,
}

/// Changes a running run's VUs.
#[utoipa::path(
    patch, path = "/api/v1/runs/{id}",
    tag = "runs",
    description = "Role: editor.",
    params(("id" = i64, Path, description = "The run's id.")),
    request_body = PatchRun,
    responses(
        (status = 200, description = "Sent to the run's segment.", body = super::openapi::VusChanged),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
        (status = 409, description = "The run is not in flight, has no externally-controlled scenario running, or is split over several workers.", body = super::openapi::ErrorBody),
        (status = 422, description = "More VUs than the scenario's `maxVUs` (`invalid_vus`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn patch(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchRun>,
) -> Result<Json<Value>, AppError> {
    who.require(Role::Editor)?;
    state.store.run(RunId(id)).await?;
    state.orchestrator.scale(RunId(id), body.vus)?;
    audit(
        &state,
        &who,
        "run.scale",
        format!("run:{id}"),
        json!({"vus": body.vus}),
    )
    .await?;
    Ok(Json(json!({"id": id, "vus": body.vus})))
}
