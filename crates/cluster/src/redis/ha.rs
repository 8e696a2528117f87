//! Several `stampede server` replicas over one Redis: the leader lease and
//! the run board the replicas share (issue 15, "Several servers").
//!
//! - [`LeaderLease`]: `stampede:leader` holds `{token}:{replica}` with a
//!   TTL (`SET … PX`), taken only when absent and renewed only by its
//!   holder — both in one Lua script each, so check and write are atomic
//!   in Redis. The token comes from `INCR stampede:leader:epoch`: every new
//!   leader gets a higher one, which the server announces to its store to
//!   fence off a stale leader's writes. A caller passes the store's
//!   current token as a floor, so a Redis restarted empty never hands out
//!   a token lower than one already announced.
//! - [`RunBoard`]: runs waiting for or held by the leader. Any replica
//!   queues a run it accepted (`stampede:runs`, the run's job in
//!   `stampede:run:{id}`); the leader supervises every run on the board and
//!   records the common start instant there, so a replica taking over
//!   rebuilds the run (the segments' leases, recorded per run by the
//!   transport, and their event streams) instead of starting it again.
//!   Stop and abort asked through any replica travel to the leader on
//!   `stampede:runs:control`.
//! - [`HUB_CHANNEL`]: the live messages every replica's WebSocket clients
//!   see, published by whoever produces them.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::{client, connect};
use crate::protocol::Control;
use crate::transport::TransportError;

/// The leader lease's key.
pub const LEADER_KEY: &str = "stampede:leader";
/// The counter fencing tokens come from.
pub const EPOCH_KEY: &str = "stampede:leader:epoch";
/// Run ids on the board.
pub const RUNS_KEY: &str = "stampede:runs";
/// Stop and abort for the leader, asked through any replica.
pub const RUN_CONTROL_CHANNEL: &str = "stampede:runs:control";
/// The live messages of every replica's hub.
pub const HUB_CHANNEL: &str = "stampede:hub";

/// A run's hash on the board: `job` (the queued run), `start_ms`.
pub fn run_key(run: &str) -> String {
    format!("stampede:run:{run}")
}

/// A run's segment leases: segment → lease id (and its stream entry).
pub fn run_leases_key(run: &str) -> String {
    format!("stampede:run:{run}:leases")
}

const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(ARGV[3])
if cur < floor then redis.call('SET', KEYS[2], floor) end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], t .. ':' .. ARGV[1], 'PX', ARGV[2])
return t
";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// One replica's side of the leader lease.
#[derive(Clone)]
pub struct LeaderLease {
    conn: ConnectionManager,
    replica: String,
    ttl: Duration,
}

fn err(e: redis::RedisError) -> TransportError {
    TransportError(format!("Redis: {e}"))
}

async fn eval(
    conn: &mut ConnectionManager,
    script: &str,
    keys: &[&str],
    args: &[String],
) -> Result<i64, TransportError> {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(keys.len());
    for k in keys {
        cmd.arg(*k);
    }
    for a in args {
        cmd.arg(a);
    }
    cmd.query_async(conn).await.map_err(err)
}

impl LeaderLease {
    /// The lease of replica `replica`, held for `ttl` per renewal.
    pub async fn connect(url: &str, replica: &str, ttl: Duration) -> Result<Self, TransportError> {
        let conn = connect(&client(url)?).await?;
        Ok(Self {
            conn,
            replica: replica.to_string(),
            ttl,
        })
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    fn value(&self, token: i64) -> String {
        format!("{token}:{}", self.replica)
    }

    /// Takes the lease if nobody holds it: its fencing token, above
    /// `floor` (the highest token already announced).
    pub async fn try_acquire(&self, floor: i64) -> Result<Option<i64>, TransportError> {
        let mut conn = self.conn.clone();
        let args = [
            self.replica.clone(),
            self.ttl.as_millis().to_string(),
            floor.to_string(),
        ];
        let t = eval(&mut conn, ACQUIRE, &[LEADER_KEY, EPOCH_KEY], &args).await?;
        Ok((t > 0).then_some(t))
    }

    /// Extends the lease held with `token`: `false` if it is not ours any
    /// more (it expired, and maybe another replica took it).
    pub async fn renew(&self, token: i64) -> Result<bool, TransportError> {
        let mut conn = self.conn.clone();
        let args = [self.value(token), self.ttl.as_millis().to_string()];
        Ok(eval(&mut conn, RENEW, &[LEADER_KEY], &args).await? == 1)
    }

    /// Gives the lease up (on shutdown), if still ours.
    pub async fn release(&self, token: i64) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        eval(&mut conn, RELEASE, &[LEADER_KEY], &[self.value(token)]).await?;
        Ok(())
    }

