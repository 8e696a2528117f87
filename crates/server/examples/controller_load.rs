//! Issue 15's controller goal, measured: the server merges, evaluates and
//! stores the intervals of 100 simulated workers × 500 series each per
//! second within 25% of one core.
//!
//! It replays synthetic worker snapshots (500 series: 100 request names ×
//! `http_reqs`, `http_req_duration`, `http_req_failed`, `data_received`,
//! `iteration_duration`, 20 samples each) through the same path a run's
//! supervisor takes: each worker's interval as the JSON event line the
//! transport reads, parsed, added to the [`IntervalMerger`], the released
//! merge applied to the [`Judge`] (thresholds evaluated every 2 s) and
//! stored in a SQLite store. It runs unpaced and reports the process's CPU
//! time per simulated second: its share of one core. It links the
//! allocator the `stampede` binary ships (`stampede-alloc`), so that it
//! measures what a server spends.
//!
//! ```sh
//! cargo run --release -p stampede-server --example controller_load -- [WORKERS] [SERIES] [SECONDS]
//! ```

use std::time::{Duration, Instant};

use stampede_alloc as _;

use serde_json::json;
use stampede_cluster::protocol::{SummarySettings, ThresholdWire};
use stampede_cluster::SegmentEvent;
use stampede_metrics::{
    Aggregate, MetricType, Registry, Snapshot, SnapshotEntry, TagSet, ValueType,
};
use stampede_server::merge::{IntervalMerger, INTERVAL};
use stampede_server::verdict::Judge;
use stampede_store::Store;

const METRICS: [(&str, MetricType, ValueType); 5] = [
    ("http_reqs", MetricType::Counter, ValueType::Default),
    ("http_req_duration", MetricType::Trend, ValueType::Time),
    ("http_req_failed", MetricType::Rate, ValueType::Default),
    ("data_received", MetricType::Counter, ValueType::Data),
    ("iteration_duration", MetricType::Trend, ValueType::Time),
];

/// The process's user + system CPU time (Linux: `/proc/self/stat`, in
/// clock ticks of 1/100 s).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let rest = &stat[stat.rfind(')').expect("a comm field") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// One worker's interval `index` as the event line it writes to Redis.
fn worker_line(reg: &Registry, worker: usize, series: usize, index: u64) -> String {
    let start = index * 1_000_000_000;
    let mut snap = Snapshot::new(start, start + 1_000_000_000);
    let names = series.div_ceil(METRICS.len());
    'all: for n in 0..names {
        let tags = TagSet::from_pairs([
            ("name", format!("http://127.0.0.1/api/item/{n}")),
            ("method", "GET".to_string()),
            ("status", "200".to_string()),
            ("scenario", "default".to_string()),
        ]);
        for (i, (name, kind, _)) in METRICS.iter().enumerate() {
            if n * METRICS.len() + i >= series {
                break 'all;
            }
            let m = reg.lookup(name).expect("registered");
            let mut agg = Aggregate::new(*kind);
            for s in 0..20u64 {
                let v = ((worker as u64 * 7919 + n as u64 * 31 + s * 17 + index) % 500) as f64;
                agg.add(
                    if *kind == MetricType::Rate {
                        (v < 5.0) as u8 as f64
                    } else {
                        v
                    },
                    start + s,
                );
            }
            snap.entries.push(SnapshotEntry {
                metric: m.id,
                tags: tags.clone(),
                agg,
            });
        }
    }
    SegmentEvent::Interval {
        index,
        snapshot: snap.to_wire(reg),
    }
    .to_line()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("WORKERS SERIES SECONDS are numbers"))
        .collect();
    let workers = *args.first().unwrap_or(&100) as usize;
    let series = *args.get(1).unwrap_or(&500) as usize;
    let seconds = *args.get(2).unwrap_or(&30);

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open_sqlite(&dir.path().join("stampede.db"))
        .await
        .expect("the store opens");
    let (_, _, run) = stampede_store::fixture::scratch_run(&store, "controller-load")
        .await
        .expect("a run");

    // The workers' lines, made before the clock starts.
    let reg = Registry::new();
    for (name, kind, contains) in METRICS {
        reg.register(name, kind, contains).expect("a metric");
    }
    let lines: Vec<Vec<String>> = (0..seconds)
        .map(|i| {
            (0..workers)
                .map(|w| worker_line(&reg, w, series, i))
                .collect()
        })
        .collect();

    let settings = SummarySettings {
        thresholds: vec![
            ThresholdWire {
                selector: "http_req_duration".into(),
                expr: "p(95)<400".into(),
                abort_on_fail: false,
                delay_abort_eval_ms: None,
            },
            ThresholdWire {
                selector: "http_req_failed".into(),
                expr: "rate<0.05".into(),
                abort_on_fail: true,
                delay_abort_eval_ms: None,
            },
        ],
        ..SummarySettings::default()
    };
    let mut judge = Judge::new(settings).expect("valid thresholds");
    let mut merger = IntervalMerger::new(workers, 0, Duration::from_secs(10));

    // Marks the end of the preparation (e.g. for `perf record --control`).
    eprintln!("replaying {seconds} s of {workers} workers x {series} series");
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let mut stored = 0u64;
    for (i, second) in lines.iter().enumerate() {
        let now = Instant::now();
        for (w, line) in second.iter().enumerate() {
            let Ok(SegmentEvent::Interval { index, snapshot }) = SegmentEvent::from_line(line)
            else {
                panic!("an interval event");
            };
            merger
                .add(w, index, snapshot, now)
                .expect("a valid snapshot");
        }
        for r in merger.ready(now) {
            if r.first {
                judge.apply(&r.snapshot);
            }
            let wire = r.snapshot.to_wire(merger.registry());
            store
                .put_interval(run.id, INTERVAL, &wire)
                .await
                .expect("stored");
            stored += 1;
        }
        if i % 2 == 1 {
            let _ = judge.evaluate_running(merger.registry(), Duration::from_secs(i as u64 + 1));
        }
    }
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let share = cpu.as_secs_f64() / seconds as f64;
    println!(
        "{workers} workers x {series} series, {seconds} simulated seconds: {stored} intervals stored, \
         CPU {:.2} s (wall {:.2} s) = {:.1}% of one core per simulated second (goal <= 25%)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        share * 100.0
    );
    println!(
        "{}",
        json!({"workers": workers, "series": series, "seconds": seconds, "cpu_s": cpu.as_secs_f64(), "wall_s": wall.as_secs_f64(), "core_share": share})
    );
}
