//! Pipelines run by the server (issue 18): the same YAML as `stampede
//! pipeline run`, scheduled, gated and judged by `stampede_pipeline`'s one
//! implementation, with each stage's script run as an ordinary run through
//! the [`Orchestrator`](crate::orchestrator::Orchestrator) (so on the
//! in-process or Redis workers, under the starter's quotas), linked to its
//! pipeline by `StartedBy::Pipeline(id)`.
//!
//! A request names each stage's script either as a stored scenario
//! (`scenarios: {"smoke.js": 3}`) or inline (`files`: the script, its
//! modules and baselines by path). Everything is checked before anything
//! runs — the file's own checks with their lines, then the server's:
//! scenarios that exist, inline scripts that load, no process faults (they
//! would act on the server's host). Inline scripts are kept as scenarios
//! named `pipeline NAME: SCRIPT`, one new version when their content
//! changes, so their runs have a scenario like any other.
//!
//! While it runs, every stage change rewrites the pipeline's stored stages
//! and is published on the hub (`{"type": "pipeline", ...}`); at the end
//! the report (the pipeline crate's `PipelineReport`) is stored with the
//! verdict. A restart ends running pipelines as errored (`lib.rs`).
//!
//! A chaos stage's agent runs in this process; with Redis workers the
//! stage's run reaches it through the chaos relay (`chaos.rs`), served
//! from the run's start to its end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use stampede_pipeline::gate::Check;
use stampede_pipeline::load::line_of;
use stampede_pipeline::{
    Event, ExecFuture, Executed, Executor, Pipeline, PipelineReport, Problem, RunOptions, Source,
    StageJob,
};
use stampede_store::{
    NewPipeline, NewScenario, PipelineStatus, RunId, RunStatus, Scenario, ScenarioContent,
    ScenarioId, ScenarioUpdate, StartedBy, StoreError, StoredPipeline,
};
use tokio::sync::{mpsc, watch};

use crate::auth::Principal;
use crate::error::AppError;
use crate::orchestrator::StartRequest;
use crate::state::AppState;
use crate::{encode_files, scenario_files};

/// `POST /api/v1/pipelines`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineRequest {
    /// The pipeline YAML (as `stampede pipeline run` reads it).
    pub pipeline: String,
    /// Its name, over the file's `name` (default `pipeline`).
    #[serde(default)]
    pub name: Option<String>,
    /// Script paths the stages name → stored scenario ids.
    #[serde(default)]
    pub scenarios: BTreeMap<String, i64>,
    /// Inline files by path: scripts, their modules, baselines.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Variables over the file's (`-e`); only their names are stored.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Optional stages to run (`--include`).
    #[serde(default)]
    pub include: Vec<String>,
}

/// The running pipelines of this process: how to stop each.
#[derive(Default)]
pub struct Pipelines {
    running: Mutex<HashMap<i64, watch::Sender<bool>>>,
}

impl Pipelines {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<bool>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks pipeline `id` to stop: running stages stop gracefully, the rest
    /// are skipped. `false` when it does not run in this process.
    pub fn stop(&self, id: i64) -> bool {
        self.lock().get(&id).is_some_and(|tx| tx.send(true).is_ok())
    }
}

/// The 422 of an invalid pipeline: every problem, each with its line.
fn invalid(problems: &[Problem]) -> AppError {
    let message = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    AppError::unprocessable("invalid_pipeline", message).with_details(
        problems
            .iter()
            .map(|p| json!({"line": p.line, "message": p.message}))
            .collect(),
    )
}

/// A checked request: the pipeline and the scenario of each script.
struct Prepared {
    pipeline: Pipeline,
    scripts: BTreeMap<String, ScenarioId>,
}