    /// Who holds the lease: `(token, replica)`.
    pub async fn holder(&self) -> Result<Option<(i64, String)>, TransportError> {
        let mut conn = self.conn.clone();
        let v: Option<String> = conn.get(LEADER_KEY).await.map_err(err)?;
        Ok(v.and_then(|v| {
            let (t, r) = v.split_once(':')?;
            Some((t.parse().ok()?, r.to_string()))
        }))
    }
}

/// A run queued on the board: what the leader needs to supervise it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueuedRun {
    /// The run's whole job (before it is split).
    pub job: crate::protocol::SegmentJob,
    /// Segments to split it into.
    pub workers: usize,
    /// The thresholds and summary settings of its validation.
    pub settings: crate::protocol::SummarySettings,
}

/// A stop or abort for the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunControl {
    /// The run id.
    pub run: String,
    /// Stop or abort.
    pub control: Control,
}

/// The runs the replicas share.
#[derive(Clone)]
pub struct RunBoard {
    client: redis::Client,
    conn: ConnectionManager,
}

impl RunBoard {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Result<Self, TransportError> {
        let client = client(url)?;
        let conn = connect(&client).await?;
        Ok(Self { client, conn })
    }

    /// Queues run `run` for the leader.
    pub async fn enqueue(&self, run: &str, queued: &QueuedRun) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        let body = serde_json::to_string(queued).map_err(|e| TransportError(e.to_string()))?;
        redis::pipe()
            .hset(run_key(run), "job", body)
            .sadd(RUNS_KEY, run)
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }

    /// The runs on the board.
    pub async fn runs(&self) -> Result<Vec<String>, TransportError> {
        let mut conn = self.conn.clone();
        conn.smembers(RUNS_KEY).await.map_err(err)
    }

    /// A run's job and, once started, its common start (Unix ms).
    pub async fn run(&self, run: &str) -> Result<Option<(QueuedRun, Option<u64>)>, TransportError> {
        let mut conn = self.conn.clone();
        let (job, start): (Option<String>, Option<u64>) = redis::pipe()
            .hget(run_key(run), "job")
            .hget(run_key(run), "start_ms")
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        let Some(job) = job else { return Ok(None) };
        let q = serde_json::from_str(&job)
            .map_err(|e| TransportError(format!("run {run}'s queued job is unreadable: {e}")))?;
        Ok(Some((q, start)))
    }

    /// Records run `run`'s common start instant.
    pub async fn set_start(&self, run: &str, at_ms: u64) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        conn.hset(run_key(run), "start_ms", at_ms)
            .await
            .map_err(err)
    }

    /// Takes an ended run off the board (its keys expire in an hour).
    pub async fn finish(&self, run: &str) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .srem(RUNS_KEY, run)
            .expire(run_key(run), 3600)
            .expire(run_leases_key(run), 3600)
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)
    }

    /// Publishes a stop or abort for the leader.
    pub async fn send_control(&self, run: &str, control: Control) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        let msg = serde_json::to_string(&RunControl {
            run: run.to_string(),
            control,
        })
        .map_err(|e| TransportError(e.to_string()))?;
        conn.publish(RUN_CONTROL_CHANNEL, msg).await.map_err(err)
    }

    /// Publishes a live message for every replica's hub.
    pub async fn publish_hub(&self, text: &str) -> Result<(), TransportError> {
        let mut conn = self.conn.clone();
        conn.publish(HUB_CHANNEL, text).await.map_err(err)
    }

    /// Delivers every message of `channel` to `deliver` until it returns
    /// `false`, reconnecting while Redis is away.
    pub async fn listen(&self, channel: &str, deliver: impl FnMut(String) -> bool) {
        super::listen(&self.client, channel, deliver).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_per_run() {
        assert_eq!(run_key("7"), "stampede:run:7");
        assert_eq!(run_leases_key("7"), "stampede:run:7:leases");
        let c = RunControl {
            run: "7".into(),
            control: Control::Stop,
        };
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<RunControl>(&text).unwrap(), c);
    }
}
