//! The worker side of the Redis transport: what `stampede worker` runs.
//!
//! A [`Worker`] announces itself every second (its heartbeat key, TTL 3 s),
//! claims leases while it has free capacity — new ones from the group, and
//! with `XAUTOCLAIM` those a lost worker stopped refreshing — and runs each
//! segment through a [`Transport`] (in `stampede worker`, the same child
//! `__segment` process the in-process transport uses, so a crashing script
//! takes down that child only and a killed worker's children end with it).
//! Events go to the lease's stream, buffered and retried while Redis is
//! away; interval indices count from the run's common start so a resumed
//! segment continues the count and the server drops any repeat. Each
//! interval is written together with what a resumer needs (the next
//! interval, the iterations done per scenario, in the lease hash), and a
//! worker taking a started lease over resumes the segment where the run
//! is ([`crate::protocol::Resume`]). A job whose run has a pipeline
//! stage's chaos agent (`chaos_relay`) gets, for the segment's lifetime, a
//! loopback relay of this worker's as `CHAOS_AGENT` ([`crate::relay`]).
//!
//! A lease already owned by a live worker (a redelivered entry) is given
//! back or dropped, never run twice. SIGTERM drains: no new leases, running
//! segments finish, and what is still running at the drain deadline is
//! handed back (re-queued: another worker resumes it). Redis unreachable
//! for `redis_timeout` stops every segment and ends the worker with
//! [`WorkerExit::RedisLost`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use tokio::sync::mpsc;

use super::sys::{memory_used, CpuSampler};
use super::{
    connect, control_field, ensure_group, events_key, lease_key, now_ms, worker_key,
    ControlMessage, Heartbeat, Lease, CONTROL_CHANNEL, CONTROL_FIELDS, GROUP, HEARTBEAT,
    HEARTBEAT_TTL, LEASES, LEASE_KEY_TTL, RECLAIM_IDLE, WORKERS,
};
use crate::protocol::{Control, Resume, SegmentEvent};
use crate::transport::{Transport, TransportError};

/// How a worker is set up (`stampede worker`'s flags).
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The worker's name (unique in the fleet).
    pub id: String,
    /// VUs it accepts in all.
    pub capacity: u64,
    /// Redis unreachable this long: stop the VUs and exit non-zero.
    pub redis_timeout: Duration,
    /// After SIGTERM, how long running segments may take to finish before
    /// they are handed back.
    pub drain_timeout: Duration,
    /// How often the lease queue is polled.
    pub poll: Duration,
}

/// Why a worker ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerExit {
    /// Drained after a stop signal.
    Drained,
    /// Redis was unreachable for too long; the segments were stopped.
    RedisLost,
}

/// A segment this worker runs.
struct Running {
    entry: String,
    lease: Lease,
    control: mpsc::UnboundedSender<Control>,
    start_ms: Arc<std::sync::atomic::AtomicU64>,
    /// The kinds of control ([`control_field`]) already passed on.
    applied: std::collections::BTreeSet<&'static str>,
    /// The segment's chaos relay, stopped with it.
    _relay: Option<crate::relay::WorkerRelay>,
}

/// A lease whose segment ended, to acknowledge.
struct Done {
    lease: String,
}

/// A `stampede worker`.
pub struct Worker {
    config: WorkerConfig,
    client: redis::Client,
    conn: ConnectionManager,
    runner: Arc<dyn Transport>,
    running: HashMap<String, Running>,
    /// Entries to acknowledge once Redis answers (lease id, entry id).
    acks: Vec<(String, String)>,
    cpu: CpuSampler,
    last_ok: Instant,
    draining: Option<Instant>,
}

