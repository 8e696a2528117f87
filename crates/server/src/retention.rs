//! The background retention job (seed 002): metrics 30 days, alerts 90
//! days, reports 365 days, scenarios kept — each configurable — plus the
//! rollup of old runs' intervals (1 s → 10 s → 60 s) and, on SQLite, the
//! incremental vacuum that keeps the file from growing without bound.
//!
//! Every deletion is batched in the store (short statements, a yield
//! between them), so API requests keep being served while a pass runs.
//! [`run_pass`] takes the time as an argument: tests move the clock
//! instead of waiting.

use std::time::Duration;

use stampede_store::{RollupPolicy, Store};
use time::OffsetDateTime;

const DAY: u64 = 24 * 3600;

/// How long each kind of data is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Stored intervals of ended runs.
    pub metrics: Duration,
    /// Resolved alerts (and their delivery logs).
    pub alerts: Duration,
    /// Final summaries (reports) of ended runs.
    pub reports: Duration,
    /// Rows per statement.
    pub batch: u32,
    /// Time between passes.
    pub every: Duration,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            metrics: Duration::from_secs(30 * DAY),
            alerts: Duration::from_secs(90 * DAY),
            reports: Duration::from_secs(365 * DAY),
            batch: 500,
            every: Duration::from_secs(3600),
        }
    }
}

/// What one pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Interval rows deleted.
    pub metric_rows: u64,
    /// Alerts deleted.
    pub alerts: u64,
    /// Reports dropped.
    pub reports: u64,
    /// Interval rows merged by the rollup.
    pub rolled_up: u64,
}

/// One pass as of `now`.
pub async fn run_pass(
    store: &Store,
    policy: &RetentionPolicy,
    now: OffsetDateTime,
) -> Result<PassStats, String> {
    let e = |e: stampede_store::StoreError| e.to_string();
    let rollup = store
        .rollup_at(
            &RollupPolicy {
                batch_rows: policy.batch,
                ..RollupPolicy::default()
            },
            now,
        )
        .await
        .map_err(e)?;
    let stats = PassStats {
        metric_rows: store
            .delete_metrics_before(now - policy.metrics, policy.batch)
            .await
            .map_err(e)?,
        alerts: store
            .delete_alerts_before(now - policy.alerts, policy.batch)
            .await
            .map_err(e)?,
        reports: store
            .delete_reports_before(now - policy.reports, policy.batch)
            .await
            .map_err(e)?,
        rolled_up: rollup.rows_merged,
    };
    store.reclaim_space().await.map_err(e)?;
    Ok(stats)
}

/// Runs a pass now and then every `policy.every`, for as long as the
/// server lives.
pub fn spawn(store: Store, policy: RetentionPolicy) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_pass(&store, &policy, OffsetDateTime::now_utc()).await {
                Ok(s) if s != PassStats::default() => tracing::info!(?s, "retention pass"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention pass failed"),
            }
        }
    });
}
