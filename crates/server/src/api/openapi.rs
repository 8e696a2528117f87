//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, generated
//! from the code by utoipa.
//!
//! Each handler carries a `#[utoipa::path]` attribute next to its code
//! (method, path, parameters, bodies, answers, the role it needs); request
//! bodies, queries and the store's records derive `ToSchema`/`IntoParams`
//! from their serde definitions. This file gathers them ([`ApiDoc`]),
//! adds what is common to every operation (the security schemes, the error
//! answers, the UI's HTML pages, which are closures and so carry no
//! attribute), and describes the answers that handlers build as JSON
//! values. The document is built once and served with an `ETag`.
//!
//! A test compares the document with the routes the real router
//! registers, both ways, so neither can change without the other.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, Ref, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::{
    admin, alerts, auth, baseline, control, dashboard, exports, ops, pipelines, runs, scenarios,
    schedules, users, view, ws,
};
use stampede_store::{Role, Run, Scenario, Schedule, StoredPipeline, UserId};

/// The UI's HTML pages (`api::ui`): path and what it shows. They are
/// closures in the router, so they are listed here; the route test keeps
/// the list true.
pub const UI_PAGES: &[(&str, &str)] = &[
    ("/login", "The sign-in page."),
    ("/", "Home: the dashboard."),
    ("/runs/{id}", "A run's live and stored view."),
    ("/scenarios", "The scenarios."),
    ("/scenarios/new", "A new scenario's editor."),
    ("/scenarios/{id}", "A scenario's editor."),
    ("/compare", "Two runs compared."),
    ("/workers", "The workers."),
    ("/alerts", "Alerts, alert rules and notification channels."),
    ("/schedules", "The schedules."),
    (
        ADMIN_PAGE,
        "Administration: users, their tokens and quotas, the server's settings.",
    ),
    ("/pipelines", "The pipelines."),
    ("/pipelines/{id}", "A pipeline's stages and report."),
    ("/ui/{path}", "The UI's static files (scripts, styles)."),
];

/// The one page only admins get (`api::ui::admin_page`); other signed-in
/// users get the API's 403.
const ADMIN_PAGE: &str = "/admin";

/// The document's generator: every documented handler and schema.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Stampede API",
        description = "The control plane of Stampede: scenarios, runs, live metrics, reports, \
users, tokens, alerts, schedules, baselines and pipelines. JSON under `/api/v1`. Every operation needs one of the \
security schemes unless it says otherwise; its description names the role it needs \
(viewer < editor < admin). Errors are `{\"error\": {\"code\", \"message\", \"details\"}}` \
(`ErrorBody`). Lists are `{\"items\", \"total\", \"limit\", \"offset\"}` with `limit` 1-500 \
(default 50)."
    ),
    paths(
        document,
        auth::login, auth::logout, auth::me,
        users::create, users::list, users::get, users::update, users::delete,
        users::create_token, users::list_tokens, users::revoke_token, users::audit_log,
        admin::user_tokens, admin::settings,
        scenarios::create, scenarios::list, scenarios::get, scenarios::update,
        scenarios::delete, scenarios::start, scenarios::parse,
        baseline::list, baseline::get, baseline::set, baseline::clear, baseline::compare,
        dashboard::versions, dashboard::version, dashboard::get,
        runs::list, runs::get, control::patch, runs::stop, runs::abort, runs::metrics,
        view::run_state, view::metrics,
        exports::compare, exports::export,
        ops::workers, ops::healthz, ops::readyz, ops::metrics,
        ws::subscribe,
        alerts::list, alerts::get, alerts::ack,
        alerts::list_rules, alerts::create_rule, alerts::get_rule, alerts::update_rule,
        alerts::delete_rule,
        alerts::list_channels, alerts::create_channel, alerts::update_channel,
        alerts::delete_channel, alerts::test_channel,
        schedules::list, schedules::create, schedules::preview, schedules::get,
        schedules::update, schedules::delete,
        pipelines::create, pipelines::list, pipelines::get_one, pipelines::stop,
        pipelines::report,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Common),
    security(("jwt" = []), ("api_token" = []), ("session" = [])),
    tags(
        (name = "auth", description = "Signing in and out."),
        (name = "users", description = "Accounts, API tokens, the audit log."),
        (name = "scenarios", description = "Stored tests, their versions and baseline runs."),
        (name = "runs", description = "Runs: state, control, metrics, reports, comparisons."),
        (name = "live", description = "The WebSocket and the run view's live data."),
        (name = "alerts", description = "Alerts, rules and notification channels."),
        (name = "schedules", description = "Runs started by cron expressions."),
        (name = "pipelines", description = "Staged test pipelines: their stages, gates and reports."),
        (name = "ops", description = "Health, readiness, Prometheus, workers, the server's settings, this document."),
        (name = "ui", description = "The web UI's HTML pages (not JSON)."),
    )
)]
pub struct ApiDoc;

