//! The scheduler: starts scenarios on their cron schedules.
//!
//! Every second (when this server is the leader: [`Leadership`] is the
//! seam a multi-server deployment fills; one server is always the leader)
//! it takes the due schedules from the store and claims each fire with a
//! compare-and-set on the stored next fire time, so a fire starts at most
//! one run. The run starts as the schedule's owner (quotas apply) and
//! records `StartedBy::Schedule`. The overlap policy decides what a fire
//! does while the schedule's previous run is still going: skip it, queue
//! it (it starts when that run ends), or start alongside. At start-up,
//! fires missed while the server was down run once, or are skipped, per
//! schedule. A scheduled run that fails raises an alert when the schedule
//! asks for it (`alert_on_failure`).

pub mod cron;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use stampede_store::{Missed, NewAlert, Overlap, RunStatus, Schedule, Severity, StartedBy, Store};
use time::OffsetDateTime;

use crate::alerts::Alerting;
use crate::auth::Principal;
use crate::orchestrator::{Orchestrator, StartRequest};

/// Whether this server may fire schedules.
pub trait Leadership: Send + Sync {
    /// True on the one server that fires.
    fn is_leader(&self) -> bool;
}

/// A single server: always the leader.
pub struct SingleServer;

impl Leadership for SingleServer {
    fn is_leader(&self) -> bool {
        true
    }
}

/// `time` to `jiff` and back (the store speaks `time`, the cron jiff).
pub fn to_jiff(t: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap_or(jiff::Timestamp::MAX)
}

