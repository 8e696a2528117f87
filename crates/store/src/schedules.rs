//! Schedules: a scenario started on a cron expression in a time zone.
//!
//! The store keeps the schedule and its next fire time; the server's
//! scheduler computes fire times (it owns the cron parser) and claims each
//! fire with a compare-and-set on `next_fire_at` ([`Store::claim_fire`]),
//! so a fire is taken once even if two scheduler loops race on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::db::{check_name, col, from_ms, json_col, now_ms, opt_from_ms, to_json, to_ms};
use crate::error::{Result, StoreError};
use crate::model::{RunId, ScenarioId, UserId};
use crate::Store;

text_enum!(
    /// What a fire does while the schedule's previous run is still going.
    Overlap {
        /// Nothing: the fire is skipped.
        Skip = "skip",
        /// The fire waits and starts when the previous run ends.
        Queue = "queue",
        /// A second run starts beside the first.
        Alongside = "alongside",
    }
);

text_enum!(
    /// What happens to fires missed while the server was down.
    Missed {
        /// One run at start-up, however many fires were missed.
        RunOnce = "run_once",
        /// None: the schedule goes on from the next fire.
        Skip = "skip",
    }
);

/// A schedule as created or replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSchedule {
    /// Unique name.
    pub name: String,
    /// The scenario started.
    pub scenario_id: ScenarioId,
    /// The user its runs are charged to.
    pub owner_id: UserId,
    /// Cron expression (5 fields, or 6 with seconds first).
    pub cron: String,
    /// IANA time zone the expression is read in.
    pub timezone: String,
    /// Start options (`POST /scenarios/{id}/start`'s body).
    pub options: Value,
    /// Overlap policy.
    pub overlap: Overlap,
    /// Missed-fire policy.
    pub missed: Missed,
    /// Whether it fires.
    pub enabled: bool,
    /// Raise an alert when one of its runs fails.
    pub alert_on_failure: bool,
    /// The next fire (computed by the server; `None` when disabled or never).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_fire_at: Option<OffsetDateTime>,
}

/// A stored schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    /// Its id.
    pub id: i64,
    /// The schedule.
    #[serde(flatten)]
    pub schedule: NewSchedule,
    /// When it last fired.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_fire_at: Option<OffsetDateTime>,
    /// The run it last started.
    pub last_run_id: Option<RunId>,
    /// Fires waiting for the previous run (overlap `queue`).
    pub pending: i64,
    /// When created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

const SCHEDULE_COLUMNS: &str = "id, name, scenario_id, owner_id, cron, timezone, options, \
    overlap, missed, enabled, alert_on_failure, next_fire_at, last_fire_at, last_run_id, \
    pending, created_at, updated_at";

fn schedule_from_row(row: &AnyRow) -> Result<Schedule> {
    Ok(Schedule {
        id: col(row, "id")?,
        schedule: NewSchedule {
            name: col(row, "name")?,
            scenario_id: ScenarioId(col(row, "scenario_id")?),
            owner_id: UserId(col(row, "owner_id")?),
            cron: col(row, "cron")?,
            timezone: col(row, "timezone")?,
            options: json_col(row, "options")?,
            overlap: col::<String>(row, "overlap")?.parse()?,
            missed: col::<String>(row, "missed")?.parse()?,
            enabled: col::<i64>(row, "enabled")? != 0,
            alert_on_failure: col::<i64>(row, "alert_on_failure")? != 0,
            next_fire_at: opt_from_ms(col(row, "next_fire_at")?)?,
        },
        last_fire_at: opt_from_ms(col(row, "last_fire_at")?)?,
        last_run_id: col::<Option<i64>>(row, "last_run_id")?.map(RunId),
        pending: col(row, "pending")?,
        created_at: from_ms(col(row, "created_at")?)?,
        updated_at: from_ms(col(row, "updated_at")?)?,
    })
}

fn check_schedule(s: &NewSchedule) -> Result<()> {
    check_name("schedule name", &s.name, 200)?;
    check_name("cron expression", &s.cron, 200)?;
    check_name("time zone", &s.timezone, 64)?;
    if !s.options.is_object() {
        return Err(StoreError::Invalid(
            "schedule options must be a JSON object".into(),
        ));
    }
    Ok(())
}

fn schedule_error(e: sqlx::Error, s: &NewSchedule) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("a schedule named '{}' already exists", s.name))
        }
        StoreError::Invalid(_) => StoreError::not_found(format!(
            "scenario {} (or user {})",
            s.scenario_id, s.owner_id
        )),
        e => e,
    }
}

