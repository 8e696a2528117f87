//! Runs: list, get (with live progress and the final summary), stop,
//! abort, and the stored per-interval metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_store::{Paged, Role, Run, RunFilter, RunId, RunStatus, ScenarioId};

use super::{audit, ApiPath, ApiQuery, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::orchestrator::split_summary;
use crate::state::AppState;

/// `?scenario_id=&status=&limit=&offset=`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    scenario_id: Option<i64>,
    /// One state or several, comma-separated.
    status: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// A run as the API answers it: the stored record with `summary` (the
/// `--summary-export` document), `summary_text` and, while live, `progress`.
fn run_json(state: &AppState, run: Run) -> Value {
    let progress = state.orchestrator.progress(run.id);
    let (summary, text) = split_summary(run.summary.clone());
    let mut v = serde_json::to_value(&run).expect("runs serialize");
    v["summary"] = summary.unwrap_or(Value::Null);
    v["summary_text"] = text.map(Value::from).unwrap_or(Value::Null);
    v["progress"] = progress.map(|p| json!(p)).unwrap_or(Value::Null);
    v
}

/// Runs, newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Paged<Value>>, AppError> {
    let statuses = match &q.status {
        Some(s) => s
            .split(',')
            .map(|x| x.trim().parse::<RunStatus>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AppError::bad_request(e.to_string()))?,
        None => Vec::new(),
    };
    let filter = RunFilter {
        scenario_id: q.scenario_id.map(ScenarioId),
        statuses,
        user_id: None,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let runs = state.store.list_runs(&filter, page).await?;
    Ok(Json(Paged {
        items: runs
            .items
            .into_iter()
            .map(|r| run_json(&state, r))
            .collect(),
        total: runs.total,
        limit: runs.limit,
        offset: runs.offset,
    }))
}

/// One run.
pub async fn get(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    let run = state.store.run(RunId(id)).await?;
    Ok(Json(run_json(&state, run)))
}

/// The run, if the caller may control it (who started it, or an admin).
async fn controllable(state: &AppState, who: &Principal, id: i64) -> Result<Run, AppError> {
    who.require(Role::Editor)?;
    let run = state.store.run(RunId(id)).await?;
    if who.user.role != Role::Admin && run.user_id != Some(who.id()) {
        return Err(AppError::forbidden("this run was started by another user"));
    }
    if run.status.is_terminal() {
        return Err(AppError::conflict(format!(
            "the run has already ended ({})",
            run.status
        )));
    }
    Ok(run)
}

/// Stops a run gracefully (as k6's stop: teardown and summary still run).
pub async fn stop(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    let run = controllable(&state, &who, id).await?;
    if !state.orchestrator.stop(run.id) {
        return Err(AppError::conflict("the run is not running on this server"));
    }
    audit(&state, &who, "run.stop", format!("run:{id}"), json!({})).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Ends a run at once; it is marked `aborted`.
pub async fn abort(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    let run = controllable(&state, &who, id).await?;
    if !state.orchestrator.abort(run.id) {
        return Err(AppError::conflict("the run is not running on this server"));
    }
    audit(&state, &who, "run.abort", format!("run:{id}"), json!({})).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `?from=&to=` (ms since the run's start).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// The stored intervals (merged wire snapshots) of a run.
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<Value>, AppError> {
    let run = state.store.run(RunId(id)).await?;
    let intervals = state.store.intervals(run.id, q.from, q.to).await?;
    let items: Vec<Value> = intervals
        .into_iter()
        .map(|i| json!({"start_ms": i.start_ms, "len_ms": i.len_ms, "snapshot": i.snapshot}))
        .collect();
    Ok(Json(json!({"run_id": run.id, "intervals": items})))
}
