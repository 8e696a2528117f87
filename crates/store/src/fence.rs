//! Fencing of the leader's exclusive writes (issue 15, several servers).
//!
//! Several `stampede server` replicas share one database; one of them, the
//! leader, holds a lease (in Redis) that comes with a fencing token, a
//! number that grows with every new leader. A leader announces its token
//! here ([`Store::advance_fence`]) before it writes anything, and does its
//! exclusive writes (run state changes, merged intervals, schedule fires)
//! through a [`Store::fenced`] handle: each such write checks, in its own
//! transaction and after its change, that the stored token is still its
//! own, and rolls back otherwise. The check locks the fence row for share
//! (PostgreSQL), so it serializes with a newer leader's announcement: once
//! that announcement has committed, no write of the stale leader can
//! commit any more — whatever its clock or its pauses. On SQLite the write
//! already holds the database's only write lock when it checks.
//!
//! The check lives in the store, not in Redis, because the store is where
//! the writes land: a check in Redis followed by a write elsewhere leaves a
//! window in which a paused leader writes after it lost its lease. Tested
//! on both backends in `tests/repository/fence.rs`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use sqlx::Any;

use crate::db::Backend;
use crate::error::{Result, StoreError};
use crate::Store;

/// A leader's fencing token, shared with the lease that renews it.
pub type Fence = Arc<AtomicI64>;

impl Store {
    /// A handle whose exclusive writes are fenced by `token` (0: not the
    /// leader yet — every fenced write fails).
    pub fn fenced(&self, token: Fence) -> Store {
        let mut s = self.clone();
        s.fence = Some(token);
        s
    }

    /// This handle without a fence, for the few writes a follower owns: a
    /// run it created but could not queue for the leader ends there.
    pub fn unfenced(&self) -> Store {
        let mut s = self.clone();
        s.fence = None;
        s
    }

    /// Announces a new leader's `token`: `true` if it is the highest seen
    /// (stale leaders' fenced writes fail from now on), `false` if a newer
    /// leader already announced a higher one.
    pub async fn advance_fence(&self, token: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE leader_fence SET token = $1 WHERE id = 1 AND token <= $1")
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The highest token announced.
    pub async fn fence_token(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT token FROM leader_fence WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// In a fenced handle's transaction, after its change: fails (the
    /// caller rolls back) unless the stored token is still this handle's.
    /// Unfenced handles pass.
    pub(crate) async fn check_fence(&self, tx: &mut sqlx::Transaction<'_, Any>) -> Result<()> {
        let Some(fence) = &self.fence else {
            return Ok(());
        };
        let mine = fence.load(Ordering::SeqCst);
        let sql = match self.backend() {
            Backend::Postgres => "SELECT token FROM leader_fence WHERE id = 1 FOR SHARE",
            Backend::Sqlite => "SELECT token FROM leader_fence WHERE id = 1",
        };
        let stored: i64 = sqlx::query_scalar(sql).fetch_one(&mut **tx).await?;
        if mine <= 0 || stored != mine {
            return Err(StoreError::Conflict(format!(
                "fenced: this server's leader token {mine} is not the current one ({stored}); \
                 another server leads"
            )));
        }
        Ok(())
    }

    /// Whether this handle's fenced writes would commit now (an unfenced
    /// handle's always do).
    pub async fn holds_fence(&self) -> Result<bool> {
        match &self.fence {
            None => Ok(true),
            Some(f) => Ok(self.fence_token().await? == f.load(Ordering::SeqCst)),
        }
    }

    /// Whether this handle carries a fence.
    pub fn is_fenced(&self) -> bool {
        self.fence.is_some()
    }
}