/// Checks `req` as a whole before anything runs; stores the inline
/// scripts as scenarios only once everything passed.
async fn prepare(
    state: &AppState,
    who: &Principal,
    req: &PipelineRequest,
) -> Result<Prepared, AppError> {
    let source = Source::Files {
        files: req.files.clone(),
        external: req.scenarios.keys().cloned().collect(),
    };
    let mut pipeline = Pipeline::parse_from(&req.pipeline, source).map_err(|p| invalid(&p))?;
    if let Some(n) = &req.name {
        pipeline.name = n.clone();
    }
    if pipeline.name.trim().is_empty() {
        pipeline.name = "pipeline".into();
    }
    let text = &req.pipeline;
    let mut problems = Vec::new();
    let mut stored: BTreeMap<String, Scenario> = BTreeMap::new();
    for (path, id) in &req.scenarios {
        match state.store.scenario(ScenarioId(*id)).await {
            Ok(s) => {
                stored.insert(path.clone(), s);
            }
            Err(StoreError::NotFound { .. }) => problems.push(Problem {
                line: None,
                message: format!("`scenarios`: {path} names scenario {id}, which does not exist"),
            }),
            Err(e) => return Err(e.into()),
        }
    }
    let mut inline: BTreeSet<String> = BTreeSet::new();
    for (name, st) in pipeline.spec.stages.iter() {
        if req.scenarios.contains_key(&st.script) && req.files.contains_key(&st.script) {
            problems.push(Problem {
                line: line_of(text, name, Some("script")),
                message: format!(
                    "stage {name}: {} is given both in `scenarios` and in `files`",
                    st.script
                ),
            });
        } else if req.files.contains_key(&st.script) {
            inline.insert(st.script.clone());
        }
        if let Some(cfg) = &st.chaos {
            let env: Vec<(String, String)> = req.env.clone().into_iter().collect();
            let env = stampede_pipeline::run::merged_env(&pipeline.spec.env, &st.env, &env);
            let expanded = stampede_pipeline::run::expand_chaos(cfg, &env);
            for (proxy, spec) in &expanded.proxies {
                if let Err(why) = allowed_upstream(state, &spec.upstream).await {
                    problems.push(Problem {
                        line: line_of(text, name, Some("chaos")),
                        message: format!("stage {name}: proxy {proxy}: {why}"),
                    });
                }
            }
        }
        if st.chaos.as_ref().is_some_and(|c| !c.processes.is_empty()) {
            problems.push(Problem {
                line: line_of(text, name, Some("chaos")),
                message: format!(
                    "stage {name}: process faults act on the server's host and are not \
                     allowed in server pipelines (proxies are)"
                ),
            });
        }
    }
    let skipped_optional = |script: &str| -> bool {
        pipeline.spec.stages.iter().all(|(n, st)| {
            st.script != script || (st.optional && !req.include.iter().any(|i| i == n))
        })
    };
    // Inline scripts load, as a scenario's would (nothing runs but init code).
    for script in &inline {
        if skipped_optional(script) {
            continue;
        }
        if let Err(e) =
            crate::api::scenarios::validate_files(state, &req.files, script, &json!({})).await
        {
            let line = pipeline
                .spec
                .stages
                .iter()
                .find(|(_, st)| &st.script == script)
                .and_then(|(n, _)| line_of(text, n, Some("script")));
            problems.push(Problem {
                line,
                message: format!("{script}: {}", e.message),
            });
        }
    }
    if !problems.is_empty() {
        return Err(invalid(&problems));
    }
    let mut scripts: BTreeMap<String, ScenarioId> =
        stored.iter().map(|(p, s)| (p.clone(), s.id)).collect();
    for script in &inline {
        let id = keep_inline(state, who, &pipeline.name, script, &req.files).await?;
        scripts.insert(script.clone(), id);
    }
    Ok(Prepared { pipeline, scripts })
}

/// A chaos proxy forwards to its upstream from the server itself: like a
/// run's load, only to the networks the target allow-list allows.
async fn allowed_upstream(state: &AppState, upstream: &str) -> Result<(), String> {
    let allowed = crate::allow::parse(&state.config.allow_targets)?;
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(upstream)
        .await
        .map_err(|e| format!("upstream {upstream:?} does not resolve: {e}"))?
        .collect();
    match addrs
        .iter()
        .find(|a| !allowed.iter().any(|n| n.contains(a.ip())))
    {
        Some(a) => Err(format!(
            "upstream {upstream} ({}) is outside the server's allowed targets (--allow-target)",
            a.ip()
        )),
        None if addrs.is_empty() => Err(format!("upstream {upstream:?} does not resolve")),
        None => Ok(()),
    }
}

