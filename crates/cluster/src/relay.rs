//! The chaos relay over Redis (issue 18): a pipeline stage's chaos agent
//! listens on the server's loopback, and a `stampede worker` on another
//! host talks only to Redis. So for a run whose job says
//! [`SegmentJob::chaos_relay`](crate::SegmentJob::chaos_relay), the worker
//! gives the script a loopback [`Front`] (`stampede_chaos::relay`) as
//! `CHAOS_AGENT` whose calls travel through Redis ([`worker_front`]), and
//! the process that owns the agent answers them ([`AgentRelay`]).
//!
//! Everything is scoped to one run; the keys are built here only:
//!
//! - `stampede:run:{run}:chaos:agent`: present (TTL 3 s, refreshed every
//!   second) while an agent serves the run's calls; a call finding none
//!   within a short grace gets a 503 saying so, at once, instead of a
//!   timeout.
//! - `stampede:run:{run}:chaos:req`: a list of [`Envelope`]s (a call, its
//!   id and the instant the caller gives up); the server pops them with
//!   `BLPOP` on a connection of its own, drops expired ones, checks each
//!   again and forwards it to its own agent only.
//! - `stampede:run:{run}:chaos:reply:{id}`: the reply, one list element
//!   with a short TTL, popped by the waiting caller.
//!
//! Lists rather than streams: each call is consumed once and the replies
//! are per call, so nothing needs a consumer group or trimming.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use stampede_chaos::relay::{to_agent, Forwarder, Front, RelayCall, RelayReply, MAX_BODY};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::redis::{connect, now_ms};
use crate::transport::TransportError;

/// How long a script's call waits for the agent's answer (under the
/// `stampede/chaos` module's own 30 s).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a call waits for an agent to serve the run at all: the
/// server starts serving right after it starts the run, so a segment's
/// first call may come a little earlier.
pub const PRESENCE_GRACE: Duration = Duration::from_secs(5);
/// The presence key's life; refreshed every second.
const PRESENCE_TTL_S: u64 = 3;
/// Requests nobody serves vanish after this.
const REQUESTS_TTL_S: i64 = 60;
/// Replies nobody pops vanish after this.
const REPLY_TTL_S: i64 = 30;
/// Calls of one run forwarded at once; more get a 503.
const CONCURRENT_CALLS: usize = 16;
/// The largest envelope read from Redis (a body of [`MAX_BODY`] escaped).
const MAX_ENVELOPE: usize = 2 * MAX_BODY + 4096;

/// The key whose presence says an agent serves `run`'s calls.
pub fn presence_key(run: &str) -> String {
    format!("stampede:run:{run}:chaos:agent")
}

/// The list of `run`'s pending calls.
pub fn requests_key(run: &str) -> String {
    format!("stampede:run:{run}:chaos:req")
}

/// Where the reply to call `id` of `run` goes.
pub fn reply_key(run: &str, id: &str) -> String {
    format!("stampede:run:{run}:chaos:reply:{id}")
}

/// One relayed call as queued in [`requests_key`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Unique per call: names its reply key.
    pub id: String,
    /// Unix milliseconds after which the caller no longer waits (the
    /// call is then dropped unanswered, never applied late).
    pub deadline_ms: u64,
    /// The call.
    pub call: RelayCall,
}

impl Envelope {
    /// Reads an envelope from Redis, refusing oversized or malformed ones
    /// and ids that could name another key.
    pub fn parse(text: &str) -> Result<Envelope, String> {
        if text.len() > MAX_ENVELOPE {
            return Err(format!(
                "a relayed call of {} bytes is too large",
                text.len()
            ));
        }
        let e: Envelope =
            serde_json::from_str(text).map_err(|e| format!("a malformed relayed call: {e}"))?;
        let id_ok = (1..=64).contains(&e.id.len())
            && e.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err("a relayed call with an invalid id".into());
        }
        Ok(e)
    }
}

/// Serves one run's relayed calls with the agent whose API listens at a
/// loopback address of this host, until stopped (or dropped).
pub struct AgentRelay {
    run: String,
    client: redis::Client,
    task: JoinHandle<()>,
}

impl AgentRelay {
    /// Starts serving `run`'s calls through the Redis at `url` with the
    /// agent at `agent` (`host:port`).
    pub fn spawn(url: &str, run: &str, agent: &str) -> Result<AgentRelay, TransportError> {
        let client = crate::redis::client(url)?;
        let task = tokio::spawn(serve(client.clone(), run.to_string(), agent.to_string()));
        Ok(AgentRelay {
            run: run.to_string(),
            client,
            task,
        })
    }

