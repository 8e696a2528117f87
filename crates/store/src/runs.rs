//! Runs and their state machine.
//!
//! Status changes are compare-and-set: the `UPDATE` only matches a row
//! whose current status may become the new one ([`RunStatus::can_become`]),
//! so two controllers racing on one run cannot both win, and a finished run
//! can never be reopened. Timestamps follow the status: `started_at` when
//! the run enters `running`, `ended_at` when it ends.

use sqlx::any::AnyRow;

use crate::db::{col, from_ms, json_col, now_ms, opt_from_ms, opt_json_col, to_json};
use crate::error::{Result, StoreError};
use crate::model::{
    NewRun, Page, Paged, Run, RunEnd, RunFilter, RunId, RunStatus, ScenarioId, StartedBy, TokenId,
    UserId,
};
use crate::Store;

const RUN_COLUMNS: &str = "id, scenario_id, scenario_version, user_id, started_by_kind, \
    started_by_ref, options, status, exit_code, error, workers, created_at, started_at, \
    ended_at, summary";

/// The error text of runs found unfinished at start-up.
pub const INTERRUPTED: &str = "interrupted: server restarted";

fn started_by_from(kind: &str, r: Option<String>) -> Result<StartedBy> {
    let bad = || StoreError::corrupt("a run's origin is malformed", kind.to_owned());
    Ok(match kind {
        "user" => StartedBy::User,
        "token" => StartedBy::Token(TokenId(r.and_then(|r| r.parse().ok()).ok_or_else(bad)?)),
        "schedule" => StartedBy::Schedule(r.and_then(|r| r.parse().ok()).ok_or_else(bad)?),
        "pipeline" => StartedBy::Pipeline(r.ok_or_else(bad)?),
        _ => return Err(bad()),
    })
}

pub(crate) fn started_by_columns(s: &StartedBy) -> (&'static str, Option<String>) {
    match s {
        StartedBy::User => ("user", None),
        StartedBy::Token(t) => ("token", Some(t.to_string())),
        StartedBy::Schedule(id) => ("schedule", Some(id.to_string())),
        StartedBy::Pipeline(p) => ("pipeline", Some(p.clone())),
    }
}

fn run_from_row(row: &AnyRow) -> Result<Run> {
    Ok(Run {
        id: RunId(col(row, "id")?),
        scenario_id: ScenarioId(col(row, "scenario_id")?),
        scenario_version: col(row, "scenario_version")?,
        user_id: col::<Option<i64>>(row, "user_id")?.map(UserId),
        started_by: started_by_from(
            &col::<String>(row, "started_by_kind")?,
            col(row, "started_by_ref")?,
        )?,
        options: json_col(row, "options")?,
        status: col::<String>(row, "status")?.parse()?,
        exit_code: col(row, "exit_code")?,
        error: col(row, "error")?,
        workers: json_col(row, "workers")?,
        created_at: from_ms(col(row, "created_at")?)?,
        started_at: opt_from_ms(col(row, "started_at")?)?,
        ended_at: opt_from_ms(col(row, "ended_at")?)?,
        summary: opt_json_col(row, "summary")?,
    })
}