/// Security schemes, the answers every operation can give, the UI pages.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <JWT>` from `POST /api/v1/auth/login` \
                         (HS512, 24 h).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "`Authorization: Bearer <API token>` from `POST /api/v1/tokens` \
                         (for CI; revocable).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The UI's HttpOnly, SameSite=Strict session cookie set by login. Writes \
                 authenticated by it must come from the server's own origin (`Origin` check).",
            ))),
        );
        for (path, what) in UI_PAGES {
            doc.paths.paths.insert(
                path.to_string(),
                PathItem::new(HttpMethod::Get, ui_page(path, what)),
            );
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let page = op
                    .tags
                    .as_ref()
                    .is_some_and(|t| t.iter().any(|t| t == "ui"));
                op.operation_id = Some(operation_id(if page { "page" } else { method }, path));
                add_common_answers(path, op);
            }
        }
    }
}

/// A UI page's operation: HTML for a signed-in session (else a redirect to
/// the login page), or public for the login page and the static files.
fn ui_page(path: &str, what: &str) -> Operation {
    let public = path == "/login" || path.starts_with("/ui/");
    let params = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        });
    let op = OperationBuilder::new()
        .tag("ui")
        .summary(Some(what))
        .parameters(Some(params))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The page.")
                .content("text/html", Content::new(None::<Ref>)),
        );
    if public {
        return op
            .description(Some("Role: none (public). Holds no data."))
            .security(SecurityRequirement::default())
            .build();
    }
    let op = op
        .security(SecurityRequirement::new("session", Vec::<String>::new()))
        .response(
            "303",
            ResponseBuilder::new().description("Not signed in: to `/login?next=…`."),
        );
    if path == ADMIN_PAGE {
        op.description(Some(
            "Role: admin (a signed-in session; otherwise a redirect to `/login?next=…`). \
             Answers HTML whose data comes from the admin-only JSON API.",
        ))
        .response("403", error_answer("Signed in, but not an admin."))
        .build()
    } else {
        op.description(Some(
            "Role: viewer (a signed-in session; otherwise a redirect to `/login?next=…`). \
             Answers HTML whose data comes from the JSON API.",
        ))
        .build()
    }
}

/// A unique, stable `operationId` from the method (`page` for the UI's
/// pages) and the path: `get_runs_id_metrics` for `GET
/// /api/v1/runs/{id}/metrics`, `page_index` for the page `/`. (Handler
/// names repeat across modules: `get`, `list`.)
pub fn operation_id(method: &str, path: &str) -> String {
    let rest = path.strip_prefix("/api/v1").unwrap_or(path);
    let words: Vec<String> = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        format!("{method}_index")
    } else {
        format!("{method}_{}", words.join("_"))
    }
}

/// The operations of a path item, with their lowercase methods.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| Some((m, op?)))
}

fn error_answer(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

/// 401 where the API needs credentials, 429 under the rate limit, and the
/// error shape for every other failure.
fn add_common_answers(path: &str, op: &mut Operation) {
    let public = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
    let answers = &mut op.responses.responses;
    // UI pages redirect instead (`ui_page`).
    if !public && path.starts_with("/api/") {
        answers
            .entry("401".into())
            .or_insert_with(|| error_answer("No valid credentials.").into());
    }
    if path.starts_with("/api/") {
        answers.entry("429".into()).or_insert_with(|| {
            error_answer("Rate limited (per credential or address); see `Retry-After`.").into()
        });
    }
    answers
        .entry("default".into())
        .or_insert_with(|| error_answer("An error (the status says which).").into());
}

/// Every failure's body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// A stable machine-readable code (`not_found`, `invalid_options`,
    /// `script_error`, `rate_limited`, ...).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// Further items (each problem of a validation, ...).
    pub details: Vec<Value>,
}

/// `POST /auth/login`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginAnswer {
    /// The JWT (also set as the session cookie).
    pub token: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// Who signed in.
    pub user: UserBrief,
}

/// A user's id, name and role.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBrief {
    /// Its id.
    pub id: UserId,
    /// Its login name.
    pub username: String,
    /// Its role.
    pub role: Role,
}

/// `POST /tokens`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreated {
    /// The token's id (to revoke it).
    pub id: i64,
    /// The secret: shown in this answer only.
    pub token: String,
    /// Its name.
    pub name: String,
}

/// `POST /scenarios/{id}/start`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStarted {
    /// The new run.
    pub run_id: i64,
}

