//! Scenarios: CRUD (every save keeps a version) and `start`.
//!
//! A scenario is a script (one file, several by relative path, or a k6
//! archive with binary files and remote modules, as `stampede submit`
//! uploads it) plus default options. Creating or changing one loads it with
//! the engine in a validate-only segment, so a script that does not compile
//! is a 422 with file:line:col and nothing is stored. An archive is kept
//! whole per version; its entry script is also kept as text for the
//! editor, and a `script` edit replaces it inside the archive.
//!
//! Its `kind` says what the entry is, explicitly (never guessed from the
//! text): `k6` (the default), a k6 script; `declarative`, a scenario
//! written as data (YAML or JSON, issue 19) that the segment runner
//! executes natively, without a JavaScript runtime, and splits over
//! segments like a script. The entry's extension must agree with the kind
//! (`.yaml`, `.yml` or `.json` for a declarative scenario, anything else
//! for a script), because that is how `stampede run` and the runner tell
//! the two apart; an archive's kind follows its entry (`stampede archive
//! x.yaml` packs a declarative one). A declarative scenario given as files
//! is also parsed here, in process, so that its 422 lists every problem
//! with file, line and column in `details`, and every file it reads
//! (feeders, uploads) must be among its `files`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_cluster::SegmentJob;
use stampede_store::{
    NewScenario, Paged, Role, Scenario, ScenarioContent, ScenarioFilter, ScenarioId, ScenarioKind,
    ScenarioSummary, ScenarioUpdate,
};

use super::{audit, ApiJson, ApiPath, ApiQuery, PageQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::orchestrator::StartRequest;
use crate::state::AppState;
use crate::upload::Upload;
use crate::{encode_files, scenario_files};

/// `POST /scenarios` and `PUT /scenarios/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioBody {
    name: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    /// A single-file script (stored as `script.js`).
    script: Option<String>,
    /// Several files by relative path, with `entry` naming the script.
    files: Option<BTreeMap<String, String>>,
    entry: Option<String>,
    /// A k6 archive (tar, base64), as `stampede archive` writes it.
    archive: Option<String>,
    /// Default options (k6 JSON options).
    options: Option<Value>,
    /// `k6` (default) or `declarative`: what `script` (or the entry) is.
    kind: Option<ScenarioKind>,
}

/// What a body gives a run to execute.
enum Content {
    /// Text files by path, and the entry script's path.
    Files(BTreeMap<String, String>, String),
    /// A k6 archive (boxed: it is much larger than a file map).
    Archive(Box<Upload>),
}

/// The content of a body, if it carries a script (exactly one of
/// `script`, `files` and `archive`); `kind` names the default entry.
fn content_of(body: &ScenarioBody, kind: ScenarioKind) -> Result<Option<Content>, AppError> {
    let given = [
        body.script.is_some(),
        body.files.is_some(),
        body.archive.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(AppError::unprocessable(
            "invalid_body",
            "give one of `script`, `files` and `archive`, not several",
        ));
    }
    if let Some(a) = &body.archive {
        if body.entry.is_some() {
            return Err(AppError::unprocessable(
                "invalid_body",
                "`entry` does not go with `archive`: the archive names its entry script",
            ));
        }
        return Ok(Some(Content::Archive(Box::new(Upload::decode(a)?))));
    }
    let default_entry = match kind {
        ScenarioKind::K6 => "script.js",
        ScenarioKind::Declarative => "scenario.yaml",
    };
    match (&body.script, &body.files) {
        (Some(s), _) => {
            let entry = body.entry.clone().unwrap_or_else(|| default_entry.into());
            Ok(Some(Content::Files(
                BTreeMap::from([(entry.clone(), s.clone())]),
                entry,
            )))
        }
        (None, Some(f)) => {
            let entry = body.entry.clone().ok_or_else(|| {
                AppError::unprocessable("invalid_body", "`files` needs `entry`, the script's path")
            })?;
            if !f.contains_key(&entry) {
                return Err(AppError::unprocessable(
                    "invalid_body",
                    format!("`entry` {entry:?} is not among `files`"),
                ));
            }
            Ok(Some(Content::Files(f.clone(), entry)))
        }
        (None, None) => Ok(None),
    }
}

