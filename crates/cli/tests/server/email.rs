//! Email alerts against a real SMTP server (issue 17: "email over SMTP
//! (STARTTLS, auth)"): aiosmtpd (PyPI; `scripts/test` installs it) on a
//! free loopback port, STARTTLS required with a certificate the test
//! generates, AUTH required over TLS. A failing run fires an alert; the
//! channel trusting that certificate (`ca`) delivers "fired" and
//! "resolved" with the right envelope, headers and body, over TLS and
//! authenticated; the one with a wrong password is refused (535), logged
//! and retried with a growing backoff; the one that does not trust the
//! certificate fails at STARTTLS and never sends its credentials. Testing
//! a channel (`POST /alert-channels/{id}/test`) answers each outcome
//! precisely, an unreachable webhook included.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::alerts::{delivery_log, FAILING};
use crate::harness::*;

/// The first backoff the server is started with.
const BACKOFF_MS: i64 = 200;

/// `smtpd.py` under python3, stopped by PID on drop (its stdin closing
/// stops it too); the JSON lines it printed.
struct Smtpd {
    child: Child,
    port: u16,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Smtpd {
    /// `None` (skipped) without aiosmtpd, unless STAMPEDE_REQUIRE_SERVERS.
    fn start(dir: &std::path::Path, cert: &str, key: &str, login: &str, pw: &str) -> Option<Self> {
        let has = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !has {
            assert!(
                std::env::var_os("STAMPEDE_REQUIRE_SERVERS").is_none(),
                "aiosmtpd is missing (pip install aiosmtpd) and STAMPEDE_REQUIRE_SERVERS is set"
            );
            eprintln!("skipped: aiosmtpd is missing (pip install aiosmtpd)");
            return None;
        }
        let (cert_file, key_file) = (dir.join("smtp-cert.pem"), dir.join("smtp-key.pem"));
        std::fs::write(&cert_file, cert).unwrap();
        std::fs::write(&key_file, key).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/server/smtpd.py"
            ))
            .arg(port.to_string())
            .args([&cert_file, &key_file])
            .args([login, pw])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let out = child.stdout.take().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[smtpd] {line}");
                if let Ok(v) = serde_json::from_str(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let smtpd = Smtpd {
            child,
            port,
            events,
        };
        poll(30, "aiosmtpd to listen", || {
            smtpd
                .events()
                .iter()
                .any(|e| e["ready"] == true)
                .then_some(())
        });
        Some(smtpd)
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    fn messages(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["data"].is_string())
            .collect()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn email_alerts_go_through_a_real_smtp_server_over_starttls_with_auth() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (ck.cert.pem(), ck.signing_key.serialize_pem());
    let Some(smtpd) = Smtpd::start(dir.path(), &cert, &key, "stampede", "right-password") else {
        return;
    };
    let target = stampede_demo::TestServer::start_in_background();
    let server = ServerProc::start_with_env(
        &dir.path().join("data"),
        None,
        &[],
        &[("STAMPEDE_ALERT_RETRY_BACKOFF", "200ms")],
    );
    let addr = server.addr.clone();
    let admin = login(&addr, "admin", ADMIN_PASSWORD);

    let channel = |name: &str, ca: Option<&str>, password: &str| -> i64 {
        let mut config = json!({"host": "127.0.0.1", "port": smtpd.port,
            "from": "stampede@example.test",
            "to": ["oncall@example.test", "lead@example.test"],
            "starttls": true, "username": "stampede"});
        if let Some(ca) = ca {
            config["ca"] = ca.into();
        }
        let (s, c) = call(
            &addr,
            "POST",
            "/api/v1/alert-channels",
            Some(&admin),
            Some(json!({"name": name, "kind": "email", "config": config, "secret": password})),
        );
        assert_eq!(s, 201, "{c}");
        assert!(!c.to_string().contains(password), "{c}");
        c["id"].as_i64().unwrap()
    };
    let good = channel("mail", Some(&cert), "right-password");
    let wrong = channel("mail wrong password", Some(&cert), "wrong-password");
    let untrusted = channel("mail untrusted", None, "right-password");
    // A `ca` that is not a certificate is a 422 naming it; nothing saved.
    let (s, v) = call(
        &addr,
        "POST",
        "/api/v1/alert-channels",
        Some(&admin),
        Some(json!({"name": "bad ca", "kind": "email",
                    "config": {"host": "127.0.0.1", "from": "a@example.test",
                               "to": ["b@example.test"], "ca": "not a certificate"}})),
    );
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("ca"), "{v}");
    let (_, list) = call(&addr, "GET", "/api/v1/alert-channels", Some(&admin), None);
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");

