//! Issue 15's transport: segments handed to `stampede worker` processes
//! through Redis, as PLATFORM.md's "Worker protocol" lays out.
//!
//! The key space is small and every name is built here, so the server side
//! ([`RedisTransport`]) and the worker side ([`Worker`]) cannot disagree:
//!
//! - `stampede:leases`, a stream read by the consumer group `workers`: one
//!   entry per segment ([`Lease`]: the whole [`SegmentJob`] serialized
//!   opaquely, so fields other helpers add flow through). A worker `XACK`s
//!   it only when the segment is over; it keeps the entry's idle time low
//!   while it runs it (`XCLAIM … JUSTID` every heartbeat), so `XAUTOCLAIM`
//!   by another worker takes over exactly the leases of a lost worker.
//! - `stampede:lease:{id}`, a hash: the owner, the common start instant,
//!   the control word (`stop`/`abort`) a worker that missed the pub/sub
//!   message sees at its next heartbeat, and where a resumer takes over
//!   (`next_interval`, `iterations:{scenario}`).
//! - `stampede:lease:{id}:events`, a stream of [`SegmentEvent`]s. Interval
//!   indices count seconds from the common start, so the server drops a
//!   repeated `(segment, index)` and a resumed segment continues the count.
//! - `stampede:worker:{id}` (TTL 3 s, refreshed every second) and the set
//!   `stampede:workers`: the live fleet.
//! - `stampede:control`, pub/sub: stop and abort, pushed at once.

pub mod ha;
mod sys;
mod transport;
mod worker;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

pub use transport::{RedisTransport, RedisTransportConfig};
pub use worker::{Worker, WorkerConfig, WorkerExit};

use crate::protocol::{Control, SegmentJob};
use crate::transport::TransportError;

/// The stream of segment leases.
pub const LEASES: &str = "stampede:leases";
/// The consumer group workers read leases in.
pub const GROUP: &str = "workers";
/// The pub/sub channel of stop and abort.
pub const CONTROL_CHANNEL: &str = "stampede:control";
/// The set of worker ids that announced themselves.
pub const WORKERS: &str = "stampede:workers";
/// How often a worker refreshes its heartbeat and its leases.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long a heartbeat lives: a worker silent this long is lost.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(3);
/// A lease whose holder has not touched it this long is reclaimed. A bit
/// over the heartbeat TTL so a live worker's refresh always wins.
pub const RECLAIM_IDLE: Duration = Duration::from_millis(3500);
/// How long per-lease keys are kept after the last write.
pub const LEASE_KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// A worker's heartbeat key.
pub fn worker_key(id: &str) -> String {
    format!("stampede:worker:{id}")
}

/// A lease's state hash.
pub fn lease_key(lease: &str) -> String {
    format!("stampede:lease:{lease}")
}

/// A lease's event stream.
pub fn events_key(lease: &str) -> String {
    format!("stampede:lease:{lease}:events")
}

/// One segment to run, as queued in [`LEASES`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Lease {
    /// Unique per segment of a run (`{run}.{segment}.{nonce}`).
    pub id: String,
    /// The job, exactly as the orchestrator made it.
    pub job: SegmentJob,
    /// The most VUs the segment uses (what a worker's capacity must hold).
    pub vus: u64,
    /// The longest the segment runs, graceful stops included, in seconds
    /// (0: unbounded): a resumed segment is stopped at the common start
    /// plus this.
    pub max_duration_s: f64,
}

/// What a worker publishes in its heartbeat key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The worker's id.
    pub id: String,
    /// `idle`, `busy` or `draining`.
    pub state: String,
    /// VUs it accepts in all.
    pub capacity: u64,
    /// VUs of the segments it runs now.
    pub load: u64,
    /// Host CPU busy, in percent, over the last heartbeat period.
    pub cpu_percent: f64,
    /// Host memory in use, in bytes.
    pub memory_bytes: u64,
    /// Host memory in all, in bytes (0: not reported by an older worker).
    #[serde(default)]
    pub memory_total_bytes: u64,
    /// The leases it runs.
    pub leases: Vec<String>,
    /// When it was written (Unix milliseconds).
    pub at_ms: u64,
}

/// A control message on [`CONTROL_CHANNEL`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlMessage {
    /// The lease it is for.
    pub lease: String,
    /// What to do.
    pub control: Control,
}

/// The field of a lease's hash that keeps a control of this kind, so a
/// worker that missed the pub/sub message (or resumes the lease) still
/// sees it at its next heartbeat. One field per kind: a start, a summary,
/// a stop and an abort may all be pending for one lease.
pub fn control_field(c: &Control) -> &'static str {
    match c {
        Control::Start { .. } => "start",
        Control::Summary { .. } => "summary",
        Control::Scale { .. } => "scale",
        Control::Stop => "stop",
        Control::Abort => "abort",
    }
}

/// Every [`control_field`], in the order a heartbeat applies them.
pub const CONTROL_FIELDS: [&str; 5] = ["start", "summary", "scale", "stop", "abort"];

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Opens a Redis client for `url`, refusing TLS URLs (this build has no
/// TLS for Redis) with a clear message.
pub fn client(url: &str) -> Result<redis::Client, TransportError> {
    if url.starts_with("rediss://") {
        return Err(TransportError(
            "rediss:// (TLS) is not supported by this build; use redis:// on a private network"
                .into(),
        ));
    }
    redis::Client::open(url).map_err(|e| TransportError(format!("invalid Redis URL: {e}")))
}

/// A reconnecting connection with short timeouts: a dead Redis fails
/// commands within seconds instead of hanging them.
pub async fn connect(client: &redis::Client) -> Result<ConnectionManager, TransportError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(Duration::from_secs(2))
        .set_number_of_retries(2)
        .set_max_delay(500);
    ConnectionManager::new_with_config(client.clone(), config)
        .await
        .map_err(|e| TransportError(format!("cannot reach Redis: {e}")))
}

/// Delivers every message of pub/sub `channel` to `deliver` until it
/// returns `false`, reconnecting while Redis is away (what is published
/// meanwhile is missed: callers have another way to learn it).
pub async fn listen(
    client: &redis::Client,
    channel: &str,
    mut deliver: impl FnMut(String) -> bool,
) {
    use futures_util::StreamExt;
    loop {
        let ps = tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await;
        if let Ok(Ok(mut ps)) = ps {
            if ps.subscribe(channel).await.is_ok() {
                let mut stream = ps.on_message();
                while let Some(msg) = stream.next().await {
                    let Ok(text) = msg.get_payload::<String>() else {
                        continue;
                    };
                    if !deliver(text) {
                        return;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Creates the lease stream and its group if missing.
pub async fn ensure_group(conn: &mut ConnectionManager) -> redis::RedisResult<()> {
    let r: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(LEASES)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match r {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_kind_has_its_own_field() {
        let all = [
            Control::Start {
                at_unix_ms: 1,
                setup_data: None,
            },
            Control::Summary {
                data: serde_json::json!({"metrics": {}}),
            },
            Control::Scale { vus: 2 },
            Control::Stop,
            Control::Abort,
        ];
        let fields: Vec<_> = all.iter().map(control_field).collect();
        assert_eq!(fields, CONTROL_FIELDS);
        for c in all {
            assert_eq!(Control::from_line(&c.to_line()).unwrap(), c);
        }
    }

    #[test]
    fn tls_urls_are_refused_clearly() {
        let e = client("rediss://127.0.0.1:1").unwrap_err();
        assert!(e.0.contains("not supported"), "{e}");
        assert!(client("not a url").is_err());
        assert!(client("redis://127.0.0.1:6379").is_ok());
    }
}
