//! The run view's data contract (`stampede_web::contract`) for the
//! server's runs, live and stored: `GET /api/v1/runs/{id}/live` (the
//! `RunState`), `GET /api/v1/runs/{id}/live/metrics?after=SEQ` (a
//! `MetricsPage`) and `GET /api/v1/ws?run={id}` (`LiveMessage`s).
//!
//! The figures come from the store's intervals, folded by the same
//! [`LiveRun`] that `stampede run --web-dashboard` uses, so a page shows
//! the same numbers whoever serves it. A run's fold is cached ([`Views`])
//! and extended with the intervals stored since the last request; once the
//! run has ended the fold is complete and never read again. The live
//! socket does not parse the hub's messages: each message about its run
//! only tells it to extend the fold and send the points it has not sent.
//! Intervals are read in order of their start; a later rewrite of an
//! interval already folded (none happens with one segment) is not seen
//! until the fold is evicted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use stampede_metrics::thresholds::Thresholds;
use stampede_metrics::Registry;
use stampede_store::{Run, RunId};
use stampede_web::{IntervalPoint, LiveMessage, LiveRun, MetricsPage, RunState, ScenarioState};
use tokio::sync::broadcast::error::RecvError;

use super::{ApiPath, ApiQuery};
use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// Folds kept at once; the least recently created one goes first.
const MAX_VIEWS: usize = 64;

/// One run's fold.
struct View {
    live: LiveRun,
    registry: Arc<Registry>,
    /// The start (ms) of the next interval to read.
    next_ms: Option<i64>,
    /// The run had ended when the fold was last extended.
    complete: bool,
}

/// A run's fold, locked while it is extended or read.
type Shared = Arc<tokio::sync::Mutex<View>>;

/// The cache of run folds.
#[derive(Default)]
pub struct Views {
    /// The folds, and their runs in the order they were created.
    map: Mutex<(HashMap<RunId, Shared>, VecDeque<RunId>)>,
}

impl Views {
    fn entry(&self, run: &Run, script: String) -> Result<Shared, AppError> {
        let mut guard = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if let Some(v) = map.get(&run.id) {
            return Ok(v.clone());
        }
        let specs = stampede_output::export::thresholds_from_options(&run.options)
            .map_err(|e| AppError::unprocessable("invalid_thresholds", e.to_string()))?;
        let registry = Arc::new(Registry::new());
        let live = LiveRun::new(
            &run.id.to_string(),
            Some(script),
            registry.clone(),
            specs,
            Duration::from_secs(1),
        );
        let view = Arc::new(tokio::sync::Mutex::new(View {
            live,
            registry,
            next_ms: None,
            complete: false,
        }));
        if order.len() >= MAX_VIEWS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        map.insert(run.id, view.clone());
        order.push_back(run.id);
        Ok(view)
    }

    /// Brings the fold of run `id` up to date and hands it over locked.
    async fn sync(
        &self,
        state: &AppState,
        id: RunId,
    ) -> Result<tokio::sync::OwnedMutexGuard<View>, AppError> {
        // The run first: once it reads as ended, every interval is stored.
        let run = state.store.run(id).await?;
        let script = state
            .store
            .scenario(run.scenario_id)
            .await
            .map(|s| s.name)
            .unwrap_or_else(|_| format!("scenario {}", run.scenario_id));
        let mut v = self.entry(&run, script)?.lock_owned().await;
        if v.complete {
            return Ok(v);
        }
        let rows = state.store.intervals(id, v.next_ms, None).await?;
        let mut snaps = Vec::with_capacity(rows.len());
        for row in &rows {
            let snap = row
                .snapshot
                .clone()
                .into_snapshot(&v.registry)
                .map_err(|e| AppError::unprocessable("invalid_metrics", e.to_string()))?;
            snaps.push(snap);
        }
        v.live.extend(&snaps);
        if let Some(last) = rows.last() {
            v.next_ms = Some(last.start_ms + 1);
        }
        if let Some(p) = state.orchestrator.progress(id) {
            let scenarios = if p.scenarios.is_empty() {
                // A runner that reports totals only.
                vec![ScenarioState {
                    name: "all scenarios".into(),
                    executor: format!("{} VUs initialized", p.max_vus),
                    elapsed_s: p.elapsed_s,
                    active_vus: p.active_vus,
                    max_vus: p.max_vus,
                    completed: p.completed,
                    interrupted: p.interrupted,
                    ..ScenarioState::default()
                }]
            } else {
                p.scenarios.iter().map(scenario_state).collect()
            };
            let elapsed = Duration::try_from_secs_f64(p.elapsed_s).unwrap_or_default();
            v.live.set_progress(scenarios, elapsed);
        }
        let status = web_status(&run);
        if status.is_final() {
            let code = run.exit_code.and_then(|c| i32::try_from(c).ok());
            v.live.finish(
                status,
                code.unwrap_or(0),
                run.error.clone(),
                &Thresholds::default(),
            );
            let done: Vec<ScenarioState> = v
                .live
                .state()
                .scenarios
                .iter()
                .map(|s| ScenarioState {
                    fraction: 1.0,
                    finished: true,
                    ..s.clone()
                })
                .collect();
            let elapsed = Duration::try_from_secs_f64(v.live.state().elapsed_s).unwrap_or_default();
            v.live.set_progress(done, elapsed);
            v.complete = true;
        } else {
            v.live.set_status(status);
        }
        Ok(v)
    }

