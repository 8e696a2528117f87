//! Alerts (list, get with the delivery log, acknowledge), alert rules
//! (CRUD, editors) and notification channels (CRUD, admins).
//!
//! Windows are k6 durations (`"2m"`, `"500ms"`, `"1m30s"`). A rule is
//! checked against the metrics and statistics the evaluator knows before
//! anything is stored, so a typo is a 422 naming the field. A channel's
//! secret is write-only: sealed before it is stored (or kept as a
//! reference to an environment variable) and never part of an answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_store::{
    Alert, AlertFilter, AlertRule, AlertState, Channel, ChannelKind, NewAlertRule, NewChannel,
    Paged, Role, RuleScope, RunId, ScenarioId, Severity,
};

use super::{audit, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::alerts::secret::SecretBox;
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    let message = message.into();
    AppError::unprocessable("invalid_rule", message.clone())
        .with_details(vec![json!({"field": field, "message": message})])
}

/// A k6 duration in milliseconds, or the 422.
pub fn window_ms(field: &str, text: &str) -> Result<i64, AppError> {
    let d = stampede_config::K6Duration::parse(text)
        .map_err(|e| invalid(field, format!("`{field}`: {e}")))?;
    let d = d
        .to_std()
        .ok_or_else(|| invalid(field, format!("`{field}` must not be negative")))?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `?state=&severity=&rule_id=&run_id=&acknowledged=&limit=&offset=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    state: Option<String>,
    severity: Option<String>,
    rule_id: Option<i64>,
    run_id: Option<i64>,
    acknowledged: Option<bool>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// Alerts, newest first.
#[utoipa::path(
    get, path = "/api/v1/alerts",
    tag = "alerts",
    description = "Role: viewer.",
    params(AlertQuery),
    responses(
        (status = 200, description = "Alerts, newest first.", body = stampede_store::Paged<stampede_store::Alert>),
        (status = 422, description = "An unknown state or severity.", body = super::openapi::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<Paged<Alert>>, AppError> {
    let bad = |e: stampede_store::StoreError| AppError::bad_request(e.to_string());
    let filter = AlertFilter {
        state: q
            .state
            .as_deref()
            .map(str::parse::<AlertState>)
            .transpose()
            .map_err(bad)?,
        severity: q
            .severity
            .as_deref()
            .map(str::parse::<Severity>)
            .transpose()
            .map_err(bad)?,
        rule_id: q.rule_id,
        run_id: q.run_id.map(RunId),
        acknowledged: q.acknowledged,
    };
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    Ok(Json(state.store.list_alerts(&filter, page).await?))
}

/// One alert with its delivery log.
#[utoipa::path(
    get, path = "/api/v1/alerts/{id}",
    tag = "alerts",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The alert's id.")),
    responses(
        (status = 200, description = "The alert with its `deliveries`.", body = stampede_store::Alert),
        (status = 404, description = "No such alert.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    let alert = state.store.alert(id).await?;
    let deliveries = state.store.deliveries(id).await?;
    let mut v = serde_json::to_value(alert).expect("alerts serialize");
    v["deliveries"] = json!(deliveries);
    Ok(Json(v))
}

/// Acknowledges an alert (who and when are recorded; the first one stays).
#[utoipa::path(
    post, path = "/api/v1/alerts/{id}/ack",
    tag = "alerts",
    description = "Role: editor.",
    params(("id" = i64, Path, description = "The alert's id.")),
    responses(
        (status = 200, description = "Acknowledged.", body = stampede_store::Alert),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such alert.", body = super::openapi::ErrorBody),
    )
)]
pub async fn ack(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Alert>, AppError> {
    who.require(Role::Editor)?;
    let alert = state
        .store
        .ack_alert(id, who.id(), time::OffsetDateTime::now_utc())
        .await?;
    audit(&state, &who, "alert.ack", format!("alert:{id}"), json!({})).await?;
    state.hub.publish(
        alert.run_id,
        json!({"type": "alert", "event": "acknowledged", "alert": alert}),
    );
    Ok(Json(alert))
}

/// `POST /alert-rules` and `PUT /alert-rules/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    name: String,
    enabled: Option<bool>,
    scope: Option<String>,
    scenario_id: Option<i64>,
    metric: String,
    tags: Option<BTreeMap<String, String>>,
    /// `rate`, `avg`, `p(95)`, ... (default `value` for platform metrics, else `avg`).
    stat: Option<String>,
    op: String,
    threshold: f64,
    /// How long the condition must hold (k6 duration, default `0s`).
    #[serde(rename = "for")]
    for_: Option<String>,
    /// The window each evaluation aggregates (default `10s`).
    lookback: Option<String>,
    /// The least time between two firings for one subject (k6 duration,
    /// default `5m`; `0s` for none).
    min_interval: Option<String>,
    severity: Option<String>,
    stop_run: Option<bool>,
    channels: Option<Vec<i64>>,
}

