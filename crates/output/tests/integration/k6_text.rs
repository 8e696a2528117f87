//! The summary text, byte for byte.

use stampede_output::ansi::for_terminal;
use stampede_output::{render_legacy_from_data, LegacyFlavor, SummaryMode, TextOptions};

use crate::common::{fixture, replay, replay_with};

#[test]
fn compact_summary_matches_k6() {
    let run = replay("compact");
    let text = run.report(false).render(SummaryMode::Compact);
    assert_eq!(text, fixture("compact.stdout.txt"));
}

#[test]
fn full_summary_in_a_terminal_matches_k6() {
    let run = replay("full");
    let report = run.report(true);
    assert!(report.enable_colors());
    let text = for_terminal(&report.render(SummaryMode::Full));
    assert_eq!(text, fixture("full.stdout.txt"));
}

#[test]
fn legacy_summary_matches_k6() {
    let run = replay("legacy");
    let text = run.report(false).render(SummaryMode::Legacy);
    // One value differs: group_duration's median over two samples, which
    // Stampede reads from an HDR histogram (microsecond resolution).
    let want = fixture("legacy.stdout.txt");
    let differing: Vec<(&str, &str)> = text
        .lines()
        .zip(want.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(text.lines().count(), want.lines().count());
    assert!(
        differing
            .iter()
            .all(|(a, _)| a.trim_start().starts_with("group_duration")),
        "{differing:#?}"
    );
}

#[test]
fn legacy_text_from_k6_data_matches_k6() {
    // textSummary(data) over k6's own handleSummary data: exact.
    let data: serde_json::Value = serde_json::from_str(&fixture("legacy.data.json")).unwrap();
    let opts = TextOptions {
        enable_colors: false,
        flavor: LegacyFlavor::K6,
        ..TextOptions::default()
    };
    let text = format!("\n{}\n\n", render_legacy_from_data(&data, &opts));
    assert_eq!(text, fixture("legacy.stdout.txt"));
}

#[test]
fn jslib_text_summary_matches_k6() {
    // textSummary(data, opts) of the k6-summary jslib, as k6 ran it.
    let data: serde_json::Value = serde_json::from_str(&fixture("jslib.data.json")).unwrap();
    let plain = TextOptions {
        enable_colors: false,
        ..TextOptions::for_jslib("0.1.0")
    };
    assert_eq!(
        render_legacy_from_data(&data, &plain),
        fixture("jslib_new.txt")
    );
    let colored = TextOptions {
        indent: "→ ".into(),
        ..TextOptions::for_jslib("0.0.4")
    };
    assert_eq!(
        render_legacy_from_data(&data, &colored),
        fixture("jslib_new_color.txt")
    );
    let old = TextOptions {
        enable_colors: false,
        ..TextOptions::for_jslib("0.0.2")
    };
    assert_eq!(
        render_legacy_from_data(&data, &old),
        fixture("jslib_old.txt")
    );
}

#[test]
fn full_summary_of_a_named_scenario_matches_k6() {
    // A SCENARIO section with a nested group, summaryTimeUnit us,
    // summaryTrendStats count,p(99.9),min,max, setup() checks kept out of
    // the group sections.
    let run = replay_with("scenario", "scenario.options.json");
    let text = run.report(false).render(SummaryMode::Full);
    assert_eq!(text, fixture("scenario.stdout.txt"));
}
