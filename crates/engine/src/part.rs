//! A run that is one part of a distributed test (one execution segment on
//! one worker), and what it shares with the other parts.
//!
//! k6's cloud and distributed semantics: `setup()` runs once for the whole
//! test and its data goes to every part; `teardown()` and `handleSummary()`
//! run once. A [`Part`] says which of these this run does. It also says
//! where a part *resumes* when it takes over from a lost worker
//! ([`ResumeAt`]): its scenarios start at the test's elapsed time instead of
//! at zero, ramps continue at the level they have reached, arrival-rate
//! scenarios skip as many scheduled iterations as the lost worker reported
//! (completed or dropped) and issue the rest — at once those already due —
//! and iteration-based scenarios run only what is left. The plan itself is unchanged, so the
//! part ends when the test's plan ends.
//!
//! It is plain data and channels, kept apart from the executors so a
//! whole-test run (`stampede run`) is untouched by it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use tokio::sync::oneshot;

/// Gets `setup()`'s data (its JSON) when this part runs `setup()`.
pub type SetupReport = Box<dyn FnOnce(Option<serde_json::Value>) + Send>;

/// How this part shares `setup()` with the others.
pub enum SharedSetup {
    /// Runs `setup()` before the pause of a gated start (so its data is
    /// known before any part starts its scenarios) and hands the data out.
    Run(SetupReport),
    /// Runs no `setup()`: its data (JSON text, `None` for `undefined`)
    /// arrives here before the scenarios start.
    Receive(oneshot::Receiver<Option<String>>),
}

/// Where a resumed part starts.
#[derive(Clone, Debug)]
pub struct ResumeAt {
    /// The test's common start instant (when every part's scenarios
    /// started). The part starts at the next whole second of the test's
    /// clock after it is ready, so its intervals line up with the others'.
    pub test_start: SystemTime,
    /// Iterations the lost worker reported, by scenario (completed, and
    /// for arrival-rate scenarios also dropped): a shared- or
    /// per-VU-iterations scenario runs only the rest, an arrival-rate one
    /// skips that many of its scheduled iterations.
    pub done_iterations: BTreeMap<String, u64>,
}

/// This run's role in a distributed test.
pub struct Part {
    /// How `setup()` is shared.
    pub setup: SharedSetup,
    /// This part runs `teardown()` (exactly one part does).
    pub teardown: bool,
    /// This part runs `handleSummary()` (exactly one part does).
    pub handle_summary: bool,
    /// Resume a lost part mid-test instead of starting at zero.
    pub resume: Option<ResumeAt>,
}

impl ResumeAt {
    /// The offset into the test to start at, `now` being the time the
    /// part is ready: the next whole second of the test's clock (zero when
    /// the test has not started yet).
    pub fn offset(&self, now: SystemTime) -> Duration {
        let elapsed = now.duration_since(self.test_start).unwrap_or_default();
        let whole = elapsed.as_secs() + u64::from(elapsed.subsec_nanos() > 0);
        Duration::from_secs(whole)
    }
}

/// What one scenario's executor needs to resume: how far into the
/// scenario it starts and the iterations already done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ScenarioResume {
    /// How far into the scenario (after its `startTime`) it starts.
    pub offset: Duration,
    /// Iterations of this scenario already done elsewhere.
    pub done: u64,
}

impl ScenarioResume {
    /// The resume point of a scenario starting at `start_time` into a test
    /// resumed at `offset`.
    pub fn for_scenario(r: &ResumeAt, offset: Duration, start_time: Duration, name: &str) -> Self {
        Self {
            offset: offset.saturating_sub(start_time),
            done: r.done_iterations.get(name).copied().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_at_the_next_whole_second_of_the_test() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let r = ResumeAt {
            test_start: t0,
            done_iterations: BTreeMap::from([("a".to_string(), 7)]),
        };
        assert_eq!(
            r.offset(t0 + Duration::from_millis(6100)),
            Duration::from_secs(7)
        );
        assert_eq!(
            r.offset(t0 + Duration::from_secs(6)),
            Duration::from_secs(6)
        );
        assert_eq!(r.offset(t0 - Duration::from_secs(1)), Duration::ZERO);
        let s =
            ScenarioResume::for_scenario(&r, Duration::from_secs(7), Duration::from_secs(2), "a");
        assert_eq!(
            s,
            ScenarioResume {
                offset: Duration::from_secs(5),
                done: 7
            }
        );
        let later =
            ScenarioResume::for_scenario(&r, Duration::from_secs(7), Duration::from_secs(9), "b");
        assert_eq!(later.offset, Duration::ZERO);
    }
}