impl RuleBody {
    fn rule(self, state: &AppState) -> Result<NewAlertRule, AppError> {
        let scope: RuleScope = match &self.scope {
            Some(s) => s
                .parse()
                .map_err(|e: stampede_store::StoreError| invalid("scope", e.to_string()))?,
            None if self.scenario_id.is_some() => RuleScope::Scenario,
            None => RuleScope::Runs,
        };
        let default_stat = if scope == RuleScope::Platform {
            "value"
        } else {
            "avg"
        };
        let rule = NewAlertRule {
            name: self.name,
            enabled: self.enabled.unwrap_or(true),
            scope,
            scenario_id: self.scenario_id.map(ScenarioId),
            metric: self.metric,
            tags: self.tags.unwrap_or_default(),
            stat: self.stat.unwrap_or_else(|| default_stat.into()),
            op: self.op,
            threshold: self.threshold,
            for_ms: window_ms("for", self.for_.as_deref().unwrap_or("0s"))?,
            lookback_ms: window_ms("lookback", self.lookback.as_deref().unwrap_or("10s"))?,
            min_interval_ms: match self.min_interval.as_deref() {
                Some(d) => window_ms("min_interval", d)?,
                None => stampede_store::DEFAULT_MIN_INTERVAL_MS,
            },
            severity: match &self.severity {
                Some(s) => s
                    .parse()
                    .map_err(|e: stampede_store::StoreError| invalid("severity", e.to_string()))?,
                None => Severity::Warning,
            },
            stop_run: self.stop_run.unwrap_or(false),
            channels: self.channels.unwrap_or_default(),
        };
        state.alerting.check_rule(&rule).map_err(|m| {
            let field = if m.contains("stat") { "stat" } else { "metric" };
            invalid(field, m)
        })?;
        Ok(rule)
    }
}

/// A rule's missing scenario or channel is the body's fault: a 422 naming
/// the field (the rule itself missing stays a 404).
fn missing_ref(e: stampede_store::StoreError) -> AppError {
    match e {
        stampede_store::StoreError::NotFound { what } if !what.starts_with("alert rule") => {
            let field = if what.contains("channel") {
                "channels"
            } else {
                "scenario_id"
            };
            invalid(field, format!("{what} not found"))
        }
        e => e.into(),
    }
}

/// Every rule.
#[utoipa::path(
    get, path = "/api/v1/alert-rules",
    tag = "alerts",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "The rules.", body = super::openapi::Items<stampede_store::AlertRule>),
    )
)]
pub async fn list_rules(
    State(state): State<Arc<AppState>>,
    _who: Principal,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({"items": state.store.alert_rules().await?})))
}

