//! How big are the stored metrics of a 1-hour, 20-endpoint run in SQLite?
//! (Issue 14's goal: ≤ 50 MB.)
//!
//! Generates realistic per-second snapshots the way a run's sink flushes
//! them — 20 endpoints (five of them also answering 503 at times), each with
//! k6's http_req_* trends, http_reqs, http_req_failed, data_sent/received,
//! plus iterations, iteration_duration, checks and vus — at RPS requests/s
//! in total (default 2000), stores SECONDS one-second intervals of one run
//! (default 3600), and prints the database size (file + WAL after
//! checkpoint) and what a rollup to 10 s intervals leaves.
//!
//! `cargo run --release -p stampede-store --example size [-- SECONDS [RPS]]`
//!
//! Measured 2026-12-07 (3600 intervals, 2 shared cores), with rows as zstd
//! over the wire JSON (before `codec.rs`):
//!
//! | requests/s | wire JSON | stored blobs | SQLite files | blobs after rollup to 10 s |
//! | --- | --- | --- | --- | --- |
//! | 500 | 326.9 MB | 38.6 MB | 44.4 MB | 11.7 MB |
//! | 2000 | 395.1 MB | 71.9 MB | 77.7 MB | 23.5 MB |
//!
//! and with the compact rows of `codec.rs` (release build):
//!
//! | requests/s | wire JSON | stored blobs | SQLite files | blobs after rollup to 10 s |
//! | --- | --- | --- | --- | --- |
//! | 1000 | 356.1 MB | 36.1 MB | 37.8 MB | 11.9 MB |
//!
//! A row at 1000 requests/s was 14.3 kB, of which about 4 kB were floats
//! written as decimal text and 6 kB histograms; the compact form keeps the
//! floats as their 8 bytes and the histograms in a stream of their own,
//! and SQLite wastes less of its overflow pages on the smaller rows. So the
//! 50 MB goal holds at 1 s resolution at 1000 requests/s (measured), and
//! after the rollup to 10 s at any rate measured.

use std::time::{Duration, Instant};

use stampede_metrics::{Builtin, Registry, Sink, TagSet, WireSnapshot};
use stampede_store::*;

/// xorshift64*: deterministic, dependency-free noise.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A latency-like value: mostly near `median`, with a long tail.
    fn latency(&mut self, median: f64) -> f64 {
        let u = self.next().max(1e-12);
        median * (-(u.ln())).powf(1.3)
    }
}

fn second(reg: &Registry, rng: &mut Rng, sec: u64, rps: u64) -> WireSnapshot {
    let mut sink = Sink::new();
    let t0 = sec * 1_000_000_000;
    let trends = [
        Builtin::HttpReqBlocked,
        Builtin::HttpReqConnecting,
        Builtin::HttpReqTlsHandshaking,
        Builtin::HttpReqSending,
        Builtin::HttpReqWaiting,
        Builtin::HttpReqReceiving,
    ];
    for e in 0..20 {
        let name = format!("https://shop.example.test/api/v1/endpoint-{e}");
        let ok = TagSet::from_pairs([
            ("expected_response", "true"),
            ("method", if e % 3 == 0 { "POST" } else { "GET" }),
            ("name", name.as_str()),
            ("proto", "HTTP/1.1"),
            ("scenario", "default"),
            ("status", "200"),
            ("url", name.as_str()),
        ]);
        let failing = ok.with("status", "503").with("expected_response", "false");
        let median = 20.0 + 7.0 * e as f64;
        let per_endpoint = (rps / 20).max(1);
        for i in 0..per_endpoint {
            let fail = e < 5 && rng.next() < 0.02;
            let tags = if fail { &failing } else { &ok };
            let t = t0 + i * (1_000_000_000 / per_endpoint);
            let waiting = rng.latency(median);
            let mut total = waiting;
            for m in trends {
                let v = match m {
                    Builtin::HttpReqWaiting => waiting,
                    Builtin::HttpReqBlocked
                    | Builtin::HttpReqConnecting
                    | Builtin::HttpReqTlsHandshaking => {
                        if rng.next() < 0.01 {
                            rng.latency(5.0)
                        } else {
                            0.0
                        }
                    }
                    _ => rng.latency(0.05),
                };
                if m != Builtin::HttpReqWaiting {
                    total += v;
                }
                sink.add(m.metric(), tags, v, t);
            }
            sink.add(Builtin::HttpReqDuration.metric(), tags, total, t);
            sink.add(Builtin::HttpReqs.metric(), tags, 1.0, t);
            sink.add(Builtin::HttpReqFailed.metric(), tags, f64::from(fail), t);
            sink.add(Builtin::DataSent.metric(), tags, 180.0 + (e * 10) as f64, t);
            sink.add(
                Builtin::DataReceived.metric(),
                tags,
                1500.0 + rng.next() * 2000.0,
                t,
            );
        }
    }
    let base = TagSet::from_pairs([("scenario", "default")]);
    for i in 0..100 {
        let t = t0 + i * 10_000_000;
        sink.add(Builtin::Iterations.metric(), &base, 1.0, t);
        sink.add(
            Builtin::IterationDuration.metric(),
            &base,
            rng.latency(900.0),
            t,
        );
        sink.add(
            Builtin::Checks.metric(),
            &base.with("check", "status is 200"),
            f64::from(rng.next() > 0.01),
            t,
        );
    }
    sink.add(Builtin::Vus.metric(), &TagSet::empty(), 100.0, t0);
    sink.take(t0, t0 + 1_000_000_000).to_wire(reg)
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), StoreError> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map_or(3600, |s| s.parse().expect("SECONDS"));
    let rps: u64 = std::env::args()
        .nth(2)
        .map_or(2000, |s| s.parse().expect("RPS"));
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_data_dir(dir.path()).await?;
    let (_, _, run) = stampede_store::fixture::scratch_run(&store, "size").await?;
    let reg = Registry::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut json_bytes, mut series) = (0usize, 0usize);
    let started = Instant::now();
    for sec in 0..seconds {
        let snap = second(&reg, &mut rng, sec, rps);
        json_bytes += snap.to_json().len();
        series += snap.entries.len();
        store
            .put_interval(run.id, Duration::from_secs(1), &snap)
            .await?;
    }
    let elapsed = started.elapsed();
    let (blob_bytes, rows) = store.interval_usage(run.id).await?;
    store.close().await;
    let file = dir_size(dir.path());
    println!(
        "{seconds} intervals at {rps} requests/s, {} series/interval, wire JSON {:.1} MB, stored blobs {:.1} MB, \
         SQLite files {:.1} MB ({} rows, {:.1} s to store)",
        series as u64 / seconds.max(1),
        json_bytes as f64 / 1e6,
        blob_bytes as f64 / 1e6,
        file as f64 / 1e6,
        rows,
        elapsed.as_secs_f64()
    );

    let store = Store::open_data_dir(dir.path()).await?;
    store
        .transition_run(run.id, RunStatus::Aborted, &RunEnd::default())
        .await?;
    let policy = RollupPolicy {
        to_10s_after: Duration::ZERO,
        to_60s_after: Duration::from_secs(3600),
        batch_rows: 600,
    };
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let stats = store.rollup_at(&policy, later).await?;
    let (blob_bytes, rows) = store.interval_usage(run.id).await?;
    println!(
        "after rollup to 10 s: {} rows, stored blobs {:.1} MB ({} merged)",
        rows,
        blob_bytes as f64 / 1e6,
        stats.rows_merged
    );
    Ok(())
}
