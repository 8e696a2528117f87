//! Cases for stored intervals: idempotent writes, rollup, retention, concurrency.

use std::time::Duration;

use crate::*;
use serde_json::json;
use stampede_metrics::{Builtin, Stat};
use stampede_store::*;
use time::OffsetDateTime;

pub(crate) async fn intervals(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let one = Duration::from_secs(1);
    for sec in [2, 0, 1] {
        store
            .put_interval(
                run.id,
                one,
                &common::http_snapshot(sec, &[("home", &[sec as f64 + 1.0])]),
            )
            .await
            .unwrap();
    }
    // A redelivery replaces, never doubles.
    let resent = common::http_snapshot(1, &[("home", &[5.0, 6.0])]);
    store.put_interval(run.id, one, &resent).await.unwrap();
    let all = store.intervals(run.id, None, None).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|i| (i.start_ms, i.len_ms))
            .collect::<Vec<_>>(),
        [(0, 1000), (1000, 1000), (2000, 1000)]
    );
    assert_eq!(all[1].snapshot, resent, "stored exactly");
    let parts: Vec<_> = all.iter().map(|i| i.snapshot.clone()).collect();
    assert_eq!(
        common::merged_stat(&parts, Builtin::HttpReqs, &Stat::Count),
        Some(4.0)
    );
    let some = store
        .intervals(run.id, Some(1000), Some(2000))
        .await
        .unwrap();
    assert_eq!(some.len(), 1);
    assert!(matches!(
        store.put_interval(RunId(999), one, &resent).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.put_interval(run.id, Duration::ZERO, &resent).await,
        Err(StoreError::Invalid(_))
    ));
    let (bytes, rows) = store.interval_usage(run.id).await.unwrap();
    assert_eq!(rows, 3);
    assert!(bytes > 0);
}

