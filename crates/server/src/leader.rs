//! Several `stampede server` replicas (`--redis`, with PostgreSQL as the
//! shared store): one leader orchestrates, schedules, evaluates alerts and
//! enforces retention; every replica serves the API and the live
//! WebSocket.
//!
//! - **Election.** Each replica tries every second to take the Redis lease
//!   ([`LeaderLease`]: 5 s TTL, renewed every second). A new leader first
//!   announces its fencing token to the store (`Store::advance_fence`);
//!   the server's store handle is fenced with that token, so a run state
//!   change, a merged interval or a schedule fire of a stale leader fails
//!   in the store once a newer leader announced itself — the safety does
//!   not rest on clocks or on the lease's TTL. The lease only elects.
//! - **Runs.** A replica that accepts a start queues the run on the
//!   [`RunBoard`]; the leader supervises every run on the board. A leader
//!   that takes over finds runs a previous leader was supervising: it
//!   adopts them from the common start recorded on the board, and the
//!   Redis transport follows the segment leases recorded for the run,
//!   replaying their event streams from the first event onto a merge
//!   seeded with the intervals already stored, so it is rebuilt exactly
//!   (each (segment, interval) once) while the workers keep running. The
//!   leader puts its runs back on the board if a Redis restart emptied it.
//!   Stop and abort asked through a follower go to the leader over pub/sub.
//! - **Stepping down.** A leader whose lease another replica now holds
//!   exits (code 3) when it still supervises runs: its runs continue on
//!   the new leader, and exiting is the one way to drop them without
//!   stopping their workers. Run it under a supervisor (Kubernetes, systemd)
//!   that restarts it; it comes back as a follower. A leader that merely
//!   cannot reach Redis keeps supervising (its writes stay valid until
//!   another leader announces a newer token) and takes the lease again
//!   when Redis returns. Stopped (SIGTERM), it gives the lease up at once.
//! - **Live data.** Every message of a replica's hub is relayed on
//!   `stampede:hub` and delivered by the others to their subscribers.
//! - **Platform probe.** The leader's alerts read the workers' heartbeats
//!   (CPU, memory, count) through [`FleetProbe`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stampede_cluster::redis::ha::{
    LeaderLease, QueuedRun, RunBoard, RunControl, HUB_CHANNEL, RUN_CONTROL_CHANNEL,
};
use stampede_cluster::{Control, Progress, Transport};
use stampede_store::{Fence, Page, RunEnd, RunFilter, RunId, RunStatus, Store, INTERRUPTED};

use crate::alerts::eval::WorkerSample;
use crate::alerts::PlatformProbe;
use crate::hub::Hub;
use crate::orchestrator::Orchestrator;
use crate::schedules::Leadership;

/// How long the lease lives without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often it is renewed (or tried for).
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// A leader counts itself one no longer than this before the lease's end
/// (Redis and this host's clocks may drift apart a little).
const MARGIN: Duration = Duration::from_secs(1);
/// How often the leader looks at the board.
const BOARD_POLL: Duration = Duration::from_millis(500);
/// How often (in board polls: 30 s) the leader ends runs nobody carries.
const SWEEP_EVERY: u32 = 60;
/// A run not on the board is interrupted only when older than this (a
/// replica may be between creating it and queueing it).
const UNQUEUED_GRACE: Duration = Duration::from_secs(60);
/// Exit code of a leader that lost its lease to another replica.
pub const STEPPED_DOWN: i32 = 3;

/// A replica's id: host name, process id and a random suffix.
pub fn replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "server".into());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// The Redis lease as the scheduler's, alerts' and retention's seam.
pub struct RedisLeadership {
    lease: LeaderLease,
    token: Fence,
    valid_until: Mutex<Option<Instant>>,
    /// Shutting down: never leads again.
    retired: AtomicBool,
}

impl Leadership for RedisLeadership {
    fn is_leader(&self) -> bool {
        self.valid_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| Instant::now() < t)
    }
}