/// The scenario holding an inline script: created, or given a new version
/// when its files changed.
async fn keep_inline(
    state: &AppState,
    who: &Principal,
    pipeline: &str,
    script: &str,
    files: &BTreeMap<String, String>,
) -> Result<ScenarioId, AppError> {
    let name: String = format!("pipeline {pipeline}: {script}")
        .chars()
        .take(200)
        .collect();
    match state.store.scenario_by_name(&name).await {
        Ok(s) => {
            let same = s.content.entry == script
                && scenario_files(&s.content.archive).ok().as_ref() == Some(files);
            if !same {
                who.require_owner(s.owner_id, "scenario")?;
                state
                    .store
                    .update_scenario(
                        s.id,
                        &ScenarioUpdate {
                            saved_by: Some(who.id()),
                            archive: Some(encode_files(files)),
                            entry: Some(script.into()),
                            kind: Some(crate::api::scenarios::kind_of_entry(script)),
                            ..ScenarioUpdate::default()
                        },
                    )
                    .await?;
            }
            Ok(s.id)
        }
        Err(StoreError::NotFound { .. }) => {
            let s = state
                .store
                .create_scenario(&NewScenario {
                    owner_id: who.id(),
                    name,
                    description: format!("The script {script} of pipeline {pipeline}."),
                    tags: vec!["pipeline".into()],
                    content: ScenarioContent {
                        archive: encode_files(files),
                        entry: script.into(),
                        options: json!({}),
                        k6_archive: None,
                        kind: crate::api::scenarios::kind_of_entry(script),
                    },
                })
                .await?;
            Ok(s.id)
        }
        Err(e) => Err(e.into()),
    }
}

/// A stage's initial entry in the stored stages.
fn initial_stage(name: &str, st: &stampede_pipeline::StageSpec) -> Value {
    json!({
        "name": name,
        "kind": st.kind(name),
        "script": st.script,
        "needs": st.needs,
        "required": !st.optional,
        "state": "pending",
        "run_id": null,
    })
}

/// What changes a pipeline's stored stages.
enum Update {
    Event(Event),
    RunStarted(String, RunId),
}

/// Checks and starts a pipeline; returns it as stored (running).
pub async fn start(
    state: &Arc<AppState>,
    who: &Principal,
    req: &PipelineRequest,
) -> Result<StoredPipeline, AppError> {
    let Prepared { pipeline, scripts } = prepare(state, who, req).await?;
    let stages: Vec<Value> = pipeline
        .spec
        .stages
        .iter()
        .map(|(n, st)| initial_stage(n, st))
        .collect();
    let stored = state
        .store
        .create_pipeline(&NewPipeline {
            name: pipeline.name.clone(),
            user_id: Some(who.id()),
            spec: req.pipeline.clone(),
            request: json!({
                "scenarios": scripts.iter().map(|(p, s)| (p.clone(), s.0)).collect::<BTreeMap<_, _>>(),
                "files": req.files.keys().collect::<Vec<_>>(),
                "env_keys": req.env.keys().collect::<Vec<_>>(),
                "include": req.include,
            }),
            stages: Value::Array(stages.clone()),
        })
        .await?;
    let id = stored.id;
    let (stop_tx, stop) = watch::channel(false);
    state.pipelines.lock().insert(id, stop_tx);
    let (tx, rx) = mpsc::unbounded_channel();
    let executor = ServerExecutor {
        state: state.clone(),
        who: who.clone(),
        pipeline_id: id,
        scripts,
        updates: tx.clone(),
    };
    let on_event = {
        let tx = tx.clone();
        Arc::new(move |e: &Event| {
            let _ = tx.send(Update::Event(e.clone()));
        })
    };
    drop(tx);
    let opts = RunOptions {
        executor: Arc::new(executor),
        env: req.env.clone().into_iter().collect(),
        include: req.include.clone(),
        on_event,
        stop,
    };
    publish_on(&state.hub, &stored);
    let follower = tokio::spawn(follow(state.clone(), id, stages, rx));
    let state = state.clone();
    tokio::spawn(async move {
        let report = stampede_pipeline::run(&pipeline, opts).await;
        let stages = follower.await.unwrap_or_default();
        finish(&state, id, stages, &report).await;
        state.pipelines.lock().remove(&id);
    });
    Ok(stored)
}

