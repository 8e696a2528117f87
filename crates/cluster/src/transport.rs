//! The `Transport` seam between the orchestrator and whatever runs
//! segments, and its in-process implementation.
//!
//! The orchestrator only ever sees a [`SegmentHandle`]: a stream of
//! [`SegmentEvent`]s and a way to send [`Control`]s. [`LocalTransport`]
//! fulfils it with one child `stampede` process per segment (the hidden
//! `__segment` subcommand): the job goes in as the first line of the
//! child's stdin, events come back as JSON lines on its stdout, controls
//! follow as JSON lines, and closing its stdin aborts it — so a killed server
//! also ends its runs. The VUs never share the API's process or runtime.
//! Issue 15's Redis transport implements the same trait.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::protocol::{Control, SegmentEvent, SegmentJob};

/// Why a segment could not be handed out.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// A segment in flight, seen from the orchestrator.
pub struct SegmentHandle {
    /// The runner's events; the channel closes when the segment is gone.
    pub events: mpsc::Receiver<SegmentEvent>,
    /// Sends stop/abort to the runner.
    pub control: mpsc::UnboundedSender<Control>,
}

/// The workers behind a transport and the segments waiting for one, as
/// `GET /api/v1/workers` and `/metrics` show them.
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    /// One JSON object per live worker (id, state, capacity, load, ...).
    pub workers: Vec<serde_json::Value>,
    /// Segments queued that no worker has taken yet.
    pub queue_depth: u64,
}

/// A transport's answer about its [`Fleet`] (its backend may be down).
pub type FleetFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Fleet, TransportError>> + Send + 'a>>;

/// Hands segments to runners.
pub trait Transport: Send + Sync {
    /// Starts `job`; its events arrive on the returned handle.
    fn start(&self, job: SegmentJob) -> Result<SegmentHandle, TransportError>;
    /// A short name for logs and `/api/v1/workers` (`local`, `redis`).
    fn name(&self) -> &'static str;
    /// The remote workers, for transports that have some (`None`: the
    /// segments run in this server's own child processes).
    fn fleet(&self) -> Option<FleetFuture<'_>> {
        None
    }
}

/// Runs each segment in a child process of this executable.
#[derive(Clone)]
pub struct LocalTransport {
    program: Arc<PathBuf>,
    args: Arc<Vec<String>>,
    /// The data size cap of each child (`--run-memory-limit`).
    memory_limit: Option<u64>,
}

/// The hidden subcommand the child runs.
pub const SEGMENT_SUBCOMMAND: &str = "__segment";

/// Events buffered per segment before the reader waits for the consumer.
const EVENT_BUFFER: usize = 256;

impl LocalTransport {
    /// Children run `program args...` (normally the current executable
    /// with [`SEGMENT_SUBCOMMAND`]).
    pub fn new(program: PathBuf, args: Vec<String>) -> Self {
        Self {
            program: Arc::new(program),
            args: Arc::new(args),
            memory_limit: None,
        }
    }

    /// Caps each child's data size at `bytes` (`None`: no cap); see
    /// [`crate::memory`].
    pub fn with_memory_limit(mut self, bytes: Option<u64>) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Children run this very executable's `__segment` subcommand.
    pub fn current_exe() -> Result<Self, TransportError> {
        let exe = std::env::current_exe()
            .map_err(|e| TransportError(format!("cannot find the stampede executable: {e}")))?;
        Ok(Self::new(exe, vec![SEGMENT_SUBCOMMAND.to_string()]))
    }

    fn spawn(&self) -> Result<Child, TransportError> {
        let mut cmd = Command::new(&*self.program);
        // The server's secrets (admin password, JWT secret, database URL)
        // are none of a script's business: the child gets a bare
        // environment.
        cmd.env_clear();
        for key in KEPT_ENV {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        if let Some(limit) = self.memory_limit {
            crate::memory::limit_child(&mut cmd, limit);
        }
        cmd.args(&*self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| TransportError(format!("cannot start a segment process: {e}")))
    }
}

/// Environment variables a segment process keeps.
const KEPT_ENV: [&str; 5] = ["PATH", "HOME", "TMPDIR", "LANG", "RUST_BACKTRACE"];

/// How many of the child's last stderr lines explain a crash.
const STDERR_TAIL: usize = 20;

impl Transport for LocalTransport {
    fn start(&self, job: SegmentJob) -> Result<SegmentHandle, TransportError> {
        let mut child = self.spawn()?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_BUFFER);
        let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel::<Control>();
        let memory_limit = self.memory_limit;
        let job_line = serde_json::to_string(&job)
            .map_err(|e| TransportError(format!("cannot encode the job: {e}")))?;
        // Control: the job, then `stop` lines; dropping stdin aborts.
        tokio::spawn(async move {
            if stdin
                .write_all(format!("{job_line}\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
            let _ = stdin.flush().await;
            while let Some(c) = ctl_rx.recv().await {
                if c == Control::Abort {
                    return;
                }
                let line = format!("{}\n", c.to_line());
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                let _ = stdin.flush().await;
            }
        });
        // The child's logs: kept as a tail to explain a crash.
        let tail = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let tail_w = tail.clone();
        let log_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(target: "stampede::segment", "{line}");
                let mut t = tail_w.lock().unwrap_or_else(|p| p.into_inner());
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut ended = false;
            while let Ok(Some(line)) = lines.next_line().await {
                let ev = match SegmentEvent::from_line(&line) {
                    Ok(ev) => ev,
                    Err(e) => SegmentEvent::Failed {
                        exit_code: 255,
                        message: e,
                    },
                };
                ended |= matches!(
                    ev,
                    SegmentEvent::Finished { .. } | SegmentEvent::Failed { .. }
                );
                if ev_tx.send(ev).await.is_err() {
                    break;
                }
            }
            let status = child.wait().await;
            let _ = log_task.await;
            if !ended {
                let tail: Vec<String> = tail
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                let how = match status {
                    Ok(s) => describe_exit(s),
                    Err(e) => format!("could not be waited for: {e}"),
                };
                let mut message = match memory_limit {
                    Some(l) if crate::memory::looks_out_of_memory(&tail) => {
                        crate::memory::exceeded_message(l)
                    }
                    _ => format!("the segment process {how}"),
                };
                if !tail.is_empty() {
                    message.push_str(": ");
                    message.push_str(&tail.join("\n"));
                }
                let _ = ev_tx
                    .send(SegmentEvent::Failed {
                        exit_code: 255,
                        message,
                    })
                    .await;
            }
        });
        Ok(SegmentHandle {
            events: ev_rx,
            control: ctl_tx,
        })
    }

    fn name(&self) -> &'static str {
        "local"
    }
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with code {c} without a result"),
        (None, Some(9)) => "was killed (signal 9; out of memory?)".to_string(),
        (None, Some(s)) => format!("was killed by signal {s}"),
        (None, None) => "ended without a result".to_string(),
    }
}