    /// The run's state and the points after `after` (all without it).
    pub async fn page(
        &self,
        state: &AppState,
        id: RunId,
        after: Option<u64>,
    ) -> Result<(RunState, MetricsPage), AppError> {
        let v = self.sync(state, id).await?;
        Ok((v.live.state().clone(), v.live.page(after)))
    }

    /// The run's state alone.
    pub async fn state(&self, state: &AppState, id: RunId) -> Result<RunState, AppError> {
        Ok(self.sync(state, id).await?.live.state().clone())
    }
}

/// A scenario's live progress in the contract's terms.
fn scenario_state(s: &stampede_cluster::ScenarioProgress) -> ScenarioState {
    ScenarioState {
        name: s.name.clone(),
        executor: s.executor.clone(),
        fraction: s.fraction,
        elapsed_s: s.elapsed_s,
        duration_s: s.duration_s,
        active_vus: s.active_vus,
        max_vus: s.max_vus,
        completed: s.completed,
        interrupted: s.interrupted,
        finished: s.finished,
    }
}

/// The store's status in the contract's terms (the same words).
fn web_status(run: &Run) -> stampede_web::RunStatus {
    serde_json::to_value(run.status)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// `GET /api/v1/runs/{id}/live`: the run view's `RunState`.
#[utoipa::path(
    get, path = "/api/v1/runs/{id}/live",
    tag = "live",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The run view's state (`stampede_web::RunState`).", body = Object),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn run_state(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RunState>, AppError> {
    Ok(Json(state.views.state(&state, RunId(id)).await?))
}

/// `?after=SEQ`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AfterQuery {
    after: Option<u64>,
}

/// `GET /api/v1/runs/{id}/live/metrics?after=SEQ`: the points after `SEQ`,
/// all without it.
#[utoipa::path(
    get, path = "/api/v1/runs/{id}/live/metrics",
    tag = "live",
    description = "Role: viewer.",
    params(("id" = i64, Path, description = "The run's id."), AfterQuery),
    responses(
        (status = 200, description = "The run view's points after `after` (`stampede_web::MetricsPage`).", body = Object),
        (status = 404, description = "No such run.", body = super::openapi::ErrorBody),
    )
)]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    _who: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<AfterQuery>,
) -> Result<Json<MetricsPage>, AppError> {
    let (_, page) = state.views.page(&state, RunId(id), q.after).await?;
    Ok(Json(page))
}

fn text(msg: &LiveMessage) -> Message {
    Message::Text(
        serde_json::to_string(msg)
            .expect("live messages serialize")
            .into(),
    )
}

/// The messages that bring a client up to `run` with the new `points`.
fn messages(run: &RunState, points: Vec<IntervalPoint>) -> Vec<LiveMessage> {
    if points.is_empty() {
        return vec![LiveMessage::Run {
            run_id: run.id.clone(),
            run: run.clone(),
        }];
    }
    points
        .into_iter()
        .map(|point| LiveMessage::Interval {
            run_id: run.id.clone(),
            point,
            run: run.clone(),
        })
        .collect()
}

/// Streams run `id`'s `LiveMessage`s until it has ended and everything
/// has been sent (then closes with 1000), the client leaves, or it falls
/// behind the hub (closed with 1013: it resumes by reconnecting).
pub async fn stream(state: Arc<AppState>, id: RunId, mut socket: WebSocket) {
    let mut rx = state.hub.subscribe();
    // The client fetches the history itself: start from the current state.
    let Ok(first) = state.views.state(&state, id).await else {
        return;
    };
    let mut sent = first.last_seq;
    let mut last: Option<RunState> = None;
    let mut wake = true;
    loop {
        if wake {
            wake = false;
            let Ok((run, page)) = state.views.page(&state, id, sent).await else {
                return;
            };
            let changed = last.as_ref() != Some(&run);
            if changed || !page.points.is_empty() {
                if let Some(p) = page.points.last() {
                    sent = Some(p.seq);
                }
                for m in messages(&run, page.points) {
                    if socket.send(text(&m)).await.is_err() {
                        return;
                    }
                }
            }
            let over = run.status.is_final();
            last = Some(run);
            if over {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "the run has ended".into(),
                    })))
                    .await;
                return;
            }
        }
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(m) => wake = m.run_id == Some(id),
                Err(RecvError::Lagged(_)) => {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1013,
                            reason: "too slow: resume from the metrics".into(),
                        })))
                        .await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_store_status_has_the_same_word_in_the_contract() {
        for s in stampede_store::RunStatus::ALL {
            let web = serde_json::to_value(
                serde_json::from_value::<stampede_web::RunStatus>(serde_json::to_value(s).unwrap())
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(web, serde_json::to_value(s).unwrap());
            assert_eq!(
                s.is_terminal(),
                serde_json::from_value::<stampede_web::RunStatus>(web)
                    .unwrap()
                    .is_final()
            );
        }
    }
}
