//! Alert deliveries not finished yet (issue 17): a row per alert event and
//! channel from the moment it is due until it succeeds or runs out of
//! attempts, with the attempts made and when the next is due, so that a
//! server stopped between two attempts has them resumed instead of losing
//! the notification. Each row is leased by the server delivering it
//! (`lease_until`, kept past its next attempt's end); a row whose lease ran
//! out belongs to a server that died, and one server — whoever claims it
//! first, atomically — takes it over. The attempts themselves are logged in
//! `alert_deliveries` (see `alerts.rs`).

use serde::Serialize;

use crate::alerts::Due;
use crate::db::{col, from_ms, to_ms};
use crate::error::Result;
use crate::Store;

/// A delivery still to be attempted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PendingDelivery {
    /// Its id.
    pub id: i64,
    /// The alert.
    pub alert_id: i64,
    /// The channel.
    pub channel_id: i64,
    /// `fired` or `resolved`.
    pub event: String,
    /// Attempts already made.
    pub attempts: i64,
    /// When the next attempt is due.
    #[serde(with = "time::serde::rfc3339")]
    pub next_at: time::OffsetDateTime,
}

impl Store {
    /// Records that `event` of `alert_id` is due on `channel_id` at
    /// `next_at`, leased by the caller until `lease_until`; returns the
    /// row's id.
    pub async fn add_pending_delivery(
        &self,
        alert_id: i64,
        channel_id: i64,
        event: &str,
        next_at: time::OffsetDateTime,
        lease_until: time::OffsetDateTime,
    ) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let due = Due {
            channels: &[channel_id],
            next_at,
            lease_until,
        };
        let ids = due.record(&mut tx, alert_id, event).await?;
        tx.commit().await?;
        Ok(ids[0])
    }

    /// After a failed attempt: `attempts` made, the next due at `next_at`,
    /// the lease extended to `lease_until`.
    pub async fn postpone_pending_delivery(
        &self,
        id: i64,
        attempts: i64,
        next_at: time::OffsetDateTime,
        lease_until: time::OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE alert_pending_deliveries SET attempts = $2, next_at = $3, lease_until = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(attempts)
        .bind(to_ms(next_at))
        .bind(to_ms(lease_until))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The delivery is over (delivered, or out of attempts).
    pub async fn finish_pending_delivery(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM alert_pending_deliveries WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes over the deliveries whose lease ran out by `now` (their
    /// server died), leasing each to the caller until `lease_until`; a row
    /// two servers race for goes to one of them. The earliest due first.
    pub async fn claim_orphan_deliveries(
        &self,
        now: time::OffsetDateTime,
        lease_until: time::OffsetDateTime,
    ) -> Result<Vec<PendingDelivery>> {
        let mut out = Vec::new();
        for p in self.pending_deliveries().await? {
            let claimed = sqlx::query(
                "UPDATE alert_pending_deliveries SET lease_until = $2 \
                 WHERE id = $1 AND lease_until <= $3",
            )
            .bind(p.id)
            .bind(to_ms(lease_until))
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
            if claimed == 1 {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Every unfinished delivery, the earliest due first.
    pub async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>> {
        let rows = sqlx::query(
            "SELECT id, alert_id, channel_id, event, attempts, next_at \
             FROM alert_pending_deliveries ORDER BY next_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingDelivery {
                    id: col(r, "id")?,
                    alert_id: col(r, "alert_id")?,
                    channel_id: col(r, "channel_id")?,
                    event: col(r, "event")?,
                    attempts: col(r, "attempts")?,
                    next_at: from_ms(col(r, "next_at")?)?,
                })
            })
            .collect()
    }
}
