//! The whole test's VU needs over time, and the run header built from them.

use std::time::Duration;

use super::Plan;
use crate::duration::format_duration;
use crate::executor::{end_offset, max_possible_vus, ExecutionStep};

impl Plan {
    /// VU needs of all scenarios combined, start times included (k6
    /// `GetFullExecutionRequirements`): at each offset where any scenario
    /// changes, the sum of what every scenario needs at that moment.
    pub fn execution_requirements(&self) -> Vec<ExecutionStep> {
        let mut tracked: Vec<(ExecutionStep, usize)> = Vec::new();
        for (id, scenario) in self.scenarios.iter().enumerate() {
            for mut step in scenario.execution_requirements(&self.tuple) {
                step.time_offset += scenario.start_time;
                tracked.push((step, id));
            }
        }
        // Stable, so that same-time steps of one scenario keep their order.
        tracked.sort_by(|a, b| a.0.time_offset.cmp(&b.0.time_offset).then(a.1.cmp(&b.1)));

        let mut planned = vec![0u64; self.scenarios.len()];
        let mut unplanned = vec![0u64; self.scenarios.len()];
        let mut result: Vec<ExecutionStep> = Vec::new();
        for (step, id) in tracked {
            planned[id] = step.planned_vus;
            unplanned[id] = step.max_unplanned_vus;
            let combined = ExecutionStep {
                time_offset: step.time_offset,
                planned_vus: planned.iter().sum(),
                max_unplanned_vus: unplanned.iter().sum(),
            };
            let changed = result.last().is_none_or(|last| {
                last.planned_vus != combined.planned_vus
                    || last.max_unplanned_vus != combined.max_unplanned_vus
            });
            if changed {
                result.push(combined);
            }
        }
        result
    }

    /// The most VUs the test may need at once in this segment (k6's
    /// "max VUs"), overlapping scenarios and unplanned VUs included.
    pub fn max_vus(&self) -> u64 {
        max_possible_vus(&self.execution_requirements())
    }

    /// Offset of the last change in VU needs: the longest the test can run,
    /// graceful stops included (k6's "max duration"). Scenarios without an
    /// end (infinite externally-controlled) do not extend it.
    pub fn max_duration(&self) -> Duration {
        self.execution_requirements()
            .last()
            .map_or(Duration::ZERO, |s| s.time_offset)
    }

    /// Whether the test ends by itself: `false` when an externally-controlled
    /// scenario has an infinite duration.
    pub fn ends_by_itself(&self) -> bool {
        end_offset(&self.execution_requirements()).is_some()
    }

    /// k6's header line after "scenarios: ", e.g. `(100.00%) 1 scenario,
    /// 2 max VUs, 10m30s max duration (incl. graceful stop):`.
    pub fn scenarios_header(&self) -> String {
        let count = match self.scenarios.len() {
            1 => "1 scenario".to_owned(),
            n => format!("{n} scenarios"),
        };
        format!(
            "({:.2}%) {count}, {} max VUs, {} max duration (incl. graceful stop):",
            self.tuple.segment().float_length() * 100.0,
            self.max_vus(),
            format_duration(round_to_100ms(self.max_duration()))
        )
    }

    /// One `(name, description)` per scenario, in header order.
    pub fn scenario_descriptions(&self) -> Vec<(String, String)> {
        self.scenarios
            .iter()
            .map(|s| (s.name.clone(), s.description(&self.tuple)))
            .collect()
    }
}

/// Go's `Duration.Round(100 * time.Millisecond)`: halves round up.
fn round_to_100ms(d: Duration) -> Duration {
    let unit = 100_000_000u128;
    let n = d.as_nanos();
    let rounded = (n + unit / 2) / unit * unit;
    Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX))
}