/// Publishes a pipeline's state on the hub.
fn publish_on(hub: &crate::hub::Hub, p: &StoredPipeline) {
    hub.publish(
        None,
        json!({
            "type": "pipeline",
            "pipeline_id": p.id,
            "name": p.name,
            "status": p.status,
            "stages": p.stages,
            "error": p.error,
        }),
    );
}

/// Applies stage changes to the stored stages until the pipeline ends;
/// returns the final stages.
async fn follow(
    state: Arc<AppState>,
    id: i64,
    mut stages: Vec<Value>,
    mut rx: mpsc::UnboundedReceiver<Update>,
) -> Vec<Value> {
    while let Some(u) = rx.recv().await {
        let changed = apply(&mut stages, u);
        if !changed {
            continue;
        }
        let all = Value::Array(stages.clone());
        if let Err(e) = state.store.set_pipeline_stages(id, &all).await {
            tracing::error!(pipeline = id, error = %e, "cannot record the pipeline's stages");
        }
        state.hub.publish(
            None,
            json!({"type": "pipeline", "pipeline_id": id, "status": "running", "stages": all}),
        );
    }
    stages
}

/// Applies one change; whether anything changed.
fn apply(stages: &mut [Value], u: Update) -> bool {
    let find = |stages: &mut [Value], name: &str| -> Option<usize> {
        stages.iter().position(|s| s["name"] == name)
    };
    match u {
        Update::Event(Event::Started { name }) => {
            let Some(i) = find(stages, &name) else {
                return false;
            };
            stages[i]["state"] = "running".into();
        }
        Update::RunStarted(name, run) => {
            let Some(i) = find(stages, &name) else {
                return false;
            };
            stages[i]["run_id"] = json!(run.0);
        }
        Update::Event(Event::Ended(r)) => {
            let Some(i) = find(stages, &r.name) else {
                return false;
            };
            let needs = stages[i]["needs"].clone();
            let mut v = serde_json::to_value(&*r).unwrap_or_default();
            v["state"] = json!(r.outcome);
            v["needs"] = needs;
            if v["run_id"].is_null() {
                v["run_id"] = stages[i]["run_id"].clone();
            }
            stages[i] = v;
        }
        Update::Event(Event::Progress { .. }) => return false,
    }
    true
}

/// Stores the verdict and report of an ended pipeline.
async fn finish(state: &AppState, id: i64, stages: Vec<Value>, report: &PipelineReport) {
    let (status, error) = if report.passed {
        (PipelineStatus::Passed, None)
    } else if report.interrupted {
        (PipelineStatus::Aborted, Some("stopped through the API"))
    } else {
        (PipelineStatus::Failed, None)
    };
    let report = serde_json::to_value(report).unwrap_or_default();
    match state
        .store
        .finish_pipeline(id, status, &Value::Array(stages), Some(&report), error)
        .await
    {
        Ok(p) => publish_on(&state.hub, &p),
        Err(e) => tracing::error!(pipeline = id, error = %e, "cannot record the pipeline's end"),
    }
}

/// Runs each stage's script as a server run of its scenario.
struct ServerExecutor {
    state: Arc<AppState>,
    who: Principal,
    pipeline_id: i64,
    scripts: BTreeMap<String, ScenarioId>,
    updates: mpsc::UnboundedSender<Update>,
}

/// How often a stage's run is re-read besides its hub messages.
const RECHECK: Duration = Duration::from_secs(2);

impl Executor for ServerExecutor {
    fn execute(&self, job: StageJob) -> ExecFuture {
        let state = self.state.clone();
        let who = self.who.clone();
        let pipeline_id = self.pipeline_id;
        let scenario = self.scripts.get(&job.spec.script).copied();
        let updates = self.updates.clone();
        Box::pin(async move {
            let Some(scenario) = scenario else {
                return Executed {
                    results: Some(Err(Check::failed(
                        "run",
                        format!("no scenario for {}", job.spec.script),
                    ))),
                    ..Executed::default()
                };
            };
            match run_stage(&state, &who, pipeline_id, scenario, job, &updates).await {
                Ok(e) => e,
                Err(check) => Executed {
                    results: Some(Err(check)),
                    ..Executed::default()
                },
            }
        })
    }
}

