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
    spawn_led(
        store,
        policy,
        std::sync::Arc::new(crate::schedules::SingleServer),
    );
}

/// [`spawn`], passing while this server is not the leader (several
/// servers: one enforces retention).
pub fn spawn_led(
    store: Store,
    policy: RetentionPolicy,
    leader: std::sync::Arc<dyn crate::schedules::Leadership>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(policy.every.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !leader.is_leader() {
                continue;
            }
            match run_pass(&store, &policy, OffsetDateTime::now_utc()).await {
                Ok(s) if s != PassStats::default() => tracing::info!(?s, "retention pass"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention pass failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stampede_store::*;

    #[tokio::test]
    async fn a_pass_deletes_by_age_on_the_clock_it_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_data_dir(dir.path()).await.unwrap();
        let (_, s, run) = stampede_store::fixture::scratch_run(&store, "u")
            .await
            .unwrap();
        for st in [RunStatus::Starting, RunStatus::Running] {
            store
                .transition_run(run.id, st, &RunEnd::default())
                .await
                .unwrap();
        }
        let snap = stampede_metrics::WireSnapshot {
            start_ns: 0,
            end_ns: 1_000_000_000,
            metrics: vec![],
            entries: vec![],
        };
        store
            .put_interval(run.id, Duration::from_secs(1), &snap)
            .await
            .unwrap();
        let end = RunEnd {
            exit_code: Some(0),
            summary: Some(json!({"metrics": {}})),
            ..RunEnd::default()
        };
        store
            .transition_run(run.id, RunStatus::Passed, &end)
            .await
            .unwrap();
        let now = OffsetDateTime::now_utc();
        let policy = RetentionPolicy::default();
        let day = Duration::from_secs(DAY);

        // Nothing is old yet.
        let s0 = run_pass(&store, &policy, now).await.unwrap();
        assert_eq!((s0.metric_rows, s0.reports), (0, 0));
        // 31 days on: the metrics go, the report stays.
        let s1 = run_pass(&store, &policy, now + day * 31).await.unwrap();
        assert_eq!((s1.metric_rows, s1.reports), (1, 0), "{s1:?}");
        assert!(store
            .intervals(run.id, None, None)
            .await
            .unwrap()
            .is_empty());
        assert!(store.run(run.id).await.unwrap().summary.is_some());
        // 366 days on: the report goes, the run and its scenario stay.
        let s2 = run_pass(&store, &policy, now + day * 366).await.unwrap();
        assert_eq!(s2.reports, 1, "{s2:?}");
        assert_eq!(store.run(run.id).await.unwrap().summary, None);
        assert!(store.scenario(s.id).await.is_ok());
        let space = store.file_space().await.unwrap().unwrap();
        assert_eq!(space.free, 0, "free pages are handed back: {space:?}");
    }
}
