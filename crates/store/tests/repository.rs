//! The repository test suite, run against SQLite and PostgreSQL alike: each
//! case gets a fresh database on its backend.

mod common;

use std::time::Duration;

use serde_json::json;
use stampede_metrics::{Builtin, Stat};
use stampede_store::*;
use time::OffsetDateTime;

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${name}"),
        role,
        quotas: Quotas::default(),
    }
}

fn content(script: &str) -> ScenarioContent {
    ScenarioContent {
        archive: script.as_bytes().to_vec(),
        entry: "script.js".into(),
        options: json!({"vus": 1}),
    }
}

fn new_scenario(owner: UserId, name: &str, tags: &[&str]) -> NewScenario {
    NewScenario {
        owner_id: owner,
        name: name.into(),
        description: format!("about {name}"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        content: content(&format!("// {name}")),
    }
}

fn new_run(scenario: ScenarioId, user: UserId) -> NewRun {
    NewRun {
        scenario_id: scenario,
        scenario_version: None,
        user_id: Some(user),
        started_by: StartedBy::User,
        options: json!({"vus": 2}),
    }
}

async fn user_and_scenario(store: &Store) -> (User, Scenario) {
    let u = store
        .create_user(&new_user("owner", Role::Editor))
        .await
        .unwrap();
    let s = store
        .create_scenario(&new_scenario(u.id, "main", &[]))
        .await
        .unwrap();
    (u, s)
}

/// Moves a run along the happy path to `to` (a terminal state).
async fn finish(store: &Store, run: RunId, to: RunStatus) -> Run {
    for s in [RunStatus::Starting, RunStatus::Running] {
        store
            .transition_run(run, s, &RunEnd::default())
            .await
            .unwrap();
    }
    store
        .transition_run(
            run,
            to,
            &RunEnd {
                exit_code: Some(0),
                ..RunEnd::default()
            },
        )
        .await
        .unwrap()
}

async fn users(store: &Store) {
    let ana = store
        .create_user(&new_user("Ana", Role::Admin))
        .await
        .unwrap();
    assert_eq!(ana.username, "Ana");
    assert_eq!(ana.role, Role::Admin);
    assert!(ana.disabled_at.is_none());
    let err = store
        .create_user(&new_user("ana", Role::Viewer))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("'ana' is taken")),
        "{err}"
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    for bad in ["", " ana", "a\u{7}b", &"x".repeat(65)] {
        let err = store
            .create_user(&new_user(bad, Role::Viewer))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
    }
    let mut neg = new_user("neg", Role::Viewer);
    neg.quotas.max_vus = Some(-1);
    assert!(matches!(
        store.create_user(&neg).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.count_users().await.unwrap(),
        1,
        "nothing half-created"
    );

    assert_eq!(store.user_by_username("ANA").await.unwrap().id, ana.id);
    assert_eq!(store.user(ana.id).await.unwrap(), ana);
    assert!(matches!(
        store.user(UserId(999)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.user_by_username("bob").await,
        Err(StoreError::NotFound { .. })
    ));

    for i in 0..5 {
        store
            .create_user(&new_user(&format!("user{i}"), Role::Viewer))
            .await
            .unwrap();
    }
    let page = store.list_users(Page::new(2, 1)).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(
        page.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["user0", "user1"]
    );

    let q = Quotas {
        max_vus: Some(100),
        max_duration_secs: Some(600),
        max_concurrent_runs: Some(2),
    };
    let patched = store
        .update_user(
            ana.id,
            &UserPatch {
                role: Some(Role::Editor),
                quotas: Some(q.clone()),
                disabled: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.role, Role::Editor);
    assert_eq!(patched.quotas, q);
    assert_eq!(patched.password_hash, ana.password_hash, "kept");
    let disabled_at = patched.disabled_at.expect("disabled");
    let again = store
        .update_user(
            ana.id,
            &UserPatch {
                disabled: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        again.disabled_at,
        Some(disabled_at),
        "the first disabling time is kept"
    );
    assert_eq!(again.quotas, q, "quotas kept when not patched");
    let enabled = store
        .update_user(
            ana.id,
            &UserPatch {
                disabled: Some(false),
                password_hash: Some("$argon2id$new".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(enabled.disabled_at.is_none());
    assert_eq!(enabled.password_hash, "$argon2id$new");
    assert!(matches!(
        store.update_user(UserId(999), &UserPatch::default()).await,
        Err(StoreError::NotFound { .. })
    ));

    let json = serde_json::to_string(&enabled).unwrap();
    assert!(!json.contains("argon2id"), "{json}");

    store.delete_user(ana.id).await.unwrap();
    assert!(matches!(
        store.delete_user(ana.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.count_users().await.unwrap(), 5);
}

async fn tokens(store: &Store) {
    let u = store
        .create_user(&new_user("ci", Role::Editor))
        .await
        .unwrap();
    let expires = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let t = store
        .create_token(&NewToken {
            user_id: u.id,
            name: "github".into(),
            secret_hash: "sha256:aaaa".into(),
            scopes: vec!["runs:write".into()],
            expires_at: Some(expires),
        })
        .await
        .unwrap();
    assert_eq!(t.scopes, ["runs:write"]);
    assert!(t.is_usable(OffsetDateTime::now_utc()));
    assert!(!t.is_usable(expires + time::Duration::seconds(1)));
    assert_eq!(
        t.expires_at.map(|e| e.unix_timestamp()),
        Some(expires.unix_timestamp())
    );
    let found = store.token_by_hash("sha256:aaaa").await.unwrap();
    assert_eq!(found, t);
    assert!(!serde_json::to_string(&found)
        .unwrap()
        .contains("sha256:aaaa"));
    assert!(matches!(
        store.token_by_hash("sha256:bbbb").await,
        Err(StoreError::NotFound { .. })
    ));

    let dup = NewToken {
        user_id: u.id,
        name: "again".into(),
        secret_hash: "sha256:aaaa".into(),
        scopes: vec![],
        expires_at: None,
    };
    assert!(matches!(
        store.create_token(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = NewToken {
        user_id: UserId(999),
        secret_hash: "sha256:cccc".into(),
        ..dup.clone()
    };
    assert!(matches!(
        store.create_token(&orphan).await,
        Err(StoreError::NotFound { .. })
    ));

    assert!(t.last_used_at.is_none());
    store.touch_token(t.id).await.unwrap();
    assert!(store.token(t.id).await.unwrap().last_used_at.is_some());
    let revoked = store.revoke_token(t.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked");
    assert!(!revoked.is_usable(OffsetDateTime::now_utc()));
    assert_eq!(store.revoke_token(t.id).await.unwrap().revoked_at, Some(at));
    assert!(matches!(
        store.revoke_token(TokenId(999)).await,
        Err(StoreError::NotFound { .. })
    ));

    let second = store
        .create_token(&NewToken {
            secret_hash: "sha256:dddd".into(),
            ..dup
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .list_tokens(u.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [t.id, second.id]
    );
    store.delete_user(u.id).await.unwrap();
    assert!(
        matches!(
            store.token(second.id).await,
            Err(StoreError::NotFound { .. })
        ),
        "tokens go with their user"
    );
}

async fn scenarios(store: &Store) {
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

async fn runs(store: &Store) {
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

async fn interrupted(store: &Store) {
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

async fn intervals(store: &Store) {
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

async fn rollup_and_retention(store: &Store) {
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
    assert_eq!(store.delete_metrics_before(later, 1).await.unwrap(), 2);
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

async fn audit(store: &Store) {
    let u = store
        .create_user(&new_user("auditor", Role::Admin))
        .await
        .unwrap();
    let e = store
        .record_audit(&NewAudit {
            user_id: Some(u.id),
            token_id: None,
            action: "scenario.create".into(),
            target: "scenario/1".into(),
            remote_addr: Some("127.0.0.1".into()),
            details: json!({"name": "x"}),
        })
        .await
        .unwrap();
    assert_eq!(e.action, "scenario.create");
    store
        .record_audit(&NewAudit {
            action: "run.start".into(),
            target: "run/1".into(),
            details: json!({}),
            ..NewAudit::default()
        })
        .await
        .unwrap();
    store
        .record_audit(&NewAudit {
            user_id: Some(u.id),
            action: "run.stop".into(),
            target: "run/1".into(),
            details: json!({}),
            ..NewAudit::default()
        })
        .await
        .unwrap();
    let all = store
        .list_audit(&AuditFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(
        all.items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["run.stop", "run.start", "scenario.create"]
    );
    let mine = store
        .list_audit(
            &AuditFilter {
                user_id: Some(u.id),
                action_prefix: Some("run.".into()),
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!((mine.total, mine.items[0].action.as_str()), (1, "run.stop"));
    assert!(matches!(
        store
            .record_audit(&NewAudit {
                action: String::new(),
                ..NewAudit::default()
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
}

macro_rules! suite {
    ($fresh:expr, $($case:ident),* $(,)?) => {{
        $(
            eprintln!("case {}", stringify!($case));
            let (store, _guard) = $fresh(stringify!($case)).await;
            $case(&store).await;
            store.close().await;
        )*
    }};
}

macro_rules! all_cases {
    ($fresh:expr) => {
        suite!(
            $fresh,
            users,
            tokens,
            scenarios,
            runs,
            interrupted,
            intervals,
            rollup_and_retention,
            audit
        )
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    all_cases!(|_name: &'static str| common::sqlite_store());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(bin) = common::postgres_bin_dir() else {
        return;
    };
    let pg = common::Postgres::start(&bin);
    let fresh = |name: &'static str| {
        let pg = &pg;
        async move { (pg.fresh_store(name).await, ()) }
    };
    all_cases!(fresh);
}

#[tokio::test]
async fn sqlite_file_survives_reopen_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(&dir.path().join("nested dir?#"))
        .await
        .unwrap();
    let u = store
        .create_user(&new_user("kept", Role::Viewer))
        .await
        .unwrap();
    assert!(
        dir.path()
            .join("nested dir?#")
            .join(SQLITE_FILE)
            .with_extension("db-wal")
            .exists(),
        "WAL mode"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.path().join("nested dir?#")), 0o700);
    assert_eq!(
        mode(dir.path().join("nested dir?#").join(SQLITE_FILE)),
        0o600
    );
    assert!(!format!("{store:?}").contains("nested"), "{store:?}");
    store.close().await;
    let again = Store::open_data_dir(&dir.path().join("nested dir?#"))
        .await
        .unwrap();
    assert_eq!(again.user(u.id).await.unwrap().username, "kept");
    assert_eq!(again.backend(), Backend::Sqlite);
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    let err = Store::connect("mysql://x").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    // A loopback port nobody listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = StoreOptions {
        connect_timeout: Duration::from_millis(500),
        max_connections: None,
    };
    let url = format!("postgres://u:hunter2@127.0.0.1:{port}/db");
    let err = Store::connect_with(&url, &opts).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("storage error"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}