/// What one round of the lease did.
#[derive(Debug, PartialEq)]
enum Round {
    Became,
    Kept,
    Follower,
    /// Another replica holds the lease now.
    Lost,
}

impl RedisLeadership {
    /// The seam over `lease`; `token` is the fence of the server's store.
    pub fn new(lease: LeaderLease, token: Fence) -> Arc<Self> {
        Arc::new(Self {
            lease,
            token,
            valid_until: Mutex::new(None),
            retired: AtomicBool::new(false),
        })
    }

    /// At shutdown: stops leading and gives the lease up (if held), so
    /// another replica takes it at its next round instead of after the
    /// TTL. What this process still writes is fenced off once the next
    /// leader announces itself.
    pub async fn step_down(&self) {
        self.retired.store(true, Ordering::SeqCst);
        let held = self
            .valid_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some();
        if held {
            match self.lease.release(self.token()).await {
                Ok(()) => tracing::info!("this server stops: it gave the leader lease up"),
                Err(e) => tracing::warn!(error = %e, "cannot give the leader lease up"),
            }
        }
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        self.lease.replica()
    }

    /// The fencing token this replica last led with (0: never led).
    pub fn token(&self) -> i64 {
        self.token.load(Ordering::SeqCst)
    }

    fn set_until(&self, t: Option<Instant>) {
        *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Renews the lease, or tries to take it.
    async fn round(&self, store: &Store) -> Round {
        if self.retired.load(Ordering::SeqCst) {
            return Round::Follower;
        }
        let sent = Instant::now();
        let token = self.token();
        let held = self
            .valid_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if held {
            match self.lease.renew(token).await {
                Ok(true) => {
                    self.set_until(Some(sent + LEASE_TTL - MARGIN));
                    return Round::Kept;
                }
                Ok(false) => {
                    self.set_until(None);
                    match self.lease.holder().await {
                        Ok(Some((_, other))) if other != self.replica() => return Round::Lost,
                        // Expired or emptied (Redis restarted): take it again.
                        _ => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the leader lease");
                    if !self.is_leader() {
                        self.set_until(None);
                    }
                    return Round::Kept;
                }
            }
        }
        let floor = match store.fence_token().await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the leader fence");
                return Round::Follower;
            }
        };
        match self.lease.try_acquire(floor).await {
            Ok(Some(t)) => match store.advance_fence(t).await {
                Ok(true) => {
                    self.token.store(t, Ordering::SeqCst);
                    self.set_until(Some(sent + LEASE_TTL - MARGIN));
                    tracing::info!(replica = self.replica(), token = t, "this server leads");
                    if held {
                        Round::Kept
                    } else {
                        Round::Became
                    }
                }
                other => {
                    tracing::warn!(?other, token = t, "the store refused the leader token");
                    let _ = self.lease.release(t).await;
                    Round::Follower
                }
            },
            Ok(None) => Round::Follower,
            Err(e) => {
                tracing::debug!(error = %e, "cannot try the leader lease");
                Round::Follower
            }
        }
    }
}

/// Everything a replica runs for several servers.
pub struct Replica {
    /// The lease.
    pub leadership: Arc<RedisLeadership>,
    board: RunBoard,
    store: Store,
    orchestrator: Arc<Orchestrator>,
    hub: Hub,
    /// What the board says of the runs supervised here (job, start), to
    /// put them back on it after Redis restarted empty.
    carried: Mutex<HashMap<RunId, (QueuedRun, Option<u64>)>>,
}