/// Starts the stage's run, follows it to its end (stopping it when the
/// pipeline stops, aborting it at its timeout) and reads its results.
async fn run_stage(
    state: &AppState,
    who: &Principal,
    pipeline_id: i64,
    scenario: ScenarioId,
    mut job: StageJob,
    updates: &mpsc::UnboundedSender<Update>,
) -> Result<Executed, Check> {
    let scenario = state
        .store
        .scenario(scenario)
        .await
        .map_err(|e| Check::failed("run", e.to_string()))?;
    let o = &job.spec.options;
    let relay = crate::chaos::StageRelay::of(state.config.redis.as_deref(), &job);
    let req = StartRequest {
        vus: o.vus.map(|v| v as i64),
        duration: o.duration.clone(),
        iterations: o.iterations.map(|v| v as i64),
        env: Some(job.env.iter().cloned().collect()),
        started_by: Some(StartedBy::Pipeline(pipeline_id.to_string())),
        chaos_relay: relay.is_some(),
        ..StartRequest::default()
    };
    let mut hub = state.hub.subscribe();
    let id = state
        .orchestrator
        .start(who, &scenario, &req)
        .await
        .map_err(|e| Check::failed("run", format!("the run could not start: {}", e.message)))?;
    // Ends with the run (dropped on an early return: its presence lapses).
    let relay = match relay.map(|r| r.serve(id)).transpose() {
        Ok(r) => r,
        Err(e) => {
            state.orchestrator.abort(id);
            return Err(Check::failed(
                "chaos",
                format!("the chaos relay could not start: {e}"),
            ));
        }
    };
    let _ = updates.send(Update::RunStarted(job.name.clone(), id));
    let deadline = job
        .timeout
        .map(|t| tokio::time::Instant::now() + t)
        .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600));
    let mut ticker = tokio::time::interval(RECHECK);
    let mut timed_out = false;
    let mut stopping = false;
    let mut check = true;
    loop {
        if check {
            let run = state
                .store
                .run(id)
                .await
                .map_err(|e| Check::failed("run", e.to_string()))?;
            if run.status.is_terminal() {
                break;
            }
        }
        check = false;
        tokio::select! {
            m = hub.recv() => {
                // Its own messages, or any sign of missed ones.
                check = m.map_or(true, |m| m.run_id == Some(id));
            }
            _ = ticker.tick() => check = true,
            _ = tokio::time::sleep_until(deadline), if !timed_out => {
                timed_out = true;
                state.orchestrator.abort(id);
            }
            r = job.stop.changed(), if !stopping => {
                if r.is_err() || *job.stop.borrow() {
                    stopping = true;
                    state.orchestrator.stop(id);
                }
            }
        }
    }
    if let Some(relay) = relay {
        relay.stop().await;
    }
    let run = state
        .store
        .run(id)
        .await
        .map_err(|e| Check::failed("run", e.to_string()))?;
    let mut out = Executed {
        run_id: Some(run.id.0),
        exit_code: run.exit_code.map(|c| c as i32),
        html: Some(format!("/api/v1/export/{}?format=html", run.id)),
        ..Executed::default()
    };
    if timed_out {
        out.results = Some(Err(Check::failed(
            "timeout",
            format!(
                "the stage ran past its timeout of {} and was aborted",
                job.spec.timeout.as_deref().unwrap_or("")
            ),
        )));
        return Ok(out);
    }
    if run.status == RunStatus::Errored {
        out.results = Some(Err(Check::failed(
            "run",
            format!(
                "run {} errored: {}",
                run.id,
                run.error.as_deref().unwrap_or("no reason given")
            ),
        )));
        return Ok(out);
    }
    out.results = Some(
        crate::api::exports::load(state, run.id.0)
            .await
            .map(|(_, _, mut results)| {
                crate::chaos::from_test_start(&mut results);
                results
            })
            .map_err(|e| Check::failed("run", format!("run {}: {}", run.id, e.message))),
    );
    Ok(out)
}
