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
//!
//! An ended run's fold is stored once complete (`Store::put_run_view`,
//! issue 16): its state and points, [`VIEW_FORMAT`]. Its page is then
//! served from that one row instead of folding every interval again (an
//! hour of 1 s intervals with 20 endpoints takes seconds to fold). The
//! leader computes the views of ended runs that have none in the
//! background ([`spawn_backfill`]), so a run's page is ready when it ends,
//! and runs that ended before this existed get theirs once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
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

/// The shape of the stored views (`Store::put_run_view`): bump it when
/// what a view holds or how it is computed changes, and every view is
/// computed again from the intervals.
pub const VIEW_FORMAT: i64 = 1;

/// An ended run's stored view: what the page reads.
#[derive(Deserialize)]
struct StoredView {
    state: RunState,
    points: Vec<IntervalPoint>,
}

/// [`StoredView`] as it is written, borrowed from the fold.
#[derive(Serialize)]
struct StoredViewRef<'a> {
    state: &'a RunState,
    points: &'a [IntervalPoint],
}

/// One run's fold.
struct View {
    live: LiveRun,
    registry: Arc<Registry>,
    /// The start (ms) of the next interval to read.
    next_ms: Option<i64>,
    /// The run had ended when the fold was last extended.
    complete: bool,
    /// An ended run's view read from the store (then `live` is unused).
    stored: Option<StoredView>,
}

impl View {
    fn new(run: &Run, script: String) -> Result<View, AppError> {
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
        Ok(View {
            live,
            registry,
            next_ms: None,
            complete: false,
            stored: None,
        })
    }

    fn state(&self) -> &RunState {
        match &self.stored {
            Some(s) => &s.state,
            None => self.live.state(),
        }
    }

    fn page(&self, after: Option<u64>) -> MetricsPage {
        match &self.stored {
            Some(s) => MetricsPage::after(&s.state.id, s.state.interval_ms, &s.points, after),
            None => self.live.page(after),
        }
    }

    /// Reads an ended run's stored view, if it has one that parses.
    async fn load(&mut self, state: &AppState, id: RunId, script: &str) -> bool {
        let json = match state.store.run_view(id, VIEW_FORMAT).await {
            Ok(Some(json)) => json,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "stored view unreadable: folding the intervals");
                return false;
            }
        };
        match serde_json::from_slice::<StoredView>(&json) {
            Ok(mut v) => {
                // The scenario may have been renamed since.
                v.state.script = Some(script.to_owned());
                self.stored = Some(v);
                self.complete = true;
                true
            }
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "stored view malformed: folding the intervals");
                false
            }
        }
    }

    /// Brings the fold up to `run` (read before its intervals); stores the
    /// view once the run has ended. True when it stored the view now.
    async fn extend(
        &mut self,
        state: &AppState,
        run: &Run,
        script: &str,
    ) -> Result<bool, AppError> {
        let id = run.id;
        let status = web_status(run);
        if status.is_final() && self.next_ms.is_none() && self.load(state, id, script).await {
            return Ok(false);
        }
        let rows = state.store.intervals(id, self.next_ms, None).await?;
        let mut snaps = Vec::with_capacity(rows.len());
        for row in rows.iter() {
            let snap = row
                .snapshot
                .clone()
                .into_snapshot(&self.registry)
                .map_err(|e| AppError::unprocessable("invalid_metrics", e.to_string()))?;
            snaps.push(snap);
        }
        self.live.extend(&snaps);
        if let Some(last) = rows.last() {
            self.next_ms = Some(last.start_ms + 1);
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
            self.live.set_progress(scenarios, elapsed);
        }
        if !status.is_final() {
            self.live.set_status(status);
            return Ok(false);
        }
        let code = run.exit_code.and_then(|c| i32::try_from(c).ok());
        self.live.finish(
            status,
            code.unwrap_or(0),
            run.error.clone(),
            &Thresholds::default(),
        );
        let done: Vec<ScenarioState> = self
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
        let elapsed = Duration::try_from_secs_f64(self.live.state().elapsed_s).unwrap_or_default();
        self.live.set_progress(done, elapsed);
        self.complete = true;
        let view = StoredViewRef {
            state: self.live.state(),
            points: self.live.points(),
        };
        let json = serde_json::to_vec(&view).expect("a view serializes");
        match state.store.put_run_view(id, VIEW_FORMAT, &json).await {
            Ok(()) => Ok(true),
            Err(e) => {
                // The page is served all the same; the next fold tries again.
                tracing::warn!(run = %id, error = %e, "could not store the run's view");
                Ok(false)
            }
        }
    }
}

/// The name the page shows for `run`: its scenario's.
async fn script_name(state: &AppState, run: &Run) -> String {
    state
        .store
        .scenario(run.scenario_id)
        .await
        .map(|s| s.name)
        .unwrap_or_else(|_| format!("scenario {}", run.scenario_id))
}

/// How often the leader looks for ended runs without a stored view.
const BACKFILL_EVERY: Duration = Duration::from_secs(2);

/// Runs whose view is computed per pass, at most.
const BACKFILL_BATCH: u32 = 8;

/// On the leader, computes and stores the views of ended runs that have
/// none, a few per pass: a run's page is ready soon after it ends, and
/// one that ended before views were stored gets its view once. The folds
/// are not cached (pages read the stored rows). A run whose view cannot be
/// computed or stored is not tried again until the server restarts.
pub fn spawn_backfill(state: Arc<AppState>, leader: Arc<dyn crate::schedules::Leadership>) {
    tokio::spawn(async move {
        let mut failed: HashSet<RunId> = HashSet::new();
        let mut tick = tokio::time::interval(BACKFILL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !leader.is_leader() {
                continue;
            }
            let limit =
                BACKFILL_BATCH.saturating_add(u32::try_from(failed.len()).unwrap_or(u32::MAX));
            let runs = match state.store.runs_without_view(VIEW_FORMAT, limit).await {
                Ok(runs) => runs,
                Err(e) => {
                    tracing::warn!(error = %e, "looking for runs without a stored view");
                    continue;
                }
            };
            let todo: Vec<RunId> = runs
                .into_iter()
                .filter(|r| !failed.contains(r))
                .take(BACKFILL_BATCH as usize)
                .collect();
            for id in todo {
                match backfill(&state, id).await {
                    Ok(true) => tracing::debug!(run = %id, "stored the run's view"),
                    Ok(false) => {
                        failed.insert(id);
                    }
                    Err(e) => {
                        tracing::warn!(run = %id, error = %e.message, "could not compute the run's view");
                        failed.insert(id);
                    }
                }
            }
        }
    });
}

/// Computes and stores one ended run's view; true when stored.
async fn backfill(state: &AppState, id: RunId) -> Result<bool, AppError> {
    let run = state.store.run(id).await?;
    let script = script_name(state, &run).await;
    View::new(&run, script.clone())?
        .extend(state, &run, &script)
        .await
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
        let view = Arc::new(tokio::sync::Mutex::new(View::new(run, script)?));
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
        let script = script_name(state, &run).await;
        let mut v = self.entry(&run, script.clone())?.lock_owned().await;
        if !v.complete {
            v.extend(state, &run, &script).await?;
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
        Ok((v.state().clone(), v.page(after)))
    }

    /// The run's state alone.
    pub async fn state(&self, state: &AppState, id: RunId) -> Result<RunState, AppError> {
        Ok(self.sync(state, id).await?.state().clone())
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
