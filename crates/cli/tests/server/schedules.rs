//! Schedules' policies and the alert rules' stop action, end to end
//! against the real `stampede server` (issue 17): a fire missed while the
//! server was down runs once at start-up or is skipped, per schedule; a
//! scheduled run that fails raises an alert when asked; the overlap
//! policies skip, queue or run alongside while the previous run goes; a
//! rule with `stop_run` stops its run when it fires.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use stampede_store::{RunStatus, Store};

use crate::alerts::FAILING;
use crate::harness::*;

/// Every request fails, and a threshold says so: the run ends `failed`.
const FAILS_THRESHOLD: &str = r#"import http from 'k6/http';
export const options = { thresholds: { http_req_failed: ['rate<0.01'] } };
export default function () { http.get(`${__ENV.BASE}/status/500`); }
"#;

/// One iteration of about 2 s.
const SLOW: &str = r#"import http from 'k6/http';
import { sleep } from 'k6';
export default function () { http.get(`${__ENV.BASE}/get`); sleep(2); }
"#;

/// A 6-field cron expression matching only the UTC second `at` (Unix s)
/// of its day of its month: it fires once a year.
fn cron_at(at: u64) -> String {
    let days = (at / 86_400) as i64;
    let secs = at % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    format!(
        "{} {} {} {day} {month} *",
        secs % 60,
        (secs / 60) % 60,
        secs / 3600
    )
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The runs a schedule started, oldest first.
fn runs_of(addr: &str, token: &str, scenario: i64, schedule: i64) -> Vec<Value> {
    let (_, v) = call(
        addr,
        "GET",
        &format!("/api/v1/runs?scenario_id={scenario}&limit=200"),
        Some(token),
        None,
    );
    let mut runs: Vec<Value> = v["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["started_by"]["kind"] == "schedule" && r["started_by"]["ref"] == schedule)
        .collect();
    runs.sort_by_key(|r| r["id"].as_i64());
    runs
}

fn schedule(addr: &str, token: &str, body: Value) -> i64 {
    let (s, v) = call(addr, "POST", "/api/v1/schedules", Some(token), Some(body));
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

#[test]
fn missed_fires_run_once_or_are_skipped_and_a_failed_scheduled_run_alerts() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProc::start(data.path(), None, &[]);
    let admin = login(&server.addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&server.addr, &admin, "fails", FAILS_THRESHOLD);
    // One fire, 6 s from now; the server is down when it passes.
    let at = now_s() + 6;
    let body = |name: &str, missed: &str| {
        json!({"name": name, "scenario_id": scenario, "cron": cron_at(at),
               "missed": missed, "alert_on_failure": true, "overlap": "alongside",
               "options": {"iterations": 2, "vus": 1, "env": {"BASE": target.url()}}})
    };
    let once = schedule(&server.addr, &admin, body("catch up", "run_once"));
    let skip = schedule(&server.addr, &admin, body("let go", "skip"));
    server.kill9();
    assert!(now_s() < at, "the server was down before the fire");
    poll(30, "the fire time to pass", || (now_s() > at).then_some(()));

    let server = ServerProc::start(data.path(), None, &[]);
    let (addr, admin) = (&server.addr, login(&server.addr, "admin", ADMIN_PASSWORD));
    let run = poll(60, "the missed fire to run", || {
        runs_of(addr, &admin, scenario, once).first().cloned()
    });
    let run_id = run["id"].as_i64().unwrap();
    let done = wait_final(addr, &admin, run_id);
    assert_eq!(done["status"], "failed", "{done}");
    // The failed run raised the schedule's alert, once.
    let q = format!("/api/v1/alerts?run_id={run_id}");
    let alert = poll(30, "the schedule's failure alert", || {
        let (_, v) = call(addr, "GET", &q, Some(&admin), None);
        v["items"].as_array()?.first().cloned()
    });
    assert_eq!(alert["subject"], format!("schedule:{once}:run:{run_id}"));
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["rule_name"], "schedule 'catch up' failed", "{alert}");
    assert!(
        alert["message"].as_str().unwrap().contains("failed"),
        "{alert}"
    );
    // Once each: the missed fire ran once; the skipped one never ran and
    // both wait for next year's.
    assert_eq!(runs_of(addr, &admin, scenario, once).len(), 1);
    assert!(runs_of(addr, &admin, scenario, skip).is_empty());
    let (_, v) = call(addr, "GET", &q, Some(&admin), None);
    assert_eq!(v["total"], 1, "{v}");
    for id in [once, skip] {
        let (_, s) = call(
            addr,
            "GET",
            &format!("/api/v1/schedules/{id}"),
            Some(&admin),
            None,
        );
        let next = s["next_fire_at"].as_str().unwrap();
        assert!(next > s["last_fire_at"].as_str().unwrap(), "{s}");
        assert_eq!(s["next_fires"][0].as_str(), Some(next), "{s}");
    }
}

#[test]
fn overlap_policies_skip_queue_or_run_alongside() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let (addr, admin) = (&server.addr, login(&server.addr, "admin", ADMIN_PASSWORD));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::open_data_dir(data.path())).unwrap();
    // Every second, each fire a run of about 2 s.
    let every_second = |scenario: i64, overlap: &str| {
        json!({"name": overlap, "scenario_id": scenario, "cron": "* * * * * *",
               "overlap": overlap,
               "options": {"iterations": 1, "vus": 1, "env": {"BASE": target.url()}}})
    };
    let stop = |id: i64| {
        let (s, _) = call(
            addr,
            "DELETE",
            &format!("/api/v1/schedules/{id}"),
            Some(&admin),
            None,
        );
        assert_eq!(s, 204);
    };
    let live = |runs: &[Value]| {
        runs.iter()
            .filter(|r| {
                !matches!(
                    r["status"].as_str(),
                    Some("passed" | "failed" | "aborted" | "errored")
                )
            })
            .count()
    };

    // Alongside: two of its runs go at once.
    let s = create_scenario(addr, &admin, "alongside", SLOW);
    let id = schedule(addr, &admin, every_second(s, "alongside"));
    poll(60, "two runs at once", || {
        (live(&runs_of(addr, &admin, s, id)) >= 2).then_some(())
    });
    stop(id);

    // Queue: fires wait (`pending`) while a run goes, and start after it.
    let s = create_scenario(addr, &admin, "queue", SLOW);
    let id = schedule(addr, &admin, every_second(s, "queue"));
    poll(60, "a queued fire", || {
        let (_, v) = call(
            addr,
            "GET",
            &format!("/api/v1/schedules/{id}"),
            Some(&admin),
            None,
        );
        (v["pending"].as_i64() >= Some(1)).then_some(())
    });
    poll(60, "a queued fire started", || {
        (runs_of(addr, &admin, s, id).len() >= 2).then_some(())
    });
    stop(id);
    let queued = runs_of(addr, &admin, s, id);

    // Skip: fires while a run goes start nothing.
    let s = create_scenario(addr, &admin, "skip", SLOW);
    let id = schedule(addr, &admin, every_second(s, "skip"));
    poll(60, "two runs", || {
        (runs_of(addr, &admin, s, id).len() >= 2).then_some(())
    });
    stop(id);
    let skipped = runs_of(addr, &admin, s, id);

    // Queued and skipping runs never overlap: each starts after the
    // previous one ended.
    for runs in [queued, skipped] {
        let stored: Vec<_> = runs
            .iter()
            .map(|r| {
                let id = r["id"].as_i64().unwrap();
                wait_final(addr, &admin, id);
                rt.block_on(store.run(stampede_store::RunId(id))).unwrap()
            })
            .collect();
        for pair in stored.windows(2) {
            assert!(pair[0].status.is_terminal() && pair[0].status != RunStatus::Errored);
            assert!(
                pair[1].created_at >= pair[0].ended_at.unwrap(),
                "{:?} overlaps {:?}",
                pair[1],
                pair[0]
            );
        }
    }
    rt.block_on(store.close());
}

