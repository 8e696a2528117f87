//! The server side of the Redis transport: [`RedisTransport`] queues one
//! lease per segment and turns the segment's event stream back into the
//! [`SegmentHandle`] the orchestrator expects.
//!
//! One task per segment polls the lease's event stream (short
//! non-blocking reads, so one multiplexed connection serves every run),
//! drops a repeated interval index (a redelivered or resumed segment never
//! counts twice), forwards stop and abort (pub/sub and the lease's hash),
//! and watches the owner's heartbeat. A lost owner is noted with the
//! interval it stopped at; when another worker takes the lease over the
//! note is kept in the result, and when none does within the grace period
//! the segment ends as degraded with the gap recorded — a run never waits
//! for a worker that is gone, nor for Redis forever. Validation
//! (`validate_only`) runs in a local child process: it only loads the
//! script, and the server must answer it even with no worker online.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use serde_json::json;
use tokio::sync::mpsc;

use super::ha::run_leases_key;
use super::{
    connect, control_field, ensure_group, events_key, lease_key, now_ms, worker_key,
    ControlMessage, Heartbeat, Lease, CONTROL_CHANNEL, GROUP, LEASES, LEASE_KEY_TTL, WORKERS,
};
use crate::protocol::{Control, Gap, SegmentEvent, SegmentJob};
use crate::transport::{
    Fleet, FleetFuture, LocalTransport, SegmentHandle, Transport, TransportError,
};

/// Timings of the server side.
#[derive(Clone, Debug)]
pub struct RedisTransportConfig {
    /// A segment no worker has started within this ends as failed.
    pub claim_timeout: Duration,
    /// A segment whose owner is lost and that no other worker resumes
    /// within this ends as degraded.
    pub lost_grace: Duration,
    /// Redis unreachable this long ends a segment as failed.
    pub redis_timeout: Duration,
    /// How often the event streams are polled.
    pub poll: Duration,
}

impl Default for RedisTransportConfig {
    fn default() -> Self {
        Self {
            claim_timeout: Duration::from_secs(120),
            lost_grace: Duration::from_secs(10),
            redis_timeout: Duration::from_secs(60),
            poll: Duration::from_millis(200),
        }
    }
}

/// Hands segments to `stampede worker`s through Redis.
#[derive(Clone)]
pub struct RedisTransport {
    conn: ConnectionManager,
    local: LocalTransport,
    config: Arc<RedisTransportConfig>,
}

/// Events buffered per segment before the poller waits for the consumer.
const EVENT_BUFFER: usize = 256;
/// Entries read from an event stream per poll.
const READ_COUNT: usize = 200;

impl RedisTransport {
    /// Connects to `url`; `local` runs validations.
    pub async fn connect(
        url: &str,
        local: LocalTransport,
        config: RedisTransportConfig,
    ) -> Result<Self, TransportError> {
        let client = super::client(url)?;
        let mut conn = connect(&client).await?;
        ensure_group(&mut conn)
            .await
            .map_err(|e| TransportError(format!("cannot create the lease group: {e}")))?;
        Ok(Self {
            conn,
            local,
            config: Arc::new(config),
        })
    }

    /// The live workers (stale ids are pruned) and the queue depth.
    pub async fn fleet_now(&self) -> Result<Fleet, TransportError> {
        let mut conn = self.conn.clone();
        let err = |e: redis::RedisError| TransportError(format!("Redis: {e}"));
        let ids: Vec<String> = conn.smembers(WORKERS).await.map_err(err)?;
        let mut workers = Vec::new();
        let now = now_ms();
        for id in ids {
            let beat: Option<String> = conn.get(worker_key(&id)).await.map_err(err)?;
            match beat.and_then(|b| serde_json::from_str::<Heartbeat>(&b).ok()) {
                Some(b) => workers.push(json!({
                    "id": b.id,
                    "transport": "redis",
                    "state": b.state,
                    "capacity": b.capacity,
                    "load": b.load,
                    "cpu_percent": b.cpu_percent,
                    "memory_bytes": b.memory_bytes,
                    "memory_total_bytes": b.memory_total_bytes,
                    "leases": b.leases,
                    "heartbeat_age_ms": now.saturating_sub(b.at_ms),
                })),
                None => {
                    let _: redis::RedisResult<()> = conn.srem(WORKERS, &id).await;
                }
            }
        }
        let len: u64 = conn.xlen(LEASES).await.map_err(err)?;
        let pending: redis::Value = redis::cmd("XPENDING")
            .arg(LEASES)
            .arg(GROUP)
            .query_async(&mut conn)
            .await
            .map_err(err)?;
        let pending = match pending {
            redis::Value::Array(v) => match v.first() {
                Some(redis::Value::Int(n)) => *n as u64,
                _ => 0,
            },
            _ => 0,
        };
        Ok(Fleet {
            workers,
            queue_depth: len.saturating_sub(pending),
        })
    }
}