impl Content {
    /// The entry script's (or scenario's) path.
    fn entry(&self) -> &str {
        match self {
            Content::Files(_, entry) => entry,
            Content::Archive(u) => u.archive.main(),
        }
    }

    /// The kind the content is when the body does not say: an archive's
    /// follows its entry, files are a k6 script.
    fn implied_kind(&self) -> ScenarioKind {
        match self {
            Content::Files(..) => ScenarioKind::K6,
            Content::Archive(_) => kind_of_entry(self.entry()),
        }
    }

    /// The stored form: editor files, entry name, k6 archive.
    fn stored(&self) -> (Vec<u8>, String, Option<Vec<u8>>) {
        match self {
            Content::Files(files, entry) => (encode_files(files), entry.clone(), None),
            Content::Archive(u) => (
                encode_files(&u.editor_files()),
                u.entry_name(),
                Some(u.bytes.clone()),
            ),
        }
    }

    /// A segment job that runs this content (`validate_only`).
    fn job(&self, options: &Value) -> SegmentJob {
        let (entry, files, archive) = match self {
            Content::Files(files, entry) => (entry.clone(), files.clone(), None),
            Content::Archive(u) => (
                u.archive.main().to_string(),
                BTreeMap::new(),
                Some(u.bytes.clone()),
            ),
        };
        SegmentJob {
            run_id: "validate".into(),
            entry,
            files,
            archive,
            defaults: options.clone(),
            overrides: Value::Null,
            env: BTreeMap::new(),
            segment: None,
            sequence: None,
            validate_only: true,
            start_gate: false,
            summary_gate: false,
            share: None,
            resume: None,
            chaos_relay: false,
        }
    }
}

/// The stored content of a scenario, as a [`Content`].
fn current_content(c: &ScenarioContent) -> Result<Content, AppError> {
    match &c.k6_archive {
        Some(bytes) => Ok(Content::Archive(Box::new(
            Upload::check(bytes.clone()).map_err(|e| AppError::internal(e.message))?,
        ))),
        None => Ok(Content::Files(
            scenario_files(&c.archive).map_err(AppError::internal)?,
            c.entry.clone(),
        )),
    }
}

fn check_options(options: &Value) -> Result<(), AppError> {
    if !matches!(options, Value::Object(_) | Value::Null) {
        return Err(AppError::unprocessable(
            "invalid_options",
            "`options` must be an object of k6 options",
        ));
    }
    Ok(())
}

/// The entry's extension must say what the kind says: it is how
/// `stampede run` and the segment runner tell a scenario from a script.
fn check_kind(kind: ScenarioKind, entry: &str) -> Result<(), AppError> {
    let data = stampede_scenario::is_scenario_path(std::path::Path::new(entry));
    match (kind, data) {
        (ScenarioKind::Declarative, false) => Err(AppError::unprocessable(
            "invalid_body",
            format!(
                "a declarative scenario's entry must end in .yaml, .yml or .json, not {entry:?}"
            ),
        )),
        (ScenarioKind::K6, true) => Err(AppError::unprocessable(
            "invalid_body",
            format!(
                "{entry:?} is a declarative scenario's file name: give \"kind\": \"declarative\", \
                 or name the script .js"
            ),
        )),
        _ => Ok(()),
    }
}

