//! Unit tests of the evaluator: windows, hysteresis, scopes, platform
//! rules and rule checks, all on a clock the test moves.

use std::collections::BTreeMap;

use stampede_metrics::{Builtin, Registry, Sink, TagSet};
use stampede_store::{AlertRule, NewAlertRule, RuleScope, RunId, ScenarioId, Severity};

use super::*;

fn rule(id: i64, metric: &str, stat: &str, op: &str, threshold: f64, for_ms: i64) -> AlertRule {
    AlertRule {
        id,
        builtin: false,
        rule: NewAlertRule {
            name: format!("r{id}"),
            enabled: true,
            scope: RuleScope::Runs,
            scenario_id: None,
            metric: metric.into(),
            tags: BTreeMap::new(),
            stat: stat.into(),
            op: op.into(),
            threshold,
            for_ms,
            lookback_ms: 1000,
            min_interval_ms: 0,
            severity: Severity::Critical,
            stop_run: false,
            channels: vec![],
        },
        created_by: None,
        created_at: time::OffsetDateTime::UNIX_EPOCH,
        updated_at: time::OffsetDateTime::UNIX_EPOCH,
    }
}

/// One second of `n` requests of which `failed` failed, each `ms` long,
/// tagged `name:<name>`.
fn second(i: u64, n: u32, failed: u32, ms: f64, name: &str) -> WireSnapshot {
    let reg = Registry::new();
    let mut sink = Sink::new();
    let tags = TagSet::from_pairs([("name", name)]);
    for k in 0..n {
        sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, 0);
        sink.add(Builtin::HttpReqDuration.metric(), &tags, ms, 0);
        let f = if k < failed { 1.0 } else { 0.0 };
        sink.add(Builtin::HttpReqFailed.metric(), &tags, f, 0);
    }
    sink.take(i * 1_000_000_000, (i + 1) * 1_000_000_000)
        .to_wire(&reg)
}

fn eval_with(rules: Vec<AlertRule>) -> Evaluator {
    let mut e = Evaluator::default();
    e.set_rules(rules.into_iter().map(|r| compile(r).unwrap()).collect());
    e
}

