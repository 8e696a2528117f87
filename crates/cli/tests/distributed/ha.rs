//! Several `stampede server` replicas (issue 15, "Several servers"; issue
//! 17, "exactly one fires"): a throwaway PostgreSQL shared by two replicas,
//! one `redis-server`, two workers. A run started through the follower and
//! watched on its WebSocket survives `kill -9` of the leader: the follower
//! takes the lease, rebuilds the run from the recorded start and the
//! segments' event streams, and the run ends `passed` with the script's
//! exact count. The leader alone fires schedules and evaluates the
//! platform rules fed by the workers' heartbeats.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::cluster::{RedisProc, WorkerProc};
use super::harness::*;
use super::http_reqs_in;

/// A constant arrival rate of 10/s for 15 s, one request per iteration.
const ARRIVAL_SCRIPT: &str = r#"import http from 'k6/http';
export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: 10, timeUnit: '1s', duration: '15s',
      preAllocatedVUs: 6,
    },
  },
};
export default function () {
  http.get(`${__ENV.BASE}/get`);
}
"#;
/// Its exact iteration count: k6 1.1.0 counts 151 for this script (the
/// arrival at the very end included), whole or split 0:1/2 + 1/2:1, and so
/// does `stampede run`.
const ITERATIONS: f64 = 151.0;

const ONE_REQUEST: &str = r#"import http from 'k6/http';
export default function () { http.get(`${__ENV.BASE}/get`); }
"#;

/// A `stampede server` replica; its log is echoed and kept.
struct Replica {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl Replica {
    fn start(tag: &str, data: &Path, db: &str, redis: &str) -> Replica {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(["--database", db, "--redis", redis])
            .env("STAMPEDE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("STAMPEDE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log_w = log.clone();
        let tag = tag.to_string();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(a) = line.split("listening on ").nth(1) {
                        let a = a.trim().trim_start_matches("http://").to_string();
                        let _ = tx.send(a);
                        sent = true;
                    }
                }
                eprintln!("[{tag}] {line}");
                let mut l = log_w.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the replica reports its address");
        Replica { child, addr, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pid in the leader lease's replica id (`{host}-{pid}-{rand}`).
fn leader_pid(redis: &RedisProc) -> Option<u32> {
    let v = redis.cli(&["GET", "stampede:leader"]);
    let (_, replica) = v.trim().split_once(':')?;
    let mut parts = replica.rsplit('-');
    parts.next()?;
    parts.next()?.parse().ok()
}

/// A blocking WebSocket of run `run` on `addr`.
fn watch(addr: &str, token: &str, run: i64) -> tungstenite::WebSocket<TcpStream> {
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/ws?run_id={run}"
    ))
    .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    tungstenite::client::client(req, stream)
        .expect("WebSocket handshake")
        .0
}

#[test]
fn the_leader_killed_mid_run_is_taken_over_and_only_the_leader_schedules() {
    let Some(bin) = pg::postgres_bin_dir() else {
        return;
    };
    let pg = pg::Postgres::start(&bin);
    let db = pg.url("postgres");
    let target = stampede_demo::TestServer::start_in_background();
    let redis = RedisProc::start();
    // One data directory: the replicas share the JWT and sealing secrets.
    let data = tempfile::tempdir().unwrap();
    let mut a = Replica::start("a", data.path(), &db, &redis.url());
    let b = Replica::start("b", data.path(), &db, &redis.url());
    poll(20, "replica a to lead", || {
        (leader_pid(&redis) == Some(a.pid())).then_some(())
    });
    let _w1 = WorkerProc::start(&redis.url(), "w1", 50, &[]);
    let _w2 = WorkerProc::start(&redis.url(), "w2", 50, &[]);
    let token = login(&b.addr, "admin", ADMIN_PASSWORD);
    poll(60, "the workers to register", || {
        let (_, v) = call(&b.addr, "GET", "/api/v1/workers", Some(&token), None);
        (v["items"].as_array().map_or(0, Vec::len) == 2).then_some(())
    });

    // A platform rule the busy workers' heartbeats cross (a low CPU
    // threshold, created through the API): only the leader evaluates it.
    let (s, rule) = call(
        &b.addr,
        "POST",
        "/api/v1/alert-rules",
        Some(&token),
        Some(json!({"name": "busy workers", "scope": "platform",
                    "metric": "worker_cpu_percent", "op": ">", "threshold": 0.5,
                    "for": "1s", "severity": "warning"})),
    );
    assert_eq!(s, 201, "{rule}");
    let rule_id = rule["id"].as_i64().unwrap();

    // The run, started and watched through the follower.
    let scenario = create_scenario(&b.addr, &token, "steady", ARRIVAL_SCRIPT);
    let run = start_run(
        &b.addr,
        &token,
        scenario,
        json!({"workers": 2, "env": {"BASE": target.url()}}),
    );
    let mut ws = watch(&b.addr, &token, run);
    let (mut before, mut after, mut states) = (0, 0, Vec::new());
    let mut killed = false;
    loop {
        let msg = ws.read().expect("live messages until the run ends");
        let tungstenite::Message::Text(t) = msg else {
            continue;
        };
        let m: Value = serde_json::from_str(&t).unwrap();
        match m["type"].as_str() {
            Some("snapshot") if !killed => {
                before += 1;
                if before == 4 {
                    // Mid-run: the leader dies without a word.
                    a.kill9();
                    killed = true;
                }
            }
            Some("snapshot") => after += 1,
            Some("state") => {
                let st = m["status"].as_str().unwrap().to_string();
                let end = matches!(st.as_str(), "passed" | "failed" | "aborted" | "errored");
                states.push(st);
                if end {
                    break;
                }
            }
            _ => {}
        }
    }
    assert!(
        killed,
        "the run ended before the leader was killed: {states:?}"
    );
    assert!(
        after > 0,
        "the follower's WebSocket went on after the takeover"
    );
    assert_eq!(leader_pid(&redis), Some(b.pid()), "b leads now");
    assert!(b.log().contains("this server leads"), "{}", b.log());

    let r = wait_final(&b.addr, &token, run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(
        r["summary"]["metrics"]["iterations"]["count"].as_f64(),
        Some(ITERATIONS),
        "{r}"
    );
    assert_eq!(
        r["summary"]["metrics"]["http_reqs"]["count"].as_f64(),
        Some(ITERATIONS),
        "{r}"
    );
    assert_eq!(
        target.requests_served(),
        ITERATIONS as u64,
        "no segment ran twice"
    );
    let (s, m) = call(
        &b.addr,
        "GET",
        &format!("/api/v1/runs/{run}/metrics"),
        Some(&token),
        None,
    );
    assert_eq!(s, 200, "{m}");
    let intervals = m["intervals"].as_array().unwrap();
    let stored: f64 = intervals.iter().map(|i| http_reqs_in(&i["snapshot"])).sum();
    assert_eq!(stored, ITERATIONS, "no interval lost or counted twice");
    let mut starts: Vec<i64> = intervals
        .iter()
        .map(|i| i["start_ms"].as_i64().unwrap())
        .collect();
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), intervals.len(), "one interval per second");