/// Parses and compiles a declarative scenario in process (its files in a
/// private directory): the 422 lists each problem with its file, line and
/// column.
async fn validate_declarative(
    files: &BTreeMap<String, String>,
    entry: &str,
) -> Result<(), AppError> {
    let (files, entry) = (files.clone(), entry.to_string());
    let found = tokio::task::spawn_blocking(move || {
        let dir = tempfile::Builder::new()
            .prefix("stampede-validate-")
            .tempdir()
            .map_err(|e| format!("cannot create a working directory: {e}"))?;
        let path = stampede_cluster::runner::unpack(dir.path(), &entry, &files)?;
        let prefix = format!("{}/", dir.path().display());
        let found = stampede_cluster::runner::load_declarative(dir.path(), &files, &path).err();
        Ok::<_, String>(found.map(|d| diagnostics_error(&d, &prefix)))
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|m| AppError::unprocessable("invalid_body", m))?;
    found.map_or(Ok(()), Err)
}

/// A 422 listing `found` as `file:line:col: message` lines, and in
/// `details` as objects; `prefix` is cut from the file names (the private
/// directory they were checked in).
fn diagnostics_error(found: &[stampede_scenario::Diagnostic], prefix: &str) -> AppError {
    let file = |d: &stampede_scenario::Diagnostic| -> String {
        d.file.strip_prefix(prefix).unwrap_or(&d.file).to_string()
    };
    let lines: Vec<String> = found
        .iter()
        .map(|d| format!("{}:{}:{}: {}", file(d), d.line, d.col, d.message))
        .collect();
    let details: Vec<Value> = found
        .iter()
        .map(|d| json!({"file": file(d), "line": d.line, "col": d.col, "message": d.message}))
        .collect();
    AppError::unprocessable("invalid_scenario", lines.join("\n")).with_details(details)
}

/// Loads the script with its options (nothing runs but its init code, in a
/// child process); a declarative scenario given as files is first checked
/// in process.
async fn validate(
    state: &AppState,
    content: &Content,
    options: &Value,
    kind: ScenarioKind,
) -> Result<(), AppError> {
    check_options(options)?;
    check_kind(kind, content.entry())?;
    if let (ScenarioKind::Declarative, Content::Files(files, entry)) = (kind, content) {
        validate_declarative(files, entry).await?;
    }
    let job = content.job(options);
    state.orchestrator.validate(&job).await.map(|_| ())
}

/// [`validate`] for text files by path (a pipeline's inline scripts): the
/// kind follows the entry's extension.
pub(crate) async fn validate_files(
    state: &AppState,
    files: &BTreeMap<String, String>,
    entry: &str,
    options: &Value,
) -> Result<(), AppError> {
    let content = Content::Files(files.clone(), entry.to_string());
    validate(state, &content, options, kind_of_entry(entry)).await
}

/// The kind an entry's extension names (`.yaml`, `.yml`, `.json`:
/// declarative), for content whose kind no user gave.
pub(crate) fn kind_of_entry(entry: &str) -> ScenarioKind {
    if stampede_scenario::is_scenario_path(std::path::Path::new(entry)) {
        ScenarioKind::Declarative
    } else {
        ScenarioKind::K6
    }
}

fn check_name(name: &str) -> Result<(), AppError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AppError::unprocessable(
            "invalid_name",
            "a scenario needs a name of 1 to 200 characters",
        ));
    }
    Ok(())
}

/// Creates a scenario (editors).
#[utoipa::path(
    post, path = "/api/v1/scenarios",
    tag = "scenarios",
    description = "Role: editor.",
    request_body = ScenarioBody,
    responses(
        (status = 201, description = "Stored (version 1).", body = stampede_store::Scenario),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 422, description = "A missing name or script, a script that does not compile (`script_error`, with file:line:col) or options that do not resolve (`invalid_options`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<ScenarioBody>,
) -> Result<(StatusCode, Json<Scenario>), AppError> {
    who.require(Role::Editor)?;
    let name = body
        .name
        .clone()
        .ok_or_else(|| AppError::unprocessable("invalid_body", "missing field `name`"))?;
    check_name(&name)?;
    let content = content_of(&body, body.kind.unwrap_or_default())?.ok_or_else(|| {
        AppError::unprocessable(
            "invalid_body",
            "a scenario needs `script`, `files` or `archive`",
        )
    })?;
    let kind = body.kind.unwrap_or_else(|| content.implied_kind());
    let options = body.options.clone().unwrap_or(json!({}));
    validate(&state, &content, &options, kind).await?;
    let (archive, entry, k6_archive) = content.stored();
    let scenario = state
        .store
        .create_scenario(&NewScenario {
            owner_id: who.id(),
            name,
            description: body.description.unwrap_or_default(),
            tags: body.tags.unwrap_or_default(),
            content: ScenarioContent {
                archive,
                entry,
                options,
                k6_archive,
                kind,
            },
        })
        .await?;
    audit(
        &state,
        &who,
        "scenario.create",
        format!("scenario:{}", scenario.id),
        json!({"name": scenario.name}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(scenario)))
}

