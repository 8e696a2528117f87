//! Several `stampede server` replicas (issue 15, "Several servers"; issue
//! 17, "exactly one fires"): a throwaway PostgreSQL shared by two replicas,
//! one `redis-server`, two workers. A run started through the follower and
//! watched on its WebSocket survives `kill -9` of the leader: the follower
//! takes the lease, rebuilds the run from the recorded start and the
//! segments' event streams, and the run ends `passed` with the script's
//! exact count. The leader alone fires schedules and evaluates the
//! platform rules fed by the workers' heartbeats. A leader paused past its
//! lease steps down when it wakes up. A worker lost and resumed while the
//! killed leader led stays in the run's result: the leader recorded the
//! fault in the store, and the new one starts from it.

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

/// PostgreSQL, Redis, the target, replica `a` (the leader) and `b`, two
/// workers, an admin token. Fields drop in order: processes first.
struct Ha {
    a: Replica,
    b: Replica,
    workers: [WorkerProc; 2],
    token: String,
    db: String,
    redis: RedisProc,
    target: stampede_demo::TestServer,
    // One data directory: the replicas share the JWT and sealing secrets.
    data: tempfile::TempDir,
    _pg: pg::Postgres,
}

impl Ha {
    /// `None` without PostgreSQL binaries.
    fn start() -> Option<Ha> {
        let pg = pg::Postgres::start(&pg::postgres_bin_dir()?);
        let db = pg.url("postgres");
        let target = stampede_demo::TestServer::start_in_background();
        let redis = RedisProc::start();
        let data = tempfile::tempdir().unwrap();
        let a = Replica::start("a", data.path(), &db, &redis.url());
        let b = Replica::start("b", data.path(), &db, &redis.url());
        poll(20, "replica a to lead", || {
            (leader_pid(&redis) == Some(a.pid())).then_some(())
        });
        let workers = [
            WorkerProc::start(&redis.url(), "w1", 50, &[]),
            WorkerProc::start(&redis.url(), "w2", 50, &[]),
        ];
        let token = login(&b.addr, "admin", ADMIN_PASSWORD);
        poll(60, "the workers to register", || {
            let (_, v) = call(&b.addr, "GET", "/api/v1/workers", Some(&token), None);
            (v["items"].as_array().map_or(0, Vec::len) == 2).then_some(())
        });
        Some(Ha {
            a,
            b,
            workers,
            token,
            db,
            redis,
            target,
            data,
            _pg: pg,
        })
    }

    /// The arrival run on both workers, started through the follower `b`.
    fn start_arrival_run(&self) -> i64 {
        let scenario = create_scenario(&self.b.addr, &self.token, "steady", ARRIVAL_SCRIPT);
        start_run(
            &self.b.addr,
            &self.token,
            scenario,
            json!({"workers": 2, "env": {"BASE": self.target.url()}}),
        )
    }

    /// The arrival run, once the leader stored three of its intervals.
    fn arrival_run_under_way(&self) -> i64 {
        let run = self.start_arrival_run();
        let q = format!("/api/v1/runs/{run}/metrics");
        poll(60, "three stored intervals", || {
            let (_, m) = call(&self.b.addr, "GET", &q, Some(&self.token), None);
            (m["intervals"].as_array().map_or(0, Vec::len) >= 3).then_some(())
        });
        run
    }

    /// The workers holding a lease of run `run`.
    fn holders(&self, run: i64) -> std::collections::BTreeSet<String> {
        let (_, v) = call(
            &self.b.addr,
            "GET",
            "/api/v1/workers",
            Some(&self.token),
            None,
        );
        let prefix = format!("{run}.");
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| {
                w["leases"].as_array().is_some_and(|ls| {
                    ls.iter()
                        .any(|l| l.as_str().is_some_and(|l| l.starts_with(&prefix)))
                })
            })
            .filter_map(|w| w["id"].as_str().map(str::to_string))
            .collect()
    }

    /// Run `run`'s faults as recorded in the store.
    fn stored_faults(&self, run: i64) -> Vec<stampede_store::RunFault> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = stampede_store::Store::connect(&self.db).await.unwrap();
                let faults = store.run_faults(stampede_store::RunId(run)).await.unwrap();
                store.close().await;
                faults
            })
    }

    /// Waits for `b` to take a run over.
    fn b_takes_the_run(&self) {
        poll(30, "b to take the run", || {
            self.b
                .log()
                .contains("the leader takes the run")
                .then_some(())
        });
    }

    /// The arrival run ended `passed` with the script's exact count, each
    /// request made once and each interval stored once.
    fn assert_exact(&self, run: i64) {
        let (addr, token) = (&self.b.addr, &self.token);
        let r = wait_final(addr, token, run);
        assert_eq!(r["status"], "passed", "{r}");
        for metric in ["iterations", "http_reqs"] {
            assert_eq!(
                r["summary"]["metrics"][metric]["count"].as_f64(),
                Some(ITERATIONS),
                "{metric}: {r}"
            );
        }
        assert_eq!(
            self.target.requests_served(),
            ITERATIONS as u64,
            "no segment ran twice"
        );
        let q = format!("/api/v1/runs/{run}/metrics");
        let (s, m) = call(addr, "GET", &q, Some(token), None);
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
    }
}

