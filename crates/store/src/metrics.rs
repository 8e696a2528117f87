//! Per-interval metric snapshots of runs: idempotent writes, reads, the
//! 1 s → 10 s → 60 s rollup, and retention.
//!
//! A row is one interval `(run, start_ms, len_ms)` holding the merged
//! [`WireSnapshot`] of that interval as its wire JSON
//! ([`WireSnapshot::to_json`]), zstd-compressed, with one change: each
//! trend histogram is stored as plain HDR V2 instead of the wire's
//! per-histogram "V2+deflate". The wire decoder reads both encodings alike,
//! so a stored row decodes to exactly the snapshot that was written (same
//! counts in every bucket), but zstd over the whole row then finds the
//! redundancy that hundreds of separately deflated small histograms hide:
//! a 1-hour, 20-endpoint run at 500 requests/s takes about a quarter less
//! space (`examples/size.rs`). Writing the same key again replaces the row,
//! so a redelivered interval is never counted twice.
//!
//! Rollup merges the short intervals of an ended run into aligned longer
//! ones exactly (HDR histograms add, counters sum, min/max/last combine), in
//! one transaction per batch that deletes the short rows it merged. Every
//! chart, comparison and export is computed from these rows, so a
//! percentile of a rolled-up run is the same as before the rollup.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use stampede_metrics::{Registry, Snapshot, WireSnapshot};
use time::OffsetDateTime;

use crate::db::{col, now_ms, to_ms};
use crate::error::{Result, StoreError};
use crate::model::{RunId, RunStatus};
use crate::Store;

/// Largest stored (compressed) snapshot: far above a 1000-endpoint
/// interval, far below what would strain a database row.
pub const MAX_SNAPSHOT_BYTES: usize = 32 << 20;

/// zstd level for stored snapshots: fast, and within a few percent of the
/// higher levels on this data.
const ZSTD_LEVEL: i32 = 3;

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

/// The stored bytes of a snapshot: zstd of its wire JSON, histograms
/// inflated (see the module docs).
pub fn encode_snapshot(s: &WireSnapshot) -> Vec<u8> {
    let mut json = serde_json::to_value(s).expect("a wire snapshot always serializes");
    if let Some(entries) = json.get_mut("entries").and_then(Value::as_array_mut) {
        for agg in entries.iter_mut().filter_map(|e| e.get_mut("agg")) {
            if agg.get("type").and_then(Value::as_str) != Some("trend") {
                continue;
            }
            for key in ["hist", "neg"] {
                if let Some(Value::String(h)) = agg.get_mut(key) {
                    if let Some(plain) = inflate_histogram(h) {
                        *h = plain;
                    }
                }
            }
        }
    }
    zstd::bulk::compress(json.to_string().as_bytes(), ZSTD_LEVEL)
        .expect("zstd compresses any input in memory")
}

/// HDR's "V2+deflate" cookie (`V2_COMPRESSED_COOKIE` of the hdrhistogram
/// crate); the payload after cookie and length is a zlib stream of the
/// plain V2 serialization, which starts with [`V2_PLAIN_COOKIE`].
const V2_DEFLATE_COOKIE: [u8; 4] = 0x1c84_9314_u32.to_be_bytes();

/// HDR's plain V2 cookie (`V2_COOKIE`).
const V2_PLAIN_COOKIE: [u8; 4] = 0x1c84_9313_u32.to_be_bytes();

/// A base64 V2+deflate histogram as base64 plain V2, or `None` if it is
/// not in that form (then it is stored as it came).
fn inflate_histogram(b64: &str) -> Option<String> {
    use base64::Engine as _;
    use std::io::Read as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine.decode(b64).ok()?;
    if bytes.len() < 8 || bytes[..4] != V2_DEFLATE_COOKIE {
        return None;
    }
    let len = u32::from_be_bytes(bytes[4..8].try_into().ok()?) as usize;
    let body = bytes.get(8..8 + len)?;
    let mut plain = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_SNAPSHOT_BYTES as u64)
        .read_to_end(&mut plain)
        .ok()?;
    if !plain.starts_with(&V2_PLAIN_COOKIE) {
        return None;
    }
    Some(engine.encode(plain))
}

/// The snapshot back from [`encode_snapshot`]'s bytes.
pub fn decode_snapshot(bytes: &[u8]) -> Result<WireSnapshot> {
    let json = zstd::stream::decode_all(bytes)
        .map_err(|e| StoreError::corrupt("a stored snapshot is not valid zstd", e))?;
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
    /// before `cutoff`, at most `batch` rows per statement. The runs
    /// themselves (with their summaries) stay. Returns the rows deleted.
    pub async fn delete_metrics_before(&self, cutoff: OffsetDateTime, batch: u32) -> Result<u64> {
        let cutoff = to_ms(cutoff);
        let batch = i64::from(batch.max(1));
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
    use stampede_metrics::{Builtin, Sink, TagSet};

    #[test]
    fn stored_snapshots_decode_to_what_was_written() {
        let reg = Registry::new();
        let mut sink = Sink::new();
        let tags = TagSet::from_pairs([("name", "a")]);
        for (i, v) in [0.5, 12.25, 980.0, -3.0, 1e9].into_iter().enumerate() {
            sink.add(Builtin::HttpReqDuration.metric(), &tags, v, i as u64);
            sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, i as u64);
        }
        let snap = sink.take(0, 1_000_000_000).to_wire(&reg);
        let bytes = encode_snapshot(&snap);
        let back = decode_snapshot(&bytes).unwrap();
        assert_eq!(back, snap);
        assert_eq!(
            back.to_json(),
            snap.to_json(),
            "the wire bytes come back too"
        );
        let stored: Value =
            serde_json::from_slice(&zstd::stream::decode_all(bytes.as_slice()).unwrap()).unwrap();
        let trend = &stored["entries"][0]["agg"];
        assert_eq!(trend["type"], "trend");
        for key in ["hist", "neg"] {
            use base64::Engine as _;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(trend[key].as_str().unwrap())
                .unwrap();
            assert_eq!(raw[..4], V2_PLAIN_COOKIE, "{key} stored as plain V2");
        }
        assert!(matches!(
            decode_snapshot(b"not zstd"),
            Err(StoreError::Backend { .. })
        ));
    }

    #[test]
    fn other_histogram_encodings_are_kept() {
        assert_eq!(inflate_histogram("not base64!"), None);
        assert_eq!(inflate_histogram("AAAA"), None);
    }
}
