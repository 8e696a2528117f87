//! Per-interval metric snapshots of runs: idempotent writes, reads, the
//! 1 s → 10 s → 60 s rollup, and retention.
//!
//! A row is one interval `(run, start_ms, len_ms)` holding the merged
//! [`WireSnapshot`] of that interval in the compact form of
//! [`crate::codec`] (about a third smaller than zstd over its wire JSON,
//! the form of older rows, which still decode). A stored row decodes to
//! exactly the snapshot that was written (same counts in every histogram
//! bucket, same floats to the bit). Writing the same key again replaces the
//! row, so a redelivered interval is never counted twice.
//!
//! Rollup merges the short intervals of an ended run into aligned longer
//! ones exactly (HDR histograms add, counters sum, min/max/last combine), in
//! one transaction per batch that deletes the short rows it merged. Every
//! chart, comparison and export is computed from these rows, so a
//! percentile of a rolled-up run is the same as before the rollup.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

use stampede_metrics::{Registry, Snapshot, WireSnapshot};
use time::OffsetDateTime;

use crate::codec;
use crate::db::{col, now_ms, to_ms};
use crate::error::{Result, StoreError};
use crate::model::{RunId, RunStatus};
use crate::Store;

/// Largest stored (compressed) snapshot: far above a 1000-endpoint
/// interval, far below what would strain a database row.
pub const MAX_SNAPSHOT_BYTES: usize = 32 << 20;

/// A stored interval of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredInterval {
    /// Start, in ms since the run's epoch (the key; multiple of `len_ms`
    /// for rolled-up rows).
    pub start_ms: i64,
    /// Nominal length in ms (1000 while live; 10000 / 60000 once rolled up).
    pub len_ms: i64,
    /// The merged snapshot (its own `start_ns`/`end_ns` are exact).
    pub snapshot: WireSnapshot,
}

/// When the rollup merges intervals of ended runs, and how much per transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupPolicy {
    /// Runs that ended longer ago than this get 10 s intervals.
    pub to_10s_after: Duration,
    /// Runs that ended longer ago than this get 60 s intervals.
    pub to_60s_after: Duration,
    /// Most source rows merged per transaction.
    pub batch_rows: u32,
}

impl Default for RollupPolicy {
    fn default() -> Self {
        RollupPolicy {
            to_10s_after: Duration::from_secs(24 * 3600),
            to_60s_after: Duration::from_secs(7 * 24 * 3600),
            batch_rows: 600,
        }
    }
}

/// What a rollup pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollupStats {
    /// Runs touched.
    pub runs: u64,
    /// Rows merged away.
    pub rows_merged: u64,
    /// Rows written.
    pub rows_written: u64,
}

/// The stored bytes of a snapshot (the compact form of [`crate::codec`]).
pub fn encode_snapshot(s: &WireSnapshot) -> Vec<u8> {
    codec::encode(s)
}

/// The snapshot back from a stored row: the compact form, or the older
/// one (zstd over the wire JSON, histograms as plain V2 or V2+deflate)
/// that rows written before it still hold.
pub fn decode_snapshot(bytes: &[u8]) -> Result<WireSnapshot> {
    if bytes.starts_with(&codec::MAGIC) {
        return codec::decode(bytes);
    }
    let mut json = Vec::new();
    zstd::stream::read::Decoder::new(bytes)
        .and_then(|d| d.take(codec::MAX_DECODED_BYTES + 1).read_to_end(&mut json))
        .map_err(|e| StoreError::corrupt("a stored snapshot is not valid zstd", e))?;
    if json.len() as u64 > codec::MAX_DECODED_BYTES {
        return Err(StoreError::corrupt(
            "a stored snapshot is malformed",
            "it decompresses past the limit",
        ));
    }
    let json = std::str::from_utf8(&json)
        .map_err(|e| StoreError::corrupt("a stored snapshot is not UTF-8", e))?;
    WireSnapshot::from_json(json)
        .map_err(|e| StoreError::corrupt("a stored snapshot is malformed", e))
}

/// Merges wire snapshots exactly (through a registry of their metrics).
pub fn merge_snapshots<'a>(
    parts: impl IntoIterator<Item = &'a WireSnapshot>,
) -> Result<WireSnapshot> {
    let reg = Registry::new();
    let mut merged = Snapshot::default();
    for w in parts {
        let s = w
            .clone()
            .into_snapshot(&reg)
            .map_err(|e| StoreError::Invalid(format!("snapshots do not merge: {e}")))?;
        merged.merge(&s);
    }
    Ok(merged.to_wire(&reg))
}