/// `?name=&tag=&limit=&offset=`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    name: Option<String>,
    tag: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// Lists scenarios.
#[utoipa::path(
    get, path = "/api/v1/scenarios",
    tag = "scenarios",
    description = "Role: viewer.",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of scenarios.", body = stampede_store::Paged<stampede_store::ScenarioSummary>),
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Paged<ScenarioSummary>>, AppError> {
    let page = PageQuery {
        limit: q.limit,
        offset: q.offset,
    }
    .page();
    let filter = ScenarioFilter {
        name_contains: q.name,
        tag: q.tag,
        owner_id: None,
    };
    Ok(Json(state.store.list_scenarios(&filter, page).await?))
}

/// One scenario, with its files.
#[utoipa::path(
    get, path = "/api/v1/scenarios/{id}",
    tag = "scenarios",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    responses(
        (status = 200, description = "The scenario with its files.", body = super::openapi::ScenarioDetail),
        (status = 404, description = "No such scenario.", body = super::openapi::ErrorBody),
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, AppError> {
    let s = state.store.scenario(ScenarioId(id)).await?;
    let files = scenario_files(&s.content.archive).unwrap_or_default();
    let mut v = serde_json::to_value(&s).map_err(AppError::internal)?;
    v["files"] = json!(files);
    if let Some(bytes) = &s.content.k6_archive {
        v["archive"] = Upload::check(bytes.clone())
            .map(|u| u.describe())
            .map_err(|e| AppError::internal(e.message))?;
    }
    Ok(Json(v))
}

/// Saves a new version (the owner or an admin).
#[utoipa::path(
    put, path = "/api/v1/scenarios/{id}",
    tag = "scenarios",
    description = "Role: editor who owns the scenario, or admin.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    request_body = ScenarioBody,
    responses(
        (status = 200, description = "Saved as a new version.", body = stampede_store::Scenario),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such scenario.", body = super::openapi::ErrorBody),
        (status = 422, description = "As for creation.", body = super::openapi::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ScenarioBody>,
) -> Result<Json<Scenario>, AppError> {
    who.require(Role::Editor)?;
    let current = state.store.scenario(ScenarioId(id)).await?;
    who.require_owner(current.owner_id, "scenario")?;
    if let Some(n) = &body.name {
        check_name(n)?;
    }
    if body.kind.is_some()
        && body.script.is_none()
        && body.files.is_none()
        && body.archive.is_none()
    {
        return Err(AppError::unprocessable(
            "invalid_body",
            "a new `kind` needs its `script`, `files` or `archive`",
        ));
    }
    let mut content = content_of(&body, body.kind.unwrap_or(current.content.kind))?;
    if let (Some(script), Some(_)) = (&body.script, &current.content.k6_archive) {
        // A script edit of an archived scenario (the editor shows its entry
        // script) keeps the archive's modules and files.
        if let Content::Archive(archived) = current_content(&current.content)? {
            let archive = archived.archive.with_main_source(script.as_str().into());
            content = Some(Content::Archive(Box::new(Upload::check(archive.to_tar())?)));
        }
    }
    let kind = match (&body.kind, &content) {
        (Some(k), _) => *k,
        (None, Some(c @ Content::Archive(_))) => c.implied_kind(),
        (None, _) => current.content.kind,
    };
    let options = body
        .options
        .clone()
        .unwrap_or_else(|| current.content.options.clone());
    match &content {
        Some(c) => validate(&state, c, &options, kind).await?,
        None => validate(&state, &current_content(&current.content)?, &options, kind).await?,
    }
    let stored = content.as_ref().map(Content::stored);
    let scenario = state
        .store
        .update_scenario(
            ScenarioId(id),
            &ScenarioUpdate {
                saved_by: Some(who.id()),
                name: body.name,
                description: body.description,
                tags: body.tags,
                archive: stored.as_ref().map(|(a, _, _)| a.clone()),
                entry: stored.as_ref().map(|(_, e, _)| e.clone()),
                options: body.options,
                k6_archive: stored.map(|(_, _, k)| k),
                kind: body.kind.or(content.as_ref().map(|_| kind)),
            },
        )
        .await?;
    audit(
        &state,
        &who,
        "scenario.update",
        format!("scenario:{id}"),
        json!({"version": scenario.version}),
    )
    .await?;
    Ok(Json(scenario))
}

/// Deletes a scenario (the owner or an admin).
#[utoipa::path(
    delete, path = "/api/v1/scenarios/{id}",
    tag = "scenarios",
    description = "Role: editor who owns the scenario, or admin.",
    params(("id" = i64, Path, description = "The scenario's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such scenario.", body = super::openapi::ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    who.require(Role::Editor)?;
    let current = state.store.scenario(ScenarioId(id)).await?;
    who.require_owner(current.owner_id, "scenario")?;
    state.store.delete_scenario(ScenarioId(id)).await?;
    audit(
        &state,
        &who,
        "scenario.delete",
        format!("scenario:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a run (editors; scenarios are shared within the server).
#[utoipa::path(
    post, path = "/api/v1/scenarios/{id}/start",
    tag = "runs",
    description = "Role: editor (within its quotas).",
    params(("id" = i64, Path, description = "The scenario's id.")),
    request_body = crate::orchestrator::StartRequest,
    responses(
        (status = 202, description = "Queued.", body = super::openapi::RunStarted),
        (status = 403, description = "The role is not enough.", body = super::openapi::ErrorBody),
        (status = 404, description = "No such scenario.", body = super::openapi::ErrorBody),
        (status = 422, description = "Options that do not resolve, a quota exceeded or a target outside the allow-list.", body = super::openapi::ErrorBody),
    )
)]
pub async fn start(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StartRequest>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    who.require(Role::Editor)?;
    let scenario = state.store.scenario(ScenarioId(id)).await?;
    let run_id = state.orchestrator.start(&who, &scenario, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"run_id": run_id}))))
}

