//! A scenario's baseline: the one run its comparisons default to (the run
//! view's "compare with…", `GET /runs/{id}/compare/baseline` in CI).
//!
//! Kept in its own table (`scenario_baselines`, migration 5) rather than a
//! column of `scenarios` or `runs`, so marking a baseline never touches a
//! scenario's versions nor a run's state machine, and deleting either side
//! removes the mark by cascade. The store checks what the data must
//! guarantee: the run belongs to the scenario and has ended; who may mark
//! one is the server's business.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::db::{col, from_ms, now_ms};
use crate::error::{Result, StoreError};
use crate::model::{RunId, ScenarioId, UserId};
use crate::Store;

/// A scenario's baseline run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Baseline {
    /// The scenario.
    pub scenario_id: ScenarioId,
    /// Its baseline run.
    pub run_id: RunId,
    /// Who marked it (`None` once that user is deleted).
    pub set_by: Option<UserId>,
    /// When it was marked.
    #[serde(with = "time::serde::rfc3339")]
    pub set_at: OffsetDateTime,
}

const COLUMNS: &str = "scenario_id, run_id, set_by, set_at";

fn from_row(row: &AnyRow) -> Result<Baseline> {
    Ok(Baseline {
        scenario_id: ScenarioId(col(row, "scenario_id")?),
        run_id: RunId(col(row, "run_id")?),
        set_by: col::<Option<i64>>(row, "set_by")?.map(UserId),
        set_at: from_ms(col(row, "set_at")?)?,
    })
}

impl Store {
    /// Marks run `run` as the baseline of its scenario `scenario`,
    /// replacing any earlier one. `NotFound` for an unknown run or
    /// scenario; `Invalid` when the run is another scenario's or has not
    /// ended.
    pub async fn set_baseline(
        &self,
        scenario: ScenarioId,
        run: RunId,
        by: Option<UserId>,
    ) -> Result<Baseline> {
        self.scenario(scenario).await?;
        let r = self.run(run).await?;
        if r.scenario_id != scenario {
            return Err(StoreError::Invalid(format!(
                "run {run} is a run of scenario {}, not of scenario {scenario}",
                r.scenario_id
            )));
        }
        if !r.status.is_terminal() {
            return Err(StoreError::Invalid(format!(
                "run {run} has not ended ({}): only a finished run can be a baseline",
                r.status
            )));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO scenario_baselines ({COLUMNS}) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (scenario_id) DO UPDATE SET run_id = excluded.run_id, \
             set_by = excluded.set_by, set_at = excluded.set_at RETURNING {COLUMNS}"
        ))
        .bind(scenario.0)
        .bind(run.0)
        .bind(by.map(|u| u.0))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        from_row(&row)
    }

    /// The baseline of `scenario`, if one is marked.
    pub async fn baseline(&self, scenario: ScenarioId) -> Result<Option<Baseline>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM scenario_baselines WHERE scenario_id = $1"
        ))
        .bind(scenario.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Unmarks the baseline of `scenario`; whether there was one.
    pub async fn clear_baseline(&self, scenario: ScenarioId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM scenario_baselines WHERE scenario_id = $1")
            .bind(scenario.0)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The baselines of the scenarios not deleted, by scenario id.
    pub async fn baselines(&self) -> Result<Vec<Baseline>> {
        let rows = sqlx::query(
            "SELECT b.scenario_id, b.run_id, b.set_by, b.set_at FROM scenario_baselines b \
             JOIN scenarios s ON s.id = b.scenario_id WHERE s.deleted_at IS NULL \
             ORDER BY b.scenario_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