fn ms_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Stores run `run`'s interval starting at `snapshot.start_ns` (ms
    /// precision) with nominal length `len`, replacing what was stored under
    /// the same (run, start, length). `Conflict` when the interval falls in
    /// an already rolled-up one (it would be counted twice).
    pub async fn put_interval(
        &self,
        run: RunId,
        len: Duration,
        snapshot: &WireSnapshot,
    ) -> Result<()> {
        let len_ms = ms_i64(len);
        if len_ms <= 0 {
            return Err(StoreError::Invalid(
                "an interval must last at least 1 ms".into(),
            ));
        }
        if snapshot.end_ns < snapshot.start_ns {
            return Err(StoreError::Invalid(
                "a snapshot must not end before it starts".into(),
            ));
        }
        let start_ms = i64::try_from(snapshot.start_ns / 1_000_000)
            .map_err(|_| StoreError::Invalid("interval start out of range".into()))?;
        let blob = encode_snapshot(snapshot);
        if blob.len() > MAX_SNAPSHOT_BYTES {
            return Err(StoreError::Invalid(format!(
                "a stored interval must compress to at most {} MiB",
                MAX_SNAPSHOT_BYTES >> 20
            )));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO run_metrics (run_id, start_ms, len_ms, created_at, snapshot) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (run_id, start_ms, len_ms) DO UPDATE \
             SET snapshot = excluded.snapshot, created_at = excluded.created_at",
        )
        .bind(run.0)
        .bind(start_ms)
        .bind(len_ms)
        .bind(now_ms())
        .bind(blob)
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Invalid(_) => StoreError::not_found(format!("run {run}")),
            e => e,
        })?;
        let overlapping: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM run_metrics WHERE run_id = $1 AND len_ms <> $3 \
             AND start_ms < $2 + $3 AND start_ms + len_ms > $2",
        )
        .bind(run.0)
        .bind(start_ms)
        .bind(len_ms)
        .fetch_one(&mut *tx)
        .await?;
        if overlapping > 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "run {run}'s interval at {start_ms} ms overlaps an interval of another length \
                 (already rolled up)"
            )));
        }
        // A stale leader's interval rolls back (`fence.rs`).
        self.check_fence(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Run `run`'s stored intervals starting in `[from_ms, to_ms)` (either
    /// bound open when `None`), in time order. They never overlap.
    pub async fn intervals(
        &self,
        run: RunId,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<StoredInterval>> {
        let rows = sqlx::query(
            "SELECT start_ms, len_ms, snapshot FROM run_metrics WHERE run_id = $1 \
             AND ($2 IS NULL OR start_ms >= $2) AND ($3 IS NULL OR start_ms < $3) \
             ORDER BY start_ms, len_ms",
        )
        .bind(run.0)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredInterval {
                    start_ms: col(row, "start_ms")?,
                    len_ms: col(row, "len_ms")?,
                    snapshot: decode_snapshot(&col::<Vec<u8>>(row, "snapshot")?)?,
                })
            })
            .collect()
    }

    /// Total stored bytes of run `run`'s intervals and their count.
    pub async fn interval_usage(&self, run: RunId) -> Result<(u64, u64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(snapshot)), 0) AS bytes \
             FROM run_metrics WHERE run_id = $1",
        )
        .bind(run.0)
        .fetch_one(&self.pool)
        .await?;
        Ok((
            col::<i64>(&row, "bytes")? as u64,
            col::<i64>(&row, "n")? as u64,
        ))
    }

    /// Merges the short intervals of ended runs as `policy` says.
    pub async fn rollup(&self, policy: &RollupPolicy) -> Result<RollupStats> {
        self.rollup_at(policy, OffsetDateTime::now_utc()).await
    }

    /// [`Store::rollup`] as if the time were `now` (for tests and backfills).
    pub async fn rollup_at(
        &self,
        policy: &RollupPolicy,
        now: OffsetDateTime,
    ) -> Result<RollupStats> {
        let now = to_ms(now);
        let mut stats = RollupStats::default();
        for (to_len, age) in [(10_000, policy.to_10s_after), (60_000, policy.to_60s_after)] {
            let cutoff = now.saturating_sub(ms_i64(age));
            self.rollup_level(to_len, cutoff, policy.batch_rows.max(1), &mut stats)
                .await?;
        }
        Ok(stats)
    }

    async fn rollup_level(
        &self,
        to_len: i64,
        cutoff: i64,
        batch_rows: u32,
        stats: &mut RollupStats,
    ) -> Result<()> {
        let ended: Vec<RunStatus> = RunStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        let statuses = ended
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        loop {
            let runs: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT r.id FROM runs r WHERE r.status IN ({statuses}) \
                 AND r.ended_at IS NOT NULL AND r.ended_at < $1 \
                 AND EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id AND m.len_ms < $2) \
                 ORDER BY r.id LIMIT 100"
            ))
            .bind(cutoff)
            .bind(to_len)
            .fetch_all(&self.pool)
            .await?;
            if runs.is_empty() {
                return Ok(());
            }
            for run in runs {
                stats.runs += 1;
                while self.rollup_window(run, to_len, batch_rows, stats).await? {}
            }
        }
    }

    /// Merges one window of `run`'s rows shorter than `to_len`; false when
    /// there were none left.
    async fn rollup_window(
        &self,
        run: i64,
        to_len: i64,
        batch_rows: u32,
        stats: &mut RollupStats,
    ) -> Result<bool> {
        let first: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(start_ms) FROM run_metrics WHERE run_id = $1 AND len_ms < $2",
        )
        .bind(run)
        .bind(to_len)
        .fetch_one(&self.pool)
        .await?;
        let Some(first) = first else {
            return Ok(false);
        };
        // Whole target buckets per window, about `batch_rows` source rows
        // when they are 1 s long.
        let buckets = (i64::from(batch_rows) * 1000 / to_len).max(1);
        let lo = first.div_euclid(to_len) * to_len;
        let hi = lo.saturating_add(buckets * to_len);
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "DELETE FROM run_metrics WHERE run_id = $1 AND len_ms < $2 \
             AND start_ms >= $3 AND start_ms < $4 RETURNING start_ms, snapshot",
        )
        .bind(run)
        .bind(to_len)
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *tx)
        .await?;
        let mut groups: BTreeMap<i64, Vec<WireSnapshot>> = BTreeMap::new();
        for row in &rows {
            let start: i64 = col(row, "start_ms")?;
            let snap = decode_snapshot(&col::<Vec<u8>>(row, "snapshot")?)?;
            groups
                .entry(start.div_euclid(to_len) * to_len)
                .or_default()
                .push(snap);
        }
        for (bucket, mut parts) in groups {
            let existing: Option<Vec<u8>> = sqlx::query_scalar(
                "SELECT snapshot FROM run_metrics WHERE run_id = $1 AND start_ms = $2 AND len_ms = $3",
            )
            .bind(run)
            .bind(bucket)
            .bind(to_len)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(bytes) = existing {
                parts.insert(0, decode_snapshot(&bytes)?);
            }
            let merged = merge_snapshots(&parts)?;
            sqlx::query(
                "INSERT INTO run_metrics (run_id, start_ms, len_ms, created_at, snapshot) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, start_ms, len_ms) DO UPDATE \
                 SET snapshot = excluded.snapshot, created_at = excluded.created_at",
            )
            .bind(run)
            .bind(bucket)
            .bind(to_len)
            .bind(now_ms())
            .bind(encode_snapshot(&merged))
            .execute(&mut *tx)
            .await?;
            stats.rows_written += 1;
        }
        tx.commit().await?;
        stats.rows_merged += rows.len() as u64;
        Ok(!rows.is_empty())
    }

    /// Retention: deletes the stored intervals of ended runs that ended
    /// before `cutoff`, at most `batch` rows per statement, and their
    /// stored views. The runs themselves (with their summaries) stay.
    /// Returns the interval rows deleted.
    pub async fn delete_metrics_before(&self, cutoff: OffsetDateTime, batch: u32) -> Result<u64> {
        let cutoff = to_ms(cutoff);
        let batch = i64::from(batch.max(1));
        // A stored view shows the intervals: it goes with them.
        sqlx::query(
            "DELETE FROM run_views WHERE run_id IN (SELECT id FROM runs \
             WHERE ended_at IS NOT NULL AND ended_at < $1)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        let mut deleted = 0;
        loop {
            let run: Option<i64> = sqlx::query_scalar(
                "SELECT r.id FROM runs r WHERE r.ended_at IS NOT NULL AND r.ended_at < $1 \
                 AND EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id) \
                 ORDER BY r.id LIMIT 1",
            )
            .bind(cutoff)
            .fetch_optional(&self.pool)
            .await?;
            let Some(run) = run else {
                return Ok(deleted);
            };
            loop {
                let done = sqlx::query(
                    "DELETE FROM run_metrics WHERE run_id = $1 AND start_ms IN \
                     (SELECT start_ms FROM run_metrics WHERE run_id = $1 ORDER BY start_ms LIMIT $2)",
                )
                .bind(run)
                .bind(batch)
                .execute(&self.pool)
                .await?;
                deleted += done.rows_affected();
                if done.rows_affected() == 0 {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use serde_json::Value;
    use stampede_metrics::{Builtin, Sink, TagSet};

    /// A row as written before the compact form: zstd over the wire JSON
    /// with each histogram as base64 plain V2.
    fn legacy_row(s: &WireSnapshot) -> Vec<u8> {
        let mut json = serde_json::to_value(s).unwrap();
        for e in json["entries"].as_array_mut().unwrap() {
            let agg = &mut e["agg"];
            if agg["type"] == "trend" {
                for key in ["hist", "neg"] {
                    if let Some(Value::String(h)) = agg.get_mut(key) {
                        let plain = codec::plain_histogram(h).unwrap();
                        *h = base64::engine::general_purpose::STANDARD.encode(plain);
                    }
                }
            }
        }
        zstd::bulk::compress(json.to_string().as_bytes(), 3).unwrap()
    }

    fn sample() -> WireSnapshot {
        let reg = Registry::new();
        let mut sink = Sink::new();
        let tags = TagSet::from_pairs([("name", "a")]);
        for (i, v) in [0.5, 12.25, 980.0, -3.0, 1e9].into_iter().enumerate() {
            sink.add(Builtin::HttpReqDuration.metric(), &tags, v, i as u64);
            sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, i as u64);
        }
        sink.take(0, 1_000_000_000).to_wire(&reg)
    }

    #[test]
    fn stored_snapshots_decode_to_what_was_written() {
        let snap = sample();
        let bytes = encode_snapshot(&snap);
        assert!(bytes.starts_with(&codec::MAGIC));
        let back = decode_snapshot(&bytes).unwrap();
        assert_eq!(back, snap);
        assert_eq!(
            back.to_json(),
            snap.to_json(),
            "the wire bytes come back too"
        );
        assert!(matches!(
            decode_snapshot(b"not zstd"),
            Err(StoreError::Backend { .. })
        ));
    }

    #[test]
    fn rows_of_the_older_forms_still_decode() {
        let snap = sample();
        // Histograms as plain V2 (the last older form) and as the wire's
        // V2+deflate (the first).
        for row in [
            legacy_row(&snap),
            zstd::bulk::compress(snap.to_json().as_bytes(), 3).unwrap(),
        ] {
            assert_eq!(decode_snapshot(&row).unwrap(), snap);
        }
    }

    /// Rows written before the compact form load from the database next
    /// to new ones, and roll up with them exactly.
    #[tokio::test]
    async fn older_rows_load_and_roll_up_with_new_ones() {
        use crate::model::*;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_data_dir(dir.path()).await.unwrap();
        let (_, _, run) = crate::fixture::scratch_run(&store, "u").await.unwrap();
        let old = sample();
        sqlx::query(
            "INSERT INTO run_metrics (run_id, start_ms, len_ms, created_at, snapshot) \
             VALUES ($1, 0, 1000, 0, $2)",
        )
        .bind(run.id.0)
        .bind(legacy_row(&old))
        .execute(&store.pool)
        .await
        .unwrap();
        let mut new = sample();
        new.start_ns = 1_000_000_000;
        new.end_ns = 2_000_000_000;
        store
            .put_interval(run.id, Duration::from_secs(1), &new)
            .await
            .unwrap();
        let back = store.intervals(run.id, None, None).await.unwrap();
        assert_eq!((&back[0].snapshot, &back[1].snapshot), (&old, &new));
        for to in [RunStatus::Starting, RunStatus::Running, RunStatus::Passed] {
            store
                .transition_run(run.id, to, &RunEnd::default())
                .await
                .unwrap();
        }
        let policy = RollupPolicy {
            to_10s_after: Duration::ZERO,
            to_60s_after: Duration::from_secs(3600),
            batch_rows: 10,
        };
        let later = OffsetDateTime::now_utc() + time::Duration::seconds(5);
        store.rollup_at(&policy, later).await.unwrap();
        let rolled = store.intervals(run.id, None, None).await.unwrap();
        assert_eq!(rolled.len(), 1);
        let expected = merge_snapshots([&old, &new]).unwrap();
        assert_eq!(rolled[0].snapshot, expected);
        store.close().await;
    }
}
