//! Pipelines run by the server (issue 18): the submitted YAML, the live
//! state of its stages (JSON, rewritten as stages start and end), and the
//! final report (the pipeline crate's `PipelineReport`, as JSON).
//!
//! The store does not interpret stages or reports: the server owns their
//! shape, this keeps them with the pipeline's status. A pipeline ends once
//! (compare-and-set on `running`), and its stage runs are ordinary runs
//! with `StartedBy::Pipeline(id)`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::db::{check_name, col, from_ms, json_col, now_ms, opt_from_ms, opt_json_col, to_json};
use crate::error::{Result, StoreError};
use crate::model::{Page, Paged, UserId};
use crate::Store;

text_enum!(
    /// A pipeline's life cycle: `running → passed | failed | aborted | errored`.
    PipelineStatus {
        /// Stages are running or waiting.
        Running = "running",
        /// Every required gate passed.
        Passed = "passed",
        /// A required gate failed.
        Failed = "failed",
        /// Stopped through the API.
        Aborted = "aborted",
        /// Could not go on (the server restarted mid-pipeline).
        Errored = "errored",
    }
);

/// The error text of pipelines found running at start-up.
pub const PIPELINE_INTERRUPTED: &str = "interrupted: server restarted";

/// A pipeline as submitted.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPipeline {
    /// Its name (1..=200 characters).
    pub name: String,
    /// Who started it.
    pub user_id: Option<UserId>,
    /// The pipeline YAML.
    pub spec: String,
    /// The request around it (scenario references, file names, variable
    /// names — never variable values).
    pub request: Value,
    /// The stages' initial state.
    pub stages: Value,
}

/// A stored pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredPipeline {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Who started it.
    pub user_id: Option<UserId>,
    /// Where it is.
    pub status: PipelineStatus,
    /// The pipeline YAML.
    pub spec: String,
    /// The request around it.
    pub request: Value,
    /// Each stage's state.
    pub stages: Value,
    /// The final report.
    pub report: Option<Value>,
    /// Why it errored or was stopped.
    pub error: Option<String>,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "id, name, user_id, status, spec, request, stages, report, error, created_at, ended_at";

fn from_row(row: &AnyRow) -> Result<StoredPipeline> {
    Ok(StoredPipeline {
        id: col(row, "id")?,
        name: col(row, "name")?,
        user_id: col::<Option<i64>>(row, "user_id")?.map(UserId),
        status: col::<String>(row, "status")?.parse()?,
        spec: col(row, "spec")?,
        request: json_col(row, "request")?,
        stages: json_col(row, "stages")?,
        report: opt_json_col(row, "report")?,
        error: col(row, "error")?,
        created_at: from_ms(col(row, "created_at")?)?,
        ended_at: opt_from_ms(col(row, "ended_at")?)?,
    })
}

impl Store {
    /// Records a new pipeline, `running`.
    pub async fn create_pipeline(&self, new: &NewPipeline) -> Result<StoredPipeline> {
        check_name("pipeline name", &new.name, 200)?;
        let row = sqlx::query(&format!(
            "INSERT INTO pipelines (name, user_id, status, spec, request, stages, created_at) \
             VALUES ($1, $2, 'running', $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(&new.name)
        .bind(new.user_id.map(|u| u.0))
        .bind(&new.spec)
        .bind(to_json(&new.request))
        .bind(to_json(&new.stages))
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        from_row(&row)
    }

    /// The pipeline `id`.
    pub async fn pipeline(&self, id: i64) -> Result<StoredPipeline> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM pipelines WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("pipeline {id}")))?;
        from_row(&row)
    }

    /// Pipelines, newest first.
    pub async fn list_pipelines(&self, page: Page) -> Result<Paged<StoredPipeline>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pipelines")
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM pipelines ORDER BY id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(page.clamped_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged {
            items: rows.iter().map(from_row).collect::<Result<_>>()?,
            total: total as u64,
            limit: page.clamped_limit() as u32,
            offset: page.offset,
        })
    }

    /// Replaces the stages' state of a running pipeline (a no-op once it ended).
    pub async fn set_pipeline_stages(&self, id: i64, stages: &Value) -> Result<()> {
        sqlx::query("UPDATE pipelines SET stages = $2 WHERE id = $1 AND status = 'running'")
            .bind(id)
            .bind(to_json(stages))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a running pipeline with its final stages, report and error.
    /// `InvalidState`-like `Conflict` when it already ended.
    pub async fn finish_pipeline(
        &self,
        id: i64,
        status: PipelineStatus,
        stages: &Value,
        report: Option<&Value>,
        error: Option<&str>,
    ) -> Result<StoredPipeline> {
        if status == PipelineStatus::Running {
            return Err(StoreError::Invalid(
                "a pipeline cannot end as running".into(),
            ));
        }
        let row = sqlx::query(&format!(
            "UPDATE pipelines SET status = $2, stages = $3, report = $4, error = $5, ended_at = $6 \
             WHERE id = $1 AND status = 'running' RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(status.as_str())
        .bind(to_json(stages))
        .bind(report.map(to_json))
        .bind(error)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => from_row(&row),
            None => {
                let p = self.pipeline(id).await?;
                Err(StoreError::Conflict(format!(
                    "pipeline {id} has already ended ({})",
                    p.status
                )))
            }
        }
    }

    /// At start-up: pipelines left running by a previous server process
    /// become `errored` with [`PIPELINE_INTERRUPTED`] (their runs are
    /// marked by [`Store::mark_interrupted`]). Returns their ids.
    pub async fn mark_pipelines_interrupted(&self) -> Result<Vec<i64>> {
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE pipelines SET status = 'errored', error = $1, ended_at = $2 \
             WHERE status = 'running' RETURNING id",
        )
        .bind(PIPELINE_INTERRUPTED)
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        ids.sort();
        Ok(ids)
    }
}
