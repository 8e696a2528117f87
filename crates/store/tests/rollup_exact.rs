//! Property: rolling stored 1 s intervals up to 10 s and 60 s loses
//! nothing — the percentiles, extremes and counts of the merged rolled-up
//! intervals equal those of the merged originals (the mean up to float
//! rounding of the sum's order).

mod common;

use std::time::Duration;

use proptest::prelude::*;
use stampede_metrics::{Builtin, Stat};
use stampede_store::*;

async fn rolled_up(
    seconds: &[Vec<f64>],
) -> (
    Vec<stampede_metrics::WireSnapshot>,
    Vec<stampede_metrics::WireSnapshot>,
) {
    let (store, _dir) = common::sqlite_store().await;
    let (_, _, run) = stampede_store::fixture::scratch_run(&store, "p")
        .await
        .unwrap();
    let mut originals = Vec::new();
    for (sec, values) in seconds.iter().enumerate() {
        let snap = common::http_snapshot(
            sec as u64,
            &[("a", values), ("b", &values[values.len() / 2..])],
        );
        store
            .put_interval(run.id, Duration::from_secs(1), &snap)
            .await
            .unwrap();
        originals.push(snap);
    }
    store
        .transition_run(run.id, RunStatus::Aborted, &RunEnd::default())
        .await
        .unwrap();
    let policy = RollupPolicy {
        to_10s_after: Duration::ZERO,
        to_60s_after: Duration::from_secs(1),
        batch_rows: 7,
    };
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    store.rollup_at(&policy, later).await.unwrap();
    let stored = store.intervals(run.id, None, None).await.unwrap();
    assert!(
        stored.iter().all(|i| i.len_ms == 60_000),
        "all rolled up to 60 s"
    );
    assert_eq!(stored.len(), seconds.len().div_ceil(60));
    (originals, stored.into_iter().map(|i| i.snapshot).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn rollup_keeps_percentiles_exact(
        seconds in prop::collection::vec(prop::collection::vec(0.001f64..60_000.0, 1..20), 1..75)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (originals, rolled) = rt.block_on(rolled_up(&seconds));
        for stat in [Stat::Count, Stat::Min, Stat::Max, Stat::Med, Stat::Percentile(90.0), Stat::Percentile(95.0), Stat::Percentile(99.0), Stat::Percentile(99.9)] {
            prop_assert_eq!(
                common::merged_stat(&rolled, Builtin::HttpReqDuration, &stat),
                common::merged_stat(&originals, Builtin::HttpReqDuration, &stat),
                "{:?}", stat
            );
        }
        for (metric, stat) in [(Builtin::HttpReqs, Stat::Count), (Builtin::HttpReqFailed, Stat::Passes), (Builtin::HttpReqFailed, Stat::Fails)] {
            prop_assert_eq!(common::merged_stat(&rolled, metric, &stat), common::merged_stat(&originals, metric, &stat));
        }
        let avg = |parts| common::merged_stat(parts, Builtin::HttpReqDuration, &Stat::Avg).unwrap();
        let (a, b) = (avg(&rolled), avg(&originals));
        prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{} vs {}", a, b);
    }
}