/// Checks a worker id: 1 to 64 of `A-Za-z0-9._-`.
pub fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Worker {
    /// Connects (retrying up to `redis_timeout`) and prepares the group.
    pub async fn connect(
        config: WorkerConfig,
        runner: Arc<dyn Transport>,
    ) -> Result<Self, TransportError> {
        if !valid_id(&config.id) {
            return Err(TransportError(format!(
                "invalid worker id {:?}: use 1 to 64 letters, digits, '.', '_' or '-'",
                config.id
            )));
        }
        let client = super::client(&config.url)?;
        let started = Instant::now();
        let mut conn = loop {
            match connect(&client).await {
                Ok(c) => break c,
                Err(e) if started.elapsed() >= config.redis_timeout => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "waiting for Redis");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        ensure_group(&mut conn)
            .await
            .map_err(|e| TransportError(format!("cannot create the lease group: {e}")))?;
        Ok(Self {
            config,
            client,
            conn,
            runner,
            running: HashMap::new(),
            acks: Vec::new(),
            cpu: CpuSampler::default(),
            last_ok: Instant::now(),
            draining: None,
        })
    }

    fn load(&self) -> u64 {
        self.running.values().map(|r| r.lease.vus).sum()
    }

    /// Runs until drained (after `stop` completes) or Redis is lost.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) -> WorkerExit {
        let (ctl_tx, mut ctl_rx) = mpsc::unbounded_channel();
        let pubsub = tokio::spawn(subscribe(self.client.clone(), ctl_tx));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut beat = tokio::time::interval(HEARTBEAT);
        let mut poll = tokio::time::interval(self.config.poll);
        tokio::pin!(stop);
        let mut stopped = false;
        tracing::info!(id = %self.config.id, capacity = self.config.capacity, "worker online");
        let exit = loop {
            tokio::select! {
                _ = &mut stop, if !stopped => {
                    stopped = true;
                    tracing::info!("draining: no new segments; running ones finish");
                    self.draining = Some(Instant::now() + self.config.drain_timeout);
                }
                _ = beat.tick() => {
                    if let Some(exit) = self.heartbeat().await {
                        break exit;
                    }
                }
                _ = poll.tick(), if self.draining.is_none() => self.claim(&done_tx).await,
                Some(msg) = ctl_rx.recv() => self.apply(&msg.lease, msg.control),
                Some(done) = done_rx.recv() => {
                    if let Some(r) = self.running.remove(&done.lease) {
                        tracing::info!(lease = %done.lease, "segment over");
                        self.acks.push((done.lease, r.entry));
                        self.flush_acks().await;
                    }
                }
            }
        };
        pubsub.abort();
        exit
    }

    /// Refreshes the heartbeat and the leases, applies stored controls,
    /// and ends the worker when drained or Redis is lost.
    async fn heartbeat(&mut self) -> Option<WorkerExit> {
        let load = self.load();
        let state = match (&self.draining, self.running.is_empty()) {
            (Some(_), _) => "draining",
            (None, true) => "idle",
            (None, false) => "busy",
        };
        let beat = Heartbeat {
            id: self.config.id.clone(),
            state: state.into(),
            capacity: self.config.capacity,
            load,
            cpu_percent: self.cpu.sample(),
            memory_bytes: memory_used(),
            memory_total_bytes: super::sys::memory_total(),
            leases: self.running.keys().cloned().collect(),
            at_ms: now_ms(),
        };
        let mut pipe = redis::pipe();
        pipe.set_ex(
            worker_key(&self.config.id),
            serde_json::to_string(&beat).expect("heartbeats serialize"),
            HEARTBEAT_TTL.as_secs(),
        )
        .ignore()
        .sadd(WORKERS, &self.config.id)
        .ignore();
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in &ids {
            let r = &self.running[id];
            let key = lease_key(id);
            // Keeps the entry's idle time low: only a lost worker's
            // leases are reclaimed.
            pipe.cmd("XCLAIM")
                .arg(LEASES)
                .arg(GROUP)
                .arg(&self.config.id)
                .arg(0)
                .arg(&r.entry)
                .arg("JUSTID")
                .ignore();
            pipe.hset(&key, "owner", &self.config.id).ignore();
            pipe.hset(&key, "entry", &r.entry).ignore();
            let start = r.start_ms.load(std::sync::atomic::Ordering::Relaxed);
            if start > 0 {
                pipe.hset(&key, "start_ms", start).ignore();
            }
            pipe.expire(&key, LEASE_KEY_TTL.as_secs() as i64).ignore();
            pipe.cmd("HMGET").arg(&key).arg(&CONTROL_FIELDS[..]);
        }
        let reply: redis::RedisResult<Vec<Vec<Option<String>>>> =
            pipe.query_async(&mut self.conn).await;
        match reply {
            Ok(controls) => {
                if self.last_ok.elapsed() > HEARTBEAT_TTL {
                    tracing::info!("Redis is reachable again");
                    // A restarted Redis may have lost the group.
                    let _ = ensure_group(&mut self.conn).await;
                }
                self.last_ok = Instant::now();
                for (id, lines) in ids.iter().zip(controls) {
                    for line in lines.iter().flatten() {
                        match Control::from_line(line) {
                            Ok(c) => self.apply(id, c),
                            Err(e) => tracing::warn!(lease = %id, "{e}"),
                        }
                    }
                }
                self.flush_acks().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach Redis");
                if self.last_ok.elapsed() >= self.config.redis_timeout {
                    tracing::error!(
                        "Redis unreachable for {}s: stopping every segment",
                        self.config.redis_timeout.as_secs()
                    );
                    for r in self.running.values() {
                        let _ = r.control.send(Control::Abort);
                    }
                    return Some(WorkerExit::RedisLost);
                }
            }
        }
        if let Some(deadline) = self.draining {
            if self.running.is_empty() {
                let mut conn = self.conn.clone();
                let _: redis::RedisResult<()> = redis::pipe()
                    .del(worker_key(&self.config.id))
                    .srem(WORKERS, &self.config.id)
                    .query_async(&mut conn)
                    .await;
                return Some(WorkerExit::Drained);
            }
            if Instant::now() >= deadline {
                self.hand_back_all().await;
            }
        }
        None
    }

    /// Re-queues every running lease (another worker resumes it) and
    /// stops its segment.
    async fn hand_back_all(&mut self) {
        let mut conn = self.conn.clone();
        for (id, r) in self.running.drain() {
            let body = serde_json::to_string(&r.lease).expect("leases serialize");
            let res: redis::RedisResult<()> = redis::pipe()
                .hdel(lease_key(&id), "owner")
                .xadd(LEASES, "*", &[("lease", body.as_str())])
                .xack(LEASES, GROUP, &[&r.entry])
                .xdel(LEASES, &[&r.entry])
                .query_async(&mut conn)
                .await;
            match res {
                Ok(()) => tracing::warn!(lease = %id, "drain deadline: lease handed back"),
                Err(e) => tracing::error!(lease = %id, error = %e, "cannot hand the lease back"),
            }
            let _ = r.control.send(Control::Abort);
        }
    }

    /// Acknowledges finished leases (kept for later when Redis is away).
    async fn flush_acks(&mut self) {
        let mut left = Vec::new();
        for (lease, entry) in std::mem::take(&mut self.acks) {
            let r: redis::RedisResult<()> = redis::pipe()
                .xack(LEASES, GROUP, &[&entry])
                .xdel(LEASES, &[&entry])
                .expire(lease_key(&lease), 3600)
                .query_async(&mut self.conn)
                .await;
            if r.is_err() {
                left.push((lease, entry));
            }
        }
        self.acks = left;
    }

    /// Passes a control to a segment this worker runs, once per kind (but
    /// a scale, the VUs wanted now, every time) and nothing after an abort.
    fn apply(&mut self, lease: &str, c: Control) {
        if let Some(r) = self.running.get_mut(lease) {
            let kind = control_field(&c);
            if r.applied.contains("abort") || (!r.applied.insert(kind) && kind != "scale") {
                return;
            }
            tracing::info!(lease, control = kind, "control received");
            let _ = r.control.send(c);
        }
    }

    /// Claims at most one lease: first a lost worker's, then a new one.
    async fn claim(&mut self, done: &mpsc::UnboundedSender<Done>) {
        if self.load() >= self.config.capacity {
            return;
        }
        let stale: redis::RedisResult<redis::streams::StreamAutoClaimReply> = self
            .conn
            .xautoclaim_options(
                LEASES,
                GROUP,
                &self.config.id,
                RECLAIM_IDLE.as_millis() as u64,
                "0-0",
                redis::streams::StreamAutoClaimOptions::default().count(1),
            )
            .await;
        let mut entries = match stale {
            Ok(r) => r.claimed,
            Err(e) => {
                if e.code() == Some("NOGROUP") {
                    let _ = ensure_group(&mut self.conn).await;
                }
                return;
            }
        };
        if entries.is_empty() {
            let fresh: redis::RedisResult<redis::streams::StreamReadReply> = self
                .conn
                .xread_options(
                    &[LEASES],
                    &[">"],
                    &redis::streams::StreamReadOptions::default()
                        .group(GROUP, &self.config.id)
                        .count(1),
                )
                .await;
            match fresh {
                Ok(r) => entries = r.keys.into_iter().flat_map(|k| k.ids).collect(),
                Err(e) => {
                    if e.code() == Some("NOGROUP") {
                        let _ = ensure_group(&mut self.conn).await;
                    }
                    return;
                }
            }
        }
        for e in entries {
            let body = e.get::<String>("lease");
            self.take(e.id, body, done).await;
        }
    }

    /// Decides what to do with a delivered lease entry, and runs it when
    /// it is this worker's to run.
    async fn take(
        &mut self,
        entry: String,
        body: Option<String>,
        done: &mpsc::UnboundedSender<Done>,
    ) {
        let lease: Lease = match body.as_deref().map(serde_json::from_str) {
            Some(Ok(l)) => l,
            other => {
                tracing::error!(%entry, "dropping a malformed lease: {other:?}");
                self.drop_entry(&entry).await;
                return;
            }
        };
        let key = lease_key(&lease.id);
        let state: HashMap<String, String> = match self.conn.hgetall(&key).await {
            Ok(s) => s,
            Err(_) => return, // Still pending: retried by XAUTOCLAIM.
        };
        if state.contains_key("done") || state.get("control").map(String::as_str) == Some("abort") {
            self.drop_entry(&entry).await;
            return;
        }
        if self.running.contains_key(&lease.id) {
            // Our own lease, redelivered: keep running it once.
            if self.running[&lease.id].entry != entry {
                self.drop_entry(&entry).await;
            }
            return;
        }
        if let Some(owner) = state.get("owner").filter(|o| **o != self.config.id) {
            let alive: bool = self.conn.exists(worker_key(owner)).await.unwrap_or(true);
            if alive {
                if state.get("entry") == Some(&entry) {
                    // The owner is alive and only slow to refresh: give it back.
                    let _: redis::RedisResult<()> = redis::cmd("XCLAIM")
                        .arg(LEASES)
                        .arg(GROUP)
                        .arg(owner)
                        .arg(0)
                        .arg(&entry)
                        .arg("JUSTID")
                        .query_async(&mut self.conn)
                        .await;
                } else {
                    tracing::warn!(lease = %lease.id, %owner, "dropping a duplicate of a running lease");
                    self.drop_entry(&entry).await;
                }
                return;
            }
        }
        if self.load() + lease.vus > self.config.capacity && !self.running.is_empty() {
            // Not now: back to the end of the queue for a worker with room.
            let body = serde_json::to_string(&lease).expect("leases serialize");
            let _: redis::RedisResult<()> = redis::pipe()
                .xadd(LEASES, "*", &[("lease", body.as_str())])
                .xack(LEASES, GROUP, &[&entry])
                .xdel(LEASES, &[&entry])
                .query_async(&mut self.conn)
                .await;
            return;
        }
        let start_ms: u64 = state
            .get("start_ms")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let claimed: redis::RedisResult<()> = redis::pipe()
            .hset(&key, "owner", &self.config.id)
            .hset(&key, "entry", &entry)
            .hincr(&key, "attempts", 1)
            .expire(&key, LEASE_KEY_TTL.as_secs() as i64)
            .query_async(&mut self.conn)
            .await;
        if claimed.is_err() {
            return;
        }
        let mut job = lease.job.clone();
        job.resume = resume_point(&state);
        let resume = job.resume.as_ref().map(|r| r.start_unix_ms);
        // A pipeline stage's agent listens on the server's loopback: the
        // script reaches it through a relay of this worker's own.
        let relay = match job.chaos_relay {
            false => None,
            true => {
                match crate::relay::WorkerRelay::start(self.client.clone(), &job.run_id).await {
                    Ok(r) => {
                        job.env.insert("CHAOS_AGENT".into(), r.addr().to_string());
                        Some(r)
                    }
                    Err(e) => {
                        tracing::error!(lease = %lease.id, error = %e, "cannot start the chaos relay");
                        return; // Pending: retried, as a segment that cannot start.
                    }
                }
            }
        };
        match &job.resume {
            Some(r) => tracing::warn!(
                lease = %lease.id, vus = lease.vus, from_interval = r.next_interval,
                "resuming a lost worker's segment"
            ),
            None => tracing::info!(lease = %lease.id, vus = lease.vus, "running a segment"),
        }
        let handle = match self.runner.start(job) {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(lease = %lease.id, error = %e, "cannot start the segment");
                return; // Pending: another worker (or this one) retries.
            }
        };
        let start = Arc::new(std::sync::atomic::AtomicU64::new(start_ms));
        let control = handle.control.clone();
        let forward = Forward {
            conn: self.conn.clone(),
            lease: lease.id.clone(),
            resume,
            start: start.clone(),
            deadline_s: lease.max_duration_s,
        };
        tokio::spawn(forward.run(handle, done.clone()));
        self.running.insert(
            lease.id.clone(),
            Running {
                entry,
                lease,
                control,
                start_ms: start,
                applied: Default::default(),
                _relay: relay,
            },
        );
    }

    /// Acknowledges and deletes an entry that is nobody's to run.
    async fn drop_entry(&mut self, entry: &str) {
        let _: redis::RedisResult<()> = redis::pipe()
            .xack(LEASES, GROUP, &[entry])
            .xdel(LEASES, &[entry])
            .query_async(&mut self.conn)
            .await;
    }
}

