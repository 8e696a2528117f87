//! Cases for scenarios with their versions, and runs with their state machine.

use std::time::Duration;

use crate::*;
use serde_json::json;
use stampede_store::*;

/// A k6 archive (binary bytes) is kept per version next to the editor's
/// text, carried over by saves that do not replace it, and dropped by one
/// that says so.
pub(crate) async fn scenario_archives(store: &Store) {
    let u = store
        .create_user(&new_user("archiver", Role::Editor))
        .await
        .unwrap();
    let tar: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let mut new = new_scenario(u.id, "archived", &[]);
    new.content.k6_archive = Some(tar.clone());
    let s = store.create_scenario(&new).await.unwrap();
    assert_eq!(s.content.k6_archive.as_deref(), Some(&tar[..]));
    assert_eq!(s.content.archive, b"// archived", "the editor's text");
    let v2 = store
        .update_scenario(
            s.id,
            &ScenarioUpdate {
                options: Some(json!({"vus": 2})),
                ..ScenarioUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v2.content.k6_archive.as_deref(), Some(&tar[..]), "kept");
    let v3 = store
        .update_scenario(
            s.id,
            &ScenarioUpdate {
                archive: Some(b"// plain".to_vec()),
                k6_archive: Some(None),
                ..ScenarioUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v3.content.k6_archive, None, "dropped");
    let v1 = store.scenario_version(s.id, 1).await.unwrap();
    assert_eq!(v1.content.k6_archive.as_deref(), Some(&tar[..]));
    let mut empty = new_scenario(u.id, "empty archive", &[]);
    empty.content.k6_archive = Some(Vec::new());
    assert!(matches!(
        store.create_scenario(&empty).await,
        Err(StoreError::Invalid(_))
    ));
}

pub(crate) async fn scenarios(store: &Store) {
    let u = store
        .create_user(&new_user("writer", Role::Editor))
        .await
        .unwrap();
    let s = store
        .create_scenario(&new_scenario(
            u.id,
            "Checkout flow",
            &["shop", "nightly", "shop"],
        ))
        .await
        .unwrap();
    assert_eq!(s.version, 1);
    assert_eq!(
        s.tags,
        ["shop", "nightly"],
        "duplicates dropped, order kept"
    );
    assert_eq!(s.content.archive, b"// Checkout flow");
    let err = store
        .create_scenario(&new_scenario(u.id, "checkout FLOW", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("already exists")),
        "{err}"
    );
    let mut bad = new_scenario(u.id, "bad", &[]);
    bad.content.options = json!([1]);
    assert!(matches!(
        store.create_scenario(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    bad.content = content("");
    assert!(matches!(
        store.create_scenario(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .create_scenario(&new_scenario(UserId(999), "orphan", &[]))
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // Every save keeps the previous version.
    let v2 = store
        .update_scenario(
            s.id,
            &ScenarioUpdate {
                saved_by: Some(u.id),
                archive: Some(b"// v2".to_vec()),
                ..ScenarioUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.content.archive, b"// v2");
    assert_eq!(v2.content.entry, "script.js", "kept");
    let v3 = store
        .update_scenario(
            s.id,
            &ScenarioUpdate {
                description: Some("new text".into()),
                tags: Some(vec!["smoke".into()]),
                options: Some(json!({"vus": 9})),
                ..ScenarioUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(v3.content.archive, b"// v2", "the archive carries over");
    assert_eq!(v3.content.options, json!({"vus": 9}));
    assert_eq!(v3.description, "new text");
    let v1 = store.scenario_version(s.id, 1).await.unwrap();
    assert_eq!(v1.content.archive, b"// Checkout flow");
    assert_eq!(v1.content.options, json!({"vus": 1}));
    assert_eq!(v1.created_by, Some(u.id));
    let versions = store.list_scenario_versions(s.id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert!(matches!(
        store.scenario_version(s.id, 4).await,
        Err(StoreError::NotFound { .. })
    ));

    // A failed save changes nothing.
    let other = store
        .create_scenario(&new_scenario(u.id, "Other", &["shop"]))
        .await
        .unwrap();
    let err = store
        .update_scenario(
            other.id,
            &ScenarioUpdate {
                name: Some("CHECKOUT flow".into()),
                archive: Some(b"x".to_vec()),
                ..ScenarioUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let unchanged = store.scenario(other.id).await.unwrap();
    assert_eq!((unchanged.version, unchanged.name.as_str()), (1, "Other"));
    assert!(matches!(
        store.scenario_version(other.id, 2).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .update_scenario(ScenarioId(999), &ScenarioUpdate::default())
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // Search by name and tag, paginated.
    store
        .create_scenario(&new_scenario(u.id, "100% load_test", &[]))
        .await
        .unwrap();
    for (name, tag, want) in [
        (Some("CHECK"), None, &["Checkout flow"][..]),
        (Some("0%"), None, &["100% load_test"]),
        (Some("d_t"), None, &["100% load_test"]),
        (Some("o_t"), None, &[]), // `_` is literal
        (None, Some("shop"), &["Other"]),
        (None, Some("smoke"), &["Checkout flow"]),
    ] {
        let filter = ScenarioFilter {
            name_contains: name.map(Into::into),
            tag: tag.map(Into::into),
            owner_id: None,
        };
        let found = store
            .list_scenarios(&filter, Page::default())
            .await
            .unwrap();
        let names: Vec<String> = found.items.into_iter().map(|s| s.name).collect();
        assert_eq!(names, want, "{name:?} {tag:?}");
    }
    let all = store
        .list_scenarios(&ScenarioFilter::default(), Page::new(2, 0))
        .await
        .unwrap();
    assert_eq!((all.total, all.items.len()), (3, 2));

    // Soft delete: gone from reads, name free, versions kept for runs.
    store.delete_scenario(s.id).await.unwrap();
    assert!(matches!(
        store.scenario(s.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_scenario(s.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.scenario_version(s.id, 2).await.is_ok());
    let reborn = store
        .create_scenario(&new_scenario(u.id, "Checkout flow", &[]))
        .await
        .unwrap();
    assert_ne!(reborn.id, s.id);
    assert_eq!(
        store.scenario_by_name("checkout flow").await.unwrap().id,
        reborn.id
    );
    let err = store.delete_user(u.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

pub(crate) async fn runs(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    assert_eq!((run.status, run.scenario_version), (RunStatus::Queued, 1));
    assert!(run.started_at.is_none() && run.ended_at.is_none() && run.workers.is_empty());
    store
        .update_scenario(
            s.id,
            &ScenarioUpdate {
                archive: Some(b"// v2".to_vec()),
                ..ScenarioUpdate::default()
            },
        )
        .await
        .unwrap();
    let old = store
        .create_run(&NewRun {
            scenario_version: Some(1),
            started_by: StartedBy::Token(TokenId(7)),
            ..new_run(s.id, u.id)
        })
        .await
        .unwrap();
    assert_eq!(
        (old.scenario_version, old.started_by.clone()),
        (1, StartedBy::Token(TokenId(7)))
    );
    let current = store
        .create_run(&NewRun {
            started_by: StartedBy::Pipeline("release".into()),
            ..new_run(s.id, u.id)
        })
        .await
        .unwrap();
    assert_eq!(current.scenario_version, 2);
    assert_eq!(
        store.run(current.id).await.unwrap().started_by,
        StartedBy::Pipeline("release".into())
    );
    assert!(matches!(
        store.create_run(&new_run(ScenarioId(999), u.id)).await,
        Err(StoreError::NotFound { .. })
    ));
    let err = store
        .create_run(&NewRun {
            scenario_version: Some(9),
            ..new_run(s.id, u.id)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(matches!(
        store
            .create_run(&NewRun {
                options: json!("x"),
                ..new_run(s.id, u.id)
            })
            .await,
        Err(StoreError::Invalid(_))
    ));

    // The state machine.
    let err = store
        .transition_run(run.id, RunStatus::Passed, &RunEnd::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                from: RunStatus::Queued,
                to: RunStatus::Passed
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "a run cannot go from queued to passed");
    store
        .transition_run(run.id, RunStatus::Starting, &RunEnd::default())
        .await
        .unwrap();
    let running = store
        .transition_run(run.id, RunStatus::Running, &RunEnd::default())
        .await
        .unwrap();
    assert!(running.started_at.is_some() && running.ended_at.is_none());
    store
        .set_run_workers(run.id, &["w1".into(), "w2".into()])
        .await
        .unwrap();
    store
        .transition_run(run.id, RunStatus::Finishing, &RunEnd::default())
        .await
        .unwrap();
    let summary = json!({"metrics": {"http_reqs": {"count": 10}}});
    let failed = store
        .transition_run(
            run.id,
            RunStatus::Failed,
            &RunEnd {
                exit_code: Some(99),
                error: None,
                summary: Some(summary.clone()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (failed.status, failed.exit_code),
        (RunStatus::Failed, Some(99))
    );
    assert_eq!(failed.summary, Some(summary));
    assert_eq!(failed.workers, ["w1", "w2"]);
    assert!(failed.ended_at.is_some());
    assert_eq!(failed.started_at, running.started_at);
    for to in RunStatus::ALL {
        let err = store
            .transition_run(run.id, *to, &RunEnd::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::InvalidTransition {
                    from: RunStatus::Failed,
                    ..
                }
            ),
            "{to}: {err}"
        );
    }
    assert!(matches!(
        store
            .transition_run(RunId(999), RunStatus::Starting, &RunEnd::default())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let aborted = store
        .transition_run(
            old.id,
            RunStatus::Aborted,
            &RunEnd {
                error: Some("stopped by ana".into()),
                ..RunEnd::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(aborted.error.as_deref(), Some("stopped by ana"));

    // Lists: newest first, filtered, paginated; quotas count live runs.
    let ids = |p: Paged<Run>| p.items.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .list_runs(&RunFilter::default(), Page::default())
            .await
            .unwrap()),
        [current.id, old.id, run.id]
    );
    let live = RunFilter {
        statuses: vec![RunStatus::Queued, RunStatus::Running],
        ..RunFilter::default()
    };
    assert_eq!(
        ids(store.list_runs(&live, Page::default()).await.unwrap()),
        [current.id]
    );
    let page = store
        .list_runs(
            &RunFilter {
                scenario_id: Some(s.id),
                ..RunFilter::default()
            },
            Page::new(1, 1),
        )
        .await
        .unwrap();
    assert_eq!((page.total, ids(page)), (3, vec![old.id]));
    assert!(store
        .list_runs(
            &RunFilter {
                scenario_id: Some(ScenarioId(999)),
                ..RunFilter::default()
            },
            Page::default()
        )
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(store.count_active_runs(u.id).await.unwrap(), 1);
    assert!(matches!(
        store.set_run_workers(RunId(999), &[]).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn interrupted(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let queued = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let running = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let done = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    store
        .transition_run(running.id, RunStatus::Starting, &RunEnd::default())
        .await
        .unwrap();
    store
        .transition_run(running.id, RunStatus::Running, &RunEnd::default())
        .await
        .unwrap();
    for sec in 0..3 {
        store
            .put_interval(
                running.id,
                Duration::from_secs(1),
                &common::http_snapshot(sec, &[("home", &[10.0, 20.0])]),
            )
            .await
            .unwrap();
    }
    finish(store, done.id, RunStatus::Passed).await;
    assert_eq!(
        store.mark_interrupted().await.unwrap(),
        [queued.id, running.id]
    );
    for id in [queued.id, running.id] {
        let r = store.run(id).await.unwrap();
        assert_eq!(r.status, RunStatus::Errored);
        assert_eq!(r.error.as_deref(), Some(INTERRUPTED));
        assert!(r.ended_at.is_some());
    }
    assert_eq!(store.run(done.id).await.unwrap().status, RunStatus::Passed);
    assert_eq!(
        store.intervals(running.id, None, None).await.unwrap().len(),
        3,
        "intervals intact"
    );
    assert!(store.mark_interrupted().await.unwrap().is_empty());
}