/// See [`to_jiff`].
pub fn from_jiff(t: jiff::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The next fire of a cron expression in a zone after `after`, checked.
pub fn next_fire(
    cron: &str,
    tz: &str,
    after: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, String> {
    let c = cron::Cron::parse(cron)?;
    let zone = cron::zone(tz)?;
    Ok(c.next_after(to_jiff(after), &zone).map(from_jiff))
}

/// The scheduler.
pub struct Scheduler {
    store: Store,
    orchestrator: Arc<Orchestrator>,
    alerting: Arc<Alerting>,
    leader: Mutex<Arc<dyn Leadership>>,
    /// Runs already checked for `alert_on_failure`.
    checked: Mutex<HashSet<i64>>,
}

impl Scheduler {
    /// A scheduler.
    pub fn new(
        store: Store,
        orchestrator: Arc<Orchestrator>,
        alerting: Arc<Alerting>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            orchestrator,
            alerting,
            leader: Mutex::new(Arc::new(SingleServer)),
            checked: Mutex::new(HashSet::new()),
        })
    }

    /// Replaces the leadership seam.
    pub fn set_leadership(&self, l: Arc<dyn Leadership>) {
        *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = l;
    }

    /// Handles the fires missed while down, then ticks every second.
    pub fn spawn(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut started = false;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if !me
                    .leader
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_leader()
                {
                    started = false;
                    continue;
                }
                let now = OffsetDateTime::now_utc();
                if !started {
                    started = true;
                    if let Err(e) = me.catch_up(now).await {
                        tracing::error!(error = %e, "scheduler start-up failed");
                    }
                }
                if let Err(e) = me.tick(now).await {
                    tracing::error!(error = %e, "scheduler tick failed");
                }
            }
        });
    }

    /// Start-up: each enabled schedule whose fire passed while no leader
    /// ran fires once now (`run_once`) or moves on (`skip`).
    pub async fn catch_up(&self, now: OffsetDateTime) -> Result<(), String> {
        for s in self
            .store
            .due_schedules(now)
            .await
            .map_err(|e| e.to_string())?
        {
            let Some(due) = s.schedule.next_fire_at else {
                continue;
            };
            let next = next_fire(&s.schedule.cron, &s.schedule.timezone, now)?;
            if !self
                .store
                .claim_fire(s.id, due, next, now)
                .await
                .map_err(|e| e.to_string())?
            {
                continue;
            }
            match s.schedule.missed {
                Missed::RunOnce => {
                    tracing::info!(
                        schedule = s.id,
                        "running a fire missed while the server was down"
                    );
                    self.fire(&s).await;
                }
                Missed::Skip => tracing::info!(
                    schedule = s.id,
                    "skipping fires missed while the server was down"
                ),
            }
        }
        Ok(())
    }

    /// One pass: due fires, queued fires, failure alerts.
    pub async fn tick(&self, now: OffsetDateTime) -> Result<(), String> {
        for s in self
            .store
            .due_schedules(now)
            .await
            .map_err(|e| e.to_string())?
        {
            let previous_live = self.previous_live(&s).await;
            if let Some(due) = s.schedule.next_fire_at.filter(|d| *d <= now) {
                let next = next_fire(
                    &s.schedule.cron,
                    &s.schedule.timezone,
                    due.max(now - Duration::from_secs(1)),
                )?;
                if !self
                    .store
                    .claim_fire(s.id, due, next, now)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    continue;
                }
                match (previous_live, s.schedule.overlap) {
                    (true, Overlap::Skip) => {
                        tracing::info!(
                            schedule = s.id,
                            "fire skipped: the previous run is still going"
                        )
                    }
                    (true, Overlap::Queue) => {
                        self.store
                            .add_pending(s.id, 1)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    _ => self.fire(&s).await,
                }
            } else if s.pending > 0 && !previous_live {
                self.store
                    .add_pending(s.id, -1)
                    .await
                    .map_err(|e| e.to_string())?;
                self.fire(&s).await;
            }
        }
        self.check_failures().await
    }

    async fn previous_live(&self, s: &Schedule) -> bool {
        match s.last_run_id {
            Some(r) => self
                .store
                .run(r)
                .await
                .is_ok_and(|r| !r.status.is_terminal()),
            None => false,
        }
    }

    /// Starts one run of `s`; failures to start are logged (and alerted
    /// when asked), never fatal to the scheduler.
    async fn fire(&self, s: &Schedule) {
        match self.start(s).await {
            Ok(run) => tracing::info!(schedule = s.id, run = %run, "scheduled run started"),
            Err(e) => {
                tracing::warn!(schedule = s.id, error = %e, "scheduled run could not start");
                if s.schedule.alert_on_failure {
                    self.raise(
                        s,
                        None,
                        format!(
                            "schedule '{}': the run could not start: {e}",
                            s.schedule.name
                        ),
                    )
                    .await;
                }
            }
        }
    }

    async fn start(&self, s: &Schedule) -> Result<stampede_store::RunId, String> {
        let user = self
            .store
            .user(s.schedule.owner_id)
            .await
            .map_err(|e| e.to_string())?;
        if user.disabled_at.is_some() {
            return Err("the schedule's owner is disabled".into());
        }
        let who = Principal {
            user,
            token_id: None,
            remote_addr: Some("scheduler".into()),
        };
        let scenario = self
            .store
            .scenario(s.schedule.scenario_id)
            .await
            .map_err(|e| e.to_string())?;
        let req: StartRequest = serde_json::from_value(match &s.schedule.options {
            Value::Null => Value::Object(Default::default()),
            v => v.clone(),
        })
        .map_err(|e| format!("invalid schedule options: {e}"))?;
        let run = self
            .orchestrator
            .start(&who, &scenario, &req)
            .await
            .map_err(|e| e.message)?;
        self.store
            .set_run_origin(run, &StartedBy::Schedule(s.id))
            .await
            .map_err(|e| e.to_string())?;
        self.store
            .set_schedule_run(s.id, run)
            .await
            .map_err(|e| e.to_string())?;
        Ok(run)
    }

    /// Alerts for ended scheduled runs that failed, once per run.
    async fn check_failures(&self) -> Result<(), String> {
        for s in self.store.schedules().await.map_err(|e| e.to_string())? {
            let (true, Some(run_id)) = (s.schedule.alert_on_failure, s.last_run_id) else {
                continue;
            };
            if self
                .checked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&run_id.0)
            {
                continue;
            }
            let Ok(run) = self.store.run(run_id).await else {
                continue;
            };
            if !run.status.is_terminal() {
                continue;
            }
            self.checked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(run_id.0);
            let subject = format!("schedule:{}:run:{run_id}", s.id);
            let filter = stampede_store::AlertFilter {
                run_id: Some(run_id),
                ..Default::default()
            };
            let page = stampede_store::Page::new(stampede_store::Page::MAX_LIMIT, 0);
            let known = self
                .store
                .list_alerts(&filter, page)
                .await
                .map_err(|e| e.to_string())?;
            if known.items.iter().any(|a| a.subject == subject) {
                continue;
            }
            if matches!(run.status, RunStatus::Failed | RunStatus::Errored) {
                let why = run
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("exit code {}", run.exit_code.unwrap_or(-1)));
                self.raise(
                    &s,
                    Some(run_id),
                    format!(
                        "schedule '{}': run {run_id} {}: {why}",
                        s.schedule.name, run.status
                    ),
                )
                .await;
            }
        }
        Ok(())
    }

    async fn raise(&self, s: &Schedule, run: Option<stampede_store::RunId>, message: String) {
        let subject = match run {
            Some(r) => format!("schedule:{}:run:{r}", s.id),
            None => format!(
                "schedule:{}:start:{}",
                s.id,
                OffsetDateTime::now_utc().unix_timestamp()
            ),
        };
        let new = NewAlert {
            rule_id: None,
            rule_name: format!("schedule '{}' failed", s.schedule.name),
            severity: Severity::Critical,
            subject,
            run_id: run,
            value: None,
            message,
            at: OffsetDateTime::now_utc(),
        };
        match self.store.fire_alert(&new).await {
            Ok(Some(a)) => self.alerting.notify(a, "fired").await,
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "cannot store a schedule alert"),
        }
    }
}