/// Relays one segment's events to its stream.
struct Forward {
    conn: ConnectionManager,
    lease: String,
    /// The common start when this is a resumed segment.
    resume: Option<u64>,
    start: Arc<std::sync::atomic::AtomicU64>,
    deadline_s: f64,
}

/// Events kept at most in a lease's stream when nobody reads it.
const STREAM_MAXLEN: usize = 100_000;
/// How long a segment's last events are retried after it ended.
const FLUSH_GIVE_UP: Duration = Duration::from_secs(30);

impl Forward {
    async fn run(
        mut self,
        handle: crate::transport::SegmentHandle,
        done: mpsc::UnboundedSender<Done>,
    ) {
        let mut events = handle.events;
        let control = handle.control;
        let mut deadline = self.resume.and_then(|s| {
            (self.deadline_s > 0.0).then(|| {
                let end = s + (self.deadline_s * 1000.0) as u64;
                tokio::time::Instant::now() + Duration::from_millis(end.saturating_sub(now_ms()))
            })
        });
        let mut buf: VecDeque<(String, Option<Reported>)> = VecDeque::new();
        let mut open = true;
        let mut retry = tokio::time::interval(Duration::from_millis(250));
        let mut closed_at: Option<Instant> = None;
        loop {
            tokio::select! {
                ev = events.recv(), if open => match ev {
                    Some(ev) => {
                        self.on_start(&ev).await;
                        let reported = Reported::of(&ev);
                        buf.push_back((ev.to_line(), reported));
                    }
                    None => {
                        open = false;
                        closed_at = Some(Instant::now());
                    }
                },
                _ = sleep_until_opt(deadline), if deadline.is_some() => {
                    tracing::info!(lease = %self.lease, "the run's time is over: stopping the resumed segment");
                    let _ = control.send(Control::Stop);
                    deadline = None;
                }
                _ = retry.tick(), if !buf.is_empty() => {}
            }
            while let Some((line, reported)) = buf.front() {
                // An interval and what it tells a resumer (the next
                // interval to report, the iterations done) are written
                // together: a worker that takes over never re-issues what
                // was reported nor misses what was not.
                let mut pipe = redis::pipe();
                pipe.atomic().xadd_maxlen(
                    events_key(&self.lease),
                    redis::streams::StreamMaxlen::Approx(STREAM_MAXLEN),
                    "*",
                    &[("ev", line.as_str())],
                );
                if let Some(r) = reported {
                    let key = lease_key(&self.lease);
                    pipe.hset(&key, NEXT_INTERVAL, r.index + 1).ignore();
                    for (scenario, n) in &r.iterations {
                        pipe.hincr(&key, format!("{ITERATIONS_PREFIX}{scenario}"), *n)
                            .ignore();
                    }
                }
                let r: redis::RedisResult<redis::Value> = pipe.query_async(&mut self.conn).await;
                if r.is_err() {
                    break;
                }
                buf.pop_front();
            }
            if !open && (buf.is_empty() || closed_at.is_some_and(|t| t.elapsed() > FLUSH_GIVE_UP)) {
                break;
            }
        }
        let _ = done.send(Done { lease: self.lease });
    }