#[test]
fn a_rule_with_stop_run_stops_its_run_when_it_fires() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let (addr, admin) = (&server.addr, login(&server.addr, "admin", ADMIN_PASSWORD));
    let (s, r) = call(
        addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&admin),
        Some(
            json!({"name": "stop on errors", "metric": "http_req_failed", "stat": "rate",
                    "op": ">", "threshold": 0.05, "for": "1s", "lookback": "1s",
                    "severity": "critical", "stop_run": true}),
        ),
    );
    assert_eq!(s, 201, "{r}");
    let scenario = create_scenario(addr, &admin, "failing", FAILING);
    // Ten minutes of errors: only the rule ends it within the wait.
    let run = start_run(
        addr,
        &admin,
        scenario,
        json!({"vus": 1, "duration": "10m", "env": {"BASE": target.url()}}),
    );
    let done = wait_final(addr, &admin, run);
    let q = format!("/api/v1/alerts?run_id={run}&rule_id={}", r["id"]);
    let (_, alerts) = call(addr, "GET", &q, Some(&admin), None);
    assert_eq!(alerts["total"], 1, "{alerts}");
    // Stopped gracefully: the summary is there, far short of 10 minutes.
    let iterations = done["summary"]["metrics"]["iterations"]["count"]
        .as_f64()
        .unwrap_or_default();
    assert!(iterations >= 1.0, "{done}");
}

/// `docs/schedules.md`'s seed 000 matrix: every schedule it shows is
/// accepted as written, with five increasing next fire times.
#[test]
fn the_seed_000_matrix_of_the_docs_is_accepted() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schedules.md"
    ))
    .unwrap();
    let matrix = doc.split("## Seed 000's test matrix").nth(1).unwrap();
    let bodies: Vec<Value> = matrix
        .lines()
        .filter(|l| l.starts_with("{\"name\""))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(bodies.len(), 6, "{bodies:?}");
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let (addr, admin) = (&server.addr, login(&server.addr, "admin", ADMIN_PASSWORD));
    let scenarios: Vec<i64> = (1..=6)
        .map(|i| {
            let script = "export default function () {}";
            create_scenario(addr, &admin, &format!("type {i}"), script)
        })
        .collect();
    for mut body in bodies {
        let n = body["scenario_id"].as_u64().unwrap() as usize;
        body["scenario_id"] = scenarios[n - 1].into();
        // Stored disabled: this test starts nothing.
        body["enabled"] = false.into();
        let (s, v) = call(addr, "POST", "/api/v1/schedules", Some(&admin), Some(body));
        assert_eq!(s, 201, "{v}");
        let next: Vec<&str> = v["next_fires"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(next.len(), 5, "{v}");
        assert!(next.windows(2).all(|p| p[0] < p[1]), "{v}");
    }
}
