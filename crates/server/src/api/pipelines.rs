//! Pipelines (issue 18): start one from its YAML (editors), list and read
//! them with their stages' state, stop one, and download its report as
//! HTML, JSON or JUnit XML (the pipeline crate's own report code, over the
//! stored report).
//!
//! The work itself — checking, scheduling stages as runs, gating, storing
//! the verdict — is `crate::pipelines`; these handlers authorize, audit and
//! shape the answers.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use stampede_pipeline::PipelineReport;
use stampede_store::{Paged, PipelineStatus, Role, StoredPipeline};

use super::{audit, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::pipelines::PipelineRequest;
use crate::state::AppState;

/// The pipelines' routes, under `/api/v1`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/pipelines", post(create).get(list))
        .route("/pipelines/{id}", get(get_one))
        .route("/pipelines/{id}/stop", post(stop))
        .route("/pipelines/{id}/{file}", get(report))
}

/// A pipeline as the API answers it: the stored record, without the
/// request's internals, with the decision tree, breaking point and
/// recovery time lifted from its report.
fn pipeline_json(p: &StoredPipeline) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    let report = p.report.clone().unwrap_or(Value::Null);
    let stages = report["stages"].as_array().cloned().unwrap_or_default();
    let find = |key: &str| {
        stages
            .iter()
            .find(|s| !s["findings"][key].is_null())
            .map(|s| json!({"stage": s["name"], key: s["findings"][key]}))
            .unwrap_or(Value::Null)
    };
    v["decisions"] = report["decisions"].clone();
    v["breaking_point"] = find("breaking_point");
    v["recovery"] = find("recovery");
    v["passed"] = report["passed"].clone();
    v
}

/// Checks and starts a pipeline (editors); 422 with every problem and its
/// line when the file or a script is invalid — nothing has started then.
#[utoipa::path(
    post, path = "/api/v1/pipelines",
    tag = "pipelines",
    description = "Role: editor. Inline scripts are kept as scenarios (a changed one as a new version of its scenario, which needs its owner or an admin).",
    request_body = crate::pipelines::PipelineRequest,
    responses(
        (status = 201, description = "Checked and started (`running`).", body = super::openapi::PipelineView),
        (status = 403, description = "The role is not enough, or an inline script would change another user's scenario.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid pipeline file or script, an unknown scenario, or a chaos upstream outside the allowed targets (`invalid_pipeline`, each problem with its line in `details`); nothing has started.", body = super::openapi::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(req): ApiJson<PipelineRequest>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    who.require(Role::Editor)?;
    let p = crate::pipelines::start(&state, &who, &req).await?;
    audit(
        &state,
        &who,
        "pipeline.start",
        format!("pipeline:{}", p.id),
        json!({"name": p.name}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(pipeline_json(&p))))
}

/// Pipelines, newest first.
#[utoipa::path(
    get, path = "/api/v1/pipelines",
    tag = "pipelines",
    description = "Role: viewer.",
    params(super::PageQuery),
    responses(
        (status = 200, description = "A page of pipelines, newest first.", body = stampede_store::Paged<super::openapi::PipelineView>),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Paged<Value>>, AppError> {
    let page = state.store.list_pipelines(q.page()).await?;
    Ok(Json(Paged {
        items: page.items.iter().map(pipeline_json).collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// One pipeline with its stages.
#[utoipa::path(
    get, path = "/api/v1/pipelines/{id}",
    tag = "pipelines",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The pipeline's id.")),
    responses(
        (status = 200, description = "The pipeline with its stages' state.", body = super::openapi::PipelineView),
        (status = 404, description = "No such pipeline.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(pipeline_json(&state.store.pipeline(id).await?)))
}

/// Stops a running pipeline (who started it, or an admin): running stages
/// stop gracefully, the rest are skipped.
#[utoipa::path(
    post, path = "/api/v1/pipelines/{id}/stop",
    tag = "pipelines",
    description = "Role: editor who started the pipeline, or admin.",
    params(("id" = i64, Path, description = "The pipeline's id.")),
    responses(
        (status = 202, description = "Stopping: running stages stop gracefully, the rest are skipped."),
        (status = 403, description = "The role is not enough, or another user started the pipeline.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such pipeline.", body = super::openapi::ErrorBody),
        (status = 409, description = "The pipeline has ended or is not running on this server.", body = super::openapi::ErrorBody),
    )
)]
pub async fn stop(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Editor)?;
    let p = state.store.pipeline(id).await?;
    if who.user.role != Role::Admin && p.user_id != Some(who.id()) {
        return Err(AppError::forbidden(
            "this pipeline was started by another user",
        ));
    }
    if p.status != PipelineStatus::Running {
        return Err(AppError::conflict(format!(
            "the pipeline has already ended ({})",
            p.status
        )));
    }
    if !state.pipelines.stop(id) {
        return Err(AppError::conflict(
            "the pipeline is not running on this server",
        ));
    }
    audit(
        &state,
        &who,
        "pipeline.stop",
        format!("pipeline:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}

/// `report.html`, `report.json` or `report.xml` (JUnit) of an ended pipeline.
#[utoipa::path(
    get, path = "/api/v1/pipelines/{id}/{file}",
    tag = "pipelines",
    description = "Role: viewer.",
    params(
        ("id" = i64, Path, description = "The pipeline's id."),
        ("file" = String, Path, description = "`report.html`, `report.json` or `report.xml` (JUnit)."),
    ),
    responses(
        (status = 200, description = "The report as an attachment: JSON, self-contained HTML or JUnit XML.", content(
            (Object = "application/json"), (String = "text/html"), (String = "application/xml"),
        )),
        (status = 404, description = "No such pipeline, or a file other than the three reports.", body = super::openapi::ErrorBody),
        (status = 409, description = "No report yet: the pipeline is still running or was interrupted.", body = super::openapi::ErrorBody),
    )
)]
pub async fn report(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath((id, file)): ApiPath<(i64, String)>,
) -> Result<Response, AppError> {
    let (content_type, render): (&str, fn(&PipelineReport) -> String) = match file.as_str() {
        "report.html" => ("text/html; charset=utf-8", stampede_pipeline::report::html),
        "report.json" => ("application/json", stampede_pipeline::report::json),
        "report.xml" => (
            "application/xml; charset=utf-8",
            stampede_pipeline::report::junit,
        ),
        _ => {
            return Err(AppError::not_found(
                "no such pipeline resource: report.html, report.json or report.xml",
            ))
        }
    };
    let p = state.store.pipeline(id).await?;
    let Some(stored) = p.report else {
        return Err(AppError::conflict(
            "the pipeline has no report yet: it is still running or was interrupted",
        ));
    };
    let report: PipelineReport = serde_json::from_value(stored).map_err(AppError::internal)?;
    let body = render(&report);
    // Downloads, as the run exports are (the API's CSP forbids styles).
    let ext = file.trim_start_matches("report.");
    let disposition = format!("attachment; filename=\"stampede-pipeline-{id}.{ext}\"");
    let res = (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response();
    Ok(res)
}