    /// Stops serving and removes the run's keys: a later call gets "no
    /// agent" at once.
    pub async fn stop(self) {
        self.task.abort();
        let run = self.run.clone();
        if let Ok(Ok(mut c)) =
            tokio::time::timeout(Duration::from_secs(3), connect(&self.client)).await
        {
            let _: redis::RedisResult<()> = redis::pipe()
                .del(presence_key(&run))
                .del(requests_key(&run))
                .query_async(&mut c)
                .await;
        }
        tracing::info!(run = %run, "chaos relay stopped");
    }
}

impl Drop for AgentRelay {
    fn drop(&mut self) {
        // Stopped without `stop`: the presence key lapses within its TTL.
        self.task.abort();
    }
}

/// The serving loop: presence, pop, forward, reply.
async fn serve(client: redis::Client, run: String, agent: String) {
    let (mut blocking, conn) = loop {
        // One connection blocks in BLPOP; the other sends replies.
        match (connect(&client).await, connect(&client).await) {
            (Ok(b), Ok(c)) => break (b, c),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(run = %run, error = %e, "chaos relay: waiting for Redis");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    tracing::info!(run = %run, "chaos relay: serving the run's agent calls");
    let presence = presence_key(&run);
    let requests = requests_key(&run);
    let slots = Arc::new(Semaphore::new(CONCURRENT_CALLS));
    loop {
        let _: redis::RedisResult<()> = blocking.set_ex(&presence, 1, PRESENCE_TTL_S).await;
        let popped: redis::RedisResult<Option<(String, String)>> =
            blocking.blpop(&requests, 1.0).await;
        let text = match popped {
            Ok(Some((_, text))) => text,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(run = %run, error = %e, "chaos relay: cannot read calls");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let env = match Envelope::parse(&text) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(run = %run, "chaos relay: dropped {e}");
                continue;
            }
        };
        if now_ms() > env.deadline_ms {
            tracing::warn!(run = %run, method = %env.call.method, path = %env.call.path,
                "chaos relay: dropped a call its caller gave up on");
            continue;
        }
        let mut conn = conn.clone();
        let (agent, run) = (agent.clone(), run.clone());
        let slot = slots.clone().try_acquire_owned();
        tokio::spawn(async move {
            let reply = match slot {
                Ok(_slot) => to_agent(&agent, &env.call).await,
                Err(_) => RelayReply::error(503, "too many chaos agent calls at once"),
            };
            // Method, path and status only: bodies may name anything.
            tracing::info!(run = %run, method = %env.call.method, path = %env.call.path,
                status = reply.status, "chaos relay: call answered");
            let key = reply_key(&run, &env.id);
            let text = serde_json::to_string(&reply).expect("replies serialize");
            if let Err(e) = push(&mut conn, &key, text, REPLY_TTL_S).await {
                tracing::warn!(run = %run, error = %e, "chaos relay: cannot send a reply");
            }
        });
    }
}

/// Appends `text` to the list `key`, which lives `ttl_s` more seconds.
async fn push(
    conn: &mut ConnectionManager,
    key: &str,
    text: String,
    ttl_s: i64,
) -> redis::RedisResult<()> {
    redis::pipe()
        .rpush(key, text)
        .ignore()
        .expire(key, ttl_s)
        .ignore()
        .query_async(conn)
        .await
}

/// The worker's end of one run's relay: a loopback [`Front`] whose calls
/// go through Redis to whoever serves the run's agent. It stops when
/// dropped (with the segment).
pub struct WorkerRelay {
    front: Front,
    run: String,
}

impl WorkerRelay {
    /// Starts the relay for `run` on an ephemeral loopback port.
    pub async fn start(client: redis::Client, run: &str) -> Result<WorkerRelay, TransportError> {
        let conn = connect(&client).await?;
        let for_calls = run.to_string();
        let forward: Forwarder = Arc::new(move |call| {
            let (client, conn, run) = (client.clone(), conn.clone(), for_calls.clone());
            Box::pin(async move {
                let (method, path) = (call.method.clone(), call.path.clone());
                let reply = relay_call(&client, conn, &run, call).await;
                // Method, path and status only: bodies may name anything.
                tracing::info!(run = %run, %method, %path, status = reply.status, "chaos relay call");
                reply
            })
        });
        let front = Front::start(forward).await.map_err(|e| {
            TransportError(format!("the chaos relay cannot listen on loopback: {e}"))
        })?;
        tracing::info!(run = %run, addr = %front.addr(), "chaos relay for the run's agent listens");
        Ok(WorkerRelay {
            front,
            run: run.to_string(),
        })
    }

    /// Where it listens: the script's `CHAOS_AGENT`.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.front.addr()
    }
}

