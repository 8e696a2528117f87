//! Test fixtures: a throwaway PostgreSQL server and fresh stores on both
//! backends.
//!
//! PostgreSQL comes from Debian's `postgresql` package
//! (`/usr/lib/postgresql/*/bin`). It refuses to run as root, so when the
//! tests run as root the server runs as the package's `postgres` user (the
//! `runuser` the docs suggest, done with `Command::uid`/`gid` so that the
//! child's PID is the postmaster's own and can be stopped by it). It
//! listens on a free loopback port with its socket in its temp dir, and is
//! stopped by PID when the guard drops — also when a test panics. Without
//! the package the PostgreSQL half is skipped with a notice, unless
//! `STAMPEDE_REQUIRE_SERVERS` is set (as `.ci/run` does): then it fails.

#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stampede_store::Store;

/// The newest `/usr/lib/postgresql/<v>/bin`, or `None` after printing why
/// the PostgreSQL tests are skipped; panics when servers are required.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file()).then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    if std::env::var_os("STAMPEDE_REQUIRE_SERVERS").is_some() {
        panic!("PostgreSQL is not installed (apt-get install postgresql) and STAMPEDE_REQUIRE_SERVERS is set");
    }
    eprintln!("skipping the PostgreSQL half: not installed (apt-get install postgresql)");
    None
}

/// `(uid, gid)` of a user from `/etc/passwd`.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name))
            .then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))?
    })
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server in a temp dir, stopped by PID when dropped.
pub struct Postgres {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Postgres {
    /// initdb + postgres on a free loopback port; waits until it accepts
    /// connections (polling, up to 60 s).
    pub fn start(bin: &Path) -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("stampede-pg")
            .tempdir()
            .unwrap();
        let as_root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let ids = if as_root {
            let ids = user_ids("postgres").expect("running as root needs the `postgres` user");
            std::os::unix::fs::chown(dir.path(), Some(ids.0), Some(ids.1)).unwrap();
            Some(ids)
        } else {
            None
        };
        let command = |program: &str| {
            let mut c = Command::new(bin.join(program));
            if let Some((uid, gid)) = ids {
                c.uid(uid).gid(gid);
            }
            c.env_remove("PGDATA").stdin(Stdio::null());
            c
        };
        let data = dir.path().join("data");
        let out = command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .output()
            .expect("cannot run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("postgres.log")).unwrap();
        if let Some((uid, gid)) = ids {
            std::os::unix::fs::chown(dir.path().join("postgres.log"), Some(uid), Some(gid))
                .unwrap();
        }
        let child = command("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-F",
                "-c",
                "max_connections=200",
                "-c",
                "shared_buffers=32MB",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start postgres");
        let mut pg = Postgres { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = pg.child.try_wait() {
                panic!("postgres exited ({status}):\n{}", pg.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not listen:\n{}",
                pg.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        pg
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `db` and returns a store on it (migrated), retrying
    /// while the server is still starting up.
    pub async fn fresh_store(&self, db: &str) -> Store {
        use sqlx::Connection;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut admin = loop {
            match sqlx::PgConnection::connect(&self.url("postgres")).await {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot connect to postgres: {e}\n{}", self.log()),
            }
        };
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {db}").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        Store::connect(&self.url(db)).await.unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's "fast shutdown"; SIGKILL after 10 s.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh SQLite store in its own temp dir (kept alive by the returned guard).
pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    (store, dir)
}

/// A realistic one-second snapshot: `http_reqs`, `http_req_failed` and
/// `http_req_duration` per endpoint, with the given durations (ms).
pub fn http_snapshot(second: u64, endpoints: &[(&str, &[f64])]) -> stampede_metrics::WireSnapshot {
    use stampede_metrics::{Builtin, Registry, Sink, TagSet};
    let reg = Registry::new();
    let mut sink = Sink::new();
    let t0 = second * 1_000_000_000;
    for (name, values) in endpoints {
        let tags = TagSet::from_pairs([
            ("method", "GET"),
            ("name", *name),
            ("status", "200"),
            ("scenario", "default"),
        ]);
        for (i, v) in values.iter().enumerate() {
            let t = t0 + i as u64;
            sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, t);
            sink.add(
                Builtin::HttpReqFailed.metric(),
                &tags,
                f64::from(*v > 900.0),
                t,
            );
            sink.add(Builtin::HttpReqDuration.metric(), &tags, *v, t);
        }
    }
    sink.take(t0, t0 + 1_000_000_000).to_wire(&reg)
}

/// Merges stored snapshots into a store and reads `stat` of `metric` over
/// all series (for exactness checks).
pub fn merged_stat(
    parts: &[stampede_metrics::WireSnapshot],
    metric: stampede_metrics::Builtin,
    stat: &stampede_metrics::Stat,
) -> Option<f64> {
    use stampede_metrics::{Registry, Store as MetricStore, TagSet};
    let reg = Registry::new();
    let mut store = MetricStore::new();
    for p in parts {
        store.apply(&p.clone().into_snapshot(&reg).unwrap());
    }
    store
        .get(metric.id(), &TagSet::empty())
        .and_then(|agg| agg.stat(stat, Duration::from_secs(1)))
}