fn fires(t: &[Transition]) -> Vec<(i64, String)> {
    t.iter()
        .filter_map(|t| match t {
            Transition::Fire {
                rule_id, subject, ..
            } => Some((*rule_id, subject.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn fires_once_the_window_is_met_and_resolves_with_hysteresis() {
    let mut e = eval_with(vec![rule(1, "http_req_failed", "rate", ">", 0.05, 3000)]);
    let run = RunId(7);
    let s = ScenarioId(1);
    // Healthy for 2 s, then 50% errors from t=2 s.
    let mut all = Vec::new();
    for i in 0..8u64 {
        let failed = if i >= 2 { 5 } else { 0 };
        let t = e.observe_interval(run, s, second(i, 10, failed, 5.0, "a"), i as i64 * 1000);
        all.push((i, t));
    }
    let fired: Vec<u64> = all
        .iter()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, _)| *i)
        .collect();
    // Holding since t=2 s; the 3 s window is met at t=5 s: fired then, once.
    assert_eq!(fired, vec![5]);
    match &all[5].1[0] {
        Transition::Fire {
            value,
            message,
            run_id,
            ..
        } => {
            assert_eq!(*value, 0.5);
            assert_eq!(*run_id, Some(run));
            assert!(
                message.contains("http_req_failed = 0.5 > 0.05 for 3s"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // One healthy second clears it only after a full lookback (1 s).
    let t = e.observe_interval(run, s, second(8, 10, 0, 5.0, "a"), 8000);
    assert!(t.is_empty(), "{t:?}");
    // Back over the threshold at once: the same episode, no new fire.
    let t = e.observe_interval(run, s, second(9, 10, 9, 5.0, "a"), 9000);
    assert!(t.is_empty(), "{t:?}");
    let t = e.observe_interval(run, s, second(10, 10, 0, 5.0, "a"), 10_000);
    assert!(t.is_empty());
    let t = e.observe_interval(run, s, second(11, 10, 0, 5.0, "a"), 11_000);
    assert_eq!(
        t,
        vec![Transition::Resolve {
            rule_id: 1,
            subject: "run:7".into()
        }]
    );
}

#[test]
fn a_dip_restarts_the_window() {
    let mut e = eval_with(vec![rule(
        1,
        "http_req_duration",
        "p(95)",
        ">",
        100.0,
        2000,
    )]);
    let (run, s) = (RunId(1), ScenarioId(1));
    let slow = |i| second(i, 20, 0, 500.0, "a");
    assert!(e.observe_interval(run, s, slow(0), 0).is_empty());
    assert!(e.observe_interval(run, s, slow(1), 1000).is_empty());
    // Fast for one second: the condition stops holding, the window restarts.
    assert!(e
        .observe_interval(run, s, second(2, 20, 0, 5.0, "a"), 2000)
        .is_empty());
    assert!(e.observe_interval(run, s, slow(3), 3000).is_empty());
    assert!(e.observe_interval(run, s, slow(4), 4000).is_empty());
    assert_eq!(
        fires(&e.observe_interval(run, s, slow(5), 5000)),
        vec![(1, "run:1".into())]
    );
    // The run ends: its alert resolves.
    assert_eq!(
        e.run_ended(run),
        vec![Transition::Resolve {
            rule_id: 1,
            subject: "run:1".into()
        }]
    );
    assert!(e.run_ended(run).is_empty());
}

#[test]
fn no_data_does_not_hold_and_tags_select_series() {
    let mut r = rule(1, "http_req_failed", "rate", ">", 0.5, 0);
    r.rule.tags = BTreeMap::from([("name".into(), "checkout".into())]);
    let mut e = eval_with(vec![r]);
    let (run, s) = (RunId(1), ScenarioId(1));
    // Errors on another endpoint: not selected.
    assert!(e
        .observe_interval(run, s, second(0, 10, 10, 1.0, "home"), 0)
        .is_empty());
    // No requests at all: no data, no alert.
    assert!(e
        .observe_interval(run, s, second(1, 0, 0, 1.0, "checkout"), 1000)
        .is_empty());
    assert_eq!(
        fires(&e.observe_interval(run, s, second(2, 10, 10, 1.0, "checkout"), 2000)),
        vec![(1, "run:1".into())]
    );
}

#[test]
fn the_lookback_merges_intervals_exactly() {
    let mut r = rule(1, "http_req_failed", "rate", ">=", 0.25, 0);
    r.rule.lookback_ms = 2000;
    let mut e = eval_with(vec![r]);
    let (run, s) = (RunId(1), ScenarioId(1));
    // 0/10 then 5/10: over the 2 s lookback the rate is 5/20 = 0.25.
    assert!(e
        .observe_interval(run, s, second(0, 10, 0, 1.0, "a"), 0)
        .is_empty());
    let t = e.observe_interval(run, s, second(1, 10, 5, 1.0, "a"), 1000);
    match &t[..] {
        [Transition::Fire { value, .. }] => assert_eq!(*value, 0.25),
        other => panic!("{other:?}"),
    }
}

#[test]
fn scopes_pick_their_runs() {
    let mut scoped = rule(2, "http_req_failed", "rate", ">", 0.0, 0);
    scoped.rule.scope = RuleScope::Scenario;
    scoped.rule.scenario_id = Some(ScenarioId(5));
    let mut off = rule(3, "http_req_failed", "rate", ">", 0.0, 0);
    off.rule.enabled = false;
    let mut e = eval_with(vec![
        rule(1, "http_req_failed", "rate", ">", 0.0, 0),
        scoped,
        off,
    ]);
    let bad = || second(0, 4, 4, 1.0, "a");
    assert_eq!(
        fires(&e.observe_interval(RunId(1), ScenarioId(4), bad(), 0)),
        vec![(1, "run:1".into())]
    );
    assert_eq!(
        fires(&e.observe_interval(RunId(2), ScenarioId(5), bad(), 0)),
        vec![(1, "run:2".into()), (2, "run:2".into())]
    );
}

#[test]
fn platform_rules_watch_workers() {
    let mut none = rule(1, "workers_available", "value", "<", 1.0, 0);
    none.rule.scope = RuleScope::Platform;
    let mut cpu = rule(2, "worker_cpu_percent", "value", ">", 80.0, 5000);
    cpu.rule.scope = RuleScope::Platform;
    let mut e = eval_with(vec![none, cpu]);
    let w = |cpu: Option<f64>, online| WorkerSample {
        id: "w1".into(),
        online,
        cpu_percent: cpu,
        memory_percent: None,
    };
    assert!(e.observe_platform(&[w(Some(90.0), true)], 0).is_empty());
    assert!(e.observe_platform(&[w(Some(95.0), true)], 4000).is_empty());
    assert_eq!(
        fires(&e.observe_platform(&[w(Some(95.0), true)], 5000)),
        vec![(2, "worker:w1".into())]
    );
    // The worker goes away: no workers fires at once; its CPU alert resolves
    // once it has had no data for a lookback.
    let t = e.observe_platform(&[], 6000);
    assert_eq!(fires(&t), vec![(1, "platform".into())]);
    let t = e.observe_platform(&[], 7000);
    assert_eq!(
        t,
        vec![Transition::Resolve {
            rule_id: 2,
            subject: "worker:w1".into()
        }]
    );
    // CPU not reported: no data, never fires.
    assert!(fires(&e.observe_platform(&[w(None, true)], 8000)).is_empty());
}

#[test]
fn firing_alerts_found_at_start_up_are_not_fired_again() {
    let mut e = eval_with(vec![rule(1, "http_req_failed", "rate", ">", 0.0, 0)]);
    e.restore(vec![], &[(1, "run:3".into())], 0);
    assert!(e
        .observe_interval(RunId(3), ScenarioId(1), second(0, 2, 2, 1.0, "a"), 0)
        .is_empty());
}

#[test]
fn rules_are_checked_with_precise_messages() {
    let known = |m: &str| Builtin::from_name(m).is_some();
    let base = rule(1, "http_req_duration", "p(95)", ">", 1.0, 0).rule;
    assert!(check(&base, &known).is_ok());
    let cases = [
        (
            NewAlertRule {
                metric: "http_req_durration".into(),
                ..base.clone()
            },
            "unknown metric 'http_req_durration'",
        ),
        (
            NewAlertRule {
                stat: "p(101)".into(),
                ..base.clone()
            },
            "invalid stat 'p(101)'",
        ),
        (
            NewAlertRule {
                metric: "http_req_failed".into(),
                ..base.clone()
            },
            "does not apply to 'http_req_failed'",
        ),
        (
            NewAlertRule {
                scope: RuleScope::Platform,
                metric: "cpu".into(),
                ..base.clone()
            },
            "unknown platform metric 'cpu'",
        ),
        (
            NewAlertRule {
                scope: RuleScope::Platform,
                metric: "worker_cpu_percent".into(),
                ..base.clone()
            },
            "the stat must be 'value'",
        ),
    ];
    for (r, needle) in cases {
        let err = check(&r, &known).unwrap_err();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn a_flapping_metric_fires_at_most_once_per_minimum_interval() {
    let mut r = rule(1, "http_req_failed", "rate", ">", 0.05, 0);
    r.rule.min_interval_ms = 300_000;
    let mut e = eval_with(vec![r]);
    let (run, s) = (RunId(3), ScenarioId(1));
    // The clock is the evaluator's input: ten minutes of a metric that
    // flaps every 2 s (bad 2 s, good 2 s), one evaluation a second.
    let mut fired_at = Vec::new();
    let mut resolved = 0;
    for i in 0..600u64 {
        let bad = (i / 2) % 2 == 0;
        let t = e.observe_interval(
            run,
            s,
            second(i, 10, if bad { 5 } else { 0 }, 5.0, "a"),
            i as i64 * 1000,
        );
        for x in &t {
            match x {
                Transition::Fire { .. } => fired_at.push(i),
                Transition::Resolve { .. } => resolved += 1,
            }
        }
    }
    // Each flap is an episode (it resolves after a good lookback), yet only
    // the first bad second at or after each 5-minute mark fires.
    assert_eq!(fired_at, vec![0, 300], "fired at (s)");
    assert!(resolved >= 2, "episodes resolved in between: {resolved}");

    // Without an interval every episode fires: the storm the interval stops.
    let mut e = eval_with(vec![rule(1, "http_req_failed", "rate", ">", 0.05, 0)]);
    let storm = (0..600u64)
        .filter(|i| {
            let bad = (i / 2) % 2 == 0;
            let t = e.observe_interval(
                run,
                s,
                second(*i, 10, if bad { 5 } else { 0 }, 5.0, "a"),
                *i as i64 * 1000,
            );
            !fires(&t).is_empty()
        })
        .count();
    assert!(storm >= 100, "{storm} firings without an interval");
}

#[test]
fn an_episode_held_back_by_the_interval_fires_when_it_ends_if_still_holding() {
    let mut r = rule(1, "http_req_failed", "rate", ">", 0.05, 0);
    r.rule.min_interval_ms = 10_000;
    let mut e = eval_with(vec![r]);
    let (run, s) = (RunId(4), ScenarioId(1));
    let bad = |i: u64| second(i, 10, 5, 5.0, "a");
    let good = |i: u64| second(i, 10, 0, 5.0, "a");
    assert_eq!(fires(&e.observe_interval(run, s, bad(0), 0)).len(), 1);
    // Resolves (a good lookback), then bad again at 3 s: held back.
    assert!(e.observe_interval(run, s, good(1), 1000).is_empty());
    assert_eq!(
        e.observe_interval(run, s, good(2), 2000).len(),
        1,
        "resolved"
    );
    for i in 3..10u64 {
        let t = e.observe_interval(run, s, bad(i), i as i64 * 1000);
        assert!(t.is_empty(), "held back at {i} s: {t:?}");
    }
    // Ten seconds after the first firing, still bad: it fires now.
    assert_eq!(fires(&e.observe_interval(run, s, bad(10), 10_000)).len(), 1);
    // A run's end forgets its subjects: a new run of the same id starts fresh.
    e.run_ended(run);
    assert_eq!(fires(&e.observe_interval(run, s, bad(11), 11_000)).len(), 1);
}

/// What a store would hold: the states handed out, applied in order.
fn stored(states: &mut BTreeMap<(i64, String), AlertEpisode>, e: &mut Evaluator, now: i64) {
    for (key, st) in e.take_changes(now) {
        match st {
            Some(st) => states.insert(key, st),
            None => states.remove(&key),
        };
    }
}

#[test]
fn a_new_leader_continues_the_window_fires_once_and_resolves() {
    let r = || rule(1, "http_req_failed", "rate", ">", 0.05, 10_000);
    let (run, s) = (RunId(5), ScenarioId(1));
    let mut db = BTreeMap::new();
    let mut old = eval_with(vec![r()]);
    // The old leader sees the errors from t=0 to t=4 s, then dies.
    for i in 0..5u64 {
        let t = old.observe_interval(run, s, second(i, 10, 5, 1.0, "a"), i as i64 * 1000);
        assert!(t.is_empty());
        stored(&mut db, &mut old, i as i64 * 1000);
    }
    let st = &db[&(1, "run:5".to_string())];
    assert_eq!((st.holding_since, st.firing), (Some(0), false), "{st:?}");
    // Written when it started holding, not at every evaluation.
    assert_eq!(st.seen_at, 0);

    // The new leader takes over at t=7 s: the window still ends at 10 s,
    // not at 17 s.
    let mut new = eval_with(vec![r()]);
    new.restore(db.values().cloned().collect(), &[], 7000);
    stored(&mut db, &mut new, 7000);
    let mut fired = Vec::new();
    for i in 7..12u64 {
        let t = new.observe_interval(run, s, second(i, 10, 5, 1.0, "a"), i as i64 * 1000);
        fired.extend(fires(&t).into_iter().map(|f| (i, f)));
        stored(&mut db, &mut new, i as i64 * 1000);
    }
    assert_eq!(fired, vec![(10, (1, "run:5".to_string()))]);
    assert!(db[&(1, "run:5".to_string())].firing);

    // A third leader (the alert stored firing) does not fire it again, and
    // resolves it once the errors stop for a lookback.
    let mut third = eval_with(vec![r()]);
    third.restore(
        db.values().cloned().collect(),
        &[(1, "run:5".into())],
        13_000,
    );
    let mut all = Vec::new();
    for i in 13..16u64 {
        let failed = if i < 14 { 5 } else { 0 };
        all.extend(third.observe_interval(
            run,
            s,
            second(i, 10, failed, 1.0, "a"),
            i as i64 * 1000,
        ));
        stored(&mut db, &mut third, i as i64 * 1000);
    }
    assert_eq!(
        all,
        vec![Transition::Resolve {
            rule_id: 1,
            subject: "run:5".into()
        }]
    );
    // The run ends: nothing of it is kept.
    third.run_ended(run);
    stored(&mut db, &mut third, 16_000);
    assert!(db.is_empty(), "{db:?}");
}

#[test]
fn a_stale_state_restarts_its_window_and_live_ones_are_refreshed() {
    let r = || rule(1, "http_req_failed", "rate", ">", 0.05, 3000);
    let (run, s) = (RunId(2), ScenarioId(1));
    let mut db = BTreeMap::new();
    let mut e = eval_with(vec![r()]);
    for i in 0..12u64 {
        e.observe_interval(run, s, second(i, 10, 5, 1.0, "a"), i as i64 * 1000);
        let before = db
            .get(&(1, "run:2".to_string()))
            .map(|s: &AlertEpisode| s.seen_at);
        stored(&mut db, &mut e, i as i64 * 1000);
        let after = db[&(1, "run:2".to_string())].seen_at;
        // Stored at 0 (holding), 3 (firing), then every 5 s: 8.
        assert_eq!(
            before != Some(after),
            [0, 3, 8].contains(&i),
            "t={i}: {before:?} -> {after}"
        );
    }
    // Restored much later (a server down for long), its alert resolved
    // meanwhile (not among the firing ones): the window restarts.
    let later = 11_000 + RESUME_GRACE_MS + 1;
    let mut e = eval_with(vec![r()]);
    e.restore(db.values().cloned().collect(), &[], later);
    let mut fired = Vec::new();
    for k in 0..4i64 {
        let t = later + k * 1000;
        let tr = e.observe_interval(run, s, second(20 + k as u64, 10, 5, 1.0, "a"), t);
        fired.extend(fires(&tr).into_iter().map(|_| k));
    }
    assert_eq!(fired, vec![3], "the window starts again at the restore");
}

#[test]
fn the_runs_kept_are_listed_until_they_end() {
    let mut e = eval_with(vec![rule(1, "http_req_failed", "rate", ">", 0.05, 0)]);
    // A follower keeps run 4's data; the leader fires on run 6.
    e.buffer_interval(RunId(4), ScenarioId(1), second(0, 10, 5, 1.0, "a"), 0);
    assert_eq!(
        fires(&e.observe_interval(RunId(6), ScenarioId(1), second(0, 10, 5, 1.0, "a"), 0)),
        vec![(1, "run:6".to_string())]
    );
    assert_eq!(e.runs_with_state(), vec![RunId(4), RunId(6)]);
    e.forget_run(RunId(4));
    assert_eq!(e.run_ended(RunId(6)).len(), 1, "its alert resolves");
    assert!(e.runs_with_state().is_empty());
}

#[test]
fn a_disabled_rule_resolves_its_firing_alerts() {
    let mut e = eval_with(vec![rule(1, "http_req_failed", "rate", ">", 0.05, 0)]);
    let bad = second(0, 10, 5, 1.0, "a");
    assert_eq!(
        fires(&e.observe_interval(RunId(2), ScenarioId(1), bad, 0)).len(),
        1
    );
    assert!(e.end_disabled().is_empty(), "still enabled");
    let mut off = rule(1, "http_req_failed", "rate", ">", 0.05, 0);
    off.rule.enabled = false;
    e.set_rules(vec![compile(off).unwrap()]);
    assert_eq!(
        e.end_disabled(),
        vec![Transition::Resolve {
            rule_id: 1,
            subject: "run:2".into()
        }]
    );
    assert!(e.end_disabled().is_empty(), "once");
    // Its stored state goes (only the last firing is kept).
    let changes = e.take_changes(1000);
    assert_eq!(changes.len(), 1);
    let st = changes[0].1.as_ref().unwrap();
    assert_eq!((st.firing, st.last_fired), (false, Some(0)));
}
