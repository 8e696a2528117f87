//! How fast the streaming outputs write: one million HTTP-like samples in
//! batches of 1,000, to json, json.gz, csv and csv.gz in a temp directory.
//!
//! ```text
//! cargo run --release -p stampede-output --example out_bench
//! ```

use std::time::Instant;

use stampede_metrics::{Builtin, Registry, Sample, TagSet};
use stampede_output::{from_spec, OutputContext};

fn main() {
    let registry = Registry::new();
    let metrics = [
        Builtin::HttpReqs,
        Builtin::HttpReqDuration,
        Builtin::HttpReqBlocked,
        Builtin::HttpReqConnecting,
        Builtin::HttpReqWaiting,
        Builtin::HttpReqFailed,
    ];
    let tagsets: Vec<TagSet> = (0..20)
        .map(|i| {
            TagSet::from_pairs([
                ("expected_response", "true"),
                ("group", "::shop"),
                ("method", "GET"),
                ("name", &format!("http://127.0.0.1:8080/item/{i}")),
                ("proto", "HTTP/1.1"),
                ("scenario", "default"),
                ("status", "200"),
                ("url", &format!("http://127.0.0.1:8080/item/{i}")),
            ])
        })
        .collect();
    let n = 1_000_000u64;
    let samples: Vec<Sample> = (0..n)
        .map(|i| Sample {
            metric: metrics[(i % 6) as usize].metric(),
            tags: tagsets[(i / 6 % 20) as usize].clone(),
            value: (i % 997) as f64 * 0.731,
            time_ns: 1_795_471_525_000_000_000 + i * 10_000,
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("out_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["x.json", "x.json.gz", "x.csv", "x.csv.gz"] {
        let path = dir.join(name);
        let kind = if name.contains("json") { "json" } else { "csv" };
        let mut out = from_spec(
            &format!("{kind}={}", path.display()),
            &OutputContext::default(),
        )
        .unwrap();
        let start = Instant::now();
        out.start().unwrap();
        for batch in samples.chunks(1000) {
            out.add_samples(batch, &registry).unwrap();
        }
        out.stop().unwrap();
        let secs = start.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path).unwrap().len();
        println!(
            "{name:10} {:>10.0} samples/s  {:>6.1} MB",
            n as f64 / secs,
            size as f64 / 1e6
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
