//! Retention (seed 002): what old data is deleted, in small batches so
//! that the API's queries interleave with the job instead of waiting behind
//! one long transaction, and how the SQLite file gives the space back.
//!
//! Metrics are the stored intervals of runs ([`Store::delete_metrics_before`]);
//! alerts are resolved alerts (a firing one is kept whatever its age);
//! reports are the final summaries of runs (the run record itself stays,
//! so a scenario's history is never cut); scenarios are kept. Every
//! deletion takes the cutoff as an argument: the caller owns the clock.
//!
//! SQLite never shrinks its file by itself: deleted pages go to a free
//! list. [`Store::reclaim_space`] switches the database to incremental
//! auto-vacuum once (one `VACUUM`, on the first pass) and afterwards hands
//! free pages back to the file system a bounded number at a time.

use time::OffsetDateTime;

use crate::db::{to_ms, Backend};
use crate::error::Result;
use crate::Store;

/// Pages handed back per [`Store::reclaim_space`] call (4 KiB each: 16 MiB).
pub const VACUUM_PAGES: i64 = 4096;

/// Page counts of an SQLite file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileSpace {
    /// Pages in the file.
    pub pages: i64,
    /// Of which free (deleted data not yet given back).
    pub free: i64,
}

impl Store {
    /// Deletes resolved alerts that fired before `cutoff` (their delivery
    /// log with them), at most `batch` per statement. Returns how many.
    pub async fn delete_alerts_before(&self, cutoff: OffsetDateTime, batch: u32) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(
                "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts \
                 WHERE state = 'resolved' AND fired_at < $1 ORDER BY id LIMIT $2)",
            )
            .bind(to_ms(cutoff))
            .bind(i64::from(batch.max(1)))
            .execute(&self.pool)
            .await?;
            deleted += done.rows_affected();
            if done.rows_affected() == 0 {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Drops the final summaries (the reports) of runs that ended before
    /// `cutoff`, at most `batch` runs per statement. Returns how many.
    pub async fn delete_reports_before(&self, cutoff: OffsetDateTime, batch: u32) -> Result<u64> {
        let mut cleared = 0;
        loop {
            let done = sqlx::query(
                "UPDATE runs SET summary = NULL WHERE id IN (SELECT id FROM runs \
                 WHERE summary IS NOT NULL AND ended_at IS NOT NULL AND ended_at < $1 \
                 ORDER BY id LIMIT $2)",
            )
            .bind(to_ms(cutoff))
            .bind(i64::from(batch.max(1)))
            .execute(&self.pool)
            .await?;
            cleared += done.rows_affected();
            if done.rows_affected() == 0 {
                return Ok(cleared);
            }
            tokio::task::yield_now().await;
        }
    }

    /// SQLite: the file's page counts (`None` on PostgreSQL).
    pub async fn file_space(&self) -> Result<Option<FileSpace>> {
        if self.backend() != Backend::Sqlite {
            return Ok(None);
        }
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.pool)
            .await?;
        let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(FileSpace { pages, free }))
    }

    /// SQLite: gives up to [`VACUUM_PAGES`] free pages back to the file
    /// system (switching the file to incremental auto-vacuum first if it is
    /// not yet). PostgreSQL's autovacuum does this itself: a no-op there.
    pub async fn reclaim_space(&self) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&self.pool)
            .await?;
        if mode != 2 {
            // The mode of an existing file only changes with a VACUUM.
            let mut conn = self.pool.acquire().await?;
            sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
                .execute(&mut *conn)
                .await?;
            sqlx::query("VACUUM").execute(&mut *conn).await?;
            return Ok(());
        }
        sqlx::query(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
