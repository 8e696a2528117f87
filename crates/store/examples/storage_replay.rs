//! Issue 14's storage goal, replayed: the stored metrics of a 1-hour run
//! against 20 endpoints, written through the store's real write path
//! (`put_interval`, one merged snapshot per second, as the orchestrator
//! stores them) and rolled up as the background job does (10 s after a
//! day, 60 s after a week), with the SQLite file measured after each stage.
//!
//! Each second carries k6's HTTP metrics per endpoint (requests, failures,
//! duration and its six parts as HDR histograms, data sent/received) plus
//! iterations, checks and VU gauges, with latencies drawn from a skewed
//! distribution so that histograms are as wide as real ones. `bench/run
//! --only server_storage` runs it; it prints one JSON line of figures.
//!
//!     cargo run --release -p stampede-store --example storage_replay -- DIR [SECONDS] [ENDPOINTS] [RPS]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use stampede_metrics::{Builtin, Registry, Sink, TagSet, WireSnapshot};
use stampede_store::{
    NewRun, NewScenario, NewUser, Quotas, Role, RollupPolicy, RunEnd, RunStatus, ScenarioContent,
    StartedBy, Store,
};
use time::OffsetDateTime;

/// A small deterministic generator (xorshift64*): the same replay each time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A latency in ms: log-normal-ish around `median`, with a long tail.
    fn latency(&mut self, median: f64) -> f64 {
        let u = self.next().max(1e-12);
        let tail = if self.next() < 0.01 { 8.0 } else { 1.0 };
        median * (-u.ln()).powf(0.7) * tail + 0.05
    }
}

fn snapshot(
    reg: &Registry,
    rng: &mut Rng,
    second: u64,
    endpoints: usize,
    rps: usize,
) -> WireSnapshot {
    let mut sink = Sink::new();
    let t0 = second * 1_000_000_000;
    let global = TagSet::from_pairs([("scenario", "default")]);
    let per = rps / endpoints;
    for e in 0..endpoints {
        let name = format!("endpoint-{e:02}");
        let url = format!("http://127.0.0.1:3000/api/{name}");
        let method = if e % 4 == 0 { "POST" } else { "GET" };
        let median = 5.0 + e as f64 * 3.0;
        for i in 0..per {
            let failed = rng.next() < 0.01;
            let status = if failed { "500" } else { "200" };
            let tags = TagSet::from_pairs([
                ("method", method),
                ("name", name.as_str()),
                ("url", url.as_str()),
                ("status", status),
                ("proto", "HTTP/1.1"),
                ("scenario", "default"),
                ("expected_response", if failed { "false" } else { "true" }),
            ]);
            let t = t0 + (i * 1_000_000_000 / per.max(1)) as u64;
            let waiting = rng.latency(median);
            let sending = rng.next() * 0.05;
            let receiving = rng.next() * 0.3;
            sink.add(Builtin::HttpReqs.metric(), &tags, 1.0, t);
            sink.add(Builtin::HttpReqFailed.metric(), &tags, f64::from(failed), t);
            sink.add(
                Builtin::HttpReqDuration.metric(),
                &tags,
                waiting + sending + receiving,
                t,
            );
            sink.add(Builtin::HttpReqWaiting.metric(), &tags, waiting, t);
            sink.add(Builtin::HttpReqSending.metric(), &tags, sending, t);
            sink.add(Builtin::HttpReqReceiving.metric(), &tags, receiving, t);
            sink.add(
                Builtin::HttpReqBlocked.metric(),
                &tags,
                rng.next() * 0.01,
                t,
            );
            sink.add(Builtin::HttpReqConnecting.metric(), &tags, 0.0, t);
            sink.add(Builtin::HttpReqTlsHandshaking.metric(), &tags, 0.0, t);
            sink.add(Builtin::DataSent.metric(), &global, 120.0, t);
            sink.add(
                Builtin::DataReceived.metric(),
                &global,
                900.0 + rng.next() * 200.0,
                t,
            );
            sink.add(Builtin::Checks.metric(), &global, f64::from(!failed), t);
        }
    }
    for _ in 0..(rps / endpoints) {
        sink.add(Builtin::Iterations.metric(), &global, 1.0, t0);
        sink.add(
            Builtin::IterationDuration.metric(),
            &global,
            rng.latency(200.0),
            t0,
        );
    }
    sink.add(Builtin::Vus.metric(), &TagSet::empty(), 50.0, t0);
    sink.add(Builtin::VusMax.metric(), &TagSet::empty(), 50.0, t0);
    sink.take(t0, t0 + 1_000_000_000).to_wire(reg)
}

