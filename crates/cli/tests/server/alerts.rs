//! Alerts and schedules end to end, against the real `stampede server`:
//! a run whose error rate crosses a rule fires an alert, a webhook receiver
//! on loopback gets it (signed, after a retried failure), it resolves when
//! the run ends, and it can be acknowledged; channel secrets never come
//! back; bad rules, windows, cron expressions and time zones are 422s; a
//! schedule with a seconds field fires and records its runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::harness::*;

/// A webhook receiver on loopback: answers 503 to its first request and
/// 200 afterwards; keeps (headers, body) of each. Serves at most 20
/// requests, then its thread ends.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for (i, conn) in listener.incoming().take(20).enumerate() {
                let Ok(mut conn) = conn else { continue };
                conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .ok();
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let mut head = String::new();
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let status = if i == 0 {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let _ = conn.write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                );
                sink.lock()
                    .unwrap()
                    .push((head, String::from_utf8_lossy(&body).into_owned()));
            }
        });
        Receiver { url, got }
    }

    fn bodies(&self) -> Vec<(String, Value)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(h, b)| Some((h.clone(), serde_json::from_str(b).ok()?)))
            .collect()
    }
}

/// Alert `alert`'s delivery log, once it holds `n` attempts at least.
pub(crate) fn delivery_log(addr: &str, token: &str, alert: i64, n: usize) -> Vec<Value> {
    poll(60, "the delivery log", || {
        let (_, v) = call(
            addr,
            "GET",
            &format!("/api/v1/alerts/{alert}"),
            Some(token),
            None,
        );
        let d = v["deliveries"].as_array().cloned().unwrap_or_default();
        (d.len() >= n).then_some(d)
    })
}

pub(crate) const FAILING: &str = r#"import http from 'k6/http';
import { sleep } from 'k6';
export default function () {
  http.get(`${__ENV.BASE}/status/500`);
  sleep(0.05);
}
"#;

