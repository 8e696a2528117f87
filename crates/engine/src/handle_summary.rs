//! Calling the script's `handleSummary(data)` at the end of the run, in the
//! setup VU, with k6's two-minute limit.

use std::time::Duration;

use stampede_js::SummaryOutputs;
use tokio::sync::oneshot;

use crate::run::{SummaryDataFn, SummaryParts};
use crate::vu_task::{VuCmd, VuHandle};

/// k6's limit on `handleSummary()`.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `handleSummary` when the script exports it: what it asked to write,
/// and the error to report if it failed.
pub(crate) async fn call(
    vu0: Option<&VuHandle>,
    exports: &[String],
    summary_data: SummaryDataFn,
    parts: &SummaryParts<'_>,
) -> (Option<SummaryOutputs>, Option<String>) {
    let Some(vu0) = vu0 else {
        return (None, None);
    };
    if !exports.iter().any(|e| e == "handleSummary") {
        return (None, None);
    }
    let data = summary_data(parts);
    let (reply, rx) = oneshot::channel();
    vu0.interrupt.reset();
    if !vu0.send(VuCmd::HandleSummary { data, reply }) {
        return (None, None);
    }
    match tokio::time::timeout(TIMEOUT, vu0.answer(rx)).await {
        Ok(Some(Ok(out))) => (out, None),
        Ok(Some(Err(e))) => (None, Some(format!("handleSummary: {e}"))),
        Ok(None) => (None, Some("handleSummary: the VU stopped".into())),
        Err(_) => (
            None,
            Some("handleSummary() timed out after 2 minutes".into()),
        ),
    }
}