/// The database's bytes on disk (its file and its WAL).
fn disk_bytes(db: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    [db.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .ok_or("usage: storage_replay DIR [SECONDS] [ENDPOINTS] [RPS]")?,
    );
    let seconds: u64 = args.get(1).map_or(Ok(3600), |s| s.parse())?;
    let endpoints: usize = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let rps: usize = args.get(3).map_or(Ok(1000), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    let store = Store::open_data_dir(&dir).await?;
    let db = dir.join("stampede.db");
    let user = store
        .create_user(&NewUser {
            username: "replay".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$replay".into(),
            role: Role::Editor,
            quotas: Quotas::default(),
        })
        .await?;
    let scenario = store
        .create_scenario(&NewScenario {
            owner_id: user.id,
            name: "replay".into(),
            description: String::new(),
            tags: Vec::new(),
            content: ScenarioContent {
                archive: b"export default function () {}".to_vec(),
                entry: "script.js".into(),
                options: json!({}),
            },
        })
        .await?;
    let run = store
        .create_run(&NewRun {
            scenario_id: scenario.id,
            scenario_version: None,
            user_id: Some(user.id),
            started_by: StartedBy::User,
            options: json!({"vus": 50, "duration": format!("{seconds}s")}),
        })
        .await?;
    for s in [RunStatus::Starting, RunStatus::Running] {
        store.transition_run(run.id, s, &RunEnd::default()).await?;
    }
    let empty = disk_bytes(&db);
    let reg = Registry::new();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let started = Instant::now();
    let mut built = Duration::ZERO;
    for second in 0..seconds {
        let b = Instant::now();
        let snap = snapshot(&reg, &mut rng, second, endpoints, rps);
        built += b.elapsed();
        store
            .put_interval(run.id, Duration::from_secs(1), &snap)
            .await?;
    }
    let write_s = (started.elapsed() - built).as_secs_f64();
    store
        .transition_run(
            run.id,
            RunStatus::Passed,
            &RunEnd {
                exit_code: Some(0),
                ..RunEnd::default()
            },
        )
        .await?;
    let (live_blob, live_rows) = store.interval_usage(run.id).await?;
    let live_disk = disk_bytes(&db);
    let policy = RollupPolicy::default();
    let day = OffsetDateTime::now_utc() + Duration::from_secs(2 * 24 * 3600);
    while store.rollup_at(&policy, day).await?.rows_merged > 0 {}
    let (r10_blob, r10_rows) = store.interval_usage(run.id).await?;
    let week = OffsetDateTime::now_utc() + Duration::from_secs(8 * 24 * 3600);
    while store.rollup_at(&policy, week).await?.rows_merged > 0 {}
    let (r60_blob, r60_rows) = store.interval_usage(run.id).await?;
    println!(
        "{}",
        json!({
            "seconds": seconds, "endpoints": endpoints, "rps": rps,
            "empty_db_bytes": empty,
            "live": {"rows": live_rows, "blob_bytes": live_blob, "disk_bytes": live_disk},
            "rolled_10s": {"rows": r10_rows, "blob_bytes": r10_blob, "disk_bytes": disk_bytes(&db)},
            "rolled_60s": {"rows": r60_rows, "blob_bytes": r60_blob, "disk_bytes": disk_bytes(&db)},
            "write_s": write_s,
            "mean_interval_bytes": live_blob as f64 / live_rows.max(1) as f64,
        })
    );
    Ok(())
}