/// `'a', 'b'` for an `IN (…)` list of statuses (fixed names, never user text).
fn status_list(statuses: &[RunStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Queues a run of a scenario version (the current one when
    /// `scenario_version` is `None`). `NotFound` for an unknown or deleted
    /// scenario or version.
    pub async fn create_run(&self, new: &NewRun) -> Result<Run> {
        if !new.options.is_object() {
            return Err(StoreError::Invalid(
                "run options must be a JSON object".into(),
            ));
        }
        if let StartedBy::Pipeline(p) = &new.started_by {
            crate::db::check_name("pipeline", p, 200)?;
        }
        let (kind, reference) = started_by_columns(&new.started_by);
        let row = sqlx::query(&format!(
            "INSERT INTO runs (scenario_id, scenario_version, user_id, started_by_kind, \
               started_by_ref, options, status, workers, created_at) \
             SELECT s.id, COALESCE($2, s.version), $3, $4, $5, $6, 'queued', '[]', $7 \
             FROM scenarios s WHERE s.id = $1 AND s.deleted_at IS NULL \
             RETURNING {RUN_COLUMNS}"
        ))
        .bind(new.scenario_id.0)
        .bind(new.scenario_version)
        .bind(new.user_id.map(|u| u.0))
        .bind(kind)
        .bind(reference)
        .bind(to_json(&new.options))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(_) => StoreError::not_found(format!(
                "version {} of scenario {} (or user {})",
                new.scenario_version
                    .map_or("current".into(), |v| v.to_string()),
                new.scenario_id,
                new.user_id.map_or("-".into(), |u| u.to_string())
            )),
            e => e,
        })?
        .ok_or_else(|| StoreError::not_found(format!("scenario {}", new.scenario_id)))?;
        run_from_row(&row)
    }

    /// The run `id`.
    pub async fn run(&self, id: RunId) -> Result<Run> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("run {id}")))?;
        run_from_row(&row)
    }

    /// Runs matching `filter`, newest first.
    pub async fn list_runs(&self, filter: &RunFilter, page: Page) -> Result<Paged<Run>> {
        let mut wher =
            String::from("WHERE ($1 IS NULL OR scenario_id = $1) AND ($2 IS NULL OR user_id = $2)");
        if !filter.statuses.is_empty() {
            wher.push_str(&format!(
                " AND status IN ({})",
                status_list(&filter.statuses)
            ));
        }
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM runs {wher}"))
            .bind(filter.scenario_id.map(|s| s.0))
            .bind(filter.user_id.map(|u| u.0))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs {wher} ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(filter.scenario_id.map(|s| s.0))
        .bind(filter.user_id.map(|u| u.0))
        .bind(page.clamped_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged {
            items: rows.iter().map(run_from_row).collect::<Result<_>>()?,
            total: total as u64,
            limit: page.clamped_limit() as u32,
            offset: page.offset,
        })
    }

    /// Moves run `id` to `to`, recording `end` (exit code, error, summary:
    /// each kept when `None`). `InvalidTransition` if the run's current
    /// status cannot become `to`; `NotFound` for an unknown run.
    pub async fn transition_run(&self, id: RunId, to: RunStatus, end: &RunEnd) -> Result<Run> {
        let from = RunStatus::predecessors(to);
        if from.is_empty() {
            // Nothing may become `queued`: report it against the current state.
            let run = self.run(id).await?;
            return Err(StoreError::InvalidTransition {
                from: run.status,
                to,
            });
        }
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE runs SET status = $2, \
               exit_code = COALESCE($3, exit_code), error = COALESCE($4, error), \
               summary = COALESCE($5, summary), \
               started_at = CASE WHEN $2 = 'running' THEN $6 ELSE started_at END, \
               ended_at = CASE WHEN $7 = 1 THEN $6 ELSE ended_at END \
             WHERE id = $1 AND status IN ({}) RETURNING {RUN_COLUMNS}",
            status_list(&from)
        ))
        .bind(id.0)
        .bind(to.as_str())
        .bind(end.exit_code)
        .bind(end.error.as_deref())
        .bind(end.summary.as_ref().map(to_json))
        .bind(now)
        .bind(i64::from(to.is_terminal()))
        .fetch_optional(&mut *tx)
        .await?;
        // A stale leader's change rolls back (`fence.rs`).
        self.check_fence(&mut tx).await?;
        tx.commit().await?;
        match row {
            Some(row) => run_from_row(&row),
            None => {
                let run = self.run(id).await?;
                Err(StoreError::InvalidTransition {
                    from: run.status,
                    to,
                })
            }
        }
    }

    /// Records which workers execute run `id`.
    pub async fn set_run_workers(&self, id: RunId, workers: &[String]) -> Result<Run> {
        let row = sqlx::query(&format!(
            "UPDATE runs SET workers = $2 WHERE id = $1 RETURNING {RUN_COLUMNS}"
        ))
        .bind(id.0)
        .bind(to_json(&workers))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found(format!("run {id}")))?;
        run_from_row(&row)
    }

    /// How many runs charged to `user` are not over yet (quota checks).
    pub async fn count_active_runs(&self, user: UserId) -> Result<u64> {
        let live: Vec<RunStatus> = RunStatus::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_terminal())
            .collect();
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM runs WHERE user_id = $1 AND status IN ({})",
            status_list(&live)
        ))
        .bind(user.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    /// At start-up: every run left unfinished by a previous server process
    /// becomes `errored` with the error [`INTERRUPTED`]; its stored
    /// intervals stay. Returns the ids of the runs changed.
    ///
    /// Only for a single controller: with several servers sharing one
    /// PostgreSQL database, this would also end the other servers' runs.
    pub async fn mark_interrupted(&self) -> Result<Vec<RunId>> {
        let live: Vec<RunStatus> = RunStatus::ALL
            .iter()
            .copied()
            .filter(|s| !s.is_terminal())
            .collect();
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "UPDATE runs SET status = 'errored', error = $1, ended_at = $2 \
             WHERE status IN ({}) RETURNING id",
            status_list(&live)
        ))
        .bind(INTERRUPTED)
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        let mut ids: Vec<RunId> = ids.into_iter().map(RunId).collect();
        ids.sort();
        Ok(ids)
    }
}
