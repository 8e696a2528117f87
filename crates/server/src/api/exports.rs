//! Reports of stored runs, computed from their per-interval merged
//! snapshots by `stampede_output::export`: `GET /export/{run_id}?format=
//! json|csv|html|pdf` and `GET /runs/{a}/compare/{b}`.
//!
//! PDF is the HTML report printed by headless Chromium; without Chromium
//! that one format answers 503 with the reason and the others keep working.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use stampede_metrics::WireSnapshot;
use stampede_output::export::{self, StoredRun};
use stampede_output::results::compare::CompareOptions;
use stampede_output::results::Results;
use stampede_store::{Run, RunId};

use super::{ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// A stored run's intervals and report record.
pub(crate) async fn load(
    state: &AppState,
    id: i64,
) -> Result<(Run, Vec<WireSnapshot>, Results), AppError> {
    let run = state.store.run(RunId(id)).await?;
    let (intervals, results) = stored_results(&state.store, &run).await?;
    Ok((run, intervals, results))
}

/// The intervals of a stored run and its report record.
pub(crate) async fn stored_results(
    store: &stampede_store::Store,
    run: &Run,
) -> Result<(Vec<WireSnapshot>, Results), AppError> {
    let intervals: Vec<WireSnapshot> = store
        .intervals(run.id, None, None)
        .await?
        .into_iter()
        .map(|i| i.snapshot)
        .collect();
    let name = store
        .scenario(run.scenario_id)
        .await
        .map(|s| s.name)
        .unwrap_or_else(|_| format!("scenario {}", run.scenario_id));
    let stored = StoredRun {
        intervals: &intervals,
        // The engine's interval bounds are already Unix-epoch nanoseconds.
        started_at_ns: 0,
        script: Some(name),
        source: Some(format!("stampede server, run {}", run.id)),
        thresholds: export::thresholds_from_options(&run.options)
            .map_err(|e| AppError::unprocessable("invalid_thresholds", e.to_string()))?,
        step: Some(Duration::from_secs(1)),
        ..StoredRun::default()
    };
    let results = export::results(&stored)
        .map_err(|e| AppError::unprocessable("invalid_metrics", e.to_string()))?;
    Ok((intervals, results))
}

/// A chaos run's recovery (`stampede_chaos`), kept in its summary.
fn chaos_of(run: &Run) -> Option<&serde_json::Value> {
    run.summary
        .as_ref()?
        .get(stampede_pipeline::chaos_summary::KEY)
}

/// `?format=&table=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    /// For CSV: `intervals` (default) or `endpoints`.
    table: Option<String>,
}

fn attachment(content_type: &'static str, name: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// One run's report in the asked format.
#[utoipa::path(
    get, path = "/api/v1/export/{id}",
    tag = "runs",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The run's id."), ExportQuery),
    responses(
        (status = 200, description = "The report as an attachment: JSON (summary-export shape plus per-interval series), CSV, self-contained HTML or PDF.", content(
            (Object = "application/json"), (String = "text/csv"), (String = "text/html"),
            ("application/pdf"),
        )),
        (status = 400, description = "An unknown format or CSV table.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
        (status = 503, description = "PDF rendering is unavailable on this server (`pdf_unavailable`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn export(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, AppError> {
    let (run, intervals, results) = load(&state, id).await?;
    let base = format!("stampede-run-{}", run.id);
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let stored = StoredRun {
                intervals: &intervals,
                ..StoredRun::default()
            };
            let mut doc = export::json::export(&stored, &results)
                .map_err(|e| AppError::unprocessable("invalid_metrics", e.to_string()))?;
            if let (Some(c), Some(m)) = (chaos_of(&run), doc.as_object_mut()) {
                m.insert(stampede_pipeline::chaos_summary::KEY.into(), c.clone());
            }
            let body = serde_json::to_vec(&doc).map_err(AppError::internal)?;
            Ok(attachment("application/json", format!("{base}.json"), body))
        }
        "csv" => {
            let (text, name) = match q.table.as_deref().unwrap_or("intervals") {
                "intervals" => (export::csv::intervals(&results), format!("{base}.csv")),
                "endpoints" => (
                    export::csv::endpoints(&results),
                    format!("{base}-endpoints.csv"),
                ),
                other => {
                    return Err(AppError::bad_request(format!(
                        "unknown CSV table {other:?}: intervals or endpoints"
                    )))
                }
            };
            Ok(attachment(
                "text/csv; charset=utf-8",
                name,
                text.into_bytes(),
            ))
        }
        "html" => {
            let mut html = stampede_output::html::render(&results);
            if let Some(c) = chaos_of(&run) {
                html = stampede_pipeline::chaos_summary::patch_html(&html, c).unwrap_or(html);
            }
            Ok(attachment(
                "text/html; charset=utf-8",
                format!("{base}.html"),
                html.into_bytes(),
            ))
        }
        "pdf" => {
            let html = stampede_output::html::render(&results);
            let pdf = tokio::task::spawn_blocking(move || {
                let chromium = export::pdf::find_chromium()?;
                export::pdf::render(&chromium, &html, Duration::from_secs(60))
            })
            .await
            .map_err(AppError::internal)?
            .map_err(|e| {
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "pdf_unavailable",
                    e.to_string(),
                )
            })?;
            Ok(attachment("application/pdf", format!("{base}.pdf"), pdf))
        }
        other => Err(AppError::bad_request(format!(
            "unknown format {other:?}: json, csv, html or pdf"
        ))),
    }
}

/// `stampede compare`'s strictness flags (fractions and milliseconds).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    max_regression: Option<f64>,
    error_rate_tolerance: Option<f64>,
    latency_tolerance_ms: Option<f64>,
    allow_missing: Option<bool>,
}

/// Run `b` compared with run `a` (the baseline), endpoint by endpoint.
#[utoipa::path(
    get, path = "/api/v1/runs/{a}/compare/{b}",
    tag = "runs",
    description = "Role: viewer.",
    params(("a" = i64, Path, description = "The baseline run."), ("b" = i64, Path, description = "The run compared with it."), CompareQuery),
    responses(
        (status = 200, description = "Run `b` against baseline `a`: p50/p95/p99/error rate per endpoint and the verdict of `stampede compare`.", body = Object),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn compare(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath((a, b)): ApiPath<(i64, i64)>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    compared(&state, a, b, q).await
}

/// The comparison document of run `b` against run `a`.
pub(super) async fn compared(
    state: &AppState,
    a: i64,
    b: i64,
    q: CompareQuery,
) -> Result<Json<serde_json::Value>, AppError> {
    let d = CompareOptions::default();
    let options = CompareOptions {
        max_regression: q.max_regression.unwrap_or(d.max_regression),
        error_rate_tolerance: q.error_rate_tolerance.unwrap_or(d.error_rate_tolerance),
        latency_tolerance_ms: q.latency_tolerance_ms.unwrap_or(d.latency_tolerance_ms),
        allow_missing: q.allow_missing.unwrap_or(d.allow_missing),
    };
    for v in [
        options.max_regression,
        options.error_rate_tolerance,
        options.latency_tolerance_ms,
    ] {
        if !v.is_finite() || v < 0.0 {
            return Err(AppError::bad_request(
                "tolerances must be finite and 0 or more",
            ));
        }
    }
    let (_, _, base) = load(state, a).await?;
    let (_, _, current) = load(state, b).await?;
    let c = export::compare::runs(&base, &current, options);
    Ok(Json(json!({
        "baseline": a,
        "current": b,
        "passed": c.passed(),
        "comparison": c.to_json(),
        "text": c.render(),
    })))
}
