//! The faults of a distributed run (issue 15): a worker lost while it ran
//! a segment, and who resumed the segment from which second of the run —
//! or that nobody did, which leaves the run degraded.
//!
//! The leader that sees a fault records it here at once rather than only
//! in the run's final result, because that leader may die before the run
//! ends: the replica taking the run over reads them back and the run's
//! result still lists every fault. A fault is keyed by (run, segment, lost
//! worker, first missed second), so the same loss seen again — by a new
//! leader replaying the segment's events — updates its row instead of
//! adding one; what a write learned (the resumer, the second it resumed
//! at) is never erased by a later write that does not know it yet.

use serde::{Deserialize, Serialize};

use crate::db::col;
use crate::error::{Result, StoreError};
use crate::{RunId, Store};

/// One worker lost while it ran a segment of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFault {
    /// The segment (`1/2:1`; empty: the run is one segment).
    pub segment: String,
    /// The worker that was lost.
    pub worker: String,
    /// The first second of the run the lost worker did not report.
    pub from_s: i64,
    /// The first second the resuming worker reported, once known.
    pub to_s: Option<i64>,
    /// The worker that resumed the segment (none: nobody did).
    pub resumed_by: Option<String>,
}

impl Store {
    /// Records `fault` of run `run`, or completes the row of the same loss
    /// (a known resumer or resume second is kept when `fault` lacks it).
    /// A fenced handle's write commits only while it leads.
    pub async fn put_run_fault(&self, run: RunId, fault: &RunFault) -> Result<()> {
        if fault.from_s < 0 || fault.to_s.is_some_and(|t| t < 0) {
            return Err(StoreError::Invalid(
                "a fault's seconds must not be negative".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO run_faults (run_id, segment, worker, from_s, to_s, resumed_by) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (run_id, segment, worker, from_s) DO UPDATE \
             SET to_s = COALESCE(excluded.to_s, run_faults.to_s), \
                 resumed_by = COALESCE(excluded.resumed_by, run_faults.resumed_by)",
        )
        .bind(run.0)
        .bind(&fault.segment)
        .bind(&fault.worker)
        .bind(fault.from_s)
        .bind(fault.to_s)
        .bind(fault.resumed_by.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(_) => StoreError::not_found(format!("run {run}")),
            e => e,
        })?;
        self.check_fence(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Run `run`'s faults, by first missed second, then segment.
    pub async fn run_faults(&self, run: RunId) -> Result<Vec<RunFault>> {
        let rows = sqlx::query(
            "SELECT segment, worker, from_s, to_s, resumed_by FROM run_faults \
             WHERE run_id = $1 ORDER BY from_s, segment, worker",
        )
        .bind(run.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RunFault {
                    segment: col(r, "segment")?,
                    worker: col(r, "worker")?,
                    from_s: col(r, "from_s")?,
                    to_s: col(r, "to_s")?,
                    resumed_by: col(r, "resumed_by")?,
                })
            })
            .collect()
    }
}