/// A run with its live progress and its summary split from k6's text.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunDetail {
    /// The stored run (`summary` is the `--summary-export` document).
    #[serde(flatten)]
    pub run: Run,
    /// k6's end-of-test summary text, once ended.
    pub summary_text: Option<String>,
    /// `{"elapsed_s","active_vus","max_vus","completed","interrupted"}` while live.
    pub progress: Option<Value>,
}

/// A page of runs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunPage {
    /// The runs, newest first.
    pub items: Vec<RunDetail>,
    /// How many the filtered list has.
    pub total: u64,
    /// The effective limit.
    pub limit: u32,
    /// The offset.
    pub offset: u64,
}

/// A scenario with its files.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScenarioDetail {
    /// The stored scenario.
    #[serde(flatten)]
    pub scenario: Scenario,
    /// Its files by relative path.
    pub files: std::collections::BTreeMap<String, String>,
}

/// `GET /runs/{id}/metrics`: without `metric`, the stored intervals; with
/// it, the chart series.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RunMetrics {
    /// The stored intervals.
    Intervals {
        /// The run.
        run_id: i64,
        /// `{"start_ms","len_ms","snapshot"}` each (the merged `WireSnapshot`).
        intervals: Vec<Value>,
    },
    /// A chart series.
    Series {
        /// The run.
        run_id: i64,
        /// The metric asked for.
        metric: String,
        /// Points of the series (per step: count, rate, p50 to p99, ...).
        points: Vec<Value>,
    },
}

/// A schedule with its next fire times.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    /// The stored schedule.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// The next fire times (RFC 3339).
    pub next_fires: Vec<String>,
}

/// `{"items": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Items<T> {
    /// The items.
    pub items: Vec<T>,
}

/// `POST /schedules/preview`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preview {
    /// The next fire times (RFC 3339).
    pub next_fires: Vec<String>,
}

/// `GET /workers`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Workers {
    /// The workers: id, state, capacity, load, last heartbeat (Redis), or
    /// the server's own child processes (`"id": "local"`).
    pub items: Vec<Value>,
    /// Segments waiting for a worker (Redis only).
    pub queue_depth: Option<u64>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok` (alive) or `ready`.
    pub status: String,
    /// `ok` when the store answers (readiness).
    pub store: Option<String>,
    /// `ok` when Redis answers (readiness, with Redis workers).
    pub redis: Option<String>,
}

/// `PATCH /runs/{id}`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VusChanged {
    /// The run.
    pub id: i64,
    /// The VUs asked for.
    pub vus: u64,
}

/// `POST /scenarios/parse`'s answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParsedScenario {
    /// The declarative scenario's structure: only the keys that are set.
    pub scenario: Value,
}

/// One of the server's settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// Its value.
    pub value: Value,
    /// The flag (or API call) that sets it.
    pub set_by: String,
}

/// `GET /settings`: the server's flag-configured settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The networks runs may target (CIDRs).
    pub allow_targets: Setting,
    /// API requests per second per credential or address (0: no limit).
    pub rate_limit_per_sec: Setting,
    /// The largest request body, in bytes.
    pub max_body_bytes: Setting,
    /// `{"metrics","alerts","reports"}`: days each is kept.
    pub retention_days: Setting,
    /// `redis` or `local processes`.
    pub workers: Setting,
    /// Where quotas are set (per user).
    pub quotas: Setting,
}

/// A pipeline as the API answers it: the stored record with what its
/// report found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PipelineView {
    /// The stored pipeline (`request` holds the scenario ids, file names,
    /// variable names and included stages — never variable values).
    #[serde(flatten)]
    pub pipeline: StoredPipeline,
    /// The report's decision tree, once ended.
    pub decisions: Option<Value>,
    /// `{"stage", "breaking_point"}` of the first stage that found one.
    pub breaking_point: Option<Value>,
    /// `{"stage", "recovery"}` of the first stage that measured one.
    pub recovery: Option<Value>,
    /// Whether every required gate passed, once ended.
    pub passed: Option<bool>,
}

/// The document and its `ETag`, built once.
fn built() -> &'static (String, String) {
    static DOC: OnceLock<(String, String)> = OnceLock::new();
    DOC.get_or_init(|| {
        let json = ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes");
        let etag = format!("\"{:x}\"", Sha256::digest(json.as_bytes()));
        (json, etag)
    })
}

/// This document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "ops",
    description = "Role: none (public). Cacheable: `ETag` and `If-None-Match` (304).",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object),
        (status = 304, description = "Unchanged since the `ETag` given."),
    )
)]
pub async fn document(headers: HeaderMap) -> Response {
    let (json, etag) = built();
    let tag = HeaderValue::from_str(etag).expect("a hex ETag is a header value");
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag), cache]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, tag),
            cache,
        ],
        json.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
