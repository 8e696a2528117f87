//! `--out json` and `--out csv`, byte for byte.

use std::io::Read;
use std::sync::Arc;

use stampede_output::from_spec;
use stampede_output::out::{metric_metas, OutputContext};

use crate::common::{fixture, replay, Run};

/// k6 ran the legacy fixture with TZ=Asia/Kolkata.
const KOLKATA: i32 = 5 * 3600 + 30 * 60;

fn context(run: &Run) -> OutputContext {
    OutputContext {
        metrics: Arc::new(metric_metas(Some(&run.thresholds), true)),
        utc_offset_secs: KOLKATA,
        ..OutputContext::default()
    }
}

fn write(run: &Run, spec: &str) {
    let mut out = from_spec(spec, &context(run)).unwrap();
    out.start().unwrap();
    // In batches, as the collector hands them over.
    for batch in run.samples.chunks(7) {
        out.add_samples(batch, &run.registry).unwrap();
    }
    out.stop().unwrap();
}

fn gunzip(path: &std::path::Path) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn json_output_matches_k6() {
    let run = replay("legacy");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.json");
    write(&run, &format!("json={}", path.display()));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        fixture("legacy.samples.json")
    );
    let gz = dir.path().join("out.json.gz");
    write(&run, &format!("json={}", gz.display()));
    assert_eq!(gunzip(&gz), fixture("legacy.samples.json"));
}

#[test]
fn csv_output_matches_k6() {
    let run = replay("legacy");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    write(&run, &format!("csv={}", path.display()));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        fixture("legacy.csv")
    );

    let path = dir.path().join("out_rfc.csv.gz");
    write(
        &run,
        &format!("csv=fileName={},timeFormat=rfc3339_nano", path.display()),
    );
    assert_eq!(gunzip(&path), fixture("legacy_rfc3339.csv"));
}