impl Replica {
    /// Connects the lease and the board; the first election round runs
    /// here, so a lone server leads from its first request.
    pub async fn connect(
        url: &str,
        store: Store,
        token: Fence,
        orchestrator: Arc<Orchestrator>,
        hub: Hub,
    ) -> Result<Arc<Self>, String> {
        let lease = LeaderLease::connect(url, &replica_id(), LEASE_TTL)
            .await
            .map_err(|e| e.to_string())?;
        let board = RunBoard::connect(url).await.map_err(|e| e.to_string())?;
        orchestrator.set_board(board.clone());
        let me = Arc::new(Self {
            leadership: RedisLeadership::new(lease, token),
            board,
            store,
            orchestrator,
            hub,
            carried: Mutex::default(),
        });
        if me.leadership.round(&me.store).await == Round::Became {
            me.sweep().await;
        }
        Ok(me)
    }

    /// Starts the election, the board, control and hub relays.
    pub fn spawn(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RENEW_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match me.leadership.round(&me.store).await {
                    Round::Became => me.sweep().await,
                    Round::Lost if me.orchestrator.live_count() > 0 => {
                        tracing::error!(
                            "another server took the leader lease while this one supervised runs: \
                             exiting so that they continue there (restart this server: it rejoins as a follower)"
                        );
                        std::process::exit(STEPPED_DOWN);
                    }
                    Round::Lost => tracing::warn!("another server leads now"),
                    Round::Kept | Round::Follower => {}
                }
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(BOARD_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut polls = 0u32;
            loop {
                tick.tick().await;
                if me.leadership.is_leader() {
                    me.take_board().await;
                    polls += 1;
                    if polls.is_multiple_of(SWEEP_EVERY) {
                        me.sweep().await;
                    }
                }
            }
        });
        let me = self.clone();
        tokio::spawn(async move {
            let orch = me.orchestrator.clone();
            me.board
                .listen(RUN_CONTROL_CHANNEL, |text| {
                    if let Ok(c) = serde_json::from_str::<RunControl>(&text) {
                        if let Ok(id) = c.run.parse::<i64>().map(RunId) {
                            // Only where it runs: never passed on again.
                            if orch.is_live(id) {
                                match c.control {
                                    Control::Abort => orch.abort(id),
                                    _ => orch.stop(id),
                                };
                            }
                        }
                    }
                    true
                })
                .await
        });
        if let Some(mut out) = self.hub.fan_out() {
            let me = self.clone();
            tokio::spawn(async move {
                while let Some(m) = out.recv().await {
                    let envelope = json!({
                        "origin": me.leadership.replica(),
                        "run_id": m.run_id,
                        "text": m.text,
                    });
                    if let Err(e) = me.board.publish_hub(&envelope.to_string()).await {
                        tracing::debug!(error = %e, "cannot relay a live message");
                    }
                }
            });
            let me = self.clone();
            tokio::spawn(async move {
                let mine = me.leadership.replica().to_string();
                let hub = me.hub.clone();
                let orch = me.orchestrator.clone();
                me.board
                    .listen(HUB_CHANNEL, |text| {
                        if let Some((run, text)) = relayed(&text, &mine) {
                            if let Some((id, p)) = run.and_then(|id| live_progress(id, &text)) {
                                orch.note_relayed(id, p);
                            }
                            hub.deliver(run, text);
                        }
                        true
                    })
                    .await
            });
        }
    }

    /// Supervises the board's runs not supervised here yet.
    async fn take_board(&self) {
        let runs = match self.board.runs().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the run board");
                return;
            }
        };
        self.keep_on_board(&runs).await;
        for key in runs {
            let Ok(id) = key.parse::<i64>().map(RunId) else {
                continue;
            };
            if self.orchestrator.is_live(id) {
                continue;
            }
            let run = match self.store.run(id).await {
                Ok(r) => r,
                Err(stampede_store::StoreError::NotFound { .. }) => {
                    let _ = self.board.finish(&key).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(run = %id, error = %e, "cannot read a run of the board");
                    continue;
                }
            };
            if run.status.is_terminal() {
                let _ = self.board.finish(&key).await;
                continue;
            }
            match self.board.run(&key).await {
                Ok(Some((queued, start))) => {
                    tracing::info!(run = %id, status = %run.status, started = start.is_some(), "the leader takes the run");
                    self.orchestrator.adopt(run, queued, start);
                }
                Ok(None) => {
                    let _ = self.board.finish(&key).await;
                }
                Err(e) => tracing::warn!(run = %id, error = %e, "cannot read a run of the board"),
            }
        }
    }

    /// Notes what the board says of the runs supervised here, and puts
    /// back those it lost (a Redis restarted empty), so that a replica
    /// taking over later still finds them. `on_board`: its run ids now.
    async fn keep_on_board(&self, on_board: &[String]) {
        let live = self.orchestrator.live_ids();
        let mut back = Vec::new();
        for id in &live {
            let key = id.to_string();
            if on_board.contains(&key) {
                // The job once, the start once known (the job can be large).
                let known = self.carried().get(id).is_some_and(|(_, s)| s.is_some());
                if known {
                    continue;
                }
                if let Ok(Some(entry)) = self.board.run(&key).await {
                    self.carried().insert(*id, entry);
                }
            } else if let Some(entry) = self.carried().get(id).cloned() {
                back.push((key, entry));
            }
        }
        self.carried().retain(|id, _| live.contains(id));
        for (key, (queued, start)) in back {
            let mut r = self.board.enqueue(&key, &queued).await;
            if let (Ok(()), Some(at)) = (&r, start) {
                r = self.board.set_start(&key, at).await;
            }
            match r {
                Ok(()) => {
                    tracing::warn!(run = %key, "the run was missing from the board (Redis restarted?): put back")
                }
                Err(e) => {
                    tracing::warn!(run = %key, error = %e, "cannot put the run back on the board")
                }
            }
        }
    }

    fn carried(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, (QueuedRun, Option<u64>)>> {
        self.carried.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// On becoming leader, and every 30 s while leading: runs left
    /// unfinished that no replica queued (a replica that died between
    /// creating and queueing one, a server of an older version) end
    /// `errored`, as a single server does at start-up; runs on the board
    /// or supervised here are left alone.
    async fn sweep(&self) {
        let Ok(board) = self.board.runs().await else {
            return;
        };
        let live: Vec<RunStatus> = RunStatus::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_terminal())
            .collect();
        let filter = RunFilter {
            statuses: live,
            ..Default::default()
        };
        let Ok(page) = self
            .store
            .list_runs(&filter, Page::new(Page::MAX_LIMIT, 0))
            .await
        else {
            return;
        };
        let cutoff = time::OffsetDateTime::now_utc() - UNQUEUED_GRACE;
        for run in page.items {
            if board.contains(&run.id.to_string())
                || self.orchestrator.is_live(run.id)
                || run.created_at > cutoff
            {
                continue;
            }
            let end = RunEnd {
                exit_code: None,
                error: Some(INTERRUPTED.into()),
                summary: None,
            };
            match self
                .store
                .transition_run(run.id, RunStatus::Errored, &end)
                .await
            {
                Ok(_) => tracing::warn!(run = %run.id, "a run no server carries is marked errored"),
                Err(e) => tracing::warn!(run = %run.id, error = %e, "cannot end an orphaned run"),
            }
        }
    }
}

