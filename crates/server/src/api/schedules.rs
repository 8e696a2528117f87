//! Schedules: CRUD (editors; owners or admins change them) and a preview
//! of the next fire times, answered on create too.
//!
//! The cron expression and the time zone are checked before anything is
//! stored (422 naming the field), and so are the start options (the same
//! body as `POST /scenarios/{id}/start`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_store::{Missed, NewSchedule, Overlap, Role, ScenarioId, Schedule};
use time::OffsetDateTime;

use super::{audit, ApiJson, ApiPath};
use crate::auth::Principal;
use crate::error::AppError;
use crate::orchestrator::StartRequest;
use crate::schedules::{cron, from_jiff, to_jiff};
use crate::state::AppState;

/// Fire times previewed.
const PREVIEW: usize = 5;

/// `POST /schedules` and `PUT /schedules/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    name: String,
    scenario_id: i64,
    cron: String,
    timezone: Option<String>,
    options: Option<Value>,
    overlap: Option<String>,
    missed: Option<String>,
    enabled: Option<bool>,
    alert_on_failure: Option<bool>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    let message = message.into();
    AppError::unprocessable("invalid_schedule", message.clone())
        .with_details(vec![json!({"field": field, "message": message})])
}

/// The next fire times of `expr` in `tz`, or the 422.
fn fires(expr: &str, tz: &str, n: usize) -> Result<Vec<OffsetDateTime>, AppError> {
    let c = cron::Cron::parse(expr)
        .map_err(|m| invalid("cron", format!("invalid cron expression: {m}")))?;
    let zone = cron::zone(tz).map_err(|m| invalid("timezone", m))?;
    Ok(c.preview(to_jiff(OffsetDateTime::now_utc()), &zone, n)
        .into_iter()
        .map(from_jiff)
        .collect())
}