impl Store {
    /// Creates a schedule. `NotFound` for an unknown scenario or owner.
    pub async fn create_schedule(&self, s: &NewSchedule) -> Result<Schedule> {
        check_schedule(s)?;
        self.scenario(s.scenario_id).await?;
        let now = now_ms();
        let row = sqlx::query(&format!(
            "INSERT INTO schedules (name, scenario_id, owner_id, cron, timezone, options, overlap, \
               missed, enabled, alert_on_failure, next_fire_at, pending, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12) \
             RETURNING {SCHEDULE_COLUMNS}"
        ))
        .bind(&s.name)
        .bind(s.scenario_id.0)
        .bind(s.owner_id.0)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(to_json(&s.options))
        .bind(s.overlap.as_str())
        .bind(s.missed.as_str())
        .bind(i64::from(s.enabled))
        .bind(i64::from(s.alert_on_failure))
        .bind(s.next_fire_at.map(to_ms))
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| schedule_error(e, s))?;
        schedule_from_row(&row)
    }

    /// Replaces schedule `id` (its owner stays; pending fires are dropped).
    pub async fn update_schedule(&self, id: i64, s: &NewSchedule) -> Result<Schedule> {
        check_schedule(s)?;
        self.scenario(s.scenario_id).await?;
        let row = sqlx::query(&format!(
            "UPDATE schedules SET name = $2, scenario_id = $3, cron = $4, timezone = $5, \
               options = $6, overlap = $7, missed = $8, enabled = $9, alert_on_failure = $10, \
               next_fire_at = $11, pending = 0, updated_at = $12 \
             WHERE id = $1 RETURNING {SCHEDULE_COLUMNS}"
        ))
        .bind(id)
        .bind(&s.name)
        .bind(s.scenario_id.0)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(to_json(&s.options))
        .bind(s.overlap.as_str())
        .bind(s.missed.as_str())
        .bind(i64::from(s.enabled))
        .bind(i64::from(s.alert_on_failure))
        .bind(s.next_fire_at.map(to_ms))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| schedule_error(e, s))?
        .ok_or_else(|| StoreError::not_found(format!("schedule {id}")))?;
        schedule_from_row(&row)
    }

    /// Schedule `id`.
    pub async fn schedule(&self, id: i64) -> Result<Schedule> {
        let row = self
            .row_by_id("schedules", SCHEDULE_COLUMNS, id, "schedule")
            .await?;
        schedule_from_row(&row)
    }

    /// Every schedule, by id.
    pub async fn schedules(&self) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Deletes schedule `id` (its runs stay).
    pub async fn delete_schedule(&self, id: i64) -> Result<()> {
        self.delete_by_id("schedules", id, "schedule").await
    }

    /// Enabled schedules whose next fire is at or before `now`, or that
    /// have queued fires waiting.
    pub async fn due_schedules(&self, now: OffsetDateTime) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(&format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled = 1 \
             AND ((next_fire_at IS NOT NULL AND next_fire_at <= $1) OR pending > 0) ORDER BY id"
        ))
        .bind(to_ms(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Claims the fire of schedule `id` due at `due` and moves it on to
    /// `next`: `true` if this caller won (the stored next fire was still
    /// `due`), `false` if another caller already took it.
    pub async fn claim_fire(
        &self,
        id: i64,
        due: OffsetDateTime,
        next: Option<OffsetDateTime>,
        fired_at: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE schedules SET next_fire_at = $3, last_fire_at = $4 \
             WHERE id = $1 AND next_fire_at = $2",
        )
        .bind(id)
        .bind(to_ms(due))
        .bind(next.map(to_ms))
        .bind(to_ms(fired_at))
        .execute(&mut *tx)
        .await?;
        // Only the current leader fires (`fence.rs`).
        self.check_fence(&mut tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds `delta` (may be negative) to the fires waiting of schedule `id`
    /// (never below 0); returns the new count.
    pub async fn add_pending(&self, id: i64, delta: i64) -> Result<i64> {
        let n: Option<i64> = sqlx::query_scalar(
            "UPDATE schedules SET pending = CASE WHEN pending + $2 < 0 THEN 0 ELSE pending + $2 END \
             WHERE id = $1 RETURNING pending",
        )
        .bind(id)
        .bind(delta)
        .fetch_optional(&self.pool)
        .await?;
        n.ok_or_else(|| StoreError::not_found(format!("schedule {id}")))
    }

    /// Records what started run `run` (the scheduler starts runs as the
    /// schedule's owner, then marks them as the schedule's).
    pub async fn set_run_origin(&self, run: RunId, by: &crate::StartedBy) -> Result<()> {
        let (kind, reference) = crate::runs::started_by_columns(by);
        let done =
            sqlx::query("UPDATE runs SET started_by_kind = $2, started_by_ref = $3 WHERE id = $1")
                .bind(run.0)
                .bind(kind)
                .bind(reference)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("run {run}")));
        }
        Ok(())
    }

    /// Records the run schedule `id` started last.
    pub async fn set_schedule_run(&self, id: i64, run: RunId) -> Result<()> {
        sqlx::query("UPDATE schedules SET last_run_id = $2 WHERE id = $1")
            .bind(id)
            .bind(run.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