/// Sends `signal` (`STOP`, `CONT`, `TERM`) to process `pid`.
fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{signal} {pid}");
}

#[test]
fn the_leader_killed_mid_run_is_taken_over_and_only_the_leader_schedules() {
    let Some(mut ha) = Ha::start() else {
        return;
    };
    let token = ha.token.clone();

    // A platform rule the busy workers' heartbeats cross (a low CPU
    // threshold, created through the API): only the leader evaluates it.
    let (s, rule) = call(
        &ha.b.addr,
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
    let run = ha.start_arrival_run();
    let mut ws = watch(&ha.b.addr, &token, run);
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
                if before == 2 {
                    // The follower shows the leader's live progress too.
                    let q = format!("/api/v1/runs/{run}");
                    let (_, r) = call(&ha.b.addr, "GET", &q, Some(&token), None);
                    assert!(r["progress"]["max_vus"].as_u64() > Some(0), "{r}");
                }
                if before == 4 {
                    // Mid-run: the leader dies without a word.
                    ha.a.kill9();
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
    let b = &ha.b;
    assert_eq!(leader_pid(&ha.redis), Some(b.pid()), "b leads now");
    assert!(b.log().contains("this server leads"), "{}", b.log());
    ha.assert_exact(run);

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
    let c = Replica::start("c", ha.data.path(), &ha.db, &ha.redis.url());
    assert_eq!(leader_pid(&ha.redis), Some(b.pid()), "b still leads");
    let quick = create_scenario(&b.addr, &token, "quick", ONE_REQUEST);
    let (s, sched) = call(
        &c.addr,
        "POST",
        "/api/v1/schedules",
        Some(&token),
        Some(
            json!({"name": "every second", "scenario_id": quick, "cron": "* * * * * *",
                    "overlap": "alongside",
                    "options": {"iterations": 1, "vus": 1, "env": {"BASE": ha.target.url()}}}),
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

/// A leader that stops answering (SIGSTOP: a long GC pause, a frozen VM)
/// loses its lease to `b`, which takes the run over; when it wakes up it
/// sees the lease taken while it still supervises the run and exits (code
/// 3), and the run ends exact. (Any write it made in between would be
/// refused by the store's fence: `stampede-store`'s `leader_fence` case.)
/// The new leader, stopped with SIGTERM, gives the lease up to a third.
#[test]
fn a_paused_leader_steps_down_and_a_stopped_one_gives_the_lease_up() {
    let Some(mut ha) = Ha::start() else {
        return;
    };
    let run = ha.arrival_run_under_way();
    signal(ha.a.pid(), "STOP");
    poll(30, "b to take the lease", || {
        (leader_pid(&ha.redis) == Some(ha.b.pid())).then_some(())
    });
    ha.b_takes_the_run();
    signal(ha.a.pid(), "CONT");
    let status = poll(30, "a to step down", || ha.a.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(3), "{}", ha.a.log());
    assert!(
        ha.a.log().contains("another server took the leader lease"),
        "{}",
        ha.a.log()
    );
    ha.assert_exact(run);
    assert_eq!(leader_pid(&ha.redis), Some(ha.b.pid()), "b still leads");

    // A leader asked to stop (SIGTERM) gives the lease up on its way out;
    // a new replica takes it.
    let c = Replica::start("c", ha.data.path(), &ha.db, &ha.redis.url());
    signal(ha.b.pid(), "TERM");
    let status = poll(30, "b to stop", || ha.b.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(0), "{}", ha.b.log());
    assert!(
        ha.b.log().contains("it gave the leader lease up"),
        "{}",
        ha.b.log()
    );
    poll(30, "c to lead", || {
        (leader_pid(&ha.redis) == Some(c.pid())).then_some(())
    });
}

/// Redis restarted empty mid-run loses the run board, the run's lease
/// records and the older events of its segments' streams; the leader puts
/// the board and the records back, so the follower still takes the run
/// over when the leader goes (killed, or stepping down because the
/// follower took the emptied lease first) and, seeding the merge with the
/// stored intervals, the run ends exact.
#[test]
fn the_board_outlives_a_redis_restart_for_a_later_takeover() {
    let Some(mut ha) = Ha::start() else {
        return;
    };
    let run = ha.arrival_run_under_way();
    ha.redis.restart();
    let leases = format!("stampede:run:{run}:leases");
    poll(30, "the run back on the board with its leases", || {
        let on_board = ha
            .redis
            .cli(&["SISMEMBER", "stampede:runs", &run.to_string()]);
        let n = ha.redis.cli(&["HLEN", &leases]);
        (on_board.trim() == "1" && n.trim() == "2").then_some(())
    });
    // The emptied lease went to whichever replica asked first: `b` (then
    // `a` stepped down, code 3) or `a` again (then it is killed now).
    let leader = poll(30, "a leader", || leader_pid(&ha.redis));
    if leader == ha.a.pid() {
        ha.a.kill9();
    }
    ha.b_takes_the_run();
    ha.assert_exact(run);
}

/// [`ARRIVAL_SCRIPT`] for 30 s (room for a worker's loss and resume, then
/// the leader's, before the end), with 20 VUs per segment (a worker of 50
/// runs two) for the resumer's catch-up.
fn long_arrival_script() -> String {
    ARRIVAL_SCRIPT
        .replace("duration: '15s'", "duration: '30s'")
        .replace("preAllocatedVUs: 6", "preAllocatedVUs: 40")
}

/// A worker is lost and resumed while `a` leads; then `a` is killed. `b`
/// takes the run over knowing nothing of the loss from the workers (the
/// lease has its resumer as owner), but `a` recorded the fault in the
/// store as soon as it saw the resume: the run's result lists it once,
/// with who resumed it and from which second, and the count is exact.
#[test]
fn a_fault_seen_by_a_killed_leader_stays_in_the_run_s_result() {
    let Some(mut ha) = Ha::start() else {
        return;
    };
    let script = long_arrival_script();
    assert_ne!(script, ARRIVAL_SCRIPT);
    let scenario = create_scenario(&ha.b.addr, &ha.token, "long", &script);
    let run = start_run(
        &ha.b.addr,
        &ha.token,
        scenario,
        json!({"workers": 2, "env": {"BASE": ha.target.url()}}),
    );
    poll(60, "both workers to hold a segment", || {
        (ha.holders(run).len() == 2).then_some(())
    });
    let q = format!("/api/v1/runs/{run}/metrics");
    poll(60, "three stored intervals", || {
        let (_, m) = call(&ha.b.addr, "GET", &q, Some(&ha.token), None);
        (m["intervals"].as_array().map_or(0, Vec::len) >= 3).then_some(())
    });
    ha.workers[0].kill9();
    let recorded = poll(60, "the leader to record w1's loss and w2's resume", || {
        let f = ha.stored_faults(run);
        f.iter()
            .any(|f| f.resumed_by.as_deref() == Some("w2"))
            .then_some(f)
    });
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].worker, "w1");
    assert_eq!(leader_pid(&ha.redis), Some(ha.a.pid()), "a still leads");
    ha.a.kill9();
    ha.b_takes_the_run();

    let r = wait_final(&ha.b.addr, &ha.token, run);
    assert_eq!(r["status"], "passed", "{r}");
    assert_eq!(r["summary"]["degraded"], false, "{r}");
    let faults = r["summary"]["faults"]
        .as_array()
        .expect("the fault survived the leader");
    assert_eq!(faults.len(), 1, "{r}");
    let gap = &faults[0];
    assert_eq!(gap["worker"], "w1", "{r}");
    assert_eq!(gap["resumed_by"], "w2", "{r}");
    assert_eq!(gap["segment"], recorded[0].segment, "{r}");
    assert_eq!(gap["from_s"].as_i64(), Some(recorded[0].from_s), "{r}");
    let to = gap["to_s"].as_i64().expect("the resume second is known");
    assert!(to >= recorded[0].from_s, "{r}");
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("worker w1 was lost") && error.contains("worker w2 resumed"),
        "{r}"
    );
    // Exact: the plan's count (10/s for 30 s, the last arrival included)
    // is every iteration made or dropped (the resumer's catch-up may need
    // more VUs at once than its share has), each interval stored once.
    let count = |m: &str| r["summary"]["metrics"][m]["count"].as_f64().unwrap_or(0.0);
    assert_eq!(
        count("iterations") + count("dropped_iterations"),
        301.0,
        "{r}"
    );
    assert_eq!(count("http_reqs"), count("iterations"), "{r}");
    let (_, m) = call(&ha.b.addr, "GET", &q, Some(&ha.token), None);
    let stored: f64 = m["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| http_reqs_in(&i["snapshot"]))
        .sum();
    assert_eq!(
        stored,
        count("http_reqs"),
        "no interval lost or counted twice"
    );
    assert_eq!(ha.stored_faults(run).len(), 1, "recorded once");
}

/// Alerts across a takeover, with this module's replicas.
#[path = "ha_alerts.rs"]
mod alerts;