impl Drop for WorkerRelay {
    fn drop(&mut self) {
        tracing::info!(run = %self.run, calls = self.front.calls(), "chaos relay closed");
    }
}

/// Sends one call through Redis and waits for its reply.
async fn relay_call(
    client: &redis::Client,
    mut conn: ConnectionManager,
    run: &str,
    call: RelayCall,
) -> RelayReply {
    let redis_err = |e: redis::RedisError| {
        RelayReply::error(502, format!("the chaos relay cannot reach Redis: {e}"))
    };
    let presence = presence_key(run);
    let grace = tokio::time::Instant::now() + PRESENCE_GRACE;
    loop {
        match conn.exists::<_, bool>(&presence).await {
            Ok(true) => break,
            Ok(false) if tokio::time::Instant::now() < grace => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(false) => {
                return RelayReply::error(
                    503,
                    format!(
                        "no chaos agent serves run {run} through the relay: the pipeline \
                         stage that owns it is not running (or the run is over)"
                    ),
                )
            }
            Err(e) => return redis_err(e),
        }
    }
    let id = format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let deadline = tokio::time::Instant::now() + CALL_TIMEOUT;
    let env = Envelope {
        id: id.clone(),
        deadline_ms: now_ms() + CALL_TIMEOUT.as_millis() as u64,
        call,
    };
    let text = serde_json::to_string(&env).expect("envelopes serialize");
    let key = requests_key(run);
    if let Err(e) = push(&mut conn, &key, text, REQUESTS_TTL_S).await {
        return redis_err(e);
    }
    // BLPOP blocks its connection: one of its own for this wait.
    let mut waiting = match connect(client).await {
        Ok(c) => c,
        Err(e) => return RelayReply::error(502, e.0),
    };
    let reply = reply_key(run, &id);
    while tokio::time::Instant::now() < deadline {
        let popped: redis::RedisResult<Option<(String, String)>> = waiting.blpop(&reply, 1.0).await;
        match popped {
            Ok(Some((_, text))) => {
                return serde_json::from_str(&text).unwrap_or_else(|e| {
                    RelayReply::error(502, format!("a malformed relay reply: {e}"))
                })
            }
            Ok(None) => {}
            Err(e) => return redis_err(e),
        }
    }
    RelayReply::error(
        504,
        format!(
            "the chaos agent of run {run} did not answer through the relay within {}s",
            CALL_TIMEOUT.as_secs()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_and_bad_ones_are_refused() {
        let env = Envelope {
            id: "00ff".into(),
            deadline_ms: 12,
            call: RelayCall {
                method: "POST".into(),
                path: "/api/v1/restore".into(),
                body: String::new(),
            },
        };
        let text = serde_json::to_string(&env).unwrap();
        assert_eq!(Envelope::parse(&text).unwrap(), env);
        assert!(Envelope::parse("{").unwrap_err().contains("malformed"));
        let bad_id = text.replace("00ff", "x:1");
        assert!(Envelope::parse(&bad_id).unwrap_err().contains("invalid id"));
        let extra = text.replacen('{', r#"{"agent":"10.0.0.1:80","#, 1);
        assert!(Envelope::parse(&extra).is_err());
        let huge = "x".repeat(MAX_ENVELOPE + 1);
        assert!(Envelope::parse(&huge).unwrap_err().contains("too large"));
    }

    #[test]
    fn jobs_carry_the_relay_flag_only_when_set() {
        let old = r#"{"run_id":"r","entry":"s.js","files":{}}"#;
        let mut job: crate::SegmentJob = serde_json::from_str(old).unwrap();
        assert!(!job.chaos_relay);
        assert!(!serde_json::to_string(&job).unwrap().contains("chaos_relay"));
        job.chaos_relay = true;
        let text = serde_json::to_string(&job).unwrap();
        let back: crate::SegmentJob = serde_json::from_str(&text).unwrap();
        assert!(back.chaos_relay);
    }

    #[test]
    fn keys_are_scoped_to_the_run() {
        assert_eq!(presence_key("7"), "stampede:run:7:chaos:agent");
        assert_eq!(requests_key("7"), "stampede:run:7:chaos:req");
        assert_eq!(reply_key("7", "ab"), "stampede:run:7:chaos:reply:ab");
    }
}
