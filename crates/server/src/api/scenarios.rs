//! Scenarios: CRUD (every save keeps a version) and `start`.
//!
//! A scenario is a script (one file, several by relative path, or a k6
//! archive with binary files and remote modules, as `stampede submit`
//! uploads it) plus default options. Creating or changing one loads it with
//! the engine in a validate-only segment, so a script that does not compile
//! is a 422 with file:line:col and nothing is stored. An archive is kept
//! whole per version; its entry script is also kept as text for the
//! editor, and a `script` edit replaces it inside the archive.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use stampede_cluster::SegmentJob;
use stampede_store::{
    NewScenario, Paged, Role, Scenario, ScenarioContent, ScenarioFilter, ScenarioId,
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
#[derive(Deserialize)]
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
}

/// What a body gives a run to execute.
enum Content {
    /// Text files by path, and the entry script's path.
    Files(BTreeMap<String, String>, String),
    /// A k6 archive (boxed: it is much larger than a file map).
    Archive(Box<Upload>),
}

/// The content of a body, if it carries a script (exactly one of
/// `script`, `files` and `archive`).
fn content_of(body: &ScenarioBody) -> Result<Option<Content>, AppError> {
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
    match (&body.script, &body.files) {
        (Some(s), _) => {
            let entry = body.entry.clone().unwrap_or_else(|| "script.js".into());
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

/// Loads the script with its options (nothing runs but its init code, in a
/// child process).
async fn validate(state: &AppState, content: &Content, options: &Value) -> Result<(), AppError> {
    check_options(options)?;
    let job = content.job(options);
    state.orchestrator.validate(&job).await.map(|_| ())
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
    let content = content_of(&body)?.ok_or_else(|| {
        AppError::unprocessable(
            "invalid_body",
            "a scenario needs `script`, `files` or `archive`",
        )
    })?;
    let options = body.options.clone().unwrap_or(json!({}));
    validate(&state, &content, &options).await?;
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    name: Option<String>,
    tag: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// Lists scenarios.
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
    let mut content = content_of(&body)?;
    if let (Some(script), Some(_)) = (&body.script, &current.content.k6_archive) {
        // A script edit of an archived scenario (the editor shows its entry
        // script) keeps the archive's modules and files.
        if let Content::Archive(archived) = current_content(&current.content)? {
            let archive = archived.archive.with_main_source(script.as_str().into());
            content = Some(Content::Archive(Box::new(Upload::check(archive.to_tar())?)));
        }
    }
    let options = body
        .options
        .clone()
        .unwrap_or_else(|| current.content.options.clone());
    match &content {
        Some(c) => validate(&state, c, &options).await?,
        None => validate(&state, &current_content(&current.content)?, &options).await?,
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
