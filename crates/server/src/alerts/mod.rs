//! Alerting in the server: the [`eval`]uator fed from the live hub, the
//! alerts it raises stored and published, and their notifications sent.
//!
//! [`Alerting::spawn`] subscribes to the [`Hub`]: every merged interval
//! the orchestrator publishes is an evaluation of the run rules, every
//! terminal state change ends the run's episodes, and a 1 s tick evaluates
//! the platform rules (through the [`PlatformProbe`] seam: the in-process
//! transport reports one worker, itself; Redis workers report their
//! heartbeats' CPU and memory) and reloads the rules. Nothing in the
//! orchestrator changes: the hub already carries everything.
//!
//! A fire is stored first (the store refuses a second firing alert of the
//! same rule and subject), then published on the hub for the UI
//! (`{"type": "alert", "event": "fired" | "resolved", "alert": …}`), then
//! delivered to the rule's channels, each in its own task with retries.
//! A rule with `stop_run` stops the run gracefully when it fires.
//!
//! Only the leader evaluates (`leader.rs`); every evaluation's changed
//! per-(rule, subject) states are stored (`alert_episodes`, fenced), and a
//! server that becomes the leader — at start-up, or taking over from a
//! dead one — restores them with the alerts left firing, so a "for"
//! window goes on where it was, an episode fires once and resolves.
//! Followers keep the lookback's intervals (the hub relays them) for the
//! moment they take over.

pub mod eval;
pub mod notify;
pub mod secret;
pub mod smtp;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use stampede_metrics::{Builtin, WireSnapshot};
use stampede_store::{
    Alert, Channel, Due, NewAlert, NewAlertRule, RunId, RunStatus, ScenarioId, Store,
};
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;

use crate::hub::Hub;
use crate::orchestrator::Orchestrator;
use eval::{Evaluator, Transition, WorkerSample};
use notify::RetryPolicy;
use secret::SecretBox;

/// The snapshot of a hub `snapshot` message. Parsed from the text (not
/// through a `Value`): the wire format borrows strings while it decodes.
pub fn parse_snapshot(text: &str) -> Result<WireSnapshot, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Msg {
        snapshot: WireSnapshot,
    }
    serde_json::from_str::<Msg>(text).map(|m| m.snapshot)
}

/// Where the platform rules get the workers' state from.
pub trait PlatformProbe: Send + Sync {
    /// The workers now.
    fn workers(&self) -> Vec<WorkerSample>;
}

/// The in-process transport: this server is the one worker, always online
/// (it reports no CPU or memory figures).
pub struct LocalProbe;

impl PlatformProbe for LocalProbe {
    fn workers(&self) -> Vec<WorkerSample> {
        vec![WorkerSample {
            id: "local".into(),
            online: true,
            cpu_percent: None,
            memory_percent: None,
        }]
    }
}

/// The server's clock, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The alerting service.
pub struct Alerting {
    store: Store,
    hub: Hub,
    secrets: SecretBox,
    evaluator: Mutex<Evaluator>,
    scenarios: Mutex<HashMap<RunId, ScenarioId>>,
    seen_metrics: Mutex<HashSet<String>>,
    probe: Mutex<Arc<dyn PlatformProbe>>,
    /// Only the leader evaluates (several servers: `leader.rs`).
    leader: Mutex<Arc<dyn crate::schedules::Leadership>>,
    retry: RetryPolicy,
    clock: Clock,
    fired: std::sync::atomic::AtomicU64,
}

impl Alerting {
    /// The service (not running yet: see [`Alerting::spawn`]).
    pub fn new(store: Store, hub: Hub, secrets: SecretBox) -> Arc<Self> {
        Arc::new(Self {
            store,
            hub,
            secrets,
            evaluator: Mutex::new(Evaluator::default()),
            scenarios: Mutex::new(HashMap::new()),
            seen_metrics: Mutex::new(HashSet::new()),
            probe: Mutex::new(Arc::new(LocalProbe)),
            leader: Mutex::new(Arc::new(crate::schedules::SingleServer)),
            retry: RetryPolicy::from_env().unwrap_or_else(|e| {
                tracing::error!("{e}; using the default");
                RetryPolicy::default()
            }),
            clock: Arc::new(OffsetDateTime::now_utc),
            fired: Default::default(),
        })
    }