fn rfc3339(t: &[OffsetDateTime]) -> Vec<String> {
    t.iter()
        .filter_map(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .collect()
}

impl ScheduleBody {
    fn schedule(
        self,
        owner: stampede_store::UserId,
    ) -> Result<(NewSchedule, Vec<OffsetDateTime>), AppError> {
        let tz = self.timezone.unwrap_or_else(|| "UTC".into());
        let next = fires(&self.cron, &tz, PREVIEW)?;
        let options = self.options.unwrap_or_else(|| json!({}));
        serde_json::from_value::<StartRequest>(options.clone())
            .map_err(|e| invalid("options", format!("invalid start options: {e}")))?
            .overrides()?;
        let bad = |f: &'static str| move |e: stampede_store::StoreError| invalid(f, e.to_string());
        let enabled = self.enabled.unwrap_or(true);
        let s = NewSchedule {
            name: self.name,
            scenario_id: ScenarioId(self.scenario_id),
            owner_id: owner,
            cron: self.cron,
            timezone: tz,
            options,
            overlap: self
                .overlap
                .as_deref()
                .unwrap_or("skip")
                .parse::<Overlap>()
                .map_err(bad("overlap"))?,
            missed: self
                .missed
                .as_deref()
                .unwrap_or("run_once")
                .parse::<Missed>()
                .map_err(bad("missed"))?,
            enabled,
            alert_on_failure: self.alert_on_failure.unwrap_or(false),
            next_fire_at: if enabled { next.first().copied() } else { None },
        };
        Ok((s, next))
    }
}

fn answer(s: &Schedule, next: &[OffsetDateTime]) -> Value {
    let mut v = serde_json::to_value(s).expect("schedules serialize");
    v["next_fires"] = json!(rfc3339(next));
    v
}

/// Every schedule, with its next fire times.
#[utoipa::path(
    get, path = "/api/v1/schedules",
    tag = "schedules",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "Every schedule with its next fire times.", body = super::openapi::Items<super::openapi::ScheduleView>),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _who: Principal,
) -> Result<Json<Value>, AppError> {
    let items: Vec<Value> = state
        .store
        .schedules()
        .await?
        .iter()
        .map(|s| {
            answer(
                s,
                &fires(&s.schedule.cron, &s.schedule.timezone, PREVIEW).unwrap_or_default(),
            )
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

/// One schedule.
#[utoipa::path(
    get, path = "/api/v1/schedules/{id}",
    tag = "schedules",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The schedule's id.")),
    responses(
        (status = 200, description = "The schedule.", body = super::openapi::ScheduleView),
        (status = 404, description = "No such schedule.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    let s = state.store.schedule(id).await?;
    let next = fires(&s.schedule.cron, &s.schedule.timezone, PREVIEW).unwrap_or_default();
    Ok(Json(answer(&s, &next)))
}

/// `{"cron", "timezone"?}` → the next fire times (nothing stored).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    cron: String,
    timezone: Option<String>,
    count: Option<usize>,
}

/// Previews fire times.
#[utoipa::path(
    post, path = "/api/v1/schedules/preview",
    tag = "schedules",
    description = "Role: viewer (nothing is stored).",
    request_body = PreviewBody,
    responses(
        (status = 200, description = "The next fire times.", body = super::openapi::Preview),
        (status = 422, description = "An invalid cron expression or time zone.", body = super::openapi::ErrorBody),
    )
)]
pub async fn preview(
    _who: Principal,
    ApiJson(b): ApiJson<PreviewBody>,
) -> Result<Json<Value>, AppError> {
    let next = fires(
        &b.cron,
        b.timezone.as_deref().unwrap_or("UTC"),
        b.count.unwrap_or(PREVIEW).clamp(1, 50),
    )?;
    Ok(Json(json!({"next_fires": rfc3339(&next)})))
}

/// Creates a schedule owned by the caller.
#[utoipa::path(
    post, path = "/api/v1/schedules",
    tag = "schedules",
    description = "Role: editor (the schedule is owned by the caller).",
    request_body = ScheduleBody,
    responses(
        (status = 201, description = "Created.", body = super::openapi::ScheduleView),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such scenario.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid cron expression, time zone or option (named in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    who.require(Role::Editor)?;
    let (new, next) = body.schedule(who.id())?;
    scenario_exists(&state, &new).await?;
    let s = state.store.create_schedule(&new).await?;
    audit(
        &state,
        &who,
        "schedule.create",
        format!("schedule:{}", s.id),
        json!({"name": s.schedule.name, "cron": s.schedule.cron}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(answer(&s, &next))))
}

/// A schedule of a missing scenario is a 422 naming `scenario_id`.
async fn scenario_exists(state: &AppState, s: &NewSchedule) -> Result<(), AppError> {
    match state.store.scenario(s.scenario_id).await {
        Ok(_) => Ok(()),
        Err(stampede_store::StoreError::NotFound { what }) => {
            Err(invalid("scenario_id", format!("{what} not found")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces a schedule (its owner or an admin).
#[utoipa::path(
    put, path = "/api/v1/schedules/{id}",
    tag = "schedules",
    description = "Role: editor who owns the schedule, or admin.",
    params(("id" = i64, Path, description = "The schedule's id.")),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "Saved.", body = super::openapi::ScheduleView),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such schedule.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid field (named in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<Json<Value>, AppError> {
    who.require(Role::Editor)?;
    let old = state.store.schedule(id).await?;
    who.require_owner(old.schedule.owner_id, "schedule")?;
    let (new, next) = body.schedule(old.schedule.owner_id)?;
    scenario_exists(&state, &new).await?;
    let s = state.store.update_schedule(id, &new).await?;
    audit(
        &state,
        &who,
        "schedule.update",
        format!("schedule:{id}"),
        json!({"name": s.schedule.name, "cron": s.schedule.cron, "enabled": s.schedule.enabled}),
    )
    .await?;
    Ok(Json(answer(&s, &next)))
}

/// Deletes a schedule (its runs stay).
#[utoipa::path(
    delete, path = "/api/v1/schedules/{id}",
    tag = "schedules",
    description = "Role: editor who owns the schedule, or admin.",
    params(("id" = i64, Path, description = "The schedule's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such schedule.", body = super::openapi::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Editor)?;
    let old = state.store.schedule(id).await?;
    who.require_owner(old.schedule.owner_id, "schedule")?;
    state.store.delete_schedule(id).await?;
    audit(
        &state,
        &who,
        "schedule.delete",
        format!("schedule:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