impl Transport for RedisTransport {
    fn start(&self, job: SegmentJob) -> Result<SegmentHandle, TransportError> {
        if job.validate_only {
            return self.local.start(job);
        }
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_BUFFER);
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let me = self.clone();
        tokio::spawn(async move {
            let ended = me.supervise(job, &ev_tx, ctl_rx).await;
            if let Err(message) = ended {
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
        "redis"
    }

    fn fleet(&self) -> Option<FleetFuture<'_>> {
        Some(Box::pin(self.fleet_now()))
    }
}

/// What the supervisor knows of the worker running a segment.
#[derive(Default)]
struct Watch {
    segment: Option<String>,
    owner: Option<String>,
    lost: Option<Instant>,
    /// Every loss, the last one possibly still open.
    gaps: Vec<Gap>,
    last_index: Option<u64>,
    redis_down_since: Option<Instant>,
    /// The gaps as last reported to the controller.
    reported: Vec<Gap>,
}

impl Watch {
    /// Records that `who` stopped running the segment.
    fn note_lost(&mut self, who: &str) {
        self.gaps.push(Gap {
            segment: self.segment.clone(),
            worker: who.to_string(),
            from_s: self.last_index.map_or(0, |i| i + 1),
            to_s: None,
            resumed_by: None,
        });
        self.lost = Some(Instant::now());
    }

    /// Records that `who` resumed the segment.
    fn note_resumed(&mut self, who: &str) {
        if let Some(g) = self.gaps.last_mut() {
            g.resumed_by = Some(who.to_string());
        }
        self.lost = None;
    }

    /// The resumed gaps the controller has not heard of as they are now
    /// (an open loss is not reported: it may still turn out to be a blip
    /// of Redis; a degraded one goes with the segment's end).
    fn unreported(&mut self) -> Vec<Gap> {
        let fresh: Vec<Gap> = self
            .gaps
            .iter()
            .filter(|g| g.resumed_by.is_some() && !self.reported.contains(g))
            .cloned()
            .collect();
        self.reported.extend(fresh.iter().cloned());
        fresh
    }

    /// Records a new interval: the first after a resume closes the gap.
    fn interval(&mut self, index: u64) {
        self.last_index = self.last_index.max(Some(index));
        if let Some(g) = self.gaps.last_mut() {
            if g.resumed_by.is_some() && g.to_s.is_none() && index >= g.from_s {
                g.to_s = Some(index);
            }
        }
    }
}

impl RedisTransport {
    /// Sizes the segment with a local validation (its VUs and longest
    /// duration go into the lease).
    async fn size(&self, job: &SegmentJob) -> Result<(u64, f64), String> {
        let mut probe = job.clone();
        probe.validate_only = true;
        let mut handle = self.local.start(probe).map_err(|e| e.to_string())?;
        let first = tokio::time::timeout(Duration::from_secs(60), handle.events.recv()).await;
        let _ = handle.control.send(Control::Abort);
        match first {
            Ok(Some(SegmentEvent::Loaded {
                max_vus,
                max_duration_s,
                ..
            })) => Ok((max_vus, max_duration_s)),
            Ok(Some(SegmentEvent::Failed { message, .. })) => Err(message),
            Ok(_) => Err("the segment could not be sized".into()),
            Err(_) => Err("the script's init code did not finish within 60s".into()),
        }
    }

