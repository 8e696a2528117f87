//! The stored views of ended runs (issue 16): what a run's page reads,
//! computed once by the server from the run's intervals, kept as one row
//! so that the page of an hour-long run is served without folding 3,600
//! intervals again.
//!
//! The store does not know the view's shape: the server hands over JSON
//! bytes and a `format` number naming their shape, and gets them back
//! only while it asks for the same format (a server that computes views
//! differently computes them again). Only ended runs have views, so a
//! view never misses an interval; the body is zstd-compressed. Retention
//! drops a run's view with its intervals ([`Store::delete_metrics_before`]).

use std::io::Read as _;

use crate::codec::MAX_DECODED_BYTES;
use crate::db::{col, now_ms};
use crate::error::{Result, StoreError};
use crate::model::{RunId, RunStatus};
use crate::Store;

/// Largest stored (compressed) view accepted.
pub const MAX_VIEW_BYTES: usize = 64 << 20;

/// zstd level of stored views: written once, read many times.
const VIEW_ZSTD_LEVEL: i32 = 9;

impl Store {
    /// Stores (or replaces) the view of run `run` in format `format`.
    /// `NotFound` for an unknown run, `Conflict` when it has not ended.
    pub async fn put_run_view(&self, run: RunId, format: i64, json: &[u8]) -> Result<()> {
        let body = zstd::bulk::compress(json, VIEW_ZSTD_LEVEL)
            .map_err(|e| StoreError::Invalid(format!("a view does not compress: {e}")))?;
        if body.len() > MAX_VIEW_BYTES {
            return Err(StoreError::Invalid(format!(
                "a stored view must compress to at most {} MiB",
                MAX_VIEW_BYTES >> 20
            )));
        }
        let status = self.run(run).await?.status;
        if !status.is_terminal() {
            return Err(StoreError::Conflict(format!(
                "run {run} is {status}: only an ended run has a stored view"
            )));
        }
        sqlx::query(
            "INSERT INTO run_views (run_id, format, created_at, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id) DO UPDATE SET format = excluded.format, \
             created_at = excluded.created_at, body = excluded.body",
        )
        .bind(run.0)
        .bind(format)
        .bind(now_ms())
        .bind(body)
        .execute(&self.pool)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(_) => StoreError::not_found(format!("run {run}")),
            e => e,
        })?;
        Ok(())
    }

    /// The JSON of run `run`'s stored view if it has one in format
    /// `format` (`None` otherwise).
    pub async fn run_view(&self, run: RunId, format: i64) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT body FROM run_views WHERE run_id = $1 AND format = $2")
            .bind(run.0)
            .bind(format)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let body: Vec<u8> = col(&row, "body")?;
        let mut json = Vec::new();
        zstd::stream::read::Decoder::new(body.as_slice())
            .and_then(|d| d.take(MAX_DECODED_BYTES + 1).read_to_end(&mut json))
            .map_err(|e| StoreError::corrupt("a stored view is not valid zstd", e))?;
        if json.len() as u64 > MAX_DECODED_BYTES {
            return Err(StoreError::corrupt(
                "a stored view is malformed",
                "it decompresses past the limit",
            ));
        }
        Ok(Some(json))
    }

    /// Ended runs with stored intervals but no view in format `format`,
    /// oldest first, at most `limit` (for computing them in the background).
    pub async fn runs_without_view(&self, format: i64, limit: u32) -> Result<Vec<RunId>> {
        let ended = RunStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT r.id FROM runs r WHERE r.status IN ({ended}) \
             AND NOT EXISTS (SELECT 1 FROM run_views v WHERE v.run_id = r.id AND v.format = $1) \
             AND EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id) \
             ORDER BY r.id LIMIT $2"
        ))
        .bind(format)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(RunId).collect())
    }
}
