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
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
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
#[utoipa::path(
    get, path = "/api/v1/runs",
    tag = "runs",
    description = "Role: viewer.",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of runs, newest first.", body = super::openapi::RunPage),
        (status = 400, description = "An unknown status.", body = super::openapi::ErrorBody),
    )
)]
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
#[utoipa::path(
    get, path = "/api/v1/runs/{id}",
    tag = "runs",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The run.", body = super::openapi::RunDetail),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
    )
)]
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
#[utoipa::path(
    post, path = "/api/v1/runs/{id}/stop",
    tag = "runs",
    description = "Role: editor who started the run, or admin.",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 202, description = "Stopping gracefully (k6's stop: exit code 103)."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
        (status = 409, description = "The run has ended or is not running on this server.", body = super::openapi::ErrorBody),
    )
)]
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
#[utoipa::path(
    post, path = "/api/v1/runs/{id}/abort",
    tag = "runs",
    description = "Role: editor who started the run, or admin.",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 202, description = "Aborting at once."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
        (status = 409, description = "The run has ended or is not running on this server.", body = super::openapi::ErrorBody),
    )
)]
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

/// `?metric=&tags=&from=&to=&step=`: offsets and step in seconds from the
/// run's first interval; `tags` as `name:value,name:value`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    metric: Option<String>,
    tags: Option<String>,
    from: Option<f64>,
    to: Option<f64>,
    step: Option<f64>,
}

fn seconds(name: &str, v: Option<f64>) -> Result<Option<std::time::Duration>, AppError> {
    v.map(|s| {
        std::time::Duration::try_from_secs_f64(s).map_err(|_| {
            AppError::bad_request(format!("`{name}` must be a number of seconds, 0 or more"))
        })
    })
    .transpose()
}

/// With `metric`: that metric's chart series (exact re-bucketing of the
/// stored intervals); without: the stored intervals (merged wire
/// snapshots, bounds in Unix-epoch ns) in `[from, to)`.
#[utoipa::path(
    get, path = "/api/v1/runs/{id}/metrics",
    tag = "runs",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The run's id."), MetricsQuery),
    responses(
        (status = 200, description = "The stored intervals, or with `metric` a chart series.", body = super::openapi::RunMetrics),
        (status = 400, description = "A bad tag, time or step.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run or metric.", body = super::openapi::ErrorBody),
    )
)]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> Result<Json<Value>, AppError> {
    let run = state.store.run(RunId(id)).await?;
    let intervals = state.store.intervals(run.id, None, None).await?;
    let (from, to) = (seconds("from", q.from)?, seconds("to", q.to)?);
    let Some(metric) = q.metric else {
        let first = intervals.first().map(|i| i.start_ms).unwrap_or(0);
        let in_range = |start_ms: i64| {
            let off = std::time::Duration::from_millis((start_ms - first).max(0) as u64);
            from.is_none_or(|f| off >= f) && to.is_none_or(|t| off < t)
        };
        let items: Vec<Value> = intervals
            .into_iter()
            .filter(|i| in_range(i.start_ms))
            .map(|i| json!({"start_ms": i.start_ms, "len_ms": i.len_ms, "snapshot": i.snapshot}))
            .collect();
        return Ok(Json(json!({"run_id": run.id, "intervals": items})));
    };
    let mut pairs = Vec::new();
    for pair in q
        .tags
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once(':').ok_or_else(|| {
            AppError::bad_request(format!("invalid tag {pair:?}: expected name:value"))
        })?;
        pairs.push((k.to_string(), v.to_string()));
    }
    let query = stampede_output::export::timeseries::Query {
        metric: metric.clone(),
        tags: stampede_metrics::TagSet::from_pairs(pairs),
        from,
        to,
        step: seconds("step", q.step)?,
    };
    let snaps: Vec<_> = intervals.into_iter().map(|i| i.snapshot).collect();
    let points =
        stampede_output::export::timeseries::query(&snaps, &query).map_err(|e| match e {
            stampede_output::export::timeseries::QueryError::UnknownMetric(_) => {
                AppError::not_found(e.to_string())
            }
            other => AppError::bad_request(other.to_string()),
        })?;
    Ok(Json(
        json!({"run_id": run.id, "metric": metric, "points": points}),
    ))
}
