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
//!
//! A pipeline stage's chaos agent listens on this host's loopback. With
//! Redis workers (`--redis`), which may run on other hosts, the stage's run
//! is marked for the chaos relay ([`StageRelay`]): each worker gives its
//! script a loopback relay as `CHAOS_AGENT`, and this process answers the
//! run's relayed calls with the stage's agent for as long as the run goes
//! (`stampede_cluster::relay`).

use serde_json::Value;
use stampede_cluster::protocol::SummarySettings;
use stampede_cluster::relay::AgentRelay;
use stampede_pipeline::chaos_summary as recovery;
use stampede_store::{Run, RunEnd, RunId, Store};

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

/// A pipeline stage's agent that the stage's run reaches through the
/// Redis relay.
pub struct StageRelay {
    url: String,
    agent: String,
}

impl StageRelay {
    /// The relay a stage's run needs: with Redis workers (`redis`), when
    /// the stage declares chaos targets, its agent's address (the
    /// `CHAOS_AGENT` the pipeline added last to the stage's variables).
    pub fn of(redis: Option<&str>, job: &stampede_pipeline::StageJob) -> Option<StageRelay> {
        let url = redis?;
        job.spec.chaos.as_ref()?;
        let agent = job
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "CHAOS_AGENT")
            .map(|(_, v)| v.clone())?;
        Some(StageRelay {
            url: url.to_string(),
            agent,
        })
    }

    /// Starts answering run `run`'s relayed calls with the agent; stop the
    /// returned relay when the run is over.
    pub fn serve(&self, run: RunId) -> Result<AgentRelay, String> {
        AgentRelay::spawn(&self.url, &run.to_string(), &self.agent).map_err(|e| e.to_string())
    }
}
