//! The distributed tests' parts: a throwaway `redis-server` on a free
//! loopback port (no persistence, in a temp dir) and `stampede worker`
//! child processes, each stopped by PID.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use super::harness::poll;

/// A `redis-server` child process.
pub struct RedisProc {
    pub child: Child,
    pub port: u16,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_redis(port: u16, dir: &std::path::Path) -> Child {
    Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server (Debian package redis-server) runs")
}

impl RedisProc {
    pub fn start() -> RedisProc {
        let tmp = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = spawn_redis(port, tmp.path());
        let r = RedisProc {
            child,
            port,
            dir: tmp.path().to_path_buf(),
            _tmp: tmp,
        };
        r.wait_ready();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self) {
        poll(20, "redis-server to answer", || {
            (self.cli(&["PING"]).trim() == "PONG").then_some(())
        });
    }

    /// Runs `redis-cli` against it; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Kills it (losing every key: no persistence) and starts a new one on
    /// the same port.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn_redis(self.port, &self.dir);
        self.wait_ready();
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `stampede worker` child process; its stderr is echoed and kept.
pub struct WorkerProc {
    pub child: Child,
    pub id: String,
    pub log: Arc<Mutex<String>>,
}

impl WorkerProc {
    pub fn start(redis: &str, id: &str, capacity: u64, extra: &[&str]) -> WorkerProc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stampede"))
            .args(["worker", "--redis", redis, "--id", id])
            .args(["--capacity", &capacity.to_string()])
            .args(extra)
            .env("STAMPEDE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the worker starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let log_w = log.clone();
        let tag = id.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                let mut l = log_w.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        WorkerProc {
            child,
            id: id.to_string(),
            log,
        }
    }

    pub fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
