//! A scenario's baseline run (issue 16): `GET /baselines` (every scenario's,
//! for the scenarios list), `GET|PUT|DELETE /scenarios/{id}/baseline`
//! (marking needs the editor role) and `GET /runs/{id}/compare/baseline`,
//! the run compared with its scenario's baseline — what CI calls after a
//! run (`stampede compare -b baseline RUN`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_store::{Baseline, Role, RunId, ScenarioId};

use super::exports::{compared, CompareQuery};
use super::{audit, ApiJson, ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// `PUT /scenarios/{id}/baseline`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetBaseline {
    /// The run to mark: an ended run of this scenario.
    run_id: i64,
}

/// Every scenario's baseline.
#[utoipa::path(
    get, path = "/api/v1/baselines",
    tag = "scenarios",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "The baseline of every scenario that has one.", body = super::openapi::Items<stampede_store::Baseline>),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _who: Principal,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({"items": state.store.baselines().await?})))
}

async fn baseline_of(state: &AppState, scenario: ScenarioId) -> Result<Baseline, AppError> {
    state.store.scenario(scenario).await?;
    state
        .store
        .baseline(scenario)
        .await?
        .ok_or_else(|| AppError::not_found(format!("scenario {scenario} has no baseline run")))
}

/// One scenario's baseline; 404 when none is marked.
#[utoipa::path(
    get, path = "/api/v1/scenarios/{id}/baseline",
    tag = "scenarios",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    responses(
        (status = 200, description = "The scenario's baseline run.", body = stampede_store::Baseline),
        (status = 404, description = "No such scenario, or it has no baseline run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Baseline>, AppError> {
    Ok(Json(baseline_of(&state, ScenarioId(id)).await?))
}

/// Marks a finished run of the scenario as its baseline (editors).
#[utoipa::path(
    put, path = "/api/v1/scenarios/{id}/baseline",
    tag = "scenarios",
    description = "Role: editor. Replaces any earlier baseline.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    request_body = SetBaseline,
    responses(
        (status = 200, description = "Marked.", body = stampede_store::Baseline),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such scenario or run.", body = super::openapi::ErrorBody),
        (status = 422, description = "The run is another scenario's or has not ended (`invalid`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn set(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetBaseline>,
) -> Result<Json<Baseline>, AppError> {
    who.require(Role::Editor)?;
    let b = state
        .store
        .set_baseline(ScenarioId(id), RunId(body.run_id), Some(who.id()))
        .await?;
    audit(
        &state,
        &who,
        "scenario.baseline",
        format!("scenario:{id}"),
        json!({"run_id": body.run_id}),
    )
    .await?;
    Ok(Json(b))
}

/// Unmarks the scenario's baseline (editors); 404 when none is marked.
#[utoipa::path(
    delete, path = "/api/v1/scenarios/{id}/baseline",
    tag = "scenarios",
    description = "Role: editor. The run itself stays.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    responses(
        (status = 204, description = "Unmarked."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such scenario, or it has no baseline run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn clear(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Editor)?;
    state.store.scenario(ScenarioId(id)).await?;
    if !state.store.clear_baseline(ScenarioId(id)).await? {
        return Err(AppError::not_found(format!(
            "scenario {id} has no baseline run"
        )));
    }
    audit(
        &state,
        &who,
        "scenario.baseline_clear",
        format!("scenario:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run `id` compared with its scenario's baseline, as `/runs/{a}/compare/{b}`
/// answers; 404 when the scenario has no baseline.
#[utoipa::path(
    get, path = "/api/v1/runs/{a}/compare/baseline",
    tag = "runs",
    description = "Role: viewer.",
    params(("a" = i64, Path, description = "The run compared with its scenario's baseline."), super::exports::CompareQuery),
    responses(
        (status = 200, description = "The document of `GET /runs/{a}/compare/{b}` for the scenario's baseline run (`baseline`) and this run (`current`): p50/p95/p99/error rate per endpoint and the verdict of `stampede compare`.", body = Object),
        (status = 400, description = "A negative or non-finite tolerance.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run, or its scenario has no baseline run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn compare(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<Value>, AppError> {
    let run = state.store.run(RunId(id)).await?;
    let b = baseline_of(&state, run.scenario_id).await?;
    compared(&state, b.run_id.0, id, q).await
}
