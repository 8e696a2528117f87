//! Alerts across a leader takeover (issue 17: only the leader evaluates,
//! and its per-(rule, subject) state outlives it). Two replicas share a
//! throwaway PostgreSQL and one `redis-server`; a run on two workers fails
//! on purpose. A rule with a 25 s window is pending on the leader when the
//! leader is killed (`kill -9`); the follower takes over, restores the
//! stored episode and fires the alert when the window that began on the
//! dead leader is met — before a window restarted at the takeover could
//! end — and once. A rule already firing at the kill is not fired again,
//! and the new leader resolves it when its condition stops holding.

use super::*;
use stampede_store::{AlertState, Store};

/// Every iteration: `/status/500` tagged `name:a` (fails all along), and
/// one tagged `name:b` that fails until `B_FAILS_UNTIL` (Unix ms), then
/// succeeds. 10 iterations a second for 45 s on both workers.
const FAILING_SCRIPT: &str = r#"import http from 'k6/http';
export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: 10, timeUnit: '1s', duration: '45s',
      preAllocatedVUs: 6,
    },
  },
};
export default function () {
  http.get(`${__ENV.BASE}/status/500`, { tags: { name: 'a' } });
  const b = Date.now() < Number(__ENV.B_FAILS_UNTIL) ? 500 : 200;
  http.get(`${__ENV.BASE}/status/${b}`, { tags: { name: 'b' } });
}
"#;

/// The slow rule's window.
const WINDOW_MS: i64 = 25_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A stored time in Unix ms.
macro_rules! ms {
    ($t:expr) => {
        ($t.unix_timestamp_nanos() / 1_000_000) as i64
    };
}

#[test]
fn an_alert_window_goes_on_across_a_leader_takeover_and_fires_once() {
    let Some(mut ha) = Ha::start() else {
        return;
    };
    let token = ha.token.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::connect(&ha.db)).unwrap();
    let rule = |name: &str, tag: &str, window: &str, lookback: &str| -> i64 {
        let (s, r) = call(
            &ha.b.addr,
            "POST",
            "/api/v1/alert-rules",
            Some(&token),
            Some(
                json!({"name": name, "metric": "http_req_failed", "tags": {"name": tag},
                        "stat": "rate", "op": ">", "threshold": 0.05, "for": window,
                        "lookback": lookback, "min_interval": "0s", "severity": "critical"}),
            ),
        );
        assert_eq!(s, 201, "{r}");
        r["id"].as_i64().unwrap()
    };
    let slow = rule("slow window", "a", "25s", "5s");
    let quick = rule("at once", "b", "0s", "2s");

    let scenario = create_scenario(&ha.b.addr, &token, "failing", FAILING_SCRIPT);
    let b_fails_until = now_ms() + 20_000;
    let run = start_run(
        &ha.b.addr,
        &token,
        scenario,
        json!({"workers": 2, "env": {"BASE": ha.target.url(),
                                      "B_FAILS_UNTIL": b_fails_until.to_string()}}),
    );
    let subject = format!("run:{run}");

    // The slow rule pending on the leader `a` for 5 s at least (its
    // stored state refreshed once), the quick one firing.
    let pending_since = poll(60, "the slow rule pending for 5 s", || {
        let states = rt.block_on(store.alert_episodes()).unwrap();
        let st = states
            .into_iter()
            .find(|s| s.rule_id == slow && s.subject == subject)?;
        assert!(!st.firing, "the slow rule fired early: {st:?}");
        let since = st.holding_since?;
        (st.seen_at >= since + 5_000).then_some(since)
    });
    let alerts = |rule: i64| -> Vec<Value> {
        let q = format!("/api/v1/alerts?rule_id={rule}");
        let (s, v) = call(&ha.b.addr, "GET", &q, Some(&token), None);
        assert_eq!(s, 200, "{v}");
        v["items"].as_array().cloned().unwrap_or_default()
    };
    poll(30, "the quick alert firing", || {
        (alerts(quick).first()?["state"] == "firing").then_some(())
    });
    let killed_at = now_ms();
    ha.a.kill9();
    assert!(
        killed_at < b_fails_until,
        "the machine is too slow for this test: b stopped failing before the kill"
    );
    poll(30, "b to lead", || {
        (leader_pid(&ha.redis) == Some(ha.b.pid())).then_some(())
    });

    // The slow alert, fired by b when the window begun on a was met.
    let fired = poll(90, "the slow alert", || alerts(slow).first().cloned());
    let fired = rt
        .block_on(store.alert(fired["id"].as_i64().unwrap()))
        .unwrap();
    assert_eq!(fired.subject, subject);
    let at = ms!(fired.fired_at);
    assert!(
        at >= pending_since + WINDOW_MS,
        "fired before its window: pending since {pending_since}, fired at {at}"
    );
    assert!(
        at < killed_at + WINDOW_MS,
        "the window restarted on the new leader: pending since {pending_since}, \
         killed at {killed_at}, fired at {at}"
    );
    let b_log = ha.b.log();
    assert!(
        b_log.contains("alert evaluation resumes the stored episodes"),
        "{b_log}"
    );

    // The run ends: each rule fired once; the quick alert was resolved by
    // b when b stopped failing, the slow one when the run ended.
    let r = wait_final(&ha.b.addr, &token, run);
    assert!(r["status"].is_string(), "{r}");
    let (slow_alerts, quick_alerts) = (alerts(slow), alerts(quick));
    assert_eq!(slow_alerts.len(), 1, "fired once: {slow_alerts:?}");
    assert_eq!(quick_alerts.len(), 1, "not fired again: {quick_alerts:?}");
    let quick_alert = rt
        .block_on(store.alert(quick_alerts[0]["id"].as_i64().unwrap()))
        .unwrap();
    let slow_alert = poll(30, "the slow alert resolved with its run", || {
        let a = rt.block_on(store.alert(fired.id)).unwrap();
        (a.state == AlertState::Resolved).then_some(a)
    });
    assert_eq!(quick_alert.state, AlertState::Resolved, "{quick_alert:?}");
    let resolved = ms!(quick_alert.resolved_at.unwrap());
    assert!(
        resolved > killed_at && resolved >= b_fails_until,
        "resolved by the new leader once b stopped failing: {quick_alert:?}"
    );
    assert!(ms!(slow_alert.resolved_at.unwrap()) >= at, "{slow_alert:?}");
    rt.block_on(store.close());
}