/// A relayed hub message from another replica: its run and text.
fn relayed(envelope: &str, mine: &str) -> Option<(Option<RunId>, String)> {
    let v: Value = serde_json::from_str(envelope).ok()?;
    if v["origin"].as_str()? == mine {
        return None;
    }
    let run = v["run_id"].as_i64().map(RunId);
    Some((run, v["text"].as_str()?.to_string()))
}

/// What a relayed message says of run `id`'s live progress: `Some(p)`
/// for a progress message, `None` for its end (a final state).
fn live_progress(id: RunId, text: &str) -> Option<(RunId, Option<Progress>)> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v["type"].as_str()? {
        "progress" => Some((
            id,
            Some(serde_json::from_value(v["progress"].clone()).ok()?),
        )),
        "state" => {
            let status: RunStatus = serde_json::from_value(v["status"].clone()).ok()?;
            status.is_terminal().then_some((id, None))
        }
        _ => None,
    }
}

/// The platform as the workers' heartbeats show it, for the alerts'
/// platform rules (worker CPU, memory, none available). Sampled every
/// second in the background (the probe is read synchronously).
pub struct FleetProbe {
    samples: Mutex<Option<Vec<WorkerSample>>>,
}

impl FleetProbe {
    /// Samples `transport`'s fleet every second.
    pub fn spawn(transport: Arc<dyn Transport>) -> Arc<Self> {
        let me = Arc::new(Self {
            samples: Mutex::new(None),
        });
        let probe = me.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(f) = transport.fleet() else { return };
                let samples = match f.await {
                    Ok(fleet) => Some(fleet.workers.iter().map(sample).collect()),
                    // Redis away: nothing is known; keep the last view.
                    Err(_) => continue,
                };
                *probe.samples.lock().unwrap_or_else(|p| p.into_inner()) = samples;
            }
        });
        me
    }
}