/// One rule.
#[utoipa::path(
    get, path = "/api/v1/alert-rules/{id}",
    tag = "alerts",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The rule's id.")),
    responses(
        (status = 200, description = "The rule.", body = stampede_store::AlertRule),
        (status = 404, description = "No such rule.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get_rule(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertRule>, AppError> {
    Ok(Json(state.store.alert_rule(id).await?))
}

/// Creates a rule.
#[utoipa::path(
    post, path = "/api/v1/alert-rules",
    tag = "alerts",
    description = "Role: editor.",
    request_body = RuleBody,
    responses(
        (status = 201, description = "Created.", body = stampede_store::AlertRule),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid field (named in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn create_rule(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<(StatusCode, Json<AlertRule>), AppError> {
    who.require(Role::Editor)?;
    let rule = body.rule(&state)?;
    let created = state
        .store
        .create_alert_rule(&rule, Some(who.id()))
        .await
        .map_err(missing_ref)?;
    audit(
        &state,
        &who,
        "alert_rule.create",
        format!("alert_rule:{}", created.id),
        json!({"name": created.rule.name}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Replaces a rule.
#[utoipa::path(
    put, path = "/api/v1/alert-rules/{id}",
    tag = "alerts",
    description = "Role: editor.",
    params(("id" = i64, Path, description = "The rule's id.")),
    request_body = RuleBody,
    responses(
        (status = 200, description = "Saved.", body = stampede_store::AlertRule),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such rule.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid field (named in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn update_rule(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<AlertRule>, AppError> {
    who.require(Role::Editor)?;
    let rule = body.rule(&state)?;
    let updated = state
        .store
        .update_alert_rule(id, &rule)
        .await
        .map_err(missing_ref)?;
    audit(
        &state,
        &who,
        "alert_rule.update",
        format!("alert_rule:{id}"),
        json!({"name": updated.rule.name}),
    )
    .await?;
    Ok(Json(updated))
}

/// Deletes a rule (its alerts stay).
#[utoipa::path(
    delete, path = "/api/v1/alert-rules/{id}",
    tag = "alerts",
    description = "Role: editor.",
    params(("id" = i64, Path, description = "The rule's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such rule.", body = super::openapi::ErrorBody),
        (status = 409, description = "A built-in rule.", body = super::openapi::ErrorBody),
    )
)]
pub async fn delete_rule(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Editor)?;
    state.store.delete_alert_rule(id).await?;
    audit(
        &state,
        &who,
        "alert_rule.delete",
        format!("alert_rule:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /alert-channels` and `PUT /alert-channels/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    name: String,
    kind: String,
    config: Option<Value>,
    /// Write-only: sealed before it is stored.
    secret: Option<String>,
    /// Or the name of an environment variable holding it.
    secret_env: Option<String>,
    enabled: Option<bool>,
}

fn channel_of(body: ChannelBody, secrets: &SecretBox) -> Result<NewChannel, AppError> {
    let bad = |field: &str, m: String| {
        AppError::unprocessable("invalid_channel", m.clone())
            .with_details(vec![json!({"field": field, "message": m})])
    };
    let kind: ChannelKind = body
        .kind
        .parse()
        .map_err(|e: stampede_store::StoreError| bad("kind", e.to_string()))?;
    let config = body.config.unwrap_or_else(|| json!({}));
    match kind {
        ChannelKind::Webhook => {
            check_url(config["url"].as_str()).map_err(|m| bad("config.url", m))?
        }
        ChannelKind::Slack if body.secret.is_none() && body.secret_env.is_none() => {
            check_url(config["url"].as_str()).map_err(|m| bad("config.url", m))?
        }
        ChannelKind::Slack => {}
        ChannelKind::Email => {
            crate::alerts::smtp::SmtpConfig::parse(&config).map_err(|m| bad("config", m))?;
        }
        ChannelKind::Ui => {}
    }
    let secret = match (body.secret, body.secret_env) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "secret",
                "give `secret` or `secret_env`, not both".into(),
            ))
        }
        (Some(s), None) => Some(secrets.seal(&s)),
        (None, Some(name)) => Some(SecretBox::env_ref(&name).map_err(|m| bad("secret_env", m))?),
        (None, None) => None,
    };
    Ok(NewChannel {
        name: body.name,
        kind,
        config,
        secret,
        enabled: body.enabled.unwrap_or(true),
    })
}

fn check_url(url: Option<&str>) -> Result<(), String> {
    let url = url.ok_or("this channel needs `config.url`")?;
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("the URL must be http:// or https:// with a host".into());
    }
    Ok(())
}

/// Every channel (secrets never included).
#[utoipa::path(
    get, path = "/api/v1/alert-channels",
    tag = "alerts",
    description = "Role: admin.",
    responses(
        (status = 200, description = "The channels (secrets never shown).", body = super::openapi::Items<stampede_store::Channel>),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
    )
)]
pub async fn list_channels(
    State(state): State<Arc<AppState>>,
    who: Principal,
) -> Result<Json<Value>, AppError> {
    who.require(Role::Admin)?;
    Ok(Json(json!({"items": state.store.channels().await?})))
}

/// Creates a channel.
#[utoipa::path(
    post, path = "/api/v1/alert-channels",
    tag = "alerts",
    description = "Role: admin.",
    request_body = ChannelBody,
    responses(
        (status = 201, description = "Created.", body = stampede_store::Channel),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid field (named in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn create_channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<(StatusCode, Json<Channel>), AppError> {
    who.require(Role::Admin)?;
    let new = channel_of(body, state.alerting.secrets())?;
    let c = state.store.create_channel(&new).await?;
    audit(
        &state,
        &who,
        "alert_channel.create",
        format!("alert_channel:{}", c.id),
        json!({"name": c.name, "kind": c.kind}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Replaces a channel (without `secret`, the stored one is kept).
#[utoipa::path(
    put, path = "/api/v1/alert-channels/{id}",
    tag = "alerts",
    description = "Role: admin.",
    params(("id" = i64, Path, description = "The channel's id.")),
    request_body = ChannelBody,
    responses(
        (status = 200, description = "Saved.", body = stampede_store::Channel),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such channel.", body = super::openapi::ErrorBody),
        (status = 422, description = "An invalid field (named in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn update_channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<Json<Channel>, AppError> {
    who.require(Role::Admin)?;
    let new = channel_of(body, state.alerting.secrets())?;
    let c = state.store.update_channel(id, &new).await?;
    audit(
        &state,
        &who,
        "alert_channel.update",
        format!("alert_channel:{id}"),
        json!({"name": c.name}),
    )
    .await?;
    Ok(Json(c))
}

/// How a test notification went.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChannelTest {
    /// Always `true` (a failure is a 502).
    pub ok: bool,
    /// The receiver's answer.
    pub detail: String,
}

/// Sends a test notification through a channel, once.
#[utoipa::path(
    post, path = "/api/v1/alert-channels/{id}/test",
    tag = "alerts",
    description = "Role: admin. One attempt (10 s at most) of a test notification (event `test`), neither retried nor logged: a channel that cannot be reached, refuses the credentials or answers an error is a 502 with the precise reason.",
    params(("id" = i64, Path, description = "The channel's id.")),
    responses(
        (status = 200, description = "Delivered.", body = ChannelTest),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such channel.", body = super::openapi::ErrorBody),
        (status = 502, description = "Not delivered: the reason.", body = super::openapi::ErrorBody),
    )
)]
pub async fn test_channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChannelTest>, AppError> {
    who.require(Role::Admin)?;
    let c = state.store.channel(id).await?;
    match state.alerting.test_channel(&c).await {
        Ok(detail) => Ok(Json(ChannelTest { ok: true, detail })),
        Err(e) => Err(AppError::new(
            StatusCode::BAD_GATEWAY,
            "channel_unreachable",
            format!("channel '{}': {e}", c.name),
        )),
    }
}

/// Deletes a channel.
#[utoipa::path(
    delete, path = "/api/v1/alert-channels/{id}",
    tag = "alerts",
    description = "Role: admin.",
    params(("id" = i64, Path, description = "The channel's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such channel.", body = super::openapi::ErrorBody),
    )
)]
pub async fn delete_channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Admin)?;
    state.store.delete_channel(id).await?;
    audit(
        &state,
        &who,
        "alert_channel.delete",
        format!("alert_channel:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
