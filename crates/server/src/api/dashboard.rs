//! Read-only endpoints for the UI's pages: `GET /api/v1/dashboard` (the
//! home page: runs in flight with their recent points, recent runs with
//! their verdicts, workers) and a scenario's saved versions
//! (`GET /api/v1/scenarios/{id}/versions[/{v}]`, for the history diff).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use stampede_store::{Page, Run, RunFilter, RunStatus, ScenarioId};

use super::ApiPath;
use crate::auth::Principal;
use crate::error::AppError;
use crate::scenario_files;
use crate::state::AppState;

/// Points of a running run's mini-chart (one a second).
const SPARK_POINTS: u64 = 60;

/// The scenario names of `runs`.
async fn names(state: &AppState, runs: &[Run]) -> HashMap<ScenarioId, String> {
    let mut out = HashMap::new();
    for r in runs {
        if out.contains_key(&r.scenario_id) {
            continue;
        }
        let name = match state.store.scenario(r.scenario_id).await {
            Ok(s) => s.name,
            Err(_) => format!("scenario {} (deleted)", r.scenario_id),
        };
        out.insert(r.scenario_id, name);
    }
    out
}

fn brief(run: &Run, names: &HashMap<ScenarioId, String>) -> Value {
    let full = serde_json::to_value(run).unwrap_or_default();
    json!({
        "id": run.id,
        "scenario_id": run.scenario_id,
        "scenario": names.get(&run.scenario_id),
        "status": run.status,
        "exit_code": run.exit_code,
        "error": run.error,
        "created_at": full["created_at"],
        "started_at": full["started_at"],
        "ended_at": full["ended_at"],
    })
}

async fn runs(
    state: &AppState,
    statuses: Vec<RunStatus>,
    limit: u32,
) -> Result<Vec<Run>, AppError> {
    let filter = RunFilter {
        statuses,
        ..RunFilter::default()
    };
    Ok(state
        .store
        .list_runs(&filter, Page::new(limit, 0))
        .await?
        .items)
}

/// The home page's data.
#[utoipa::path(
    get, path = "/api/v1/dashboard",
    tag = "runs",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "The home page's summary: live runs with their recent points and totals, recent runs, workers, counts.", body = Object),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    who: Principal,
) -> Result<Json<Value>, AppError> {
    let active = runs(
        &state,
        vec![
            RunStatus::Queued,
            RunStatus::Starting,
            RunStatus::Running,
            RunStatus::Finishing,
        ],
        20,
    )
    .await?;
    let recent = runs(
        &state,
        vec![
            RunStatus::Passed,
            RunStatus::Failed,
            RunStatus::Aborted,
            RunStatus::Errored,
        ],
        10,
    )
    .await?;
    let all: Vec<Run> = active.iter().chain(&recent).cloned().collect();
    let names = names(&state, &all).await;
    let mut running = Vec::new();
    for r in &active {
        let mut v = brief(r, &names);
        let live = state.views.state(&state, r.id).await?;
        let after = live.last_seq.and_then(|s| s.checked_sub(SPARK_POINTS));
        let (live, page) = state.views.page(&state, r.id, after).await?;
        v["points"] = json!(page
            .points
            .iter()
            .map(|p| json!({"t": p.t, "rps": p.rps, "p95": p.latency.map(|l| l.p95), "vus": p.vus}))
            .collect::<Vec<_>>());
        v["totals"] = json!({
            "requests": live.totals.requests,
            "rps": live.totals.rps,
            "error_rate": live.totals.error_rate,
        });
        v["elapsed_s"] = json!(live.elapsed_s);
        running.push(v);
    }
    let workers = super::ops::workers(State(state.clone()), who).await?.0;
    Ok(Json(json!({
        "running": running,
        "recent": recent.iter().map(|r| brief(r, &names)).collect::<Vec<_>>(),
        "workers": workers.get("items").cloned().unwrap_or(json!([])),
    })))
}

/// A scenario's versions, newest first (without their files).
#[utoipa::path(
    get, path = "/api/v1/scenarios/{id}/versions",
    tag = "scenarios",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    responses(
        (status = 200, description = "`{\"scenario_id\", \"items\"}`: the scenario's versions, newest first.", body = Object),
        (status = 404, description = "No such scenario.", body = super::openapi::ErrorBody),
    )
)]
pub async fn versions(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    let list = state.store.list_scenario_versions(ScenarioId(id)).await?;
    let mut items: Vec<Value> = list
        .iter()
        .map(|v| {
            let full = serde_json::to_value(v).unwrap_or_default();
            json!({
                "version": v.version,
                "entry": v.content.entry,
                "created_by": v.created_by,
                "created_at": full["created_at"],
            })
        })
        .collect();
    items.sort_by_key(|v| -v["version"].as_i64().unwrap_or(0));
    Ok(Json(json!({"scenario_id": id, "items": items})))
}

/// One saved version with its files and options.
#[utoipa::path(
    get, path = "/api/v1/scenarios/{id}/versions/{v}",
    tag = "scenarios",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The scenario's id."), ("v" = i64, Path, description = "The version.")),
    responses(
        (status = 200, description = "`{\"scenario_id\", \"version\", \"entry\", \"options\", \"files\"}`.", body = Object),
        (status = 404, description = "No such scenario version.", body = super::openapi::ErrorBody),
    )
)]
pub async fn version(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath((id, version)): ApiPath<(i64, i64)>,
) -> Result<Json<Value>, AppError> {
    let v = state
        .store
        .scenario_version(ScenarioId(id), version)
        .await?;
    let files = scenario_files(&v.content.archive).map_err(AppError::internal)?;
    Ok(Json(json!({
        "scenario_id": id,
        "version": v.version,
        "entry": v.content.entry,
        "options": v.content.options,
        "files": files,
    })))
}