    /// Replaces the platform probe (the Redis transport's seam).
    pub fn set_probe(&self, probe: Arc<dyn PlatformProbe>) {
        *self.probe.lock().unwrap_or_else(|p| p.into_inner()) = probe;
    }

    /// Replaces the leadership seam: only the leader evaluates rules.
    pub fn set_leadership(&self, l: Arc<dyn crate::schedules::Leadership>) {
        *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = l;
    }

    fn leads(&self) -> bool {
        self.leader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_leader()
    }

    /// Seals channel secrets.
    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    /// Sends a test notification through `channel`, once: the answer or
    /// the precise error.
    pub async fn test_channel(&self, channel: &stampede_store::Channel) -> Result<String, String> {
        notify::send_test(&self.secrets, channel, &self.retry).await
    }

    /// Alerts fired by this process (for `/metrics`).
    pub fn fired_total(&self) -> u64 {
        self.fired.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The alert series of `/metrics`: alerts by state and severity (every
    /// pair listed), and the alerts this process fired.
    pub async fn prometheus(&self) -> Result<String, stampede_store::StoreError> {
        use std::fmt::Write;
        let counts = self.store.count_alerts().await?;
        let mut out = String::from(
            "# HELP stampede_alerts Stored alerts by state and severity.\n# TYPE stampede_alerts gauge\n",
        );
        for st in stampede_store::AlertState::ALL {
            for sev in stampede_store::Severity::ALL {
                let n = counts
                    .iter()
                    .find(|(a, b, _)| a == st && b == sev)
                    .map_or(0, |c| c.2);
                let _ = writeln!(
                    out,
                    "stampede_alerts{{state=\"{st}\",severity=\"{sev}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP stampede_alerts_fired_total Alerts fired by this server process.\n# TYPE stampede_alerts_fired_total counter\nstampede_alerts_fired_total {}",
            self.fired_total()
        );
        Ok(out)
    }

    /// Whether a rule may name `metric`: a k6 built-in, or one a run of
    /// this server has reported.
    pub fn knows_metric(&self, metric: &str) -> bool {
        Builtin::from_name(metric).is_some()
            || self
                .seen_metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(metric)
    }

    /// Checks a rule's meaning (422 message on failure).
    pub fn check_rule(&self, rule: &NewAlertRule) -> Result<(), String> {
        eval::check(rule, &|m| self.knows_metric(m)).map(|_| ())
    }

    fn now_ms(&self) -> i64 {
        ((self.clock)().unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Loads the rules.
    pub async fn reload(&self) -> Result<(), String> {
        let rules = self.store.alert_rules().await.map_err(|e| e.to_string())?;
        let compiled = rules
            .into_iter()
            .filter_map(|r| {
                let name = r.rule.name.clone();
                eval::compile(r)
                    .map_err(|e| tracing::warn!(rule = %name, error = %e, "alert rule skipped"))
                    .ok()
            })
            .collect();
        self.evaluator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_rules(compiled);
        Ok(())
    }

    /// This server became the leader: loads the rules, then the episodes
    /// the previous leader (or this server's previous life) stored and the
    /// alerts left firing, and ends the episodes of runs that ended while
    /// nobody evaluated.
    async fn take_over(&self, orchestrator: &Arc<Orchestrator>) -> Result<(), String> {
        self.reload().await?;
        let states = self
            .store
            .alert_episodes()
            .await
            .map_err(|e| e.to_string())?;
        let firing: Vec<(i64, String)> = self
            .store
            .firing_alerts()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|a| Some((a.rule_id?, a.subject)))
            .collect();
        let now = self.now_ms();
        let (held, runs) = {
            let mut ev = self.evaluator.lock().unwrap_or_else(|p| p.into_inner());
            let held = states.iter().filter(|s| s.holding_since.is_some()).count();
            ev.restore(states, &firing, now);
            (held, ev.runs_with_state())
        };
        tracing::info!(
            holding = held,
            firing = firing.len(),
            "alert evaluation resumes the stored episodes"
        );
        self.end_runs(runs, orchestrator).await;
        self.save_episodes().await;
        Ok(())
    }

    /// Ends the episodes and data of those of `runs` that ended (or are
    /// gone) without the evaluator seeing it.
    async fn end_runs(&self, runs: Vec<RunId>, orchestrator: &Arc<Orchestrator>) {
        for run in runs {
            let ended = match self.store.run(run).await {
                Ok(r) => r.status.is_terminal(),
                Err(stampede_store::StoreError::NotFound { .. }) => true,
                Err(_) => false,
            };
            if ended {
                self.scenarios
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&run);
                let t = self
                    .evaluator
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .run_ended(run);
                self.apply(t, orchestrator).await;
            }
        }
    }

    /// Stores the episodes the last evaluations changed.
    async fn save_episodes(&self) {
        let now = self.now_ms();
        let changes = self
            .evaluator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_changes(now);
        for (key, state) in changes {
            let res = match &state {
                Some(st) => self.store.save_alert_episode(st).await,
                None => self.store.delete_alert_episode(key.0, &key.1).await,
            };
            if let Err(e) = res {
                tracing::warn!(rule = key.0, subject = %key.1, error = %e, "cannot store an alert episode");
                self.evaluator
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .unsaved(key);
            }
        }
    }

    /// Starts the service: hub subscriber and platform tick.
    pub fn spawn(self: &Arc<Self>, orchestrator: Arc<Orchestrator>) {
        let me = self.clone();
        let mut rx = self.hub.subscribe();
        tokio::spawn(async move {
            if let Err(e) = me.reload().await {
                tracing::error!(error = %e, "cannot load the alert rules");
            }
            // Whether this server evaluates: it restores the stored
            // episodes each time it becomes the leader.
            let mut leading = false;
            let mut ticks = 0u64;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let msg = tokio::select! {
                    msg = rx.recv() => Some(msg),
                    _ = tick.tick() => None,
                };
                match (me.leads(), leading) {
                    (true, false) => match me.take_over(&orchestrator).await {
                        Ok(()) => leading = true,
                        Err(e) => tracing::error!(error = %e, "cannot resume the alert episodes"),
                    },
                    (false, true) => leading = false,
                    _ => {}
                }
                match msg {
                    Some(Ok(m)) => me.on_message(&m.text, &orchestrator, leading).await,
                    Some(Err(RecvError::Lagged(n))) => {
                        tracing::warn!(missed = n, "the alert evaluator fell behind the hub")
                    }
                    Some(Err(RecvError::Closed)) => return,
                    None => {
                        if !leading {
                            continue;
                        }
                        // Every 5 s: deliveries a dead server left behind.
                        if ticks.is_multiple_of(5) {
                            match me.resume_deliveries().await {
                                Ok(0) => {}
                                Ok(n) => tracing::info!(
                                    deliveries = n,
                                    "resuming unfinished alert deliveries"
                                ),
                                Err(e) => {
                                    tracing::error!(error = %e, "cannot resume the alert deliveries")
                                }
                            }
                        }
                        // Every 30 s: runs whose end the hub did not carry here.
                        if ticks % 30 == 29 {
                            let runs = me
                                .evaluator
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .runs_with_state();
                            me.end_runs(runs, &orchestrator).await;
                        }
                        ticks += 1;
                        if let Err(e) = me.reload().await {
                            tracing::warn!(error = %e, "cannot reload the alert rules");
                        }
                        let t = me
                            .evaluator
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .end_disabled();
                        me.apply(t, &orchestrator).await;
                        let workers = me.probe.lock().unwrap_or_else(|p| p.into_inner()).workers();
                        let now = me.now_ms();
                        let t = me
                            .evaluator
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .observe_platform(&workers, now);
                        me.apply(t, &orchestrator).await;
                    }
                }
            }
        });
    }

    /// One hub message: evaluated by the leader (`leading`), only kept
    /// for the lookback by a follower.
    async fn on_message(&self, text: &str, orchestrator: &Arc<Orchestrator>, leading: bool) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        let Some(run) = v["run_id"].as_i64().map(RunId) else {
            return;
        };
        match v["type"].as_str() {
            Some("snapshot") => {
                let snap = match parse_snapshot(text) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(run = %run, error = %e, "unreadable snapshot on the hub");
                        return;
                    }
                };
                {
                    let mut seen = self.seen_metrics.lock().unwrap_or_else(|p| p.into_inner());
                    for m in &snap.metrics {
                        if !seen.contains(&m.name) && seen.len() < 10_000 {
                            seen.insert(m.name.clone());
                        }
                    }
                }
                let Some(scenario) = self.scenario_of(run).await else {
                    return;
                };
                let now = self.now_ms();
                let t = {
                    let mut ev = self.evaluator.lock().unwrap_or_else(|p| p.into_inner());
                    if !leading {
                        ev.buffer_interval(run, scenario, snap, now);
                        return;
                    }
                    ev.observe_interval(run, scenario, snap, now)
                };
                self.apply(t, orchestrator).await;
            }
            Some("state") => {
                let ended = v["status"]
                    .as_str()
                    .and_then(|s| s.parse::<RunStatus>().ok())
                    .is_some_and(|s| s.is_terminal());
                if ended {
                    self.scenarios
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&run);
                    let t = {
                        let mut ev = self.evaluator.lock().unwrap_or_else(|p| p.into_inner());
                        if !leading {
                            ev.forget_run(run);
                            return;
                        }
                        ev.run_ended(run)
                    };
                    self.apply(t, orchestrator).await;
                }
            }
            _ => {}
        }
    }

    async fn scenario_of(&self, run: RunId) -> Option<ScenarioId> {
        if let Some(s) = self
            .scenarios
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&run)
        {
            return Some(*s);
        }
        let s = self.store.run(run).await.ok()?.scenario_id;
        self.scenarios
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run, s);
        Some(s)
    }

    /// Stores, publishes and delivers the evaluator's decisions, then
    /// stores the episodes they changed (after the alert: a server dying
    /// in between leaves the alert firing, which the next leader adopts).
    async fn apply(&self, transitions: Vec<Transition>, orchestrator: &Arc<Orchestrator>) {
        self.apply_transitions(transitions, orchestrator).await;
        self.save_episodes().await;
    }

    async fn apply_transitions(
        &self,
        transitions: Vec<Transition>,
        orchestrator: &Arc<Orchestrator>,
    ) {
        for t in transitions {
            let (alert, event, deliveries) = match t {
                Transition::Fire {
                    rule_id,
                    subject,
                    run_id,
                    value,
                    message,
                } => {
                    let Some(rule) = self
                        .evaluator
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .rule(rule_id)
                        .cloned()
                    else {
                        continue;
                    };
                    let new = NewAlert {
                        rule_id: Some(rule_id),
                        rule_name: rule.rule.name.clone(),
                        severity: rule.rule.severity,
                        subject,
                        run_id,
                        value: Some(value),
                        message,
                        at: (self.clock)(),
                    };
                    let channels = self.channels_of(Some(rule_id)).await;
                    let ids: Vec<i64> = channels.iter().map(|c| c.id).collect();
                    match self.store.fire_alert_due(&new, &self.due(&ids)).await {
                        Ok(Some((a, pending))) => {
                            self.fired
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if let (true, Some(run)) = (rule.rule.stop_run, run_id) {
                                if orchestrator.stop(run) {
                                    tracing::warn!(run = %run, rule = %rule.rule.name, "run stopped by an alert rule");
                                }
                            }
                            (
                                a,
                                "fired",
                                channels
                                    .into_iter()
                                    .zip(pending.into_iter().map(Some))
                                    .collect(),
                            )
                        }
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot store an alert");
                            continue;
                        }
                    }
                }
                Transition::Resolve { rule_id, subject } => {
                    let channels = self.channels_of(Some(rule_id)).await;
                    let ids: Vec<i64> = channels.iter().map(|c| c.id).collect();
                    match self
                        .store
                        .resolve_alert_due(rule_id, &subject, (self.clock)(), &self.due(&ids))
                        .await
                    {
                        Ok(Some((a, pending))) => (
                            a,
                            "resolved",
                            channels
                                .into_iter()
                                .zip(pending.into_iter().map(Some))
                                .collect(),
                        ),
                        Ok(None) => continue,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot resolve an alert");
                            continue;
                        }
                    }
                }
            };
            self.dispatch(alert, event, deliveries);
        }
    }

    /// Takes over the deliveries whose server died (their lease ran out:
    /// this process's own earlier life, or a peer) and resumes them, each
    /// when its next attempt is due.
    async fn resume_deliveries(&self) -> Result<usize, String> {
        let now = OffsetDateTime::now_utc();
        let pending = self
            .store
            .claim_orphan_deliveries(now, self.retry.lease_until(now))
            .await
            .map_err(|e| e.to_string())?;
        let n = pending.len();
        for p in pending {
            let (alert, channel) = match (
                self.store.alert(p.alert_id).await,
                self.store.channel(p.channel_id).await,
            ) {
                (Ok(a), Ok(c)) if c.enabled => (a, c),
                _ => {
                    // Gone or disabled since: nothing left to deliver.
                    let _ = self.store.finish_pending_delivery(p.id).await;
                    continue;
                }
            };
            let (store, secrets, retry) =
                (self.store.clone(), self.secrets.clone(), self.retry.clone());
            let wait = (p.next_at - OffsetDateTime::now_utc())
                .try_into()
                .unwrap_or(Duration::ZERO);
            let made = u32::try_from(p.attempts).unwrap_or(u32::MAX);
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let pending = Some(notify::Pending {
                    id: p.id,
                    attempts: made,
                });
                notify::deliver(
                    &store, &secrets, &channel, &alert, &p.event, &retry, pending,
                )
                .await;
            });
        }
        Ok(n)
    }

    /// The enabled channels of `rule_id`'s rule (none without a rule).
    async fn channels_of(&self, rule_id: Option<i64>) -> Vec<Channel> {
        let ids = match rule_id {
            Some(r) => self
                .store
                .alert_rule(r)
                .await
                .map(|r| r.rule.channels)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let mut channels = Vec::with_capacity(ids.len());
        for id in ids {
            if let Ok(c) = self.store.channel(id).await {
                if c.enabled {
                    channels.push(c);
                }
            }
        }
        channels
    }

    /// Deliveries on `channels` due now, leased by this server.
    fn due<'a>(&self, channels: &'a [i64]) -> Due<'a> {
        let now = OffsetDateTime::now_utc();
        Due {
            channels,
            next_at: now,
            lease_until: self.retry.lease_until(now),
        }
    }

    /// Publishes `alert`'s `event` on the hub and attempts its deliveries,
    /// each a pending row (`Some(id)`) recorded before.
    fn dispatch(&self, alert: Alert, event: &'static str, deliveries: Vec<(Channel, Option<i64>)>) {
        tracing::info!(alert = alert.id, event, subject = %alert.subject, message = %alert.message, "alert");
        self.hub.publish(
            alert.run_id,
            json!({"type": "alert", "event": event, "alert": alert}),
        );
        for (channel, id) in deliveries {
            let (store, secrets, retry, alert) = (
                self.store.clone(),
                self.secrets.clone(),
                self.retry.clone(),
                alert.clone(),
            );
            let pending = id.map(|id| notify::Pending { id, attempts: 0 });
            tokio::spawn(async move {
                notify::deliver(&store, &secrets, &channel, &alert, event, &retry, pending).await;
            });
        }
    }

    /// Publishes `alert`'s `event` (stored already) on the hub and delivers
    /// it to its rule's channels. The evaluator's own alerts record their
    /// deliveries with the event instead (`Store::fire_alert_due`).
    pub async fn notify(&self, alert: Alert, event: &'static str) {
        let mut deliveries = Vec::new();
        for channel in self.channels_of(alert.rule_id).await {
            let due = self.due(&[]);
            let id = match self
                .store
                .add_pending_delivery(alert.id, channel.id, event, due.next_at, due.lease_until)
                .await
            {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::error!(error = %e, "cannot persist an alert delivery; trying it anyway");
                    None
                }
            };
            deliveries.push((channel, id));
        }
        self.dispatch(alert, event, deliveries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{Registry, Sink, TagSet};

    #[test]
    fn hub_snapshots_parse_back() {
        let reg = Registry::new();
        let mut sink = Sink::new();
        let tags = TagSet::from_pairs([("name", "a")]);
        sink.add(Builtin::HttpReqFailed.metric(), &tags, 1.0, 0);
        sink.add(Builtin::HttpReqDuration.metric(), &tags, 12.5, 0);
        let snap = sink.take(0, 1_000_000_000).to_wire(&reg);
        // As the orchestrator publishes it.
        let text = json!({"type": "snapshot", "run_id": RunId(3), "index": 0, "snapshot": snap})
            .to_string();
        assert_eq!(parse_snapshot(&text).unwrap(), snap);
    }
}