#[test]
fn an_error_rate_rule_fires_notifies_resolves_and_is_acknowledged() {
    let target = stampede_demo::TestServer::start_in_background();
    let hook = Receiver::start();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);

    // Seed 002's defaults ship enabled.
    let (s, rules) = call(&addr, "GET", "/api/v1/alert-rules", Some(&admin), None);
    assert_eq!(s, 200, "{rules}");
    assert_eq!(rules["items"].as_array().unwrap().len(), 5, "{rules}");

    // A webhook channel with a secret: sealed, never answered.
    let (s, ch) = call(
        &addr,
        "POST",
        "/api/v1/alert-channels",
        Some(&admin),
        Some(
            json!({"name": "ops", "kind": "webhook", "config": {"url": hook.url}, "secret": "s3cret-hmac-key"}),
        ),
    );
    assert_eq!(s, 201, "{ch}");
    assert_eq!(ch["has_secret"], true);
    let (_, list) = call(&addr, "GET", "/api/v1/alert-channels", Some(&admin), None);
    for text in [ch.to_string(), list.to_string()] {
        assert!(!text.contains("s3cret") && !text.contains("v1:"), "{text}");
    }
    let db = std::fs::read(data.path().join("stampede.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains("s3cret-hmac-key"),
        "sealed at rest"
    );

    // Bad rules: precise 422s, nothing stored.
    let rule = |m: &str, stat: &str, window: &str| {
        json!({"name": "errors", "metric": m, "stat": stat, "op": ">", "threshold": 0.05,
               "for": window, "lookback": "1s", "severity": "critical", "channels": [ch["id"]]})
    };
    for (body, needle) in [
        (
            rule("http_req_failled", "rate", "2s"),
            "unknown metric 'http_req_failled'",
        ),
        (rule("http_req_failed", "p(95)", "2s"), "does not apply"),
        (rule("http_req_failed", "rate", "2 minutes"), "`for`"),
        (
            {
                let mut r = rule("http_req_failed", "rate", "2s");
                r["channels"] = json!([ch["id"], 9999]);
                r
            },
            "channel 9999 not found",
        ),
        (
            {
                let mut r = rule("http_req_failed", "rate", "2s");
                r["scenario_id"] = json!(9999);
                r
            },
            "scenario 9999 not found",
        ),
    ] {
        let (s, v) = call(
            &addr,
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(body),
        );
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    let (_, rules) = call(&addr, "GET", "/api/v1/alert-rules", Some(&admin), None);
    assert_eq!(
        rules["items"].as_array().unwrap().len(),
        5,
        "nothing half-saved: {rules}"
    );
    // Viewers read, never write.
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/users",
        Some(&admin),
        Some(json!({"username": "val", "password": "viewer-password-1", "role": "viewer"})),
    );
    assert_eq!(s, 201);
    let viewer = login(&addr, "val", "viewer-password-1");
    let (s, _) = call(
        &addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&viewer),
        Some(rule("http_req_failed", "rate", "2s")),
    );
    assert_eq!(s, 403);
    let (s, _) = call(&addr, "GET", "/api/v1/alert-channels", Some(&viewer), None);
    assert_eq!(s, 403);
    let (s, _) = call(&addr, "GET", "/api/v1/alerts", Some(&viewer), None);
    assert_eq!(s, 200);

    let (s, r) = call(
        &addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&admin),
        Some(rule("http_req_failed", "rate", "2s")),
    );
    assert_eq!(s, 201, "{r}");
    let rule_id = r["id"].as_i64().unwrap();
    assert_eq!(
        (
            r["for_ms"].as_i64(),
            r["lookback_ms"].as_i64(),
            r["min_interval_ms"].as_i64()
        ),
        (Some(2000), Some(1000), Some(300_000)),
        "five minutes between firings by default"
    );
    for (interval, want) in [("1m", Some(60_000)), ("0s", Some(0)), ("soon", None)] {
        let mut body = rule("http_req_failed", "rate", "2s");
        body["name"] = format!("interval {interval}").into();
        body["min_interval"] = interval.into();
        let (s, v) = call(
            &addr,
            "POST",
            "/api/v1/alert-rules",
            Some(&admin),
            Some(body),
        );
        match want {
            Some(ms) => {
                assert_eq!((s, v["min_interval_ms"].as_i64()), (201, Some(ms)), "{v}");
                let id = v["id"].as_i64().unwrap();
                let path = format!("/api/v1/alert-rules/{id}");
                let (s, _) = call(&addr, "DELETE", &path, Some(&admin), None);
                assert_eq!(s, 204);
            }
            None => {
                assert_eq!(s, 422, "{v}");
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("min_interval"),
                    "{v}"
                );
            }
        }
    }

    // A run whose every request fails.
    let scenario = create_scenario(&addr, &admin, "failing", FAILING);
    let (s, v) = call(
        &addr,
        "POST",
        &format!("/api/v1/scenarios/{scenario}/start"),
        Some(&admin),
        Some(json!({"vus": 2, "duration": "6s", "env": {"BASE": target.url()}})),
    );
    assert_eq!(s, 202, "{v}");
    let run = v["run_id"].as_i64().unwrap();
    let q = format!("/api/v1/alerts?rule_id={rule_id}");
    let fired = poll(60, "the alert to fire", || {
        let (_, v) = call(&addr, "GET", &q, Some(&admin), None);
        v["items"].as_array().and_then(|a| a.first().cloned())
    });
    assert_eq!(fired["run_id"].as_i64(), Some(run), "{fired}");
    assert_eq!(fired["subject"], format!("run:{run}"));
    assert_eq!(fired["value"].as_f64(), Some(1.0), "{fired}");
    let alert = fired["id"].as_i64().unwrap();
    wait_final(&addr, &admin, run);
    // The run ended: the episode resolves, once.
    let resolved = poll(30, "the alert to resolve", || {
        let (_, v) = call(
            &addr,
            "GET",
            &format!("/api/v1/alerts/{alert}"),
            Some(&admin),
            None,
        );
        (v["state"] == "resolved").then_some(v)
    });
    assert!(resolved["resolved_at"].is_string());
    let (_, all) = call(&addr, "GET", &q, Some(&admin), None);
    assert_eq!(all["total"], 1, "one alert per episode: {all}");

    // The webhook got "fired" (after one 503, retried) and "resolved", signed.
    let events = poll(30, "the webhook deliveries", || {
        let b = hook.bodies();
        (b.iter().filter(|(_, v)| v["event"] == "resolved").count() == 1).then_some(b)
    });
    let fired_posts: Vec<&(String, Value)> = events
        .iter()
        .filter(|(_, v)| v["event"] == "fired")
        .collect();
    assert_eq!(fired_posts.len(), 2, "a 503, then the retry: {events:?}");
    let (head, body) = &events
        .iter()
        .find(|(_, v)| v["event"] == "resolved")
        .unwrap();
    assert_eq!(body["alert"]["id"].as_i64(), Some(alert));
    let raw = hook
        .got
        .lock()
        .unwrap()
        .iter()
        .find(|(h, _)| h == head)
        .unwrap()
        .1
        .clone();
    let sig = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-stampede-signature: sha256=")
                .map(|s| s.trim().to_string())
        })
        .expect("signed");
    assert_eq!(
        sig,
        stampede_server::alerts::notify::sign("s3cret-hmac-key", &raw)
    );
    let deliveries = delivery_log(&addr, &admin, alert, 3);
    let log: Vec<(String, i64, bool)> = deliveries
        .iter()
        .map(|d| {
            (
                d["event"].as_str().unwrap().to_string(),
                d["attempt"].as_i64().unwrap(),
                d["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        log,
        vec![
            ("fired".into(), 1, false),
            ("fired".into(), 2, true),
            ("resolved".into(), 1, true)
        ]
    );

    // Acknowledged: who and when; viewers may not.
    let (s, _) = call(
        &addr,
        "POST",
        &format!("/api/v1/alerts/{alert}/ack"),
        Some(&viewer),
        None,
    );
    assert_eq!(s, 403);
    let (s, acked) = call(
        &addr,
        "POST",
        &format!("/api/v1/alerts/{alert}/ack"),
        Some(&admin),
        None,
    );
    assert_eq!(s, 200, "{acked}");
    assert!(acked["acknowledged_by"].as_i64().is_some() && acked["acknowledged_at"].is_string());
    let (_, v) = call(
        &addr,
        "GET",
        "/api/v1/alerts?acknowledged=false&state=resolved",
        Some(&admin),
        None,
    );
    assert_eq!(v["total"], 0, "{v}");
    let (_, v) = call(
        &addr,
        "GET",
        "/api/v1/audit?action=alert",
        Some(&admin),
        None,
    );
    assert!(v.to_string().contains("alert.ack"), "{v}");

    let (s, _, metrics) = http_raw(&addr, "GET", "/metrics", &[], b"");
    assert_eq!(s, 200);
    let metrics = text(&metrics);
    assert!(
        metrics.contains("stampede_alerts{state=\"resolved\",severity=\"critical\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_schedule_with_seconds_fires_and_records_its_runs() {
    let target = stampede_demo::TestServer::start_in_background();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProc::start(data.path(), None, &[]);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);
    let scenario = create_scenario(&addr, &admin, "smoke", SCRIPT);
    let body = |cron: &str, tz: &str| {
        json!({"name": "every 2 s", "scenario_id": scenario, "cron": cron, "timezone": tz,
               "options": {"iterations": 1, "env": {"BASE": target.url()}}, "overlap": "skip"})
    };
    for (b, needle) in [
        (body("*/2 * * * *  * *", "UTC"), "5 fields"),
        (body("61 * * * *", "UTC"), "minute field"),
        (body("*/2 * * * * *", "Mars/Olympus"), "unknown time zone"),
    ] {
        let (s, v) = call(&addr, "POST", "/api/v1/schedules", Some(&admin), Some(b));
        assert_eq!(s, 422, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{v}"
        );
    }
    let mut missing = body("*/2 * * * * *", "UTC");
    missing["scenario_id"] = json!(9999);
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/schedules",
        Some(&admin),
        Some(missing),
    );
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["details"][0]["field"], "scenario_id", "{v}");
    let (_, v) = call(&addr, "GET", "/api/v1/schedules", Some(&admin), None);
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        0,
        "nothing half-saved"
    );

    let (s, sch) = call(
        &addr,
        "POST",
        "/api/v1/schedules",
        Some(&admin),
        Some(body("*/2 * * * * *", "Europe/Paris")),
    );
    assert_eq!(s, 201, "{sch}");
    assert_eq!(sch["next_fires"].as_array().unwrap().len(), 5, "{sch}");
    let id = sch["id"].as_i64().unwrap();
    let run = poll(60, "a scheduled run", || {
        let (_, v) = call(
            &addr,
            "GET",
            &format!("/api/v1/runs?scenario_id={scenario}"),
            Some(&admin),
            None,
        );
        v["items"]
            .as_array()?
            .iter()
            .find(|r| r["started_by"]["kind"] == "schedule")
            .cloned()
    });
    assert_eq!(run["started_by"]["ref"].as_i64(), Some(id), "{run}");
    let done = wait_final(&addr, &admin, run["id"].as_i64().unwrap());
    assert_eq!(done["status"], "passed", "{done}");
    let mut off = body("*/2 * * * * *", "Europe/Paris");
    off["enabled"] = json!(false);
    let (s, v) = call(
        &addr,
        "PUT",
        &format!("/api/v1/schedules/{id}"),
        Some(&admin),
        Some(off),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["next_fire_at"], Value::Null);
    let (_, v) = call(
        &addr,
        "GET",
        &format!("/api/v1/schedules/{id}"),
        Some(&admin),
        None,
    );
    assert!(v["last_run_id"].as_i64().is_some(), "{v}");
}