    let (s, r) = call(
        &addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&admin),
        Some(
            json!({"name": "mailed errors", "metric": "http_req_failed", "stat": "rate",
                    "op": ">", "threshold": 0.05, "for": "0s", "lookback": "1s",
                    "min_interval": "0s", "severity": "critical",
                    "channels": [good, wrong, untrusted]}),
        ),
    );
    assert_eq!(s, 201, "{r}");
    let rule = r["id"].as_i64().unwrap();
    let scenario = create_scenario(&addr, &admin, "failing", FAILING);
    let run = start_run(
        &addr,
        &admin,
        scenario,
        json!({"vus": 1, "duration": "3s", "env": {"BASE": target.url()}}),
    );
    let q = format!("/api/v1/alerts?rule_id={rule}");
    let alert = poll(60, "the alert", || {
        let (_, v) = call(&addr, "GET", &q, Some(&admin), None);
        v["items"].as_array()?.first()?["id"].as_i64()
    });
    wait_final(&addr, &admin, run);

    // "fired" and "resolved", each once, to both recipients.
    let mails = poll(60, "two messages", || {
        let m = smtpd.messages();
        (m.len() >= 2).then_some(m)
    });
    assert_eq!(mails.len(), 2, "{mails:?}");
    for (m, event) in mails.iter().zip(["fired", "resolved"]) {
        assert_eq!(m["from"], "stampede@example.test", "{m}");
        assert_eq!(
            m["to"],
            json!(["oncall@example.test", "lead@example.test"]),
            "{m}"
        );
        assert_eq!(
            (&m["tls"], &m["authenticated"]),
            (&json!(true), &json!(true))
        );
        let data = m["data"].as_str().unwrap();
        for header in [
            "From: stampede@example.test\r\n".to_string(),
            "To: oncall@example.test, lead@example.test\r\n".to_string(),
            format!("Subject: [stampede] critical {event}: mailed errors\r\n"),
            "Content-Type: text/plain; charset=utf-8\r\n".to_string(),
        ] {
            assert!(data.contains(&header), "{header:?} in {data}");
        }
        assert!(
            data.contains(&format!("Alert {alert} ")) && data.contains(&format!("run:{run}")),
            "{data}"
        );
        assert!(
            data.contains("mailed errors: http_req_failed = 1 > 0.05"),
            "{data}"
        );
    }

    // The delivery log: each attempt of each channel.
    // good: 2; wrong password and untrusted: 5 + 5 each.
    let log = delivery_log(&addr, &admin, alert, 22);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stored = rt.block_on(async {
        let store = stampede_store::Store::open_data_dir(&dir.path().join("data"))
            .await
            .unwrap();
        let mut d = store.deliveries(alert).await.unwrap();
        store.close().await;
        d.sort_by_key(|d| d.attempt);
        d
    });
    let of = |channel: i64, event: &str| -> Vec<Value> {
        let mut d: Vec<Value> = log
            .iter()
            .filter(|d| d["channel_id"].as_i64() == Some(channel) && d["event"] == event)
            .cloned()
            .collect();
        d.sort_by_key(|d| d["attempt"].as_i64());
        d
    };
    for event in ["fired", "resolved"] {
        let ok = of(good, event);
        assert_eq!(ok.len(), 1, "{ok:?}");
        assert_eq!(ok[0]["ok"], true, "{ok:?}");
        let refused = of(wrong, event);
        assert_eq!(
            refused
                .iter()
                .map(|d| d["attempt"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5],
            "{refused:?}"
        );
        for d in &refused {
            assert_eq!(d["ok"], false, "{d}");
            assert!(d["detail"].as_str().unwrap().contains("535"), "{d}");
        }
        // The attempts' times, from the store (ms).
        let times: Vec<i64> = stored
            .iter()
            .filter(|d| d.channel_id == Some(wrong) && d.event == event)
            .map(|d| (d.at.unix_timestamp_nanos() / 1_000_000) as i64)
            .collect();
        assert_eq!(times.len(), 5);
        // Each retry waits at least its backoff: 200, 400, 800, 1600 ms.
        for (i, pair) in times.windows(2).enumerate() {
            let wait = BACKOFF_MS << i;
            assert!(
                pair[1] - pair[0] >= wait - 1,
                "attempt {}: {times:?}",
                i + 2
            );
        }
        for d in of(untrusted, event) {
            assert_eq!(d["ok"], false, "{d}");
            assert!(
                d["detail"].as_str().unwrap().contains("STARTTLS failed"),
                "{d}"
            );
        }
        assert_eq!(of(untrusted, event).len(), 5);
    }
    // Credentials went only to the server the channel trusts: two
    // accepted logins, and one refused per wrong-password attempt.
    let auths: Vec<Value> = smtpd
        .events()
        .into_iter()
        .filter(|e| e["auth"].is_string())
        .collect();
    assert!(auths.iter().all(|a| a["tls"] == true), "{auths:?}");
    assert_eq!(
        auths.iter().filter(|a| a["ok"] == true).count(),
        2,
        "{auths:?}"
    );
    assert_eq!(
        auths.iter().filter(|a| a["ok"] == false).count(),
        10,
        "{auths:?}"
    );

    // Testing a channel: one attempt, answered with the precise outcome.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let (s, hook) = call(
        &addr,
        "POST",
        "/api/v1/alert-channels",
        Some(&admin),
        Some(json!({"name": "nobody there", "kind": "webhook", "config": {"url": closed_url}})),
    );
    assert_eq!(s, 201, "{hook}");
    let test = |id: &Value| {
        call(
            &addr,
            "POST",
            &format!("/api/v1/alert-channels/{id}/test"),
            Some(&admin),
            None,
        )
    };
    let (s, v) = test(&json!(good));
    assert_eq!((s, &v["ok"]), (200, &json!(true)), "{v}");
    for (id, needle) in [
        (json!(wrong), "535"),
        (json!(untrusted), "STARTTLS failed"),
        (hook["id"].clone(), "cannot connect"),
    ] {
        let (s, v) = test(&id);
        assert_eq!(s, 502, "{v}");
        assert_eq!(v["error"]["code"], "channel_unreachable", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
    let (s, _) = test(&json!(9999));
    assert_eq!(s, 404);
    let mails = poll(30, "the test message", || {
        let m = smtpd.messages();
        (m.len() >= 3).then_some(m)
    });
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(
        mails[2]["data"]
            .as_str()
            .unwrap()
            .contains("Subject: [stampede] info test: test notification\r\n"),
        "{mails:?}"
    );
}