    /// Records the common start when this segment starts the run.
    async fn on_start(&mut self, ev: &SegmentEvent) {
        if matches!(ev, SegmentEvent::Started) && self.resume.is_none() {
            let now = now_ms();
            self.start.store(now, std::sync::atomic::Ordering::Relaxed);
            let _: redis::RedisResult<()> = self
                .conn
                .hset_nx(lease_key(&self.lease), "start_ms", now)
                .await;
        }
    }
}

/// The lease hash's field with the next interval a resumer reports.
const NEXT_INTERVAL: &str = "next_interval";
/// The lease hash's fields with the iterations reported, per scenario.
const ITERATIONS_PREFIX: &str = "iterations:";

/// What an interval event tells a worker that may take the lease over.
struct Reported {
    index: u64,
    /// Completed and dropped iterations in the interval, by scenario.
    iterations: Vec<(String, u64)>,
}

impl Reported {
    fn of(ev: &SegmentEvent) -> Option<Self> {
        let SegmentEvent::Interval { index, snapshot } = ev else {
            return None;
        };
        let mut by_scenario = std::collections::BTreeMap::<String, u64>::new();
        for e in &snapshot.entries {
            // Dropped iterations were due too: an arrival-rate resumer
            // skips both.
            let is_iterations = snapshot
                .metrics
                .get(e.metric as usize)
                .is_some_and(|m| m.name == "iterations" || m.name == "dropped_iterations");
            if let (true, stampede_metrics::Aggregate::Counter(c)) = (is_iterations, &e.agg) {
                let scenario = e.tags.get("scenario").unwrap_or("default");
                *by_scenario.entry(scenario.to_string()).or_default() += c.sum as u64;
            }
        }
        Some(Self {
            index: *index,
            iterations: by_scenario.into_iter().collect(),
        })
    }
}