    /// Queues the lease — or, when a previous leader already queued this
    /// segment of the run, follows that lease (`ha.rs`) — and relays its
    /// events until the segment ends. `Err` is the failure to report.
    async fn supervise(
        &self,
        job: SegmentJob,
        events: &mpsc::Sender<SegmentEvent>,
        controls: mpsc::UnboundedReceiver<Control>,
    ) -> Result<(), String> {
        let named = job.segment.clone();
        let segment = named.clone().unwrap_or_else(|| "0:1".into());
        let leases_key = run_leases_key(&job.run_id);
        let mut conn = self.conn.clone();
        let known: Option<String> = conn
            .hget(&leases_key, &segment)
            .await
            .map_err(|e| format!("cannot read the run's leases in Redis: {e}"))?;
        let (lease, entry) = match known {
            Some(lease) => {
                tracing::info!(%lease, "following a segment a previous leader queued");
                (lease, None)
            }
            None => {
                let (lease, entry) = self.queue(job, &segment).await?;
                (lease, Some(entry))
            }
        };
        let watch = Watch {
            segment: named,
            ..Watch::default()
        };
        self.follow(
            &lease,
            entry,
            &(leases_key, segment),
            watch,
            events,
            controls,
        )
        .await
    }

    /// Sizes and queues the segment's lease, recorded under the run in the
    /// same transaction (a leader taking over follows it instead of
    /// queueing it again): its id and stream entry.
    async fn queue(&self, job: SegmentJob, segment: &str) -> Result<(String, String), String> {
        let (vus, max_duration_s) = self.size(&job).await?;
        let lease = Lease {
            id: format!(
                "{}.{}.{:08x}",
                job.run_id,
                job.segment.as_deref().unwrap_or("0:1").replace('/', "_"),
                rand::random::<u32>()
            ),
            job,
            vus,
            max_duration_s,
        };
        let mut conn = self.conn.clone();
        let body = serde_json::to_string(&lease).map_err(|e| e.to_string())?;
        let lkey = lease_key(&lease.id);
        let _: () = redis::pipe()
            .hset(&lkey, "queued_ms", now_ms())
            .expire(&lkey, LEASE_KEY_TTL.as_secs() as i64)
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("cannot queue the segment in Redis: {e}"))?;
        let runs_key = run_leases_key(&lease.job.run_id);
        let (entry,): (String,) = redis::pipe()
            .atomic()
            .xadd(LEASES, "*", &[("lease", body.as_str())])
            .hset(&runs_key, segment, &lease.id)
            .ignore()
            .expire(&runs_key, LEASE_KEY_TTL.as_secs() as i64)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| format!("cannot queue the segment in Redis: {e}"))?;
        tracing::info!(lease = %lease.id, vus, "segment queued for the workers");
        Ok((lease.id, entry))
    }

    /// Relays lease `lease`'s events from its first one (its stream is
    /// kept whole while it runs, so a leader taking over replays it all;
    /// the merge drops what it already has) until the segment ends. Every
    /// second it records the lease under its run again (`record`: the
    /// run's leases key and the segment), so a Redis restarted empty still
    /// tells a leader taking over which lease to follow. `watch` starts
    /// with the segment's name, for the gaps it records.
    async fn follow(
        &self,
        lease: &str,
        entry: Option<String>,
        record: &(String, String),
        mut watch: Watch,
        events: &mpsc::Sender<SegmentEvent>,
        mut controls: mpsc::UnboundedReceiver<Control>,
    ) -> Result<(), String> {
        let mut conn = self.conn.clone();
        let ekey = events_key(lease);
        let queued = Instant::now();
        let mut last_id = "0-0".to_string();
        let mut seen = BTreeSet::new();
        let (mut loaded, mut started) = (false, false);
        // A followed lease's losses are judged once its stream is replayed
        // (a loss is recorded from the last interval seen, as the previous
        // leader recorded it), or after a while if the replay is stuck.
        let mut replayed = entry.is_some();
        let mut poll = tokio::time::interval(self.config.poll);
        let mut check = tokio::time::interval(Duration::from_secs(1));
        let result = loop {
            tokio::select! {
                c = controls.recv() => {
                    let c = c.unwrap_or(Control::Abort);
                    let abort = c == Control::Abort;
                    self.send_control(lease, c).await;
                    if abort {
                        break Ok(());
                    }
                }
                _ = check.tick() => {
                    let _: redis::RedisResult<()> = redis::pipe()
                        .hset(&record.0, &record.1, lease)
                        .expire(&record.0, LEASE_KEY_TTL.as_secs() as i64)
                        .query_async(&mut conn)
                        .await;
                    if !replayed && queued.elapsed() < REPLAY_WAIT {
                        continue;
                    }
                    let verdict = self.check_owner(lease, queued, &mut watch).await;
                    if !report_gaps(&mut watch, events).await {
                        break Ok(());
                    }
                    match verdict {
                        Some(Ended::Failed(why)) => break Err(why),
                        Some(Ended::Degraded) => {
                            // The run goes on without this segment: it
                            // ends here, with the gap on record.
                            let _ = events.send(SegmentEvent::Finished {
                                exit_code: 0,
                                error: None,
                                summary_text: String::new(),
                                summary: serde_json::Value::Null,
                                handle_summary: false,
                                setup_data: None,
                                duration_s: 0.0,
                                faults: std::mem::take(&mut watch.gaps),
                            }).await;
                            break Ok(());
                        }
                        None => {}
                    }
                }
                _ = poll.tick() => {
                    let read: redis::RedisResult<redis::streams::StreamReadReply> = conn
                        .xread_options(&[&ekey], &[&last_id], &redis::streams::StreamReadOptions::default().count(READ_COUNT))
                        .await;
                    let Ok(read) = read else { continue };
                    let read_count: usize = read.keys.iter().map(|k| k.ids.len()).sum();
                    replayed |= read_count < READ_COUNT;
                    let mut end = None;
                    for key in read.keys {
                        for entry in key.ids {
                            last_id = entry.id.clone();
                            let Some(text) = entry.get::<String>("ev") else { continue };
                            let ev = match SegmentEvent::from_line(&text) {
                                Ok(ev) => ev,
                                Err(e) => { tracing::warn!(lease = %lease, "{e}"); continue }
                            };
                            let ev = match ev {
                                SegmentEvent::Loaded { .. } if std::mem::replace(&mut loaded, true) => continue,
                                SegmentEvent::Started if std::mem::replace(&mut started, true) => continue,
                                SegmentEvent::Interval { index, .. } => {
                                    if !seen.insert(index) { continue }
                                    watch.interval(index);
                                    ev
                                }
                                SegmentEvent::Finished { error, exit_code, summary_text, summary, handle_summary, setup_data, duration_s, mut faults } => {
                                    faults.append(&mut watch.gaps);
                                    end = Some(SegmentEvent::Finished { exit_code, error, summary_text, summary, handle_summary, setup_data, duration_s, faults });
                                    break;
                                }
                                SegmentEvent::Failed { .. } => { end = Some(ev); break }
                                ev => ev,
                            };
                            if events.send(ev).await.is_err() {
                                break;
                            }
                        }
                    }
                    if let Some(ev) = end {
                        let _ = events.send(ev).await;
                        break Ok(());
                    }
                    if !report_gaps(&mut watch, events).await {
                        break Ok(());
                    }
                }
            }
        };
        self.retire(lease, entry.as_deref()).await;
        result
    }

    /// Sends a control: in the lease's hash (seen at the next heartbeat,
    /// also by a worker that resumes the lease) and on the control channel
    /// (seen at once).
    async fn send_control(&self, lease: &str, c: Control) {
        let mut conn = self.conn.clone();
        let field = control_field(&c);
        let line = c.to_line();
        let msg = serde_json::to_string(&ControlMessage {
            lease: lease.to_string(),
            control: c,
        })
        .expect("control messages serialize");
        let r: redis::RedisResult<()> = redis::pipe()
            .hset(lease_key(lease), field, line)
            .publish(CONTROL_CHANNEL, msg)
            .query_async(&mut conn)
            .await;
        if let Err(e) = r {
            tracing::warn!(lease, error = %e, "cannot send the control to the workers");
        }
    }

    /// Checks the lease's owner; `Some` is why the segment must end now.
    async fn check_owner(&self, lease: &str, queued: Instant, w: &mut Watch) -> Option<Ended> {
        let mut conn = self.conn.clone();
        let owner: redis::RedisResult<Option<String>> = conn.hget(lease_key(lease), "owner").await;
        let owner = match owner {
            Ok(o) => {
                w.redis_down_since = None;
                o
            }
            Err(e) => {
                let since = *w.redis_down_since.get_or_insert_with(Instant::now);
                tracing::warn!(lease, error = %e, "Redis is unreachable");
                if since.elapsed() > self.config.redis_timeout {
                    return Some(Ended::Failed(format!(
                        "Redis was unreachable for {}s: the segment's results are lost",
                        self.config.redis_timeout.as_secs()
                    )));
                }
                return None;
            }
        };
        let alive = match &owner {
            Some(o) => conn.exists(worker_key(o)).await.unwrap_or(true),
            None => false,
        };
        match (owner, w.owner.clone()) {
            // Never taken yet.
            (None, None) => {
                return (queued.elapsed() > self.config.claim_timeout).then(|| {
                    Ended::Failed(format!(
                        "no worker with enough capacity took the segment within {}s",
                        self.config.claim_timeout.as_secs()
                    ))
                })
            }
            (Some(owner), prev) if alive => {
                if prev.as_deref() == Some(owner.as_str()) && w.lost.is_some() {
                    // Back after a blip (a Redis restart emptied the hash).
                    w.gaps.pop();
                }
                if let Some(prev) = prev.filter(|p| *p != owner) {
                    // Taken over, maybe before its loss was seen here.
                    if w.lost.is_none() {
                        w.note_lost(&prev);
                    }
                    w.note_resumed(&owner);
                    tracing::warn!(lease, %owner, "the segment was resumed");
                }
                w.lost = None;
                w.owner = Some(owner);
                return None;
            }
            // The owner's heartbeat expired, or it handed the lease back.
            (owner, prev) => {
                if w.lost.is_none() {
                    let who = owner.or(prev).unwrap_or_default();
                    tracing::warn!(lease, owner = %who, "a worker was lost");
                    w.note_lost(&who);
                    w.owner = Some(who);
                }
            }
        }
        match &w.lost {
            Some(since) if since.elapsed() > self.config.lost_grace => {
                tracing::warn!(
                    lease,
                    "no worker resumed the segment: the run goes on without it"
                );
                Some(Ended::Degraded)
            }
            _ => None,
        }
    }

    /// Takes the lease out of the queue and lets its keys expire.
    async fn retire(&self, lease: &str, entry: Option<&str>) {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.hset(lease_key(lease), "done", 1)
            .expire(lease_key(lease), 3600)
            .expire(events_key(lease), 60);
        // A followed lease's entry is unknown here: its worker acks it.
        if let Some(entry) = entry {
            pipe.xack(LEASES, GROUP, &[entry]).xdel(LEASES, &[entry]);
        }
        let r: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        if let Err(e) = r {
            tracing::warn!(lease, error = %e, "cannot retire the lease");
        }
    }
}