/// The body of `POST /api/v1/scenarios/parse`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseBody {
    /// A declarative scenario's text.
    text: String,
    /// Its file name (default `scenario.yaml`; `.json` parses JSON).
    entry: Option<String>,
}

/// Reads a declarative scenario's structure without storing or running
/// anything, for the editor's form: `{"scenario": {...}}` with the keys
/// that are set (no nulls, no empty lists or maps but a `json: {}` body;
/// request bodies, variables and checks as written), or a 422 with
/// each problem's file, line and column.
#[utoipa::path(
    post, path = "/api/v1/scenarios/parse",
    tag = "scenarios",
    description = "Role: viewer. Stores and runs nothing.",
    request_body = ParseBody,
    responses(
        (status = 200, description = "The scenario's structure: the keys that are set, request bodies, variables and checks as written.", body = super::openapi::ParsedScenario),
        (status = 422, description = "An entry that is not .yaml, .yml or .json (`invalid_body`), or a scenario that does not parse (`invalid_scenario`, each problem with its file, line and column in `details`).", body = super::openapi::ErrorBody),
    )
)]
pub async fn parse(
    _who: Principal,
    ApiJson(body): ApiJson<ParseBody>,
) -> Result<Json<Value>, AppError> {
    let entry = body.entry.unwrap_or_else(|| "scenario.yaml".into());
    check_kind(ScenarioKind::Declarative, &entry)?;
    let file = stampede_scenario::parse_file(&body.text, std::path::Path::new(&entry))
        .map_err(|d| diagnostics_error(&d, ""))?;
    let mut v = serde_json::to_value(&file).map_err(AppError::internal)?;
    prune(&mut v);
    Ok(Json(json!({"scenario": v})))
}

/// Drops nulls and empty lists and maps, except under the keys whose
/// values are the user's data as written.
fn prune(v: &mut Value) {
    if let Value::Object(map) = v {
        for (k, x) in map.iter_mut() {
            if !matches!(k.as_str(), "json" | "variables" | "check") {
                prune(x);
            }
        }
        map.retain(|k, x| {
            !x.is_null()
                && (k == "json"
                    || !(x.as_object().is_some_and(|o| o.is_empty())
                        || x.as_array().is_some_and(|a| a.is_empty())))
        });
    } else if let Value::Array(items) = v {
        items.iter_mut().for_each(prune);
    }
}