/// A delivery interrupted by the server's death between two attempts is
/// resumed by the next server once the dead one's lease runs out: the
/// receiver fails the first attempt, the server is killed (SIGKILL) during
/// the backoff, and after the restart the second attempt arrives — once,
/// with the attempt numbering kept.
#[test]
fn deliveries_survive_a_restart() {
    let hook = Receiver::start();
    let data = tempfile::tempdir().unwrap();
    // A backoff long enough that the kill lands between the two attempts.
    let env = [("STAMPEDE_ALERT_RETRY_BACKOFF", "3s")];
    let mut server = ServerProc::start_with_env(data.path(), None, &[], &env);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);
    let (s, ch) = call(
        &addr,
        "POST",
        "/api/v1/alert-channels",
        Some(&admin),
        Some(json!({"name": "ops", "kind": "webhook", "config": {"url": hook.url}})),
    );
    assert_eq!(s, 201, "{ch}");
    // A platform rule that holds at once: fewer than 1000 workers.
    let (s, r) = call(
        &addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&admin),
        Some(
            json!({"name": "small fleet", "scope": "platform", "metric": "workers_available",
                    "op": "<", "threshold": 1000, "lookback": "1s", "channels": [ch["id"]]}),
        ),
    );
    assert_eq!(s, 201, "{r}");

    // The first attempt fails (503); the server dies during the backoff.
    poll(30, "the first attempt", || {
        (!hook.got.lock().unwrap().is_empty()).then_some(())
    });
    server.kill9();
    let before = hook.got.lock().unwrap().len();
    assert_eq!(before, 1, "only the first attempt before the kill");

    let server = ServerProc::start_with_env(data.path(), None, &[], &env);
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);
    // Resumed once the dead server's lease (the attempt's 10 s timeout and
    // a margin past its due time) has run out.
    let events = poll(60, "the resumed attempt", || {
        let b = hook.bodies();
        (b.len() >= 2).then_some(b)
    });
    let (first, second) = (&events[0].1, &events[1].1);
    assert_eq!(second["event"], "fired", "{second}");
    assert_eq!(
        second["alert"]["id"], first["alert"]["id"],
        "the same alert"
    );
    let alert = second["alert"]["id"].as_i64().unwrap();
    let (_, a) = call(
        &addr,
        "GET",
        &format!("/api/v1/alerts/{alert}"),
        Some(&admin),
        None,
    );
    let log: Vec<(i64, bool)> = poll(10, "the delivery log", || {
        let (_, a) = call(
            &addr,
            "GET",
            &format!("/api/v1/alerts/{alert}"),
            Some(&admin),
            None,
        );
        let log: Vec<(i64, bool)> = a["deliveries"]
            .as_array()?
            .iter()
            .map(|d| (d["attempt"].as_i64().unwrap(), d["ok"].as_bool().unwrap()))
            .collect();
        (log.len() >= 2).then_some(log)
    });
    assert_eq!(log, vec![(1, false), (2, true)], "{a}");
    // Firing already: the restarted evaluator adopts it, no second alert.
    assert_eq!(hook.bodies().len(), 2, "delivered once, not again");
}
