//! The recovery time of chaos runs (issue 18): a run whose script declares
//! `stampede/chaos` phases gets, like `stampede run`'s, its recovery under
//! `stampede_chaos` in the stored summary and a "CHAOS RECOVERY" block
//! after the summary text; the run's JSON export and HTML report carry it
//! too (`api::exports`).
//!
//! It is measured at the end of the run over the run's stored per-second
//! intervals — the merged data of every segment — by the same code as the
//! CLI's (`stampede_pipeline::chaos_summary`). The supervisor measures it
//! once every interval is stored, before `handleSummary` runs, so that
//! `handleSummary`'s data has it under `stampede_chaos` as in `stampede
//! run`; [`annotate`] then keeps that value.

use serde_json::Value;
use stampede_cluster::protocol::SummarySettings;
use stampede_pipeline::chaos_summary as recovery;
use stampede_store::{Run, RunEnd, Store};

use crate::orchestrator::SUMMARY_TEXT_KEY;

/// Makes the times of a stored run's per-second series count from its first
/// interval, as `stampede run`'s do (stored intervals are in Unix-epoch
/// time), so fault ends and breaking points read as seconds into the test.
pub fn from_test_start(results: &mut stampede_output::results::Results) {
    let Some(t0) = results.series.points.first().map(|p| p.t) else {
        return;
    };
    for p in &mut results.series.points {
        p.t -= t0;
    }
}

/// The recovery of a run with chaos phases (none without), measured over
/// the intervals stored so far.
pub async fn measure(store: &Store, run: &Run, settings: &SummarySettings) -> Option<Value> {
    if !settings.chaos_phases {
        return None;
    }
    Some(
        match recovery::measure_from(settings.chaos_slo.as_deref()) {
            Err(e) => serde_json::json!({ "faults": [], "error": e }),
            Ok(measure) => match crate::api::exports::stored_results(store, run).await {
                Ok((_, mut results)) => {
                    from_test_start(&mut results);
                    recovery::value(&results, &measure)
                }
                Err(e) => serde_json::json!({ "faults": [], "error": e.message }),
            },
        },
    )
}

/// The key of the recovery in the summary and in `handleSummary`'s data.
pub const KEY: &str = recovery::KEY;

/// Adds the recovery to `end`'s summary when the run has chaos phases
/// (the one the supervisor measured for `handleSummary`, if it did).
pub async fn annotate(store: &Store, run: &Run, settings: &SummarySettings, end: &mut RunEnd) {
    if !settings.chaos_phases {
        return;
    }
    let Some(Value::Object(summary)) = end.summary.as_mut() else {
        return;
    };
    let value = match summary.remove(KEY) {
        Some(v) => v,
        None => match measure(store, run, settings).await {
            Some(v) => v,
            None => return,
        },
    };
    // As `stampede run`: after k6's summary, unless handleSummary made its own.
    if !settings.handle_summary && !settings.no_summary {
        let text = summary
            .get(SUMMARY_TEXT_KEY)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        summary.insert(
            SUMMARY_TEXT_KEY.into(),
            format!("{text}{}", recovery::text(&value)).into(),
        );
    }
    summary.insert(recovery::KEY.into(), value);
}
