//! `handleSummary` data and `--summary-export`, value for value.

use serde_json::Value;

use crate::common::{assert_json_close, fixture, replay, replay_with};

/// Where Stampede's numbers may differ from k6's: percentiles of
/// `group_duration` (two samples, read from an HDR histogram), and values
/// derived from the test duration, which the fixtures only give back as
/// `count / rate`.
fn tolerance(path: &str) -> f64 {
    let percentile = ["med", "p(90)", "p(95)"].iter().any(|p| path.ends_with(p));
    if path.contains("group_duration") && percentile {
        1e-2
    } else if path.ends_with("rate") || path.ends_with("testRunDurationMs") {
        1e-9
    } else {
        0.0
    }
}

#[test]
fn handle_summary_data_matches_k6() {
    let run = replay("legacy");
    let data = run.report(false).handle_summary_data();
    let want: Value = serde_json::from_str(&fixture("legacy.data.json")).unwrap();
    assert_json_close(&data, &want, "data", &tolerance);
}

#[test]
fn summary_export_matches_k6() {
    let run = replay("legacy");
    let export = run.report(false).summary_export();
    let want: Value = serde_json::from_str(&fixture("legacy.export.json")).unwrap();
    assert_json_close(&export, &want, "export", &tolerance);
    let text = stampede_output::summary_export::to_file_text(&export);
    assert!(text.starts_with("{\n    \"root_group\": {\n        \"name\": \"\",\n"));
}

#[test]
fn handle_summary_data_with_setup_data_matches_k6() {
    let mut run = replay_with("scenario", "scenario.options.json");
    let want: Value = serde_json::from_str(&fixture("scenario.data.json")).unwrap();
    run.setup_data = Some(want["setup_data"].clone());
    let data = run.report(false).handle_summary_data();
    assert_json_close(&data, &want, "data", &tolerance);
}