/// Where a lease whose segment already started resumes (`None`: it has
/// not started; it starts fresh): the common start (from the start
/// control, else when the first holder started), the next interval to
/// report, the iterations reported and the run's `setup()` data.
fn resume_point(state: &HashMap<String, String>) -> Option<Resume> {
    let start = state.get("start").and_then(|s| Control::from_line(s).ok());
    let (at, setup_data) = match start {
        Some(Control::Start {
            at_unix_ms,
            setup_data,
        }) => (Some(at_unix_ms), setup_data),
        _ => (None, None),
    };
    let started = state.get("start_ms").and_then(|s| s.parse::<u64>().ok());
    let start_unix_ms = at.or(started)?;
    let done_iterations = state
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(ITERATIONS_PREFIX)?;
            Some((name.to_string(), v.parse().ok()?))
        })
        .collect();
    Some(Resume {
        start_unix_ms,
        next_interval: state
            .get(NEXT_INTERVAL)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        done_iterations,
        setup_data,
    })
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Listens to the control channel, reconnecting while Redis is away (the
/// lease hashes, read at every heartbeat, cover what is missed meanwhile).
async fn subscribe(client: redis::Client, tx: mpsc::UnboundedSender<ControlMessage>) {
    super::listen(
        &client,
        CONTROL_CHANNEL,
        |text| match serde_json::from_str::<ControlMessage>(&text) {
            Ok(m) => tx.send(m).is_ok(),
            Err(_) => true,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_checked() {
        assert!(valid_id("w-1.a_b"));
        assert!(!valid_id(""));
        assert!(!valid_id("a b"));
        assert!(!valid_id("a:b"));
        assert!(!valid_id(&"x".repeat(65)));
    }
}