    // The platform rule fired for a worker, from the leader's probe.
    let q = format!("/api/v1/alerts?rule_id={rule_id}");
    let fired = poll(60, "the worker CPU alert", || {
        let (_, v) = call(&b.addr, "GET", &q, Some(&token), None);
        v["items"].as_array().and_then(|a| a.first().cloned())
    });
    assert!(
        fired["subject"].as_str().unwrap().starts_with("worker:w"),
        "{fired}"
    );

    // Schedules: a second replica joins as a follower; a schedule firing
    // every second starts runs, every one of them by the leader.
    let c = Replica::start("c", data.path(), &db, &redis.url());
    assert_eq!(leader_pid(&redis), Some(b.pid()), "b still leads");
    let quick = create_scenario(&b.addr, &token, "quick", ONE_REQUEST);
    let (s, sched) = call(
        &c.addr,
        "POST",
        "/api/v1/schedules",
        Some(&token),
        Some(
            json!({"name": "every second", "scenario_id": quick, "cron": "* * * * * *",
                    "overlap": "alongside",
                    "options": {"iterations": 1, "vus": 1, "env": {"BASE": target.url()}}}),
        ),
    );
    assert_eq!(s, 201, "{sched}");
    let fired_runs = |addr: &str| -> Vec<Value> {
        let (_, v) = call(
            addr,
            "GET",
            &format!("/api/v1/runs?scenario_id={quick}"),
            Some(&token),
            None,
        );
        v["items"].as_array().cloned().unwrap_or_default()
    };
    poll(60, "three scheduled runs", || {
        (fired_runs(&c.addr).len() >= 3).then_some(())
    });
    let (s, _) = call(
        &c.addr,
        "DELETE",
        &format!("/api/v1/schedules/{}", sched["id"]),
        Some(&token),
        None,
    );
    assert!(s == 204 || s == 200, "{s}");
    for r in fired_runs(&c.addr) {
        let r = wait_final(&c.addr, &token, r["id"].as_i64().unwrap());
        assert_eq!(r["status"], "passed", "{r}");
    }
    assert!(b.log().contains("scheduled run started"), "{}", b.log());
    assert!(
        !c.log().contains("scheduled run started"),
        "a follower fired: {}",
        c.log()
    );
}