pub(crate) async fn rollup_and_retention(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let old = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let live = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let one = Duration::from_secs(1);
    let mut originals = Vec::new();
    for sec in 0..75 {
        let values: Vec<f64> = (0..(sec % 7 + 1))
            .map(|i| (sec * 37 + i * 101) as f64 % 1000.0 + 0.5)
            .collect();
        let snap = common::http_snapshot(sec, &[("home", &values), ("cart", &values[..1])]);
        store.put_interval(old.id, one, &snap).await.unwrap();
        store.put_interval(live.id, one, &snap).await.unwrap();
        originals.push(snap);
    }
    finish(store, old.id, RunStatus::Passed).await;
    let policy = RollupPolicy {
        to_10s_after: Duration::from_secs(3600),
        to_60s_after: Duration::from_secs(7200),
        batch_rows: 25,
    };
    // Too recent: nothing happens.
    assert_eq!(store.rollup(&policy).await.unwrap(), RollupStats::default());

    let later = OffsetDateTime::now_utc() + time::Duration::minutes(90);
    let stats = store.rollup_at(&policy, later).await.unwrap();
    assert_eq!((stats.rows_merged, stats.rows_written), (75, 8));
    let tens = store.intervals(old.id, None, None).await.unwrap();
    assert_eq!(
        tens.iter().map(|i| i.start_ms).collect::<Vec<_>>(),
        (0..8).map(|i| i * 10_000).collect::<Vec<_>>()
    );
    assert!(tens.iter().all(|i| i.len_ms == 10_000));
    assert_eq!(
        (tens[7].snapshot.start_ns, tens[7].snapshot.end_ns),
        (70_000_000_000, 75_000_000_000)
    );
    assert_eq!(
        store.intervals(live.id, None, None).await.unwrap().len(),
        75,
        "live runs stay"
    );
    // A late 1 s interval inside a rolled-up one would be counted twice.
    let err = store
        .put_interval(old.id, one, &originals[3])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    let stats = store
        .rollup_at(&policy, later + time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((stats.rows_merged, stats.rows_written), (8, 2));
    let minutes = store.intervals(old.id, None, None).await.unwrap();
    assert_eq!(
        minutes
            .iter()
            .map(|i| (i.start_ms, i.len_ms))
            .collect::<Vec<_>>(),
        [(0, 60_000), (60_000, 60_000)]
    );
    let rolled: Vec<_> = minutes.iter().map(|i| i.snapshot.clone()).collect();
    for stat in [
        Stat::Count,
        Stat::Min,
        Stat::Max,
        Stat::Avg,
        Stat::Med,
        Stat::Percentile(95.0),
        Stat::Percentile(99.0),
    ] {
        assert_eq!(
            common::merged_stat(&rolled, Builtin::HttpReqDuration, &stat),
            common::merged_stat(&originals, Builtin::HttpReqDuration, &stat),
            "{stat:?}"
        );
    }
    assert_eq!(
        common::merged_stat(&rolled, Builtin::HttpReqFailed, &Stat::Rate),
        common::merged_stat(&originals, Builtin::HttpReqFailed, &Stat::Rate)
    );
    assert_eq!(
        store
            .rollup_at(&policy, later + time::Duration::hours(1))
            .await
            .unwrap(),
        RollupStats::default(),
        "idempotent"
    );

    // Retention: only ended runs older than the cutoff lose their metrics.
    assert_eq!(
        store
            .delete_metrics_before(OffsetDateTime::now_utc() - time::Duration::days(1), 1)
            .await
            .unwrap(),
        0
    );
    store.put_run_view(old.id, 1, b"{}").await.unwrap();
    assert_eq!(store.delete_metrics_before(later, 1).await.unwrap(), 2);
    assert_eq!(
        store.run_view(old.id, 1).await.unwrap(),
        None,
        "the view goes with the intervals"
    );
    assert!(store
        .intervals(old.id, None, None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.run(old.id).await.unwrap().status,
        RunStatus::Passed,
        "the run stays"
    );
    assert_eq!(
        store.intervals(live.id, None, None).await.unwrap().len(),
        75
    );
}

pub(crate) async fn concurrent_writes(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let mut runs = Vec::new();
    for _ in 0..4 {
        runs.push(store.create_run(&new_run(s.id, u.id)).await.unwrap().id);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, &run) in runs.iter().enumerate() {
        for sec in 0..20u64 {
            let store = store.clone();
            tasks.spawn(async move {
                let snap = common::http_snapshot(sec, &[("home", &[i as f64 + 1.0])]);
                // Every interval twice, as a redelivering worker would.
                store
                    .put_interval(run, Duration::from_secs(1), &snap)
                    .await?;
                store.put_interval(run, Duration::from_secs(1), &snap).await
            });
        }
        let store = store.clone();
        tasks.spawn(async move {
            store
                .record_audit(&NewAudit {
                    action: "run.start".into(),
                    target: format!("run/{run}"),
                    details: json!({}),
                    ..NewAudit::default()
                })
                .await
                .map(|_| ())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    for run in runs {
        let all = store.intervals(run, None, None).await.unwrap();
        assert_eq!(all.len(), 20);
        let parts: Vec<_> = all.into_iter().map(|i| i.snapshot).collect();
        assert_eq!(
            common::merged_stat(&parts, Builtin::HttpReqs, &Stat::Count),
            Some(20.0)
        );
    }
    assert_eq!(
        store
            .list_audit(&AuditFilter::default(), Page::default())
            .await
            .unwrap()
            .total,
        4
    );
}

pub(crate) async fn stored_views(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let snap = common::http_snapshot(0, &[("home", &[1.0])]);
    store
        .put_interval(run.id, Duration::from_secs(1), &snap)
        .await
        .unwrap();
    let view = br#"{"state":{"status":"passed"},"points":[1,2,3]}"#;
    // Only an ended run has a view.
    assert!(matches!(
        store.put_run_view(run.id, 1, view).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.put_run_view(RunId(999), 1, view).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.runs_without_view(1, 10).await.unwrap(), []);
    finish(store, run.id, RunStatus::Passed).await;
    assert_eq!(store.runs_without_view(1, 10).await.unwrap(), [run.id]);
    assert_eq!(store.run_view(run.id, 1).await.unwrap(), None);
    store.put_run_view(run.id, 1, view).await.unwrap();
    assert_eq!(
        store.run_view(run.id, 1).await.unwrap().as_deref(),
        Some(&view[..])
    );
    assert_eq!(
        store.run_view(run.id, 2).await.unwrap(),
        None,
        "another format"
    );
    assert_eq!(store.runs_without_view(1, 10).await.unwrap(), []);
    assert_eq!(store.runs_without_view(2, 10).await.unwrap(), [run.id]);
    // Replaced, never duplicated.
    store.put_run_view(run.id, 2, b"[]").await.unwrap();
    assert_eq!(store.run_view(run.id, 1).await.unwrap(), None);
    assert_eq!(
        store.run_view(run.id, 2).await.unwrap().as_deref(),
        Some(&b"[]"[..])
    );
}
