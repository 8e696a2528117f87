//! `stampede worker --redis URL`: a load machine of a distributed run. It
//! takes segment leases from Redis and runs each in a child `__segment`
//! process — the very runner `stampede server` uses in-process — so a
//! script that crashes or exhausts memory ends that child only, and a
//! worker killed with `kill -9` takes its children with it (their stdin
//! closes). SIGTERM or Ctrl-C drains; losing Redis for `--redis-timeout`
//! stops the VUs and exits with code 1.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use stampede_cluster::{LocalTransport, Worker, WorkerConfig, WorkerExit};

use crate::cmd_server::{init_logs, LogFormat};

/// Arguments of `stampede worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The Redis the server uses (redis://host:port[/db]).
    #[arg(long, env = "STAMPEDE_REDIS_URL", hide_env_values = true)]
    pub redis: String,
    /// VUs this worker runs at most, over all its segments.
    #[arg(long, default_value_t = 1000)]
    pub capacity: u64,
    /// The worker's name in the fleet (default: host name and process id).
    #[arg(long)]
    pub id: Option<String>,
    /// Seconds without Redis after which the VUs stop and the worker exits.
    #[arg(long, default_value_t = 30)]
    pub redis_timeout: u64,
    /// Seconds running segments get to finish after SIGTERM before their
    /// leases are handed back to other workers.
    #[arg(long, default_value_t = 60)]
    pub drain_timeout: u64,
    /// Memory cap of each segment's process (e.g. 2GiB, 512MiB, none); a
    /// script that exceeds it ends its segment errored. Default: half the RAM.
    #[arg(long, value_name = "SIZE", value_parser = stampede_cluster::memory::parse_limit)]
    pub run_memory_limit: Option<stampede_cluster::memory::MemoryLimit>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// The default worker id: `{host}-{pid}`.
fn default_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    format!("{host}-{}", std::process::id())
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

/// Runs the command; returns the exit code.
pub fn run(args: WorkerArgs) -> i32 {
    init_logs(args.log_format);
    if args.capacity == 0 {
        eprintln!("stampede worker: --capacity must be at least 1 VU");
        return 1;
    }
    let config = WorkerConfig {
        url: args.redis,
        id: args.id.unwrap_or_else(default_id),
        capacity: args.capacity,
        redis_timeout: Duration::from_secs(args.redis_timeout.max(1)),
        drain_timeout: Duration::from_secs(args.drain_timeout),
        poll: Duration::from_millis(500),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("stampede-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async {
        let limit = stampede_cluster::memory::resolve(args.run_memory_limit);
        let runner = match LocalTransport::current_exe() {
            Ok(t) => Arc::new(t.with_memory_limit(limit)),
            Err(e) => {
                eprintln!("stampede worker: {e}");
                return 1;
            }
        };
        let id = config.id.clone();
        let worker = match Worker::connect(config, runner).await {
            Ok(w) => w,
            Err(e) => {
                eprintln!("stampede worker: {e}");
                return 1;
            }
        };
        eprintln!("stampede worker {id} ready");
        match worker.run(stop_signal()).await {
            WorkerExit::Drained => 0,
            WorkerExit::RedisLost => {
                eprintln!("stampede worker: Redis unreachable for too long; segments stopped");
                1
            }
        }
    })
}
