//! Alert rules, alerts, channels, deliveries, schedules and retention, on
//! both backends.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use stampede_store::*;
use time::OffsetDateTime;

use crate::{finish, new_run, user_and_scenario};

fn rule(name: &str) -> NewAlertRule {
    NewAlertRule {
        name: name.into(),
        enabled: true,
        scope: RuleScope::Runs,
        scenario_id: None,
        metric: "http_req_failed".into(),
        tags: BTreeMap::from([("scenario".into(), "default".into())]),
        stat: "rate".into(),
        op: ">".into(),
        threshold: 0.05,
        for_ms: 2000,
        lookback_ms: 1000,
        min_interval_ms: 60_000,
        severity: Severity::Critical,
        stop_run: false,
        channels: vec![],
    }
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
}

pub(crate) async fn alert_rules(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let defaults = store.alert_rules().await.unwrap();
    let names: Vec<&str> = defaults.iter().map(|r| r.rule.name.as_str()).collect();
    assert_eq!(defaults.len(), 5, "{names:?}");
    assert!(defaults.iter().all(|r| r.builtin && r.rule.enabled));
    assert!(
        defaults.iter().all(|r| r.rule.min_interval_ms == 300_000),
        "the built-in rules rest five minutes between firings"
    );
    let err_rule = &defaults[0].rule;
    assert_eq!(
        (
            err_rule.metric.as_str(),
            err_rule.stat.as_str(),
            err_rule.threshold,
            err_rule.for_ms
        ),
        ("http_req_failed", "rate", 0.05, 120_000)
    );
    assert!(defaults
        .iter()
        .any(|r| r.rule.metric == "workers_available" && r.rule.scope == RuleScope::Platform));

    let created = store
        .create_alert_rule(&rule("mine"), Some(u.id))
        .await
        .unwrap();
    assert!(!created.builtin);
    assert_eq!(created.rule, rule("mine"));
    assert_eq!(created.created_by, Some(u.id));
    // Names are unique, case-insensitively.
    let err = store
        .create_alert_rule(&rule("MINE"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    // Bad shapes are refused with a precise message and nothing stored.
    for (bad, needle) in [
        (
            NewAlertRule {
                op: "=>".into(),
                ..rule("b1")
            },
            "comparison",
        ),
        (
            NewAlertRule {
                threshold: f64::NAN,
                ..rule("b2")
            },
            "finite",
        ),
        (
            NewAlertRule {
                for_ms: -1,
                ..rule("b3")
            },
            "`for`",
        ),
        (
            NewAlertRule {
                lookback_ms: 10,
                ..rule("b4")
            },
            "lookback",
        ),
        (
            NewAlertRule {
                scope: RuleScope::Scenario,
                ..rule("b5")
            },
            "scenario_id",
        ),
        (
            NewAlertRule {
                name: " ".into(),
                ..rule("b6")
            },
            "rule name",
        ),
        (
            NewAlertRule {
                min_interval_ms: -1,
                ..rule("b9")
            },
            "minimum interval",
        ),
    ] {
        let err = store.create_alert_rule(&bad, None).await.unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
    let err = store
        .create_alert_rule(
            &NewAlertRule {
                channels: vec![999],
                ..rule("b7")
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let err = store
        .create_alert_rule(
            &NewAlertRule {
                scope: RuleScope::Scenario,
                scenario_id: Some(ScenarioId(999)),
                ..rule("b8")
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert_eq!(store.alert_rules().await.unwrap().len(), 6);

    let scoped = NewAlertRule {
        scope: RuleScope::Scenario,
        scenario_id: Some(s.id),
        threshold: 0.1,
        min_interval_ms: 0,
        ..rule("mine")
    };
    let updated = store.update_alert_rule(created.id, &scoped).await.unwrap();
    assert_eq!(updated.rule, scoped);
    assert_eq!(store.alert_rule(created.id).await.unwrap().rule, scoped);
    store.delete_alert_rule(created.id).await.unwrap();
    assert!(matches!(
        store.delete_alert_rule(created.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn alerts_fire_once_and_resolve(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let r = store
        .create_alert_rule(&rule("errors"), None)
        .await
        .unwrap();
    let new = NewAlert {
        rule_id: Some(r.id),
        rule_name: "errors".into(),
        severity: Severity::Critical,
        subject: format!("run:{}", run.id),
        run_id: Some(run.id),
        value: Some(0.5),
        message: "error rate 50%".into(),
        at: at(0),
    };
    let a = store.fire_alert(&new).await.unwrap().expect("fires");
    assert_eq!(a.state, AlertState::Firing);
    assert_eq!(a.fired_at, at(0));
    // Once per episode: a second fire of the same rule and subject is refused.
    assert!(store.fire_alert(&new).await.unwrap().is_none());
    // Another subject fires on its own.
    let other = NewAlert {
        subject: "run:other".into(),
        run_id: None,
        ..new.clone()
    };
    let b = store.fire_alert(&other).await.unwrap().unwrap();
    assert_eq!(store.firing_alerts().await.unwrap().len(), 2);

    let resolved = store
        .resolve_alert(r.id, &new.subject, at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resolved.state, AlertState::Resolved);
    assert_eq!(resolved.resolved_at, Some(at(5)));
    assert!(store
        .resolve_alert(r.id, &new.subject, at(6))
        .await
        .unwrap()
        .is_none());
    // A new episode fires again.
    let again = store
        .fire_alert(&NewAlert {
            at: at(10),
            ..new.clone()
        })
        .await
        .unwrap()
        .unwrap();
    assert_ne!(again.id, a.id);

    // Acknowledgement keeps its first author.
    let acked = store.ack_alert(b.id, u.id, at(7)).await.unwrap();
    assert_eq!(
        (acked.acknowledged_by, acked.acknowledged_at),
        (Some(u.id), Some(at(7)))
    );
    let admin = store
        .create_user(&crate::new_user("boss", Role::Admin))
        .await
        .unwrap();
    let still = store.ack_alert(b.id, admin.id, at(9)).await.unwrap();
    assert_eq!(still.acknowledged_by, Some(u.id));
    assert!(matches!(
        store.ack_alert(12345, u.id, at(9)).await,
        Err(StoreError::NotFound { .. })
    ));

    let page = Page::default();
    let all = store
        .list_alerts(&AlertFilter::default(), page)
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(all.items[0].id, again.id, "newest first");
    let f = |filter: AlertFilter| async move {
        store
            .list_alerts(&filter, page)
            .await
            .unwrap()
            .items
            .iter()
            .map(|a| a.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        f(AlertFilter {
            state: Some(AlertState::Resolved),
            ..Default::default()
        })
        .await,
        vec![a.id]
    );
    assert_eq!(
        f(AlertFilter {
            acknowledged: Some(true),
            ..Default::default()
        })
        .await,
        vec![b.id]
    );
    assert_eq!(
        f(AlertFilter {
            acknowledged: Some(false),
            ..Default::default()
        })
        .await,
        vec![again.id, a.id]
    );
    assert_eq!(
        f(AlertFilter {
            run_id: Some(run.id),
            ..Default::default()
        })
        .await,
        vec![again.id, a.id]
    );
    assert_eq!(
        f(AlertFilter {
            severity: Some(Severity::Info),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    let counts = store.count_alerts().await.unwrap();
    assert!(
        counts.contains(&(AlertState::Firing, Severity::Critical, 2)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&(AlertState::Resolved, Severity::Critical, 1)),
        "{counts:?}"
    );

    // Deleting the rule keeps its alerts, with its name.
    store.delete_alert_rule(r.id).await.unwrap();
    let kept = store.alert(a.id).await.unwrap();
    assert_eq!((kept.rule_id, kept.rule_name.as_str()), (None, "errors"));
}

pub(crate) async fn channels_and_deliveries(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let hook = NewChannel {
        name: "ops hook".into(),
        kind: ChannelKind::Webhook,
        config: json!({"url": "http://127.0.0.1:9/hook"}),
        secret: Some("v1:ciphertext".into()),
        enabled: true,
    };
    let c = store.create_channel(&hook).await.unwrap();
    assert!(c.has_secret);
    assert_eq!(c.secret.as_deref(), Some("v1:ciphertext"));
    let text = serde_json::to_string(&c).unwrap();
    assert!(
        !text.contains("ciphertext"),
        "the secret never serializes: {text}"
    );
    assert!(matches!(
        store.create_channel(&hook).await,
        Err(StoreError::Conflict(_))
    ));
    let bad = NewChannel {
        config: json!([1]),
        name: "x".into(),
        ..hook.clone()
    };
    assert!(matches!(
        store.create_channel(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    // An update without a secret keeps the stored one.
    let renamed = store
        .update_channel(
            c.id,
            &NewChannel {
                name: "hook".into(),
                secret: None,
                ..hook.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.secret.as_deref()),
        ("hook", Some("v1:ciphertext"))
    );
    assert_eq!(store.channels().await.unwrap().len(), 1);

    let r = store
        .create_alert_rule(
            &NewAlertRule {
                channels: vec![c.id],
                ..rule("hooked")
            },
            None,
        )
        .await
        .unwrap();
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let a = store
        .fire_alert(&NewAlert {
            rule_id: Some(r.id),
            rule_name: "hooked".into(),
            severity: Severity::Warning,
            subject: format!("run:{}", run.id),
            run_id: Some(run.id),
            value: None,
            message: "m".into(),
            at: at(0),
        })
        .await
        .unwrap()
        .unwrap();
    for (attempt, ok) in [(1, false), (2, true)] {
        store
            .record_delivery(&Delivery {
                alert_id: a.id,
                channel_id: Some(c.id),
                event: "fired".into(),
                attempt,
                ok,
                detail: if ok {
                    "200 OK".into()
                } else {
                    "connection refused".into()
                },
                at: at(attempt),
            })
            .await
            .unwrap();
    }
    let log = store.deliveries(a.id).await.unwrap();
    assert_eq!(
        log.iter().map(|d| (d.attempt, d.ok)).collect::<Vec<_>>(),
        vec![(1, false), (2, true)]
    );
    // Unfinished deliveries: added, postponed, listed by due time, closed;
    // a deleted channel takes its own with it.
    assert!(store.pending_deliveries().await.unwrap().is_empty());
    let p1 = store
        .add_pending_delivery(a.id, c.id, "fired", at(10), at(15))
        .await
        .unwrap();
    let p2 = store
        .add_pending_delivery(a.id, c.id, "resolved", at(5), at(8))
        .await
        .unwrap();
    store
        .postpone_pending_delivery(p2, 2, at(20), at(30))
        .await
        .unwrap();
    let pending = store.pending_deliveries().await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.id, p.event.as_str(), p.attempts, p.next_at))
            .collect::<Vec<_>>(),
        vec![(p1, "fired", 0, at(10)), (p2, "resolved", 2, at(20))]
    );
    // Leases: nothing is orphaned while leased; past a lease, one claim
    // takes the row (extending the lease), the next finds nothing.
    let ids = |v: Vec<stampede_store::PendingDelivery>| v.iter().map(|p| p.id).collect::<Vec<_>>();
    let claim = |now, until| store.claim_orphan_deliveries(at(now), at(until));
    assert!(claim(14, 40).await.unwrap().is_empty());
    assert_eq!(ids(claim(16, 40).await.unwrap()), vec![p1]);
    assert!(claim(16, 40).await.unwrap().is_empty(), "claimed once");
    assert_eq!(ids(claim(41, 60).await.unwrap()), vec![p1, p2]);
    store.finish_pending_delivery(p1).await.unwrap();
    assert_eq!(store.pending_deliveries().await.unwrap().len(), 1);
    // An event and its deliveries are stored in one transaction: a second
    // firing of the same episode stores neither, the resolution has its
    // own rows, and a delivery that cannot be stored (no such channel)
    // takes its event back with it.
    let due = Due {
        channels: &[c.id],
        next_at: at(50),
        lease_until: at(55),
    };
    let episode = NewAlert {
        rule_id: Some(r.id),
        rule_name: "hooked".into(),
        severity: Severity::Warning,
        subject: format!("run:{}:atomic", run.id),
        run_id: Some(run.id),
        value: Some(0.5),
        message: "m".into(),
        at: at(50),
    };
    let (b, fired) = store
        .fire_alert_due(&episode, &due)
        .await
        .unwrap()
        .expect("fires");
    assert!(store
        .fire_alert_due(&episode, &due)
        .await
        .unwrap()
        .is_none());
    let (resolved, gone) = store
        .resolve_alert_due(r.id, &episode.subject, at(60), &due)
        .await
        .unwrap()
        .expect("resolves");
    assert_eq!((resolved.id, resolved.state), (b.id, AlertState::Resolved));
    assert!(store
        .resolve_alert_due(r.id, &episode.subject, at(61), &due)
        .await
        .unwrap()
        .is_none());
    let of_b = |v: Vec<PendingDelivery>| {
        v.into_iter()
            .filter(|p| p.alert_id == b.id)
            .map(|p| (p.id, p.channel_id, p.event, p.next_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of_b(store.pending_deliveries().await.unwrap()),
        vec![
            (fired[0], c.id, "fired".to_string(), at(50)),
            (gone[0], c.id, "resolved".to_string(), at(50)),
        ]
    );
    let lost = NewAlert {
        subject: format!("run:{}:no-channel", run.id),
        ..episode.clone()
    };
    let nowhere = Due {
        channels: &[c.id + 1000],
        ..due.clone()
    };
    assert!(store.fire_alert_due(&lost, &nowhere).await.is_err());
    // Alerts with and without a value (a rule's, a schedule's) share one
    // statement: on PostgreSQL a NULL bound first must not type it for
    // the next value (sqlx's Any binds a NULL f64 as a float4).
    for i in 0..6 {
        let probe = NewAlert {
            subject: format!("run:{}:probe{i}", run.id),
            value: (i % 2 == 1).then_some(1.5),
            ..episode.clone()
        };
        let fired = store.fire_alert(&probe).await.unwrap().expect("fires");
        assert_eq!(fired.value, probe.value);
    }
    assert!(
        store.fire_alert(&lost).await.unwrap().is_some(),
        "nothing half-saved: the episode fires afresh"
    );
    for p in [fired[0], gone[0]] {
        store.finish_pending_delivery(p).await.unwrap();
    }
    store.delete_channel(c.id).await.unwrap();
    assert!(store.pending_deliveries().await.unwrap().is_empty());
    assert_eq!(store.deliveries(a.id).await.unwrap()[0].channel_id, None);
    assert!(matches!(
        store.channel(c.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn schedules(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let new = NewSchedule {
        name: "nightly".into(),
        scenario_id: s.id,
        owner_id: u.id,
        cron: "0 0 2 * * *".into(),
        timezone: "Europe/Paris".into(),
        options: json!({"vus": 2}),
        overlap: Overlap::Skip,
        missed: Missed::RunOnce,
        enabled: true,
        alert_on_failure: true,
        next_fire_at: Some(at(60)),
    };
    let sch = store.create_schedule(&new).await.unwrap();
    assert_eq!(sch.schedule, new);
    assert_eq!(sch.pending, 0);
    assert!(matches!(
        store.create_schedule(&new).await,
        Err(StoreError::Conflict(_))
    ));
    let missing = NewSchedule {
        name: "x".into(),
        scenario_id: ScenarioId(999),
        ..new.clone()
    };
    assert!(matches!(
        store.create_schedule(&missing).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.due_schedules(at(59)).await.unwrap().is_empty());
    assert_eq!(store.due_schedules(at(60)).await.unwrap()[0].id, sch.id);
    // The fire is claimed once.
    assert!(store
        .claim_fire(sch.id, at(60), Some(at(120)), at(61))
        .await
        .unwrap());
    assert!(!store
        .claim_fire(sch.id, at(60), Some(at(120)), at(61))
        .await
        .unwrap());
    let after = store.schedule(sch.id).await.unwrap();
    assert_eq!(
        (after.schedule.next_fire_at, after.last_fire_at),
        (Some(at(120)), Some(at(61)))
    );
    assert!(store.due_schedules(at(100)).await.unwrap().is_empty());
    // Queued fires make it due until they are taken.
    assert_eq!(store.add_pending(sch.id, 1).await.unwrap(), 1);
    assert_eq!(store.due_schedules(at(100)).await.unwrap().len(), 1);
    assert_eq!(store.add_pending(sch.id, -5).await.unwrap(), 0);
    let run = store
        .create_run(&NewRun {
            started_by: StartedBy::Schedule(sch.id),
            ..new_run(s.id, u.id)
        })
        .await
        .unwrap();
    store.set_schedule_run(sch.id, run.id).await.unwrap();
    assert_eq!(
        store.schedule(sch.id).await.unwrap().last_run_id,
        Some(run.id)
    );
    assert_eq!(
        store.run(run.id).await.unwrap().started_by,
        StartedBy::Schedule(sch.id)
    );
    // Disabled schedules are never due.
    let off = NewSchedule {
        enabled: false,
        ..new.clone()
    };
    store.update_schedule(sch.id, &off).await.unwrap();
    assert!(store.due_schedules(at(1000)).await.unwrap().is_empty());
    assert_eq!(store.schedules().await.unwrap().len(), 1);
    store.delete_schedule(sch.id).await.unwrap();
    assert!(matches!(
        store.schedule(sch.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) async fn retention(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let r = store.create_alert_rule(&rule("old"), None).await.unwrap();
    for i in 0..5 {
        let a = NewAlert {
            rule_id: Some(r.id),
            rule_name: "old".into(),
            severity: Severity::Info,
            subject: format!("s{i}"),
            run_id: None,
            value: None,
            message: String::new(),
            at: at(i),
        };
        store.fire_alert(&a).await.unwrap();
        if i < 4 {
            store
                .resolve_alert(r.id, &a.subject, at(i + 1))
                .await
                .unwrap();
        }
    }
    // Resolved alerts older than the cutoff go, in batches; firing ones stay.
    assert_eq!(store.delete_alerts_before(at(3), 1).await.unwrap(), 3);
    let left: Vec<String> = store
        .list_alerts(&AlertFilter::default(), Page::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|a| a.subject)
        .collect();
    assert_eq!(left, vec!["s4", "s3"]);

    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    for st in [RunStatus::Starting, RunStatus::Running] {
        store
            .transition_run(run.id, st, &RunEnd::default())
            .await
            .unwrap();
    }
    let end = RunEnd {
        exit_code: Some(0),
        summary: Some(json!({"metrics": {}})),
        ..RunEnd::default()
    };
    store
        .transition_run(run.id, RunStatus::Passed, &end)
        .await
        .unwrap();
    let live = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let future = OffsetDateTime::now_utc() + Duration::from_secs(3600);
    assert_eq!(
        store
            .delete_reports_before(OffsetDateTime::now_utc() - Duration::from_secs(3600), 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.delete_reports_before(future, 1).await.unwrap(), 1);
    let kept = store.run(run.id).await.unwrap();
    assert_eq!(
        (kept.summary, kept.status),
        (None, RunStatus::Passed),
        "the run stays, its report goes"
    );
    finish(store, live.id, RunStatus::Passed).await;
    // SQLite: the first pass switches to incremental auto-vacuum, the next
    // ones hand the free pages back.
    store.reclaim_space().await.unwrap();
    store.intervals(run.id, None, None).await.unwrap();
    store.delete_alerts_before(at(100), 100).await.unwrap();
    store.reclaim_space().await.unwrap();
    if let Some(space) = store.file_space().await.unwrap() {
        assert_eq!(space.free, 0, "{space:?}");
        assert!(space.pages > 0);
    }
}

/// The evaluator's episodes: saved, replaced, listed, deleted; fenced like
/// the leader's other writes; gone with their rule.
pub(crate) async fn alert_episodes(store: &Store) {
    use std::sync::atomic::AtomicI64;
    use std::sync::Arc;
    let r = store
        .create_alert_rule(&rule("episodes"), None)
        .await
        .unwrap();
    assert!(store.alert_episodes().await.unwrap().is_empty());
    let mut e = AlertEpisode {
        rule_id: r.id,
        subject: "run:1".into(),
        holding_since: Some(1_000),
        clear_since: None,
        firing: false,
        last_fired: None,
        seen_at: 1_500,
    };
    store.save_alert_episode(&e).await.unwrap();
    e.firing = true;
    e.last_fired = Some(3_000);
    e.seen_at = 3_000;
    store.save_alert_episode(&e).await.unwrap();
    let w = AlertEpisode {
        subject: "worker:w1".into(),
        holding_since: None,
        clear_since: Some(9),
        ..e.clone()
    };
    store.save_alert_episode(&w).await.unwrap();
    assert_eq!(
        store.alert_episodes().await.unwrap(),
        vec![e.clone(), w.clone()],
        "one row per (rule, subject), replaced"
    );
    store.delete_alert_episode(r.id, "run:1").await.unwrap();
    assert_eq!(store.alert_episodes().await.unwrap(), vec![w.clone()]);

    // A stale leader's writes fail; the current one's pass.
    let token = store.fence_token().await.unwrap();
    assert!(store.advance_fence(token + 2).await.unwrap());
    let stale = store.fenced(Arc::new(AtomicI64::new(token + 1)));
    let err = stale.save_alert_episode(&e).await.unwrap_err();
    assert!(err.to_string().contains("fenced"), "{err}");
    let err = stale
        .delete_alert_episode(r.id, "worker:w1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("fenced"), "{err}");
    assert_eq!(store.alert_episodes().await.unwrap(), vec![w.clone()]);
    let leader = store.fenced(Arc::new(AtomicI64::new(token + 2)));
    leader.save_alert_episode(&e).await.unwrap();
    assert_eq!(store.alert_episodes().await.unwrap().len(), 2);

    store.delete_alert_rule(r.id).await.unwrap();
    assert!(
        store.alert_episodes().await.unwrap().is_empty(),
        "gone with the rule"
    );
}