/// A followed lease's owner is judged after this even if its event stream
/// could not be replayed.
const REPLAY_WAIT: Duration = Duration::from_secs(5);

/// Sends the controller the gaps it has not seen as they are; `false`
/// when it is gone.
async fn report_gaps(watch: &mut Watch, events: &mpsc::Sender<SegmentEvent>) -> bool {
    for gap in watch.unreported() {
        if events.send(SegmentEvent::Fault { gap }).await.is_err() {
            return false;
        }
    }
    true
}

/// Why the supervisor ends a segment on its own.
enum Ended {
    /// The segment's results are lost: the run fails.
    Failed(String),
    /// Its worker is gone and no other resumed it: the run goes on
    /// without it.
    Degraded,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_resumes_and_gaps_are_recorded() {
        let mut w = Watch {
            segment: Some("1/2:1".into()),
            ..Watch::default()
        };
        for i in 0..=4 {
            w.interval(i);
        }
        w.note_lost("wa");
        assert!(w.unreported().is_empty(), "an open loss may be a blip");
        w.note_resumed("wb");
        let first = w.unreported();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].resumed_by.as_deref(), Some("wb"));
        assert_eq!(first[0].to_s, None);
        assert!(w.unreported().is_empty(), "reported once");
        w.interval(9);
        assert_eq!(w.unreported()[0].to_s, Some(9), "completed: again");
        w.interval(10);
        assert!(w.unreported().is_empty());
        assert_eq!(
            w.gaps,
            vec![Gap {
                segment: Some("1/2:1".into()),
                worker: "wa".into(),
                from_s: 5,
                to_s: Some(9),
                resumed_by: Some("wb".into()),
            }]
        );
        assert!(!w.gaps[0].degrades());
        let text = w.gaps[0].describe();
        assert!(
            text.contains("worker wa was lost after 5s") && text.contains("worker wb resumed"),
            "{text}"
        );
        w.note_lost("wb");
        assert!(w.gaps[1].degrades() && w.gaps[1].from_s == 11);
        assert!(w.gaps[1].describe().starts_with("degraded: segment 1/2:1"));
    }
}