/// One worker of `GET /api/v1/workers`'s form as a platform sample.
pub fn sample(w: &Value) -> WorkerSample {
    let total = w["memory_total_bytes"].as_f64().unwrap_or(0.0);
    WorkerSample {
        id: w["id"].as_str().unwrap_or_default().to_string(),
        online: w["state"].as_str() != Some("draining"),
        cpu_percent: w["cpu_percent"].as_f64(),
        memory_percent: (total > 0.0)
            .then(|| w["memory_bytes"].as_f64().map(|m| m / total * 100.0))
            .flatten(),
    }
}

impl PlatformProbe for FleetProbe {
    fn workers(&self) -> Vec<WorkerSample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }
}

/// A fence for a server that leads alone (no Redis): never used.
pub fn no_fence() -> Fence {
    Arc::new(AtomicI64::new(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_messages_skip_their_origin() {
        let env = json!({"origin": "a", "run_id": 4, "text": "{}"}).to_string();
        assert_eq!(relayed(&env, "a"), None);
        assert_eq!(relayed(&env, "b"), Some((Some(RunId(4)), "{}".into())));
        assert_eq!(relayed("nope", "b"), None);
    }

    #[test]
    fn relayed_progress_and_final_states_are_noted() {
        let p = json!({"type": "progress", "run_id": 2,
                       "progress": {"elapsed_s": 1.5, "active_vus": 3, "max_vus": 4,
                                    "completed": 9, "interrupted": 0}});
        let (id, got) = live_progress(RunId(2), &p.to_string()).unwrap();
        assert_eq!(id, RunId(2));
        assert_eq!(got.unwrap().completed, 9);
        let end = json!({"type": "state", "run_id": 2, "status": "passed"});
        assert_eq!(
            live_progress(RunId(2), &end.to_string()),
            Some((RunId(2), None))
        );
        let running = json!({"type": "state", "run_id": 2, "status": "running"});
        assert_eq!(live_progress(RunId(2), &running.to_string()), None);
        assert_eq!(live_progress(RunId(2), r#"{"type":"snapshot"}"#), None);
    }

    #[test]
    fn heartbeats_become_platform_samples() {
        let w = json!({"id": "w1", "state": "busy", "cpu_percent": 91.5,
                       "memory_bytes": 850, "memory_total_bytes": 1000});
        let s = sample(&w);
        assert_eq!(s.id, "w1");
        assert!(s.online);
        assert_eq!(s.cpu_percent, Some(91.5));
        assert_eq!(s.memory_percent, Some(85.0));
        let old = json!({"id": "w2", "state": "draining", "memory_bytes": 5});
        let s = sample(&old);
        assert!(!s.online);
        assert_eq!(s.memory_percent, None, "no total: unknown");
    }
}
