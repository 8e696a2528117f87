//! The chaos relay against real parts: a `redis-server` on a free loopback
//! port, a real chaos agent with a proxy, the worker's loopback relay and
//! the serving side. Calls pass and change the agent; what is not the
//! control API is refused before it reaches Redis; a run nobody serves
//! (never, or no more) gets a clear error, not a timeout.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stampede_chaos::{ChaosConfig, ProxySpec, RunningAgent};
use stampede_cluster::relay::{presence_key, requests_key, AgentRelay, WorkerRelay};

struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server) runs");
        let r = Redis {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn exists(&self, key: &str) -> bool {
        let client = redis::Client::open(self.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One call through the relay at `addr`, as the `stampede/chaos` module
/// makes it.
async fn call(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let (addr, method, path) = (addr.to_string(), method.to_string(), path.to_string());
    let body = body.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        stampede_chaos::client::call(&addr, &method, &path, body.as_deref()).unwrap()
    })
    .await
    .unwrap()
}

async fn agent() -> RunningAgent {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = ChaosConfig::default();
    cfg.proxies.insert(
        "db".into(),
        ProxySpec {
            listen: "127.0.0.1:0".parse().unwrap(),
            upstream: upstream.local_addr().unwrap().to_string(),
        },
    );
    RunningAgent::start(&cfg).await.unwrap()
}

async fn injected(agent: &RunningAgent) -> bool {
    agent.agent.states().await[0].injected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_reach_the_runs_agent_and_nothing_else() {
    let redis = Redis::start();
    let agent = agent().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let relay = WorkerRelay::start(client.clone(), "41").await.unwrap();
    let front = relay.addr().to_string();
    assert_ne!(front, agent.api.to_string());
    let server = AgentRelay::spawn(&redis.url(), "41", &agent.api.to_string()).unwrap();

    let (status, body) = call(
        &front,
        "POST",
        "/api/v1/targets/db/inject",
        Some(r#"{"faults":{"blackhole":true},"duration_ms":60000}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(injected(&agent).await);
    let (status, body) = call(&front, "GET", "/api/v1/targets", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"blackhole\":true"), "{body}");
    // The agent's own errors come back as they are.
    let (status, body) = call(&front, "POST", "/api/v1/targets/nope/restore", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no fault target named"), "{body}");
    let (status, body) = call(&front, "POST", "/api/v1/targets/db/restore", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(!injected(&agent).await);
    let (status, _) = call(&front, "POST", "/api/v1/restore", None).await;
    assert_eq!(status, 200);

    // Not the control API: refused at the worker, nothing queued.
    for (m, p) in [
        ("GET", "/api/v1/targets/db/inject"),
        ("POST", "/api/v1/targets/../restore"),
        ("PUT", "/api/v1/restore"),
        ("GET", "/"),
    ] {
        let (status, body) = call(&front, m, p, None).await;
        assert_eq!(status, 403, "{m} {p}: {body}");
        assert!(body.contains("only the agent's control API"), "{body}");
    }
    assert!(!redis.exists(&requests_key("41")).await);

    // The run is over: its keys go, and a call says so at once.
    assert!(redis.exists(&presence_key("41")).await);
    server.stop().await;
    assert!(!redis.exists(&presence_key("41")).await);
    let (status, body) = call(&front, "POST", "/api/v1/restore", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no chaos agent serves run 41"), "{body}");
    drop(relay);
    assert!(agent.shutdown().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_an_agent_gets_a_clear_error() {
    let redis = Redis::start();
    let agent = agent().await;
    // Another run's agent does not answer this run's calls.
    let other = AgentRelay::spawn(&redis.url(), "7", &agent.api.to_string()).unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let relay = WorkerRelay::start(client, "8").await.unwrap();
    let (status, body) = call(
        &relay.addr().to_string(),
        "POST",
        "/api/v1/targets/db/inject",
        Some("{}"),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("no chaos agent serves run 8")),
        "{body}"
    );
    assert!(!injected(&agent).await);
    other.stop().await;
    assert!(agent.shutdown().await.is_empty());
}
