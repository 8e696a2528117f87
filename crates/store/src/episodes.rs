//! The alert evaluator's state per (rule, subject) (issue 17): since when
//! a rule's condition holds, whether its episode fires, when it last fired.
//! The leader writes a row whenever that state changes (and refreshes it
//! every few seconds while an episode holds or fires), so that the server
//! taking over after it — a new leader, or the same server restarted —
//! continues the "for" window where it was instead of starting it from
//! zero, fires each episode once and resolves it. The writes are the
//! leader's: through a fenced handle (`fence.rs`) they fail once a newer
//! leader announced itself, so a paused leader that wakes up cannot
//! overwrite its successor's state.

use serde::Serialize;

use crate::db::col;
use crate::error::Result;
use crate::Store;

/// One (rule, subject)'s evaluation state; times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertEpisode {
    /// The rule.
    pub rule_id: i64,
    /// `run:N`, `worker:ID` or `platform`.
    pub subject: String,
    /// Since when the condition holds, while it does.
    pub holding_since: Option<i64>,
    /// Since when a firing episode's condition fails.
    pub clear_since: Option<i64>,
    /// Whether the episode's alert fires.
    pub firing: bool,
    /// When the rule last fired for the subject.
    pub last_fired: Option<i64>,
    /// The evaluation that wrote this state.
    pub seen_at: i64,
}

impl Store {
    /// Stores `e` (replacing the row of its rule and subject). Fenced: a
    /// stale leader's write fails.
    pub async fn save_alert_episode(&self, e: &AlertEpisode) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO alert_episodes \
               (rule_id, subject, holding_since, clear_since, firing, last_fired, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (rule_id, subject) DO UPDATE SET holding_since = $3, \
               clear_since = $4, firing = $5, last_fired = $6, seen_at = $7",
        )
        .bind(e.rule_id)
        .bind(&e.subject)
        .bind(e.holding_since)
        .bind(e.clear_since)
        .bind(i64::from(e.firing))
        .bind(e.last_fired)
        .bind(e.seen_at)
        .execute(&mut *tx)
        .await?;
        self.check_fence(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the state of `rule_id` about `subject` (nothing to keep:
    /// not holding, not firing, never fired). Fenced.
    pub async fn delete_alert_episode(&self, rule_id: i64, subject: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM alert_episodes WHERE rule_id = $1 AND subject = $2")
            .bind(rule_id)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        self.check_fence(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every stored state (a new leader's start).
    pub async fn alert_episodes(&self) -> Result<Vec<AlertEpisode>> {
        let rows = sqlx::query(
            "SELECT rule_id, subject, holding_since, clear_since, firing, last_fired, seen_at \
             FROM alert_episodes ORDER BY rule_id, subject",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertEpisode {
                    rule_id: col(r, "rule_id")?,
                    subject: col(r, "subject")?,
                    holding_since: col(r, "holding_since")?,
                    clear_since: col(r, "clear_since")?,
                    firing: col::<i64>(r, "firing")? != 0,
                    last_fired: col(r, "last_fired")?,
                    seen_at: col(r, "seen_at")?,
                })
            })
            .collect()
    }
}
